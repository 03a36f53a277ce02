r"""Backend ``"cpsat"``: the whole batch as one OR-Tools CP-SAT model, exact for every rule.

The model, over the allowed candidate pairs *p* (lead :math:`i_p`, rep :math:`r_p`):

* a Boolean :math:`x_p` per pair;
* lead *i*: :math:`\sum_{p \in i} x_p \le 1` (``= 1`` when it must be assigned);
* capacity: :math:`\sum_{p \in r} \lceil e_p S_r \rceil x_p \le \lfloor c_r S_r \rfloor`;
* count band: :math:`\lceil \ell_r \rceil \le \sum_{p \in r} x_p \le \lfloor u_r \rfloor`;
* value band: :math:`\sum_{p \in r} \lceil v_p S_v \rceil x_p \le \lfloor u_r S_v \rfloor` and
  :math:`\sum_{p \in r} \lfloor v_p S_v \rfloor x_p \ge \lceil \ell_r S_v \rceil`;
* fair share, through integers per rep :math:`V_r^\uparrow = \sum_{p \in r} \lceil v_p S_v \rceil x_p`
  (and :math:`V_r^\downarrow` with floors) and totals :math:`V^\uparrow = \sum_r V_r^\uparrow`,
  :math:`V^\downarrow`, so that no row spans every pair:
  :math:`a_r V_r^\uparrow \le b_r V^\downarrow` with :math:`b_r / a_r \le h_r`, and
  :math:`a'_r V_r^\downarrow \ge b'_r V^\uparrow` with :math:`b'_r / a'_r \ge l_r`
  (one variable each, not two, when the values are exact).

CP-SAT needs integer coefficients, so floats are scaled explicitly and rounded
**conservatively**: effort up, capacity down, value up where a rep's value is bounded above
and down where it is bounded below, fair shares inward. Every assignment that keeps the
integer model therefore keeps the rules as the user wrote them. Data that is whole after one
common denominator is modelled exactly: integers (values also divided by their gcd), and
decimals or simple fractions, where a float within :math:`10^{-15}` (relative) of a fraction
with a denominator up to :math:`2^{24}` is taken as that fraction (0.7 is 7/10, a share
``1.1 * w_r / W`` is what it says); the difference is below double precision and far below
the verifier's tolerance. Other data (heavy-tailed float values, say) is scaled by powers of
two, which keeps :math:`x S` exact in floating point, and rounded as above. The rounding may
then cut off assignments that keep a rule within a tiny margin of its bound (the notes give
the margin); the result is then at best FEASIBLE, and ``bound`` comes from the LP relaxation
of the float model (:func:`fairassign.linear.solve_lp`) instead of from CP-SAT, whose bound
only covers the tightened rules.

Scores are modelled exactly in the same cases; others are scaled by :math:`S_s = 2^k` and
rounded to the nearest integer, at most :math:`1/2` per pair, so the objective of any
assignment is known within :math:`n / (2 S_s)` (*n* the leads that have an allowed pair).
That error is added to the bound mapped back from CP-SAT, so ``bound`` stays above the true
float optimum; the notes report :math:`S_s` and the error.

Objectives. ``"score"``: maximise :math:`\sum_p s_p x_p`. ``"lexicographic"``: a single
objective :math:`M \sum_{p \in \text{optional}} x_p + \sum_p s_p x_p` with
:math:`M = \max \text{score} - \min \text{score} + 1` over the integer scores, so that one more
lead outweighs any score difference (leads that must be assigned count the same in every
feasible assignment, so they carry no :math:`M`). The scales are chosen so that every row and
the objective sum stay below :math:`2^{61}` in absolute value (int64 has :math:`2^{63}`).
With this single objective CP-SAT's bound :math:`B` gives the lexicographic bound directly:
an assignment with at least *k* leads scores at most :math:`B - M k`.

Determinism. CP-SAT's parallel search is not deterministic by default: its workers share
bounds and solutions as they go. Two settings make it deterministic: one worker (a sequential
loop), or ``interleave_search`` with several workers (subsolvers run in batches and share only
between batches; ``sat_parameters.proto`` calls it experimental). Measured on this 2-core
machine (load average ~8 from other jobs), proving optimality on 30 leads x 5 reps with
FairShare(0.3) took 1.6 s with one worker, 2.2 s with two free workers and 14 s with two
interleaved workers; on 1k leads x 50 reps with FairShare(0.1), warm-started, neither setting
improved the start measurably in 30 s. So this backend uses **one worker** (:data:`_WORKERS`;
above 1, :func:`_parameters` turns on ``interleave_search``), ``random_seed = seed``, and
presolve probing off (it took 6 s of a 10 s budget on 1k x 50 and left none for the hint). A
solve that ends with a proof (OPTIMAL, INFEASIBLE) is reproducible; one stopped by
``time_limit`` (a wall clock) returns what it had reached when the clock ran out, which
depends on the machine's speed and load.

Examples
--------
>>> import fairassign as fa
>>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1])
>>> result = fa.solve(problem, [fa.AssignAll()], solver="cpsat")
>>> result.status.name, result.rep_of.tolist(), result.objective
('OPTIMAL', [0, 0, 1], 11.5)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..problem import Problem
from ..result import Status
from ..rules import Rules
from .base import Solver, SolveRequest, SolverOutput, register

__all__ = ["CpSatSolver"]

#: scaled total of any one rep's effort row, and of all lead value, when data is fractional
_EFFORT_BUDGET = 2.0**40
_VALUE_BUDGET = 2.0**36
#: integer values are kept exact up to this total (after dividing by their gcd)
_INTEGER_VALUE_LIMIT = 2.0**40
#: scaled sum over leads of the largest |score|; lowered when the lexicographic M needs room
_SCORE_BUDGET = 2.0**40
#: every row and the objective stay below this in absolute value
_ROW_BUDGET = 2.0**60
#: largest denominator of a fair-share coefficient, or of the data taken as fractions
_SHARE_DENOMINATOR = 2**24
#: more distinct fractional efforts or values than this are not searched for a common denominator
_MAX_DISTINCT = 4096
#: a fraction this close (relative) to a float coefficient is taken as what the float meant
_FRACTION_RTOL = 1e-15
_WORKERS = 1
#: seconds for the second solve that names the rule families behind an infeasibility
_CORE_SECONDS = 10.0


#: rule families, as the infeasibility diagnosis names them
_MUST = "must-assign (AssignAll or Pin)"
_CAPACITY = "capacity"
_COUNT = "CountBand"
_VALUE = "ValueBand"
_FAIR = "FairShare"
_FAIR_FIXED = "FairShare (on the total of every lead)"


# ---------------------------------------------------------------------------------- scaling
def _power_of_two_below(budget: NDArray[np.float64] | float, magnitude: NDArray[np.float64] | float
                        ) -> NDArray[np.float64]:
    """Largest :math:`2^k` with ``magnitude * 2^k <= budget`` (1 where magnitude is 0)."""
    magnitude = np.asarray(magnitude, dtype=np.float64)
    ratio = np.divide(budget, magnitude, out=np.full(magnitude.shape, 2.0), where=magnitude > 0)
    _, exponent = np.frexp(ratio)  # ratio = m * 2**exponent with 0.5 <= m < 1
    return np.where(magnitude > 0, np.ldexp(1.0, exponent - 1), 1.0)


def _whole(amount: NDArray[np.float64], scale: NDArray[np.float64] | float, side: int
           ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """``amount * scale`` in whole units, and where that was exact.

    A product within :data:`_FRACTION_RTOL` of an integer is taken as that integer (0.7 * 10
    is 7, as meant); any other is rounded up (``side`` +1) or down (-1), which is conservative.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.asarray(amount, dtype=np.float64) * scale
        nearest = np.rint(scaled)
        exact = np.abs(scaled - nearest) <= _FRACTION_RTOL * np.abs(scaled)
    rounded = np.ceil(scaled) if side > 0 else np.floor(scaled)
    return np.where(exact, nearest, rounded), exact


