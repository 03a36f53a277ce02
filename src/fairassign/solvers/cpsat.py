"""PLACEHOLDER: backend "cpsat" (being written)."""

from __future__ import annotations

from ..problem import Problem
from ..rules import Rules
from .base import SolveRequest, Solver, SolverOutput, register


@register
class CpSatSolver(Solver):
    name = "cpsat"
    exact = True

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        raise NotImplementedError
