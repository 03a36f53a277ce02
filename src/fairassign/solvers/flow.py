"""PLACEHOLDER: backend "flow" (being written)."""

from __future__ import annotations

from ..problem import Problem
from ..rules import Rules
from .base import SolveRequest, Solver, SolverOutput, register


@register
class FlowSolver(Solver):
    name = "flow"
    exact = True

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        raise NotImplementedError
