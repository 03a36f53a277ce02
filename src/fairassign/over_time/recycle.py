r"""Recycling: leads nobody contacted within their tier's SLA go to someone who will call them.

A lead is *reclaimed* when it has an owner, has had no first contact, and its age exceeds
its tier's SLA (``age_hours > sla_hours[tier]``; exactly at the SLA is still in time). The
whole batch is then re-solved once:

* leads that are not reclaimed and have an owner keep it (a :class:`~fairassign.Pin`), so
  capacity, bands and fair shares count them as they stand;
* leads without an owner are assigned as in :func:`fairassign.solve`;
* a reclaimed lead may not go back to the rep who sat on it (a :class:`~fairassign.Forbid`
  of that pair), *except* when that rep is its only candidate: then giving it back is
  allowed, and ``returned`` marks it. A reclaimed lead whose other candidates are all full
  stays unassigned (back in the pool) rather than returning to its owner.

The answer is a :class:`~fairassign.Result` over the whole batch (so it verifies every rule
on everything each rep holds), and ``reclaims_per_rep`` counts the reclaimed leads by
previous owner: a rep who sits on leads sees it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..constraints import Constraint, Forbid, Pin, _plain
from ..errors import ValidationError
from ..problem import Problem
from ..result import Result
from ..rules import bind
from ..solve import solve
from ._common import check_problem, per_lead, rep_per_lead

__all__ = ["DEFAULT_SLA_HOURS", "Recycling", "recycle", "stale_leads"]

#: hours to a first contact per tier: A in 4 hours, B in 2 days, C in a week
DEFAULT_SLA_HOURS: Mapping[str, float] = {"A": 4.0, "B": 48.0, "C": 168.0}


@dataclass(frozen=True, eq=False)
class Recycling:
    """What :func:`recycle` reclaimed and where it went.

    Attributes
    ----------
    result : Result
        The new assignment of the whole batch (kept owners pinned, reclaimed leads reassigned).
    reclaimed : bool (n_leads,)
        Leads taken from their owner (no first contact within the SLA).
    previous_owner : int64 (n_leads,)
        The owner each lead had before (-1: none).
    returned : bool (n_leads,)
        Reclaimed leads allowed back to their owner because that rep is their only candidate.
    reclaims_per_rep : int64 (n_reps,)
        Reclaimed leads per previous owner.
    """

    result: Result
    reclaimed: NDArray[np.bool_]
    previous_owner: NDArray[np.int64]
    returned: NDArray[np.bool_]
    reclaims_per_rep: NDArray[np.int64]

    @property
    def n_reclaimed(self) -> int:
        return int(self.reclaimed.sum())

    def reclaims_by_rep_id(self) -> dict[Any, int]:
        """``{rep_id: reclaimed leads}`` for every rep with at least one."""
        rep_ids = self.result.problem.rep_ids.tolist()
        return {rep_ids[r]: int(self.reclaims_per_rep[r]) for r in np.flatnonzero(self.reclaims_per_rep).tolist()}

    def summary(self) -> str:
        lines = [f"reclaimed  {self.n_reclaimed} lead(s) past their SLA without a first contact"]
        for rep_id, count in sorted(self.reclaims_by_rep_id().items(), key=lambda item: (-item[1], str(item[0]))):
            lines.append(f"           rep {rep_id!r} sat on {count}")
        if self.returned.any():
            lines.append(f"returned   {int(self.returned.sum())} to their owner (their only candidate)")
        return "\n".join([*lines, self.result.summary()])


def _sla(sla_hours: Any) -> dict[Any, float]:
    if not isinstance(sla_hours, Mapping) or not sla_hours:
        raise ValidationError(f"sla_hours must be a non-empty mapping {{tier: hours}}, got {sla_hours!r}")
    out = {}
    for tier, hours in sla_hours.items():
        if isinstance(hours, bool) or not isinstance(hours, numbers.Real) or not math.isfinite(hours) or hours < 0:
            raise ValidationError(f"sla_hours[{tier!r}] must be a finite number of hours >= 0, got {hours!r}")
        out[_plain(tier)] = float(hours)
    return out


def stale_leads(problem: Problem, owner: Any, contacted: Any, age_hours: Any, tier: Any,
                sla_hours: Mapping[Any, float] = DEFAULT_SLA_HOURS) -> NDArray[np.bool_]:
    """Owned leads without a first contact whose age exceeds their tier's SLA (validated as :func:`recycle`)."""
    check_problem(problem)
    owners = rep_per_lead("owner", owner, problem)
    called = per_lead("contacted", contacted, problem, kind="bool")
    ages = per_lead("age_hours", age_hours, problem, kind="float")
    tiers = per_lead("tier", tier, problem, kind="label")
    limits = _sla(sla_hours)
    tier_list = [_plain(t) for t in tiers.tolist()]
    unknown = sorted({str(t) for t in tier_list if t not in limits})
    if unknown:
        raise ValidationError(f"tier holds {', '.join(repr(t) for t in unknown)}, which sla_hours does not list "
                              f"(it has {', '.join(repr(t) for t in limits)})")
    limit = np.array([limits[t] for t in tier_list], dtype=np.float64)
    return (owners >= 0) & ~called & (ages > limit)


