"""lp-round under AssignAll + FairShare(0.10): time, gap to the LP bound, and where the time goes.

Instances: :func:`instances.random_problem` (lognormal lead values, score = value x uniform fit,
capacities summing to 1.1 x the leads). Run from the repository root::

    python benchmarks/lp_round_fair.py                 # 1k x 50 (15 candidates), 10k x 200 (20)
    python benchmarks/lp_round_fair.py --sizes 1000x50x15 --seeds 0 1 2
    python benchmarks/lp_round_fair.py --full-lp       # also time the plain scipy LP (the anchor)

For each instance it prints the solve time, status, objective, the bound (LP value), the gap,
the verifier's violations (must be 0), and, with ``--full-lp``, the time of
:func:`fairassign.linear.solve_lp` on the full model, which lp-round replaces.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from instances import random_problem

import fairassign as fa
from fairassign.linear import build_linear_model, solve_lp
from fairassign.rules import bind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x50x15", "10000x200x20"],
                        help="leads x reps x candidates per lead")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--tolerance", type=float, default=0.10)
    parser.add_argument("--full-lp", action="store_true", help="also time the full LP through scipy")
    args = parser.parse_args()
    constraints = [fa.AssignAll(), fa.FairShare(args.tolerance)]
    print(f"{'instance':>18} {'seed':>4} {'time s':>8} {'status':>9} {'objective':>12} {'bound':>12} "
          f"{'gap %':>7} {'viol':>4}  reason")
    for size in args.sizes:
        n_leads, n_reps, candidates = (int(part) for part in size.split("x"))
        for seed in args.seeds:
            problem = random_problem(n_leads, n_reps, candidates, seed=seed)
            started = time.perf_counter()
            result = fa.solve(problem, constraints, solver="lp-round", seed=seed)
            elapsed = time.perf_counter() - started
            gap = float("nan") if result.gap is None else 100 * result.gap
            bound = float("nan") if result.bound is None else result.bound
            print(f"{size:>18} {seed:>4} {elapsed:8.2f} {result.status.name:>9} {result.objective:12.2f} "
                  f"{bound:12.2f} {gap:7.3f} {len(result.violations):>4}  {result.reason}")
            if args.full_lp:
                rules = bind(problem, constraints)
                started = time.perf_counter()
                answer = solve_lp(build_linear_model(problem, rules), build_linear_model(problem, rules).score)
                print(f"{'':>18} {'':>4} {time.perf_counter() - started:8.2f} full LP via scipy "
                      f"({answer.status}, value {answer.value})")


if __name__ == "__main__":
    main()
