"""The replay simulator: reproducible by seed, paired across strategies, honest bookkeeping."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fairassign as fa
from fairassign.errors import ValidationError
from fairassign.simulate import Scenario, builtin_scenario, compare_period, fair_share_rules, simulate

SMALL = builtin_scenario(n_reps=8, n_days=6, leads_per_day=30.0)

_ARRAYS = ("day_leads", "day_assigned", "day_conversions", "day_revenue", "day_expected_revenue",
           "day_value_assigned", "rep_leads", "rep_conversions", "rep_days_present", "rep_revenue", "rep_value",
           "rep_capacity")


@pytest.mark.parametrize("strategy", ["fairassign", "round-robin", "greedy"])
def test_same_seed_same_run(strategy: str) -> None:
    first = simulate(SMALL, strategy, seed=3)
    second = simulate(SMALL, strategy, seed=3)
    for name in _ARRAYS:
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name), err_msg=name)
    assert first.day_status == second.day_status
    assert (first.revenue, first.conversions) == (second.revenue, second.conversions)
    other = simulate(SMALL, strategy, seed=4)
    assert not np.array_equal(first.day_leads, other.day_leads) or first.revenue != other.revenue


def test_strategies_face_the_same_days_at_one_seed() -> None:
    optimiser = simulate(SMALL, "fairassign", seed=1)
    rotation = simulate(SMALL, "round-robin", seed=1)
    np.testing.assert_array_equal(optimiser.day_leads, rotation.day_leads)
    np.testing.assert_array_equal(optimiser.rep_days_present, rotation.rep_days_present)
    np.testing.assert_array_equal(optimiser.rep_capacity, rotation.rep_capacity)


def test_bookkeeping_adds_up_and_capacity_holds() -> None:
    run = simulate(SMALL, "fairassign", seed=2)
    assert run.n_leads == run.day_leads.sum() > 0
    assert run.n_assigned == run.day_assigned.sum() == run.rep_leads.sum()
    assert run.conversions == run.day_conversions.sum() == run.rep_conversions.sum()
    assert run.revenue == pytest.approx(run.day_revenue.sum()) == pytest.approx(run.rep_revenue.sum())
    assert run.rep_value.sum() == pytest.approx(run.day_value_assigned.sum())
    assert np.all(run.rep_leads <= run.rep_capacity)
    assert np.all(run.day_conversions <= run.day_assigned)
    assert np.all(run.day_assigned <= run.day_leads)
    assert 0 < run.coverage <= 1
    records = run.to_records()
    assert len(records) == SMALL.n_days
    assert sum(record["revenue"] for record in records) == pytest.approx(run.revenue)
    assert {record["status"] for record in records} <= {"OPTIMAL", "FEASIBLE"}
    assert sum(record["leads"] for record in run.rep_records()) == run.n_assigned


def test_leads_not_followed_up_never_convert() -> None:
    scenario = builtin_scenario(n_reps=6, n_days=4, leads_per_day=25.0, not_followed_up=1.0)
    run = simulate(scenario, "round-robin", seed=0)
    assert run.n_assigned > 0
    assert run.n_not_followed_up == run.n_assigned
    assert run.conversions == 0 and run.revenue == 0.0 and run.expected_revenue == 0.0


def test_a_rep_off_every_day_gets_nothing() -> None:
    schedule = np.ones((5, 6), dtype=bool)
    schedule[:, 2] = False
    scenario = builtin_scenario(n_reps=6, n_days=5, leads_per_day=25.0, schedule=schedule)
    run = simulate(scenario, "fairassign", seed=0)
    assert run.rep_days_present.tolist() == [5, 5, 0, 5, 5, 5]
    assert run.rep_leads[2] == 0 and run.rep_capacity[2] == 0
    # part-timers offer less capacity than full-timers
    full = builtin_scenario(n_reps=6, n_days=5, leads_per_day=25.0, part_time_share=0.0, day_off_rate=0.0)
    half = builtin_scenario(n_reps=6, n_days=5, leads_per_day=25.0, part_time_share=1.0, day_off_rate=0.0)
    assert simulate(half, "round-robin").rep_capacity.sum() < simulate(full, "round-robin").rep_capacity.sum()


def test_the_optimiser_learns_to_beat_rotation_on_expected_revenue() -> None:
    scenario = builtin_scenario(n_reps=12, n_days=15, leads_per_day=60.0)
    for seed in (0, 1):
        optimiser = simulate(scenario, "fairassign", seed=seed)
        rotation = simulate(scenario, "round-robin", seed=seed)
        assert optimiser.expected_revenue > 1.1 * rotation.expected_revenue


def test_fairness_rules_reach_every_day_and_baselines_break_them() -> None:
    scenario = builtin_scenario(n_reps=6, n_days=3, leads_per_day=20.0, tiers=("A",), tier_mix=(1.0,),
                                rep_tier_mix=(1.0,), base_conversion=(0.2,), tier_value=(1.0,),
                                regions=("North",))
    rotation = simulate(scenario, "cherry-picking", seed=0, constraints=[fa.FairShare(0.05)])
    assert rotation.days_breaking_rules > 0
    optimiser = simulate(scenario, "fairassign", seed=0, constraints=[fa.FairShare(0.3)], time_limit=10)
    assert optimiser.days_breaking_rules == 0


def test_compare_period_reports_intervals_and_paired_uplift() -> None:
    scenario = builtin_scenario(n_reps=6, n_days=3, leads_per_day=20.0)
    rows = compare_period(scenario, ["fairassign", "round-robin"], seeds=[0, 1, 2])
    assert [row["strategy"] for row in rows] == ["fairassign", "round-robin"]
    by_name = {row["strategy"]: row for row in rows}
    revenue = {name: np.array([simulate(scenario, name, seed=s).revenue for s in (0, 1, 2)])
               for name in by_name}
    for name, row in by_name.items():
        assert row["n_seeds"] == 3
        assert row["revenue"] == pytest.approx(revenue[name].mean())
        assert row["revenue_low"] <= row["revenue"] <= row["revenue_high"]
        assert row["conversions_low"] <= row["conversions"] <= row["conversions_high"]
    difference = revenue["fairassign"] - revenue["round-robin"]
    rotation = by_name["round-robin"]
    assert rotation["uplift"] == pytest.approx(difference.mean())
    half = 4.302652729911275 * difference.std(ddof=1) / math.sqrt(3)  # t(0.975, 2)
    assert rotation["uplift_low"] == pytest.approx(difference.mean() - half)
    assert rotation["uplift_high"] == pytest.approx(difference.mean() + half)
    assert rotation["uplift_pct"] == pytest.approx(difference.mean() / revenue["round-robin"].mean())
    assert by_name["fairassign"]["uplift"] == 0.0


def test_compare_period_with_one_seed_and_without_the_optimiser() -> None:
    scenario = builtin_scenario(n_reps=4, n_days=2, leads_per_day=10.0)
    rows = compare_period(scenario, ["round-robin", "load-balancing"], seeds=[5])
    assert all(math.isnan(row["revenue_low"]) and math.isnan(row["revenue_high"]) for row in rows)
    assert all(row["uplift"] is None for row in rows)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: Scenario(n_reps=0), r"Scenario.n_reps must be an integer >= 1, got 0"),
    (lambda: Scenario(leads_per_day=-1.0), "Scenario.leads_per_day must be a finite number >= 0"),
    (lambda: Scenario(not_followed_up=1.5), r"Scenario.not_followed_up must be a probability in \[0, 1\]"),
    (lambda: Scenario(tier_mix=(1.0, 0.0)), "Scenario.tier_mix must be 3 non-negative weights"),
    (lambda: Scenario(base_conversion=(0.2, 1.2, 0.1)), "Scenario.base_conversion must hold 3 numbers"),
    (lambda: Scenario(regions=("N", "N")), "Scenario.regions must hold at least one distinct label"),
    (lambda: Scenario(n_days=2, n_reps=3, schedule=np.ones((3, 2), bool)),
     r"Scenario.schedule must be a bool array of shape \(n_days, n_reps\) = \(2, 3\)"),
    (lambda: simulate(SMALL, "round-robin", seed=-1), "seed must be a non-negative integer"),
    (lambda: simulate("builtin", "round-robin"), "scenario must be a fairassign.simulate.Scenario"),
    (lambda: compare_period(SMALL, [], seeds=[0]), "strategies must be distinct strategy names"),
    (lambda: compare_period(SMALL, ["round-robin"], seeds=[0, 0]), "each once"),
    (lambda: compare_period(SMALL, ["round-robin"], seeds=[0], strategy_options={"greedy": {}}),
     "strategy_options names strategies not in strategies"),
])
def test_validation_messages(call, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        call()


def test_unknown_strategy_names_the_valid_ones() -> None:
    with pytest.raises(fa.UnknownSolverError, match="round-robin"):
        simulate(SMALL, "coin-flip")


def test_rules_can_be_built_per_day_for_the_reps_present() -> None:
    seen: list[tuple[int, tuple[str, ...]]] = []

    def rules(day: int, rep_ids: np.ndarray) -> list[fa.Constraint]:
        seen.append((day, tuple(rep_ids.tolist())))
        return [fa.CountBand(upper=np.full(rep_ids.size, 2.0))]

    run = simulate(SMALL, "fairassign", seed=0, constraints=rules)
    assert [day for day, _ in seen] == list(range(SMALL.n_days))
    assert sum(len(ids) for _, ids in seen) == run.rep_days_present.sum()
    assert {rep for _, ids in seen for rep in ids} <= set(run.rep_ids.tolist())
    assert np.all(run.rep_leads <= 2 * run.rep_days_present)  # the per-day rule held every day
    assert set(run.day_status) <= {"OPTIMAL", "FEASIBLE"}
    with pytest.raises(ValidationError, match="returned by the callable on day 0"):
        simulate(SMALL, "fairassign", constraints=lambda day, rep_ids: ["not a rule"])


def test_fair_share_rules_with_attainable_weights_keep_every_lead_a_tiered_team_can_take() -> None:
    scenario = builtin_scenario(n_reps=12, n_days=3, leads_per_day=60.0)  # tiers A/B/C, 4 regions
    unconstrained = simulate(scenario, "fairassign", seed=0)
    attainable = simulate(scenario, "fairassign", seed=0, constraints=fair_share_rules(0.3), time_limit=10)
    capacity = simulate(scenario, "fairassign", seed=0, constraints=fair_share_rules(0.3, weights="capacity"),
                        time_limit=3)
    assert attainable.days_breaking_rules == 0
    assert set(attainable.day_status) <= {"OPTIMAL", "FEASIBLE"}
    assert attainable.n_assigned == unconstrained.n_assigned  # the rule costs no lead
    assert capacity.n_assigned < attainable.n_assigned       # capacity shares are out of reach for C-only reps
    rotation = simulate(scenario, "round-robin", seed=0, constraints=fair_share_rules(0.3))
    assert rotation.days_breaking_rules > 0  # baselines are measured against the same weights


def test_fair_share_rules_build_one_rule_per_day_from_the_batch() -> None:
    problem = fa.Problem(score=[[1.0, np.nan], [1.0, np.nan], [1.0, 1.0], [1.0, 1.0]],
                         capacity=[3, 2], value=[4.0, 4.0, 1.0, 1.0])
    (rule,) = fair_share_rules(0.2)(0, problem.rep_ids, problem=problem)
    assert isinstance(rule, fa.FairShare) and rule.tolerance == 0.2
    np.testing.assert_allclose(rule.weight, [9.0, 1.0], rtol=1e-5)
    (plain,) = fair_share_rules(0.2, weights="capacity")(0, problem.rep_ids)
    assert plain.weight is None
    with pytest.raises(ValidationError, match="needs the day's problem"):
        fair_share_rules(0.2)(0, problem.rep_ids)
    with pytest.raises(ValidationError, match="weights must be 'attainable' or 'capacity'"):
        fair_share_rules(0.2, weights="equal")
    with pytest.raises(ValidationError, match="tolerance"):
        fair_share_rules(-1.0)
