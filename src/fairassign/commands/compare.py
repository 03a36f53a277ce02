"""``fairassign compare``: the optimiser against the CRM baselines on the built-in scenario.

By default it routes the shipped example batch (:func:`fairassign.datasets.load_example`,
60 leads, 6 reps) under one rule, a capacity-weighted fair share of lead value within
``--tolerance`` (default 15%; no AssignAll, which the baselines would break by design), with
``"fairassign"`` and every baseline, and prints the comparison table of
:func:`fairassign.compare.compare` and the optimiser's uplift over each baseline.
``--leads N --reps M`` uses a synthetic batch instead
(``make_batch(N, M, seed=SEED, tier_effort=True)``).

``--frontier`` adds the price-of-fairness sweep (:func:`fairassign.frontier.fairness_frontier`,
with ``--solver``, default ``mip``, exact on the built-in batch) and, for each baseline, the
optimiser's uplift at no worse fairness; ``--plot FILE.png`` also writes its chart (needs
matplotlib, ``fairassign[plot]``). ``--days N --seeds K`` then replays N days of the built-in
simulated lead stream (:func:`fairassign.simulate.builtin_scenario`) at K seeds for every
strategy and prints realised revenue with 95% intervals over seeds and the paired uplift
(:func:`fairassign.simulate.compare_period`).

Exit codes: 0 the table was printed and the optimiser's assignment keeps every rule;
1 the optimiser returned no rule-keeping assignment (the table is still printed);
2 a usage error; 3 an optional dependency is missing (matplotlib for ``--plot``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from typing import Any, TextIO

from ..cells import percent_cell
from ..compare import compare, text_table, uplift
from ..constraints import Constraint, FairShare
from ..datasets import load_example, make_batch
from ..errors import MissingDependencyError, ValidationError
from ..frontier import Frontier, fairness_frontier, plot_frontier
from ..solvers import solver_names
from ..strategies import OPTIMISER, strategy_names
from . import integer_at_least, nonnegative_float, positive_float

__all__ = ["add_parser", "run"]

#: exit codes, as the module docstring says
EXIT_OK, EXIT_NO_ASSIGNMENT, EXIT_USAGE, EXIT_MISSING = 0, 1, 2, 3


def _strategies(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    known = strategy_names()
    for name in names:
        if name not in known:
            raise argparse.ArgumentTypeError(f"unknown strategy {name!r}; known: {', '.join(known)}")
    if not names:
        raise argparse.ArgumentTypeError("expected at least one strategy name")
    return names


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``compare`` to the ``fairassign`` subcommands."""
    parser = commands.add_parser(
        "compare", help="the optimiser against the CRM baselines, and the price of fairness",
        description="Route the built-in batch with the optimiser and every CRM baseline, print the comparison "
                    "table, and optionally the price-of-fairness frontier (--frontier, --plot) and a simulated "
                    "period (--days, --seeds). Exit codes: 0 ok; 1 the optimiser found no rule-keeping "
                    "assignment; 2 usage error; 3 an optional dependency is missing.")
    parser.add_argument("--tolerance", type=nonnegative_float, default=0.15,
                        help="fair-share tolerance of the rule every strategy is measured against (default: 0.15)")
    parser.add_argument("--strategies", type=_strategies, default=None, metavar="A,B,...",
                        help="comma-separated strategy names (default: fairassign and every baseline)")
    parser.add_argument("--leads", type=integer_at_least(1), default=None, metavar="N",
                        help="use a synthetic batch of N leads (with --reps) instead of the example batch")
    parser.add_argument("--reps", type=integer_at_least(1), default=None, metavar="M",
                        help="reps of the synthetic batch")
    parser.add_argument("--frontier", action="store_true", help="print the price-of-fairness frontier")
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="write the frontier chart to this file (implies --frontier; needs matplotlib)")
    parser.add_argument("--solver", default="mip", choices=("auto", *solver_names()),
                        help="backend of the frontier sweep (default: mip)")
    parser.add_argument("--days", type=integer_at_least(1), default=None, metavar="N",
                        help="also simulate N days of the built-in lead stream for every strategy")
    parser.add_argument("--seeds", type=integer_at_least(1), default=3, metavar="K",
                        help="seeds of the simulated period (default: 3)")
    parser.add_argument("--seed", type=integer_at_least(0), default=0, help="seed of every strategy (default: 0)")
    parser.add_argument("--time-limit", type=positive_float, default=10.0, metavar="SECONDS",
                        help="time limit per solve in seconds (default: 10)")
    parser.set_defaults(handler=run)
    return parser


def _money(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:,.0f}"


