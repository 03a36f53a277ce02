r"""Large-neighbourhood search with exact sub-solves for the generalized assignment problem.

After the tabu search of :mod:`.local_search` levels off, :func:`exchange` frees every lead
held by a small group of reps (:data:`SMALLEST_GROUP` to :data:`LARGEST_GROUP`) and reassigns
those leads among the same reps exactly, a small mixed-integer program solved by HiGHS through
:func:`scipy.optimize.milp`: with :math:`G` the group, :math:`J_G` the leads it holds, :math:`s^0`
their current score and :math:`x_p` one binary per candidate pair :math:`p` of a lead in
:math:`J_G` at a rep in :math:`G`,

.. math::

    \max \sum_p s_p x_p \quad\text{s.t.}\quad \sum_{p \ni j} x_p = 1 \;(j \in J_G), \qquad
    \sum_{p \ni r} e_p x_p \le b_r, \qquad l_r \le \sum_{p \ni r} x_p \le u_r \;(r \in G), \qquad
    \sum_p s_p x_p \ge s^0 + \delta,

with :math:`\delta` = 1 when every score is an integer (a tiny share of :math:`s^0` otherwise),
so a group with nothing to gain ends as infeasible. The leads outside the group and the loads
of the reps outside it do not change, so every rule the search keeps (capacity, eligibility
with pins folded in, count bands, the same leads assigned) still holds; the answer is checked
again in float64 before it is taken.

Which reps form a group: a seed rep, then, one at a time, the rep most tied to the group,
counting for each lead its two best other reps by the reduced score
:math:`s_p - \lambda_{r(p)} e_p` at the capacity prices :math:`\lambda` of the tabu search's
Lagrangian dual (1 for the best, 1/2 for the second): leads of the group that would go
there, and leads there that would come to the group. Those are the reps between which leads
can trade. Seeds go through the reps in a seeded order; a pass over every seed that finds
nothing grows the groups by one rep (a pass that finds something keeps the size). A group
whose reps have not changed since it was last solved without a gain is skipped. The search
ends when the largest groups find nothing, or after :data:`SOLVES_PER_REP` sub-solves per rep,
or after :data:`VARIABLE_BUDGET` binaries summed over the sub-solves (at most
:data:`VARIABLES_PER_PAIR` per candidate pair), or at the deadline. Batches with fewer than
:data:`FEWEST_REPS` reps are handed back unchanged.

Before the groups, :func:`restricted` frees every lead at once but narrows each lead's choice:
the same MIP over all leads, with only each lead's :data:`RESTRICTED_PER_LEAD` best reps by
reduced score (and the rep it holds) as its variables. For a GAP the LP relaxation is tight
and its duals say which pairs an optimum uses, so the few pairs kept per lead hold a better
assignment than the tabu search's, and a MIP of a few binaries per lead is one HiGHS can
search with its own heuristics and cuts within a node limit (:data:`RESTRICTED_NODE_LIMIT`).
It trades leads among all reps at once, where a group trades among 3 to 5: on type d
400 x 40 it took the tabu search's answer from lp-round's start from 24,685 to 24,530 in 19 s,
and on type d 1,600 x 80 greedy's from 98,684 to 97,377, where the groups alone reached
24,592 and 98,238. Batches where it would have more than :data:`RESTRICTED_VARIABLES`
binaries, or with fewer than :data:`FEWEST_REPS` reps, are handed back unchanged.

Determinism: HiGHS's MIP is deterministic, each sub-solve is capped by a node count
(:data:`NODE_LIMIT`), not by time, and the seeded order and tie noise come from ``seed``; the
deadline is a safety stop only (a cut-short run can differ from an unhurried one).

Tried and dropped: HiGHS's ``objective_bound`` as a cutoff (it still returned assignments
worse than the current one); CP-SAT (1 worker, deterministic time 0.2) on the same 25 groups
of 4 reps of type d 400 x 40 found 15 improvements where HiGHS with its root heuristics off
found 19-21; presolve and the RENS / RINS / feasibility-jump heuristics cost more than they
found on these small models.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ExchangeResult", "exchange", "restricted", "LARGEST_GROUP", "SMALLEST_GROUP", "FEWEST_REPS", "NODE_LIMIT",
           "SOLVES_PER_REP", "VARIABLE_BUDGET", "VARIABLES_PER_PAIR", "RESTRICTED_PER_LEAD",
           "RESTRICTED_NODE_LIMIT", "RESTRICTED_VARIABLES"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: groups start with this many reps and grow to LARGEST_GROUP (pairs of reps are the tabu search's
#: swaps and chains already: from greedy's answer to type d 400 x 40, 2 of 39 two-rep groups gained,
#: 35 of 132 three-rep groups)
SMALLEST_GROUP = 3
LARGEST_GROUP = 5
#: branch-and-bound nodes per sub-solve at most: a count, so the answer does not depend on the clock
NODE_LIMIT = 20
#: batches with fewer reps are left alone: there a group is most of the batch, a hard MIP of its
#: own (type d 30 x 6: 5-15 s for a gain of at most 12 over the tabu search's 1 s; the test suite
#: runs many such batches)
FEWEST_REPS = 10
#: sub-solves per rep at most over the whole search
SOLVES_PER_REP = 8
#: (lead, rep) variables summed over the sub-solves at most, and at most VARIABLES_PER_PAIR per
#: candidate pair of the batch (small batches get a small budget). On type d 400 x 40, 50,000 took
#: lp-round's answer from 24,685 to 24,554 but added 440 s (2 shared cores)
VARIABLE_BUDGET = 20_000
VARIABLES_PER_PAIR = 4
#: the restricted MIP over every lead (:func:`restricted`): each lead's best reps kept. From
#: lp-round's LP duals on type d 400 x 40 (500 nodes), 3, 4 and 5 reps reached 24,565, 24,569 and
#: 24,570 in 26, 11 and 15 s; 2 reps 24,613
RESTRICTED_PER_LEAD = 3
#: its branch-and-bound nodes at most (a count, so deterministic): on type d 400 x 40, 500 and
#: 2,000 nodes reached the same 24,565 (26 s and 57 s)
RESTRICTED_NODE_LIMIT = 500
#: batches whose restricted MIP would have more binaries than this are left to the group exchange
RESTRICTED_VARIABLES = 20_000
#: a gain below this share of the group's score is float noise, not an improvement
_GAIN_RTOL = 1e-9


@dataclass(frozen=True)
class ExchangeResult:
    """The candidate held per lead after :func:`exchange`, the score gained, and the work done."""

    current: IntArray
    gain: float
    solves: int
    improvements: int
    stopped_by_time: bool


def exchange(lead: IntArray, rep: IntArray, score: FloatArray, effort: FloatArray, lead_start: IntArray,
             capacity: FloatArray, count_lower: FloatArray, count_upper: FloatArray, current: IntArray, *,
             price: FloatArray | None = None, seed: int = 0, max_solves: int | None = None,
             deadline: float | None = None) -> ExchangeResult:
    """Improve a rule-keeping assignment by exact reassignment within small groups of reps.

    Parameters
    ----------
    lead, rep, score, effort : arrays over the candidate pairs, sorted by lead
        Local lead number (0 .. n - 1), rep, score and effort of each candidate.
    lead_start : int64 (n + 1,)
        Where each lead's candidates start.
    capacity, count_lower, count_upper : float64 (n_reps,)
        The capacity test's right-hand side (inf when open) and the count band per rep.
    current : int64 (n,)
        The candidate each lead holds; it must keep capacity and the count bands.
    price : float64 (n_reps,), optional
        Capacity prices that rank each lead's other reps (zero when None).
    seed : int
        Seeds the order of the seed reps and the tie noise of the group choice.
    max_solves : int, optional
        Sub-solves at most; default :data:`SOLVES_PER_REP` per rep.
    deadline : float, optional
        A ``time.perf_counter()`` value: a safety stop.

    Returns
    -------
    ExchangeResult
        ``current`` keeps every rule the input kept and scores at least as much.
    """
    n_reps = capacity.size
    current = np.asarray(current, dtype=np.int64).copy()
    if current.size == 0 or n_reps < max(FEWEST_REPS, 2):
        return ExchangeResult(current, 0.0, 0, 0, False)
    if max_solves is None:
        max_solves = SOLVES_PER_REP * n_reps
    price = np.zeros(n_reps) if price is None else np.asarray(price, dtype=np.float64)
    rng = np.random.default_rng([seed, 104729])
    reduced = score - price[rep] * effort
    rep_of_lead = rep[current]
    # version of each rep: bumped when its leads change; a group is solved again only after a change
    version = np.zeros(n_reps, np.int64)
    solved_at: dict[tuple[int, ...], tuple[int, ...]] = {}
    largest = min(LARGEST_GROUP, n_reps)
    size = min(SMALLEST_GROUP, largest)
    budget = min(VARIABLE_BUDGET, VARIABLES_PER_PAIR * lead.size)
    solves = improvements = work = 0
    gain_total = 0.0
    stopped = False
    # recomputed after each improvement only: nothing else changes the leads' places
    alternatives = _alternatives(lead, rep, reduced, lead_start, rep_of_lead)
    while solves < max_solves and work < budget and not stopped:
        found = False
        for seed_rep in rng.permutation(n_reps):
            if solves >= max_solves or work >= budget:
                break
            if deadline is not None and time.perf_counter() > deadline:
                stopped = True
                break
            group = _group(int(seed_rep), size, rep_of_lead, alternatives, n_reps, rng)
            key = tuple(group.tolist())
            stamp = tuple(version[group].tolist())
            if solved_at.get(key) == stamp:
                continue
            solves += 1
            work += int(np.count_nonzero(np.isin(rep_of_lead, group))) * group.size
            answer = _solve_group(group, lead, rep, score, effort, lead_start, capacity, count_lower, count_upper,
                                  current, rep_of_lead, deadline)
            if answer is None:
                solved_at[key] = stamp
                continue
            leads, chosen, gain = answer
            current[leads] = chosen
            rep_of_lead[leads] = rep[chosen]
            version[group] += 1
            gain_total += gain
            improvements += 1
            found = True
            alternatives = _alternatives(lead, rep, reduced, lead_start, rep_of_lead)
        if not found:
            if size >= largest:
                break
            size += 1
    return ExchangeResult(current, gain_total, solves, improvements, stopped)


def restricted(lead: IntArray, rep: IntArray, score: FloatArray, effort: FloatArray, lead_start: IntArray,
               capacity: FloatArray, count_lower: FloatArray, count_upper: FloatArray, current: IntArray, *,
               price: FloatArray, per_lead: int | None = None, node_limit: int | None = None,
               deadline: float | None = None) -> ExchangeResult:
    r"""Improve a rule-keeping assignment by one MIP over every lead, each lead restricted to
    its ``per_lead`` best reps by reduced score :math:`s_p - \lambda_{r(p)} e_p` at ``price`` and
    the rep it holds (see the module docstring).

    Parameters
    ----------
    lead, rep, score, effort, lead_start, capacity, count_lower, count_upper, current
        As for :func:`exchange`.
    price : float64 (n_reps,)
        Capacity prices that rank each lead's reps (the Lagrangian dual's).
    per_lead : int, optional
        Reps kept per lead besides the one it holds; default :data:`RESTRICTED_PER_LEAD`.
    node_limit : int, optional
        Branch-and-bound nodes at most; default :data:`RESTRICTED_NODE_LIMIT`.
    deadline : float, optional
        A ``time.perf_counter()`` value: a safety stop.

    Returns
    -------
    ExchangeResult
        ``current`` keeps every rule the input kept and scores at least as much; ``solves`` is
        0 when the batch is left alone (fewer than :data:`FEWEST_REPS` reps, or more than
        :data:`RESTRICTED_VARIABLES` binaries), else 1.
    """
    per_lead = RESTRICTED_PER_LEAD if per_lead is None else per_lead
    node_limit = RESTRICTED_NODE_LIMIT if node_limit is None else node_limit
    current = np.asarray(current, dtype=np.int64).copy()
    n = lead_start.size - 1
    if n < 2 or capacity.size < max(FEWEST_REPS, 2):
        return ExchangeResult(current, 0.0, 0, 0, False)
    reduced = score - price[rep] * effort
    order = np.lexsort((-reduced, lead))  # each lead's candidates, best reduced score first
    rank = np.arange(lead.size) - lead_start[lead[order]]
    keep = np.zeros(lead.size, bool)
    keep[order[rank < per_lead]] = True
    keep[current] = True
    candidates = np.flatnonzero(keep)
    if candidates.size > RESTRICTED_VARIABLES:
        return ExchangeResult(current, 0.0, 0, 0, False)
    answer = _reassign(np.arange(n), candidates, lead, rep, score, effort, capacity, count_lower, count_upper,
                       current, node_limit, deadline)
    stopped = deadline is not None and time.perf_counter() > deadline
    if answer is None:
        return ExchangeResult(current, 0.0, 1, 0, stopped)
    leads, chosen, gain = answer
    current[leads] = chosen
    return ExchangeResult(current, gain, 1, 1, stopped)


def _alternatives(lead: IntArray, rep: IntArray, reduced: FloatArray, lead_start: IntArray,
                  rep_of_lead: IntArray) -> tuple[IntArray, IntArray]:
    """Per lead, its best and second-best other rep by reduced score (-1 when it has none)."""
    value = np.where(rep == rep_of_lead[lead], -np.inf, reduced)
    best = _best_rep(lead, rep, value, lead_start)
    second = _best_rep(lead, rep, np.where(rep == best[lead], -np.inf, value), lead_start)
    return best, second


def _best_rep(lead: IntArray, rep: IntArray, value: FloatArray, lead_start: IntArray) -> IntArray:
    """Per lead, the rep of its candidate with the largest finite ``value`` (lowest index on ties), or -1."""
    n = lead_start.size - 1
    best = np.full(n, -1, np.int64)
    has = lead_start[1:] > lead_start[:-1]
    if not has.any():
        return best
    top = np.full(n, -np.inf)
    top[has] = np.maximum.reduceat(value, lead_start[:-1][has])
    hit = np.flatnonzero((value == top[lead]) & np.isfinite(value))
    _, where = np.unique(lead[hit], return_index=True)  # lowest candidate index wins a tie
    best[lead[hit[where]]] = rep[hit[where]]
    return best


def _group(seed_rep: int, size: int, rep_of_lead: IntArray, alternatives: tuple[IntArray, IntArray],
           n_reps: int, rng: np.random.Generator) -> IntArray:
    """``seed_rep`` and the ``size - 1`` reps most tied to it (see the module docstring), sorted.

    A small seeded noise (below the smallest tie weight) breaks ties, so passes over the same
    state try different groups among equally tied reps.
    """
    best, second = alternatives
    inside = np.zeros(n_reps, bool)
    inside[seed_rep] = True
    noise = 0.25 * rng.random(n_reps)
    for _ in range(size - 1):
        mine = inside[rep_of_lead]
        tie = np.zeros(n_reps)
        # leads of the group that would go out, and leads outside that would come in
        for alternative, weight in ((best, 1.0), (second, 0.5)):
            out = mine & (alternative >= 0)
            tie += weight * np.bincount(alternative[out], minlength=n_reps)
            come = ~mine & (alternative >= 0)
            come &= inside[np.maximum(alternative, 0)]
            tie += weight * np.bincount(rep_of_lead[come], minlength=n_reps)
        tie += noise
        tie[inside] = -np.inf
        inside[int(np.argmax(tie))] = True
    return np.flatnonzero(inside)


def _solve_group(group: IntArray, lead: IntArray, rep: IntArray, score: FloatArray, effort: FloatArray,
                 lead_start: IntArray, capacity: FloatArray, count_lower: FloatArray, count_upper: FloatArray,
                 current: IntArray, rep_of_lead: IntArray,
                 deadline: float | None) -> tuple[IntArray, IntArray, float] | None:
    """The best reassignment of the group's leads among its reps, or None when it gains nothing."""
    n_reps = capacity.size
    in_group = np.zeros(n_reps, bool)
    in_group[group] = True
    leads = np.flatnonzero(in_group[rep_of_lead])
    if leads.size < 2:
        return None
    candidates = _candidates_of(leads, lead_start)
    candidates = candidates[in_group[rep[candidates]]]
    return _reassign(leads, candidates, lead, rep, score, effort, capacity, count_lower, count_upper, current,
                     NODE_LIMIT, deadline, lean=True)


