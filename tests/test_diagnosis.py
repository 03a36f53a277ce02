"""fairassign.diagnosis: reasons in words, found before any solver runs."""

from __future__ import annotations

import numpy as np
import pytest

import fairassign as fa
from fairassign.diagnosis import diagnose
from fairassign.rules import bind


def reasons(problem: fa.Problem, constraints: list[fa.Constraint]) -> list[str]:
    return diagnose(problem, bind(problem, constraints))


def test_feasible_batch_has_no_reason() -> None:
    problem = fa.Problem(score=np.ones((4, 2)), capacity=[2, 2])
    assert reasons(problem, [fa.AssignAll(), fa.CountBand(lower=1, upper=3), fa.FairShare(0.5)]) == []


def test_capacity_below_the_leads_that_must_be_assigned() -> None:
    problem = fa.Problem(score=np.ones((200, 2)), capacity=[90, 90])
    assert reasons(problem, [fa.AssignAll()]) == ["capacity 180 < 200 leads that must be assigned"]
    assert reasons(problem, []) == []  # without AssignAll nothing must be assigned


def test_capacity_counts_only_reachable_leads_and_count_caps() -> None:
    # rep 1 has room for 50 but only 3 leads may go to it; rep 0 is capped at 10 leads
    score = np.ones((20, 2))
    score[3:, 1] = np.nan
    problem = fa.Problem(score=score, capacity=[50, 50])
    assert reasons(problem, [fa.AssignAll(), fa.CountBand(upper=[10, 50])]) == [
        "capacity 13 < 20 leads that must be assigned"]


def test_lead_with_no_eligible_rep() -> None:
    score = np.ones((20, 3))
    score[17] = np.nan
    problem = fa.Problem(score=score, capacity=[20, 20, 20], lead_ids=[f"L-{i}" for i in range(20)])
    assert reasons(problem, [fa.AssignAll()]) == [
        "lead 'L-17' must be assigned but has no eligible rep with room for it"]


def test_many_leads_with_no_room_are_named_up_to_five() -> None:
    problem = fa.Problem(score=np.ones((7, 1)), capacity=[3], effort=[4, 4, 4, 4, 4, 4, 4])
    assert reasons(problem, [fa.AssignAll()]) == [
        "leads 0, 1, 2, 3, 4 and 2 more must be assigned but have no eligible rep with room for it"]


def test_pinned_lead_whose_pin_was_forbidden() -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[2, 2], lead_ids=["a", "b"], rep_ids=["x", "y"])
    assert reasons(problem, [fa.Pin([("a", "y")]), fa.Forbid([("a", "y")])]) == [
        "pinned pair ('a', 'y') is also forbidden",
        "lead 'a' must be assigned but has no eligible rep with room for it",
    ]


def test_effort_units_below_the_cheapest_need() -> None:
    score = np.ones((3, 2))
    effort = np.array([[2.0, 3.0], [2.0, 2.0], [1.0, 4.0]])
    problem = fa.Problem(score=score, capacity=[2.5, 2.5], effort=effort)
    assert reasons(problem, [fa.AssignAll()]) == []  # 5 units for a need of at least 2 + 2 + 1
    problem = fa.Problem(score=score, capacity=[2.0, 2.5], effort=effort)
    assert reasons(problem, [fa.AssignAll()]) == [
        "capacity 4.5 effort units < 5 needed at the least by the leads that must be assigned"]


def test_count_lower_above_what_a_rep_can_reach() -> None:
    score = np.ones((4, 2))
    score[1:, 1] = np.nan
    problem = fa.Problem(score=score, capacity=[4, 4], rep_ids=["R-0", "R-1"])
    assert reasons(problem, [fa.CountBand(lower=[0, 2])]) == [
        "rep 'R-1' must receive at least 2 leads but has only 1 eligible leads or room"]


def test_count_lower_above_capacity_with_unit_effort() -> None:
    problem = fa.Problem(score=np.ones((4, 2)), capacity=[1, 4])
    assert reasons(problem, [fa.CountBand(lower=[2, 0])]) == [
        "rep 0 must receive at least 2 leads but has only 1 eligible leads or room"]


def test_count_lower_with_cheap_effort_names_the_eligible_leads() -> None:
    # effort 0.5: capacity 2 holds 4 leads, so the limit is the 10 eligible leads, not the capacity
    problem = fa.Problem(score=np.ones((10, 1)), capacity=[2], effort=np.full(10, 0.5))
    assert reasons(problem, [fa.CountBand(lower=11)]) == [
        "rep 0 must receive at least 11 leads but has only 10 eligible leads or room",
        "count bands ask for 11 leads in total, but there are 10",
    ]


def test_count_bands_ask_for_more_leads_than_exist() -> None:
    problem = fa.Problem(score=np.ones((4, 3)), capacity=[4, 4, 4])
    assert reasons(problem, [fa.CountBand(lower=2)]) == ["count bands ask for 6 leads in total, but there are 4"]


def test_value_lower_above_the_reachable_value() -> None:
    score = np.array([[1.0, 1.0], [1.0, np.nan], [1.0, 1.0]])
    problem = fa.Problem(score=score, capacity=[3, 3], value=[2.0, 50.0, 3.0], rep_ids=["R-0", "R-1"])
    assert reasons(problem, [fa.ValueBand(lower=[0, 10])]) == [
        "rep 'R-1' must receive lead value of at least 10 but its eligible leads are worth 5 in all"]


def test_fair_share_with_a_starved_rep() -> None:
    score = np.array([[1.0, np.nan], [1.0, np.nan]])
    problem = fa.Problem(score=score, capacity=[1, 1], value=[3.0, 4.0], rep_ids=["R-0", "R-1"])
    assert reasons(problem, [fa.FairShare(0.1), fa.AssignAll()]) == [
        "capacity 1 < 2 leads that must be assigned",
        "FairShare(0.1) gives rep 'R-1' a positive share of the value, but no eligible lead of positive value, "
        "while leads that must be assigned carry value 7"]
    problem = fa.Problem(score=score, capacity=[2, 1], value=[3.0, 4.0], rep_ids=["R-0", "R-1"])
    assert reasons(problem, [fa.FairShare(0.1), fa.AssignAll()]) == [
        "FairShare(0.1) gives rep 'R-1' a positive share of the value, but no eligible lead of positive value, "
        "while leads that must be assigned carry value 7"]
    # tolerance 1 lets a rep receive nothing, so no contradiction
    assert reasons(problem, [fa.FairShare(1.0), fa.AssignAll()]) == []


def test_conflicts_from_binding_come_first() -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[2, 2])
    found = reasons(problem, [fa.CountBand(lower=2), fa.CountBand(upper=1)])
    assert found[:2] == ["CountBands combine to an empty band for rep 0: lower 2 > upper 1",
                         "CountBands combine to an empty band for rep 1: lower 2 > upper 1"]


def test_solve_reports_the_diagnosis_as_a_status() -> None:
    problem = fa.Problem(score=np.ones((200, 2)), capacity=[90, 90])
    result = fa.solve(problem, [fa.AssignAll()])
    assert result.status is fa.Status.INFEASIBLE
    assert result.diagnosis == ("capacity 180 < 200 leads that must be assigned",)
    assert (result.rep_of == -1).all() and result.n_assigned == 0
    assert result.bound is None and result.gap is None
    with pytest.raises(fa.InfeasibleError, match="the rules admit no assignment: capacity 180 < 200 leads"):
        result.raise_for_status()
