"""Backend "cpsat": brute force on tiny batches, integer scaling and conservative rounding,
warm starts, time limits, determinism and infeasibility diagnoses.

Every answer comes from ``fa.solve(..., solver="cpsat")``, so the independent verifier has
checked it (``result.violations``) before any assertion here looks at it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given

import fairassign as fa
from oracle import STRICT_RTOL, VERIFY_RTOL, brute_force
from strategies import Case, cases

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from instances import random_problem

EFFORT_FORMS = ("unit", "lead", "pair")
OBJECTIVES = ("lexicographic", "score")
#: what the model rounds away, relative to the total |score| (scores scaled by ~2^40)
SCORE_RTOL = 1e-9
ROUNDED = "rounded conservatively"


def tolerance(problem: fa.Problem) -> float:
    return SCORE_RTOL * max(1.0, float(np.abs(problem.pair_score).sum()))


def decimal_problem(n_leads: int, n_reps: int, candidates: int, seed: int) -> fa.Problem:
    """The benchmark recipe with values rounded to cents, so the model stays exact."""
    base = random_problem(n_leads, n_reps, candidates, seed=seed)
    score = sp.csr_array((base.pair_score, (base.pair_lead, base.pair_rep)), shape=base.shape)
    return fa.Problem(score=score, capacity=base.capacity, value=np.round(base.value, 2))


def tiny_problem(seed: int, effort_form: str, *, n_leads: int = 6, n_reps: int = 3) -> fa.Problem:
    """A tiny batch with decimal data, which the model represents exactly."""
    rng = np.random.default_rng(seed)
    score = np.round(rng.normal(size=(n_leads, n_reps)), 3)
    score[rng.random((n_leads, n_reps)) < 0.2] = np.nan
    effort = None
    if effort_form == "lead":
        effort = rng.choice([0.5, 1.0, 1.5, 2.0, 0.7], size=n_leads)
    elif effort_form == "pair":
        effort = rng.choice([0.3, 0.5, 1.0, 1.2, 2.0], size=(n_leads, n_reps))
    capacity = rng.choice([0.0, 1.0, 1.5, 2.0, 3.0, 4.0], size=n_reps)
    value = rng.choice([0.5, 1.0, 2.0, 3.0, 0.1, 0.3], size=n_leads)
    return fa.Problem(score=score, capacity=capacity, effort=effort, value=value)


RULE_SETS: dict[str, tuple[fa.Constraint, ...]] = {
    "none": (),
    "assign-all": (fa.AssignAll(),),
    "count-band": (fa.CountBand(lower=1, upper=2),),
    "value-band": (fa.ValueBand(lower=0.5, upper=2.5),),
    "fair-share": (fa.FairShare(0.5, weight=np.array([1.0, 2.0, 1.0])),),
    "fair-exact-boundary": (fa.FairShare(0.0, weight=np.array([1.0, 1.0, 1.0])),),
    "pin-forbid": (fa.Pin([(0, 1)]), fa.Forbid([(1, 0), (2, 2)])),
    "everything": (fa.AssignAll(), fa.CountBand(upper=3), fa.FairShare(1.0, weight=np.array([1.0, 1.0, 2.0]))),
}


def check_against_oracle(problem: fa.Problem, constraints: tuple[fa.Constraint, ...], objective: str,
                         result: fa.Result) -> None:
    """The checks every brute-force comparison makes (see the module docstrings of oracle.py)."""
    assert result.violations == ()
    assert result.status is not fa.Status.INVALID
    strict = brute_force(problem, constraints, rtol=STRICT_RTOL)
    loose = brute_force(problem, constraints, rtol=VERIFY_RTOL)
    tol = tolerance(problem)
    if not loose.feasible:
        assert result.status in (fa.Status.INFEASIBLE, fa.Status.NO_SOLUTION)
        return
    if not result.status.has_solution:
        # Only conservative rounding may miss an assignment, and only one at a bound.
        assert ROUNDED in " ".join(result.diagnosis) or not strict.feasible
        return
    assert result.bound is not None and result.objective <= result.bound + tol
    if objective == "lexicographic":
        assert result.n_assigned <= loose.count
        if result.n_assigned == loose.count:
            assert result.objective <= loose.score + tol
        if strict.feasible:
            assert result.bound >= strict.best_at_least[result.n_assigned] - tol
    else:
        assert result.objective <= loose.best_score + tol
        if strict.feasible:
            assert result.bound >= strict.best_score - tol
    if ROUNDED in result.reason:
        return
    # The model is exact: the answer is the optimum of the rules, boundaries included.
    assert strict.feasible
    assert result.status is fa.Status.OPTIMAL
    if objective == "lexicographic":
        assert result.n_assigned == strict.count
        assert result.objective >= strict.score - tol
    else:
        assert result.objective >= strict.best_score - tol


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("effort_form", EFFORT_FORMS)
@pytest.mark.parametrize("rule_set", sorted(RULE_SETS))
def test_equals_brute_force(rule_set: str, effort_form: str, objective: str) -> None:
    constraints = RULE_SETS[rule_set]
    for seed in range(4):
        problem = tiny_problem(seed, effort_form)
        result = fa.solve(problem, constraints, solver="cpsat", objective=objective)
        assert ROUNDED not in result.reason  # decimal data is modelled exactly
        check_against_oracle(problem, constraints, objective, result)


@given(case=cases(capacity_only=False))
def test_property_against_brute_force(case: Case) -> None:
    for objective in OBJECTIVES:
        result = fa.solve(case.problem, case.constraints, solver="cpsat", objective=objective)
        check_against_oracle(case.problem, case.constraints, objective, result)


def test_lexicographic_takes_more_leads_than_score() -> None:
    # Lead 1 only scores below zero: the lexicographic order still assigns it.
    problem = fa.Problem(score=[[2.0, np.nan], [np.nan, -1.0]], capacity=[1, 1])
    lexicographic = fa.solve(problem, solver="cpsat")
    score_only = fa.solve(problem, solver="cpsat", objective="score")
    assert lexicographic.rep_of.tolist() == [0, 1] and lexicographic.objective == 1.0
    assert score_only.rep_of.tolist() == [0, -1] and score_only.objective == 2.0
    assert lexicographic.bound == pytest.approx(1.0) and score_only.bound == pytest.approx(2.0)


@pytest.mark.parametrize("seed", range(12))
def test_conservative_rounding_keeps_every_rule(seed: int) -> None:
    """Values, efforts and scores no power of two or small denominator represents exactly."""
    rng = np.random.default_rng(seed)
    n_leads, n_reps = 9, 3
    score = rng.uniform(0.0, 1.0, size=(n_leads, n_reps)) / 3.0
    value = rng.choice([1.0 / 3.0, 0.1, 2.0 / 3.0, 0.7], size=n_leads) * rng.uniform(0.9, 1.1, size=n_leads)
    effort = rng.uniform(0.2, 1.0, size=(n_leads, n_reps)) / 3.0
    capacity = np.full(n_reps, np.sum(effort) / n_reps / 2.5)
    problem = fa.Problem(score=score, capacity=capacity, effort=effort, value=value)
    constraints = (fa.FairShare(0.1, weight=np.array([1.0, 1.0, 1.0 / 3.0])), fa.ValueBand(upper=value.sum() / 2.5))
    # A time limit keeps the proof short; what is checked is that no answer breaks a rule.
    result = fa.solve(problem, constraints, solver="cpsat", time_limit=3.0)
    assert result.violations == ()
    assert ROUNDED in result.reason
    assert result.status in (fa.Status.FEASIBLE, fa.Status.NO_SOLUTION)  # never claims OPTIMAL then
    if result.status.has_solution:
        assert result.bound is not None and result.objective <= result.bound


def test_large_integer_values_stay_exact() -> None:
    # Values in the billions share a gcd of 1000: exact, so the boundary assignment is found.
    problem = fa.Problem(score=[[1.0, 2.0], [2.0, 1.0], [1.0, 1.0]], capacity=[3, 3],
                         value=[3e9, 3e9, 6e9])
    result = fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.0, weight=np.array([1.0, 1.0]))], solver="cpsat")
    assert result.status is fa.Status.OPTIMAL and ROUNDED not in result.reason
    assert sorted(result.rep_value.tolist()) == [6e9, 6e9]


def test_huge_scores_are_scaled_and_bounded() -> None:
    rng = np.random.default_rng(5)
    score = rng.uniform(1e14, 1e15, size=(8, 3))
    problem = fa.Problem(score=score, capacity=[3, 3, 2])
    result = fa.solve(problem, solver="cpsat")
    assert result.status is fa.Status.OPTIMAL and result.violations == ()
    assert "scores scaled by 2^" in result.reason
    oracle = brute_force(problem)
    assert result.objective == pytest.approx(oracle.score, rel=1e-12)
    assert result.bound is not None and result.bound >= oracle.score


def test_hint_is_accepted_and_kept() -> None:
    problem = decimal_problem(30, 5, candidates=3, seed=3)
    constraints = [fa.FairShare(0.3)]
    first = fa.solve(problem, constraints, solver="cpsat", seed=1)
    assert first.status is fa.Status.OPTIMAL
    again = fa.solve(problem, constraints, solver="cpsat", seed=1, hint=first)
    assert again.status is fa.Status.OPTIMAL and again.violations == ()
    assert again.objective == pytest.approx(first.objective, rel=1e-9)
    # A time limit too short for CP-SAT to do anything still returns the (rule-keeping) hint.
    short = fa.solve(problem, constraints, solver="cpsat", seed=1, hint=first.rep_of, time_limit=1e-6)
    assert short.status.has_solution and short.violations == ()
    assert short.objective >= first.objective - 1e-6


def test_time_limit_returns_a_gap() -> None:
    problem = random_problem(300, 20, candidates=8, seed=11)
    constraints = [fa.FairShare(0.02)]
    start = fa.solve(problem, constraints, solver="lp-round", seed=0)
    assert start.status.has_solution
    result = fa.solve(problem, constraints, solver="cpsat", time_limit=0.5, seed=0, hint=start)
    assert result.status in (fa.Status.OPTIMAL, fa.Status.FEASIBLE)
    assert result.violations == ()
    assert result.bound is not None and result.objective <= result.bound
    assert result.gap is not None and result.gap >= 0


def test_same_seed_same_assignment() -> None:
    # Integer scores with many ties, so that several assignments are optimal.
    rng = np.random.default_rng(2)
    score = rng.integers(0, 3, size=(40, 6)).astype(float)
    problem = fa.Problem(score=score, capacity=[8, 8, 8, 6, 6, 6], value=rng.integers(1, 4, size=40))
    constraints = [fa.AssignAll(), fa.FairShare(0.25)]
    first = fa.solve(problem, constraints, solver="cpsat", seed=7)
    second = fa.solve(problem, constraints, solver="cpsat", seed=7)
    assert first.status is fa.Status.OPTIMAL
    assert first.rep_of.tolist() == second.rep_of.tolist()


def test_infeasible_names_the_rule_families() -> None:
    # One lead that must go somewhere, and a fair share that allows no rep all of the value.
    problem = fa.Problem(score=[[1.0, 1.0]], capacity=[1, 1])
    result = fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.5)], solver="cpsat")
    assert result.status is fa.Status.INFEASIBLE
    (diagnosis,) = result.diagnosis
    assert diagnosis.startswith("CP-SAT proved the rules infeasible")
    # Every lead must be assigned, so the fair shares are taken on the known total of all leads.
    assert "FairShare (on the total of every lead)" in diagnosis and "capacity" not in diagnosis


def test_infeasible_count_band_and_must_assign() -> None:
    problem = fa.Problem(score=[[1.0, 1.0], [1.0, 1.0], [1.0, np.nan]], capacity=[3, 3])
    result = fa.solve(problem, [fa.Pin([(2, 0)]), fa.CountBand(upper=[0, 3])], solver="cpsat")
    assert result.status is fa.Status.INFEASIBLE
    (diagnosis,) = result.diagnosis
    assert "must-assign" in diagnosis and "CountBand" in diagnosis and "FairShare" not in diagnosis


def test_sparse_problem_with_pair_effort() -> None:
    leads = np.array([0, 0, 1, 2, 2, 3])
    reps = np.array([0, 1, 1, 0, 2, 2])
    score = sp.csr_array((np.array([3.0, 1.0, 2.0, 2.5, 0.5, 1.0]), (leads, reps)), shape=(4, 3))
    effort = sp.csr_array((np.array([2.0, 1.0, 1.0, 1.0, 1.0, 1.5]), (leads, reps)), shape=(4, 3))
    problem = fa.Problem(score=score, capacity=[2.0, 2.0, 2.0], effort=effort)
    result = fa.solve(problem, [fa.AssignAll()], solver="cpsat")
    check_against_oracle(problem, (fa.AssignAll(),), "lexicographic", result)
