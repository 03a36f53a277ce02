r"""Local search for the generalized assignment problem (per-pair effort): shift and swap moves,
a tabu list and adaptive capacity penalties.

The batches it improves are the generalized assignment problem (GAP): capacity in effort
units, eligibility (pins folded in), count bands and leads that must be assigned; the fair
shares and value bands of other batches are left to :mod:`.repair` (:func:`applies` says
which batches qualify; elsewhere :func:`improve` hands the assignment back unchanged).

The set of assigned leads never changes; each keeps a rep. With :math:`s_p` the score of
the pair a lead holds, :math:`L_r` rep *r*'s effort and :math:`b_r` its capacity, the search
maximises the penalised score

.. math::

    F(x) = \sum_{\text{leads}} s_{p(\text{lead})} - \sum_r w_r \max(0, L_r - b_r),

a Lagrangian-like relaxation of the capacity rows whose prices :math:`w_r` adapt as the
search runs (the strategic oscillation of Yagiura, Ibaraki and Glover's ejection-chain tabu
search for the GAP, EJOR 2004 and INFORMS J. Computing 2004): a rep that stays overfull gets
dearer, and while every rep fits all prices fall, so the search crosses the capacity
boundary from both sides instead of stalling at the first feasible local optimum.

The search starts from the pick of the capacity prices' Lagrangian dual (:meth:`_Search.relaxed_start`:
subgradient steps on :math:`\lambda`, every lead on its candidate of highest :math:`s_p - \lambda_r e_p`;
for a GAP the dual's optimum is the LP relaxation's value, and its pick a rounding of the LP
that a few moves make feasible), with the dual prices as the overload prices, unless the
caller's start is worth more at those prices (an LP rounding often is). The caller's start
stays the best found until something better keeps every rule.

Each iteration evaluates, vectorised, every **shift** (one lead to another of its reps), every
**swap** (two leads on different reps trade reps; counts stay put) and the best **ejection
chains** (a lead moves to a rep, which passes one of its leads on to a third, up to
:data:`CHAIN_DEPTH` shifts over distinct reps; a beam of :data:`CHAIN_WIDTH` chains per level, the
neighbourhood of Yagiura, Ibaraki and Glover), and applies the best move that is not tabu;
when it is an improving shift, further improving shifts on reps untouched so far go with it
(:data:`MORE_SHIFTS`; they do not change each other's value). A lead that leaves a rep may not
return to it for a few iterations (the tenure, drawn from a seeded generator), unless
returning gives a rule-keeping assignment better than the best found (aspiration). Count
bands are hard: a move that would break one is never made. From an overfull state that
scores above the best, a short repair probe (the moves that cut the overload most, at most
:data:`PROBE_STEPS`) tests whether a rule-keeping neighbour beats the best. After
:data:`RESTART_AFTER` iterations without a better assignment the search restarts from the
dual's pick at seeded, perturbed prices. The best rule-keeping assignment seen is kept, so
the answer is never worse than the start.

When the tabu search ends, two exact large-neighbourhood searches of :mod:`.neighbourhood` take
its best assignment further, within the same deadline: first (when :data:`RESTRICTED` is on)
:func:`.neighbourhood.restricted`, one HiGHS MIP over every lead, each restricted to its few best
reps at the dual prices; then (when :data:`EXCHANGE` is on) :func:`.neighbourhood.exchange`,
exact reassignment within small groups of reps. On type d 400 x 40 the tabu search levels off
where these still find improvements of hundreds of cost units in all.

Determinism: the work is set by counts (:func:`default_iterations`: :data:`ITERATIONS_PER_LEAD`
per lead, within :data:`WORK_BUDGET` evaluations, from the batch size only), ties go to the
lowest index, and the tenures and restart noise come from ``seed``; the same input and seed
give the same answer. A ``deadline`` is a safety stop only: when it cuts the search short,
the answer is the best found so far, which can differ from an unhurried run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..problem import Problem
from ..rules import Rules
from .neighbourhood import exchange, restricted
from .repair import usable_pairs

__all__ = ["SearchResult", "applies", "improve", "default_iterations", "FEWEST_ITERATIONS", "WORK_BUDGET",
           "ITERATIONS_PER_LEAD", "CHAIN_WIDTH", "CHAIN_DEPTH", "CHAIN_STEPS", "DUAL_STEPS", "DUAL_WORK", "KICK",
           "PROBE_STEPS", "MORE_SHIFTS", "EXCHANGE", "RESTRICTED", "RESTART_NOISE", "STALL_RESTARTS",
           "MAX_SWAPS", "DENSE_FACTOR", "MIN_ITERATIONS", "ALL_PAIRS_UP_TO", "RESTART_AFTER", "PRICE_SCALE"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: after the tabu search, solve the MIP over every lead restricted to its best reps (:mod:`.neighbourhood`)
RESTRICTED = True
#: then reassign the leads of small groups of reps exactly (:mod:`.neighbourhood`)
EXCHANGE = True
#: iterations by default per assigned lead: from the dual's pick the search finds its best within
#: a few hundred moves and then restarts (RESTART_AFTER), so the budget buys restarts, and a
#: batch with more leads needs more moves to settle each of them
ITERATIONS_PER_LEAD = 10
#: iterations by default, at least (small batches)
FEWEST_ITERATIONS = 300
#: below this many iterations by default (very large batches) the search is skipped: too few to matter
MIN_ITERATIONS = 100
#: candidate moves (shifts, swaps and chain steps) evaluated by default over the whole search, at most:
#: about a minute of numpy work on one core, whatever the size
WORK_BUDGET = 1_000_000_000
#: most swaps evaluated per iteration, starting from the best shifts (a candidate list)
MAX_SWAPS = 10_000
#: up to this many pairs of leads, every pair is tried as a swap instead
ALL_PAIRS_UP_TO = 60_000
#: a (lead, rep) lookup table is built when it has at most this many times the candidate pairs' entries
DENSE_FACTOR = 4
#: iterations without a better rule-keeping assignment after which the search restarts from the best
RESTART_AFTER = 200
#: starting price of one unit of overload, in units of (score spread / mean effort). At 1 the
#: search on Chu & Beasley type d (cost falls about one unit per unit of effort) mostly hovered a
#: few units over capacity and rarely met a feasible state; at 3 (with prices falling by 20% a
#: step while every rep fits) it reaches feasibility often: greedy's d 200x20 answer went from
#: 12,473 to 12,421 in 1,000 further moves (1 and 5 gave 12,452 and 12,456)
PRICE_SCALE = 3.0
#: share of the leads moved at random when the search restarts from the best (a kick)
KICK = 0.05
#: most moves of the repair probe from an overfull state that scores above the best
PROBE_STEPS = 4
#: subgradient steps on the capacity prices before the search (0: start where the caller did)
DUAL_STEPS = 2000
#: at most this many candidate evaluations in those steps (fewer steps on huge batches)
DUAL_WORK = 300_000_000
#: the search ends at the restart after this many in a row without a better assignment (type d 200 x 20
#: found its last improvements 3 restarts apart at most, seeds 0 and 1); a count, so deterministic
STALL_RESTARTS = 4
#: spread (log scale) of the seeded noise on the dual prices at a restart
RESTART_NOISE = 0.1
#: improving shifts on untouched reps looked at after the best one in an iteration (0: one move)
MORE_SHIFTS = 256
#: ejection chains: the beam kept per level, and the most shifts in one chain
CHAIN_WIDTH = 64
CHAIN_DEPTH = 3
#: most chain steps evaluated per level: the beam narrows on large batches (64 at 200 x 20, 25 at 1600 x 80)
CHAIN_STEPS = 40_000
#: tabu tenure: a base plus a seeded draw in [0, spread)
_TENURE_BASE = 3
#: multiplicative price steps: overfull reps get dearer by up to _RAISE, all prices fall by _LOWER while
#: every rep fits (was 0.05: prices stayed high after a feasible state and the search left it at once)
_RAISE = 0.10
_LOWER = 0.2
#: relative slack of the capacity test (verify uses 1e-6)
_RTOL = 1e-9


@dataclass(frozen=True)
class SearchResult:
    """What :func:`improve` did: the assignment (never worse than the start) and how it got there."""

    rep_of: IntArray
    score: float
    start_score: float
    iterations: int
    stopped_by_time: bool
    #: sub-solves of the exact neighbourhood searches that raised the score (restricted MIP and groups)
    exchanges: int = 0

    @property
    def improved(self) -> bool:
        return self.score > self.start_score


def applies(problem: Problem, rules: Rules) -> bool:
    """True when only capacity, eligibility, pins, count bands and must-assign bind (a GAP)."""
    return not (rules.fair or rules.has_value_band or rules.conflicts) and problem.n_pairs > 0


def default_iterations(n_leads: int, n_candidates: int, n_swaps: int, n_chain: int = 0) -> int:
    """Iterations for a batch of ``n_leads`` assigned leads whose iteration evaluates ``n_candidates``
    shifts, about ``n_swaps`` swaps and ``n_chain`` chain steps.

    :data:`ITERATIONS_PER_LEAD` per lead, at least :data:`FEWEST_ITERATIONS`; never more than
    :data:`WORK_BUDGET` evaluations in all, and 0 (no search) when that leaves fewer than
    :data:`MIN_ITERATIONS`. Depends on the sizes only, never on the clock.
    """
    per_iteration = max(n_candidates + min(n_swaps, MAX_SWAPS) + n_chain, 1)
    wanted = max(ITERATIONS_PER_LEAD * n_leads, FEWEST_ITERATIONS)
    iterations = int(min(wanted, WORK_BUDGET // per_iteration))
    return iterations if iterations >= MIN_ITERATIONS else 0


def _keeps(problem: Problem, rules: Rules, rep_of: IntArray) -> tuple[bool, IntArray]:
    """Does ``rep_of`` keep capacity, eligibility, count bands and must-assign? And its pairs."""
    leads = np.flatnonzero(rep_of >= 0)
    pairs = problem.pair_index(leads, rep_of[leads])
    if np.any(pairs < 0) or not np.all(rules.allowed[pairs]):
        return False, pairs
    if np.any(rules.must_assign & (rep_of < 0)):
        return False, pairs
    reps = rep_of[leads]
    count = np.bincount(reps, minlength=problem.n_reps)
    load = np.bincount(reps, weights=problem.pair_effort[pairs], minlength=problem.n_reps)
    fits = load <= problem.capacity + _RTOL * np.maximum(np.abs(problem.capacity), 1.0)
    in_band = (count >= rules.count_lower) & (count <= rules.count_upper)
    return bool(fits.all() and in_band.all()), pairs


def _top(values: FloatArray, k: int) -> IntArray:
    """Indices of the ``k`` largest ``values``, largest first, ties to the lowest index (stable)."""
    if values.size > 4 * k:
        threshold = np.partition(values, values.size - k)[values.size - k]
        chosen = np.flatnonzero(values >= threshold)
        return chosen[np.argsort(-values[chosen], kind="stable")[:k]]
    return np.argsort(-values, kind="stable")[:k]


class _Search:
    """Working state over the candidate pairs of the assigned leads, in local lead numbers."""

    def __init__(self, problem: Problem, rules: Rules, rep_of: IntArray, pairs: IntArray, seed: int) -> None:
        leads = np.flatnonzero(rep_of >= 0)
        n_reps = problem.n_reps
        local = np.full(problem.n_leads, -1, np.int64)
        local[leads] = np.arange(leads.size)
        candidate = np.flatnonzero(usable_pairs(problem, rules) & (local[problem.pair_lead] >= 0))
        candidate = np.union1d(candidate, pairs)  # the start's pairs are in, whatever usable_pairs says
        self.leads, self.n_reps = leads, n_reps
        self.pair = candidate
        self.lead = local[problem.pair_lead[candidate]]  # sorted (pairs are sorted by lead, then rep)
        self.rep = problem.pair_rep[candidate]
        self.score = problem.pair_score[candidate]
        self.effort = problem.pair_effort[candidate]
        self.key = self.lead * n_reps + self.rep
        self.capacity = problem.capacity + _RTOL * np.maximum(np.abs(problem.capacity), 1.0)
        self.count_lower = rules.count_lower
        self.count_upper = rules.count_upper
        self.current = np.searchsorted(self.key, local[leads] * n_reps + rep_of[leads])  # candidate per lead
        self.rep_of_lead = self.rep[self.current]
        # a (lead, rep) -> candidate table where it costs at most DENSE_FACTOR x the candidate list
        # (a GAP is dense); sparse batches search the sorted keys instead
        self.table: IntArray | None = None
        if leads.size * n_reps <= DENSE_FACTOR * max(candidate.size, 1):
            self.table = np.full((leads.size, n_reps), -1, np.int64)
            self.table[self.lead, self.rep] = np.arange(candidate.size)
        # swaps: every pair of leads when there are few, else built from the best shifts each time
        self.all_pairs: tuple[IntArray, IntArray] | None = None
        if leads.size * (leads.size - 1) // 2 <= ALL_PAIRS_UP_TO:
            first, second = np.triu_indices(leads.size, k=1)
            self.all_pairs = (first.astype(np.int64), second.astype(np.int64))
        self.lead_start = np.searchsorted(self.lead, np.arange(leads.size + 1))  # each lead's candidates
        self.tabu_until = np.zeros(candidate.size, np.int64)
        self.rng = np.random.default_rng([seed, 7919])
        self.tenure_spread = max(1, int(np.sqrt(leads.size)))
        self._recount()
        # price of one unit of overload: the typical score change per unit of effort
        spread = float(np.std(self.score)) if self.score.size > 1 else 1.0
        self.base_price = PRICE_SCALE * max(spread, 1e-9) / max(float(np.mean(self.effort)), 1e-9)
        self.price = np.full(n_reps, self.base_price)
        self.dual_price = self.price.copy()  # where a restart puts the prices back
        self.dual_value: float | None = None  # the dual's value once relaxed_start ran
        self.dual_overload = 0.0  # the overload of the dual's own pick

    def relaxed_start(self, steps: int, target: float, deadline: float | None = None) -> None:
        """Move to the assignment that the capacity prices of a Lagrangian dual pick, and take
        those prices as the overload prices.

        With prices :math:`\\lambda_r \\ge 0` on the capacity rows every lead takes its candidate
        of highest :math:`s_p - \\lambda_{r(p)} e_p`; the dual
        :math:`L(\\lambda) = \\sum_{\\text{leads}} \\max_p (s_p - \\lambda_{r(p)} e_p) + \\sum_r \\lambda_r b_r`
        is minimised by ``steps`` subgradient steps (Polyak steps towards ``target``, the start's
        score). At the dual optimum, the LP relaxation's value for a GAP, the chosen assignment
        is the LP's rounding: mostly feasible, a few units over capacity on some reps, which the
        search's prices then settle. The search starts there instead of at a far start (a
        greedy answer on type d is 5% above the optimum, the dual's pick 1-2%). Count bands are
        ignored here, so batches with a binding band keep their start.
        """
        finite = np.isfinite(self.capacity)
        capacity = np.where(finite, self.capacity, 0.0)  # an unbounded rep keeps a zero price
        price = np.zeros(self.n_reps)
        best_price, best_dual = price.copy(), np.inf
        step_size, stale = 2.0, 0
        first = self.lead_start[:-1]
        for _ in range(steps):
            if deadline is not None and time.perf_counter() > deadline:
                break  # a safety stop: the best prices so far
            reduced = self.score - price[self.rep] * self.effort
            top = np.maximum.reduceat(reduced, first)
            pick = self._first_max(reduced, top)
            load = np.bincount(self.rep[pick], weights=self.effort[pick], minlength=self.n_reps)
            dual = float(top.sum() + price @ capacity)
            if dual < best_dual - 1e-12 * max(abs(dual), 1.0):
                best_price, best_dual, stale = price.copy(), dual, 0
            else:
                stale += 1
                if stale >= 20:
                    step_size, stale = step_size / 2, 0
            slope = capacity - load
            slope[((price <= 0) & (slope > 0)) | ~finite] = 0.0
            norm = float(slope @ slope)
            if norm <= 0 or step_size < 1e-4:
                break
            price = np.maximum(price - step_size * max(dual - target, 1e-9 * abs(dual)) / norm * slope, 0.0)
        self.dual_price = np.maximum(best_price, 1e-3 * self.base_price)
        self.dual_value = best_dual
        self.price_at(self.dual_price)
        self.dual_overload = float(self.overload().sum())

    def price_at(self, price: FloatArray) -> None:
        """Every lead to its candidate of highest :math:`s_p - \\lambda_{r(p)} e_p`; ``price`` becomes the prices."""
        reduced = self.score - price[self.rep] * self.effort
        self.go_to(self._first_max(reduced, np.maximum.reduceat(reduced, self.lead_start[:-1])))
        self.price = price.copy()

    def go_to(self, current: IntArray) -> None:
        """Hold ``current`` (a candidate per local lead, taken over, not copied), with its loads and no tabu."""
        self.current = current
        self.rep_of_lead = self.rep[current]
        self._recount()
        self.tabu_until[:] = 0

    def _first_max(self, values: FloatArray, top: FloatArray) -> IntArray:
        """Per local lead, its first candidate whose value equals the lead's ``top`` (lowest index)."""
        hits = np.flatnonzero(values >= top[self.lead])
        _, first = np.unique(self.lead[hits], return_index=True)
        return hits[first]

    def _recount(self) -> None:
        rep = self.rep[self.current]
        self.load = np.bincount(rep, weights=self.effort[self.current], minlength=self.n_reps).astype(np.float64)
        self.count = np.bincount(rep, minlength=self.n_reps).astype(np.float64)
        self.total = float(self.score[self.current].sum())

    def lookup(self, leads: IntArray, reps: IntArray) -> IntArray:
        """Candidate index of each (local lead, rep); -1 where the pair is not a candidate."""
        if self.table is not None:
            return self.table[leads, reps]
        wanted = leads * self.n_reps + reps
        where = np.minimum(np.searchsorted(self.key, wanted), self.key.size - 1)
        return np.where(self.key[where] == wanted, where, -1)

    def members(self) -> tuple[IntArray, IntArray]:
        """Local leads sorted by their rep (stable), and where each rep's block starts."""
        rep = self.rep[self.current]
        order = np.argsort(rep, kind="stable")
        return order, np.searchsorted(rep[order], np.arange(self.n_reps + 1))

    def swap_estimate(self) -> int:
        if self.all_pairs is not None:
            return int(self.all_pairs[0].size)
        _, start = self.members()
        sizes = np.diff(start)
        return int(sizes[self.rep].sum()) // 2

    def chain_estimate(self) -> int:
        """Chain steps evaluated per iteration: width x levels x leads per rep x candidates per lead."""
        if CHAIN_DEPTH < 2 or self.leads.size == 0:
            return 0
        per_rep = self.leads.size / max(self.n_reps, 1)
        per_lead = self.pair.size / self.leads.size
        return int(min(CHAIN_WIDTH * per_rep * per_lead, CHAIN_STEPS) * (CHAIN_DEPTH - 1))

    def excess(self, load: FloatArray, reps: IntArray) -> FloatArray:
        return np.maximum(load - self.capacity[reps], 0.0)

    def shifts(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per candidate: score change, penalised value, overload change of moving its lead there."""
        held = self.current[self.lead]
        source = self.rep[held]
        target = self.rep
        gain = self.score - self.score[held]
        over = self.excess(self.load, np.arange(self.n_reps))
        into = self.excess(self.load[target] + self.effort, target) - over[target]
        out_of = self.excess(self.load[source] - self.effort[held], source) - over[source]
        value = gain - self.price[target] * into - self.price[source] * out_of
        blocked = (held == np.arange(self.pair.size)) | (self.count[target] + 1 > self.count_upper[target]) \
            | (self.count[source] - 1 < self.count_lower[source])
        value[blocked] = -np.inf
        return gain, value, into + out_of

    def swaps(self, rank: FloatArray) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
        """Every swap (first candidate, second candidate, score change, value, overload change).

        A swap moves a lead to the rep of another lead, which moves to the first lead's rep.
        With few leads every pair of leads is tried; otherwise the swaps start from the
        candidates of highest ``rank`` (about :data:`MAX_SWAPS` of them).
        """
        if self.all_pairs is not None:
            lead, other_lead = self.all_pairs
        else:
            lead, other_lead = self._swap_leads(rank)
        rep_one, rep_two = self.rep_of_lead[lead], self.rep_of_lead[other_lead]
        one, two = self.lookup(lead, rep_two), self.lookup(other_lead, rep_one)
        keep = np.flatnonzero((rep_one != rep_two) & (one >= 0) & (two >= 0))
        one, two, rep_one, rep_two = one[keep], two[keep], rep_one[keep], rep_two[keep]
        held_one, held_two = self.current[lead[keep]], self.current[other_lead[keep]]
        gain = self.score[one] + self.score[two] - self.score[held_one] - self.score[held_two]
        new_one = self.load[rep_one] - self.effort[held_one] + self.effort[two]
        new_two = self.load[rep_two] - self.effort[held_two] + self.effort[one]
        over = self.overload()
        change_one = self.excess(new_one, rep_one) - over[rep_one]
        change_two = self.excess(new_two, rep_two) - over[rep_two]
        value = gain - self.price[rep_one] * change_one - self.price[rep_two] * change_two
        return one, two, gain, value, change_one + change_two

    def _swap_leads(self, rank: FloatArray) -> tuple[IntArray, IntArray]:
        """Lead pairs to try: for the best-ranked candidates, their lead and each lead at their rep."""
        order, start = self.members()
        first = np.flatnonzero(self.current[self.lead] != np.arange(self.pair.size))
        size = start[self.rep[first] + 1] - start[self.rep[first]]
        if int(size.sum()) > MAX_SWAPS:
            ranked = _top(rank[first], min(first.size, MAX_SWAPS))
            keep = ranked[: max(int(np.searchsorted(np.cumsum(size[ranked]), MAX_SWAPS)), 1)]
            first = np.sort(first[keep])
            size = start[self.rep[first] + 1] - start[self.rep[first]]
        one = np.repeat(first, size)
        offset = np.arange(one.size) - np.repeat(np.cumsum(size) - size, size)
        other_lead = order[np.repeat(start[self.rep[first]], size) + offset]
        lead = self.lead[one]
        keep = lead < other_lead
        return lead[keep], other_lead[keep]

    def chains(self, width: int, depth: int) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
        """The best ejection chains of 2 to ``depth`` shifts (Yagiura, Ibaraki and Glover's moves).

        A chain moves lead :math:`j_1` from rep :math:`r_1` to :math:`r_2`, ejects a lead
        :math:`j_2` of :math:`r_2` to :math:`r_3`, and so on, visiting distinct reps (a chain
        that returns to :math:`r_1` after two shifts is a swap, evaluated elsewhere). Each level
        keeps the ``width`` chains of highest penalised value (a beam over the shifts ranked by
        ``value``), so the cost is about ``width x depth x (leads per rep) x (reps per lead)``
        evaluations. Count bands: the reps inside a chain keep their counts; only :math:`r_1`
        loses and the last rep gains a lead.

        Returns the candidates of each chain (``(n_chains, depth)``, -1 past a chain's end), its
        score change, penalised value and overload change.
        """
        empty = (np.empty((0, depth), np.int64), np.empty(0), np.empty(0), np.empty(0))
        if depth < 2 or width < 1:
            return empty
        held = self.current[self.lead]
        first = np.flatnonzero((held != np.arange(self.pair.size))
                               & (self.count[self.rep[held]] - 1 >= self.count_lower[self.rep[held]]))
        if first.size == 0:
            return empty
        # rank the first shifts by their penalised value ignoring the count band of their target
        # (a chain passes the lead on, so the target's count stays put)
        gain = self.score[first] - self.score[held[first]]
        source = self.rep[held[first]]
        over = self.overload()
        out_of = self.excess(self.load[source] - self.effort[held[first]], source) - over[source]
        rank = gain - self.price[source] * out_of
        per_rep = self.leads.size / max(self.n_reps, 1)
        width = max(1, min(width, int(CHAIN_STEPS // max(per_rep * self.pair.size / max(self.leads.size, 1), 1.0))))
        keep = _top(rank, width)
        first = first[keep]
        n = first.size
        path = np.full((n, depth), -1, np.int64)
        path[:, 0] = first
        visited = np.full((n, depth + 1), -1, np.int64)
        visited[:, 0] = source[keep]
        visited[:, 1] = self.rep[first]
        last = self.rep[first]
        arriving = self.effort[first]  # effort entering the last rep
        base = rank[keep]  # value so far, without the last rep's penalty change
        score_change = gain[keep]
        over_change = out_of[keep]
        order, start = self.members()
        lead_start = self.lead_start
        found_path, found_gain, found_value, found_change = [], [], [], []
        for level in range(1, depth):
            # eject each lead of the last rep to each of its candidate reps
            size = start[last + 1] - start[last]
            chain = np.repeat(np.arange(path.shape[0]), size)
            offset = np.arange(chain.size) - np.repeat(np.cumsum(size) - size, size)
            ejected = order[np.repeat(start[last], size) + offset]
            count = lead_start[ejected + 1] - lead_start[ejected]
            chain = np.repeat(chain, count)
            ejected_held = self.current[np.repeat(ejected, count)]
            offset = np.arange(chain.size) - np.repeat(np.cumsum(count) - count, count)
            target = np.repeat(lead_start[ejected], count) + offset
            reps = self.rep[target]
            fresh = np.all(visited[chain] != reps[:, None], axis=1)
            chain, ejected_held, target, reps = chain[fresh], ejected_held[fresh], target[fresh], reps[fresh]
            middle = last[chain]
            middle_load = self.load[middle] + arriving[chain] - self.effort[ejected_held]
            middle_change = self.excess(middle_load, middle) - over[middle]
            target_change = self.excess(self.load[reps] + self.effort[target], reps) - over[reps]
            step_gain = score_change[chain] + self.score[target] - self.score[ejected_held]
            step_base = base[chain] - self.price[middle] * middle_change + self.score[target] - self.score[ejected_held]
            step_value = step_base - self.price[reps] * target_change
            step_over = over_change[chain] + middle_change
            ok = self.count[reps] + 1 <= self.count_upper[reps]
            if not ok.any():
                break
            best = np.flatnonzero(ok)[_top(step_value[ok], width)]
            new_path = path[chain[best]].copy()
            new_path[:, level] = target[best]
            found_path.append(new_path)
            found_gain.append(step_gain[best])
            found_value.append(step_value[best])
            found_change.append(step_over[best] + target_change[best])
            if level + 1 >= depth:
                break
            # carry on from the best chains by the value before the last rep's penalty
            carry = _top(step_base, width)
            path = path[chain[carry]].copy()
            path[:, level] = target[carry]
            visited = visited[chain[carry]].copy()
            visited[:, level + 1] = reps[carry]
            last, arriving = reps[carry], self.effort[target[carry]]
            base, score_change = step_base[carry], step_gain[carry]
            over_change = step_over[carry]
        if not found_path:
            return empty
        return (np.concatenate(found_path), np.concatenate(found_gain), np.concatenate(found_value),
                np.concatenate(found_change))

    def move(self, candidate: int, iteration: int) -> None:
        lead = int(self.lead[candidate])
        held = int(self.current[lead])
        self.tabu_until[held] = iteration + _TENURE_BASE + int(self.rng.integers(self.tenure_spread))
        source, target = int(self.rep[held]), int(self.rep[candidate])
        self.load[source] -= self.effort[held]
        self.load[target] += self.effort[candidate]
        self.count[source] -= 1
        self.count[target] += 1
        self.total += float(self.score[candidate] - self.score[held])
        self.current[lead] = candidate
        self.rep_of_lead[lead] = target

    def probe(self, steps: int) -> tuple[IntArray, float] | None:
        """A rule-keeping neighbour of an overfull state: the cheapest shifts and swaps that cut the
        overload (the score lost per move is the tie-break), at most ``steps`` of them.

        The search state is restored afterwards; the answer is the repaired assignment and its
        score, or None when the steps did not remove every overload. Between feasible states
        the search mostly hovers a few effort units over capacity (96% of its moves on type d),
        so this turns those near misses into candidates for the best.
        """
        saved = (self.current.copy(), self.rep_of_lead.copy(), self.load.copy(), self.count.copy(),
                 self.total, self.price, self.tabu_until.copy())
        self.price = np.full(self.n_reps, 1e6 * self.base_price)
        found: tuple[IntArray, float] | None = None
        for _ in range(steps):
            gain, value, change = self.shifts()
            value = np.where(change < 0, value, -np.inf)
            one, two, _, swap_value, swap_change = self.swaps(np.where(np.isfinite(value), value, gain))
            swap_value = np.where(swap_change < 0, swap_value, -np.inf)
            shift_best = int(np.argmax(value)) if value.size else -1
            swap_best = int(np.argmax(swap_value)) if swap_value.size else -1
            shift_top = value[shift_best] if shift_best >= 0 else -np.inf
            swap_top = swap_value[swap_best] if swap_best >= 0 else -np.inf
            if not (np.isfinite(shift_top) or np.isfinite(swap_top)):
                break
            if shift_top >= swap_top:
                self.move(shift_best, 0)
            else:
                self.move(int(one[swap_best]), 0)
                self.move(int(two[swap_best]), 0)
            if float(self.overload().max(initial=0.0)) <= 0:
                found = (self.current.copy(), self.total)
                break
        (self.current, self.rep_of_lead, self.load, self.count, self.total, self.price,
         self.tabu_until) = saved
        return found

    def overload(self) -> FloatArray:
        return self.excess(self.load, np.arange(self.n_reps))

    def adapt_prices(self) -> None:
        over = self.overload()
        worst = float(over.max(initial=0.0))
        if worst > 0:
            self.price *= 1.0 + _RAISE * over / worst
        else:
            self.price *= 1.0 - _LOWER
            np.maximum(self.price, 1e-6 * self.base_price, out=self.price)

    def restart(self, best: IntArray, kick: int, iteration: int) -> None:
        """A fresh start: from the dual's pick at seeded, perturbed dual prices when the search
        began there (:meth:`relaxed_start`), else back to ``best`` and ``kick`` seeded random
        shifts (capacity left to the prices).

        From the dual's pick the search finds its best within a few hundred moves (type d
        200 x 20: by move 131 of 1,500) and then wanders; restarting from the best with a kick
        found nothing better in 1,400 further moves, while each perturbed pick is a new,
        equally good start.
        """
        if self.dual_value is not None:
            # the dual prices can sit where a 10% change flips most picks (type d: every price
            # is about 1, where cost and effort cancel), so the noise shrinks until the pick
            # is about as overfull as the dual's own
            direction = self.rng.standard_normal(self.n_reps)
            spread = RESTART_NOISE
            for _ in range(12):
                self.price_at(self.dual_price * np.exp(spread * direction))
                if float(self.overload().sum()) <= 2.0 * self.dual_overload + float(np.mean(self.effort)):
                    break
                spread /= 2
            return
        self.go_to(best.copy())
        self.price = self.dual_price.copy()
        for lead in self.rng.permutation(self.leads.size)[:kick]:
            options = np.arange(self.lead_start[lead], self.lead_start[lead + 1])
            source = self.rep_of_lead[lead]
            options = options[(self.rep[options] != source) & (self.count[self.rep[options]] + 1
                                                               <= self.count_upper[self.rep[options]])]
            if options.size and self.count[source] - 1 >= self.count_lower[source]:
                self.move(int(options[self.rng.integers(options.size)]), iteration)


def improve(problem: Problem, rules: Rules, rep_of: IntArray, *, seed: int = 0, iterations: int | None = None,
            deadline: float | None = None, ceiling: float | None = None) -> SearchResult:
    """Improve a rule-keeping assignment of a GAP batch by tabu search (see the module docstring).

    Parameters
    ----------
    problem, rules : the batch
    rep_of : int64 (n_leads,)
        A rule-keeping assignment (-1 unassigned). One that breaks a rule, or a batch where
        :func:`applies` is False, is handed back unchanged.
    seed : int
        Seeds the tabu tenures.
    iterations : int, optional
        Moves to make; default :func:`default_iterations` for the batch's size.
    deadline : float, optional
        A ``time.perf_counter()`` value: a safety stop (the answer then is the best found so
        far, which can differ from a run without it).
    ceiling : float, optional
        A proven upper bound on the score (the LP relaxation's value, say): the search stops
        once it reaches it, rounded down to an integer when every score is one, since nothing
        better exists. This saves the whole budget on batches the start already solves.

    Returns
    -------
    SearchResult
        ``rep_of`` keeps every rule ``rep_of`` kept, assigns the same leads, and scores at
        least as much.

    Examples
    --------
    >>> import numpy as np
    >>> import fairassign as fa
    >>> from fairassign.rules import bind
    >>> problem = fa.Problem(score=[[4.0, 1.0], [3.0, 2.0]], capacity=[2.0, 2.0], effort=[[2.0, 1.0], [1.0, 2.0]])
    >>> rules = bind(problem, [fa.AssignAll()])
    >>> improve(problem, rules, np.array([1, 0])).rep_of.tolist()
    [0, 1]
    """
    rep_of = np.asarray(rep_of, dtype=np.int64).copy()
    start_score = problem.total_score(rep_of)
    unchanged = SearchResult(rep_of, start_score, start_score, 0, False)
    if not applies(problem, rules) or not np.any(rep_of >= 0):
        return unchanged
    kept, pairs = _keeps(problem, rules, rep_of)
    if not kept:
        return unchanged
    search = _Search(problem, rules, rep_of, pairs, seed)
    if iterations is None:
        iterations = default_iterations(search.leads.size, search.pair.size, search.swap_estimate(),
                                        search.chain_estimate())
    best, best_total = search.current.copy(), search.total
    bands_open = not (np.any(rules.count_lower > 0) or np.any(np.isfinite(rules.count_upper)))
    if DUAL_STEPS > 0 and bands_open and iterations > 0:
        search.relaxed_start(min(DUAL_STEPS, DUAL_WORK // max(search.pair.size, 1)), best_total, deadline)
        if float(search.overload().max(initial=0.0)) <= 0 and search.total > best_total:
            best, best_total = search.current.copy(), search.total
        elif search.total - float(search.price @ search.overload()) < best_total:
            # the caller's start is worth more at the dual prices than the dual's pick (an LP
            # rounding often is): begin there, with the dual prices; restarts use the pick
            search.go_to(best.copy())
    reachable = _reachable(problem, ceiling)
    best, best_total, done, stopped = _tabu(search, iterations, deadline, best, best_total, reachable)
    exchanges = 0
    settled = np.isfinite(reachable) and best_total >= reachable - 1e-9 * max(abs(reachable), 1.0)
    price = search.dual_price if search.dual_value is not None else None  # None: the bands kept the start
    if RESTRICTED and price is not None and iterations > 0 and not stopped and not settled:
        narrowed = restricted(search.lead, search.rep, search.score, search.effort, search.lead_start,
                              search.capacity, search.count_lower, search.count_upper, best, price=price,
                              deadline=deadline)
        best, stopped = narrowed.current, narrowed.stopped_by_time
        exchanges += narrowed.improvements
    if EXCHANGE and iterations > 0 and not stopped and not settled:
        # the tabu search levels off where only a joint reassignment of many leads helps: solve
        # small groups of reps exactly (the neighbourhood module), from its best
        exchanged = exchange(search.lead, search.rep, search.score, search.effort, search.lead_start,
                             search.capacity, search.count_lower, search.count_upper, best,
                             price=price, seed=seed, deadline=deadline)
        best, stopped = exchanged.current, exchanged.stopped_by_time
        exchanges += exchanged.improvements
    result = rep_of.copy()
    result[search.leads] = search.rep[best]
    score = problem.total_score(result)
    if score < start_score or not _keeps(problem, rules, result)[0]:  # float noise: never hand back worse
        return SearchResult(rep_of, start_score, start_score, done, stopped)
    return SearchResult(result, score, start_score, done, stopped, exchanges)


def _reachable(problem: Problem, ceiling: float | None) -> float:
    """The best score that may still exist under ``ceiling``: an integer one when all scores are."""
    if ceiling is None or not np.isfinite(ceiling):
        return np.inf
    scores = problem.pair_score
    if np.all(scores == np.round(scores)):
        return float(np.floor(ceiling + 1e-9 * max(abs(ceiling), 1.0)))
    return float(ceiling)


def _more_shifts(search: _Search, value: FloatArray, first: int, first_source: int, iteration: int) -> None:
    """After the best shift, further improving shifts that touch none of the reps moved so far.

    Shifts on disjoint reps do not change each other's value, so making them together is
    what making them one by one would do, in one evaluation of the neighbourhood; on a large
    batch far from the optimum (a greedy answer to type e 1,600 x 80 is 80% above it) the
    search otherwise spends one iteration per lead. At most :data:`MORE_SHIFTS` of the
    best-valued shifts are looked at, best first, ties to the lowest index.
    """
    touched = np.zeros(search.n_reps, bool)
    moved = np.zeros(search.leads.size, bool)
    touched[search.rep[first]] = touched[first_source] = True
    moved[search.lead[first]] = True
    for candidate in _top(value, MORE_SHIFTS):
        if value[candidate] <= 0:
            break
        lead = int(search.lead[candidate])
        source, target = int(search.rep_of_lead[lead]), int(search.rep[candidate])
        if moved[lead] or touched[source] or touched[target]:
            continue
        search.move(int(candidate), iteration)
        touched[source] = touched[target] = moved[lead] = True


def _tabu(search: _Search, iterations: int, deadline: float | None, best: IntArray,
          best_total: float, reachable: float = np.inf) -> tuple[IntArray, float, int, bool]:
    """The tabu loop from the search's current state; the best rule-keeping state seen (or ``best``).

    It stops early once ``best_total`` reaches ``reachable`` (nothing better exists).
    """
    since_best = 0
    stale_restarts = 0  # restarts since the last better assignment
    done = 0
    stopped = False
    for iteration in range(1, iterations + 1):
        if best_total >= reachable - 1e-9 * max(abs(reachable), 1.0) or stale_restarts > STALL_RESTARTS:
            break
        if deadline is not None and time.perf_counter() > deadline:
            stopped = True
            break
        done = iteration
        bar = best_total + 1e-9 * max(abs(best_total), 1.0)  # a total above this beats the best
        over_now = float(search.overload().sum())
        gain, value, change = search.shifts()
        feasible_after = over_now + change <= 0
        aspire = feasible_after & (search.total + gain > bar)
        allowed = np.isfinite(value) & ((search.tabu_until <= iteration) | aspire)
        shift_value = np.where(allowed, value, -np.inf)
        one, two, swap_gain, swap_value, swap_change = search.swaps(np.where(np.isfinite(value), value, gain))
        if one.size:
            swap_aspire = (over_now + swap_change <= 0) & (search.total + swap_gain > bar)
            free = ((search.tabu_until[one] <= iteration) & (search.tabu_until[two] <= iteration)) | swap_aspire
            swap_value = np.where(free, swap_value, -np.inf)
        path, chain_gain, chain_value, chain_change = search.chains(CHAIN_WIDTH, CHAIN_DEPTH)
        if chain_value.size:
            chain_aspire = (over_now + chain_change <= 0) & (search.total + chain_gain > bar)
            free = np.all((path < 0) | (search.tabu_until[np.maximum(path, 0)] <= iteration), axis=1)
            chain_value = np.where(free | chain_aspire, chain_value, -np.inf)
        best_shift = int(np.argmax(shift_value)) if shift_value.size else -1
        best_swap = int(np.argmax(swap_value)) if swap_value.size else -1
        best_chain = int(np.argmax(chain_value)) if chain_value.size else -1
        shift_top = shift_value[best_shift] if best_shift >= 0 else -np.inf
        swap_top = swap_value[best_swap] if best_swap >= 0 else -np.inf
        chain_top = chain_value[best_chain] if best_chain >= 0 else -np.inf
        if not (np.isfinite(shift_top) or np.isfinite(swap_top) or np.isfinite(chain_top)):
            break  # nothing may move (every move tabu or blocked)
        if shift_top >= swap_top and shift_top >= chain_top:
            source = int(search.rep_of_lead[search.lead[best_shift]])
            search.move(best_shift, iteration)
            if shift_top > 0 and MORE_SHIFTS > 0:
                _more_shifts(search, shift_value, best_shift, source, iteration)
        elif swap_top >= chain_top:
            a, b = int(one[best_swap]), int(two[best_swap])
            search.move(a, iteration)
            search.move(b, iteration)
        else:
            for step in path[best_chain]:
                if step >= 0:
                    search.move(int(step), iteration)
        search.adapt_prices()
        since_best += 1
        feasible = float(search.overload().max(initial=0.0)) <= 0
        if feasible and search.total > bar:
            best, best_total, since_best, stale_restarts = search.current.copy(), search.total, 0, 0
        elif not feasible and search.total > bar and int(np.count_nonzero(search.overload() > 0)) <= PROBE_STEPS:
            probed = search.probe(PROBE_STEPS)
            if probed is not None and probed[1] > bar:
                best, best_total, since_best, stale_restarts = probed[0], probed[1], 0, 0
        if since_best >= RESTART_AFTER:  # 0 after a better assignment
            search.restart(best, max(int(KICK * search.leads.size), 1), iteration)
            since_best, stale_restarts = 0, stale_restarts + 1
    return best, best_total, done, stopped
