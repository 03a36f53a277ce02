"""The shared repair pass: turn an assignment that breaks rules into one that keeps them.

Interface settled first (implementation follows in the next commits)::

    repair(problem, rules, rep_of, request, priority=None) -> rep_of or None
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..problem import Problem
from ..rules import Rules
from .base import SolveRequest

__all__ = ["repair"]


def repair(problem: Problem, rules: Rules, rep_of: NDArray[np.int64], request: SolveRequest,
           priority: NDArray[np.float64] | None = None) -> NDArray[np.int64] | None:
    """Turn an assignment that may break capacity, bands, fair shares or must-assign into one that keeps
    every rule (in rules), changing as little score as it can; None when it cannot. `priority` (per pair,
    optional) is the score to use when choosing moves (e.g. LP values or dual-adjusted scores)."""
    raise NotImplementedError
