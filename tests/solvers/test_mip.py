"""Backend "mip" (PuLP with HiGHS or CBC): brute force on tiny batches, time limits, hints, hygiene.

The conformance suite runs ``solver="mip"`` with its default MIP solver; here both HiGHS and
CBC are forced in turn (``MipSolver(backend=...)``), called directly so that the backend's
own infeasibility proofs are exercised even where :func:`fairassign.diagnosis.diagnose`
would have answered first, and every answer goes through :func:`fairassign.solve.assemble`,
which runs the independent verifier.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.errors import MissingDependencyError, ValidationError
from fairassign.rules import bind
from fairassign.solve import assemble
from fairassign.solvers.base import SolveRequest
from fairassign.solvers.mip import MipSolver
from oracle import STRICT_RTOL, VERIFY_RTOL, brute_force
from strategies import Case, cases

MIP_SOLVERS = ("highs", "cbc")
EFFORT_FORMS = ("unit", "lead", "pair")
OBJECTIVES = ("lexicographic", "score")
#: the score phase stops at a 1e-9 gap; brute force and the solver may sum in another order
SCORE_RTOL = 1e-7


def run(problem: fa.Problem, constraints: tuple[fa.Constraint, ...], backend: str, *,
        objective: str = "lexicographic", time_limit: float | None = None, seed: int = 0,
        hint: np.ndarray | None = None) -> fa.Result:
    """Solve with ``MipSolver(backend)`` directly, then measure and verify as ``fa.solve`` does."""
    started = time.perf_counter()
    rules = bind(problem, constraints)
    request = SolveRequest(objective=objective, time_limit=time_limit, seed=seed,  # type: ignore[arg-type]
                           hint=None if hint is None else np.asarray(hint, dtype=np.int64))
    output = MipSolver(backend=backend).solve(problem, rules, request)  # type: ignore[arg-type]
    return assemble(problem, rules, output, "mip", f"MipSolver(backend={backend!r})", started)


def score_tolerance(problem: fa.Problem) -> float:
    return SCORE_RTOL * max(1.0, float(np.abs(problem.pair_score).sum()))


def check_result(problem: fa.Problem, constraints: tuple[fa.Constraint, ...], result: fa.Result) -> None:
    """Never INVALID; a returned assignment keeps every rule and lies under its bound."""
    assert result.status is not fa.Status.INVALID, result.summary()
    assert result.violations == ()
    if result.status.has_solution:
        assert fa.verify(problem, result, constraints) == []
        assert result.bound is not None, result.summary()
        assert result.objective <= result.bound + 1e-9 * max(1.0, abs(result.bound))
        assert "discarded a bound" not in result.reason
    else:
        assert (result.rep_of == -1).all()
        assert result.diagnosis, result.summary()


def check_optimal(problem: fa.Problem, constraints: tuple[fa.Constraint, ...], objective: str,
                  result: fa.Result) -> None:
    """Without a time limit: brute force's optimum (between its 1e-9 and 1e-6 readings), or INFEASIBLE."""
    check_result(problem, constraints, result)
    loose = brute_force(problem, constraints, rtol=VERIFY_RTOL)
    strict = brute_force(problem, constraints, rtol=STRICT_RTOL)
    detail = f"{result!r}; brute force: {loose}"
    tol = score_tolerance(problem)
    if not loose.feasible:
        assert result.status is fa.Status.INFEASIBLE, detail
        return
    if strict.feasible:
        assert result.status is fa.Status.OPTIMAL, detail
        assert result.bound == result.objective
    if result.status is fa.Status.INFEASIBLE:
        assert not strict.feasible, detail
        return
    n_assigned = result.n_assigned
    if objective == "lexicographic":
        assert strict.count <= n_assigned <= loose.count, detail
        assert strict.best_at_least[n_assigned] - tol <= result.objective, detail
        assert result.objective <= loose.best_at_least[n_assigned] + tol, detail
    else:
        assert strict.best_score - tol <= result.objective <= loose.best_score + tol, detail


