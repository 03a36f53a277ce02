r"""Backend ``"lp-round"``: LP relaxation, rounding, repair; the LP value is the bound.

1. **LP relaxation** of the model of :mod:`fairassign.linear` (same optimum), solved with
   HiGHS through ``highspy``: interior point with crossover, then dual simplex warm starts.
   Two reformulations keep it small (options of
   :func:`~fairassign.linear.build_linear_model`):

   * when every lead must be assigned, the total value :math:`V` is a constant, so each
     fair share is a plain value band :math:`l_r V \le V_r \le h_r V` on one ranged row (no
     :math:`V` column, no total row); with unit effort, count bands and capacity share a row;
   * **column generation** (:mod:`fairassign.column_generation`): the LP starts from each
     lead's best pairs; the row duals price every other pair, those with a positive reduced
     cost join, and the LP is solved again, until none is left.

   Whatever the last round, the bound is the Lagrangian dual value at the row duals over
   *all* pairs, valid for any duals and equal to the LP value once no pair prices out.
   Without ``highspy``, :func:`fairassign.linear.solve_lp` (scipy) solves the full LP instead.

2. **Objective.** ``"score"``: one LP for the most score. Lexicographic: the score LP is
   solved first; when it already assigns every lead that has a pair, it is also the
   lexicographic LP optimum. Otherwise a count LP (with a tiny score tie-break, see
   :func:`_count_gain`) finds the most leads :math:`C^*`, and the score LP is re-solved
   warm with :math:`\sum x \ge m = \lfloor C^* \rfloor`. Its value bounds every assignment
   with at least :math:`m` leads, so it bounds ours when ours has at least :math:`m`;
   otherwise that row is relaxed to our count and the LP re-solved from its basis.

3. **Rounding.** A lead whose LP value is 1 on a pair takes it; the fractional leads, by
   largest LP value (then score), take their best pair that still has room.
   *Fair shares over a total that is not fixed* (no AssignAll): the first rounding is of a
   second LP whose fair bands are :data:`FAIR_MARGIN` of the tolerance inside the rule's, so
   that rounding lands inside the rule's bands (if its repair fails, the next margin of
   :data:`FAIR_MARGINS` is tried, within half the time left); then the rounding of the rule's own LP is
   repaired too, within half the time taken so far (at least 5 s), and the better answer is
   kept. The bound is always the rule's own LP. Measured on one day of a tiered team
   (``make_batch``, 2000 leads x 50 reps, FairShare(0.10), score objective): rounding the
   rule's LP left nine reps a fraction of a percent below their band, the repair's moves
   stalled there and its neighbourhood MIP (all 2000 leads) returned the empty assignment in
   60 s (5.26M after 205 s of a 300 s limit); rounding inside the bands gives 5.55M, 1.6% below
   the LP, in 2.7 s. On the 10k x 200 stream of ``benchmarks/online.py``: 33.05M in 73 s
   where the rule's LP alone gave 33.00M in 126 s. On day 1 of that benchmark's period
   (``benchmarks/fair_free_total.py``) the repair changes of 2026-11-29 (fifth session)
   took lp-round from 135 s to 31 s (32.85M to 33.00M, 0.57% below the LP).

4. **Repair** (:func:`fairassign.solvers.repair.repair`) restores every rule the rounding
   broke and adds leads where the rules allow.

5. **Local search**, per-pair effort only (the generalized assignment problem): when only
   capacity, eligibility, count bands and must-assign bind,
   :func:`fairassign.solvers.local_search.improve` (tabu search over shifts and swaps)
   raises the score of the repaired answer; it never lowers it. ``LpRoundSolver(local_search=False)``
   skips it (``solver="auto"`` does, when an exact backend refines the answer next).

An infeasible LP proves the rules infeasible (status INFEASIBLE, with the rule families
whose removal makes the LP feasible named in the diagnosis).
"""

from __future__ import annotations

import importlib.util
import math
import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..column_generation import MAX_ROUNDS, TOP_K, ColumnGeneration, LpAnswer
from ..linear import LinearModel, build_linear_model, solve_lp
from ..problem import Problem
from ..result import Status
from ..rules import Rules
from .base import Solver, SolveRequest, SolverOutput, register
from .repair import repair_with_proof, usable_pairs

__all__ = ["LpRoundSolver", "TOP_K", "MAX_ROUNDS", "FAIR_MARGIN", "FAIR_MARGINS"]

