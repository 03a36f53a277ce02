"""PLACEHOLDER: backend "greedy" (being written)."""

from __future__ import annotations

from ..problem import Problem
from ..rules import Rules
from .base import SolveRequest, Solver, SolverOutput, register


@register
class GreedySolver(Solver):
    name = "greedy"
    exact = False

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        raise NotImplementedError
