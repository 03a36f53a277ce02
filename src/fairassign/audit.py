r"""Audit records: what was solved, how, with what, and what was decided; replayable bit for bit.

One :class:`AuditRecord` per run holds

* digests (SHA-256) of the input: the problem's arrays and ids in a canonical byte form, and
  the rules' canonical description, so a later replay can prove it solves the same batch;
* the rules themselves in a serialisable form (every constraint type round-trips exactly:
  :func:`constraint_to_dict` / :func:`constraint_from_dict`);
* the solver asked for and the one that ran, the parameters (objective, time limit, seed,
  rel_gap, a digest of the hint; the entry point that ran, ``solve``, ``solve_blocks`` with
  its ``max_blocks``, ``sweep`` or a baseline ``strategy`` with its options), the versions
  of fairassign and its solver libraries, a UTC time stamp, and the outcome: status,
  objective, bound, solve time, and the decision per lead (lead id -> rep id or None);
* optionally (``include_problem=True``) the batch itself, so that the record alone replays.

Records are written as JSON lines (:func:`write_jsonl`, append mode, all lines or none) and
read back with :func:`read_jsonl`, which names the line of any mistake. :func:`replay`
re-solves with the recorded parameters, through the recorded entry point, and compares the
assignment lead by lead.

Strategy options are written as tagged JSON (:func:`options_to_dict`): arrays keep their
dtype and shape, tuples, lists and dicts their kind, a baseline ``TerritoryRule`` its reps,
criteria and name. What JSON cannot hold (a Python callable, such as a territory predicate)
is refused by :func:`record`, unless ``unrecorded_options=True``: then the record names the
option, and :func:`replay` needs it passed again (``options={"rules": ...}``).

Canonical bytes. Every section is written as its name, its byte length and its bytes, so
no two different inputs share a byte string. Arrays are little-endian int64 / float64; ids
are int64 or float64 arrays when numeric, else UTF-8 JSON of the id list (tuples tagged).
Floats are compared bit for bit, so ``-0.0`` and ``0.0`` differ, as they would for a solver.

Examples
--------
>>> import fairassign as fa
>>> from fairassign.audit import record, replay
>>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0]], capacity=[1, 1])
>>> result = fa.solve(problem, [fa.AssignAll()], solver="flow")
>>> entry = record(result)
>>> entry.decisions
((0, 0), (1, 1))
>>> replay(entry, problem).matches
True
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .constraints import AssignAll, Constraint, CountBand, FairShare, Forbid, Pin, ValueBand, _plain
from .errors import ValidationError
from .problem import Problem
from .result import Result, Status

__all__ = [
    "AuditRecord",
    "Replay",
    "LeadDifference",
    "record",
    "replay",
    "write_jsonl",
    "read_jsonl",
    "problem_digest",
    "constraints_digest",
    "input_digest",
    "constraint_to_dict",
    "constraint_from_dict",
    "problem_to_dict",
    "problem_from_dict",
    "options_to_dict",
    "options_from_dict",
    "FORMAT",
]

#: version of the record layout; a reader refuses layouts it does not know
FORMAT = 2
#: layouts this version reads (1: before ``entry``, ``max_blocks`` and ``options`` in the parameters)
_READS = (1, 2)
#: entry points a record can name (see :class:`fairassign.result.SolveSettings`)
_ENTRIES = ("solve", "solve_blocks", "sweep", "strategy")
#: the mark of an option a record could not hold
_UNRECORDED = "unrecorded"
#: packages whose versions a record keeps (a replay under other versions may differ)
_PACKAGES = ("fairassign", "ortools", "pulp", "highspy", "numpy", "scipy")
_OBJECTIVES = ("lexicographic", "score")
_FROM_DATA = object()


# ---------------------------------------------------------------------------------------- JSON forms
def _encode_number(x: float) -> float | str:
    """JSON has no inf: open limits are written as the strings "inf" and "-inf"."""
    x = float(x)
    if math.isnan(x):
        raise ValidationError("audit records hold no NaN; got a NaN amount")
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _decode_number(x: Any, where: str) -> float:
    if isinstance(x, str) and x in ("inf", "-inf"):
        return float(x)
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValidationError(f"{where} must be a number (or \"inf\"), got {x!r}")
    return float(x)


def _encode_bound(bound: Any) -> Any:
    if bound is None:
        return None
    if np.ndim(bound) == 0:
        return _encode_number(float(bound))
    return [_encode_number(x) for x in np.asarray(bound, dtype=np.float64).tolist()]


def _decode_bound(bound: Any, where: str) -> Any:
    if bound is None:
        return None
    if isinstance(bound, list):
        return np.array([_decode_number(x, where) for x in bound], dtype=np.float64)
    return _decode_number(bound, where)


def _encode_id(label: Any) -> Any:
    """An id as JSON: str, int, finite float and bool as they are; tuples tagged so they come back as tuples."""
    label = _plain(label)
    if label is None or isinstance(label, bool | int | str):
        return label
    if isinstance(label, float) and math.isfinite(label):
        return label
    if isinstance(label, tuple):
        return {"tuple": [_encode_id(part) for part in label]}
    raise ValidationError(f"audit records need ids that are str, int, finite float or tuples of them; got {label!r} "
                          f"of type {type(label).__name__}")


def _decode_id(label: Any) -> Any:
    if isinstance(label, dict):
        if set(label) != {"tuple"} or not isinstance(label["tuple"], list):
            raise ValidationError(f"an id must be a JSON scalar or {{\"tuple\": [...]}}, got {label!r}")
        return tuple(_decode_id(part) for part in label["tuple"])
    if isinstance(label, list):
        raise ValidationError(f"an id must be a JSON scalar or {{\"tuple\": [...]}}, got the list {label!r}")
    return label


def constraint_to_dict(constraint: Constraint) -> dict[str, Any]:
    """A rule as plain JSON values: ``{"type": "CountBand", "lower": ..., "upper": ...}``.

    Floats are kept exactly (JSON writes the shortest repr that reads back the same double);
    ``inf`` becomes the string ``"inf"``.

    Examples
    --------
    >>> import fairassign as fa
    >>> constraint_to_dict(fa.CountBand(upper=[2, float("inf")]))
    {'type': 'CountBand', 'lower': None, 'upper': [2.0, 'inf']}
    >>> constraint_to_dict(fa.Pin([("L-1", "R-2")]))
    {'type': 'Pin', 'pairs': [['L-1', 'R-2']]}
    """
    if isinstance(constraint, AssignAll):
        return {"type": "AssignAll"}
    if isinstance(constraint, CountBand | ValueBand):
        return {"type": type(constraint).__name__, "lower": _encode_bound(constraint.lower),
                "upper": _encode_bound(constraint.upper)}
    if isinstance(constraint, FairShare):
        return {"type": "FairShare", "tolerance": _encode_number(constraint.tolerance),
                "weight": _encode_bound(constraint.weight)}
    if isinstance(constraint, Pin | Forbid):
        return {"type": type(constraint).__name__,
                "pairs": [[_encode_id(lead), _encode_id(rep)] for lead, rep in constraint.pairs]}
    raise ValidationError(f"audit records know AssignAll, CountBand, ValueBand, FairShare, Pin and Forbid; "
                          f"got {type(constraint).__name__}")


_CONSTRAINT_FIELDS = {"AssignAll": set(), "CountBand": {"lower", "upper"}, "ValueBand": {"lower", "upper"},
                      "FairShare": {"tolerance", "weight"}, "Pin": {"pairs"}, "Forbid": {"pairs"}}


def constraint_from_dict(data: Mapping[str, Any]) -> Constraint:
    """The rule :func:`constraint_to_dict` wrote; a :class:`ValidationError` names what is wrong."""
    if not isinstance(data, Mapping) or data.get("type") not in _CONSTRAINT_FIELDS:
        given = data.get("type") if isinstance(data, Mapping) else data
        raise ValidationError(f"a constraint needs \"type\" in {sorted(_CONSTRAINT_FIELDS)}, got {given!r}")
    kind = data["type"]
    unknown = set(data) - _CONSTRAINT_FIELDS[kind] - {"type"}
    missing = _CONSTRAINT_FIELDS[kind] - set(data)
    if unknown or missing:
        raise ValidationError(f"constraint {kind}: unknown field(s) {sorted(unknown)}, missing field(s) "
                              f"{sorted(missing)}")
    if kind == "AssignAll":
        return AssignAll()
    if kind in ("CountBand", "ValueBand"):
        cls = CountBand if kind == "CountBand" else ValueBand
        return cls(lower=_decode_bound(data["lower"], f"{kind}.lower"),
                   upper=_decode_bound(data["upper"], f"{kind}.upper"))
    if kind == "FairShare":
        return FairShare(_decode_number(data["tolerance"], "FairShare.tolerance"),
                         weight=_decode_bound(data["weight"], "FairShare.weight"))
    pairs = data["pairs"]
    if not isinstance(pairs, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
        raise ValidationError(f"constraint {kind}: pairs must be a list of [lead_id, rep_id], got {pairs!r}")
    decoded = [(_decode_id(lead), _decode_id(rep)) for lead, rep in pairs]
    return Pin(decoded) if kind == "Pin" else Forbid(decoded)


class _Unrecordable(ValidationError):
    """An option value that JSON cannot hold (a Python callable)."""


def _encode_option(value: Any, where: str) -> Any:
    """One option value as tagged JSON; :func:`_decode_option` gives back an equal value."""
    from .baselines import TerritoryRule

    value = _plain(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            raise ValidationError(f"{where}: audit records hold no NaN")
        return value if math.isfinite(value) else {"float": _encode_number(value)}
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind == "f" and np.isnan(value).any():
            raise ValidationError(f"{where}: audit records hold no NaN")
        if kind in "biuf":
            items = value.ravel().tolist()
            cells = [_encode_number(x) for x in items] if kind == "f" else items
        elif kind == "U":
            cells = value.ravel().tolist()
        elif kind == "O":
            cells = [_encode_option(x, f"{where}[{k}]") for k, x in enumerate(value.ravel().tolist())]
        else:
            raise ValidationError(f"{where}: an array of dtype {value.dtype} cannot be recorded")
        return {"array": cells, "dtype": "object" if kind == "O" else value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, TerritoryRule):
        if value.predicate is not None:
            raise _Unrecordable(f"{where}: TerritoryRule {value.name or '(unnamed)'!r} has a predicate, a Python "
                                "callable, which an audit record cannot hold")
        return {"TerritoryRule": {"reps": [_encode_option(rep, f"{where}.reps") for rep in value.reps],
                                  "criteria": _encode_option(dict(value.criteria), f"{where}.criteria"),
                                  "name": value.name}}
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise ValidationError(f"{where}: a mapping with keys other than strings cannot be recorded")
        return {"dict": {key: _encode_option(item, f"{where}[{key!r}]") for key, item in value.items()}}
    if isinstance(value, tuple | list):
        return {type(value).__name__: [_encode_option(item, f"{where}[{k}]") for k, item in enumerate(value)]}
    if callable(value):
        raise _Unrecordable(f"{where}: a Python callable ({value!r}) cannot be held by an audit record")
    raise ValidationError(f"{where}: a value of type {type(value).__name__} cannot be recorded; options must be "
                          "numbers, strings, arrays, lists, tuples, dicts or TerritoryRule entries")


def _decode_option(data: Any, where: str) -> Any:
    from .baselines import TerritoryRule

    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, dict) and len(data) == 1:
        (tag, body), = data.items()
        if tag == "float":
            return _decode_number(body, where)
        if tag in ("list", "tuple") and isinstance(body, list):
            items = [_decode_option(item, f"{where}[{k}]") for k, item in enumerate(body)]
            return items if tag == "list" else tuple(items)
        if tag == "dict" and isinstance(body, dict):
            return {key: _decode_option(item, f"{where}[{key!r}]") for key, item in body.items()}
        if tag == "TerritoryRule" and isinstance(body, dict) and set(body) == {"reps", "criteria", "name"}:
            return TerritoryRule(reps=tuple(_decode_option(rep, f"{where}.reps") for rep in body["reps"]),
                                 criteria=_decode_option(body["criteria"], f"{where}.criteria"), name=body["name"])
    if isinstance(data, dict) and set(data) == {"array", "dtype", "shape"} and isinstance(data["array"], list):
        try:
            if data["dtype"] == "object":
                array = np.empty(len(data["array"]), dtype=object)
                array[:] = [_decode_option(item, f"{where}[{k}]") for k, item in enumerate(data["array"])]
            else:
                dtype = np.dtype(data["dtype"])
                cells = [_decode_number(x, where) for x in data["array"]] if dtype.kind == "f" else data["array"]
                array = np.array(cells, dtype=dtype)
            return array.reshape(tuple(data["shape"]))
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{where}: malformed array ({exc})") from None
    raise ValidationError(f"{where}: not a recorded option value: {data!r}")


def options_to_dict(options: Mapping[str, Any], *, unrecorded: bool = False) -> dict[str, Any]:
    """A strategy's options as tagged JSON values; :func:`options_from_dict` reads them back.

    Parameters
    ----------
    options : mapping of option name to value
    unrecorded : bool
        Mark a value JSON cannot hold (a Python callable) as ``{"unrecorded": why}`` instead
        of refusing it; a replay then needs it passed again.

    Raises
    ------
    ValidationError
        A value that cannot be recorded; the message names the option and says why.

    Examples
    --------
    >>> import numpy as np
    >>> options_to_dict({"monthly_capacity": np.array([30, 60]), "by": "effort"})
    {'monthly_capacity': {'array': [30, 60], 'dtype': '<i8', 'shape': [2]}, 'by': 'effort'}
    """
    encoded: dict[str, Any] = {}
    for name, value in options.items():
        try:
            encoded[name] = _encode_option(value, f"strategy option {name!r}")
        except _Unrecordable as exc:
            if not unrecorded:
                raise ValidationError(
                    f"{exc}. Record it with record(result, unrecorded_options=True), which marks the option as "
                    f"not recorded; replay then needs it passed again: replay(entry, problem, "
                    f"options={{{name!r}: ...}})") from None
            encoded[name] = {_UNRECORDED: str(exc)}
    return encoded


def options_from_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The options :func:`options_to_dict` wrote (an unrecorded one comes back as ``{"unrecorded": why}``)."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"strategy options must be a JSON object, got {type(data).__name__}")
    return {name: dict(value) if _is_unrecorded(value) else _decode_option(value, f"strategy option {name!r}")
            for name, value in data.items()}


def _is_unrecorded(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {_UNRECORDED}


def _canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# ---------------------------------------------------------------------------------------- digests
def _section(digest: Any, name: str, payload: bytes) -> None:
    digest.update(name.encode())
    digest.update(len(payload).to_bytes(8, "little"))
    digest.update(payload)


def _ids_bytes(ids: NDArray[Any]) -> bytes:
    if ids.dtype.kind in "iu":
        return b"int64:" + np.ascontiguousarray(ids, dtype="<i8").tobytes()
    if ids.dtype.kind == "f":
        return b"float64:" + np.ascontiguousarray(ids, dtype="<f8").tobytes()
    return b"json:" + _canonical_json([_encode_id(label) for label in ids.tolist()])


def problem_digest(problem: Problem) -> str:
    """SHA-256 (hex) of the batch's canonical bytes: sizes, effort form, candidate list, amounts and ids."""
    if not isinstance(problem, Problem):
        raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
    digest = hashlib.sha256(b"fairassign-problem-v1")
    _section(digest, "shape", np.array([problem.n_leads, problem.n_reps, problem.n_pairs], dtype="<i8").tobytes())
    _section(digest, "effort_kind", problem.effort_kind.encode())
    for name in ("pair_lead", "pair_rep"):
        _section(digest, name, np.ascontiguousarray(getattr(problem, name), dtype="<i8").tobytes())
    for name in ("pair_score", "pair_effort", "capacity", "value"):
        _section(digest, name, np.ascontiguousarray(getattr(problem, name), dtype="<f8").tobytes())
    if problem.lead_effort is not None:
        _section(digest, "lead_effort", np.ascontiguousarray(problem.lead_effort, dtype="<f8").tobytes())
    _section(digest, "lead_ids", _ids_bytes(problem.lead_ids))
    _section(digest, "rep_ids", _ids_bytes(problem.rep_ids))
    return digest.hexdigest()


