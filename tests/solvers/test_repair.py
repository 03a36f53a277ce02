"""The shared repair pass: broken assignments in, rule-keeping ones out (or None when none exists).

On tiny batches (up to 4000 allowed pairs) repair ends with an exact search, so its answer is
checked both ways against brute force: it finds an assignment whenever one exists, and every
assignment it returns passes :func:`fairassign.verify`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
import fairassign.solvers.repair as repair_module
from fairassign.errors import ValidationError
from fairassign.rules import bind
from fairassign.solvers.base import SolveRequest
from fairassign.solvers.greedy import greedy_assign
from fairassign.solvers.repair import repair, repair_with_proof, usable_pairs
from oracle import STRICT_RTOL, brute_force
from strategies import Case, cases, seeds

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from instances import random_problem


def _broken_start(problem: fa.Problem, seed: int) -> np.ndarray:
    """Any rep (or none) for each lead: ineligible pairs, overfull reps and missing leads included."""
    rng = np.random.default_rng(seed)
    return rng.integers(-1, problem.n_reps, size=problem.n_leads).astype(np.int64)


def _score(problem: fa.Problem, rep_of: np.ndarray) -> float:
    leads = np.flatnonzero(rep_of >= 0)
    return float(problem.pair_score[problem.pair_index(leads, rep_of[leads])].sum())


@given(case=cases(capacity_only=False), seed=seeds, objective=st.sampled_from(["lexicographic", "score"]))
def test_repair_finds_a_rule_keeping_assignment_exactly_when_one_exists(case: Case, seed: int,
                                                                         objective: str) -> None:
    problem, constraints = case.problem, case.constraints
    rules = bind(problem, constraints)
    repaired, proven = repair_with_proof(problem, rules, _broken_start(problem, seed),
                                         SolveRequest(objective=objective))  # type: ignore[arg-type]
    if repaired is not None:
        assert repaired.dtype == np.int64 and repaired.shape == (problem.n_leads,)
        assert fa.verify(problem, repaired, constraints) == []
    else:
        assert proven  # a tiny batch is searched exactly
        assert not brute_force(problem, constraints, rtol=STRICT_RTOL).feasible


@given(case=cases(capacity_only=False), seed=seeds)
def test_repair_is_deterministic(case: Case, seed: int) -> None:
    rules = bind(case.problem, case.constraints)
    start = _broken_start(case.problem, seed)
    first = repair(case.problem, rules, start, SolveRequest(seed=3))
    second = repair(case.problem, rules, start.copy(), SolveRequest(seed=3))
    if first is None:
        assert second is None
    else:
        assert second is not None
        np.testing.assert_array_equal(first, second)


@given(case=cases(capacity_only=False), seed=seeds)
def test_a_rule_keeping_start_loses_no_score_under_the_score_objective(case: Case, seed: int) -> None:
    problem, constraints = case.problem, case.constraints
    oracle = brute_force(problem, constraints, rtol=STRICT_RTOL)
    if not oracle.feasible or oracle.score_rep_of is None:
        return
    start = oracle.score_rep_of
    repaired = repair(problem, bind(problem, constraints), start, SolveRequest(objective="score"))
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []
    assert _score(problem, repaired) >= _score(problem, start) - 1e-9 * max(1.0, abs(_score(problem, start)))


def test_over_capacity_is_moved_to_the_next_best_rep() -> None:
    problem = fa.Problem(score=[[3.0, 1.0], [2.0, 1.5]], capacity=[1, 1])
    repaired = repair(problem, bind(problem, [fa.AssignAll()]), np.array([0, 0]), SolveRequest())
    assert repaired is not None
    assert repaired.tolist() == [0, 1]  # moving lead 1 costs 0.5, moving lead 0 costs 2


def test_missing_must_assign_leads_are_assigned() -> None:
    problem = fa.Problem(score=[[3.0, 1.0], [2.0, 1.5], [1.0, 4.0]], capacity=[2, 2])
    constraints = [fa.AssignAll()]
    repaired = repair(problem, bind(problem, constraints), np.array([-1, 0, -1]), SolveRequest())
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []
    assert repaired.tolist() == [0, 0, 1]


def test_ineligible_and_forbidden_pairs_are_undone() -> None:
    problem = fa.Problem(score=[[3.0, np.nan], [2.0, 1.5]], capacity=[2, 2])
    constraints = [fa.Forbid([(1, 0)])]
    repaired = repair(problem, bind(problem, constraints), np.array([1, 0]), SolveRequest())
    assert repaired is not None
    assert repaired.tolist() == [0, 1]


def test_outside_fair_share_is_rebalanced() -> None:
    rng = np.random.default_rng(7)
    n_leads, n_reps = 60, 4
    value = rng.lognormal(0.0, 0.5, size=n_leads)
    problem = fa.Problem(score=value[:, None] * rng.uniform(0.5, 1.5, (n_leads, n_reps)),
                         capacity=np.full(n_reps, 20.0), value=value)
    constraints = [fa.AssignAll(), fa.FairShare(0.05)]
    start = np.zeros(n_leads, dtype=np.int64)
    start[: n_leads // 4] = 1  # rep 0 holds three quarters of the value, reps 2 and 3 nothing
    assert fa.verify(problem, start, constraints)
    repaired = repair(problem, bind(problem, constraints), start, SolveRequest())
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []


def test_fair_share_changes_as_leads_are_added() -> None:
    # not every lead must be assigned: adding one raises V and so every rep's lower limit
    value = np.array([4.0, 4.0, 1.0, 1.0])
    problem = fa.Problem(score=np.array([[5.0, 1.0], [1.0, 5.0], [1.0, 2.0], [2.0, 1.0]]),
                         capacity=[4, 4], value=value)
    constraints = [fa.FairShare(0.1)]
    repaired = repair(problem, bind(problem, constraints), np.array([0, 0, 0, 0]), SolveRequest())
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []
    assert (repaired >= 0).sum() == 4  # lexicographic: every lead fits


def test_none_when_no_assignment_keeps_the_rules() -> None:
    problem = fa.Problem(score=np.ones((3, 2)), capacity=[1, 1])
    rules = bind(problem, [fa.AssignAll()])
    repaired, proven = repair_with_proof(problem, rules, np.array([0, 0, 0]), SolveRequest())
    assert repaired is None and proven
    # three leads of value 1 cannot split evenly within 10% over two equal reps
    problem = fa.Problem(score=np.ones((3, 2)), capacity=[3, 3])
    assert repair(problem, bind(problem, [fa.AssignAll(), fa.FairShare(0.1)]), np.zeros(3, np.int64),
                  SolveRequest()) is None


def test_bands_on_both_sides_are_restored() -> None:
    problem = fa.Problem(score=np.arange(12, dtype=float).reshape(6, 2), capacity=[6, 6],
                         value=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    constraints = [fa.CountBand(lower=2, upper=4), fa.ValueBand(lower=6.0, upper=15.0), fa.AssignAll()]
    repaired = repair(problem, bind(problem, constraints), np.ones(6, np.int64), SolveRequest())
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []


def test_priority_steers_the_choice_of_move() -> None:
    problem = fa.Problem(score=[[3.0, 1.0], [2.0, 1.5]], capacity=[1, 1])
    rules = bind(problem, [fa.AssignAll()])
    # by priority, lead 0 is the cheap one to move
    priority = np.array([1.0, 0.9, 5.0, 1.0])
    repaired = repair(problem, rules, np.array([0, 0]), SolveRequest(), priority=priority)
    assert repaired is not None
    assert repaired.tolist() == [1, 0]


def test_priority_of_the_wrong_shape_is_rejected() -> None:
    problem = fa.Problem(score=[[3.0, 1.0]], capacity=[1, 1])
    with pytest.raises(ValidationError, match=r"priority must have shape \(2,\)"):
        repair(problem, bind(problem, []), np.array([0]), SolveRequest(), priority=np.ones(3))


def test_usable_pairs_leave_out_leads_that_alone_overfill_a_rep() -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[1, 5], effort=[2.0, 1.0], value=[10.0, 1.0])
    usable = usable_pairs(problem, bind(problem, [fa.ValueBand(upper=[20.0, 5.0])]))
    # (0, 0): effort 2 > capacity 1; (0, 1): value 10 > band 5
    assert usable.tolist() == [False, False, True, True]


def test_a_must_assign_lead_too_heavy_for_every_rep_is_proven_hopeless() -> None:
    problem = fa.Problem(score=np.ones((3, 2)), capacity=[3, 3], value=[1.0, 1.0, 10.0])
    rules = bind(problem, [fa.AssignAll(), fa.FairShare(0.5)])  # shares at most 0.75 x 12 = 9
    repaired, proven = repair_with_proof(problem, rules, np.zeros(3, np.int64), SolveRequest())
    assert repaired is None and proven


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_pair_per_lead_start_is_repaired_on_a_larger_batch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_leads, n_reps, candidates = 600, 30, 8
    reps = np.array([np.sort(rng.choice(n_reps, size=candidates, replace=False)) for _ in range(n_leads)])
    leads = np.repeat(np.arange(n_leads), candidates)
    value = rng.lognormal(0.0, 0.5, size=n_leads)  # no lead alone above any rep's fair share
    score = sp.csr_array((value[leads] * rng.uniform(0.5, 1.5, leads.size), (leads, reps.ravel())),
                         shape=(n_leads, n_reps))
    capacity = np.full(n_reps, np.ceil(1.2 * n_leads / n_reps))
    problem = fa.Problem(score=score, capacity=capacity, value=value)
    constraints = [fa.AssignAll(), fa.FairShare(0.25)]
    # each lead on its best pair: capacity and fair shares broken
    order = np.lexsort((-problem.pair_score, problem.pair_lead))
    first = order[np.searchsorted(problem.pair_lead[order], np.arange(n_leads))]
    start = problem.pair_rep[first].astype(np.int64)
    assert fa.verify(problem, start, constraints)
    repaired = repair(problem, bind(problem, constraints), start, SolveRequest(seed=seed))
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []
    assert _score(problem, repaired) >= 0.9 * _score(problem, start)


def _heavy_lead_case() -> tuple[fa.Problem, list[fa.Constraint], np.ndarray, np.ndarray]:
    """Seed 0 at 1000 x 50 x 15 from the greedy's start: lead 860 (value 42.6) fits only rep 5,
    whose fair band [38.4, 47.0] the start fills with 30 small leads; every single move that
    lets the lead in, or makes room for it, breaks a rule on the way (more than 4000 pairs, so
    the MIP stage only sees a neighbourhood)."""
    problem = random_problem(1000, 50, 15, seed=0)
    constraints: list[fa.Constraint] = [fa.AssignAll(), fa.FairShare(0.1)]
    rules = bind(problem, constraints)
    answer = greedy_assign(problem, rules, SolveRequest())
    priority = problem.pair_score.copy()
    priority[answer.view.pair] = answer.adjusted
    return problem, constraints, answer.rep_of, priority


def test_a_missing_lead_that_needs_a_rep_emptied_first_is_placed() -> None:
    problem, constraints, start, priority = _heavy_lead_case()
    assert fa.verify(problem, start, constraints)
    repaired = repair(problem, bind(problem, constraints), start, SolveRequest(), priority=priority)
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []
    assert repaired[860] == 5


def test_the_mip_neighbourhood_holds_the_reps_a_missing_lead_could_take(monkeypatch: pytest.MonkeyPatch) -> None:
    # without the insertion stage, the MIP stage must free rep 5's leads (no rep is in breach)
    monkeypatch.setattr(repair_module._Repairer, "run_insertion", lambda self, deadline, steps=None: False)
    problem, constraints, start, priority = _heavy_lead_case()
    repaired = repair(problem, bind(problem, constraints), start, SolveRequest(), priority=priority)
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []
    assert repaired[860] == 5


def test_a_failed_insertion_leaves_the_state_as_it_was() -> None:
    problem, constraints, start, priority = _heavy_lead_case()
    state = repair_module._Repairer(problem, bind(problem, constraints), start, SolveRequest(), priority)
    assert not state.run_moves(deadline=float("inf"))
    before = state.pair_of.copy()
    assert not state.run_insertion(deadline=float("inf"), steps=1)  # one move cannot make room
    np.testing.assert_array_equal(state.pair_of, before)
    assert state.missing_weight == repair_module._MISSING_WEIGHT
    assert state.run_insertion(deadline=float("inf"))
    assert state.pair_of[860] >= 0 and fa.verify(problem, state.rep_of(), constraints) == []


def test_leads_kept_out_by_a_fair_share_are_placed_under_the_lexicographic_objective() -> None:
    problem, _, start, priority = _heavy_lead_case()
    constraints: list[fa.Constraint] = [fa.FairShare(0.1)]
    start = start.copy()
    start[860] = -1
    repaired = repair(problem, bind(problem, constraints), start, SolveRequest(), priority=priority)
    assert repaired is not None
    assert fa.verify(problem, repaired, constraints) == []
    assert (repaired >= 0).all()
    score_only = repair(problem, bind(problem, constraints), start, SolveRequest(objective="score"),
                        priority=priority)
    assert score_only is not None and fa.verify(problem, score_only, constraints) == []


def test_moves_lower_the_total_when_only_that_helps_reps_below_their_fair_bands() -> None:
    # five equal shares of FairShare(0.1): band [0.18 V, 0.22 V]. Reps 0 and 1 hold their one
    # allowed lead, 0.95, a hair below 0.18 x 5.35; no move touching them helps. Dropping rep 4's
    # small lead lowers the total to 5.25 and every band with it, which puts every rep inside:
    # the fix is a move away from every rep in breach
    value = np.array([0.95, 0.95, 1.15, 1.15, 1.05, 0.1])
    allowed = np.zeros((6, 5))
    allowed[[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 4]] = 1.0
    problem = fa.Problem(score=sp.csr_array(allowed), capacity=[1, 1, 1, 1, 2], value=value)
    rule = fa.FairShare(0.1, weight=np.ones(5))  # equal shares, whatever the capacities
    state = repair_module._Repairer(problem, bind(problem, [rule]), np.array([0, 1, 2, 3, 4, 4]),
                                    SolveRequest(objective="score"), None)
    penalty, _ = state.penalties()
    assert penalty[:2].min() > 0 and penalty[2:].max() == 0  # only reps 0 and 1 start outside
    assert state.run_moves(deadline=np.inf)
    assert state.rep_of().tolist() == [0, 1, 2, 3, 4, -1]
    assert fa.verify(problem, state.rep_of(), [rule]) == []


def test_a_time_limited_neighbourhood_answer_that_drops_most_leads_is_no_repair(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # under a fair share over a free total the empty assignment keeps every rule; HiGHS returns it
    # when its time runs out, and the repair must not take it for a fix
    import scipy.optimize

    class TimedOut:
        status = 1  # the time limit, not optimal

        def __init__(self, n: int) -> None:
            self.x = np.zeros(n)

    monkeypatch.setattr(scipy.optimize, "milp", lambda c, **kwargs: TimedOut(c.size))
    problem = random_problem(40, 4, seed=2)
    rules = bind(problem, [fa.FairShare(0.0)])
    start = np.arange(40) % 4
    state = repair_module._Repairer(problem, rules, start, SolveRequest(objective="score"), None)
    assert not state._keeps_rules()
    before = state.rep_of()
    assert np.count_nonzero(before >= 0) > 30
    assert state._solve_neighbourhood(np.arange(40, dtype=np.int64), deadline=np.inf) is False
    np.testing.assert_array_equal(state.rep_of(), before)  # the state is left as it was
