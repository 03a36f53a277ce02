"""Rules bound to one batch: the constraint objects turned into arrays over its reps and pairs.

Every solver reads a :class:`Rules`, never the constraint objects, so a rule means the same
thing to every backend. Pins are folded into eligibility here: a pinned lead keeps only its
pinned pair and must be assigned, so a backend needs no separate notion of a pin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from .constraints import AssignAll, Constraint, CountBand, FairShare, Forbid, Pin, ValueBand, _plain
from .errors import ValidationError
from .problem import Problem

__all__ = ["Rules", "FairRows", "bind"]


@dataclass(frozen=True)
class FairRows:
    """One :class:`FairShare` over a batch: rep r's value must lie in ``[low_r V, high_r V]``.

    With ``received`` (value :math:`P_r` given earlier in the period) the rule is
    ``low_r (V + P) <= V_r + P_r <= high_r (V + P)``. Backends never see such rows:
    :func:`fairassign.solve` reduces them to plain ones first (:mod:`fairassign.over_time.history`).
    """

    tolerance: float
    share: NDArray[np.float64]  # w_r / W, sums to 1
    received: NDArray[np.float64] | None = None  # P_r per rep, or None for today's rule

    @property
    def low(self) -> NDArray[np.float64]:
        return (1.0 - self.tolerance) * self.share

    @property
    def high(self) -> NDArray[np.float64]:
        return (1.0 + self.tolerance) * self.share


@dataclass(frozen=True, eq=False)
class Rules:
    """Normalised rules of one batch, shared by every backend.

    Attributes
    ----------
    allowed : bool (n_pairs,)
        Candidate pairs a solver may choose: not forbidden, and for a pinned lead only its pin.
    must_assign : bool (n_leads,)
        Leads that must receive a rep (all with :class:`AssignAll`, and every pinned lead).
    count_lower, count_upper, value_lower, value_upper : float (n_reps,)
        Per-rep bands, intersected over every band given; open sides are 0 and inf.
    fair : tuple of FairRows
        One entry per :class:`FairShare`.
    conflicts : tuple of str
        Contradictions found while binding (a pin on an ineligible pair ...), in words.
    constraints : tuple of Constraint
        The rule objects as the user gave them.
    """

    allowed: NDArray[np.bool_]
    must_assign: NDArray[np.bool_]
    count_lower: NDArray[np.float64]
    count_upper: NDArray[np.float64]
    value_lower: NDArray[np.float64]
    value_upper: NDArray[np.float64]
    fair: tuple[FairRows, ...]
    conflicts: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    assign_all: bool

    @property
    def has_count_lower(self) -> bool:
        return bool(np.any(self.count_lower > 0))

    @property
    def has_value_band(self) -> bool:
        return bool(np.any(self.value_lower > 0) or np.any(np.isfinite(self.value_upper)))

    @property
    def capacity_only(self) -> bool:
        """True when only capacity, count upper bounds, eligibility, pins and must-assign bind."""
        return not (self.fair or self.has_value_band or self.has_count_lower)

    def describe(self) -> list[str]:
        return [constraint.describe() for constraint in self.constraints]

    def fair_narrowed(self, margin: float) -> Rules:
        """These rules with every fair share's tolerance t cut to :math:`t (1 - m)`, ``margin`` m.

        An LP priced or rounded at the narrower bands aims inside the rule's own, so that leads
        placed whole (rounding, routing) still land inside them.
        """
        return replace(self, fair=tuple(replace(fair, tolerance=fair.tolerance * (1.0 - margin))
                                        for fair in self.fair))


def _per_rep(rule: str, name: str, bound: object, n_reps: int, default: float) -> NDArray[np.float64]:
    if bound is None:
        return np.full(n_reps, default)
    array = np.asarray(bound, dtype=np.float64)
    if array.ndim == 0:
        return np.full(n_reps, float(array))
    if array.shape != (n_reps,):
        raise ValidationError(
            f"{rule}.{name} must be a scalar or have one entry per rep (n_reps={n_reps}), got shape {array.shape}"
        )
    return array.copy()


def _positions(problem: Problem, rule: str, pairs: Sequence[tuple[object, object]]) -> tuple[
        NDArray[np.int64], NDArray[np.int64]]:
    leads = np.empty(len(pairs), np.int64)
    reps = np.empty(len(pairs), np.int64)
    for k, (lead_id, rep_id) in enumerate(pairs):
        try:
            leads[k] = problem.lead_position(lead_id)
        except KeyError:
            raise ValidationError(f"{rule} names lead id {lead_id!r}, which is not in problem.lead_ids") from None
        try:
            reps[k] = problem.rep_position(rep_id)
        except KeyError:
            raise ValidationError(f"{rule} names rep id {rep_id!r}, which is not in problem.rep_ids") from None
    return leads, reps


def bind(problem: Problem, constraints: Iterable[Constraint] | Constraint = ()) -> Rules:
    """Check ``constraints`` against ``problem`` and turn them into :class:`Rules`.

    Raises
    ------
    ValidationError
        A rule that is not a :class:`Constraint`, a per-rep array of the wrong length,
        an id that the problem does not have, or FairShare weights that cannot be used.
    """
    if isinstance(constraints, Constraint):
        constraints = (constraints,)
    try:
        given = tuple(constraints)
    except TypeError:
        raise ValidationError(
            f"constraints must be an iterable of fairassign constraints, got {type(constraints).__name__}"
        ) from None
    for constraint in given:
        if not isinstance(constraint, Constraint):
            raise ValidationError(
                "constraints must hold fairassign rules (AssignAll, CountBand, ValueBand, FairShare, Pin, "
                f"Forbid), got {constraint!r}"
            )

    n_reps = problem.n_reps
    count_lower, count_upper = np.zeros(n_reps), np.full(n_reps, np.inf)
    value_lower, value_upper = np.zeros(n_reps), np.full(n_reps, np.inf)
    allowed = np.ones(problem.n_pairs, dtype=bool)
    must_assign = np.zeros(problem.n_leads, dtype=bool)
    fair: list[FairRows] = []
    conflicts: list[str] = []
    assign_all = False
    pinned_rep: dict[int, int] = {}

    for constraint in given:
        if isinstance(constraint, AssignAll):
            assign_all = True
        elif isinstance(constraint, CountBand):
            count_lower = np.maximum(count_lower, _per_rep("CountBand", "lower", constraint.lower, n_reps, 0.0))
            count_upper = np.minimum(count_upper, _per_rep("CountBand", "upper", constraint.upper, n_reps, np.inf))
        elif isinstance(constraint, ValueBand):
            value_lower = np.maximum(value_lower, _per_rep("ValueBand", "lower", constraint.lower, n_reps, 0.0))
            value_upper = np.minimum(value_upper, _per_rep("ValueBand", "upper", constraint.upper, n_reps, np.inf))
        elif isinstance(constraint, FairShare):
            fair.append(_fair_rows(problem, constraint))
        elif isinstance(constraint, Forbid):
            leads, reps = _positions(problem, "Forbid", constraint.pairs)
            forbidden = problem.pair_index(leads, reps)
            allowed[forbidden[forbidden >= 0]] = False
        elif isinstance(constraint, Pin):
            leads, reps = _positions(problem, "Pin", constraint.pairs)
            for lead, rep in zip(leads.tolist(), reps.tolist(), strict=True):
                if pinned_rep.get(lead, rep) != rep:
                    conflicts.append(
                        f"lead {_plain(problem.lead_ids[lead])!r} is pinned to two reps, "
                        f"{_plain(problem.rep_ids[pinned_rep[lead]])!r} and {_plain(problem.rep_ids[rep])!r}"
                    )
                pinned_rep.setdefault(lead, rep)
        else:  # a Constraint subclass this version does not know
            raise ValidationError(f"constraints: {type(constraint).__name__} is not supported by this version")

    for lead, rep in pinned_rep.items():
        index = int(problem.pair_index([lead], [rep])[0])
        name = f"({_plain(problem.lead_ids[lead])!r}, {_plain(problem.rep_ids[rep])!r})"
        if index < 0:
            conflicts.append(f"pinned pair {name} is not eligible (no score, or eligible is False)")
        elif not allowed[index]:
            conflicts.append(f"pinned pair {name} is also forbidden")
        start, stop = problem.lead_start[lead], problem.lead_start[lead + 1]
        keep = allowed[index] if index >= 0 else False
        allowed[start:stop] = False
        if index >= 0:
            allowed[index] = keep
        must_assign[lead] = True

    for name, lower, upper in (("CountBand", count_lower, count_upper), ("ValueBand", value_lower, value_upper)):
        crossed = np.flatnonzero(lower > upper)
        for rep in crossed[:5].tolist():
            conflicts.append(
                f"{name}s combine to an empty band for rep {_plain(problem.rep_ids[rep])!r}: "
                f"lower {lower[rep]:g} > upper {upper[rep]:g}"
            )

    if assign_all:
        must_assign[:] = True
    for array in (allowed, must_assign, count_lower, count_upper, value_lower, value_upper):
        array.flags.writeable = False
    return Rules(
        allowed=allowed,
        must_assign=must_assign,
        count_lower=count_lower,
        count_upper=count_upper,
        value_lower=value_lower,
        value_upper=value_upper,
        fair=tuple(fair),
        conflicts=tuple(conflicts),
        constraints=given,
        assign_all=assign_all,
    )


def _fair_rows(problem: Problem, rule: FairShare) -> FairRows:
    if rule.weight is None:
        weight = problem.capacity
        if np.isinf(weight).any():
            rep = int(np.flatnonzero(np.isinf(weight))[0])
            raise ValidationError(
                f"FairShare weighs reps by capacity by default, but capacity of rep {_plain(problem.rep_ids[rep])!r} "
                "is inf; pass FairShare(tolerance, weight=...) with finite weights"
            )
        source = "capacity"
    else:
        weight = np.asarray(rule.weight, dtype=np.float64)
        if weight.shape != (problem.n_reps,):
            raise ValidationError(
                f"FairShare.weight must have one entry per rep (n_reps={problem.n_reps}), got shape {weight.shape}"
            )
        source = "FairShare.weight"
    total = float(weight.sum())
    if total <= 0:
        raise ValidationError(f"FairShare needs a positive total weight; the {source} of every rep sums to {total:g}")
    share = weight / total
    share.flags.writeable = False
    received = None
    if rule.received is not None:
        received = np.asarray(rule.received, dtype=np.float64)
        if received.shape != (problem.n_reps,):
            raise ValidationError(
                f"FairShare.received must have one entry per rep (n_reps={problem.n_reps}), got shape {received.shape}"
            )
    return FairRows(tolerance=rule.tolerance, share=share, received=received)