# ----------------------------------------------------------------------------- tiny batches
def tiny_problem(seed: int, effort_form: str) -> fa.Problem:
    """6 leads x 3 reps (4^6 = 4096 assignments at most), every lead with a candidate rep."""
    rng = np.random.default_rng(seed)
    n_leads, n_reps = 6, 3
    score = np.round(rng.normal(1.0, 1.5, size=(n_leads, n_reps)), 3)  # some negative
    hole = rng.random((n_leads, n_reps)) < 0.25
    hole[np.arange(n_leads), rng.integers(0, n_reps, size=n_leads)] = False
    score[hole] = np.nan
    value = np.round(rng.lognormal(0.0, 1.0, size=n_leads), 2)
    effort: Any
    if effort_form == "unit":
        effort, capacity = None, [3.0, 2.0, 2.0]
    elif effort_form == "lead":
        effort, capacity = rng.choice([1.0, 2.0, 3.0], size=n_leads), [6.0, 5.0, 4.0]
    else:
        effort, capacity = rng.choice([0.5, 1.0, 1.5, 2.0], size=(n_leads, n_reps)), [4.0, 3.0, 2.5]
    problem = fa.Problem(score=score, capacity=capacity, effort=effort, value=value,
                         lead_ids=[f"L{i}" for i in range(n_leads)], rep_ids=[f"R{r}" for r in range(n_reps)])
    assert problem.effort_kind == effort_form
    return problem


def _candidates(problem: fa.Problem) -> list[tuple[Any, Any]]:
    return [(problem.lead_ids[lead], problem.rep_ids[rep])
            for lead, rep in zip(problem.pair_lead.tolist(), problem.pair_rep.tolist(), strict=True)]


def _pin_two(problem: fa.Problem) -> tuple[fa.Constraint, ...]:
    pairs = _candidates(problem)
    first = pairs[0]
    second = next(pair for pair in pairs if pair[0] != first[0] and pair[1] != first[1])
    return (fa.Pin([first, second]),)


def _forbid_best(problem: fa.Problem) -> tuple[fa.Constraint, ...]:
    best = []
    for lead in range(3):
        start, stop = problem.lead_start[lead], problem.lead_start[lead + 1]
        pair = start + int(np.argmax(problem.pair_score[start:stop]))
        best.append((problem.lead_ids[lead], problem.rep_ids[problem.pair_rep[pair]]))
    return (fa.Forbid(best),)


def _value_band(problem: fa.Problem) -> tuple[fa.Constraint, ...]:
    total = float(problem.value.sum())
    return (fa.ValueBand(lower=0.15 * total, upper=0.45 * total),)


RULE_SETS: dict[str, Callable[[fa.Problem], tuple[fa.Constraint, ...]]] = {
    "none": lambda problem: (),
    "assign_all": lambda problem: (fa.AssignAll(),),
    "count_band": lambda problem: (fa.CountBand(lower=1, upper=2),),
    "value_band": _value_band,
    "fair_share": lambda problem: (fa.FairShare(0.3),),
    "fair_share_weighted": lambda problem: (fa.FairShare(0.5, weight=[2.0, 1.0, 0.5]),),
    "pin": _pin_two,
    "forbid": _forbid_best,
    "assign_all_fair": lambda problem: (fa.AssignAll(), fa.FairShare(0.6)),
    "mixed": lambda problem: (fa.CountBand(upper=2), *_value_band(problem), *_forbid_best(problem),
                              fa.FairShare(1.0)),
}


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("rule_set", sorted(RULE_SETS))
@pytest.mark.parametrize("effort_form", EFFORT_FORMS)
@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_brute_force_every_rule_and_effort_form(backend: str, effort_form: str, rule_set: str,
                                               objective: str) -> None:
    for seed in (11, 12):
        problem = tiny_problem(seed, effort_form)
        constraints = RULE_SETS[rule_set](problem)
        result = run(problem, constraints, backend, objective=objective)
        check_optimal(problem, constraints, objective, result)


