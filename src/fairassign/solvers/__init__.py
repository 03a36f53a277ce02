"""Solver backends behind one interface, and ``"auto"``, which picks among them.

=========  =====  ===============================================================
name       exact  what it is
=========  =====  ===============================================================
flow       yes    OR-Tools min-cost flow; only capacity, count caps and
                  eligibility may bind, with unit effort
cpsat      yes    OR-Tools CP-SAT; every rule, scores scaled to integers
mip        yes    the same model through PuLP (CBC, or HiGHS when installed)
lp-round   no     LP relaxation + rounding + repair; the LP value is its bound
greedy     no     vectorised numpy for the largest batches; Lagrangian bound
=========  =====  ===============================================================
"""

from .auto import solve_auto
from .base import Solver, SolveRequest, SolverOutput, get_solver, register, solver_names
from .cpsat import CpSatSolver
from .flow import FlowSolver
from .greedy import GreedySolver
from .lp_round import LpRoundSolver
from .mip import MipSolver

__all__ = [
    "Solver",
    "SolveRequest",
    "SolverOutput",
    "get_solver",
    "register",
    "solver_names",
    "solve_auto",
    "FlowSolver",
    "CpSatSolver",
    "MipSolver",
    "LpRoundSolver",
    "GreedySolver",
]
