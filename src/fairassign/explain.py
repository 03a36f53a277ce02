r"""Why a lead went to its rep, and why not to any other: facts measured on the result.

An explanation never guesses at a solver's reasoning. It measures the result it is given:

* the chosen rep and its score, the *runner-up* (the best other rep the rules allow for
  the lead, ties to the lowest rep position) and the score difference;
* for every other candidate rep, what happens if the lead alone moves there (or, when it
  is unassigned, is given to that rep): which rule it would break, with the amounts, or,
  when it breaks none, how the total score changes;
* since an optimiser trades globally, the best *exchange* that puts the lead with the
  runner-up: the move alone when the rules allow it, else the move plus one other lead
  moved (or dropped) to make room, with the change of the total score and of the number
  of assigned leads. For an OPTIMAL result no exchange gains (the exchange argument); for
  a heuristic or baseline result a gaining exchange is reported as such.

A move *breaks* a rule when after it some rep's amount lies outside its limit (by more
than the verifier's relative tolerance) *and* further outside than before, so that the
explanation of a result that already breaks a rule (a baseline that ignores fairness,
status INVALID) blames a move only for what it makes worse. For a move of lead :math:`i`
from rep :math:`a` to rep :math:`b` with effort :math:`e_{ib}` and value :math:`v_i`:

.. math::
    E_b + e_{ib} \le c_b, \quad C_b + 1 \le u^C_b, \quad V_b + v_i \le u^V_b, \quad
    V_b + v_i \le (1 + t) s_b V', \quad
    C_a - 1 \ge \ell^C_a, \quad V_a - v_i \ge \ell^V_a, \quad V_a - v_i \ge (1 - t) s_a V'

with :math:`V' = V` for a move and :math:`V' = V + v_i` when an unassigned lead is given a
rep (which raises every rep's fair-share floor).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .constraints import Forbid, Pin, _plain
from .diagnosis import named_list
from .errors import ValidationError
from .rules import Rules, bind

if TYPE_CHECKING:
    from .result import Result

__all__ = ["Binding", "Move", "Exchange", "RepReason", "Explanation", "explain", "REP_REASONS",
           "UNASSIGNED_REASONS"]

#: verifier's relative tolerance (fairassign.verify), so a "rule breaks" claim matches what it would flag
RTOL = 1e-6
#: at most this many two-lead exchanges are tried per explanation
MAX_EXCHANGES = 20_000

#: kinds of :attr:`RepReason.reason`
REP_REASONS = {
    "not_candidate": "not eligible: no candidate pair in the problem (no score, or eligible is False)",
    "forbidden": "not eligible: a Forbid rule",
    "pinned_elsewhere": "not eligible: the lead is pinned to another rep",
    "capacity": "rep full",
    "count_upper": "CountBand upper limit reached",
    "value_upper": "ValueBand upper limit reached",
    "fair_high": "FairShare ceiling reached",
    "count_lower": "a CountBand lower limit would be broken",
    "value_lower": "a ValueBand lower limit would be broken",
    "fair_low": "a FairShare floor would be broken",
    "must_assign": "a lead that must be assigned would be left out",
    "lower_score": "lower score",
    "equal_score": "equal score",
    "negative_score": "scores below 0 under objective 'score'",
    "better_unused": "keeps every rule and scores higher: the result is not optimal here",
    "not_solved": "the batch has no solution",
}

#: kinds of :attr:`Explanation.unassigned_reason`
UNASSIGNED_REASONS = {
    "not_solved": "the batch has no assignment (INFEASIBLE or NO_SOLUTION)",
    "no_eligible_rep": "no eligible rep",
    "all_full": "every eligible rep is full",
    "rules": "the rules keep every eligible rep from taking it",
    "objective": "the objective preferred other leads",
    "negative_score": "every rep that could take it scores it below 0 (objective 'score')",
    "missed": "a rep could take it without breaking a rule: the result is not optimal here",
}

_BINDING_ORDER = ("capacity", "count_upper", "value_upper", "fair_high", "count_lower", "value_lower", "fair_low",
                  "must_assign")


def _number(x: float | None) -> float | None:
    """JSON has no inf or NaN: those become None."""
    if x is None or not np.isfinite(x):
        return None
    return float(x)


def _id(label: Any) -> Any:
    return None if label is None else _plain(label)


def _json_id(label: Any) -> Any:
    """An id as JSON can hold it: tuples become lists, other non-JSON types their repr."""
    label = _id(label)
    if label is None or isinstance(label, bool | int | str):
        return label
    if isinstance(label, float):
        return _number(label) if np.isfinite(label) else repr(label)
    if isinstance(label, tuple | list):
        return [_json_id(part) for part in label]
    return repr(label)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


@dataclass(frozen=True)
class Binding:
    """One rule a move would break: a rep's amount before, the move's change, after, and the limit.

    ``rule`` is a key of :data:`REP_REASONS` (``"capacity"``, ``"fair_high"`` ...). For
    ``"capacity"``: ``before`` is the effort the rep uses, ``limit`` its capacity, ``change``
    the lead's effort, so ``limit - before`` is what is left. ``rep_id`` is None for
    ``"must_assign"``, where ``lead_id`` names the lead that would be left out.
    """

    rule: str
    rep_id: Any
    before: float
    change: float
    after: float
    limit: float
    message: str
    lead_id: Any = None

    @property
    def left(self) -> float:
        """Room left under an upper limit before the move (``limit - before``)."""
        return self.limit - self.before

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "rep_id": _json_id(self.rep_id), "lead_id": _json_id(self.lead_id),
                "before": _number(self.before), "change": _number(self.change), "after": _number(self.after),
                "limit": _number(self.limit), "message": self.message}


@dataclass(frozen=True)
class Move:
    """One lead changing hands; rep ids are None for "unassigned"."""

    lead_id: Any
    from_rep_id: Any
    to_rep_id: Any
    score_change: float

    def to_dict(self) -> dict[str, Any]:
        return {"lead_id": _json_id(self.lead_id), "from_rep_id": _json_id(self.from_rep_id),
                "to_rep_id": _json_id(self.to_rep_id), "score_change": _number(self.score_change)}


@dataclass(frozen=True)
class Exchange:
    """The best small rearrangement found that gives the explained lead to ``to_rep_id``.

    Attributes
    ----------
    to_rep_id : id
    moves : tuple of Move
        The explained lead first; at most one other lead.
    score_change : float
        Change of the total score if every move is made.
    count_change : int
        Change of the number of assigned leads.
    searched : int
        Two-lead exchanges tried (capped at :data:`MAX_EXCHANGES`).
    complete : bool
        False when the cap cut the search short.
    message : str
    """

    to_rep_id: Any
    moves: tuple[Move, ...]
    score_change: float
    count_change: int
    searched: int
    complete: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"to_rep_id": _json_id(self.to_rep_id), "moves": [move.to_dict() for move in self.moves],
                "score_change": _number(self.score_change), "count_change": self.count_change,
                "searched": self.searched, "complete": self.complete, "message": self.message}


@dataclass(frozen=True)
class RepReason:
    """Why one other candidate rep did not get the lead.

    ``reason`` is a key of :data:`REP_REASONS`; ``bindings`` lists every rule the move alone
    would break (empty for the score reasons); ``score_difference`` is this rep's score
    minus the chosen rep's (None when the lead is unassigned).
    """

    rep_id: Any
    score: float
    score_difference: float | None
    reason: str
    bindings: tuple[Binding, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"rep_id": _json_id(self.rep_id), "score": _number(self.score),
                "score_difference": _number(self.score_difference), "reason": self.reason,
                "bindings": [binding.to_dict() for binding in self.bindings], "message": self.message}


@dataclass(frozen=True)
class Explanation:
    """Why one lead went where it did. Build it with :func:`explain` or ``result.explain(lead)``.

    Attributes
    ----------
    lead_id : id
    lead : int
        The lead's position.
    status, solver, objective : str
        The result's status name, backend, and the objective it was solved for.
    rep_id : id or None
        The chosen rep; None when the lead is unassigned.
    score : float or None
        The chosen pair's score.
    pinned : bool
        A :class:`~fairassign.Pin` fixes the lead to ``rep_id``.
    runner_up_rep_id, runner_up_score : id, float or None
        The best other rep the rules allow for the lead (ties: lowest rep position).
    difference : float or None
        ``score - runner_up_score``; None when either is missing.
    others : tuple of RepReason
        Every other candidate rep, best score first.
    not_candidate_rep_ids : tuple of id
        Reps with no candidate pair for this lead (not eligible in the problem itself).
    unassigned_reason : str or None
        For an unassigned lead, a key of :data:`UNASSIGNED_REASONS`; None otherwise.
    exchange : Exchange or None
        The best exchange found that gives the lead to the runner-up (for an unassigned lead,
        to any allowed rep); None when there is no such rep or no exchange keeps the rules.
    notes : tuple of str
        Caveats: the result is not proven optimal, breaks rules, ...
    summary : str
        One sentence.
    """

    lead_id: Any
    lead: int
    status: str
    solver: str
    objective: str
    rep_id: Any
    score: float | None
    pinned: bool
    runner_up_rep_id: Any
    runner_up_score: float | None
    difference: float | None
    others: tuple[RepReason, ...]
    not_candidate_rep_ids: tuple[Any, ...]
    unassigned_reason: str | None
    exchange: Exchange | None
    notes: tuple[str, ...]
    summary: str

    def reason_for(self, rep_id: Hashable) -> RepReason:
        """The :class:`RepReason` of one other candidate rep; KeyError when there is none."""
        for other in self.others:
            if other.rep_id == rep_id:
                return other
        raise KeyError(rep_id)

    def text(self) -> str:
        """A few readable lines for the rep or manager asking."""
        lines = [self.summary]
        if self.runner_up_rep_id is not None and self.rep_id is not None:
            difference = self.difference or 0.0
            relation = (f"{_fmt(difference)} lower" if difference > 0 else
                        "the same score" if difference == 0 else f"{_fmt(-difference)} higher")
            lines.append(f"Runner-up: rep {self.runner_up_rep_id!r}, score {_fmt(self.runner_up_score or 0.0)} "
                         f"({relation}).")
        if self.exchange is not None:
            lines.append(self.exchange.message)
        if self.others:
            lines.append("Other reps:")
            lines += [f"  - {other.rep_id!r}: {other.message}" for other in self.others]
        if self.not_candidate_rep_ids:
            lines.append(f"Not eligible (no candidate pair): {named_list(list(self.not_candidate_rep_ids))}.")
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Every fact as JSON-serialisable values (ids as given; tuples become lists; inf becomes None)."""
        return {
            "lead_id": _json_id(self.lead_id), "lead": self.lead, "status": self.status, "solver": self.solver,
            "objective": self.objective, "rep_id": _json_id(self.rep_id), "score": _number(self.score),
            "pinned": self.pinned, "runner_up_rep_id": _json_id(self.runner_up_rep_id),
            "runner_up_score": _number(self.runner_up_score), "difference": _number(self.difference),
            "others": [other.to_dict() for other in self.others],
            "not_candidate_rep_ids": [_json_id(rep) for rep in self.not_candidate_rep_ids],
            "unassigned_reason": self.unassigned_reason,
            "exchange": None if self.exchange is None else self.exchange.to_dict(),
            "notes": list(self.notes), "summary": self.summary,
        }


