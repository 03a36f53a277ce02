r"""Lead grading: A/B/C tiers from a value model.

Two steps, usable apart:

1. :func:`expected_value` turns lead features into an expected deal size. Each feature is
   either *numeric* (an array, with one weight) or *categorical* (integer codes, with one
   weight per level). The additive model (``combine="sum"``) is

   .. math:: v_i = \max\Big(0,\; c + \sum_{f \text{ numeric}} w_f x_{if}
                  + \sum_{f \text{ categorical}} w_f[k_{if}]\Big),

   and the multiplicative one (``combine="product"``), for "deal size times an industry
   factor times an urgency factor", is

   .. math:: v_i = c \prod_{f \text{ numeric}} x_{if}^{w_f} \prod_{f \text{ categorical}} w_f[k_{if}],

   i.e. a log-linear model: numeric weights are elasticities, categorical weights factors.

2. :func:`grade` cuts values into tiers, best first: lead *i* gets the first tier whose
   threshold it reaches, :math:`v_i \ge t_1` → A, else :math:`v_i \ge t_2` → B, else C.
   Thresholds are given, or learned from shares: top 20% A, next 30% B by default, i.e.
   :math:`t_k` is the :math:`1 - \sum_{j \le k} q_j` quantile of the values. The returned
   :class:`Grades` keeps the thresholds, so :meth:`Grades.apply` grades new leads the same way.

Examples
--------
>>> import numpy as np
>>> value = expected_value({"deal_size": [1000.0, 5000.0, 200.0], "industry": [0, 1, 1]},
...                        {"deal_size": 1.0, "industry": [1.0, 1.5]}, combine="product", intercept=1.0)
>>> value.round(2).tolist()
[1000.0, 7500.0, 300.0]
>>> grades = grade(value, thresholds=[5000.0, 500.0])
>>> grades.tier.tolist()
['B', 'A', 'C']
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ValidationError

__all__ = ["Grades", "expected_value", "grade", "grade_leads"]

Combine = Literal["sum", "product"]


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


def _values(name: str, given: ArrayLike) -> NDArray[np.float64]:
    try:
        array = np.array(given, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a numeric 1-D array, got {type(given).__name__}") from None
    if array.ndim != 1:
        raise ValidationError(f"{name} must be 1-D (one entry per lead), got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValidationError(f"{name} must be finite; found {array[bad[0]]} at lead {bad[0]}")
    return array


def expected_value(
    features: Mapping[str, ArrayLike],
    weights: Mapping[str, float | Sequence[float]],
    *,
    intercept: float = 0.0,
    combine: Combine = "sum",
) -> NDArray[np.float64]:
    """Expected deal size of each lead from its features (see the module docstring for the model).

    Parameters
    ----------
    features : mapping of str to array_like of shape (n_leads,)
        Feature columns, e.g. ``deal_size``, ``company_size``, ``urgency`` (numeric) or
        ``industry``, ``source`` (integer codes ``0 .. n_levels-1``).
    weights : mapping of str to float or sequence of float
        One entry per feature, same keys: a number makes the feature numeric, a sequence
        (one weight per level) makes it categorical.
    intercept : float
        :math:`c`: added (``"sum"``) or the base multiplied (``"product"``; must be > 0).
    combine : {"sum", "product"}

    Returns
    -------
    float64 ndarray of shape (n_leads,)
        Non-negative expected values.
    """
    if combine not in ("sum", "product"):
        raise ValidationError(f"combine must be 'sum' or 'product', got {combine!r}")
    if not features:
        raise ValidationError("features must hold at least one column, got none")
    if set(features) != set(weights):
        raise ValidationError(
            f"weights must have exactly the keys of features; missing {sorted(set(features) - set(weights))}, "
            f"unknown {sorted(set(weights) - set(features))}"
        )
    if isinstance(intercept, bool) or not isinstance(intercept, numbers.Real) or not math.isfinite(intercept):
        raise ValidationError(f"intercept must be a finite number, got {intercept!r}")
    if combine == "product" and intercept <= 0:
        raise ValidationError(f"intercept must be > 0 with combine='product' (it is the base value), got {intercept}")
    n_leads: int | None = None
    total = np.log(float(intercept)) if combine == "product" else float(intercept)
    terms: list[NDArray[np.float64]] = []
    for name in features:
        column = _values(f"features[{name!r}]", features[name])
        if n_leads is None:
            n_leads = column.size
        elif column.size != n_leads:
            raise ValidationError(f"features[{name!r}] must have {n_leads} entries like the first feature, "
                                  f"got {column.size}")
        weight = weights[name]
        if isinstance(weight, numbers.Real) and not isinstance(weight, bool):
            if not math.isfinite(weight):
                raise ValidationError(f"weights[{name!r}] must be finite, got {weight!r}")
            if combine == "product":
                if np.any(column <= 0):
                    bad = np.flatnonzero(column <= 0)[0]
                    raise ValidationError(f"features[{name!r}] must be > 0 with combine='product' (it is raised to "
                                          f"a power), got {column[bad]} at lead {bad}")
                terms.append(float(weight) * np.log(column))
            else:
                terms.append(float(weight) * column)
            continue
        levels = _values(f"weights[{name!r}]", weight)  # categorical: one weight per level
        codes = column.astype(np.int64)
        bad = np.flatnonzero((codes != column) | (codes < 0) | (codes >= levels.size))
        if bad.size:
            raise ValidationError(f"features[{name!r}] is categorical ({levels.size} level weights) and must hold "
                                  f"integer codes in [0, {levels.size}); found {column[bad[0]]} at lead {bad[0]}")
        if combine == "product":
            if np.any(levels <= 0):
                raise ValidationError(f"weights[{name!r}] must be factors > 0 with combine='product', got {weight!r}")
            terms.append(np.log(levels)[codes])
        else:
            terms.append(levels[codes])
    summed = total + np.sum(terms, axis=0)
    value = np.exp(summed) if combine == "product" else np.maximum(summed, 0.0)
    return _readonly(np.asarray(value, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class Grades:
    """Tier of each lead and how it was decided.

    Attributes
    ----------
    tier : ndarray of str, shape (n_leads,)
        Tier label of each lead.
    code : int64 ndarray of shape (n_leads,)
        Position of the tier in ``labels`` (0 = best).
    value : float64 ndarray of shape (n_leads,)
        The value the tiers were cut from.
    thresholds : tuple of float
        ``len(labels) - 1`` non-increasing cut-offs: a lead reaching ``thresholds[k]`` (and no
        earlier one) gets ``labels[k]``; below all of them, the last label.
    labels : tuple of str
    """

    tier: NDArray[np.str_]
    code: NDArray[np.int64]
    value: NDArray[np.float64]
    thresholds: tuple[float, ...]
    labels: tuple[str, ...]

    def apply(self, value: ArrayLike) -> Grades:
        """Grade other leads with the same thresholds (e.g. tomorrow's, with today's quantiles)."""
        return grade(value, thresholds=self.thresholds, labels=self.labels)

    def counts(self) -> dict[str, int]:
        """Number of leads per tier, best first."""
        found = np.bincount(self.code, minlength=len(self.labels))
        return {label: int(count) for label, count in zip(self.labels, found, strict=True)}


def grade(
    value: ArrayLike,
    *,
    thresholds: Sequence[float] | None = None,
    shares: Sequence[float] = (0.2, 0.3, 0.5),
    labels: Sequence[str] = ("A", "B", "C"),
) -> Grades:
    """Cut lead values into tiers, best first.

    Parameters
    ----------
    value : array_like of shape (n_leads,)
        Expected value of each lead (e.g. from :func:`expected_value`), finite.
    thresholds : sequence of float, optional
        ``len(labels) - 1`` decreasing cut-offs (equal ones leave a tier empty). When None they are learned from
        ``shares``.
    shares : sequence of float
        Target share of leads per tier (``len(labels)`` non-negative numbers summing to 1);
        used only when ``thresholds`` is None. Ties at a cut-off go to the better tier, so a
        tier may hold a little more than its share.
    labels : sequence of str
        Tier names, best first (at least two).

    Returns
    -------
    Grades

    Examples
    --------
    >>> grade([10.0, 50.0, 20.0, 40.0, 30.0], shares=(0.2, 0.4, 0.4)).tier.tolist()
    ['C', 'A', 'C', 'B', 'B']
    """
    values = _values("value", value)
    names = tuple(str(label) for label in labels)
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValidationError(f"labels must hold at least two distinct tier names, got {labels!r}")
    if thresholds is None:
        share = np.asarray(shares, dtype=np.float64)
        if share.shape != (len(names),) or np.any(~np.isfinite(share)) or np.any(share < 0) \
                or not math.isclose(float(share.sum()), 1.0, abs_tol=1e-9):
            raise ValidationError(f"shares must be {len(names)} non-negative numbers summing to 1 "
                                  f"(one per label in {names}), got {tuple(shares)!r}")
        if values.size == 0:
            raise ValidationError("value must hold at least one lead to learn thresholds from shares; "
                                  "pass thresholds instead")
        above = 1.0 - np.cumsum(share)[:-1]
        # a tier with share 0 gets a cut-off above every value, so it stays empty
        cut = np.quantile(values, np.clip(above, 0.0, 1.0), method="higher")
        cut = np.where(share[:-1] == 0, np.inf, cut)
        cut = np.minimum.accumulate(cut)
        learned = tuple(float(c) for c in cut)
    else:
        try:
            given = np.array(thresholds, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError(f"thresholds must be numbers, got {thresholds!r}") from None
        if given.shape != (len(names) - 1,) or np.any(np.isnan(given)):
            raise ValidationError(f"thresholds must hold {len(names) - 1} numbers (one fewer than labels {names}), "
                                  f"got {thresholds!r}")
        learned = tuple(float(t) for t in given)
        # equal cut-offs are allowed (they leave a tier empty); +inf empties the best tiers
        if any(later > earlier for earlier, later in itertools.pairwise(learned)):
            raise ValidationError(f"thresholds must be decreasing (best tier first), got {learned}")
    # number of cut-offs a value fails to reach = its tier position
    code = np.sum(values[:, None] < np.asarray(learned)[None, :], axis=1).astype(np.int64)
    tier = np.asarray(names)[code]
    return Grades(tier=_readonly(tier), code=_readonly(code), value=_readonly(values), thresholds=learned,
                  labels=names)


def grade_leads(
    features: Mapping[str, ArrayLike],
    weights: Mapping[str, float | Sequence[float]],
    *,
    intercept: float = 0.0,
    combine: Combine = "sum",
    thresholds: Sequence[float] | None = None,
    shares: Sequence[float] = (0.2, 0.3, 0.5),
    labels: Sequence[str] = ("A", "B", "C"),
) -> Grades:
    """:func:`expected_value` then :func:`grade`, in one call (same parameters)."""
    value = expected_value(features, weights, intercept=intercept, combine=combine)
    return grade(value, thresholds=thresholds, shares=shares, labels=labels)
