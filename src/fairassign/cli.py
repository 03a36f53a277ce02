"""The ``fairassign`` command.

``fairassign demo`` routes the built-in example batch (:func:`fairassign.datasets.load_example`)
under "every lead assigned" and a fair share of lead value, prints the assignment per rep,
its fairness figures, and every solver backend side by side with a naive round-robin
baseline. ``fairassign solvers`` lists the backends.

A backend that cannot take the batch, or fails, becomes one row of the comparison table;
the exit code is 0 when the chosen solver returned an assignment that keeps every rule.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from . import __version__, baselines
from .cells import number_cell, percent_cell
from .commands import compare as compare_command
from .commands import integer_at_least, positive_float
from .commands import solve as solve_command
from .constraints import AssignAll, Constraint, FairShare
from .datasets import Batch, load_example
from .metrics import Metrics, metrics
from .problem import Problem
from .result import Result
from .rules import bind
from .solve import solve
from .solvers import get_solver, solver_names
from .verify import verify

__all__ = ["main"]

#: longest message shown in a table cell; the full text follows the table
_CELL = 48


@dataclass(frozen=True)
class _Row:
    """One line of the solver comparison."""

    name: str
    status: str
    assigned: str = "-"
    objective: str = "-"
    bound: str = "-"
    gap: str = "-"
    deviation: str = "-"
    seconds: str = "-"
    violations: str = "-"
    note: str = ""


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CELL else text[: _CELL - 3] + "..."


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _rep_table(batch: Batch, figures: Metrics) -> str:
    problem = batch.problem
    capacity = problem.capacity
    rows = []
    for r in range(problem.n_reps):
        regions = batch.reps.get("regions")
        rows.append([
            str(problem.rep_ids[r]),
            str(batch.reps["max_tier"][r]) if "max_tier" in batch.reps else "-",
            "/".join(regions[r]) if regions is not None else "-",
            f"{figures.rep_count[r]:.0f}",
            f"{figures.rep_effort[r]:g}/{capacity[r]:g}",
            number_cell(figures.rep_value[r]),
            percent_cell(figures.value_share[r]),
            percent_cell(figures.fair_share[r]),
            f"{figures.share_deviation[r]:+.1%}" if np.isfinite(figures.share_deviation[r]) else "inf",
        ])
    rows.append([
        "total", "", "", f"{figures.n_assigned}/{figures.n_leads}",
        f"{figures.rep_effort.sum():g}/{capacity.sum():g}", number_cell(figures.total_value), "100.0%", "100.0%", "",
    ])
    headers = ["rep", "tier", "regions", "leads", "effort/cap", "value", "share", "fair share", "vs share"]
    return _table(headers, rows, [False, False, False, True, True, True, True, True, True])


def _fairness_lines(figures: Metrics) -> list[str]:
    return [
        f"coverage        {percent_cell(figures.coverage)} of leads, "
        f"{percent_cell(figures.value_coverage)} of lead value",
        f"total score     {number_cell(figures.total_score, 2)}",
        f"max deviation   {percent_cell(figures.max_share_deviation)} from the capacity-weighted fair share",
        f"Gini            {figures.gini_value:.3f} of value per rep, "
        f"{figures.gini_value_per_weight:.3f} of value per unit of capacity",
        f"max/min         {number_cell(figures.max_min_value, 2)} of value per rep, "
        f"{number_cell(figures.max_min_value_per_weight, 2)} of value per unit of capacity",
    ]


def _solve_row(problem: Problem, constraints: Sequence[Constraint], name: str, args: argparse.Namespace,
               ) -> tuple[_Row, Result | None, str | None]:
    """Run one backend; any failure becomes a row (and a full message), never a crash."""
    if name != "auto":
        try:
            backend = get_solver(name)
            reason = backend.unsupported(problem, bind(problem, constraints))
        except Exception as exc:  # a missing dependency, or a backend still being written
            message = f"{type(exc).__name__}: {exc}".rstrip(": ")
            return _Row(name, "error", note=_short(message)), None, f"{name}: {message}"
        if reason:
            return _Row(name, "n/a", note=_short(reason)), None, f"{name}: cannot take this batch: {reason}"
    try:
        result = solve(problem, constraints, solver=name, time_limit=args.time_limit, seed=args.seed)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return _Row(name, "error", note=_short(message)), None, f"{name}: {message}"
    figures = metrics(problem, result) if result.status.has_solution else None
    label = name if name != "auto" else f"auto ({result.solver})"
    row = _Row(
        name=label,
        status=result.status.name,
        assigned=f"{result.n_assigned}/{problem.n_leads}",
        objective=number_cell(result.objective, 1),
        bound=number_cell(result.bound, 1),
        gap=percent_cell(result.gap, 2),
        deviation=percent_cell(None if figures is None else figures.max_share_deviation),
        seconds=f"{result.solve_time:.2f}",
        violations=str(len(result.violations)),
        note=_short("; ".join(result.diagnosis)) if result.diagnosis else "",
    )
    return row, result, None


def _baseline_row(problem: Problem, constraints: Sequence[Constraint]) -> tuple[_Row, Metrics]:
    rep_of = baselines.round_robin(problem)
    figures = metrics(problem, rep_of)
    broken = verify(problem, rep_of, constraints)
    row = _Row(
        name="round robin",
        status="breaks rules" if broken else "keeps rules",
        assigned=f"{figures.n_assigned}/{problem.n_leads}",
        objective=number_cell(figures.total_score, 1),
        deviation=percent_cell(figures.max_share_deviation),
        violations=str(len(broken)),
        note="baseline: rotation with capacity, no optimisation",
    )
    return row, figures


def _price_of_fairness(problem: Problem, constraints: Sequence[Constraint], figures: Metrics,
                       args: argparse.Namespace) -> str:
    """One line: the best score without the fair-share rule, and what the rule costs."""
    others = [c for c in constraints if not isinstance(c, FairShare)]
    try:
        free = solve(problem, others, solver="auto", time_limit=args.time_limit, seed=args.seed)
    except Exception as exc:
        return f"price           not measured: without the fair-share rule, {type(exc).__name__}: {_short(str(exc))}"
    if not free.status.has_solution:
        return f"price           not measured: without the fair-share rule, {free.status.name}"
    cost = (free.objective - figures.total_score) / abs(free.objective) if free.objective else 0.0
    deviation = metrics(problem, free).max_share_deviation
    return (f"price           {percent_cell(cost, 2)} of the score: without the fair-share rule the best is "
            f"{number_cell(free.objective, 2)} ({free.status.name}), with max deviation {percent_cell(deviation)}")


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    batch = load_example()
    problem = batch.problem
    constraints: tuple[Constraint, ...] = (AssignAll(), FairShare(args.tolerance))

    def say(text: str = "") -> None:
        print(text, file=out)

    say(f"fairassign {__version__} demo: the built-in example batch")
    say(f"  {problem.n_leads} leads, {problem.n_reps} reps, {problem.n_pairs} candidate pairs; "
        f"lead effort by tier (A=3, B=2, C=1); total capacity {problem.capacity.sum():g}")
    say("  eligibility: a rep takes leads of its tier or lower, in the regions it covers")
    say("  rules: " + "; ".join(c.describe() for c in constraints))
    say("  objective: assign as many leads as possible, then maximise the total score")
    say()

    names = [args.solver, *[n for n in ("auto", *solver_names()) if n != args.solver]]
    rows: list[_Row] = []
    messages: list[str] = []
    chosen: Result | None = None
    for name in names:
        row, result, message = _solve_row(problem, constraints, name, args)
        rows.append(row)
        if message:
            messages.append(message)
        if name == args.solver:
            chosen = result
    baseline_row, baseline = _baseline_row(problem, constraints)
    rows.append(baseline_row)

    if chosen is not None and chosen.status.has_solution:
        figures = metrics(problem, chosen)
        say(f"Assignment by {args.solver}" + (f" ({chosen.solver})" if args.solver == "auto" else "")
            + f": {chosen.status.name}, objective {number_cell(chosen.objective, 1)}, "
              f"gap {percent_cell(chosen.gap, 2)}")
        say()
        say(_rep_table(batch, figures))
        say()
        say("\n".join(_fairness_lines(figures)))
        say(_price_of_fairness(problem, constraints, figures, args))
    else:
        why = "; ".join(chosen.diagnosis) if chosen is not None else "see the error below"
        status = chosen.status.name if chosen is not None else "error"
        say(f"Solver {args.solver!r} returned no assignment ({status}): {why}")
    say()
    say(f"Round-robin baseline: max deviation {percent_cell(baseline.max_share_deviation)}, "
        f"Gini {baseline.gini_value:.3f}, total score {number_cell(baseline.total_score, 2)}, "
        f"{baseline.n_assigned}/{baseline.n_leads} leads assigned")
    say()
    say(f"Solvers side by side (time limit {args.time_limit:g} s each, seed {args.seed}):")
    say()
    headers = ["solver", "status", "assigned", "objective", "bound", "gap", "max dev", "time s", "violations",
               "note"]
    cells = [[row.name, row.status, row.assigned, row.objective, row.bound, row.gap, row.deviation, row.seconds,
              row.violations, row.note] for row in rows]
    say(_table(headers, cells, [False, False, True, True, True, True, True, True, True, False]))
    if messages:
        say()
        for message in messages:
            say(f"  {message}")
    return 0 if chosen is not None and chosen.status.has_solution else 1


def _solvers(args: argparse.Namespace, out: TextIO) -> int:
    rows = []
    for name in solver_names():
        try:
            backend = get_solver(name)
            rows.append([name, "yes" if backend.exact else "no", "yes"])
        except Exception as exc:
            rows.append([name, "-", _short(f"no: {exc}")])
    print(_table(["solver", "exact", "available"], rows, [False, False, False]), file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fairassign`` command."""
    parser = argparse.ArgumentParser(prog="fairassign", description="Assign sales leads to reps, fairly.")
    parser.add_argument("--version", action="version", version=f"fairassign {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="command")
    demo = commands.add_parser("demo", help="solve the built-in example batch and compare the solvers",
                               description="Solve the built-in example batch and compare the solvers.")
    demo.add_argument("--solver", default="auto", choices=("auto", *solver_names()),
                      help="backend whose assignment is shown per rep (default: auto)")
    demo.add_argument("--time-limit", type=positive_float, default=10.0, metavar="SECONDS",
                      help="time limit per backend in seconds (default: 10)")
    demo.add_argument("--seed", type=integer_at_least(0), default=0, help="seed of every backend (default: 0)")
    demo.add_argument("--tolerance", type=float, default=0.15,
                      help="fair-share tolerance: each rep within +-tolerance of its share (default: 0.15)")
    demo.set_defaults(handler=_demo)
    listing = commands.add_parser("solvers", help="list the solver backends",
                                  description="List the solver backends and whether they can run here.")
    listing.set_defaults(handler=_solvers)
    solve_command.add_parser(commands)
    compare_command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fairassign`` command; return the exit code.

    Examples
    --------
    >>> main(["solvers"])  # doctest: +ELLIPSIS
    solver    exact  available
    ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stdout)
        return 2
    if args.command == "demo" and not (0 <= args.tolerance < 1e6):
        parser.error(f"--tolerance must be >= 0, got {args.tolerance}")
    out = sys.stdout
    try:
        return int(args.handler(args, out))
    except BrokenPipeError:
        # the reader went away (`fairassign demo | head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
