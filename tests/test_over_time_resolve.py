"""Re-solving with churn: the penalty, the move cap, pins, bounds against brute force, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fairassign as fa
from fairassign.over_time import Resolution, moves_between, resolve
from oracle import STRICT_RTOL, VERIFY_RTOL, enumerate_assignments, feasible_mask
from strategies import constraint_lists, problems, seeds

slow = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def owned_batch() -> fa.Problem:
    # lead 0 scores more with bob, lead 1 with ann; both start with ann
    return fa.Problem(score=[[1.0, 1.5], [2.0, 1.0], [0.5, 0.4]], capacity=[3, 3],
                      lead_ids=["a", "b", "c"], rep_ids=["ann", "bob"])


def test_a_move_must_gain_more_than_the_penalty() -> None:
    problem = owned_batch()
    stay = resolve(problem, [fa.AssignAll()], current=[0, 0, -1], churn_penalty=0.5)
    assert isinstance(stay, Resolution) and isinstance(stay, fa.Result)
    assert stay.rep_of.tolist() == [0, 0, 0] and stay.moves == 0 and stay.kept == 2
    assert stay.objective == pytest.approx(3.5)  # the true score, no bonus in it
    assert stay.penalized_objective == pytest.approx(3.5 + 2 * 0.5)
    assert stay.status is fa.Status.OPTIMAL and stay.bound == pytest.approx(stay.objective)
    move = resolve(problem, [fa.AssignAll()], current=[0, 0, -1], churn_penalty=0.4)
    assert move.rep_of.tolist() == [1, 0, 0] and move.moves == 1 and move.kept == 1
    assert move.objective == pytest.approx(4.0)
    assert move.moved.tolist() == [True, False, False]
    assert "moves      1" in move.summary()


def test_current_by_id_and_a_lead_without_owner() -> None:
    problem = owned_batch()
    result = resolve(problem, [], current={"a": "ann", "b": None}, churn_penalty=10.0)
    assert result.current.tolist() == [0, -1, -1]
    assert result.rep_of[0] == 0 and result.moves == 0


def test_pinned_leads_never_move() -> None:
    problem = owned_batch()
    pin = fa.Pin([("a", "ann")])
    result = resolve(problem, [pin], current=[0, 0, 0], churn_penalty=0.0)
    assert result.rep_of[0] == 0  # bob would score more, but the pin holds
    # a pin away from the current owner forces that move, and it counts
    forced = resolve(problem, [fa.Pin([("b", "bob")])], current=[0, 0, 0], churn_penalty=100.0)
    assert forced.rep_of[1] == 1 and forced.moves == 1


def test_a_current_pair_that_is_no_longer_eligible_must_move() -> None:
    problem = fa.Problem(score=[[np.nan, 1.0], [1.0, 1.0]], capacity=[2, 2])
    result = resolve(problem, [fa.AssignAll()], current=[0, 0], churn_penalty=5.0)
    assert result.rep_of.tolist() == [1, 0] and result.moves == 1
    infeasible = resolve(problem, [fa.AssignAll()], current=[0, 0], churn_penalty=5.0, max_moves=0)
    assert infeasible.status is fa.Status.INFEASIBLE
    assert "max_moves=0 cannot be kept: 1 owned leads must move" in infeasible.diagnosis[0]
    assert (infeasible.rep_of == -1).all()


def test_max_moves_caps_the_moves_and_reports_a_lagrangian_bound() -> None:
    rng = np.random.default_rng(7)
    score = rng.uniform(0, 1, size=(12, 3))
    problem = fa.Problem(score=score, capacity=[12, 12, 12])
    current = np.zeros(12, np.int64)  # everyone on rep 0, most would rather move
    # with room for 6 on rep 0, at least 6 leads must move: a cap of 3 cannot hold
    tight = fa.Problem(score=score, capacity=[6, 6, 6])
    refused = resolve(tight, [fa.AssignAll()], current=current, churn_penalty=0.0, max_moves=3, solver="cpsat")
    assert refused.status is fa.Status.INFEASIBLE
    assert refused.diagnosis == ("max_moves=3 cannot be kept: every rule-keeping assignment moves at least 6 of the "
                                 "12 owned leads",)
    free = resolve(problem, [fa.AssignAll()], current=current, churn_penalty=0.0)
    assert free.moves > 3
    capped = resolve(problem, [fa.AssignAll()], current=current, churn_penalty=0.0, max_moves=3, solver="cpsat")
    assert capped.status.has_solution and capped.moves <= 3 and capped.max_moves == 3
    assert capped.penalty > 0.0 and capped.objective <= free.objective + 1e-9
    assert capped.penalized_bound is not None
    assert capped.penalized_bound >= capped.penalized_objective - 1e-9
    # the best cap-keeping answer: the 3 largest gains (brute force over moves here is easy)
    gains = np.sort(score.max(axis=1) - score[:, 0])[::-1]
    best = score[:, 0].sum() + gains[:3].sum()
    assert capped.objective == pytest.approx(best, abs=1e-6)
    assert capped.penalized_bound >= best - 1e-6


def test_max_moves_of_zero_keeps_everything_that_can_stay() -> None:
    problem = owned_batch()
    result = resolve(problem, [fa.AssignAll()], current=[0, 0, 1], churn_penalty=0.0, max_moves=0)
    assert result.rep_of.tolist() == [0, 0, 1] and result.moves == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"current": [0, 0]}, r"current must be a \{lead_id: rep_id\} mapping or hold one rep position per lead "
                          r"\(shape \(3,\)\), got shape \(2,\)"),
    ({"current": {"zz": "ann"}}, "current names lead id 'zz', which is not in problem.lead_ids"),
    ({"current": {"a": "zed"}}, "current gives lead 'a' to rep id 'zed', which is not in problem.rep_ids"),
    ({"current": [0, 5, -1]}, r"rep positions in \[-1, 1\]; lead 'b' has 5"),
    ({"current": [0.0, 1.0, -1.0]}, "integer rep positions"),
    ({"current": None}, "current must be given"),
    ({"churn_penalty": -1.0}, "churn_penalty must be a finite number >= 0, got -1.0"),
    ({"churn_penalty": float("nan")}, "churn_penalty must be a finite number >= 0"),
    ({"churn_penalty": "high"}, "churn_penalty must be a finite number >= 0"),
    ({"max_moves": -1}, "max_moves must be a non-negative integer or None, got -1"),
    ({"max_moves": 1.5}, "max_moves must be a non-negative integer"),
])
def test_bad_input_is_named(kwargs: dict, message: str) -> None:
    arguments = {"current": [0, 0, -1], "churn_penalty": 1.0, **kwargs}
    with pytest.raises(fa.ValidationError, match=message):
        resolve(owned_batch(), [], **arguments)


def test_bad_rules_and_problem_are_named() -> None:
    with pytest.raises(fa.ValidationError, match=r"problem must be a fairassign\.Problem"):
        resolve("batch", [], current=[0], churn_penalty=1.0)  # type: ignore[arg-type]
    with pytest.raises(fa.ValidationError, match="Pin names lead id 'q'"):
        resolve(owned_batch(), [fa.Pin([("q", "ann")])], current=[0, 0, 0], churn_penalty=1.0)


# ----------------------------------------------------------------------------- properties
@st.composite
def resolve_cases(draw: st.DrawFn) -> tuple[fa.Problem, tuple[fa.Constraint, ...], np.ndarray]:
    problem, _ = draw(problems(max_leads=5, max_reps=3))
    rules = draw(constraint_lists(problem))
    rng = np.random.default_rng(draw(seeds))
    current = np.full(problem.n_leads, -1, np.int64)
    for lead in range(problem.n_leads):  # an owner among the candidates, or none
        start, stop = problem.lead_start[lead], problem.lead_start[lead + 1]
        if stop > start and rng.random() < 0.8:
            current[lead] = problem.pair_rep[rng.integers(start, stop)]
    return problem, rules, current


def all_assignments(problem: fa.Problem, rules: tuple, rtol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rep_of, pair = enumerate_assignments(problem)
    ok = feasible_mask(problem, rep_of, pair, rules, rtol)
    score = np.where(pair >= 0, problem.pair_score[np.maximum(pair, 0)] if problem.n_pairs else 0.0, 0.0).sum(axis=1)
    return rep_of[ok], score[ok], (pair[ok] >= 0).sum(axis=1)


@slow
@given(case=resolve_cases(), objective=st.sampled_from(["lexicographic", "score"]))
def test_an_enormous_penalty_moves_nothing_when_the_current_assignment_keeps_the_rules(case: tuple,
                                                                                      objective: str) -> None:
    problem, rules, current = case
    assume(fa.verify(problem, current, rules) == [])
    if objective == "lexicographic":  # the most leads come first: only when current has as many
        best = fa.solve(problem, rules, solver="cpsat")
        assume(best.status is fa.Status.OPTIMAL and best.n_assigned == int((current >= 0).sum()))
    result = resolve(problem, rules, current=current, churn_penalty=1e9, objective=objective, solver="cpsat")
    assert result.status.has_solution, result.summary()
    assert result.moves == 0
    owned = current >= 0
    np.testing.assert_array_equal(result.rep_of[owned], current[owned])


@slow
@given(case=resolve_cases(), cap=st.integers(0, 3), churn=st.sampled_from([0.0, 0.1, 1.0]),
       objective=st.sampled_from(["lexicographic", "score"]))
def test_max_moves_is_always_respected_and_infeasible_only_when_brute_force_agrees(
        case: tuple, cap: int, churn: float, objective: str) -> None:
    problem, rules, current = case
    result = resolve(problem, rules, current=current, churn_penalty=churn, max_moves=cap, objective=objective,
                     solver="cpsat")
    assert result.status is not fa.Status.INVALID, result.summary()
    strict_rep_of, strict_score, strict_count = all_assignments(problem, rules, STRICT_RTOL)
    loose_rep_of, loose_score, _ = all_assignments(problem, rules, VERIFY_RTOL)
    strict_moves = ((current >= 0) & (strict_rep_of != current)).sum(axis=1)
    loose_moves = ((current >= 0) & (loose_rep_of != current)).sum(axis=1)
    if result.status.has_solution:
        assert result.moves == moves_between(current, result.rep_of) <= cap
        assert fa.verify(problem, result, rules) == []
        assert (loose_moves <= cap).any()
        tol = 1e-6 * max(1.0, float(np.abs(problem.pair_score).sum()))
        kept = int((current >= 0).sum()) - result.moves
        assert result.penalized_objective == pytest.approx(result.objective + churn * kept)
        within = loose_moves <= cap
        if result.penalized_bound is not None:
            candidates = strict_moves <= cap
            if objective == "lexicographic":
                candidates &= strict_count >= result.n_assigned
            penalized = strict_score + churn * (int((current >= 0).sum()) - strict_moves)
            if candidates.any():
                assert result.penalized_bound >= penalized[candidates].max() - tol
        if result.bound is not None:
            candidates = strict_moves <= result.moves
            if objective == "lexicographic":
                candidates &= strict_count >= result.n_assigned
            if candidates.any():
                assert result.bound >= strict_score[candidates].max() - tol
        assert result.objective <= loose_score[within].max() + tol
    else:
        assert result.status is fa.Status.INFEASIBLE, result.summary()
        assert not (strict_moves <= cap).any(), result.summary()


@slow
@given(case=resolve_cases(), churn=st.sampled_from([0.0, 0.3, 1.0, 5.0]))
def test_without_a_cap_the_penalised_objective_is_optimal(case: tuple, churn: float) -> None:
    problem, rules, current = case
    result = resolve(problem, rules, current=current, churn_penalty=churn, solver="cpsat")
    rep_of, score, count = all_assignments(problem, rules, STRICT_RTOL)
    if not rep_of.shape[0]:
        return
    assert result.status is fa.Status.OPTIMAL, result.summary()
    kept = ((current >= 0) & (rep_of == current)).sum(axis=1)
    penalized = score + churn * kept
    best_count = count.max()
    tol = 1e-6 * max(1.0, float(np.abs(problem.pair_score).sum()) + churn * problem.n_leads)
    assert result.n_assigned == best_count
    assert result.penalized_objective >= penalized[count == best_count].max() - tol
    assert result.bound is not None and result.bound >= result.objective - 1e-9
