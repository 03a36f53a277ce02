r"""Run several routing strategies on one batch and measure them side by side.

:func:`compare` runs the optimiser (``"fairassign"``), the rules CRMs use today (round
robin, weighted round robin, load balancing, territory rules, points, cherry picking; see
:mod:`fairassign.strategies`) or any solver backend on the same :class:`~fairassign.Problem`
under the same rules, and measures every answer with the same ruler
(:func:`fairassign.metrics.metrics` and :func:`fairassign.verify`). The baselines honour
capacity, eligibility, pins and forbidden pairs, as CRMs do, and ignore the other rules;
a rule they break shows in the row as status ``INVALID`` with its violations listed, which
is the measurement, not a failure of the comparison.

Figures of one row, for the assignment :math:`x` a strategy returned (:math:`V_r` the lead
value rep *r* receives, :math:`w_r` its fair-share weight):

* total score :math:`\sum_{(i,r) \in x} s_{ir}`;
* expected revenue :math:`\sum_{(i,r) \in x} e_{ir}`, with :math:`e_{ir}` the expected value
  of the pair when given (``expected_value``, e.g. :math:`p_{ir} \times v_i`), else the score;
* coverage (share of leads assigned) and leads left unassigned;
* max deviation from the fair share :math:`\max_r |V_r - V w_r / W| / (V w_r / W)`;
* Gini of :math:`V_r` over reps, and of :math:`V_r / w_r` over units of weight;
* min/max ratio :math:`\min_r V_r / \max_r V_r` (1 = everyone the same, 0 = someone got
  nothing), and the same of :math:`V_r / w_r`;
* the rules broken (count and a short text) and the wall-clock time.

A strategy that raises becomes a row with status ``ERROR`` and the error text; its figures
are ``None``. So are those of a strategy that returned no assignment (``INFEASIBLE``,
``NO_SOLUTION``).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .baselines import BASELINES
from .cells import number_cell, percent_cell
from .constraints import Constraint, FairShare
from .errors import ValidationError
from .metrics import metrics
from .problem import Problem
from .result import Result, Status
from .strategies import OPTIMISER, run_strategy, strategy_names

if TYPE_CHECKING:
    import pandas

__all__ = ["Row", "Comparison", "compare", "uplift", "default_strategies", "expected_value_per_pair"]

#: longest violation or error text kept in a row
_TEXT = 120


@dataclass(frozen=True)
class Row:
    """One strategy's answer on the batch, measured.

    Attributes
    ----------
    strategy : str
        The name it was run under.
    status : str
        ``Status`` name of its result (``OPTIMAL``, ``FEASIBLE``, ``INVALID`` when it breaks
        a rule, ``INFEASIBLE``, ``NO_SOLUTION``), or ``ERROR`` when it raised.
    solver : str
        What produced the assignment (for ``"fairassign"``, the backend ``auto`` picked).
    total_score, expected_revenue : float or None
        Sum of the chosen pairs' scores, and of their expected values.
    coverage : float or None
        Share of leads assigned.
    n_assigned, n_unassigned : int or None
    max_share_deviation : float or None
        Largest relative distance of a rep's value from its fair share (``inf`` when a rep of
        weight 0 receives value).
    gini_value, gini_value_per_weight : float or None
        Gini of value per rep, and of value per unit of fair-share weight.
    min_max_value, min_max_value_per_weight : float or None
        Smallest over largest value per rep, and of value per unit of weight; in [0, 1].
    n_violations : int or None
        Rules broken, as counted by :func:`fairassign.verify`.
    violations : str
        The first broken rules in words ("" when none).
    seconds : float
        Wall-clock time of the strategy.
    error : str
        ``"TypeName: message"`` when the strategy raised, else "".
    result : Result or None
        The strategy's result (None when it raised); not part of the records.
    """

    strategy: str
    status: str
    solver: str = ""
    total_score: float | None = None
    expected_revenue: float | None = None
    coverage: float | None = None
    n_assigned: int | None = None
    n_unassigned: int | None = None
    max_share_deviation: float | None = None
    gini_value: float | None = None
    gini_value_per_weight: float | None = None
    min_max_value: float | None = None
    min_max_value_per_weight: float | None = None
    n_violations: int | None = None
    violations: str = ""
    seconds: float = 0.0
    error: str = ""
    result: Result | None = field(default=None, repr=False, compare=False)

    @property
    def keeps_rules(self) -> bool:
        """True when the strategy returned an assignment that keeps every rule."""
        return self.status in (Status.OPTIMAL.name, Status.FEASIBLE.name)

    @property
    def measured(self) -> bool:
        """True when the row has figures (the strategy returned an assignment, rule-keeping or not)."""
        return self.total_score is not None

    def to_dict(self) -> dict[str, Any]:
        """The row as plain Python values, without ``result``."""
        return {item.name: getattr(self, item.name) for item in fields(self) if item.name != "result"}


#: record keys, in table order
COLUMNS: tuple[str, ...] = tuple(item.name for item in fields(Row) if item.name != "result")


@dataclass(frozen=True, eq=False)
class Comparison:
    """Strategies run on one batch under the same rules; see :func:`compare`.

    Attributes
    ----------
    rows : tuple of Row
        One per strategy, in the order asked.
    constraints : tuple of Constraint
        The rules every row was measured against.
    problem : Problem
    """

    rows: tuple[Row, ...]
    constraints: tuple[Constraint, ...] = ()
    problem: Problem | None = field(default=None, repr=False)

    @property
    def strategies(self) -> tuple[str, ...]:
        """The strategy names, in row order."""
        return tuple(row.strategy for row in self.rows)

    def row(self, strategy: str) -> Row:
        """The row of one strategy.

        Raises
        ------
        ValidationError
            No row has that name.
        """
        for row in self.rows:
            if row.strategy == strategy:
                return row
        raise ValidationError(f"strategy must be one of {self.strategies}, got {strategy!r}")

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row with the keys of :data:`COLUMNS`; missing figures are None."""
        return [row.to_dict() for row in self.rows]

    def to_frame(self) -> pandas.DataFrame:
        """The records as a pandas DataFrame, one row per strategy (missing figures become NaN).

        Raises
        ------
        MissingDependencyError
            pandas is not installed (``pip install "fairassign[pandas]"``).
        """
        from .frames import records_frame

        return records_frame(self.to_records(), COLUMNS, "Comparison.to_frame")

    def table(self) -> str:
        """A plain-text table, one line per strategy, then the rules broken and errors in words."""
        headers = ["strategy", "status", "score", "exp. revenue", "coverage", "unassigned", "max dev",
                   "gini", "gini/cap", "min/max", "min/max cap", "broken", "time s"]
        cells = []
        for row in self.rows:
            cells.append([
                row.strategy if row.solver in ("", row.strategy) else f"{row.strategy} ({row.solver})",
                row.status,
                number_cell(row.total_score),
                number_cell(row.expected_revenue),
                percent_cell(row.coverage),
                "-" if row.n_unassigned is None else str(row.n_unassigned),
                percent_cell(row.max_share_deviation),
                number_cell(row.gini_value, 3),
                number_cell(row.gini_value_per_weight, 3),
                number_cell(row.min_max_value, 3),
                number_cell(row.min_max_value_per_weight, 3),
                "-" if row.n_violations is None else str(row.n_violations),
                f"{row.seconds:.2f}",
            ])
        lines = [text_table(headers, cells, right=[False, False, *([True] * 11)])]
        notes = [f"  {row.strategy}: {row.error or row.violations}" for row in self.rows
                 if row.error or row.violations]
        if notes:
            lines += ["", "rules broken and errors:", *notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        rules = "; ".join(rule.describe() for rule in self.constraints) or "capacity and eligibility only"
        return f"Comparison of {len(self.rows)} strategies under: {rules}\n\n{self.table()}"

    def __repr__(self) -> str:
        return f"Comparison(strategies={self.strategies!r}, constraints={self.constraints!r})"


def default_strategies() -> tuple[str, ...]:
    """``"fairassign"`` followed by every baseline of :mod:`fairassign.baselines`.

    Examples
    --------
    >>> default_strategies()
    ('fairassign', 'round-robin', 'weighted-round-robin', 'load-balancing', 'territory', 'points', 'cherry-picking')
    """
    return (OPTIMISER, *BASELINES)


def _known_strategies() -> tuple[str, ...]:
    return (*strategy_names(), "auto")


def expected_value_per_pair(problem: Problem, expected_value: ArrayLike | None) -> NDArray[np.float64]:
    """The expected value of each candidate pair, in the problem's pair order.

    Parameters
    ----------
    problem : Problem
    expected_value : array_like, optional
        Shape ``(n_pairs,)`` in the problem's pair order, or a dense ``(n_leads, n_reps)``
        matrix (e.g. :meth:`fairassign.profiles.RepProfiles.score`), read at the candidate
        pairs only. None gives the scores.

    Raises
    ------
    ValidationError
        Another shape, or a value that is not finite at a candidate pair.
    """
    if expected_value is None:
        return np.asarray(problem.pair_score, dtype=np.float64)
    try:
        given = np.asarray(expected_value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(
            f"expected_value must be a numeric array of shape ({problem.n_pairs},) or "
            f"({problem.n_leads}, {problem.n_reps}), got {type(expected_value).__name__}"
        ) from None
    if given.shape == (problem.n_pairs,):
        per_pair = given
    elif given.shape == (problem.n_leads, problem.n_reps):
        per_pair = given[problem.pair_lead, problem.pair_rep]
    else:
        raise ValidationError(
            f"expected_value must have shape ({problem.n_pairs},) (one per candidate pair) or "
            f"({problem.n_leads}, {problem.n_reps}) (leads x reps), got {given.shape}"
        )
    if not np.all(np.isfinite(per_pair)):
        raise ValidationError("expected_value must be finite at every candidate pair")
    return per_pair


def fair_share_weight(constraints: Iterable[Constraint]) -> NDArray[np.float64] | None:
    """The weight of the first :class:`FairShare` rule, so fairness is measured as it is ruled."""
    for rule in constraints:
        if isinstance(rule, FairShare):
            return None if rule.weight is None else np.asarray(rule.weight, dtype=np.float64)
    return None


def check_time_limit(time_limit: Any) -> float | None:
    """``time_limit`` as float seconds, or None; a ValidationError otherwise."""
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) \
            or not math.isfinite(time_limit) or time_limit <= 0:
        raise ValidationError(f"time_limit must be a positive number of seconds or None, got {time_limit!r}")
    return float(time_limit)


def check_seed(seed: Any) -> int:
    """``seed`` as int; a ValidationError unless a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValidationError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def as_constraints(constraints: Iterable[Constraint] | Constraint) -> tuple[Constraint, ...]:
    """One rule or an iterable of rules, as a tuple; a ValidationError for anything else."""
    items = (constraints,) if isinstance(constraints, Constraint) else tuple(constraints)
    for item in items:
        if not isinstance(item, Constraint):
            raise ValidationError(f"constraints must hold fairassign rules (Constraint), got {item!r}")
    return items


def _check_strategies(strategies: Sequence[str] | None) -> tuple[str, ...]:
    if strategies is None:
        return default_strategies()
    if isinstance(strategies, str):
        strategies = (strategies,)
    names = tuple(strategies)
    if not names:
        raise ValidationError("strategies must name at least one strategy, got an empty sequence")
    known = _known_strategies()
    for name in names:
        if name not in known:
            raise ValidationError(f"strategies must be names from {known}, got {name!r}")
    duplicated = [name for name in dict.fromkeys(names) if names.count(name) > 1]
    if duplicated:
        raise ValidationError(f"strategies must not repeat a name, got {duplicated[0]!r} twice")
    return names


def _check_options(options: Mapping[str, Mapping[str, Any]] | None, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValidationError(f"strategy_options must map strategy names to option dicts, got {options!r}")
    checked = {}
    for name, given in options.items():
        if name not in names:
            raise ValidationError(f"strategy_options keys must be strategies being compared {tuple(names)}, "
                                  f"got {name!r}")
        if not isinstance(given, Mapping):
            raise ValidationError(f"strategy_options[{name!r}] must be a dict of options, got {given!r}")
        checked[name] = dict(given)
    return checked


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT else text[: _TEXT - 3] + "..."


def _violation_text(result: Result) -> str:
    if not result.violations:
        return ""
    first = result.violations[0].message
    more = len(result.violations) - 1
    return _short(first + (f" (and {more} more)" if more else ""))


def measure(problem: Problem, strategy: str, result: Result, seconds: float, per_pair: NDArray[np.float64],
            weight: NDArray[np.float64] | None) -> Row:
    """The row of one result: its figures when it holds an assignment (rule-keeping or not)."""
    if result.status not in (Status.OPTIMAL, Status.FEASIBLE, Status.INVALID):
        why = "; ".join(result.diagnosis)
        return Row(strategy=strategy, status=result.status.name, solver=result.solver, seconds=seconds,
                   violations=_short(why), result=result)
    figures = metrics(problem, result, weight=weight)
    leads = np.flatnonzero(result.rep_of >= 0)
    pairs = problem.pair_index(leads, result.rep_of[leads])
    return Row(
        strategy=strategy,
        status=result.status.name,
        solver=result.solver,
        total_score=figures.total_score,
        expected_revenue=float(per_pair[pairs].sum()),
        coverage=figures.coverage,
        n_assigned=figures.n_assigned,
        n_unassigned=figures.n_leads - figures.n_assigned,
        max_share_deviation=figures.max_share_deviation,
        gini_value=figures.gini_value,
        gini_value_per_weight=figures.gini_value_per_weight,
        min_max_value=_inverse(figures.max_min_value),
        min_max_value_per_weight=_inverse(figures.max_min_value_per_weight),
        n_violations=len(result.violations),
        violations=_violation_text(result),
        seconds=seconds,
        result=result,
    )


def run_one(name: str, problem: Problem, constraints: tuple[Constraint, ...], seed: int,
            time_limit: float | None, options: Mapping[str, Any]) -> tuple[Result | None, float, str]:
    """Run one strategy; return its result (None when it raised), seconds and error text."""
    started = time.perf_counter()
    try:
        result = run_strategy(name, problem, constraints, seed=seed, time_limit=time_limit, **options)
    except Exception as exc:  # a strategy that fails is one row of the comparison, not a crash
        message = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return None, time.perf_counter() - started, _short(message)
    return result, time.perf_counter() - started, ""


def compare(
    problem: Problem,
    constraints: Iterable[Constraint] | Constraint = (),
    strategies: Sequence[str] | None = None,
    *,
    seed: int = 0,
    time_limit: float | None = None,
    expected_value: ArrayLike | None = None,
    strategy_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Comparison:
    r"""Run each strategy on ``problem`` under ``constraints`` and measure the answers alike.

    Parameters
    ----------
    problem : Problem
    constraints : iterable of Constraint
        The rules every answer is checked against. The optimiser (and any solver backend)
        keeps them; the baselines keep capacity, eligibility, :class:`Pin` and
        :class:`Forbid` and ignore the rest, so what they break is listed in their row.
    strategies : sequence of str, optional
        Names for :func:`fairassign.strategies.run_strategy`: ``"fairassign"`` (the optimiser,
        ``fa.solve(solver="auto")``), a baseline (``"round-robin"``, ``"weighted-round-robin"``,
        ``"load-balancing"``, ``"territory"``, ``"points"``, ``"cherry-picking"``) or a solver
        backend name. Default: ``"fairassign"`` and every baseline.
    seed : int
        Passed to every strategy; same input and seed, same table (times aside).
    time_limit : float, optional
        Seconds per strategy.
    expected_value : array_like, optional
        Expected value of each candidate pair, for the expected-revenue column: shape
        ``(n_pairs,)`` in pair order or ``(n_leads, n_reps)``; default the scores.
    strategy_options : mapping of str to dict, optional
        Extra keyword options per strategy, e.g. ``{"fairassign": {"objective": "score"}}``.

    Returns
    -------
    Comparison
        One :class:`Row` per strategy, in the order given. Fairness is measured with the
        weight of the first :class:`FairShare` rule (capacity when it has none, or there is
        no such rule).

    Raises
    ------
    ValidationError
        A bad argument or an unknown strategy name. A strategy that raises while running
        is not re-raised: its row has status ``ERROR`` and the message.

    Examples
    --------
    >>> import fairassign as fa
    >>> from fairassign.compare import compare
    >>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [1.0, 2.0]], capacity=[2, 1])
    >>> table = compare(problem, strategies=["fairassign", "round-robin"])
    >>> [(row.strategy, row.total_score) for row in table.rows]
    [('fairassign', 11.0), ('round-robin', 9.0)]
    """
    if not isinstance(problem, Problem):
        raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
    rules = as_constraints(constraints)
    names = _check_strategies(strategies)
    options = _check_options(strategy_options, names)
    seed = check_seed(seed)
    limit = check_time_limit(time_limit)
    per_pair = expected_value_per_pair(problem, expected_value)
    weight = fair_share_weight(rules)

    rows = []
    for name in names:
        result, seconds, error = run_one(name, problem, rules, seed, limit, options.get(name, {}))
        if result is None:
            rows.append(Row(strategy=name, status="ERROR", seconds=seconds, error=error))
            continue
        try:
            rows.append(measure(problem, name, result, seconds, per_pair, weight))
        except Exception as exc:  # e.g. an assignment to a pair that is not a candidate
            rows.append(Row(strategy=name, status="ERROR", solver=result.solver, seconds=seconds,
                            error=_short(f"{type(exc).__name__}: {exc}"), result=result))
    return Comparison(rows=tuple(rows), constraints=rules, problem=problem)


def uplift(
    comparison: Comparison,
    over: str | Sequence[str] | None = None,
    *,
    strategy: str = OPTIMISER,
    column: str = "expected_revenue",
) -> dict[str, float | None]:
    r"""Relative uplift of one strategy over others: :math:`(x_s - x_b) / |x_b|`.

    Parameters
    ----------
    comparison : Comparison
    over : str or sequence of str, optional
        The strategies to compare against; default every other row.
    strategy : str
        The strategy whose uplift is measured (default the optimiser, ``"fairassign"``).
    column : str
        A numeric figure of :class:`Row`: ``"expected_revenue"`` (default), ``"total_score"``,
        ``"coverage"``, ...

    Returns
    -------
    dict of str to float or None
        One entry per strategy in ``over``, in that order; None where a figure is missing
        (a strategy that raised or returned no assignment) or the baseline's is 0.

    Raises
    ------
    ValidationError
        An unknown strategy or column.

    Examples
    --------
    >>> rows = (Row("fairassign", "OPTIMAL", total_score=12.0, expected_revenue=12.0),
    ...         Row("round-robin", "FEASIBLE", total_score=10.0, expected_revenue=10.0))
    >>> uplift(Comparison(rows))
    {'round-robin': 0.2}
    """
    if not isinstance(comparison, Comparison):
        raise ValidationError(f"comparison must be a Comparison, got {type(comparison).__name__}")
    numeric = [name for name in COLUMNS if name not in ("strategy", "status", "solver", "violations", "error")]
    if column not in numeric:
        raise ValidationError(f"column must be one of {tuple(numeric)}, got {column!r}")
    reference = comparison.row(strategy)
    if over is None:
        others = tuple(name for name in comparison.strategies if name != strategy)
    else:
        others = (over,) if isinstance(over, str) else tuple(over)
    out: dict[str, float | None] = {}
    mine = getattr(reference, column)
    for name in others:
        theirs = getattr(comparison.row(name), column)
        if mine is None or theirs is None or theirs == 0 or not math.isfinite(theirs) or not math.isfinite(mine):
            out[name] = None
        else:
            out[name] = (mine - theirs) / abs(theirs)
    return out


def _inverse(ratio: float) -> float:
    """max/min (>= 1, inf when someone got nothing) as min/max in [0, 1]."""
    return 0.0 if not math.isfinite(ratio) else 1.0 / ratio


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """Columns padded to their widest cell, right-aligned where ``right`` says, a dashed rule under the header."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(cells, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)])
