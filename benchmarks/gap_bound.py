r"""A lower bound on a GAP instance's optimum cost, tighter than the LP relaxation: the Lagrangian
relaxation of the assignment rows, whose subproblems are one 0-1 knapsack per agent (rep).

With multipliers :math:`\lambda_j` on the rows :math:`\sum_i x_{ij} = 1` (free in sign: they
are equalities), every :math:`\lambda` gives a valid lower bound

.. math::

    L(\lambda) = \sum_j \lambda_j - \sum_i K_i(\lambda), \qquad
    K_i(\lambda) = \max\Big\{\sum_j (\lambda_j - c_{ij}) x_{ij} :
        \sum_j r_{ij} x_{ij} \le b_i,\ x \in \{0, 1\}\Big\},

since any feasible assignment has cost :math:`\sum c x = \sum_j \lambda_j + \sum_i \sum_j
(c_{ij} - \lambda_j) x_{ij} \ge L(\lambda)`. Each :math:`K_i` is solved **exactly** by dynamic
programming over the integer capacity (efforts are integers in these instances), so the bound
is a proof, not an estimate; costs are integers too, so :math:`\lceil L(\lambda) \rceil` is one
as well (after a :math:`10^{-6}` allowance for floating-point sums). Because each knapsack keeps
its integrality, :math:`\max_\lambda L(\lambda)` is at least the LP relaxation's value (the
"knapsack" Lagrangian bound of Ross and Soland, 1975, equal to the LP bound of the column
formulation used in branch-and-price for the GAP).

The multipliers start at the LP relaxation's duals of the assignment rows (HiGHS through
``scipy.optimize.linprog``), so the first bound is already at least the LP's, and then follow
subgradient steps :math:`\lambda \leftarrow \lambda + \mu\,(U - L)\,g / \lVert g \rVert^2`,
:math:`g_j = 1 - \sum_i x_{ij}`, with :math:`U` the best known cost and :math:`\mu` halved after
a run of steps without a better bound. The best :math:`L` seen is reported; every step is
deterministic.

Run::

    python benchmarks/gap_bound.py d200x20                    # bound for the seed-0 instance
    python benchmarks/gap_bound.py d200x20 e200x20 --steps 3000 --update   # and record it

``--update`` raises ``best_bound`` in ``benchmarks/gap_reference.csv`` where the new bound is
higher (never above ``best_cost``: that would be a bug, and it stops with an error).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gap_instances import GapInstance, generate  # noqa: E402

__all__ = ["knapsack", "lagrangian", "lp_duals", "lagrangian_bound"]

FloatArray = NDArray[np.float64]


def knapsack(profit: FloatArray, weight: NDArray[np.int64], capacity: int) -> tuple[float, NDArray[np.bool_]]:
    """Exact 0-1 knapsack by dynamic programming over the integer capacity: (best profit, chosen items).

    Items with profit <= 0 or weight > capacity are never chosen. O(items x capacity) numpy work.

    Examples
    --------
    >>> value, chosen = knapsack(np.array([6.0, 10.0, 12.0]), np.array([1, 2, 3]), 5)
    >>> value, chosen.tolist()
    (22.0, [False, True, True])
    """
    chosen = np.zeros(profit.size, dtype=bool)
    if capacity < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity}")
    items = np.flatnonzero((profit > 0) & (weight <= capacity))
    if items.size == 0:
        return 0.0, chosen
    best = np.zeros(capacity + 1)
    took = np.zeros((items.size, capacity + 1), dtype=bool)
    for row, item in enumerate(items.tolist()):
        w, p = int(weight[item]), float(profit[item])
        candidate = best[: capacity + 1 - w] + p  # evaluated before the update: each item once
        better = candidate > best[w:]
        took[row, w:] = better
        best[w:] = np.where(better, candidate, best[w:])
    room = capacity
    for row in range(items.size - 1, -1, -1):
        if took[row, room]:
            chosen[items[row]] = True
            room -= int(weight[items[row]])
    return float(best[capacity]), chosen


def lagrangian(instance: GapInstance, multipliers: FloatArray) -> tuple[float, NDArray[np.int64]]:
    r""":math:`L(\lambda)` and how many agents take each job in the knapsack answers."""
    total = float(multipliers.sum())
    taken = np.zeros(instance.n_leads, dtype=np.int64)
    for agent in range(instance.n_reps):
        value, chosen = knapsack(multipliers - instance.cost[:, agent], instance.effort[:, agent],
                                 int(instance.capacity[agent]))
        total -= value
        taken += chosen
    return total, taken


def lp_duals(instance: GapInstance) -> tuple[float, FloatArray]:
    """The LP relaxation's value and its duals on the assignment rows (HiGHS through scipy)."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    n, m = instance.n_leads, instance.n_reps
    columns = np.arange(n * m)  # x[j, i] at j * m + i
    job = columns // m
    agent = columns % m
    equal = sp.csr_array((np.ones(n * m), (job, columns)), shape=(n, n * m))
    knap = sp.csr_array((instance.effort.ravel().astype(float), (agent, columns)), shape=(m, n * m))
    answer = linprog(instance.cost.ravel().astype(float), A_ub=knap, b_ub=instance.capacity.astype(float),
                     A_eq=equal, b_eq=np.ones(n), bounds=(0, 1), method="highs")
    if answer.status != 0:
        raise RuntimeError(f"LP relaxation failed: {answer.message}")
    return float(answer.fun), np.asarray(answer.eqlin.marginals, dtype=np.float64)


