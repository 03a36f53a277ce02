"""The textbook model a user would write in PuLP and hand to CBC: the generic-MIP anchor.

One binary per candidate pair; a lead row each (``= 1`` under AssignAll); a capacity row per
rep; for a fair share, one variable V for the total assigned value and two rows per rep,
V_r >= (1 - t) share_r V and V_r <= (1 + t) share_r V, with capacity-weighted shares.
"""

from __future__ import annotations

import numpy as np

import fairassign as fa


def pulp_cbc(problem: fa.Problem, tolerance: float | None, time_limit: float) -> tuple[str, np.ndarray | None]:
    """Solve with CBC; return (status, rep_of or None when CBC found nothing)."""
    import pulp

    model = pulp.LpProblem("textbook", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{p}", cat="Binary") for p in range(problem.n_pairs)]
    model += pulp.lpSum(float(s) * var for s, var in zip(problem.pair_score, x, strict=True))
    for lead in range(problem.n_leads):
        row = pulp.lpSum(x[p] for p in range(problem.lead_start[lead], problem.lead_start[lead + 1]))
        model += (row == 1) if tolerance is not None else (row <= 1)
    by_rep = [[] for _ in range(problem.n_reps)]
    for p, rep in enumerate(problem.pair_rep.tolist()):
        by_rep[rep].append(p)
    for rep, pairs in enumerate(by_rep):
        model += pulp.lpSum(x[p] for p in pairs) <= float(problem.capacity[rep])
    if tolerance is not None:
        value = problem.value[problem.pair_lead]
        total = pulp.LpVariable("V", lowBound=0)
        model += total == pulp.lpSum(float(value[p]) * x[p] for p in range(problem.n_pairs))
        share = problem.capacity / problem.capacity.sum()
        for rep, pairs in enumerate(by_rep):
            received = pulp.lpSum(float(value[p]) * x[p] for p in pairs)
            model += received >= (1 - tolerance) * float(share[rep]) * total
            model += received <= (1 + tolerance) * float(share[rep]) * total
    model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    if model.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return "NO_SOLUTION", None  # at a time limit without an integer point, CBC hands back an LP point
    chosen = np.array([(var.varValue or 0.0) > 0.5 for var in x])
    if not chosen.any():
        return "NO_SOLUTION", None
    rep_of = np.full(problem.n_leads, -1, np.int64)
    rep_of[problem.pair_lead[chosen]] = problem.pair_rep[chosen]
    status = "OPTIMAL" if pulp.LpStatus[model.status] == "Optimal" and model.sol_status == 1 else "FEASIBLE"
    return status, rep_of
