"""Every routing strategy by name: the CRM baselines, the optimiser, and each solver backend.

=======================  ==================================================================
name                     what runs
=======================  ==================================================================
``"fairassign"``         :func:`fairassign.solve` with ``solver="auto"`` (``"auto"`` too)
``"round-robin"``        :func:`fairassign.baselines.round_robin`
``"weighted-round-robin"`` :func:`fairassign.baselines.weighted_round_robin` (Odoo)
``"load-balancing"``     :func:`fairassign.baselines.load_balancing`
``"territory"``          :func:`fairassign.baselines.territory` (Salesforce first match)
``"points"``             :func:`fairassign.baselines.points`
``"cherry-picking"``     :func:`fairassign.baselines.cherry_picking`
a backend name           :func:`fairassign.solve` with that backend (``"flow"``, ``"cpsat"`` ...)
=======================  ==================================================================

Every strategy returns a :class:`~fairassign.Result` checked by the independent verifier.
A baseline keeps capacity, eligibility, :class:`~fairassign.Pin` and :class:`~fairassign.Forbid`
and ignores every other rule, as CRMs do; when its answer breaks one of those rules the
result's status is INVALID with the broken rules in ``violations``. For a baseline that is
the measurement, not a bug.
"""

from __future__ import annotations

import inspect
import math
import numbers
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .baselines import BASELINES
from .constraints import Constraint, Forbid, Pin
from .errors import UnknownSolverError, ValidationError
from .problem import Problem
from .result import Result, SolveSettings, Status
from .rules import Rules, bind
from .solve import assemble, solve
from .solvers import solver_names
from .solvers.base import SolverOutput

__all__ = ["strategy_names", "run_strategy", "OPTIMISER"]

#: the strategy name of the optimiser, :func:`fairassign.solve` with ``solver="auto"``
OPTIMISER = "fairassign"

#: arguments a baseline takes from run_strategy itself, never as an option
_RESERVED = ("problem", "seed", "allowed", "pinned")
#: keyword options fa.solve takes beyond those run_strategy names
_SOLVE_OPTIONS = ("objective", "hint", "rel_gap")

_DESCRIPTION = {
    "round-robin": "strict rotation over the reps that can take each lead",
    "weighted-round-robin": "Odoo-style rotation by daily quota",
    "load-balancing": "least-loaded rep that can take each lead",
    "territory": "first-matching territory rule, round robin in its pool",
    "points": "draft in order of rep points",
    "cherry-picking": "best rep takes its best leads first",
}


def strategy_names() -> tuple[str, ...]:
    """Every name :func:`run_strategy` accepts: the optimiser, the baselines, the backends.

    Examples
    --------
    >>> strategy_names()[:3]
    ('fairassign', 'round-robin', 'weighted-round-robin')
    """
    return (OPTIMISER, *BASELINES, *solver_names())


def baseline_options(name: str) -> tuple[str, ...]:
    """The options the baseline ``name`` takes (besides ``seed``)."""
    parameters = inspect.signature(BASELINES[name]).parameters
    return tuple(option for option in parameters if option not in _RESERVED)


