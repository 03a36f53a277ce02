"""Fairness over a period: FairShare(received=...), the ghost-lead reduction, and the verifier.

The period rule is checked against brute force with its own arithmetic here (the shared
oracle reads today's rule only): every assignment of a tiny batch is enumerated, the other
rules are evaluated by :func:`oracle.feasible_mask`, and the period fair share by the
formula of the issue, :math:`l_r (V + P) \\le V_r + P_r \\le h_r (V + P)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import fairassign as fa
from fairassign.over_time import solve_with_history, with_history
from fairassign.over_time.history import reduce_history
from oracle import STRICT_RTOL, VERIFY_RTOL, brute_force, enumerate_assignments, feasible_mask
from strategies import constraint_lists, problems, seeds

SCORE_RTOL = 1e-6


@dataclass
class PeriodOptimum:
    feasible: bool
    count: int
    score: float
    best_at_least: NDArray[np.float64]


def period_brute_force(problem: fa.Problem, constraints: tuple[fa.Constraint, ...], rtol: float) -> PeriodOptimum:
    rep_of, pair = enumerate_assignments(problem)
    plain = [rule for rule in constraints if not isinstance(rule, fa.FairShare)]
    ok = feasible_mask(problem, rep_of, pair, plain, rtol)
    chosen = pair >= 0
    on_rep = rep_of[:, :, None] == np.arange(problem.n_reps)[None, None, :]
    today = (on_rep * np.where(chosen, problem.value[None, :], 0.0)[:, :, None]).sum(axis=1)
    for rule in constraints:
        if isinstance(rule, fa.FairShare):
            weight = problem.capacity if rule.weight is None else np.asarray(rule.weight, float)
            prior = np.zeros(problem.n_reps) if rule.received is None else np.asarray(rule.received, float)
            held = today + prior[None, :]
            total = held.sum(axis=1, keepdims=True)
            share = weight / weight.sum()
            low, high = (1 - rule.tolerance) * share * total, (1 + rule.tolerance) * share * total
            slack = rtol * np.maximum(total, 1.0)
            ok &= ((held >= low - slack) & (held <= high + slack)).all(axis=1)
    count = chosen.sum(axis=1)
    score = np.where(chosen, problem.pair_score[np.maximum(pair, 0)] if problem.n_pairs else 0.0, 0.0).sum(axis=1)
    best_at_least = np.full(problem.n_leads + 1, -np.inf)
    for k in range(problem.n_leads + 1):
        if (ok & (count >= k)).any():
            best_at_least[k] = float(score[ok & (count >= k)].max())
    if not ok.any():
        return PeriodOptimum(False, 0, -np.inf, best_at_least)
    best_count = int(count[ok].max())
    return PeriodOptimum(True, best_count, float(score[ok & (count == best_count)].max()), best_at_least)


@st.composite
def period_cases(draw: st.DrawFn) -> tuple[fa.Problem, tuple[fa.Constraint, ...], NDArray[np.float64]]:
    problem, _ = draw(problems(max_leads=5, max_reps=3))
    rules = list(draw(constraint_lists(problem)))
    if not any(isinstance(rule, fa.FairShare) for rule in rules):
        weight = np.ones(problem.n_reps)
        rules.append(fa.FairShare(draw(st.sampled_from([0.0, 0.25, 0.5, 1.0])), weight=weight))
    rng = np.random.default_rng(draw(seeds))
    received = rng.choice(np.array([0.0, 0.5, 1.0, 2.5, 4.0, 1.0 / 3.0]), size=problem.n_reps)
    return problem, with_history(tuple(rules), received), received


slow = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.parametrize("solver", ["cpsat", "mip", "auto"])
@slow
@given(case=period_cases())
def test_period_rule_is_solved_exactly(solver: str, case: tuple) -> None:
    problem, constraints, _ = case
    result = fa.solve(problem, constraints, solver=solver)
    assert result.status is not fa.Status.INVALID, result.summary()
    loose = period_brute_force(problem, constraints, VERIFY_RTOL)
    strict = period_brute_force(problem, constraints, STRICT_RTOL)
    tol = SCORE_RTOL * max(1.0, float(np.abs(problem.pair_score).sum()))
    if not loose.feasible:
        assert result.status is fa.Status.INFEASIBLE, result.summary()
        return
    if strict.feasible:
        assert result.status is fa.Status.OPTIMAL, result.summary()
    if not result.status.has_solution:
        return
    assert fa.verify(problem, result, constraints) == []
    assert result.rep_of.shape == (problem.n_leads,)  # ghost rows dropped
    assert strict.count <= result.n_assigned <= loose.count
    assert result.objective <= loose.best_at_least[result.n_assigned] + tol
    if result.n_assigned == strict.count:
        assert result.objective >= strict.score - tol
    if result.bound is not None:
        assert result.bound >= strict.best_at_least[result.n_assigned] - tol


@slow
@given(case=period_cases())
def test_reduction_has_the_same_optimum_as_the_period_rule(case: tuple) -> None:
    problem, constraints, received = case
    reduced = reduce_history(problem, constraints, received)
    n_ghosts = reduced.ghost_rep.size
    assert reduced.problem.n_leads == problem.n_leads + n_ghosts
    assert not any(getattr(rule, "received", None) is not None for rule in reduced.constraints)
    ghost_answer = brute_force(reduced.problem, reduced.constraints, rtol=STRICT_RTOL)
    period = period_brute_force(problem, constraints, STRICT_RTOL)
    assert ghost_answer.feasible == period.feasible
    if period.feasible:
        assert ghost_answer.count - n_ghosts == period.count
        assert ghost_answer.score == pytest.approx(period.score, abs=1e-9)
        assert ghost_answer.rep_of is not None
        np.testing.assert_array_equal(ghost_answer.rep_of[problem.n_leads:], reduced.ghost_rep)


def two_reps() -> fa.Problem:
    return fa.Problem(score=[[3.0, 1.0], [2.0, 1.0]], capacity=[2, 2], value=[10.0, 10.0], rep_ids=["ann", "bob"])


def test_verify_flags_a_period_violation_the_daily_rule_misses() -> None:
    problem = two_reps()
    daily_fair = np.array([0, 1])  # 10 each today
    assert fa.verify(problem, daily_fair, [fa.FairShare(0.1)]) == []
    violations = fa.verify(problem, daily_fair, [fa.FairShare(0.1, received=[20.0, 0.0])])
    assert {v.subject for v in violations} == {"rep 'ann'", "rep 'bob'"}
    assert all(v.rule == "FairShare" for v in violations)
    ann = next(v for v in violations if v.subject == "rep 'ann'")
    # period: ann holds 30 of 40, target 20 +- 2, so 8 over
    assert ann.amount == pytest.approx(8.0)
    assert "over the period (20 of it earlier)" in ann.message


def test_verify_accepts_a_period_fair_answer_the_daily_rule_rejects() -> None:
    problem = two_reps()
    catch_up = np.array([0, 0])  # ann gets 20 today, bob had 20 earlier
    assert fa.verify(problem, catch_up, [fa.FairShare(0.1)]) != []
    assert fa.verify(problem, catch_up, [fa.FairShare(0.1, received=[0.0, 20.0])]) == []


def test_solve_keeps_the_period_rule_and_reports_the_true_score() -> None:
    problem = two_reps()
    daily = fa.solve(problem, [fa.FairShare(0.0)])
    assert daily.rep_of.tolist() == [0, 1] and daily.objective == 4.0
    period = solve_with_history(problem, [fa.FairShare(0.0)], received_value=[0.0, 20.0])
    assert period.status is fa.Status.OPTIMAL
    assert period.rep_of.tolist() == [0, 0] and period.objective == 5.0
    assert period.rep_value.tolist() == [20.0, 0.0]  # today's value, not the ghosts'
    assert period.problem is problem and period.n_assigned == 2
    assert "ghost" in period.reason
    fair = next(rule for rule in period.constraints if isinstance(rule, fa.FairShare))
    assert fair.received.tolist() == [0.0, 20.0]
    # replaying the recorded rules gives the same answer
    assert fa.solve(problem, period.constraints).rep_of.tolist() == [0, 0]


def test_solve_blocks_keeps_the_period_rule() -> None:
    score = np.array([[3.0, np.nan, np.nan], [np.nan, 2.0, np.nan], [np.nan, np.nan, 1.0], [4.0, 4.0, np.nan]])
    problem = fa.Problem(score=score, capacity=[3, 3, 3], value=[5.0, 5.0, 5.0, 5.0])
    rules = [fa.FairShare(0.2, weight=[1.0, 1.0, 1.0], received=[0.0, 10.0, 5.0])]
    whole = fa.solve(problem, rules, solver="cpsat")
    split = fa.solve_blocks(problem, rules, solver="cpsat")
    assert whole.status is fa.Status.OPTIMAL
    assert split.status.has_solution and fa.verify(problem, split, rules) == []
    assert split.objective == pytest.approx(whole.objective)


def test_count_and_value_bands_still_read_today() -> None:
    problem = fa.Problem(score=[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]], capacity=[3, 3], value=[1.0, 1.0, 1.0])
    rules = [fa.FairShare(10.0, weight=[1.0, 1.0]), fa.CountBand(upper=2), fa.ValueBand(upper=[3.0, 2.0])]
    result = solve_with_history(problem, rules, received_value=[4.0, 7.0])
    assert result.status is fa.Status.OPTIMAL
    # bob may take 2 leads today (not 2 minus a ghost), ann the third
    assert sorted(result.rep_of.tolist()) == [0, 1, 1]


def test_zero_received_is_todays_rule() -> None:
    problem = two_reps()
    assert solve_with_history(problem, [fa.FairShare(0.0)], [0.0, 0.0]).rep_of.tolist() == [0, 1]


def test_without_a_fair_share_history_changes_nothing() -> None:
    problem = two_reps()
    assert solve_with_history(problem, [fa.AssignAll()], [5.0, 0.0]).rep_of.tolist() == [0, 0]


def test_describe_mentions_the_period() -> None:
    assert "over the period" in fa.FairShare(0.1, received=[1.0, 2.0]).describe()
    assert "period" not in fa.FairShare(0.1).describe()


@pytest.mark.parametrize("received, words", [
    ([1.0, np.nan], "NaN"),
    ([1.0, -2.0], ">= 0"),
    ([1.0, np.inf], "finite"),
    ([[1.0, 2.0]], "1-D"),
    (5.0, "per-rep array"),
    ("lots", "number or a per-rep array"),
])
def test_bad_received_is_rejected(received: object, words: str) -> None:
    with pytest.raises(fa.ValidationError, match=r"FairShare\.received") as caught:
        fa.FairShare(0.1, received=received)
    assert words in str(caught.value)


def test_received_of_the_wrong_length_is_rejected_at_bind_and_by_verify() -> None:
    problem = two_reps()
    rule = fa.FairShare(0.1, received=[1.0, 2.0, 3.0])
    with pytest.raises(fa.ValidationError, match=r"received must have one entry per rep \(n_reps=2\)"):
        fa.solve(problem, [rule])
    with pytest.raises(fa.ValidationError, match="received must have one entry per rep"):
        fa.verify(problem, [0, 1], [rule])
    with pytest.raises(fa.ValidationError, match=r"received_value must have one entry per rep \(n_reps=2\)"):
        solve_with_history(problem, [fa.FairShare(0.1)], received_value=[1.0])


def test_fair_shares_with_different_histories_are_rejected() -> None:
    problem = two_reps()
    rules = [fa.FairShare(0.1, received=[1.0, 0.0]), fa.FairShare(0.2)]
    with pytest.raises(fa.ValidationError, match="same `received`"):
        fa.solve(problem, rules)
    with pytest.raises(fa.ValidationError, match="different `received`"):
        solve_with_history(problem, [fa.FairShare(0.1, received=[1.0, 0.0])], received_value=[2.0, 0.0])


def test_a_rep_with_prior_value_and_no_eligible_lead_is_not_diagnosed_infeasible() -> None:
    # today's diagnosis would call bob starved; over the period he already has his share
    problem = fa.Problem(score=[[1.0, np.nan], [1.0, np.nan]], capacity=[2, 2], value=[5.0, 5.0])
    assert fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.0)]).status is fa.Status.INFEASIBLE
    result = fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.0, received=[0.0, 10.0])])
    assert result.status is fa.Status.OPTIMAL and result.rep_of.tolist() == [0, 0]
