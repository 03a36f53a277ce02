"""Exceptions raised by fairassign.

The tree::

    FairAssignError                 base of everything raised on purpose
    ├── ValidationError             bad input; also a ValueError
    ├── MissingDependencyError      an optional package is absent; also an ImportError
    ├── UnknownSolverError          a solver name not in the registry; also a ValueError
    └── SolveError                  raised by ``Result.raise_for_status()``
        ├── InfeasibleError         the rules admit no assignment
        └── NoSolutionError         time ran out (or a heuristic failed) with no feasible answer

Infeasibility is a *status* of a result, never raised by ``solve`` itself.
"""

from __future__ import annotations

__all__ = [
    "FairAssignError",
    "ValidationError",
    "MissingDependencyError",
    "UnknownSolverError",
    "SolveError",
    "InfeasibleError",
    "NoSolutionError",
]


class FairAssignError(Exception):
    """Base class of every exception fairassign raises on purpose."""


class ValidationError(FairAssignError, ValueError):
    """An argument has the wrong shape, type or range.

    The message names the argument, what was expected and what was given.
    """


class MissingDependencyError(FairAssignError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


class UnknownSolverError(FairAssignError, ValueError):
    """A solver name that is not in the registry."""


class SolveError(FairAssignError):
    """Raised by :meth:`fairassign.Result.raise_for_status` for unusable results."""


class InfeasibleError(SolveError):
    """The rules admit no assignment; the message carries the diagnosis."""


class NoSolutionError(SolveError):
    """No feasible assignment was found (time limit, or a heuristic gave up)."""
