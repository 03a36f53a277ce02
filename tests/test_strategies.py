"""Strategies by name: results through the verifier, options, errors, and the optimiser >= every baseline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.baselines import BASELINES, TerritoryRule, round_robin, weighted_round_robin
from fairassign.datasets import load_example
from fairassign.errors import UnknownSolverError, ValidationError
from fairassign.strategies import OPTIMISER, baseline_options, run_strategy, strategy_names
from strategies import constraint_lists, problems, seeds


def test_strategy_names_lists_the_optimiser_the_baselines_and_every_backend() -> None:
    names = strategy_names()
    assert names[0] == OPTIMISER == "fairassign"
    assert names[1:7] == ("round-robin", "weighted-round-robin", "load-balancing", "territory", "points",
                          "cherry-picking")
    assert set(fa.solver_names()) <= set(names)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", list(BASELINES))
def test_a_baseline_result_is_verified_and_says_what_it_ignored(name: str) -> None:
    batch = load_example()
    constraints = (fa.AssignAll(), fa.FairShare(0.05))
    result = run_strategy(name, batch.problem, constraints, seed=3)
    assert isinstance(result, fa.Result)
    assert result.solver == name
    assert result.bound is None and result.gap is None
    assert "ignored AssignAll, FairShare" in result.reason
    assert result.constraints == constraints
    # a 5% fair share is far from what any CRM rule gives: the verifier says so
    assert result.status is fa.Status.INVALID
    assert {violation.rule for violation in result.violations} >= {"FairShare"}
    assert result.violations == tuple(fa.verify(batch.problem, result.rep_of, constraints))
    assert result.objective == pytest.approx(batch.problem.total_score(result.rep_of))
    assert result.n_assigned == int((result.rep_of >= 0).sum())


@pytest.mark.parametrize("name", list(BASELINES))
def test_a_baseline_under_hard_rules_only_is_feasible(name: str) -> None:
    problem = load_example().problem
    lead, rep = problem.lead_ids[4], problem.rep_ids[problem.pair_rep[problem.lead_start[4]]]
    forbidden = (problem.lead_ids[5], problem.rep_ids[problem.pair_rep[problem.lead_start[5]]])
    result = run_strategy(name, problem, [fa.Pin([(lead, rep)]), fa.Forbid([forbidden])])
    assert result.status is fa.Status.FEASIBLE, result.violations
    assert result.assignment()[lead] == rep
    assert result.reason.endswith("no rule ignored")


def test_the_same_seed_gives_the_same_result() -> None:
    problem = load_example().problem
    first = run_strategy("weighted-round-robin", problem, seed=5)
    again = run_strategy("weighted-round-robin", problem, seed=5)
    assert first.rep_of.tolist() == again.rep_of.tolist()
    assert first.settings is not None and first.settings.seed == 5 and first.settings.solver == "weighted-round-robin"


def test_options_reach_the_baseline() -> None:
    problem = load_example().problem
    monthly = np.full(problem.n_reps, 60.0)
    result = run_strategy("weighted-round-robin", problem, seed=2, monthly_capacity=monthly)
    assert result.rep_of.tolist() == weighted_round_robin(problem, seed=2, monthly_capacity=monthly).tolist()
    assert result.rep_count.max() <= 2  # a daily quota of round(60 / 30) = 2 leads

    entries = [TerritoryRule(reps=(problem.rep_ids[0],))]
    only_first = run_strategy("territory", problem, rules=entries)
    assert set(only_first.rep_of[only_first.rep_of >= 0].tolist()) == {0}


def test_round_robin_by_name_is_the_function() -> None:
    problem = load_example().problem
    assert run_strategy("round-robin", problem).rep_of.tolist() == round_robin(problem).tolist()


def test_the_optimiser_and_backends_run_fa_solve() -> None:
    problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1])
    expected = fa.solve(problem, [fa.AssignAll()])
    result = run_strategy("fairassign", problem, [fa.AssignAll()])
    assert result.rep_of.tolist() == expected.rep_of.tolist() and result.status is fa.Status.OPTIMAL
    by_backend = run_strategy("cpsat", problem, [fa.AssignAll()], time_limit=10)
    assert by_backend.solver == "cpsat" and by_backend.objective == pytest.approx(expected.objective)
    by_score = run_strategy("fairassign", problem, objective="score")
    assert by_score.objective == pytest.approx(fa.solve(problem, objective="score").objective)


def test_an_unknown_name_lists_the_valid_ones() -> None:
    problem = load_example().problem
    with pytest.raises(UnknownSolverError, match=r"unknown strategy 'round_robin'; valid names: fairassign, "
                                                 r"round-robin, weighted-round-robin"):
        run_strategy("round_robin", problem)
    with pytest.raises(UnknownSolverError, match="must be a strategy name"):
        run_strategy(3, problem)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "options", "message"), [
    ("round-robin", {"by": "count"}, r"baseline 'round-robin' takes the options start \(and seed\); "
                                     r"got unknown option\(s\) 'by'"),
    ("load-balancing", {"quota": 3, "by": "count"}, r"takes the options by, open_load .* 'quota'"),
    ("cherry-picking", {"allowed": None}, r"unknown option\(s\) 'allowed'"),
    ("fairassign", {"by": "count"}, r"strategy 'fairassign' runs fairassign.solve, which takes the options "
                                    r"objective, hint, rel_gap; got unknown option\(s\) 'by'"),
])
def test_an_unknown_option_is_named(name: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        run_strategy(name, load_example().problem, **options)


def test_bad_arguments_of_a_baseline_are_errors() -> None:
    problem = load_example().problem
    with pytest.raises(ValidationError, match="time_limit must be a positive number"):
        run_strategy("points", problem, time_limit=0)
    with pytest.raises(ValidationError, match="seed must be a non-negative integer"):
        run_strategy("points", problem, seed=-2)
    with pytest.raises(ValidationError, match="Pin names lead id 'nope'"):
        run_strategy("points", problem, [fa.Pin([("nope", "Ana")])])
    with pytest.raises(ValidationError, match=r"problem must be a fairassign\.Problem"):
        run_strategy("points", [[1.0]])  # type: ignore[arg-type]


def test_baseline_options_are_listed() -> None:
    assert baseline_options("weighted-round-robin") == ("monthly_capacity", "opened_last_day", "lead_priority")
    assert baseline_options("territory") == ("rules", "lead_attributes")


# ----------------------------------------------------------------------------- optimiser >= baselines


@given(drawn=problems(), data=st.data(), seed=seeds)
def test_the_optimiser_scores_at_least_every_baseline_that_keeps_the_same_rules(
        drawn: tuple[fa.Problem, np.ndarray], data: st.DataObject, seed: int) -> None:
    problem, _ = drawn
    constraints = data.draw(constraint_lists(problem, capacity_only=True))
    best = run_strategy("fairassign", problem, constraints, objective="score", seed=seed)
    tolerance = 1e-6 * max(1.0, float(np.abs(problem.pair_score).sum()))
    for name in BASELINES:
        baseline = run_strategy(name, problem, constraints, seed=seed)
        assert baseline.status in (fa.Status.FEASIBLE, fa.Status.INVALID)
        if not baseline.status.has_solution:
            continue  # it broke a rule (AssignAll, a count cap or a pin it had no room for)
        # a rule-keeping assignment exists, so the optimiser must find one at least as good
        assert best.status.has_solution, (name, best.status, best.diagnosis)
        assert best.objective >= baseline.objective - tolerance, (name, best.objective, baseline.objective)
        if best.bound is not None:
            assert best.bound >= baseline.objective - tolerance, name
