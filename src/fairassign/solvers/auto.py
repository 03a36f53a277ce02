"""``solver="auto"``: pick backends by the structure and size of the batch, and say why.

The plan, in order:

1. Only capacity, count caps and eligibility bind, with unit effort: ``flow`` is exact and
   the fastest (a transportation problem); nothing else runs.
2. Otherwise a heuristic runs first, so there is always an answer when one can be found
   quickly: ``lp-round`` up to :data:`LP_MAX_PAIRS` candidate pairs, ``greedy`` beyond
   (and ``greedy`` again if ``lp-round`` finds nothing). Under a time limit, above
   :data:`SAFETY_NET_PAIRS` pairs, ``greedy`` runs *before* ``lp-round``, within
   :data:`SAFETY_NET_SHARE` of the limit, so that a limit the LP cannot meet still ends with
   an assignment; ``lp-round`` gets the time left. (Its share is capped because the greedy's
   repair of a fair share far from its start can take all of it: on a tiered 10k x 200 day
   with FairShare(0.10) over a free total it found nothing in 150 s before the repair
   changes of 2026-11-29; it now takes 86 s, and lp-round 31 s.)
3. If the heuristic's gap is above ``rel_gap`` (any gap at all on a tiny batch, up to
   :data:`TINY_PAIRS` pairs, where a proof costs milliseconds) and the batch is small enough
   (:data:`EXACT_MAX_PAIRS`), an exact backend refines it, warm-started from that answer:
   ``mip`` through HiGHS, whose LP-based search closes fair-share gaps fastest (on 1k x 50
   with FairShare(0.10) it took lp-round's 0.088% gap to 0.017% in 10 s, where CP-SAT
   kept 0.088%; on Chu & Beasley generalized-assignment batches it proved type c at
   200 x 20 in 14 s, where CP-SAT did not in 30 s), or ``cpsat`` for tiny batches
   (:data:`TINY_PAIRS`, where it proves optimality in milliseconds, except under a fair
   share whose total is not fixed by AssignAll, which stays with the MIP) or when highspy
   is not installed. It gets
   the time that remains of ``time_limit``; without a time limit, a few times what the
   heuristic took, between :data:`MIN_EXACT_SECONDS` and :data:`DEFAULT_EXACT_SECONDS`, so
   ``auto`` is never much slower than the fastest backend on batches where a proof is out
   of reach. If the heuristic found nothing, the exact backend runs whatever the size.
4. **Generalized assignment** (per-pair effort where only capacity, eligibility, pins, count
   bands and must-assign bind, :func:`.local_search.applies`), small enough for step 3:
   ``lp-round`` runs *without* its tabu local search, and the exact backend starts from the
   plain LP rounding at once; it gets the time left of ``time_limit``, or
   :data:`DEFAULT_EXACT_SECONDS` without one. On a tiny batch (:data:`TINY_PAIRS`) CP-SAT
   gets the first :data:`GAP_CPSAT_SHARE` of that time, as it proves the easy types fastest,
   and the MIP the rest from CP-SAT's best answer if CP-SAT has not proven it (Chu & Beasley
   100 x 5, 30 s, one run: CP-SAT proved a, b, c, e in 0.07-1.7 s, the MIP in 0.05-5.2 s and
   the anchor in 0.3-4.5 s; on type d CP-SAT ended unproven at 6,465 and the MIP proved 6,454
   in 23 s, the anchor in 17 s, or not in 30 s in three other runs). Only if no stage has
   proven the answer and time is left (always, without a time limit) does the local search
   (:func:`.local_search.improve`, a fixed iteration budget) run on the best answer. Measured on
   Chu & Beasley batches (``benchmarks/gap.py``, 30 s): the search took 2.4 s at 100 x 5 and
   4-5 s at 200 x 20 before the exact stage, which proves types a to c and e at 100 x 5 and
   a, b at 200 x 20 in 0.03-9 s from the plain rounding; from the plain rounding the MIP also
   proved c 200 x 20 in 16 s (21 s after the search) and ended lower on d and e 200 x 20
   (12,327 and 22,713 against 12,373 and 22,737 from the searched start).

The best answer (most leads under the lexicographic objective, then most score) is kept,
with the tightest valid bound that any stage proved.

Interruption (Ctrl-C). A :class:`KeyboardInterrupt` raised during a stage after the first
one that found an assignment is caught: ``auto`` returns the best answer of the stages that
finished (status FEASIBLE unless one of them had proved it optimal, with their bound) and
its reason says ``interrupted during <stage>; best assignment so far``. An interrupt before
any stage has an answer propagates. What a backend does with SIGINT (measured with
ortools 9.15 and highspy 1.16):

* HiGHS (``mip``, ``lp-round``) runs through ``Highs.run()``, which does not watch for
  SIGINT: the solve goes on to its end or its time limit, and Python raises the interrupt
  when it returns, so that stage's answer is lost and the earlier stages' best is returned.
  (highspy's own ``Highs.solve()`` with ``HandleKeyboardInterrupt = True`` would cancel at
  once and keep HiGHS's incumbent, but it swallows the interrupt and prints to stdout.)
* CP-SAT catches SIGINT itself (``catch_sigint_signal``, on by default): it stops the search
  as if its time limit were reached and returns its best solution; Python never sees the
  interrupt. ``auto`` notices a CP-SAT refinement that stopped unproven well before its
  time budget and marks it ``interrupted during cpsat`` too (it has no other way to tell).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import replace

import numpy as np

from ..problem import Problem
from ..result import Status, relative_gap
from ..rules import Rules
from .base import SolveRequest, SolverOutput, get_solver
from .local_search import applies as _local_search_applies
from .local_search import improve as _local_search

__all__ = ["solve_auto", "INTERRUPTED", "LP_MAX_PAIRS", "EXACT_MAX_PAIRS", "DEFAULT_EXACT_SECONDS", "MIN_EXACT_SECONDS",
           "EXACT_TIME_FACTOR", "TINY_PAIRS", "SAFETY_NET_PAIRS", "SAFETY_NET_SHARE", "GAP_CPSAT_SHARE"]

_log = logging.getLogger("fairassign.auto")

#: above this many candidate pairs the LP relaxation is slower than it is worth
LP_MAX_PAIRS = 500_000
#: above this many candidate pairs, under a time limit, the greedy runs before lp-round as a safety net
SAFETY_NET_PAIRS = 200_000
#: share of the time limit the safety-net greedy may use
SAFETY_NET_SHARE = 0.25
#: up to this many candidate pairs, CP-SAT refines the heuristic's answer
EXACT_MAX_PAIRS = 60_000
#: up to this many candidate pairs, CP-SAT rather than the MIP refines (its start-up is cheaper)
TINY_PAIRS = 2_000
#: the exact refinement's time when the caller sets no time limit: EXACT_TIME_FACTOR times the heuristic's,
#: within [MIN_EXACT_SECONDS, DEFAULT_EXACT_SECONDS]
DEFAULT_EXACT_SECONDS = 10.0
MIN_EXACT_SECONDS = 1.0
EXACT_TIME_FACTOR = 4.0
#: share of the exact budget CP-SAT gets on a tiny generalized assignment before the MIP takes over
#: (plan step 4): 6 s of a 30 s limit, 2 s of the 10 s without one
GAP_CPSAT_SHARE = 0.2
#: relative gap under which a heuristic answer is taken as optimal
_PROVEN_GAP = 1e-9
#: the phrase in ``Result.reason`` of an answer returned because the solve was interrupted
INTERRUPTED = "best assignment so far"
#: a CP-SAT refinement stopped unproven this much (fraction of its budget, and at least 1 s) before its
#: budget ran out was stopped by SIGINT, which CP-SAT catches itself
_EARLY_STOP = 0.2
#: how the cpsat backend's notes say that CP-SAT stopped before a proof
_CPSAT_STOPPED = ("stopped by the time limit", "CP-SAT stopped before")


def _key(problem: Problem, output: SolverOutput) -> tuple[bool, int, float, bool]:
    """Sort key: a rule-keeping answer first, then more leads, then more score; among equal
    answers the one proven OPTIMAL, so a proof is never lost to a tie."""
    if not output.status.has_solution:
        return (False, 0, -np.inf, False)
    n_assigned = int(np.count_nonzero(output.rep_of >= 0))
    return (True, n_assigned, problem.total_score(output.rep_of), output.status is Status.OPTIMAL)


def _within(problem: Problem, output: SolverOutput, request: SolveRequest, rel_gap: float) -> bool:
    """True when ``output`` is OPTIMAL, or provably within ``rel_gap`` of the best (and, under
    the lexicographic objective, no lead is left that could raise the count)."""
    if output.status is Status.OPTIMAL:
        return True
    has, n_assigned, objective, _ = _key(problem, output)
    gap = relative_gap(objective, output.bound)
    count_settled = request.objective == "score" or n_assigned == problem.n_leads
    return has and count_settled and gap is not None and gap <= rel_gap


def _exact_backend(problem: Problem, rules: Rules) -> str:
    """The exact backend that refines a heuristic's answer (see the module docstring)."""
    highs = importlib.util.find_spec("highspy") is not None
    # a fair share over a total that is not fixed (leads may stay unassigned) is a product of
    # float values and a variable total: CP-SAT's scaled model of it stalls where the MIP proves
    # in seconds (60 x 6 example, FairShare(0.15) alone: MIP optimal in 2 s, CP-SAT 0.9% at 10 s)
    coupled_fair = bool(rules.fair) and not bool(rules.must_assign.all())
    if not highs or (problem.n_pairs <= TINY_PAIRS and not coupled_fair):
        return "cpsat"
    return "mip"


