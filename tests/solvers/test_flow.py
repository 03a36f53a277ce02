"""Backend "flow": exactness against brute force and the LP, rounding, infeasibility, limits.

The conformance suite (``test_conformance.py``) runs the shared properties on this backend
too; here are the properties specific to min-cost flow: integer scaling and its bound, the
must-assign paths (pins placed first, supplies at must-assign leads, the maximum flow of the
mixed case), the Hall-type diagnosis, and the reasons it declines a batch.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.linear import build_linear_model, solve_lp
from fairassign.rules import bind
from fairassign.solvers.base import SolveRequest
from fairassign.solvers.flow import FlowSolver, cost_limit, integer_costs
from oracle import brute_force, enumerate_assignments
from strategies import Case, cases

OBJECTIVES = ("lexicographic", "score")


def flow(problem: fa.Problem, constraints: tuple[fa.Constraint, ...] = (), *,
         objective: str = "lexicographic") -> fa.Result:
    return fa.solve(problem, constraints, solver="flow", objective=objective)


def check_against_brute_force(problem: fa.Problem, constraints: tuple[fa.Constraint, ...], objective: str) -> None:
    """OPTIMAL with the brute-force optimum inside [objective, bound], or INFEASIBLE with reasons."""
    oracle = brute_force(problem, constraints)
    result = flow(problem, constraints, objective=objective)
    if not oracle.feasible:
        assert result.status is fa.Status.INFEASIBLE, result.summary()
        assert result.diagnosis and all(isinstance(line, str) and line for line in result.diagnosis)
        return
    assert result.status is fa.Status.OPTIMAL, result.summary()
    assert result.violations == ()
    best = oracle.score if objective == "lexicographic" else oracle.best_score
    if objective == "lexicographic":
        assert result.n_assigned == oracle.count
    assert result.bound is not None
    slack = 1e-9 * max(1.0, float(np.abs(problem.pair_score).sum()))
    assert result.objective <= best + slack
    assert best <= result.bound + slack
    # tiny batches leave room for a fine scale, so the rounding is far below any score gap
    assert result.objective == pytest.approx(best, abs=slack)


# --------------------------------------------------------------------- brute force, fixed seeds
def random_tiny(rng: np.random.Generator) -> tuple[fa.Problem, tuple[fa.Constraint, ...]]:
    """Up to 6 leads x 3 reps with holes, capacity, count caps, pins, forbids, AssignAll."""
    n_leads, n_reps = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    score = np.round(rng.normal(size=(n_leads, n_reps)), 2)
    score[rng.random(score.shape) < 0.3] = np.nan
    capacity = rng.integers(0, 4, size=n_reps).astype(float)
    if rng.random() < 0.2:
        capacity[0] = np.inf
    ids = [f"L-{i}" for i in range(n_leads)], [f"R-{r}" for r in range(n_reps)]
    problem = fa.Problem(score=score, capacity=capacity, lead_ids=ids[0], rep_ids=ids[1])
    rules: list[fa.Constraint] = []
    if rng.random() < 0.4:
        rules.append(fa.CountBand(upper=rng.integers(0, 4, size=n_reps).astype(float)))
    if rng.random() < 0.3 and problem.n_pairs:
        pair = int(rng.integers(problem.n_pairs))
        rules.append(fa.Pin([(ids[0][problem.pair_lead[pair]], ids[1][problem.pair_rep[pair]])]))
    if rng.random() < 0.3:
        rules.append(fa.Forbid([(ids[0][int(rng.integers(n_leads))], ids[1][int(rng.integers(n_reps))])]))
    if rng.random() < 0.3:
        rules.append(fa.AssignAll())
    return problem, tuple(rules)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_matches_brute_force_on_seeded_tiny_batches(objective: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(150):
        problem, constraints = random_tiny(rng)
        check_against_brute_force(problem, constraints, objective)


@given(case=cases(capacity_only=True), objective=st.sampled_from(OBJECTIVES))
def test_matches_brute_force_property(case: Case, objective: str) -> None:
    check_against_brute_force(case.problem, case.constraints, objective)


@given(case=cases(capacity_only=True), objective=st.sampled_from(OBJECTIVES))
def test_same_input_same_answer(case: Case, objective: str) -> None:
    first = flow(case.problem, case.constraints, objective=objective)
    second = flow(case.problem, case.constraints, objective=objective)
    assert first.status is second.status
    np.testing.assert_array_equal(first.rep_of, second.rep_of)
    assert first.bound == second.bound


def test_mixed_must_assign_leads_under_lexicographic_match_brute_force() -> None:
    """Some leads must be assigned and have several reps, others need not: the maximum-flow path.

    No public rule makes that mix today (AssignAll marks every lead, a pin leaves one pair), so
    the rules are built by hand and the backend is called directly.
    """
    rng = np.random.default_rng(3)
    checked = mixed = 0
    for _ in range(300):
        n_leads, n_reps = int(rng.integers(2, 7)), int(rng.integers(1, 4))
        score = np.round(rng.normal(size=(n_leads, n_reps)), 3)
        score[rng.random(score.shape) < 0.25] = np.nan
        capacity = rng.integers(0, 3, size=n_reps).astype(float)
        problem = fa.Problem(score=score, capacity=capacity)
        must = rng.random(n_leads) < 0.4
        rules = dataclasses.replace(bind(problem, ()), must_assign=must)
        for objective in OBJECTIVES:
            output = FlowSolver().solve(problem, rules, SolveRequest(objective=objective))
            best = _brute_force_with_must(problem, must, objective)
            if best is None:
                assert output.status is fa.Status.INFEASIBLE and output.diagnosis
                continue
            checked += 1
            degree = np.bincount(problem.pair_lead, minlength=n_leads)
            several, some = np.any(must & (degree >= 2)), np.any(~must & (degree > 0))
            mixed += bool(objective == "lexicographic" and several and some)
            assert output.status is fa.Status.OPTIMAL
            rep_of = output.rep_of
            assert np.all(rep_of[must] >= 0)
            assert np.all(np.bincount(rep_of[rep_of >= 0], minlength=n_reps) <= capacity)
            assigned = np.flatnonzero(rep_of >= 0)
            assert np.all(np.isfinite(score[assigned, rep_of[assigned]]))
            total = float(score[assigned, rep_of[assigned]].sum())
            if objective == "lexicographic":
                assert assigned.size == best[0]
            assert total == pytest.approx(best[1], abs=1e-9)
            assert output.bound is not None and output.bound >= best[1] - 1e-9
    assert checked > 100 and mixed > 30


def _brute_force_with_must(problem: fa.Problem, must: np.ndarray, objective: str) -> tuple[int, float] | None:
    """(count, score) of the optimum with ``must`` leads assigned; None when there is none."""
    rep_of, pair = enumerate_assignments(problem)
    on_rep = rep_of[:, :, None] == np.arange(problem.n_reps)[None, None, :]
    ok = (on_rep.sum(axis=1) <= problem.capacity[None, :]).all(axis=1) & (rep_of[:, must] >= 0).all(axis=1)
    if not ok.any():
        return None
    count = (pair >= 0).sum(axis=1)[ok]
    pair_score = problem.pair_score[np.maximum(pair, 0)] if problem.n_pairs else np.zeros(pair.shape)
    total = np.where(pair >= 0, pair_score, 0.0).sum(axis=1)[ok]
    if objective == "score":
        return -1, float(total.max())
    most = int(count.max())
    return most, float(total[count == most].max())


# --------------------------------------------------------------------- objectives and must-assign
def test_score_objective_leaves_negative_leads_unless_they_must_be_assigned() -> None:
    problem = fa.Problem(score=[[2.0, -1.0], [-0.5, -3.0], [-2.0, 1.0]], capacity=[2, 2],
                         lead_ids=["a", "b", "c"])
    free = flow(problem, objective="score")
    assert free.rep_of.tolist() == [0, -1, 1]
    assert free.objective == 3.0
    forced = flow(problem, (fa.AssignAll(),), objective="score")
    assert forced.rep_of.tolist() == [0, 0, 1]
    assert forced.objective == 2.5
    lexicographic = flow(problem)
    assert lexicographic.n_assigned == 3 and lexicographic.objective == 2.5


def test_pinned_leads_are_placed_first_and_the_rest_optimised_around_them() -> None:
    problem = fa.Problem(score=[[5.0, 1.0], [4.0, 0.0], [3.0, 2.0]], capacity=[1, 2],
                         lead_ids=["a", "b", "c"], rep_ids=["x", "y"])
    result = flow(problem, (fa.Pin([("b", "x")]),))
    assert result.status is fa.Status.OPTIMAL and result.violations == ()
    assert result.rep_of.tolist() == [1, 0, 1]
    assert result.objective == 7.0
    assert "1 pinned or single-option lead placed first" in result.reason


def test_count_cap_and_forbid_bind() -> None:
    problem = fa.Problem(score=[[3.0, 2.0, 1.0]] * 4, capacity=[np.inf, 10, 10])
    result = flow(problem, (fa.CountBand(upper=[1, 2, 5]), fa.Forbid([(0, 1), (1, 1)])))
    assert result.status is fa.Status.OPTIMAL and result.violations == ()
    assert result.rep_count.tolist() == [1.0, 2.0, 1.0]
    assert result.objective == 3.0 + 2.0 + 2.0 + 1.0
    assert set(np.flatnonzero(result.rep_of == 1).tolist()) == {2, 3}


# --------------------------------------------------------------------- infeasibility, in words
def test_hall_violation_is_diagnosed_with_the_leads_and_their_full_reps() -> None:
    # Room suffices in total (6 >= 5), so the checks before solving pass; but leads a, b and c
    # may only go to reps X and Y, which have room for two of them.
    nan = np.nan
    score = np.array([[1.0, 2.0, nan, nan], [2.0, 1.0, nan, nan], [1.0, 1.0, nan, nan],
                      [nan, nan, 1.0, 1.0], [nan, nan, 1.0, 2.0]])
    problem = fa.Problem(score=score, capacity=[1, 1, 5, 5], lead_ids=["a", "b", "c", "d", "e"],
                         rep_ids=["X", "Y", "Z", "W"])
    result = flow(problem, (fa.AssignAll(),))
    assert result.status is fa.Status.INFEASIBLE
    assert result.rep_of.tolist() == [-1] * 5
    assert result.diagnosis == (
        "leads 'a', 'b', 'c' must be assigned, but the only reps 'X', 'Y' are eligible for them, with room for 2 "
        "of these 3 leads (capacity, count caps and pinned leads counted): at most 4 of the 5 leads that must be "
        "assigned fit",
    )
    with pytest.raises(fa.InfeasibleError, match="leads 'a', 'b', 'c' must be assigned"):
        result.raise_for_status()


def test_hall_violation_counts_pinned_leads_and_count_caps() -> None:
    # c is pinned to X, so it is placed first. X (count cap 2) then has room for one more lead
    # and Y (count cap 1) for one, but a, b and e need them.
    nan = np.nan
    score = np.array([[1.0, 1.0, nan, nan], [1.0, 1.0, nan, nan], [1.0, 1.0, 1.0, nan], [nan, nan, 1.0, 1.0],
                      [1.0, 1.0, nan, nan]])
    problem = fa.Problem(score=score, capacity=[5, 5, 5, 5], lead_ids=["a", "b", "c", "d", "e"],
                         rep_ids=["X", "Y", "Z", "W"])
    result = flow(problem, (fa.AssignAll(), fa.CountBand(upper=[2, 1, 5, 5]), fa.Pin([("c", "X")])))
    assert result.status is fa.Status.INFEASIBLE
    assert result.diagnosis == (
        "leads 'a', 'b', 'e' must be assigned, but the only reps 'X', 'Y' are eligible for them, with room for 2 "
        "of these 3 leads (capacity, count caps and pinned leads counted): at most 4 of the 5 leads that must be "
        "assigned fit",
    )


def test_too_many_pins_on_one_rep_are_diagnosed() -> None:
    problem = fa.Problem(score=np.ones((4, 2)), capacity=[2, 5], lead_ids=["a", "b", "c", "d"],
                         rep_ids=["X", "Y"])
    result = flow(problem, (fa.Pin([("a", "X"), ("b", "X"), ("c", "X")]),))
    assert result.status is fa.Status.INFEASIBLE
    assert result.diagnosis == (
        "leads 'a', 'b', 'c' must go to rep 'X' (pinned there, or it is their only eligible rep) but its "
        "capacity and count cap leave room for only 2",
    )


def test_backend_alone_names_a_must_assign_lead_without_eligible_rep() -> None:
    # fa.solve finds this before any backend runs; the backend must not rely on that.
    problem = fa.Problem(score=[[1.0, np.nan], [np.nan, np.nan]], capacity=[1, 1], lead_ids=["a", "b"])
    rules = bind(problem, (fa.AssignAll(),))
    output = FlowSolver().solve(problem, rules, SolveRequest())
    assert output.status is fa.Status.INFEASIBLE
    assert output.diagnosis == ("lead 'b' must be assigned but has no eligible rep",)


# --------------------------------------------------------------------- what flow declines
@pytest.mark.parametrize(("constraints", "effort", "phrase"), [
    ((fa.FairShare(0.1),), None, "FairShare binds"),
    ((fa.ValueBand(upper=3.0),), None, "a ValueBand binds"),
    ((fa.ValueBand(lower=1.0),), None, "a ValueBand binds"),
    ((fa.CountBand(lower=1),), None, "a CountBand sets a lower bound"),
    ((), [1.0, 2.0, 1.0], "effort is per lead, while a flow counts each lead as one unit"),
    ((), np.ones((3, 2)), "effort is per pair, while a flow counts each lead as one unit"),
])
def test_unsupported_says_why(constraints: tuple[fa.Constraint, ...], effort: object, phrase: str) -> None:
    problem = fa.Problem(score=np.ones((3, 2)), capacity=[2, 2], effort=effort)
    reason = FlowSolver().unsupported(problem, bind(problem, constraints))
    assert reason is not None
    assert reason.startswith("min-cost flow is exact only for capacity, count caps, eligibility, pins and "
                             "AssignAll with unit effort; here ")
    assert phrase in reason
    with pytest.raises(fa.ValidationError, match="cannot solve this batch"):
        flow(problem, constraints)


def test_supported_batches_have_no_reason() -> None:
    problem = fa.Problem(score=np.ones((3, 2)), capacity=[2, np.inf], effort=[1.0, 1.0, 1.0])
    constraints = (fa.AssignAll(), fa.CountBand(upper=2), fa.Pin([(0, 1)]), fa.Forbid([(1, 0)]))
    assert FlowSolver().unsupported(problem, bind(problem, constraints)) is None


# --------------------------------------------------------------------- integer costs and the bound
def test_integer_scores_are_exact() -> None:
    rng = np.random.default_rng(11)
    n_leads, n_reps = 2_000, 40
    score = rng.integers(-50, 1_000, size=(n_leads, n_reps)).astype(float)
    score[rng.random(score.shape) < 0.8] = np.nan
    problem = fa.Problem(score=score, capacity=rng.integers(0, 60, size=n_reps).astype(float))
    for objective in OBJECTIVES:
        result = flow(problem, objective=objective)
        assert result.status is fa.Status.OPTIMAL and result.violations == ()
        assert result.bound == result.objective
        assert result.gap == 0.0
        assert "integer scores, no rounding" in result.reason
    # the LP of a transportation problem is integral, so its value is the optimum itself
    lexicographic = flow(problem)
    model = build_linear_model(problem, bind(problem, ()))
    most = solve_lp(model, model.count)
    assert most.value == pytest.approx(lexicographic.n_assigned, abs=1e-6)
    best = solve_lp(model, model.score, min_assigned=lexicographic.n_assigned)
    assert best.value == pytest.approx(lexicographic.objective, abs=1e-6)


def test_integer_costs_choose_the_finest_power_of_two() -> None:
    score = np.array([0.1, -0.3, 2.75])
    for limit in (1_000, 2**20, 12_345_678):
        costs = integer_costs(score, limit)
        assert math.log2(costs.scale).is_integer()
        assert np.abs(costs.cost).max() <= limit
        assert 2 * costs.scale * np.abs(score).max() > limit  # twice the scale would not fit
        errors = score + costs.cost / costs.scale
        assert costs.max_error == pytest.approx(max(errors.max(), 0.0), abs=1e-18)
        assert costs.max_error <= 0.5 / costs.scale
    big_integers = np.array([3e9, -1.0])
    costs = integer_costs(big_integers, 2**20)
    assert costs.scale < 1.0 and np.abs(costs.cost).max() <= 2**20


def test_cost_limit_keeps_sums_inside_int64() -> None:
    for n_nodes in (1, 10, 1_000, 101_002, 1_002_002):
        nodes = n_nodes + 2
        safe, fine = cost_limit(n_nodes), cost_limit(n_nodes, guaranteed=False)
        assert 0 < safe <= fine <= 2**53
        assert 2 * nodes * nodes * safe < 2**63  # OR-Tools' no-overflow condition for potentials
        assert (nodes + 1) * fine < 2**63  # OR-Tools' own check on scaled costs
        assert nodes * fine < 2**63  # any assignment's total cost


def test_overflow_reported_by_or_tools_is_retried_at_the_guaranteed_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    import fairassign.solvers.flow as flow_module

    real = flow_module.cost_limit

    def too_fine(n_nodes: int, *, guaranteed: bool = True) -> int:
        return real(n_nodes) if guaranteed else 2**62  # fails OR-Tools' check on scaled costs

    monkeypatch.setattr(flow_module, "cost_limit", too_fine)
    problem = fa.Problem(score=[[0.3, 0.1], [0.2, 0.25]], capacity=[1, 1])
    result = flow(problem)
    assert result.status is fa.Status.OPTIMAL and result.violations == ()
    assert result.rep_of.tolist() == [0, 1]
    assert "OR-Tools reported a cost overflow at scale 2^63, so the scores were scaled down" in result.reason
    assert result.objective <= result.bound


def test_fractional_scores_within_the_reported_rounding() -> None:
    # Scores spanning 12 orders of magnitude leave a coarse scale (2^13 at 6 leads x 3 reps),
    # so the rounding is visible; the true optimum must still lie between objective and bound.
    rng = np.random.default_rng(5)
    for _ in range(40):
        score = np.round(rng.uniform(0.0, 1.0, size=(6, 3)), 6)
        score[rng.random(score.shape) < 0.2] = np.nan
        score[0, 0] = 1e12
        problem = fa.Problem(score=score, capacity=rng.integers(1, 4, size=3).astype(float))
        for objective in OBJECTIVES:
            result = flow(problem, objective=objective)
            oracle = brute_force(problem)
            best = oracle.score if objective == "lexicographic" else oracle.best_score
            assert result.status is fa.Status.OPTIMAL and result.violations == ()
            assert "rounded to integers" in result.reason
            assert result.bound is not None
            ulp = 1e-3  # float sums at 1e12 differ in the last place with the order of the terms
            assert result.objective <= best + ulp and best <= result.bound + ulp
            scale = integer_costs(problem.pair_score, cost_limit(problem.n_leads + problem.n_reps + 2)).scale
            assert scale <= 2**13
            # objective and bound are both within the rounding of the rounded optimum
            assert result.bound - result.objective <= 2 * result.n_assigned * 0.5 / scale + 1e-3


def test_large_sparse_batch_matches_the_lp() -> None:
    """50k leads x 500 reps x 10 candidates: the LP of the same model has the same value.

    The LP of a transportation problem has an integral optimum, so its value is the optimum.
    """
    rng = np.random.default_rng(2024)
    n_leads, n_reps, candidates = 50_000, 500, 10
    strata = (np.arange(candidates + 1) * n_reps) // candidates
    within = (rng.random((n_leads, candidates)) * np.diff(strata)[None, :]).astype(np.int64)
    reps = np.sort((rng.integers(0, n_reps, size=(n_leads, 1)) + strata[None, :-1] + within) % n_reps, axis=1)
    leads = np.repeat(np.arange(n_leads), candidates)
    value = rng.lognormal(size=n_leads)
    score = sp.csr_array((value[leads] * rng.uniform(0.5, 1.5, size=leads.size), (leads, reps.ravel())),
                         shape=(n_leads, n_reps))
    capacity = np.round(rng.uniform(0.5, 1.5, size=n_reps) * 0.9 * n_leads / n_reps)  # 10% short
    problem = fa.Problem(score=score, capacity=capacity, value=value)
    assert problem.n_pairs == n_leads * candidates

    # lexicographic: every rep is filled, so no assignment places more leads
    most = flow(problem)
    assert most.status is fa.Status.OPTIMAL and most.violations == ()
    assert most.n_assigned == int(np.minimum(capacity, np.bincount(reps.ravel(), minlength=n_reps)).sum())
    assert most.n_assigned < n_leads

    result = flow(problem, objective="score")
    assert result.status is fa.Status.OPTIMAL and result.violations == ()
    model = build_linear_model(problem, bind(problem, ()))
    lp = solve_lp(model, model.score)
    assert lp.status == "optimal" and lp.value is not None
    assert result.bound is not None and most.bound is not None
    rounding = result.bound - result.objective
    assert 0.0 <= rounding <= 1e-9 * result.objective
    lp_tolerance = 1e-7 * lp.value  # HiGHS' own optimality tolerance
    assert result.objective - lp_tolerance <= lp.value <= result.bound + lp_tolerance
    assert most.objective <= lp.value + lp_tolerance
