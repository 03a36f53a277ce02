"""benchmarks/gap_bound.py: the exact knapsack against brute force, and the Lagrangian bound is a
valid lower bound (never above the brute-force optimum of tiny GAP instances, never below the LP)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from gap_bound import knapsack, lagrangian, lagrangian_bound, lp_duals
from gap_instances import generate


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n_items=st.integers(0, 10), capacity=st.integers(0, 30))
def test_the_knapsack_is_the_brute_force_optimum(seed: int, n_items: int, capacity: int) -> None:
    rng = np.random.default_rng(seed)
    profit = rng.integers(-5, 20, size=n_items).astype(float) + rng.random(n_items)
    weight = rng.integers(0, 15, size=n_items).astype(np.int64)
    value, chosen = knapsack(profit, weight, capacity)
    assert int(weight[chosen].sum()) <= capacity
    assert value == pytest.approx(float(profit[chosen].sum()))
    best = 0.0
    for mask in itertools.product((False, True), repeat=n_items):
        pick = np.array(mask, dtype=bool)
        if int(weight[pick].sum()) <= capacity:
            best = max(best, float(profit[pick].sum()))
    assert value == pytest.approx(best)


def _brute_force(cost: np.ndarray, effort: np.ndarray, capacity: np.ndarray) -> float:
    n, m = cost.shape
    best = np.inf
    rows = np.arange(n)
    for choice in itertools.product(range(m), repeat=n):
        pick = np.asarray(choice)
        if np.all(np.bincount(pick, weights=effort[rows, pick], minlength=m) <= capacity):
            best = min(best, float(cost[rows, pick].sum()))
    return best


@pytest.mark.parametrize("kind", ["a", "c", "d", "e"])
@pytest.mark.parametrize("seed", range(4))
def test_the_lagrangian_bound_is_valid_on_tiny_instances(kind: str, seed: int) -> None:
    instance = generate(kind, 7, 3, seed=seed)
    optimum = _brute_force(instance.cost, instance.effort, instance.capacity)
    if not np.isfinite(optimum):
        return
    bound, lp_value, multipliers = lagrangian_bound(instance, upper=optimum, steps=200)
    assert bound <= optimum
    assert bound >= np.ceil(lp_value - 1e-6)  # the knapsack bound is at least the LP's
    assert lagrangian(instance, multipliers)[0] <= optimum + 1e-9  # any multipliers give a lower bound


def test_at_the_lp_duals_the_lagrangian_is_at_least_the_lp_value() -> None:
    instance = generate("d", 30, 4, seed=2)
    lp_value, multipliers = lp_duals(instance)
    assert lagrangian(instance, multipliers)[0] >= lp_value - 1e-6
