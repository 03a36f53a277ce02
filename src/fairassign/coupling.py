r"""Solving a batch block by block when a :class:`~fairassign.FairShare` couples the blocks.

A fair share ties every rep to the total assigned value :math:`V`:
:math:`l_r V \le V_r \le h_r V`. Take :math:`V` as given and the rule becomes a band on each
rep's own value, :math:`V_r \in [l_r V, h_r V]`, which reads one rep only, so the batch
falls apart along the components of its eligibility graph (see :mod:`fairassign.decompose`)
like any batch without a fair share. The only coupling left is the one number :math:`V`, and
it is *broadcast*: every block is solved with the bands it implies.

Exact when every lead must be assigned
--------------------------------------
Under :class:`~fairassign.AssignAll`, every rule-keeping assignment assigns every lead, so
:math:`V = \sum_i v_i` is known before solving. Then the fair share *is* the set of bands,
the rule-keeping assignments of the batch are the products of those of its blocks, and
solving each block exactly gives the batch's optimum, with the sum of the block bounds as a
proven bound. No sampling, no repair.

Otherwise: a sampled estimate, then reduce and repair
-----------------------------------------------------
When leads may stay unassigned, :math:`V` depends on the answer. It is estimated from a
seeded sample of the leads, solved with the fast greedy backend (whose inner step uses
Lagrangian prices on the fairness rows, learned on a sample too) on capacities scaled to the
sample, :math:`\hat V = V_{\text{sample}} / f` for a sample fraction *f*. The blocks are solved
with the bands of :math:`\hat V`, their answers are put side by side (the *reduce* step), and
if the total :math:`V` of that answer misses :math:`\hat V` enough to break the fair share,
the shared repair (:mod:`fairassign.solvers.repair`) restores it on the whole batch, moving
as little score as it can. The bound is then the Lagrangian bound of
:mod:`fairassign.solvers.dual_bound` on the whole batch, a handful of vectorised passes over
its pairs, valid whatever the blocks did.

If a block cannot keep its bands (:math:`\hat V` asked a region for more value than its leads
hold) or the repair fails, the batch is solved whole; the result's ``reason`` says which path
was taken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .constraints import Constraint, FairShare, ValueBand
from .problem import Problem
from .result import Status, relative_gap
from .rules import Rules
from .solvers.base import SolveRequest, SolverOutput

__all__ = ["CoupledPlan", "plan_coupled", "estimate_total_value", "band_constraints", "coupling_supported",
           "finish_coupled"]

#: leads drawn for the estimate of the total value when not every lead must be assigned
SAMPLE_LEADS = 20_000


@dataclass(frozen=True, eq=False)
class CoupledPlan:
    """How a batch with a fair share is split: the total value the blocks are given and whether it is exact."""

    total_value: float
    exact: bool
    note: str


def _fair_rules(constraints: tuple[Constraint, ...]) -> tuple[FairShare, ...]:
    return tuple(rule for rule in constraints if isinstance(rule, FairShare))


def estimate_total_value(problem: Problem, rules: Rules, request: SolveRequest,
                         sample_leads: int = SAMPLE_LEADS) -> float:
    r"""Estimate :math:`V`, the value a good rule-keeping assignment gives out, from a sample of leads.

    The sample keeps every rep, scales capacities by the sample fraction, and replaces each
    fair share by one with explicit weights (the batch's shares), so the sample's rule is the
    batch's. Bands, pins and forbidden pairs are left out: this is an estimate, which the
    repair step corrects.
    """
    from .solve import solve  # a late import: solve imports decompose, which imports this module

    n_leads = problem.n_leads
    rng = np.random.default_rng(request.seed)
    take = min(n_leads, max(1, int(sample_leads)))
    leads = np.sort(rng.choice(n_leads, size=take, replace=False)) if take < n_leads else np.arange(n_leads)
    fraction = take / max(n_leads, 1)
    sample = _lead_sample(problem, rules, leads.astype(np.int64), fraction)
    fair = [FairShare(row.tolerance, weight=row.share) for row in rules.fair]
    result = solve(sample, fair, solver="greedy", objective=request.objective, seed=request.seed)
    if not result.status.has_solution:
        return float(problem.value[rules.must_assign].sum()) or float(problem.value.sum())
    return float(result.rep_value.sum()) / fraction


def _lead_sample(problem: Problem, rules: Rules, leads: NDArray[np.int64], fraction: float) -> Problem:
    from .decompose import _sub_problem  # a late import: decompose imports this module

    starts, ends = problem.lead_start[leads], problem.lead_start[leads + 1]
    lengths = ends - starts
    pairs = np.repeat(ends - np.cumsum(lengths), lengths) + np.arange(int(lengths.sum()))
    pairs = pairs[rules.allowed[pairs]]
    local_lead = np.full(problem.n_leads, -1, np.int64)
    local_lead[leads] = np.arange(leads.size)
    reps = np.arange(problem.n_reps, dtype=np.int64)
    return _sub_problem(problem, leads, reps, pairs, local_lead, reps, capacity=problem.capacity * fraction)
def plan_coupled(problem: Problem, rules: Rules, request: SolveRequest) -> CoupledPlan:
    """The total value to broadcast: exact when every lead must be assigned, else a sampled estimate."""
    if rules.must_assign.all():
        return CoupledPlan(float(problem.value.sum()), True,
                           "FairShare split exactly: every lead is assigned, so the total value is known")
    estimate = estimate_total_value(problem, rules, request)
    return CoupledPlan(estimate, False, f"FairShare split on a sampled estimate of the total value ({estimate:.6g})")


def band_constraints(rules: Rules, total_value: float) -> tuple[ValueBand, ...]:
    """Each fair share as the per-rep value band it is when the total value is ``total_value``."""
    # a tolerance above 1 gives a negative lower side, which no rep's value can miss
    return tuple(ValueBand(lower=np.maximum(row.low, 0.0) * total_value, upper=row.high * total_value)
                 for row in rules.fair)


def coupling_supported(constraints: tuple[Constraint, ...]) -> bool:
    """Fair shares that read only today's batch (no value received earlier) can be split."""
    return all(getattr(rule, "received", None) is None for rule in _fair_rules(constraints))


def finish_coupled(problem: Problem, rules: Rules, request: SolveRequest, rep_of: NDArray[np.int64],
                         status: Status, block_bound: float | None, plan: CoupledPlan,
                         whole: Callable[[], SolverOutput]) -> tuple[SolverOutput, list[str]]:
    """The reduce-and-repair step, given the blocks' answers put side by side.

    Parameters
    ----------
    rep_of, status, block_bound
        The combined answer of the blocks, the worst of their statuses, and the sum of their
        bounds (None when any is missing).
    plan
        The total value the blocks were given.
    whole
        Solves the batch in one piece: the fallback.

    Returns
    -------
    SolverOutput, list of str
        The answer for the whole batch and notes on the path taken.
    """
    from .solvers.dual_bound import dual_bound
    from .solvers.repair import repair
    from .verify import verify

    notes = [plan.note]
    if not status.has_solution:
        notes.append(f"a block under the broadcast bands ended {status.name}; solved whole instead")
        return whole(), notes
    if plan.exact:
        return SolverOutput(rep_of=rep_of, status=status, bound=block_bound), notes
    if verify(problem, rep_of, rules.constraints):
        repaired = repair(problem, rules, rep_of, request)
        if repaired is None:
            notes.append("the repair could not restore the fair share; solved whole instead")
            return whole(), notes
        notes.append("repaired the combined answer on the whole batch")
        rep_of = repaired
    objective = problem.total_score(rep_of)
    # under the lexicographic objective a bound need only hold for answers with as many leads
    at_least = int((rep_of >= 0).sum()) if request.objective == "lexicographic" else 0
    bound = dual_bound(problem, rules, min_assigned=at_least, target=objective, iterations=30,
                       time_limit=request.time_limit).value
    proven = float(bound) if np.isfinite(bound) else None
    # the bound proves the answer best when it closes the gap and, under the lexicographic
    # objective, no lead that could be assigned was left out
    assignable = np.zeros(problem.n_leads, bool)
    assignable[problem.pair_lead[rules.allowed]] = True
    closed = proven is not None and relative_gap(objective, proven) == 0.0
    most = request.objective == "score" or at_least == int(assignable.sum())
    return SolverOutput(rep_of=rep_of, status=Status.OPTIMAL if closed and most else Status.FEASIBLE,
                        bound=proven), notes
