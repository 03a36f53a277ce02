"""Greedy at scale: time, share of the optimum, gap to its own bound, and raw min-cost flow.

Instances follow :mod:`instances` (capacity only, sparse random candidates, lognormal lead
values, unit effort). For each size this prints, under the lexicographic objective:

* greedy: wall time of ``GreedySolver.solve`` (rules bound beforehand), leads assigned,
  objective, its own Lagrangian bound and the gap to it;
* flow: OR-Tools ``SimpleMinCostFlow.solve_max_flow_with_min_cost`` on the same candidates
  (as many leads as possible, then the least cost = the most score; scores scaled to
  integers by ``SCALE``), its time (network build excluded and shown apart), and the
  greedy's objective as a share of that optimum.

Run::

    python benchmarks/greedy_scale.py                 # 100k x 1k x 10 and 1M x 2k x 10
    python benchmarks/greedy_scale.py --sizes 100000x1000x10 --slack 0.9
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from instances import random_problem

import fairassign as fa
from fairassign.rules import bind
from fairassign.solvers.base import SolveRequest
from fairassign.solvers.greedy import GreedySolver

#: score -> integer cost factor for the min-cost flow (relative rounding ~1e-7 of a lead's score)
SCALE = 1e6


def raw_flow(problem: fa.Problem) -> tuple[float, int, float, float]:
    """Lexicographic optimum by raw OR-Tools min-cost flow: (objective, n_assigned, build s, solve s)."""
    from ortools.graph.python import min_cost_flow

    started = time.perf_counter()
    n_leads, n_reps = problem.n_leads, problem.n_reps
    source, sink = n_leads + n_reps, n_leads + n_reps + 1
    leads = np.arange(n_leads, dtype=np.int64)
    reps = np.arange(n_reps, dtype=np.int64)
    capacity = np.minimum(problem.capacity, n_leads).astype(np.int64)
    tails = np.concatenate((np.full(n_leads, source), problem.pair_lead, n_leads + reps))
    heads = np.concatenate((leads, n_leads + problem.pair_rep, np.full(n_reps, sink)))
    capacities = np.concatenate((np.ones(n_leads, np.int64), np.ones(problem.n_pairs, np.int64), capacity))
    costs = np.concatenate((np.zeros(n_leads, np.int64), -np.round(problem.pair_score * SCALE).astype(np.int64),
                            np.zeros(n_reps, np.int64)))
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                              capacities, costs)
    # supplies are upper bounds here: as much of n_leads units as fits, at the least cost
    flow.set_nodes_supplies(np.array([source, sink]), np.array([n_leads, -n_leads]))
    built = time.perf_counter()
    status = flow.solve_max_flow_with_min_cost()
    solved = time.perf_counter()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}")
    arcs = np.arange(n_leads, n_leads + problem.n_pairs)
    used = flow.flows(arcs) > 0
    objective = float(problem.pair_score[used].sum())
    return objective, int(used.sum()), built - started, solved - built


def run(n_leads: int, n_reps: int, candidates: int, slack: float, seed: int) -> None:
    problem = random_problem(n_leads, n_reps, candidates, seed=seed, slack=slack)
    rules = bind(problem, ())
    started = time.perf_counter()
    output = GreedySolver().solve(problem, rules, SolveRequest())
    greedy_time = time.perf_counter() - started
    n_assigned = int(np.count_nonzero(output.rep_of >= 0))
    objective = problem.total_score(output.rep_of)
    assert not fa.verify(problem, output.rep_of), "greedy broke a rule"
    bound = output.bound if output.bound is not None else float("nan")
    optimum, optimum_count, build_time, flow_time = raw_flow(problem)
    print(f"{n_leads} x {n_reps} x {candidates} (capacity {problem.capacity.sum() / n_leads:.2f} x leads)")
    print(f"  greedy  {greedy_time:7.2f} s  assigned {n_assigned}  objective {objective:.6e}  "
          f"bound {bound:.6e}  gap to bound {(bound - objective) / bound:.4%}  ({'; '.join(output.notes)})")
    print(f"  flow    {flow_time:7.2f} s  (+{build_time:.2f} s network build)  assigned {optimum_count}  "
          f"optimum {optimum:.6e}")
    print(f"  greedy/optimum {objective / optimum:.4%}   leads {n_assigned - optimum_count:+d}   "
          f"time greedy/flow {greedy_time / flow_time:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100000x1000x10", "1000000x2000x10"],
                        help="n_leads x n_reps x candidates per lead")
    parser.add_argument("--slack", type=float, nargs="+", default=[1.1, 0.9],
                        help="total capacity as a multiple of n_leads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for size in args.sizes:
        n_leads, n_reps, candidates = (int(part) for part in size.split("x"))
        for slack in args.slack:
            run(n_leads, n_reps, candidates, slack, args.seed)


if __name__ == "__main__":
    main()
