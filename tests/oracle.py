r"""Brute force over every assignment of a tiny batch: the reference the exact backends must meet.

Each lead either stays unassigned (-1) or goes to one of its candidate reps, so a batch of
6 leads x 3 reps has at most :math:`4^6 = 4096` assignments. All of them are enumerated at
once (``itertools.product`` into one integer array) and every rule is evaluated on the whole
array with numpy. The rules are read from the constraint objects as the user gave them, so
the oracle shares no code with :mod:`fairassign.rules`, :mod:`fairassign.linear` or any
backend.

Feasibility uses the same relative tolerance semantics as :func:`fairassign.verify`, with a
chosen ``rtol``. :func:`fairassign.verify` is the authority: :func:`brute_force` checks its own
verdict against it on the optima it returns and on the best-ranked assignments it rejects,
and raises ``AssertionError`` when the two disagree.

Comparing an exact solver with the oracle at two tolerances makes boundary cases honest:
an assignment that keeps a rule only within ``1e-6`` (the verifier's tolerance) may fairly be
missed by an exact solver, one that keeps it within ``1e-9`` may not.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import fairassign as fa

__all__ = ["OracleAnswer", "brute_force", "enumerate_assignments", "feasible_mask", "VERIFY_RTOL", "STRICT_RTOL"]

#: the tolerance :func:`fairassign.verify` applies by default
VERIFY_RTOL = 1e-6
#: well inside every solver's feasibility tolerance, well outside floating-point noise
STRICT_RTOL = 1e-9
#: how many rejected top-ranked assignments are re-checked with fa.verify
_CROSS_CHECKS = 24
_MAX_ASSIGNMENTS = 100_000


@dataclass(frozen=True)
class OracleAnswer:
    """The optima of a tiny batch under a rule list.

    Attributes
    ----------
    feasible : bool
        Some assignment keeps every rule.
    count, score : int, float
        Lexicographic optimum: the most leads, then the most total score at that count.
    rep_of : int64 (n_leads,) or None
        One lexicographic optimum.
    n_optimal : int
        Feasible assignments within ``tie`` of the lexicographic optimum (same count).
    best_score : float
        The most total score over every feasible assignment (``objective="score"``).
    score_rep_of : int64 (n_leads,) or None
        One score optimum.
    n_score_optimal : int
        Feasible assignments within ``tie`` of ``best_score``.
    best_at_least : float64 (n_leads + 1,)
        ``best_at_least[k]``: the most score over feasible assignments with at least *k*
        leads (``-inf`` when there is none). A lexicographic ``bound`` must be at least
        ``best_at_least[n_assigned]``.
    """

    feasible: bool
    count: int
    score: float
    rep_of: NDArray[np.int64] | None
    n_optimal: int
    best_score: float
    score_rep_of: NDArray[np.int64] | None
    n_score_optimal: int
    best_at_least: NDArray[np.float64]


def enumerate_assignments(problem: fa.Problem) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every assignment: ``(rep_of, pair)``, each (m, n_leads); ``pair`` is -1 where unassigned."""
    options = []
    for lead in range(problem.n_leads):
        start, stop = int(problem.lead_start[lead]), int(problem.lead_start[lead + 1])
        options.append([-1, *range(start, stop)])
    size = int(np.prod([len(o) for o in options], dtype=np.int64)) if options else 1
    if size > _MAX_ASSIGNMENTS:
        raise ValueError(f"brute force is for tiny batches: {size} assignments")
    pair = np.array(list(itertools.product(*options)), dtype=np.int64).reshape(size, problem.n_leads)
    rep_of = np.where(pair >= 0, problem.pair_rep[np.maximum(pair, 0)] if problem.n_pairs else -1, -1)
    return rep_of.astype(np.int64), pair


def _per_rep(bound: Any, n_reps: int, default: float) -> NDArray[np.float64]:
    if bound is None:
        return np.full(n_reps, default)
    return np.broadcast_to(np.asarray(bound, dtype=np.float64), (n_reps,))


def _within(amount: NDArray[np.float64], limit: NDArray[np.float64], rtol: float) -> NDArray[np.bool_]:
    """``amount <= limit`` up to ``rtol * max(|limit|, 1)``; an infinite limit always holds."""
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(limit) | (amount - limit <= rtol * np.maximum(np.abs(limit), 1.0))


