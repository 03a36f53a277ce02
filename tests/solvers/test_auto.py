"""solver="auto": which backends it runs, and that it keeps the best answer and bound."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import fairassign as fa
from fairassign.solvers import auto


def _batch(n_leads: int, n_reps: int, candidates: int, seed: int) -> fa.Problem:
    """Sparse random batch: distinct candidates per lead, lognormal values, capacity ~1.1 n."""
    rng = np.random.default_rng(seed)
    reps = np.stack([rng.choice(n_reps, size=candidates, replace=False) for _ in range(n_leads)])
    leads = np.repeat(np.arange(n_leads), candidates)
    value = rng.lognormal(0.0, 1.0, size=n_leads)
    score = sp.csr_array((value[leads] * rng.uniform(0.5, 1.5, leads.size), (leads, reps.ravel())),
                         shape=(n_leads, n_reps))
    capacity = np.full(n_reps, np.ceil(1.1 * n_leads / n_reps))
    return fa.Problem(score=score, capacity=capacity, value=value)


def test_capacity_only_goes_to_flow():
    result = fa.solve(_batch(200, 10, 4, seed=1))
    assert result.solver == "flow"
    assert "min-cost flow is exact" in result.reason
    assert result.status is fa.Status.OPTIMAL


def test_fair_share_mid_size_refines_with_the_mip_and_keeps_the_best():
    problem = _batch(300, 20, 10, seed=2)  # 3000 pairs: above TINY_PAIRS
    assert problem.n_pairs > auto.TINY_PAIRS
    rules = [fa.AssignAll(), fa.FairShare(0.05)]
    heuristic = fa.solve(problem, rules, solver="lp-round")
    result = fa.solve(problem, rules, time_limit=5, rel_gap=0.0)
    assert result.status.has_solution and result.violations == ()
    assert "mip for" in result.reason
    assert result.objective >= heuristic.objective - 1e-9
    assert result.bound is not None and result.bound >= result.objective
    assert result.bound <= heuristic.bound + 1e-9  # the tighter of the two proven bounds


def test_tiny_batch_refines_with_cpsat():
    problem = _batch(30, 5, 3, seed=3)
    result = fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.3)], rel_gap=0.0)
    if result.status is not fa.Status.INFEASIBLE:
        assert result.violations == ()
        assert "lp-round" in result.reason


def test_no_refinement_once_within_rel_gap():
    problem = _batch(300, 20, 10, seed=4)
    result = fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.1)], rel_gap=0.5)
    assert result.solver == "lp-round"
    assert "mip for" not in result.reason and "cpsat for" not in result.reason
    assert result.gap is not None and result.gap <= 0.5


def test_infeasibility_only_a_solver_can_find_is_a_status():
    # values 1, 2, 4 cannot be split 3.5 / 3.5; no pre-solve check sees that, the LP is feasible
    problem = fa.Problem(score=np.ones((3, 2)), capacity=[2, 2], value=[1.0, 2.0, 4.0])
    result = fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.0)])
    assert result.status is fa.Status.INFEASIBLE
    assert result.diagnosis
    with pytest.raises(fa.InfeasibleError):
        result.raise_for_status()


def test_same_seed_same_answer():
    problem = _batch(300, 20, 10, seed=5)
    rules = [fa.AssignAll(), fa.FairShare(0.1)]
    first = fa.solve(problem, rules, rel_gap=0.5, seed=7)
    again = fa.solve(problem, rules, rel_gap=0.5, seed=7)
    np.testing.assert_array_equal(first.rep_of, again.rep_of)


def test_under_a_time_limit_a_large_batch_runs_the_greedy_first(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(auto, "SAFETY_NET_PAIRS", 100)  # "large" for this test
    problem = _batch(300, 20, 10, seed=4)
    rules = [fa.AssignAll(), fa.FairShare(0.1)]
    result = fa.solve(problem, rules, time_limit=5)
    assert "greedy first, as a safety net" in result.reason
    assert result.status.has_solution and result.violations == ()
    alone = fa.solve(problem, rules, solver="greedy", time_limit=5)
    assert (result.n_assigned, result.objective) >= (alone.n_assigned, alone.objective - 1e-9)
    # without a time limit there is no net to need
    assert "safety net" not in fa.solve(problem, rules).reason


def test_the_safety_net_gets_a_share_of_the_time_limit_and_lp_round_the_rest(monkeypatch: pytest.MonkeyPatch):
    # the greedy's repair could spend the whole limit and leave lp-round nothing (a tiered
    # 10k x 200 day with a fair share over a free total: NO_SOLUTION at 150 s)
    monkeypatch.setattr(auto, "SAFETY_NET_PAIRS", 100)
    limits: dict[str, float] = {}
    real_run = auto._run

    def recording(name, problem, rules, request, search=True):
        limits[name] = request.time_limit
        return real_run(name, problem, rules, request, search)

    monkeypatch.setattr(auto, "_run", recording)
    problem = _batch(300, 20, 10, seed=4)
    fa.solve(problem, [fa.FairShare(0.1)], objective="score", time_limit=40)
    assert limits["greedy"] == pytest.approx(auto.SAFETY_NET_SHARE * 40)
    assert 40 * (1 - auto.SAFETY_NET_SHARE) - 1e-9 <= limits["lp-round"] <= 40


# --------------------------------------------------------------------------- interruption (Ctrl-C)
def _interrupt_at(monkeypatch: pytest.MonkeyPatch, stage: str) -> list[str]:
    """Make ``auto`` raise KeyboardInterrupt when it starts ``stage``; return the stages started."""
    real_run = auto._run
    started: list[str] = []

    def run(name: str, *args: object) -> fa.solvers.base.SolverOutput:
        started.append(name)
        if name == stage:
            raise KeyboardInterrupt
        return real_run(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(auto, "_run", run)
    return started


def test_interrupt_during_the_exact_stage_returns_the_heuristic_answer(monkeypatch: pytest.MonkeyPatch):
    problem = _batch(300, 20, 10, seed=2)
    rules = [fa.AssignAll(), fa.FairShare(0.05)]
    heuristic = fa.solve(problem, rules, solver="lp-round")
    assert heuristic.status is fa.Status.FEASIBLE and heuristic.gap > 0  # so auto goes on to refine
    started = _interrupt_at(monkeypatch, "mip")
    result = fa.solve(problem, rules, rel_gap=0.0)
    assert started == ["lp-round", "mip"]
    assert result.status is fa.Status.FEASIBLE and result.violations == ()
    np.testing.assert_array_equal(result.rep_of, heuristic.rep_of)
    assert result.bound == heuristic.bound and result.solver == "lp-round"
    assert "interrupted during mip; best assignment so far" in result.reason
    assert auto.INTERRUPTED in result.reason


def test_interrupt_during_lp_round_after_the_safety_net_returns_the_greedy(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(auto, "SAFETY_NET_PAIRS", 100)
    problem = _batch(300, 20, 10, seed=4)
    rules = [fa.AssignAll(), fa.FairShare(0.1)]
    greedy = fa.solve(problem, rules, solver="greedy", time_limit=30)
    _interrupt_at(monkeypatch, "lp-round")
    result = fa.solve(problem, rules, time_limit=30)
    assert result.status is fa.Status.FEASIBLE and result.solver == "greedy"
    np.testing.assert_array_equal(result.rep_of, greedy.rep_of)
    assert "interrupted during lp-round; best assignment so far" in result.reason


def test_interrupt_before_any_answer_propagates(monkeypatch: pytest.MonkeyPatch):
    problem = _batch(300, 20, 10, seed=2)
    _interrupt_at(monkeypatch, "lp-round")
    with pytest.raises(KeyboardInterrupt):
        fa.solve(problem, [fa.AssignAll(), fa.FairShare(0.05)])
    _interrupt_at(monkeypatch, "flow")  # a one-stage plan has nothing to fall back on
    with pytest.raises(KeyboardInterrupt):
        fa.solve(problem)


def test_cpsat_stopped_well_before_its_budget_is_marked_interrupted(monkeypatch: pytest.MonkeyPatch):
    # CP-SAT catches SIGINT itself and returns FEASIBLE early; the clock is the only witness
    problem = _batch(30, 5, 3, seed=3)
    rules = [fa.AssignAll(), fa.FairShare(0.3)]
    real_run = auto._run

    def run(name: str, problem: fa.Problem, rules: object, request: object) -> fa.solvers.base.SolverOutput:
        output = real_run(name, problem, rules, request)  # type: ignore[arg-type]
        if name == "cpsat":  # what the backend says when CP-SAT stops before a proof
            return dataclasses.replace(output, status=fa.Status.FEASIBLE, bound=None,
                                       notes=(*output.notes, "stopped by the time limit"))
        return dataclasses.replace(output, status=fa.Status.FEASIBLE, bound=None) if output.status.has_solution \
            else output

    monkeypatch.setattr(auto, "_run", run)
    result = fa.solve(problem, rules, time_limit=60)
    assert result.status is fa.Status.FEASIBLE
    assert "interrupted during cpsat (CP-SAT stopped unproven after" in result.reason
    monkeypatch.setattr(auto, "_run", real_run)
    assert "interrupted" not in fa.solve(problem, rules, time_limit=60).reason


# --------------------------------------------------------------------------- generalized assignment
def _gap_batch(kind: str, n_leads: int, n_reps: int, seed: int) -> tuple[fa.Problem, list[fa.Constraint]]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from gap_instances import generate, to_problem

    return to_problem(generate(kind, n_leads, n_reps, seed=seed))


def test_a_gap_batch_goes_to_the_exact_backend_before_the_local_search(monkeypatch: pytest.MonkeyPatch):
    problem, constraints = _gap_batch("c", 30, 4, seed=1)
    started: list[str] = []
    searched: list[int] = []
    real_run, real_search = auto._run, auto._local_search

    def run(name: str, *args: object) -> fa.solvers.base.SolverOutput:
        started.append(name)
        return real_run(name, *args)  # type: ignore[arg-type]

    def search(*args: object, **kwargs: object) -> object:
        searched.append(1)
        return real_search(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(auto, "_run", run)
    monkeypatch.setattr(auto, "_local_search", search)
    result = fa.solve(problem, constraints, time_limit=60)
    assert started == ["lp-round", "cpsat"]
    assert "local search deferred" in result.reason
    assert result.status is fa.Status.OPTIMAL and result.violations == ()
    assert searched == []  # proven: the deferred search never runs
    exact = fa.solve(problem, constraints, solver="cpsat")
    assert result.objective == pytest.approx(exact.objective)


def test_an_unproven_gap_answer_gets_the_deferred_local_search(monkeypatch: pytest.MonkeyPatch):
    problem, constraints = _gap_batch("d", 40, 5, seed=2)
    real_run = auto._run

    def run(name: str, *args: object) -> fa.solvers.base.SolverOutput:
        if name in ("cpsat", "mip"):  # exact stages that ended unproven with the plain rounding
            return real_run("lp-round", *args[:3], False)  # type: ignore[arg-type]
        return real_run(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(auto, "_run", run)
    result = fa.solve(problem, constraints)  # no time limit: the search runs
    plain = fa.solve(problem, constraints, solver="lp-round")
    assert result.violations == () and result.status.has_solution
    assert "on lp-round's answer" in result.reason
    assert result.objective >= plain.objective - 1e-9  # lp-round with its search, at least
    again = fa.solve(problem, constraints)
    np.testing.assert_array_equal(result.rep_of, again.rep_of)


def test_a_tiny_gap_batch_cpsat_left_unproven_goes_on_to_the_mip(monkeypatch: pytest.MonkeyPatch):
    problem, constraints = _gap_batch("d", 40, 5, seed=2)
    assert problem.n_pairs <= auto.TINY_PAIRS
    started: list[tuple[str, float | None]] = []
    real_run = auto._run

    def run(name: str, *args: object) -> fa.solvers.base.SolverOutput:
        started.append((name, args[2].time_limit))  # type: ignore[attr-defined]
        if name == "cpsat":  # CP-SAT ended its share unproven, with the plain rounding
            return real_run("lp-round", *args[:3], False)  # type: ignore[arg-type]
        return real_run(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(auto, "_run", run)
    result = fa.solve(problem, constraints, time_limit=40)
    assert [name for name, _ in started] == ["lp-round", "cpsat", "mip"]
    assert started[1][1] == pytest.approx(auto.GAP_CPSAT_SHARE * 40, abs=1.0)  # its share of the budget
    assert started[2][1] is not None and started[2][1] > started[1][1]  # the MIP gets the rest
    assert "mip for" in result.reason and "from the best so far" in result.reason
    assert result.violations == () and result.status.has_solution
    exact = fa.solve(problem, constraints, solver="mip", time_limit=40)
    if result.status is fa.Status.OPTIMAL and exact.status is fa.Status.OPTIMAL:
        assert result.objective == pytest.approx(exact.objective)


def test_per_pair_effort_under_a_fair_share_keeps_the_old_plan():
    problem, _ = _gap_batch("c", 30, 4, seed=3)
    result = fa.solve(problem, [fa.FairShare(0.5)], rel_gap=0.0, time_limit=30)
    assert "deferred" not in result.reason
    assert result.status.has_solution and result.violations == ()


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from("abcde"), n_leads=st.integers(2, 12), n_reps=st.integers(1, 4), seed=st.integers(0, 50),
       time_limit=st.sampled_from([None, 20.0]))
def test_gap_batches_through_auto_keep_the_rules_and_are_deterministic(kind: str, n_leads: int, n_reps: int,
                                                                       seed: int, time_limit: float | None):
    problem, constraints = _gap_batch(kind, n_leads, n_reps, seed)
    result = fa.solve(problem, constraints, time_limit=time_limit, seed=seed)
    exact = fa.solve(problem, constraints, solver="cpsat", seed=seed)
    assert result.status is exact.status  # tiny: both prove (OPTIMAL or INFEASIBLE)
    if result.status is fa.Status.OPTIMAL:
        assert result.violations == ()
        assert result.objective == pytest.approx(exact.objective)
        again = fa.solve(problem, constraints, time_limit=time_limit, seed=seed)
        np.testing.assert_array_equal(result.rep_of, again.rep_of)
