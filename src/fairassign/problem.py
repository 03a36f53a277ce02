"""The routing batch: leads, reps, scores, capacities, effort, value and eligibility.

Inside, a :class:`Problem` is a *candidate list*: one entry per (lead, rep) pair that may be
chosen, sorted by lead then rep (CSR order). A dense score matrix is reduced to that list
once; a sparse one is never densified, so 1M leads x 5k reps with 10 candidates per lead
costs memory in proportion to the 10M candidates, not the 5G cells.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .errors import ValidationError

__all__ = ["Problem", "stack_leads"]

EffortKind = Literal["unit", "lead", "pair"]


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


def _describe(array: Any) -> str:
    shape = getattr(array, "shape", None)
    dtype = getattr(array, "dtype", None)
    if shape is not None:
        return f"an array of shape {shape} and dtype {dtype}"
    return f"{type(array).__name__}"


def _float_vector(name: str, given: ArrayLike, length: int, length_name: str) -> NDArray[np.float64]:
    try:
        # a copy: the Problem makes its arrays read-only and must not freeze (or share) the caller's
        array = np.array(given, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be numeric, got {_describe(given)}: {exc}") from None
    if array.ndim == 0:
        array = np.full(length, float(array))
    if array.shape != (length,):
        raise ValidationError(
            f"{name} must have shape ({length},) (one entry per {length_name}), got shape {array.shape}"
        )
    return array


def _check_nonnegative(name: str, array: NDArray[np.float64], *, allow_inf: bool, what: str) -> None:
    bad = np.flatnonzero(np.isnan(array))
    if bad.size:
        raise ValidationError(f"{name} must not contain NaN; found {bad.size} NaN, first at {what} {bad[0]}")
    if not allow_inf:
        bad = np.flatnonzero(np.isinf(array))
        if bad.size:
            raise ValidationError(f"{name} must be finite; found {array[bad[0]]} at {what} {bad[0]}")
    bad = np.flatnonzero(array < 0)
    if bad.size:
        raise ValidationError(f"{name} must be >= 0; found {array[bad[0]]} at {what} {bad[0]}")


def _ids(name: str, given: Sequence[Hashable] | ArrayLike | None, length: int) -> NDArray[Any]:
    if given is None:
        return _readonly(np.arange(length, dtype=np.int64))
    ids = np.array(given)  # a copy, as in _float_vector
    if ids.ndim != 1 or ids.shape[0] != length:
        raise ValidationError(f"{name} must be a sequence of {length} ids, got shape {ids.shape}")
    if ids.dtype != object:  # numbers or strings: sort instead of a Python loop over a million ids
        order = np.argsort(ids, kind="stable")
        repeated = np.flatnonzero(ids[order][1:] == ids[order][:-1])
        if repeated.size == 0:
            return _readonly(ids)
    seen: dict[Any, int] = {}
    for position, identifier in enumerate(ids.tolist()):
        if identifier in seen:
            raise ValidationError(
                f"{name} must be unique; {identifier!r} appears at positions {seen[identifier]} and {position}"
            )
        seen[identifier] = position
    return _readonly(ids)


def _bool_lookup(name: str, given: Any, rows: NDArray[np.int64], cols: NDArray[np.int64],
                 shape: tuple[int, int]) -> NDArray[np.bool_]:
    """Values of a dense or sparse boolean matrix at the candidate pairs."""
    if sp.issparse(given):
        if given.shape != shape:
            raise ValidationError(f"{name} must have shape {shape}, got a sparse matrix of shape {given.shape}")
        coo = sp.coo_array(given)
        keys = coo.row.astype(np.int64) * shape[1] + coo.col.astype(np.int64)
        keys = np.unique(keys[coo.data.astype(bool)])
        return np.isin(rows * shape[1] + cols, keys, assume_unique=False)
    array = np.asarray(given)
    if array.shape != shape:
        raise ValidationError(f"{name} must have shape {shape}, got shape {array.shape}")
    if array.dtype != np.bool_:
        if not np.issubdtype(array.dtype, np.number) or not np.isin(array, (0, 1)).all():
            raise ValidationError(f"{name} must be a boolean mask, got dtype {array.dtype} with values other than 0/1")
        array = array.astype(bool)
    return array[rows, cols]


def _pair_lookup(name: str, given: Any, rows: NDArray[np.int64], cols: NDArray[np.int64],
                 shape: tuple[int, int]) -> NDArray[np.float64]:
    """Values of a dense or sparse float matrix at the candidate pairs (sparse: must be stored)."""
    if sp.issparse(given):
        if given.shape != shape:
            raise ValidationError(f"{name} must have shape {shape}, got a sparse matrix of shape {given.shape}")
        coo = sp.coo_array(given)
        keys = coo.row.astype(np.int64) * shape[1] + coo.col.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        keys, data = keys[order], coo.data[order].astype(np.float64)
        wanted = rows * shape[1] + cols
        where = np.searchsorted(keys, wanted)
        where_clipped = np.minimum(where, max(keys.size - 1, 0))
        found = (where < keys.size) & (keys[where_clipped] == wanted) if keys.size else np.zeros(wanted.size, bool)
        if not found.all():
            missing = np.flatnonzero(~found)[0]
            raise ValidationError(
                f"{name} is sparse but has no entry for candidate pair (lead {rows[missing]}, rep {cols[missing]}); "
                "a sparse per-pair matrix must store every candidate pair"
            )
        return data[where]
    try:
        array = np.asarray(given, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be numeric, got {_describe(given)}: {exc}") from None
    if array.shape != shape:
        raise ValidationError(f"{name} must have shape {shape}, got shape {array.shape}")
    return array[rows, cols]


class Problem:
    r"""One routing batch: who may get which lead, what each pair is worth, and how much fits.

    Parameters
    ----------
    score : array_like of shape (n_leads, n_reps), or scipy.sparse matrix
        What assigning lead *i* to rep *r* is worth; higher is better. Dense: NaN or
        ``-inf`` marks a pair that may not be chosen. Sparse: the stored entries (zeros
        included) are the only candidate pairs; the matrix is never densified.
    capacity : array_like of shape (n_reps,)
        Effort each rep can take, ``>= 0``; ``inf`` means unlimited.
    effort : None, array_like of shape (n_leads,), or (n_leads, n_reps) dense or sparse
        Effort a lead costs its rep. None: 1 per lead, so capacity counts leads.
        Per lead: an A-tier lead may cost 3. Per pair: the generalized assignment problem.
    value : array_like of shape (n_leads,), optional
        Lead value that :class:`ValueBand` and :class:`FairShare` measure, ``>= 0``;
        default 1 per lead.
    eligible : bool array_like of shape (n_leads, n_reps), or scipy.sparse, optional
        False (or not stored, when sparse) removes a pair from the candidates.
    lead_ids, rep_ids : sequence of hashable, optional
        Unique labels used in results, explanations and rules such as :class:`Pin`;
        default ``0 .. n-1``.

    Notes
    -----
    A pair :math:`(i, r)` is a candidate when its score is stored (sparse) or finite
    (dense) and ``eligible[i, r]`` holds. Candidates are kept sorted by lead, then rep.

    Examples
    --------
    >>> import numpy as np
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[3.0, 1.0], [np.nan, 2.0]], capacity=[1, 1])
    >>> problem.n_leads, problem.n_reps, problem.n_pairs
    (2, 2, 3)
    >>> problem.pair_rep.tolist()
    [0, 1, 1]
    """

    def __init__(
        self,
        score: ArrayLike | sp.sparray | sp.spmatrix,
        capacity: ArrayLike,
        effort: ArrayLike | sp.sparray | sp.spmatrix | None = None,
        value: ArrayLike | None = None,
        eligible: ArrayLike | sp.sparray | sp.spmatrix | None = None,
        lead_ids: Sequence[Hashable] | ArrayLike | None = None,
        rep_ids: Sequence[Hashable] | ArrayLike | None = None,
    ) -> None:
        rows, cols, scores, shape = self._candidates_from_score(score)
        n_leads, n_reps = shape
        if eligible is not None:
            keep = _bool_lookup("eligible", eligible, rows, cols, shape)
            rows, cols, scores = rows[keep], cols[keep], scores[keep]

        capacity_array = _float_vector("capacity", capacity, n_reps, "rep")
        _check_nonnegative("capacity", capacity_array, allow_inf=True, what="rep")

        if value is None:
            value_array = np.ones(n_leads)
        else:
            value_array = _float_vector("value", value, n_leads, "lead")
            _check_nonnegative("value", value_array, allow_inf=False, what="lead")

        effort_kind: EffortKind
        if effort is None:
            effort_kind = "unit"
            pair_effort = np.ones(rows.size)
            lead_effort: NDArray[np.float64] | None = np.ones(n_leads)
        elif sp.issparse(effort) or np.ndim(effort) == 2:
            effort_kind = "pair"
            pair_effort = _pair_lookup("effort", effort, rows, cols, shape)
            _check_nonnegative("effort", pair_effort, allow_inf=False, what="candidate pair")
            lead_effort = None
        else:
            effort_kind = "lead"
            lead_effort = _float_vector("effort", effort, n_leads, "lead")
            _check_nonnegative("effort", lead_effort, allow_inf=False, what="lead")
            pair_effort = lead_effort[rows]
        if effort_kind != "unit" and lead_effort is not None and np.all(lead_effort == 1.0):
            effort_kind = "unit"

        self.n_leads: int = int(n_leads)
        self.n_reps: int = int(n_reps)
        self.pair_lead: NDArray[np.int64] = _readonly(rows)
        self.pair_rep: NDArray[np.int64] = _readonly(cols)
        self.pair_score: NDArray[np.float64] = _readonly(np.ascontiguousarray(scores, dtype=np.float64))
        self.pair_effort: NDArray[np.float64] = _readonly(np.ascontiguousarray(pair_effort, dtype=np.float64))
        self.lead_effort: NDArray[np.float64] | None = None if lead_effort is None else _readonly(lead_effort)
        self.effort_kind: EffortKind = effort_kind
        self.capacity: NDArray[np.float64] = _readonly(capacity_array)
        self.value: NDArray[np.float64] = _readonly(value_array)
        self.lead_ids: NDArray[Any] = _ids("lead_ids", lead_ids, n_leads)
        self.rep_ids: NDArray[Any] = _ids("rep_ids", rep_ids, n_reps)
        self.lead_start: NDArray[np.int64] = _readonly(
            np.searchsorted(rows, np.arange(n_leads + 1, dtype=np.int64)).astype(np.int64)
        )

    @staticmethod
    def _candidates_from_score(
        score: Any,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], tuple[int, int]]:
        if sp.issparse(score):
            if score.ndim != 2:
                raise ValidationError(
                    f"score must be 2-D (n_leads, n_reps), got a sparse array with shape {score.shape}"
                )
            shape = (int(score.shape[0]), int(score.shape[1]))
            if score.format == "csr" and score.has_canonical_format:
                # already sorted by (lead, rep) without duplicates: read it as it is
                rows = np.repeat(np.arange(shape[0], dtype=np.int64), np.diff(score.indptr))
                cols = score.indices.astype(np.int64)
                data = np.asarray(score.data, dtype=np.float64)
                keys = np.empty(0, dtype=np.int64)
            else:
                coo = sp.coo_array(score)
                rows = coo.row.astype(np.int64)
                cols = coo.col.astype(np.int64)
                data = np.asarray(coo.data, dtype=np.float64)
                keys = rows * shape[1] + cols
            if keys.size > 1 and not np.all(keys[1:] > keys[:-1]):
                order = np.argsort(keys, kind="stable")
                keys, rows, cols, data = keys[order], rows[order], cols[order], data[order]
                duplicate = np.flatnonzero(keys[1:] == keys[:-1])
                if duplicate.size:
                    i, r = rows[duplicate[0]], cols[duplicate[0]]
                    raise ValidationError(
                        f"score has duplicate stored entries for pair (lead {i}, rep {r}); "
                        "call sum_duplicates() or drop them first"
                    )
            if np.any(np.isposinf(data)):
                where = np.flatnonzero(np.isposinf(data))[0]
                raise ValidationError(f"score must not be +inf; found at (lead {rows[where]}, rep {cols[where]})")
            keep = np.isfinite(data)
            return rows[keep], cols[keep], data[keep], shape
        try:
            dense = np.asarray(score, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"score must be a numeric (n_leads, n_reps) array, got {_describe(score)}: {exc}"
            ) from None
        if dense.ndim != 2:
            raise ValidationError(f"score must be 2-D (n_leads, n_reps), got shape {dense.shape}")
        if np.any(np.isposinf(dense)):
            i, r = np.argwhere(np.isposinf(dense))[0]
            raise ValidationError(f"score must not be +inf; found at (lead {i}, rep {r})")
        rows, cols = np.nonzero(np.isfinite(dense))
        rows = rows.astype(np.int64)
        cols = cols.astype(np.int64)
        return rows, cols, dense[rows, cols], (int(dense.shape[0]), int(dense.shape[1]))

    def __setstate__(self, state: dict[str, Any]) -> None:
        # numpy does not keep the read-only flag through pickling (process pools, Dask)
        self.__dict__.update(state)
        for value in state.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    # ----------------------------------------------------------------- derived views
    @property
    def n_pairs(self) -> int:
        """Number of candidate (lead, rep) pairs."""
        return int(self.pair_lead.size)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_leads, n_reps)``."""
        return (self.n_leads, self.n_reps)

    @cached_property
    def pair_value(self) -> NDArray[np.float64]:
        """Lead value of each candidate pair's lead."""
        return _readonly(self.value[self.pair_lead])

    @cached_property
    def rep_order(self) -> NDArray[np.int64]:
        """Pair indices sorted by rep (stable, so by lead within a rep)."""
        # numpy's stable sort is a radix sort on 16-bit keys: 5x faster at 10M pairs
        keys = self.pair_rep.astype(np.uint16) if self.n_reps <= 1 << 16 else self.pair_rep
        return _readonly(np.argsort(keys, kind="stable").astype(np.int64))

    @cached_property
    def rep_start(self) -> NDArray[np.int64]:
        """``rep_order[rep_start[r]:rep_start[r + 1]]`` are rep r's candidate pairs."""
        counts = np.bincount(self.pair_rep, minlength=self.n_reps)
        return _readonly(np.concatenate(([0], np.cumsum(counts))).astype(np.int64))

    @cached_property
    def lead_degree(self) -> NDArray[np.int64]:
        """Number of candidate reps of each lead."""
        return _readonly(np.diff(self.lead_start))

    def pair_index(self, leads: ArrayLike, reps: ArrayLike) -> NDArray[np.int64]:
        """Candidate-pair index of each (lead, rep) given by position; -1 where not a candidate."""
        lead_array = np.asarray(leads, dtype=np.int64)
        rep_array = np.asarray(reps, dtype=np.int64)
        keys = self.pair_lead * self.n_reps + self.pair_rep
        wanted = lead_array * self.n_reps + rep_array
        where = np.searchsorted(keys, wanted)
        clipped = np.minimum(where, max(keys.size - 1, 0))
        found = (where < keys.size) & (keys[clipped] == wanted) if keys.size else np.zeros(wanted.shape, bool)
        # outside the rep range, lead * n_reps + rep would alias another lead's key
        found &= (rep_array >= 0) & (rep_array < self.n_reps) & (lead_array >= 0) & (lead_array < self.n_leads)
        return np.where(found, where, -1).astype(np.int64)

    def total_score(self, rep_of: ArrayLike) -> float:
        """Total score of an assignment (``rep_of``, -1 unassigned); non-candidate pairs add nothing."""
        rep_array = np.asarray(rep_of, dtype=np.int64)
        leads = np.flatnonzero(rep_array >= 0)
        pairs = self.pair_index(leads, rep_array[leads])
        return float(self.pair_score[pairs[pairs >= 0]].sum())

    @cached_property
    def _lead_position(self) -> dict[Any, int]:
        return {identifier: i for i, identifier in enumerate(self.lead_ids.tolist())}

    @cached_property
    def _rep_position(self) -> dict[Any, int]:
        return {identifier: r for r, identifier in enumerate(self.rep_ids.tolist())}

    def lead_position(self, lead_id: Hashable) -> int:
        """Position of a lead id; raises KeyError when unknown."""
        return self._lead_position[lead_id]

    def rep_position(self, rep_id: Hashable) -> int:
        """Position of a rep id; raises KeyError when unknown."""
        return self._rep_position[rep_id]

    def dense_score(self) -> NDArray[np.float64]:
        """Score matrix with ``-inf`` at non-candidates (for small problems and tests)."""
        dense = np.full(self.shape, -np.inf)
        dense[self.pair_lead, self.pair_rep] = self.pair_score
        return dense

    def permuted(self, lead_order: ArrayLike | None = None, rep_order: ArrayLike | None = None) -> Problem:
        """The same batch with leads and/or reps relabelled (``new[k] = old[order[k]]``)."""
        leads = np.arange(self.n_leads) if lead_order is None else np.asarray(lead_order, dtype=np.int64)
        reps = np.arange(self.n_reps) if rep_order is None else np.asarray(rep_order, dtype=np.int64)
        new_lead = np.empty(self.n_leads, np.int64)
        new_lead[leads] = np.arange(self.n_leads)
        new_rep = np.empty(self.n_reps, np.int64)
        new_rep[reps] = np.arange(self.n_reps)
        rows, cols = new_lead[self.pair_lead], new_rep[self.pair_rep]
        score = sp.coo_array((self.pair_score, (rows, cols)), shape=self.shape)
        effort: Any
        if self.effort_kind == "pair":
            effort = sp.coo_array((self.pair_effort, (rows, cols)), shape=self.shape)
        else:
            effort = None if self.lead_effort is None else self.lead_effort[leads]
        return Problem(
            score=score,
            capacity=self.capacity[reps],
            effort=effort,
            value=self.value[leads],
            lead_ids=self.lead_ids[leads],
            rep_ids=self.rep_ids[reps],
        )

    def __repr__(self) -> str:
        return (
            f"Problem(n_leads={self.n_leads}, n_reps={self.n_reps}, n_pairs={self.n_pairs}, "
            f"effort={self.effort_kind!r})"
        )


