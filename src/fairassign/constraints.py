r"""Routing rules passed to :func:`fairassign.solve`.

Each rule is a small frozen object: it holds what the user said and checks what it can
check alone (a negative tolerance, a lower bound above an upper bound). What depends on a
batch (per-rep arrays of the right length, ids that exist) is checked when the rule is
bound to a :class:`~fairassign.Problem` (see :mod:`fairassign.rules`). Rules are never
mutated by the code that uses them.

Notation: :math:`x_{ir} \in \{0, 1\}` says lead *i* goes to rep *r*; :math:`v_i` is lead
value, :math:`C_r = \sum_i x_{ir}` rep r's lead count and :math:`V_r = \sum_i v_i x_{ir}`
the value it receives, :math:`V = \sum_r V_r`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ValidationError

__all__ = ["Constraint", "AssignAll", "CountBand", "ValueBand", "FairShare", "Pin", "Forbid"]

Bound = float | NDArray[np.float64] | None


def _bound(rule: str, name: str, given: ArrayLike | None) -> Bound:
    if given is None:
        return None
    try:
        array = np.array(given, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"{rule}.{name} must be a number or a per-rep array, got {given!r}") from None
    if array.ndim > 1:
        raise ValidationError(f"{rule}.{name} must be a scalar or a 1-D per-rep array, got shape {array.shape}")
    if np.isnan(array).any():
        raise ValidationError(f"{rule}.{name} must not contain NaN")
    if (array < 0).any():
        raise ValidationError(f"{rule}.{name} must be >= 0, got {array.min()}")
    if array.ndim == 0:
        return float(array)
    array.flags.writeable = False
    return array


def _check_order(rule: str, lower: Bound, upper: Bound) -> None:
    if lower is None or upper is None:
        return
    if np.ndim(lower) == 1 and np.ndim(upper) == 1 and np.shape(lower) != np.shape(upper):
        raise ValidationError(
            f"{rule}.lower and {rule}.upper must have the same length, got {np.shape(lower)} and {np.shape(upper)}"
        )
    bad = np.flatnonzero(np.broadcast_to(np.asarray(lower) > np.asarray(upper), np.broadcast(lower, upper).shape))
    if bad.size:
        where = "" if np.ndim(lower) == 0 and np.ndim(upper) == 0 else f" at rep {bad[0]}"
        raise ValidationError(f"{rule}.lower must be <= {rule}.upper{where}, got {lower} > {upper}")


class Constraint:
    """Base of every routing rule; subclasses are frozen dataclasses."""

    def describe(self) -> str:
        """One line in words, used in results, diagnoses and audit records."""
        raise NotImplementedError


@dataclass(frozen=True)
class AssignAll(Constraint):
    r"""Every lead must be assigned: :math:`\sum_r x_{ir} = 1` for every lead *i*.

    When that is impossible the result is INFEASIBLE with a diagnosis in words.

    Examples
    --------
    >>> AssignAll().describe()
    'every lead assigned'
    """

    def describe(self) -> str:
        return "every lead assigned"


@dataclass(frozen=True, eq=False)
class _Band(Constraint):
    """Per-rep lower and upper bounds on one measured amount; subclasses name the amount."""

    lower: Any = None
    upper: Any = None
    _measures: ClassVar[str] = ""

    def __post_init__(self) -> None:
        rule = type(self).__name__
        object.__setattr__(self, "lower", _bound(rule, "lower", self.lower))
        object.__setattr__(self, "upper", _bound(rule, "upper", self.upper))
        _check_order(rule, self.lower, self.upper)

    def describe(self) -> str:
        return f"{self._measures} per rep in [{_text(self.lower, '0')}, {_text(self.upper, 'inf')}]"


@dataclass(frozen=True, eq=False)
class CountBand(_Band):
    r"""Bounds on each rep's lead count: :math:`\ell_r \le C_r \le u_r`.

    Parameters
    ----------
    lower, upper : float or array_like of shape (n_reps,), optional
        Scalars apply to every rep. ``None`` leaves that side open.

    Examples
    --------
    >>> CountBand(lower=2, upper=10).describe()
    'lead count per rep in [2, 10]'
    """

    _measures: ClassVar[str] = "lead count"


@dataclass(frozen=True, eq=False)
class ValueBand(_Band):
    r"""Bounds on each rep's total lead value: :math:`\ell_r \le V_r \le u_r`.

    Parameters
    ----------
    lower, upper : float or array_like of shape (n_reps,), optional
        Scalars apply to every rep. ``None`` leaves that side open.

    Examples
    --------
    >>> ValueBand(upper=5000).describe()
    'lead value per rep in [0, 5000]'
    """

    _measures: ClassVar[str] = "lead value"


@dataclass(frozen=True, eq=False)
class FairShare(Constraint):
    r"""Each rep receives its share of the total lead value, within a tolerance.

    With weights :math:`w_r` (default: capacity) and :math:`W = \sum_r w_r`,

    .. math:: \left| V_r - V \frac{w_r}{W} \right| \le t \, V \frac{w_r}{W}
              \quad \text{for every rep } r.

    A rep with weight 0 must receive no value. This is the fairness rule of the library.

    With ``received`` (value :math:`P_r` each rep received earlier in the period,
    :math:`P = \sum_r P_r`) the rule holds over the period instead of today alone:

    .. math:: \left| V_r + P_r - (V + P) \frac{w_r}{W} \right| \le t \, (V + P) \frac{w_r}{W}.

    Every entry point solves it exactly (see :mod:`fairassign.over_time.history`).

    Parameters
    ----------
    tolerance : float
        :math:`t \ge 0`; 0.10 keeps every rep within +-10% of its share.
    weight : array_like of shape (n_reps,), optional
        Non-negative weights; default the reps' capacities (which must then be finite).
    received : array_like of shape (n_reps,), optional
        Finite values ``>= 0``: lead value each rep already received earlier in the period.

    Examples
    --------
    >>> FairShare(0.1).describe()
    'lead value per rep within +-10% of its capacity-weighted share'
    >>> FairShare(0.1, received=[10.0, 0.0]).describe()
    'lead value per rep within +-10% of its capacity-weighted share, over the period (value received earlier counted)'
    """

    tolerance: float
    weight: Any = field(default=None)
    received: Any = field(default=None)

    def __post_init__(self) -> None:
        try:
            tolerance = float(self.tolerance)
        except (TypeError, ValueError):
            raise ValidationError(f"FairShare.tolerance must be a number >= 0, got {self.tolerance!r}") from None
        if not math.isfinite(tolerance) or tolerance < 0:
            raise ValidationError(f"FairShare.tolerance must be a finite number >= 0, got {self.tolerance!r}")
        object.__setattr__(self, "tolerance", tolerance)
        if self.weight is not None:
            weight = _bound("FairShare", "weight", self.weight)
            if not isinstance(weight, np.ndarray) or np.isinf(weight).any():
                raise ValidationError(
                    f"FairShare.weight must be a 1-D per-rep array of finite numbers >= 0, got {self.weight!r}"
                )
            object.__setattr__(self, "weight", weight)
        if self.received is not None:
            received = _bound("FairShare", "received", self.received)
            if not isinstance(received, np.ndarray) or np.isinf(received).any():
                raise ValidationError(
                    f"FairShare.received must be a 1-D per-rep array of finite numbers >= 0, got {self.received!r}"
                )
            object.__setattr__(self, "received", received)

    def describe(self) -> str:
        basis = "capacity" if self.weight is None else "weight"
        period = "" if self.received is None else ", over the period (value received earlier counted)"
        return f"lead value per rep within +-{self.tolerance:.0%} of its {basis}-weighted share{period}"


def _pairs(rule: str, given: Iterable[tuple[Hashable, Hashable]]) -> tuple[tuple[Hashable, Hashable], ...]:
    try:
        pairs = tuple((lead, rep) for lead, rep in given)
    except (TypeError, ValueError):
        raise ValidationError(
            f"{rule}.pairs must be an iterable of (lead_id, rep_id) pairs, got {given!r}"
        ) from None
    for lead, rep in pairs:
        for label in (lead, rep):
            try:
                hash(label)
            except TypeError:
                raise ValidationError(f"{rule}.pairs ids must be hashable, got {label!r}") from None
    return tuple((_plain(lead), _plain(rep)) for lead, rep in pairs)


def _plain(label: Hashable) -> Hashable:
    """numpy scalars compare equal to Python ones but read badly in messages."""
    return label.item() if isinstance(label, np.generic) else label


@dataclass(frozen=True)
class _PairRule(Constraint):
    """A list of (lead_id, rep_id) pairs; subclasses say what happens to them."""

    pairs: Any
    _adjective: ClassVar[str] = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", _pairs(type(self).__name__, self.pairs))

    def describe(self) -> str:
        return f"{len(self.pairs)} {self._adjective} pair{'s' if len(self.pairs) != 1 else ''}"


@dataclass(frozen=True)
class Pin(_PairRule):
    """These (lead_id, rep_id) pairs must be chosen.

    Ids are those of the problem (``lead_ids``, ``rep_ids``; positions by default).

    Examples
    --------
    >>> Pin([("L-1", "R-2")]).describe()
    '1 pinned pair'
    """

    _adjective: ClassVar[str] = "pinned"


@dataclass(frozen=True)
class Forbid(_PairRule):
    """These (lead_id, rep_id) pairs must not be chosen.

    Examples
    --------
    >>> Forbid([(0, 1), (2, 1)]).describe()
    '2 forbidden pairs'
    """

    _adjective: ClassVar[str] = "forbidden"


def _text(bound: Bound, default: str) -> str:
    if bound is None:
        return default
    if np.ndim(bound) == 0:
        return f"{float(bound):g}"
    return "per-rep"