# ---------------------------------------------------------------------------------------- the ledger
@dataclass(frozen=True)
class _Check:
    bindings: tuple[Binding, ...]
    score_change: float
    count_change: int


#: stands for "some rule breaks" in a quick check
_BROKEN = Binding("capacity", None, 0.0, 0.0, 0.0, 0.0, "")


class _Ledger:
    """Per-rep totals of one assignment, and what small changes to it would break."""

    def __init__(self, result: Result, rules: Rules) -> None:
        problem = result.problem
        self.problem, self.rules = problem, rules
        self.rep_of = np.asarray(result.rep_of, dtype=np.int64)
        leads = np.flatnonzero(self.rep_of >= 0)
        pairs = np.full(problem.n_leads, -1, np.int64)
        pairs[leads] = problem.pair_index(leads, self.rep_of[leads])
        self.pair_of = pairs
        valid = leads[pairs[leads] >= 0]
        reps = self.rep_of[valid]
        self.count = np.bincount(reps, minlength=problem.n_reps).astype(np.float64)
        self.effort = np.bincount(reps, weights=problem.pair_effort[pairs[valid]], minlength=problem.n_reps)
        self.value = np.bincount(reps, weights=problem.value[valid], minlength=problem.n_reps)
        self.total_value = float(self.value.sum())
        self.rep_ids = problem.rep_ids.tolist()
        self.lead_ids = problem.lead_ids.tolist()
        self.pinned: dict[int, int] = {}
        self.forbidden: set[tuple[int, int]] = set()
        for constraint in rules.constraints:
            if isinstance(constraint, Pin | Forbid):
                for lead_id, rep_id in constraint.pairs:
                    lead, rep = problem.lead_position(lead_id), problem.rep_position(rep_id)
                    if isinstance(constraint, Pin):
                        self.pinned.setdefault(lead, rep)
                    else:
                        self.forbidden.add((lead, rep))
        order = np.argsort(self.rep_of, kind="stable")
        self._by_rep = order
        self._by_rep_start = np.searchsorted(self.rep_of[order], np.arange(-1, problem.n_reps + 1))
        # plain-float copies of the per-rep limits and totals: the exchange search reads them thousands of times
        self._limits = list(zip(problem.capacity.tolist(), rules.count_upper.tolist(), rules.value_upper.tolist(),
                                rules.count_lower.tolist(), rules.value_lower.tolist(), strict=True))
        self._totals = list(zip(self.effort.tolist(), self.count.tolist(), self.value.tolist(), strict=True))
        self._rows: dict[int, dict[int, int]] = {}

    def pair(self, lead: int, rep: int) -> int:
        """Candidate-pair index of (lead, rep), or -1; from the lead's own row, not the whole list."""
        row = self._rows.get(lead)
        if row is None:
            start, stop = int(self.problem.lead_start[lead]), int(self.problem.lead_start[lead + 1])
            row = dict(zip(self.problem.pair_rep[start:stop].tolist(), range(start, stop), strict=True))
            self._rows[lead] = row
        return row.get(rep, -1)

    def over_capacity(self, lead: int, rep: int) -> bool:
        """Adding ``lead`` alone to ``rep`` passes its capacity (the first rule :meth:`check` tests)."""
        pair = self.pair(lead, rep)
        if pair < 0:
            return False  # check() says "not allowed"
        change = self.problem.pair_effort.item(pair)
        before = self._totals[rep][0]
        return change != 0.0 and _worse_one(before, before + change, self._limits[rep][0], True)

    def leads_of(self, rep: int) -> NDArray[np.int64]:
        """Leads assigned to ``rep``, by position."""
        return self._by_rep[self._by_rep_start[rep + 1]:self._by_rep_start[rep + 2]]

    def allowed_reps(self, lead: int) -> list[tuple[int, int]]:
        """``(rep, pair)`` of every pair the rules allow for ``lead``."""
        start, stop = self.problem.lead_start[lead], self.problem.lead_start[lead + 1]
        return [(int(self.problem.pair_rep[pair]), pair) for pair in range(start, stop) if self.rules.allowed[pair]]

    def rep_name(self, rep: int) -> str:
        return f"rep {self.rep_ids[rep]!r}"

    def check(self, moves: list[tuple[int, int]], *, quick: bool = False) -> _Check | None:
        """What the assignment with each ``(lead, new rep)`` applied breaks; None if a move is not allowed.

        ``quick``: stop at the first broken rule, with no message (the exchange search only asks "any?").
        """
        problem, rules = self.problem, self.rules
        d_count: dict[int, float] = defaultdict(float)
        d_effort: dict[int, float] = defaultdict(float)
        d_value: dict[int, float] = defaultdict(float)
        d_total = 0.0
        score_change, count_change = 0.0, 0
        dropped: list[int] = []
        for lead, to in moves:
            source = int(self.rep_of[lead])
            if source == to:
                continue
            value = problem.value.item(lead)
            if source >= 0 and self.pair_of[lead] >= 0:
                pair = int(self.pair_of[lead])
                d_count[source] -= 1.0
                d_effort[source] -= problem.pair_effort.item(pair)
                d_value[source] -= value
                score_change -= problem.pair_score.item(pair)
            elif source < 0:
                d_total += value
                count_change += 1
            if to >= 0:
                pair = self.pair(lead, to)
                if pair < 0 or not rules.allowed[pair]:
                    return None
                d_count[to] += 1.0
                d_effort[to] += problem.pair_effort.item(pair)
                d_value[to] += value
                score_change += problem.pair_score.item(pair)
            else:
                d_total -= value
                count_change -= 1
                dropped.append(lead)

        bindings: list[Binding] = []
        for lead in dropped:
            if rules.must_assign[lead]:
                if quick:
                    return _Check((_BROKEN,), score_change, count_change)
                bindings.append(Binding("must_assign", None, 1.0, -1.0, 0.0, 1.0,
                                        f"lead {self.lead_ids[lead]!r} must be assigned (AssignAll or Pin)",
                                        lead_id=_id(self.lead_ids[lead])))
        total_after = self.total_value + d_total
        for rep in sorted(d_count):
            capacity, count_upper, value_upper, count_lower, value_lower = self._limits[rep]
            effort, count, value = self._totals[rep]
            change_effort, change_count, change_value = d_effort[rep], d_count[rep], d_value[rep]
            for rule, before, change, limit, upper in (
                ("capacity", effort, change_effort, capacity, True),
                ("count_upper", count, change_count, count_upper, True),
                ("value_upper", value, change_value, value_upper, True),
                ("count_lower", count, change_count, count_lower, False),
                ("value_lower", value, change_value, value_lower, False),
            ):
                if change != 0.0 and _worse_one(before, before + change, limit, upper):
                    if quick:
                        return _Check((_BROKEN,), score_change, count_change)
                    bindings.append(Binding(rule, _id(self.rep_ids[rep]), before, change, before + change, limit,
                                            _band_message(rule, self.rep_name(rep), before, change, limit)))
        if rules.fair:
            touched = np.arange(problem.n_reps) if d_total != 0.0 else np.array(sorted(d_value), dtype=np.int64)
            values = self.value[touched]
            moved = values + np.array([d_value.get(rep, 0.0) for rep in touched.tolist()])
            slack = RTOL * max(total_after, 1.0)
            for fair in rules.fair:
                for rule, share, upper in (("fair_high", fair.high[touched], True),
                                           ("fair_low", fair.low[touched], False)):
                    broken = _worse(values, moved, share * self.total_value, share * total_after, upper, slack)
                    if quick and broken.any():
                        return _Check((_BROKEN,), score_change, count_change)
                    for k in np.flatnonzero(broken).tolist():
                        rep = int(touched[k])
                        bindings.append(Binding(rule, _id(self.rep_ids[rep]), float(values[k]),
                                                float(moved[k] - values[k]), float(moved[k]),
                                                float(share[k] * total_after),
                                                _fair_message(rule, self.rep_name(rep), float(moved[k]), total_after,
                                                              float(share[k]), float(fair.share[rep]),
                                                              fair.tolerance)))
        bindings.sort(key=lambda binding: _BINDING_ORDER.index(binding.rule))
        return _Check(tuple(bindings), score_change, count_change)


