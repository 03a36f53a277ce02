"""Hypothesis strategies: small random batches and rule lists.

The shape of a batch (sizes, effort form, value form, which rules) is drawn by hypothesis;
the numbers inside are drawn from ``np.random.default_rng(seed)`` with ``seed`` itself drawn
by hypothesis, so every example is reproducible and no global random state is touched.

Tiny by design (1-6 leads, 1-3 reps) so :func:`oracle.brute_force` can enumerate every
assignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

import fairassign as fa

__all__ = [
    "AWKWARD",
    "Case",
    "problems",
    "constraint_lists",
    "cases",
    "permute_constraints",
    "seeds",
]

#: floats that do not add up exactly in binary, plus zero and a tiny one
AWKWARD = np.array([0.0, 0.1, 0.2, 0.3, 1.0 / 3.0, 0.7, 1e-3, 2.5, 1e3])

seeds = st.integers(min_value=0, max_value=2**32 - 1)


class Case:
    """A drawn batch and its rules.

    Not a dataclass on purpose: hypothesis prints dataclasses field by field (which hides a
    Problem's capacity and values), but prints other objects with ``repr``, which here shows
    everything needed to rebuild a falsifying example.
    """

    __slots__ = ("constraints", "problem", "score")

    def __init__(self, problem: fa.Problem, constraints: tuple[fa.Constraint, ...], score: np.ndarray) -> None:
        self.problem = problem
        self.constraints = constraints
        self.score = score  # the dense score the problem was built from (NaN / -inf = not a candidate)

    def __repr__(self) -> str:
        problem = self.problem
        return (
            f"Case(score={self.score.tolist()}, capacity={problem.capacity.tolist()}, "
            f"effort_kind={problem.effort_kind!r}, pair_effort={problem.pair_effort.tolist()}, "
            f"value={problem.value.tolist()}, lead_ids={problem.lead_ids.tolist()}, "
            f"rep_ids={problem.rep_ids.tolist()}, constraints={list(self.constraints)!r})"
        )


def _draw_scores(rng: np.random.Generator, n_leads: int, n_reps: int, style: str,
                 missing: float) -> np.ndarray:
    if style == "continuous":
        score = rng.normal(size=(n_leads, n_reps))
    elif style == "ties":  # few distinct values, so several optima are common
        score = rng.integers(-1, 4, size=(n_leads, n_reps)).astype(float)
    else:  # "awkward"
        score = rng.choice(np.array([-0.3, 0.1, 0.2, 0.3, 1.0 / 3.0, 1e-3, 7.5, 1e3]), size=(n_leads, n_reps))
    hole = rng.random((n_leads, n_reps)) < missing
    score[hole] = np.where(rng.random(int(hole.sum())) < 0.8, np.nan, -np.inf)
    return score


@st.composite
def problems(draw: st.DrawFn, *, max_leads: int = 6, max_reps: int = 3, unit_effort: bool | None = None,
             score_style: str | None = None, finite_capacity: bool | None = None,
             value_kinds: Sequence[str] = ("none", "integer", "lognormal", "awkward")) -> tuple[fa.Problem, np.ndarray]:
    """A random tiny :class:`fairassign.Problem` and the dense score it was built from.

    Parameters
    ----------
    unit_effort : bool, optional
        Force unit effort (True) or a non-unit form (False); drawn when None.
    score_style : {"continuous", "ties", "awkward"}, optional
        Continuous normal scores make a tie between assignments unlikely.
    finite_capacity : bool, optional
        Force every capacity finite (True); drawn when None.
    value_kinds : sequence of {"none", "integer", "lognormal", "awkward"}
        Forms of lead value to draw from: default (all 1), small integers, lognormal rounded
        to 3 decimals, or :data:`AWKWARD` floats.
    """
    n_leads = draw(st.integers(1, max_leads))
    n_reps = draw(st.integers(1, max_reps))
    rng = np.random.default_rng(draw(seeds))
    style = score_style or draw(st.sampled_from(["continuous", "ties", "awkward"]))
    missing = draw(st.sampled_from([0.0, 0.2, 0.4]))
    score = _draw_scores(rng, n_leads, n_reps, style, missing)

    if unit_effort is None:
        effort_kind = draw(st.sampled_from(["unit", "unit", "lead", "pair", "pair-sparse"]))
    elif unit_effort:
        effort_kind = "unit"
    else:
        effort_kind = draw(st.sampled_from(["lead", "pair", "pair-sparse"]))
    effort: Any = None
    if effort_kind == "lead":
        effort = rng.choice(np.array([1.0, 2.0, 3.0, 0.5, 0.3, 0.0]), size=n_leads)
    elif effort_kind in ("pair", "pair-sparse"):
        effort = rng.choice(np.array([1.0, 2.0, 0.5, 0.7, 1.5]), size=(n_leads, n_reps))
        if effort_kind == "pair-sparse":
            import scipy.sparse as sp

            stored = np.isfinite(score)
            effort = sp.coo_array((effort[stored], np.nonzero(stored)), shape=(n_leads, n_reps))

    if effort_kind == "unit":
        capacity = rng.integers(0, n_leads + 1, size=n_reps).astype(float)
    else:
        capacity = rng.choice(np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.5, 6.0]), size=n_reps)
    if not finite_capacity and draw(st.booleans()) and draw(st.booleans()):
        capacity[rng.integers(n_reps)] = np.inf

    value_kind = draw(st.sampled_from(list(value_kinds)))
    value: np.ndarray | None = None
    if value_kind == "integer":
        value = rng.integers(0, 5, size=n_leads).astype(float)
    elif value_kind == "lognormal":
        value = np.round(rng.lognormal(0.0, 1.0, size=n_leads), 3)
    elif value_kind == "awkward":
        value = rng.choice(AWKWARD, size=n_leads)

    lead_ids: Sequence[Any] | None = None
    rep_ids: Sequence[Any] | None = None
    if draw(st.booleans()):
        lead_ids = [f"L-{i}" for i in range(n_leads)]
        rep_ids = [f"R-{r}" for r in range(n_reps)]
    problem = fa.Problem(score=score, capacity=capacity, effort=effort, value=value,
                         lead_ids=lead_ids, rep_ids=rep_ids)
    return problem, score


def _band(draw: st.DrawFn, rng: np.random.Generator, n_reps: int, high: float,
          integer: bool) -> tuple[Any, Any]:
    """A (lower, upper) pair with lower <= upper, each side scalar, per-rep array or None."""
    def one_side() -> np.ndarray:
        amounts = rng.uniform(0.0, high, size=n_reps)
        return np.floor(amounts) if integer else np.round(amounts, 2)

    lower = one_side() if draw(st.booleans()) else None
    upper = one_side() if draw(st.booleans()) else None
    if lower is not None and upper is not None:
        lower, upper = np.minimum(lower, upper), np.maximum(lower, upper)
    if draw(st.booleans()):  # scalars instead of per-rep arrays
        lower = None if lower is None else float(lower.min())
        upper = None if upper is None else float(upper.max())
    return lower, upper


@st.composite
def constraint_lists(draw: st.DrawFn, problem: fa.Problem, *,
                     capacity_only: bool = False) -> tuple[fa.Constraint, ...]:
    """A random list of rules valid for ``problem`` (ids exist, arrays have n_reps entries).

    ``capacity_only`` keeps to the rules under which ``rules.capacity_only`` holds: AssignAll,
    upper count bands, Pin and Forbid.
    """
    rng = np.random.default_rng(draw(seeds))
    n_leads, n_reps = problem.n_leads, problem.n_reps
    lead_ids, rep_ids = problem.lead_ids.tolist(), problem.rep_ids.tolist()
    kinds = ["AssignAll", "CountBand", "Pin", "Forbid"]
    if not capacity_only:
        kinds += ["ValueBand", "FairShare", "FairShare"]
    chosen = draw(st.lists(st.sampled_from(kinds), max_size=3))
    rules: list[fa.Constraint] = []
    total_value = float(problem.value.sum())
    for kind in chosen:
        if kind == "AssignAll":
            rules.append(fa.AssignAll())
        elif kind == "CountBand":
            lower, upper = _band(draw, rng, n_reps, n_leads + 1, integer=True)
            if capacity_only:
                lower = None
            rules.append(fa.CountBand(lower=lower, upper=upper))
        elif kind == "ValueBand":
            lower, upper = _band(draw, rng, n_reps, total_value + 1.0, integer=False)
            rules.append(fa.ValueBand(lower=lower, upper=upper))
        elif kind == "FairShare":
            tolerance = draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 2.0]))
            capacity = problem.capacity
            use_capacity = bool(np.isfinite(capacity).all() and capacity.sum() > 0) and draw(st.booleans())
            if use_capacity:
                rules.append(fa.FairShare(tolerance))
            else:
                weight = rng.choice(np.array([0.0, 1.0, 2.0, 0.5, 1.0 / 3.0]), size=n_reps)
                weight[rng.integers(n_reps)] = 1.0  # a positive total weight
                rules.append(fa.FairShare(tolerance, weight=weight))
        elif kind in ("Pin", "Forbid"):
            if draw(st.booleans()) and problem.n_pairs:  # candidate pairs, the usual case
                picks = rng.choice(problem.n_pairs, size=min(problem.n_pairs, int(rng.integers(1, 3))),
                                   replace=False)
                pairs = [(lead_ids[problem.pair_lead[p]], rep_ids[problem.pair_rep[p]]) for p in picks]
            else:  # any (lead, rep), eligible or not
                pairs = [(lead_ids[int(rng.integers(n_leads))], rep_ids[int(rng.integers(n_reps))])]
            rules.append(fa.Pin(pairs) if kind == "Pin" else fa.Forbid(pairs))
    return tuple(rules)


@st.composite
def cases(draw: st.DrawFn, *, capacity_only: bool | None = None, score_style: str | None = None,
          max_leads: int = 6, max_reps: int = 3,
          value_kinds: Sequence[str] = ("none", "integer", "lognormal", "awkward")) -> Case:
    """A problem and a rule list.

    ``capacity_only`` None draws it: about a third of the cases keep to the rules the
    min-cost-flow backend takes (unit effort, capacity-type rules only), so that backend is
    exercised without most examples being thrown away.
    """
    if capacity_only is None:
        capacity_only = draw(st.integers(0, 2)) == 0
    problem, score = draw(problems(max_leads=max_leads, max_reps=max_reps,
                                   unit_effort=True if capacity_only else None, score_style=score_style,
                                   value_kinds=value_kinds))
    constraints = draw(constraint_lists(problem, capacity_only=capacity_only))
    return Case(problem=problem, constraints=constraints, score=score)


def permute_constraints(constraints: Sequence[fa.Constraint], rep_order: np.ndarray) -> tuple[fa.Constraint, ...]:
    """The rules for ``problem.permuted(rep_order=rep_order)``: per-rep arrays follow their reps.

    Pin and Forbid name ids, which :meth:`Problem.permuted` keeps, so they need no change.
    """
    def move(bound: Any) -> Any:
        return bound[rep_order] if isinstance(bound, np.ndarray) else bound

    moved: list[fa.Constraint] = []
    for rule in constraints:
        if isinstance(rule, fa.CountBand):
            moved.append(fa.CountBand(lower=move(rule.lower), upper=move(rule.upper)))
        elif isinstance(rule, fa.ValueBand):
            moved.append(fa.ValueBand(lower=move(rule.lower), upper=move(rule.upper)))
        elif isinstance(rule, fa.FairShare):
            moved.append(fa.FairShare(rule.tolerance, weight=move(rule.weight)))
        else:
            moved.append(rule)
    return tuple(moved)
