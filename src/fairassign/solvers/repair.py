r"""The shared repair pass: turn an assignment that breaks rules into one that keeps them.

Heuristics (LP rounding, greedy) produce assignments that may overfill a rep, leave a rep
outside its fair share, or miss a lead that must be assigned. :func:`repair` fixes them by
local moves that change as little score as it can, in three stages:

1. **Moves.** Every rule is measured as a non-negative *penalty* per rep (effort over
   capacity, counts and values outside their bands, value outside the fair share
   :math:`[l_r V, h_r V]`) plus one per missing must-assign lead; the penalty is zero
   exactly when every rule holds. Repeatedly, the rep (or lead) with the largest penalty is
   the focus and every move touching it is scored at once (vectorised): move a lead to
   another rep, assign an unassigned lead, unassign a lead, or swap a lead in and another
   out. Among the moves that remove at least half the most penalty any move removes, the one
   that loses the least score per unit of penalty removed is applied. Each move
   strictly lowers the total penalty, so the loop ends. A rep whose exchanges and swaps do
   not help is set aside until a move touches it; when no move touching a rep in breach
   helps, a lead anywhere may leave or join the assignment (under a fair share, a smaller
   or larger total shifts every band). A descent that dead-ends is run again from its start
   in the *careful* order (every rep tried again after each move), which ends elsewhere.
   **Insertion.** When moves stall with must-assign leads missing, each is placed on its
   least-penalised usable pair and the moves run again with a missing lead weighing more
   than the whole penalty: a lead worth nearly a rep's fair share gets in by having the
   rep's other leads pushed out, a path on which every single step breaks a rule.
2. **Neighbourhood MIP.** When that fails too, the leads around the trouble (the reps in
   breach and the reps a missing lead could take: their leads, and the leads that could
   move into them) are freed and re-assigned by a small MIP (HiGHS through scipy) with
   everything else fixed; a neighbourhood that cannot be fixed is widened by a ring of reps
   and tried again. On small batches the neighbourhood is the whole batch, so a ``None``
   answer there is a proof that no rule-keeping assignment exists. An answer the MIP did
   not prove optimal is kept only if it assigns at least half the freed leads the state
   held: under a fair share over a free total the empty assignment keeps every rule, and
   that is what HiGHS returns when its time runs out on a hard neighbourhood.
3. **Fill and improve.** Unassigned leads are added where every rule still holds (all of them
   under the lexicographic objective, those with a positive score under ``"score"``); under
   the lexicographic objective, leads still out are tried once more by insertion; then
   leads move to better pairs where every rule still holds, largest gain first.

Notes
-----
With :math:`V` the total assigned value, moving a lead between reps keeps :math:`V`, but
adding or removing one shifts every rep's fair band. The change of the fair-share penalty
over all reps is a sum of hinge functions of :math:`V`, evaluated for many candidate moves
at once by sorting the hinges' kinks.

Feasibility is judged with a relative slack of ``1e-9`` (a thousand times stricter than
:func:`fairassign.verify`), so an assignment accepted here passes the verifier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import ValidationError
from ..problem import Problem
from ..rules import Rules
from .base import SolveRequest

__all__ = ["repair", "repair_with_proof", "usable_pairs"]

#: relative slack when testing a rule (verify uses 1e-6)
_RTOL = 1e-9
#: a move must lower the total penalty by more than this to count as progress
_PROGRESS = 1e-9
#: penalty of a lead that must be assigned and is not (above one unit of overload, so that
#: placing it on a full rep and then moving another lead out is a path of strict progress)
_MISSING_WEIGHT = 2.0
#: weight of a shortfall below a lower limit, relative to an excess over an upper one
_SHORT_WEIGHT = 0.25
#: a move is chosen among those removing at least this share of the most penalty any move removes.
#: By score lost per penalty removed alone, repairs near a fair share's bands crawled: from the
#: greedy's start on a tiered 10k x 200 day, 3,400 moves in 90 s left 4.2 units; with this
#: rule the repair ended in 68 s, and from the LP's rounding in 1.6 s instead of 7 s
_SUBSTANTIAL = 0.5
#: most extra single moves applied from one scoring
_BATCH = 16
#: a rep's penalty above which its moves are batched (far from feasible: speed over care)
_BATCH_FROM = 3.0
#: candidates on each side of a swap
_SWAP_SIDE = 40
#: up to this many candidate pairs, the MIP stage frees the whole batch (and so is exact)
_EXACT_PAIRS = 4000
#: most leads the MIP stage frees on larger batches
_NEIGHBOURHOOD_LEADS = 3000
#: most unassigned leads :meth:`_Repairer.place_more` tries to place at once
_PLACE_MORE_LEADS = 64
#: neighbourhoods the MIP stage tries on larger batches, each a ring of reps wider
_MIP_ATTEMPTS = 3
#: seconds for the MIP stage when the request sets no time limit
_DEFAULT_MIP_SECONDS = 20.0
#: a neighbourhood answer the MIP did not prove optimal is kept only when it assigns at least this
#: share of the freed leads the state held: under a fair share over a free total, assigning
#: nothing keeps every rule, and HiGHS returns that empty answer when its time runs out
_MIP_LEAST_KEPT = 0.5


@dataclass(frozen=True, eq=False)
class _Limits:
    """Per-rep limits, widened by their slacks, and the scales that make penalties comparable."""

    capacity: NDArray[np.float64]
    count_lower: NDArray[np.float64]
    count_upper: NDArray[np.float64]
    value_lower: NDArray[np.float64]
    value_upper: NDArray[np.float64]
    fair_high: NDArray[np.float64] | None  # min over FairShare rules of high_r
    fair_low: NDArray[np.float64] | None  # max over FairShare rules of low_r
    effort_scale: float
    value_scale: float

    @staticmethod
    def of(problem: Problem, rules: Rules) -> _Limits:
        fair_high = fair_low = None
        if rules.fair:
            # l V <= V_r <= h V for every rule, with V >= 0, is the tightest pair of the rules
            fair_high = np.min([rule.high for rule in rules.fair], axis=0)
            fair_low = np.max([rule.low for rule in rules.fair], axis=0)
        effort = problem.pair_effort[rules.allowed]
        positive_effort = effort[effort > 0]
        positive_value = problem.value[problem.value > 0]
        return _Limits(
            capacity=_widen(problem.capacity, 1.0),
            count_lower=_widen(rules.count_lower, -1.0),
            count_upper=_widen(rules.count_upper, 1.0),
            value_lower=_widen(rules.value_lower, -1.0),
            value_upper=_widen(rules.value_upper, 1.0),
            fair_high=fair_high,
            fair_low=fair_low,
            effort_scale=float(positive_effort.mean()) if positive_effort.size else 1.0,
            value_scale=float(positive_value.mean()) if positive_value.size else 1.0,
        )


def _widen(limit: NDArray[np.float64], side: float) -> NDArray[np.float64]:
    """``limit`` moved outward by the relative slack (infinite limits stay infinite)."""
    limit = np.asarray(limit, dtype=np.float64)
    finite = np.isfinite(limit)
    return limit + side * _RTOL * np.maximum(np.abs(np.where(finite, limit, 0.0)), 1.0)


def _local_penalty(limits: _Limits, reps: NDArray[np.int64], load: NDArray[np.float64],
                   count: NDArray[np.float64], value: NDArray[np.float64],
                   total: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Penalty of ``reps`` in the given states, fair-share terms at total value ``total``.

    A shortfall below a lower limit weighs :data:`_SHORT_WEIGHT` of an excess over an upper
    one: a rep that must give up a lead too large for its band may then empty first and
    refill after, a path the equal weights would block.
    """
    penalty = np.maximum(load - limits.capacity[reps], 0.0) / limits.effort_scale
    penalty += np.maximum(count - limits.count_upper[reps], 0.0)
    penalty += _SHORT_WEIGHT * np.maximum(limits.count_lower[reps] - count, 0.0)
    over = np.maximum(value - limits.value_upper[reps], 0.0)
    short = np.maximum(limits.value_lower[reps] - value, 0.0)
    if limits.fair_high is not None and limits.fair_low is not None:
        slack = _RTOL * np.maximum(total, 1.0)
        over += np.maximum(value - limits.fair_high[reps] * total - slack, 0.0)
        short += np.maximum(limits.fair_low[reps] * total - value - slack, 0.0)
    return penalty + (over + _SHORT_WEIGHT * short) / limits.value_scale