def _worse_one(before: float, after: float, limit: float, upper: bool) -> bool:
    """:func:`_worse` for one amount under a fixed limit, in plain floats (the exchange search calls it often)."""
    if math.isinf(limit):
        return False
    excess_before = before - limit if upper else limit - before
    excess_after = after - limit if upper else limit - after
    scale = max(abs(limit), 1.0)
    return excess_after > RTOL * scale and excess_after > max(excess_before, 0.0) + 1e-12 * scale


def _worse(before: Any, after: Any, limit_before: Any, limit_after: Any, upper: bool, slack: float) -> Any:
    """After the change the amount is past its limit by more than ``slack``, and further than before.

    Works on scalars and on numpy arrays alike (elementwise).
    """
    excess_before = np.subtract(before, limit_before) if upper else np.subtract(limit_before, before)
    excess_after = np.subtract(after, limit_after) if upper else np.subtract(limit_after, after)
    with np.errstate(invalid="ignore"):  # inf - inf where a limit is open
        return np.isfinite(limit_after) & (excess_after > slack) & (
            excess_after > np.maximum(np.nan_to_num(excess_before, nan=0.0, neginf=0.0), 0.0)
            + 1e-12 * np.maximum(np.abs(limit_after), 1.0))


def _band_message(rule: str, rep: str, before: float, change: float, limit: float) -> str:
    after = before + change
    if rule == "capacity":
        return (f"{rep} is full: it uses {_fmt(before)} of capacity {_fmt(limit)} ({_fmt(limit - before)} left) "
                f"and this needs {_fmt(change)}")
    band = "CountBand" if rule.startswith("count") else "ValueBand"
    if rule.startswith("count"):
        now, then = f"{_fmt(before)} leads", f"{_fmt(after)}"
    else:
        now, then = f"lead value {_fmt(before)}", f"{_fmt(after)}"
    if rule.endswith("upper"):
        return f"{rep} has {now}; {then} would pass its {band} upper limit {_fmt(limit)}"
    return f"{rep} has {now}; {then} would fall below its {band} lower limit {_fmt(limit)}"


