"""The price-of-fairness frontier: value never rises as the rule tightens, baselines on the chart, plots."""

from __future__ import annotations

import itertools
import math
import multiprocessing
import re
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import fairassign as fa
import strategies as drawn
from fairassign.baselines import BASELINES
from fairassign.datasets import load_example, make_batch
from fairassign.errors import MissingDependencyError, ValidationError
from fairassign.frontier import (
    DEFAULT_TOLERANCES,
    POINT_COLUMNS,
    Frontier,
    Point,
    fairness_frontier,
    plot_frontier,
)
from fairassign.verify import verify

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small() -> fa.Problem:
    return make_batch(30, 4, seed=5, tier_effort=True, regions=("North", "South")).problem


@pytest.fixture(scope="module")
def frontier(small: fa.Problem) -> Frontier:
    return fairness_frontier(small, (), (1.0, 0.3, 0.1), solver="mip", objective="score")


def _figures(frontier: Frontier) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in frontier.to_records()]


@given(case=drawn.problems(max_leads=6, max_reps=3, finite_capacity=True),
       solver=st.sampled_from(["mip", "cpsat"]))
def test_value_never_rises_as_tolerance_tightens(case: tuple[fa.Problem, np.ndarray], solver: str) -> None:
    problem, _ = case
    assume(problem.capacity.sum() > 0)  # fair shares of capacity need some capacity
    frontier = fairness_frontier(problem, (), (2.0, 1.0, 0.5, 0.25, 0.1, 0.0), solver=solver, objective="score",
                                 baselines=())
    points = frontier.sweep
    assert [p.tolerance for p in points] == [math.inf, 2.0, 1.0, 0.5, 0.25, 0.1, 0.0]
    # exact, score objective: every point is proven (the rules can always be kept by assigning nothing)
    assert all(p.status == "OPTIMAL" for p in points), [p.status for p in points]
    values = [p.expected_value for p in points]
    scale = max(1.0, *(abs(v) for v in values))
    assert all(b <= a + 1e-6 * scale for a, b in itertools.pairwise(values)), values
    prices = [p.price_of_fairness for p in points]
    if frontier.reference is not None and frontier.reference > 0:
        assert prices[0] == 0.0
        assert all(b >= a - 1e-6 for a, b in itertools.pairwise(prices)), prices
    else:
        assert all(price is None for price in prices)
    for point in points[1:]:
        assert point.max_share_deviation <= point.tolerance + 1e-5


def test_sweep_points_keep_their_rule(small: fa.Problem, frontier: Frontier) -> None:
    assert [p.label for p in frontier.sweep] == ["unconstrained", "t=1", "t=0.3", "t=0.1"]
    assert [p.label for p in frontier.baselines] == list(BASELINES)
    assert frontier.reference == frontier.sweep[0].expected_value
    for point in frontier.sweep:
        assert point.status == "OPTIMAL"
        if math.isfinite(point.tolerance):
            assert point.max_share_deviation <= point.tolerance + 1e-6
    values = [p.expected_value for p in frontier.sweep]
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(values))
    assert frontier.sweep[-1].price_of_fairness > 0  # a 10% fair share costs something on this batch
    for point in frontier.baselines:
        assert point.status in ("FEASIBLE", "INVALID") and point.tolerance is None
        assert point.price_of_fairness == pytest.approx(1 - point.expected_value / frontier.reference)


def test_uplift_at_equal_fairness(frontier: Frontier) -> None:
    matched = frontier.uplift_at_equal_fairness()
    assert list(matched) == list(BASELINES)
    for base in frontier.baselines:
        found = matched[base.label]
        fair_enough = [p for p in frontier.sweep if p.max_share_deviation <= base.max_share_deviation]
        if not fair_enough:
            assert found is None
            continue
        best = max(fair_enough, key=lambda p: p.expected_value)
        assert found == (best.label, pytest.approx((best.expected_value - base.expected_value)
                                                   / base.expected_value))


def test_value_band_sweep(small: fa.Problem) -> None:
    frontier = fairness_frontier(small, (), (0.5, 0.2), rule="value-band", solver="mip", objective="score",
                                 baselines=("round-robin",))
    assert frontier.rule == "value-band"
    free, *banded = frontier.sweep
    assert free.status == "OPTIMAL"
    from fairassign.metrics import metrics
    from fairassign.solve import solve

    reference = metrics(small, solve(small, (), solver="mip", objective="score"))
    target = reference.total_value * reference.fair_share
    for point in banded:
        if point.measured:
            band = fa.ValueBand(lower=(1 - point.tolerance) * target, upper=(1 + point.tolerance) * target)
            rerun = solve(small, [band], solver="mip", objective="score")
            assert rerun.objective == pytest.approx(point.total_score)
            assert not verify(small, rerun, [band])


def test_given_fair_share_is_replaced_and_its_weight_kept(small: fa.Problem) -> None:
    weight = np.arange(1.0, small.n_reps + 1.0)
    frontier = fairness_frontier(small, [fa.FairShare(0.01, weight=weight)], (0.5,), solver="mip",
                                 objective="score", baselines=())
    assert len(frontier.constraints) == 0  # the given FairShare is the one being swept
    point = frontier.sweep[1]
    from fairassign.metrics import metrics
    from fairassign.solve import solve

    rerun = solve(small, [fa.FairShare(0.5, weight=weight)], solver="mip", objective="score")
    assert point.total_score == pytest.approx(rerun.objective)
    assert point.max_share_deviation == pytest.approx(metrics(small, rerun, weight=weight).max_share_deviation)