def usable_pairs(problem: Problem, rules: Rules) -> NDArray[np.bool_]:
    r"""Allowed pairs that some rule-keeping assignment could use (a superset of them).

    A pair is useless when its lead alone overfills the rep: effort above the capacity, or
    value above the rep's value band or above its largest possible fair share
    :math:`h_r V_{\max}`, with :math:`V_{\max}` the value of every lead that has an allowed
    pair. Leaving such pairs out changes no feasible assignment, and it keeps rounding and
    repair from placing a heavy lead where it can never stay.
    """
    allowed = np.asarray(rules.allowed, dtype=bool).copy()
    rep = problem.pair_rep
    value = problem.pair_value
    allowed &= problem.pair_effort <= _widen(problem.capacity, 1.0)[rep]
    allowed &= value <= _widen(rules.value_upper, 1.0)[rep]
    if rules.fair:
        has_pair = np.zeros(problem.n_leads, dtype=bool)
        has_pair[problem.pair_lead[rules.allowed]] = True
        most = float(problem.value[has_pair].sum())
        high = np.min([fair.high for fair in rules.fair], axis=0)
        allowed &= value <= (high * most + _RTOL * max(most, 1.0))[rep]
    return allowed


class _FairSum:
    r"""Fair-share penalty of all reps, at fixed values ``V_r``, as a function of the total.

    :math:`F(T) = \sum_r \max(0, V_r - s - h_r T) + \max(0, l_r T - V_r - s)`, a sum of
    hinges; sorted kinks and prefix sums evaluate it at many totals in :math:`O(\log n)` each.
    The slack ``s`` is that of the current total (the evaluation is exact up to ``1e-9``).
    """

    def __init__(self, limits: _Limits, value: NDArray[np.float64], total: float) -> None:
        assert limits.fair_high is not None and limits.fair_low is not None
        slack = _RTOL * max(total, 1.0)
        self.scale = limits.value_scale
        high, low = limits.fair_high, limits.fair_low
        alpha = value - slack  # decreasing hinge: max(0, alpha - high T)
        self.flat = float(np.maximum(alpha[high <= 0], 0.0).sum())
        sloped = high > 0
        kink = alpha[sloped] / high[sloped]
        order = np.argsort(kink, kind="stable")
        self.down_kink = kink[order]
        self.down_alpha = np.concatenate((np.cumsum(alpha[sloped][order][::-1])[::-1], [0.0]))
        self.down_slope = np.concatenate((np.cumsum(high[sloped][order][::-1])[::-1], [0.0]))
        beta = value + slack  # increasing hinge: max(0, low T - beta), weighed as a shortfall
        rising = low > 0
        kink = beta[rising] / low[rising]
        order = np.argsort(kink, kind="stable")
        self.up_kink = kink[order]
        self.up_beta = np.concatenate(([0.0], np.cumsum(beta[rising][order])))
        self.up_slope = np.concatenate(([0.0], np.cumsum(low[rising][order])))

    def __call__(self, total: NDArray[np.float64]) -> NDArray[np.float64]:
        above = np.searchsorted(self.down_kink, total, side="right")  # kinks > total start here
        down = self.down_alpha[above] - total * self.down_slope[above]
        below = np.searchsorted(self.up_kink, total, side="left")  # kinks < total end here
        up = total * self.up_slope[below] - self.up_beta[below]
        return (self.flat + down + _SHORT_WEIGHT * up) / self.scale


