"""PLACEHOLDER: backend "lp-round" (being written)."""

from __future__ import annotations

from ..problem import Problem
from ..rules import Rules
from .base import SolveRequest, Solver, SolverOutput, register


@register
class LpRoundSolver(Solver):
    name = "lp-round"
    exact = False

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        raise NotImplementedError
