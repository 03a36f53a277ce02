"""fairassign.solve: argument checks, and how a backend's answer becomes a Result (assemble)."""

from __future__ import annotations

import re
import time
from contextlib import AbstractContextManager

import numpy as np
import pytest

import fairassign as fa
from fairassign.errors import UnknownSolverError, ValidationError
from fairassign.rules import bind
from fairassign.solve import assemble
from fairassign.solvers.base import SolverOutput


@pytest.fixture
def problem() -> fa.Problem:
    return fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1],
                      lead_ids=["a", "b", "c"], rep_ids=["x", "y"])


def raises(message: str) -> AbstractContextManager[pytest.ExceptionInfo[ValidationError]]:
    return pytest.raises(ValidationError, match=re.escape(message))


# ----------------------------------------------------------------------------- arguments
def test_problem_must_be_a_problem() -> None:
    with raises("problem must be a fairassign.Problem, got list"):
        fa.solve([[1.0]])  # type: ignore[arg-type]


@pytest.mark.parametrize("objective", ["max", None, "Score"])
def test_bad_objective(problem: fa.Problem, objective: object) -> None:
    with raises(f"objective must be one of ('lexicographic', 'score'), got {objective!r}"):
        fa.solve(problem, objective=objective)  # type: ignore[arg-type]


@pytest.mark.parametrize("time_limit", [0, -1.0, float("inf"), float("nan"), "10", True])
def test_bad_time_limit(problem: fa.Problem, time_limit: object) -> None:
    with raises(f"time_limit must be a positive number of seconds or None, got {time_limit!r}"):
        fa.solve(problem, time_limit=time_limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None, False])
def test_bad_seed(problem: fa.Problem, seed: object) -> None:
    with raises(f"seed must be a non-negative integer, got {seed!r}"):
        fa.solve(problem, seed=seed)  # type: ignore[arg-type]


def test_numpy_integer_seed_is_fine(problem: fa.Problem) -> None:
    assert fa.solve(problem, seed=np.int64(3)).status is fa.Status.OPTIMAL


def test_bad_hint_shape_or_dtype(problem: fa.Problem) -> None:
    with raises("hint must be a Result or an integer rep_of array of shape (3,), got shape (2,) and dtype int64"):
        fa.solve(problem, hint=np.array([0, 1]))
    with raises("hint must be a Result or an integer rep_of array of shape (3,), got shape (3,) and dtype float64"):
        fa.solve(problem, hint=[0.0, 1.0, -1.0])


def test_bad_hint_values(problem: fa.Problem) -> None:
    with raises("hint must hold rep positions in [-1, 1]"):
        fa.solve(problem, hint=[0, 2, -1])
    with raises("hint must hold rep positions in [-1, 1]"):
        fa.solve(problem, hint=[0, -2, -1])


def test_unknown_solver_lists_the_names(problem: fa.Problem) -> None:
    names = ", ".join(repr(name) for name in ("auto", *fa.solver_names()))
    with pytest.raises(UnknownSolverError, match=re.escape(f"solver must be one of {names}; got 'simplex'")):
        fa.solve(problem, solver="simplex")
    assert issubclass(UnknownSolverError, ValueError)
    assert {"flow", "cpsat", "mip", "lp-round", "greedy"} <= set(fa.solver_names())


def test_unknown_solver_raises_even_when_the_batch_is_infeasible(problem: fa.Problem) -> None:
    with pytest.raises(UnknownSolverError, match="got 'simplex'"):
        fa.solve(problem, [fa.CountBand(lower=5)], solver="simplex")


def test_constraints_must_be_constraints(problem: fa.Problem) -> None:
    with raises("constraints must hold fairassign rules (AssignAll, CountBand, ValueBand, FairShare, Pin, Forbid), "
                "got 0.1"):
        fa.solve(problem, [0.1])  # type: ignore[list-item]
    with raises("constraints must be an iterable of fairassign constraints, got float"):
        fa.solve(problem, 0.1)  # type: ignore[arg-type]


def test_backend_that_cannot_take_the_batch(problem: fa.Problem) -> None:
    with pytest.raises(ValidationError, match=r"^solver 'flow' cannot solve this batch: .*FairShare.*; "
                                              r"use solver='auto'$"):
        fa.solve(problem, [fa.FairShare(0.5)], solver="flow")


# ----------------------------------------------------------------------------- a real solve
def test_docstring_example(problem: fa.Problem) -> None:
    result = fa.solve(problem, [fa.AssignAll()])
    assert result.status is fa.Status.OPTIMAL
    assert result.rep_of.tolist() == [0, 0, 1]
    assert result.objective == 11.5
    assert result.solver == "flow" and result.reason.startswith("auto: ")
    assert result.assignment() == {"a": "x", "b": "x", "c": "y"}
    assert fa.verify(problem, result, [fa.AssignAll()]) == []


def test_a_single_constraint_need_not_be_in_a_list(problem: fa.Problem) -> None:
    assert fa.solve(problem, fa.AssignAll()).status is fa.Status.OPTIMAL


def test_solver_chosen_by_the_caller(problem: fa.Problem) -> None:
    result = fa.solve(problem, solver="flow")
    assert result.solver == "flow" and result.reason.startswith("chosen by the caller")


