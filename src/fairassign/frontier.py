r"""The price of fairness: total expected value against fairness, as the fairness rule tightens.

:func:`fairness_frontier` solves one batch again and again, each time with a tighter
fairness rule, and records what each solve delivers: total expected value and how evenly
the lead value is spread (max deviation from the fair share, Gini). The baselines
(round robin and the other CRM rules of :mod:`fairassign.strategies`) are measured on the
same batch and placed on the same chart as single points, since they have no knob.

With :math:`E(t)` the total expected value of the optimiser's answer under tolerance *t*
and :math:`E(\infty)` the one without a fairness rule, the *price of fairness* at *t* is

.. math:: \mathrm{PoF}(t) = 1 - \frac{E(t)}{E(\infty)},

the relative loss of efficiency the rule costs (Bertsimas, Farias & Trichakis, "The price
of fairness", Operations Research 59(1), 2011). For an exact solver and
``objective="score"`` with expected value = score, :math:`E(t)` never increases as *t*
tightens (each tighter rule only removes assignments), so the price is non-decreasing.
A baseline's price is read the same way: :math:`1 - E_b / E(\infty)`.

Two rules can be swept:

``"fair-share"`` (default)
    :class:`~fairassign.FairShare` with tolerance *t* replaces any FairShare rule given
    (its weight, and any value received earlier in the period, are kept):
    :math:`|V_r - V w_r/W| \le t\, V w_r/W`.
``"value-band"``
    :class:`~fairassign.ValueBand` around a fixed target,
    :math:`(1-t)\, T_r \le V_r \le (1+t)\, T_r` with :math:`T_r = V_\infty w_r / W` and
    :math:`V_\infty` the lead value the unconstrained answer assigns; it replaces any
    ValueBand given. Unlike FairShare the target does not move with the value assigned.

Solves are independent, so they can run in parallel: they go through
:func:`fairassign.sweep.sweep`, which takes any ``executor`` with a ``submit`` method (a
``concurrent.futures`` pool, a Dask ``Client``) and verifies every answer on the caller's side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .baselines import BASELINES
from .cells import number_cell, percent_cell
from .compare import (
    as_constraints,
    check_seed,
    check_time_limit,
    expected_value_per_pair,
    fair_share_weight,
    run_one,
    text_table,
)
from .constraints import Constraint, FairShare, ValueBand
from .errors import MissingDependencyError, ValidationError
from .metrics import metrics
from .problem import Problem
from .result import Result, Status
from .strategies import strategy_names
from .sweep import sweep

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes

    from .decompose import Executor

__all__ = [
    "Point",
    "Frontier",
    "fairness_frontier",
    "plot_frontier",
    "DEFAULT_TOLERANCES",
    "DEFAULT_BASELINES",
    "RULES",
]

#: loosest first: no fairness rule, then nine tolerances spaced geometrically from 100% to 2%
DEFAULT_TOLERANCES: tuple[float, ...] = (math.inf, *(round(float(t), 3) for t in np.geomspace(1.0, 0.02, 9)))
#: the CRM rules placed on the chart by default: every baseline
DEFAULT_BASELINES: tuple[str, ...] = tuple(BASELINES)
#: the rules that can be swept
RULES: tuple[str, ...] = ("fair-share", "value-band")
_OBJECTIVES = ("lexicographic", "score")


@dataclass(frozen=True)
class Point:
    """One answer on the frontier chart: a solve at one tolerance, or a baseline.

    Attributes
    ----------
    label : str
        ``"unconstrained"``, ``"t=0.15"``, or the baseline's name.
    kind : str
        ``"sweep"`` (the optimiser under a fairness rule, or without one) or ``"baseline"``.
    tolerance : float or None
        The swept tolerance; ``inf`` for the unconstrained solve; None for a baseline.
    status : str
        Status name of the result, or ``ERROR`` when the solve or strategy raised.
    solver : str
    n_assigned : int or None
    total_score, expected_value : float or None
        Figures of the answer; None when it holds no assignment.
    price_of_fairness : float or None
        :math:`1 - E / E(\\infty)`; None without a figure or when :math:`E(\\infty) \\le 0`.
    max_share_deviation, gini_value, gini_value_per_weight : float or None
        Fairness figures (see :class:`fairassign.metrics.Metrics`).
    seconds : float
    error : str
        The exception text when the solve or strategy raised, else "".
    """

    label: str
    kind: str
    tolerance: float | None
    status: str
    solver: str = ""
    n_assigned: int | None = None
    total_score: float | None = None
    expected_value: float | None = None
    price_of_fairness: float | None = None
    max_share_deviation: float | None = None
    gini_value: float | None = None
    gini_value_per_weight: float | None = None
    seconds: float = 0.0
    error: str = ""

    @property
    def measured(self) -> bool:
        """True when the point has figures."""
        return self.expected_value is not None


POINT_COLUMNS: tuple[str, ...] = tuple(item.name for item in fields(Point))


@dataclass(frozen=True, eq=False)
class Frontier:
    """The price-of-fairness sweep of one batch; see :func:`fairness_frontier`.

    Attributes
    ----------
    points : tuple of Point
        The unconstrained solve, the swept tolerances loosest first, then the baselines.
    rule : str
        The swept rule (``"fair-share"`` or ``"value-band"``).
    reference : float or None
        :math:`E(\\infty)`, the expected value without a fairness rule.
    constraints : tuple of Constraint
        The other rules, kept in every solve.
    """

    points: tuple[Point, ...]
    rule: str = "fair-share"
    reference: float | None = None
    constraints: tuple[Constraint, ...] = field(default=(), repr=False)

    @property
    def sweep(self) -> tuple[Point, ...]:
        """The optimiser's points, loosest tolerance first."""
        return tuple(point for point in self.points if point.kind == "sweep")

    @property
    def baselines(self) -> tuple[Point, ...]:
        """The baselines' points."""
        return tuple(point for point in self.points if point.kind == "baseline")

    def uplift_at_equal_fairness(self) -> dict[str, tuple[str, float] | None]:
        r"""For each baseline, the optimiser's best sweep point that is at least as fair, and its uplift.

        For a baseline *b* with max deviation :math:`d_b` and expected value :math:`E_b`, take
        the sweep point with the highest expected value among those with max deviation
        :math:`\le d_b`; its uplift is :math:`(E - E_b) / |E_b|`. This is the like-for-like
        comparison: what the optimiser delivers without being less fair than the baseline.

        Returns
        -------
        dict of str to (str, float) or None
            Baseline name to (the sweep point's label, uplift); None when the baseline or
            every sweep point lacks figures, or :math:`E_b = 0`.
        """
        out: dict[str, tuple[str, float] | None] = {}
        # (deviation, value, label) of each measured sweep point
        sweep_points = [(p.max_share_deviation, p.expected_value, p.label) for p in self.sweep
                        if p.max_share_deviation is not None and p.expected_value is not None]
        for base in self.baselines:
            deviation, value = base.max_share_deviation, base.expected_value
            if deviation is None or value is None or value == 0:
                out[base.label] = None
                continue
            fair_enough = [(v, label) for d, v, label in sweep_points if d <= deviation]
            if not fair_enough:
                out[base.label] = None
                continue
            best_value, best_label = max(fair_enough, key=lambda item: item[0])
            out[base.label] = (best_label, (best_value - value) / abs(value))
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per point with the fields of :class:`Point`."""
        return [{name: getattr(point, name) for name in POINT_COLUMNS} for point in self.points]

    def to_frame(self) -> pandas.DataFrame:
        """The records as a pandas DataFrame (missing figures become NaN).

        Raises
        ------
        MissingDependencyError
            pandas is not installed (``pip install "fairassign[pandas]"``).
        """
        from .frames import records_frame

        return records_frame(self.to_records(), POINT_COLUMNS, "Frontier.to_frame")

    def table(self) -> str:
        """A plain-text table, one line per point."""
        headers = ["point", "status", "solver", "assigned", "exp. value", "price", "max dev", "gini", "gini/cap",
                   "time s"]
        cells = []
        for point in self.points:
            cells.append([
                point.label, point.status, point.solver,
                "-" if point.n_assigned is None else str(point.n_assigned),
                number_cell(point.expected_value), percent_cell(point.price_of_fairness, 2),
                percent_cell(point.max_share_deviation), number_cell(point.gini_value, 3),
                number_cell(point.gini_value_per_weight, 3), f"{point.seconds:.2f}",
            ])
        lines = [text_table(headers, cells, right=[False, False, False, *([True] * 7)])]
        lines += [f"  {point.label}: {point.error}" for point in self.points if point.error]
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"Price of fairness ({self.rule} sweep)\n\n{self.table()}"

    def __repr__(self) -> str:
        return f"Frontier(rule={self.rule!r}, points={len(self.points)}, reference={self.reference})"


def _check_tolerances(tolerances: Iterable[float]) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in tolerances)
    except (TypeError, ValueError):
        raise ValidationError(f"tolerances must be numbers >= 0 (inf for no rule), got {tolerances!r}") from None
    if not values:
        raise ValidationError("tolerances must hold at least one tolerance, got none")
    bad = [t for t in values if math.isnan(t) or t < 0]
    if bad:
        raise ValidationError(f"tolerances must be numbers >= 0 (inf for no rule), got {bad[0]!r}")
    # the unconstrained solve is the reference of the price; solve it once, first
    ordered = sorted(set(values), reverse=True)
    return tuple(ordered) if math.inf in ordered else (math.inf, *ordered)


def _label(tolerance: float) -> str:
    return "unconstrained" if math.isinf(tolerance) else f"t={tolerance:g}"


def _rule_constraints(rule: str, base: tuple[Constraint, ...], tolerance: float, template: FairShare,
                      target: NDArray[np.float64] | None) -> tuple[Constraint, ...]:
    if math.isinf(tolerance):
        return base
    if rule == "fair-share":
        return (*base, replace(template, tolerance=tolerance))  # keeps its weight and value received earlier
    assert target is not None  # the value-band sweep computes it from the unconstrained answer first
    return (*base, ValueBand(lower=np.maximum(0.0, 1.0 - tolerance) * target, upper=(1.0 + tolerance) * target))


def _point(problem: Problem, label: str, kind: str, tolerance: float | None, result: Result | None,
           seconds: float, error: str, per_pair: NDArray[np.float64], weight: NDArray[np.float64] | None) -> Point:
    if result is None:
        return Point(label=label, kind=kind, tolerance=tolerance, status="ERROR", seconds=seconds, error=error)
    if result.status not in (Status.OPTIMAL, Status.FEASIBLE, Status.INVALID):
        return Point(label=label, kind=kind, tolerance=tolerance, status=result.status.name, solver=result.solver,
                     seconds=seconds, error=error)
    figures = metrics(problem, result, weight=weight)
    leads = np.flatnonzero(result.rep_of >= 0)
    pairs = problem.pair_index(leads, result.rep_of[leads])
    return Point(
        label=label, kind=kind, tolerance=tolerance, status=result.status.name, solver=result.solver,
        n_assigned=figures.n_assigned, total_score=figures.total_score,
        expected_value=float(per_pair[pairs].sum()),
        max_share_deviation=figures.max_share_deviation, gini_value=figures.gini_value,
        gini_value_per_weight=figures.gini_value_per_weight, seconds=seconds, error=error,
    )


def _priced(point: Point, reference: float | None) -> Point:
    if point.expected_value is None or reference is None or reference <= 0:
        return point
    return replace(point, price_of_fairness=1.0 - point.expected_value / reference)


def fairness_frontier(
    problem: Problem,
    constraints: Iterable[Constraint] | Constraint = (),
    tolerances: Iterable[float] = DEFAULT_TOLERANCES,
    *,
    rule: str = "fair-share",
    solver: str = "auto",
    objective: str = "lexicographic",
    time_limit: float | None = None,
    baselines: Sequence[str] = DEFAULT_BASELINES,
    seed: int = 0,
    expected_value: ArrayLike | None = None,
    executor: Executor | None = None,
) -> Frontier:
    r"""Sweep a fairness rule's tolerance and record value against fairness at each step.

    Parameters
    ----------
    problem : Problem
    constraints : iterable of Constraint
        Rules kept in every solve. A :class:`FairShare` in them is replaced by the swept one
        (its weight is kept, and fairness is measured with it); with ``rule="value-band"``
        any :class:`ValueBand` is replaced instead.
    tolerances : iterable of float
        Tolerances :math:`t \ge 0`; ``inf`` means no fairness rule. The unconstrained solve
        is always added (it is the reference of the price). Default: no rule, then nine
        tolerances from 1.0 down to 0.02 spaced geometrically.
    rule : {"fair-share", "value-band"}
        Which rule to sweep (see the module notes).
    solver : str
        Backend of every solve (``"auto"`` or a name from :func:`fairassign.solver_names`).
        Use an exact one (``"mip"``, ``"cpsat"``) with no time limit for a true frontier.
    objective : {"lexicographic", "score"}
        As in :func:`fairassign.solve`. Under ``"score"`` with exact solves the expected value
        (when it is the score) never rises as the tolerance tightens; under the default
        lexicographic objective a tighter rule may first cost leads, which can move the score
        either way.
    time_limit : float, optional
        Seconds per solve.
    baselines : sequence of str
        Strategies placed on the chart as single points (default: every CRM baseline); empty
        for none. A baseline that is not available, or raises, becomes a point with status
        ``ERROR``.
    seed : int
    expected_value : array_like, optional
        Expected value per candidate pair, ``(n_pairs,)`` or ``(n_leads, n_reps)``, as in
        :func:`fairassign.compare.compare`; default the scores.
    executor : object with ``submit``, optional
        Runs the solves, as in :func:`fairassign.sweep.sweep` (a
        :class:`concurrent.futures.ProcessPoolExecutor`, a Dask ``Client`` ...); default one
        after another in this process. Answers are verified here either way.

    Returns
    -------
    Frontier

    Raises
    ------
    ValidationError
        A bad argument (solver names are checked before anything runs). A baseline that
        raises becomes a point with status ``ERROR``.

    Examples
    --------
    >>> import fairassign as fa
    >>> from fairassign.frontier import fairness_frontier
    >>> problem = fa.Problem(score=[[9.0, 1.0], [8.0, 1.0], [1.0, 2.0]], capacity=[3, 3],
    ...                      value=[10.0, 10.0, 10.0])
    >>> frontier = fairness_frontier(problem, tolerances=[0.2], solver="mip", objective="score", baselines=())
    >>> [(p.label, p.total_score, round(p.price_of_fairness, 3)) for p in frontier.sweep]
    [('unconstrained', 19.0, 0.0), ('t=0.2', 11.0, 0.421)]
    """
    if not isinstance(problem, Problem):
        raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
    if rule not in RULES:
        raise ValidationError(f"rule must be one of {RULES}, got {rule!r}")
    if objective not in _OBJECTIVES:
        raise ValidationError(f"objective must be one of {_OBJECTIVES}, got {objective!r}")
    if not isinstance(solver, str):
        raise ValidationError(f"solver must be a solver name, got {solver!r}")
    if isinstance(baselines, str):
        baselines = (baselines,)
    baseline_names = tuple(baselines)
    if not all(isinstance(name, str) for name in baseline_names):
        raise ValidationError(f"baselines must be strategy names, got {baselines!r}")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ValidationError(f"executor must have a submit(function, *args) method, got {executor!r}")
    given = as_constraints(constraints)
    steps = _check_tolerances(tolerances)
    seed = check_seed(seed)
    limit = check_time_limit(time_limit)
    per_pair = expected_value_per_pair(problem, expected_value)
    weight = fair_share_weight(given)
    replaced = FairShare if rule == "fair-share" else ValueBand
    base = tuple(item for item in given if not isinstance(item, replaced))
    template = next((item for item in given if isinstance(item, FairShare)), FairShare(0.0))

    def solve_all(rule_sets: list[tuple[Constraint, ...]]) -> list[Result]:
        return sweep(problem, rule_sets, executor=executor, solver=solver, objective=objective, time_limit=limit,
                     seed=seed)

    def sweep_point(tolerance: float, result: Result) -> Point:
        return _point(problem, _label(tolerance), "sweep", tolerance, result, result.solve_time, "", per_pair,
                      weight)

    # The value-band targets come from the unconstrained answer, so it runs first, alone;
    # the fair-share sweep needs no such order and sends every solve to the executor at once.
    if rule == "value-band":
        free = solve_all([base])[0]
        points = [sweep_point(math.inf, free)]
        if free.status.has_solution:
            figures = metrics(problem, free, weight=weight)
            target = figures.total_value * figures.fair_share
            results = solve_all([_rule_constraints(rule, base, t, template, target) for t in steps[1:]])
            points += [sweep_point(t, result) for t, result in zip(steps[1:], results, strict=True)]
        else:  # no reference answer: the bands cannot be placed
            points += [Point(label=_label(t), kind="sweep", tolerance=t, status="ERROR",
                             error="no unconstrained answer to place the value bands around") for t in steps[1:]]
    else:
        results = solve_all([_rule_constraints(rule, base, t, template, None) for t in steps])
        points = [sweep_point(t, result) for t, result in zip(steps, results, strict=True)]

    known = strategy_names()
    for name in baseline_names:
        if name not in known:
            points.append(Point(label=name, kind="baseline", tolerance=None, status="ERROR",
                                error=f"not a strategy; known are {', '.join(known)}"))
            continue
        # measured against the other rules only: a baseline has no fairness knob
        baseline, seconds, error = run_one(name, problem, base, seed, limit, {})
        points.append(_point(problem, name, "baseline", None, baseline, seconds, error, per_pair, weight))

    reference = points[0].expected_value
    return Frontier(points=tuple(_priced(point, reference) for point in points), rule=rule, reference=reference,
                    constraints=base)


def plot_frontier(frontier: Frontier, path: str | PathLike[str] | None = None, ax: Axes | None = None) -> Axes:
    """Draw the frontier: expected value against max deviation from the fair share.

    The optimiser's answers form a line from the unconstrained solve (right) to the
    tightest tolerance (left), each labelled with its tolerance; each baseline is one
    labelled marker. Points without an assignment, or with an infinite deviation, are left out.

    Parameters
    ----------
    frontier : Frontier
    path : str or path-like, optional
        Write the chart there (format from the suffix, e.g. ``.png``, ``.svg``), drawn
        with the non-interactive Agg canvas so no display is needed.
    ax : matplotlib Axes, optional
        Draw into these axes; default a new figure (through pyplot unless ``path`` is
        given, so it shows in notebooks).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed (``pip install "fairassign[plot]"``).
    """
    if not isinstance(frontier, Frontier):
        raise ValidationError(f"frontier must be a Frontier, got {type(frontier).__name__}")
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError(
            'plot_frontier needs matplotlib; install it with pip install "fairassign[plot]"'
        ) from None
    del matplotlib  # imported to test presence; the pieces are imported below
    figure: Any
    if ax is None:
        if path is not None:
            # a Figure of its own with an Agg canvas: no pyplot state, no display needed
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            figure = Figure(figsize=(9.0, 5.0), layout="constrained")
            FigureCanvasAgg(figure)
        else:
            import matplotlib.pyplot as plt

            figure = plt.figure(figsize=(9.0, 5.0), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure

    def plottable(points: Iterable[Point]) -> list[tuple[float, float, str]]:
        """(deviation in %, value, label) of the points that have both, finite."""
        return [(100.0 * p.max_share_deviation, p.expected_value, p.label) for p in points
                if p.max_share_deviation is not None and p.expected_value is not None
                and math.isfinite(p.max_share_deviation)]

    sweep = plottable(frontier.sweep)
    if sweep:
        ax.plot([x for x, _, _ in sweep], [y for _, y, _ in sweep], marker="o", color="tab:blue",
                label=f"fairassign, {frontier.rule} tolerance swept")
        for k, (x, y, label) in enumerate(sweep):
            # alternate above and below: the tight tolerances crowd together on the left
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4 if k % 2 else -10),
                        fontsize=7, color="tab:blue")
    markers = "sD^vP*Xph"
    for k, (x, y, label) in enumerate(plottable(frontier.baselines)):
        ax.scatter([x], [y], marker=markers[k % len(markers)], s=50, zorder=3, label=label)
    ax.set_xlabel("max deviation from fair share (%)  - fairer to the left")
    ax.set_ylabel("total expected value")
    ax.set_title("Price of fairness: value against fairness")
    ax.grid(True, alpha=0.3)
    ax.yaxis.set_major_formatter("{x:,.0f}")
    if ax.get_legend_handles_labels()[0]:
        # outside the axes, so it never hides a point
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    if path is not None:
        figure.savefig(path, dpi=120)
    return ax
