r"""The independent checker: does an assignment keep every hard rule?

It shares no code with the solvers or with :mod:`fairassign.rules`: it reads the constraint
objects as the user gave them and recomputes every total from the assignment itself, so a
mistake in how rules are compiled for the solvers cannot hide from it.

Amounts are compared with a relative tolerance ``rtol`` (default 1e-6) of the bound's scale,
which covers solvers' floating-point feasibility tolerances and the integer scaling of CP-SAT.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .constraints import AssignAll, Constraint, CountBand, FairShare, Forbid, Pin, ValueBand
from .errors import ValidationError

if TYPE_CHECKING:
    from .problem import Problem
    from .result import Result

__all__ = ["Violation", "verify"]


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    rule : str
        "assignment", "eligibility", "capacity", "AssignAll", "CountBand", "ValueBand",
        "FairShare", "Pin" or "Forbid".
    subject : str
        Which lead or rep, in words (``"rep 'R-3'"``).
    amount : float
        By how much the bound is exceeded (or the count of offending pairs), > 0.
    message : str
        A readable sentence.
    """

    rule: str
    subject: str
    amount: float
    message: str


def _excess(values: NDArray[np.float64], limit: NDArray[np.float64], rtol: float) -> NDArray[np.float64]:
    """``values - limit`` where that exceeds the tolerance, else 0."""
    slack = rtol * np.maximum(np.abs(limit), 1.0)
    over = values - limit
    return np.where(np.isfinite(limit) & (over > slack), over, 0.0)


def _per_rep(bound: Any, n_reps: int, default: float) -> NDArray[np.float64]:
    if bound is None:
        return np.full(n_reps, default)
    return np.broadcast_to(np.asarray(bound, dtype=np.float64), (n_reps,)).astype(np.float64)