def _candidates_of(leads: IntArray, lead_start: IntArray) -> IntArray:
    """Every candidate index of ``leads`` (sorted), from the CSR starts."""
    count = lead_start[leads + 1] - lead_start[leads]
    return np.repeat(lead_start[leads], count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count,
                                                                                          count))


def _reassign(leads: IntArray, candidates: IntArray, lead: IntArray, rep: IntArray, score: FloatArray,
              effort: FloatArray, capacity: FloatArray, count_lower: FloatArray, count_upper: FloatArray,
              current: IntArray, node_limit: int, deadline: float | None,
              lean: bool = False) -> tuple[IntArray, IntArray, float] | None:
    """The best reassignment of ``leads`` over ``candidates`` (sorted; each lead's held one among
    them) that beats the current one, the other leads staying put, or None.

    ``lean`` turns HiGHS's presolve and RENS / RINS / feasibility-jump heuristics off: right for
    the small group sub-solves, wrong for the restricted MIP over every lead, where those
    heuristics find the improvements (type d 400 x 40 from the tabu search's 24,685: nothing in
    500 nodes lean, 24,530 with them). Returns the leads, the candidate each now holds, and the
    score gained.
    """
    from scipy.optimize import LinearConstraint, milp
    from scipy.sparse import csr_array

    n_reps = capacity.size
    held = current[leads]
    now = float(score[held].sum())
    # what the leads outside keep on each rep: the rows' right-hand sides are what is left
    others = np.ones(current.size, bool)
    others[leads] = False
    fixed_load = np.bincount(rep[current[others]], weights=effort[current[others]], minlength=n_reps)
    fixed_count = np.bincount(rep[current[others]], minlength=n_reps)
    reps = np.unique(rep[candidates])
    local_lead = np.searchsorted(leads, lead[candidates])
    local_rep = np.searchsorted(reps, rep[candidates])
    n_vars, n_leads, n_rows = candidates.size, leads.size, reps.size
    columns = np.arange(n_vars)
    one_each = csr_array((np.ones(n_vars), (local_lead, columns)), shape=(n_leads, n_vars))
    load = csr_array((effort[candidates], (local_rep, columns)), shape=(n_rows, n_vars))
    heads = csr_array((np.ones(n_vars), (local_rep, columns)), shape=(n_rows, n_vars))
    room = capacity[reps] - fixed_load[reps]
    constraints = [LinearConstraint(one_each, 1.0, 1.0), LinearConstraint(load, -np.inf, room)]
    lower, upper = count_lower[reps] - fixed_count[reps], count_upper[reps] - fixed_count[reps]
    if np.any(lower > 0) or np.any(np.isfinite(upper)):
        constraints.append(LinearConstraint(heads, lower, upper))
    scale = max(float(np.abs(score[candidates]).max(initial=0.0)), 1.0)
    need = _GAIN_RTOL * max(abs(now), scale)
    integer = bool(np.all(score[candidates] == np.round(score[candidates])))
    # only an assignment better than the current one is of use: a row asks for one, so a
    # neighbourhood with nothing to gain ends as infeasible (HiGHS's objective_bound option did not prune so)
    constraints.append(LinearConstraint(score[candidates][None, :], now + (1.0 if integer else 2 * need), np.inf))
    options: dict[str, object] = {"node_limit": node_limit, "mip_rel_gap": 1e-9}
    if lean:
        # a small group's time goes into the root (cuts and heuristics), not the tree: on 25 groups
        # of 4 reps of type d 400 x 40, presolve off took 22.6 s against 34.0 s, and RENS, RINS and
        # feasibility jump off 10.0 s against 32.3 s for 19 of the same 21 improvements
        options.update({"presolve": False, "mip_heuristic_run_rens": False, "mip_heuristic_run_rins": False,
                        "mip_heuristic_run_feasibility_jump": False})
    if deadline is not None:
        options["time_limit"] = max(deadline - time.perf_counter(), 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy says it passes the heuristic switches on verbatim
        result = milp(-score[candidates], integrality=np.ones(n_vars), bounds=(0, 1),
                      constraints=constraints, options=options)
    if result.x is None:
        return None
    x = np.round(result.x) > 0.5
    chosen_pairs = candidates[x]
    if chosen_pairs.size != n_leads or np.any(np.bincount(local_lead[x], minlength=n_leads) != 1):
        return None
    chosen = chosen_pairs[np.argsort(local_lead[x], kind="stable")]
    gain = float(score[chosen].sum()) - now
    if gain <= need:
        return None
    # the rules, checked here in float64 rather than trusted to the solver's tolerances
    new_load = np.bincount(local_rep[x], weights=effort[chosen_pairs], minlength=n_rows)
    new_count = np.bincount(local_rep[x], minlength=n_rows)
    if np.any(new_load > room) or np.any(new_count < lower) or np.any(new_count > upper):
        return None
    return leads, chosen, gain
