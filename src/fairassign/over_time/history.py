r"""Fairness over a period: the fair-share rule counting what each rep received earlier.

Today's rule (:class:`~fairassign.FairShare`) reads only today's batch:
:math:`l_r V \le V_r \le h_r V`, with :math:`V_r` the value rep *r* receives today and
:math:`V = \sum_r V_r`. Held day by day, it lets a rep who was away fall behind for good.
The period rule adds :math:`P_r`, the value rep *r* received earlier in the period, and
:math:`P = \sum_r P_r`:

.. math:: l_r (V + P) \le V_r + P_r \le h_r (V + P).

The reduction
-------------
No backend knows :math:`P_r`, and none needs to. Add one *ghost lead* per rep with
:math:`P_r > 0`: value :math:`P_r`, score 0, effort 0, a candidate of rep *r* only, and
pinned to it. Every rule-keeping assignment of the extended batch gives each ghost to its
rep, so there :math:`V' = V + P` and :math:`V'_r = V_r + P_r`, and the plain fair share of the
extended batch *is* the period rule of the original. The other rules are shifted so that
they still read today's leads only: a :class:`~fairassign.CountBand` bound grows by 1 for
each rep that has a ghost, a :class:`~fairassign.ValueBand` bound by :math:`P_r`;
:class:`~fairassign.AssignAll`, :class:`~fairassign.Pin` and :class:`~fairassign.Forbid` are
unchanged (ghosts are pinned, and their ids are private objects no rule can name). Ghosts
cost no capacity and score nothing, so the extended batch has the same objective, the same
lead count plus the ghosts, and the same bound: the reduction is exact, and any exact
backend solves the period rule exactly. The ghost rows are dropped from the answer, which is
measured and verified on the original batch with the period rule (:func:`fairassign.verify`
reads ``FairShare.received`` with its own arithmetic).

The default weights of a fair share are the capacities, which the ghosts leave unchanged.
Over a period, prefer explicit weights (say, each rep's working share of the period): a rep
whose capacity is 0 today (off, see :func:`~fairassign.over_time.available_problem`) has a
capacity share of 0, and the period rule would then ask the value it received earlier to be
0 too.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..constraints import Constraint, CountBand, FairShare, Pin, ValueBand, _plain
from ..errors import ValidationError
from ..problem import Problem
from ..result import Result, SolveSettings, Status
from ..rules import bind
from ..solve import assemble, solve
from ..solvers.base import SolveRequest, SolverOutput
from ._common import check_problem, rebuild

__all__ = ["solve_with_history", "with_history", "reduce_history", "Reduced", "solve_period"]


@dataclass(frozen=True)
class _Ghost:
    """The id of a ghost lead: a private type, so it never equals a user's lead id."""

    rep: Hashable

    def __repr__(self) -> str:
        return f"<value received earlier by rep {self.rep!r}>"


@dataclass(frozen=True, eq=False)
class Reduced:
    """A batch with a period fair share, rewritten as one with today's rule.

    Attributes
    ----------
    problem : Problem
        The original leads first (same positions), then one ghost lead per rep in ``ghost_rep``.
    constraints : tuple of Constraint
        The rules of the extended batch: plain fair shares, shifted bands, the ghosts' pins.
    ghost_rep : int64 (n_ghosts,)
        The rep of each ghost lead (reps with :math:`P_r > 0`), in rep order.
    n_leads : int
        Leads of the original batch.
    """

    problem: Problem
    constraints: tuple[Constraint, ...]
    ghost_rep: NDArray[np.int64]
    n_leads: int


def _received_array(received: ArrayLike, n_reps: int) -> NDArray[np.float64]:
    try:
        array = np.array(received, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"received_value must be numeric per rep, got {received!r}") from None
    if array.shape != (n_reps,):
        raise ValidationError(f"received_value must have one entry per rep (n_reps={n_reps}), got shape {array.shape}")
    if not np.isfinite(array).all() or (array < 0).any():
        bad = int(np.flatnonzero(~np.isfinite(array) | (array < 0))[0])
        raise ValidationError(f"received_value must be finite and >= 0; rep position {bad} has {array[bad]}")
    return array


def period_received(constraints: Iterable[Constraint]) -> NDArray[np.float64] | None:
    """The one ``received`` vector of the fair shares in ``constraints``, or None when none has one.

    Raises
    ------
    ValidationError
        Fair shares with different ``received`` (or some with and some without): one set of
        ghost leads cannot carry two different histories.
    """
    fair = [rule for rule in constraints if isinstance(rule, FairShare)]
    given = [rule.received for rule in fair if rule.received is not None]
    if not given:
        return None
    first = np.asarray(given[0], dtype=np.float64)
    if len(given) != len(fair) or any(not np.array_equal(np.asarray(g, np.float64), first) for g in given[1:]):
        raise ValidationError(
            "every FairShare in one solve must have the same `received` (value given earlier in the period); "
            "got fair shares with different ones, or some with and some without"
        )
    return first


def with_history(constraints: Iterable[Constraint] | Constraint, received_value: ArrayLike) -> tuple[Constraint, ...]:
    """``constraints`` with every :class:`FairShare` held over the period (``received=received_value``)."""
    given = (constraints,) if isinstance(constraints, Constraint) else tuple(constraints)
    out: list[Constraint] = []
    for rule in given:
        if isinstance(rule, FairShare):
            if rule.received is not None and not np.array_equal(np.asarray(rule.received), np.asarray(received_value)):
                raise ValidationError("a FairShare already has a different `received` than received_value")
            rule = FairShare(rule.tolerance, weight=rule.weight, received=received_value)
        out.append(rule)
    return tuple(out)