#: share of a fair-share tolerance the first rounding keeps inside the rule's bands (step 3)
FAIR_MARGIN = 0.05
#: the margins tried in turn until a rounding inside the bands is repaired (step 3)
FAIR_MARGINS = (FAIR_MARGIN, 0.3)
#: the least time the rounding of the rule's own LP gets after the one inside the bands found an answer
_SECOND_ROUNDING_SECONDS = 5.0
#: LP values this close to 1 count as integral
_INTEGRAL = 1e-6


#: diagnosis names of the model's row kinds (:func:`fairassign.linear.build_linear_model`),
#: in the order they are tried; lead and total rows are never dropped
_FAMILIES = (("capacity", ("capacity", "capacity+count")), ("count bands", ("count",)),
             ("value bands", ("value",)), ("fair shares", ("value+fair", "fair_high", "fair_low")))


def _model(problem: Problem, rules: Rules) -> LinearModel:
    """The relaxation in the compact forms of the module docstring, with the count row.

    Columns are the usable pairs (:func:`~fairassign.solvers.repair.usable_pairs`): a pair
    whose lead alone overfills its rep is in no feasible assignment, so leaving it out keeps
    the bound valid and makes it tighter.
    """
    usable = replace(rules, allowed=usable_pairs(problem, rules))
    return build_linear_model(problem, usable, fold_fixed_total=True, merge_unit_capacity=True,
                              merge_fair=True, assigned_row=True)


def _solve_scipy(compact: LinearModel, problem: Problem, rules: Rules, gain: NDArray[np.float64],
                 minimum: float | None, deadline: float | None) -> LpAnswer:
    """Without highspy: the full LP of :mod:`fairassign.linear` through scipy (its value is the bound).

    ``gain`` and the answer's ``x`` are over the columns of ``compact``.
    """
    model = build_linear_model(problem, rules)  # over every allowed pair: a weaker, still valid, relaxation
    per_pair = np.zeros(problem.n_pairs)
    per_pair[compact.pairs] = gain
    objective = np.zeros(model.n_vars)
    objective[: model.n_x] = per_pair[model.pairs]
    left = None if deadline is None else max(deadline - time.perf_counter(), 1e-3)
    answer = solve_lp(model, objective, min_assigned=minimum, time_limit=left)
    if answer.status != "optimal" or answer.x is None or answer.value is None:
        return LpAnswer(answer.status)
    per_pair[:] = 0.0
    per_pair[model.pairs] = answer.x[: model.n_x]
    x = np.zeros(compact.n_vars)
    x[: compact.n_x] = per_pair[compact.pairs]
    return LpAnswer("optimal", x=x, value=answer.value, bound=answer.value, rounds=1)


class _Relaxation:
    """The LP relaxation of one batch, solved for an objective, re-solved as the count row moves."""

    def __init__(self, problem: Problem, rules: Rules, model: LinearModel, gain: NDArray[np.float64],
                 use_highs: bool) -> None:
        self.problem, self.rules, self.model, self.gain = problem, rules, model, gain
        self.engine = ColumnGeneration(model, gain, problem) if use_highs else None

    def solve(self, deadline: float | None, minimum: float | None = None) -> LpAnswer:
        if self.engine is None:
            return _solve_scipy(self.model, self.problem, self.rules, self.gain, minimum, deadline)
        if minimum is not None:
            self.engine.set_count_lower(minimum)
        return self.engine.solve(deadline)


def _count_gain(score: NDArray[np.float64]) -> NDArray[np.float64]:
    r"""Objective of the count LP: 1 per lead plus a small score tie-break.

    The plain count LP is massively degenerate (every pair worth 1), which makes HiGHS slow
    and its solution arbitrary. Adding :math:`\varepsilon \in [0, 1/(4 n_{pairs}))` per pair, growing
    with the score, keeps the LP value below the count bound plus 1/4 (so the floor of the
    value still bounds the number of leads, as every addition is >= 0) and steers the
    solution towards the pairs the score LP will want.
    """
    if score.size == 0:
        return np.ones(0)
    spread = float(score.max() - score.min())
    normalised = (score - score.min()) / spread if spread > 0 else np.zeros(score.size)
    return 1.0 + normalised * (0.25 / (score.size + 1))


