"""attainable_weights: fair-share weights a tiered team can actually receive."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairassign as fa
from fairassign.datasets import make_batch
from fairassign.errors import ValidationError
from fairassign.linear import build_linear_model, solve_lp
from fairassign.rules import bind
from fairassign.weights import attainable_weights

NAN = np.nan


def _lp_status(problem: fa.Problem, rules: list[fa.Constraint]) -> str:
    model = build_linear_model(problem, bind(problem, rules))
    return solve_lp(model, model.score).status


def _allocation_ok(problem: fa.Problem, weights: np.ndarray) -> None:
    assert weights.shape == (problem.n_reps,)
    assert np.all(weights >= 0)
    assert weights.sum() <= problem.value.sum() * (1 + 1e-9)


def test_two_tier_example_gives_each_rep_what_it_can_take() -> None:
    problem = fa.Problem(score=[[1.0, NAN], [1.0, NAN], [1.0, 1.0], [1.0, 1.0]],
                         capacity=[3, 2], value=[4.0, 4.0, 1.0, 1.0])
    weights = attainable_weights(problem)
    np.testing.assert_allclose(weights, [9.0, 1.0], rtol=1e-5)
    # capacity-weighted asks rep 1 for 4 of 10: it can reach 2, so all 4 leads cannot be assigned
    assert fa.solve(problem, [fa.FairShare(0.1)]).n_assigned < 4
    assert fa.solve(problem, [fa.FairShare(0.1, weight=weights)]).n_assigned == 4


def test_exactly_tight_capacity_converges_slowly_but_stays_feasible() -> None:
    # the only full allocation gives rep 0 none of the cheap leads: a boundary point
    problem = fa.Problem(score=[[1.0, NAN], [1.0, NAN], [1.0, 1.0], [1.0, 1.0]],
                         capacity=[2, 2], value=[4.0, 4.0, 1.0, 1.0])
    coarse, fine = attainable_weights(problem, max_iter=20), attainable_weights(problem, max_iter=2000)
    np.testing.assert_allclose(fine, [8.0, 2.0], rtol=2e-3)
    assert np.abs(fine - [8.0, 2.0]).max() < np.abs(coarse - [8.0, 2.0]).max()
    assert fa.solve(problem, [fa.FairShare(0.1, weight=attainable_weights(problem))]).n_assigned == 4


def test_capacity_weights_when_nothing_binds() -> None:
    rng = np.random.default_rng(3)
    capacity = np.array([10.0, 20.0, 30.0, 40.0])
    problem = fa.Problem(score=rng.random((40, 4)), capacity=capacity, value=np.full(40, 5.0))
    weights = attainable_weights(problem)
    np.testing.assert_allclose(weights / weights.sum(), capacity / capacity.sum(), rtol=1e-9)
    assert weights.sum() == pytest.approx(200.0)


def test_weights_ignore_scores() -> None:
    batch = make_batch(80, 8, seed=4)
    problem = batch.problem
    rescored = fa.Problem(score=np.where(np.isfinite(problem.dense_score()), 1.0, np.nan),
                          capacity=problem.capacity, value=problem.value)
    np.testing.assert_allclose(attainable_weights(problem), attainable_weights(rescored), rtol=1e-12)


def test_capacity_holds_and_no_candidate_means_zero() -> None:
    # rep 2 has no candidate; rep 0 could take every lead but holds 2
    problem = fa.Problem(score=[[1.0, 1.0, NAN], [1.0, NAN, NAN], [1.0, 1.0, NAN]],
                         capacity=[2, 5, 5], value=[3.0, 5.0, 7.0])
    weights = attainable_weights(problem)
    assert weights[2] == 0.0
    assert weights[0] <= 12.0 + 1e-9  # its capacity holds two leads, worth at most 7 + 5
    assert weights.sum() == pytest.approx(15.0, rel=1e-4)


def test_rules_shape_the_pools() -> None:
    problem = fa.Problem(score=np.ones((4, 2)), capacity=[4, 4], value=[1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(attainable_weights(problem), [5.0, 5.0])
    np.testing.assert_allclose(attainable_weights(problem, [fa.Pin([(3, 1)]), fa.Forbid([(0, 1)])]),
                               [1.0 + 2.5 + 0.0, 2.5 + 4.0])
    # a count cap of 1 lead on rep 0 leaves it a quarter of the value split evenly
    capped = attainable_weights(problem, [fa.CountBand(upper=[1, 4])])
    assert capped.sum() == pytest.approx(10.0)
    assert capped[0] == pytest.approx(2.5, rel=1e-4)
    value_capped = attainable_weights(problem, [fa.ValueBand(upper=[2.0, np.inf])])
    assert value_capped[0] == pytest.approx(2.0, rel=1e-4)


def test_infinite_capacity() -> None:
    problem = fa.Problem(score=[[1.0, 1.0], [1.0, NAN]], capacity=[np.inf, 1], value=[2.0, 6.0])
    weights = attainable_weights(problem)
    assert np.all(np.isfinite(weights))
    assert weights.sum() == pytest.approx(8.0)
    assert weights[0] >= 6.0


@pytest.mark.parametrize("seed", [0, 2])
def test_attainable_rule_keeps_every_lead_where_capacity_weights_cannot(seed: int) -> None:
    problem = make_batch(60, 10, seed=seed, value_sigma=0.8).problem
    weights = attainable_weights(problem)
    assert fa.solve(problem, [], time_limit=10).n_assigned == 60
    # proof that the capacity-weighted rule costs leads: its relaxation with every lead assigned is empty
    assert _lp_status(problem, [fa.AssignAll(), fa.FairShare(0.3)]) == "infeasible"
    # the attainable weights come from an allocation of every lead: feasible even at a tight band
    assert _lp_status(problem, [fa.AssignAll(), fa.FairShare(0.01, weight=weights)]) == "optimal"
    result = fa.solve(problem, [fa.FairShare(0.3, weight=weights)], time_limit=20, seed=0)
    assert result.status.name in ("OPTIMAL", "FEASIBLE")
    assert result.n_assigned == 60


def test_tier_effort_batch() -> None:
    problem = make_batch(90, 9, seed=1, tier_effort=True, rep_tier_mix=(0.3, 0.3, 0.4)).problem
    weights = attainable_weights(problem)
    _allocation_ok(problem, weights)
    assert _lp_status(problem, [fa.AssignAll(), fa.FairShare(0.01, weight=weights)]) == "optimal"
    result = fa.solve(problem, [fa.FairShare(0.5, weight=weights)], time_limit=20, seed=0)
    assert result.n_assigned == 90


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_leads=st.integers(1, 40), n_reps=st.integers(1, 6))
def test_invariants(seed: int, n_leads: int, n_reps: int) -> None:
    rng = np.random.default_rng(seed)
    score = np.where(rng.random((n_leads, n_reps)) < 0.6, rng.random((n_leads, n_reps)), np.nan)
    capacity = rng.integers(0, 8, n_reps).astype(float)
    value = rng.lognormal(0.0, 1.0, n_leads)
    problem = fa.Problem(score=score, capacity=capacity, value=value)
    weights = attainable_weights(problem)
    _allocation_ok(problem, weights)
    # a rep never receives more than the value of the leads its capacity holds
    dense = problem.dense_score()
    for rep in range(n_reps):
        reachable = np.sort(value[np.isfinite(dense[:, rep])])[::-1]
        assert weights[rep] <= reachable[: int(capacity[rep])].sum() * (1 + 1e-6) + 1e-9
    # deterministic, and relabelling reps permutes the weights
    np.testing.assert_array_equal(weights, attainable_weights(problem))
    order = rng.permutation(n_reps)
    np.testing.assert_allclose(attainable_weights(problem.permuted(rep_order=order)), weights[order],
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "lp"}, "method must be one of"),
    ({"max_iter": 0}, "max_iter must be an integer >= 1"),
    ({"max_iter": True}, "max_iter must be an integer >= 1"),
    ({"rtol": 0.0}, "rtol must be a number in"),
    ({"rtol": "x"}, "rtol must be a number in"),
])
def test_validation(kwargs: dict[str, object], message: str) -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[1, 1])
    with pytest.raises(ValidationError, match=message):
        attainable_weights(problem, **kwargs)  # type: ignore[arg-type]


def test_problem_and_rules_are_checked() -> None:
    with pytest.raises(ValidationError, match=r"problem must be a fairassign\.Problem"):
        attainable_weights(np.ones((2, 2)))  # type: ignore[arg-type]
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[1, 1])
    with pytest.raises(ValidationError, match=r"CountBand\.upper must be a scalar or have one entry per rep"):
        attainable_weights(problem, [fa.CountBand(upper=[1, 2, 3])])
