r"""Measures of one assignment: what each rep receives, coverage, score and fairness.

Everything is recomputed from the assignment itself (``rep_of``) and the batch, so the same
figures describe a solver's answer, a baseline's, or one written by hand.

Notation: :math:`V_r` is the lead value rep *r* receives, :math:`V = \sum_r V_r`, :math:`w_r`
the rep's weight (default: its capacity) and :math:`W = \sum_r w_r`. The *fair share* of rep
*r* is :math:`V w_r / W`, the same target that :class:`fairassign.FairShare` bounds.

Conventions for the edge cases (never NaN):

* no value assigned at all (:math:`V = 0`): every deviation is 0, both Gini
  coefficients are 0 and both max/min ratios are 1, since every rep received the same
  (nothing);
* a rep with weight 0: its fair share is 0, so its relative deviation is 0 when it
  receives no value and ``inf`` when it receives some (the fair-share rule forbids any);
  it is left out of the per-weight Gini and per-weight max/min ratio (value per unit of
  a zero weight is not defined);
* a max/min ratio whose minimum is 0 while its maximum is positive is ``inf``;
* a batch without leads has coverage 1 (nothing was left unassigned).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ValidationError

if TYPE_CHECKING:
    from .problem import Problem
    from .result import Result

__all__ = ["Metrics", "metrics", "gini", "max_min_ratio"]


def gini(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    r"""Gini coefficient of non-negative ``values``, optionally weighted.

    .. math:: G = \frac{\sum_i \sum_j w_i w_j |x_i - x_j|}{2 \left(\sum_i w_i\right)^2 \bar{x}},
              \qquad \bar{x} = \frac{\sum_i w_i x_i}{\sum_i w_i}

    0 means everyone has the same; with *n* equal weights the largest value is
    :math:`1 - 1/n` (one holder of everything). With weights, each entry counts as
    :math:`w_i` members each holding :math:`x_i`.

    Parameters
    ----------
    values : array_like of shape (n,)
        Non-negative amounts.
    weights : array_like of shape (n,), optional
        Positive population weights; default 1 each.

    Returns
    -------
    float
        In :math:`[0, 1)`; 0 when ``values`` is empty or all zero.

    Examples
    --------
    >>> gini([1.0, 1.0, 1.0])
    0.0
    >>> round(gini([0.0, 0.0, 3.0]), 4)  # one of three holds everything: 1 - 1/3
    0.6667
    >>> round(gini([2.0, 1.0], weights=[1.0, 2.0]), 4)  # like gini([2.0, 1.0, 1.0])
    0.1667
    """
    x = np.asarray(values, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if x.ndim != 1 or w.shape != x.shape:
        raise ValidationError(f"gini needs 1-D values and weights of the same length, got {x.shape} and {w.shape}")
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        raise ValidationError("gini values must be finite and >= 0")
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise ValidationError("gini weights must be finite and > 0")
    total = float(np.dot(w, x))
    if x.size == 0 or total <= 0 or x.min() == x.max():
        return 0.0  # exactly, rather than the rounding noise of the sum below
    # Sorted by x, the pairwise sum equals a Lorenz-curve sum:
    # G = 1 - sum_k p_k (L_{k-1} + L_k), p_k = w_k / W, L_k = cumulative share of value.
    order = np.argsort(x, kind="stable")
    population = w[order] / w.sum()
    lorenz = np.cumsum(w[order] * x[order]) / total
    previous = np.concatenate(([0.0], lorenz[:-1]))
    return float(max(0.0, 1.0 - np.dot(population, previous + lorenz)))


def max_min_ratio(values: ArrayLike) -> float:
    """Largest over smallest of non-negative ``values``.

    1 when empty or all equal (all zero included); ``inf`` when the smallest is 0 and the
    largest is not.

    Examples
    --------
    >>> max_min_ratio([2.0, 4.0, 3.0])
    2.0
    >>> max_min_ratio([0.0, 1.0])
    inf
    >>> max_min_ratio([0.0, 0.0])
    1.0
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return 1.0
    largest, smallest = float(x.max()), float(x.min())
    if largest == smallest:
        return 1.0
    if smallest <= 0:
        return float("inf")
    return largest / smallest