def verify(problem: Problem, result: Result | ArrayLike, constraints: Iterable[Constraint] = (),
           *, rtol: float = 1e-6) -> list[Violation]:
    r"""List every hard rule that an assignment breaks, with amounts; empty when none.

    Always checked: each lead goes to at most one valid rep, every chosen pair is a
    candidate (eligible, with a score), and each rep's effort stays within its capacity.
    Then each constraint in ``constraints``.

    Parameters
    ----------
    problem : Problem
    result : Result or array_like of int (n_leads,)
        A result, or its ``rep_of`` array (-1 for unassigned).
    constraints : iterable of Constraint
    rtol : float
        Relative tolerance on capacity, band and fair-share amounts.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 2.0], [3.0, 1.0]], capacity=[1, 1])
    >>> [v.message for v in fa.verify(problem, [1, 1])]
    ['rep 1 receives effort 2 over capacity 1 (by 1)']
    """
    rep_of_given = getattr(result, "rep_of", result)
    rep_of = np.asarray(rep_of_given)
    if rep_of.shape != (problem.n_leads,) or not np.issubdtype(rep_of.dtype, np.integer):
        raise ValidationError(
            f"result must be a Result or an integer array of shape ({problem.n_leads},), "
            f"got {getattr(rep_of, 'dtype', type(rep_of).__name__)} of shape {rep_of.shape}"
        )
    rep_of = rep_of.astype(np.int64)
    violations: list[Violation] = []
    lead_ids, rep_ids = problem.lead_ids.tolist(), problem.rep_ids.tolist()

    def lead_name(i: int) -> str:
        return f"lead {lead_ids[i]!r}"

    def rep_name(r: int) -> str:
        return f"rep {rep_ids[r]!r}"

    bad = np.flatnonzero((rep_of < -1) | (rep_of >= problem.n_reps))
    for i in bad.tolist():
        violations.append(Violation("assignment", lead_name(i), 1.0,
                                    f"{lead_name(i)} goes to rep position {rep_of[i]}, which does not exist"))
    rep_of = np.where((rep_of < -1) | (rep_of >= problem.n_reps), -1, rep_of)
    chosen = np.flatnonzero(rep_of >= 0)
    chosen_rep = rep_of[chosen]

    # Candidate lookup from the problem's own sorted (lead, rep) keys.
    keys = problem.pair_lead * problem.n_reps + problem.pair_rep
    wanted = chosen * problem.n_reps + chosen_rep
    at = np.searchsorted(keys, wanted)
    at_clipped = np.minimum(at, max(keys.size - 1, 0))
    is_candidate = (at < keys.size) & (keys[at_clipped] == wanted) if keys.size else np.zeros(wanted.size, bool)
    for k in np.flatnonzero(~is_candidate).tolist():
        i, r = int(chosen[k]), int(chosen_rep[k])
        violations.append(Violation("eligibility", lead_name(i), 1.0,
                                    f"{lead_name(i)} goes to {rep_name(r)}, which is not an eligible pair"))
    effort = np.where(is_candidate, problem.pair_effort[at_clipped] if keys.size else 0.0, 0.0)

    count = np.bincount(chosen_rep, minlength=problem.n_reps).astype(np.float64)
    used = np.bincount(chosen_rep, weights=effort, minlength=problem.n_reps).astype(np.float64)
    value = np.bincount(chosen_rep, weights=problem.value[chosen], minlength=problem.n_reps).astype(np.float64)

    for r in np.flatnonzero(_excess(used, problem.capacity, rtol)).tolist():
        violations.append(Violation("capacity", rep_name(r), float(used[r] - problem.capacity[r]),
                                    f"{rep_name(r)} receives effort {used[r]:g} over capacity "
                                    f"{problem.capacity[r]:g} (by {used[r] - problem.capacity[r]:g})"))

    def band(rule: str, what: str, amounts: NDArray[np.float64], lower: Any, upper: Any) -> None:
        low = _per_rep(lower, problem.n_reps, 0.0)
        high = _per_rep(upper, problem.n_reps, np.inf)
        for r in np.flatnonzero(_excess(amounts, high, rtol)).tolist():
            violations.append(Violation(rule, rep_name(r), float(amounts[r] - high[r]),
                                        f"{rep_name(r)} receives {what} {amounts[r]:g} above {high[r]:g}"))
        for r in np.flatnonzero(_excess(-amounts, -low, rtol)).tolist():
            violations.append(Violation(rule, rep_name(r), float(low[r] - amounts[r]),
                                        f"{rep_name(r)} receives {what} {amounts[r]:g} below {low[r]:g}"))

    for constraint in constraints:
        if isinstance(constraint, AssignAll):
            for i in np.flatnonzero(rep_of < 0).tolist():
                violations.append(Violation("AssignAll", lead_name(i), 1.0, f"{lead_name(i)} is not assigned"))
        elif isinstance(constraint, CountBand):
            band("CountBand", "lead count", count, constraint.lower, constraint.upper)
        elif isinstance(constraint, ValueBand):
            band("ValueBand", "lead value", value, constraint.lower, constraint.upper)
        elif isinstance(constraint, FairShare):
            weight = problem.capacity if constraint.weight is None else np.asarray(constraint.weight, np.float64)
            # over a period, what each rep received earlier counts as if it were received today
            prior = np.zeros(problem.n_reps) if constraint.received is None \
                else np.asarray(constraint.received, np.float64)
            if prior.shape != (problem.n_reps,):
                raise ValidationError(f"FairShare.received must have one entry per rep (n_reps={problem.n_reps}), "
                                      f"got shape {prior.shape}")
            held = value + prior
            target = held.sum() * weight / weight.sum()
            allowed = constraint.tolerance * target
            deviation = np.abs(held - target)
            # tolerance scaled by the total, so a rep with a zero share is held to ~0 too
            slack = rtol * max(held.sum(), 1.0)
            for r in np.flatnonzero(deviation - allowed > slack).tolist():
                period = "" if constraint.received is None else f" over the period ({prior[r]:g} of it earlier)"
                violations.append(Violation(
                    "FairShare", rep_name(r), float(deviation[r] - allowed[r]),
                    f"{rep_name(r)} receives lead value {held[r]:g}{period}, outside its fair share "
                    f"{target[r]:g} +- {allowed[r]:g} (by {deviation[r] - allowed[r]:g})"))
        elif isinstance(constraint, Pin | Forbid):
            lead_at = {identifier: i for i, identifier in enumerate(lead_ids)}
            rep_at = {identifier: r for r, identifier in enumerate(rep_ids)}
            for lead_id, rep_id in constraint.pairs:
                lead_position, rep_position = lead_at.get(lead_id), rep_at.get(rep_id)
                if lead_position is None or rep_position is None:
                    raise ValidationError(f"{type(constraint).__name__} names ({lead_id!r}, {rep_id!r}), "
                                          "which is not a (lead_id, rep_id) of this problem")
                pinned = isinstance(constraint, Pin)
                if (rep_of[lead_position] == rep_position) != pinned:
                    verb = "is not assigned to its pinned" if pinned else "is assigned to forbidden"
                    violations.append(Violation(type(constraint).__name__, lead_name(lead_position), 1.0,
                                                f"{lead_name(lead_position)} {verb} {rep_name(rep_position)}"))
        else:
            raise ValidationError(f"verify does not know the rule {constraint!r}")
    return violations