def feasible_mask(problem: fa.Problem, rep_of: NDArray[np.int64], pair: NDArray[np.int64],
                  constraints: Sequence[fa.Constraint], rtol: float, *,
                  capacity: bool = True) -> NDArray[np.bool_]:
    """Which enumerated assignments keep capacity (unless ``capacity=False``) and every rule.

    Eligibility holds by construction of the enumeration.
    """
    n_reps = problem.n_reps
    chosen = pair >= 0
    safe = np.maximum(pair, 0)
    effort = np.where(chosen, problem.pair_effort[safe] if problem.n_pairs else 0.0, 0.0)
    value = np.where(chosen, problem.value[None, :], 0.0)
    on_rep = rep_of[:, :, None] == np.arange(n_reps)[None, None, :]  # (m, n_leads, n_reps)
    count = on_rep.sum(axis=1).astype(np.float64)
    used = (on_rep * effort[:, :, None]).sum(axis=1)
    received = (on_rep * value[:, :, None]).sum(axis=1)

    ok = _within(used, problem.capacity[None, :], rtol).all(axis=1) if capacity else np.ones(len(pair), bool)
    lead_at = {identifier: i for i, identifier in enumerate(problem.lead_ids.tolist())}
    rep_at = {identifier: r for r, identifier in enumerate(problem.rep_ids.tolist())}
    for rule in constraints:
        if isinstance(rule, fa.AssignAll):
            ok &= chosen.all(axis=1)
        elif isinstance(rule, fa.CountBand | fa.ValueBand):
            amount = count if isinstance(rule, fa.CountBand) else received
            lower = _per_rep(rule.lower, n_reps, 0.0)[None, :]
            upper = _per_rep(rule.upper, n_reps, np.inf)[None, :]
            ok &= _within(amount, upper, rtol).all(axis=1) & _within(-amount, -lower, rtol).all(axis=1)
        elif isinstance(rule, fa.FairShare):
            weight = problem.capacity if rule.weight is None else np.asarray(rule.weight, dtype=np.float64)
            total = received.sum(axis=1, keepdims=True)
            target = total * (weight / weight.sum())[None, :]
            slack = rtol * np.maximum(total, 1.0)
            ok &= (np.abs(received - target) - rule.tolerance * target <= slack).all(axis=1)
        elif isinstance(rule, fa.Pin | fa.Forbid):
            for lead_id, rep_id in rule.pairs:
                same = rep_of[:, lead_at[lead_id]] == rep_at[rep_id]
                ok &= same if isinstance(rule, fa.Pin) else ~same
        else:
            raise TypeError(f"the oracle does not know {rule!r}")
    return ok


def _cross_check(problem: fa.Problem, rep_of: NDArray[np.int64], constraints: Sequence[fa.Constraint],
                 expected: bool, rtol: float) -> None:
    violations = fa.verify(problem, rep_of, constraints, rtol=rtol)
    if (violations == []) != expected:
        raise AssertionError(
            f"oracle says {'feasible' if expected else 'infeasible'} but fa.verify says "
            f"{[v.message for v in violations] or 'no violation'} for rep_of={rep_of.tolist()}"
        )


def brute_force(problem: fa.Problem, constraints: Sequence[fa.Constraint] = (), *, rtol: float = VERIFY_RTOL,
                tie: float = 1e-9) -> OracleAnswer:
    """Enumerate every assignment of ``problem`` and return the optima under ``constraints``.

    ``tie`` is the relative score difference (of the total |score| scale) under which two
    assignments count as equally good.
    """
    constraints = tuple(constraints)
    rep_of, pair = enumerate_assignments(problem)
    ok = feasible_mask(problem, rep_of, pair, constraints, rtol)
    count = (pair >= 0).sum(axis=1)
    score = np.where(pair >= 0, problem.pair_score[np.maximum(pair, 0)] if problem.n_pairs else 0.0, 0.0).sum(axis=1)
    scale = max(1.0, float(np.abs(problem.pair_score).sum()))

    # Rank by (count, score), best first; the oracle's verdicts on the top of that ranking
    # are re-checked with the independent verifier.
    ranking = np.lexsort((-score, -count))
    feasible_ranked = ranking[ok[ranking]]
    for k in ranking[: _CROSS_CHECKS].tolist():
        _cross_check(problem, rep_of[k], constraints, bool(ok[k]), rtol)

    best_at_least = np.full(problem.n_leads + 1, -np.inf)
    if not feasible_ranked.size:
        return OracleAnswer(False, 0, -np.inf, None, 0, -np.inf, None, 0, best_at_least)
    best = int(feasible_ranked[0])
    _cross_check(problem, rep_of[best], constraints, True, rtol)
    same = ok & (count == count[best]) & (score >= score[best] - tie * scale)

    score_ranking = np.argsort(-np.where(ok, score, -np.inf), kind="stable")
    best_by_score = int(score_ranking[0])
    _cross_check(problem, rep_of[best_by_score], constraints, True, rtol)
    same_score = ok & (score >= score[best_by_score] - tie * scale)

    for k in range(problem.n_leads + 1):
        at_least = ok & (count >= k)
        if at_least.any():
            best_at_least[k] = float(score[at_least].max())
    return OracleAnswer(
        feasible=True,
        count=int(count[best]),
        score=float(score[best]),
        rep_of=rep_of[best].copy(),
        n_optimal=int(same.sum()),
        best_score=float(score[best_by_score]),
        score_rep_of=rep_of[best_by_score].copy(),
        n_score_optimal=int(same_score.sum()),
        best_at_least=best_at_least,
    )