def constraints_digest(constraints: Iterable[Constraint] | Constraint) -> str:
    """SHA-256 (hex) of the rules' canonical description (their order counts, as for a solve)."""
    given = (constraints,) if isinstance(constraints, Constraint) else tuple(constraints)
    return hashlib.sha256(b"fairassign-constraints-v1" + _canonical_json(
        [constraint_to_dict(constraint) for constraint in given])).hexdigest()


def input_digest(problem: Problem, constraints: Iterable[Constraint] | Constraint = ()) -> str:
    """SHA-256 (hex) over :func:`problem_digest` and :func:`constraints_digest`."""
    return _input_digest(problem_digest(problem), constraints_digest(constraints))


def _input_digest(problem_hash: str, rules_hash: str) -> str:
    return hashlib.sha256(f"fairassign-input-v1:{problem_hash}:{rules_hash}".encode()).hexdigest()


def _hint_digest(hint: NDArray[np.int64] | None) -> str | None:
    if hint is None:
        return None
    return hashlib.sha256(b"fairassign-hint-v1" + np.ascontiguousarray(hint, dtype="<i8").tobytes()).hexdigest()


# ---------------------------------------------------------------------------------------- embedded batches
def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """The batch as JSON values, in candidate-list form (never dense); :func:`problem_from_dict` reads it back.

    Meant for small batches: a JSON line grows with the number of candidate pairs.
    """
    data: dict[str, Any] = {
        "n_leads": problem.n_leads, "n_reps": problem.n_reps, "effort_kind": problem.effort_kind,
        "pair_lead": problem.pair_lead.tolist(), "pair_rep": problem.pair_rep.tolist(),
        "pair_score": problem.pair_score.tolist(),
        "capacity": [_encode_number(x) for x in problem.capacity.tolist()],
        "value": problem.value.tolist(),
        "lead_ids": [_encode_id(label) for label in problem.lead_ids.tolist()],
        "rep_ids": [_encode_id(label) for label in problem.rep_ids.tolist()],
    }
    if problem.effort_kind == "pair":
        data["pair_effort"] = problem.pair_effort.tolist()
    elif problem.effort_kind == "lead":
        data["lead_effort"] = None if problem.lead_effort is None else problem.lead_effort.tolist()
    return data