def _common_denominator(amounts: NDArray[np.float64]) -> int | None:
    """Smallest integer D with every ``amount * D`` whole (in the sense of :func:`_whole`), or None.

    Finds what decimal or rational data meant (0.7 and 1.5 give 10; 1/3 gives 3); heavy-tailed
    floats give None at the first value, so this stays cheap.
    """
    finite = np.abs(amounts[np.isfinite(amounts)])
    if _whole(finite, 1.0, -1)[1].all():
        return 1
    distinct = np.unique(finite)
    if distinct.size > _MAX_DISTINCT:
        return None
    denominator = 1
    for amount in distinct.tolist():
        if _whole(np.array([amount]), float(denominator), -1)[1].all():
            continue
        guess = Fraction(amount).limit_denominator(_SHARE_DENOMINATOR)
        if abs(float(guess) - amount) > _FRACTION_RTOL * amount:
            return None
        denominator = math.lcm(denominator, guess.denominator)
        if denominator > _SHARE_DENOMINATOR:
            return None
    return denominator


def _fraction(coefficient: float, side: int, denominator_limit: int) -> tuple[int, int, bool]:
    """``(numerator, denominator, exact)`` for a fair-share coefficient.

    ``side`` +1 rounds up (a lower share), -1 rounds down (an upper share). A fraction with a
    denominator up to ``denominator_limit`` (a power of two) within :data:`_FRACTION_RTOL` of
    the float is what the float meant (``1.1 * 3 / 11``); otherwise the float is rounded at
    ``1 / denominator_limit``, inward.
    """
    guess = Fraction(coefficient).limit_denominator(denominator_limit)
    if abs(float(guess) - coefficient) <= _FRACTION_RTOL * abs(coefficient):
        return guess.numerator, guess.denominator, True
    scaled = coefficient * denominator_limit  # exact: a power of two
    numerator = math.ceil(scaled) if side > 0 else math.floor(scaled)
    return numerator, denominator_limit, numerator == scaled


