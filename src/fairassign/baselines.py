r"""The routing rules CRMs use today, as baselines to measure the optimiser against.

Every baseline is a function ``(problem, *, seed=0, allowed=None, pinned=None, **options)
-> rep_of`` (int64, -1 for unassigned) over the problem's sparse candidate list:

=========================  =====================================================================
function                   what it does (source)
=========================  =====================================================================
round_robin                leads in arrival order, each to the next rep in a strict rotation
                           that has room (Zoho, Dynamics 365, Frappe, HubSpot rotations)
weighted_round_robin       Odoo CRM: a daily quota per member, members sorted by quota left,
                           best leads first, each to the first member in the rotation that
                           can take it (``crm_team.py``, ``_assign_and_convert_leads``)
load_balancing             the least-loaded eligible rep, by open leads or by effort
                           (Zoho, Dynamics 365, Frappe "load balancing")
territory                  an ordered rule list; the first matching entry's rep or pool wins,
                           round robin inside a pool (Salesforce lead assignment rules)
points                     a draft: reps in order of points pick their best remaining lead,
                           one pick per round (points-based / gamified distribution)
cherry_picking             the best rep takes its best leads first, until full: the
                           behaviour routing rules exist to stop
=========================  =====================================================================

What every baseline keeps, as CRMs do: capacity (in effort units, whatever the effort
kind, per pair included), eligibility (only candidate pairs), and the hard rules passed as
``allowed`` (``fairassign.rules.bind(problem, constraints).allowed``: forbidden pairs
removed, a pinned lead left with its pin only). Leads flagged in ``pinned`` go to their pin
first, before any rotation starts, when it fits (a manual assignment in a CRM). What no
baseline looks at: count and value bands, fair shares and :class:`AssignAll`; the
comparison measures what that costs. Same input and seed, same assignment.

A pair fits a rep when its effort is at most the rep's remaining capacity (plus a relative
slack of 1e-9, far inside the verifier's 1e-6).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ValidationError
from .problem import Problem

if TYPE_CHECKING:
    from .datasets import Batch

__all__ = [
    "BASELINES",
    "TerritoryRule",
    "round_robin",
    "weighted_round_robin",
    "load_balancing",
    "territory",
    "territory_rules",
    "points",
    "cherry_picking",
]

#: relative slack on capacity when checking that a pair fits (the verifier allows 1e-6)
_FIT_RTOL = 1e-9
#: candidate pairs scanned at once when a rep looks for its best remaining lead
_CHUNK = 64


# --------------------------------------------------------------------------- shared state
class _Routing:
    """Validated inputs and the running state of one baseline: who has what, and what is left."""

    def __init__(self, problem: Any, seed: Any, allowed: Any, pinned: Any) -> None:
        if not isinstance(problem, Problem):
            raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValidationError(f"seed must be a non-negative integer, got {seed!r}")
        self.problem = problem
        self.rng = np.random.default_rng(int(seed))
        self.allowed = _mask("allowed", allowed, problem.n_pairs, "candidate pair (problem.n_pairs)")
        pinned_mask = _mask("pinned", pinned, problem.n_leads, "lead (problem.n_leads)", default=False)
        self.rep_of = np.full(problem.n_leads, -1, dtype=np.int64)
        self.room = problem.capacity.astype(np.float64).copy()
        finite = np.where(np.isfinite(problem.capacity), problem.capacity, 0.0)
        self.slack = _FIT_RTOL * np.maximum(finite, 1.0)
        self.count = np.zeros(problem.n_reps, dtype=np.int64)
        self.effort = np.zeros(problem.n_reps, dtype=np.float64)
        self.pinned = pinned_mask
        for lead in np.flatnonzero(pinned_mask).tolist():
            pair = self.first_fitting(lead)
            if pair >= 0:
                self.take(lead, pair)

    def fitting(self, lead: int) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """The lead's candidate reps and which of them are allowed and have room for it."""
        problem = self.problem
        start, stop = problem.lead_start[lead], problem.lead_start[lead + 1]
        reps = problem.pair_rep[start:stop]
        ok = self.allowed[start:stop] & (problem.pair_effort[start:stop] <= self.room[reps] + self.slack[reps])
        return reps, ok

    def first_fitting(self, lead: int) -> int:
        _, ok = self.fitting(lead)
        hits = np.flatnonzero(ok)
        return int(self.problem.lead_start[lead] + hits[0]) if hits.size else -1

    def take(self, lead: int, pair: int) -> int:
        """Give ``lead`` to the rep of candidate ``pair``; returns that rep."""
        rep = int(self.problem.pair_rep[pair])
        self.rep_of[lead] = rep
        self.room[rep] -= self.problem.pair_effort[pair]
        self.effort[rep] += self.problem.pair_effort[pair]
        self.count[rep] += 1
        return rep

    def open_leads(self) -> NDArray[np.int64]:
        """Leads the rotation still has to route (all but the pinned ones), in arrival order."""
        return np.flatnonzero(~self.pinned)