def problem_from_dict(data: Mapping[str, Any]) -> Problem:
    """The :class:`Problem` that :func:`problem_to_dict` wrote."""
    try:
        shape = (int(data["n_leads"]), int(data["n_reps"]))
        rows = np.asarray(data["pair_lead"], dtype=np.int64)
        cols = np.asarray(data["pair_rep"], dtype=np.int64)
        score = sp.coo_array((np.asarray(data["pair_score"], dtype=np.float64), (rows, cols)), shape=shape)
        effort: Any = None
        if data["effort_kind"] == "pair":
            effort = sp.coo_array((np.asarray(data["pair_effort"], dtype=np.float64), (rows, cols)), shape=shape)
        elif data["effort_kind"] == "lead":
            effort = np.asarray(data["lead_effort"], dtype=np.float64)
        capacity = [_decode_number(x, "problem.capacity") for x in data["capacity"]]
        lead_ids = [_decode_id(label) for label in data["lead_ids"]]
        rep_ids = [_decode_id(label) for label in data["rep_ids"]]
        return Problem(score=score, capacity=capacity, effort=effort, value=data["value"],
                       lead_ids=_id_array(lead_ids), rep_ids=_id_array(rep_ids))
    except KeyError as exc:
        raise ValidationError(f"embedded problem: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise ValidationError(f"embedded problem: {exc}") from None
        raise ValidationError(f"embedded problem: malformed ({exc})") from None


def _id_array(ids: list[Any]) -> Any:
    if any(isinstance(label, tuple) for label in ids):  # numpy would make a 2-D array of tuples
        array = np.empty(len(ids), dtype=object)
        array[:] = ids
        return array
    return ids


# ---------------------------------------------------------------------------------------- the record
@dataclass(frozen=True)
class Parameters:
    """The solve parameters a record keeps (``hint_digest``: SHA-256 of the warm start, or None).

    ``entry`` is the function a replay calls (``"solve"``, ``"solve_blocks"``, ``"sweep"``,
    ``"strategy"``), ``max_blocks`` that of ``solve_blocks``, and ``options`` a baseline
    strategy's options in :func:`options_to_dict` form (None when it had none to record).
    """

    objective: str = "lexicographic"
    time_limit: float | None = None
    seed: int = 0
    rel_gap: float = 1e-4
    hint_digest: str | None = None
    entry: str = "solve"
    max_blocks: int | None = None
    options: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True, eq=False)
