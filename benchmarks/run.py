"""Every backend and the anchors side by side, one instance at a time, one process per method.

Each method runs in a fresh process (so its peak memory is its own) on the same seeded
instance from ``instances.py``, and reports status, objective, gap to the best bound any
method proved, rule violations (by ``fa.verify``), wall time, peak RSS, and its time as a
ratio to the instance's anchor (raw OR-Tools min-cost flow when only capacity binds, the
HiGHS LP relaxation when a fair share binds).

Run::

    python benchmarks/run.py              # quick: a few minutes
    python benchmarks/run.py --full       # adds 10k x 200 and 100k x 1k under FairShare, 1M x 2k flows
    python benchmarks/run.py --full --instance 1000000x   # one size only (a substring of "<leads>x<reps>x<k>")

It prints a table and writes ``benchmarks/results/run-<mode>.csv``.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


@dataclass(frozen=True)
class Case:
    name: str
    n_leads: int
    n_reps: int
    candidates: int
    fair: float | None  # FairShare tolerance with AssignAll, or None for capacity only
    methods: tuple[str, ...]
    time_limit: float
    anchor: str


@dataclass
class Row:
    instance: str
    size: str
    method: str
    status: str
    objective: float | None
    bound: float | None
    gap_to_best_bound: float | None
    violations: int | None
    seconds: float
    peak_mb: float
    bytes_per_pair: float | None = None
    ratio_to_anchor: float | None = None
    note: str = ""


def _constraints(case: Case) -> list[Any]:
    import fairassign as fa

    return [] if case.fair is None else [fa.AssignAll(), fa.FairShare(case.fair)]


def _run_method(case: Case, method: str, seed: int) -> dict[str, Any]:
    """Child process: build the instance, run one method, measure it."""
    import numpy as np
    from instances import random_problem

    import fairassign as fa

    problem = random_problem(case.n_leads, case.n_reps, case.candidates, seed=seed)
    constraints = _constraints(case)
    out: dict[str, Any] = {"note": ""}
    built_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: kilobytes
    started = time.perf_counter()
    if method.startswith("fa:"):
        # "fa:auto/no-limit" runs auto as a user would by default, without a time limit
        solver, _, flag = method[3:].partition("/")
        time_limit = None if flag == "no-limit" else case.time_limit
        result = fa.solve(problem, constraints, solver=solver, time_limit=time_limit, seed=seed)
        out.update(status=result.status.name, objective=None, bound=result.bound,
                   rep_of=result.rep_of if result.status.has_solution else None,
                   note=result.solver if solver == "auto" else "")
    elif method == "raw-flow":
        from flow_vs_raw import raw_flow

        rep_of, _ = raw_flow(problem.pair_lead, problem.pair_rep, problem.pair_score, problem.capacity,
                             problem.n_leads, problem.n_reps)
        out.update(status="OPTIMAL", rep_of=rep_of, bound=None)
    elif method == "highs-lp":
        from fairassign.linear import build_linear_model, solve_lp
        from fairassign.rules import bind

        model = build_linear_model(problem, bind(problem, constraints))
        lp = solve_lp(model, model.score, time_limit=case.time_limit)
        out.update(status=lp.status.upper(), objective=None, bound=lp.value, rep_of=None, note="LP relaxation")
    elif method == "scipy-lsa":
        from scipy.optimize import linear_sum_assignment

        dense = problem.dense_score()
        slots = np.repeat(np.arange(problem.n_reps), problem.capacity.astype(np.int64))
        cost = np.where(np.isfinite(dense[:, slots]), -dense[:, slots], 1e12)
        rows, cols = linear_sum_assignment(cost)
        rep_of = np.full(problem.n_leads, -1, np.int64)
        keep = cost[rows, cols] < 1e12
        rep_of[rows[keep]] = slots[cols[keep]]
        out.update(status="OPTIMAL", rep_of=rep_of, bound=None, note="replicated columns")
    elif method == "pulp-cbc":
        from textbook import pulp_cbc

        status, rep_of = pulp_cbc(problem, case.fair, case.time_limit)
        out.update(status=status, rep_of=rep_of, bound=None, note="textbook model")
    else:
        raise ValueError(f"unknown method {method!r}")
    out["seconds"] = time.perf_counter() - started
    rep_of = out.pop("rep_of")
    if rep_of is not None:
        out["violations"] = len(fa.verify(problem, rep_of, constraints))
        out["objective"] = problem.total_score(rep_of)
    else:
        out["violations"] = None
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["peak_mb"] = peak_kb / 1024.0
    out["bytes_per_pair"] = (peak_kb - built_kb) * 1024.0 / max(problem.n_pairs, 1)
    return out


def cases(full: bool) -> list[Case]:
    fa_fair = ("fa:auto", "fa:auto/no-limit", "fa:lp-round", "fa:greedy", "fa:cpsat", "fa:mip")
    quick = [
        Case("capacity", 10_000, 200, 20, None,
             ("raw-flow", "fa:auto", "fa:flow", "fa:greedy", "fa:lp-round", "highs-lp"), 60.0, "raw-flow"),
        Case("fair-0.10", 1_000, 50, 15, 0.10, ("highs-lp", *fa_fair, "pulp-cbc"), 30.0, "highs-lp"),
    ]
    if not full:
        return quick
    return [
        *quick,
        Case("capacity", 10_000, 200, 20, None, ("scipy-lsa", "fa:cpsat", "fa:mip"), 60.0, "raw-flow"),
        Case("capacity", 100_000, 1_000, 10, None, ("raw-flow", "fa:auto", "fa:greedy"), 120.0, "raw-flow"),
        Case("capacity", 1_000_000, 2_000, 10, None, ("raw-flow", "fa:auto", "fa:greedy"), 300.0, "raw-flow"),
        Case("fair-0.10", 10_000, 200, 20, 0.10, ("highs-lp", *fa_fair, "pulp-cbc"), 120.0, "highs-lp"),
        # the generic MIP backends get 60 s here and return nothing; the LP alone does not finish in 60 s
        Case("fair-0.10", 100_000, 1_000, 10, 0.10,
             ("highs-lp", "fa:auto/no-limit", "fa:greedy", "fa:mip", "fa:cpsat"), 60.0, "highs-lp"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="add the large instances (tens of minutes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="run only methods whose name contains this text")
    parser.add_argument("--instance", default=None, help="run only sizes whose '<leads>x<reps>x<k>' contains this")
    args = parser.parse_args(argv)

    rows: list[Row] = []
    anchor_seconds: dict[tuple[str, str], float] = {}
    context = multiprocessing.get_context("spawn")
    for case in cases(args.full):
        size = f"{case.n_leads}x{case.n_reps}x{case.candidates}"
        if args.instance is not None and args.instance not in size:
            continue
        methods = [m for m in case.methods if args.only is None or args.only in m or m == case.anchor]
        block: list[Row] = []
        for method in methods:
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                out = pool.submit(_run_method, case, method, args.seed).result()
            row = Row(instance=case.name, size=size, method=method, status=out["status"],
                      objective=out.get("objective"), bound=out.get("bound"), gap_to_best_bound=None,
                      violations=out["violations"], seconds=out["seconds"], peak_mb=out["peak_mb"],
                      bytes_per_pair=out["bytes_per_pair"], note=out["note"])
            block.append(row)
            print(f"  {size:>16} {case.name:<10} {method:<16} {row.status:<11} {row.seconds:8.2f} s", flush=True)
            if method == case.anchor:
                anchor_seconds[(case.name, size)] = row.seconds
        bounds = [r.bound for r in block if r.bound is not None]
        exact = [r.objective for r in block if r.status == "OPTIMAL" and r.objective is not None and r.bound is None]
        best = min(bounds + exact) if bounds or exact else None
        for row in block:
            if best is not None and row.objective is not None:
                row.gap_to_best_bound = max(0.0, (best - row.objective) / abs(best))
            anchor = anchor_seconds.get((case.name, size))
            row.ratio_to_anchor = None if not anchor else row.seconds / anchor
        rows.extend(block)

    print()
    header = f"{'instance':<10} {'size':>16} {'method':<16} {'status':<11} {'objective':>14} {'gap':>8} " \
             f"{'viol':>5} {'time s':>8} {'x anchor':>8} {'peak MB':>8} {'B/pair':>7}  note"
    print(header)
    print("-" * len(header))
    for row in rows:
        objective = "-" if row.objective is None else f"{row.objective:,.1f}"
        gap = "-" if row.gap_to_best_bound is None else f"{row.gap_to_best_bound:.3%}"
        ratio = "-" if row.ratio_to_anchor is None else f"{row.ratio_to_anchor:.2f}"
        violations = "-" if row.violations is None else str(row.violations)
        print(f"{row.instance:<10} {row.size:>16} {row.method:<16} {row.status:<11} {objective:>14} {gap:>8} "
              f"{violations:>5} {row.seconds:8.2f} {ratio:>8} {row.peak_mb:8.0f} {row.bytes_per_pair or 0:7.0f}  "
              f"{row.note}")
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"run-{'full' if args.full else 'quick'}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
