r"""Synthetic routing batches, and the small example batch shipped with the package.

:func:`make_batch` draws a batch that looks like a sales team's day, from a seed:

* leads have a tier (A best, then B, C), a region and an industry; their value is
  heavy-tailed (lognormal, scaled up for better tiers) and, optionally, their effort
  depends on the tier (A = 3, B = 2, C = 1 units);
* reps have the highest tier they may take, the regions they cover (a home region, and
  sometimes a second one), the industries they know, and a capacity in effort units;
* a pair is a candidate when the rep is cleared for the lead's tier and covers its region
  (:func:`fairassign.tier_eligibility` and :func:`fairassign.attribute_eligibility`);
  every region has at least one rep cleared for A, so every lead has a candidate;
* a pair's score is the lead's value times a fit: 0.5, plus 0.3 when the rep knows the
  lead's industry, plus 0.2 when the lead is in the rep's home region, plus Gaussian noise
  (clipped at 0.05), i.e. :math:`s_{ir} = v_i \, \max(0.05, 0.5 + 0.3 k_{ir} + 0.2 h_{ir} + \sigma \epsilon_{ir})`.

The candidate list is built directly in sparse form, one class of leads (region, tier) at
a time, so 100k leads x 1k reps never allocates a dense leads x reps matrix.

:func:`load_example` returns a fixed 60-lead, 6-rep batch read from a data file inside the
package; :func:`save_batch` and :func:`load_batch` write and read that JSON format.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .eligibility import attribute_eligibility, tier_eligibility
from .errors import ValidationError
from .problem import Problem

__all__ = ["Batch", "make_batch", "load_example", "load_batch", "save_batch", "TIERS", "TIER_EFFORT"]

#: lead tiers, best first
TIERS: tuple[str, ...] = ("A", "B", "C")
#: effort units of a lead by tier, used with ``make_batch(..., tier_effort=True)``
TIER_EFFORT: Mapping[str, float] = MappingProxyType({"A": 3.0, "B": 2.0, "C": 1.0})
#: how much more an A or B lead is worth than a C lead, on average
_TIER_VALUE = np.array([4.0, 2.0, 1.0])
_DEFAULT_REGIONS = ("North", "South", "East", "West")
_DEFAULT_INDUSTRIES = ("Software", "Retail", "Manufacturing", "Finance", "Health")
#: random keys drawn at once when sampling candidates (bounds the memory of one chunk)
_CHUNK_CELLS = 250_000
_FORMAT = "fairassign.batch/1"


@dataclass(frozen=True, eq=False)
class Batch:
    """A routing batch and the attributes it was built from.

    Attributes
    ----------
    problem : Problem
        Ready for :func:`fairassign.solve`; eligibility is already in its candidate list.
    leads : mapping of str to ndarray, each of length n_leads
        ``id``, ``tier``, ``region``, ``industry``, ``value``, ``effort``.
    reps : mapping of str to ndarray, each of length n_reps
        ``id``, ``max_tier``, ``region`` (home), ``regions`` (tuples of regions covered),
        ``skills`` (tuples of industries known), ``capacity``.
    description : str
        How the batch was made.
    """

    problem: Problem
    leads: Mapping[str, NDArray[Any]]
    reps: Mapping[str, NDArray[Any]]
    description: str = field(default="")

    def __repr__(self) -> str:
        return f"Batch({self.problem!r}, description={self.description!r})"


def _frozen(columns: dict[str, NDArray[Any]]) -> Mapping[str, NDArray[Any]]:
    for array in columns.values():
        array.flags.writeable = False
    return MappingProxyType(columns)


def _object_array(items: Sequence[Any]) -> NDArray[np.object_]:
    # np.array would turn equal-length tuples into a 2-D array; keep one tuple per entry
    out = np.empty(len(items), dtype=object)
    for k, item in enumerate(items):
        out[k] = item
    return out


def _check_count(name: str, given: Any, minimum: int) -> int:
    if isinstance(given, bool) or not isinstance(given, int | np.integer) or given < minimum:
        raise ValidationError(f"{name} must be an integer >= {minimum}, got {given!r}")
    return int(given)


def _labels(name: str, given: Sequence[str], minimum: int = 1) -> tuple[str, ...]:
    labels = tuple(given)
    if len(labels) < minimum or len(set(labels)) != len(labels):
        raise ValidationError(f"{name} must hold at least {minimum} distinct labels, got {given!r}")
    return labels


def _mix(name: str, given: Sequence[float]) -> NDArray[np.float64]:
    mix = np.asarray(given, dtype=np.float64)
    if mix.shape != (len(TIERS),) or np.any(~np.isfinite(mix)) or np.any(mix < 0) or mix.sum() <= 0:
        raise ValidationError(f"{name} must be {len(TIERS)} non-negative weights for tiers {TIERS}, got {given!r}")
    return mix / mix.sum()


def draw_reps(rng: np.random.Generator, n_reps: int, n_tiers: int, tier_mix: NDArray[np.float64], n_regions: int,
              n_industries: int, extra_region: float) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                                                NDArray[np.bool_], NDArray[np.bool_]]:
    """A team drawn from ``rng``: highest tier (0 best), home region, regions covered, industries known.

    Every region is covered, and by at least one rep cleared for tier 0, so every lead has a rep;
    each rep knows one industry, half of them a second. Shared by :func:`make_batch` and the
    simulator (:mod:`fairassign.simulate`), so both draw teams alike.
    """
    rep_tier = rng.choice(n_tiers, size=n_reps, p=tier_mix).astype(np.int64)
    home = (rng.permutation(n_reps) % n_regions).astype(np.int64)
    covers = np.zeros((n_reps, n_regions), dtype=bool)
    covers[np.arange(n_reps), home] = True
    second = rng.integers(0, n_regions, size=n_reps)
    takes_second = rng.random(n_reps) < extra_region
    covers[np.flatnonzero(takes_second), second[takes_second]] = True
    for region in np.flatnonzero(~covers.any(axis=0)).tolist():  # fewer reps than regions
        covers[region % n_reps, region] = True
    for region in range(n_regions):  # every region needs a rep cleared for tier 0
        covering = np.flatnonzero(covers[:, region])
        if not np.any(rep_tier[covering] == 0):
            rep_tier[covering[0]] = 0
    knows = np.zeros((n_reps, n_industries), dtype=bool)
    knows[np.arange(n_reps), rng.integers(0, n_industries, size=n_reps)] = True
    takes_second_skill = rng.random(n_reps) < 0.5
    knows[np.flatnonzero(takes_second_skill), rng.integers(0, n_industries, size=n_reps)[takes_second_skill]] = True
    return rep_tier, home, covers, knows


def _sample_distinct(rng: np.random.Generator, n_rows: int, population: int, size: int) -> NDArray[np.int64]:
    """``size`` distinct integers in ``[0, population)`` per row, uniform over subsets, sorted.

    When ``size`` is small against ``population``, rows of independent draws are redrawn
    until they hold no repeat (uniform, since every ordered draw without repeats is equally
    likely; more than a third of the rows pass each round), costing O(size) per row.
    Otherwise each row ranks ``population`` random keys, in chunks to bound the memory.
    """
    if size * (size - 1) <= 2 * population:
        picks = np.sort(rng.integers(0, population, size=(n_rows, size)), axis=1)
        redo = np.flatnonzero((picks[:, 1:] == picks[:, :-1]).any(axis=1))
        while redo.size:
            fresh = np.sort(rng.integers(0, population, size=(redo.size, size)), axis=1)
            picks[redo] = fresh
            redo = redo[(fresh[:, 1:] == fresh[:, :-1]).any(axis=1)]
        return picks
    out = np.empty((n_rows, size), dtype=np.int64)
    chunk = max(1, _CHUNK_CELLS // population)
    for start in range(0, n_rows, chunk):
        keys = rng.random((min(chunk, n_rows - start), population))
        out[start:start + chunk] = np.sort(np.argpartition(keys, size - 1, axis=1)[:, :size], axis=1)
    return out


def make_batch(
    n_leads: int,
    n_reps: int,
    *,
    seed: int = 0,
    candidates_per_lead: int | None = None,
    regions: Sequence[str] = _DEFAULT_REGIONS,
    industries: Sequence[str] = _DEFAULT_INDUSTRIES,
    tier_effort: bool = False,
    capacity_slack: float = 1.1,
    value_scale: float = 1000.0,
    value_sigma: float = 1.0,
    lead_tier_mix: Sequence[float] = (0.2, 0.3, 0.5),
    rep_tier_mix: Sequence[float] = (0.3, 0.4, 0.3),
    extra_region: float = 0.2,
    fit_noise: float = 0.1,
    rep_ids: Sequence[str] | None = None,
) -> Batch:
    r"""Draw a synthetic routing batch (see the module docstring for the recipe).

    Parameters
    ----------
    n_leads, n_reps : int
        Sizes, ``n_leads >= 0`` and ``n_reps >= 1``.
    seed : int
        Same arguments and seed, same batch.
    candidates_per_lead : int, optional
        Keep this many eligible reps per lead, drawn uniformly without replacement (all of
        them when a lead has fewer). None keeps every eligible rep; for large batches pass
        a number (e.g. 20) to keep the candidate list small.
    regions, industries : sequence of str
        Labels to draw from.
    tier_effort : bool
        Effort per lead by tier (:data:`TIER_EFFORT`: A = 3, B = 2, C = 1); default 1 per lead.
    capacity_slack : float
        Total capacity over total lead effort (> 0); below 1 not every lead fits.
    value_scale, value_sigma : float
        Lead value is ``value_scale * tier factor * lognormal(0, value_sigma)``, tier factor
        4 (A), 2 (B), 1 (C), rounded to cents.
    lead_tier_mix, rep_tier_mix : sequence of 3 floats
        Shares of A, B, C among leads, and among the reps' highest tiers.
    extra_region : float
        Probability that a rep also covers a second region.
    fit_noise : float
        Standard deviation :math:`\sigma` of the noise in the fit.
    rep_ids : sequence of str, optional
        Rep names; default ``"R-01"``, ``"R-02"``, ...

    Returns
    -------
    Batch
        Lead ids are ``"L-001"``, ``"L-002"``, ... (wider for larger batches).

    Examples
    --------
    >>> from fairassign.datasets import make_batch
    >>> batch = make_batch(200, 10, seed=1, candidates_per_lead=4)
    >>> batch.problem.shape, batch.problem.n_pairs <= 4 * 200
    ((200, 10), True)
    >>> sorted(set(batch.leads["tier"].tolist()))
    ['A', 'B', 'C']
    >>> bool((batch.problem.lead_degree >= 1).all())  # every lead has a candidate rep
    True
    """
    n_leads = _check_count("n_leads", n_leads, 0)
    n_reps = _check_count("n_reps", n_reps, 1)
    _check_count("seed", seed, 0)
    if candidates_per_lead is not None:
        candidates_per_lead = _check_count("candidates_per_lead", candidates_per_lead, 1)
    region_labels = _labels("regions", regions)
    industry_labels = _labels("industries", industries)
    for name, number, low in (("capacity_slack", capacity_slack, 0.0), ("value_scale", value_scale, 0.0)):
        if not (isinstance(number, int | float) and math.isfinite(number) and number > low):
            raise ValidationError(f"{name} must be a finite number > {low:g}, got {number!r}")
    for name, number in (("value_sigma", value_sigma), ("fit_noise", fit_noise)):
        if not (isinstance(number, int | float) and math.isfinite(number) and number >= 0):
            raise ValidationError(f"{name} must be a finite number >= 0, got {number!r}")
    if not (isinstance(extra_region, int | float) and 0 <= extra_region <= 1):
        raise ValidationError(f"extra_region must be a probability in [0, 1], got {extra_region!r}")
    lead_mix, rep_mix = _mix("lead_tier_mix", lead_tier_mix), _mix("rep_tier_mix", rep_tier_mix)
    if rep_ids is None:
        width = max(2, len(str(n_reps)))
        rep_names = np.array([f"R-{r + 1:0{width}d}" for r in range(n_reps)])
    else:
        rep_names = np.asarray(list(rep_ids))
        if rep_names.shape != (n_reps,):
            raise ValidationError(f"rep_ids must hold {n_reps} names, got {len(rep_names)}")

    rng = np.random.default_rng(seed)
    n_regions, n_industries = len(region_labels), len(industry_labels)

    # --- leads
    lead_tier = rng.choice(len(TIERS), size=n_leads, p=lead_mix).astype(np.int64)
    lead_region = rng.integers(0, n_regions, size=n_leads)
    lead_industry = rng.integers(0, n_industries, size=n_leads)
    value = np.round(value_scale * _TIER_VALUE[lead_tier] * rng.lognormal(0.0, value_sigma, size=n_leads), 2)
    value = np.maximum(value, 0.01)
    effort = np.array([TIER_EFFORT[t] for t in TIERS])[lead_tier] if tier_effort else np.ones(n_leads)

    # --- reps
    rep_tier, home, covers, skills = draw_reps(rng, n_reps, len(TIERS), rep_mix, n_regions, n_industries,
                                               extra_region)

    # --- candidates, one (region, tier) class of leads at a time: eligibility is per class
    class_region = np.repeat(np.arange(n_regions), len(TIERS))
    class_tier = np.tile(np.arange(len(TIERS)), n_regions)
    rep_regions = [tuple(np.flatnonzero(covers[r]).tolist()) for r in range(n_reps)]
    # reps share few coverage patterns: match classes against each pattern once
    patterns, pattern_of_rep = np.unique(covers, axis=0, return_inverse=True)
    covered_by_pattern = attribute_eligibility(
        class_region.tolist(), [tuple(np.flatnonzero(row).tolist()) for row in patterns])
    by_tier = tier_eligibility([TIERS[t] for t in class_tier.tolist()], [TIERS[t] for t in rep_tier.tolist()])
    class_mask = by_tier & covered_by_pattern[:, pattern_of_rep.ravel()]
    lead_class = lead_region * len(TIERS) + lead_tier
    members_by_class = np.argsort(lead_class, kind="stable")
    class_start = np.searchsorted(lead_class[members_by_class], np.arange(class_mask.shape[0] + 1))
    pair_lead: list[NDArray[np.int64]] = []
    pair_rep: list[NDArray[np.int64]] = []
    for c in range(class_mask.shape[0]):
        members = members_by_class[class_start[c]:class_start[c + 1]]
        eligible = np.flatnonzero(class_mask[c])
        if members.size == 0 or eligible.size == 0:
            continue
        keep = eligible.size if candidates_per_lead is None else min(candidates_per_lead, eligible.size)
        if keep == eligible.size:
            pair_lead.append(np.repeat(members, keep))
            pair_rep.append(np.tile(eligible, members.size))
            continue
        picked = _sample_distinct(rng, members.size, eligible.size, keep)
        pair_lead.append(np.repeat(members, keep))
        pair_rep.append(eligible[picked].ravel())
    leads_of_pairs = np.concatenate(pair_lead) if pair_lead else np.zeros(0, np.int64)
    reps_of_pairs = np.concatenate(pair_rep) if pair_rep else np.zeros(0, np.int64)
    order = np.argsort(leads_of_pairs * n_reps + reps_of_pairs, kind="stable")
    leads_of_pairs, reps_of_pairs = leads_of_pairs[order], reps_of_pairs[order]

    # Reps are staffed by demand: each lead's effort is split evenly over its candidate reps,
    # and a rep's capacity is that load times the slack, with +-15% noise, so the batch is
    # usually (not always) able to place every lead when the slack is above 1.
    degree = np.bincount(leads_of_pairs, minlength=n_leads)
    load = np.bincount(reps_of_pairs, weights=(effort / np.maximum(degree, 1))[leads_of_pairs], minlength=n_reps)
    noise_factor = rng.uniform(0.85, 1.15, size=n_reps)
    capacity = np.maximum(1.0, np.round(capacity_slack * load * noise_factor))

    knows = skills[reps_of_pairs, lead_industry[leads_of_pairs]]
    at_home = home[reps_of_pairs] == lead_region[leads_of_pairs]
    noise = fit_noise * rng.standard_normal(leads_of_pairs.size)
    fit = np.maximum(0.05, 0.5 + 0.3 * knows + 0.2 * at_home + noise)
    score = np.round(value[leads_of_pairs] * fit, 2)

    width = max(3, len(str(n_leads)))
    lead_names = np.array([f"L-{i + 1:0{width}d}" for i in range(n_leads)], dtype=f"<U{width + 2}")
    tier_names = np.array(TIERS)
    region_names, industry_names = np.array(region_labels), np.array(industry_labels)
    problem = Problem(
        score=sp.coo_array((score, (leads_of_pairs, reps_of_pairs)), shape=(n_leads, n_reps)),
        capacity=capacity,
        effort=effort if tier_effort else None,
        value=value,
        lead_ids=lead_names,
        rep_ids=rep_names,
    )
    leads = {
        "id": lead_names,
        "tier": tier_names[lead_tier],
        "region": region_names[lead_region],
        "industry": industry_names[lead_industry],
        "value": value,
        "effort": effort.astype(np.float64),
    }
    reps = {
        "id": rep_names,
        "max_tier": tier_names[rep_tier],
        "region": region_names[home],
        "regions": _object_array([tuple(region_labels[g] for g in covered) for covered in rep_regions]),
        "skills": _object_array([tuple(industry_labels[k] for k in np.flatnonzero(row)) for row in skills]),
        "capacity": capacity,
    }
    description = (
        f"make_batch({n_leads}, {n_reps}, seed={seed}, candidates_per_lead={candidates_per_lead}, "
        f"tier_effort={tier_effort})"
    )
    return Batch(problem=problem, leads=_frozen(leads), reps=_frozen(reps), description=description)


# ----------------------------------------------------------------------------- files


def _column_to_json(array: NDArray[Any]) -> list[Any]:
    return [list(item) if isinstance(item, tuple | list) else item for item in array.tolist()]


def _column_from_json(name: str, values: list[Any]) -> NDArray[Any]:
    if any(isinstance(item, list) for item in values):
        return _object_array([tuple(item) for item in values])
    try:
        return np.asarray(values)
    except ValueError:
        raise ValidationError(f"column {name!r} must hold plain values or lists, got {values[:3]!r}...") from None


def save_batch(batch: Batch, path: str | PathLike[str]) -> None:
    """Write ``batch`` as JSON (columns of leads and reps, and the candidate pairs).

    Per-pair effort is not supported by this format; unit and per-lead effort are.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from fairassign.datasets import make_batch, save_batch, load_batch
    >>> batch = make_batch(30, 4, seed=2, tier_effort=True)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "batch.json"
    ...     save_batch(batch, path)
    ...     again = load_batch(path)
    >>> again.problem.pair_score.tolist() == batch.problem.pair_score.tolist()
    True
    """
    problem = batch.problem
    if problem.effort_kind == "pair":
        raise ValidationError("save_batch supports unit or per-lead effort, got a batch with per-pair effort")
    document = {
        "format": _FORMAT,
        "description": batch.description,
        "effort": "unit" if problem.effort_kind == "unit" else "lead",
        "leads": {name: _column_to_json(np.asarray(column)) for name, column in batch.leads.items()},
        "reps": {name: _column_to_json(np.asarray(column)) for name, column in batch.reps.items()},
        "pairs": {
            "lead": problem.pair_lead.tolist(),
            "rep": problem.pair_rep.tolist(),
            "score": problem.pair_score.tolist(),
        },
    }
    Path(path).write_text(_dumps(document), encoding="utf-8")


def _dumps(document: dict[str, Any]) -> str:
    """JSON with one line per column: readable, and small diffs when a batch changes."""
    lines = ["{"]
    items = list(document.items())
    for k, (key, value) in enumerate(items):
        comma = "," if k < len(items) - 1 else ""
        if isinstance(value, dict):
            lines.append(f" {json.dumps(key)}: {{")
            columns = list(value.items())
            for j, (name, column) in enumerate(columns):
                inner = "," if j < len(columns) - 1 else ""
                lines.append(f"  {json.dumps(name)}: {json.dumps(column, ensure_ascii=False)}{inner}")
            lines.append(f" }}{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _batch_from_document(document: Any, source: str) -> Batch:
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise ValidationError(f"{source} is not a fairassign batch file (expected format {_FORMAT!r})")
    try:
        leads = {name: _column_from_json(name, values) for name, values in document["leads"].items()}
        reps = {name: _column_from_json(name, values) for name, values in document["reps"].items()}
        pairs = document["pairs"]
        lead_index = np.asarray(pairs["lead"], dtype=np.int64)
        rep_index = np.asarray(pairs["rep"], dtype=np.int64)
        score = np.asarray(pairs["score"], dtype=np.float64)
        lead_ids, rep_ids = leads["id"], reps["id"]
        value, capacity = leads["value"].astype(np.float64), reps["capacity"].astype(np.float64)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(f"{source} lacks a required part of a fairassign batch: {exc!r}") from None
    n_leads, n_reps = len(lead_ids), len(rep_ids)
    for kind, columns, length in (("leads", leads, n_leads), ("reps", reps, n_reps)):
        for name, column in columns.items():
            if len(column) != length:
                raise ValidationError(f"{source}: {kind} column {name!r} has {len(column)} entries, expected {length}")
    if not (lead_index.shape == rep_index.shape == score.shape):
        raise ValidationError(f"{source}: pairs lead, rep and score must have the same length")
    if lead_index.size and (lead_index.min() < 0 or lead_index.max() >= n_leads
                            or rep_index.min() < 0 or rep_index.max() >= n_reps):
        raise ValidationError(f"{source}: pair positions must lie in [0, n_leads) and [0, n_reps)")
    effort_kind = document.get("effort", "unit")
    if effort_kind not in ("unit", "lead"):
        raise ValidationError(f"{source}: effort must be 'unit' or 'lead', got {effort_kind!r}")
    problem = Problem(
        score=sp.coo_array((score, (lead_index, rep_index)), shape=(n_leads, n_reps)),
        capacity=capacity,
        effort=leads["effort"].astype(np.float64) if effort_kind == "lead" else None,
        value=value,
        lead_ids=lead_ids,
        rep_ids=rep_ids,
    )
    return Batch(problem=problem, leads=_frozen(leads), reps=_frozen(reps),
                 description=str(document.get("description", "")))


def load_batch(path: str | PathLike[str]) -> Batch:
    """Read a batch written by :func:`save_batch`.

    Raises
    ------
    ValidationError
        The file is not a fairassign batch, or its parts disagree in length.
    """
    text = Path(path).read_text(encoding="utf-8")
    return _batch_from_document(json.loads(text), str(path))


def load_example() -> Batch:
    """The example batch shipped with fairassign: 60 leads, 6 reps, effort by tier.

    Leads ``"L-001"`` .. ``"L-060"`` in three regions, tiers A/B/C costing 3/2/1 effort
    units; reps Ana, Ben, Chen, Dara, Eli and Femi. It was drawn once with
    :func:`make_batch` (see ``description``) and is stored as data, so it does not change
    when random streams do.

    Examples
    --------
    >>> from fairassign.datasets import load_example
    >>> batch = load_example()
    >>> batch.problem.shape, batch.problem.effort_kind
    ((60, 6), 'lead')
    >>> batch.reps["id"].tolist()
    ['Ana', 'Ben', 'Chen', 'Dara', 'Eli', 'Femi']
    """
    resource = resources.files("fairassign").joinpath("data").joinpath("example_batch.json")
    text = resource.read_text(encoding="utf-8")
    return _batch_from_document(json.loads(text), "fairassign/data/example_batch.json")