class AuditRecord:
    """What one run solved, how, and what it decided. Build with :func:`record`.

    Attributes
    ----------
    format : int
        Record layout version (:data:`FORMAT`).
    timestamp : str
        When the record was made, UTC, ISO 8601.
    input_digest, problem_digest, constraints_digest : str
        SHA-256 hex digests (:func:`input_digest` is over the other two).
    n_leads, n_reps, n_pairs : int
    constraints : tuple of dict
        The rules in :func:`constraint_to_dict` form.
    solver_requested, solver_used : str
        What the caller asked for (``"auto"``, a backend, a baseline strategy) and what ran.
    parameters : Parameters
    versions : dict
        Package name -> version (None when not installed), plus ``"python"``.
    status : str
        The result's :class:`~fairassign.Status` value (``"optimal"`` ...).
    objective, bound, gap : float (or None)
    n_assigned : int
    solve_time : float
        Seconds.
    reason : str
    decisions : tuple of (lead_id, rep_id or None)
        One per lead, in lead order.
    problem : dict or None
        The batch (:func:`problem_to_dict`) when recorded with ``include_problem=True``.
    hint : tuple of int or None
        The warm start (rep positions, -1 unassigned), kept with the problem.
    """

    format: int
    timestamp: str
    input_digest: str
    problem_digest: str
    constraints_digest: str
    n_leads: int
    n_reps: int
    n_pairs: int
    constraints: tuple[dict[str, Any], ...]
    solver_requested: str
    solver_used: str
    parameters: Parameters
    versions: dict[str, str | None]
    status: str
    objective: float
    bound: float | None
    gap: float | None
    n_assigned: int
    solve_time: float
    reason: str
    decisions: tuple[tuple[Any, Any], ...] = field(repr=False)
    problem: dict[str, Any] | None = field(default=None, repr=False)
    hint: tuple[int, ...] | None = field(default=None, repr=False)

    def assignment(self) -> dict[Any, Any]:
        """``{lead_id: rep_id}`` for every assigned lead."""
        return {lead: rep for lead, rep in self.decisions if rep is not None}

    def rules(self) -> tuple[Constraint, ...]:
        """The recorded rules as constraint objects."""
        return tuple(constraint_from_dict(data) for data in self.constraints)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (``json.dumps(..., allow_nan=False)`` accepts them)."""
        parameters = self.parameters
        return {
            "format": self.format, "timestamp": self.timestamp, "input_digest": self.input_digest,
            "problem_digest": self.problem_digest, "constraints_digest": self.constraints_digest,
            "n_leads": self.n_leads, "n_reps": self.n_reps, "n_pairs": self.n_pairs,
            "constraints": list(self.constraints), "solver_requested": self.solver_requested,
            "solver_used": self.solver_used,
            "parameters": {"objective": parameters.objective, "time_limit": parameters.time_limit,
                           "seed": parameters.seed, "rel_gap": parameters.rel_gap,
                           "hint_digest": parameters.hint_digest, "entry": parameters.entry,
                           "max_blocks": parameters.max_blocks, "options": parameters.options},
            "versions": dict(self.versions), "status": self.status, "objective": _encode_number(self.objective),
            "bound": None if self.bound is None else _encode_number(self.bound),
            "gap": None if self.gap is None else _encode_number(self.gap),
            "n_assigned": self.n_assigned, "solve_time": self.solve_time, "reason": self.reason,
            "decisions": [[_encode_id(lead), _encode_id(rep)] for lead, rep in self.decisions],
            "problem": self.problem, "hint": None if self.hint is None else list(self.hint),
        }

    def to_json(self) -> str:
        """One line of JSON, no newline."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditRecord:
        """Read a record from :meth:`to_dict` form; a :class:`ValidationError` names the field at fault."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"a record must be a JSON object, got {type(data).__name__}")
        expected = {"format", "timestamp", "input_digest", "problem_digest", "constraints_digest", "n_leads",
                    "n_reps", "n_pairs", "constraints", "solver_requested", "solver_used", "parameters", "versions",
                    "status", "objective", "bound", "gap", "n_assigned", "solve_time", "reason", "decisions",
                    "problem", "hint"}
        missing, unknown = sorted(expected - set(data)), sorted(set(data) - expected)
        if missing or unknown:
            raise ValidationError(f"record fields: missing {missing}, unknown {unknown}")
        if data["format"] not in _READS or isinstance(data["format"], bool):
            raise ValidationError(f"record format {data['format']!r} is not known to this version (reads "
                                  f"{', '.join(map(str, _READS))})")

        def typed(name: str, kinds: Any, value: Any = _FROM_DATA) -> Any:
            value = data[name] if value is _FROM_DATA else value
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise ValidationError(f"record field {name!r} has the wrong type: {value!r}")
            return value

        for name in ("timestamp", "input_digest", "problem_digest", "constraints_digest", "solver_requested",
                     "solver_used", "status", "reason"):
            typed(name, str)
        for name in ("n_leads", "n_reps", "n_pairs", "n_assigned"):
            typed(name, int)
        try:
            Status(data["status"])
        except ValueError:
            raise ValidationError(f"record field 'status' must be one of {[s.value for s in Status]}, "
                                  f"got {data['status']!r}") from None
        parameters = typed("parameters", dict)
        wanted = {"objective", "time_limit", "seed", "rel_gap", "hint_digest"}
        if data["format"] >= 2:
            wanted |= {"entry", "max_blocks", "options"}
        if set(parameters) != wanted:
            raise ValidationError(f"record field 'parameters' must hold exactly {sorted(wanted)}, got "
                                  f"{sorted(parameters)}")
        decisions = typed("decisions", list)
        if len(decisions) != data["n_leads"] or not all(isinstance(d, list) and len(d) == 2 for d in decisions):
            raise ValidationError(f"record field 'decisions' must hold n_leads={data['n_leads']} [lead_id, rep_id] "
                                  "pairs")
        constraints = typed("constraints", list)
        for item in constraints:  # fail now, not at replay
            constraint_from_dict(item)
        hint = data["hint"]
        if hint is not None and (not isinstance(hint, list) or not all(isinstance(x, int) for x in hint)):
            raise ValidationError("record field 'hint' must be null or a list of rep positions")
        return cls(
            format=FORMAT, timestamp=data["timestamp"], input_digest=data["input_digest"],
            problem_digest=data["problem_digest"], constraints_digest=data["constraints_digest"],
            n_leads=data["n_leads"], n_reps=data["n_reps"], n_pairs=data["n_pairs"], constraints=tuple(constraints),
            solver_requested=data["solver_requested"], solver_used=data["solver_used"],
            parameters=Parameters(
                objective=_objective(parameters["objective"]),
                time_limit=None if parameters["time_limit"] is None else float(
                    typed("parameters.time_limit", int | float, parameters["time_limit"])),
                seed=typed("parameters.seed", int, parameters["seed"]),
                rel_gap=float(typed("parameters.rel_gap", int | float, parameters["rel_gap"])),
                hint_digest=parameters["hint_digest"], **_later_parameters(parameters)),
            versions=dict(typed("versions", dict)), status=data["status"],
            objective=_decode_number(data["objective"], "record field 'objective'"),
            bound=None if data["bound"] is None else _decode_number(data["bound"], "record field 'bound'"),
            gap=None if data["gap"] is None else _decode_number(data["gap"], "record field 'gap'"),
            n_assigned=data["n_assigned"], solve_time=float(typed("solve_time", int | float)),
            reason=data["reason"],
            decisions=tuple((_decode_id(lead), _decode_id(rep)) for lead, rep in decisions),
            problem=None if data["problem"] is None else dict(typed("problem", dict)),
            hint=None if hint is None else tuple(hint),
        )


def _later_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``entry``, ``max_blocks`` and ``options`` of a format-2 record, checked (format 1: the defaults)."""
    if "entry" not in parameters:
        return {}
    entry, max_blocks, options = parameters["entry"], parameters["max_blocks"], parameters["options"]
    if entry not in _ENTRIES:
        raise ValidationError(f"record field 'parameters.entry' must be one of {_ENTRIES}, got {entry!r}")
    if max_blocks is not None and (isinstance(max_blocks, bool) or not isinstance(max_blocks, int)):
        raise ValidationError(f"record field 'parameters.max_blocks' must be null or an integer, got {max_blocks!r}")
    if options is not None:
        options_from_dict(options)  # fail now, not at replay
    return {"entry": entry, "max_blocks": max_blocks, "options": None if options is None else dict(options)}


