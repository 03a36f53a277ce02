"""fairassign: assign sales leads to sales reps, optimally, fairly and checkably.

>>> import fairassign as fa
>>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0]], capacity=[1, 1])
>>> fa.solve(problem).rep_of.tolist()
[0, 1]
"""

from __future__ import annotations

from . import datasets, metrics
from .constraints import AssignAll, Constraint, CountBand, FairShare, Forbid, Pin, ValueBand
from .decompose import Block, blocks, solve_blocks
from .eligibility import attribute_eligibility, tier_eligibility
from .errors import (
    FairAssignError,
    InfeasibleError,
    MissingDependencyError,
    NoSolutionError,
    SolveError,
    UnknownSolverError,
    ValidationError,
)
from .metrics import Metrics
from .problem import Problem
from .result import Result, Status
from .solve import solve
from .solvers import solver_names
from .sweep import sweep
from .verify import Violation, verify

__version__ = "0.1.0"

__all__ = [
    "Problem",
    "solve",
    "blocks",
    "solve_blocks",
    "sweep",
    "Block",
    "verify",
    "Result",
    "Status",
    "Violation",
    "Metrics",
    "metrics",
    "datasets",
    "Constraint",
    "AssignAll",
    "CountBand",
    "ValueBand",
    "FairShare",
    "Pin",
    "Forbid",
    "tier_eligibility",
    "attribute_eligibility",
    "solver_names",
    "FairAssignError",
    "ValidationError",
    "MissingDependencyError",
    "UnknownSolverError",
    "SolveError",
    "InfeasibleError",
    "NoSolutionError",
    "__version__",
]
