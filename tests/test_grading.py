"""Lead grading: expected value from features, tiers from thresholds or quantile shares."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairassign.errors import ValidationError
from fairassign.grading import expected_value, grade, grade_leads

values = st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=60)


def test_additive_model() -> None:
    value = expected_value(
        {"deal_size": [1000.0, 0.0, 200.0], "urgency": [1.0, 0.0, 2.0], "industry": [0, 1, 2]},
        {"deal_size": 0.5, "urgency": 100.0, "industry": [0.0, 50.0, -500.0]},
        intercept=10.0,
    )
    np.testing.assert_allclose(value, [610.0, 60.0, 0.0])  # the last is clipped at 0


def test_product_model_is_log_linear() -> None:
    value = expected_value({"deal_size": [1000.0, 4000.0], "company_size": [100.0, 400.0], "source": [1, 0]},
                           {"deal_size": 1.0, "company_size": 0.5, "source": [1.0, 2.0]},
                           intercept=2.0, combine="product")
    np.testing.assert_allclose(value, [2.0 * 1000 * 10 * 2.0, 2.0 * 4000 * 20 * 1.0])


def test_shares_learn_quantile_thresholds() -> None:
    value = np.random.default_rng(0).lognormal(0, 1, 1000)
    grades = grade(value)
    assert grades.counts() == {"A": 200, "B": 300, "C": 500}
    assert grades.thresholds[0] > grades.thresholds[1]
    assert grades.value.tolist() == value.tolist()
    assert np.all(grades.value[grades.code == 0] >= grades.thresholds[0])
    assert np.all(grades.value[grades.code == 2] < grades.thresholds[1])
    tomorrow = np.array([grades.thresholds[0], grades.thresholds[1], grades.thresholds[1] - 1e-9])
    assert grades.apply(tomorrow).tier.tolist() == ["A", "B", "C"]


def test_given_thresholds_and_labels() -> None:
    grades = grade([5.0, 15.0, 25.0, 35.0], thresholds=[30.0, 20.0, 10.0], labels=["P1", "P2", "P3", "P4"])
    assert grades.tier.tolist() == ["P4", "P3", "P2", "P1"]
    assert grades.code.tolist() == [3, 2, 1, 0]
    assert grades.labels == ("P1", "P2", "P3", "P4")


def test_a_zero_share_leaves_its_tier_empty() -> None:
    grades = grade(np.arange(10.0), shares=(0.0, 0.5, 0.5))
    assert grades.counts() == {"A": 0, "B": 5, "C": 5}
    assert grades.apply([100.0]).tier.tolist() == ["B"]


def test_grade_leads_in_one_call() -> None:
    grades = grade_leads({"deal_size": [1.0, 2.0, 3.0, 4.0, 5.0]}, {"deal_size": 1.0}, shares=(0.2, 0.2, 0.6))
    assert grades.tier.tolist() == ["C", "C", "C", "B", "A"]


@given(values)
def test_a_higher_value_never_gets_a_worse_tier(given_values: list[float]) -> None:
    grades = grade(given_values)
    order = np.argsort(grades.value, kind="stable")
    assert np.all(np.diff(grades.code[order]) <= 0)


@given(st.lists(st.integers(0, 10**6), min_size=10, max_size=80, unique=True))
def test_distinct_values_meet_the_shares_within_one_lead(given_values: list[int]) -> None:
    grades = grade(np.array(given_values, dtype=float), shares=(0.2, 0.3, 0.5))
    n = len(given_values)
    counts = grades.counts()
    assert abs(counts["A"] - 0.2 * n) <= 1
    assert abs(counts["A"] + counts["B"] - 0.5 * n) <= 1


@pytest.mark.parametrize(("call", "message"), [
    (lambda: expected_value({"a": [1.0]}, {"b": 1.0}), r"missing \['a'\], unknown \['b'\]"),
    (lambda: expected_value({}, {}), "at least one column"),
    (lambda: expected_value({"a": [1.0], "b": [1.0, 2.0]}, {"a": 1.0, "b": 1.0}), "must have 1 entries"),
    (lambda: expected_value({"a": [0, 3]}, {"a": [1.0, 2.0]}), r"integer codes in \[0, 2\); found 3.0"),
    (lambda: expected_value({"a": [0.5]}, {"a": [1.0, 2.0]}), "integer codes"),
    (lambda: expected_value({"a": [0.0]}, {"a": 1.0}, intercept=1.0, combine="product"), "must be > 0"),
    (lambda: expected_value({"a": [1.0]}, {"a": 1.0}, combine="product"), "intercept must be > 0"),
    (lambda: expected_value({"a": [0]}, {"a": [0.0]}, intercept=1.0, combine="product"), "factors > 0"),
    (lambda: expected_value({"a": [np.nan]}, {"a": 1.0}), "must be finite"),
    (lambda: expected_value({"a": [1.0]}, {"a": 1.0}, combine="max"), "combine must be"),
    (lambda: grade([1.0, 2.0], shares=(0.5, 0.6, 0.1)), "summing to 1"),
    (lambda: grade([1.0, 2.0], thresholds=[1.0, 2.0]), "decreasing"),
    (lambda: grade([1.0, 2.0], thresholds=[1.0]), "must hold 2 numbers"),
    (lambda: grade([1.0, 2.0], labels=["A"]), "at least two distinct"),
    (lambda: grade([]), "at least one lead"),
    (lambda: grade([[1.0]]), "1-D"),
])
def test_validation_messages(call, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        call()
