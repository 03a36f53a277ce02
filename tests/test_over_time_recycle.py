"""Recycling stale leads and today's availability: behaviour, properties and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairassign as fa
from fairassign.over_time import DEFAULT_SLA_HOURS, available_problem, recycle
from fairassign.over_time.recycle import stale_leads
from strategies import constraint_lists, problems, seeds

slow = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def pool() -> fa.Problem:
    # 4 leads, 3 reps; lead "d" is eligible for cy only
    score = np.array([[3.0, 1.0, 2.0], [1.0, 3.0, 2.0], [2.0, 2.0, 1.0], [np.nan, np.nan, 1.0]])
    return fa.Problem(score=score, capacity=[2, 2, 2], lead_ids=["a", "b", "c", "d"], rep_ids=["ann", "bob", "cy"])


def test_stale_leads_are_reclaimed_and_not_given_back() -> None:
    problem = pool()
    out = recycle(problem, [fa.AssignAll()], owner=[0, 1, 0, 2], contacted=[False, True, False, False],
                  age_hours=[5.0, 100.0, 3.0, 200.0], tier=["A", "B", "A", "C"])
    # a: A-tier, 5 h > 4 h, no contact -> reclaimed; b: contacted; c: 3 h < 4 h; d: 200 h > 168 h
    assert out.reclaimed.tolist() == [True, False, False, True]
    assert out.reclaims_per_rep.tolist() == [1, 0, 1]
    assert out.reclaims_by_rep_id() == {"ann": 1, "cy": 1}
    result = out.result
    assert result.status is fa.Status.OPTIMAL
    assert result.rep_of[0] != 0  # not back to ann, though ann scores it best
    assert result.rep_of[1] == 1 and result.rep_of[2] == 0  # kept owners stay
    assert result.rep_of[3] == 2 and out.returned.tolist() == [False, False, False, True]  # cy is d's only rep
    assert "rep 'ann' sat on 1" in out.summary() and "returned   1" in out.summary()
    assert fa.verify(problem, result, result.constraints) == []


def test_exactly_at_the_sla_is_still_in_time() -> None:
    problem = pool()
    stale = stale_leads(problem, [0, 1, 0, 2], [False] * 4, [4.0, 48.0, 4.0001, 168.0], ["A", "B", "A", "C"])
    assert stale.tolist() == [False, False, True, False]


def test_a_lead_whose_other_reps_are_full_waits_in_the_pool() -> None:
    problem = fa.Problem(score=[[1.0, 1.0], [5.0, np.nan]], capacity=[1, 1], rep_ids=["ann", "bob"])
    out = recycle(problem, [], owner=[1, 0], contacted=[False, True], age_hours=[9.0, 9.0], tier=["A", "A"])
    assert out.reclaimed.tolist() == [True, False]
    assert out.result.rep_of.tolist() == [-1, 0]  # ann is full, bob may not have it back


def test_unowned_leads_are_assigned_and_sla_is_configurable() -> None:
    problem = pool()
    out = recycle(problem, [], owner={"a": "ann"}, contacted=[False] * 4, age_hours=[2.0, 0.0, 0.0, 0.0],
                  tier=["hot", "hot", "cold", "cold"], sla_hours={"hot": 1.0, "cold": 24.0})
    assert out.reclaimed.tolist() == [True, False, False, False]
    assert out.result.n_assigned == 4 and out.result.rep_of[0] != 0


def test_a_users_pin_to_the_owner_wins() -> None:
    problem = pool()
    out = recycle(problem, [fa.Pin([("a", "ann")])], owner=[0, -1, -1, -1], contacted=[False] * 4,
                  age_hours=[10.0, 0.0, 0.0, 0.0], tier=["A"] * 4)
    assert out.reclaimed[0] and out.result.rep_of[0] == 0 and out.returned[0]


def test_default_sla() -> None:
    assert dict(DEFAULT_SLA_HOURS) == {"A": 4.0, "B": 48.0, "C": 168.0}


@pytest.mark.parametrize("kwargs, message", [
    ({"age_hours": [1.0, np.nan, 1.0, 1.0]}, "age_hours must not be NaN; lead 'b' has nan"),
    ({"age_hours": [1.0, -1.0, 1.0, 1.0]}, "age_hours must be >= 0; lead 'b' has -1.0"),
    ({"age_hours": [1.0, 1.0]}, r"age_hours must have one entry per lead \(n_leads=4\), got shape \(2,\)"),
    ({"tier": ["A", "B", "Z", "Y"]}, "tier holds 'Y', 'Z', which sla_hours does not list"),
    ({"sla_hours": {"A": -4.0, "B": 1.0, "C": 1.0}}, r"sla_hours\['A'\] must be a finite number of hours >= 0"),
    ({"sla_hours": {}}, "sla_hours must be a non-empty mapping"),
    ({"contacted": ["yes", "no", "no", "no"]}, "contacted must be a boolean per lead"),
    ({"owner": [0, 1, 7, -1]}, r"owner must hold rep positions in \[-1, 2\]; lead 'c' has 7"),
    ({"owner": {"zz": "ann"}}, "owner names lead id 'zz', which is not in problem.lead_ids"),
    ({"owner": None}, "owner must be given"),
    ({"owner": [0, 1, 2, 0]}, "owner gives lead 'd' to rep 'ann', which is not a candidate pair"),
])
def test_bad_input_is_named(kwargs: dict, message: str) -> None:
    arguments = {"owner": [0, 1, -1, 2], "contacted": [False] * 4, "age_hours": [1.0, 1.0, 1.0, 1.0],
                 "tier": ["A", "B", "C", "A"], **kwargs}
    with pytest.raises(fa.ValidationError, match=message):
        recycle(pool(), [], **arguments)


@st.composite
def recycle_cases(draw: st.DrawFn) -> tuple:
    problem, _ = draw(problems(max_leads=6, max_reps=3))
    rules = tuple(rule for rule in draw(constraint_lists(problem)) if not isinstance(rule, fa.Pin))
    rng = np.random.default_rng(draw(seeds))
    owner = np.full(problem.n_leads, -1, np.int64)
    for lead in range(problem.n_leads):
        start, stop = problem.lead_start[lead], problem.lead_start[lead + 1]
        if stop > start and rng.random() < 0.8:
            owner[lead] = problem.pair_rep[rng.integers(start, stop)]
    contacted = rng.random(problem.n_leads) < 0.3
    age = rng.choice(np.array([0.0, 3.0, 4.0, 10.0, 60.0, 500.0]), size=problem.n_leads)
    tier = rng.choice(np.array(["A", "B", "C"]), size=problem.n_leads)
    return problem, rules, owner, contacted, age, tier


@slow
@given(case=recycle_cases())
def test_a_reclaimed_lead_goes_back_only_when_no_other_rep_is_eligible(case: tuple) -> None:
    problem, rules, owner, contacted, age, tier = case
    out = recycle(problem, rules, owner=owner, contacted=contacted, age_hours=age, tier=tier, solver="cpsat")
    limit = np.array([DEFAULT_SLA_HOURS[t] for t in tier.tolist()])
    np.testing.assert_array_equal(out.reclaimed, (owner >= 0) & ~contacted & (age > limit))
    np.testing.assert_array_equal(out.reclaims_per_rep, np.bincount(owner[out.reclaimed], minlength=problem.n_reps))
    result = out.result
    assert result.status is not fa.Status.INVALID, result.summary()
    if not result.status.has_solution:
        return
    rep_of = result.rep_of
    forbidden = {(lead, rep) for rule in rules if isinstance(rule, fa.Forbid) for lead, rep in rule.pairs}
    for lead in np.flatnonzero(out.reclaimed & (rep_of == owner)).tolist():
        others = [r for r in range(problem.n_reps) if r != owner[lead]
                  and problem.pair_index([lead], [r])[0] >= 0
                  and (problem.lead_ids[lead].item(), problem.rep_ids[r].item()) not in forbidden]
        assert not others, f"lead {lead} went back to its owner though reps {others} were eligible"
        assert out.returned[lead]
    kept = (owner >= 0) & ~out.reclaimed
    np.testing.assert_array_equal(rep_of[kept], owner[kept])


# ----------------------------------------------------------------------------- availability
def team() -> fa.Problem:
    return fa.Problem(score=np.ones((4, 3)), capacity=[3.0, 3.0, np.inf], rep_ids=["ann", "bob", "cy"],
                      effort=[1.0, 2.0, 1.0, 0.0])


def test_availability_sets_capacity_and_eligibility() -> None:
    today = available_problem(team(), off=[False, True, False], daily_limit={"cy": 2.0}, open_load=[1.0, 0.0, 5.0])
    assert today.capacity.tolist() == [2.0, 0.0, 2.0]
    assert 1 not in today.pair_rep.tolist()  # bob is off: not even the effort-0 lead reaches him
    assert today.n_leads == 4 and today.lead_ids.tolist() == [0, 1, 2, 3]
    original = team()
    assert today.effort_kind == "lead"
    assert today.pair_effort.tolist() == original.pair_effort[original.pair_rep != 1].tolist()
    result = fa.solve(today, [])
    assert (result.rep_of != 1).all() and result.rep_effort[1] == 0


def test_open_load_above_capacity_leaves_zero_room_never_negative() -> None:
    today = available_problem(team(), open_load=[10.0, 3.0, 1.0])
    assert today.capacity.tolist() == [0.0, 0.0, np.inf]
    assert set(today.pair_rep.tolist()) == {2}


def test_availability_without_changes_keeps_the_batch() -> None:
    problem = team()
    today = available_problem(problem)
    np.testing.assert_array_equal(today.capacity, problem.capacity)
    np.testing.assert_array_equal(today.pair_rep, problem.pair_rep)
    np.testing.assert_array_equal(today.pair_score, problem.pair_score)


@pytest.mark.parametrize("kwargs, message", [
    ({"open_load": [1.0, -1.0, 0.0]}, "open_load must be >= 0; rep 'bob' has -1.0"),
    ({"open_load": [1.0, np.nan, 0.0]}, "open_load must not be NaN; rep 'bob' has nan"),
    ({"open_load": [1.0, np.inf, 0.0]}, "open_load must be finite; rep 'bob' has inf"),
    ({"daily_limit": [1.0, 2.0]}, r"daily_limit must be a \{rep_id: value\} mapping or have one entry per rep "
                                  r"\(n_reps=3\), got shape \(2,\)"),
    ({"daily_limit": {"dee": 1.0}}, "daily_limit names rep id 'dee', which is not in problem.rep_ids"),
    ({"daily_limit": {"ann": "ten"}}, "daily_limit must hold numbers; rep 'ann' has 'ten'"),
    ({"off": [0, 2, 0]}, "off must be a boolean per rep"),
])
def test_bad_availability_is_named(kwargs: dict, message: str) -> None:
    with pytest.raises(fa.ValidationError, match=message):
        available_problem(team(), **kwargs)