@pytest.mark.parametrize("effort_form", EFFORT_FORMS)
def test_tiny_grid_is_mostly_solvable(effort_form: str) -> None:
    # the brute-force grid above would prove little if nearly every case were infeasible
    solved = sum(brute_force(tiny_problem(seed, effort_form), RULE_SETS[name](tiny_problem(seed, effort_form))).feasible
                 for seed in (11, 12) for name in RULE_SETS)
    assert solved >= 0.75 * 2 * len(RULE_SETS)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_default_backend_through_fa_solve(objective: str) -> None:
    problem = tiny_problem(3, "pair")
    constraints = (fa.FairShare(0.5), fa.CountBand(upper=3))
    result = fa.solve(problem, constraints, solver="mip", objective=objective)
    assert result.solver == "mip"
    check_optimal(problem, constraints, objective, result)
    expected = "HiGHS" if importlib.util.find_spec("highspy") is not None else "CBC"
    assert expected in result.reason


@given(case=cases(), objective=st.sampled_from(OBJECTIVES), backend=st.sampled_from(MIP_SOLVERS))
def test_property_matches_brute_force(case: Case, objective: str, backend: str) -> None:
    result = run(case.problem, case.constraints, backend, objective=objective)
    check_optimal(case.problem, case.constraints, objective, result)


def test_lexicographic_assigns_a_lead_that_lowers_the_score() -> None:
    # lead 1 only scores below zero: "score" leaves it out, "lexicographic" assigns it
    problem = fa.Problem(score=[[2.0, 1.0], [-1.0, -3.0]], capacity=[1, 1])
    for backend in MIP_SOLVERS:
        lexicographic = run(problem, (), backend)
        assert lexicographic.status is fa.Status.OPTIMAL
        assert lexicographic.rep_of.tolist() == [1, 0] and lexicographic.objective == 0.0
        score = run(problem, (), backend, objective="score")
        assert score.status is fa.Status.OPTIMAL
        assert score.rep_of.tolist() == [0, -1] and score.objective == 2.0


def test_warm_started_score_phase_is_not_cut_off() -> None:
    # CBC given a MIP start on a maximisation returns the start as "optimal" (coin-or/Cbc#296):
    # here phase 1's assignment [1, 1, -1] scores -0.708, the optimum [1, -1, 1] 0.519
    score = [[-0.39530129, 0.26391489], [0.60712827, -0.9721598], [0.76766425, 0.25505812]]
    problem = fa.Problem(score=score, capacity=[0, 2])
    for backend in MIP_SOLVERS:
        result = run(problem, (), backend)
        assert result.status is fa.Status.OPTIMAL
        assert result.rep_of.tolist() == [1, -1, 1], backend
        hinted = run(problem, (), backend, hint=np.array([1, 1, -1]))
        assert hinted.rep_of.tolist() == [1, -1, 1], backend


# ----------------------------------------------------------------------------- infeasible
@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_solver_proves_infeasibility(backend: str) -> None:
    # every rep must take 3 of the 6 leads: no single row is impossible, together they are
    problem = tiny_problem(5, "unit")
    result = run(problem, (fa.CountBand(lower=3),), backend)
    assert result.status is fa.Status.INFEASIBLE
    assert any("proved the rules infeasible" in line for line in result.diagnosis), result.diagnosis
    assert (result.rep_of == -1).all()


@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_impossible_row_is_named_before_solving(backend: str) -> None:
    problem = tiny_problem(5, "unit")
    lead = problem.lead_ids[0]
    forbid_all = fa.Forbid([(lead, rep) for rep in problem.rep_ids.tolist()])
    result = run(problem, (fa.AssignAll(), forbid_all), backend)
    assert result.status is fa.Status.INFEASIBLE
    assert any("lead row can never hold" in line for line in result.diagnosis), result.diagnosis


@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_conflicting_pins_are_infeasible(backend: str) -> None:
    # the linear model keeps one pin per lead, so the backend must read rules.conflicts itself
    problem = fa.Problem(score=[[0.1, -0.1]], capacity=[1, 1])
    result = run(problem, (fa.Pin([(0, 1), (0, 0)]),), backend)
    assert result.status is fa.Status.INFEASIBLE
    assert any("pinned to two reps" in line for line in result.diagnosis), result.diagnosis


