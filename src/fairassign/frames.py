"""Data-frame adapters: a :class:`~fairassign.Problem` from leads and reps tables, results back as a frame.

pandas and polars frames are read through narwhals (the ``fairassign[pandas]`` or
``fairassign[polars]`` extra), imported only when a frame is passed. Inside, every table
becomes a :class:`Table`: plain numpy columns plus the words that name a row in an error
(``leads row 3`` for a frame, ``leads.csv line 5`` for a CSV file read by the command line),
so frames, CSV files and the TOML rules file share one set of checks and messages.

Scores come in one of three forms:

* a **pairs frame** with columns ``lead_id``, ``rep_id``, ``score`` (and optionally
  ``effort``): only the listed pairs are candidates, and they become a scipy.sparse matrix
  without ever building a dense leads x reps one;
* a **callable** ``score(leads_columns, reps_columns)`` returning a dense or sparse
  ``(n_leads, n_reps)`` matrix, where each argument maps a column name to a numpy array;
* a **column name**: in the pairs frame given as ``pairs=`` (its score column), or, without
  one, a per-lead column of the leads frame whose value every eligible rep gets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .errors import MissingDependencyError, ValidationError
from .problem import Problem

if TYPE_CHECKING:
    from .result import Result

__all__ = ["Table", "problem_from_frames", "problem_from_tables", "result_to_frame", "result_columns", "as_table",
           "batch_ids"]

#: column names of a pairs table (score and effort per candidate pair)
PAIR_LEAD, PAIR_REP, PAIR_SCORE, PAIR_EFFORT = "lead_id", "rep_id", "score", "effort"

Columns = Mapping[str, NDArray[Any]]
ScoreFunction = Callable[[Columns, Columns], Any]


def _narwhals() -> Any:
    try:
        import narwhals.stable.v2 as nw
    except ImportError:  # pragma: no cover - narwhals is in the test extra
        raise MissingDependencyError(
            "data frames need narwhals: pip install 'fairassign[pandas]' or 'fairassign[polars]'"
        ) from None
    return nw


def records_frame(records: list[dict[str, Any]], columns: Sequence[str], owner: str) -> Any:
    """``records`` as a pandas DataFrame with ``columns`` (missing figures become NaN).

    ``owner`` names the method in the error raised when pandas is not installed.
    """
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError(
            f'{owner} needs pandas; install it with pip install "fairassign[pandas]"'
        ) from None
    return pd.DataFrame.from_records(records, columns=list(columns))


def _is_missing(cell: Any) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float | np.floating):
        return bool(np.isnan(cell))
    # pandas.NA, pandas.NaT: missing without importing pandas
    return type(cell).__name__ in ("NAType", "NaTType")


def _object_array(items: Sequence[Any]) -> NDArray[np.object_]:
    out = np.empty(len(items), dtype=object)
    for k, item in enumerate(items):
        out[k] = item
    return out


@dataclass(frozen=True, eq=False)
class Table:
    """One input table as numpy columns, and how to name its rows in messages.

    Parameters
    ----------
    name : str
        How messages call the table: ``"leads"``, ``"reps.csv"``.
    columns : mapping of str to ndarray
        One array per column, all of length ``n_rows``. Numeric columns of a frame are
        float or int arrays; anything else is an object array of Python values.
    n_rows : int
    lines : int ndarray (n_rows,), optional
        Source line of each row (a CSV file); messages then say ``line`` instead of ``row``.
    text : bool
        Cells are strings to be parsed (a CSV file): an empty cell is missing, numbers are
        parsed where a number is expected, and ``"a;b"`` is a list where a list is expected.
    """

    name: str
    columns: Mapping[str, NDArray[Any]]
    n_rows: int
    lines: NDArray[np.int64] | None = field(default=None, repr=False)
    text: bool = False

    def __post_init__(self) -> None:
        for column, array in self.columns.items():
            if len(array) != self.n_rows:
                raise ValidationError(
                    f"{self.name} column {column!r} has {len(array)} entries, expected {self.n_rows} (one per row)"
                )
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))

    # ---------------------------------------------------------------- messages
    def where(self, row: int, column: str | None = None) -> str:
        """``'leads.csv line 5, column 'value''`` or ``'leads row 3, column 'value''``."""
        place = f"{self.name} line {int(self.lines[row])}" if self.lines is not None else f"{self.name} row {row}"
        return place if column is None else f"{place}, column {column!r}"

    def short(self, row: int) -> str:
        """``'line 5'`` or ``'row 3'``: a row named again in a message that already named the table."""
        return f"line {int(self.lines[row])}" if self.lines is not None else f"row {row}"

    def column(self, name: str, purpose: str) -> NDArray[Any]:
        """The column ``name``; a clear error naming what it is for when it is missing."""
        if not isinstance(name, str):
            raise ValidationError(f"{purpose} must name a column of {self.name} (a str), got {name!r}")
        if name not in self.columns:
            have = ", ".join(repr(c) for c in self.columns) or "none"
            raise ValidationError(
                f"{self.name} has no column {name!r} ({purpose}); its columns are {have}"
            )
        return self.columns[name]

    def has(self, name: str) -> bool:
        return name in self.columns

    # ---------------------------------------------------------------- typed reads
    def numbers(self, name: str, purpose: str, *, allow_inf: bool = False, nonnegative: bool = True,
                default: float | None = None) -> NDArray[np.float64]:
        """A numeric column as float64; rejects text, NaN/empty cells (unless ``default``), inf, negatives."""
        raw = self.column(name, purpose)
        if raw.dtype == np.bool_:
            raise ValidationError(f"{self.name} column {name!r} ({purpose}) must be numeric, got booleans")
        if raw.dtype.kind in "iuf":
            values = raw.astype(np.float64)
        else:
            values = np.empty(self.n_rows)
            for row, cell in enumerate(raw.tolist()):
                if _is_missing(cell) or (self.text and isinstance(cell, str) and not cell.strip()):
                    values[row] = np.nan
                    continue
                if isinstance(cell, bool) or (isinstance(cell, str) and not self.text) or \
                        not isinstance(cell, str | int | float | np.integer | np.floating):
                    raise ValidationError(
                        f"{self.where(row, name)} ({purpose}): expected a number, got {cell!r} "
                        f"({type(cell).__name__})"
                    )
                try:
                    values[row] = float(cell)
                except ValueError:
                    raise ValidationError(
                        f"{self.where(row, name)} ({purpose}): expected a number, got {cell!r}"
                    ) from None
        missing = np.isnan(values)
        if missing.any():
            if default is None:
                row = int(np.flatnonzero(missing)[0])
                raise ValidationError(
                    f"{self.where(row, name)} ({purpose}): value is missing (empty, NaN or null); "
                    f"{int(missing.sum())} missing in all"
                )
            values[missing] = default
        if not allow_inf and np.isinf(values).any():
            row = int(np.flatnonzero(np.isinf(values))[0])
            raise ValidationError(f"{self.where(row, name)} ({purpose}): expected a finite number, got {values[row]}")
        if nonnegative and (values < 0).any():
            row = int(np.flatnonzero(values < 0)[0])
            raise ValidationError(f"{self.where(row, name)} ({purpose}): expected a number >= 0, got {values[row]:g}")
        return values

    def labels(self, name: str, purpose: str) -> NDArray[Any]:
        """A column of labels (ids, tiers, regions): no missing cell; ints stay ints, text stays text."""
        raw = self.column(name, purpose)
        if raw.dtype.kind == "f":
            bad = np.flatnonzero(np.isnan(raw))
            if bad.size:
                raise ValidationError(f"{self.where(int(bad[0]), name)} ({purpose}): value is missing (NaN or null)")
            if np.all(raw == np.round(raw)):  # integer ids that a frame stored as float
                return raw.astype(np.int64)
            return raw
        if raw.dtype.kind in "iuU":
            return raw
        cells = raw.tolist()
        for row, cell in enumerate(cells):
            if _is_missing(cell) or (isinstance(cell, str) and not cell.strip()):
                raise ValidationError(f"{self.where(row, name)} ({purpose}): value is missing")
            try:
                hash(cell)
            except TypeError:
                raise ValidationError(
                    f"{self.where(row, name)} ({purpose}): expected a single label, got {cell!r}"
                ) from None
        kinds = {type(cell) for cell in cells}
        if kinds == {str}:
            return np.array([cell.strip() for cell in cells] if self.text else cells, dtype=str)
        if kinds and all(issubclass(kind, int | np.integer) and kind is not bool for kind in kinds):
            return np.array(cells, dtype=np.int64)
        return _object_array(cells)

    def ids(self, name: str, purpose: str) -> NDArray[Any]:
        """A column of unique ids."""
        ids = self.labels(name, purpose)
        if ids.size:
            order = np.argsort(ids, kind="stable") if ids.dtype != object else None
            if order is not None:
                same = np.flatnonzero(ids[order][1:] == ids[order][:-1])
                if same.size:
                    first, second = sorted((int(order[same[0]]), int(order[same[0] + 1])))
                    raise ValidationError(
                        f"{self.name} column {name!r} ({purpose}) must hold unique ids; "
                        f"{_plain(ids[first])!r} appears at {self.short(first)} and {self.short(second)}"
                    )
            else:
                seen: dict[Any, int] = {}
                for row, cell in enumerate(ids.tolist()):
                    if cell in seen:
                        raise ValidationError(
                            f"{self.name} column {name!r} ({purpose}) must hold unique ids; "
                            f"{cell!r} appears at {self.short(seen[cell])} and {self.short(row)}"
                        )
                    seen[cell] = row
        return ids

    def sets(self, name: str, purpose: str, separator: str = ";") -> list[frozenset[Any] | None]:
        """A column whose cells list values (``"North;West"``, a list, a tuple); ``"*"`` is every value.

        Returns one frozenset per row, or None for a row that covers every value.
        """
        raw = self.column(name, purpose)
        out: list[frozenset[Any] | None] = []
        for row, cell in enumerate(raw.tolist()):
            if isinstance(cell, str):
                parts = [part.strip() for part in cell.split(separator)]
                parts = [part for part in parts if part]
                out.append(None if parts == ["*"] else frozenset(parts))
            elif isinstance(cell, list | tuple | set | frozenset | np.ndarray):
                items = list(cell)
                out.append(None if items == ["*"] else frozenset(_plain(item) for item in items))
            elif _is_missing(cell):
                raise ValidationError(
                    f"{self.where(row, name)} ({purpose}): value is missing; give the values covered "
                    f"separated by {separator!r}, or '*' for all"
                )
            else:
                out.append(frozenset([_plain(cell)]))
        return out

    def as_dict(self) -> dict[str, NDArray[Any]]:
        """The columns as a plain dict (what a score or eligibility callable receives)."""
        return dict(self.columns)


def _plain(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def as_table(data: Any, name: str) -> Table:
    """A :class:`Table` from a pandas or polars frame, a mapping of columns, or a Table.

    Raises
    ------
    MissingDependencyError
        A frame was given and narwhals is not installed.
    ValidationError
        Not a frame or mapping, or columns of unequal length.
    """
    if isinstance(data, Table):
        return data
    if isinstance(data, Mapping):
        columns = {}
        for key, values in data.items():
            array = np.asarray(values)
            if array.ndim != 1:
                array = _object_array(list(values))
            columns[str(key)] = array
        lengths = {len(a) for a in columns.values()}
        if len(lengths) > 1:
            raise ValidationError(f"{name} columns must all have the same length, got lengths {sorted(lengths)}")
        return Table(name, columns, lengths.pop() if lengths else 0)
    nw = _narwhals()
    try:
        frame = nw.from_native(data, eager_only=True)
    except TypeError:
        raise ValidationError(
            f"{name} must be a pandas or polars DataFrame or a mapping of columns, got {type(data).__name__}"
        ) from None
    columns = {}
    for column in frame.columns:
        series = frame[column]
        dtype = series.dtype
        if dtype.is_numeric():
            columns[str(column)] = np.asarray(series.to_numpy())
        else:
            columns[str(column)] = _object_array(series.to_list())
    return Table(name, columns, int(frame.shape[0]))


# --------------------------------------------------------------------------- ids -> positions
def _positions(known: NDArray[Any], wanted: NDArray[Any], table: Table, column: str,
               owner: str) -> NDArray[np.int64]:
    """Position of each ``wanted`` id among ``known``; an unknown id is an error naming its row."""
    if wanted.size == 0:
        return np.empty(0, dtype=np.int64)
    comparable = (known.dtype.kind in "iu" and wanted.dtype.kind in "iu") or \
                 (known.dtype.kind == "U" and wanted.dtype.kind == "U")
    if comparable:
        order = np.argsort(known, kind="stable")
        where = np.searchsorted(known[order], wanted)
        clipped = np.minimum(where, known.size - 1)
        found = (where < known.size) & (known[order][clipped] == wanted)
        positions = order[clipped].astype(np.int64)
    else:
        lookup = {identifier: k for k, identifier in enumerate(known.tolist())}
        positions = np.array([lookup.get(identifier, -1) for identifier in wanted.tolist()], dtype=np.int64)
        found = positions >= 0
    if not found.all():
        row = int(np.flatnonzero(~found)[0])
        raise ValidationError(
            f"{table.where(row, column)}: {_plain(wanted[row])!r} is not an id in {owner} "
            f"({int((~found).sum())} unknown in all)"
        )
    return positions


def _pair_positions(pairs: Table, leads: Table, lead_ids: NDArray[Any], reps: Table,
                    rep_ids: NDArray[Any]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    rows = _positions(lead_ids, pairs.labels(PAIR_LEAD, "lead of each pair"), pairs, PAIR_LEAD, leads.name)
    cols = _positions(rep_ids, pairs.labels(PAIR_REP, "rep of each pair"), pairs, PAIR_REP, reps.name)
    keys = rows * max(rep_ids.size, 1) + cols
    order = np.argsort(keys, kind="stable")
    same = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    if same.size:
        first, second = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        raise ValidationError(
            f"{pairs.name} lists the pair ({_plain(lead_ids[rows[first]])!r}, {_plain(rep_ids[cols[first]])!r}) "
            f"twice: at {pairs.short(first)} and {pairs.short(second)}"
        )
    return rows, cols


def _matrix(name: str, given: Any, shape: tuple[int, int]) -> Any:
    """A callable's answer: a dense array or a scipy.sparse matrix of the batch's shape."""
    if sp.issparse(given):
        matrix = given
    else:
        try:
            matrix = np.asarray(given)
        except (TypeError, ValueError) as exc:  # pragma: no cover - numpy accepts almost anything
            raise ValidationError(f"{name} must return a (n_leads, n_reps) matrix: {exc}") from None
    if tuple(matrix.shape) != shape:
        raise ValidationError(
            f"{name} must return a matrix of shape {shape} (n_leads, n_reps), got shape {tuple(matrix.shape)}"
        )
    return matrix


# --------------------------------------------------------------------------- the builder
def batch_ids(leads: Table, reps: Table, lead_id: str = "id",
              rep_id: str = "id") -> tuple[NDArray[Any], NDArray[Any]]:
    """Lead and rep ids, checked: present, unique, and at least one of each (no empty batch)."""
    lead_ids = leads.ids(lead_id, "lead id")
    rep_ids = reps.ids(rep_id, "rep id")
    if lead_ids.size == 0:
        raise ValidationError(f"{leads.name} has no rows: an empty batch has no lead to assign")
    if rep_ids.size == 0:
        raise ValidationError(f"{reps.name} has no rows: a batch needs at least one rep")
    return lead_ids, rep_ids


def problem_from_tables(
    leads: Table,
    reps: Table,
    *,
    score: str | ScoreFunction | Table | Any,
    pairs: Table | None = None,
    lead_id: str = "id",
    rep_id: str = "id",
    capacity: str | float | NDArray[np.float64] = "capacity",
    value: str | NDArray[np.float64] | None = None,
    effort: str | NDArray[np.float64] | None = None,
    eligible: Callable[[Columns, Columns], Any] | Table | Any | None = None,
) -> Problem:
    """:func:`problem_from_frames` on :class:`Table` objects (frames, CSV files, mappings alike).

    ``score`` may also be a dense or sparse ``(n_leads, n_reps)`` matrix; ``capacity``,
    ``value`` and ``effort`` may also be arrays already read (the rules file computes them);
    ``eligible`` may also be a dense or sparse boolean matrix.
    """
    lead_ids, rep_ids = batch_ids(leads, reps, lead_id, rep_id)
    shape = (int(lead_ids.size), int(rep_ids.size))

    if isinstance(capacity, str):
        capacity_array = reps.numbers(capacity, "capacity", allow_inf=True)
    else:
        capacity_array = np.broadcast_to(np.asarray(capacity, dtype=np.float64), (shape[1],))
    value_array = leads.numbers(value, "lead value") if isinstance(value, str) else value
    effort_given = leads.numbers(effort, "lead effort") if isinstance(effort, str) else effort

    if isinstance(score, Table):
        pairs, score = score, PAIR_SCORE
    pair_effort = None
    if callable(score) and not isinstance(score, str):
        matrix = _matrix("score", score(leads.as_dict(), reps.as_dict()), shape)
    elif isinstance(score, str) and pairs is not None:
        rows, cols = _pair_positions(pairs, leads, lead_ids, reps, rep_ids)
        pair_score = pairs.numbers(score, "score of each pair", nonnegative=False)
        matrix = sp.csr_array(sp.coo_array((pair_score, (rows, cols)), shape=shape))
        if pairs.has(PAIR_EFFORT):
            if effort_given is not None:
                raise ValidationError(
                    f"effort is given twice: per lead ({effort!r}) and per pair (column {PAIR_EFFORT!r} of "
                    f"{pairs.name}); keep one"
                )
            pair_effort = sp.csr_array(sp.coo_array(
                (pairs.numbers(PAIR_EFFORT, "effort of each pair"), (rows, cols)), shape=shape))
    elif sp.issparse(score) or isinstance(score, np.ndarray):
        matrix = _matrix("score", score, shape)
    elif isinstance(score, str):
        per_lead = leads.numbers(score, "score of each lead", nonnegative=False)
        matrix = np.broadcast_to(per_lead[:, None], shape)
    else:
        raise ValidationError(
            "score must be a column name, a callable(leads_columns, reps_columns) or a pairs frame with "
            f"columns {PAIR_LEAD!r}, {PAIR_REP!r}, {PAIR_SCORE!r}; got {type(score).__name__}"
        )

    mask: Any = None
    if isinstance(eligible, Table):
        rows, cols = _pair_positions(eligible, leads, lead_ids, reps, rep_ids)
        mask = sp.coo_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=shape)
    elif callable(eligible):
        mask = _matrix("eligible", eligible(leads.as_dict(), reps.as_dict()), shape)
    elif eligible is not None:
        mask = _matrix("eligible", eligible, shape)

    if not sp.issparse(matrix) and mask is not None and sp.issparse(mask):
        # a per-lead score on a sparse eligibility: build only the eligible pairs
        coo = sp.coo_array(mask)
        keep = coo.data.astype(bool)
        r, c = coo.row[keep].astype(np.int64), coo.col[keep].astype(np.int64)
        matrix = sp.coo_array((np.asarray(matrix)[r, c], (r, c)), shape=shape)
        mask = None
    return Problem(
        score=matrix,
        capacity=capacity_array,
        effort=pair_effort if pair_effort is not None else effort_given,
        value=value_array,
        eligible=mask,
        lead_ids=lead_ids,
        rep_ids=rep_ids,
    )


def problem_from_frames(
    leads: Any,
    reps: Any,
    *,
    score: str | ScoreFunction | Any,
    pairs: Any = None,
    lead_id: str = "id",
    rep_id: str = "id",
    capacity: str | float = "capacity",
    value: str | None = None,
    effort: str | None = None,
    eligible: Callable[[Columns, Columns], Any] | Any | None = None,
) -> Problem:
    """Build a :class:`~fairassign.Problem` from a leads frame and a reps frame (pandas or polars).

    Parameters
    ----------
    leads, reps : pandas.DataFrame or polars.DataFrame
        One row per lead and per rep; the row order fixes lead and rep positions.
    score : str, callable, or a pairs frame
        A pairs frame with columns ``lead_id``, ``rep_id``, ``score`` and optionally
        ``effort`` (per-pair effort): only listed pairs are candidates, kept sparse.
        A callable ``score(leads_columns, reps_columns)`` (each a dict of column name to
        numpy array) returning a dense or scipy.sparse ``(n_leads, n_reps)`` matrix
        (NaN / ``-inf`` or not stored: not a candidate).
        A column name: the score column of ``pairs`` when given, else a per-lead column of
        ``leads`` that every eligible rep gets.
    pairs : frame, optional
        The pairs frame that a column-name ``score`` refers to.
    lead_id, rep_id : str
        Id columns of ``leads`` and ``reps`` (unique, no missing value); default ``"id"``.
    capacity : str or float
        Column of ``reps`` (``inf`` allowed), or one number for every rep.
    value : str, optional
        Column of ``leads`` with lead value (:class:`~fairassign.FairShare` measures it).
    effort : str, optional
        Column of ``leads`` with the effort a lead costs (default 1 each).
    eligible : callable, frame, or bool matrix, optional
        ``eligible(leads_columns, reps_columns)`` returning a bool matrix, or a frame of
        allowed pairs (``lead_id``, ``rep_id``), or the matrix itself.

    Returns
    -------
    Problem

    Raises
    ------
    ValidationError
        A missing column, a non-numeric or missing (NaN/null) number, a negative capacity,
        value or effort, duplicate ids, an id in a pairs frame that is not in ``leads`` or
        ``reps``, a pair listed twice, or an empty batch. The message names the frame,
        the column and the row.
    MissingDependencyError
        narwhals is not installed.

    Examples
    --------
    >>> import pandas as pd
    >>> leads = pd.DataFrame({"id": ["L1", "L2"], "value": [100.0, 50.0]})
    >>> reps = pd.DataFrame({"id": ["Ana", "Bo"], "capacity": [1, 1]})
    >>> pairs = pd.DataFrame({"lead_id": ["L1", "L1", "L2"], "rep_id": ["Ana", "Bo", "Bo"],
    ...                       "score": [9.0, 5.0, 4.0]})
    >>> problem = problem_from_frames(leads, reps, score=pairs, value="value")
    >>> problem.n_pairs, problem.rep_ids.tolist()
    (3, ['Ana', 'Bo'])
    """
    lead_table = as_table(leads, "leads")
    rep_table = as_table(reps, "reps")
    pair_table = None
    score_arg: str | ScoreFunction | Table
    if isinstance(score, str):
        score_arg = score
        pair_table = None if pairs is None else as_table(pairs, "pairs")
    elif callable(score):
        score_arg = score
    elif sp.issparse(score) or isinstance(score, np.ndarray):
        score_arg = score
    else:
        try:
            score_arg = as_table(score, "pairs")
        except ValidationError:
            raise ValidationError(
                "score must be a column name, a callable(leads_columns, reps_columns), a (n_leads, n_reps) "
                f"matrix or a pairs frame with columns {PAIR_LEAD!r}, {PAIR_REP!r}, {PAIR_SCORE!r}; "
                f"got {type(score).__name__}"
            ) from None
    eligible_arg: Any = eligible
    if eligible is not None and not callable(eligible) and not sp.issparse(eligible) \
            and not isinstance(eligible, np.ndarray | list):
        eligible_arg = as_table(eligible, "eligible pairs")
    return problem_from_tables(
        lead_table, rep_table, score=score_arg, pairs=pair_table, lead_id=lead_id, rep_id=rep_id,
        capacity=capacity, value=value, effort=effort, eligible=eligible_arg,
    )


# --------------------------------------------------------------------------- results out
def result_columns(result: Result, explain: bool = False) -> dict[str, list[Any]]:
    """``lead_id``, ``rep_id`` (None when unassigned), ``score`` (None when unassigned), ``explanation``.

    The explanation column (``Result.explain(lead).text()`` on one line, its lines joined by
    `` | ``) is there only with ``explain=True``.
    """
    records = result.to_records()
    columns: dict[str, list[Any]] = {
        "lead_id": [record["lead_id"] for record in records],
        "rep_id": [record["rep_id"] for record in records],
        "score": [record["score"] for record in records],
    }
    if explain:
        explainer = getattr(result, "explain", None)
        if explainer is None:
            raise ValidationError("explain=True needs Result.explain, which this version of fairassign lacks")
        columns["explanation"] = [_one_line(explainer(lead).text()) for lead in columns["lead_id"]]
    return columns


def _one_line(text: str) -> str:
    """A multi-line explanation as one cell: its lines joined by `` | `` (split on it to get them back)."""
    return " | ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def result_to_frame(result: Result, like: Any, *, explain: bool = False) -> Any:
    """The assignment as a frame of the same library as ``like`` (pandas in, pandas out).

    Parameters
    ----------
    result : Result
    like : pandas.DataFrame or polars.DataFrame
        Usually the leads frame the problem was built from; only its type is used.
    explain : bool
        Add an ``explanation`` column: one line of text per lead (see ``Result.explain``).

    Returns
    -------
    frame
        One row per lead in problem order: ``lead_id``, ``rep_id`` (null when unassigned),
        ``score`` (null when unassigned)[, ``explanation``]. Ids keep their type.

    Examples
    --------
    >>> import pandas as pd
    >>> import fairassign as fa
    >>> leads = pd.DataFrame({"id": [10, 11]})
    >>> reps = pd.DataFrame({"id": [1, 2], "capacity": [1, 0]})
    >>> result = fa.solve(problem_from_frames(leads, reps, score=lambda l, r: [[2.0, 1.0], [1.0, 3.0]]))
    >>> result_to_frame(result, like=leads).to_dict("list")
    {'lead_id': [10, 11], 'rep_id': [1, None], 'score': [2.0, nan]}
    """
    nw = _narwhals()
    try:
        frame = nw.from_native(like, eager_only=True)
    except TypeError:
        raise ValidationError(f"like must be a pandas or polars DataFrame, got {type(like).__name__}") from None
    columns = result_columns(result, explain=explain)
    implementation = frame.implementation
    rep_ids = result.problem.rep_ids
    if implementation.is_pandas_like() and rep_ids.dtype.kind in "iu" and None in columns["rep_id"]:
        # pandas would turn integer ids with a gap into floats (7 -> 7.0): keep them integers
        namespace = nw.get_native_namespace(frame)
        data: dict[str, Any] = dict(columns)
        data["rep_id"] = namespace.array(columns["rep_id"], dtype="Int64")
        return namespace.DataFrame(data)
    return nw.from_dict(columns, backend=implementation).to_native()