def _run(name: str, problem: Problem, rules: Rules, request: SolveRequest, search: bool = True) -> SolverOutput:
    """Run backend ``name``; ``search=False`` runs ``lp-round`` without its local search."""
    if name == "lp-round" and not search:
        from .lp_round import LpRoundSolver

        return LpRoundSolver(local_search=False).solve(problem, rules, request)
    return get_solver(name).solve(problem, rules, request)


def _stage(running: list[str], name: str, problem: Problem, rules: Rules, request: SolveRequest,
           search: bool = True) -> SolverOutput:
    """Run one stage, noting its name first so that an interrupt can say which stage it stopped."""
    running[:] = [name]
    _log.info("auto: running %s", name)
    if not search:
        return _run(name, problem, rules, request, False)
    return _run(name, problem, rules, request)


def _search_deferred(problem: Problem, rules: Rules) -> bool:
    """A generalized-assignment batch the exact refinement takes: the local search waits (plan step 4)."""
    return problem.effort_kind == "pair" and _local_search_applies(problem, rules) \
        and problem.n_pairs <= EXACT_MAX_PAIRS


def solve_auto(problem: Problem, rules: Rules, request: SolveRequest) -> tuple[str, str, SolverOutput]:
    """Run the plan in the module docstring; return (backend used, why, its output)."""
    started = time.perf_counter()
    if rules.capacity_only and problem.effort_kind == "unit":
        why = "auto: only capacity, count caps and eligibility bind with unit effort, so min-cost flow is exact"
        return "flow", why, _run("flow", problem, rules, request)

    outputs: list[tuple[str, SolverOutput]] = []
    steps: list[str] = []
    running: list[str] = []
    try:
        settled = _stages(problem, rules, request, started, outputs, steps, running)
    except KeyboardInterrupt:
        if not any(output.status.has_solution for _, output in outputs):
            raise
        steps.append(f"interrupted during {running[0]}; {INTERRUPTED}")
        return _best(problem, request, outputs, steps, interrupted=True)
    return settled if settled is not None else _best(problem, request, outputs, steps)


