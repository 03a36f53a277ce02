"""The TOML rules file: capacities, tiers, territories, fit, fairness, bands, pins, SLA and solver settings.

:func:`read_rules` reads a file with the standard library's :mod:`tomllib` and returns a frozen
:class:`RulesFile`; :meth:`RulesFile.build` turns it and a leads and a reps table (pandas or
polars frames, CSV tables, mappings of columns) into a :class:`~fairassign.Problem` and the
tuple of rules to solve it under. Every mistake is a :class:`~fairassign.ValidationError`
that names the file and the line: TOML syntax, an unknown key (with the nearest valid one),
a wrong type, a number out of range, and, when the file meets the data, a column or id that
is not there. The schema, with a full example, is in ``docs/integration.md``.

The score of a pair, unless a pairs table gives it, is

.. math:: s_{ir} = b_i \\left(\\text{base} + \\sum_k \\text{add}_k \\,
          [\\text{lead}_i.\\text{col}_k \\in \\text{rep}_r.\\text{col}_k]\\right),

where :math:`b_i` is the lead's ``score.column`` (default its value, or 1 without a value
column) and each ``[[score.bonus]]`` adds to the fit when the lead's attribute is one the
rep covers (the rep knows the lead's industry, the lead is in the rep's home region).
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .constraints import AssignAll, Constraint, CountBand, FairShare, Forbid, Pin, ValueBand
from .errors import ValidationError
from .frames import Table, as_table, batch_ids, problem_from_tables
from .problem import Problem

__all__ = ["RulesFile", "Territory", "Bonus", "read_rules", "parse_rules"]

Path_ = tuple[str | int, ...]

_OBJECTIVES = ("lexicographic", "score")


@dataclass(frozen=True)
class Territory:
    """A lead is eligible for a rep only when ``lead.<lead>`` is one of ``rep.<rep>``'s values."""

    lead: str
    rep: str
    separator: str = ";"


@dataclass(frozen=True)
class Bonus:
    """``add`` to a pair's fit when ``lead.<lead>`` is one of ``rep.<rep>``'s values."""

    lead: str
    rep: str
    add: float
    separator: str = ";"


# --------------------------------------------------------------------------- where keys are
_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'[^']*'"
_KEY = rf"(?:{_BARE}|{_QUOTED})(?:\s*\.\s*(?:{_BARE}|{_QUOTED}))*"


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(rf"{_BARE}|{_QUOTED}", text)
    return tuple(part[1:-1] if part[:1] in "\"'" else part for part in parts)