def _round(problem: Problem, model: LinearModel, x: NDArray[np.float64], rules: Rules) -> NDArray[np.int64]:
    """Integral LP values as they are; fractional leads by largest value, where room is left."""
    pairs, values = model.pairs, x[: model.n_x]
    rep_of = np.full(problem.n_leads, -1, dtype=np.int64)
    if pairs.size == 0:
        return rep_of
    lead = problem.pair_lead[pairs]
    score = problem.pair_score[pairs]
    # each lead's pairs by LP value, then score, then lowest index
    order = np.lexsort((np.arange(pairs.size), -score, -values, lead))
    first = np.searchsorted(lead[order], np.arange(problem.n_leads))
    has_pair = np.zeros(problem.n_leads, dtype=bool)
    has_pair[lead] = True
    top = order[np.minimum(first, pairs.size - 1)]
    whole = has_pair & (values[top] >= 1 - _INTEGRAL)
    rep_of[whole] = problem.pair_rep[pairs[top[whole]]]

    room = np.asarray(problem.capacity, dtype=np.float64).copy()
    count_room = np.asarray(rules.count_upper, dtype=np.float64).copy()
    chosen = pairs[top[whole]]
    np.subtract.at(room, problem.pair_rep[chosen], problem.pair_effort[chosen])
    np.subtract.at(count_room, problem.pair_rep[chosen], 1.0)
    fractional = np.flatnonzero(has_pair & ~whole & (values[top] > _INTEGRAL))
    fractional = fractional[np.lexsort((fractional, -score[top[fractional]], -values[top[fractional]]))]
    stop = np.append(first[1:], pairs.size)
    for i in fractional.tolist():
        for k in order[first[i]:stop[i]].tolist():
            if values[k] <= _INTEGRAL:
                break
            pair = int(pairs[k])
            rep = int(problem.pair_rep[pair])
            if problem.pair_effort[pair] <= room[rep] + 1e-9 and count_room[rep] >= 1:
                rep_of[i] = rep
                room[rep] -= problem.pair_effort[pair]
                count_room[rep] -= 1
                break
    return rep_of


def _inside_fair_bands(rules: Rules, margin: float = FAIR_MARGIN) -> Rules | None:
    """``rules`` with every fair share's tolerance cut by ``margin``, for step 3's first
    rounding; None where that does not apply (no fair share, a fixed total, or tolerance 0)."""
    if not rules.fair or bool(rules.must_assign.all()) or not any(fair.tolerance > 0 for fair in rules.fair):
        return None
    return rules.fair_narrowed(margin)


def _better(problem: Problem, request: SolveRequest, first: NDArray[np.int64], second: NDArray[np.int64]) -> bool:
    """True when ``first`` beats ``second``: more leads first under the lexicographic objective,
    then more score; ``second`` on a tie."""
    def key(rep_of: NDArray[np.int64]) -> tuple[int, float]:
        count = int(np.count_nonzero(rep_of >= 0)) if request.objective == "lexicographic" else 0
        return count, problem.total_score(rep_of)

    return key(first) > key(second)


def _round_inside(problem: Problem, rules: Rules, inner: Rules, request: SolveRequest, deadline: float | None,
                  use_highs: bool) -> NDArray[np.int64] | None:
    """Round the score LP of ``inner`` (fair bands inside the rule's) and repair against ``rules``.

    Half the time left at most, so that the rounding of the rule's own LP can still run after a
    failure. None when the LP or the repair finds nothing.
    """
    model = _model(problem, inner)
    left = None if deadline is None else (deadline - time.perf_counter()) / 2
    if left is not None and left < 0.05:
        return None
    stop = None if left is None else time.perf_counter() + left
    answer = _Relaxation(problem, inner, model, problem.pair_score[model.pairs], use_highs).solve(stop)
    if answer.status != "optimal" or answer.x is None:
        return None
    start = _round(problem, model, answer.x, inner)
    time_left = None if stop is None else max(stop - time.perf_counter(), 0.1)
    repaired, _ = repair_with_proof(problem, rules, start, SolveRequest(
        objective=request.objective, time_limit=time_left, seed=request.seed))
    return repaired


def _search(problem: Problem, rules: Rules, rep_of: NDArray[np.int64], seed: int, deadline: float | None,
            notes: list[str], ceiling: float | None = None) -> NDArray[np.int64]:
    """:func:`~fairassign.solvers.local_search.improve` on a GAP batch; ``rep_of`` elsewhere."""
    from .local_search import applies, improve

    if not applies(problem, rules):
        return rep_of
    searched = improve(problem, rules, rep_of, seed=seed, deadline=deadline, ceiling=ceiling)
    if searched.improved:
        notes.append(f"local search +{searched.score - searched.start_score:.6g} in {searched.iterations} moves"
                     + (" (stopped by the time limit)" if searched.stopped_by_time else ""))
        return searched.rep_of
    return rep_of