def _objective(value: Any) -> str:
    if value not in _OBJECTIVES:
        raise ValidationError(f"record field 'parameters.objective' must be one of {_OBJECTIVES}, got {value!r}")
    return str(value)


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    if versions["fairassign"] is None:  # running from a source tree that is not installed
        from . import __version__

        versions["fairassign"] = __version__
    versions["python"] = platform.python_version()
    return versions


def record(result: Result, *, include_problem: bool = False, solver: str | None = None,
           objective: str | None = None, time_limit: float | None = None, seed: int | None = None,
           rel_gap: float | None = None, hint: Any = None, timestamp: datetime | None = None,
           unrecorded_options: bool = False) -> AuditRecord:
    """The audit record of one result.

    The parameters come from ``result.settings`` (filled by :func:`fairassign.solve` and the
    strategies); the keyword arguments fill or override them for results built elsewhere.

    Parameters
    ----------
    result : Result
    include_problem : bool
        Embed the batch (and the hint) so that the record alone replays; for small batches.
    solver, objective, time_limit, seed, rel_gap, hint
        Override what ``result.settings`` says (or supply it when it is None).
    timestamp : datetime, optional
        Default: now, in UTC.
    unrecorded_options : bool
        A strategy option JSON cannot hold (a territory predicate) is refused by default;
        with True it is marked as not recorded, and :func:`replay` needs it passed again.

    Raises
    ------
    ValidationError
        ``result`` is not a Result, an id cannot be written as JSON, or a strategy option
        cannot be recorded (the message names it).
    """
    if not isinstance(result, Result):
        raise ValidationError(f"result must be a fairassign.Result, got {type(result).__name__}")
    problem, settings = result.problem, result.settings
    hint_array = settings.hint if settings is not None else None
    if hint is not None:
        hint_array = np.asarray(getattr(hint, "rep_of", hint), dtype=np.int64)
    when = (timestamp or datetime.now(UTC)).astimezone(UTC)
    parameters = Parameters(
        objective=objective or (settings.objective if settings else "lexicographic"),
        time_limit=time_limit if time_limit is not None else (settings.time_limit if settings else None),
        seed=int(seed if seed is not None else (settings.seed if settings else 0)),
        rel_gap=float(rel_gap if rel_gap is not None else (settings.rel_gap if settings else 1e-4)),
        hint_digest=_hint_digest(hint_array),
        entry=settings.entry if settings else "solve",
        max_blocks=settings.max_blocks if settings else None,
        options=None if settings is None or settings.options is None else options_to_dict(
            settings.options, unrecorded=unrecorded_options),
    )
    rep_ids = problem.rep_ids.tolist()
    decisions = tuple((_plain(lead), None if rep < 0 else _plain(rep_ids[rep]))
                      for lead, rep in zip(problem.lead_ids.tolist(), result.rep_of.tolist(), strict=True))
    constraints = tuple(constraint_to_dict(constraint) for constraint in result.constraints)
    problem_hash, rules_hash = problem_digest(problem), constraints_digest(result.constraints)
    return AuditRecord(
        format=FORMAT,
        timestamp=when.isoformat(timespec="microseconds"),
        input_digest=_input_digest(problem_hash, rules_hash),
        problem_digest=problem_hash,
        constraints_digest=rules_hash,
        n_leads=problem.n_leads, n_reps=problem.n_reps, n_pairs=problem.n_pairs,
        constraints=constraints,
        solver_requested=solver or (settings.solver if settings else result.solver),
        solver_used=result.solver,
        parameters=parameters,
        versions=_versions(),
        status=result.status.value,
        objective=float(result.objective),
        bound=None if result.bound is None else float(result.bound),
        gap=None if result.gap is None else float(result.gap),
        n_assigned=int(result.n_assigned),
        solve_time=float(result.solve_time),
        reason=result.reason,
        decisions=decisions,
        problem=problem_to_dict(problem) if include_problem else None,
        hint=None if not include_problem or hint_array is None else tuple(int(x) for x in hint_array.tolist()),
    )