def _key_lines(text: str) -> dict[Path_, int]:
    """Line of every key and table header, by path (array-of-tables entries by index).

    A light scanner, enough for a valid file (tomllib has already parsed it): headers and
    ``key =`` at the start of a line. Keys inside an inline table share their parent's line.
    """
    lines: dict[Path_, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    table: Path_ = ()

    def resolve(path: tuple[str, ...]) -> Path_:
        out: list[str | int] = []
        for k in range(len(path)):
            out.append(path[k])
            prefix = path[: k + 1]
            if prefix in counts and k + 1 < len(path):
                out.append(counts[prefix])
        return tuple(out)

    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if match := re.match(rf"\[\[\s*({_KEY})\s*\]\]", stripped):
            path = _split_key(match.group(1))
            counts[path] = counts.get(path, -1) + 1
            table = (*resolve(path), counts[path])
            lines.setdefault(table[:-1], number)
            lines.setdefault(table, number)
        elif match := re.match(rf"\[\s*({_KEY})\s*\]", stripped):
            table = resolve(_split_key(match.group(1)))
            lines.setdefault(table, number)
        elif match := re.match(rf"({_KEY})\s*=", stripped):
            lines.setdefault((*table, *_split_key(match.group(1))), number)
    return lines


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        elif re.fullmatch(_BARE, part):
            text += f".{part}" if text else part
        else:
            text += f".{part!r}" if text else repr(part)
    return text or "(top level)"


@dataclass(frozen=True)
class _Where:
    """Names places in one rules file for messages."""

    source: str
    lines: Mapping[Path_, int]

    def line(self, path: Path_) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def error(self, path: Path_, problem: str) -> ValidationError:
        line = self.line(path)
        place = f"{self.source}, line {line}" if line is not None else self.source
        return ValidationError(f"{place}: {_dotted(path)}: {problem}")


# --------------------------------------------------------------------------- typed reads
def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


class _Reader:
    """Reads one parsed TOML document against the schema, collecting the first mistake."""

    def __init__(self, document: dict[str, Any], where: _Where) -> None:
        self.document = document
        self.where = where

    def table(self, path: Path_, value: Any, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.where.error(path, f"expected a table, got {_type_name(value)} {value!r}")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                    hint = f"did you mean {near[0]!r}?" if near else f"valid keys are {', '.join(allowed)}"
                    raise self.where.error((*path, key), f"unknown key {key!r}; {hint}")
        return value

    def string(self, path: Path_, value: Any, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str) or not value:
            raise self.where.error(path, f"expected a non-empty string, got {_type_name(value)} {value!r}")
        if choices is not None and value not in choices:
            near = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise self.where.error(path, f"expected one of {', '.join(map(repr, choices))}, got {value!r}{hint}")
        return value

    def number(self, path: Path_, value: Any, *, minimum: float = 0.0, strict: bool = False,
               allow_inf: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.where.error(path, f"expected a number, got {_type_name(value)} {value!r}")
        number = float(value)
        if math.isnan(number) or (math.isinf(number) and not allow_inf):
            raise self.where.error(path, f"expected a finite number, got {value!r}")
        if number < minimum or (strict and number == minimum):
            relation = ">" if strict else ">="
            raise self.where.error(path, f"expected a number {relation} {minimum:g}, got {value!r}")
        return number

    def integer(self, path: Path_, value: Any, *, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.where.error(path, f"expected an integer, got {_type_name(value)} {value!r}")
        if value < minimum:
            raise self.where.error(path, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def boolean(self, path: Path_, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.where.error(path, f"expected true or false, got {_type_name(value)} {value!r}")
        return value

    def array_of_tables(self, path: Path_, value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.where.error(
                path, f"expected an array of tables ([[{_dotted(path)}]] sections), got {_type_name(value)}"
            )
        return value


# --------------------------------------------------------------------------- the file
@dataclass(frozen=True, eq=False)
class RulesFile:
    """The settings of one rules file; :meth:`build` applies them to a batch.

    Every field has the default that an absent key means; ``docs/integration.md`` lists the
    TOML keys that set them. Mappings are read-only.

    Examples
    --------
    >>> rules = parse_rules('''
    ... [fairness]
    ... tolerance = 0.2
    ... [solve]
    ... assign_all = true
    ... ''')
    >>> rules.fairness_tolerance, rules.assign_all, rules.solver
    (0.2, True, 'auto')
    """

    source: str = "<rules>"
    lead_id: str = "id"
    rep_id: str = "id"
    value_column: str | None = None
    effort_column: str | None = None
    capacity_column: str = "capacity"
    capacity_default: float | None = None
    capacity_per_rep: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    tiers: bool = False
    tier_lead_column: str = "tier"
    tier_rep_column: str = "max_tier"
    tier_order: tuple[str, ...] = ("A", "B", "C")
    tier_effort: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    sla_hours: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    max_tier_per_rep: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    territories: tuple[Territory, ...] = ()
    score_column: str | None = None
    score_base: float = 1.0
    score_bonuses: tuple[Bonus, ...] = ()
    fairness_tolerance: float | None = None
    fairness_weight: str | None = None
    count_lower: float | None = None
    count_upper: float | None = None
    value_lower: float | None = None
    value_upper: float | None = None
    pins: tuple[tuple[str, str], ...] = ()
    forbidden: tuple[tuple[str, str], ...] = ()
    assign_all: bool = False
    solver: str = "auto"
    time_limit: float | None = None
    seed: int = 0
    objective: str = "lexicographic"
    lines: Mapping[Path_, int] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    # ------------------------------------------------------------------ helpers
    @property
    def _where(self) -> _Where:
        return _Where(self.source, self.lines)

    def sla(self, tier: str) -> float | None:
        """Hours a lead of ``tier`` may wait for a first contact (``[tiers.sla_hours]``); None when unset."""
        return self.sla_hours.get(tier)

    def solve_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`fairassign.solve`: ``solver``, ``time_limit``, ``seed``, ``objective``."""
        return {"solver": self.solver, "time_limit": self.time_limit, "seed": self.seed,
                "objective": self.objective}

    def _column(self, table: Table, name: str, path: Path_, purpose: str) -> str:
        if not table.has(name):
            have = ", ".join(repr(c) for c in table.columns) or "none"
            raise self._where.error(path, f"{table.name} has no column {name!r} ({purpose}); its columns are {have}")
        return name

    # ------------------------------------------------------------------ build
    def build(self, leads: Any, reps: Any, *, pairs: Any = None) -> tuple[Problem, tuple[Constraint, ...]]:
        """The batch and its rules from a leads and a reps table.

        Parameters
        ----------
        leads, reps : pandas / polars DataFrame, :class:`~fairassign.frames.Table`, or mapping of columns
        pairs : same kinds, optional
            Columns ``lead_id``, ``rep_id``, ``score`` [, ``effort``]: the scores of the candidate
            pairs. Without it each eligible pair scores ``b_i * fit_ir`` (module docstring).
            Tier and territory rules still restrict the pairs listed.

        Returns
        -------
        (Problem, tuple of Constraint)

        Raises
        ------
        ValidationError
            A column the file names that a table lacks, an id in ``capacity.per_rep``,
            ``tiers.max_tier``, ``pins`` or ``forbid`` that is not in the batch, a tier not in
            ``tiers.order``, and everything :func:`fairassign.frames.problem_from_frames` checks.
        """
        lead_table, rep_table = as_table(leads, "leads"), as_table(reps, "reps")
        pair_table = None if pairs is None else as_table(pairs, "pairs")
        where = self._where
        self._column(lead_table, self.lead_id, ("columns", "lead_id"), "lead id")
        self._column(rep_table, self.rep_id, ("columns", "rep_id"), "rep id")
        lead_ids, rep_ids = batch_ids(lead_table, rep_table, self.lead_id, self.rep_id)
        n_leads, n_reps = lead_ids.size, rep_ids.size
        rep_lookup = _lookup(rep_ids)

        value = None
        if self.value_column is not None:
            self._column(lead_table, self.value_column, ("columns", "value"), "lead value")
            value = lead_table.numbers(self.value_column, "lead value")
        elif lead_table.has("value"):
            value = lead_table.numbers("value", "lead value")

        capacity = self._capacity(rep_table, rep_lookup, n_reps)

        effort = None
        if self.effort_column is not None:
            self._column(lead_table, self.effort_column, ("columns", "effort"), "lead effort")
            effort = lead_table.numbers(self.effort_column, "lead effort")

        lead_codes: list[NDArray[np.int64]] = []
        # per rule, covers[code, rep]: may a rep take a lead whose attribute has this code
        rep_rules: list[NDArray[np.bool_]] = []
        if self.tiers:
            rank, rep_rank = self._tier_ranks(lead_table, rep_table, rep_lookup, n_reps)
            if self.tier_effort:
                if effort is not None:
                    raise where.error(("tiers", "effort"), "effort is set twice: by tier and by columns.effort")
                effort = np.array([self.tier_effort.get(self.tier_order[k], 1.0) for k in rank.tolist()])
            lead_codes.append(rank)
            rep_rules.append(rep_rank[None, :] <= np.arange(len(self.tier_order))[:, None])
        for k, territory in enumerate(self.territories):
            codes, covers = self._match(lead_table, rep_table, territory.lead, territory.rep, territory.separator,
                                        ("territories", k), "territory")
            lead_codes.append(codes)
            rep_rules.append(covers)
        fit_rules: list[tuple[NDArray[np.bool_], float]] = []
        for k, bonus in enumerate(self.score_bonuses):
            codes, covers = self._match(lead_table, rep_table, bonus.lead, bonus.rep, bonus.separator,
                                        ("score", "bonus", k), "score bonus")
            lead_codes.append(codes)
            fit_rules.append((covers, bonus.add))

        if pair_table is not None:
            # the pairs table scores the pairs: only tier and territory rules matter, and only if there are any
            score: Any = "score"
            mask = None
            if rep_rules:
                mask, _ = _classes(n_leads, n_reps, lead_codes[:len(rep_rules)], rep_rules, [], 0.0)
        else:
            _, fit = _classes(n_leads, n_reps, lead_codes, rep_rules, fit_rules, self.score_base)
            if self.score_column is not None:
                self._column(lead_table, self.score_column, ("score", "column"), "score of each lead")
                amount = lead_table.numbers(self.score_column, "score of each lead", nonnegative=False)
            else:
                amount = value if value is not None else np.ones(n_leads)
            rows, cols, per_pair_fit = fit
            score = sp.coo_array((amount[rows] * per_pair_fit, (rows, cols)), shape=(n_leads, n_reps))
            mask = None
        problem = problem_from_tables(
            lead_table, rep_table, score=score, pairs=pair_table, lead_id=self.lead_id, rep_id=self.rep_id,
            capacity=capacity, value=value, effort=effort, eligible=mask,
        )
        return problem, self.constraints(problem, rep_table)

    def _capacity(self, reps: Table, rep_lookup: dict[str, int], n_reps: int) -> NDArray[np.float64]:
        if reps.has(self.capacity_column):
            capacity = reps.numbers(self.capacity_column, "capacity", allow_inf=True, default=self.capacity_default)
        elif self.capacity_default is not None:
            capacity = np.full(n_reps, self.capacity_default)
        elif len(self.capacity_per_rep) == n_reps:
            capacity = np.full(n_reps, np.nan)
        else:
            raise self._where.error(
                ("capacity",),
                f"{reps.name} has no column {self.capacity_column!r} and no capacity.default is set; "
                "give one of them (or capacity.per_rep for every rep)",
            )
        for rep, amount in self.capacity_per_rep.items():
            capacity[self._rep(rep_lookup, rep, ("capacity", "per_rep", rep), reps)] = amount
        return capacity

    def _rep(self, lookup: dict[str, int], rep: str, path: Path_, reps: Table) -> int:
        if rep not in lookup:
            raise self._where.error(path, f"{rep!r} is not a rep id in {reps.name}")
        return lookup[rep]

    def _tier_ranks(self, leads: Table, reps: Table, rep_lookup: dict[str, int],
                    n_reps: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        rank_of = {tier: k for k, tier in enumerate(self.tier_order)}
        self._column(leads, self.tier_lead_column, ("tiers", "lead_column"), "lead tier")
        tiers = leads.labels(self.tier_lead_column, "lead tier")
        rank = np.empty(tiers.size, dtype=np.int64)
        for row, tier in enumerate(tiers.tolist()):
            if str(tier) not in rank_of:
                raise ValidationError(
                    f"{leads.where(row, self.tier_lead_column)}: tier {tier!r} is not in tiers.order "
                    f"{list(self.tier_order)!r} of {self.source}"
                )
            rank[row] = rank_of[str(tier)]
        rep_rank = np.zeros(n_reps, dtype=np.int64)  # a rep without a max tier takes every tier
        if reps.has(self.tier_rep_column):
            for row, tier in enumerate(reps.labels(self.tier_rep_column, "highest tier of a rep").tolist()):
                if str(tier) not in rank_of:
                    raise ValidationError(
                        f"{reps.where(row, self.tier_rep_column)}: tier {tier!r} is not in tiers.order "
                        f"{list(self.tier_order)!r} of {self.source}"
                    )
                rep_rank[row] = rank_of[str(tier)]
        elif ("tiers", "rep_column") in self.lines:
            self._column(reps, self.tier_rep_column, ("tiers", "rep_column"), "highest tier of a rep")
        for rep, tier in self.max_tier_per_rep.items():
            rep_rank[self._rep(rep_lookup, rep, ("tiers", "max_tier", rep), reps)] = rank_of[tier]
        return rank, rep_rank

    def _match(self, leads: Table, reps: Table, lead_column: str, rep_column: str, separator: str,
               path: Path_, purpose: str) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Codes of the lead attribute, and ``covers[code, rep]``: does the rep cover that value."""
        self._column(leads, lead_column, (*path, "lead"), f"{purpose}: lead attribute")
        self._column(reps, rep_column, (*path, "rep"), f"{purpose}: values a rep covers")
        labels = leads.labels(lead_column, f"{purpose}: lead attribute").tolist()
        codes: dict[Any, int] = {}
        lead_codes = np.array([codes.setdefault(label, len(codes)) for label in labels], dtype=np.int64)
        covered = reps.sets(rep_column, f"{purpose}: values a rep covers", separator)
        covers = np.zeros((len(codes), len(covered)), dtype=bool)
        for r, values in enumerate(covered):
            if values is None:
                covers[:, r] = True
            else:
                covers[[codes[v] for v in values if v in codes], r] = True
        return lead_codes, covers

    # ------------------------------------------------------------------ rules
    def constraints(self, problem: Problem, reps: Any = None) -> tuple[Constraint, ...]:
        """The rule objects the file asks for, checked against ``problem``'s ids.

        ``reps`` (the reps table) is needed only for a fairness weight read from a column.
        """
        rules: list[Constraint] = []
        if self.assign_all:
            rules.append(AssignAll())
        if self.count_lower is not None or self.count_upper is not None:
            rules.append(CountBand(self.count_lower, self.count_upper))
        if self.value_lower is not None or self.value_upper is not None:
            rules.append(ValueBand(self.value_lower, self.value_upper))
        if self.fairness_tolerance is not None:
            weight = None
            if self.fairness_weight is not None and self.fairness_weight != "capacity":
                if reps is None:
                    raise self._where.error(("fairness", "weight"), "a weight column needs the reps table")
                table = as_table(reps, "reps")
                self._column(table, self.fairness_weight, ("fairness", "weight"), "fair-share weight")
                weight = table.numbers(self.fairness_weight, "fair-share weight")
            elif not np.isfinite(problem.capacity).all():
                raise self._where.error(
                    ("fairness",), "a capacity-weighted fair share needs finite capacities; set fairness.weight "
                    "to a reps column, or give every rep a finite capacity"
                )
            rules.append(FairShare(self.fairness_tolerance, weight))
        lead_lookup, rep_lookup = _lookup(problem.lead_ids), _lookup(problem.rep_ids)
        for name, pairs, rule in (("pins", self.pins, Pin), ("forbid", self.forbidden, Forbid)):
            if not pairs:
                continue
            resolved = []
            for lead, rep in pairs:
                if lead not in lead_lookup:
                    raise self._where.error((name, lead), f"{lead!r} is not a lead id of the batch")
                if rep not in rep_lookup:
                    raise self._where.error((name, lead), f"{rep!r} is not a rep id of the batch")
                resolved.append((problem.lead_ids[lead_lookup[lead]], problem.rep_ids[rep_lookup[rep]]))
            rules.append(rule(resolved))
        return tuple(rules)


def _lookup(ids: NDArray[Any]) -> dict[str, int]:
    """Position of each id by its text: TOML keys are strings, ids may be numbers."""
    return {str(identifier): k for k, identifier in enumerate(ids.tolist())}


def _classes(
    n_leads: int, n_reps: int, lead_codes: list[NDArray[np.int64]],
    rep_rules: list[NDArray[np.bool_]],
    fit_rules: list[tuple[NDArray[np.bool_], float]], base: float,
) -> tuple[Any, tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]]:
    """Eligible pairs and their fit, one class of alike leads at a time (never a dense leads x reps mask).

    Returns the eligibility as a sparse bool matrix (None when every pair is eligible) and the
    candidate pairs ``(rows, cols, fit)`` sorted by lead then rep.
    """
    if lead_codes:
        stacked = np.stack(lead_codes, axis=1)
        classes, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        classes, inverse = np.zeros((1, 0), dtype=np.int64), np.zeros(n_leads, dtype=np.int64)
    order = np.argsort(inverse, kind="stable")
    starts = np.searchsorted(inverse[order], np.arange(classes.shape[0] + 1))
    n_rule = len(rep_rules)
    rows_parts, cols_parts, fit_parts = [], [], []
    for k, code in enumerate(classes):
        allowed = np.ones(n_reps, dtype=bool)
        for j, covers in enumerate(rep_rules):
            allowed &= covers[code[j]]
        fit = np.full(n_reps, base)
        for j, (bonus_covers, add) in enumerate(fit_rules):
            fit += add * bonus_covers[code[n_rule + j]]
        reps = np.flatnonzero(allowed)
        leads = order[starts[k]:starts[k + 1]]
        rows_parts.append(np.repeat(leads, reps.size))
        cols_parts.append(np.tile(reps, leads.size))
        fit_parts.append(np.tile(fit[reps], leads.size))
    rows = np.concatenate(rows_parts).astype(np.int64) if rows_parts else np.empty(0, np.int64)
    cols = np.concatenate(cols_parts).astype(np.int64) if cols_parts else np.empty(0, np.int64)
    fits = np.concatenate(fit_parts) if fit_parts else np.empty(0)
    sort = np.lexsort((cols, rows))
    rows, cols, fits = rows[sort], cols[sort], fits[sort]
    eligible = None
    if n_rule and rows.size < n_leads * n_reps:
        eligible = sp.coo_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(n_leads, n_reps))
    return eligible, (rows, cols, fits)


# --------------------------------------------------------------------------- reading
_TOP = ("columns", "capacity", "tiers", "territories", "score", "fairness", "count_band", "value_band", "pins",
        "forbid", "solve")


def parse_rules(text: str, source: str = "<rules>") -> RulesFile:
    """A :class:`RulesFile` from TOML text; ``source`` names it in messages.

    Raises
    ------
    ValidationError
        A syntax error, unknown key, wrong type or value out of range, with the line.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if found:
            detail = message[: found.start()].strip()
            raise ValidationError(
                f"{source}, line {found.group(1)}: invalid TOML: {detail} (column {found.group(2)})"
            ) from None
        raise ValidationError(f"{source}: invalid TOML: {message}") from None
    where = _Where(source, MappingProxyType(_key_lines(text)))
    read = _Reader(document, where)
    read.table((), document, _TOP)
    settings: dict[str, Any] = {"source": source, "lines": where.lines}

    from .solvers import solver_names  # the registry, not the backends' own packages

    if "columns" in document:
        columns = read.table(("columns",), document["columns"], ("lead_id", "rep_id", "value", "effort"))
        for key, name in (("lead_id", "lead_id"), ("rep_id", "rep_id"), ("value", "value_column"),
                          ("effort", "effort_column")):
            if key in columns:
                settings[name] = read.string(("columns", key), columns[key])

    if "capacity" in document:
        capacity = read.table(("capacity",), document["capacity"], ("column", "default", "per_rep"))
        if "column" in capacity:
            settings["capacity_column"] = read.string(("capacity", "column"), capacity["column"])
        if "default" in capacity:
            settings["capacity_default"] = read.number(("capacity", "default"), capacity["default"], allow_inf=True)
        if "per_rep" in capacity:
            per_rep = read.table(("capacity", "per_rep"), capacity["per_rep"], None)
            settings["capacity_per_rep"] = MappingProxyType({
                rep: read.number(("capacity", "per_rep", rep), amount, allow_inf=True)
                for rep, amount in per_rep.items()
            })

    if "tiers" in document:
        settings.update(_read_tiers(read, document["tiers"]))

    if "territories" in document:
        entries = read.array_of_tables(("territories",), document["territories"])
        territories = []
        for k, entry in enumerate(entries):
            path: Path_ = ("territories", k)
            read.table(path, entry, ("lead", "rep", "separator"))
            for key in ("lead", "rep"):
                if key not in entry:
                    raise where.error(path, f"missing key {key!r} (the {key} column to match)")
            territories.append(Territory(
                read.string((*path, "lead"), entry["lead"]), read.string((*path, "rep"), entry["rep"]),
                read.string((*path, "separator"), entry.get("separator", ";")),
            ))
        settings["territories"] = tuple(territories)

    if "score" in document:
        score = read.table(("score",), document["score"], ("column", "base", "bonus"))
        if "column" in score:
            settings["score_column"] = read.string(("score", "column"), score["column"])
        if "base" in score:
            settings["score_base"] = read.number(("score", "base"), score["base"], minimum=-math.inf)
        bonuses = []
        for k, entry in enumerate(read.array_of_tables(("score", "bonus"), score.get("bonus", []))):
            path = ("score", "bonus", k)
            read.table(path, entry, ("lead", "rep", "add", "separator"))
            for key in ("lead", "rep", "add"):
                if key not in entry:
                    raise where.error(path, f"missing key {key!r}")
            bonuses.append(Bonus(
                read.string((*path, "lead"), entry["lead"]), read.string((*path, "rep"), entry["rep"]),
                read.number((*path, "add"), entry["add"], minimum=-math.inf),
                read.string((*path, "separator"), entry.get("separator", ";")),
            ))
        settings["score_bonuses"] = tuple(bonuses)

    if "fairness" in document:
        fairness = read.table(("fairness",), document["fairness"], ("tolerance", "weight"))
        if "tolerance" not in fairness:
            raise where.error(("fairness",), "missing key 'tolerance' (e.g. tolerance = 0.15 for +-15%)")
        settings["fairness_tolerance"] = read.number(("fairness", "tolerance"), fairness["tolerance"])
        if "weight" in fairness:
            settings["fairness_weight"] = read.string(("fairness", "weight"), fairness["weight"])

    for band in ("count_band", "value_band"):
        if band in document:
            entry = read.table((band,), document[band], ("lower", "upper"))
            prefix = band.split("_")[0]
            lower = read.number((band, "lower"), entry["lower"]) if "lower" in entry else None
            upper = read.number((band, "upper"), entry["upper"], allow_inf=True) if "upper" in entry else None
            if lower is not None and upper is not None and lower > upper:
                raise where.error((band, "lower"), f"lower {lower:g} is above upper {upper:g}")
            settings[f"{prefix}_lower"], settings[f"{prefix}_upper"] = lower, upper

    if "pins" in document:
        pins = read.table(("pins",), document["pins"], None)
        settings["pins"] = tuple((lead, read.string(("pins", lead), rep)) for lead, rep in pins.items())
    if "forbid" in document:
        forbid = read.table(("forbid",), document["forbid"], None)
        pairs = []
        for lead, reps in forbid.items():
            listed = reps if isinstance(reps, list) else [reps]
            pairs += [(lead, read.string(("forbid", lead), rep)) for rep in listed]
        settings["forbidden"] = tuple(pairs)

    if "solve" in document:
        solve = read.table(("solve",), document["solve"],
                           ("assign_all", "solver", "time_limit", "seed", "objective"))
        if "assign_all" in solve:
            settings["assign_all"] = read.boolean(("solve", "assign_all"), solve["assign_all"])
        if "solver" in solve:
            settings["solver"] = read.string(("solve", "solver"), solve["solver"], ("auto", *solver_names()))
        if "time_limit" in solve:
            settings["time_limit"] = read.number(("solve", "time_limit"), solve["time_limit"], strict=True)
        if "seed" in solve:
            settings["seed"] = read.integer(("solve", "seed"), solve["seed"])
        if "objective" in solve:
            settings["objective"] = read.string(("solve", "objective"), solve["objective"], _OBJECTIVES)
    return RulesFile(**settings)


def _read_tiers(read: _Reader, value: Any) -> dict[str, Any]:
    tiers = read.table(("tiers",), value,
                       ("lead_column", "rep_column", "order", "effort", "sla_hours", "max_tier"))
    out: dict[str, Any] = {"tiers": True}
    for key, name in (("lead_column", "tier_lead_column"), ("rep_column", "tier_rep_column")):
        if key in tiers:
            out[name] = read.string(("tiers", key), tiers[key])
    order: tuple[str, ...] = ("A", "B", "C")
    if "order" in tiers:
        given = tiers["order"]
        if not isinstance(given, list) or not given or not all(isinstance(t, str) and t for t in given):
            raise read.where.error(("tiers", "order"), f"expected a non-empty array of tier names, got {given!r}")
        if len(set(given)) != len(given):
            raise read.where.error(("tiers", "order"), f"each tier must appear once, got {given!r}")
        order = tuple(given)
        out["tier_order"] = order
    for key, name, strict in (("effort", "tier_effort", False), ("sla_hours", "sla_hours", True)):
        if key in tiers:
            table = read.table(("tiers", key), tiers[key], order)
            out[name] = MappingProxyType({
                tier: read.number(("tiers", key, tier), amount, strict=strict) for tier, amount in table.items()
            })
    if "max_tier" in tiers:
        table = read.table(("tiers", "max_tier"), tiers["max_tier"], None)
        out["max_tier_per_rep"] = MappingProxyType({
            rep: read.string(("tiers", "max_tier", rep), tier, order) for rep, tier in table.items()
        })
    return out


def read_rules(path: str | PathLike[str]) -> RulesFile:
    """Read a rules file (UTF-8 TOML); messages name it by the path given.

    Raises
    ------
    ValidationError
        The file is missing or unreadable, not UTF-8, or has a mistake (see :func:`parse_rules`).
    """
    name = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{name}: rules file not found") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ValidationError(f"{name}: cannot read the rules file: {exc.strerror}") from None
    return parse_rules(text, source=name)
