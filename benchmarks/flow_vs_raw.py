"""Time ``fa.solve(solver="flow")`` against a raw OR-Tools min-cost flow on the same instance.

The raw model is what a user would write by hand from the sparse arrays: source -> lead
(capacity 1) -> rep (one arc per candidate, cost -round(score * scale)) -> sink (rep
capacity), solved with ``solve_max_flow_with_min_cost``, then the flows read back into a
``rep_of`` array. It uses the same power-of-two score scale as the backend (the finest that
OR-Tools accepts), so both solve the same integer instance. Problem construction is timed
separately: ``fa.solve`` starts from an existing :class:`fairassign.Problem`.

Run::

    python benchmarks/flow_vs_raw.py            # 100k leads x 1k reps x 10 candidates
    python benchmarks/flow_vs_raw.py --full     # and 1M x 2k x 10 (--full-repeats N)
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

from instances import random_problem

import fairassign as fa
from fairassign.diagnosis import diagnose
from fairassign.rules import bind
from fairassign.solve import assemble
from fairassign.solvers.base import SolveRequest
from fairassign.solvers.flow import FlowSolver, cost_limit


def raw_flow(lead: NDArray[np.int64], rep: NDArray[np.int64], score: NDArray[np.float64],
             capacity: NDArray[np.float64], n_leads: int, n_reps: int) -> tuple[NDArray[np.int64], float]:
    """The hand-written model; returns ``rep_of`` and the scale used."""
    from ortools.graph.python import min_cost_flow

    scale = 2.0 ** math.floor(math.log2(cost_limit(n_leads + n_reps + 2, guaranteed=False) / np.abs(score).max()))
    source, sink = n_leads + n_reps, n_leads + n_reps + 1
    network = min_cost_flow.SimpleMinCostFlow()
    network.add_arcs_with_capacity_and_unit_cost(
        lead.astype(np.int32), (rep + n_leads).astype(np.int32), np.ones(lead.size, np.int64),
        -np.rint(score * scale).astype(np.int64))
    network.add_arcs_with_capacity_and_unit_cost(
        np.full(n_leads, source, np.int32), np.arange(n_leads, dtype=np.int32),
        np.ones(n_leads, np.int64), np.zeros(n_leads, np.int64))
    room = np.minimum(capacity, np.bincount(rep, minlength=n_reps)).astype(np.int64)
    network.add_arcs_with_capacity_and_unit_cost(
        np.arange(n_leads, n_leads + n_reps, dtype=np.int32), np.full(n_reps, sink, np.int32),
        room, np.zeros(n_reps, np.int64))
    network.set_node_supply(source, n_leads)
    network.set_node_supply(sink, -n_leads)
    status = network.solve_max_flow_with_min_cost()
    if status != network.OPTIMAL:
        raise RuntimeError(f"raw min-cost flow: {status}")
    chosen = network.flows(np.arange(lead.size, dtype=np.int32)) > 0
    rep_of = np.full(n_leads, -1, np.int64)
    rep_of[lead[chosen]] = rep[chosen]
    return rep_of, scale


def one_size(n_leads: int, n_reps: int, candidates: int, repeats: int) -> None:
    print(f"\n{n_leads} leads x {n_reps} reps x {candidates} candidates ({n_leads * candidates} pairs)")
    started = time.perf_counter()
    problem = random_problem(n_leads, n_reps, candidates, seed=0)
    print(f"  Problem construction          {time.perf_counter() - started:8.3f} s (outside both timings)")
    lead, rep, score = problem.pair_lead, problem.pair_rep, problem.pair_score

    raw_times, flow_times = [], []
    result = None
    raw_rep_of = None
    for _ in range(repeats):
        started = time.perf_counter()
        raw_rep_of, _ = raw_flow(lead, rep, score, problem.capacity, n_leads, n_reps)
        raw_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = fa.solve(problem, solver="flow")
        flow_times.append(time.perf_counter() - started)
    assert result is not None and raw_rep_of is not None
    raw, flow = statistics.median(raw_times), statistics.median(flow_times)
    print(f"  raw OR-Tools model            {raw:8.3f} s  (median of {repeats}: "
          + ", ".join(f"{t:.3f}" for t in raw_times) + ")")
    print(f"  fa.solve(solver='flow')       {flow:8.3f} s  (median of {repeats}: "
          + ", ".join(f"{t:.3f}" for t in flow_times) + ")")
    print(f"  ratio flow / raw              {flow / raw:8.3f}")

    # where fa.solve spends its time
    started = time.perf_counter()
    rules = bind(problem, ())
    bound_at = time.perf_counter()
    diagnose(problem, rules)
    diagnosed_at = time.perf_counter()
    output = FlowSolver().solve(problem, rules, SolveRequest())
    solved_at = time.perf_counter()
    assemble(problem, rules, output, "flow", "", solved_at)
    assembled_at = time.perf_counter()
    print(f"  of which: bind {bound_at - started:.3f} s, diagnose {diagnosed_at - bound_at:.3f} s, "
          f"backend {solved_at - diagnosed_at:.3f} s, assemble + verify {assembled_at - solved_at:.3f} s")

    raw_pairs = problem.pair_index(np.flatnonzero(raw_rep_of >= 0), raw_rep_of[raw_rep_of >= 0])
    raw_objective = float(problem.pair_score[raw_pairs].sum())
    print(f"  status {result.status.name}, assigned {result.n_assigned} (raw {int((raw_rep_of >= 0).sum())}), "
          f"objective {result.objective:.6f} (raw {raw_objective:.6f}), bound {result.bound:.6f}, "
          f"gap {result.gap:.2e}")
    print(f"  notes: {result.reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run 1M leads x 2k reps x 10 candidates")
    parser.add_argument("--repeats", type=int, default=3, help="runs per model at 100k")
    parser.add_argument("--full-repeats", type=int, default=1, help="runs per model at 1M")
    args = parser.parse_args()
    one_size(100_000, 1_000, 10, args.repeats)
    if args.full:
        one_size(1_000_000, 2_000, 10, args.full_repeats)


if __name__ == "__main__":
    main()