def run_strategy(name: str, problem: Problem, constraints: Iterable[Constraint] | Constraint = (), *,
                 seed: int = 0, time_limit: float | None = None, **options: Any) -> Result:
    """Route ``problem`` with the strategy called ``name`` and return a verified :class:`Result`.

    Parameters
    ----------
    name : str
        One of :func:`strategy_names`.
    problem : Problem
    constraints : iterable of Constraint
        The rules the result is checked against. The optimiser and the backends keep them
        all (or say why they cannot); a baseline keeps capacity, eligibility, Pin and Forbid
        and ignores the rest, so a result that breaks one of those is INVALID.
    seed : int
        Same input and seed, same assignment.
    time_limit : float, optional
        Seconds for the optimiser and the backends; the baselines take no time worth limiting
        and ignore it.
    **options
        A baseline's own options (``monthly_capacity``, ``by``, ``rules`` ... see
        :mod:`fairassign.baselines`), or :func:`fairassign.solve`'s ``objective``, ``hint``
        and ``rel_gap`` for the optimiser and the backends.

    Returns
    -------
    Result
        ``solver`` is the strategy name for a baseline (the backend that ran for
        ``"fairassign"``); ``reason`` says what a baseline ignored.

    Raises
    ------
    UnknownSolverError
        ``name`` is not a strategy; the message lists the valid names.
    ValidationError
        An option the strategy does not take, or a bad argument.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 2], value=[5, 1, 1])
    >>> result = run_strategy("round-robin", problem, [fa.FairShare(0.2)])
    >>> result.status.name, result.rep_of.tolist(), result.solver
    ('INVALID', [0, 1, 0], 'round-robin')
    >>> run_strategy("fairassign", problem).objective
    11.5
    """
    if not isinstance(name, str):
        raise UnknownSolverError(f"name must be a strategy name (one of {', '.join(strategy_names())}), got {name!r}")
    if name in BASELINES:
        return _run_baseline(name, problem, constraints, seed, time_limit, options)
    if name == OPTIMISER or name == "auto" or name in solver_names():
        unknown = sorted(set(options) - set(_SOLVE_OPTIONS))
        if unknown:
            raise ValidationError(
                f"strategy {name!r} runs fairassign.solve, which takes the options {', '.join(_SOLVE_OPTIONS)}; "
                f"got unknown option(s) {', '.join(map(repr, unknown))}"
            )
        solver = "auto" if name == OPTIMISER else name
        return solve(problem, constraints, solver=solver, seed=seed, time_limit=time_limit, **options)
    raise UnknownSolverError(f"unknown strategy {name!r}; valid names: {', '.join(strategy_names())}")


def pinned_leads(problem: Problem, constraints: Iterable[Constraint]) -> NDArray[np.bool_]:
    """Bool mask of the leads a :class:`Pin` in ``constraints`` names."""
    pinned = np.zeros(problem.n_leads, dtype=bool)
    for rule in constraints:
        if isinstance(rule, Pin):
            for lead_id, _ in rule.pairs:
                pinned[problem.lead_position(lead_id)] = True  # ids already checked by bind
    return pinned


def _ignored(rules: Rules) -> list[str]:
    """Names of the rule kinds given that a baseline does not look at, in the order given."""
    names = [type(rule).__name__ for rule in rules.constraints if not isinstance(rule, Pin | Forbid)]
    return list(dict.fromkeys(names))


def _run_baseline(name: str, problem: Problem, constraints: Iterable[Constraint] | Constraint, seed: Any,
                  time_limit: Any, options: dict[str, Any]) -> Result:
    started = time.perf_counter()
    accepted = baseline_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = f"takes the options {', '.join(accepted)}" if accepted else "takes no options"
        raise ValidationError(
            f"baseline {name!r} {takes} (and seed); got unknown option(s) {', '.join(map(repr, unknown))}"
        )
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real)
                                   or not math.isfinite(time_limit) or time_limit <= 0):
        raise ValidationError(f"time_limit must be a positive number of seconds or None, got {time_limit!r}")
    if not isinstance(problem, Problem):
        raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
    rules = bind(problem, constraints)
    rep_of = BASELINES[name](problem, seed=seed, allowed=rules.allowed,
                             pinned=pinned_leads(problem, rules.constraints), **options)
    ignored = _ignored(rules)
    note = "ignored " + ", ".join(ignored) if ignored else "no rule ignored"
    output = SolverOutput(rep_of=rep_of, status=Status.FEASIBLE, bound=None, notes=(note,))
    why = f"baseline ({_DESCRIPTION[name]}); keeps capacity, eligibility, Pin and Forbid only"
    settings = SolveSettings(solver=name, time_limit=None if time_limit is None else float(time_limit),
                             seed=int(seed), entry="strategy", options=dict(options))
    return assemble(problem, rules, output, name, why, started, settings=settings)
