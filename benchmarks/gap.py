"""Per-pair effort (the generalized assignment problem) on the Chu & Beasley types a to e.

For each type and size (leads x reps) every method solves the same seeded instance from
``gap_instances.py`` (score = -cost, effort r_ij per pair, capacity b_i, ``[AssignAll()]``):

- ``fa:cpsat``, ``fa:mip`` (HiGHS) and ``fa:auto`` with ``time_limit``; ``fa:lp-round`` and
  ``fa:greedy`` without one;
- ``anchor``: plain CP-SAT on the textbook model written here (x_ij boolean, one agent per job,
  one knapsack row per agent, minimise cost), 2 workers, the same time limit.

Reported per method, in GAP cost terms (lower is better): status, cost, its own proven lower
bound and gap (the gap at the limit when not proven), the gap to the best lower bound any method
proved on the instance, seconds (for OPTIMAL: the time to a proven optimum), violations found by
``fa.verify`` (the anchor's answer is verified too), and cost and time as ratios to the anchor's.

Run::

    python benchmarks/gap.py               # quick: 100x5, 100x10, 200x10, 200x20; 30 s limits (~30 min)
    python benchmarks/gap.py --full        # adds 400x20, 800x40, 1600x80
    python benchmarks/gap.py --types cd --sizes 100x5,200x20 --time-limit 10
    python benchmarks/gap.py --sizes 100x5,200x20 --methods fa:lp-round,fa:greedy --out /tmp/h.csv

It prints a table and writes ``benchmarks/results/gap-<mode>.csv`` (or ``--out``; rows are
appended as they finish, so an interrupted run keeps what it measured), then a summary of the
heuristics' gaps per type and size to the **best known** cost and the best proven lower bound.
Best known figures persist across runs in ``--reference`` (default
``benchmarks/gap_reference.csv``, tracked in git: per instance, the least cost any method
reached, the highest lower bound any proved, and where they came from), so a heuristics-only
run, even on a fresh checkout, is measured against the exact methods' earlier (and longer)
runs. A run that beats a figure updates the file; commit it when the figure is meant to stay.
Where ``best_cost`` equals ``best_bound`` the optimum is proven; elsewhere "gap to best known"
is a lower estimate of the gap to the optimum and "gap to best bound" an upper one.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gap_instances import TYPES, GapInstance, generate, to_problem  # noqa: E402

import fairassign as fa  # noqa: E402

QUICK_SIZES = ((100, 5), (100, 10), (200, 10), (200, 20))
FULL_SIZES = ((400, 20), (800, 40), (1600, 80))
METHODS = ("anchor", "fa:cpsat", "fa:mip", "fa:auto", "fa:lp-round", "fa:greedy")
#: methods that take the time limit; the heuristics run to completion
LIMITED = ("anchor", "fa:cpsat", "fa:mip", "fa:auto")
ANCHOR_WORKERS = 2


@dataclass
class Row:
    type: str
    size: str
    method: str
    status: str
    cost: float | None
    lower_bound: float | None
    own_gap: float | None
    gap_to_best_bound: float | None
    seconds: float
    proven_seconds: float | None
    violations: int | None
    cost_x_anchor: float | None = None
    time_x_anchor: float | None = None
    gap_to_best_known: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    status: str
    rep_of: np.ndarray | None
    lower_bound: float | None
    seconds: float
    note: str = ""


def anchor_cpsat(instance: GapInstance, time_limit: float, seed: int) -> Outcome:
    """Plain CP-SAT on the textbook GAP model: the reference every method is compared with."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    n, m = instance.n_leads, instance.n_reps
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x_{j}_{i}") for i in range(m)] for j in range(n)]
    for j in range(n):
        model.add_exactly_one(x[j])
    for i in range(m):
        model.add(sum(int(instance.effort[j, i]) * x[j][i] for j in range(n)) <= int(instance.capacity[i]))
    model.minimize(sum(int(instance.cost[j, i]) * x[j][i] for j in range(n) for i in range(m)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = ANCHOR_WORKERS
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    seconds = time.perf_counter() - started
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = solver.best_objective_bound if status == cp_model.UNKNOWN else None
        return Outcome(name if name != "UNKNOWN" else "NO_SOLUTION", None, bound, seconds)
    rep_of = np.array([next(i for i in range(m) if solver.boolean_value(x[j][i])) for j in range(n)], np.int64)
    bound = solver.objective_value if status == cp_model.OPTIMAL else solver.best_objective_bound
    return Outcome(name, rep_of, float(bound), seconds)


def run_fairassign(problem: fa.Problem, constraints: list[fa.Constraint], solver: str,
                   time_limit: float | None, seed: int) -> Outcome:
    started = time.perf_counter()
    result = fa.solve(problem, constraints, solver=solver, time_limit=time_limit, seed=seed)
    seconds = time.perf_counter() - started
    rep_of = result.rep_of.copy() if result.status.has_solution or result.status is fa.Status.INVALID else None
    # a proven upper bound U on the score (= -cost) is a proven lower bound -U on the cost
    bound = None
    if result.bound is not None:
        bound = -result.bound
    elif result.status is fa.Status.OPTIMAL:
        bound = -result.objective
    note = result.solver if solver == "auto" else ""
    return Outcome(result.status.name, rep_of, bound, seconds, note)


def _relative(cost: float, bound: float) -> float:
    return max(0.0, (cost - bound) / max(abs(bound), 1e-12))


#: the tracked reference a fresh checkout measures against
REFERENCE = HERE / "gap_reference.csv"


def read_reference(path: Path, sources: dict[str, str] | None = None) -> dict[str, tuple[float | None, float | None]]:
    """Best known (cost, lower bound) per instance key ``<type><leads>x<reps>/<seed>``.

    The optional ``source`` column (where the figures came from) goes into ``sources`` when given.
    """
    known: dict[str, tuple[float | None, float | None]] = {}
    if path.exists():
        with path.open(newline="") as handle:
            for entry in csv.DictReader(handle):
                known[entry["instance"]] = (float(entry["best_cost"]) if entry["best_cost"] else None,
                                            float(entry["best_bound"]) if entry["best_bound"] else None)
                if sources is not None and entry.get("source"):
                    sources[entry["instance"]] = entry["source"]
    return known


def write_reference(path: Path, known: dict[str, tuple[float | None, float | None]],
                    sources: dict[str, str] | None = None) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instance", "best_cost", "best_bound", "source"])
        for key in sorted(known):
            cost, bound = known[key]
            writer.writerow([key, "" if cost is None else f"{cost:.10g}", "" if bound is None else f"{bound:.10g}",
                             (sources or {}).get(key, "")])


def _merge(old: tuple[float | None, float | None], cost: float | None,
           bound: float | None) -> tuple[float | None, float | None]:
    """The better of the known (cost, bound) and a run's; a figure that only differs from the known
    one within the file's 10 significant digits (an LP bound recomputed, say) keeps the known one."""
    def better(known: float | None, new: float | None, sign: float) -> float | None:
        if known is None or new is None:
            return new if known is None else known
        return new if sign * (known - new) > 1e-9 * max(abs(known), 1.0) else known

    return better(old[0], cost, 1.0), better(old[1], bound, -1.0)


def run_instance(instance: GapInstance, methods: tuple[str, ...], time_limit: float, seed: int,
                 on_row: Callable[[Row], None] | None = None,
                 known: dict[str, tuple[float | None, float | None]] | None = None) -> list[Row]:
    problem, constraints = to_problem(instance)
    size = f"{instance.n_leads}x{instance.n_reps}"
    rows: list[Row] = []
    for method in methods:
        if method == "anchor":
            outcome = anchor_cpsat(instance, time_limit, seed)
        else:
            solver = method[3:]
            outcome = run_fairassign(problem, constraints, solver, time_limit if method in LIMITED else None, seed)
        cost = violations = None
        if outcome.rep_of is not None:
            violations = len(fa.verify(problem, outcome.rep_of, constraints))
            cost = instance.total_cost(outcome.rep_of)
            cost = None if not np.isfinite(cost) else cost
        own_gap = None if cost is None or outcome.lower_bound is None else _relative(cost, outcome.lower_bound)
        row = Row(type=instance.kind, size=size, method=method, status=outcome.status, cost=cost,
                  lower_bound=outcome.lower_bound, own_gap=own_gap, gap_to_best_bound=None,
                  seconds=outcome.seconds, proven_seconds=outcome.seconds if outcome.status == "OPTIMAL" else None,
                  violations=violations, note=outcome.note)
        print(f"  {instance.kind} {size:>8} {method:<12} {row.status:<11} "
              f"cost {'-' if cost is None else f'{cost:,.0f}':>9}  {row.seconds:7.2f} s", flush=True)
        rows.append(row)
    bounds = [r.lower_bound for r in rows if r.lower_bound is not None]
    best_bound = max(bounds) if bounds else None
    costs = [r.cost for r in rows if r.cost is not None and r.violations == 0]
    key = f"{instance.name}/{instance.seed}"
    best_known = (None, None)
    if known is not None:
        known[key] = best_known = _merge(known.get(key, (None, None)), min(costs) if costs else None, best_bound)
        best_bound = best_known[1]
    anchor = next((r for r in rows if r.method == "anchor"), None)
    for row in rows:
        if row.cost is not None and best_bound is not None:
            row.gap_to_best_bound = _relative(row.cost, best_bound)
            if row.cost < best_bound - 1e-6 * abs(best_bound):
                row.note = (row.note + "; " if row.note else "") + f"cost below best bound {best_bound:g}: a bug"
        if row.cost is not None and best_known[0] is not None:
            row.gap_to_best_known = _relative(row.cost, best_known[0])
        if anchor is not None:
            if row.cost is not None and anchor.cost:
                row.cost_x_anchor = row.cost / anchor.cost
            if anchor.seconds > 0:
                row.time_x_anchor = row.seconds / anchor.seconds
        if on_row is not None:
            on_row(row)
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[Row]) -> None:
    header = (f"{'type':<4} {'size':>8} {'method':<12} {'status':<11} {'cost':>9} {'bound':>9} {'own gap':>8} "
              f"{'gap best':>8} {'to known':>8} {'viol':>4} {'time s':>7} {'proven s':>8} {'cost/anc':>8} "
              f"{'time/anc':>8}  note")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r.type:<4} {r.size:>8} {r.method:<12} {r.status:<11} {_fmt(r.cost, ',.0f'):>9} "
              f"{_fmt(r.lower_bound, ',.0f'):>9} {_fmt(r.own_gap, '.3%'):>8} {_fmt(r.gap_to_best_bound, '.3%'):>8} "
              f"{_fmt(r.gap_to_best_known, '.3%'):>8} {_fmt(r.violations, 'd'):>4} {r.seconds:7.2f} "
              f"{_fmt(r.proven_seconds, '.2f'):>8} "
              f"{_fmt(r.cost_x_anchor, '.4f'):>8} {_fmt(r.time_x_anchor, '.2f'):>8}  {r.note}")


