"""The CRM baselines: each one's behaviour on hand-made batches, and the invariants they all keep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.baselines import (
    BASELINES,
    TerritoryRule,
    cherry_picking,
    load_balancing,
    points,
    round_robin,
    territory,
    territory_rules,
    weighted_round_robin,
)
from fairassign.datasets import make_batch
from fairassign.errors import ValidationError
from fairassign.rules import bind
from fairassign.strategies import pinned_leads
from strategies import cases, seeds

Baseline = Callable[..., np.ndarray]


def flat(n_leads: int, n_reps: int, value: float = 1.0) -> np.ndarray:
    return np.full((n_leads, n_reps), value)


# ----------------------------------------------------------------------------- round robin


def test_round_robin_rotates_skips_and_starts_where_asked() -> None:
    score = flat(6, 3)
    score[1, 1] = np.nan  # rep 1's turn but not a candidate: rep 2
    problem = fa.Problem(score=score, capacity=[2, 1, 5])
    assert round_robin(problem).tolist() == [0, 2, 0, 1, 2, 2]
    assert round_robin(problem, start=2).tolist() == [2, 0, 1, 2, 0, 2]


def test_round_robin_honours_forbid_and_puts_pins_first() -> None:
    problem = fa.Problem(score=flat(4, 2), capacity=[2, 2], lead_ids=list("abcd"), rep_ids=["x", "y"])
    constraints = [fa.Pin([("d", "x")]), fa.Forbid([("a", "x")])]
    rules = bind(problem, constraints)
    rep_of = round_robin(problem, allowed=rules.allowed, pinned=pinned_leads(problem, constraints))
    # d goes to x before the rotation; a may not go to x: y; then b: x, c: y (their turns)
    assert rep_of.tolist() == [1, 0, 1, 0]
    assert fa.verify(problem, rep_of, constraints) == []


def test_a_pin_that_does_not_fit_is_left_unassigned() -> None:
    problem = fa.Problem(score=flat(2, 2), capacity=[1, 1], effort=[2, 1], lead_ids=["a", "b"])
    constraints = [fa.Pin([("a", 0)])]
    rules = bind(problem, constraints)
    rep_of = round_robin(problem, allowed=rules.allowed, pinned=pinned_leads(problem, constraints))
    assert rep_of.tolist() == [-1, 0]


# ----------------------------------------------------------------------------- Odoo


def test_weighted_round_robin_orders_members_by_quota_and_sends_them_back_to_the_end() -> None:
    problem = fa.Problem(score=flat(6, 3), capacity=[1, 3, 2])
    # quotas 1, 3, 2: rotation [1, 2, 0]; after each lead the member goes to the end (or out)
    assert weighted_round_robin(problem).tolist() == [1, 2, 0, 1, 2, 1]


def test_weighted_round_robin_sends_the_best_leads_first_and_skips_members_that_cannot_take_them() -> None:
    score = np.array([[1.0, 1.0], [5.0, np.nan], [3.0, 3.0]])
    problem = fa.Problem(score=score, capacity=[5, 6])
    # order of leads: 1 (5.0), 2 (3.0), 0 (1.0); rotation [1, 0]; rep 1 cannot take lead 1
    assert weighted_round_robin(problem).tolist() == [0, 0, 1]


def test_weighted_round_robin_daily_quota_rounds_half_up_and_counts_the_last_day() -> None:
    problem = fa.Problem(score=flat(6, 2), capacity=[10, 10])
    # 45 / 30 = 1.5 -> 2 leads; 100 / 30 = 3.33 -> 3, minus 2 opened today -> 1
    rep_of = weighted_round_robin(problem, monthly_capacity=[45, 100], opened_last_day=[0, 2])
    assert np.bincount(rep_of[rep_of >= 0], minlength=2).tolist() == [2, 1]
    assert (rep_of < 0).sum() == 3  # quota strands leads that capacity would take


def test_weighted_round_robin_breaks_quota_ties_at_random_by_seed() -> None:
    problem = fa.Problem(score=flat(1, 4), capacity=[2, 2, 2, 2])
    first = {int(weighted_round_robin(problem, seed=seed)[0]) for seed in range(40)}
    assert first == {0, 1, 2, 3}
    assert weighted_round_robin(problem, seed=7).tolist() == weighted_round_robin(problem, seed=7).tolist()


def test_weighted_round_robin_takes_a_lead_priority() -> None:
    problem = fa.Problem(score=flat(3, 1), capacity=[2])
    assert weighted_round_robin(problem, lead_priority=[0.0, 2.0, 1.0]).tolist() == [-1, 0, 0]


# ----------------------------------------------------------------------------- load balancing


def test_load_balancing_by_count_and_by_effort() -> None:
    problem = fa.Problem(score=flat(4, 2), capacity=[10, 10], effort=[3, 1, 1, 1])
    assert load_balancing(problem).tolist() == [0, 1, 0, 1]
    assert load_balancing(problem, by="effort").tolist() == [0, 1, 1, 1]
    assert load_balancing(problem, open_load=[0, 5]).tolist() == [0, 0, 0, 0]


def test_load_balancing_skips_a_full_rep() -> None:
    problem = fa.Problem(score=flat(3, 2), capacity=[0, 1])
    assert load_balancing(problem).tolist() == [1, -1, -1]


# ----------------------------------------------------------------------------- territory


def test_territory_first_matching_entry_wins_and_pools_rotate() -> None:
    problem = fa.Problem(score=flat(6, 3), capacity=[9, 9, 9], rep_ids=["a", "b", "c"])
    region = np.array(["N", "N", "S", "X", "N", "S"])
    tier = np.array(["A", "C", "A", "C", "A", "C"])
    entries = [
        TerritoryRule(reps=("a",), criteria={"region": "N", "tier": "A"}),
        TerritoryRule(reps=("b", "c"), criteria={"region": ("N", "S")}),
    ]
    rep_of = territory(problem, rules=entries, lead_attributes={"region": region, "tier": tier})
    # lead 0 and 4 match both entries: the first wins; 1, 2, 5 rotate in pool (b, c); 3 matches nothing
    assert rep_of.tolist() == [0, 1, 2, -1, 0, 1]


def test_territory_does_not_fall_through_when_the_pool_cannot_take_the_lead() -> None:
    score = flat(2, 2)
    score[0, 0] = np.nan
    problem = fa.Problem(score=score, capacity=[5, 5])
    entries = [TerritoryRule(reps=(0,)), TerritoryRule(reps=(1,))]
    assert territory(problem, rules=entries).tolist() == [-1, 0]


def test_territory_predicate_and_default_catch_all() -> None:
    problem = fa.Problem(score=flat(4, 2), capacity=[5, 5])
    value = np.array([10.0, 1.0, 10.0, 1.0])
    entries = [TerritoryRule(reps=(1,), predicate=lambda a: a["value"] > 5)]
    assert territory(problem, rules=entries, lead_attributes={"value": value}).tolist() == [1, -1, 1, -1]
    assert territory(problem).tolist() == round_robin(problem).tolist()


def test_territory_rules_from_a_batch_route_by_region() -> None:
    batch = make_batch(300, 12, seed=3)
    entries = territory_rules(batch)
    rep_of = territory(batch.problem, rules=entries, lead_attributes=batch.leads)
    assert fa.verify(batch.problem, rep_of) == []
    assigned = np.flatnonzero(rep_of >= 0)
    assert assigned.size > 0
    for lead in assigned.tolist():
        assert batch.leads["region"][lead] in batch.reps["regions"][rep_of[lead]]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rules": [TerritoryRule(reps=("zz",))]}, "rep id 'zz'"),
    ({"rules": [TerritoryRule(reps=(0,), criteria={"tier": "A"})]}, "'tier'"),
    ({"rules": [TerritoryRule(reps=(0,))], "lead_attributes": {"tier": ["A"]}}, "one entry per lead"),
    ({"rules": ["not a rule"]}, "TerritoryRule"),
    ({"rules": [TerritoryRule(reps=(0,), predicate=lambda a: [1, 0])]}, "predicate must return a boolean"),
])
def test_territory_errors_name_the_problem(kwargs: dict[str, Any], message: str) -> None:
    problem = fa.Problem(score=flat(2, 1), capacity=[5])
    with pytest.raises(ValidationError, match=message):
        territory(problem, **kwargs)


# ----------------------------------------------------------------------------- points and cherry picking


def test_points_is_a_draft_in_points_order() -> None:
    score = np.array([[1.0, 3.0, 2.0], [2.0, 2.0, 2.0], [3.0, 1.0, 2.5], [0.5, 0.5, 0.5]])
    problem = fa.Problem(score=score, capacity=[2, 2, 2])
    # round 1: rep 2 (10 points) takes lead 2, rep 0 (5) lead 1, rep 1 (1) lead 0; round 2: rep 2 lead 3
    assert points(problem, points=[5, 1, 10]).tolist() == [1, 0, 2, 2]


def test_points_equal_by_default_with_a_seeded_order() -> None:
    problem = fa.Problem(score=flat(1, 3), capacity=[1, 1, 1])
    winners = {int(points(problem, seed=seed)[0]) for seed in range(40)}
    assert winners == {0, 1, 2}


def test_cherry_picking_lets_the_best_rep_grab_the_best_leads() -> None:
    score = np.array([[9.0, 8.0], [1.0, 5.0], [7.0, 4.0], [6.0, 3.0]])
    problem = fa.Problem(score=score, capacity=[2, 2])
    # rep 0 has the higher mean (5.75 > 5): it takes leads 0 and 2; rep 1 gets 1 and 3
    assert cherry_picking(problem).tolist() == [0, 1, 0, 1]
    # by total, the same ranking here; a rep with no candidates comes last
    assert cherry_picking(problem, rank_by="total").tolist() == [0, 1, 0, 1]


def test_cherry_picking_skips_a_lead_too_big_for_the_room_left() -> None:
    problem = fa.Problem(score=[[5.0], [4.0], [3.0]], capacity=[2], effort=[1, 2, 1])
    assert cherry_picking(problem).tolist() == [0, -1, 0]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("function", "kwargs", "message"), [
    (round_robin, {"seed": -1}, "seed must be a non-negative integer"),
    (round_robin, {"allowed": np.ones(3, bool)}, r"allowed must be a boolean array .* shape \(4,\)"),
    (round_robin, {"pinned": [0, 1]}, r"pinned must be a boolean array .* shape \(2,\)"),
    (round_robin, {"start": 5}, r"start must be a rep position in \[0, 1\]"),
    (weighted_round_robin, {"monthly_capacity": [1, 2, 3]}, "monthly_capacity must be a scalar or have one"),
    (weighted_round_robin, {"opened_last_day": [-1, 0]}, "opened_last_day must be finite and >= 0"),
    (load_balancing, {"by": "value"}, "by must be 'count' or 'effort'"),
    (points, {"points": [1.0, np.nan]}, "points must be finite and >= 0"),
    (cherry_picking, {"rank_by": "median"}, "rank_by must be 'mean' or 'total'"),
])
def test_bad_arguments_are_named(function: Baseline, kwargs: dict[str, Any], message: str) -> None:
    problem = fa.Problem(score=flat(2, 2), capacity=[1, 1])
    with pytest.raises(ValidationError, match=message):
        function(problem, **kwargs)


def test_problem_must_be_a_problem() -> None:
    with pytest.raises(ValidationError, match=r"problem must be a fairassign\.Problem"):
        round_robin([[1.0]])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- invariants


def _used(problem: fa.Problem, rep_of: np.ndarray) -> np.ndarray:
    leads = np.flatnonzero(rep_of >= 0)
    pairs = problem.pair_index(leads, rep_of[leads])
    assert (pairs >= 0).all(), "a lead went to a rep that is not a candidate"
    return np.bincount(rep_of[leads], weights=problem.pair_effort[pairs], minlength=problem.n_reps)


@given(case=cases(), name=st.sampled_from(sorted(BASELINES)), seed=seeds)
def test_every_baseline_keeps_capacity_eligibility_pins_and_forbids(case: Any, name: str, seed: int) -> None:
    problem, constraints = case.problem, case.constraints
    rules = bind(problem, constraints)
    pinned = pinned_leads(problem, constraints)
    rep_of = BASELINES[name](problem, seed=seed, allowed=rules.allowed, pinned=pinned)
    assert rep_of.dtype == np.int64 and rep_of.shape == (problem.n_leads,)
    assert ((rep_of >= -1) & (rep_of < problem.n_reps)).all()

    # directly: candidates only, capacity, allowed pairs only
    used = _used(problem, rep_of)
    assert (used <= problem.capacity * (1 + 1e-9) + 1e-9).all()
    leads = np.flatnonzero(rep_of >= 0)
    assert rules.allowed[problem.pair_index(leads, rep_of[leads])].all()

    # and through the independent verifier with the hard rules only
    forbids = [rule for rule in constraints if isinstance(rule, fa.Forbid)]
    assert fa.verify(problem, rep_of, forbids) == []
    pins = [rule for rule in constraints if isinstance(rule, fa.Pin)]
    if not rules.conflicts:
        for violation in fa.verify(problem, rep_of, pins):
            # a pin is only missed when it cannot be kept (ineligible, or no room): then unassigned
            lead = problem.lead_position(next(lead_id for rule in pins for lead_id, _ in rule.pairs
                                              if f"lead {lead_id!r}" == violation.subject))
            assert rep_of[lead] == -1, violation.message
        pinned_pairs = rules.allowed & pinned[problem.pair_lead]
        pinned_effort = np.bincount(problem.pair_rep[pinned_pairs], weights=problem.pair_effort[pinned_pairs],
                                    minlength=problem.n_reps)
        if (pinned_effort <= problem.capacity).all():
            assert fa.verify(problem, rep_of, pins) == []


@given(case=cases(), name=st.sampled_from(sorted(BASELINES)), seed=seeds)
def test_every_baseline_is_deterministic_by_seed(case: Any, name: str, seed: int) -> None:
    problem = case.problem
    rules = bind(problem, case.constraints)
    first = BASELINES[name](problem, seed=seed, allowed=rules.allowed)
    again = BASELINES[name](problem, seed=seed, allowed=rules.allowed)
    assert first.tolist() == again.tolist()


@given(case=cases(capacity_only=True), seed=seeds)
def test_territory_with_random_entries_keeps_the_hard_rules(case: Any, seed: int) -> None:
    problem = case.problem
    rng = np.random.default_rng(seed)
    region = rng.choice(np.array(["N", "S", "E"]), size=problem.n_leads)
    rep_ids = problem.rep_ids.tolist()
    entries = [TerritoryRule(reps=tuple(rng.choice(rep_ids, size=int(rng.integers(1, len(rep_ids) + 1)),
                                                   replace=False).tolist()),
                             criteria={"region": tuple(rng.choice(["N", "S", "E"], size=2).tolist())})
               for _ in range(int(rng.integers(1, 4)))]
    rules = bind(problem, case.constraints)
    rep_of = territory(problem, seed=seed, allowed=rules.allowed, rules=entries, lead_attributes={"region": region})
    used = _used(problem, rep_of)
    assert (used <= problem.capacity * (1 + 1e-9) + 1e-9).all()
    for lead in np.flatnonzero(rep_of >= 0).tolist():
        first = next(entry for entry in entries if region[lead] in entry.criteria["region"])
        assert rep_ids[rep_of[lead]] in first.reps


def test_baselines_run_on_a_batch_with_effort_by_tier() -> None:
    batch = make_batch(400, 15, seed=11, tier_effort=True, capacity_slack=0.8)
    for name, function in BASELINES.items():
        rep_of = function(batch.problem, seed=1)
        assert fa.verify(batch.problem, rep_of) == [], name
        assert (rep_of >= 0).sum() > 200, name


def test_round_robin_leaves_a_lead_no_rep_has_room_for() -> None:
    problem = fa.Problem(score=[[1.0], [1.0], [1.0]], capacity=[2], effort=[1, 2, 1])
    assert round_robin(problem).tolist() == [0, -1, 0]