def lagrangian_bound(instance: GapInstance, upper: float, steps: int = 2000, patience: int = 40,
                     log_every: int = 0) -> tuple[int, float, FloatArray]:
    """The best proven lower bound found: (ceil of the best L, the LP value, the multipliers at it)."""
    lp_value, multipliers = lp_duals(instance)
    best_value, best_at = -math.inf, multipliers.copy()
    step_size, since = 2.0, 0
    for step in range(steps):
        value, taken = lagrangian(instance, multipliers)
        if value > best_value + 1e-9:
            best_value, best_at, since = value, multipliers.copy(), 0
        else:
            since += 1
            if since >= patience:
                step_size, since = step_size / 2, 0
        if log_every and step % log_every == 0:
            print(f"  step {step:5d}  L {value:12.3f}  best {best_value:12.3f}  mu {step_size:.3g}", flush=True)
        subgradient = 1.0 - taken
        norm = float(subgradient @ subgradient)
        if norm == 0 or step_size < 1e-6 or best_value > upper - 1 + 1e-6:
            break  # the knapsacks assign every job once (optimal), or no step is left, or the bound is proven
        multipliers = multipliers + step_size * max(upper - value, 1e-3) / norm * subgradient
    return math.ceil(best_value - 1e-6), lp_value, best_at


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(HERE))
    from gap import REFERENCE, read_reference, write_reference

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="+", help="e.g. d200x20 (type, leads x reps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--patience", type=int, default=40, help="steps without progress before the step halves")
    parser.add_argument("--update", action="store_true", help="record a higher bound in the reference file")
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    args = parser.parse_args(argv)
    sources: dict[str, str] = {}
    known = read_reference(args.reference, sources)
    for name in args.instances:
        kind, size = name[0], name[1:]
        leads, _, reps = size.partition("x")
        instance = generate(kind, int(leads), int(reps), seed=args.seed)
        key = f"{instance.name}/{instance.seed}"
        best_cost, old_bound = known.get(key, (None, None))
        upper = best_cost if best_cost is not None else float(instance.cost.max(axis=1).sum())
        started = time.perf_counter()
        bound, lp_value, _ = lagrangian_bound(instance, upper, steps=args.steps, patience=args.patience,
                                              log_every=max(args.steps // 10, 1))
        seconds = time.perf_counter() - started
        print(f"{key}: Lagrangian (knapsack) bound {bound} in {seconds:.1f} s; LP {lp_value:.2f}; "
              f"best known cost {best_cost}; recorded bound {old_bound}")
        if best_cost is not None and bound > best_cost:
            raise SystemExit(f"{key}: bound {bound} above the best known cost {best_cost}: a bug")
        if args.update and (old_bound is None or bound > old_bound):
            known[key] = (best_cost, float(bound))
            note = (f"bound {bound} from benchmarks/gap_bound.py (Lagrangian knapsack bound, {args.steps} steps, "
                    f"{time.strftime('%Y-%m-%d')}; was {old_bound:g})")
            sources[key] = (sources.get(key, "") + "; " + note).lstrip("; ")
            write_reference(args.reference, known, sources)
            print(f"  recorded in {args.reference}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