def _diagnose(rules: Rules, model: LinearModel) -> str:
    """Which rule families, dropped one at a time, make the LP feasible; in words."""
    kinds = model.kind_of_rows()
    culprits = []
    for name, family in _FAMILIES:
        dropped = np.isin(kinds, family)
        if not dropped.any():
            continue
        lower = np.where(dropped, -np.inf, model.row_lower)
        upper = np.where(dropped, np.inf, model.row_upper)
        from scipy.optimize import linprog

        feasible = _feasible(model.matrix, lower, upper, model.var_upper, linprog)
        if feasible:
            culprits.append(name)
    must = int(rules.must_assign.sum())
    head = "the LP relaxation is infeasible"
    if must:
        head += f" with {must} lead{'s' if must != 1 else ''} that must be assigned"
    if culprits:
        return head + ": it becomes feasible without the " + " or without the ".join(culprits) + \
            ", so those rules cannot all hold together (and no integer assignment exists either)"
    return head + ": no fractional assignment keeps every rule together, so no integer assignment does either"


def _feasible(matrix: sp.csr_array, lower: NDArray[np.float64], upper: NDArray[np.float64],
              col_upper: NDArray[np.float64], linprog: object) -> bool:
    if matrix.shape[1] == 0:  # no column: the rows must hold at zero
        return bool(np.all(lower <= 1e-9) and np.all(upper >= -1e-9))
    finite_upper = np.isfinite(upper)
    finite_lower = np.isfinite(lower)
    csr = sp.csr_array(matrix)
    a_ub = sp.vstack([csr[finite_upper], -csr[finite_lower]], format="csr")
    b_ub = np.concatenate((upper[finite_upper], -lower[finite_lower]))
    answer = linprog(np.zeros(matrix.shape[1]), A_ub=a_ub, b_ub=b_ub,  # type: ignore[operator]
                     bounds=np.column_stack((np.zeros(col_upper.size), col_upper)), method="highs")
    return bool(answer.status == 0)