def _relative_deviation(received: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    """``|received - target| / target``; 0 where both are 0, inf where only the target is."""
    deviation = np.abs(received - target)
    out = np.zeros_like(deviation)
    positive = target > 0
    out[positive] = deviation[positive] / target[positive]
    out[~positive & (deviation > 0)] = np.inf
    return out


@dataclass(frozen=True, eq=False)
class Metrics:
    r"""Figures of one assignment; see :func:`metrics` and the module notes for conventions.

    Attributes
    ----------
    n_leads, n_reps, n_assigned : int
    coverage : float
        Share of leads assigned, ``n_assigned / n_leads``.
    value_coverage : float
        Share of the batch's lead value assigned (1 when the batch has no value).
    total_score : float
        Sum of the scores of the chosen pairs.
    total_value : float
        :math:`V`, the lead value assigned.
    rep_count, rep_effort, rep_value : float64 (n_reps,)
        Leads, effort units and lead value each rep receives.
    weight : float64 (n_reps,)
        The weights :math:`w_r` the fairness figures use.
    weight_basis : str
        ``"capacity"``, ``"given"``, or ``"equal"`` (capacity was not usable as weights:
        some is infinite, or all is 0).
    fair_share : float64 (n_reps,)
        :math:`w_r / W`; rep r's target is ``fair_share[r] * total_value``.
    value_share : float64 (n_reps,)
        :math:`V_r / V` (0 everywhere when :math:`V = 0`).
    share_deviation : float64 (n_reps,)
        :math:`|V_r - V w_r / W| / (V w_r / W)`, signed: positive above the share.
    max_share_deviation : float
        Largest ``abs(share_deviation)``: a :class:`fairassign.FairShare` with tolerance t
        holds exactly when this is at most t.
    gini_value, gini_value_per_weight : float
        Gini of :math:`V_r` over reps, and of :math:`V_r / w_r` over units of weight
        (reps with positive weight, each counted :math:`w_r` times).
    max_min_value, max_min_value_per_weight : float
        Largest over smallest :math:`V_r`, and of :math:`V_r / w_r` (positive weights only).
    """

    n_leads: int
    n_reps: int
    n_assigned: int
    coverage: float
    value_coverage: float
    total_score: float
    total_value: float
    rep_count: NDArray[np.float64]
    rep_effort: NDArray[np.float64]
    rep_value: NDArray[np.float64]
    weight: NDArray[np.float64]
    weight_basis: str
    fair_share: NDArray[np.float64]
    value_share: NDArray[np.float64]
    share_deviation: NDArray[np.float64]
    max_share_deviation: float
    gini_value: float
    gini_value_per_weight: float
    max_min_value: float
    max_min_value_per_weight: float

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types (arrays become lists), ready for JSON or a data frame row.

        ``inf`` stays ``float("inf")``; ``json.dumps`` writes it as ``Infinity``.
        """
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            out[item.name] = value.tolist() if isinstance(value, np.ndarray) else value
        return out

    def __repr__(self) -> str:
        return (
            f"Metrics(n_assigned={self.n_assigned}/{self.n_leads}, total_score={self.total_score:.6g}, "
            f"total_value={self.total_value:.6g}, max_share_deviation={self.max_share_deviation:.4g}, "
            f"gini_value={self.gini_value:.4g}, max_min_value={self.max_min_value:.4g})"
        )


def _weights(problem: Problem, weight: ArrayLike | None) -> tuple[NDArray[np.float64], str]:
    if weight is None:
        capacity = np.asarray(problem.capacity, dtype=np.float64)
        if problem.n_reps and np.all(np.isfinite(capacity)) and capacity.sum() > 0:
            return capacity.copy(), "capacity"
        return np.ones(problem.n_reps), "equal"
    try:
        given = np.array(weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"weight must be a numeric array of shape ({problem.n_reps},), got {weight!r}") from None
    if given.shape != (problem.n_reps,):
        raise ValidationError(f"weight must have shape ({problem.n_reps},) (one entry per rep), got {given.shape}")
    if np.any(~np.isfinite(given)) or np.any(given < 0):
        raise ValidationError("weight must hold finite numbers >= 0")
    if problem.n_reps and given.sum() <= 0:
        raise ValidationError(f"weight must have a positive sum, got {given.sum():g}")
    return given, "given"


def _rep_of(problem: Problem, result_or_rep_of: Result | ArrayLike) -> NDArray[np.int64]:
    given = getattr(result_or_rep_of, "rep_of", result_or_rep_of)
    rep_of = np.asarray(given)
    if rep_of.shape != (problem.n_leads,) or not (rep_of.size == 0 or np.issubdtype(rep_of.dtype, np.integer)):
        raise ValidationError(
            f"result_or_rep_of must be a Result or an integer array of shape ({problem.n_leads},), "
            f"got dtype {rep_of.dtype} and shape {rep_of.shape}"
        )
    rep_of = rep_of.astype(np.int64)
    bad = np.flatnonzero((rep_of < -1) | (rep_of >= problem.n_reps))
    if bad.size:
        raise ValidationError(
            f"result_or_rep_of must hold rep positions in [-1, {problem.n_reps - 1}]; "
            f"lead {problem.lead_ids[bad[0]].item()!r} has {rep_of[bad[0]]}"
        )
    return rep_of


def metrics(problem: Problem, result_or_rep_of: Result | ArrayLike, weight: ArrayLike | None = None) -> Metrics:
    r"""Measure an assignment of ``problem``.

    Parameters
    ----------
    problem : Problem
    result_or_rep_of : Result or array_like of int (n_leads,)
        A :class:`fairassign.Result`, or the rep position of each lead (-1 unassigned).
    weight : array_like of shape (n_reps,), optional
        Weights of the fair shares, as in :class:`fairassign.FairShare`; default the reps'
        capacities (equal weights when some capacity is infinite or all are 0).

    Returns
    -------
    Metrics

    Raises
    ------
    ValidationError
        ``rep_of`` of the wrong shape or type, a rep position out of range, a lead sent to
        a rep that is not one of its candidates (its score is undefined), or unusable weights.

    Examples
    --------
    >>> import fairassign as fa
    >>> from fairassign.metrics import metrics
    >>> problem = fa.Problem(score=[[4.0, 2.0], [3.0, 1.0], [2.0, 2.0]], capacity=[2, 1],
    ...                      value=[30.0, 20.0, 10.0])
    >>> m = metrics(problem, [0, 0, 1])
    >>> m.rep_value.tolist(), m.total_score, m.coverage
    ([50.0, 10.0], 9.0, 1.0)
    >>> m.fair_share.round(3).tolist()  # capacity 2 : 1
    [0.667, 0.333]
    >>> round(m.max_share_deviation, 3)  # rep 1 has 10 against a target of 20
    0.5
    >>> round(m.gini_value, 4), m.max_min_value
    (0.3333, 5.0)
    """
    rep_of = _rep_of(problem, result_or_rep_of)
    weight_array, basis = _weights(problem, weight)

    leads = np.flatnonzero(rep_of >= 0)
    reps = rep_of[leads]
    pairs = problem.pair_index(leads, reps)
    if np.any(pairs < 0):
        k = int(np.flatnonzero(pairs < 0)[0])
        lead_id, rep_id = problem.lead_ids[leads[k]].item(), problem.rep_ids[reps[k]].item()
        raise ValidationError(
            f"result_or_rep_of sends lead {lead_id!r} to rep {rep_id!r}, which is not a candidate pair of the problem"
        )
    n_reps = problem.n_reps
    rep_count = np.bincount(reps, minlength=n_reps).astype(np.float64)
    rep_effort = np.bincount(reps, weights=problem.pair_effort[pairs], minlength=n_reps).astype(np.float64)
    rep_value = np.bincount(reps, weights=problem.value[leads], minlength=n_reps).astype(np.float64)
    total_value = float(rep_value.sum())
    batch_value = float(problem.value.sum())

    weight_total = float(weight_array.sum())
    fair_share = weight_array / weight_total if weight_total > 0 else np.zeros(n_reps)
    target = total_value * fair_share
    value_share = rep_value / total_value if total_value > 0 else np.zeros(n_reps)
    deviation = _relative_deviation(rep_value, target) * np.sign(rep_value - target)

    positive = weight_array > 0
    per_weight = rep_value[positive] / weight_array[positive]
    return Metrics(
        n_leads=problem.n_leads,
        n_reps=n_reps,
        n_assigned=int(leads.size),
        coverage=leads.size / problem.n_leads if problem.n_leads else 1.0,
        value_coverage=total_value / batch_value if batch_value > 0 else 1.0,
        total_score=float(problem.pair_score[pairs].sum()),
        total_value=total_value,
        rep_count=rep_count,
        rep_effort=rep_effort,
        rep_value=rep_value,
        weight=weight_array,
        weight_basis=basis,
        fair_share=fair_share,
        value_share=value_share,
        share_deviation=deviation,
        max_share_deviation=float(np.abs(deviation).max(initial=0.0)),
        gini_value=gini(rep_value),
        gini_value_per_weight=gini(per_weight, weight_array[positive]),
        max_min_value=max_min_ratio(rep_value),
        max_min_value_per_weight=max_min_ratio(per_weight),
    )
