r"""A Lagrangian upper bound on the total score, cheap enough for 10M candidate pairs.

Notation: :math:`x_p \in \{0, 1\}` chooses allowed pair *p* = (lead *i(p)*, rep *r(p)*) with
score :math:`s_p`, effort :math:`e_p` and lead value :math:`v_p`; :math:`E_r, C_r, V_r` are
rep r's effort, lead count and value, :math:`V = \sum_r V_r`, :math:`K = \sum_p x_p`.
The lead rows (:math:`\sum_{p \in i} x_p \le 1`, ``= 1`` for a lead that must be assigned)
are kept; every other row is moved into the objective with a multiplier :math:`\ge 0`:

=================  ==============================  ==========================================
row                multiplier                      relaxed term (>= 0 on a feasible x)
=================  ==============================  ==========================================
capacity           :math:`\lambda_r`               :math:`\lambda_r (c_r - E_r)`
count upper        :math:`\nu_r`                   :math:`\nu_r (u_r - C_r)`
count lower        :math:`\delta_r`                :math:`\delta_r (C_r - \ell_r)`
value upper        :math:`\gamma_r`                :math:`\gamma_r (U_r - V_r)`
value lower        :math:`\eta_r`                  :math:`\eta_r (V_r - L_r)`
fair share high    :math:`\alpha_{fr}`             :math:`\alpha_{fr} (h_{fr} V - V_r)`
fair share low     :math:`\beta_{fr}`              :math:`\beta_{fr} (V_r - l_{fr} V)`
at least k leads   :math:`\mu`                     :math:`\mu (K - k)`
=================  ==============================  ==========================================

Collecting the terms by pair gives the *adjusted score*

.. math::

    a_p = s_p + \mu - e_p \lambda_r + \delta_r - \nu_r
          + v_p \Big(\eta_r - \gamma_r - \sum_f \alpha_{fr} + \sum_f \beta_{fr}
          + \sum_{f, r'} (\alpha_{fr'} h_{fr'} - \beta_{fr'} l_{fr'})\Big), \quad r = r(p),

and the Lagrangian

.. math::

    L = \sum_r (c_r \lambda_r + u_r \nu_r - \ell_r \delta_r + U_r \gamma_r - L_r \eta_r) - \mu k
        + \sum_{i \text{ free}} \max\big(0, \max_{p \in i} a_p\big)
        + \sum_{i \text{ must}} \max_{p \in i} a_p .

**Validity.** Let *x* keep every rule (or only those relaxed above) and assign at least *k*
leads. Each relaxed term is a multiplier :math:`\ge 0` times a quantity :math:`\ge 0`, so

.. math::

    \sum_p s_p x_p \le \sum_p s_p x_p + \text{(relaxed terms)}
    = \text{const} + \sum_i \sum_{p \in i} a_p x_p \le L,

because lead *i* chooses at most one pair (exactly one when it must be assigned), so its
inner sum is at most :math:`\max(0, \max_p a_p)` (:math:`\max_p a_p` when it must). The same
holds for fractional *x* in the LP relaxation, so :math:`L \ge` the LP value. Rows that are
*not* relaxed but dropped (a multiplier held at 0) only weaken the bound, never break it.
A lead that must be assigned but has no allowed pair makes :math:`L = -\infty`: no
assignment exists.

Minimising *L* over the multipliers (a convex, piecewise linear function) uses projected
subgradient steps with Polyak's step length; the subgradient is the slack of each relaxed
row at the lead-wise maximiser. Each evaluation is a handful of vectorised passes over the
allowed pairs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from ..problem import Problem
from ..rules import Rules

__all__ = ["PairView", "Multipliers", "Evaluation", "DualBound", "pair_view", "sample_view", "pairs_of_segments",
           "adjusted_scores", "evaluate", "dual_bound", "minimise"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class PairView:
    """The allowed candidate pairs of a batch, grouped by lead, with the rows that couple them.

    Attributes
    ----------
    pair : int64 (m,)
        Candidate-pair index (into the :class:`Problem` arrays) of each allowed pair.
    lead, rep : int64 (m,)
    score, effort, value : float64 (m,)
    segment_start : int64 (n_segments + 1,)
        Allowed pairs of the *k*-th lead that has any are ``segment_start[k]:segment_start[k+1]``.
    segment_lead : int64 (n_segments,)
    segment_must : bool (n_segments,)
    stranded : int
        Leads that must be assigned but have no allowed pair.
    capacity : float64 (n_reps,)
        Effort limit per rep; with unit effort the count cap is folded in (``min(c, u)``).
    count_upper : float64 (n_reps,)
        Count cap as its own row (inf with unit effort, where it is folded into capacity).
    count_lower, value_lower, value_upper : float64 (n_reps,)
    fair_low, fair_high : tuple of float64 (n_reps,)
        Per :class:`FairShare` rule: :math:`l_{fr}` and :math:`h_{fr}`.
    unit_effort : bool
    """

    pair: IntArray
    lead: IntArray
    rep: IntArray
    score: FloatArray
    effort: FloatArray
    value: FloatArray
    segment_start: IntArray
    segment_lead: IntArray
    segment_must: NDArray[np.bool_]
    stranded: int
    n_leads: int
    n_reps: int
    capacity: FloatArray
    count_upper: FloatArray
    count_lower: FloatArray
    value_lower: FloatArray
    value_upper: FloatArray
    fair_low: tuple[FloatArray, ...]
    fair_high: tuple[FloatArray, ...]
    unit_effort: bool
    uniform_degree: bool = False

    @property
    def size(self) -> int:
        return int(self.pair.size)

    @property
    def segment_length(self) -> IntArray:
        return np.diff(self.segment_start)

    @property
    def has_side_rows(self) -> bool:
        """True when a row other than capacity / count cap / count of leads couples the pairs."""
        return bool(self.fair_low or np.any(self.count_lower > 0) or np.any(self.value_lower > 0)
                    or np.any(np.isfinite(self.value_upper)))


def pair_view(problem: Problem, rules: Rules) -> PairView:
    """Build the :class:`PairView` of the pairs ``rules`` allows."""
    if rules.allowed.all():  # the usual case at scale: share the problem's arrays, copy nothing
        pair = np.arange(problem.n_pairs, dtype=np.int64)
        lead, rep, score, effort = problem.pair_lead, problem.pair_rep, problem.pair_score, problem.pair_effort
    else:
        pair = np.flatnonzero(rules.allowed).astype(np.int64)
        lead, rep = np.take(problem.pair_lead, pair), np.take(problem.pair_rep, pair)
        score, effort = np.take(problem.pair_score, pair), np.take(problem.pair_effort, pair)
    degree = np.bincount(lead, minlength=problem.n_leads)
    segment_lead = np.flatnonzero(degree).astype(np.int64)
    segment_start = np.concatenate(([0], np.cumsum(degree[segment_lead]))).astype(np.int64)
    unit = problem.effort_kind == "unit"
    capacity = np.minimum(problem.capacity, rules.count_upper) if unit else problem.capacity.copy()
    count_upper = np.full(problem.n_reps, np.inf) if unit else rules.count_upper.copy()
    return PairView(
        pair=pair,
        lead=lead,
        rep=rep,
        score=score,
        effort=effort,
        value=np.take(problem.value, lead),
        segment_start=segment_start,
        segment_lead=segment_lead,
        segment_must=rules.must_assign[segment_lead].copy(),
        stranded=int(np.count_nonzero(rules.must_assign & (degree == 0))),
        n_leads=problem.n_leads,
        n_reps=problem.n_reps,
        capacity=capacity,
        count_upper=count_upper,
        count_lower=rules.count_lower.copy(),
        value_lower=rules.value_lower.copy(),
        value_upper=rules.value_upper.copy(),
        fair_low=tuple(fair.low for fair in rules.fair),
        fair_high=tuple(fair.high for fair in rules.fair),
        unit_effort=unit,
        uniform_degree=bool(segment_lead.size and np.all(degree[segment_lead] == degree[segment_lead[0]])),
    )


def sample_view(view: PairView, fraction: float, seed: int) -> PairView:
    """A random share of the leads, with every per-rep limit scaled by ``fraction``.

    Prices learned on it approximate the full batch's prices at a fraction of the cost; a
    bound is only ever computed on the full view.
    """
    n_segments = view.segment_lead.size
    keep = np.sort(np.random.default_rng(seed).choice(n_segments, size=max(1, int(fraction * n_segments)),
                                                       replace=False))
    lengths = view.segment_length[keep]
    pairs = pairs_of_segments(view, keep)
    fraction = keep.size / max(n_segments, 1)
    return replace(
        view,
        pair=view.pair[pairs], lead=view.lead[pairs], rep=view.rep[pairs], score=view.score[pairs],
        effort=view.effort[pairs], value=view.value[pairs],
        segment_start=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        segment_lead=view.segment_lead[keep], segment_must=view.segment_must[keep],
        n_leads=int(keep.size),
        capacity=view.capacity * fraction, count_upper=view.count_upper * fraction,
        count_lower=view.count_lower * fraction, value_lower=view.value_lower * fraction,
        value_upper=view.value_upper * fraction,
    )


def pairs_of_segments(view: PairView, segments: IntArray) -> IntArray:
    """View indices of every allowed pair of the given lead segments (in the given order)."""
    starts = view.segment_start[segments]
    lengths = view.segment_start[segments + 1] - starts
    total = int(lengths.sum())
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


@dataclass(frozen=True)
class Multipliers:
    r"""Non-negative prices on the relaxed rows (see the module docstring for the symbols).

    ``capacity`` is :math:`\lambda`, ``count_upper`` :math:`\nu`, ``count_lower``
    :math:`\delta`, ``value_upper`` :math:`\gamma`, ``value_lower`` :math:`\eta`,
    ``fair_high`` / ``fair_low`` :math:`\alpha_f` / :math:`\beta_f`, ``count`` :math:`\mu`.
    """

    capacity: FloatArray
    count_upper: FloatArray
    count_lower: FloatArray
    value_upper: FloatArray
    value_lower: FloatArray
    fair_high: tuple[FloatArray, ...]
    fair_low: tuple[FloatArray, ...]
    count: float = 0.0

    @classmethod
    def zeros(cls, view: PairView) -> Multipliers:
        n = view.n_reps
        return cls(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
                   tuple(np.zeros(n) for _ in view.fair_high), tuple(np.zeros(n) for _ in view.fair_low))

    def _arrays(self) -> list[FloatArray]:
        return [self.capacity, self.count_upper, self.count_lower, self.value_upper, self.value_lower,
                *self.fair_high, *self.fair_low]


def _rhs_dot(limit: FloatArray, price: FloatArray) -> float:
    """``sum(limit * price)`` over the rows with a finite limit (a price on an infinite row is ignored)."""
    finite = np.isfinite(limit)
    return float(np.dot(limit[finite], price[finite]))


def _clean(view: PairView, multipliers: Multipliers) -> Multipliers:
    """Project onto the valid set: >= 0, and 0 on rows that are absent (infinite or zero limit)."""
    def keep(price: FloatArray, present: NDArray[np.bool_]) -> FloatArray:
        return np.where(present, np.maximum(price, 0.0), 0.0)

    return Multipliers(
        capacity=keep(multipliers.capacity, np.isfinite(view.capacity)),
        count_upper=keep(multipliers.count_upper, np.isfinite(view.count_upper)),
        count_lower=keep(multipliers.count_lower, view.count_lower > 0),
        value_upper=keep(multipliers.value_upper, np.isfinite(view.value_upper)),
        value_lower=keep(multipliers.value_lower, view.value_lower > 0),
        fair_high=tuple(keep(price, np.ones(view.n_reps, bool)) for price in multipliers.fair_high),
        fair_low=tuple(keep(price, np.ones(view.n_reps, bool)) for price in multipliers.fair_low),
        count=max(float(multipliers.count), 0.0),
    )


def adjusted_scores(view: PairView, multipliers: Multipliers) -> FloatArray:
    r"""The adjusted score :math:`a_p` of every allowed pair (module docstring)."""
    m = multipliers
    adjusted = view.score + m.count if m.count else view.score.copy()
    if np.any(m.capacity):
        price = np.take(m.capacity, view.rep)
        adjusted -= price if view.unit_effort else view.effort * price
    per_rep_count = m.count_lower - m.count_upper
    if np.any(per_rep_count):
        adjusted += np.take(per_rep_count, view.rep)
    per_rep_value = m.value_lower - m.value_upper
    shift = 0.0
    for high, low, alpha, beta in zip(view.fair_high, view.fair_low, m.fair_high, m.fair_low, strict=True):
        per_rep_value = per_rep_value - alpha + beta
        shift += float(np.dot(alpha, high) - np.dot(beta, low))
    if np.any(per_rep_value) or shift:
        adjusted += view.value * (np.take(per_rep_value, view.rep) + shift)
    return adjusted


def _constant(view: PairView, m: Multipliers, min_assigned: int) -> float:
    return (_rhs_dot(view.capacity, m.capacity) + _rhs_dot(view.count_upper, m.count_upper)
            - float(np.dot(view.count_lower, m.count_lower)) + _rhs_dot(view.value_upper, m.value_upper)
            - float(np.dot(view.value_lower, m.value_lower)) - m.count * min_assigned)


def segment_best(view: PairView, adjusted: FloatArray) -> tuple[FloatArray, IntArray]:
    """Per lead segment: the largest adjusted score and the first allowed pair (view index) reaching it."""
    n_segments = view.segment_lead.size
    if view.size == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    degree = view.size // n_segments
    if degree * n_segments == view.size and view.uniform_degree:  # every lead has as many pairs: a 2-D view
        table = adjusted.reshape(n_segments, degree)
        column = table.argmax(axis=1)  # first maximum: the lowest pair index on ties
        first = np.arange(n_segments, dtype=np.int64) * degree + column
        return np.take(adjusted, first), first
    best = np.maximum.reduceat(adjusted, view.segment_start[:-1])
    hit = np.flatnonzero(adjusted == np.repeat(best, view.segment_length))
    # ties: keep the first hit of each lead (the lowest pair index)
    first_hit = np.ones(hit.size, bool)
    first_hit[1:] = np.take(view.lead, hit[1:]) != np.take(view.lead, hit[:-1])
    return best, hit[first_hit].astype(np.int64)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The Lagrangian at one point: its value, and the lead-wise maximiser (view indices)."""

    value: float
    chosen: IntArray
    multipliers: Multipliers


