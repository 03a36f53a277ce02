r"""Backend ``"greedy"``: deterministic, vectorised numpy for the largest batches.

The plan, each step a few passes over the allowed pairs (never a Python loop over pairs):

1. **Deferred acceptance** on raw scores. In rounds, every free lead proposes its best
   pair not yet tried; every rep keeps the best proposals it holds (leads that must be
   assigned first, then by priority) up to its capacity and count cap, and rejects the rest,
   who propose again next round. With one priority per pair this is exactly the classic
   greedy (take pairs by descending priority while the lead is free and the rep has room),
   reached in a few vectorised rounds instead of a loop over sorted pairs.
2. **Prices.** Projected subgradient steps on the Lagrangian of :mod:`.dual_bound`
   (Polyak steps towards the greedy's own score) learn a price per relaxed row: capacity
   (and count caps), and when they bind the fair-share, value-band and count-band rows.
   Deferred acceptance runs again on the *adjusted* scores :math:`a_p`, which steer leads
   away from over-demanded reps; the better answer is kept. Above :data:`SAMPLE_PAIRS`
   allowed pairs, step 1 and the price steps run on a seeded sample of the leads (limits
   scaled to match) and only the priced pass runs on the whole batch.
3. **More leads** (lexicographic objective, or leads that must be assigned): rounds of
   short augmenting moves: a free lead takes a full rep's slot while the lead holding it
   moves to another of its reps that has room (a lead that must be assigned may also evict
   one that need not be).
4. **Side rules** (fair shares, bands, count floors): :func:`.repair.repair` turns the
   answer into one that keeps every rule, guided by the adjusted scores. An answer that
   still breaks a rule is never returned: the status is then NO_SOLUTION with the reason.
5. **Local search**, per-pair effort only (the generalized assignment problem): when only
   capacity, eligibility, count bands and must-assign bind,
   :func:`.local_search.improve` (tabu search over shifts and swaps) raises the score.
6. **Bound**: the lowest Lagrangian value found (a proven upper bound, see
   :mod:`.dual_bound`), after a few more steps started from the learned prices.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from ..problem import Problem
from ..result import Status
from ..rules import Rules
from .base import Solver, SolveRequest, SolverOutput, register
from .dual_bound import (
    Multipliers,
    PairView,
    adjusted_scores,
    minimise,
    pair_view,
    pairs_of_segments,
    sample_view,
    segment_best,
)

__all__ = ["GreedySolver", "greedy_assign"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: weight of the raw score added to the adjusted scores of the priced pass: breaks the exact
#: ties the learned prices create (a lead indifferent between two reps) by score, not by index
TIE_BY_SCORE = 1e-9
#: evaluations of the Lagrangian spent learning prices, and then tightening the bound
PRICE_STEPS = 12
BOUND_STEPS = 3
#: above this many allowed pairs, prices are learned on a sample of leads of about this many pairs
SAMPLE_PAIRS = 1_000_000
#: rounds of augmenting moves at most
AUGMENT_ROUNDS = 30
#: relative slack under which an amount counts as within its limit (well inside verify's 1e-6)
_RTOL = 1e-9
#: relative gap under which the greedy's answer is reported OPTIMAL
_OPTIMAL_GAP = 1e-9


def _fits(amount: FloatArray, limit: FloatArray) -> NDArray[np.bool_]:
    return amount <= limit + _RTOL * np.maximum(np.abs(limit), 1.0)


@dataclass
class _State:
    """A capacity-keeping assignment being built: held pair (view index) per lead segment, loads per rep."""

    held: IntArray
    effort: FloatArray
    count: FloatArray


class _Matcher:
    """Deferred acceptance and augmenting moves over one :class:`PairView`."""

    def __init__(self, view: PairView, lexicographic: bool) -> None:
        self.view = view
        self.segment_of = np.repeat(np.arange(view.segment_lead.size, dtype=np.int64), view.segment_length)
        self.must_pair = np.take(view.segment_must, self.segment_of)
        # pairs a lead may take: under the score objective a negative pair only lowers the
        # score, so only a lead that must be placed takes one
        self.eligible = np.ones(view.size, bool) if lexicographic else (view.score >= 0) | self.must_pair
        self.want = (np.ones(view.segment_lead.size, bool) if lexicographic else view.segment_must.copy())

    def empty(self) -> _State:
        n = self.view.n_reps
        return _State(np.full(self.view.segment_lead.size, -1, np.int64), np.zeros(n), np.zeros(n))

    def _loads(self, state: _State) -> None:
        held = state.held[state.held >= 0]
        rep = np.take(self.view.rep, held)
        state.count = np.bincount(rep, minlength=self.view.n_reps).astype(np.float64)
        state.effort = (state.count.copy() if self.view.unit_effort else np.bincount(
            rep, weights=np.take(self.view.effort, held), minlength=self.view.n_reps).astype(np.float64))

    def _pairs_of(self, segments: IntArray) -> IntArray:
        if segments.size == self.view.segment_lead.size:
            return np.arange(self.view.size, dtype=np.int64)
        return pairs_of_segments(self.view, segments)

    def _best_per_lead(self, pairs: IntArray, gain: FloatArray) -> IntArray:
        """The pair of best ``gain`` per lead among ``pairs`` (grouped by lead; lowest index on ties)."""
        segments = np.take(self.segment_of, pairs)
        starts = np.flatnonzero(np.concatenate(([True], segments[1:] != segments[:-1])))
        best = np.maximum.reduceat(gain, starts)
        lengths = np.diff(np.append(starts, pairs.size))
        hit = np.flatnonzero(gain == np.repeat(best, lengths))
        first = np.ones(hit.size, bool)
        first[1:] = segments[hit[1:]] != segments[hit[:-1]]
        return pairs[hit[first]]

    def _rep_order(self, pairs: IntArray, priority: FloatArray) -> IntArray:
        """``pairs`` sorted by rep, then must-assign first, then priority descending (stable)."""
        order = np.argsort(-np.take(priority, pairs), kind="stable")
        order = order[np.argsort(~self.must_pair[pairs[order]], kind="stable")]
        rep = self.view.rep[pairs[order]]
        key = rep.astype(np.uint16) if self.view.n_reps <= np.iinfo(np.uint16).max else rep
        return pairs[order[np.argsort(key, kind="stable")]]

    def propose(self, state: _State, priority: FloatArray, open_: NDArray[np.bool_],
                deadline: float | None) -> None:
        """Deferred acceptance from ``state``: free leads propose their open pairs best first."""
        view = self.view
        limit_effort, limit_count = view.capacity, view.count_upper
        while True:
            pairs = self._pairs_of(np.flatnonzero(state.held < 0))
            candidates = pairs[open_[pairs]]
            if candidates.size == 0:
                return
            if candidates.size == view.size:  # first round from scratch: one vectorised argmax per lead
                proposal = segment_best(view, priority)[1]
            else:
                proposal = self._best_per_lead(candidates, np.take(priority, candidates))
            open_[proposal] = False
            rep = np.take(view.rep, proposal)
            new_count = np.bincount(rep, minlength=view.n_reps).astype(np.float64)
            new_effort = (new_count if view.unit_effort
                          else np.bincount(rep, weights=view.effort[proposal], minlength=view.n_reps))
            overflow = ~(_fits(state.effort + new_effort, limit_effort)
                         & (state.count + new_count <= limit_count))
            easy = ~overflow[rep]
            state.held[self.segment_of[proposal[easy]]] = proposal[easy]
            if overflow.any():
                self._contest(state, proposal[~easy], priority)
            self._loads(state)
            if deadline is not None and time.perf_counter() > deadline:
                return

    def _contest(self, state: _State, contested: IntArray, priority: FloatArray) -> None:
        """Settle proposals at reps that cannot take all of them (rank: must-assign first, then priority).

        Only what can change is sorted: a proposal that ranks below every lead its rep holds
        and does not fit in the room left is rejected at once, and a held lead that ranks
        above every remaining proposal at its rep keeps its place (everything before it in
        the rep's order is unchanged), so the pool is the contested proposals and the held
        leads they may displace, whatever the batch size.
        """
        view = self.view
        n = view.n_reps
        self._loads(state)
        held_segments = np.flatnonzero(state.held >= 0)
        held_pairs = state.held[held_segments]
        held_rep = view.rep[held_pairs]
        held_must = self.must_pair[held_pairs].astype(np.int8)
        held_priority = priority[held_pairs]
        lowest_must, lowest = _per_rep_extreme(held_rep, held_must, held_priority, n, lowest=True)
        rep = view.rep[contested]
        must = self.must_pair[contested].astype(np.int8)
        alone = (_fits(view.effort[contested], (view.capacity - state.effort)[rep])
                 & ((view.count_upper - state.count)[rep] >= 1))
        hopeless = ~alone & _ranks_below(must, priority[contested], lowest_must[rep], lowest[rep])
        contested, rep, must = contested[~hopeless], rep[~hopeless], must[~hopeless]
        if contested.size == 0:
            return
        top_must, top = _per_rep_extreme(rep, must, priority[contested], n, lowest=False)
        movable = _ranks_below(held_must, held_priority, top_must[held_rep], top[held_rep])
        state.held[held_segments[movable]] = -1
        self._loads(state)  # what the safe held leads use; the pool shares the rest
        pool = self._rep_order(np.concatenate((held_pairs[movable], contested)), priority)
        pool_rep = view.rep[pool]
        group_start = np.flatnonzero(np.concatenate(([True], pool_rep[1:] != pool_rep[:-1])))
        lengths = np.diff(np.append(group_start, pool.size))
        rank = np.arange(pool.size) - np.repeat(group_start, lengths)
        # extended precision keeps a rep's running effort exact enough after a long pool
        weights: NDArray[np.floating] = (np.ones(pool.size) if view.unit_effort
                                         else view.effort[pool].astype(np.longdouble))
        cumulative = np.cumsum(weights)
        before = np.repeat(cumulative[group_start] - weights[group_start], lengths)
        used = np.asarray(cumulative - before, dtype=np.float64)
        keep = (_fits(used, (view.capacity - state.effort)[pool_rep])
                & (rank + 1 <= (view.count_upper - state.count)[pool_rep]))
        state.held[self.segment_of[pool[keep]]] = pool[keep]

    def fill(self, state: _State, priority: FloatArray, deadline: float | None) -> None:
        """Deferred acceptance, then again for free leads on pairs that now fit (effort not unit)."""
        self.propose(state, priority, self.eligible.copy(), deadline)
        if self.view.unit_effort:
            return
        for _ in range(3):
            pairs = self._pairs_of(np.flatnonzero(state.held < 0))
            room_effort = self.view.capacity - state.effort
            room_count = self.view.count_upper - state.count
            rep = self.view.rep[pairs]
            again = pairs[self.eligible[pairs] & _fits(self.view.effort[pairs], room_effort[rep])
                          & (room_count[rep] >= 1)]
            if again.size == 0:
                return
            open_ = np.zeros(self.view.size, bool)
            open_[again] = True
            before = int(np.count_nonzero(state.held >= 0))
            self.propose(state, priority, open_, deadline)
            if int(np.count_nonzero(state.held >= 0)) == before:
                return

    def augment(self, state: _State, priority: FloatArray, deadline: float | None) -> None:
        """Rounds of moves that place free leads (all, or those that must be placed), each keeping capacity.

        A free lead *i* enters rep *r* when (a) *r* has room, or (b) the lead *j* held at *r*
        moves to another of its reps that has room, or (c) *i* must be assigned and *j* need
        not be, and *j* is dropped (only when no (a) or (b) exists for *i*). Each round each
        rep takes part in at most one move, so the rooms checked at its start stay valid.
        """
        view = self.view
        penalty = 4.0 * (float(np.abs(priority).max(initial=0.0)) + 1.0)  # ranks drops after every move
        for _ in range(AUGMENT_ROUNDS):
            if deadline is not None and time.perf_counter() > deadline:
                return
            seeking = np.flatnonzero(self.want & (state.held < 0))
            entry = self._pairs_of(seeking)
            entry = entry[self.eligible[entry]]
            if entry.size == 0:
                return
            room_effort = view.capacity - state.effort
            room_count = view.count_upper - state.count
            rep = view.rep[entry]
            touched = np.zeros(view.n_reps, bool)
            touched[rep] = True
            held_segments = np.flatnonzero(state.held >= 0)
            held_segments = held_segments[touched[view.rep[state.held[held_segments]]]]
            # (b) per touched rep, the held lead that is cheapest to move to another rep with room
            move_loss = np.full(view.n_reps, np.inf)
            vacate = np.full(view.n_reps, -1, np.int64)  # the held pair whose lead leaves rep r
            target = np.full(view.n_reps, -1, np.int64)  # the pair it moves to
            moves = self._pairs_of(held_segments)
            held_of_move = state.held[self.segment_of[moves]]
            move_rep = view.rep[moves]
            moves = moves[(held_of_move != moves) & self.eligible[moves]
                          & _fits(view.effort[moves], room_effort[move_rep]) & (room_count[move_rep] >= 1)]
            if moves.size:
                best_move = self._best_per_lead(moves, priority[moves])
                leaving = state.held[self.segment_of[best_move]]
                _cheapest_per_rep(view.rep[leaving], priority[leaving] - priority[best_move], leaving, best_move,
                                  move_loss, vacate, target)
            # (c) per touched rep, the lowest-priority held lead that need not be assigned
            drop_loss = np.full(view.n_reps, np.inf)
            drop = np.full(view.n_reps, -1, np.int64)
            if self.must_pair[entry].any():
                optional = state.held[held_segments[~view.segment_must[held_segments]]]
                if optional.size:
                    _cheapest_per_rep(view.rep[optional], priority[optional], optional,
                                      np.full(optional.size, -1, np.int64), drop_loss, drop,
                                      np.full(view.n_reps, -1, np.int64))
            effort = view.effort[entry]
            direct = _fits(effort, room_effort[rep]) & (room_count[rep] >= 1)
            by_move = ~direct & (vacate[rep] >= 0) & _fits(
                effort, room_effort[rep] + view.effort[np.maximum(vacate[rep], 0)])
            by_drop = (~direct & ~by_move & self.must_pair[entry] & (drop[rep] >= 0)
                       & _fits(effort, room_effort[rep] + view.effort[np.maximum(drop[rep], 0)]))
            possible = direct | by_move | by_drop
            if not possible.any():
                return
            gain = np.where(direct, priority[entry], -np.inf)
            gain = np.where(by_move, priority[entry] - move_loss[rep], gain)
            gain = np.where(by_drop, priority[entry] - drop_loss[rep] - penalty, gain)
            kind = np.where(direct, 0, np.where(by_move, 1, 2))[possible]
            entry, gain, rep = entry[possible], gain[possible], rep[possible]
            position = np.searchsorted(entry, self._best_per_lead(entry, gain))
            leaving = np.where(kind == 1, vacate[rep], np.where(kind == 2, drop[rep], -1))[position]
            destination = np.where(kind == 1, target[rep], -1)[position]
            if not self._apply(state, entry[position], gain[position], leaving, destination):
                return
            self._loads(state)

    def _apply(self, state: _State, entering: IntArray, gain: FloatArray, leaving: IntArray,
               destination: IntArray) -> bool:
        """Apply moves (must-assign leads first, then best gain); each rep in one move per round."""
        view = self.view
        rep = view.rep[entering]
        other = np.where(destination >= 0, view.rep[np.maximum(destination, 0)], rep)
        order = np.lexsort((entering, -gain, ~self.must_pair[entering]))
        # only the best candidate per entered rep can win; the loop below is over <= n_reps moves
        order = np.sort(order[np.unique(rep[order], return_index=True)[1]])
        order = order[np.lexsort((entering[order], -gain[order], ~self.must_pair[entering[order]]))]
        used = np.zeros(view.n_reps, bool)
        applied = False
        for k in order.tolist():
            if used[rep[k]] or used[other[k]]:
                continue
            used[rep[k]] = used[other[k]] = True
            if leaving[k] >= 0:
                state.held[self.segment_of[leaving[k]]] = destination[k]
            state.held[self.segment_of[entering[k]]] = entering[k]
            applied = True
        return applied


def _ranks_below(must_a: NDArray[np.int8], priority_a: FloatArray, must_b: NDArray[np.int8],
                 priority_b: FloatArray) -> NDArray[np.bool_]:
    """``a < b`` in the reps' order: must-assign before others, then by priority."""
    return (must_a < must_b) | ((must_a == must_b) & (priority_a < priority_b))


def _per_rep_extreme(rep: IntArray, must: NDArray[np.int8], priority: FloatArray, n_reps: int,
                     lowest: bool) -> tuple[NDArray[np.int8], FloatArray]:
    """Per rep, the lowest (or highest) (must, priority) in the reps' order; reps without entries get
    a key above (below) every real one."""
    if lowest:
        best_must = np.full(n_reps, 2, np.int8)
        np.minimum.at(best_must, rep, must)
        best = np.full(n_reps, np.inf)
        on = must == best_must[rep]
        np.minimum.at(best, rep[on], priority[on])
    else:
        best_must = np.full(n_reps, -1, np.int8)
        np.maximum.at(best_must, rep, must)
        best = np.full(n_reps, -np.inf)
        on = must == best_must[rep]
        np.maximum.at(best, rep[on], priority[on])
    return best_must, best


def _cheapest_per_rep(rep: IntArray, cost: FloatArray, leaving: IntArray, moving_to: IntArray,
                      best_cost: FloatArray, best_leaving: IntArray, best_target: IntArray) -> None:
    """Fill, per rep, the lowest ``cost`` entry (lowest position on ties) into the three outputs."""
    lowest = np.full(best_cost.size, np.inf)
    np.minimum.at(lowest, rep, cost)
    winners = np.flatnonzero(cost == lowest[rep])
    reps, first = np.unique(rep[winners], return_index=True)
    winners = winners[first]
    best_cost[reps] = cost[winners]
    best_leaving[reps] = leaving[winners]
    best_target[reps] = moving_to[winners]


def _keeps_rules(problem: Problem, rules: Rules, rep_of: IntArray, pairs: IntArray | None = None) -> list[str]:
    """Rules the assignment breaks, in words (empty when it keeps them all); tolerance well inside verify's.

    ``pairs``, when known, are the candidate pairs of the assigned leads in lead order.
    """
    broken: list[str] = []
    leads = np.flatnonzero(rep_of >= 0)
    if pairs is None:
        pairs = problem.pair_index(leads, rep_of[leads])
    if np.any(pairs < 0) or not np.all(rules.allowed[pairs]):
        broken.append("a lead went to a rep it may not have")
        return broken
    n = problem.n_reps
    reps = rep_of[leads]
    count = np.bincount(reps, minlength=n).astype(np.float64)
    effort = np.bincount(reps, weights=problem.pair_effort[pairs], minlength=n).astype(np.float64)
    value = np.bincount(reps, weights=problem.value[leads], minlength=n).astype(np.float64)
    total = float(value.sum())

    def within(amount: FloatArray, limit: FloatArray, scale: float | None = None) -> bool:
        """``amount <= limit`` up to 1e-8 of the limit (or of ``scale``, for fair shares)."""
        slack = 1e-8 * (np.maximum(np.abs(limit), 1.0) if scale is None else np.full(limit.size, max(scale, 1.0)))
        finite = np.isfinite(limit)
        return bool(np.all(amount[finite] - limit[finite] <= slack[finite]))

    if not within(effort, problem.capacity):
        broken.append("capacity")
    if not (within(count, rules.count_upper) and within(-count, -rules.count_lower)):
        broken.append("count band")
    if not (within(value, rules.value_upper) and within(-value, -rules.value_lower)):
        broken.append("value band")
    for fair in rules.fair:
        if not (within(value, fair.high * total, total) and within(-value, -fair.low * total, total)):
            broken.append(f"fair share within {fair.tolerance:g}")
    if np.any(rules.must_assign & (rep_of < 0)):
        broken.append("a lead that must be assigned is not")
    return broken


def _score(view: PairView, state: _State) -> float:
    held = state.held[state.held >= 0]
    return float(view.score[held].sum())


def _better(view: PairView, a: _State, b: _State, lexicographic: bool) -> bool:
    """Is ``a`` a better answer than ``b`` (more must-assign leads placed, then count, then score)?"""
    def key(state: _State) -> tuple[float, ...]:
        placed = state.held >= 0
        must = float(np.count_nonzero(placed & view.segment_must))
        count = float(np.count_nonzero(placed)) if lexicographic else 0.0
        return (must, count, _score(view, state))

    return key(a) > key(b)


@dataclass(frozen=True)
class GreedyAnswer:
    """What :func:`greedy_assign` found: a capacity-keeping assignment and the prices it used."""

    rep_of: IntArray
    pairs: IntArray  # candidate pair of each assigned lead, in lead order
    multipliers: Multipliers
    adjusted: FloatArray  # adjusted score per allowed pair (view order)
    bound: float  # a valid bound already proven on the full batch (inf when none yet)
    view: PairView


def greedy_assign(problem: Problem, rules: Rules, request: SolveRequest,
                  deadline: float | None = None) -> GreedyAnswer:
    """Steps 1-3 of the module docstring: an assignment keeping capacity, count caps and eligibility.

    Side rules (fair shares, value bands, count floors) are only priced, not enforced;
    :class:`GreedySolver` hands the answer to the repair pass for those. Prices are learned on
    a seeded sample of the leads (limits scaled to match) when the batch has more than
    :data:`SAMPLE_PAIRS` allowed pairs, so learning costs the same at any size.
    """
    view = pair_view(problem, rules)
    lexicographic = request.objective == "lexicographic"
    matcher = _Matcher(view, lexicographic)
    side = view.has_side_rows

    def run(on: _Matcher, priority: FloatArray, augment: bool = True) -> _State:
        state = on.empty()
        on.fill(state, priority, deadline)
        if augment:
            on.augment(state, priority, deadline)
        return state

    sampled = view.size > SAMPLE_PAIRS
    if sampled:
        small = sample_view(view, SAMPLE_PAIRS / view.size, request.seed)
        small_matcher = _Matcher(small, lexicographic)
        target = None if side else _score(small, run(small_matcher, small.score, augment=False))
        learned = minimise(small, target=target, iterations=PRICE_STEPS, relax_count=False)
        best: _State | None = None
    else:
        best = run(matcher, view.score)
        learned = minimise(view, target=None if side else _score(view, best), iterations=PRICE_STEPS,
                           relax_count=False)
    adjusted = adjusted_scores(view, learned.multipliers)
    if best is None or deadline is None or time.perf_counter() < deadline:
        # learned prices make pairs tie exactly at break-even; the raw score, not the index, breaks such ties
        priced = run(matcher, adjusted + TIE_BY_SCORE * view.score)
        if best is None or side or _better(view, priced, best, lexicographic):
            best = priced  # under side rules the priced answer is the one repair can work from
    rep_of = np.full(problem.n_leads, -1, np.int64)
    placed = best.held >= 0
    rep_of[view.segment_lead[placed]] = view.rep[best.held[placed]]
    pairs = view.pair[best.held[placed]]
    return GreedyAnswer(rep_of, pairs, learned.multipliers, adjusted, np.inf if sampled else learned.value, view)


@register
class GreedySolver(Solver):
    """Deferred acceptance on Lagrangian-adjusted scores, augmenting moves, repair; a Lagrangian bound.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1])
    >>> result = fa.solve(problem, solver="greedy")
    >>> result.status.name, result.rep_of.tolist(), result.objective
    ('OPTIMAL', [0, 0, 1], 11.5)
    """

    name = "greedy"
    exact = False

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        started = time.perf_counter()
        deadline = None if request.time_limit is None else started + request.time_limit
        lexicographic = request.objective == "lexicographic"
        nothing = np.full(problem.n_leads, -1, np.int64)
        if rules.conflicts:  # contradictory rules (a lead pinned twice ...): nothing can keep them
            return SolverOutput(nothing, Status.INFEASIBLE, diagnosis=rules.conflicts)
        stranded = np.flatnonzero(rules.must_assign & (np.bincount(problem.pair_lead[rules.allowed],
                                                                   minlength=problem.n_leads) == 0))
        if stranded.size:
            return SolverOutput(nothing, Status.INFEASIBLE, diagnosis=(
                f"lead {problem.lead_ids[stranded[0]]!r} must be assigned but has no allowed pair"
                + (f" (and {stranded.size - 1} more)" if stranded.size > 1 else ""),))
        answer = greedy_assign(problem, rules, request, deadline)
        view = answer.view
        notes: list[str] = []
        rep_of, pairs = answer.rep_of, answer.pairs
        broken = _keeps_rules(problem, rules, rep_of, pairs)
        if broken:
            from .repair import repair

            priority = problem.pair_score.copy()
            priority[view.pair] = answer.adjusted
            left = None if deadline is None else max(deadline - time.perf_counter(), 0.1)
            repaired = repair(problem, rules, rep_of, replace(request, time_limit=left), priority=priority)
            if repaired is None:
                diagnosis = ("greedy: its answer breaks " + ", ".join(broken)
                             + ", and the repair pass found no assignment that keeps every rule",)
                return SolverOutput(nothing, Status.NO_SOLUTION, diagnosis=diagnosis)
            rep_of = np.asarray(repaired, dtype=np.int64)
            leads = np.flatnonzero(rep_of >= 0)
            pairs = problem.pair_index(leads, rep_of[leads])
            still = _keeps_rules(problem, rules, rep_of, pairs)
            if still:  # never hand back a rule-breaking answer
                diagnosis = ("greedy: after the repair pass the answer still breaks " + ", ".join(still),)
                return SolverOutput(nothing, Status.NO_SOLUTION, diagnosis=diagnosis)
            notes.append("repaired (" + ", ".join(broken) + ")")

        if problem.effort_kind == "pair":  # a generalized assignment: a local search closes much of the gap
            from .local_search import applies, improve

            if applies(problem, rules):
                searched = improve(problem, rules, rep_of, seed=request.seed, deadline=deadline)
                if searched.improved:
                    rep_of = searched.rep_of
                    leads = np.flatnonzero(rep_of >= 0)
                    pairs = problem.pair_index(leads, rep_of[leads])
                    notes.append(f"local search +{searched.score - searched.start_score:.6g} in "
                                 f"{searched.iterations} moves"
                                 + (" (stopped by the time limit)" if searched.stopped_by_time else ""))
        objective = float(problem.pair_score[pairs].sum())
        n_assigned = int(pairs.size)
        remaining = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        final = minimise(view, min_assigned=n_assigned if lexicographic else 0, start=answer.multipliers,
                         target=objective, iterations=BOUND_STEPS, time_limit=remaining, relax_count=lexicographic)
        bound = min(answer.bound, final.value)
        scale = max(abs(objective), abs(bound), 1e-9)
        settled = not lexicographic or n_assigned == problem.n_leads
        status = Status.OPTIMAL if settled and bound - objective <= _OPTIMAL_GAP * scale else Status.FEASIBLE
        notes.append(f"Lagrangian bound after {final.evaluations} steps")
        return SolverOutput(rep_of, status, bound=bound, notes=tuple(notes))