class _Repairer:
    """Working state of one repair: the assignment and each rep's load, count and value."""

    def __init__(self, problem: Problem, rules: Rules, rep_of: NDArray[np.int64], request: SolveRequest,
                 priority: NDArray[np.float64] | None) -> None:
        self.problem, self.rules, self.request = problem, rules, request
        self.limits = _Limits.of(problem, rules)
        if priority is None:
            self.priority = np.asarray(problem.pair_score, dtype=np.float64)
        else:
            self.priority = np.asarray(priority, dtype=np.float64)
        self.lexicographic = request.objective == "lexicographic"
        self.must = np.asarray(rules.must_assign, dtype=bool)
        self.usable = usable_pairs(problem, rules)
        # usable pairs, grouped by lead (candidate order) and by rep
        self.allowed_pairs = np.flatnonzero(self.usable).astype(np.int64)
        self.allowed_lead_start = np.searchsorted(problem.pair_lead[self.allowed_pairs],
                                                  np.arange(problem.n_leads + 1)).astype(np.int64)
        by_rep = problem.rep_order[self.usable[problem.rep_order]]
        self.rep_pairs = by_rep.astype(np.int64)
        self.rep_pair_start = np.searchsorted(problem.pair_rep[by_rep],
                                              np.arange(problem.n_reps + 1)).astype(np.int64)
        self.pair_of = np.full(problem.n_leads, -1, dtype=np.int64)
        self.missing_weight = _MISSING_WEIGHT
        self._load_assignment(rep_of)

    # ------------------------------------------------------------------ state
    def _load_assignment(self, rep_of: NDArray[np.int64]) -> None:
        problem = self.problem
        rep_of = np.asarray(rep_of, dtype=np.int64)
        leads = np.flatnonzero((rep_of >= 0) & (rep_of < problem.n_reps))
        pairs = problem.pair_index(leads, rep_of[leads])
        ok = pairs >= 0
        ok[ok] = self.usable[pairs[ok]]  # a pair that is not allowed (or usable) is dropped, then repaired
        self.pair_of[:] = -1
        self.pair_of[leads[ok]] = pairs[ok]
        self._recount()

    def _recount(self) -> None:
        problem = self.problem
        pairs = self.pair_of[self.pair_of >= 0]
        reps = problem.pair_rep[pairs]
        # astype: bincount of nothing is an integer array, which would truncate later updates
        self.load = np.bincount(reps, weights=problem.pair_effort[pairs], minlength=problem.n_reps).astype(np.float64)
        self.count = np.bincount(reps, minlength=problem.n_reps).astype(np.float64)
        self.value = np.bincount(reps, weights=problem.pair_value[pairs], minlength=problem.n_reps).astype(np.float64)
        self.total = float(self.value.sum())

    def rep_of(self) -> NDArray[np.int64]:
        rep_of = np.full(self.problem.n_leads, -1, dtype=np.int64)
        assigned = self.pair_of >= 0
        rep_of[assigned] = self.problem.pair_rep[self.pair_of[assigned]]
        return rep_of

    def penalties(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Penalty of every rep, and the must-assign leads that are unassigned."""
        reps = np.arange(self.problem.n_reps, dtype=np.int64)
        penalty = _local_penalty(self.limits, reps, self.load, self.count, self.value, self.total)
        missing = np.flatnonzero(self.must & (self.pair_of < 0)).astype(np.int64)
        return penalty, missing

    def _apply(self, lead: int, new_pair: int) -> None:
        problem = self.problem
        old_pair = int(self.pair_of[lead])
        value = float(problem.value[lead])
        if old_pair >= 0:
            rep = problem.pair_rep[old_pair]
            self.load[rep] -= problem.pair_effort[old_pair]
            self.count[rep] -= 1
            self.value[rep] -= value
            self.total -= value
        if new_pair >= 0:
            rep = problem.pair_rep[new_pair]
            self.load[rep] += problem.pair_effort[new_pair]
            self.count[rep] += 1
            self.value[rep] += value
            self.total += value
        self.pair_of[lead] = new_pair

    # ------------------------------------------------------------------ move scoring
    def _score_moves(self, leads: NDArray[np.int64], new_pairs: NDArray[np.int64],
                     fair_sum: _FairSum | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Change of total penalty, and score lost, if each lead moves to its new pair (-1: unassign)."""
        problem, limits = self.problem, self.limits
        old_pairs = self.pair_of[leads]
        value = problem.value[leads]
        has_old, has_new = old_pairs >= 0, new_pairs >= 0
        old_safe, new_safe = np.where(has_old, old_pairs, 0), np.where(has_new, new_pairs, 0)
        old_rep, new_rep = problem.pair_rep[old_safe], problem.pair_rep[new_safe]
        moved = np.where(has_new, value, 0.0) - np.where(has_old, value, 0.0)
        total = self.total + moved
        delta = np.zeros(leads.size)
        if fair_sum is not None:
            changes = moved != 0
            if changes.any():
                delta[changes] = fair_sum(total[changes]) - fair_sum(np.array([self.total]))[0]
        for has, rep, pairs, sign in ((has_old, old_rep, old_safe, -1.0), (has_new, new_rep, new_safe, 1.0)):
            if not has.any():
                continue
            r = rep[has]
            t = total[has]
            before = _local_penalty(limits, r, self.load[r], self.count[r], self.value[r], t)
            after = _local_penalty(limits, r, self.load[r] + sign * problem.pair_effort[pairs[has]],
                                   self.count[r] + sign, self.value[r] + sign * value[has], t)
            delta[has] += after - before
        delta += self.missing_weight * self.must[leads] * (has_old & ~has_new).astype(np.float64)
        delta -= self.missing_weight * self.must[leads] * (~has_old & has_new).astype(np.float64)
        loss = np.where(has_old, self.priority[old_safe], 0.0) - np.where(has_new, self.priority[new_safe], 0.0)
        return delta, loss

    def _moves_of_rep(self, rep: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every single move touching ``rep``: its leads out (elsewhere or unassigned), others in."""
        problem = self.problem
        in_pairs = self.rep_pairs[self.rep_pair_start[rep]:self.rep_pair_start[rep + 1]]
        in_leads = problem.pair_lead[in_pairs]
        keep = self.pair_of[in_leads] != in_pairs
        own = in_leads[~keep]
        in_pairs, in_leads = in_pairs[keep], in_leads[keep]
        out_leads, out_pairs = self._alternatives(own, exclude_rep=rep)
        leads = np.concatenate((in_leads, out_leads, own))
        pairs = np.concatenate((in_pairs, out_pairs, np.full(own.size, -1, dtype=np.int64)))
        return leads, pairs

    def _alternatives(self, leads: NDArray[np.int64], exclude_rep: int = -1) -> tuple[
            NDArray[np.int64], NDArray[np.int64]]:
        """All allowed pairs of ``leads`` (except those on ``exclude_rep``), as (lead, pair) arrays."""
        start = self.allowed_lead_start[leads]
        length = self.allowed_lead_start[leads + 1] - start
        owner = np.repeat(leads, length)
        offset = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
        pairs = self.allowed_pairs[np.repeat(start, length) + offset]
        keep = self.problem.pair_rep[pairs] != exclude_rep
        return owner[keep], pairs[keep]

    def _choose(self, delta: NDArray[np.float64], loss: NDArray[np.float64],
                count_change: NDArray[np.float64]) -> int:
        """Index of the best improving move, or -1: most penalty removed per score lost, among
        the moves that remove at least :data:`_SUBSTANTIAL` of the most any move removes.

        Under the lexicographic objective a move that unassigns a lead is a last resort.
        Ties go to the lowest index, so the choice is deterministic.
        """
        improving = delta < -_PROGRESS
        if self.lexicographic:
            keeps_count = improving & (count_change >= 0)
            if keeps_count.any():
                improving = keeps_count
        if not improving.any():
            return -1
        # the ratio alone picks slivers: moves that remove almost no penalty at almost no cost,
        # thousands of them in a row near the bands (see _SUBSTANTIAL)
        improving &= -delta >= _SUBSTANTIAL * float(np.max(-delta[improving]))
        ratio = np.where(improving, loss / np.where(improving, -delta, 1.0), np.inf)
        return int(np.argmin(ratio))

    # ------------------------------------------------------------------ stage 1: moves
    def _fair_sum(self) -> _FairSum | None:
        return _FairSum(self.limits, self.value, self.total) if self.limits.fair_high is not None else None

    def _apply_best_singles(self, rep: int, lead: int, batch: bool) -> bool:
        """Apply the best improving single move touching the focus, then more from the same scoring.

        With ``batch``, after the best move the next best (by the same ratio, up to :data:`_BATCH`)
        are applied too when they move other leads between other reps and, scored again one by one in the
        new state, still lower the penalty: an overfull rep sheds many leads per scoring.
        Returns False when no single move improves.
        """
        if lead >= 0:
            leads, pairs = self._alternatives(np.array([lead], dtype=np.int64))
        else:
            leads, pairs = self._moves_of_rep(rep)
        if leads.size == 0:
            return False
        delta, loss = self._score_moves(leads, pairs, self._fair_sum())
        count_change = (pairs >= 0).astype(np.float64) - (self.pair_of[leads] >= 0)
        best = self._choose(delta, loss, count_change)
        if best < 0:
            return False
        self._apply(int(leads[best]), int(pairs[best]))
        if lead >= 0 or not batch:
            return True
        # the rest: transfers only (the total value, and so every fair band, stays put)
        transfer = (pairs >= 0) & (self.pair_of[leads] >= 0) & (delta < -_PROGRESS) & (count_change >= 0)
        transfer[best] = False
        candidates = np.flatnonzero(transfer)
        if candidates.size == 0:
            return True
        ratio = loss[candidates] / -delta[candidates]
        candidates = candidates[np.lexsort((candidates, ratio))][: 4 * _BATCH]
        moved_leads = {int(leads[best])}
        touched = {int(self.problem.pair_rep[pairs[best]])} if pairs[best] >= 0 else set()
        if self.pair_of[leads[best]] >= 0:
            touched.add(int(self.problem.pair_rep[self.pair_of[leads[best]]]))
        touched.discard(rep)
        applied = 0
        for k in candidates.tolist():
            lead_k, pair_k = int(leads[k]), int(pairs[k])
            other = {int(self.problem.pair_rep[pair_k]), int(self.problem.pair_rep[self.pair_of[lead_k]])} - {rep}
            if lead_k in moved_leads or other & touched:
                continue
            again, _ = self._score_moves(np.array([lead_k]), np.array([pair_k]), None)
            if again[0] < -_PROGRESS:
                self._apply(lead_k, pair_k)
                moved_leads.add(lead_k)
                touched |= other
                applied += 1
                if applied >= _BATCH:
                    break
        return True

    def _apply_best_total_move(self) -> bool:
        """Apply the best improving move of any lead in or out of the assignment; False when none improves.

        The last resort when no move touching a rep in breach helps: reps at capacity a hair
        below their fair bands, with no lead of more value they could take, are helped only by
        a smaller total value, that is by a lead leaving some other rep that has room in its band
        (each such step lowers every band a little). Only fair shares couple the reps this way.
        """
        if self.limits.fair_high is None:
            return False
        assigned = np.flatnonzero(self.pair_of >= 0)
        out_leads, out_pairs = assigned, np.full(assigned.size, -1, dtype=np.int64)
        in_leads, in_pairs = self._alternatives(np.flatnonzero(self.pair_of < 0))
        leads, pairs = np.concatenate((out_leads, in_leads)), np.concatenate((out_pairs, in_pairs))
        if leads.size == 0:
            return False
        delta, loss = self._score_moves(leads, pairs, self._fair_sum())
        best = self._choose(delta, loss, (pairs >= 0).astype(np.float64) - (self.pair_of[leads] >= 0))
        if best < 0:
            return False
        self._apply(int(leads[best]), int(pairs[best]))
        return True

    def _best_exchange(self, rep: int) -> tuple[int, int, int, int] | None:
        """Best exchange of one of ``rep``'s leads with a lead of another rep, both reps allowed.

        Every (own lead i, other lead j) pair whose exchange is allowed is scored at once; only
        the two reps change, and the total value stays, so the penalty change is local.
        """
        problem, limits = self.problem, self.limits
        span = self.rep_pairs[self.rep_pair_start[rep]:self.rep_pair_start[rep + 1]]
        span_leads = problem.pair_lead[span]
        current = self.pair_of[span_leads]
        own = span_leads[current == span]
        own_pairs = span[current == span]
        others = span_leads[(current >= 0) & (current != span)]
        into_rep = span[(current >= 0) & (current != span)]
        if own.size == 0 or others.size == 0:
            return None
        other_pairs = self.pair_of[others]
        other_rep = problem.pair_rep[other_pairs]
        i = np.repeat(np.arange(own.size), others.size)
        j = np.tile(np.arange(others.size), own.size)
        back = problem.pair_index(own[i], other_rep[j])  # own lead i to j's rep
        ok = back >= 0
        ok[ok] = self.usable[back[ok]]
        i, j, back = i[ok], j[ok], back[ok]
        if i.size == 0:
            return None
        value = problem.value
        reps = np.full(i.size, rep, dtype=np.int64)
        b = other_rep[j]
        delta = -_local_penalty(limits, reps, self.load[reps], self.count[reps], self.value[reps], self.total)
        delta += _local_penalty(limits, reps,
                                self.load[reps] - problem.pair_effort[own_pairs[i]] + problem.pair_effort[into_rep[j]],
                                self.count[reps], self.value[reps] - value[own[i]] + value[others[j]], self.total)
        delta -= _local_penalty(limits, b, self.load[b], self.count[b], self.value[b], self.total)
        load_b = self.load[b] - problem.pair_effort[other_pairs[j]] + problem.pair_effort[back]
        value_b = self.value[b] + value[own[i]] - value[others[j]]
        delta += _local_penalty(limits, b, load_b, self.count[b], value_b, self.total)
        prio = self.priority
        loss = prio[own_pairs[i]] + prio[other_pairs[j]] - prio[back] - prio[into_rep[j]]
        best = self._choose(delta, loss, np.zeros(i.size))
        if best < 0:
            return None
        return int(own[i[best]]), int(back[best]), int(others[j[best]]), int(into_rep[j[best]])

    def _best_swap(self, rep: int) -> tuple[int, int, int, int] | None:
        """Best pair of moves through ``rep``: one lead in (from elsewhere), one of its own out."""
        problem = self.problem
        leads, pairs = self._moves_of_rep(rep)
        if leads.size == 0:
            return None
        incoming = (pairs >= 0) & (problem.pair_rep[np.where(pairs >= 0, pairs, 0)] == rep)
        fair_sum = self._fair_sum()
        delta, loss = self._score_moves(leads, pairs, fair_sum)
        side: list[NDArray[np.int64]] = []
        for mask in (incoming, ~incoming):
            index = np.flatnonzero(mask)
            # the most promising of each side: least penalty added per move, then least loss
            order = np.lexsort((index, loss[index], delta[index]))[:_SWAP_SIDE]
            side.append(index[order])
        first, second = side
        if first.size == 0 or second.size == 0:
            return None
        a = np.repeat(first, second.size)
        b = np.tile(second, first.size)
        valid = leads[a] != leads[b]
        a, b = a[valid], b[valid]
        if a.size == 0:
            return None
        # score each pair exactly: apply the first move, score the second, undo
        combined_delta = np.empty(a.size)
        for move in first.tolist():
            rows = np.flatnonzero(a == move)
            if rows.size == 0:
                continue
            lead, old = int(leads[move]), int(self.pair_of[leads[move]])
            self._apply(lead, int(pairs[move]))
            second_delta, _ = self._score_moves(leads[b[rows]], pairs[b[rows]], self._fair_sum())
            self._apply(lead, old)
            combined_delta[rows] = delta[move] + second_delta
        combined_loss = loss[a] + loss[b]
        count_change = ((pairs[a] >= 0).astype(np.float64) - (self.pair_of[leads[a]] >= 0)
                        + (pairs[b] >= 0) - (self.pair_of[leads[b]] >= 0))
        best_index = self._choose(combined_delta, combined_loss, count_change)
        if best_index < 0:
            return None
        return (int(leads[a[best_index]]), int(pairs[a[best_index]]),
                int(leads[b[best_index]]), int(pairs[b[best_index]]))

    def run_moves(self, deadline: float, steps: int | None = None, careful: bool = False) -> bool:
        """Stage 1; True when every rule holds (within ``steps`` moves, by default plenty).

        A rep whose exchanges and swaps do not help is set aside until a move touches it (a
        change of the total value shifts every fair band too, but only a little: the stage
        ends only when a pass over every focus, none set aside, finds no move). Trying every
        set-aside rep again after each move (``careful``) re-scores the same swaps before each
        move: at 10k x 200 under a fair share that took 41 s where setting aside took 7 s. The
        two orders of moves end in different places, so :func:`repair_with_proof` runs the
        careful one when the other dead-ends.
        """
        stuck: set[int] = set()  # reps set aside
        limit = 20 * (self.problem.n_leads + self.problem.n_reps) + 100 if steps is None else steps
        for _ in range(limit):
            if time.perf_counter() > deadline:
                return False
            penalty, missing = self.penalties()
            if penalty.max(initial=0.0) <= 0 and missing.size == 0:
                return True
            focus = [(-1, int(lead)) for lead in missing.tolist()]
            order = np.argsort(-penalty, kind="stable")
            focus += [(int(rep), -1) for rep in order[penalty[order] > 0].tolist()]
            state = self._rep_state()
            moved = self._move_first(focus, stuck, penalty)
            if not moved and stuck:
                stuck.clear()  # a fresh pass: moves elsewhere may have opened a way for a set-aside rep
                moved = self._move_first(focus, stuck, penalty)
            if not moved and not self._apply_best_total_move():
                return False
            if careful:
                stuck.clear()
            else:  # a rep stays set aside while its state stays
                stuck -= set(np.flatnonzero((self._rep_state() != state).any(axis=0)).tolist())
        return False

    def _rep_state(self) -> NDArray[np.float64]:
        return np.stack((self.load, self.count, self.value))

    def _move_first(self, focus: list[tuple[int, int]], stuck: set[int],
                    penalty: NDArray[np.float64]) -> bool:
        """Apply the first improving move, by focus: its single moves, then (unless it is set aside in
        ``stuck``) its exchanges and swaps; a rep focus without one is added to ``stuck``."""
        for rep, lead in focus:
            if self._apply_best_singles(rep, lead, batch=rep >= 0 and penalty[rep] > _BATCH_FROM):
                return True
            if rep >= 0 and rep not in stuck:
                swap = self._best_exchange(rep) or self._best_swap(rep)
                if swap is not None:
                    self._apply(swap[0], swap[1])
                    self._apply(swap[2], swap[3])
                    return True
                stuck.add(rep)
        return False

    def run_insertion(self, deadline: float, steps: int | None = None) -> bool:
        """Stage 1b, when moves stall with must-assign leads missing; True when every rule holds.

        A missing lead may be kept out by a rule no single move can respect on the way in: a
        lead worth nearly a rep's whole fair share enters only once that rep has shed many
        leads, and each of those sheds alone pushes the rep under its band. So every missing
        lead is placed on the usable pair that adds the least penalty (then the best
        priority, then the lowest index), and the moves run again with a missing lead
        weighing more than the whole penalty then: as moves only ever lower the penalty,
        a placed must-assign lead is never dropped again, and the other leads make way.
        The state is restored when this fails (``steps`` caps the moves, as in :meth:`run_moves`).
        """
        _, missing = self.penalties()
        if missing.size == 0:
            return False
        saved = self.pair_of.copy()
        for lead in missing.tolist():
            leads, pairs = self._alternatives(np.array([lead], dtype=np.int64))
            delta, _ = self._score_moves(leads, pairs, self._fair_sum())
            best = np.lexsort((pairs, -self.priority[pairs], delta))[0]
            self._apply(lead, int(pairs[best]))
        penalty, _ = self.penalties()
        self.missing_weight = 2.0 * float(penalty.sum()) + _MISSING_WEIGHT
        try:
            if self.run_moves(deadline, steps):
                return True
        finally:
            self.missing_weight = _MISSING_WEIGHT
        self.pair_of = saved
        self._recount()
        return False

    def place_more(self, deadline: float) -> None:
        """Lexicographic objective: place leads :meth:`fill` could not, by :meth:`run_insertion`.

        A lead can stay out after fill only because some rule would break on its way in (a
        heavy lead and a tight fair share). The unassigned leads with a usable pair on a rep
        with room (at most :data:`_PLACE_MORE_LEADS`, best priority first) are treated as
        must-assign for one insertion attempt; on failure nothing changes.
        """
        unassigned = np.flatnonzero(self.pair_of < 0)
        if unassigned.size == 0:
            return
        leads, pairs = self._alternatives(unassigned)
        rep = self.problem.pair_rep[pairs]
        room = ((self.load[rep] + self.problem.pair_effort[pairs] <= self.limits.capacity[rep])
                & (self.count[rep] + 1 <= self.limits.count_upper[rep]))
        leads, pairs = leads[room], pairs[room]
        if leads.size == 0:
            return
        order = np.lexsort((pairs, -self.priority[pairs]))
        first = np.unique(leads[order], return_index=True)[1]
        chosen = leads[order][np.sort(first)][:_PLACE_MORE_LEADS]
        must = self.must
        self.must = must.copy()
        self.must[chosen] = True
        # a heavy lead pushes out about a rep's worth of leads, one move each
        per_rep = int(np.ceil(np.count_nonzero(self.pair_of >= 0) / max(self.problem.n_reps, 1)))
        try:
            self.run_insertion(deadline, steps=100 + chosen.size * (2 * per_rep + 20))
        finally:
            self.must = must

    # ------------------------------------------------------------------ stage 2: MIP
    def _neighbourhood(self, rings: int, attempt: int) -> NDArray[np.int64]:
        """Leads the MIP stage frees: the trouble and ``rings`` layers of reps around it.

        Ring 0 is the reps in breach and every rep a missing must-assign lead could take (a
        missing lead can only enter by pushing leads out of those reps). The leads held by
        the ring's reps are freed first, then the leads that could move into them; the next
        ring is the reps those freed leads could move to. Above :data:`_NEIGHBOURHOOD_LEADS`,
        the outermost layer that does not fit is a seeded sample (``attempt`` varies it).
        """
        problem = self.problem
        penalty, missing = self.penalties()
        reps = np.zeros(problem.n_reps, dtype=bool)
        reps[penalty > 0] = True
        reps[problem.pair_rep[self._alternatives(missing)[1]]] = True
        freed = np.zeros(problem.n_leads, dtype=bool)
        freed[missing] = True
        layers = [missing]
        assigned = self.pair_of >= 0
        held_rep = problem.pair_rep[np.maximum(self.pair_of, 0)]
        for ring in range(rings + 1):
            # leads held by the ring's reps, then the leads that could move into them
            held = np.flatnonzero(assigned & reps[held_rep] & ~freed)
            freed[held] = True
            spans = [self.rep_pairs[self.rep_pair_start[r]:self.rep_pair_start[r + 1]]
                     for r in np.flatnonzero(reps).tolist()]
            near = np.unique(problem.pair_lead[np.concatenate(spans)]) if spans else np.empty(0, np.int64)
            near = near[~freed[near]]
            freed[near] = True
            layers += [held, near]
            if ring < rings:  # the reps the freed leads could move to
                reps[problem.pair_rep[self._alternatives(np.flatnonzero(freed))[1]]] = True
        chosen = [missing]  # always in, whatever the size
        room = _NEIGHBOURHOOD_LEADS - missing.size
        for layer in layers[1:]:
            if layer.size > room:
                rng = np.random.default_rng([self.request.seed, attempt])
                chosen.append(rng.choice(layer, size=max(room, 0), replace=False))
                break
            chosen.append(layer)
            room -= layer.size
        return np.unique(np.concatenate(chosen)).astype(np.int64)

    def run_mip(self, deadline: float) -> bool | None:
        """Stage 2. True: every rule holds. False: the neighbourhood could not be fixed.
        None: the whole batch was freed and the MIP proved that no assignment keeps every rule.

        On batches above :data:`_EXACT_PAIRS` allowed pairs, a neighbourhood that cannot be
        fixed is widened by a ring of reps (at most :data:`_MIP_ATTEMPTS` tries, each with an
        equal share of the time left) before giving up.
        """
        if self.allowed_pairs.size <= _EXACT_PAIRS:
            return self._solve_neighbourhood(np.arange(self.problem.n_leads, dtype=np.int64), deadline)
        if self._keeps_rules():
            return True
        previous = np.empty(0, np.int64)
        for attempt in range(_MIP_ATTEMPTS):
            free = self._neighbourhood(rings=attempt, attempt=attempt)
            if np.array_equal(free, previous):
                continue
            previous = free
            share = (deadline - time.perf_counter()) / (_MIP_ATTEMPTS - attempt)
            outcome = self._solve_neighbourhood(free, time.perf_counter() + share
                                                if attempt < _MIP_ATTEMPTS - 1 else deadline)
            if outcome is None or outcome:
                return outcome
            if time.perf_counter() > deadline:
                break
        return False

    def _solve_neighbourhood(self, free: NDArray[np.int64], deadline: float) -> bool | None:
        """Re-assign the ``free`` leads by a MIP with every other lead fixed (see :meth:`run_mip`).

        When ``free`` is every lead the search is exact, and None is a proof that no
        assignment keeps every rule.
        """
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import csr_array

        problem, limits = self.problem, self.limits
        whole = free.size == problem.n_leads
        fixed_pairs = self.pair_of.copy()
        fixed_pairs[free] = -1
        held = fixed_pairs[fixed_pairs >= 0]
        held_rep = problem.pair_rep[held]
        n_reps = problem.n_reps
        load0 = np.bincount(held_rep, weights=problem.pair_effort[held], minlength=n_reps).astype(np.float64)
        count0 = np.bincount(held_rep, minlength=n_reps).astype(np.float64)
        value0 = np.bincount(held_rep, weights=problem.pair_value[held], minlength=n_reps).astype(np.float64)
        total0 = float(value0.sum())

        leads, pairs = self._alternatives(free)
        n_x = pairs.size
        if n_x == 0:  # nothing to choose: the fixed part alone keeps the rules or not
            saved = self.pair_of
            self.pair_of = fixed_pairs
            self._recount()
            if self._keeps_rules():
                return True
            self.pair_of = saved
            self._recount()
            return None if whole else False
        has_total = limits.fair_high is not None
        n_vars = n_x + int(has_total)
        rep = problem.pair_rep[pairs]
        effort = problem.pair_effort[pairs]
        value = problem.value[leads]
        column = np.arange(n_x)
        rows: list[NDArray[np.int64]] = []
        cols: list[NDArray[np.int64]] = []
        data: list[NDArray[np.float64]] = []
        lower: list[NDArray[np.float64]] = []
        upper: list[NDArray[np.float64]] = []
        n_rows = 0

        def add(row: NDArray[np.int64], col: NDArray[np.int64], coefficient: NDArray[np.float64],
                low: NDArray[np.float64], high: NDArray[np.float64]) -> None:
            nonlocal n_rows
            rows.append(row + n_rows)
            cols.append(col)
            data.append(coefficient)
            lower.append(low)
            upper.append(high)
            n_rows += low.size

        row_of_lead = np.searchsorted(free, leads)
        add(row_of_lead, column, np.ones(n_x), self.must[free].astype(np.float64), np.ones(free.size))
        reps = np.arange(n_reps)
        # every rep gets its rows, even one without free pairs: its fixed part must fit too
        add(rep, column, effort, np.full(n_reps, -np.inf), limits.capacity - load0)
        add(rep, column, np.ones(n_x), limits.count_lower - count0, limits.count_upper - count0)
        add(rep, column, value, limits.value_lower - value0, limits.value_upper - value0)
        if has_total:
            assert limits.fair_high is not None and limits.fair_low is not None
            total_column = np.full(n_reps, n_x)
            add(np.concatenate((rep, reps)), np.concatenate((column, total_column)),
                np.concatenate((value, -limits.fair_high)), np.full(n_reps, -np.inf), -value0)
            add(np.concatenate((rep, reps)), np.concatenate((column, total_column)),
                np.concatenate((value, -limits.fair_low)), -value0, np.full(n_reps, np.inf))
            add(np.zeros(n_x + 1, np.int64), np.append(column, n_x), np.append(value, -1.0),
                np.array([-total0]), np.array([-total0]))
        matrix = csr_array((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_rows, n_vars))
        low_all, high_all = np.concatenate(lower), np.concatenate(upper)
        # keep integral answers strictly inside the bands, by far less than verify's slack
        tighten = 1e-10 * np.maximum(np.abs(np.where(np.isfinite(high_all), high_all, 0.0)), 1.0)
        tighten[high_all - low_all <= 4 * tighten] = 0.0  # equalities (the total row) stay as they are
        objective = np.zeros(n_vars)
        scale = float(np.abs(self.priority[pairs]).sum()) + 1.0
        objective[:n_x] = self.priority[pairs] / scale
        if self.lexicographic:
            objective[:n_x] += 1.0  # one more lead outweighs any change of (scaled) score
        bounds = Bounds(np.zeros(n_vars), np.append(np.ones(n_x), [np.inf] * int(has_total)))
        integrality = np.append(np.ones(n_x), [0] * int(has_total))
        seconds = max(deadline - time.perf_counter(), 0.05)
        answer = milp(-objective, constraints=[LinearConstraint(matrix, low_all + tighten, high_all - tighten)],
                      bounds=bounds, integrality=integrality,
                      options={"time_limit": seconds, "mip_rel_gap": 1e-7, "disp": False})
        if answer.x is None:
            if whole and answer.status == 2:
                answer = milp(-objective, constraints=[LinearConstraint(matrix, low_all, high_all)],
                              bounds=bounds, integrality=integrality,
                              options={"time_limit": seconds, "disp": False})
                if answer.x is None and answer.status == 2:
                    return None
                if answer.x is None:
                    return False
            else:
                return False
        chosen = pairs[np.asarray(answer.x[:n_x]) > 0.5]
        held_before = int(np.count_nonzero(self.pair_of[free] >= 0))
        if answer.status != 0 and chosen.size < _MIP_LEAST_KEPT * held_before:
            return False  # a time-limited answer that drops most of the freed leads is no repair
        saved = self.pair_of.copy()
        self.pair_of = fixed_pairs
        self.pair_of[problem.pair_lead[chosen]] = chosen
        self._recount()
        penalty, missing = self.penalties()
        if penalty.max(initial=0.0) <= 0 and missing.size == 0:
            return True
        if self.run_moves(deadline + 1.0):  # float noise on a tight band: a move or two fixes it
            return True
        self.pair_of = saved
        self._recount()
        return False

    # ------------------------------------------------------------------ stage 3: fill
    def fill(self) -> None:
        """Add unassigned leads where every rule still holds, best pairs first."""
        problem = self.problem
        unassigned = np.flatnonzero(self.pair_of < 0)
        if unassigned.size == 0:
            return
        leads, pairs = self._alternatives(unassigned)
        if not self.lexicographic:
            keep = problem.pair_score[pairs] > 0
            leads, pairs = leads[keep], pairs[keep]
        if pairs.size == 0:
            return
        order = np.lexsort((pairs, -self.priority[pairs]))
        leads, pairs = leads[order], pairs[order]
        added: list[int] = []
        capacity, count_upper, effort = self.limits.capacity, self.limits.count_upper, problem.pair_effort
        fair_sum = self._fair_sum()
        for lead, pair in zip(leads.tolist(), pairs.tolist(), strict=True):
            rep = problem.pair_rep[pair]
            # the state keeps every rule, so every penalty term is zero and a rep without room
            # (the common case: on a full team, nearly every candidate) would add penalty
            if self.pair_of[lead] >= 0 or self.load[rep] + effort[pair] > capacity[rep] \
                    or self.count[rep] + 1 > count_upper[rep]:
                continue
            # a move that adds no penalty keeps every rule too
            delta, _ = self._score_moves(np.array([lead]), np.array([pair]), fair_sum)
            if delta[0] <= 0:
                self._apply(lead, pair)
                added.append(lead)
                fair_sum = self._fair_sum()
        # the hinge sum reads the slack at the old total; undo the (rare) add it let slip
        while added and not self._keeps_rules():
            self._apply(added.pop(), -1)

    def improve(self, limit: int) -> None:
        """Move leads to better pairs where every rule still holds, largest gain first.

        At most ``limit`` candidate moves are tried, each scored again in the current state;
        any that slipped through the hinge sum's slack reading is undone at the end.
        """
        assigned = np.flatnonzero(self.pair_of >= 0)
        if assigned.size == 0 or limit <= 0:
            return
        leads, pairs = self._alternatives(assigned)
        gain = self.priority[pairs] - self.priority[self.pair_of[leads]]
        # a cheap first filter: the new rep must have room for the lead as things stand
        rep = self.problem.pair_rep[pairs]
        room = (self.load[rep] + self.problem.pair_effort[pairs] <= self.limits.capacity[rep]) & \
            (self.count[rep] + 1 <= self.limits.count_upper[rep])
        better = (gain > 0) & room
        leads, pairs, gain = leads[better], pairs[better], gain[better]
        order = np.lexsort((pairs, -gain))[:limit]
        done: list[tuple[int, int]] = []
        for lead, pair in zip(leads[order].tolist(), pairs[order].tolist(), strict=True):
            old = int(self.pair_of[lead])
            if self.priority[pair] <= self.priority[old]:
                continue
            delta, _ = self._score_moves(np.array([lead]), np.array([pair]), None)
            if delta[0] <= 0:
                self._apply(lead, pair)
                done.append((lead, old))
        while done and not self._keeps_rules():
            lead, old = done.pop()
            self._apply(lead, old)

    def _keeps_rules(self) -> bool:
        penalty, missing = self.penalties()
        return bool(penalty.max(initial=0.0) <= 0 and missing.size == 0)


def repair(problem: Problem, rules: Rules, rep_of: NDArray[np.int64], request: SolveRequest,
           priority: NDArray[np.float64] | None = None) -> NDArray[np.int64] | None:
    r"""Turn an assignment that may break rules into one that keeps every rule in ``rules``.

    Capacity (in effort units, per lead or per pair), count and value bands (both sides),
    every :class:`~fairassign.FairShare` (:math:`l_r V \le V_r \le h_r V` with :math:`V` the
    total assigned value), must-assign leads and ``rules.allowed`` are restored, changing as
    little score as it can; then unassigned leads are added where the rules allow (see the
    module docstring for the stages).

    Parameters
    ----------
    problem : Problem
    rules : Rules
    rep_of : int64 (n_leads,)
        The assignment to repair (-1 unassigned). Pairs that are not allowed are unassigned first.
    request : SolveRequest
        ``objective`` decides whether leads are added for count (lexicographic) or only for
        positive score; ``time_limit`` caps the MIP stage; ``seed`` picks the neighbourhood
        of the MIP stage on large batches.
    priority : float64 (n_pairs,), optional
        Score used to choose moves (e.g. LP values or dual-adjusted scores); default the
        pair scores.

    Returns
    -------
    int64 (n_leads,) or None
        A rule-keeping assignment, or None when none was found. On batches of up to
        4000 allowed pairs, None means that no rule-keeping assignment exists.

    Examples
    --------
    >>> import numpy as np
    >>> import fairassign as fa
    >>> from fairassign.rules import bind
    >>> from fairassign.solvers.base import SolveRequest
    >>> problem = fa.Problem(score=[[3.0, 1.0], [2.0, 1.5]], capacity=[1, 1])
    >>> rules = bind(problem, [fa.AssignAll()])
    >>> repair(problem, rules, np.array([0, 0]), SolveRequest()).tolist()
    [0, 1]
    """
    return repair_with_proof(problem, rules, rep_of, request, priority)[0]


def _descend(state: _Repairer, deadline: float) -> bool:
    """Stage 1: the fast descent, then (from the same start, with half the time left) the careful one."""
    start = state.pair_of.copy()
    if state.run_moves(deadline):
        return True
    state.pair_of = start
    state._recount()
    return state.run_moves(min(deadline, time.perf_counter() + (deadline - time.perf_counter()) / 2), careful=True)


def repair_with_proof(problem: Problem, rules: Rules, rep_of: NDArray[np.int64], request: SolveRequest,
                      priority: NDArray[np.float64] | None = None) -> tuple[NDArray[np.int64] | None, bool]:
    """:func:`repair`, and whether a ``None`` answer is a proof that no rule-keeping assignment exists."""
    started = time.perf_counter()
    if priority is not None and np.shape(priority) != (problem.n_pairs,):
        raise ValidationError(f"priority must have shape ({problem.n_pairs},), got {np.shape(priority)}")
    budget = _DEFAULT_MIP_SECONDS if request.time_limit is None else max(request.time_limit, 0.1)
    deadline = started + budget
    if rules.conflicts:  # contradictory rules (a lead pinned twice ...): nothing can keep them
        return None, True
    state = _Repairer(problem, rules, rep_of, request, priority)
    if np.any(state.must & (np.diff(state.allowed_lead_start) == 0)):
        return None, True  # a lead that must be assigned has no pair it could keep
    if not _descend(state, deadline) and not state.run_insertion(
            min(deadline, time.perf_counter() + (deadline - time.perf_counter()) / 3)):
        outcome = state.run_mip(deadline)
        if outcome is None:
            return None, True
        if not outcome:
            return None, False
    state.fill()
    if state.lexicographic:
        state.place_more(min(deadline, time.perf_counter() + (deadline - time.perf_counter()) / 3))
    state.improve(limit=4 * problem.n_reps + 200)
    return state.rep_of(), False