def evaluate(view: PairView, multipliers: Multipliers, min_assigned: int = 0) -> Evaluation:
    """Value of the Lagrangian :math:`L` at ``multipliers`` (projected first) and its maximiser.

    ``min_assigned`` is *k*, the count the bound is conditioned on; with ``multipliers.count``
    at 0 it has no effect.
    """
    m = _clean(view, multipliers)
    if view.stranded:
        return Evaluation(-np.inf, np.zeros(0, np.int64), m)
    adjusted = adjusted_scores(view, m)
    best, first = segment_best(view, adjusted)
    take = view.segment_must | (best > 0)
    value = _constant(view, m, min_assigned) + float(np.where(take, best, 0.0).sum())
    return Evaluation(value, first[take], m)


def _subgradient(view: PairView, m: Multipliers, chosen: IntArray, min_assigned: int) -> Multipliers:
    """Gradient of L (to be *descended*) at the maximiser ``chosen``: the slack of each relaxed row."""
    n = view.n_reps
    rep = np.take(view.rep, chosen)
    count = np.bincount(rep, minlength=n).astype(np.float64)
    effort = count if view.unit_effort else np.bincount(rep, weights=view.effort[chosen], minlength=n).astype(
        np.float64)
    value = np.bincount(rep, weights=view.value[chosen], minlength=n).astype(np.float64)
    total = float(value.sum())

    def slack(limit: FloatArray, amount: FloatArray) -> FloatArray:
        return np.where(np.isfinite(limit), limit - amount, 0.0)

    return Multipliers(
        capacity=slack(view.capacity, effort),
        count_upper=slack(view.count_upper, count),
        count_lower=count - view.count_lower,
        value_upper=slack(view.value_upper, value),
        value_lower=value - view.value_lower,
        fair_high=tuple(high * total - value for high in view.fair_high),
        fair_low=tuple(value - low * total for low in view.fair_low),
        count=float(chosen.size - min_assigned),
    )


