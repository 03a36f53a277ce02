"""fairassign.rules.bind: rule objects turned into arrays over one batch, and its messages."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import pytest

import fairassign as fa
from fairassign.errors import ValidationError
from fairassign.rules import bind


def raises(message: str) -> AbstractContextManager[pytest.ExceptionInfo[ValidationError]]:
    """``pytest.raises`` for a ValidationError whose message contains ``message`` verbatim."""
    return pytest.raises(ValidationError, match=re.escape(message))



@pytest.fixture
def problem() -> fa.Problem:
    # 3 leads x 3 reps; lead 'L-1' is not eligible for rep 'R-2'
    score = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, np.nan], [7.0, 8.0, 9.0]])
    return fa.Problem(score=score, capacity=[2, 1, 3], value=[1.0, 2.0, 3.0],
                      lead_ids=["L-0", "L-1", "L-2"], rep_ids=["R-0", "R-1", "R-2"])


def allowed_pairs(problem: fa.Problem, rules: fa.rules.Rules) -> list[tuple[int, int]]:
    return list(zip(problem.pair_lead[rules.allowed].tolist(), problem.pair_rep[rules.allowed].tolist(), strict=True))


def test_no_rules(problem: fa.Problem) -> None:
    rules = bind(problem)
    assert rules.allowed.all() and rules.allowed.shape == (problem.n_pairs,)
    assert not rules.must_assign.any()
    assert rules.count_lower.tolist() == [0, 0, 0] and np.isinf(rules.count_upper).all()
    assert rules.value_lower.tolist() == [0, 0, 0] and np.isinf(rules.value_upper).all()
    assert rules.fair == () and rules.conflicts == () and not rules.assign_all
    assert rules.capacity_only
    assert rules.describe() == []


def test_a_single_rule_need_not_be_in_a_list(problem: fa.Problem) -> None:
    rules = bind(problem, fa.AssignAll())
    assert rules.assign_all and rules.must_assign.all()


def test_arrays_are_read_only(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.Pin([("L-0", "R-0")])])
    for array in (rules.allowed, rules.must_assign, rules.count_lower, rules.count_upper, rules.value_lower,
                  rules.value_upper):
        with pytest.raises(ValueError):
            array[0] = 0


def test_bands_intersect(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.CountBand(lower=1, upper=[3, 2, 5]), fa.CountBand(lower=[0, 2, 0], upper=4),
                           fa.ValueBand(upper=10), fa.ValueBand(lower=[0.5, 0, 0], upper=[20, 5, 20])])
    assert rules.count_lower.tolist() == [1, 2, 1]
    assert rules.count_upper.tolist() == [3, 2, 4]
    assert rules.value_lower.tolist() == [0.5, 0, 0]
    assert rules.value_upper.tolist() == [10, 5, 10]
    assert rules.conflicts == ()
    assert not rules.capacity_only and rules.has_count_lower and rules.has_value_band


def test_capacity_only(problem: fa.Problem) -> None:
    assert bind(problem, [fa.AssignAll(), fa.CountBand(upper=2), fa.Pin([("L-0", "R-0")]),
                          fa.Forbid([("L-1", "R-1")])]).capacity_only
    assert not bind(problem, [fa.CountBand(lower=1)]).capacity_only
    assert not bind(problem, [fa.ValueBand(upper=100)]).capacity_only
    assert not bind(problem, [fa.ValueBand(lower=1)]).capacity_only
    assert not bind(problem, [fa.FairShare(1.0)]).capacity_only


def test_crossed_bands_are_conflicts_not_errors(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.CountBand(lower=2), fa.CountBand(upper=[3, 1, 3]), fa.ValueBand(lower=5),
                           fa.ValueBand(upper=4)])
    assert rules.conflicts[0] == "CountBands combine to an empty band for rep 'R-1': lower 2 > upper 1"
    assert rules.conflicts[1:] == tuple(
        f"ValueBands combine to an empty band for rep 'R-{r}': lower 5 > upper 4" for r in range(3))


def test_forbid_removes_pairs_and_ignores_non_candidates(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.Forbid([("L-0", "R-1"), ("L-1", "R-2"), ("L-2", "R-0")])])
    assert (0, 1) not in allowed_pairs(problem, rules)
    assert (2, 0) not in allowed_pairs(problem, rules)
    assert len(allowed_pairs(problem, rules)) == problem.n_pairs - 2
    assert rules.conflicts == () and not rules.must_assign.any()


def test_pin_keeps_only_the_pinned_pair_and_forces_the_lead(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.Pin([("L-2", "R-1")])])
    pairs = allowed_pairs(problem, rules)
    assert [pair for pair in pairs if pair[0] == 2] == [(2, 1)]
    assert [pair for pair in pairs if pair[0] != 2] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert rules.must_assign.tolist() == [False, False, True]
    assert rules.conflicts == ()
    assert rules.capacity_only


def test_pin_given_twice_is_fine(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.Pin([("L-0", "R-2")]), fa.Pin([("L-0", "R-2")])])
    assert rules.conflicts == ()
    assert [pair for pair in allowed_pairs(problem, rules) if pair[0] == 0] == [(0, 2)]


def test_pin_to_two_reps_is_a_conflict(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.Pin([("L-0", "R-0"), ("L-0", "R-2")])])
    assert rules.conflicts == ("lead 'L-0' is pinned to two reps, 'R-0' and 'R-2'",)
    assert [pair for pair in allowed_pairs(problem, rules) if pair[0] == 0] == [(0, 0)]


def test_pin_on_an_ineligible_pair_is_a_conflict(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.Pin([("L-1", "R-2")])])
    assert rules.conflicts == ("pinned pair ('L-1', 'R-2') is not eligible (no score, or eligible is False)",)
    assert [pair for pair in allowed_pairs(problem, rules) if pair[0] == 1] == []
    assert rules.must_assign[1]


def test_pin_on_a_forbidden_pair_is_a_conflict_whatever_the_order(problem: fa.Problem) -> None:
    for given in ([fa.Pin([("L-0", "R-1")]), fa.Forbid([("L-0", "R-1")])],
                  [fa.Forbid([("L-0", "R-1")]), fa.Pin([("L-0", "R-1")])]):
        rules = bind(problem, given)
        assert rules.conflicts == ("pinned pair ('L-0', 'R-1') is also forbidden",)
        assert [pair for pair in allowed_pairs(problem, rules) if pair[0] == 0] == []


def test_fair_rows(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.FairShare(0.1), fa.FairShare(0.5, weight=[1, 1, 2])])
    by_capacity, by_weight = rules.fair
    assert by_capacity.tolerance == 0.1
    np.testing.assert_allclose(by_capacity.share, [2 / 6, 1 / 6, 3 / 6])
    np.testing.assert_allclose(by_capacity.low, 0.9 * np.array([2, 1, 3]) / 6)
    np.testing.assert_allclose(by_capacity.high, 1.1 * np.array([2, 1, 3]) / 6)
    np.testing.assert_allclose(by_weight.share, [0.25, 0.25, 0.5])
    np.testing.assert_allclose(by_weight.low, [0.125, 0.125, 0.25])
    assert by_weight.share.sum() == pytest.approx(1.0)


def test_constraints_are_kept_as_given(problem: fa.Problem) -> None:
    given = [fa.AssignAll(), fa.FairShare(0.1)]
    rules = bind(problem, given)
    assert rules.constraints == tuple(given)
    assert rules.describe() == ["every lead assigned",
                                "lead value per rep within +-10% of its capacity-weighted share"]


# ----------------------------------------------------------------------------- messages
def test_constraints_not_iterable(problem: fa.Problem) -> None:
    with pytest.raises(ValidationError,
                       match=re.escape("constraints must be an iterable of fairassign constraints, got int")):
        bind(problem, 5)  # type: ignore[arg-type]


def test_constraints_not_constraint_objects(problem: fa.Problem) -> None:
    message = ("constraints must hold fairassign rules (AssignAll, CountBand, ValueBand, FairShare, Pin, Forbid), "
               "got 'AssignAll'")
    with raises(message):
        bind(problem, ["AssignAll"])  # type: ignore[list-item]
    with raises("got <class 'fairassign.constraints.AssignAll'>"):
        bind(problem, [fa.AssignAll])  # type: ignore[list-item]


def test_unknown_constraint_subclass(problem: fa.Problem) -> None:
    @dataclass(frozen=True)
    class Quota(fa.Constraint):
        def describe(self) -> str:
            return "quota"

    with raises("constraints: Quota is not supported by this version"):
        bind(problem, [Quota()])


@pytest.mark.parametrize(("rule", "name"), [
    (fa.CountBand(lower=[1, 1]), "CountBand.lower"),
    (fa.CountBand(upper=[1, 1, 1, 1]), "CountBand.upper"),
    (fa.ValueBand(lower=[1, 1]), "ValueBand.lower"),
    (fa.ValueBand(upper=[1, 1, 1, 1]), "ValueBand.upper"),
])
def test_per_rep_array_of_wrong_length(problem: fa.Problem, rule: fa.Constraint, name: str) -> None:
    length = 2 if name.endswith("lower") else 4
    message = f"{name} must be a scalar or have one entry per rep (n_reps=3), got shape ({length},)"
    with raises(message):
        bind(problem, [rule])


def test_fair_share_weight_of_wrong_length(problem: fa.Problem) -> None:
    message = "FairShare.weight must have one entry per rep (n_reps=3), got shape (2,)"
    with raises(message):
        bind(problem, [fa.FairShare(0.1, weight=[1, 2])])


@pytest.mark.parametrize("rule", [fa.Pin, fa.Forbid])
def test_unknown_ids(problem: fa.Problem, rule: type) -> None:
    name = rule.__name__
    with raises(f"{name} names lead id 'L-9', which is not in problem.lead_ids"):
        bind(problem, [rule([("L-9", "R-0")])])
    with raises(f"{name} names rep id 'R-9', which is not in problem.rep_ids"):
        bind(problem, [rule([("L-0", "R-9")])])
    with raises(f"{name} names lead id 0, which is not in problem.lead_ids"):
        bind(problem, [rule([(0, "R-0")])])  # positions are not ids when ids are given


def test_fair_share_default_weight_with_infinite_capacity() -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[1, np.inf], rep_ids=["R-0", "R-1"])
    message = ("FairShare weighs reps by capacity by default, but capacity of rep 'R-1' is inf; "
               "pass FairShare(tolerance, weight=...) with finite weights")
    with raises(message):
        bind(problem, [fa.FairShare(0.1)])
    assert bind(problem, [fa.FairShare(0.1, weight=[1, 1])]).fair[0].share.tolist() == [0.5, 0.5]


def test_fair_share_zero_total_weight() -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[0, 0])
    with pytest.raises(ValidationError,
                       match=re.escape("FairShare needs a positive total weight; the capacity of every rep sums to 0")):
        bind(problem, [fa.FairShare(0.1)])
    with pytest.raises(ValidationError, match=re.escape(
            "FairShare needs a positive total weight; the FairShare.weight of every rep sums to 0")):
        bind(problem, [fa.FairShare(0.1, weight=[0, 0])])


def test_fair_narrowed_cuts_every_tolerance_and_keeps_the_rest() -> None:
    problem = fa.Problem(score=np.ones((4, 2)), capacity=[3.0, 1.0])
    rules = bind(problem, [fa.FairShare(0.2), fa.FairShare(0.4, weight=[1.0, 1.0]), fa.CountBand(upper=3)])
    narrowed = rules.fair_narrowed(0.25)
    assert [fair.tolerance for fair in narrowed.fair] == pytest.approx([0.15, 0.3])
    for old, new in zip(rules.fair, narrowed.fair, strict=True):
        np.testing.assert_array_equal(new.share, old.share)
        assert np.all(new.low >= old.low) and np.all(new.high <= old.high)
    np.testing.assert_array_equal(narrowed.count_upper, rules.count_upper)
    assert narrowed.allowed is rules.allowed and narrowed.constraints == rules.constraints
