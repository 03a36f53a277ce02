"""The small interface every backend implements, and the registry that names them.

A backend declares what it can do as class attributes and answers ``unsupported(...)``
with a reason in words (or None); it imports its solver library only inside ``solve``, so
importing fairassign never probes or loads OR-Tools, PuLP or HiGHS.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import MissingDependencyError, UnknownSolverError
from ..result import Status

if TYPE_CHECKING:
    from ..problem import Problem
    from ..rules import Rules

__all__ = ["Objective", "SolveRequest", "SolverOutput", "Solver", "register", "get_solver", "solver_names"]

Objective = Literal["lexicographic", "score"]


@dataclass(frozen=True)
class SolveRequest:
    """What a backend is asked to do.

    Attributes
    ----------
    objective : "lexicographic" or "score"
        Lexicographic: as many leads as the rules allow first, then the most total score.
        Score: the most total score (a lead whose best pair scores below 0 stays unassigned
        unless a rule forces it).
    time_limit : float or None
        Seconds; None for no limit.
    seed : int
        Seeds every random choice, so the same input and seed give the same assignment.
    hint : int64 (n_leads,) or None
        A rule-keeping assignment to start from (``rep_of`` form), e.g. a heuristic's answer.
    rel_gap : float
        ``"auto"`` stops refining once an answer is proven within this relative gap.
        Exact backends called by name always aim for a proven optimum within ``time_limit``.
    """

    objective: Objective = "lexicographic"
    time_limit: float | None = None
    seed: int = 0
    hint: NDArray[np.int64] | None = None
    rel_gap: float = 1e-4


@dataclass(frozen=True)
class SolverOutput:
    """What a backend returns; :func:`fairassign.solve` measures and verifies the rest.

    ``bound`` follows the definition of :attr:`fairassign.Result.bound`; ``notes`` are short
    phrases (rounding applied, time limit hit) that end up in ``Result.reason``.
    """

    rep_of: NDArray[np.int64]
    status: Status
    bound: float | None = None
    diagnosis: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


class Solver(ABC):
    """A backend. Subclasses set the class attributes and implement :meth:`solve`."""

    name: ClassVar[str]
    exact: ClassVar[bool]
    #: importable modules the backend needs, and the extra that installs them
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None

    @classmethod
    def available(cls) -> bool:
        """True when every module in ``requires`` can be imported (found, not imported)."""
        return all(importlib.util.find_spec(module) is not None for module in cls.requires)

    @classmethod
    def ensure_available(cls) -> None:
        missing = [module for module in cls.requires if importlib.util.find_spec(module) is None]
        if missing:
            hint = f"pip install 'fairassign[{cls.extra}]'" if cls.extra else f"pip install {' '.join(missing)}"
            raise MissingDependencyError(f"solver {cls.name!r} needs {', '.join(missing)}; install it with {hint}")

    def unsupported(self, problem: Problem, rules: Rules) -> str | None:
        """Why this backend cannot solve the batch exactly as asked, or None when it can."""
        return None

    @abstractmethod
    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        """Solve the batch; never raise for infeasibility (return a status instead)."""


_REGISTRY: dict[str, type[Solver]] = {}


def register(cls: type[Solver]) -> type[Solver]:
    """Class decorator: make a backend reachable by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def solver_names() -> tuple[str, ...]:
    """Registered backend names, in registration order."""
    return tuple(_REGISTRY)


def get_solver(name: str) -> Solver:
    """A fresh instance of the backend called ``name``.

    Raises
    ------
    UnknownSolverError
        The name is not registered.
    MissingDependencyError
        The backend's library is not installed.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        known = ", ".join(repr(n) for n in ("auto", *_REGISTRY))
        raise UnknownSolverError(f"solver must be one of {known}; got {name!r}")
    cls = _REGISTRY[name]
    cls.ensure_available()
    return cls()
