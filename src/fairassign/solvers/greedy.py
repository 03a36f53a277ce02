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
   away from over-demanded reps; the better answer is kept.
3. **More leads** (lexicographic objective, or leads that must be assigned): rounds of
   short augmenting moves: a free lead takes a full rep's slot while the lead holding it
   moves to another of its reps that has room (a lead that must be assigned may also evict
   one that need not be).
4. **Side rules** (fair shares, bands, count floors): :func:`.repair.repair` turns the
   answer into one that keeps every rule, guided by the adjusted scores. An answer that
   still breaks a rule is never returned: the status is then NO_SOLUTION with the reason.
5. **Bound**: the lowest Lagrangian value found (a proven upper bound, see
   :mod:`.dual_bound`), after a few more steps started from the learned prices.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..problem import Problem
from ..result import Status
from ..rules import Rules
from .base import Solver, SolveRequest, SolverOutput, register
from .dual_bound import Multipliers, PairView, adjusted_scores, dual_bound, pair_view

__all__ = ["GreedySolver", "greedy_assign"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: evaluations of the Lagrangian spent learning prices, and then tightening the bound
PRICE_STEPS = 12
BOUND_STEPS = 8
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

    def __init__(self, view: PairView, eligible: NDArray[np.bool_]) -> None:
        self.view = view
        self.eligible = eligible  # pairs a lead may propose (score objective drops negative ones)
        self.segment_of = np.repeat(np.arange(view.segment_lead.size, dtype=np.int64), view.segment_length)
        self.must_pair = view.segment_must[self.segment_of]

    def empty(self) -> _State:
        n = self.view.n_reps
        return _State(np.full(self.view.segment_lead.size, -1, np.int64), np.zeros(n), np.zeros(n))

    def _loads(self, state: _State) -> None:
        held = state.held[state.held >= 0]
        rep = self.view.rep[held]
        state.count = np.bincount(rep, minlength=self.view.n_reps).astype(np.float64)
        state.effort = (state.count.copy() if self.view.unit_effort
                        else np.bincount(rep, weights=self.view.effort[held], minlength=self.view.n_reps))

    def _rep_order(self, pairs: IntArray, priority: FloatArray) -> IntArray:
        """``pairs`` sorted by rep, then must-assign first, then priority descending (stable)."""
        order = np.argsort(-priority[pairs], kind="stable")
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
            free = state.held < 0
            candidates = np.flatnonzero(open_ & free[self.segment_of])
            if candidates.size == 0:
                return
            proposal = self._best_per_lead(candidates, priority[candidates])
            open_[proposal] = False
            rep = view.rep[proposal]
            new_count = np.bincount(rep, minlength=view.n_reps).astype(np.float64)
            new_effort = (new_count if view.unit_effort
                          else np.bincount(rep, weights=view.effort[proposal], minlength=view.n_reps))
            overflow = ~(_fits(state.effort + new_effort, limit_effort)
                         & (state.count + new_count <= limit_count))
            easy = ~overflow[rep]
            state.held[self.segment_of[proposal[easy]]] = proposal[easy]
            if overflow.any():
                held_segments = np.flatnonzero(state.held >= 0)
                at_overflow = held_segments[overflow[view.rep[state.held[held_segments]]]]
                pool = np.concatenate((state.held[at_overflow], proposal[~easy]))
                state.held[at_overflow] = -1
                pool = self._rep_order(pool, priority)
                pool_rep = view.rep[pool]
                group_start = np.flatnonzero(np.concatenate(([True], pool_rep[1:] != pool_rep[:-1])))
                lengths = np.diff(np.append(group_start, pool.size))
                rank = np.arange(pool.size) - np.repeat(group_start, lengths)
                # extended precision keeps a rep's running effort exact enough after a long pool
                weights = np.ones(pool.size) if view.unit_effort else view.effort[pool].astype(np.longdouble)
                cumulative = np.cumsum(weights)
                before = np.repeat(cumulative[group_start] - weights[group_start], lengths)
                used = (cumulative - before).astype(np.float64)
                keep = _fits(used, limit_effort[pool_rep]) & (rank + 1 <= limit_count[pool_rep])
                state.held[self.segment_of[pool[keep]]] = pool[keep]
            self._loads(state)
            if deadline is not None and time.perf_counter() > deadline:
                return

    def fill(self, state: _State, priority: FloatArray, deadline: float | None) -> None:
        """Deferred acceptance, then again for free leads on pairs that now fit (effort not unit)."""
        open_ = self.eligible.copy()
        self.propose(state, priority, open_, deadline)
        if self.view.unit_effort:
            return
        for _ in range(3):
            free = (state.held < 0)[self.segment_of]
            room_effort = self.view.capacity - state.effort
            room_count = self.view.count_upper - state.count
            again = (free & self.eligible & _fits(self.view.effort, room_effort[self.view.rep])
                     & (room_count[self.view.rep] >= 1))
            if not again.any():
                return
            before = int(np.count_nonzero(state.held >= 0))
            self.propose(state, priority, again, deadline)
            if int(np.count_nonzero(state.held >= 0)) == before:
                return

    def augment(self, state: _State, priority: FloatArray, want: NDArray[np.bool_],
                deadline: float | None) -> None:
        """Rounds of moves that place free leads of ``want`` (per segment), each keeping capacity.

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
            seeking = want & (state.held < 0)
            if not seeking.any():
                return
            room_effort = view.capacity - state.effort
            room_count = view.count_upper - state.count
            fits_room = _fits(view.effort, room_effort[view.rep]) & (room_count[view.rep] >= 1)
            held_of_pair = state.held[self.segment_of]
            # (b) per rep, the held lead that is cheapest to move to another rep with room
            move_loss = np.full(view.n_reps, np.inf)
            vacate = np.full(view.n_reps, -1, np.int64)  # the held pair whose lead leaves rep r
            target = np.full(view.n_reps, -1, np.int64)  # the pair it moves to
            moves = np.flatnonzero((held_of_pair >= 0) & (held_of_pair != np.arange(view.size))
                                   & self.eligible & fits_room)
            if moves.size:
                best_move = self._best_per_lead(moves, priority[moves])
                leaving = state.held[self.segment_of[best_move]]
                _cheapest_per_rep(view.rep[leaving], priority[leaving] - priority[best_move], leaving, best_move,
                                  move_loss, vacate, target)
            # (c) per rep, the lowest-priority held lead that need not be assigned
            drop_loss = np.full(view.n_reps, np.inf)
            drop = np.full(view.n_reps, -1, np.int64)
            held_segments = np.flatnonzero(state.held >= 0)
            optional = state.held[held_segments[~view.segment_must[held_segments]]]
            if optional.size:
                _cheapest_per_rep(view.rep[optional], priority[optional], optional,
                                  np.full(optional.size, -1, np.int64), drop_loss, drop,
                                  np.full(view.n_reps, -1, np.int64))
            entry = np.flatnonzero(seeking[self.segment_of] & self.eligible)
            if entry.size == 0:
                return
            rep = view.rep[entry]
            effort = view.effort[entry]
            direct = fits_room[entry]
            by_move = ~direct & (vacate[rep] >= 0) & _fits(
                effort, room_effort[rep] + view.effort[np.maximum(vacate[rep], 0)])
            by_drop = (~direct & ~by_move & self.must_pair[entry] & (drop[rep] >= 0)
                       & _fits(effort, room_effort[rep] + view.effort[np.maximum(drop[rep], 0)]))
            gain = np.where(direct, priority[entry], -np.inf)
            gain = np.where(by_move, priority[entry] - move_loss[rep], gain)
            gain = np.where(by_drop, priority[entry] - drop_loss[rep] - penalty, gain)
            possible = direct | by_move | by_drop
            if not possible.any():
                return
            entry, gain, rep = entry[possible], gain[possible], rep[possible]
            kind = np.where(direct[possible], 0, np.where(by_move[possible], 1, 2))
            chosen = self._best_per_lead(entry, gain)
            position = np.searchsorted(entry, chosen)
            leaving = np.where(kind == 1, vacate[rep], np.where(kind == 2, drop[rep], -1))[position]
            destination = np.where(kind == 1, target[rep], -1)[position]
            if not self._apply(state, chosen, gain[position], leaving, destination):
                return
            self._loads(state)

    def _best_per_lead(self, pairs: IntArray, gain: FloatArray) -> IntArray:
        """The pair of best ``gain`` per lead among ``pairs`` (grouped by lead; lowest index on ties)."""
        segments = self.segment_of[pairs]
        starts = np.flatnonzero(np.concatenate(([True], segments[1:] != segments[:-1])))
        best = np.maximum.reduceat(gain, starts)
        lengths = np.diff(np.append(starts, pairs.size))
        hit = np.flatnonzero(gain == np.repeat(best, lengths))
        first = np.ones(hit.size, bool)
        first[1:] = segments[hit[1:]] != segments[hit[:-1]]
        return pairs[hit[first]]

    def _apply(self, state: _State, entering: IntArray, gain: FloatArray, leaving: IntArray,
               destination: IntArray) -> bool:
        """Apply moves (must-assign leads first, then best gain); each rep in one move per round."""
        view = self.view
        rep = view.rep[entering]
        other = np.where(destination >= 0, view.rep[np.maximum(destination, 0)], rep)
        order = np.lexsort((entering, -gain, ~self.must_pair[entering]))
        # only the best candidate per entered rep can win; the loop below is over <= n_reps moves
        order = order[np.unique(rep[order], return_index=True)[1]]
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


def _cheapest_per_rep(rep: IntArray, cost: FloatArray, leaving: IntArray, moving_to: IntArray,
                      best_cost: FloatArray, best_leaving: IntArray, best_target: IntArray) -> None:
    """Fill, per rep, the lowest ``cost`` entry (lowest position on ties) into the three outputs."""
    order = np.lexsort((np.arange(rep.size), cost, rep))
    rep_sorted = rep[order]
    first = order[np.concatenate(([True], rep_sorted[1:] != rep_sorted[:-1]))]
    best_cost[rep[first]] = cost[first]
    best_leaving[rep[first]] = leaving[first]
    best_target[rep[first]] = moving_to[first]


def _keeps_rules(problem: Problem, rules: Rules, rep_of: IntArray) -> list[str]:
    """Rules the assignment breaks, in words (empty when it keeps them all); tolerance well inside verify's."""
    broken: list[str] = []
    leads = np.flatnonzero(rep_of >= 0)
    pairs = problem.pair_index(leads, rep_of[leads])
    if np.any(pairs < 0) or not np.all(rules.allowed[pairs]):
        broken.append("a lead went to a rep it may not have")
        return broken
    n = problem.n_reps
    reps = rep_of[leads]
    count = np.bincount(reps, minlength=n).astype(np.float64)
    effort = np.bincount(reps, weights=problem.pair_effort[pairs], minlength=n)
    value = np.bincount(reps, weights=problem.value[leads], minlength=n)
    total = float(value.sum())

    def within(amount: FloatArray, limit: FloatArray, scale: float | None = None) -> bool:
        slack = 1e-8 * (np.maximum(np.abs(limit), 1.0) if scale is None else max(scale, 1.0))
        finite = np.isfinite(limit)
        return bool(np.all(amount[finite] - limit[finite] <= slack if scale is not None
                           else amount[finite] - limit[finite] <= slack[finite]))

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
    multipliers: Multipliers
    adjusted: FloatArray  # adjusted score per allowed pair (view order)
    bound: float
    view: PairView


def greedy_assign(problem: Problem, rules: Rules, request: SolveRequest,
                  deadline: float | None = None) -> GreedyAnswer:
    """Steps 1-3 of the module docstring: an assignment keeping capacity, count caps and eligibility.

    Side rules (fair shares, value bands, count floors) are only priced, not enforced;
    :class:`GreedySolver` hands the answer to the repair pass for those.
    """
    view = pair_view(problem, rules)
    lexicographic = request.objective == "lexicographic"
    matcher = _Matcher(view, np.ones(view.size, bool))
    if not lexicographic:  # a negative pair lowers the score; only a lead that must be placed takes one
        matcher.eligible = (view.score >= 0) | matcher.must_pair
    want = np.ones(view.segment_lead.size, bool) if lexicographic else view.segment_must.copy()

    def run(priority: FloatArray) -> _State:
        state = matcher.empty()
        matcher.fill(state, priority, deadline)
        matcher.augment(state, priority, want, deadline)
        return state

    best = run(view.score)
    side = view.has_side_rows
    learned = dual_bound(problem, rules, view=view, target=None if side else _score(view, best),
                         iterations=PRICE_STEPS, relax_count=False)
    bound = learned.value
    adjusted = adjusted_scores(view, learned.multipliers)
    if deadline is None or time.perf_counter() < deadline:
        priced = run(adjusted)
        if side or _better(view, priced, best, lexicographic):
            best = priced  # under side rules the priced answer is the one repair can work from
    rep_of = np.full(problem.n_leads, -1, np.int64)
    placed = best.held >= 0
    rep_of[view.segment_lead[placed]] = view.rep[best.held[placed]]
    return GreedyAnswer(rep_of, learned.multipliers, adjusted, bound, view)


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
        answer = greedy_assign(problem, rules, request, deadline)
        view = answer.view
        if view.stranded:
            return SolverOutput(nothing, Status.INFEASIBLE, diagnosis=(
                f"{view.stranded} lead(s) must be assigned but have no allowed pair",))
        notes: list[str] = []
        rep_of = answer.rep_of
        broken = _keeps_rules(problem, rules, rep_of)
        if broken:
            from .repair import repair

            priority = problem.pair_score.copy()
            priority[view.pair] = answer.adjusted
            try:
                repaired = repair(problem, rules, rep_of, request, priority=priority)
            except NotImplementedError:
                repaired = None
                notes.append("repair pass not available")
            if repaired is None:
                diagnosis = ("greedy: the greedy answer breaks " + ", ".join(broken)
                             + " and the repair pass found no assignment that keeps every rule",)
                return SolverOutput(nothing, Status.NO_SOLUTION, bound=None, diagnosis=diagnosis,
                                    notes=tuple(notes))
            rep_of = np.asarray(repaired, dtype=np.int64)
            broken = _keeps_rules(problem, rules, rep_of)
            if broken:
                diagnosis = ("greedy: after repair the answer still breaks " + ", ".join(broken),)
                return SolverOutput(nothing, Status.NO_SOLUTION, diagnosis=diagnosis, notes=tuple(notes))
            notes.append("repaired to keep side rules")

        leads = np.flatnonzero(rep_of >= 0)
        objective = float(problem.pair_score[problem.pair_index(leads, rep_of[leads])].sum())
        n_assigned = int(leads.size)
        remaining = None if deadline is None else max(deadline - time.perf_counter(), 0.0)
        final = dual_bound(problem, rules, view=view, min_assigned=n_assigned if lexicographic else 0,
                           start=answer.multipliers, target=objective, iterations=BOUND_STEPS,
                           time_limit=remaining, relax_count=lexicographic)
        bound = min(answer.bound, final.value)
        scale = max(abs(objective), abs(bound), 1e-9)
        settled = not lexicographic or n_assigned == problem.n_leads
        status = Status.OPTIMAL if settled and bound - objective <= _OPTIMAL_GAP * scale else Status.FEASIBLE
        notes.append(f"Lagrangian bound after {final.evaluations} steps")
        return SolverOutput(rep_of, status, bound=bound, notes=tuple(notes))