def _fair_message(rule: str, rep: str, after: float, total: float, bound_share: float, share: float,
                  tolerance: float) -> str:
    sign = "+" if rule == "fair_high" else "-"
    where = "above its fair-share ceiling" if rule == "fair_high" else "below its fair-share floor"
    return (f"{rep} would receive lead value {_fmt(after)} of {_fmt(total)}, {where} {_fmt(bound_share * total)} "
            f"(share {share:.1%} {sign}{tolerance:.0%})")


# ---------------------------------------------------------------------------------------- exchanges
def _best_exchange(ledger: _Ledger, lead: int, targets: list[int], objective: str) -> tuple[Exchange | None, str]:
    """The best move of ``lead`` to one of ``targets``, alone or with one other lead moved or dropped."""
    problem, rep_of = ledger.problem, ledger.rep_of
    best: tuple[tuple[float, ...], list[tuple[int, int]], _Check] | None = None
    searched, complete = 0, True

    def consider(moves: list[tuple[int, int]]) -> None:
        nonlocal best
        outcome = ledger.check(moves, quick=True)
        if outcome is None or outcome.bindings:
            return
        score = outcome.score_change
        key = (float(outcome.count_change), score) if objective == "lexicographic" else (score,)
        if best is None or key > best[0]:  # strict: ties keep the first found (lowest positions)
            best = (key, moves, outcome)

    for target in targets:
        consider([(lead, target)])
    if best is None:
        for target in targets:
            single = ledger.check([(lead, target)])
            if single is None:
                continue
            source = int(rep_of[lead])
            movers: list[tuple[int, list[int]]] = []
            # make room at the target: one of its leads goes elsewhere (or is dropped)
            for other in ledger.leads_of(target).tolist():
                if other == lead or other in ledger.pinned:
                    continue
                places = [rep for rep, _ in ledger.allowed_reps(other) if rep != target]
                movers.append((other, [*places, -1]))
            # keep the source above its lower limits: one lead comes in to replace this one
            if source >= 0 and any(b.rule in ("count_lower", "value_lower", "fair_low") and b.rep_id is not None
                                   and b.rep_id == _id(ledger.rep_ids[source]) for b in single.bindings):
                for pair in problem.rep_order[problem.rep_start[source]:problem.rep_start[source + 1]].tolist():
                    other = int(problem.pair_lead[pair])
                    if other != lead and rep_of[other] != source and other not in ledger.pinned \
                            and ledger.rules.allowed[pair]:
                        movers.append((other, [source]))
            for other, places in movers:
                for place in places:
                    if searched >= MAX_EXCHANGES:
                        complete = False
                        break
                    searched += 1
                    if place >= 0 and place != source and place != target and ledger.over_capacity(other, place):
                        continue  # the same verdict check() would reach, without building the move
                    consider([(lead, target), (other, place)])
    if best is None:
        cut = "" if complete else f", search stopped at {MAX_EXCHANGES}"
        where = "the runner-up" if len(targets) == 1 else "any eligible rep"
        return None, (f"no exchange that gives the lead to {where} with at most one other lead moved or dropped "
                      f"keeps every rule ({searched} tried{cut}): it would take a larger rearrangement")
    _, moves, outcome = best
    rep_ids, lead_ids = ledger.rep_ids, ledger.lead_ids
    move_records = []
    for moved, to in moves:
        source = int(rep_of[moved])
        old = float(problem.pair_score[ledger.pair_of[moved]]) if source >= 0 else 0.0
        new = float(problem.pair_score[ledger.pair(moved, to)]) if to >= 0 else 0.0
        move_records.append(Move(_id(lead_ids[moved]), None if source < 0 else _id(rep_ids[source]),
                                 None if to < 0 else _id(rep_ids[to]), new - old))
    return Exchange(move_records[0].to_rep_id, tuple(move_records), outcome.score_change, outcome.count_change,
                    searched, complete, _exchange_message(move_records, outcome, objective)), ""