def print_heuristic_summary(rows: list[Row]) -> None:
    """Per type and size: each heuristic's gap to the best known cost and to the best lower bound."""
    heuristics = [r for r in rows if r.method in ("fa:lp-round", "fa:greedy")]
    if not heuristics:
        return
    print("\nheuristic gaps (to the best known cost / to the best proven lower bound):")
    print(f"{'type':<4} {'size':>8} {'method':<12} {'cost':>9} {'to known':>9} {'to bound':>9} {'time s':>7}")
    for r in sorted(heuristics, key=lambda r: (r.size, r.type, r.method)):
        print(f"{r.type:<4} {r.size:>8} {r.method:<12} {_fmt(r.cost, ',.0f'):>9} "
              f"{_fmt(r.gap_to_best_known, '.3%'):>9} {_fmt(r.gap_to_best_bound, '.3%'):>9} {r.seconds:7.2f}")


def _sizes(text: str) -> tuple[tuple[int, int], ...]:
    pairs = []
    for part in text.split(","):
        leads, _, reps = part.strip().partition("x")
        pairs.append((int(leads), int(reps)))
    return tuple(pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="add 400x20, 800x40 and 1600x80")
    parser.add_argument("--types", default="".join(TYPES), help="which of a-e to run, e.g. 'cde'")
    parser.add_argument("--sizes", default=None, help="comma-separated LEADSxREPS, replacing the mode's list")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds for the exact methods and auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="CSV to write (default results/gap-<mode>.csv)")
    parser.add_argument("--reference", type=Path, default=REFERENCE,
                        help="best known costs and bounds, read and updated (default: the tracked "
                             "benchmarks/gap_reference.csv)")
    args = parser.parse_args(argv)

    sizes = _sizes(args.sizes) if args.sizes else QUICK_SIZES + (FULL_SIZES if args.full else ())
    methods = tuple(m.strip() for m in args.methods.split(","))
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {METHODS}")
    kinds = [k for k in args.types if k in TYPES]

    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    path = args.out or out_dir / f"gap-{'full' if args.full else 'quick'}.csv"
    sources: dict[str, str] = {}
    known = read_reference(args.reference, sources)
    names = [f.name for f in fields(Row)]
    rows: list[Row] = []
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()

        def write(row: Row) -> None:
            writer.writerow(asdict(row))
            handle.flush()

        for n_leads, n_reps in sizes:
            for kind in kinds:
                instance = generate(kind, n_leads, n_reps, seed=args.seed)
                key = f"{instance.name}/{instance.seed}"
                before = known.get(key)
                rows.extend(run_instance(instance, methods, args.time_limit, args.seed, on_row=write, known=known))
                if known.get(key) != before:
                    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
                    limited = ", ".join(m for m in methods if m in LIMITED) or "none"
                    sources[key] = (f"gap.py run {when} UTC ({', '.join(methods)}; --time-limit "
                                    f"{args.time_limit:g} for {limited})")
                    if before and None not in before:
                        sources[key] += f"; was {before[0]:g} / {before[1]:g}"
                    write_reference(args.reference, known, sources)
    print()
    print_table(rows)
    print_heuristic_summary(rows)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
