"""Helpers shared by the over-time tools: reading per-lead and per-rep inputs, rebuilding a batch."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..constraints import _plain
from ..errors import ValidationError
from ..problem import Problem

__all__ = ["check_problem", "rep_per_lead", "per_rep", "per_lead", "nonnegative_number", "rebuild"]


def check_problem(problem: Any) -> Problem:
    if not isinstance(problem, Problem):
        raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
    return problem


def _rep_at(problem: Problem, name: str, rep_id: Hashable, lead_id: Hashable) -> int:
    try:
        return problem.rep_position(rep_id)
    except (KeyError, TypeError):
        raise ValidationError(
            f"{name} gives lead {lead_id!r} to rep id {rep_id!r}, which is not in problem.rep_ids"
        ) from None


def rep_per_lead(name: str, given: Any, problem: Problem) -> NDArray[np.int64]:
    """A rep position per lead (-1: none) from an int array or a ``{lead_id: rep_id}`` mapping.

    In a mapping a lead that is absent, or mapped to None, has no rep.
    """
    if isinstance(given, Mapping):
        rep_of = np.full(problem.n_leads, -1, np.int64)
        for lead_id, rep_id in given.items():
            try:
                lead = problem.lead_position(lead_id)
            except (KeyError, TypeError):
                raise ValidationError(f"{name} names lead id {lead_id!r}, which is not in problem.lead_ids") from None
            if rep_id is not None:
                rep_of[lead] = _rep_at(problem, name, rep_id, lead_id)
        return rep_of
    array = np.asarray(getattr(given, "rep_of", given))
    if array.shape != (problem.n_leads,):
        raise ValidationError(
            f"{name} must be a {{lead_id: rep_id}} mapping or hold one rep position per lead "
            f"(shape ({problem.n_leads},)), got shape {array.shape}"
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValidationError(f"{name} must hold integer rep positions (-1 for none), got dtype {array.dtype}")
    bad = np.flatnonzero((array < -1) | (array >= problem.n_reps))
    if bad.size:
        raise ValidationError(
            f"{name} must hold rep positions in [-1, {problem.n_reps - 1}]; lead "
            f"{_plain(problem.lead_ids[bad[0]])!r} has {array[bad[0]]}"
        )
    return array.astype(np.int64)


def per_rep(name: str, given: Any, problem: Problem, *, default: float | bool, kind: str = "float") -> NDArray[Any]:
    """A per-rep array from an array or a ``{rep_id: value}`` mapping (absent reps get ``default``)."""
    dtype = np.bool_ if kind == "bool" else np.float64
    if given is None:
        return np.full(problem.n_reps, default, dtype=dtype)
    if isinstance(given, Mapping):
        array: NDArray[Any] = np.full(problem.n_reps, default, dtype=dtype)
        for rep_id, value in given.items():
            try:
                rep = problem.rep_position(rep_id)
            except (KeyError, TypeError):
                raise ValidationError(f"{name} names rep id {rep_id!r}, which is not in problem.rep_ids") from None
            array[rep] = _scalar(name, value, kind, f"rep {rep_id!r}")
        return array
    raw = np.asarray(given)
    if raw.ndim == 0:
        raw = np.full(problem.n_reps, raw[()])
    if raw.shape != (problem.n_reps,):
        raise ValidationError(
            f"{name} must be a {{rep_id: value}} mapping or have one entry per rep (n_reps={problem.n_reps}), "
            f"got shape {raw.shape}"
        )
    if kind == "bool":
        if raw.dtype != np.bool_ and not (np.issubdtype(raw.dtype, np.number) and np.isin(raw, (0, 1)).all()):
            raise ValidationError(f"{name} must be a boolean per rep, got dtype {raw.dtype}")
        return raw.astype(bool)
    try:
        array = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be numeric per rep, got dtype {raw.dtype}") from None
    return array


def _scalar(name: str, value: Any, kind: str, where: str) -> float | bool:
    if kind == "bool":
        if not isinstance(value, bool | np.bool_) and value not in (0, 1):
            raise ValidationError(f"{name} must hold booleans; {where} has {value!r}")
        return bool(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{name} must hold numbers; {where} has {value!r}")
    return float(value)


def check_amounts(name: str, array: NDArray[np.float64], problem: Problem, *, allow_inf: bool) -> None:
    """No NaN, no negative amount, and (unless ``allow_inf``) no infinity; messages name the rep."""
    for bad, why in ((np.isnan(array), "must not be NaN"), (array < 0, "must be >= 0"),
                     (np.zeros(array.shape, bool) if allow_inf else np.isinf(array), "must be finite")):
        where = np.flatnonzero(bad)
        if where.size:
            raise ValidationError(
                f"{name} {why}; rep {_plain(problem.rep_ids[where[0]])!r} has {array[where[0]]}"
            )


def per_lead(name: str, given: Any, problem: Problem, *, kind: str) -> NDArray[Any]:
    """A per-lead array (``kind``: "bool", "float" or "label") of length ``n_leads``."""
    array = np.asarray(given)
    if array.ndim == 0 or array.shape != (problem.n_leads,):
        raise ValidationError(f"{name} must have one entry per lead (n_leads={problem.n_leads}), "
                              f"got shape {array.shape}")
    if kind == "bool":
        if array.dtype != np.bool_ and not (np.issubdtype(array.dtype, np.number) and np.isin(array, (0, 1)).all()):
            raise ValidationError(f"{name} must be a boolean per lead, got dtype {array.dtype}")
        return array.astype(bool)
    if kind == "float":
        try:
            values = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ValidationError(f"{name} must be numeric per lead, got dtype {array.dtype}") from None
        for bad, why in ((np.isnan(values), "must not be NaN"), (values < 0, "must be >= 0"),
                         (np.isinf(values), "must be finite")):
            where = np.flatnonzero(bad)
            if where.size:
                raise ValidationError(
                    f"{name} {why}; lead {_plain(problem.lead_ids[where[0]])!r} has {values[where[0]]}"
                )
        return values
    return array


def nonnegative_number(name: str, given: Any) -> float:
    if isinstance(given, bool) or not isinstance(given, numbers.Real) or not math.isfinite(given) or given < 0:
        raise ValidationError(f"{name} must be a finite number >= 0, got {given!r}")
    return float(given)


def rebuild(problem: Problem, *, pair_score: NDArray[np.float64] | None = None,
            keep: NDArray[np.bool_] | None = None, capacity: NDArray[np.float64] | None = None,
            extra_rep: NDArray[np.int64] | None = None, extra_value: NDArray[np.float64] | None = None,
            extra_ids: list[Hashable] | None = None) -> Problem:
    """The same batch with new pair scores, fewer pairs, new capacities, and/or extra leads.

    Each extra lead has one candidate pair, to ``extra_rep[k]``, with score 0 and effort 0,
    and value ``extra_value[k]``. The candidate list is passed as a sparse matrix that stores
    every pair (explicit zeros included), so nothing is densified and no pair is lost.
    """
    keep_mask = np.ones(problem.n_pairs, bool) if keep is None else keep
    rows, cols = problem.pair_lead[keep_mask], problem.pair_rep[keep_mask]
    scores = (problem.pair_score if pair_score is None else pair_score)[keep_mask]
    efforts = problem.pair_effort[keep_mask]
    n_extra = 0 if extra_rep is None else int(extra_rep.size)
    n_leads = problem.n_leads + n_extra
    value = problem.value
    lead_ids: Any = problem.lead_ids
    if n_extra and extra_rep is not None and extra_value is not None and extra_ids is not None:
        rows = np.concatenate([rows, problem.n_leads + np.arange(n_extra, dtype=np.int64)])
        cols = np.concatenate([cols, extra_rep.astype(np.int64)])
        scores = np.concatenate([scores, np.zeros(n_extra)])
        efforts = np.concatenate([efforts, np.zeros(n_extra)])
        value = np.concatenate([value, extra_value])
        lead_ids = np.empty(n_leads, dtype=object)
        lead_ids[:] = [*problem.lead_ids.tolist(), *extra_ids]
    shape = (n_leads, problem.n_reps)
    score = sp.coo_array((scores, (rows, cols)), shape=shape)
    effort: Any
    if problem.effort_kind == "pair":
        effort = sp.coo_array((efforts, (rows, cols)), shape=shape)
    elif problem.effort_kind == "lead" or n_extra:
        base = problem.lead_effort if problem.lead_effort is not None else np.ones(problem.n_leads)
        effort = np.concatenate([base, np.zeros(n_extra)])
    else:
        effort = None
    return Problem(score=score, capacity=problem.capacity if capacity is None else capacity, effort=effort,
                   value=value, lead_ids=lead_ids, rep_ids=problem.rep_ids)
