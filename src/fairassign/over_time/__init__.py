"""Routing over time: re-solving with churn, recycling stale leads, availability, period fairness.

* :func:`resolve`: re-solve a batch that already has owners; a lead moves only when that gains
  more than a churn penalty, with an optional hard cap on moves.
* :func:`recycle`: reclaim leads nobody contacted within their tier's SLA and reassign them,
  not to the rep who sat on them.
* :func:`available_problem`: the batch as it stands today: reps off, daily limits, open load.
* :func:`solve_with_history`: the fair-share rule over the period (value received earlier counts).
"""

from __future__ import annotations

from .availability import available_problem
from .history import solve_with_history, with_history
from .recycle import DEFAULT_SLA_HOURS, Recycling, recycle
from .resolve import Resolution, moves_between, resolve

__all__ = [
    "resolve",
    "Resolution",
    "moves_between",
    "recycle",
    "Recycling",
    "DEFAULT_SLA_HOURS",
    "available_problem",
    "solve_with_history",
    "with_history",
]