@register
class LpRoundSolver(Solver):
    """LP relaxation + rounding + repair; see the module docstring."""

    name = "lp-round"
    exact = False

    def __init__(self, local_search: bool = True) -> None:
        #: run step 5 (the local search on generalized-assignment batches); ``solver="auto"`` turns it
        #: off when an exact backend follows, which starts faster from the plain rounding
        self.local_search = local_search

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        started = time.perf_counter()
        deadline = None if request.time_limit is None else started + request.time_limit
        use_highs = importlib.util.find_spec("highspy") is not None
        model = _model(problem, rules)
        notes: list[str] = [] if use_highs else ["highspy not installed: full LP through scipy"]
        lexicographic = request.objective == "lexicographic"
        minimum: float | None = None
        count_ceiling: float | None = None  # floor of a proven bound on the number of leads
        relaxation = _Relaxation(problem, rules, model, problem.pair_score[model.pairs], use_highs)
        answer = relaxation.solve(deadline)
        if lexicographic and not rules.must_assign.all() and answer.status == "optimal" and answer.x is not None:
            # When the score LP already assigns every lead that has a pair, it is also the
            # lexicographic LP optimum, and the (slow, degenerate) count LP can be skipped.
            assignable = float(np.unique(problem.pair_lead[model.pairs]).size)
            if float(np.sum(answer.x[: model.n_x])) >= assignable - 1e-6:
                count_ceiling = assignable
            else:
                counting = _Relaxation(problem, rules, model, _count_gain(problem.pair_score[model.pairs]), use_highs)
                count_answer = counting.solve(deadline)
                if count_answer.status != "optimal" or count_answer.bound is None:
                    return self._failed(problem, rules, model, count_answer, use_highs)
                count_ceiling = float(math.floor(count_answer.bound + 1e-6))
                # the count LP may find fewer leads than its bound allows; ask only what it reached
                reached = float(math.floor(float(np.sum(count_answer.x[: model.n_x])) + 1e-6)) \
                    if count_answer.x is not None else 0.0
                minimum = min(count_ceiling, reached)
                answer = relaxation.solve(deadline, minimum)
        if answer.status != "optimal" or answer.x is None:
            return self._failed(problem, rules, model, answer, use_highs)
        notes.append(f"LP {answer.value:.6g} after {answer.rounds} pricing round{'s' if answer.rounds != 1 else ''}")
        inside, margin = None, FAIR_MARGIN
        repair_deadline = deadline
        for margin in FAIR_MARGINS:
            inner = _inside_fair_bands(rules, margin)
            if inner is None:
                break
            inside = _round_inside(problem, rules, inner, request, deadline, use_highs)
            if inside is not None:
                # the rounding of the rule's own LP, as a second try, gets a bounded budget: its
                # repair is what can take minutes on a tiered team (see FAIR_MARGIN)
                spent = time.perf_counter() - started
                extra = time.perf_counter() + max(_SECOND_ROUNDING_SECONDS, 0.5 * spent)
                repair_deadline = extra if deadline is None else min(deadline, extra)
                break
        repaired, proven = None, False
        if repair_deadline is None or repair_deadline - time.perf_counter() > 0.05:
            start = _round(problem, model, answer.x, rules)
            left = None if repair_deadline is None else max(repair_deadline - time.perf_counter(), 0.1)
            repaired, proven = repair_with_proof(problem, rules, start, SolveRequest(
                objective=request.objective, time_limit=left, seed=request.seed))
        if inside is not None:
            proven = False  # an answer exists: no proof of infeasibility can stand
            if repaired is None or _better(problem, request, inside, repaired):
                repaired = inside
                notes.append(f"rounded from the LP with fair-share bands {margin:.0%} of the tolerance inside")
        if repaired is None and proven:
            return SolverOutput(
                rep_of=np.full(problem.n_leads, -1, dtype=np.int64), status=Status.INFEASIBLE,
                diagnosis=(f"no assignment keeps every rule: the LP relaxation is feasible (value {answer.value:.6g}), "
                           f"but an exact search over all {int(rules.allowed.sum())} allowed pairs found no integer "
                           "assignment",),
                notes=tuple(notes))
        if repaired is None:
            return SolverOutput(
                rep_of=np.full(problem.n_leads, -1, dtype=np.int64), status=Status.NO_SOLUTION,
                diagnosis=("rounding the LP solution and repairing it found no assignment that keeps every rule "
                           "(the LP relaxation is feasible, so the rules may still admit one: try solver='cpsat')",),
                notes=tuple(notes))
        if problem.effort_kind == "pair" and self.local_search:
            # a generalized assignment: rounding leaves room for a local search
            # the LP value bounds every answer with the LP's lead count, which the search keeps
            holds = minimum is None or int((repaired >= 0).sum()) >= minimum
            repaired = _search(problem, rules, repaired, request.seed, deadline, notes,
                               answer.bound if holds else None)
        bound = answer.bound
        n_assigned = int((repaired >= 0).sum())
        if minimum is not None and n_assigned < minimum:
            # our count is below the LP's: the bound must cover assignments with fewer leads
            answer = relaxation.solve(deadline, float(n_assigned))
            bound = answer.bound if answer.status == "optimal" else None
            notes.append(f"score LP re-solved with at least {n_assigned} leads for the bound")
        objective = problem.total_score(repaired)
        status = Status.FEASIBLE
        # an integer answer that reaches a proven bound is optimal, whether or not the LP was
        # integral; under the lexicographic objective its count must reach the LP's too
        count_settled = count_ceiling is None or n_assigned >= count_ceiling
        if bound is not None and count_settled and objective >= bound - 1e-9 * max(abs(bound), 1.0):
            status = Status.OPTIMAL
        return SolverOutput(rep_of=repaired, status=status, bound=bound, notes=tuple(notes))

    def _failed(self, problem: Problem, rules: Rules, model: LinearModel, answer: LpAnswer,
                use_highs: bool) -> SolverOutput:
        empty = np.full(problem.n_leads, -1, dtype=np.int64)
        if answer.status == "infeasible":
            return SolverOutput(rep_of=empty, status=Status.INFEASIBLE,
                                diagnosis=(_diagnose(rules, model),))
        reason = "the time limit ran out" if answer.status == "time_limit" else "the LP solver failed"
        return SolverOutput(rep_of=empty, status=Status.NO_SOLUTION,
                            diagnosis=(f"{reason} before the LP relaxation was solved",))