# ---------------------------------------------------------------------------------------- JSON lines
def write_jsonl(records: AuditRecord | Iterable[AuditRecord], path: str | os.PathLike[str]) -> int:
    """Append records to a JSON-lines file, one per line; all of them or none.

    Every record is serialised before the file is touched, so a record that cannot be written
    leaves the file as it was. The lines then go out in one append (``O_APPEND``, so lines of
    concurrent writers do not interleave within a line on a local file system); if writing
    fails the file is cut back to its former length, and a file this call created is removed.

    Returns
    -------
    int
        The number of records written.
    """
    items = [records] if isinstance(records, AuditRecord) else list(records)
    for position, item in enumerate(items):
        if not isinstance(item, AuditRecord):
            raise ValidationError(f"records must be AuditRecord objects; item {position} is {type(item).__name__}")
    payload = "".join(item.to_json() + "\n" for item in items).encode()
    if not payload:
        return 0
    target = Path(path)
    existed = target.exists()
    descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    size = os.fstat(descriptor).st_size
    try:
        view = memoryview(payload)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
        os.fsync(descriptor)
    except BaseException:
        os.ftruncate(descriptor, size)
        os.close(descriptor)
        if not existed:
            target.unlink(missing_ok=True)
        raise
    os.close(descriptor)
    return len(items)