def test_infeasible_found_before_solving(problem: fa.Problem) -> None:
    result = fa.solve(problem, [fa.CountBand(lower=2)], solver="cpsat")
    assert result.status is fa.Status.INFEASIBLE
    assert result.reason == "infeasibility found before solving"
    assert result.diagnosis == ("rep 'y' must receive at least 2 leads but has only 1 eligible leads or room",
                                "count bands ask for 4 leads in total, but there are 3")


# ----------------------------------------------------------------------------- assemble
def assembled(problem: fa.Problem, output: SolverOutput, constraints: list[fa.Constraint] | None = None) -> fa.Result:
    return assemble(problem, bind(problem, constraints or []), output, "stub", "a test", time.perf_counter())


def test_assemble_measures_the_answer(problem: fa.Problem) -> None:
    output = SolverOutput(rep_of=np.array([0, 1, 0]), status=fa.Status.FEASIBLE, bound=11.5, notes=("exact",))
    result = assembled(problem, output)
    assert result.status is fa.Status.FEASIBLE
    assert result.objective == 10.0 and result.bound == 11.5 and result.gap == pytest.approx(1.5 / 11.5)
    assert result.n_assigned == 3
    assert result.rep_count.tolist() == [2.0, 1.0]
    assert result.rep_effort.tolist() == [2.0, 1.0]
    assert result.rep_value.tolist() == [2.0, 1.0]
    assert result.violations == () and result.diagnosis == ()
    assert result.solver == "stub" and result.reason == "a test; exact"
    assert result.solve_time >= 0.0
    with pytest.raises(ValueError):
        result.rep_of[0] = 1  # read-only


def test_assemble_turns_a_rule_breaking_answer_into_invalid(problem: fa.Problem) -> None:
    output = SolverOutput(rep_of=np.array([1, 1, 0]), status=fa.Status.FEASIBLE, bound=20.0)
    result = assembled(problem, output)
    assert result.status is fa.Status.INVALID
    assert [v.rule for v in result.violations] == ["capacity"]
    assert result.bound is None and result.gap is None
    with pytest.raises(fa.SolveError, match=re.escape(
            "solver 'stub' returned an assignment that breaks rules: rep 'y' receives effort 2 over capacity 1")):
        result.raise_for_status()


def test_assemble_checks_the_callers_rules(problem: fa.Problem) -> None:
    output = SolverOutput(rep_of=np.array([0, -1, 0]), status=fa.Status.OPTIMAL)
    assert assembled(problem, output, [fa.AssignAll()]).status is fa.Status.INVALID
    assert assembled(problem, output).status is fa.Status.OPTIMAL


def test_assemble_survives_a_rep_out_of_range(problem: fa.Problem) -> None:
    output = SolverOutput(rep_of=np.array([2, -1, -1]), status=fa.Status.FEASIBLE)
    result = assembled(problem, output)
    assert result.status is fa.Status.INVALID
    assert result.rep_count.shape == (2,) and result.objective == 0.0
    assert [v.rule for v in result.violations] == ["assignment"]


def test_assemble_discards_a_bound_below_the_objective(problem: fa.Problem) -> None:
    output = SolverOutput(rep_of=np.array([0, 1, 0]), status=fa.Status.FEASIBLE, bound=9.0)
    result = assembled(problem, output)
    assert result.bound is None and result.gap is None
    assert "discarded a bound 9 below the objective" in result.reason


def test_assemble_takes_a_bound_a_hair_below_as_the_objective(problem: fa.Problem) -> None:
    output = SolverOutput(rep_of=np.array([0, 1, 0]), status=fa.Status.FEASIBLE, bound=10.0 - 1e-12)
    result = assembled(problem, output)
    assert result.bound == 10.0 and result.gap == 0.0


def test_assemble_gap(problem: fa.Problem) -> None:
    output = SolverOutput(rep_of=np.array([0, 1, 0]), status=fa.Status.FEASIBLE, bound=12.5)
    assert assembled(problem, output).gap == pytest.approx(0.2)


@pytest.mark.parametrize("status", [fa.Status.INFEASIBLE, fa.Status.NO_SOLUTION])
def test_assemble_clears_the_assignment_without_a_solution(problem: fa.Problem, status: fa.Status) -> None:
    output = SolverOutput(rep_of=np.array([1, 1, 1]), status=status, bound=3.0, diagnosis=("why",))
    result = assembled(problem, output)
    assert result.status is status
    assert result.rep_of.tolist() == [-1, -1, -1]
    assert result.objective == 0.0 and result.n_assigned == 0
    assert result.bound is None and result.gap is None
    assert result.violations == () and result.diagnosis == ("why",)


@pytest.mark.parametrize("rel_gap", [-0.1, 1.0, "0.1", True, float("nan")])
def test_rel_gap_must_be_a_fraction(rel_gap):
    problem = fa.Problem(score=[[1.0]], capacity=[1])
    with pytest.raises(fa.ValidationError, match=r"rel_gap must be a number in \[0, 1\)"):
        fa.solve(problem, rel_gap=rel_gap)
