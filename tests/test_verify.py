"""fairassign.verify: the independent checker, on hand-made assignments."""

from __future__ import annotations

import re

import numpy as np
import pytest

import fairassign as fa
from fairassign.errors import ValidationError


@pytest.fixture
def problem() -> fa.Problem:
    # 4 leads x 3 reps; lead 'L-3' may not go to rep 'R-2'
    score = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [1.0, 1.0, np.nan]])
    return fa.Problem(score=score, capacity=[2, 2, 1], value=[1.0, 2.0, 3.0, 4.0],
                      lead_ids=["L-0", "L-1", "L-2", "L-3"], rep_ids=["R-0", "R-1", "R-2"])


def rules_broken(problem: fa.Problem, rep_of: list[int], constraints: list[fa.Constraint]) -> list[tuple[str, str]]:
    return [(v.rule, v.subject) for v in fa.verify(problem, np.array(rep_of), constraints)]


def test_clean_assignment(problem: fa.Problem) -> None:
    assert fa.verify(problem, [0, 0, 1, 1]) == []
    assert fa.verify(problem, [-1, -1, -1, -1]) == []
    assert fa.verify(problem, [0, 1, 2, 0], [fa.AssignAll(), fa.CountBand(upper=2)]) == []


def test_capacity(problem: fa.Problem) -> None:
    violations = fa.verify(problem, [2, 2, -1, -1])
    assert violations == [fa.Violation("capacity", "rep 'R-2'", 1.0,
                                       "rep 'R-2' receives effort 2 over capacity 1 (by 1)")]


def test_capacity_in_effort_units() -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[3, 3], effort=[[2.0, 1.0], [1.5, 1.0]])
    assert fa.verify(problem, [0, 0]) == [fa.Violation("capacity", "rep 0", 0.5,
                                                       "rep 0 receives effort 3.5 over capacity 3 (by 0.5)")]
    assert fa.verify(problem, [1, 0]) == []


def test_infinite_capacity_never_binds() -> None:
    problem = fa.Problem(score=np.ones((5, 1)), capacity=[np.inf])
    assert fa.verify(problem, [0] * 5) == []


def test_eligibility(problem: fa.Problem) -> None:
    violations = fa.verify(problem, [-1, -1, -1, 2])
    assert [v.message for v in violations] == ["lead 'L-3' goes to rep 'R-2', which is not an eligible pair"]
    assert violations[0].rule == "eligibility" and violations[0].amount == 1.0


def test_rep_out_of_range(problem: fa.Problem) -> None:
    violations = fa.verify(problem, [3, -2, -1, -1])
    assert [v.message for v in violations] == [
        "lead 'L-0' goes to rep position 3, which does not exist",
        "lead 'L-1' goes to rep position -2, which does not exist",
    ]
    assert {v.rule for v in violations} == {"assignment"}


def test_assign_all(problem: fa.Problem) -> None:
    violations = fa.verify(problem, [0, -1, 1, -1], [fa.AssignAll()])
    assert [v.message for v in violations] == ["lead 'L-1' is not assigned", "lead 'L-3' is not assigned"]


def test_count_band(problem: fa.Problem) -> None:
    violations = fa.verify(problem, [0, 0, 1, -1], [fa.CountBand(lower=[0, 0, 1], upper=1)])
    assert [(v.rule, v.subject, v.amount) for v in violations] == [
        ("CountBand", "rep 'R-0'", 1.0), ("CountBand", "rep 'R-2'", 1.0)]
    assert violations[0].message == "rep 'R-0' receives lead count 2 above 1"
    assert violations[1].message == "rep 'R-2' receives lead count 0 below 1"


def test_value_band(problem: fa.Problem) -> None:
    violations = fa.verify(problem, [0, 1, 1, 0], [fa.ValueBand(upper=[10, 4, 10]), fa.ValueBand(lower=5.5)])
    assert [v.message for v in violations] == [
        "rep 'R-1' receives lead value 5 above 4",
        "rep 'R-0' receives lead value 5 below 5.5",
        "rep 'R-1' receives lead value 5 below 5.5",
        "rep 'R-2' receives lead value 0 below 5.5",
    ]
    assert violations[0].amount == pytest.approx(1.0)
    assert violations[3].amount == pytest.approx(5.5)


def test_fair_share(problem: fa.Problem) -> None:
    # capacity weights 2:2:1, total value 10 assigned -> shares 4, 4, 2; tolerance 0.25 -> +-1, +-1, +-0.5
    assert fa.verify(problem, [1, 0, 2, -1], [fa.FairShare(0.25)]) != []
    rep_of = [2, 2, 1, 0]  # values: R-0 4, R-1 3, R-2 3 (also over capacity)
    violations = [v for v in fa.verify(problem, rep_of, [fa.FairShare(0.25)]) if v.rule == "FairShare"]
    assert [v.subject for v in violations] == ["rep 'R-2'"]
    assert violations[0].message == "rep 'R-2' receives lead value 3, outside its fair share 2 +- 0.5 (by 0.5)"
    assert violations[0].amount == pytest.approx(0.5)
    assert fa.verify(problem, [0, 0, 1, 1], [fa.FairShare(1.0, weight=[1, 1, 0])]) == []


