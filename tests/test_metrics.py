"""fairassign.metrics against hand-computed figures, edge-case conventions, and invariants."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.metrics import gini, max_min_ratio, metrics


@pytest.fixture
def batch() -> fa.Problem:
    """4 leads x 3 reps; lead 'D' is nobody's candidate but rep 'z''s; effort per lead."""
    score = np.array([
        [5.0, 1.0, np.nan],
        [4.0, 2.0, 1.0],
        [np.nan, 3.0, 0.5],
        [np.nan, np.nan, 7.0],
    ])
    return fa.Problem(score=score, capacity=[2, 1, 1], effort=[1, 2, 1, 1], value=[10, 20, 30, 40],
                      lead_ids=["A", "B", "C", "D"], rep_ids=["x", "y", "z"])


def test_hand_computed_figures(batch: fa.Problem) -> None:
    m = metrics(batch, [0, 0, 1, -1])
    assert (m.n_leads, m.n_reps, m.n_assigned) == (4, 3, 3)
    assert m.coverage == 0.75
    assert m.value_coverage == pytest.approx(0.6)  # 60 of 100
    assert m.total_score == pytest.approx(5.0 + 4.0 + 3.0)
    assert m.total_value == 60.0
    assert m.rep_count.tolist() == [2.0, 1.0, 0.0]
    assert m.rep_effort.tolist() == [3.0, 1.0, 0.0]  # effort 1 + 2, then 1
    assert m.rep_value.tolist() == [30.0, 30.0, 0.0]
    # capacity 2:1:1 -> shares 1/2, 1/4, 1/4 -> targets 30, 15, 15
    assert m.weight_basis == "capacity"
    assert m.fair_share.tolist() == [0.5, 0.25, 0.25]
    assert m.value_share == pytest.approx([0.5, 0.5, 0.0])
    assert m.share_deviation == pytest.approx([0.0, 1.0, -1.0])
    assert m.max_share_deviation == pytest.approx(1.0)
    # Gini of (30, 30, 0): sum of |differences| over ordered pairs 120, / (2 * 3^2 * mean 20)
    assert m.gini_value == pytest.approx(1 / 3)
    # per unit of capacity: 15, 15 (rep x, weight 2), 30, 0 -> ordered-pair sum 180 / (2 * 4^2 * 15)
    assert m.gini_value_per_weight == pytest.approx(0.375)
    assert m.max_min_value == math.inf
    assert m.max_min_value_per_weight == math.inf


def test_given_weights(batch: fa.Problem) -> None:
    m = metrics(batch, [0, 1, 2, 2], weight=[1, 1, 2])
    # values 10, 20, 70; V = 100; targets 25, 25, 50
    assert m.weight_basis == "given"
    assert m.rep_value.tolist() == [10.0, 20.0, 70.0]
    assert m.share_deviation == pytest.approx([-0.6, -0.2, 0.4])
    assert m.max_share_deviation == pytest.approx(0.6)
    assert m.max_min_value == pytest.approx(7.0)
    assert m.max_min_value_per_weight == pytest.approx(35.0 / 10.0)
    # per weight 10, 20, 35 (twice): units (10, 20, 35, 35), mean 25, ordered-pair sum 2 * 90
    assert m.gini_value_per_weight == pytest.approx(180 / (2 * 16 * 25))


def test_nothing_assigned_has_neutral_figures(batch: fa.Problem) -> None:
    m = metrics(batch, [-1, -1, -1, -1])
    assert m.coverage == 0.0 and m.value_coverage == 0.0
    assert m.total_score == 0.0 and m.total_value == 0.0
    assert m.share_deviation.tolist() == [0.0, 0.0, 0.0]
    assert m.max_share_deviation == 0.0
    assert m.gini_value == 0.0 and m.gini_value_per_weight == 0.0
    assert m.max_min_value == 1.0 and m.max_min_value_per_weight == 1.0
    assert not any(isinstance(v, float) and math.isnan(v) for v in m.to_dict().values())


def test_zero_weight_rep(batch: fa.Problem) -> None:
    with_value = metrics(batch, [0, 1, 2, 2], weight=[1, 0, 1])
    assert with_value.fair_share.tolist() == [0.5, 0.0, 0.5]
    assert with_value.share_deviation[1] == math.inf  # a zero share that receives value
    assert with_value.max_share_deviation == math.inf
    # rep y is left out of the per-weight figures: 10 and 70 per unit
    assert with_value.max_min_value_per_weight == pytest.approx(7.0)
    assert with_value.gini_value_per_weight == pytest.approx(gini([10.0, 70.0]))

    without_value = metrics(batch, [0, 0, 2, 2], weight=[1, 0, 1])
    assert without_value.share_deviation[1] == 0.0  # zero share, zero value: on target


def test_infinite_capacity_falls_back_to_equal_weights() -> None:
    problem = fa.Problem(score=[[1.0, 1.0], [1.0, 1.0]], capacity=[np.inf, 1.0], value=[3.0, 1.0])
    m = metrics(problem, [0, 1])
    assert m.weight_basis == "equal"
    assert m.fair_share.tolist() == [0.5, 0.5]
    assert m.share_deviation == pytest.approx([0.5, -0.5])


def test_result_and_rep_of_agree(batch: fa.Problem) -> None:
    problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1], value=[1.0, 2.0, 3.0])
    result = fa.solve(problem, [fa.AssignAll()], solver="flow")
    from_result = metrics(problem, result)
    from_array = metrics(problem, result.rep_of)
    assert from_result.to_dict() == from_array.to_dict()
    assert from_result.total_score == pytest.approx(result.objective)
    assert from_result.rep_value.tolist() == result.rep_value.tolist()
    assert from_result.rep_count.tolist() == result.rep_count.tolist()


def test_to_dict_is_plain_and_json_ready(batch: fa.Problem) -> None:
    d = metrics(batch, [0, 0, 1, -1]).to_dict()
    assert d["rep_value"] == [30.0, 30.0, 0.0] and isinstance(d["rep_value"], list)
    assert d["weight_basis"] == "capacity"
    text = json.dumps(d)
    assert json.loads(text)["max_min_value"] == math.inf


def test_metrics_object_is_frozen(batch: fa.Problem) -> None:
    m = metrics(batch, [0, 0, 1, -1])
    with pytest.raises(AttributeError):
        m.coverage = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(("rep_of", "message"), [
    ([0, 0, 1], r"shape \(4,\)"),
    ([0.0, 0.0, 1.0, -1.0], "integer array"),
    ([0, 0, 3, -1], r"rep positions in \[-1, 2\]; lead 'C' has 3"),
    ([0, 0, 0, -1], "lead 'C' to rep 'x', which is not a candidate pair"),
])
def test_bad_assignments_are_named(batch: fa.Problem, rep_of: list[float], message: str) -> None:
    with pytest.raises(fa.ValidationError, match=message):
        metrics(batch, rep_of)


@pytest.mark.parametrize(("weight", "message"), [
    ([1, 1], r"shape \(3,\)"),
    ([1, -1, 1], "finite numbers >= 0"),
    ([1, np.nan, 1], "finite numbers >= 0"),
    ([0, 0, 0], "positive sum"),
    ("abc", "numeric array"),
])
def test_bad_weights_are_named(batch: fa.Problem, weight: object, message: str) -> None:
    with pytest.raises(fa.ValidationError, match=message):
        metrics(batch, [0, 0, 1, -1], weight=weight)


def test_gini_and_ratio_helpers() -> None:
    assert gini([]) == 0.0
    assert gini([0.0, 0.0]) == 0.0
    assert gini([0.0, 1.0]) == pytest.approx(0.5)
    assert gini([1.0, 2.0, 3.0, 4.0]) == pytest.approx(20 / (2 * 16 * 2.5))  # ordered-pair sum 20
    assert max_min_ratio([]) == 1.0
    assert max_min_ratio([3.0, 3.0]) == 1.0
    with pytest.raises(fa.ValidationError, match="gini values"):
        gini([-1.0, 2.0])
    with pytest.raises(fa.ValidationError, match="gini weights"):
        gini([1.0, 2.0], weights=[1.0, 0.0])


@given(values=st.lists(st.integers(0, 50), min_size=1, max_size=8),
       repeats=st.lists(st.integers(1, 4), min_size=8, max_size=8),
       scale=st.floats(0.01, 100.0))
def test_gini_invariants(values: list[int], repeats: list[int], scale: float) -> None:
    x = np.array(values, dtype=float)
    w = np.array(repeats[: x.size], dtype=float)
    g = gini(x, w)
    assert 0.0 <= g < 1.0
    # integer weights mean repeated members
    assert g == pytest.approx(gini(np.repeat(x, w.astype(int))), abs=1e-12)
    # scale and order do not matter
    assert gini(x * scale, w) == pytest.approx(g, abs=1e-12)
    assert gini(x[::-1], w[::-1]) == pytest.approx(g, abs=1e-12)
    # the pairwise definition
    if x.sum() > 0:
        pairwise = np.abs(x[:, None] - x[None, :]) * w[:, None] * w[None, :]
        mean = np.dot(w, x) / w.sum()
        assert g == pytest.approx(pairwise.sum() / (2 * w.sum() ** 2 * mean), abs=1e-12)


@given(seed=st.integers(0, 2**32 - 1), n_leads=st.integers(1, 12), n_reps=st.integers(1, 4))
def test_max_deviation_matches_the_fair_share_rule(seed: int, n_leads: int, n_reps: int) -> None:
    """FairShare(t) holds (per the independent verifier) exactly when max deviation <= t."""
    rng = np.random.default_rng(seed)
    problem = fa.Problem(score=rng.random((n_leads, n_reps)), capacity=rng.integers(1, 6, n_reps).astype(float),
                         value=rng.integers(1, 20, n_leads).astype(float))
    rep_of = rng.integers(-1, n_reps, n_leads)
    m = metrics(problem, rep_of)
    if math.isfinite(m.max_share_deviation):
        above = m.max_share_deviation * 1.001 + 1e-9
        assert not [v for v in fa.verify(problem, rep_of, [fa.FairShare(above)]) if v.rule == "FairShare"]
        if m.max_share_deviation >= 0.01:
            below = m.max_share_deviation * 0.5
            assert [v for v in fa.verify(problem, rep_of, [fa.FairShare(below)]) if v.rule == "FairShare"]
    # per-rep figures add up
    assert m.rep_count.sum() == m.n_assigned == int((rep_of >= 0).sum())
    assert m.total_value == pytest.approx(problem.value[rep_of >= 0].sum())
