r"""Re-solving a batch whose leads already have owners, with a price on every move.

Model
-----
Let :math:`c_i` be lead *i*'s current rep (or none) and :math:`O` the owned leads. An
assignment :math:`x` *keeps* lead :math:`i \in O` when it gives it to :math:`c_i`, and *moves* it
otherwise (to another rep, or to no rep):
:math:`\text{moves}(x) = |O| - \text{kept}(x)`. Re-solving maximises

.. math:: s(x) + \lambda \, \text{kept}(x)

under every rule, with :math:`\lambda` the churn penalty: the score of each current pair is
raised by :math:`\lambda`, so a lead moves only when that gains more than :math:`\lambda`. Under
the default lexicographic objective the most leads are still assigned first: a lead is moved
to make room for one that would otherwise stay unassigned, whatever the penalty; with
``objective="score"`` the penalty weighs against that too. The result reports the *true*
score :math:`s(x)` as ``objective``.

A bonus above :math:`S + 1`, with :math:`S = 2 \sum_i \max_r |s_{ir}|` (more than any difference
in total score), already makes keeping one more lead outweigh every score difference, so
larger penalties are solved as :math:`S + 1`, which keeps the numbers small for the backends.

Hard cap on moves
-----------------
``max_moves = m`` adds :math:`\text{moves}(x) \le m`, a rule no backend knows. It is priced
instead (a Lagrangian search): :math:`\text{moves}(\lambda)`, the moves of an optimum at bonus
:math:`\lambda`, does not increase with :math:`\lambda` (exchange argument on two optima), so a
bisection finds the smallest bonus :math:`\lambda^* \ge` ``churn_penalty`` whose answer moves at
most *m* leads. That answer is returned; its moves are checked, never assumed. For every
bonus :math:`\lambda` solved with a proven bound :math:`B(\lambda)`, and every rule-keeping
:math:`y` with :math:`\text{moves}(y) \le m`,

.. math:: s(y) + c\,\text{kept}(y) \le B(\lambda) - (\lambda - c)(|O| - m),

the Lagrangian bound reported as ``penalized_bound`` (its minimum over the bonuses tried).
If the largest bonus still moves more than *m* leads under ``objective="score"`` (which then
keeps the most leads possible) the cap cannot be kept: INFEASIBLE, said in words.

``Result.bound`` is a bound on the true score: no rule-keeping assignment that assigns at
least ``n_assigned`` leads and moves at most ``moves`` leads scores more than
:math:`\min_\lambda B(\lambda) - \lambda(|O| - \text{moves})`; it equals ``objective`` when the
penalised solve is optimal.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..constraints import Constraint
from ..errors import ValidationError
from ..problem import Problem
from ..result import Result, SolveSettings, Status
from ..rules import bind
from ..solve import assemble, solve
from ..solvers.base import SolverOutput
from ._common import check_problem, nonnegative_number, rebuild, rep_per_lead

__all__ = ["Resolution", "resolve", "moves_between"]

#: the bisection stops when the bonus is known within this relative width
_BONUS_RTOL = 1e-3


@dataclass(frozen=True, eq=False)
class Resolution(Result):
    """A :class:`~fairassign.Result` of :func:`resolve`, with its moves.

    Attributes
    ----------
    current : int64 (n_leads,)
        The assignment re-solved from (-1 for leads without an owner).
    moves : int
        Owned leads whose rep changed (to another rep or to none); 0 without a solution.
    kept : int
        Owned leads that stay with their rep.
    churn_penalty : float
        The penalty asked for.
    penalty : float
        The bonus the returned answer was solved with: ``churn_penalty``, or the larger one the
        ``max_moves`` search settled on (capped at the value that already keeps every lead
        it can).
    max_moves : int or None
    penalized_objective : float
        ``objective + churn_penalty * kept``: what was maximised.
    penalized_bound : float or None
        Proven upper bound on ``score + churn_penalty * kept`` over every rule-keeping
        assignment within ``max_moves`` (the Lagrangian bound with a cap); None if none.
    """

    current: NDArray[np.int64] | None = field(default=None, repr=False)
    moves: int = 0
    kept: int = 0
    churn_penalty: float = 0.0
    penalty: float = 0.0
    max_moves: int | None = None
    penalized_objective: float = 0.0
    penalized_bound: float | None = None

    @property
    def moved(self) -> NDArray[np.bool_]:
        """Bool mask of owned leads whose rep changed."""
        if self.current is None or not self.status.has_solution:
            return np.zeros(self.problem.n_leads, bool)
        return (self.current >= 0) & (self.rep_of != self.current)

    def summary(self) -> str:
        cap = "" if self.max_moves is None else f" (cap {self.max_moves})"
        bound = "n/a" if self.penalized_bound is None else f"{self.penalized_bound:.6g}"
        return (super().summary() + f"\nmoves      {self.moves}{cap}, kept {self.kept}; penalty {self.penalty:g}"
                f"\npenalized  {self.penalized_objective:.6g}   bound {bound}")


def moves_between(current: NDArray[np.int64], rep_of: NDArray[np.int64]) -> int:
    """Leads that had a rep in ``current`` and have another one (or none) in ``rep_of``."""
    current = np.asarray(current)
    return int(((current >= 0) & (np.asarray(rep_of) != current)).sum())


@dataclass
class _Trial:
    bonus: float
    result: Result
    moves: int


def _max_moves(given: Any) -> int | None:
    if given is None:
        return None
    if isinstance(given, bool) or not isinstance(given, numbers.Integral) or given < 0:
        raise ValidationError(f"max_moves must be a non-negative integer or None, got {given!r}")
    return int(given)


def resolve(problem: Problem, constraints: Iterable[Constraint] | Constraint = (), current: Any = None, *,
            churn_penalty: float, max_moves: int | None = None, solver: str = "auto",
            objective: str = "lexicographic", seed: int = 0, time_limit: float | None = None,
            rel_gap: float = 1e-4, max_iterations: int = 20) -> Resolution:
    r"""Re-solve a batch starting from its current owners; a move must gain more than ``churn_penalty``.

    Parameters
    ----------
    problem : Problem
    constraints : iterable of Constraint
        As for :func:`fairassign.solve`. A :class:`~fairassign.Pin` wins over the current
        owner (a pinned lead goes to its pin, and never moves from it).
    current : int array (n_leads,) or ``{lead_id: rep_id}``
        Current rep position of each lead (-1: none), or a mapping by id (absent or None: none).
        A current pair that is no longer a candidate (rep not eligible, or off) must move.
    churn_penalty : float
        Finite, ``>= 0``: score a move must gain (see the module docstring).
    max_moves : int, optional
        Hard cap on moves; searched with a Lagrangian bisection on the bonus.
    solver, objective, seed, time_limit, rel_gap
        As for :func:`fairassign.solve`; ``time_limit`` applies to each solve of the search.
    max_iterations : int
        Most solves of the bisection for ``max_moves`` (after the two end points).

    Returns
    -------
    Resolution
        A :class:`~fairassign.Result` (true score as ``objective``) with ``moves``, ``kept``
        and the penalised objective and bound. It never breaks ``max_moves``: when no
        assignment keeps the cap the status is INFEASIBLE with the reason in words.

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 1.5], [2.0, 1.0]], capacity=[2, 2])
    >>> kept = resolve(problem, [fa.AssignAll()], current=[0, 0], churn_penalty=1.0)
    >>> kept.rep_of.tolist(), kept.moves, kept.objective
    ([0, 0], 0, 3.0)
    >>> moved = resolve(problem, [fa.AssignAll()], current=[0, 0], churn_penalty=0.2)
    >>> moved.rep_of.tolist(), moved.moves, moved.objective
    ([1, 0], 1, 3.5)
    """
    started = time.perf_counter()
    check_problem(problem)
    given = (constraints,) if isinstance(constraints, Constraint) else tuple(constraints)
    if current is None:
        raise ValidationError("current must be given: a rep position per lead (-1 for none) or a {lead_id: rep_id}")
    owner = rep_per_lead("current", current, problem)
    churn = nonnegative_number("churn_penalty", churn_penalty)
    cap = _max_moves(max_moves)
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, numbers.Integral) or max_iterations < 0:
        raise ValidationError(f"max_iterations must be a non-negative integer, got {max_iterations!r}")
    rules = bind(problem, given)

    owned = np.flatnonzero(owner >= 0)
    n_owned = int(owned.size)
    keep_pair = problem.pair_index(owned, owner[owned])
    keepable = keep_pair >= 0
    keepable[keepable] = rules.allowed[keep_pair[keepable]]
    keep_mask = np.zeros(problem.n_pairs, bool)
    keep_mask[keep_pair[keepable]] = True
    n_forced = n_owned - int(keepable.sum())

    largest = np.zeros(problem.n_leads)
    np.maximum.at(largest, problem.pair_lead, np.abs(problem.pair_score))
    top = 2.0 * float(largest.sum()) + 1.0  # a bonus this large already keeps every lead it can
    options: dict[str, Any] = {"solver": solver, "objective": objective, "seed": seed, "time_limit": time_limit,
                               "rel_gap": rel_gap}
    settings = SolveSettings(solver=solver, objective=objective, time_limit=time_limit, seed=seed, rel_gap=rel_gap)
    trials: list[_Trial] = []

    def attempt(bonus: float, hint: NDArray[np.int64] | None, objective_name: str = objective) -> _Trial:
        shifted = rebuild(problem, pair_score=problem.pair_score + bonus * keep_mask)
        result = solve(shifted, given, **{**options, "objective": objective_name, "hint": hint})
        trial = _Trial(bonus, result, moves_between(owner, result.rep_of) if result.status.has_solution else -1)
        if objective_name == objective:
            trials.append(trial)
        return trial

    def finish(trial: _Trial | None, status: Status | None = None, notes: tuple[str, ...] = (),
               diagnosis: tuple[str, ...] = ()) -> Resolution:
        if trial is None:
            output = SolverOutput(rep_of=np.full(problem.n_leads, -1, np.int64), status=status or Status.INFEASIBLE,
                                  diagnosis=diagnosis)
            name, why, bonus = solver, "; ".join(notes) or "max_moves cannot be kept", churn
        else:
            rep_of = trial.result.rep_of
            moves = trial.moves if trial.moves >= 0 else 0
            status = status or trial.result.status
            if status is Status.INVALID:
                status = Status.FEASIBLE  # the verifier below names what broke
            n_assigned = int((rep_of >= 0).sum())
            bound = _score_bound(trials, n_assigned, n_owned - moves) if status.has_solution else None
            output = SolverOutput(rep_of=rep_of, status=status, bound=bound, diagnosis=trial.result.diagnosis)
            name, bonus = trial.result.solver, trial.bonus
            why = "; ".join([*notes, f"churn penalty {churn:g}" + (f", bonus {bonus:g}" if bonus != churn else ""),
                             trial.result.reason])
        result = assemble(problem, rules, output, name, why, started, settings=settings)
        moves = moves_between(owner, result.rep_of) if result.status.has_solution else 0
        kept = n_owned - moves if result.status.has_solution else 0
        penalized_bound = _penalized_bound(trials, churn, n_owned, cap, result.n_assigned,
                                           n_keepable=n_owned - n_forced)
        if not result.status.has_solution:
            penalized_bound = None
        values = {f.name: getattr(result, f.name) for f in fields(result)}
        if result.status is Status.OPTIMAL and cap is not None and bonus != churn:
            # the bisection's answer is proven only when the Lagrangian bound closes the gap
            target = result.objective + churn * kept
            if penalized_bound is None or penalized_bound - target > 1e-9 * max(1.0, abs(target)):
                values["status"] = Status.FEASIBLE
        current_copy = owner.copy()
        current_copy.flags.writeable = False
        return Resolution(**values, current=current_copy, moves=moves, kept=kept, churn_penalty=churn,
                          penalty=bonus, max_moves=cap, penalized_objective=result.objective + churn * kept,
                          penalized_bound=penalized_bound)

    if cap is not None and n_forced > cap:
        return finish(None, diagnosis=(
            f"max_moves={cap} cannot be kept: {n_forced} owned leads must move because their current rep is no "
            "longer an eligible, allowed pair (not a candidate, forbidden, or the lead is pinned elsewhere)",))

    first = attempt(min(churn, top), None)
    if not first.result.status.has_solution or cap is None or first.moves <= cap:
        return finish(first)

    # Lagrangian search on the bonus: moves(bonus) does not increase, so bisect for the smallest within the cap
    high = first if first.bonus >= top else attempt(top, first.result.rep_of)
    if not high.result.status.has_solution or high.moves > cap:
        if objective == "score" and high.result.status is Status.OPTIMAL:
            return finish(None, diagnosis=(
                f"max_moves={cap} cannot be kept: every rule-keeping assignment moves at least {high.moves} of the "
                f"{n_owned} owned leads",))
        # lexicographic: keeping leads in place may cost assigned leads; keep the most leads first
        kept_first = attempt(top, high.result.rep_of if high.result.status.has_solution else None, "score")
        if kept_first.result.status.has_solution and kept_first.moves <= cap:
            return finish(kept_first, status=Status.FEASIBLE, notes=(
                f"max_moves={cap} keeps fewer leads assigned than the rules allow: returned the assignment that "
                "keeps the most leads in place, then the most score",))
        if kept_first.result.status is Status.OPTIMAL:
            return finish(None, diagnosis=(
                f"max_moves={cap} cannot be kept: every rule-keeping assignment moves at least {kept_first.moves} of "
                f"the {n_owned} owned leads",))
        return finish(None, status=Status.NO_SOLUTION, notes=(f"no assignment within max_moves={cap} was found",),
                      diagnosis=(f"no assignment within max_moves={cap} was found (the search was not exact)",))
    base, best = first.bonus, high
    low, high_step = 0.0, high.bonus - base  # the bracket, as steps above the churn penalty
    floor = max(high_step * 1e-9, 1e-12)
    tolerance = _BONUS_RTOL * max(float(largest.max(initial=0.0)), 1e-9)
    for _ in range(max_iterations):
        if best.moves == cap or high_step - low <= tolerance:
            break
        lowest = max(low, floor)
        # geometric steps while the bracket spans orders of magnitude, halving after
        step = math.sqrt(lowest * high_step) if high_step > 16.0 * lowest else (low + high_step) / 2.0
        trial = attempt(base + step, best.result.rep_of)
        if trial.result.status.has_solution and trial.moves <= cap:
            best, high_step = trial, step
        else:
            low = step
    return finish(best, notes=(f"max_moves={cap}: bonus searched in {len(trials)} solves",))


def _score_bound(trials: list[_Trial], n_assigned: int, kept_at_least: int) -> float | None:
    """``min B(bonus) - bonus * kept_at_least`` over solves whose bound covers ``n_assigned`` leads."""
    candidates = [t.result.bound - t.bonus * kept_at_least for t in trials
                  if t.result.bound is not None and t.result.status.has_solution
                  and t.result.n_assigned <= n_assigned]
    return min(candidates) if candidates else None


def _penalized_bound(trials: list[_Trial], churn: float, n_owned: int, cap: int | None, n_assigned: int,
                     n_keepable: int) -> float | None:
    """The Lagrangian bound on ``score + churn * kept`` over rule-keeping assignments within the cap."""
    must_keep = 0 if cap is None else max(0, n_owned - cap)
    candidates = []
    for t in trials:
        if t.result.bound is None or not t.result.status.has_solution or t.result.n_assigned > n_assigned:
            continue
        if t.bonus >= churn:
            candidates.append(t.result.bound - (t.bonus - churn) * must_keep)
        else:  # a penalty above the largest useful bonus was solved as that bonus
            candidates.append(t.result.bound + (churn - t.bonus) * n_keepable)
    return min(candidates) if candidates else None