def read_jsonl(path: str | os.PathLike[str]) -> list[AuditRecord]:
    """Every record in a JSON-lines file (blank lines skipped).

    Raises
    ------
    ValidationError
        A line that is not JSON, or not a record; the message gives the file and line number.
    FileNotFoundError
        No such file.
    """
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"{path}, line {number}: not valid JSON ({exc.msg}: column {exc.colno})"
                                      ) from None
            try:
                records.append(AuditRecord.from_dict(data))
            except ValidationError as exc:
                raise ValidationError(f"{path}, line {number}: {exc}") from None
    return records


# ---------------------------------------------------------------------------------------- replay
@dataclass(frozen=True)
class LeadDifference:
    """One lead decided differently on replay (rep ids; None = unassigned)."""

    lead_id: Any
    recorded: Any
    replayed: Any


@dataclass(frozen=True, eq=False)
class Replay:
    """The outcome of :func:`replay`.

    Attributes
    ----------
    matches : bool
        Every lead went to the recorded rep, and the objective is the same double.
    differences : tuple of LeadDifference
        The leads decided differently (empty when ``matches``).
    same_objective : bool
        The replayed objective equals the recorded one bit for bit.
    result : Result
        The replayed result.
    versions_changed : tuple of str
        Packages whose version differs from the record's (a likely cause of a mismatch).
    notes : tuple of str
    message : str
        One sentence saying whether the replay reproduced the record.
    """

    matches: bool
    differences: tuple[LeadDifference, ...]
    same_objective: bool
    result: Result
    versions_changed: tuple[str, ...]
    notes: tuple[str, ...]
    message: str