@dataclass(frozen=True, eq=False)
class _IntegerData:
    """The batch in integers: what the CP-SAT model is built from, and how it was rounded."""

    pairs: NDArray[np.int64]  # candidate index of each x variable
    lead: NDArray[np.int64]
    rep: NDArray[np.int64]
    lead_first: NDArray[np.int64]  # x index where each lead's run of pairs starts (leads with pairs)
    lead_of_run: NDArray[np.int64]
    stranded: NDArray[np.int64]  # leads that must be assigned but have no allowed pair
    must: NDArray[np.bool_]  # per x: its lead must be assigned
    effort: NDArray[np.int64]
    capacity_reps: NDArray[np.int64]
    capacity: NDArray[np.int64]
    count_reps: NDArray[np.int64]
    count_lower: NDArray[np.int64]
    count_upper: NDArray[np.int64]
    value_up: NDArray[np.int64]
    value_down: NDArray[np.int64]
    band_upper_reps: NDArray[np.int64]
    band_upper: NDArray[np.int64]
    band_lower_reps: NDArray[np.int64]
    band_lower: NDArray[np.int64]
    band_upper_family: tuple[str, ...]  # the rule family each band row comes from
    band_lower_family: tuple[str, ...]
    fair_upper: tuple[tuple[int, int, int], ...]  # (rep, a, b): a * V_r <= b * V
    fair_lower: tuple[tuple[int, int, int], ...]  # (rep, a, b): a * V_r >= b * V
    score: NDArray[np.int64]
    score_scale: float
    score_error: float  # worst-case |rounded - true| total score, in score units
    big: int  # the lexicographic M; 0 when there is none
    rounded_rules: tuple[str, ...]  # hard-rule families rounded inexactly
    notes: tuple[str, ...]


