"""fairassign.over_time as a whole: its names, and one day of routing end to end (docs/over_time.md)."""

from __future__ import annotations

import numpy as np

import fairassign as fa
import fairassign.over_time as over_time
from fairassign.datasets import make_batch
from fairassign.over_time import available_problem, recycle, resolve


def test_the_package_exports_its_tools() -> None:
    for name in over_time.__all__:
        assert getattr(over_time, name) is not None, name
    assert {"resolve", "recycle", "available_problem", "solve_with_history"} <= set(over_time.__all__)


def test_a_day_end_to_end() -> None:
    batch = make_batch(n_leads=30, n_reps=6, seed=1)
    days = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 4.0])  # working days in the week: the fair-share weights
    received = np.array([26e3, 30e3, 24e3, 28e3, 25e3, 33e3])  # value each rep received earlier this week
    today = available_problem(batch.problem, off=[False] * 5 + [True], open_load=np.full(6, 1.0))
    assert today.capacity[5] == 0 and not (today.pair_rep == 5).any()
    rule = fa.FairShare(0.3, weight=days, received=received)

    morning = fa.solve(today, [rule], time_limit=5)
    assert morning.status.has_solution, morning.summary()
    assert fa.verify(today, morning, [rule]) == []
    assert morning.rep_value[5] == 0.0

    later = resolve(today, [rule], current=morning.rep_of, churn_penalty=50.0, max_moves=3, time_limit=5)
    assert later.status.has_solution and later.moves <= 3
    assert fa.verify(today, later, [rule]) == []

    rng = np.random.default_rng(0)
    contacted = rng.random(30) < 0.5
    age = rng.uniform(0.0, 200.0, 30)
    tier = np.asarray(batch.leads["tier"])
    out = recycle(today, [rule], owner=later.rep_of, contacted=contacted, age_hours=age, tier=tier, time_limit=5)
    limit = np.array([{"A": 4.0, "B": 48.0, "C": 168.0}[t] for t in tier.tolist()])
    expected = (later.rep_of >= 0) & ~contacted & (age > limit)
    np.testing.assert_array_equal(out.reclaimed, expected)
    assert out.reclaims_per_rep.sum() == expected.sum()
    assert out.result.status.has_solution and fa.verify(today, out.result, out.result.constraints) == []