def _shift(bound: Any, shift: NDArray[np.float64]) -> Any:
    if bound is None:
        return None
    return np.asarray(bound, dtype=np.float64) + shift  # inf + shift stays inf


def reduce_history(problem: Problem, constraints: Iterable[Constraint], received: ArrayLike) -> Reduced:
    """Rewrite the period rule as today's rule on a batch with ghost leads (module docstring)."""
    prior = _received_array(received, problem.n_reps)
    ghost_rep = np.flatnonzero(prior > 0).astype(np.int64)
    has_ghost = np.zeros(problem.n_reps)
    has_ghost[ghost_rep] = 1.0
    rep_ids = [_plain(rep) for rep in problem.rep_ids.tolist()]
    ghost_ids: list[Hashable] = [_Ghost(rep_ids[r]) for r in ghost_rep.tolist()]
    extended = rebuild(problem, extra_rep=ghost_rep, extra_value=prior[ghost_rep], extra_ids=ghost_ids)

    rules: list[Constraint] = []
    for rule in constraints:
        if isinstance(rule, FairShare):
            rule = FairShare(rule.tolerance, weight=rule.weight)
        elif isinstance(rule, CountBand):
            rule = CountBand(lower=_shift(rule.lower, has_ghost), upper=_shift(rule.upper, has_ghost))
        elif isinstance(rule, ValueBand):
            rule = ValueBand(lower=_shift(rule.lower, prior), upper=_shift(rule.upper, prior))
        rules.append(rule)
    if ghost_ids:
        rules.append(Pin([(ghost, rep_ids[r]) for ghost, r in zip(ghost_ids, ghost_rep.tolist(), strict=True)]))
    return Reduced(problem=extended, constraints=tuple(rules), ghost_rep=ghost_rep, n_leads=problem.n_leads)


def solve_period(problem: Problem, constraints: tuple[Constraint, ...], *, solver: str, objective: str,
                 request: SolveRequest, started: float) -> Result:
    """Solve a checked batch whose fair shares carry ``received`` (called by :func:`fairassign.solve`)."""
    received = period_received(constraints)
    if received is None:  # nothing to reduce: an ordinary solve
        return solve(problem, constraints, solver=solver, objective=objective, time_limit=request.time_limit,
                     seed=request.seed, hint=request.hint, rel_gap=request.rel_gap)
    reduced = reduce_history(problem, constraints, received)
    hint = None
    if request.hint is not None:
        hint = np.concatenate([request.hint, reduced.ghost_rep])
    inner = solve(reduced.problem, reduced.constraints, solver=solver, objective=objective,
                  time_limit=request.time_limit, seed=request.seed, hint=hint, rel_gap=request.rel_gap)
    status = inner.status
    if status is Status.INVALID:
        status = Status.FEASIBLE  # the verifier on the original batch names what broke
    output = SolverOutput(rep_of=np.asarray(inner.rep_of[: reduced.n_leads]), status=status, bound=inner.bound,
                          diagnosis=inner.diagnosis)
    why = (f"period fair share: {reduced.ghost_rep.size} ghost lead(s) carry the value received earlier; "
           f"{inner.reason}")
    settings = SolveSettings(solver=solver, objective=request.objective, time_limit=request.time_limit,
                             seed=request.seed, rel_gap=request.rel_gap, hint=request.hint)
    return assemble(problem, bind(problem, constraints), output, inner.solver, why, started, settings=settings)


def solve_with_history(problem: Problem, constraints: Iterable[Constraint] | Constraint, received_value: ArrayLike,
                       *, solver: str = "auto", objective: str = "lexicographic", time_limit: float | None = None,
                       seed: int = 0, hint: Result | ArrayLike | None = None, rel_gap: float = 1e-4) -> Result:
    r"""Solve today's batch with every fair share held over the period.

    Parameters
    ----------
    problem : Problem
        Today's batch.
    constraints : iterable of Constraint
        As for :func:`fairassign.solve`; each :class:`~fairassign.FairShare` is read as
        :math:`l_r (V + P) \le V_r + P_r \le h_r (V + P)`.
    received_value : array_like of shape (n_reps,)
        :math:`P_r`: lead value each rep received earlier in the period, finite and ``>= 0``.
    solver, objective, time_limit, seed, hint, rel_gap
        As for :func:`fairassign.solve`.

    Returns
    -------
    Result
        On the original batch (no ghost rows); ``constraints`` holds the fair shares with
        ``received`` set, so :func:`fairassign.verify` checks the period rule and
        ``fa.solve(problem, result.constraints)`` replays the same solve.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[3.0, 1.0], [2.0, 1.0]], capacity=[2, 2], value=[10.0, 10.0])
    >>> fa.solve(problem, [fa.FairShare(0.0)]).rep_of.tolist()
    [0, 1]
    >>> solve_with_history(problem, [fa.FairShare(0.0)], received_value=[0.0, 20.0]).rep_of.tolist()
    [0, 0]
    """
    check_problem(problem)
    _received_array(received_value, problem.n_reps)
    # fa.solve applies the reduction whenever a fair share carries `received`, so every entry
    # point (solve, solve_blocks, strategies) keeps the period rule
    return solve(problem, with_history(constraints, received_value), solver=solver, objective=objective,
                 time_limit=time_limit, seed=seed, hint=hint, rel_gap=rel_gap)