def replay(entry: AuditRecord, problem: Problem | None = None,
           constraints: Iterable[Constraint] | Constraint | None = None, *, hint: Any = None,
           options: Mapping[str, Any] | None = None) -> Replay:
    """Solve the recorded batch again with the recorded parameters and compare, lead by lead.

    The recorded entry point runs again: :func:`fairassign.solve` (also for a scenario of
    :func:`fairassign.sweep`), :func:`fairassign.solve_blocks` with its ``max_blocks`` (in
    this process, whatever executor the run used: blocks do not depend on where they ran),
    or :func:`fairassign.strategies.run_strategy` with the baseline's recorded options.

    Parameters
    ----------
    entry : AuditRecord
    problem : Problem, optional
        The batch; default the one embedded in the record (``include_problem=True``).
    constraints : iterable of Constraint, optional
        Default: the recorded rules. When given, they must match the record's digest.
    hint : Result or int array, optional
        The warm start, when the record used one and does not embed it.
    options : mapping, optional
        Strategy options the record could not hold (marked unrecorded), passed again. An
        option that was recorded may be given too, but must be what was recorded.

    Returns
    -------
    Replay

    Raises
    ------
    ValidationError
        The problem (or rules, or hint) differs from what was recorded (digest mismatch), the
        record embeds no problem and none is given, the recorded solver is unknown here, or a
        strategy option the record could not hold is not passed again.
    """
    if not isinstance(entry, AuditRecord):
        raise ValidationError(f"entry must be an AuditRecord, got {type(entry).__name__}")
    if problem is None:
        if entry.problem is None:
            raise ValidationError("the record embeds no problem (recorded without include_problem=True); "
                                  "pass the batch as problem=")
        problem = problem_from_dict(entry.problem)
    digest = problem_digest(problem)
    if digest != entry.problem_digest:
        raise ValidationError(
            f"problem does not match the record: digest {digest[:16]}... != recorded {entry.problem_digest[:16]}... "
            f"(given {problem.n_leads} leads x {problem.n_reps} reps with {problem.n_pairs} pairs, recorded "
            f"{entry.n_leads} x {entry.n_reps} with {entry.n_pairs}); the batch changed since it was recorded")
    rules = entry.rules() if constraints is None else (
        (constraints,) if isinstance(constraints, Constraint) else tuple(constraints))
    rules_hash = constraints_digest(rules)
    if rules_hash != entry.constraints_digest:
        raise ValidationError(f"constraints do not match the record: digest {rules_hash[:16]}... != recorded "
                              f"{entry.constraints_digest[:16]}...")
    parameters = entry.parameters
    hint_array = None
    if parameters.hint_digest is not None:
        if hint is None and entry.hint is None:
            raise ValidationError("the record used a hint that it does not embed; pass it as hint=")
        hint_array = np.asarray(getattr(hint, "rep_of", hint) if hint is not None else entry.hint, dtype=np.int64)
        if _hint_digest(hint_array) != parameters.hint_digest:
            raise ValidationError("hint does not match the record's hint digest")

    strategy_options = _replay_options(entry, options)
    result = _solve_again(entry, problem, rules, hint_array, strategy_options)
    rep_ids = problem.rep_ids.tolist()
    recorded = dict(entry.decisions)
    differences = []
    for lead, rep in zip(problem.lead_ids.tolist(), result.rep_of.tolist(), strict=True):
        now = None if rep < 0 else _plain(rep_ids[rep])
        if recorded[_plain(lead)] != now:
            differences.append(LeadDifference(_plain(lead), recorded[_plain(lead)], now))
    same_objective = np.float64(result.objective).tobytes() == np.float64(entry.objective).tobytes()
    matches = not differences and same_objective
    current = _versions()
    changed = tuple(name for name in _PACKAGES if current.get(name) != entry.versions.get(name))
    notes = []
    if parameters.time_limit is not None:
        notes.append(f"the record had a time limit ({parameters.time_limit:g} s): a solver stopped by time may "
                     "stop elsewhere on replay")
    if changed:
        notes.append("versions differ from the record: " + ", ".join(
            f"{name} {entry.versions.get(name)} -> {current.get(name)}" for name in changed))
    if matches:
        message = (f"replay matches the record bit for bit: {problem.n_leads} leads, {result.n_assigned} assigned, "
                   f"objective {result.objective!r} (solver {result.solver!r})")
    else:
        shown = ", ".join(f"{d.lead_id!r}: {d.recorded!r} -> {d.replayed!r}" for d in differences[:5])
        more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
        objective = "" if same_objective else f"; objective {entry.objective!r} -> {result.objective!r}"
        message = f"replay differs from the record on {len(differences)} lead(s) ({shown}{more}){objective}"
    return Replay(matches, tuple(differences), same_objective, result, changed, tuple(notes), message)


def _replay_options(entry: AuditRecord, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The strategy options to replay with: the recorded ones, and the unrecorded ones passed again."""
    recorded = {} if entry.parameters.options is None else options_from_dict(entry.parameters.options)
    given = {} if given is None else dict(given)
    missing = [name for name, value in recorded.items() if _is_unrecorded(value) and name not in given]
    if missing:
        why = "; ".join(recorded[name][_UNRECORDED] for name in missing)
        raise ValidationError(f"the record could not hold strategy option(s) {', '.join(map(repr, missing))} ({why}); "
                              "replay needs them passed again: replay(entry, problem, options={"
                              + ", ".join(f"{name!r}: ..." for name in missing) + "})")
    unknown = sorted(set(given) - set(recorded))
    if unknown:
        raise ValidationError(f"options {', '.join(map(repr, unknown))} were not options of the recorded run "
                              f"(it had {sorted(recorded) or 'none'})")
    for name, value in given.items():
        if not _is_unrecorded(recorded[name]) and _canonical_json(_encode_option(value, name)) != _canonical_json(
                entry.parameters.options[name]):  # type: ignore[index]
            raise ValidationError(f"strategy option {name!r} differs from the recorded one")
    return {**recorded, **given}


def _solve_again(entry: AuditRecord, problem: Problem, rules: tuple[Constraint, ...],
                 hint: NDArray[np.int64] | None, options: dict[str, Any]) -> Result:
    from .solve import solve
    from .solvers import solver_names

    name, parameters = entry.solver_requested, entry.parameters
    common: dict[str, Any] = {"objective": parameters.objective, "time_limit": parameters.time_limit,
                              "seed": parameters.seed, "rel_gap": parameters.rel_gap}
    if parameters.entry == "solve_blocks":
        from .decompose import solve_blocks

        return solve_blocks(problem, rules, max_blocks=parameters.max_blocks, solver=name, hint=hint, **common)
    if name == "auto" or name in solver_names():
        return solve(problem, rules, solver=name, hint=hint, **common)
    from . import strategies

    if name in strategies.strategy_names():
        return strategies.run_strategy(name, problem, rules, seed=parameters.seed, time_limit=parameters.time_limit,
                                       **options)
    raise ValidationError(f"the record names solver {name!r}, which is neither a backend ({', '.join(solver_names())}) "
                          "nor a strategy known to this version")