@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_no_allowed_pair_is_the_empty_assignment(backend: str) -> None:
    problem = fa.Problem(score=[[1.0, np.nan], [np.nan, 2.0]], capacity=[1, 1])
    result = run(problem, (fa.Forbid([(0, 0), (1, 1)]),), backend)
    assert result.status is fa.Status.OPTIMAL
    assert result.rep_of.tolist() == [-1, -1] and result.bound == 0.0


# ----------------------------------------------------------------------------- larger batches
def random_batch(n_leads: int, n_reps: int, candidates: int, seed: int) -> fa.Problem:
    """Sparse batch: distinct random candidate reps per lead, lognormal values, score = value x fit."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    reps = np.argsort(rng.random((n_leads, n_reps)), axis=1)[:, :candidates]
    leads = np.repeat(np.arange(n_leads), candidates)
    value = rng.lognormal(0.0, 1.0, size=n_leads)
    score = sp.csr_array((value[leads] * rng.uniform(0.5, 1.5, size=leads.size), (leads, reps.ravel())),
                         shape=(n_leads, n_reps))
    spread = rng.uniform(0.5, 1.5, size=n_reps)
    capacity = np.maximum(1.0, np.round(spread / spread.sum() * 1.1 * n_leads))
    return fa.Problem(score=score, capacity=capacity, value=value)


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("rules", ["assign_all_fair", "fair_only"])
@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_time_limit_keeps_rules_and_bound(backend: str, rules: str, objective: str) -> None:
    # hard for both solvers within a second (statuses are asserted, never timings)
    problem = random_batch(400, 30, 8, seed=7)
    constraints: tuple[fa.Constraint, ...] = (fa.FairShare(0.05),)
    if rules == "assign_all_fair":
        constraints = (fa.AssignAll(), *constraints)
    result = run(problem, constraints, backend, objective=objective, time_limit=1.0)
    assert result.status in (fa.Status.OPTIMAL, fa.Status.FEASIBLE, fa.Status.NO_SOLUTION), result.summary()
    check_result(problem, constraints, result)
    if result.status is fa.Status.FEASIBLE:
        assert result.gap is not None and result.gap >= 0.0
    if result.status is fa.Status.NO_SOLUTION:
        assert "time limit" in result.diagnosis[0]


@pytest.fixture(scope="module")
def medium_case() -> tuple[fa.Problem, tuple[fa.Constraint, ...], fa.Result]:
    """A batch HiGHS proves optimal quickly, with its optimum."""
    problem = random_batch(40, 6, 4, seed=3)
    constraints = (fa.AssignAll(), fa.FairShare(0.25))
    optimum = run(problem, constraints, "highs")
    assert optimum.status is fa.Status.OPTIMAL, optimum.summary()
    return problem, constraints, optimum


@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_both_solvers_agree_on_a_medium_batch(backend: str, medium_case: Any) -> None:
    problem, constraints, optimum = medium_case
    result = run(problem, constraints, backend)
    check_result(problem, constraints, result)
    assert result.status is fa.Status.OPTIMAL
    assert result.objective == pytest.approx(optimum.objective, rel=SCORE_RTOL)


@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_warm_start_from_the_optimum_keeps_it_under_a_tiny_limit(backend: str, medium_case: Any) -> None:
    problem, constraints, optimum = medium_case
    result = run(problem, constraints, backend, time_limit=0.06, hint=optimum.rep_of)
    check_result(problem, constraints, result)
    assert result.status.has_solution, result.summary()
    assert result.objective >= optimum.objective - score_tolerance(problem)


@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_hint_with_pairs_the_rules_forbid_is_harmless(backend: str, medium_case: Any) -> None:
    problem, constraints, optimum = medium_case
    lead = 0
    rep = int(optimum.rep_of[lead])
    forbid = fa.Forbid([(problem.lead_ids[lead], problem.rep_ids[rep])])
    result = run(problem, (*constraints, forbid), backend, hint=optimum.rep_of)
    check_result(problem, (*constraints, forbid), result)
    assert result.status is fa.Status.OPTIMAL
    assert result.rep_of[lead] != rep
    assert result.objective <= optimum.objective + score_tolerance(problem)


@pytest.mark.parametrize("backend", MIP_SOLVERS)
def test_same_seed_same_answer(backend: str) -> None:
    problem = random_batch(30, 5, 3, seed=9)
    constraints = (fa.FairShare(0.3), fa.CountBand(upper=8))
    first = run(problem, constraints, backend, seed=4)
    second = run(problem, constraints, backend, seed=4)
    assert first.status is second.status is fa.Status.OPTIMAL
    np.testing.assert_array_equal(first.rep_of, second.rep_of)


# ----------------------------------------------------------------------------- options and hygiene
def test_backend_option_is_checked() -> None:
    with pytest.raises(ValidationError, match=r"MipSolver.backend must be one of .* got 'gurobi'"):
        MipSolver(backend="gurobi")  # type: ignore[arg-type]


def test_default_backend_follows_highspy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MipSolver(backend="cbc").resolved_backend() == "cbc"
    assert importlib.util.find_spec("highspy") is not None, "the test extra installs highspy"
    assert MipSolver().resolved_backend() == "highs"

    real_find_spec = importlib.util.find_spec

    def without_highspy(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "highspy" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_highspy)
    assert MipSolver().resolved_backend() == "cbc"
    with pytest.raises(MissingDependencyError, match=r"highspy.*fairassign\[highs\]"):
        MipSolver(backend="highs").resolved_backend()


def test_cbc_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for name in ("TMPDIR", "TMP", "TEMP"):
        monkeypatch.setenv(name, str(tmp_path))
    problem = random_batch(400, 30, 8, seed=7)
    run(tiny_problem(1, "lead"), (fa.FairShare(0.5),), "cbc")
    run(problem, (fa.AssignAll(), fa.FairShare(0.05)), "cbc", time_limit=0.2)
    run(problem, (fa.FairShare(0.05),), "cbc", time_limit=0.2, hint=np.full(problem.n_leads, -1))
    assert sorted(os.listdir(tmp_path)) == []


def test_solving_prints_nothing() -> None:
    # a fresh interpreter, so HiGHS's once-per-process banner would show if it escaped
    source = str(Path(fa.__file__).resolve().parents[1])
    script = (
        "import fairassign as fa\n"
        "from fairassign.rules import bind\n"
        "from fairassign.solvers.base import SolveRequest\n"
        "from fairassign.solvers.mip import MipSolver\n"
        "problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1])\n"
        "rules = bind(problem, [fa.FairShare(0.5)])\n"
        "for backend in ('highs', 'cbc'):\n"
        "    for objective in ('lexicographic', 'score'):\n"
        "        out = MipSolver(backend).solve(problem, rules, SolveRequest(objective=objective, time_limit=5))\n"
        "        assert out.status.name == 'OPTIMAL', out\n"
    )
    env = {**os.environ, "PYTHONPATH": source + os.pathsep + os.environ.get("PYTHONPATH", "")}
    finished = subprocess.run([sys.executable, "-W", "default", "-c", script], capture_output=True, text=True,
                              env=env, timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == ""
    assert finished.stderr == ""


@pytest.mark.parametrize("time_limit", [None, 5.0])
def test_root_reduced_cost_heuristic_is_off_only_under_a_time_limit(monkeypatch: pytest.MonkeyPatch,
                                                                     time_limit: float | None) -> None:
    # HiGHS 1.16 runs that heuristic's sub-MIP past the time limit (see _highs_phase)
    import fairassign.solvers.mip as mip

    seen: list[dict[str, Any]] = []
    real = mip._highs_solver_class()

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, options: dict[str, Any], warm_start: bool, deadline: float | None) -> None:
            seen.append(dict(options))
            super().__init__(options, warm_start, deadline)

    monkeypatch.setattr(mip, "_highs_solver_class", lambda: Recording)
    problem = fa.Problem(score=[[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]], capacity=[2, 2], value=[1.0, 2.0, 3.0])
    result = fa.solve(problem, [fa.FairShare(0.5)], solver="mip", time_limit=time_limit)
    assert result.status is fa.Status.OPTIMAL
    assert seen and all(options.get("mip_heuristic_run_root_reduced_cost", True) is (time_limit is None)
                        for options in seen)
