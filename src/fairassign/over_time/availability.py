r"""The batch as it stands today: reps who are off, daily limits, and load carried over."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..problem import Problem
from ._common import check_amounts, check_problem, per_rep, rebuild

__all__ = ["available_problem"]


def available_problem(problem: Problem, *, off: Any = None, daily_limit: Any = None, open_load: Any = None) -> Problem:
    r"""Today's batch: reps who are off or have no room left are not eligible; open load uses capacity.

    Capacity (in the batch's effort units: leads for unit effort) becomes

    .. math:: c'_r = \max\bigl(0, \min(c_r - o_r, d_r)\bigr),

    with :math:`c_r` the capacity, :math:`o_r` the open load carried over (leads or effort
    still open from earlier days: they use the same room as today's leads) and :math:`d_r`
    the daily limit (new leads per day, as Odoo's and Zoho's daily quotas). It never goes
    below 0: a rep holding more than capacity gets nothing today, and nothing is taken back.
    A rep who is off, or whose capacity comes to 0, is made ineligible: capacity 0 *and*
    every candidate pair removed, so not even an effort-0 lead reaches them.

    Parameters
    ----------
    problem : Problem
    off : bool per rep or ``{rep_id: bool}``, optional
        Reps not working today.
    daily_limit : number per rep or ``{rep_id: number}``, optional
        ``>= 0``, ``inf`` for none (the default).
    open_load : number per rep or ``{rep_id: number}``, optional
        ``>= 0`` and finite; default 0.

    Returns
    -------
    Problem
        Same leads, reps, ids, scores, values and efforts; new capacities and fewer pairs.

    Notes
    -----
    A :class:`~fairassign.FairShare` weighs reps by capacity unless given weights, so a rep
    who is off has a share of 0 today. With :func:`~fairassign.over_time.solve_with_history`
    over a period, pass explicit weights (see :mod:`fairassign.over_time.history`).

    Examples
    --------
    >>> import fairassign as fa
    >>> problem = fa.Problem(score=[[1.0, 2.0, 3.0]], capacity=[5, 5, 5], rep_ids=["ann", "bob", "cy"])
    >>> today = available_problem(problem, off={"cy": True}, daily_limit=[2, 9, 9], open_load=[0, 4, 0])
    >>> today.capacity.tolist(), today.pair_rep.tolist()
    ([2.0, 1.0, 0.0], [0, 1])
    """
    check_problem(problem)
    is_off = per_rep("off", off, problem, default=False, kind="bool")
    limit = per_rep("daily_limit", daily_limit, problem, default=np.inf)
    check_amounts("daily_limit", limit, problem, allow_inf=True)
    load = per_rep("open_load", open_load, problem, default=0.0)
    check_amounts("open_load", load, problem, allow_inf=False)

    with np.errstate(invalid="ignore"):  # inf - 0 is inf; capacity inf with load keeps inf
        room = np.minimum(problem.capacity - load, limit)
    capacity = np.where(is_off, 0.0, np.maximum(room, 0.0))
    unavailable = capacity <= 0
    keep = ~unavailable[problem.pair_rep]
    return rebuild(problem, keep=keep, capacity=capacity)