def _exchange_message(moves: list[Move], outcome: _Check, objective: str) -> str:
    first = moves[0]
    verb = "Giving it to" if first.from_rep_id is None else "Moving it to"
    text = f"{verb} rep {first.to_rep_id!r} ({first.score_change:+.6g})"
    if len(moves) == 1:
        text += " keeps every rule"
    else:
        other = moves[1]
        where = "leaving it unassigned" if other.to_rep_id is None else f"to rep {other.to_rep_id!r}"
        origin = "unassigned" if other.from_rep_id is None else f"rep {other.from_rep_id!r}"
        text += (f" needs lead {other.lead_id!r} moved from {origin} {where} ({other.score_change:+.6g}), "
                 "the best such exchange")
    count = "" if outcome.count_change == 0 else f" and {outcome.count_change:+d} assigned leads"
    text += f": total score {outcome.score_change:+.6g}{count}."
    gains = (outcome.count_change, outcome.score_change) > (0, 1e-9 * max(1.0, abs(outcome.score_change)))
    if objective == "score":
        gains = outcome.score_change > 1e-9 * max(1.0, abs(outcome.score_change))
    if gains:
        text += " That would improve the result: it is not optimal here."
    return text


# ---------------------------------------------------------------------------------------- explain
def _lead_position(result: Result, lead: Any, position: int | None) -> int:
    problem = result.problem
    if (lead is None) == (position is None):
        raise ValidationError("explain needs exactly one of lead (an id in problem.lead_ids) or position=, "
                              f"got lead={lead!r}, position={position!r}")
    if position is not None:
        if isinstance(position, bool) or not isinstance(position, int | np.integer) \
                or not 0 <= position < problem.n_leads:
            raise ValidationError(f"position must be an integer in [0, {problem.n_leads - 1}], got {position!r}")
        return int(position)
    try:
        return problem.lead_position(_plain(lead))
    except (KeyError, TypeError):
        raise ValidationError(f"lead must be an id in problem.lead_ids, got {lead!r}; "
                              "pass position= for a lead's position") from None


