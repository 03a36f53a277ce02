"""Backend "lp-round": verifier-clean answers, valid bounds against brute force, statuses, determinism.

Called through :func:`fairassign.solve` (which runs the independent verifier and turns a
rule-breaking answer into INVALID) and, where the pre-solve diagnosis would answer first,
directly through :class:`LpRoundSolver` with the result wrapped by :func:`fairassign.solve.assemble`.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.rules import bind
from fairassign.solve import assemble
from fairassign.solvers.base import SolveRequest
from fairassign.solvers.lp_round import LpRoundSolver
from oracle import STRICT_RTOL, brute_force
from strategies import Case, cases

#: the bound comes from an LP solved to HiGHS' tolerances
BOUND_RTOL = 1e-6


def _direct(problem: fa.Problem, constraints: tuple[fa.Constraint, ...], objective: str = "lexicographic",
            seed: int = 0) -> fa.Result:
    rules = bind(problem, constraints)
    output = LpRoundSolver().solve(problem, rules, SolveRequest(objective=objective, seed=seed))  # type: ignore[arg-type]
    return assemble(problem, rules, output, "lp-round", "test", time.perf_counter())


def _slack(value: float) -> float:
    return BOUND_RTOL * max(abs(value), 1.0)


@given(case=cases(capacity_only=False), objective=st.sampled_from(["lexicographic", "score"]))
def test_answers_keep_rules_and_bounds_hold_against_brute_force(case: Case, objective: str) -> None:
    problem, constraints = case.problem, case.constraints
    if bind(problem, constraints).conflicts:
        return  # contradictory pins: the pre-solve diagnosis answers, not this backend
    result = _direct(problem, constraints, objective)
    oracle = brute_force(problem, constraints)
    strict = brute_force(problem, constraints, rtol=STRICT_RTOL)
    assert result.status is not fa.Status.INVALID, result.violations
    if result.status.has_solution:
        assert result.violations == ()
        assert oracle.feasible
        assert result.bound is not None
        assert result.objective <= result.bound + _slack(result.bound)
        if objective == "score":
            assert result.bound >= oracle.best_score - _slack(oracle.best_score)
            assert oracle.best_score >= result.objective - _slack(result.objective)
        else:
            best = float(oracle.best_at_least[result.n_assigned])
            assert result.bound >= best - _slack(best)
            assert result.n_assigned <= oracle.count
        if result.status is fa.Status.OPTIMAL:
            target = oracle.best_score if objective == "score" else float(oracle.best_at_least[result.n_assigned])
            assert result.objective >= target - _slack(target)
            if objective == "lexicographic":
                assert result.n_assigned == oracle.count
    else:
        # on a tiny batch repair searches exactly, so "nothing found" means nothing exists
        assert result.status in (fa.Status.INFEASIBLE, fa.Status.NO_SOLUTION)
        assert result.diagnosis
        assert not strict.feasible


@given(case=cases(capacity_only=False), seed=st.integers(0, 3))
def test_same_input_and_seed_give_the_same_answer(case: Case, seed: int) -> None:
    first = fa.solve(case.problem, case.constraints, solver="lp-round", seed=seed)
    second = fa.solve(case.problem, case.constraints, solver="lp-round", seed=seed)
    assert first.status is second.status
    np.testing.assert_array_equal(first.rep_of, second.rep_of)
    assert first.bound == second.bound


def _random_batch(n_leads: int, n_reps: int, candidates: int, seed: int) -> fa.Problem:
    """The benchmark recipe in small: lognormal values, score = value x uniform fit, slack 1.1."""
    rng = np.random.default_rng(seed)
    reps = np.array([np.sort(rng.choice(n_reps, size=candidates, replace=False)) for _ in range(n_leads)])
    leads = np.repeat(np.arange(n_leads), candidates)
    value = rng.lognormal(0.0, 1.0, size=n_leads)
    score = sp.csr_array((value[leads] * rng.uniform(0.5, 1.5, leads.size), (leads, reps.ravel())),
                         shape=(n_leads, n_reps))
    spread = rng.uniform(0.5, 1.5, size=n_reps)
    capacity = np.maximum(1.0, np.round(spread / spread.sum() * 1.1 * n_leads))
    return fa.Problem(score=score, capacity=capacity, value=value)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fair_share_batch_is_feasible_and_close_to_its_bound(seed: int) -> None:
    problem = _random_batch(400, 20, 8, seed)
    constraints = [fa.AssignAll(), fa.FairShare(0.10)]
    result = fa.solve(problem, constraints, solver="lp-round", seed=seed)
    assert result.status.has_solution, result.diagnosis
    assert result.violations == ()
    assert fa.verify(problem, result, constraints) == []
    assert result.n_assigned == problem.n_leads
    assert result.gap is not None and result.gap < 0.02


def test_lexicographic_bound_covers_every_assignment_with_as_many_leads() -> None:
    # rep 0 cannot take both leads; the best single-lead answers score 10, the two-lead one 5 + 1
    problem = fa.Problem(score=[[10.0, 1.0], [5.0, np.nan]], capacity=[1, 1])
    result = fa.solve(problem, [fa.CountBand(upper=1)], solver="lp-round")
    assert result.status is fa.Status.OPTIMAL
    assert result.rep_of.tolist() == [1, 0]
    assert result.bound == pytest.approx(6.0)
    scored = fa.solve(problem, [fa.CountBand(upper=1)], solver="lp-round", objective="score")
    assert scored.objective == pytest.approx(10.0)


def test_infeasible_lp_is_reported_with_a_diagnosis() -> None:
    problem = fa.Problem(score=[[1.0, 2.0], [2.0, 1.0], [1.0, 1.0]], capacity=[1, 1])
    result = _direct(problem, (fa.AssignAll(),))
    assert result.status is fa.Status.INFEASIBLE
    assert result.diagnosis[0].startswith("the LP relaxation is infeasible")
    assert "capacity" in result.diagnosis[0]


def test_integer_infeasibility_found_by_the_exact_repair_is_reported() -> None:
    # three leads of value 1, two reps with equal shares and a 10% tolerance: the LP gives each
    # rep 1.5, but no integer split lands within 1.5 +- 0.15
    problem = fa.Problem(score=np.ones((3, 2)), capacity=[3, 3])
    result = _direct(problem, (fa.AssignAll(), fa.FairShare(0.1)))
    assert result.status is fa.Status.INFEASIBLE
    assert "LP relaxation is feasible" in result.diagnosis[0]


def test_integral_lp_solution_is_optimal() -> None:
    problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1])
    result = fa.solve(problem, [fa.AssignAll(), fa.CountBand(lower=1)], solver="lp-round")
    assert result.status is fa.Status.OPTIMAL
    assert result.rep_of.tolist() == [0, 0, 1]  # 5 + 4 + 2.5
    assert result.gap == 0.0


@pytest.mark.parametrize("objective", ["lexicographic", "score"])
def test_without_highspy_the_full_lp_through_scipy_gives_the_same_guarantees(
        monkeypatch: pytest.MonkeyPatch, objective: str) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "highspy" else real(name, *a))
    problem = _random_batch(60, 6, 3, seed=4)
    constraints = [fa.FairShare(0.2), fa.CountBand(upper=12)]
    result = fa.solve(problem, constraints, solver="lp-round", objective=objective)
    assert result.status.has_solution, result.diagnosis
    assert result.violations == ()
    assert "scipy" in result.reason
    assert result.bound is not None and result.objective <= result.bound + _slack(result.bound)


def test_a_restricted_lp_without_room_is_not_taken_for_infeasibility():
    # Every lead's TOP_K best pairs go to reps 0-4, which hold 5 leads in all; the other
    # reps hold the rest. The LP over the best pairs alone is infeasible, the full one is not.
    from fairassign.solvers.lp_round import TOP_K

    n_leads, n_reps = 20, 10
    score = np.empty((n_leads, n_reps))
    score[:, :TOP_K] = 10.0 + np.arange(TOP_K)
    score[:, TOP_K:] = 1.0
    capacity = np.array([1.0] * TOP_K + [3.0] * (n_reps - TOP_K))
    problem = fa.Problem(score=score, capacity=capacity)
    result = fa.solve(problem, [fa.AssignAll()], solver="lp-round")
    assert result.status.has_solution, result.diagnosis
    assert result.n_assigned == n_leads and result.violations == ()


# ---------------------------------------------------------------- rounding inside the fair bands
def test_inside_fair_bands_cuts_the_tolerance_only_where_the_total_is_free() -> None:
    from fairassign.solvers.lp_round import FAIR_MARGIN, _inside_fair_bands

    problem = fa.Problem(score=[[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]], capacity=[2, 2], value=[1.0, 2.0, 3.0])
    inner = _inside_fair_bands(bind(problem, [fa.FairShare(0.2), fa.FairShare(0.4, weight=[1.0, 3.0])]))
    assert inner is not None
    assert [fair.tolerance for fair in inner.fair] == pytest.approx([0.2 * (1 - FAIR_MARGIN), 0.4 * (1 - FAIR_MARGIN)])
    np.testing.assert_array_equal(inner.fair[1].share, [0.25, 0.75])
    assert _inside_fair_bands(bind(problem, [fa.FairShare(0.2), fa.AssignAll()])) is None  # V is fixed
    assert _inside_fair_bands(bind(problem, [fa.FairShare(0.0)])) is None
    assert _inside_fair_bands(bind(problem, [fa.CountBand(upper=2)])) is None


def test_tiered_day_with_a_fair_share_is_rounded_inside_its_bands() -> None:
    # one day of a tiered team: rounding the rule's own LP left reps a hair below their bands and
    # the repair ended with the empty assignment (0 of 5.64M) at a 60 s limit
    from fairassign.datasets import make_batch

    day = make_batch(20_500, 50, seed=0, capacity_slack=0.8).problem
    leads = np.random.default_rng(7).permutation(20_500)[500:2_500]
    score = sp.csr_array((day.pair_score, (day.pair_lead, day.pair_rep)), shape=day.shape)[leads]
    problem = fa.Problem(score=score, capacity=np.maximum(1.0, np.floor(day.capacity * 2_000 / 20_500)),
                         value=day.value[leads])
    rule = fa.FairShare(0.10)
    result = fa.solve(problem, [rule], objective="score", solver="lp-round", seed=0)
    assert result.status is fa.Status.FEASIBLE
    assert fa.verify(problem, result.rep_of, [rule]) == []
    assert result.bound is not None and result.objective >= 0.97 * result.bound


def test_a_failed_rounding_inside_the_bands_is_tried_again_with_the_next_margin(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import fairassign.solvers.lp_round as lp_round_module

    margins: list[float] = []
    real_inside = lp_round_module._inside_fair_bands

    def recording(rules, margin=lp_round_module.FAIR_MARGIN):  # type: ignore[no-untyped-def]
        margins.append(margin)
        return real_inside(rules, margin)

    calls: list[int] = []
    real_repair = lp_round_module.repair_with_proof

    def first_fails(problem, rules, rep_of, request, priority=None):  # type: ignore[no-untyped-def]
        calls.append(len(calls))
        return (None, False) if len(calls) == 1 else real_repair(problem, rules, rep_of, request, priority)

    monkeypatch.setattr(lp_round_module, "_inside_fair_bands", recording)
    monkeypatch.setattr(lp_round_module, "repair_with_proof", first_fails)
    from fairassign.datasets import make_batch

    problem = make_batch(200, 8, seed=1, capacity_slack=0.8).problem
    rule = fa.FairShare(0.10)
    result = fa.solve(problem, [rule], objective="score", solver="lp-round", seed=0)
    # the first margin's repair failed, so a wider one was tried
    assert len(margins) == 2 and margins[0] == lp_round_module.FAIR_MARGIN < margins[1]
    assert f"{lp_round_module.FAIR_MARGIN:.0%} of the tolerance inside" not in result.reason
    assert result.status.has_solution and fa.verify(problem, result.rep_of, [rule]) == []