def stack_leads(problems: Sequence[Problem], capacity: ArrayLike) -> Problem:
    """The leads of ``problems``, in order, as one batch over their common reps, with ``capacity``.

    Scores, effort (per pair when any batch has it per pair) and value are kept lead by lead;
    lead ids restart from 0 (ids may repeat across batches), rep ids are the first batch's.
    """
    if not problems:
        raise ValidationError("problems must hold at least one Problem, got none")
    n_reps = {problem.n_reps for problem in problems}
    if len(n_reps) > 1:
        raise ValidationError(f"problems must share their reps, got batches with {sorted(n_reps)} reps")

    def matrix(problem: Problem, data: NDArray[np.float64]) -> sp.csr_array:
        return sp.csr_array((data, (problem.pair_lead, problem.pair_rep)), shape=problem.shape)

    score = sp.vstack([matrix(problem, problem.pair_score) for problem in problems], format="csr")
    effort: Any = None
    if any(problem.effort_kind == "pair" for problem in problems):
        effort = sp.vstack([matrix(problem, problem.pair_effort) for problem in problems], format="csr")
    elif any(problem.lead_effort is not None for problem in problems):
        effort = np.concatenate([np.ones(problem.n_leads) if problem.lead_effort is None else problem.lead_effort
                                 for problem in problems])
    return Problem(score=score, capacity=capacity, effort=effort,
                   value=np.concatenate([problem.value for problem in problems]), rep_ids=problems[0].rep_ids)