def _mask(name: str, given: Any, length: int, what: str, *, default: bool = True) -> NDArray[np.bool_]:
    if given is None:
        return np.full(length, default, dtype=bool)
    array = np.asarray(given)
    if array.shape != (length,) or array.dtype != np.bool_:
        raise ValidationError(
            f"{name} must be a boolean array with one entry per {what}, i.e. shape ({length},), "
            f"got dtype {array.dtype} and shape {array.shape}"
        )
    return array


def _per_rep(name: str, given: Any, n_reps: int, *, allow_inf: bool) -> NDArray[np.float64]:
    try:
        array = np.array(given, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be numeric with one entry per rep, got {given!r}") from None
    if array.ndim == 0:
        array = np.full(n_reps, float(array))
    if array.shape != (n_reps,):
        raise ValidationError(f"{name} must be a scalar or have one entry per rep (n_reps={n_reps}), "
                              f"got shape {array.shape}")
    bad = np.isnan(array) | (array < 0) | (np.isinf(array) if not allow_inf else False)
    if bad.any():
        rep = int(np.flatnonzero(bad)[0])
        expected = ">= 0 (inf allowed)" if allow_inf else "finite and >= 0"
        raise ValidationError(f"{name} must be {expected}; found {array[rep]} at rep {rep}")
    return array


def _pick_rotation(reps: NDArray[np.int64], ok: NDArray[np.bool_], position: NDArray[np.float64]) -> int:
    """Index into ``reps`` of the allowed rep with the lowest rotation position (ties: lowest rep)."""
    if reps.size == 0:
        return -1
    keys = np.where(ok, position[reps], np.inf)
    k = int(np.argmin(keys))
    return k if np.isfinite(keys[k]) else -1


# --------------------------------------------------------------------------- round robin
def round_robin(problem: Problem, *, seed: int = 0, allowed: ArrayLike | None = None,
                pinned: ArrayLike | None = None, start: int = 0) -> NDArray[np.int64]:
    """Strict rotation: leads in arrival order, each to the next rep in turn that can take it.

    The turn starts at rep ``start`` and, after each assignment, moves to the rep after the
    one that got the lead. A rep whose turn it is but that is not a candidate for the lead,
    or lacks the room for its effort, is skipped for that lead only. A lead no rep can take
    stays unassigned. ``seed`` is accepted for a uniform interface; nothing is random.

    Parameters
    ----------
    problem : Problem
    seed : int
    allowed : bool array (n_pairs,), optional
        Pairs the rules allow (``rules.bind(problem, constraints).allowed``); default all.
    pinned : bool array (n_leads,), optional
        Leads that go to their (single allowed) pair before the rotation starts.
    start : int
        Position of the rep whose turn comes first.

    Returns
    -------
    int64 array (n_leads,)
        Rep position of each lead, -1 for unassigned.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]], capacity=[2, 1])
    >>> round_robin(problem).tolist()
    [0, 1, 0]
    """
    state = _Routing(problem, seed, allowed, pinned)
    n_reps = problem.n_reps
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or not 0 <= start < max(n_reps, 1):
        raise ValidationError(f"start must be a rep position in [0, {n_reps - 1}], got {start!r}")
    turn = int(start)
    rep_range = np.arange(n_reps, dtype=np.float64)
    for lead in state.open_leads().tolist():
        reps, ok = state.fitting(lead)
        k = _pick_rotation(reps, ok, (rep_range - turn) % n_reps)
        if k < 0:
            continue
        rep = state.take(lead, int(problem.lead_start[lead] + k))
        turn = (rep + 1) % n_reps
    return state.rep_of


# --------------------------------------------------------------------------- weighted (Odoo)
def _lead_priority(problem: Problem, allowed: NDArray[np.bool_], given: Any) -> NDArray[np.float64]:
    if given is not None:
        priority = np.array(given, dtype=np.float64)
        if priority.shape != (problem.n_leads,) or np.isnan(priority).any():
            raise ValidationError(f"lead_priority must be numbers without NaN, one per lead "
                                  f"(n_leads={problem.n_leads}), got shape {priority.shape}")
        return priority
    # a lead's probability in Odoo does not depend on the member; here a lead is worth what
    # its best allowed pair scores
    scores = np.where(allowed, problem.pair_score, -np.inf)
    priority = np.full(problem.n_leads, -np.inf)
    np.maximum.at(priority, problem.pair_lead, scores)
    return priority


def weighted_round_robin(problem: Problem, *, seed: int = 0, allowed: ArrayLike | None = None,
                         pinned: ArrayLike | None = None, monthly_capacity: ArrayLike | None = None,
                         opened_last_day: ArrayLike | None = None,
                         lead_priority: ArrayLike | None = None) -> NDArray[np.int64]:
    r"""Odoo CRM's rotation by daily quota (``crm_team.py``, ``_assign_and_convert_leads``).

    1. Each member's quota is :math:`q_r = \lfloor m_r / 30 + 1/2 \rfloor - o_r` (at least 0),
       with :math:`m_r` the monthly capacity (``assignment_max``) and :math:`o_r` the leads
       opened for the member in the last 24 hours (pinned leads of this batch count too).
    2. Members with quota left form the rotation, sorted by quota, largest first; ties are
       broken at random (seeded).
    3. Leads go highest priority first (Odoo: probability; ties by position). Each goes to the
       first member in the rotation that may take it (allowed pair, room for its effort);
       that member moves to the end of the rotation, or leaves it when its quota hits 0.
    4. A lead no member in the rotation can take stays unassigned.

    Parameters
    ----------
    problem : Problem
    seed : int
        Breaks ties between members with the same quota.
    allowed, pinned : optional
        As in :func:`round_robin`.
    monthly_capacity : float or array (n_reps,), optional
        Leads per 30 days per member, ``inf`` for no quota. Default ``30 * capacity``, so the
        daily quota equals the capacity.
    opened_last_day : float or array (n_reps,), optional
        Leads already opened for each member in the last 24 hours; default 0.
    lead_priority : array (n_leads,), optional
        Higher goes first; default the lead's best allowed pair score.

    Returns
    -------
    int64 array (n_leads,)

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 1.0]] * 4, capacity=[1, 3])
    >>> weighted_round_robin(problem).tolist()  # rep 1 has the larger quota: first in the rotation
    [1, 0, 1, 1]
    """
    state = _Routing(problem, seed, allowed, pinned)
    n_reps = problem.n_reps
    monthly = 30.0 * problem.capacity if monthly_capacity is None else \
        _per_rep("monthly_capacity", monthly_capacity, n_reps, allow_inf=True)
    opened = np.zeros(n_reps) if opened_last_day is None else \
        _per_rep("opened_last_day", opened_last_day, n_reps, allow_inf=False)
    with np.errstate(invalid="ignore"):
        quota = np.where(np.isinf(monthly), np.inf, np.floor(monthly / 30.0 + 0.5)) - opened - state.count
    quota = np.maximum(quota, 0.0)

    members = np.flatnonzero(quota > 0)
    tie = state.rng.permutation(n_reps)
    members = members[np.lexsort((tie[members], -quota[members]))]
    position = np.full(n_reps, np.inf)
    position[members] = np.arange(members.size)
    next_position = float(members.size)

    priority = _lead_priority(problem, state.allowed, lead_priority)
    leads = state.open_leads()
    leads = leads[np.argsort(-priority[leads], kind="stable")]
    for lead in leads.tolist():
        reps, ok = state.fitting(lead)
        k = _pick_rotation(reps, ok, position)
        if k < 0:
            continue
        rep = state.take(lead, int(problem.lead_start[lead] + k))
        quota[rep] -= 1
        if quota[rep] > 0:
            position[rep] = next_position  # back to the end of the rotation
            next_position += 1.0
        else:
            position[rep] = np.inf  # quota reached: out of the rotation
    return state.rep_of


# --------------------------------------------------------------------------- load balancing
def load_balancing(problem: Problem, *, seed: int = 0, allowed: ArrayLike | None = None,
                   pinned: ArrayLike | None = None, by: Literal["count", "effort"] = "count",
                   open_load: ArrayLike | None = None) -> NDArray[np.int64]:
    """Each lead, in arrival order, to the least-loaded rep that may take it and has room.

    The load of a rep is ``open_load`` (work carried in) plus what it receives here: one per
    lead (``by="count"``, Frappe's "fewest open assignments", Zoho and Dynamics 365 load
    balancing) or the pair's effort (``by="effort"``). Ties go to the lowest rep position.
    Nothing is random.

    Parameters
    ----------
    problem : Problem
    seed : int
    allowed, pinned : optional
        As in :func:`round_robin`; pinned leads add to their rep's load.
    by : {"count", "effort"}
    open_load : float or array (n_reps,), optional
        Open leads (or effort) each rep already holds; default 0.

    Returns
    -------
    int64 array (n_leads,)

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 1.0]] * 3, capacity=[5, 5])
    >>> load_balancing(problem, open_load=[2, 0]).tolist()
    [1, 1, 0]
    """
    if by not in ("count", "effort"):
        raise ValidationError(f"by must be 'count' or 'effort', got {by!r}")
    state = _Routing(problem, seed, allowed, pinned)
    load = np.zeros(problem.n_reps) if open_load is None else \
        _per_rep("open_load", open_load, problem.n_reps, allow_inf=False)
    load = load + (state.count if by == "count" else state.effort)
    for lead in state.open_leads().tolist():
        reps, ok = state.fitting(lead)
        k = _pick_rotation(reps, ok, load)
        if k < 0:
            continue
        pair = int(problem.lead_start[lead] + k)
        rep = state.take(lead, pair)
        load[rep] += 1.0 if by == "count" else problem.pair_effort[pair]
    return state.rep_of


# --------------------------------------------------------------------------- territory
@dataclass(frozen=True, eq=False)
class TerritoryRule:
    """One entry of an ordered territory rule list (a Salesforce lead assignment rule entry).

    A lead matches when every ``criteria`` column holds an accepted value and ``predicate``
    (when given) is True for it; an entry with neither matches every lead (a catch-all).

    Attributes
    ----------
    reps : tuple of rep ids
        One rep (a user), or a pool (a queue) served by round robin in the order given.
    criteria : mapping of column name to value or collection of values
        ``{"region": "North"}`` or ``{"region": ("North", "East"), "tier": "A"}``.
    predicate : callable, optional
        ``predicate(lead_attributes) -> bool array (n_leads,)``, for conditions criteria
        cannot say (``lambda a: a["value"] > 5000``).
    name : str
        A label for the entry, used in messages.
    """

    reps: tuple[Hashable, ...]
    criteria: Mapping[str, Any] = field(default_factory=dict)
    predicate: Callable[[Mapping[str, NDArray[Any]]], ArrayLike] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        reps = self.reps
        if isinstance(reps, str) or not isinstance(reps, Iterable):
            reps = (reps,)
        object.__setattr__(self, "reps", tuple(reps))
        if not isinstance(self.criteria, Mapping):
            raise ValidationError(f"TerritoryRule.criteria must be a mapping of column -> accepted value(s), "
                                  f"got {type(self.criteria).__name__}")
        object.__setattr__(self, "criteria", MappingProxyType(dict(self.criteria)))
        if self.predicate is not None and not callable(self.predicate):
            raise ValidationError(f"TerritoryRule.predicate must be callable or None, got {self.predicate!r}")

    def label(self, index: int) -> str:
        return self.name or f"rule {index}"

    def matches(self, lead_attributes: Mapping[str, NDArray[Any]], n_leads: int, index: int) -> NDArray[np.bool_]:
        """Bool mask of the leads this entry matches."""
        mask = np.ones(n_leads, dtype=bool)
        for column, accepted in self.criteria.items():
            if column not in lead_attributes:
                raise ValidationError(
                    f"territory {self.label(index)} tests lead attribute {column!r}, which lead_attributes does not "
                    f"have (columns: {sorted(lead_attributes)})"
                )
            values = lead_attributes[column]
            if isinstance(accepted, str | bytes) or not isinstance(accepted, Iterable):
                mask &= np.asarray(values == accepted, dtype=bool)
            elif values.dtype == object:  # tuples or mixed types: compare as Python objects
                accepted_set = set(accepted)
                mask &= np.fromiter((value in accepted_set for value in values.tolist()), bool, n_leads)
            else:
                mask &= np.isin(values, np.asarray(list(accepted)))
        if self.predicate is not None:
            chosen = np.asarray(self.predicate(lead_attributes))
            if chosen.shape != (n_leads,) or chosen.dtype != np.bool_:
                raise ValidationError(f"territory {self.label(index)}: predicate must return a boolean array of "
                                      f"shape ({n_leads},), got dtype {chosen.dtype} and shape {chosen.shape}")
            mask &= chosen
        return mask


def _lead_columns(given: Any, n_leads: int) -> dict[str, NDArray[Any]]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise ValidationError(f"lead_attributes must be a mapping of column name -> array (n_leads,), "
                              f"got {type(given).__name__}")
    columns: dict[str, NDArray[Any]] = {}
    for name, values in given.items():
        array = np.asarray(values)
        if array.shape != (n_leads,):
            raise ValidationError(f"lead_attributes[{name!r}] must have one entry per lead (n_leads={n_leads}), "
                                  f"got shape {array.shape}")
        columns[str(name)] = array
    return columns


def territory(problem: Problem, *, seed: int = 0, allowed: ArrayLike | None = None,
              pinned: ArrayLike | None = None, rules: Iterable[TerritoryRule] | None = None,
              lead_attributes: Mapping[str, ArrayLike] | None = None) -> NDArray[np.int64]:
    """First-match territory rules (Salesforce lead assignment rules), round robin in a pool.

    Each lead, in arrival order, is sent to the first entry of ``rules`` it matches; the
    entry's reps are its pool, served in rotation (each pool has its own turn, as in
    :func:`round_robin`), skipping reps that may not take the lead or lack room. Later
    entries are never tried: a lead whose first matching entry has no rep able to take it,
    or that matches no entry, stays unassigned.

    Parameters
    ----------
    problem : Problem
    seed : int
        Accepted for a uniform interface; nothing is random.
    allowed, pinned : optional
        As in :func:`round_robin`.
    rules : iterable of TerritoryRule, optional
        Ordered entries. Default: one catch-all pool of every rep in position order, which
        is plain :func:`round_robin`. :func:`territory_rules` builds region rules from a
        :class:`fairassign.datasets.Batch`.
    lead_attributes : mapping of column -> array (n_leads,), optional
        The columns the criteria and predicates read (``batch.leads``).

    Returns
    -------
    int64 array (n_leads,)

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 1.0, 1.0]] * 3, capacity=[5, 5, 5], rep_ids=["a", "b", "c"])
    >>> entries = [TerritoryRule(reps=("a",), criteria={"region": "N"}), TerritoryRule(reps=("b", "c"))]
    >>> territory(problem, rules=entries, lead_attributes={"region": ["S", "N", "S"]}).tolist()
    [1, 0, 2]
    """
    state = _Routing(problem, seed, allowed, pinned)
    entries = (TerritoryRule(reps=tuple(problem.rep_ids.tolist()), name="every rep"),) if rules is None \
        else tuple(rules)
    for index, entry in enumerate(entries):
        if not isinstance(entry, TerritoryRule):
            raise ValidationError(f"rules must hold TerritoryRule entries; entry {index} is {entry!r}")
    columns = _lead_columns(lead_attributes, problem.n_leads)

    pools: list[NDArray[np.int64]] = []
    for index, entry in enumerate(entries):
        positions = []
        for rep_id in entry.reps:
            try:
                positions.append(problem.rep_position(rep_id))
            except (KeyError, TypeError):
                raise ValidationError(f"territory {entry.label(index)} names rep id {rep_id!r}, which is not in "
                                      "problem.rep_ids") from None
        pools.append(np.asarray(positions, dtype=np.int64))

    first = np.full(problem.n_leads, len(entries), dtype=np.int64)
    for index, entry in enumerate(entries):
        first[(first == len(entries)) & entry.matches(columns, problem.n_leads, index)] = index

    turn = np.zeros(len(entries), dtype=np.int64)
    able = np.zeros(problem.n_reps, dtype=bool)  # scratch: reps able to take the current lead
    for lead in state.open_leads().tolist():
        index = int(first[lead])
        if index == len(entries) or pools[index].size == 0:
            continue
        reps, ok = state.fitting(lead)
        able[reps[ok]] = True
        pool = pools[index]
        candidates = able[pool]
        able[reps] = False
        if not candidates.any():
            continue
        distance = np.where(candidates, (np.arange(pool.size) - turn[index]) % pool.size, pool.size)
        slot = int(np.argmin(distance))
        rep = int(pool[slot])
        k = int(np.flatnonzero(reps == rep)[0])
        state.take(lead, int(problem.lead_start[lead] + k))
        turn[index] = (slot + 1) % pool.size
    return state.rep_of


def territory_rules(batch: Batch, column: str = "region") -> tuple[TerritoryRule, ...]:
    """One territory entry per value of a lead column, sending it to the reps that cover it.

    For ``column="region"``, the entry for region *g* has the criteria ``{"region": g}`` and
    the pool of reps whose ``regions`` (or, without that column, home ``region``) include
    *g*, in rep order. Values are taken in sorted order; a value no rep covers gets no entry,
    so its leads stay unassigned.

    Parameters
    ----------
    batch : fairassign.datasets.Batch
    column : str
        The lead column to route on; the reps need a column of the same name, or its plural
        holding tuples (``region`` / ``regions``).

    Examples
    --------
    >>> from fairassign.datasets import load_example
    >>> entries = territory_rules(load_example())
    >>> [(dict(e.criteria)["region"], e.reps) for e in entries][:2]
    [('North', ('Ana', 'Dara', 'Femi')), ('South', ('Ben', 'Chen', 'Eli'))]
    """
    if column not in batch.leads:
        raise ValidationError(f"column must be a lead column of the batch ({sorted(batch.leads)}), got {column!r}")
    plural = column + "s"
    if plural in batch.reps:
        covers = [set(items) for items in batch.reps[plural].tolist()]
    elif column in batch.reps:
        covers = [{item} for item in batch.reps[column].tolist()]
    else:
        raise ValidationError(f"the batch's reps have neither {column!r} nor {plural!r}, so no rep covers a value "
                              f"of lead column {column!r}")
    rep_ids = batch.problem.rep_ids.tolist()
    entries = []
    for value in sorted(set(np.asarray(batch.leads[column]).tolist())):
        pool = tuple(rep_ids[r] for r, covered in enumerate(covers) if value in covered)
        if pool:
            entries.append(TerritoryRule(reps=pool, criteria={column: value}, name=f"{column} {value}"))
    return tuple(entries)


# --------------------------------------------------------------------------- pick by score
class _Picker:
    """Each rep's candidate pairs, best score first, with a cursor past the ones that are gone.

    A pair once skipped never comes back: its lead is taken, it is not allowed, or it did
    not fit, and a rep's room only shrinks. So each cursor only moves forward.
    """

    def __init__(self, state: _Routing) -> None:
        problem = state.problem
        self.state = state
        self.order = np.lexsort((problem.pair_lead, -problem.pair_score, problem.pair_rep))
        self.start = problem.rep_start
        self.cursor = problem.rep_start[:-1].copy()
        self.taken = state.rep_of >= 0

    def pick(self, rep: int) -> int:
        """Give ``rep`` its best remaining lead that it may take; returns the lead or -1."""
        state, problem = self.state, self.state.problem
        stop = int(self.start[rep + 1])
        limit = state.room[rep] + state.slack[rep]
        cursor = int(self.cursor[rep])
        while cursor < stop:
            pairs = self.order[cursor:min(cursor + _CHUNK, stop)]
            ok = state.allowed[pairs] & ~self.taken[problem.pair_lead[pairs]] & (problem.pair_effort[pairs] <= limit)
            hits = np.flatnonzero(ok)
            if hits.size:
                pair = int(pairs[hits[0]])
                lead = int(problem.pair_lead[pair])
                state.take(lead, pair)
                self.taken[lead] = True
                self.cursor[rep] = cursor + hits[0] + 1
                return lead
            cursor += pairs.size
        self.cursor[rep] = stop
        return -1


def points(problem: Problem, *, seed: int = 0, allowed: ArrayLike | None = None,
           pinned: ArrayLike | None = None, points: ArrayLike | None = None) -> NDArray[np.int64]:
    """Points-based priority: a draft in which the reps with the most points pick first.

    Rounds repeat until no rep can pick: in each round, every rep still picking, in order of
    points (most first; ties in a seeded random order drawn once), takes its best remaining
    lead (highest pair score, ties by lead position) that it may take and has room for. A
    rep that finds none leaves the draft. This is the "leaderboard" distribution of
    gamified CRMs (reps earn points for conversions, speed and activity, and the leaders
    choose first), with the points given, not learned.

    Parameters
    ----------
    problem : Problem
    seed : int
        Orders reps with equal points.
    allowed, pinned : optional
        As in :func:`round_robin`.
    points : float or array (n_reps,), optional
        Each rep's points (e.g. last quarter's conversions). Default: equal points for
        every rep, so the pick order is a seeded random permutation, the same in every
        round.

    Returns
    -------
    int64 array (n_leads,)

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [0.5, 0.5]], capacity=[2, 2])
    >>> points(problem, points=[10, 5]).tolist()  # rep 0 picks lead 2, rep 1 lead 0, rep 0 lead 1, ...
    [1, 0, 0, 1]
    """
    state = _Routing(problem, seed, allowed, pinned)
    given = np.zeros(problem.n_reps) if points is None else \
        _per_rep("points", points, problem.n_reps, allow_inf=False)
    tie = state.rng.permutation(problem.n_reps)
    picking = np.lexsort((tie, -given)).tolist()
    picker = _Picker(state)
    while picking:
        picking = [rep for rep in picking if picker.pick(rep) >= 0]
    return state.rep_of


def cherry_picking(problem: Problem, *, seed: int = 0, allowed: ArrayLike | None = None,
                   pinned: ArrayLike | None = None, rank_by: Literal["mean", "total"] = "mean") -> NDArray[np.int64]:
    """The best rep takes its best leads first, until full; then the next best rep; and so on.

    Reps are ranked by the mean (or total) score of their allowed candidate pairs, highest
    first (ties: lowest position); a rep without allowed pairs comes last. Each rep in turn
    takes its best remaining leads (highest pair score) while it has room. This is the
    grabbing that routing rules exist to stop ("a preferred rule turns into grabbing"); it
    is here to measure what it costs the rest of the team. Nothing is random.

    Parameters
    ----------
    problem : Problem
    seed : int
    allowed, pinned : optional
        As in :func:`round_robin`.
    rank_by : {"mean", "total"}
        How a rep's candidate scores make its rank.

    Returns
    -------
    int64 array (n_leads,)

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 3.0], [2.0, 4.0], [3.0, 1.0]], capacity=[2, 2])
    >>> cherry_picking(problem).tolist()  # rep 1 (mean 2.67) takes leads 1 and 0 first
    [1, 1, 0]
    """
    if rank_by not in ("mean", "total"):
        raise ValidationError(f"rank_by must be 'mean' or 'total', got {rank_by!r}")
    state = _Routing(problem, seed, allowed, pinned)
    n_reps = problem.n_reps
    total = np.bincount(problem.pair_rep, weights=np.where(state.allowed, problem.pair_score, 0.0), minlength=n_reps)
    count = np.bincount(problem.pair_rep, weights=state.allowed.astype(float), minlength=n_reps)
    rank = total if rank_by == "total" else np.divide(total, count, out=np.zeros(n_reps), where=count > 0)
    rank = np.where(count > 0, rank, -np.inf)
    picker = _Picker(state)
    for rep in np.argsort(-rank, kind="stable").tolist():
        while picker.pick(rep) >= 0:
            pass
    return state.rep_of


#: every baseline by its strategy name (see :mod:`fairassign.strategies`)
BASELINES: Mapping[str, Callable[..., NDArray[np.int64]]] = MappingProxyType({
    "round-robin": round_robin,
    "weighted-round-robin": weighted_round_robin,
    "load-balancing": load_balancing,
    "territory": territory,
    "points": points,
    "cherry-picking": cherry_picking,
})
