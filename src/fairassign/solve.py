"""``fa.solve``: validate, diagnose, run a backend, verify, and build one :class:`Result`."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .constraints import Constraint
from .diagnosis import diagnose
from .errors import ValidationError
from .problem import Problem
from .result import Result, SolveSettings, Status, relative_gap
from .rules import Rules, bind
from .solvers import get_solver, solve_auto
from .solvers.base import Solver, SolveRequest, SolverOutput
from .verify import verify

__all__ = ["solve"]

_OBJECTIVES = ("lexicographic", "score")
#: a bound this far (relative) below the objective is floating-point noise, not a bug
_BOUND_SLACK = 1e-7


def _request(problem: Problem, objective: Any, time_limit: Any, seed: Any, hint: Any,
             rel_gap: Any) -> SolveRequest:
    if objective not in _OBJECTIVES:
        raise ValidationError(f"objective must be one of {_OBJECTIVES}, got {objective!r}")
    if time_limit is not None:
        if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) \
                or not math.isfinite(time_limit) or time_limit <= 0:
            raise ValidationError(f"time_limit must be a positive number of seconds or None, got {time_limit!r}")
        time_limit = float(time_limit)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValidationError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(rel_gap, bool) or not isinstance(rel_gap, numbers.Real) or not 0 <= float(rel_gap) < 1:
        raise ValidationError(f"rel_gap must be a number in [0, 1), got {rel_gap!r}")
    hint_array = None
    if hint is not None:
        hint_array = np.asarray(getattr(hint, "rep_of", hint))
        if hint_array.shape != (problem.n_leads,) or not np.issubdtype(hint_array.dtype, np.integer):
            raise ValidationError(
                f"hint must be a Result or an integer rep_of array of shape ({problem.n_leads},), "
                f"got shape {hint_array.shape} and dtype {hint_array.dtype}"
            )
        if hint_array.min(initial=-1) < -1 or hint_array.max(initial=-1) >= problem.n_reps:
            raise ValidationError(f"hint must hold rep positions in [-1, {problem.n_reps - 1}]")
        hint_array = hint_array.astype(np.int64)
    return SolveRequest(objective=objective, time_limit=time_limit, seed=int(seed), hint=hint_array,
                        rel_gap=float(rel_gap))


def solve(
    problem: Problem,
    constraints: Iterable[Constraint] | Constraint = (),
    *,
    solver: str = "auto",
    objective: str = "lexicographic",
    time_limit: float | None = None,
    seed: int = 0,
    hint: Result | ArrayLike | None = None,
    rel_gap: float = 1e-4,
) -> Result:
    r"""Assign leads to reps under ``constraints``.

    The default objective is lexicographic: assign as many leads as the rules allow, then
    maximise the total score :math:`\sum_{(i, r) \text{ chosen}} s_{ir}`. With
    ``objective="score"`` only the total score counts, so a lead whose pairs all score
    below zero stays unassigned unless a rule forces it.

    Parameters
    ----------
    problem : Problem
    constraints : iterable of Constraint
        :class:`AssignAll`, :class:`CountBand`, :class:`ValueBand`, :class:`FairShare`,
        :class:`Pin`, :class:`Forbid`. Capacity and eligibility always hold.
    solver : str
        ``"auto"`` (default) or a backend name from :func:`fairassign.solver_names`:
        ``"flow"``, ``"cpsat"``, ``"mip"``, ``"lp-round"``, ``"greedy"``.
    objective : {"lexicographic", "score"}
    time_limit : float, optional
        Seconds for the backend. Exact backends stopped by it return their best
        assignment as FEASIBLE with its gap.
    seed : int
        Same input and seed, same assignment.
    hint : Result or int array (n_leads,), optional
        An assignment to start from (used by the exact backends as a warm start).
    rel_gap : float
        ``solver="auto"`` stops refining once its answer is proven within this relative
        gap of the best (default 1e-4); exact backends chosen by name ignore it and aim
        for a proven optimum within ``time_limit``.

    Returns
    -------
    Result
        Infeasibility is a status with a diagnosis, never an exception; call
        :meth:`Result.raise_for_status` to turn it into one.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1])
    >>> result = fa.solve(problem, [fa.AssignAll()])
    >>> result.status.name, result.rep_of.tolist(), result.objective
    ('OPTIMAL', [0, 0, 1], 11.5)
    """
    started = time.perf_counter()
    prepared = prepare(problem, constraints, solver, objective, time_limit, seed, hint, rel_gap)
    rules, request = prepared.rules, prepared.request
    if prepared.infeasible is None and any(fair.received is not None for fair in rules.fair):
        # a period fair share: solved exactly on a batch with one ghost lead per rep (a late import:
        # over_time.history imports this module)
        from .over_time.history import solve_period
        return solve_period(problem, rules.constraints, solver=solver, objective=objective, request=request,
                            started=started)
    if prepared.infeasible is not None:
        output, name, why = prepared.infeasible, solver, "infeasibility found before solving"
    elif prepared.backend is None:
        name, why, output = solve_auto(problem, rules, request)
    else:
        output = prepared.backend.solve(problem, rules, request)
        name, why = solver, "chosen by the caller"
    settings = SolveSettings(solver=solver, objective=request.objective, time_limit=request.time_limit,
                             seed=request.seed, rel_gap=request.rel_gap, hint=request.hint)
    return assemble(problem, rules, output, name, why, started, settings=settings)


@dataclass(frozen=True, eq=False)
class Prepared:
    """A checked call: its request, backend (None for auto), rules, and the pre-solve verdict."""

    request: SolveRequest
    backend: Solver | None
    rules: Rules
    infeasible: SolverOutput | None  # an INFEASIBLE output when diagnosis settles the batch


def prepare(problem: Any, constraints: Iterable[Constraint] | Constraint, solver: Any, objective: Any, time_limit: Any,
            seed: Any, hint: Any, rel_gap: Any) -> Prepared:
    """Validate every argument of a solve, bind the rules and diagnose, before any backend runs.

    Raises
    ------
    ValidationError
        A bad argument, or a backend that cannot take this batch.
    UnknownSolverError, MissingDependencyError
        From the backend lookup, which comes before diagnosis so that an unknown name is an
        error even when diagnosis settles the batch.
    """
    if not isinstance(problem, Problem):
        raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
    request = _request(problem, objective, time_limit, seed, hint, rel_gap)
    backend = None if solver == "auto" else get_solver(solver)
    rules = bind(problem, constraints)
    # the fair-share checks of diagnose read today's rule; one over the period is left to the solve
    reasons = diagnose(problem, replace(rules, fair=tuple(fair for fair in rules.fair if fair.received is None)))
    if reasons:
        infeasible = SolverOutput(rep_of=np.full(problem.n_leads, -1, np.int64), status=Status.INFEASIBLE,
                                  diagnosis=tuple(reasons))
        return Prepared(request, backend, rules, infeasible)
    if backend is not None:
        unsupported = backend.unsupported(problem, rules)
        if unsupported:
            raise ValidationError(f"solver {solver!r} cannot solve this batch: {unsupported}; use solver='auto'")
    return Prepared(request, backend, rules, None)


def assemble(problem: Problem, rules: Rules, output: SolverOutput, solver: str, why: str,
             started: float, *, settings: SolveSettings | None = None) -> Result:
    """Measure a backend's answer, verify it independently, and wrap it in a :class:`Result`.

    ``settings`` (the call's parameters) is kept on the result for audit records and replay.
    """
    status = output.status
    rep_of = np.asarray(output.rep_of, dtype=np.int64).copy()
    if not status.has_solution:
        rep_of[:] = -1
    leads = np.flatnonzero(rep_of >= 0)
    pairs = problem.pair_index(leads, rep_of[leads])
    valid = pairs >= 0
    objective = float(problem.pair_score[pairs[valid]].sum())
    reps = rep_of[leads[valid]]
    rep_count = np.bincount(reps, minlength=problem.n_reps).astype(np.float64)
    rep_effort = np.bincount(reps, weights=problem.pair_effort[pairs[valid]], minlength=problem.n_reps).astype(float)
    rep_value = np.bincount(reps, weights=problem.value[leads[valid]], minlength=problem.n_reps).astype(float)

    violations = tuple(verify(problem, rep_of, rules.constraints)) if status.has_solution else ()
    notes = list(output.notes)
    if violations:
        status = Status.INVALID
    bound = output.bound
    if bound is not None and status.has_solution and bound < objective:
        if objective - bound <= _BOUND_SLACK * max(abs(objective), 1.0):
            bound = objective
        else:
            notes.append(f"discarded a bound {bound:.6g} below the objective")
            bound = None
    reason = "; ".join([why, *notes])
    for array in (rep_of, rep_count, rep_effort, rep_value):
        array.flags.writeable = False
    return Result(
        rep_of=rep_of,
        status=status,
        objective=objective,
        bound=bound if status.has_solution else None,
        gap=relative_gap(objective, bound) if status.has_solution else None,
        n_assigned=int(leads.size),
        solver=solver,
        reason=reason,
        solve_time=time.perf_counter() - started,
        rep_count=rep_count,
        rep_effort=rep_effort,
        rep_value=rep_value,
        violations=violations,
        diagnosis=output.diagnosis,
        problem=problem,
        constraints=rules.constraints,
        settings=settings,
    )
