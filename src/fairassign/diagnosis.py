"""Reasons in words why a batch cannot be solved, found before any solver runs.

Each check is a necessary condition for feasibility, cheap to test on the candidate list;
passing them all does not prove feasibility (a solver may still report INFEASIBLE).
"""

from __future__ import annotations

import numpy as np

from .constraints import _plain
from .problem import Problem
from .rules import Rules

__all__ = ["diagnose", "named_list", "MAX_NAMED"]

#: at most this many leads or reps are named in one kind of diagnosis
MAX_NAMED = 5


def named_list(ids: list[object]) -> str:
    """``'a', 'b', 'c'``, cut after :data:`MAX_NAMED` with "and N more"."""
    shown = ", ".join(repr(identifier) for identifier in ids[:MAX_NAMED])
    return shown + (f" and {len(ids) - MAX_NAMED} more" if len(ids) > MAX_NAMED else "")


def diagnose(problem: Problem, rules: Rules) -> list[str]:
    """Contradictions that make the rules unsatisfiable, in words; empty when none is found."""
    reasons = list(rules.conflicts)
    allowed_lead = problem.pair_lead[rules.allowed]
    allowed_rep = problem.pair_rep[rules.allowed]
    allowed_effort = problem.pair_effort[rules.allowed]
    fits = allowed_effort <= problem.capacity[allowed_rep]
    options = np.bincount(allowed_lead[fits], minlength=problem.n_leads)

    stranded = np.flatnonzero(rules.must_assign & (options == 0))
    if stranded.size:
        noun = "lead" if stranded.size == 1 else "leads"
        verb = "has" if stranded.size == 1 else "have"
        reasons.append(
            f"{noun} {named_list(problem.lead_ids[stranded].tolist())} must be assigned but {verb} no eligible rep "
            "with room for it"
        )

    must = rules.must_assign
    n_must = int(must.sum())
    if n_must and not stranded.size:
        room = np.minimum(problem.capacity, rules.count_upper)
        if problem.effort_kind == "unit":
            total_room = float(np.minimum(room, np.bincount(allowed_rep, minlength=problem.n_reps)).sum())
            if total_room < n_must:
                reasons.append(f"capacity {total_room:g} < {n_must} leads that must be assigned")
        else:
            cheapest = np.full(problem.n_leads, np.inf)
            np.minimum.at(cheapest, allowed_lead, allowed_effort)
            needed = float(cheapest[must].sum())
            total = float(problem.capacity.sum())
            if total < needed:
                reasons.append(
                    f"capacity {total:g} effort units < {needed:g} needed at the least by the leads "
                    "that must be assigned"
                )

    reachable_count = np.bincount(allowed_rep, minlength=problem.n_reps)
    # with unit effort, capacity caps the count too; otherwise only the eligible leads do
    count_limit = np.minimum(reachable_count, problem.capacity if problem.effort_kind == "unit" else np.inf)
    short = np.flatnonzero(rules.count_lower > count_limit)
    for rep in short[:MAX_NAMED].tolist():
        reasons.append(
            f"rep {_plain(problem.rep_ids[rep])!r} must receive at least {rules.count_lower[rep]:g} leads but has only "
            f"{count_limit[rep]:g} eligible leads or room"
        )
    if rules.count_lower.sum() > problem.n_leads:
        reasons.append(
            f"count bands ask for {rules.count_lower.sum():g} leads in total, but there are {problem.n_leads}"
        )

    reachable_value = np.bincount(allowed_rep, weights=problem.value[allowed_lead], minlength=problem.n_reps)
    poor = np.flatnonzero(rules.value_lower > reachable_value)
    for rep in poor[:MAX_NAMED].tolist():
        reasons.append(
            f"rep {_plain(problem.rep_ids[rep])!r} must receive lead value of at least {rules.value_lower[rep]:g} "
            f"but its eligible leads are worth {reachable_value[rep]:g} in all"
        )

    for fair in rules.fair:
        # A rep with a positive share and no eligible value forces V = 0, which contradicts
        # any lead that must be assigned with positive value.
        starved = np.flatnonzero((fair.low > 0) & (reachable_value == 0))
        forced_value = float(problem.value[must].sum())
        if starved.size and forced_value > 0:
            reasons.append(
                f"FairShare({fair.tolerance:g}) gives rep {named_list(problem.rep_ids[starved].tolist())} a positive "
                "share of the value, but no eligible lead of positive value, while leads that must be assigned "
                f"carry value {forced_value:g}"
            )
    return reasons