def test_executors_give_the_same_frontier(small: fa.Problem, frontier: Frontier) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = fairness_frontier(small, (), (1.0, 0.3, 0.1), solver="mip", objective="score",
                                     executor=pool)
    # spawn, not fork: a forked worker inherits HiGHS's thread pool without its threads and spins
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        processes = fairness_frontier(small, (), (1.0, 0.3, 0.1), solver="mip", objective="score",
                                      executor=pool, baselines=())
    assert _figures(threaded) == _figures(frontier)
    assert _figures(processes) == _figures(frontier)[: len(processes.points)]


def test_unknown_baseline_is_an_error_point(small: fa.Problem) -> None:
    frontier = fairness_frontier(small, (), (0.5,), solver="mip", baselines=("round-robin", "nope"))
    nope = frontier.points[-1]
    assert nope.label == "nope" and nope.status == "ERROR" and "not a strategy" in nope.error
    assert not nope.measured and nope.price_of_fairness is None
    assert "nope: not a strategy" in frontier.table()


def test_infeasible_point_has_no_figures() -> None:
    problem = fa.Problem(score=[[1.0, 1.0], [1.0, 1.0]], capacity=[1, 1], value=[1.0, 3.0])
    frontier = fairness_frontier(problem, [fa.AssignAll()], (0.1,), solver="mip", baselines=())
    free, tight = frontier.sweep
    assert free.status == "OPTIMAL" and tight.status == "INFEASIBLE"
    assert tight.expected_value is None and tight.price_of_fairness is None
    assert frontier.uplift_at_equal_fairness() == {}


def test_default_tolerances() -> None:
    assert math.isinf(DEFAULT_TOLERANCES[0])
    finite = DEFAULT_TOLERANCES[1:]
    assert finite[0] == 1.0 and finite[-1] == 0.02 and len(finite) == 9
    ratios = [b / a for a, b in itertools.pairwise(finite)]
    assert max(ratios) - min(ratios) < 0.02  # geometric, up to rounding


def test_records_frame_and_table(frontier: Frontier) -> None:
    pd = pytest.importorskip("pandas")
    records = frontier.to_records()
    assert [list(r) for r in records] == [list(POINT_COLUMNS)] * len(frontier.points)
    frame = frontier.to_frame()
    back = frame.to_dict("records")
    for got, want in zip(back, records, strict=True):
        for key in POINT_COLUMNS:
            if want[key] is None:
                assert got[key] is None or (isinstance(got[key], float) and math.isnan(got[key]))
            else:
                assert got[key] == want[key], key
    pd.testing.assert_frame_equal(pd.DataFrame.from_records(back, columns=list(POINT_COLUMNS)), frame)
    text = str(frontier)
    assert text.startswith("Price of fairness (fair-share sweep)")
    assert re.search(r"^unconstrained\s+OPTIMAL\s+mip\s", text, flags=re.MULTILINE)
    assert re.search(r"^round-robin\s+FEASIBLE\s+round-robin\s", text, flags=re.MULTILINE)


def test_plot_writes_png(tmp_path: Path, frontier: Frontier) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "frontier.png"
    ax = plot_frontier(frontier, path)
    assert path.read_bytes()[:8] == PNG
    labels = ax.get_legend_handles_labels()[1]
    assert labels[0].startswith("fairassign") and labels[1:] == list(BASELINES)


def test_plot_into_given_axes(frontier: Frontier) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert plot_frontier(frontier, ax=ax) is ax
    line = ax.get_lines()[0]
    assert list(line.get_ydata()) == [p.expected_value for p in frontier.sweep]


def test_plot_without_matplotlib(frontier: Frontier, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"fairassign\[plot\]"):
        plot_frontier(frontier)


def test_frame_without_pandas(frontier: Frontier, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"fairassign\[pandas\]"):
        frontier.to_frame()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"problem": "batch"}, "problem must be a fairassign.Problem"),
    ({"rule": "gini"}, "rule must be one of"),
    ({"objective": "count"}, "objective must be one of"),
    ({"tolerances": []}, "at least one tolerance"),
    ({"tolerances": [0.1, -0.2]}, "tolerances must be numbers >= 0"),
    ({"tolerances": [math.nan]}, "tolerances must be numbers >= 0"),
    ({"tolerances": ["x"]}, "tolerances must be numbers >= 0"),
    ({"executor": object()}, "executor must have a submit"),
    ({"baselines": [3]}, "baselines must be strategy names"),
    ({"seed": -2}, "seed must be a non-negative integer"),
    ({"time_limit": -1.0}, "time_limit must be a positive number"),
    ({"solver": "nope"}, "nope"),
])
def test_errors(kwargs: dict, message: str) -> None:
    arguments = {"problem": fa.Problem(score=[[1.0, 2.0]], capacity=[1, 1]), "solver": "mip", "baselines": (),
                 **kwargs}
    with pytest.raises((ValidationError, fa.UnknownSolverError), match=message):
        fairness_frontier(arguments.pop("problem"), **arguments)
    with pytest.raises(ValidationError, match="frontier must be a Frontier"):
        plot_frontier(Point("x", "sweep", 1.0, "OPTIMAL"))  # type: ignore[arg-type]


def test_builtin_example_frontier_is_monotone_with_mip() -> None:
    """The figures docs/comparison.md quotes: mip, lexicographic, the example batch under a 15% rule."""
    problem = load_example().problem
    frontier = fairness_frontier(problem, [fa.FairShare(0.15)], (1.0, 0.5, 0.2, 0.1), solver="mip", baselines=())
    values = [p.expected_value for p in frontier.sweep]
    assert all(p.status == "OPTIMAL" for p in frontier.sweep)
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(values))
