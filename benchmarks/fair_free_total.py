"""A fair share over a free total: one day of a tiered team, FairShare(0.10), objective "score".

Leads may stay unassigned (capacity covers 80% of them), so the total value V that every
fair band :math:`[l_r V, h_r V]` scales with is part of the answer. These are the days of the
period benchmark of ``online.py`` (``split_period(10, 1000, LEADS, REPS, seed=0, slack=0.8)``):
heavy-tailed lead values, reps of three tiers, and the bands tight on both sides at the LP
optimum, which is what makes rounding and repair hard. Run from the repository root::

    python benchmarks/fair_free_total.py                          # 2k x 50 and 10k x 200, day 1
    python benchmarks/fair_free_total.py --sizes 10000x200 --days 1 2 3 --methods auto --time-limit 150

For each day and method it prints the status, the score, the gap to the LP bound that
lp-round reports, the verifier's violations (must be 0) and the wall time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from online import split_period

import fairassign as fa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["2000x50", "10000x200"], help="leads x reps per day")
    parser.add_argument("--days", nargs="+", type=int, default=[1], help="days of the period (1-10)")
    parser.add_argument("--methods", nargs="+", default=["lp-round", "greedy", "auto"])
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--tolerance", type=float, default=0.10)
    args = parser.parse_args()
    rule = fa.FairShare(args.tolerance)
    print(f"{'instance':>14} {'day':>3} {'method':>9} {'status':>12} {'score':>14} {'gap':>7} {'viol':>4} "
          f"{'time s':>7}  time limit {args.time_limit:g} s")
    for size in args.sizes:
        leads, reps = (int(part) for part in size.split("x"))
        _, streams = split_period(10, 1000, leads, reps, seed=0, slack=0.8)
        for day in args.days:
            problem = streams[day - 1]
            bound = None
            for method in args.methods:
                started = time.perf_counter()
                result = fa.solve(problem, [rule], objective="score", solver=method, time_limit=args.time_limit)
                took = time.perf_counter() - started
                if method == "lp-round" and result.bound is not None:
                    bound = result.bound  # the LP value: the reference for every method's gap
                reference = bound if bound is not None else result.bound
                gap = "-" if reference is None or not result.status.has_solution \
                    else f"{(reference - result.objective) / reference:.2%}"
                print(f"{size:>14} {day:>3} {method:>9} {result.status.name:>12} {result.objective:>14,.0f} "
                      f"{gap:>7} {len(result.violations):>4} {took:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