def _stages(problem: Problem, rules: Rules, request: SolveRequest, started: float,
            outputs: list[tuple[str, SolverOutput]], steps: list[str],
            running: list[str]) -> tuple[str, str, SolverOutput] | None:
    """Run the heuristic(s) and the exact refinement, appending to ``outputs`` and ``steps`` as
    each stage ends; return early only when a stage proved the rules infeasible."""
    heuristic = "lp-round" if problem.n_pairs <= LP_MAX_PAIRS else "greedy"
    deferred = False
    if heuristic == "lp-round" and request.time_limit is not None and problem.n_pairs > SAFETY_NET_PAIRS:
        # the LP may not finish in time on a large batch: the greedy's answer comes first, so
        # that a time limit always ends with the best assignment found so far
        net = replace(request, time_limit=SAFETY_NET_SHARE * request.time_limit)
        outputs.append(("greedy", _stage(running, "greedy", problem, rules, net)))
        steps.append("greedy first, as a safety net under the time limit")
        if outputs[-1][1].status is Status.INFEASIBLE:
            return "greedy", "auto: " + steps[0] + ", proved the rules infeasible", outputs[-1][1]
        left = request.time_limit - (time.perf_counter() - started)
        if left > 0.05:
            outputs.append((heuristic, _stage(running, heuristic, problem, rules, replace(request, time_limit=left))))
            steps.append(f"{heuristic} ({problem.n_pairs} pairs)")
    else:
        deferred = heuristic == "lp-round" and _search_deferred(problem, rules)
        outputs.append((heuristic, _stage(running, heuristic, problem, rules, request, search=not deferred)))
        steps.append(f"{heuristic} ({problem.n_pairs} pairs" + (", local search deferred)" if deferred else ")"))
        if outputs[-1][1].status is Status.INFEASIBLE:
            return heuristic, "auto: " + steps[0] + " proved the rules infeasible", outputs[-1][1]
        if not outputs[-1][1].status.has_solution and heuristic != "greedy":
            outputs.append(("greedy", _stage(running, "greedy", problem, rules, request)))
            steps.append("greedy after lp-round found nothing")

    _, best = max(outputs, key=lambda item: _key(problem, item[1]))
    # a tiny batch is proven optimal in milliseconds, so rel_gap does not stop it short
    target_gap = _PROVEN_GAP if problem.n_pairs <= TINY_PAIRS else request.rel_gap
    if not _within(problem, best, request, target_gap):
        spent = time.perf_counter() - started
        if request.time_limit is None:
            budget = DEFAULT_EXACT_SECONDS if deferred else \
                min(max(EXACT_TIME_FACTOR * spent, MIN_EXACT_SECONDS), DEFAULT_EXACT_SECONDS)
        else:
            budget = request.time_limit - spent
        small = problem.n_pairs <= EXACT_MAX_PAIRS
        if budget > 0.05 and (small or not best.status.has_solution):
            hint = best.rep_of if best.status.has_solution else request.hint
            exact_name = _exact_backend(problem, rules)
            # a tiny generalized assignment: CP-SAT first for a share of the time, then the MIP (plan step 4)
            then_mip = deferred and exact_name == "cpsat" and importlib.util.find_spec("highspy") is not None
            first_budget = GAP_CPSAT_SHARE * budget if then_mip else budget
            began = time.perf_counter()
            exact = _stage(running, exact_name, problem, rules, replace(request, time_limit=first_budget, hint=hint))
            took = time.perf_counter() - began
            outputs.append((exact_name, exact))
            steps.append(f"{exact_name} for {first_budget:.1f} s from that start")
            if exact.status is Status.INFEASIBLE:
                return exact_name, "auto: " + "; ".join(steps) + " proved the rules infeasible", exact
            stopped = any(note.startswith(_CPSAT_STOPPED) for note in exact.notes)
            if exact_name == "cpsat" and stopped and took < first_budget - max(_EARLY_STOP * first_budget, 1.0):
                # CP-SAT stops on SIGINT as on its time limit and swallows the signal; only the clock tells
                steps.append(f"interrupted during cpsat (CP-SAT stopped unproven after {took:.1f} of "
                             f"{first_budget:.1f} s, as it does on Ctrl-C); {INTERRUPTED}")
            elif deferred:
                left = budget - (time.perf_counter() - began)
                _, best = max(outputs, key=lambda item: _key(problem, item[1]))
                if then_mip and left > 0.05 and not _within(problem, best, request, target_gap):
                    mip = _stage(running, "mip", problem, rules, replace(request, time_limit=left, hint=best.rep_of))
                    outputs.append(("mip", mip))
                    steps.append(f"mip for {left:.1f} s from the best so far")
                    if mip.status is Status.INFEASIBLE:
                        return "mip", "auto: " + "; ".join(steps) + " proved the rules infeasible", mip
                _deferred_search(problem, rules, request, started, outputs, steps, running)
        elif budget > 0.05:
            steps.append(f"no exact refinement above {EXACT_MAX_PAIRS} pairs")
    return None