def _integer_data(problem: Problem, rules: Rules, objective: str) -> _IntegerData:
    """Scale and round every coefficient (vectorised); see the module docstring."""
    notes: list[str] = []
    rounded: list[str] = []
    n_reps = problem.n_reps

    # Capacity first: a pair whose own effort exceeds its rep's capacity can never be chosen.
    # Efforts are whole after one common denominator (integers, decimals), else each rep's row is
    # scaled by its own power of two.
    pairs = np.flatnonzero(rules.allowed).astype(np.int64)
    rep = problem.pair_rep[pairs]
    effort_float = problem.pair_effort[pairs]
    finite = np.isfinite(problem.capacity)
    effort_sum = np.bincount(rep, weights=effort_float, minlength=n_reps)
    denominator = _common_denominator(effort_float[finite[rep]])
    if denominator is not None and float(effort_sum.max(initial=0.0)) * denominator <= _EFFORT_BUDGET:
        effort_scale = np.full(n_reps, float(denominator))
    else:
        effort_scale = _power_of_two_below(_EFFORT_BUDGET, effort_sum.astype(np.float64))
    effort, effort_exact = _whole(effort_float, effort_scale[rep], +1)
    capacity = np.full(n_reps, np.inf)
    # Rounding a capacity down loses nothing when the efforts are whole: their sum is too.
    capacity[finite] = _whole(problem.capacity[finite], effort_scale[finite], -1)[0]
    keep = effort <= capacity[rep]
    pairs, rep, effort, effort_exact = pairs[keep], rep[keep], effort[keep], effort_exact[keep]
    lead = problem.pair_lead[pairs]
    rep_load = np.bincount(rep, weights=effort, minlength=n_reps)
    capacity_reps = np.flatnonzero(finite & (rep_load > capacity))
    n_on_rep = np.bincount(rep, minlength=n_reps)
    inexact = np.zeros(n_reps, bool)
    inexact[rep[~effort_exact]] = True
    inexact &= np.isin(np.arange(n_reps), capacity_reps)
    if inexact.any():
        margin = float(np.max((n_on_rep[inexact] + 1) / effort_scale[inexact]))
        rounded.append(f"capacity (by at most {margin:.2g} effort units per rep)")

    # Leads: x is sorted by lead, so each lead's pairs are one run.
    lead_first = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]]) if lead.size else np.zeros(0, np.int64)
    has_pair = np.zeros(problem.n_leads, bool)
    has_pair[lead] = True
    stranded = np.flatnonzero(rules.must_assign & ~has_pair)

    # Count bands: counts are integers, so ceil / floor is exact.
    count_lower = np.minimum(np.ceil(rules.count_lower), n_on_rep + 1)  # above n_on_rep: infeasible anyway
    count_upper = np.minimum(np.floor(rules.count_upper), n_on_rep)
    count_reps = np.flatnonzero((count_lower > 0) | (count_upper < n_on_rep))

    # Values: whole after a common denominator and divided by their gcd when they can be, else
    # units of a power of two, rounded up where a total is bounded above and down where below.
    lead_value = problem.value[has_pair]
    assignable_value = float(lead_value.sum())
    denominator = _common_denominator(lead_value)
    gcd = 1
    if denominator is not None and assignable_value * denominator <= _INTEGER_VALUE_LIMIT:
        value_scale = float(denominator)
        gcd = max(int(np.gcd.reduce(_whole(lead_value, value_scale, -1)[0].astype(np.int64))), 1)
    else:
        value_scale = float(_power_of_two_below(_VALUE_BUDGET, assignable_value))

    def value_units(amount: NDArray[np.float64], side: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        units, exact = _whole(amount, value_scale, side)
        return (np.ceil(units / gcd) if side > 0 else np.floor(units / gcd)), exact

    value = problem.value[lead]
    value_up, value_exact = value_units(value, +1)
    value_down, _ = value_units(value, -1)
    # Rounding a band inward loses nothing when the values are whole: their sum is too.
    band_upper_units = value_units(rules.value_upper, -1)[0]
    band_lower_units = value_units(rules.value_lower, +1)[0]
    if (rules.has_value_band or rules.fair) and not value_exact.all():
        margin = int(has_pair.sum()) * gcd / value_scale
        rounded.append(f"lead values (a rep's total by at most {margin:.2g})")
    up_total = np.bincount(rep, weights=value_up, minlength=n_reps)
    down_total = np.bincount(rep, weights=value_down, minlength=n_reps)

    # Fair shares: one (a, b) per rep and side, exact fractions where the float meant one. The
    # denominator is capped so that a * (value total) + b * (value total) stays in the row budget.
    fair_upper: list[tuple[int, int, int]] = []
    fair_lower: list[tuple[int, int, int]] = []
    fair_exact = True
    if rules.fair:
        value_total = float(value_units(lead_value, +1)[0].sum()) + 1.0
        highest = max(float(fair.high.max()) for fair in rules.fair)
        room = float(_power_of_two_below(_ROW_BUDGET, (1.0 + highest) * value_total))
        limit = int(min(float(_SHARE_DENOMINATOR), room))
        for fair in rules.fair:
            for r in range(n_reps):
                numerator, denominator, exact = _fraction(float(fair.high[r]), -1, limit)
                fair_exact &= exact
                if numerator < denominator:  # a share of 1 or more never binds
                    fair_upper.append((r, denominator, numerator))
                numerator, denominator, exact = _fraction(float(fair.low[r]), +1, limit)
                fair_exact &= exact
                if numerator > 0:
                    fair_lower.append((r, denominator, numerator))
        if not fair_exact:
            rounded.append(f"FairShare shares (inward by at most {1.0 / limit:.2g} of the total value)")

    upper_family = [_VALUE] * n_reps
    lower_family = [_VALUE] * n_reps
    # When every lead that has a pair must be assigned, the total V is a constant, and a fair
    # share is just a value band: no total variable, and CP-SAT's presolve drops every pair
    # whose lead alone exceeds the band.
    if (fair_upper or fair_lower) and not stranded.size and rules.must_assign[has_pair].all():
        fixed_up = int(value_units(lead_value, +1)[0].sum())
        fixed_down = int(value_units(lead_value, -1)[0].sum())
        for r, a, b in fair_upper:
            share_bound = float((b * fixed_down) // a)
            if share_bound < band_upper_units[r]:
                band_upper_units[r], upper_family[r] = share_bound, _FAIR_FIXED
        for r, a, b in fair_lower:
            share_bound = float(-((-b * fixed_up) // a))
            if share_bound > band_lower_units[r]:
                band_lower_units[r], lower_family[r] = share_bound, _FAIR_FIXED
        fair_upper, fair_lower = [], []
        notes.append("every lead is assigned, so the fair shares are value bands on a known total")
    band_upper_reps = np.flatnonzero(np.isfinite(band_upper_units) & (band_upper_units < up_total))
    band_lower_units = np.minimum(band_lower_units, down_total + 1)
    band_lower_reps = np.flatnonzero(band_lower_units > 0)

    # Scores: integers when they are (and fit), else units of a power of two, rounded.
    score_float = problem.pair_score[pairs]
    largest = np.zeros(problem.n_leads)
    np.maximum.at(largest, lead, np.abs(score_float))
    magnitude = float(largest.sum())
    n_optional = int((~rules.must_assign[lead]).sum()) if objective == "lexicographic" else 0
    # With M ~ 2 * magnitude, the objective's sum over optional pairs stays below the budget.
    budget = min(_SCORE_BUDGET, _ROW_BUDGET / 4 / max(n_optional, 1))
    denominator = _common_denominator(score_float)
    if denominator is not None and magnitude * denominator <= budget:
        score_scale = float(denominator)
    else:
        score_scale = float(_power_of_two_below(budget, magnitude))
    score, whole = _whole(score_float, score_scale, -1)
    score = np.where(whole, score, np.rint(score_float * score_scale))  # nearest: the error is in the bound
    score_exact = bool(whole.all())
    score_error = 0.0 if score_exact else 0.5 * int(has_pair.sum()) / score_scale
    if not score_exact:
        notes.append(f"scores scaled by 2^{round(math.log2(score_scale))} and rounded: the total score of "
                     f"any assignment is known within {score_error:.2g}")

    big = 0
    if n_optional:
        best = np.full(problem.n_leads, -np.inf)
        worst = np.full(problem.n_leads, np.inf)
        np.maximum.at(best, lead, score)
        np.minimum.at(worst, lead, score)
        # Python ints, so M is exact whatever its size.
        high_total = int(np.maximum(best[has_pair], 0).astype(np.int64).sum())
        low_total = int(np.minimum(worst[has_pair], 0).astype(np.int64).sum())
        big = high_total - low_total + 1

    if rounded:
        notes.append("rounded conservatively: " + "; ".join(rounded) + "; assignments that keep a rule within "
                     "that margin may have been cut off, so the bound comes from the LP relaxation")
    as_int = np.int64
    return _IntegerData(
        pairs=pairs, lead=lead, rep=rep, lead_first=lead_first.astype(as_int), lead_of_run=lead[lead_first],
        stranded=stranded, must=rules.must_assign[lead],
        effort=effort.astype(as_int), capacity_reps=capacity_reps,
        capacity=capacity[capacity_reps].astype(as_int),
        count_reps=count_reps, count_lower=count_lower[count_reps].astype(as_int),
        count_upper=count_upper[count_reps].astype(as_int),
        value_up=value_up.astype(as_int), value_down=value_down.astype(as_int),
        band_upper_reps=band_upper_reps, band_upper=band_upper_units[band_upper_reps].astype(as_int),
        band_upper_family=tuple(upper_family[r] for r in band_upper_reps.tolist()),
        band_lower_family=tuple(lower_family[r] for r in band_lower_reps.tolist()),
        band_lower_reps=band_lower_reps, band_lower=band_lower_units[band_lower_reps].astype(as_int),
        fair_upper=tuple(fair_upper), fair_lower=tuple(fair_lower),
        score=score.astype(as_int), score_scale=score_scale, score_error=score_error, big=big,
        rounded_rules=tuple(rounded), notes=tuple(notes),
    )


# ------------------------------------------------------------------------------------ model
@dataclass(eq=False)
class _Model:
    model: Any  # cp_model.CpModel
    n_x: int  # x variables are the model's first n_x variables, in the order of data.pairs
    auxiliary: list[tuple[Any, NDArray[np.int64]]]  # value variables, each with its weight per x
    families: dict[str, Any]  # rule family -> enforcement literal (core analysis only)


def _build(cp_model: Any, data: _IntegerData, n_reps: int, *, with_objective: bool,
           with_families: bool) -> _Model:
    """The CP-SAT model: variables, constraints, objective (module docstring for the math).

    ``with_families`` puts each rule family behind an enforcement literal, for asking CP-SAT
    which families an infeasibility needs.
    """
    model = cp_model.CpModel()
    weighted_sum = cp_model.LinearExpr.weighted_sum
    n_x = int(data.pairs.size)

    # Variables: one Boolean per allowed pair, created first so that its index is its position.
    x = [model.new_bool_var("") for _ in range(n_x)]
    x_array = np.empty(n_x, dtype=object)
    x_array[:] = x
    order = np.argsort(data.rep, kind="stable")
    rep_start = np.searchsorted(data.rep[order], np.arange(n_reps + 1))

    def on_rep(r: int) -> tuple[list[Any], NDArray[np.int64]]:
        positions = order[rep_start[r]:rep_start[r + 1]]
        return x_array[positions].tolist(), positions

    families: dict[str, Any] = {}

    def family(name: str, constraint: Any) -> None:
        if with_families:
            if name not in families:
                families[name] = model.new_bool_var(name)
            constraint.only_enforce_if(families[name])

    # Constraints. Leads: at most one rep each; exactly one when the lead must be assigned.
    stops = np.append(data.lead_first[1:], n_x).tolist() if n_x else []
    for first, stop in zip(data.lead_first.tolist(), stops, strict=True):
        group = x[first:stop]
        if data.must[first] and not with_families:
            model.add_exactly_one(group)
        else:
            if len(group) > 1:
                model.add_at_most_one(group)
            if data.must[first]:
                family(_MUST, model.add_bool_or(group))
    for _ in data.stranded.tolist():  # must be assigned, but no allowed pair: unsatisfiable
        family(_MUST, model.add_bool_or([]))

    for r, room in zip(data.capacity_reps.tolist(), data.capacity.tolist(), strict=True):
        variables, positions = on_rep(r)
        family(_CAPACITY, model.add(weighted_sum(variables, data.effort[positions].tolist()) <= room))
    for r, low, high in zip(data.count_reps.tolist(), data.count_lower.tolist(), data.count_upper.tolist(),
                            strict=True):
        variables, _ = on_rep(r)
        family(_COUNT, model.add_linear_constraint(sum(variables), low, high))
    for r, high, name in zip(data.band_upper_reps.tolist(), data.band_upper.tolist(), data.band_upper_family,
                             strict=True):
        variables, positions = on_rep(r)
        family(name, model.add(weighted_sum(variables, data.value_up[positions].tolist()) <= high))
    for r, low, name in zip(data.band_lower_reps.tolist(), data.band_lower.tolist(), data.band_lower_family,
                            strict=True):
        variables, positions = on_rep(r)
        family(name, model.add(weighted_sum(variables, data.value_down[positions].tolist()) >= low))

    # Fair shares, through one integer per rep for its value and one for the total, so that
    # no row spans every pair (a dense total row slows CP-SAT's presolve down badly).
    auxiliary: list[tuple[Any, NDArray[np.int64]]] = []  # (variable, its value per x), for hints

    def value_of(name: str, weights: NDArray[np.int64], positions: NDArray[np.int64] | None) -> Any:
        chosen = np.arange(n_x) if positions is None else positions
        variable = model.new_int_var(0, int(weights[chosen].sum()), name)
        variables = x if positions is None else x_array[positions].tolist()
        model.add(weighted_sum(variables, weights[chosen].tolist()) == variable)
        per_x = np.zeros(n_x, np.int64)
        per_x[chosen] = weights[chosen]
        auxiliary.append((variable, per_x))
        return variable

    if data.fair_upper or data.fair_lower:
        exact = bool(np.array_equal(data.value_up, data.value_down))
        rep_up: dict[int, Any] = {}
        rep_down: dict[int, Any] = {}
        for r in range(n_reps):
            positions = order[rep_start[r]:rep_start[r + 1]]
            if positions.size:
                rep_up[r] = value_of(f"value_up_{r}", data.value_up, positions)
                rep_down[r] = rep_up[r] if exact else value_of(f"value_down_{r}", data.value_down, positions)
        total_up = model.new_int_var(0, int(data.value_up.sum()), "value_total_up")
        model.add(sum(rep_up.values()) == total_up)
        total_down = total_up
        if not exact:
            total_down = model.new_int_var(0, int(data.value_down.sum()), "value_total_down")
            model.add(sum(rep_down.values()) == total_down)
        auxiliary.append((total_up, data.value_up))
        if not exact:
            auxiliary.append((total_down, data.value_down))
        for r, a, b in data.fair_upper:  # a * V_r (rounded up) <= b * V (rounded down)
            if r in rep_up:
                family(_FAIR, model.add(a * rep_up[r] - b * total_down <= 0))
        for r, a, b in data.fair_lower:  # a * V_r (rounded down) >= b * V (rounded up)
            family(_FAIR, model.add(a * rep_down[r] - b * total_up >= 0) if r in rep_down
                   else model.add(b * total_up <= 0))

    # Objective: integer scores, plus M per assigned optional lead under the lexicographic order.
    if with_objective:
        coefficients = data.score + np.where(data.must, 0, data.big).astype(np.int64)
        model.maximize(weighted_sum(x, coefficients.tolist()))
    return _Model(model=model, n_x=n_x, auxiliary=auxiliary, families=families)


def _add_hint(built: _Model, data: _IntegerData, hint: NDArray[np.int64]) -> None:
    """A complete hint: every x, and the value variables, from a ``rep_of`` array."""
    chosen = (hint[data.lead] == data.rep).astype(np.int64)
    proto_hint = built.model.proto.solution_hint
    proto_hint.vars.extend(range(built.n_x))
    proto_hint.values.extend(chosen.tolist())
    for variable, weights in built.auxiliary:
        built.model.add_hint(variable, int(weights @ chosen))


def _parameters(solver: Any, request: SolveRequest, workers: int = _WORKERS) -> None:
    parameters = solver.parameters
    parameters.num_workers = workers
    # One worker is a sequential, deterministic loop; several are deterministic only when they
    # share between batches (interleave_search), at a cost measured in the module docstring.
    parameters.interleave_search = workers > 1
    parameters.random_seed = int(request.seed) % 2**31
    # Presolve probing took the whole budget on 1k x 50 with FairShare (6 s of 10) and left no
    # time to accept a warm start; the search finds more with it off.
    parameters.cp_model_probing_level = 0
    if request.time_limit is not None:
        parameters.max_time_in_seconds = float(request.time_limit)


# ----------------------------------------------------------------------------------- solver
@register
class CpSatSolver(Solver):
    """OR-Tools CP-SAT over the whole batch; exact for every rule (see the module docstring)."""

    name = "cpsat"
    exact = True
    requires = ("ortools",)

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        from ortools.sat.python import cp_model

        started = time.perf_counter()
        # Data, variables, constraints, objective.
        data = _integer_data(problem, rules, request.objective)
        built = _build(cp_model, data, problem.n_reps, with_objective=True, with_families=False)
        if request.hint is not None:
            _add_hint(built, data, np.asarray(request.hint, dtype=np.int64))

        # Solve.
        solver = cp_model.CpSolver()
        _parameters(solver, request)
        if request.time_limit is not None:  # building the model counts against the limit
            spent = time.perf_counter() - started
            solver.parameters.max_time_in_seconds = max(request.time_limit - spent, 0.01)
        status = solver.solve(built.model)
        notes = list(data.notes)
        unassigned = np.full(problem.n_leads, -1, np.int64)

        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            response = solver.response_proto
            chosen = np.asarray(response.solution, dtype=np.int64)[: built.n_x].astype(bool)
            rep_of = unassigned.copy()
            rep_of[data.lead[chosen]] = data.rep[chosen]
            optimal = status == cp_model.OPTIMAL
            if data.rounded_rules:
                bound = _lp_bound(problem, rules, request, int(chosen.sum()))
                if optimal:
                    notes.append("optimal for the rules as rounded, reported FEASIBLE")
                optimal = False
            else:
                bound = self._bound(data, response, request, int(chosen.sum()), int(rules.must_assign.sum()))
            if status == cp_model.FEASIBLE:
                notes.append("stopped by the time limit")
            return SolverOutput(rep_of=rep_of, status=Status.OPTIMAL if optimal else Status.FEASIBLE,
                                bound=bound, notes=tuple(notes))
        if status == cp_model.INFEASIBLE:
            families = self._infeasible_families(cp_model, data, problem.n_reps, request)
            diagnosis = "CP-SAT proved the rules infeasible; " + families
            if data.rounded_rules:
                diagnosis = ("CP-SAT proved the rules infeasible as rounded conservatively ("
                             + "; ".join(data.rounded_rules) + "); an assignment exactly at a bound may still "
                             "exist; " + families)
                return SolverOutput(rep_of=unassigned, status=Status.NO_SOLUTION, diagnosis=(diagnosis,),
                                    notes=tuple(notes))
            return SolverOutput(rep_of=unassigned, status=Status.INFEASIBLE, diagnosis=(diagnosis,),
                                notes=tuple(notes))
        if request.hint is not None and _keeps_model(data, np.asarray(request.hint, dtype=np.int64)):
            # CP-SAT can stop (in presolve) before it has looked at the hint.
            rep_of = np.asarray(request.hint, dtype=np.int64).copy()
            bound = _lp_bound(problem, rules, request, int((rep_of >= 0).sum()))
            notes.append("CP-SAT stopped before improving on the hint, which is returned")
            return SolverOutput(rep_of=rep_of, status=Status.FEASIBLE, bound=bound, notes=tuple(notes))
        if status == cp_model.MODEL_INVALID:
            reason = f"CP-SAT rejected the model as invalid: {built.model.validate() or 'no reason given'}"
        elif request.time_limit is not None:
            reason = f"CP-SAT found no assignment within the time limit of {request.time_limit:g} s"
        else:
            reason = "CP-SAT stopped without finding an assignment"
        return SolverOutput(rep_of=unassigned, status=Status.NO_SOLUTION, diagnosis=(reason,), notes=tuple(notes))

    @staticmethod
    def _bound(data: _IntegerData, response: Any, request: SolveRequest, n_assigned: int, n_must: int) -> float:
        """CP-SAT's proven bound, mapped back to score units, plus the score rounding error."""
        # CP-SAT minimises the negated objective; its lower bound is exact in integers.
        objective_bound = -int(response.inner_objective_lower_bound)
        if request.objective == "lexicographic":
            # Any assignment with at least n_assigned leads has at least n_assigned - n_must
            # optional ones, each worth M in the objective.
            objective_bound -= data.big * max(n_assigned - n_must, 0)
        exact = Fraction(objective_bound) / Fraction(data.score_scale) + Fraction(data.score_error)
        bound = float(exact)
        return bound if Fraction(bound) >= exact else math.nextafter(bound, math.inf)

    @staticmethod
    def _infeasible_families(cp_model: Any, data: _IntegerData, n_reps: int, request: SolveRequest) -> str:
        """Which rule families CP-SAT needs to prove the infeasibility, in words."""
        built = _build(cp_model, data, n_reps, with_objective=False, with_families=True)
        names = list(built.families)
        literals = list(built.families.values())
        built.model.add_assumptions(literals)
        solver = cp_model.CpSolver()
        seconds = _CORE_SECONDS if request.time_limit is None else min(_CORE_SECONDS, request.time_limit)
        _parameters(solver, SolveRequest(seed=request.seed, time_limit=seconds), workers=1)
        if solver.solve(built.model) == cp_model.INFEASIBLE:
            core = set(solver.sufficient_assumptions_for_infeasibility())
            involved = [name for name, literal in zip(names, literals, strict=True) if literal.index in core]
            if involved:
                return "these rules cannot all hold together: " + ", ".join(involved)
        return "rules in the model: " + ", ".join(names or ["eligibility"])


def _keeps_model(data: _IntegerData, rep_of: NDArray[np.int64]) -> bool:
    """Does an assignment keep the integer model (every row, in exact integers)?"""
    n_chosen = int((rep_of >= 0).sum())
    chosen = (rep_of[data.lead] == data.rep).astype(np.int64)
    if int(chosen.sum()) != n_chosen or data.stranded.size or not np.all(rep_of[data.lead[data.must]] >= 0):
        return False

    def per_rep(weights: NDArray[np.int64]) -> list[int]:
        totals = [0] * (int(data.rep.max(initial=0)) + 1)
        for r, w in zip(data.rep[chosen > 0].tolist(), weights[chosen > 0].tolist(), strict=True):
            totals[r] += int(w)
        return totals

    load, up, down = per_rep(data.effort), per_rep(data.value_up), per_rep(data.value_down)
    rep_count = per_rep(np.ones(data.rep.size, np.int64))
    total_up, total_down = sum(up), sum(down)
    return (all(load[r] <= c for r, c in zip(data.capacity_reps.tolist(), data.capacity.tolist(), strict=True))
            and all(lo <= (rep_count[r] if r < len(rep_count) else 0) <= hi for r, lo, hi in
                    zip(data.count_reps.tolist(), data.count_lower.tolist(), data.count_upper.tolist(), strict=True))
            and all(up[r] <= h for r, h in zip(data.band_upper_reps.tolist(), data.band_upper.tolist(), strict=True))
            and all(down[r] >= lo for r, lo in zip(data.band_lower_reps.tolist(), data.band_lower.tolist(),
                                                   strict=True))
            and all(a * (up[r] if r < len(up) else 0) <= b * total_down for r, a, b in data.fair_upper)
            and all(a * (down[r] if r < len(down) else 0) >= b * total_up for r, a, b in data.fair_lower))


def _lp_bound(problem: Problem, rules: Rules, request: SolveRequest, n_assigned: int) -> float | None:
    """The LP relaxation of the float model: a valid bound when CP-SAT's covers only the rounded rules."""
    from ..linear import build_linear_model, solve_lp
    from .repair import usable_pairs

    # Pairs whose lead alone overfills its rep are in no feasible assignment: leaving them out
    # keeps the bound valid and makes it much tighter under fair shares with heavy-tailed values.
    linear = build_linear_model(problem, replace(rules, allowed=usable_pairs(problem, rules)))
    minimum = float(n_assigned) if request.objective == "lexicographic" else None
    # The LP comes after CP-SAT's time; half the limit again at most (it needs far less).
    seconds = None if request.time_limit is None else max(1.0, 0.5 * request.time_limit)
    answer = solve_lp(linear, linear.score, min_assigned=minimum, time_limit=seconds)
    return answer.value if answer.status == "optimal" else None