def explain(result: Result, lead: Any = None, *, position: int | None = None) -> Explanation:
    """Explain where one lead went, and why not elsewhere.

    Parameters
    ----------
    result : Result
        From :func:`fairassign.solve`, any backend, :func:`fairassign.solve_blocks` or a
        baseline strategy; the rules are read from ``result.constraints``.
    lead : id
        An entry of ``result.problem.lead_ids``.
    position : int, optional
        The lead's position instead of its id.

    Returns
    -------
    Explanation

    Raises
    ------
    ValidationError
        An unknown lead id or position.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[5.0, 4.0], [6.0, 1.0]], capacity=[1, 1],
    ...                      lead_ids=["a", "b"], rep_ids=["Ann", "Bo"])
    >>> why = fa.solve(problem).explain("a")
    >>> why.rep_id, why.runner_up_rep_id, why.reason_for("Ann").reason
    ('Bo', 'Ann', 'capacity')
    >>> why.exchange.score_change  # giving 'a' to Ann means moving 'b' to Bo
    -4.0
    """
    problem = result.problem
    lead = _lead_position(result, lead, position)
    rules = bind(problem, result.constraints)
    ledger = _Ledger(result, rules)
    settings = getattr(result, "settings", None)
    objective = settings.objective if settings is not None else "lexicographic"
    lead_id = _id(ledger.lead_ids[lead])
    chosen = int(result.rep_of[lead])
    chosen_pair = int(ledger.pair_of[lead]) if chosen >= 0 else -1
    chosen_score = float(problem.pair_score[chosen_pair]) if chosen_pair >= 0 else None
    solved = result.status.has_solution or result.status.name == "INVALID"

    start, stop = int(problem.lead_start[lead]), int(problem.lead_start[lead + 1])
    candidate_reps = problem.pair_rep[start:stop].tolist()
    not_candidates = np.setdiff1d(np.arange(problem.n_reps), problem.pair_rep[start:stop])
    pinned_to = ledger.pinned.get(lead)

    others: list[RepReason] = []
    feasible_reps: list[int] = []
    for pair, rep in zip(range(start, stop), candidate_reps, strict=True):
        if rep == chosen:
            continue
        score = float(problem.pair_score[pair])
        difference = None if chosen_score is None else score - chosen_score
        reason, bindings, message = _rep_reason(ledger, lead, rep, pair, score, chosen_score, pinned_to,
                                                objective, solved)
        if reason not in ("not_candidate", "forbidden", "pinned_elsewhere", "not_solved") and not bindings:
            feasible_reps.append(rep)
        others.append(RepReason(_id(ledger.rep_ids[rep]), score, difference, reason, bindings, message))
    others.sort(key=lambda other: -other.score)  # stable: ties keep rep order

    allowed = [(rep, pair) for rep, pair in ledger.allowed_reps(lead) if rep != chosen]
    runner = max(allowed, key=lambda item: (problem.pair_score[item[1]], -item[0]), default=None)
    runner_rep = None if runner is None else runner[0]
    runner_score = None if runner is None else float(problem.pair_score[runner[1]])
    difference = None if chosen_score is None or runner_score is None else chosen_score - runner_score

    exchange, no_exchange = None, ""
    if solved and runner_rep is not None:
        targets = [runner_rep] if chosen >= 0 else sorted(rep for rep, _ in allowed)
        exchange, no_exchange = _best_exchange(ledger, lead, targets, objective)

    notes = _notes(result, objective, chosen >= 0) + ((no_exchange,) if no_exchange else ())
    unassigned_reason = None
    if chosen < 0:
        unassigned_reason, summary = _unassigned(result, ledger, lead, others, allowed, feasible_reps, exchange,
                                                 objective, candidate_reps)
    else:
        summary = f"Lead {lead_id!r} went to rep {_id(ledger.rep_ids[chosen])!r}"
        summary += f" (score {_fmt(chosen_score)})" if chosen_score is not None else " (not a candidate pair)"
        if pinned_to == chosen:
            summary += ", where a Pin rule fixes it"
        summary += "."
    return Explanation(
        lead_id=lead_id, lead=lead, status=result.status.name, solver=result.solver, objective=objective,
        rep_id=None if chosen < 0 else _id(ledger.rep_ids[chosen]), score=chosen_score,
        pinned=pinned_to is not None and pinned_to == chosen,
        runner_up_rep_id=None if runner_rep is None else _id(ledger.rep_ids[runner_rep]),
        runner_up_score=runner_score, difference=difference, others=tuple(others),
        not_candidate_rep_ids=tuple(_id(ledger.rep_ids[rep]) for rep in not_candidates.tolist()),
        unassigned_reason=unassigned_reason, exchange=exchange, notes=notes, summary=summary,
    )