def _frontier_lines(frontier: Frontier) -> list[str]:
    lines = [str(frontier), ""]
    matched = frontier.uplift_at_equal_fairness()
    if matched:
        lines.append("Optimiser at no worse fairness than each baseline (best sweep point with max deviation <= "
                     "the baseline's):")
        for name, found in matched.items():
            if found is None:
                lines.append(f"  {name:<22} -")
            else:
                label, gain = found
                lines.append(f"  {name:<22} {percent_cell(gain, 1, signed=True)} expected value ({label})")
    return lines


def _period_lines(records: Sequence[dict[str, Any]], days: int, seeds: Sequence[int]) -> list[str]:
    headers = ["strategy", "revenue", "95% interval", "conversions", "exp. revenue", "coverage", "uplift",
               "uplift 95% interval", "uplift %"]
    cells = []
    for row in records:
        is_reference = row["strategy"] == OPTIMISER
        cells.append([
            row["strategy"], _money(row["revenue"]),
            f"[{_money(row['revenue_low'])}, {_money(row['revenue_high'])}]",
            f"{row['conversions']:.1f}", _money(row["expected_revenue"]), percent_cell(row["coverage"]),
            "-" if is_reference or row["uplift"] is None else f"{row['uplift']:+,.0f}",
            "-" if is_reference or row["uplift"] is None
            else f"[{row['uplift_low']:+,.0f}, {row['uplift_high']:+,.0f}]",
            "-" if is_reference else percent_cell(row["uplift_pct"], 1, signed=True),
        ])
    return [f"Simulated period: {days} day(s) of the built-in lead stream, seeds {list(seeds)} "
            f"(revenue per run; uplift = {OPTIMISER} minus the strategy, paired by seed)", "",
            text_table(headers, cells, right=[False, *([True] * 8)])]


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``fairassign compare`` with parsed ``args``; print to ``out``; return the exit code."""

    def say(text: str = "") -> None:
        print(text, file=out)

    if (args.leads is None) != (args.reps is None):
        say("error: --leads and --reps go together")
        return EXIT_USAGE
    if args.leads is None:
        batch = load_example()
        where = "the built-in example batch"
    else:
        batch = make_batch(args.leads, args.reps, seed=args.seed, tier_effort=True)
        where = f"make_batch({args.leads}, {args.reps}, seed={args.seed}, tier_effort=True)"
    problem = batch.problem
    constraints: tuple[Constraint, ...] = (FairShare(args.tolerance),)
    strategies = args.strategies
    say(f"fairassign compare: {where}, {problem.n_leads} leads, {problem.n_reps} reps, "
        f"{problem.n_pairs} candidate pairs")
    say("  rule every strategy is measured against: " + "; ".join(rule.describe() for rule in constraints))
    say(f"  time limit {args.time_limit:g} s per solve, seed {args.seed}")
    say()
    try:
        comparison = compare(problem, constraints, strategies, seed=args.seed, time_limit=args.time_limit)
    except ValidationError as exc:
        say(f"error: {exc}")
        return EXIT_USAGE
    say(comparison.table())
    names = comparison.strategies
    code = EXIT_OK
    if OPTIMISER in names:
        say()
        say(f"Uplift of {OPTIMISER} in expected revenue (here the score) over each strategy, under the rule above:")
        for name, gain in uplift(comparison).items():
            keeps = "keeps the rule" if comparison.row(name).keeps_rules else "breaks the rule"
            say(f"  {name:<22} {percent_cell(gain, 1, signed=True)}   ({name} {keeps})")
        if not comparison.row(OPTIMISER).keeps_rules:
            code = EXIT_NO_ASSIGNMENT

    if args.frontier or args.plot:
        baselines = tuple(name for name in names if name != OPTIMISER and name not in solver_names())
        frontier = fairness_frontier(problem, constraints, solver=args.solver, time_limit=args.time_limit,
                                     baselines=baselines, seed=args.seed)
        say()
        say("\n".join(_frontier_lines(frontier)))
        if args.plot:
            try:
                plot_frontier(frontier, args.plot)
            except MissingDependencyError as exc:
                say(f"error: {exc}")
                return EXIT_MISSING
            say()
            say(f"frontier chart written to {args.plot}")

    if args.days is not None:
        from ..simulate import builtin_scenario, compare_period

        seeds = list(range(args.seed, args.seed + args.seeds))
        records = compare_period(builtin_scenario(n_days=args.days), list(names), seeds=seeds,
                                 time_limit=args.time_limit)
        say()
        say("\n".join(_period_lines(records, args.days, seeds)))
    return code
