r"""Rep profiles from history: conversion rates by segment, shrunk towards the team (empirical Bayes).

From past records (rep, segment, converted, deal value) :class:`RepProfiles` estimates how
likely each rep is to convert a lead of each segment (a segment is any grouping of leads:
tier, tier x industry, tier x industry x region ...; :func:`segment_codes` numbers them).

The model is Beta-Binomial. In segment :math:`s` each rep's true rate is a draw from a
team-level prior, and the rep's wins are binomial given that rate:

.. math::

    p_{rs} \sim \mathrm{Beta}(a_s, b_s), \qquad
    w_{rs} \mid p_{rs} \sim \mathrm{Binomial}(n_{rs}, p_{rs}).

The prior :math:`(a_s, b_s)` is fitted from every rep's record in the segment (empirical
Bayes), and each rep's posterior is

.. math::

    p_{rs} \mid \text{data} \sim \mathrm{Beta}(a_s + w_{rs},\; b_s + n_{rs} - w_{rs}),
    \qquad \hat p_{rs} = \frac{a_s + w_{rs}}{a_s + b_s + n_{rs}}.

The posterior mean is a weighted average of the rep's own rate :math:`w_{rs}/n_{rs}` and
the team mean :math:`\mu_s = a_s / (a_s + b_s)`, with weights :math:`n_{rs}` and
:math:`\kappa_s = a_s + b_s`: a rep with three deals stays close to the team, one with three
hundred speaks for itself.

Prior fit. Write :math:`\mu_s` for the pooled rate and :math:`\tau_s^2` for the variance of
the true rates across reps. Method of moments (``prior="moments"``, the default) uses the
weighted spread of the observed rates, whose expectation under the model is

.. math::

    E\Big[\sum_r n_r (\bar p_r - \hat\mu)^2\Big] = (R - 1)\,(\mu(1-\mu) - \tau^2)
        + \tau^2 \Big(N - \tfrac{\sum_r n_r^2}{N}\Big),

(R reps with data, N their trials), solves it for :math:`\tau^2` and sets
:math:`\kappa = \mu(1-\mu)/\tau^2 - 1`. ``prior="marginal"`` maximises the Beta-Binomial
marginal likelihood :math:`\sum_r \log B(a + w_r, b + n_r - w_r) - \log B(a, b)` over
:math:`(\mu, \kappa)` with scipy. Either way :math:`\kappa` is kept in
``[min_strength, max_strength]`` (no spread beyond noise gives ``max_strength``: everyone
is the team). By default (``shared_strength=True``) one strength serves every segment, fitted
from all of them (the moment sums above added over segments; or one likelihood summed over
segments), while each segment keeps its own mean: with a small team a per-segment spread is
too noisy to trust. A segment without data takes the pooled rate of all segments, and, with
``shared_strength=False``, a segment with fewer than two reps with data borrows the median
strength of the others. With no data at all the prior is
:math:`\mathrm{Beta}(1, 1)` (neutral).

Deal value per segment is the mean observed deal value of won deals, shrunk towards the
overall mean with ``value_prior_weight`` pseudo-deals:
:math:`\hat v_s = (\sum v + k \bar v)/(m_s + k)`.

Scores. :meth:`RepProfiles.score` gives :math:`\hat p_{r s(i)} \times v_i` (lead value when
given, else :math:`\hat v_{s(i)}`), the expected revenue of the pair, and
:meth:`RepProfiles.score_std` its posterior standard deviation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import scipy.optimize
import scipy.special
from numpy.typing import ArrayLike, NDArray

from .errors import ValidationError

__all__ = ["RepProfiles", "segment_codes"]

PriorMethod = Literal["moments", "marginal"]
_PRIOR_METHODS = ("moments", "marginal")


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


def segment_codes(
    *columns: ArrayLike,
    levels: Sequence[Sequence[Hashable]] | None = None,
) -> tuple[NDArray[np.int64], tuple[tuple[Any, ...], ...]]:
    """Number the segments formed by one or more lead attribute columns.

    Parameters
    ----------
    *columns : array_like of shape (n_leads,)
        Attributes that define a segment together, e.g. tier, industry, region.
    levels : sequence of sequences, optional
        The possible values of each column. When given, segments are every combination
        (in the order given, first column slowest), so codes stay the same from one
        batch to the next, and a value not listed raises. Default: the combinations that
        occur, sorted.

    Returns
    -------
    codes : int64 ndarray of shape (n_leads,)
        Segment of each lead, in ``[0, len(labels))``.
    labels : tuple of tuples
        ``labels[k]`` is the attribute values of segment *k* (one per column).

    Examples
    --------
    >>> codes, labels = segment_codes(["A", "C", "A"], ["EU", "EU", "US"])
    >>> codes.tolist(), labels
    ([0, 2, 1], (('A', 'EU'), ('A', 'US'), ('C', 'EU')))
    >>> codes, labels = segment_codes(["B"], levels=[("A", "B", "C")])
    >>> codes.tolist(), len(labels)
    ([1], 3)
    """
    if not columns:
        raise ValidationError("segment_codes needs at least one column, got none")
    arrays = [np.asarray(column) for column in columns]
    for k, array in enumerate(arrays):
        if array.ndim != 1 or array.shape != arrays[0].shape:
            raise ValidationError(
                f"columns must be 1-D and of equal length; column {k} has shape {array.shape}, "
                f"column 0 has shape {arrays[0].shape}"
            )
    if levels is not None:
        if len(levels) != len(arrays):
            raise ValidationError(f"levels must list the values of each of the {len(arrays)} columns, "
                                  f"got {len(levels)} lists")
        level_lists = [list(level) for level in levels]
        codes = np.zeros(arrays[0].shape[0], dtype=np.int64)
        for k, (array, level) in enumerate(zip(arrays, level_lists, strict=True)):
            position = {value: j for j, value in enumerate(level)}
            if len(position) != len(level):
                raise ValidationError(f"levels[{k}] must list each value once, got {level!r}")
            try:
                column_codes = np.array([position[value] for value in array.tolist()], dtype=np.int64)
            except KeyError as missing:
                raise ValidationError(
                    f"column {k} holds {missing.args[0]!r}, which is not among levels[{k}] = {level!r}"
                ) from None
            codes = codes * len(level) + column_codes
        labels = tuple(itertools.product(*level_lists))  # first column slowest, as the codes
        return _readonly(codes), labels
    uniques, inverses = [], []
    for array in arrays:
        unique, inverse = np.unique(array, return_inverse=True)
        uniques.append(unique)
        inverses.append(inverse.astype(np.int64).ravel())
    key = np.zeros(arrays[0].shape[0], dtype=np.int64)
    for unique, inverse in zip(uniques, inverses, strict=True):
        key = key * len(unique) + inverse
    present, codes = np.unique(key, return_inverse=True)
    labels_list = []
    for combined in present.tolist():
        parts = []
        for unique in reversed(uniques):
            combined, part = divmod(combined, len(unique))
            parts.append(unique[part].item() if hasattr(unique[part], "item") else unique[part])
        labels_list.append(tuple(reversed(parts)))
    return _readonly(codes.astype(np.int64).ravel()), tuple(labels_list)


def _int_vector(name: str, given: ArrayLike, upper: int, upper_name: str) -> NDArray[np.int64]:
    array = np.asarray(given)
    if array.ndim != 1:
        raise ValidationError(f"{name} must be 1-D (one entry per record), got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(array == np.round(array)):
            raise ValidationError(f"{name} must hold integer positions, got dtype {array.dtype}")
    array = array.astype(np.int64)
    bad = np.flatnonzero((array < 0) | (array >= upper))
    if bad.size:
        raise ValidationError(
            f"{name} must be in [0, {upper}) ({upper_name}); found {array[bad[0]]} at record {bad[0]}"
        )
    return array


def _records(rep: ArrayLike, segment: ArrayLike, converted: ArrayLike, deal_value: ArrayLike | None,
             n_reps: int, n_segments: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_],
                                                   NDArray[np.float64] | None]:
    reps = _int_vector("rep", rep, n_reps, "n_reps")
    segments = _int_vector("segment", segment, n_segments, "n_segments")
    outcome = np.asarray(converted)
    if outcome.shape != reps.shape or segments.shape != reps.shape:
        raise ValidationError(
            f"rep, segment and converted must have the same length, got {reps.shape[0]}, {segments.shape[0]} "
            f"and shape {outcome.shape}"
        )
    if outcome.dtype != np.bool_:
        if outcome.size and (not np.issubdtype(outcome.dtype, np.number) or not np.isin(outcome, (0, 1)).all()):
            raise ValidationError(f"converted must be booleans or 0/1, got dtype {outcome.dtype} with other values")
        outcome = outcome.astype(bool)
    values = None
    if deal_value is not None:
        try:
            values = np.array(deal_value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError(f"deal_value must be numeric, got {type(deal_value).__name__}") from None
        if values.shape != reps.shape:
            raise ValidationError(f"deal_value must have shape {reps.shape} (one per record), got {values.shape}")
        bad = np.flatnonzero(np.isinf(values) | (values < 0))
        if bad.size:
            raise ValidationError(f"deal_value must be finite and >= 0 (NaN for unknown); "
                                  f"found {values[bad[0]]} at record {bad[0]}")
    return reps, segments, outcome, values


def _check_positive(name: str, given: Any, *, allow_zero: bool = False) -> float:
    if isinstance(given, bool) or not isinstance(given, int | float | np.integer | np.floating) \
            or not math.isfinite(given) or given < 0 or (given == 0 and not allow_zero):
        expectation = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{name} must be a finite number {expectation}, got {given!r}")
    return float(given)


def _moment_terms(wins: NDArray[np.float64], trials: NDArray[np.float64]) -> tuple[float, float] | None:
    """``(excess, scale)`` of one segment, with :math:`1/(\\kappa + 1) = excess / scale`; None when not estimable.

    ``excess`` is the weighted spread of the reps' rates beyond binomial noise,
    :math:`S - (R-1)\\hat\\mu(1-\\hat\\mu)`, and ``scale`` is
    :math:`\\hat\\mu(1-\\hat\\mu)(N - \\sum n_r^2/N - (R-1))`; summing both over segments gives
    the shared estimate.
    """
    seen = trials > 0
    n, w = trials[seen], wins[seen]
    n_reps, total = n.size, n.sum()
    if n_reps < 2:
        return None
    mean = w.sum() / total
    spread = float(np.sum(n * (w / n - mean) ** 2))
    binomial = mean * (1.0 - mean)
    denominator = total - float(np.sum(n * n)) / total - (n_reps - 1)
    if binomial <= 0 or denominator <= 0:
        return None  # all wins or all losses, or one record per rep: the spread says nothing
    return spread - (n_reps - 1) * binomial, binomial * denominator


def _strength_from_terms(excess: float, scale: float) -> float:
    if excess <= 0:
        return math.inf  # no spread beyond binomial noise
    return scale / excess - 1.0


def _log_evidence(wins: NDArray[np.float64], trials: NDArray[np.float64], mean: float, strength: float) -> float:
    seen = trials > 0
    w, losses = wins[seen], trials[seen] - wins[seen]
    a, b = mean * strength, (1.0 - mean) * strength
    return float(np.sum(scipy.special.betaln(a + w, b + losses) - scipy.special.betaln(a, b)))


def _strength_by_likelihood(wins: NDArray[np.float64], trials: NDArray[np.float64], start_mean: float,
                            start_strength: float, low: float, high: float) -> tuple[float, float]:
    """(mean, strength) maximising the Beta-Binomial marginal likelihood."""
    seen = trials > 0
    w, losses = wins[seen], trials[seen] - wins[seen]

    def negative_log_likelihood(x: NDArray[np.float64]) -> float:
        mean = scipy.special.expit(x[0])
        strength = math.exp(x[1])
        a, b = mean * strength, (1.0 - mean) * strength
        return -float(np.sum(scipy.special.betaln(a + w, b + losses) - scipy.special.betaln(a, b)))

    clipped = min(max(start_mean, 1e-4), 1 - 1e-4)
    x0 = np.array([scipy.special.logit(clipped), math.log(min(max(start_strength, low), high))])
    found = scipy.optimize.minimize(negative_log_likelihood, x0, method="L-BFGS-B",
                                    bounds=[(-12.0, 12.0), (math.log(low), math.log(high))])
    return float(scipy.special.expit(found.x[0])), float(math.exp(found.x[1]))


def _shared_strength_by_likelihood(wins: NDArray[np.float64], trials: NDArray[np.float64],
                                   means: NDArray[np.float64], low: float, high: float) -> float:
    """One strength for every segment (means held), maximising the summed marginal likelihood."""
    def negative(log_strength: float) -> float:
        strength = math.exp(log_strength)
        return -sum(_log_evidence(wins[:, s], trials[:, s], float(means[s]), strength)
                    for s in range(wins.shape[1]))

    if low == high:
        return low
    found = scipy.optimize.minimize_scalar(negative, bounds=(math.log(low), math.log(high)), method="bounded")
    return float(math.exp(found.x))


@dataclass(frozen=True, eq=False)
class RepProfiles:
    r"""Posterior conversion rates per (rep, segment), and expected deal value per segment.

    Build with :meth:`fit` (or :meth:`neutral` for a team with no history); update with
    :meth:`refit`. See the module docstring for the model.

    Attributes
    ----------
    wins, trials : float64 ndarray of shape (n_reps, n_segments)
        Converted records and all records per (rep, segment) seen so far.
    prior_alpha, prior_beta : float64 ndarray of shape (n_segments,)
        The fitted team prior :math:`\mathrm{Beta}(a_s, b_s)` of each segment.
    value_sum, value_count : float64 ndarray of shape (n_segments,)
        Sum and number of known deal values of won deals per segment.
    prior : {"moments", "marginal"}
        How the prior was fitted.
    shared_strength : bool
        One prior strength for every segment (True) or one per segment.
    min_strength, max_strength : float
        Bounds on the prior strength :math:`a_s + b_s`.
    value_prior_weight : float
        Pseudo-deals that pull a segment's mean deal value towards the overall mean.

    Examples
    --------
    >>> import numpy as np
    >>> profiles = RepProfiles.fit(rep=[0, 0, 0, 1, 1, 1, 2, 2, 2], segment=[0] * 9,
    ...                            converted=[1, 1, 1, 0, 0, 1, 0, 0, 0], n_reps=3, n_segments=1)
    >>> bool(profiles.conversion[0, 0] < 1.0)   # three wins in three: shrunk, not certain
    True
    >>> profiles.score(lead_segment=[0], lead_value=[100.0]).shape
    (1, 3)
    """

    wins: NDArray[np.float64]
    trials: NDArray[np.float64]
    prior_alpha: NDArray[np.float64]
    prior_beta: NDArray[np.float64]
    value_sum: NDArray[np.float64]
    value_count: NDArray[np.float64]
    prior: PriorMethod = "moments"
    shared_strength: bool = True
    min_strength: float = 2.0
    max_strength: float = 1e4
    value_prior_weight: float = 5.0

    # ------------------------------------------------------------------ building
    @classmethod
    def fit(
        cls,
        rep: ArrayLike,
        segment: ArrayLike,
        converted: ArrayLike,
        *,
        n_reps: int,
        n_segments: int,
        deal_value: ArrayLike | None = None,
        prior: PriorMethod = "moments",
        shared_strength: bool = True,
        min_strength: float = 2.0,
        max_strength: float = 1e4,
        value_prior_weight: float = 5.0,
    ) -> RepProfiles:
        """Fit profiles from past records, one per lead worked.

        Parameters
        ----------
        rep, segment : int array_like of shape (n_records,)
            Rep position in ``[0, n_reps)`` and segment code in ``[0, n_segments)``
            (see :func:`segment_codes`) of each record.
        converted : bool or 0/1 array_like of shape (n_records,)
        n_reps, n_segments : int
            Sizes of the profile table (reps or segments without records get the prior).
        deal_value : float array_like of shape (n_records,), optional
            Deal value of each record; only converted records count, NaN means unknown.
        prior : {"moments", "marginal"}
            Fit the team prior by method of moments (fast) or by maximising the marginal
            likelihood with scipy.optimize.
        shared_strength : bool
            One prior strength :math:`a_s + b_s` for every segment, estimated from all of
            them (default; steadier with few reps), each segment keeping its own mean; False
            fits a strength per segment (better with many reps per segment whose spreads differ).
        min_strength, max_strength : float
            Bounds on the prior strength :math:`a + b` (pseudo-records of the team prior).
        value_prior_weight : float
            Pseudo-deals pulling each segment's deal value to the overall mean (>= 0).

        Returns
        -------
        RepProfiles
        """
        for name, given in (("n_reps", n_reps), ("n_segments", n_segments)):
            if isinstance(given, bool) or not isinstance(given, int | np.integer) or given < 1:
                raise ValidationError(f"{name} must be an integer >= 1, got {given!r}")
        if prior not in _PRIOR_METHODS:
            raise ValidationError(f"prior must be one of {_PRIOR_METHODS}, got {prior!r}")
        low = _check_positive("min_strength", min_strength)
        high = _check_positive("max_strength", max_strength)
        if low > high:
            raise ValidationError(f"min_strength must be <= max_strength, got {low} > {high}")
        weight = _check_positive("value_prior_weight", value_prior_weight, allow_zero=True)
        empty = np.zeros((int(n_reps), int(n_segments)))
        start = cls(wins=empty, trials=empty.copy(), prior_alpha=np.ones(int(n_segments)),
                    prior_beta=np.ones(int(n_segments)), value_sum=np.zeros(int(n_segments)),
                    value_count=np.zeros(int(n_segments)), prior=prior, shared_strength=bool(shared_strength),
                    min_strength=low, max_strength=high,
                    value_prior_weight=weight)
        return start.refit(rep, segment, converted, deal_value=deal_value)

    @classmethod
    def neutral(cls, n_reps: int, n_segments: int, **options: Any) -> RepProfiles:
        """Profiles with no history: every rate has the neutral prior Beta(1, 1)."""
        return cls.fit(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool), n_reps=n_reps,
                       n_segments=n_segments, **options)

    def refit(self, rep: ArrayLike, segment: ArrayLike, converted: ArrayLike,
              deal_value: ArrayLike | None = None) -> RepProfiles:
        """New profiles with more records added, and the team prior fitted again.

        Parameters are those of :meth:`fit`; the sizes and settings stay. ``self`` is not changed.
        """
        reps, segments, outcome, values = _records(rep, segment, converted, deal_value, self.n_reps,
                                                   self.n_segments)
        shape = (self.n_reps, self.n_segments)
        flat = reps * self.n_segments + segments
        trials = self.trials + np.bincount(flat, minlength=self.n_reps * self.n_segments).reshape(shape)
        wins = self.wins + np.bincount(flat, weights=outcome.astype(np.float64),
                                       minlength=self.n_reps * self.n_segments).reshape(shape)
        value_sum, value_count = self.value_sum.copy(), self.value_count.copy()
        if values is not None:
            known = outcome & ~np.isnan(values)
            value_sum += np.bincount(segments[known], weights=values[known], minlength=self.n_segments)
            value_count += np.bincount(segments[known], minlength=self.n_segments)
        alpha, beta = self._fit_prior(wins, trials)
        return replace(self, wins=_readonly(wins), trials=_readonly(trials), prior_alpha=_readonly(alpha),
                       prior_beta=_readonly(beta), value_sum=_readonly(value_sum),
                       value_count=_readonly(value_count))

    def _fit_prior(self, wins: NDArray[np.float64],
                   trials: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        n_segments = wins.shape[1]
        total_trials = trials.sum()
        # pooled rate of every segment, Laplace-smoothed: the mean where a segment has no data
        pooled = (wins.sum() + 1.0) / (total_trials + 2.0)
        # two pseudo-records at the pooled rate keep each mean inside (0, 1) when a segment saw
        # only wins or only losses (a Beta needs a, b > 0)
        means = (wins.sum(axis=0) + 2.0 * pooled) / (trials.sum(axis=0) + 2.0)
        found = {s: _moment_terms(wins[:, s], trials[:, s]) for s in range(n_segments)}
        terms = {s: term for s, term in found.items() if term is not None}
        estimable = sorted(terms)

        def clip(strength: float) -> float:
            return min(max(strength, self.min_strength), self.max_strength)

        strengths = np.full(n_segments, np.nan)
        if self.shared_strength and estimable:
            excess = sum(terms[s][0] for s in estimable)
            scale = sum(terms[s][1] for s in estimable)
            shared = clip(_strength_from_terms(excess, scale))
            if self.prior == "marginal":
                shared = _shared_strength_by_likelihood(wins[:, estimable], trials[:, estimable], means[estimable],
                                                        self.min_strength, self.max_strength)
            strengths[:] = shared
        elif estimable:
            for s in estimable:
                strength = clip(_strength_from_terms(*terms[s]))
                if self.prior == "marginal":
                    means[s], strength = _strength_by_likelihood(wins[:, s], trials[:, s], means[s], strength,
                                                                 self.min_strength, self.max_strength)
                strengths[s] = strength
        estimated = strengths[~np.isnan(strengths)]
        if total_trials == 0:
            fallback = 2.0  # no history: Beta(1, 1)
        elif estimated.size:
            fallback = float(np.median(estimated))
        else:
            fallback = max(self.min_strength, 2.0)
        strengths = np.where(np.isnan(strengths), fallback, strengths)
        return means * strengths, (1.0 - means) * strengths

    # ------------------------------------------------------------------ reading
    @property
    def n_reps(self) -> int:
        """Number of reps."""
        return int(self.wins.shape[0])

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return int(self.wins.shape[1])

    @property
    def posterior_alpha(self) -> NDArray[np.float64]:
        """:math:`a_s + w_{rs}`, shape (n_reps, n_segments)."""
        return self.prior_alpha[None, :] + self.wins

    @property
    def posterior_beta(self) -> NDArray[np.float64]:
        """:math:`b_s + n_{rs} - w_{rs}`, shape (n_reps, n_segments)."""
        return self.prior_beta[None, :] + self.trials - self.wins

    @property
    def conversion(self) -> NDArray[np.float64]:
        r"""Posterior mean conversion rate :math:`\hat p_{rs}`, shape (n_reps, n_segments)."""
        alpha, beta = self.posterior_alpha, self.posterior_beta
        return alpha / (alpha + beta)

    @property
    def conversion_std(self) -> NDArray[np.float64]:
        """Posterior standard deviation of each rate, shape (n_reps, n_segments)."""
        alpha, beta = self.posterior_alpha, self.posterior_beta
        total = alpha + beta
        return np.sqrt(alpha * beta / (total * total * (total + 1.0)))

    @property
    def team_conversion(self) -> NDArray[np.float64]:
        """Prior mean :math:`a_s / (a_s + b_s)` of each segment (the team rate)."""
        return self.prior_alpha / (self.prior_alpha + self.prior_beta)

    @property
    def expected_value(self) -> NDArray[np.float64]:
        r"""Shrunk mean deal value per segment, :math:`(\sum v + k \bar v)/(m_s + k)`; 1 with no values."""
        known = self.value_count.sum()
        overall = self.value_sum.sum() / known if known > 0 else 1.0
        weight = self.value_prior_weight
        denominator = self.value_count + weight
        with np.errstate(invalid="ignore", divide="ignore"):
            shrunk = (self.value_sum + weight * overall) / denominator
        return np.where(denominator > 0, shrunk, overall)

    def interval(self, level: float = 0.9) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Equal-tailed posterior credible interval of each rate.

        Parameters
        ----------
        level : float
            Probability mass inside, in (0, 1).

        Returns
        -------
        low, high : float64 ndarray of shape (n_reps, n_segments)
        """
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
            raise ValidationError(f"level must be a probability in (0, 1), got {level!r}")
        tail = (1.0 - level) / 2.0
        alpha, beta = self.posterior_alpha, self.posterior_beta
        from scipy.stats import beta as beta_distribution  # scipy.stats is slow to import: only when asked

        return beta_distribution.ppf(tail, alpha, beta), beta_distribution.ppf(1.0 - tail, alpha, beta)

    def _lead_terms(self, lead_segment: ArrayLike,
                    lead_value: ArrayLike | None) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        segments = _int_vector("lead_segment", lead_segment, self.n_segments, "n_segments")
        if lead_value is None:
            return segments, self.expected_value[segments]
        try:
            values = np.asarray(lead_value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValidationError(f"lead_value must be numeric, got {type(lead_value).__name__}") from None
        if values.shape != segments.shape:
            raise ValidationError(f"lead_value must have shape {segments.shape} (one per lead), got {values.shape}")
        bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
        if bad.size:
            raise ValidationError(f"lead_value must be finite and >= 0; found {values[bad[0]]} at lead {bad[0]}")
        return segments, values

    def score(self, lead_segment: ArrayLike, lead_value: ArrayLike | None = None) -> NDArray[np.float64]:
        r"""Expected revenue of each (lead, rep) pair, :math:`\hat p_{r s(i)} v_i`.

        Parameters
        ----------
        lead_segment : int array_like of shape (n_leads,)
        lead_value : float array_like of shape (n_leads,), optional
            Value of each lead if it converts; default the segment's :attr:`expected_value`.

        Returns
        -------
        float64 ndarray of shape (n_leads, n_reps)
            Ready to pass as :class:`fairassign.Problem` ``score``.
        """
        segments, values = self._lead_terms(lead_segment, lead_value)
        return self.conversion.T[segments] * values[:, None]

    def score_std(self, lead_segment: ArrayLike, lead_value: ArrayLike | None = None) -> NDArray[np.float64]:
        """Posterior standard deviation of :meth:`score` (the rate's uncertainty times the value)."""
        segments, values = self._lead_terms(lead_segment, lead_value)
        return self.conversion_std.T[segments] * values[:, None]

    def __repr__(self) -> str:
        return (f"RepProfiles(n_reps={self.n_reps}, n_segments={self.n_segments}, "
                f"records={int(self.trials.sum())}, prior={self.prior!r})")