def _rep_reason(ledger: _Ledger, lead: int, rep: int, pair: int, score: float, chosen_score: float | None,
                pinned_to: int | None, objective: str, solved: bool) -> tuple[str, tuple[Binding, ...], str]:
    if pinned_to is not None and pinned_to != rep:
        return "pinned_elsewhere", (), f"not eligible: a Pin rule fixes the lead to rep {ledger.rep_ids[pinned_to]!r}"
    if (lead, rep) in ledger.forbidden:
        return "forbidden", (), "not eligible: a Forbid rule excludes this pair"
    if not ledger.rules.allowed[pair]:  # cannot happen with today's rules; kept honest if a rule is added
        return "forbidden", (), "not eligible under the rules"
    if not solved:
        return "not_solved", (), f"score {_fmt(score)}; the batch has no assignment to compare with"
    outcome = ledger.check([(lead, rep)])
    if outcome is None:  # pragma: no cover - allowed pairs always check
        return "forbidden", (), "not eligible under the rules"
    if outcome.bindings:
        first = outcome.bindings[0]
        verb = "moving it there" if chosen_score is not None else "giving it this rep"
        extra = "; ".join(binding.message for binding in outcome.bindings)
        return first.rule, outcome.bindings, f"{REP_REASONS[first.rule]}: {verb} would break a rule: {extra}"
    tolerance = 1e-9 * max(1.0, abs(score), abs(chosen_score or 0.0))
    if chosen_score is None:
        if objective == "score" and score < -tolerance:
            return "negative_score", (), (f"scores it {_fmt(score)}: under objective 'score' giving it this rep "
                                          "would lower the total")
        return "better_unused", (), (f"could take it without breaking a rule (score {_fmt(score)}): the result "
                                     "is not optimal here")
    gap = score - chosen_score
    if gap < -tolerance:
        return "lower_score", (), (f"lower score: {_fmt(score)}, {_fmt(-gap)} below the chosen rep; moving it there "
                                   f"keeps every rule but lowers the total by {_fmt(-gap)}")
    if gap <= tolerance:
        return "equal_score", (), f"equal score {_fmt(score)}: moving it there keeps every rule and the same total"
    return "better_unused", (), (f"scores {_fmt(gap)} more ({_fmt(score)}) and moving it there keeps every rule: "
                                 "the result is not optimal here")


