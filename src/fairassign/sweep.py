"""Many solves of one batch (tolerances, scenarios) through any ``concurrent.futures``-style executor.

A sweep sends each scenario's solve to ``executor`` (a process pool, a Dask client, or, by
default, this process one after the other). Workers send back only the assignment and what
the backend reported; each answer is then measured and verified *here*, on the caller's
batch (:func:`fairassign.solve.assemble`), so a fault on a worker can never turn into an
unchecked result.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .constraints import Constraint
from .decompose import Executor, _InProcess, _Outcome, _solve_block
from .errors import ValidationError
from .problem import Problem
from .result import Result, SolveSettings
from .solve import assemble, prepare
from .solvers.base import SolverOutput

__all__ = ["sweep"]


def _scenario(index: int, given: Any) -> tuple[Constraint, ...]:
    if isinstance(given, Constraint):
        return (given,)
    try:
        rules = tuple(given)
    except TypeError:
        raise ValidationError(
            f"scenarios[{index}] must be a constraint or an iterable of constraints, got {type(given).__name__}"
        ) from None
    return rules


def sweep(problem: Problem, scenarios: Iterable[Iterable[Constraint] | Constraint], *,
          executor: Executor | None = None, solver: str = "auto", objective: str = "lexicographic",
          time_limit: float | None = None, seed: int = 0, rel_gap: float = 1e-4) -> list[Result]:
    """Solve ``problem`` once per scenario (a set of rules), in parallel when given an executor.

    Parameters
    ----------
    problem : Problem
    scenarios : iterable of (iterable of Constraint, or Constraint)
        One rule set per solve: say, ``[[fa.FairShare(t)] for t in (0.05, 0.1, 0.2)]``.
    executor : object with ``submit``, optional
        A :class:`concurrent.futures.ProcessPoolExecutor` (with a *spawn* context: a forked
        child of a process whose solver threads ran can hang), a Dask ``Client`` ... Default:
        in this process, in order.
    solver, objective, time_limit, seed, rel_gap
        As for :func:`fairassign.solve`, the same for every scenario.

    Returns
    -------
    list of Result
        In the order of ``scenarios``; each verified on this side against its own rules.
        ``solve_time`` is the worker's.

    Raises
    ------
    ValidationError
        A bad argument or scenario, found before anything is submitted.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 2], value=[3.0, 1.0, 1.0])
    >>> results = fa.sweep(problem, [[], [fa.FairShare(0.5)]], solver="cpsat")
    >>> [(r.objective, r.rep_value.tolist()) for r in results]
    [(11.5, [4.0, 1.0]), (10.5, [3.0, 2.0])]
    """
    jobs = [_scenario(k, given) for k, given in enumerate(scenarios)]
    options: dict[str, Any] = {"solver": solver, "objective": objective, "time_limit": time_limit, "seed": seed,
                               "rel_gap": rel_gap}
    checked = [prepare(problem, rules, solver, objective, time_limit, seed, None, rel_gap) for rules in jobs]
    pool: Executor = _InProcess() if executor is None else executor
    # a scenario that diagnosis settles (say, capacity too small) needs no worker
    futures = [None if prepared.infeasible is not None else pool.submit(_solve_block, problem, rules, options)
               for rules, prepared in zip(jobs, checked, strict=True)]
    results = []
    for prepared, future in zip(checked, futures, strict=True):
        request = prepared.request
        # each scenario is a fa.solve of the batch under its rules, so a replay calls fa.solve
        settings = SolveSettings(solver=solver, objective=request.objective, time_limit=request.time_limit,
                                 seed=request.seed, rel_gap=request.rel_gap, entry="sweep")
        if prepared.infeasible is not None:
            results.append(assemble(problem, prepared.rules, prepared.infeasible, solver,
                                    "infeasibility found before solving", time.perf_counter(), settings=settings))
            continue
        assert future is not None  # submitted above, since diagnosis did not settle it
        outcome: _Outcome = future.result()
        output = SolverOutput(rep_of=outcome.rep_of, status=outcome.status, bound=outcome.bound,
                              diagnosis=outcome.diagnosis)
        started = time.perf_counter() - outcome.solve_time
        results.append(assemble(problem, prepared.rules, output, outcome.solver, outcome.reason, started,
                                settings=settings))
    return results
