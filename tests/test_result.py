"""fairassign.result: Status, relative_gap and the Result object."""

from __future__ import annotations

import dataclasses
import re
import time

import numpy as np
import pytest

import fairassign as fa
from fairassign.result import relative_gap
from fairassign.rules import bind
from fairassign.solve import assemble
from fairassign.solvers.base import SolverOutput


@pytest.fixture
def problem() -> fa.Problem:
    return fa.Problem(score=[[5.0, 1.0], [4.0, np.nan], [2.0, 2.5]], capacity=[2, 1],
                      lead_ids=["L-0", "L-1", "L-2"], rep_ids=["R-0", "R-1"])


def make(problem: fa.Problem, rep_of: list[int], status: fa.Status, bound: float | None = None,
         diagnosis: tuple[str, ...] = ()) -> fa.Result:
    output = SolverOutput(rep_of=np.array(rep_of, dtype=np.int64), status=status, bound=bound, diagnosis=diagnosis)
    return assemble(problem, bind(problem), output, "stub", "made by hand", time.perf_counter())


def test_status_has_solution() -> None:
    assert [status.name for status in fa.Status if status.has_solution] == ["OPTIMAL", "FEASIBLE"]
    assert fa.Status("optimal") is fa.Status.OPTIMAL


def test_relative_gap() -> None:
    assert relative_gap(9.0, None) is None
    assert relative_gap(9.0, 10.0) == pytest.approx(0.1)
    assert relative_gap(10.0, 10.0) == 0.0
    assert relative_gap(10.0, 9.0) == 0.0  # never negative
    assert relative_gap(-10.0, -5.0) == pytest.approx(0.5)
    assert relative_gap(0.0, 0.0) == 0.0


def test_raise_for_status_returns_self_with_a_solution(problem: fa.Problem) -> None:
    for status in (fa.Status.OPTIMAL, fa.Status.FEASIBLE):
        result = make(problem, [0, 0, 1], status)
        assert result.raise_for_status() is result


def test_raise_for_status_infeasible(problem: fa.Problem) -> None:
    result = make(problem, [-1, -1, -1], fa.Status.INFEASIBLE, diagnosis=("reason one", "reason two"))
    with pytest.raises(fa.InfeasibleError, match=re.escape("the rules admit no assignment: reason one; reason two")):
        result.raise_for_status()
    without = make(problem, [-1, -1, -1], fa.Status.INFEASIBLE)
    with pytest.raises(fa.InfeasibleError, match="no diagnosis"):
        without.raise_for_status()


def test_raise_for_status_no_solution(problem: fa.Problem) -> None:
    result = make(problem, [-1, -1, -1], fa.Status.NO_SOLUTION, diagnosis=("time ran out",))
    with pytest.raises(fa.NoSolutionError, match=re.escape("solver 'stub' found no feasible assignment: time ran out")):
        result.raise_for_status()


def test_error_tree() -> None:
    assert issubclass(fa.InfeasibleError, fa.SolveError) and issubclass(fa.NoSolutionError, fa.SolveError)
    assert issubclass(fa.SolveError, fa.FairAssignError)
    assert issubclass(fa.MissingDependencyError, ImportError)


def test_assignment_and_records(problem: fa.Problem) -> None:
    result = make(problem, [1, 0, -1], fa.Status.FEASIBLE)
    assert result.assigned.tolist() == [True, True, False]
    assert result.assignment() == {"L-0": "R-1", "L-1": "R-0"}
    assert result.to_records() == [
        {"lead_id": "L-0", "rep_id": "R-1", "score": 1.0},
        {"lead_id": "L-1", "rep_id": "R-0", "score": 4.0},
        {"lead_id": "L-2", "rep_id": None, "score": None},
    ]
    assert all(type(record["lead_id"]) is str for record in result.to_records())


def test_summary_and_repr(problem: fa.Problem) -> None:
    result = make(problem, [0, 0, 1], fa.Status.OPTIMAL, bound=11.5)
    lines = result.summary().splitlines()
    assert lines[0] == "status     OPTIMAL"
    assert lines[1] == "assigned   3 of 3 leads"
    assert lines[2] == "objective  11.5   bound 11.5   gap 0.000%"
    assert lines[3] == "solver     stub (made by hand)"
    assert lines[4].startswith("time       ") and lines[4].endswith(" s")
    assert repr(result) == "Result(status=OPTIMAL, objective=11.5, bound=11.5, gap=0.0, n_assigned=3/3, solver='stub')"
    infeasible = make(problem, [-1, -1, -1], fa.Status.INFEASIBLE, diagnosis=("no room",))
    assert "objective  0   bound n/a   gap n/a" in infeasible.summary()
    assert infeasible.summary().splitlines()[-1] == "diagnosis  no room"


def test_summary_lists_violations(problem: fa.Problem) -> None:
    result = make(problem, [1, -1, 1], fa.Status.FEASIBLE)
    assert result.status is fa.Status.INVALID
    assert result.summary().splitlines()[-1] == "violation  rep 'R-1' receives effort 2 over capacity 1 (by 1)"


def test_result_is_frozen(problem: fa.Problem) -> None:
    result = make(problem, [0, 0, 1], fa.Status.OPTIMAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.objective = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        result.rep_count[0] = 0.0