def _step(view: PairView, m: Multipliers, gradient: Multipliers, length: float) -> Multipliers:
    def move(price: FloatArray, g: FloatArray) -> FloatArray:
        return price - length * g

    return _clean(view, Multipliers(
        capacity=move(m.capacity, gradient.capacity),
        count_upper=move(m.count_upper, gradient.count_upper),
        count_lower=move(m.count_lower, gradient.count_lower),
        value_upper=move(m.value_upper, gradient.value_upper),
        value_lower=move(m.value_lower, gradient.value_lower),
        fair_high=tuple(move(p, g) for p, g in zip(m.fair_high, gradient.fair_high, strict=True)),
        fair_low=tuple(move(p, g) for p, g in zip(m.fair_low, gradient.fair_low, strict=True)),
        count=m.count - length * gradient.count,
    ))


def _norm2(view: PairView, m: Multipliers, g: Multipliers, count_free: bool) -> float:
    """Squared norm of the *projected* direction (components pinned at 0 that would go negative drop out)."""
    total = 0.0
    for price, grad in zip(m._arrays(), g._arrays(), strict=True):
        active = (price > 0) | (grad < 0)
        total += float(np.dot(grad[active], grad[active]))
    if count_free and (m.count > 0 or g.count < 0):
        total += g.count * g.count
    return total