def recycle(problem: Problem, constraints: Iterable[Constraint] | Constraint = (), owner: Any = None,
            contacted: Any = None, age_hours: Any = None, tier: Any = None,
            sla_hours: Mapping[Any, float] = DEFAULT_SLA_HOURS, *, solver: str = "auto",
            objective: str = "lexicographic", seed: int = 0, time_limit: float | None = None,
            rel_gap: float = 1e-4) -> Recycling:
    r"""Reclaim leads not contacted within their tier's SLA and reassign them (module docstring).

    Parameters
    ----------
    problem : Problem
        The batch of open leads: owned ones and new ones.
    constraints : iterable of Constraint
        As for :func:`fairassign.solve`; they hold for the whole batch. A user's Pin of a
        reclaimed lead to its owner wins (that lead is not forbidden there).
    owner : int array (n_leads,) or ``{lead_id: rep_id}``
        Current owner (-1 or absent: none).
    contacted : bool (n_leads,)
        Whether the lead had its first contact.
    age_hours : float (n_leads,)
        Hours since the lead was assigned; finite, ``>= 0``.
    tier : labels (n_leads,)
        Each lead's tier, a key of ``sla_hours``.
    sla_hours : mapping tier -> hours
        Default :data:`DEFAULT_SLA_HOURS` (A 4 h, B 48 h, C 168 h).
    solver, objective, seed, time_limit, rel_gap
        As for :func:`fairassign.solve`.

    Returns
    -------
    Recycling

    Raises
    ------
    ValidationError
        Bad shapes, NaN or negative ages, a tier missing from ``sla_hours``, or a lead kept by
        its owner on a pair that is not a candidate of ``problem``.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 2.0], [3.0, 1.0]], capacity=[2, 2], rep_ids=["ann", "bob"])
    >>> out = recycle(problem, [], owner=[1, 0], contacted=[False, True], age_hours=[6.0, 30.0], tier=["A", "B"])
    >>> out.reclaimed.tolist(), out.result.rep_of.tolist(), out.reclaims_by_rep_id()
    ([True, False], [0, 0], {'bob': 1})
    """
    check_problem(problem)
    given = (constraints,) if isinstance(constraints, Constraint) else tuple(constraints)
    for name, value in (("owner", owner), ("contacted", contacted), ("age_hours", age_hours), ("tier", tier)):
        if value is None:
            raise ValidationError(f"{name} must be given, one entry per lead")
    owners = rep_per_lead("owner", owner, problem)
    reclaimed = stale_leads(problem, owners, contacted, age_hours, tier, sla_hours)
    rules = bind(problem, given)  # checks the user's rules before anything is added to them

    lead_ids = [_plain(i) for i in problem.lead_ids.tolist()]
    rep_ids = [_plain(r) for r in problem.rep_ids.tolist()]
    pinned_by_user = {lead for rule in given if isinstance(rule, Pin) for lead, _ in rule.pairs}

    keep = np.flatnonzero((owners >= 0) & ~reclaimed)
    keep = keep[[lead_ids[i] not in pinned_by_user for i in keep.tolist()]] if pinned_by_user else keep
    keep_pairs = problem.pair_index(keep, owners[keep])
    if (keep_pairs < 0).any():
        lead = int(keep[np.flatnonzero(keep_pairs < 0)[0]])
        raise ValidationError(
            f"owner gives lead {lead_ids[lead]!r} to rep {rep_ids[owners[lead]]!r}, which is not a candidate pair of "
            "problem; a lead kept by its owner must be eligible there (reclaimed leads may be ineligible)"
        )

    # candidates each reclaimed lead has besides its owner, among the pairs the user's rules allow
    stale = np.flatnonzero(reclaimed)
    other = np.zeros(problem.n_leads, np.int64)
    usable = rules.allowed & (problem.pair_rep != owners[problem.pair_lead])
    np.add.at(other, problem.pair_lead[usable], 1)
    forbid = stale[(other[stale] > 0) & np.array([lead_ids[i] not in pinned_by_user for i in stale.tolist()],
                                                   dtype=bool).reshape(-1)]
    returned_allowed = np.zeros(problem.n_leads, bool)
    returned_allowed[stale] = True
    returned_allowed[forbid] = False

    added: list[Constraint] = []
    if keep.size:
        added.append(Pin([(lead_ids[i], rep_ids[owners[i]]) for i in keep.tolist()]))
    if forbid.size:
        added.append(Forbid([(lead_ids[i], rep_ids[owners[i]]) for i in forbid.tolist()]))
    result = solve(problem, given + tuple(added), solver=solver, objective=objective, seed=seed,
                   time_limit=time_limit, rel_gap=rel_gap)

    returned = returned_allowed & (result.rep_of == owners) & reclaimed
    counts = np.bincount(owners[reclaimed], minlength=problem.n_reps).astype(np.int64)
    previous = owners.copy()
    for array in (reclaimed, previous, returned, counts):
        array.flags.writeable = False
    return Recycling(result=result, reclaimed=reclaimed, previous_owner=previous, returned=returned,
                     reclaims_per_rep=counts)
