"""The Lagrangian bound: never below the optimum (brute force), at any prices; close to the LP."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.linear import build_linear_model, solve_lp
from fairassign.rules import bind
from fairassign.solvers.dual_bound import (
    Multipliers,
    dual_bound,
    evaluate,
    minimise,
    pair_view,
    pairs_of_segments,
    sample_view,
)
from oracle import STRICT_RTOL, brute_force
from strategies import Case, cases, seeds

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from instances import random_problem

RTOL = 1e-6


def _slack(value: float) -> float:
    return RTOL * max(abs(value), 1.0)


def _random_prices(view_n_reps: int, n_fair: int, rng: np.random.Generator, scale: float) -> Multipliers:
    def draw() -> np.ndarray:
        # some rows at 0, the rest anywhere up to `scale`; negative draws must be projected away
        return np.where(rng.random(view_n_reps) < 0.3, 0.0, rng.uniform(-0.2, 1.0, view_n_reps) * scale)

    return Multipliers(draw(), draw(), draw(), draw(), draw(), tuple(draw() for _ in range(n_fair)),
                       tuple(draw() for _ in range(n_fair)), count=float(rng.uniform(-0.5, 2.0) * scale))


@given(case=cases(), seed=seeds, scale=st.sampled_from([0.0, 0.1, 1.0, 10.0]))
def test_any_prices_give_a_bound_on_every_count(case: Case, seed: int, scale: float) -> None:
    problem, constraints = case.problem, case.constraints
    rules = bind(problem, constraints)
    strict = brute_force(problem, constraints, rtol=STRICT_RTOL)
    view = pair_view(problem, rules)
    prices = _random_prices(problem.n_reps, len(rules.fair), np.random.default_rng(seed), scale)
    for k in range(problem.n_leads + 1):
        value = evaluate(view, prices, min_assigned=k).value
        best = float(strict.best_at_least[k])
        if np.isfinite(best):
            assert value >= best - _slack(best)


@given(case=cases(), k_share=st.floats(0.0, 1.0))
def test_minimised_bound_holds_against_brute_force(case: Case, k_share: float) -> None:
    problem, constraints = case.problem, case.constraints
    rules = bind(problem, constraints)
    strict = brute_force(problem, constraints, rtol=STRICT_RTOL)
    k = round(k_share * problem.n_leads)
    bound = dual_bound(problem, rules, min_assigned=k, iterations=40)
    best = float(strict.best_at_least[k])
    if np.isfinite(best):
        assert bound.value >= best - _slack(best)
    # with the optimum as Polyak's target the steps are the most aggressive; still a bound
    if strict.feasible:
        aimed = dual_bound(problem, rules, min_assigned=k, iterations=40,
                           target=best if np.isfinite(best) else None)
        if np.isfinite(best):
            assert aimed.value >= best - _slack(best)


def test_zero_prices_give_the_sum_of_each_leads_best_positive_pair() -> None:
    score = np.array([[3.0, -1.0], [-2.0, -0.5], [np.nan, 4.0]])
    problem = fa.Problem(score=score, capacity=[1, 1])
    view = pair_view(problem, bind(problem))
    point = evaluate(view, Multipliers.zeros(view))
    assert point.value == pytest.approx(7.0)
    assert sorted(view.pair[point.chosen].tolist()) == [0, 4]
    must = pair_view(problem, bind(problem, [fa.AssignAll()]))
    assert evaluate(must, Multipliers.zeros(must)).value == pytest.approx(6.5)  # lead 1 must take -0.5


def test_capacity_price_is_charged_per_unit_of_capacity() -> None:
    # one rep of capacity 1, two leads worth 5 and 3: L(lam) = lam + max(0, 5 - lam) + max(0, 3 - lam)
    problem = fa.Problem(score=[[5.0], [3.0]], capacity=[1])
    view = pair_view(problem, bind(problem))
    for lam, expected in ((0.0, 8.0), (2.0, 6.0), (3.0, 5.0), (4.0, 5.0), (6.0, 6.0)):
        prices = Multipliers.zeros(view)
        prices = Multipliers(np.array([lam]), *(getattr(prices, name) for name in (
            "count_upper", "count_lower", "value_upper", "value_lower", "fair_high", "fair_low")))
        assert evaluate(view, prices).value == pytest.approx(expected)
    assert dual_bound(problem, bind(problem), iterations=30, target=5.0).value == pytest.approx(5.0, abs=1e-9)


def test_a_lead_that_must_be_assigned_without_pairs_makes_the_bound_minus_infinity() -> None:
    problem = fa.Problem(score=[[1.0], [np.nan]], capacity=[1])
    assert dual_bound(problem, bind(problem, [fa.AssignAll()])).value == -np.inf


def test_infinite_rows_carry_no_price() -> None:
    problem = fa.Problem(score=[[2.0, 1.0]], capacity=[np.inf, 1.0])
    view = pair_view(problem, bind(problem))
    prices = Multipliers.zeros(view)
    prices = Multipliers(np.array([5.0, 0.0]), prices.count_upper, prices.count_lower, prices.value_upper,
                         prices.value_lower, (), ())
    assert evaluate(view, prices).value == pytest.approx(2.0)


@pytest.mark.parametrize("slack", [0.9, 1.1])
def test_close_to_the_lp_value_after_some_steps(slack: float) -> None:
    problem = random_problem(2000, 40, 5, seed=3, slack=slack)
    rules = bind(problem)
    model = build_linear_model(problem, rules)
    lp = solve_lp(model, model.score)
    assert lp.value is not None
    bound = dual_bound(problem, rules, iterations=80, target=0.999 * lp.value)
    assert bound.value >= lp.value - _slack(lp.value)  # every Lagrangian value is >= the LP value
    assert bound.value <= 1.005 * lp.value


def test_fair_share_prices_tighten_the_bound() -> None:
    problem = random_problem(600, 12, 4, seed=5, slack=1.3)
    rules = bind(problem, [fa.FairShare(0.05)])
    model = build_linear_model(problem, rules)
    lp = solve_lp(model, model.score)
    assert lp.value is not None
    capacity_only = dual_bound(problem, bind(problem), iterations=60).value
    with_fair = dual_bound(problem, rules, iterations=60).value
    assert with_fair >= lp.value - _slack(lp.value)
    assert with_fair <= capacity_only + _slack(capacity_only)


def test_sample_view_keeps_whole_leads_and_scales_limits() -> None:
    problem = random_problem(500, 10, 3, seed=1)
    view = pair_view(problem, bind(problem, [fa.CountBand(lower=5, upper=60)]))
    sample = sample_view(view, 0.2, seed=4)
    assert sample.segment_lead.size == 100
    assert np.all(np.diff(sample.segment_lead) > 0)
    np.testing.assert_allclose(sample.capacity, view.capacity * 0.2)
    np.testing.assert_allclose(sample.count_lower, view.count_lower * 0.2)
    pairs = pairs_of_segments(view, np.searchsorted(view.segment_lead, sample.segment_lead))
    np.testing.assert_array_equal(sample.pair, view.pair[pairs])
    np.testing.assert_array_equal(np.diff(sample.segment_start), view.segment_length[
        np.searchsorted(view.segment_lead, sample.segment_lead)])
    again = sample_view(view, 0.2, seed=4)
    np.testing.assert_array_equal(sample.pair, again.pair)


def test_minimise_starting_point_is_never_lost() -> None:
    problem = random_problem(1000, 20, 4, seed=9, slack=0.9)
    view = pair_view(problem, bind(problem))
    first = minimise(view, iterations=30, target=None)
    again = minimise(view, start=first.multipliers, iterations=5, target=None)
    assert again.value <= first.value + _slack(first.value)