@dataclass(frozen=True, eq=False)
class DualBound:
    """The lowest Lagrangian value found and where: ``value`` is a valid upper bound."""

    value: float
    multipliers: Multipliers
    evaluations: int
    chosen: IntArray


def dual_bound(problem: Problem, rules: Rules, *, min_assigned: int = 0, start: Multipliers | None = None,
               target: float | None = None, iterations: int = 30, time_limit: float | None = None,
               relax_count: bool = True) -> DualBound:
    r"""Minimise the Lagrangian :math:`L` by projected subgradient steps; return the best value.

    Parameters
    ----------
    problem, rules
        The batch; every rule in ``rules`` is relaxed (see the module docstring).
    min_assigned : int
        *k*: the bound holds for assignments with at least this many leads (0: for all).
    start : Multipliers, optional
        Prices to start from (e.g. those a heuristic learned); zero otherwise.
    target : float, optional
        The score of a known rule-keeping assignment (a lower bound on the minimum of *L*),
        used for Polyak's step length. Without one, a target a few percent under the best
        value so far is guessed and tightened as the steps stall.
    iterations : int
        Evaluations of *L* at most (each one pass over the allowed pairs).
    time_limit : float, optional
        Seconds; stop stepping once spent (at least one evaluation is always made).
    relax_count : bool
        Use the multiplier :math:`\mu` on :math:`K \ge k`; without it :math:`\mu = 0`.

    Returns
    -------
    DualBound
        ``value`` is an upper bound on the total score of every rule-keeping assignment that
        assigns at least ``min_assigned`` leads (``-inf`` when a lead that must be assigned has
        no allowed pair).

    Examples
    --------
    >>> import fairassign as fa
    >>> from fairassign.rules import bind
    >>> problem = fa.Problem(score=[[3.0, 1.0], [2.0, 1.5]], capacity=[1, 1])
    >>> bound = dual_bound(problem, bind(problem), iterations=20, target=4.5)
    >>> bool(4.5 <= bound.value < 4.5 + 1e-6)
    True
    """
    return minimise(pair_view(problem, rules), min_assigned=min_assigned, start=start, target=target,
                    iterations=iterations, time_limit=time_limit, relax_count=relax_count)