def test_fair_share_holds_a_zero_weight_rep_to_nothing(problem: fa.Problem) -> None:
    violations = fa.verify(problem, [2, 0, 1, -1], [fa.FairShare(0.5, weight=[1, 1, 0])])
    assert [v.subject for v in violations] == ["rep 'R-2'"]


def test_fair_share_within_tolerance(problem: fa.Problem) -> None:
    # values 1+2 = 3 to R-0 and 3+4 = 7 to R-1 with weights 3:7: exactly on share
    assert fa.verify(problem, [0, 0, 1, 1], [fa.FairShare(0.0, weight=[3, 7, 0])]) == []
    # 5 and 5 is an exact half each; 9 and 1 is not within 50%
    assert fa.verify(problem, [1, 0, 0, 1], [fa.FairShare(0.0, weight=[1, 1, 0])]) == []
    assert rules_broken(problem, [1, 0, 0, 0], [fa.FairShare(0.5, weight=[1, 1, 0])]) == [
        ("capacity", "rep 'R-0'"), ("FairShare", "rep 'R-0'"), ("FairShare", "rep 'R-1'")]


def test_pin_and_forbid(problem: fa.Problem) -> None:
    pin = fa.Pin([("L-0", "R-1"), ("L-2", "R-2")])
    forbid = fa.Forbid([("L-1", "R-0")])
    assert rules_broken(problem, [1, 1, 2, -1], [pin, forbid]) == []
    violations = fa.verify(problem, [0, 0, -1, -1], [pin, forbid])
    assert [v.message for v in violations] == [
        "lead 'L-0' is not assigned to its pinned rep 'R-1'",
        "lead 'L-2' is not assigned to its pinned rep 'R-2'",
        "lead 'L-1' is assigned to forbidden rep 'R-0'",
    ]


def test_flags_exactly_the_broken_rules(problem: fa.Problem) -> None:
    constraints = [fa.AssignAll(), fa.CountBand(upper=1), fa.ValueBand(upper=100), fa.Forbid([("L-2", "R-1")])]
    assert rules_broken(problem, [0, 0, 1, -1], constraints) == [
        ("AssignAll", "lead 'L-3'"), ("CountBand", "rep 'R-0'"), ("Forbid", "lead 'L-2'")]
    assert rules_broken(problem, [0, 0, 0, -1], constraints) == [
        ("capacity", "rep 'R-0'"), ("AssignAll", "lead 'L-3'"), ("CountBand", "rep 'R-0'")]


def test_tolerance_is_relative(problem: fa.Problem) -> None:
    capacity = 1000.0
    tight = fa.Problem(score=np.ones((2, 1)), capacity=[capacity], effort=[500.0, 500.0 + capacity * 5e-7])
    assert fa.verify(tight, [0, 0]) == []
    assert [v.rule for v in fa.verify(tight, [0, 0], rtol=1e-7)] == ["capacity"]
    over = fa.Problem(score=np.ones((2, 1)), capacity=[capacity], effort=[500.0, 500.0 + capacity * 5e-6])
    assert [v.rule for v in fa.verify(over, [0, 0])] == ["capacity"]


def test_accepts_a_result() -> None:
    problem = fa.Problem(score=[[1.0, 2.0]], capacity=[1, 1])
    result = fa.solve(problem)
    assert fa.verify(problem, result) == []


def test_validation_messages(problem: fa.Problem) -> None:
    with pytest.raises(ValidationError, match=re.escape(
            "result must be a Result or an integer array of shape (4,), got float64 of shape (4,)")):
        fa.verify(problem, [0.0, 1.0, 0.0, 1.0])
    with pytest.raises(ValidationError, match=re.escape(
            "result must be a Result or an integer array of shape (4,), got int64 of shape (3,)")):
        fa.verify(problem, np.array([0, 1, 0]))
    with pytest.raises(ValidationError, match=re.escape(
            "Pin names ('L-9', 'R-0'), which is not a (lead_id, rep_id) of this problem")):
        fa.verify(problem, [0, 0, 1, 1], [fa.Pin([("L-9", "R-0")])])
    with pytest.raises(ValidationError, match=re.escape(
            "Forbid names ('L-0', 'R-9'), which is not a (lead_id, rep_id) of this problem")):
        fa.verify(problem, [0, 0, 1, 1], [fa.Forbid([("L-0", "R-9")])])
    with pytest.raises(ValidationError, match=re.escape("verify does not know the rule 'AssignAll'")):
        fa.verify(problem, [0, 0, 1, 1], ["AssignAll"])  # type: ignore[list-item]