def _unassigned(result: Result, ledger: _Ledger, lead: int, others: list[RepReason],
                allowed: list[tuple[int, int]], feasible_reps: list[int], exchange: Exchange | None,
                objective: str, candidate_reps: list[int]) -> tuple[str, str]:
    lead_id = _id(ledger.lead_ids[lead])
    head = f"Lead {lead_id!r} is unassigned"
    if not (result.status.has_solution or result.status.name == "INVALID"):
        detail = "; ".join(result.diagnosis) or "no diagnosis"
        return "not_solved", f"{head}: the batch has no assignment (status {result.status.name}): {detail}."
    if not candidate_reps:
        return "no_eligible_rep", f"{head}: no rep is eligible for it in the problem (no candidate pair)."
    if not allowed:
        kinds = sorted({other.reason for other in others})
        words = " and ".join(REP_REASONS[kind].removeprefix("not eligible: ") for kind in kinds)
        return "no_eligible_rep", f"{head}: no eligible rep ({words})."
    if feasible_reps:
        by_rep = {other.rep_id: other for other in others}
        best = max(feasible_reps, key=lambda rep: by_rep[_id(ledger.rep_ids[rep])].score)
        reason = by_rep[_id(ledger.rep_ids[best])]
        if reason.reason == "negative_score" and objective == "score":
            return "negative_score", (f"{head}: every rep that could take it scores it below 0 (best "
                                      f"{_fmt(reason.score)}), and objective 'score' counts only the total score.")
        return "missed", (f"{head}, yet rep {reason.rep_id!r} could take it without breaking a rule "
                          f"(score {_fmt(reason.score)}): the result is not optimal here.")
    blocking = {other.reason for other in others if other.bindings}
    if exchange is not None and exchange.count_change >= 0:
        mover = exchange.moves[1] if len(exchange.moves) > 1 else None
        who = "another lead" if mover is None else f"lead {mover.lead_id!r}"
        at_limit = f"{head}: every eligible rep is at a limit ({_words(blocking)})"
        tolerance = 1e-9 * max(1.0, abs(exchange.score_change))
        if exchange.count_change > 0 or exchange.score_change > tolerance:
            return "missed", (f"{at_limit}, yet displacing {who} would improve the total "
                              f"({exchange.score_change:+.6g}): the result is not optimal here.")
        if exchange.score_change < -tolerance:
            return "objective", (f"{at_limit}, and the objective preferred other leads: making room means displacing "
                                 f"{who}, which would lower the total score by {_fmt(-exchange.score_change)}.")
        return "objective", (f"{at_limit}, and the objective preferred other leads at a tie: displacing {who} "
                             "would leave the total score unchanged.")
    if blocking <= {"capacity", "count_upper"}:
        return "all_full", f"{head}: every eligible rep is full ({_words(blocking)})."
    return "rules", f"{head}: the rules keep every eligible rep from taking it ({_words(blocking)})."


def _words(kinds: set[str]) -> str:
    return ", ".join(REP_REASONS[kind] for kind in _BINDING_ORDER if kind in kinds)


def _notes(result: Result, objective: str, assigned: bool) -> tuple[str, ...]:
    notes = []
    status = result.status.name
    if status == "FEASIBLE":
        notes.append(f"the result is FEASIBLE, not proven optimal (solver {result.solver!r}): a better choice may "
                     "exist for this lead")
    elif status == "INVALID":
        broken = "; ".join(violation.message for violation in result.violations[:3])
        notes.append(f"the result breaks rules ({broken}); a move is blamed only for what it makes worse")
    if objective == "lexicographic" and not assigned:
        notes.append("the objective assigns as many leads as the rules allow first, then maximises total score")
    return tuple(notes)