def minimise(view: PairView, *, min_assigned: int = 0, start: Multipliers | None = None,
             target: float | None = None, iterations: int = 30, time_limit: float | None = None,
             relax_count: bool = True) -> DualBound:
    """:func:`dual_bound` on a prepared :class:`PairView` (the greedy reuses one view throughout)."""
    started = time.perf_counter()
    current = _clean(view, Multipliers.zeros(view) if start is None else start)
    if not relax_count:
        current = replace(current, count=0.0)
    point = evaluate(view, current, min_assigned)
    best = point
    evaluations = 1
    if not np.isfinite(point.value):
        return DualBound(point.value, point.multipliers, evaluations, point.chosen)
    scale = max(float(np.abs(view.score).sum()) / max(view.n_leads, 1), 1e-12)
    guess = max(0.02 * abs(point.value), scale)  # guessed distance to the minimum, when no target
    theta, stalled = 1.0, 0
    while evaluations < iterations:
        if time_limit is not None and time.perf_counter() - started > time_limit:
            break
        gradient = _subgradient(view, point.multipliers, point.chosen, min_assigned)
        if not relax_count:
            gradient = replace(gradient, count=0.0)
        norm2 = _norm2(view, point.multipliers, gradient, relax_count)
        if norm2 <= 0:  # the maximiser keeps every relaxed row with complementary slackness
            break
        goal = target if target is not None and target < best.value else best.value - guess
        length = theta * (point.value - goal) / norm2
        if length <= 0:
            length = theta * guess / norm2
        point = evaluate(view, _step(view, point.multipliers, gradient, length), min_assigned)
        evaluations += 1
        if point.value < best.value - 1e-12 * max(abs(best.value), 1.0):
            best, stalled = point, 0
        else:
            stalled += 1
            if stalled >= 2:  # Polyak steps overshoot: shorten them and go back to the best point
                theta, stalled, guess = theta * 0.5, 0, guess * 0.5
                point = best
    return DualBound(best.value, best.multipliers, evaluations, best.chosen)
