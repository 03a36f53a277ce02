"""Column generation gives the full LP's value and optimal row duals (the full LP through scipy is the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairassign as fa
from fairassign.column_generation import TOP_K, ColumnGeneration
from fairassign.linear import LinearModel, build_linear_model, solve_lp
from fairassign.router import _elastic_fair, _linprog, _solve_lp
from fairassign.rules import bind

pytest.importorskip("highspy")


def _batch(seed: int, n_leads: int, n_reps: int) -> fa.Problem:
    rng = np.random.default_rng(seed)
    score = rng.uniform(0.5, 3.0, size=(n_leads, n_reps))
    score[rng.random((n_leads, n_reps)) < 0.3] = np.nan
    score[np.isnan(score).all(axis=1), 0] = 1.0
    capacity = rng.integers(1, max(2, 2 * n_leads // n_reps), n_reps).astype(float)
    return fa.Problem(score=score, capacity=capacity, value=rng.lognormal(0.0, 1.0, n_leads),
                      effort=rng.integers(1, 3, n_leads).astype(float))


def _lagrangian(model: LinearModel, lower: np.ndarray, upper: np.ndarray, dual: np.ndarray) -> float:
    """The dual function at ``dual`` (maximisation form): the LP value exactly when ``dual`` is optimal."""
    rows = np.where(dual > 0, dual * np.where(np.isfinite(upper), upper, 0.0),
                    dual * np.where(np.isfinite(lower), lower, 0.0))
    reduced = model.score - model.matrix.T @ dual
    columns = reduced[reduced > 0] * model.var_upper[reduced > 0]
    return float(rows.sum() + columns.sum())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_leads=st.integers(1, 40), n_reps=st.integers(1, 8),
       tolerance=st.sampled_from([0.2, 0.5, 1.0]))
def test_value_and_duals_match_the_full_lp(seed: int, n_leads: int, n_reps: int, tolerance: float) -> None:
    problem = _batch(seed, n_leads, n_reps)
    rules = bind(problem, [fa.FairShare(tolerance), fa.CountBand(upper=max(1, n_leads // 2))])
    model = build_linear_model(problem, rules, merge_fair=True)
    full = solve_lp(model, model.score)
    answer = ColumnGeneration(model, model.score[: model.n_x], problem).solve()
    assert answer.status == full.status
    if full.status != "optimal":
        return
    assert answer.value == pytest.approx(full.value, rel=1e-6, abs=1e-6)
    assert answer.bound is not None and answer.bound >= answer.value - 1e-6
    assert answer.x is not None and answer.dual is not None
    assert float(model.score @ answer.x) == pytest.approx(answer.value, rel=1e-6, abs=1e-6)
    lagrangian = _lagrangian(model, model.row_lower, model.row_upper, answer.dual)
    assert lagrangian == pytest.approx(full.value, rel=1e-6, abs=1e-6)


def test_pricing_brings_in_the_pairs_past_the_first_columns() -> None:
    # every lead prefers the first TOP_K reps, which hold one lead each: the rest must come in by pricing
    n_leads, n_reps = 30, TOP_K + 5
    score = np.tile(np.concatenate([10.0 + np.arange(TOP_K), np.ones(n_reps - TOP_K)]), (n_leads, 1))
    problem = fa.Problem(score=score, capacity=np.concatenate([np.ones(TOP_K), np.full(n_reps - TOP_K, 10.0)]))
    model = build_linear_model(problem, bind(problem, []))
    answer = ColumnGeneration(model, model.score[: model.n_x], problem).solve()
    assert answer.rounds > 1
    assert answer.value == pytest.approx(solve_lp(model, model.score).value)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([0.5, 1.0, 3.0]))
def test_router_lp_with_elastic_fair_rows_matches_scipy(seed: int, scale: float) -> None:
    # the router's LP: room scaled to the rest of the stream, fair rows with priced slack columns
    problem = _batch(seed, 30, 5)
    rules = bind(problem, [fa.FairShare(0.1)])
    model = _elastic_fair(build_linear_model(problem, rules, merge_fair=True), penalty=2.0)
    lower, upper = model.row_lower.copy(), model.row_upper.copy()
    capacity = model.block("capacity")
    upper[capacity] = upper[capacity] * scale
    fast, slow = _solve_lp(model, problem, lower, upper), _linprog(model, lower, upper)
    assert fast is not None and slow is not None
    assert float(model.score @ fast[0]) == pytest.approx(float(model.score @ slow[0]), rel=1e-6, abs=1e-6)
    assert _lagrangian(model, lower, upper, fast[1]) == pytest.approx(float(model.score @ slow[0]), rel=1e-6,
                                                                       abs=1e-6)
