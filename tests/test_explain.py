"""Explanations: every reason type on a hand-made batch, and the facts checked independently on random ones."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.explain import REP_REASONS, UNASSIGNED_REASONS, Explanation, explain
from fairassign.rules import bind
from fairassign.solve import assemble
from fairassign.solvers.base import SolverOutput
from strategies import cases

NAN = np.nan


def hand_made(problem: fa.Problem, rep_of: list[int], constraints: tuple[fa.Constraint, ...] = (),
              status: fa.Status = fa.Status.FEASIBLE) -> fa.Result:
    """A result as a baseline would build it: any assignment, measured and verified by assemble."""
    output = SolverOutput(rep_of=np.asarray(rep_of, dtype=np.int64), status=status)
    return assemble(problem, bind(problem, constraints), output, "hand", "test", time.perf_counter())


def dumps(explanation: Explanation) -> str:
    return json.dumps(explanation.to_dict(), allow_nan=False)


# ------------------------------------------------------------------------------------------- assigned leads
def test_capacity_reason_and_exchange_name_the_displaced_lead() -> None:
    problem = fa.Problem(score=[[5.0, 4.0], [6.0, 1.0]], capacity=[1, 1], lead_ids=["a", "b"], rep_ids=["Ann", "Bo"])
    result = fa.solve(problem, solver="flow")
    why = result.explain("a")
    assert (why.rep_id, why.score, why.runner_up_rep_id, why.runner_up_score) == ("Bo", 4.0, "Ann", 5.0)
    assert why.difference == -1.0
    ann = why.reason_for("Ann")
    assert ann.reason == "capacity" and ann.score_difference == 1.0
    (binding,) = ann.bindings
    assert (binding.rep_id, binding.before, binding.limit, binding.change, binding.left) == ("Ann", 1.0, 1.0, 1.0, 0.0)
    assert binding.before == result.rep_effort[0]
    exchange = why.exchange
    assert exchange is not None and exchange.to_rep_id == "Ann"
    assert [(m.lead_id, m.from_rep_id, m.to_rep_id) for m in exchange.moves] == [("a", "Bo", "Ann"), ("b", "Ann", "Bo")]
    assert exchange.score_change == -4.0 and exchange.count_change == 0
    assert "'b'" in why.text() and "Ann" in why.text()
    dumps(why)


def test_lower_and_equal_score() -> None:
    problem = fa.Problem(score=[[5.0, 3.0, 5.0]], capacity=[1, 1, 1], rep_ids=["x", "y", "z"])
    why = fa.solve(problem, solver="flow").explain(0)
    assert why.rep_id == "x"
    assert why.reason_for("y").reason == "lower_score" and why.reason_for("y").score_difference == -2.0
    assert why.reason_for("z").reason == "equal_score"
    assert why.runner_up_rep_id == "z" and why.difference == 0.0  # the best other rep, not the lowest-scored
    assert why.exchange is not None and len(why.exchange.moves) == 1 and why.exchange.score_change == 0.0
    assert [other.rep_id for other in why.others] == ["z", "y"]  # best score first


def test_not_eligible_reasons_name_the_rule() -> None:
    problem = fa.Problem(score=[[1.0, 9.0, NAN, 8.0], [1.0, 1.0, 1.0, 1.0]], capacity=[2, 2, 2, 2],
                         lead_ids=["p", "q"], rep_ids=["A", "B", "C", "D"])
    rules = (fa.Forbid([("p", "B")]),)
    why = fa.solve(problem, rules, solver="flow").explain("p")
    assert why.rep_id == "D"
    assert why.reason_for("B").reason == "forbidden"
    assert why.not_candidate_rep_ids == ("C",)
    assert why.runner_up_rep_id == "A"  # B scores more but is forbidden
    pinned = fa.solve(problem, (fa.Pin([("p", "A")]),), solver="flow").explain("p")
    assert pinned.rep_id == "A" and pinned.pinned
    assert {other.reason for other in pinned.others} == {"pinned_elsewhere"}
    assert pinned.runner_up_rep_id is None and pinned.exchange is None
    assert "Pin" in pinned.summary


def test_count_and_value_upper_limits() -> None:
    problem = fa.Problem(score=[[5.0, 1.0], [4.0, 1.0]], capacity=[np.inf, np.inf], value=[10.0, 30.0],
                         rep_ids=["A", "B"])
    by_count = fa.solve(problem, [fa.CountBand(upper=1)], solver="mip")
    lead = int(np.flatnonzero(by_count.rep_of == 1)[0])
    reason = by_count.explain(lead).reason_for("A")
    assert reason.reason == "count_upper"
    assert (reason.bindings[0].before, reason.bindings[0].limit) == (1.0, 1.0)

    by_value = fa.solve(problem, [fa.ValueBand(upper=[35.0, np.inf])], solver="mip")
    assert by_value.rep_of.tolist() == [0, 1]
    reason = by_value.explain(1).reason_for("A")
    assert reason.reason == "value_upper"
    assert (reason.bindings[0].before, reason.bindings[0].change, reason.bindings[0].limit) == (10.0, 30.0, 35.0)


def test_lower_limits_of_the_rep_losing_the_lead() -> None:
    problem = fa.Problem(score=[[5.0, 1.0], [4.0, 1.0]], capacity=[5, 5], value=[1.0, 3.0], rep_ids=["A", "B"])
    result = fa.solve(problem, [fa.CountBand(lower=1)], solver="mip")
    assert result.rep_of.tolist() == [0, 1]
    reason = result.explain(1).reason_for("A")
    assert reason.reason == "count_lower" and reason.bindings[0].rep_id == "B"
    by_value = fa.solve(problem, [fa.ValueBand(lower=[0.0, 3.0])], solver="mip")
    assert by_value.explain(1).reason_for("A").reason == "value_lower"


def test_fair_share_ceiling_and_floor() -> None:
    problem = fa.Problem(score=[[5.0, 1.0]] * 4, capacity=[4, 4], value=[1.0, 1.0, 1.0, 1.0], rep_ids=["A", "B"])
    result = fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.0)], solver="mip")
    assert sorted(result.rep_of.tolist()) == [0, 0, 1, 1]
    lead_at_b = int(np.flatnonzero(result.rep_of == 1)[0])
    reason = result.explain(lead_at_b).reason_for("A")
    assert reason.reason == "fair_high"
    rules = {binding.rule: binding for binding in reason.bindings}
    assert rules["fair_high"].after == 3.0 and rules["fair_high"].limit == 2.0
    assert rules["fair_low"].rep_id == "B" and rules["fair_low"].after == 1.0


def test_better_unused_on_a_poor_assignment() -> None:
    problem = fa.Problem(score=[[1.0, 7.0]], capacity=[1, 1], rep_ids=["A", "B"])
    why = hand_made(problem, [0]).explain(0)
    assert why.reason_for("B").reason == "better_unused"
    assert why.exchange is not None and why.exchange.score_change == 6.0
    assert "not optimal" in why.exchange.message
    assert any("FEASIBLE" in note for note in why.notes)


def test_invalid_result_blames_a_move_only_for_what_it_makes_worse() -> None:
    # a baseline that ignores FairShare: both leads on A although the rule wants them split
    problem = fa.Problem(score=[[5.0, 1.0], [5.0, 1.0]], capacity=[2, 2], rep_ids=["A", "B"])
    result = hand_made(problem, [0, 0], (fa.FairShare(0.0),))
    assert result.status is fa.Status.INVALID
    why = result.explain(0)
    assert why.reason_for("B").reason == "lower_score"  # moving to B repairs fairness, it breaks nothing
    assert any("breaks rules" in note for note in why.notes)
    dumps(why)


# ------------------------------------------------------------------------------------------- unassigned leads
def test_unassigned_objective_preferred_other_leads() -> None:
    problem = fa.Problem(score=[[9.0], [2.0]], capacity=[1], lead_ids=["big", "small"], rep_ids=["A"])
    why = fa.solve(problem, solver="flow").explain("small")
    assert why.rep_id is None and why.score is None and why.difference is None
    assert why.unassigned_reason == "objective"
    assert why.runner_up_rep_id == "A" and why.runner_up_score == 2.0
    assert why.exchange is not None and why.exchange.moves[1].lead_id == "big"
    assert why.exchange.score_change == -7.0 and why.exchange.count_change == 0
    assert "'big'" in why.summary


def test_unassigned_all_full() -> None:
    # the only rep is full with a pinned lead, so nothing can make room
    problem = fa.Problem(score=[[1.0], [5.0]], capacity=[1], lead_ids=["pinned", "late"], rep_ids=["A"])
    why = fa.solve(problem, [fa.Pin([("pinned", "A")])], solver="flow").explain("late")
    assert why.unassigned_reason == "all_full"
    assert why.exchange is None and any("larger rearrangement" in note for note in why.notes)


def test_unassigned_by_rules_and_without_eligible_rep() -> None:
    problem = fa.Problem(score=[[1.0, NAN], [1.0, 2.0], [NAN, NAN]], capacity=[5, 5], value=[5.0, 1.0, 1.0],
                         lead_ids=["v", "w", "x"], rep_ids=["A", "B"])
    result = fa.solve(problem, [fa.ValueBand(upper=4.0), fa.Forbid([("w", "A"), ("w", "B")])], solver="mip")
    assert result.explain("v").unassigned_reason == "rules"
    assert result.explain("v").reason_for("A").reason == "value_upper"
    assert result.explain("w").unassigned_reason == "no_eligible_rep"
    assert "Forbid" in result.explain("w").summary
    assert result.explain("x").unassigned_reason == "no_eligible_rep"
    assert result.explain("x").not_candidate_rep_ids == ("A", "B")


def test_unassigned_negative_score_and_missed() -> None:
    problem = fa.Problem(score=[[-1.0, -2.0]], capacity=[1, 1], rep_ids=["A", "B"])
    why = fa.solve(problem, objective="score", solver="mip").explain(0)
    assert why.objective == "score" and why.unassigned_reason == "negative_score"
    assert why.reason_for("A").reason == "negative_score"
    missed = hand_made(problem, [-1]).explain(0)
    assert missed.unassigned_reason == "missed" and missed.reason_for("A").reason == "better_unused"


def test_not_solved() -> None:
    problem = fa.Problem(score=[[1.0], [1.0]], capacity=[1], rep_ids=["A"])
    result = fa.solve(problem, [fa.AssignAll()])
    assert result.status is fa.Status.INFEASIBLE
    why = result.explain(0)
    assert why.unassigned_reason == "not_solved" and "INFEASIBLE" in why.summary
    assert why.reason_for("A").reason == "not_solved"


def test_every_reason_has_words() -> None:
    assert set(UNASSIGNED_REASONS) >= {"not_solved", "no_eligible_rep", "all_full", "rules", "objective",
                                       "negative_score", "missed"}
    assert {"capacity", "forbidden", "fair_high", "lower_score"} <= set(REP_REASONS)


def test_lead_by_id_or_position_and_bad_lead() -> None:
    problem = fa.Problem(score=[[1.0], [2.0]], capacity=[2], lead_ids=["a", "b"])
    result = fa.solve(problem)
    assert explain(result, "b").lead == 1
    assert result.explain(position=1).lead_id == "b"
    with pytest.raises(fa.ValidationError, match="lead_ids"):
        result.explain("zz")
    with pytest.raises(fa.ValidationError, match="exactly one"):
        result.explain("a", position=0)
    with pytest.raises(fa.ValidationError, match="position"):
        result.explain(position=2)


def test_example_batch_every_lead(rng: np.random.Generator) -> None:
    batch = fa.datasets.load_example()
    result = fa.solve(batch.problem, [fa.CountBand(upper=12)], solver="greedy")
    for lead in batch.problem.lead_ids.tolist():
        why = result.explain(lead)
        dumps(why)
        assert why.text().startswith(f"Lead {lead!r}")


# ------------------------------------------------------------------------------------------- properties
def _apply(problem: fa.Problem, rep_of: np.ndarray, moves: list[tuple[int, int]]) -> np.ndarray:
    changed = rep_of.copy()
    for lead, rep in moves:
        changed[lead] = rep
    return changed


def _position(problem: fa.Problem, rep_id: object) -> int:
    return -1 if rep_id is None else problem.rep_position(rep_id)


def check_facts(result: fa.Result, exact_capacity_only: bool) -> None:
    problem, constraints = result.problem, result.constraints
    dense = problem.dense_score()
    forbidden = {pair for rule in constraints if isinstance(rule, fa.Forbid) for pair in rule.pairs}
    pinned = {}
    for rule in constraints:
        if isinstance(rule, fa.Pin):
            for lead_id, rep_id in rule.pairs:
                pinned.setdefault(lead_id, rep_id)
    valid = result.status.has_solution
    lead_ids, rep_ids = problem.lead_ids.tolist(), problem.rep_ids.tolist()
    for lead, lead_id in enumerate(lead_ids):
        why = result.explain(lead_id)
        json.dumps(why.to_dict(), allow_nan=False)
        why.text()
        chosen = int(result.rep_of[lead])
        assert why.rep_id == (None if chosen < 0 else rep_ids[chosen])
        if chosen >= 0:
            assert why.score == dense[lead, chosen]
        # runner-up: the best other candidate that is neither forbidden nor excluded by a pin
        others = [r for r in range(problem.n_reps) if r != chosen and np.isfinite(dense[lead, r])
                  and (lead_id, rep_ids[r]) not in forbidden
                  and (lead_id not in pinned or pinned[lead_id] == rep_ids[r])]
        if others:
            best = max(dense[lead, r] for r in others)
            assert why.runner_up_score == best
        else:
            assert why.runner_up_rep_id is None
        assert {other.rep_id for other in why.others} | set(why.not_candidate_rep_ids) | (
            set() if chosen < 0 else {rep_ids[chosen]}) == set(rep_ids)
        if chosen < 0:
            assert why.unassigned_reason in UNASSIGNED_REASONS
        for other in why.others:
            assert other.reason in REP_REASONS
            rep = problem.rep_position(other.rep_id)
            assert other.score == dense[lead, rep]
            for binding in other.bindings:
                if binding.rule == "capacity":  # "rep full" claims match the result's effort and capacity
                    pair = problem.pair_index([lead], [rep])[0]
                    assert binding.before == pytest.approx(result.rep_effort[rep])
                    assert binding.limit == problem.capacity[rep]
                    assert binding.change == problem.pair_effort[pair]
                    assert binding.after > binding.limit
            if not valid or other.reason in ("forbidden", "pinned_elsewhere", "not_solved"):
                continue
            moved = _apply(problem, result.rep_of, [(lead, rep)])
            broken = fa.verify(problem, moved, constraints)
            # the verifier agrees: a move with bindings breaks a rule, one without keeps all
            assert bool(broken) == bool(other.bindings), (other, broken)
        exchange = why.exchange
        if exchange is not None and valid:
            moves = [(problem.lead_position(m.lead_id), _position(problem, m.to_rep_id)) for m in exchange.moves]
            moved = _apply(problem, result.rep_of, moves)
            assert fa.verify(problem, moved, constraints) == []
            assert exchange.score_change == pytest.approx(problem.total_score(moved) - result.objective, abs=1e-9)
            assert exchange.count_change == int((moved >= 0).sum()) - result.n_assigned
            if exact_capacity_only and result.status is fa.Status.OPTIMAL:
                # the exchange argument: nothing small improves an optimum
                assert (exchange.count_change, exchange.score_change) <= (0, 1e-9)
        if exact_capacity_only and result.status is fa.Status.OPTIMAL:
            assert why.unassigned_reason != "missed"
            assert all(other.reason != "better_unused" for other in why.others)


@given(cases(), st.sampled_from(["auto", "greedy", "mip", "lp-round"]))
def test_explanation_facts_hold(case: object, solver: str) -> None:
    problem, constraints = case.problem, case.constraints  # type: ignore[attr-defined]
    try:
        result = fa.solve(problem, constraints, solver=solver, seed=0)
    except fa.ValidationError:  # a backend that cannot take this batch says so; not what is tested here
        return
    check_facts(result, exact_capacity_only=False)


@given(cases(capacity_only=True, score_style="ties"))
def test_explanation_of_flow_optimum_admits_no_improving_exchange(case: object) -> None:
    result = fa.solve(case.problem, case.constraints, solver="flow")  # type: ignore[attr-defined]
    check_facts(result, exact_capacity_only=True)


@given(cases(), st.integers(0, 2**32 - 1))
def test_explain_any_assignment_never_crashes(case: object, seed: int) -> None:
    """A baseline's answer may break rules (INVALID): the explanation still holds together."""
    problem, constraints = case.problem, case.constraints  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    rep_of = rng.integers(-1, problem.n_reps, size=problem.n_leads)
    try:
        result = hand_made(problem, rep_of.tolist(), constraints)
    except fa.ValidationError:
        return
    for lead in range(problem.n_leads):
        why = result.explain(position=lead)
        json.dumps(why.to_dict(), allow_nan=False)
        assert why.text()
