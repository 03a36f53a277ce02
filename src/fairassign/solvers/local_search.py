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

Each iteration evaluates, vectorised, every **shift** (one lead to another of its reps) and
every **swap** (two leads on different reps trade reps; counts stay put), and applies the
best move that is not tabu. A lead that leaves a rep may not return to it for a few
iterations (the tenure, drawn from a seeded generator), unless returning gives a
rule-keeping assignment better than the best found (aspiration). Count bands are hard: a
shift that would break one is never made. The best rule-keeping assignment seen is kept,
so the answer is never worse than the start.

Determinism: the work is set by iteration counts (:func:`default_iterations`, from the batch
size only), ties go to the lowest index, and the tenures come from ``seed``; the same input
and seed give the same answer. A ``deadline`` is a safety stop only: when it cuts the
search short, the answer is the best found so far, which can differ from an unhurried run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..problem import Problem
from ..rules import Rules
from .repair import usable_pairs

__all__ = ["SearchResult", "applies", "improve", "default_iterations", "MAX_ITERATIONS", "WORK_BUDGET",
           "MAX_SWAPS", "DENSE_FACTOR", "MIN_ITERATIONS", "ALL_PAIRS_UP_TO", "RESTART_AFTER", "PRICE_SCALE"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: most iterations by default, whatever the size
MAX_ITERATIONS = 4000
#: below this many iterations by default (very large batches) the search is skipped: too few to matter
MIN_ITERATIONS = 100
#: candidate moves (shifts + swaps) evaluated by default over the whole search; about a few seconds
#: of numpy work at 200 leads x 20 reps on one core
WORK_BUDGET = 40_000_000
#: most swaps evaluated per iteration, starting from the best shifts (a candidate list)
MAX_SWAPS = 10_000
#: up to this many pairs of leads, every pair is tried as a swap instead
ALL_PAIRS_UP_TO = 60_000
#: a (lead, rep) lookup table is built when it has at most this many times the candidate pairs' entries
DENSE_FACTOR = 4
#: iterations without a better rule-keeping assignment after which the search restarts from the best
RESTART_AFTER = 400
#: starting price of one unit of overload, in units of (score spread / mean effort). At 1 the
#: search on Chu & Beasley type d (cost falls about one unit per unit of effort) mostly hovered a
#: few units over capacity and rarely met a feasible state; at 3 (with prices falling by 20% a
#: step while every rep fits) it reaches feasibility often: greedy's d 200x20 answer went from
#: 12,473 to 12,421 in 1,000 further moves (1 and 5 gave 12,452 and 12,456)
PRICE_SCALE = 3.0
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

    @property
    def improved(self) -> bool:
        return self.score > self.start_score


def applies(problem: Problem, rules: Rules) -> bool:
    """True when only capacity, eligibility, pins, count bands and must-assign bind (a GAP)."""
    return not (rules.fair or rules.has_value_band or rules.conflicts) and problem.n_pairs > 0


def default_iterations(n_candidates: int, n_swaps: int) -> int:
    """Iterations for ``n_candidates`` shift and about ``n_swaps`` swap evaluations per iteration.

    :data:`WORK_BUDGET` evaluations in all, at most :data:`MAX_ITERATIONS`; 0 (no search) when
    that leaves fewer than :data:`MIN_ITERATIONS`. Depends on the sizes only, never on the clock.
    """
    per_iteration = max(n_candidates + min(n_swaps, MAX_SWAPS), 1)
    iterations = int(min(MAX_ITERATIONS, WORK_BUDGET // per_iteration))
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
        self.tabu_until = np.zeros(candidate.size, np.int64)
        self.rng = np.random.default_rng([seed, 7919])
        self.tenure_spread = max(1, int(np.sqrt(leads.size)))
        self._recount()
        # price of one unit of overload: the typical score change per unit of effort
        spread = float(np.std(self.score)) if self.score.size > 1 else 1.0
        self.base_price = PRICE_SCALE * max(spread, 1e-9) / max(float(np.mean(self.effort)), 1e-9)
        self.price = np.full(n_reps, self.base_price)

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
            ranked = np.argsort(-rank[first], kind="stable")
            keep = ranked[: max(int(np.searchsorted(np.cumsum(size[ranked]), MAX_SWAPS)), 1)]
            first = np.sort(first[keep])
            size = start[self.rep[first] + 1] - start[self.rep[first]]
        one = np.repeat(first, size)
        offset = np.arange(one.size) - np.repeat(np.cumsum(size) - size, size)
        other_lead = order[np.repeat(start[self.rep[first]], size) + offset]
        lead = self.lead[one]
        keep = lead < other_lead
        return lead[keep], other_lead[keep]

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

    def restart(self, best: IntArray) -> None:
        self.current = best.copy()
        self.rep_of_lead = self.rep[self.current]
        self._recount()
        self.tabu_until[:] = 0
        self.price[:] = self.base_price


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
        iterations = default_iterations(search.pair.size, search.swap_estimate())
    best, _, done, stopped = _tabu(search, iterations, deadline, search.current.copy(), search.total,
                                   _reachable(problem, ceiling))
    result = rep_of.copy()
    result[search.leads] = search.rep[best]
    score = problem.total_score(result)
    if score < start_score or not _keeps(problem, rules, result)[0]:  # float noise: never hand back worse
        return SearchResult(rep_of, start_score, start_score, done, stopped)
    return SearchResult(result, score, start_score, done, stopped)


def _reachable(problem: Problem, ceiling: float | None) -> float:
    """The best score that may still exist under ``ceiling``: an integer one when all scores are."""
    if ceiling is None or not np.isfinite(ceiling):
        return np.inf
    scores = problem.pair_score
    if np.all(scores == np.round(scores)):
        return float(np.floor(ceiling + 1e-9 * max(abs(ceiling), 1.0)))
    return float(ceiling)


def _tabu(search: _Search, iterations: int, deadline: float | None, best: IntArray,
          best_total: float, reachable: float = np.inf) -> tuple[IntArray, float, int, bool]:
    """The tabu loop from the search's current state; the best rule-keeping state seen (or ``best``).

    It stops early once ``best_total`` reaches ``reachable`` (nothing better exists).
    """
    since_best = 0
    done = 0
    stopped = False
    for iteration in range(1, iterations + 1):
        if best_total >= reachable - 1e-9 * max(abs(reachable), 1.0):
            break
        if deadline is not None and time.perf_counter() > deadline:
            stopped = True
            break
        done = iteration
        over_now = float(search.overload().sum())
        gain, value, change = search.shifts()
        feasible_after = over_now + change <= 0
        aspire = feasible_after & (search.total + gain > best_total + 1e-9 * max(abs(best_total), 1.0))
        allowed = np.isfinite(value) & ((search.tabu_until <= iteration) | aspire)
        shift_value = np.where(allowed, value, -np.inf)
        one, two, swap_gain, swap_value, swap_change = search.swaps(np.where(np.isfinite(value), value, gain))
        if one.size:
            swap_aspire = (over_now + swap_change <= 0) & (
                search.total + swap_gain > best_total + 1e-9 * max(abs(best_total), 1.0))
            free = ((search.tabu_until[one] <= iteration) & (search.tabu_until[two] <= iteration)) | swap_aspire
            swap_value = np.where(free, swap_value, -np.inf)
        best_shift = int(np.argmax(shift_value)) if shift_value.size else -1
        best_swap = int(np.argmax(swap_value)) if swap_value.size else -1
        shift_top = shift_value[best_shift] if best_shift >= 0 else -np.inf
        swap_top = swap_value[best_swap] if best_swap >= 0 else -np.inf
        if not np.isfinite(shift_top) and not np.isfinite(swap_top):
            break  # nothing may move (every move tabu or blocked)
        if shift_top >= swap_top:
            search.move(best_shift, iteration)
        else:
            a, b = int(one[best_swap]), int(two[best_swap])
            search.move(a, iteration)
            search.move(b, iteration)
        search.adapt_prices()
        since_best += 1
        if float(search.overload().max(initial=0.0)) <= 0 and \
                search.total > best_total + 1e-9 * max(abs(best_total), 1.0):
            best, best_total, since_best = search.current.copy(), search.total, 0
        elif since_best >= RESTART_AFTER:
            search.restart(best)
            since_best = 0
    return best, best_total, done, stopped