def _deferred_search(problem: Problem, rules: Rules, request: SolveRequest, started: float,
                     outputs: list[tuple[str, SolverOutput]], steps: list[str], running: list[str]) -> None:
    """Plan step 4: the local search on the best answer so far, unless it is proven or time is up."""
    name, best = max(outputs, key=lambda item: _key(problem, item[1]))
    if not best.status.has_solution or _within(problem, best, request, _PROVEN_GAP):
        return
    deadline = None
    if request.time_limit is not None:
        deadline = started + request.time_limit
        if deadline - time.perf_counter() <= 0.05:
            return
    running[:] = ["local search"]
    n_assigned = _key(problem, best)[1]
    # a bound that covers the answer's lead count (which the search keeps) lets it stop at the optimum
    bounds = [output.bound for _, output in outputs if output.bound is not None and output.status.has_solution
              and (request.objective == "score" or _key(problem, output)[1] <= n_assigned)]
    searched = _local_search(problem, rules, best.rep_of, seed=request.seed, deadline=deadline,
                             ceiling=min(bounds) if bounds else None)
    if searched.improved:
        note = f"local search +{searched.score - searched.start_score:.6g} in {searched.iterations} moves"
        steps.append(f"{note} on {name}'s answer")
        outputs.append((name, replace(best, rep_of=searched.rep_of, status=Status.FEASIBLE,
                                      notes=(*best.notes, note))))
    else:
        steps.append(f"local search on {name}'s answer found nothing better")


def _best(problem: Problem, request: SolveRequest, outputs: list[tuple[str, SolverOutput]], steps: list[str],
          interrupted: bool = False) -> tuple[str, str, SolverOutput]:
    """The best answer of the stages that ended, with the tightest bound any of them proved."""
    best_name, best = max(outputs, key=lambda item: _key(problem, item[1]))
    best_key = _key(problem, best)
    bounds = [
        output.bound for _, output in outputs
        if output.bound is not None and (request.objective == "score" or
                                         (output.status.has_solution and _key(problem, output)[1] <= best_key[1]))
    ]
    bound = min(bounds) if bounds else None
    status = best.status
    # an interrupted run keeps an earlier stage's proof, but does not claim one from a bound alone
    if status is Status.FEASIBLE and not interrupted \
            and _within(problem, replace(best, bound=bound), request, _PROVEN_GAP):
        status = Status.OPTIMAL
    why = "auto: " + "; ".join(steps) + f"; kept {best_name}"
    return best_name, why, replace(best, bound=bound, status=status)
