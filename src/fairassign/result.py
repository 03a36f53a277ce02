"""The outcome of one solve: the same fields whatever solved it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .errors import InfeasibleError, NoSolutionError, SolveError

if TYPE_CHECKING:
    from .constraints import Constraint
    from .explain import Explanation
    from .problem import Problem
    from .verify import Violation

__all__ = ["Status", "Result", "SolveSettings", "relative_gap"]


class Status(enum.Enum):
    """How a solve ended.

    OPTIMAL
        The assignment is proven best (within the solver's stated rounding).
    FEASIBLE
        The assignment keeps every rule; ``bound`` says how far from best it may be.
    INFEASIBLE
        No assignment keeps every rule; ``diagnosis`` says why, in words.
    NO_SOLUTION
        Nothing feasible was found (time ran out, or a heuristic gave up); ``rep_of`` is all -1.
    INVALID
        The solver's answer broke a rule that the independent verifier checks; ``violations``
        lists them. From a solver this is a bug in fairassign or the solver: please report it.
        A baseline strategy (:mod:`fairassign.strategies`) ignores fairness rules by design, so
        it gets INVALID whenever its answer breaks one; that is the measurement, not a bug.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    INVALID = "invalid"

    @property
    def has_solution(self) -> bool:
        """True for OPTIMAL and FEASIBLE: ``rep_of`` keeps every rule."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)


def relative_gap(objective: float, bound: float | None) -> float | None:
    r"""``(bound - objective) / max(|bound|, |objective|)``, or None without a bound.

    A difference below ``1e-9 * max(1, |bound|, |objective|)`` is floating-point noise
    (an LP bound of 3e-12 over an objective of 0) and counts as a gap of 0.
    """
    if bound is None:
        return None
    difference = bound - objective
    if difference <= 1e-9 * max(1.0, abs(bound), abs(objective)):
        return 0.0
    return difference / max(abs(bound), abs(objective))


@dataclass(frozen=True, eq=False)
class SolveSettings:
    """The parameters a result was solved with, as the caller asked (for audit records and replay).

    Attributes
    ----------
    solver : str
        The name asked for (``"auto"``, a backend or a strategy name); ``Result.solver`` says
        which backend actually ran.
    objective : str
    time_limit : float or None
    seed : int
    rel_gap : float
    hint : int64 (n_leads,) or None
        The warm start given, in ``rep_of`` form.
    entry : str
        The function that produced the result, which a replay calls again: ``"solve"``
        (:func:`fairassign.solve`), ``"solve_blocks"`` (:func:`fairassign.solve_blocks`),
        ``"sweep"`` (one scenario of :func:`fairassign.sweep`, which is a ``solve`` of it) or
        ``"strategy"`` (a baseline of :func:`fairassign.strategies.run_strategy`).
    max_blocks : int or None
        ``solve_blocks``'s ``max_blocks``.
    options : mapping or None
        A baseline strategy's own options as given (``monthly_capacity``, ``rules`` ...).
    """

    solver: str
    objective: str = "lexicographic"
    time_limit: float | None = None
    seed: int = 0
    rel_gap: float = 1e-4
    hint: NDArray[np.int64] | None = field(default=None, repr=False)
    entry: str = "solve"
    max_blocks: int | None = None
    options: Mapping[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True, eq=False)
class Result:
    r"""One routing decision and everything needed to trust it.

    Attributes
    ----------
    rep_of : int64 (n_leads,)
        Rep position of each lead; -1 for unassigned.
    status : Status
    objective : float
        Total score of the chosen pairs.
    bound : float or None
        Proven upper bound on the total score of any assignment that keeps every rule and
        assigns at least ``n_assigned`` leads (under the default lexicographic objective; under
        ``objective="score"`` on any that keeps every rule). None where nothing was proven.
    gap : float or None
        :math:`(\text{bound} - \text{objective}) / \max(|\text{bound}|, |\text{objective}|)`.
    n_assigned : int
    solver : str
        The backend that produced ``rep_of`` (for ``"auto"``, the one it picked).
    reason : str
        Why that backend (``"auto"``) or what it noted (rounding of scores, time limit ...).
    solve_time : float
        Wall-clock seconds spent in :func:`fairassign.solve`, validation included.
    rep_count, rep_effort, rep_value : float64 (n_reps,)
        Leads, effort units and lead value each rep receives.
    violations : tuple of Violation
        What :func:`fairassign.verify` found; empty for OPTIMAL and FEASIBLE.
    diagnosis : tuple of str
        Why the batch is INFEASIBLE or unsolved, in words.
    problem : Problem
        The batch solved (for ids and explanations).
    constraints : tuple of Constraint
        The rules the batch was solved under, as given (for explanations and audit records).
    settings : SolveSettings or None
        The parameters of the call that produced it; None where the caller did not record them.
    """

    rep_of: NDArray[np.int64]
    status: Status
    objective: float
    bound: float | None
    gap: float | None
    n_assigned: int
    solver: str
    reason: str
    solve_time: float
    rep_count: NDArray[np.float64]
    rep_effort: NDArray[np.float64]
    rep_value: NDArray[np.float64]
    violations: tuple[Violation, ...]
    diagnosis: tuple[str, ...]
    problem: Problem = field(repr=False)
    constraints: tuple[Constraint, ...] = field(default=(), repr=False)
    settings: SolveSettings | None = field(default=None, repr=False)

    def raise_for_status(self) -> Result:
        """Return ``self`` when it holds a rule-keeping assignment, else raise.

        Raises
        ------
        InfeasibleError
            Status INFEASIBLE; the message carries the diagnosis.
        NoSolutionError
            Status NO_SOLUTION.
        SolveError
            Status INVALID (the verifier rejected the solver's answer).
        """
        if self.status.has_solution:
            return self
        details = "; ".join(self.diagnosis) or "no diagnosis"
        if self.status is Status.INFEASIBLE:
            raise InfeasibleError(f"the rules admit no assignment: {details}")
        if self.status is Status.NO_SOLUTION:
            raise NoSolutionError(f"solver {self.solver!r} found no feasible assignment: {details}")
        broken = "; ".join(v.message for v in self.violations[:5])
        raise SolveError(f"solver {self.solver!r} returned an assignment that breaks rules: {broken}")

    def explain(self, lead: Any = None, *, position: int | None = None) -> Explanation:
        """Why ``lead`` (an entry of ``problem.lead_ids``) went where it did; see :func:`fairassign.explain.explain`."""
        from .explain import explain

        return explain(self, lead, position=position)

    @property
    def assigned(self) -> NDArray[np.bool_]:
        """Bool mask of assigned leads."""
        return self.rep_of >= 0

    def assignment(self) -> dict[Any, Any]:
        """``{lead_id: rep_id}`` for every assigned lead."""
        leads = np.flatnonzero(self.rep_of >= 0)
        lead_ids = self.problem.lead_ids[leads].tolist()
        rep_ids = self.problem.rep_ids[self.rep_of[leads]].tolist()
        return dict(zip(lead_ids, rep_ids, strict=True))

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per lead: ``lead_id``, ``rep_id`` (None if unassigned), ``score``."""
        problem = self.problem
        assigned = self.rep_of >= 0
        pairs = np.full(problem.n_leads, -1, dtype=np.int64)
        leads = np.flatnonzero(assigned)
        pairs[leads] = problem.pair_index(leads, self.rep_of[leads])
        rep_ids = problem.rep_ids.tolist()
        records = []
        for lead, rep, pair in zip(problem.lead_ids.tolist(), self.rep_of.tolist(), pairs.tolist(), strict=True):
            records.append({
                "lead_id": lead,
                "rep_id": None if rep < 0 else rep_ids[rep],
                "score": None if pair < 0 else float(problem.pair_score[pair]),
            })
        return records

    def summary(self) -> str:
        """A few readable lines: status, objective, bound, gap, solver, time."""
        gap = "n/a" if self.gap is None else f"{self.gap:.3%}"
        bound = "n/a" if self.bound is None else f"{self.bound:.6g}"
        lines = [
            f"status     {self.status.name}",
            f"assigned   {self.n_assigned} of {self.problem.n_leads} leads",
            f"objective  {self.objective:.6g}   bound {bound}   gap {gap}",
            f"solver     {self.solver} ({self.reason})",
            f"time       {self.solve_time:.3f} s",
        ]
        lines += [f"diagnosis  {line}" for line in self.diagnosis]
        lines += [f"violation  {violation.message}" for violation in self.violations]
        return "\n".join(lines)

    def __repr__(self) -> str:
        gap = None if self.gap is None else round(self.gap, 6)
        return (
            f"Result(status={self.status.name}, objective={self.objective:.6g}, bound={self.bound}, gap={gap}, "
            f"n_assigned={self.n_assigned}/{self.problem.n_leads}, solver={self.solver!r})"
        )
