"""fairassign.constraints: the rule objects, their checks and their messages."""

from __future__ import annotations

import dataclasses
import re
from contextlib import AbstractContextManager

import numpy as np
import pytest

import fairassign as fa
from fairassign.errors import ValidationError


def raises(message: str) -> AbstractContextManager[pytest.ExceptionInfo[ValidationError]]:
    """``pytest.raises`` for a ValidationError whose message contains ``message`` verbatim."""
    return pytest.raises(ValidationError, match=re.escape(message))



def test_describe() -> None:
    assert fa.AssignAll().describe() == "every lead assigned"
    assert fa.CountBand(lower=2, upper=10).describe() == "lead count per rep in [2, 10]"
    assert fa.CountBand(upper=[1, 2]).describe() == "lead count per rep in [0, per-rep]"
    assert fa.ValueBand(upper=5000).describe() == "lead value per rep in [0, 5000]"
    assert fa.ValueBand(lower=1.5).describe() == "lead value per rep in [1.5, inf]"
    assert fa.FairShare(0.1).describe() == "lead value per rep within +-10% of its capacity-weighted share"
    weighted = "lead value per rep within +-25% of its weight-weighted share"
    assert fa.FairShare(0.25, weight=[1, 2]).describe() == weighted
    assert fa.Pin([("L-1", "R-2")]).describe() == "1 pinned pair"
    assert fa.Forbid([(0, 1), (2, 1)]).describe() == "2 forbidden pairs"


def test_rules_are_frozen_and_keep_copies() -> None:
    upper = np.array([1.0, 2.0])
    band = fa.CountBand(upper=upper)
    upper[0] = 50.0
    assert band.upper.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError):
        band.upper[0] = 7.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        band.lower = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fa.FairShare(0.1).tolerance = 0.2  # type: ignore[misc]


def test_bounds_are_normalised() -> None:
    band = fa.ValueBand(lower=1, upper=[2, 3])
    assert band.lower == 1.0 and isinstance(band.lower, float)
    assert isinstance(band.upper, np.ndarray) and band.upper.dtype == np.float64
    assert fa.CountBand().lower is None and fa.CountBand().upper is None
    assert fa.FairShare(1).tolerance == 1.0 and isinstance(fa.FairShare(1).tolerance, float)
    assert fa.CountBand(lower=2, upper=2).lower == 2.0  # equal bounds are fine


def test_pairs_are_normalised_to_plain_tuples() -> None:
    pin = fa.Pin([[np.int64(1), np.str_("R")]])
    assert pin.pairs == ((1, "R"),)
    assert type(pin.pairs[0][0]) is int
    assert fa.Forbid([]).pairs == ()
    assert fa.Pin(((0, 0), (1, 1))) == fa.Pin([(0, 0), (1, 1)])


def test_every_rule_is_a_constraint() -> None:
    for rule in (fa.AssignAll(), fa.CountBand(), fa.ValueBand(), fa.FairShare(0), fa.Pin([]), fa.Forbid([])):
        assert isinstance(rule, fa.Constraint)
    with pytest.raises(NotImplementedError):
        fa.Constraint().describe()


# ----------------------------------------------------------------------------- messages
def test_fair_share_negative_tolerance() -> None:
    with raises("FairShare.tolerance must be a finite number >= 0, got -0.1"):
        fa.FairShare(-0.1)


def test_fair_share_tolerance_not_finite() -> None:
    with raises("FairShare.tolerance must be a finite number >= 0, got inf"):
        fa.FairShare(float("inf"))
    with raises("FairShare.tolerance must be a finite number >= 0, got nan"):
        fa.FairShare(float("nan"))


def test_fair_share_tolerance_not_a_number() -> None:
    with raises("FairShare.tolerance must be a number >= 0, got 'a'"):
        fa.FairShare("a")  # type: ignore[arg-type]
    with raises("FairShare.tolerance must be a number >= 0, got None"):
        fa.FairShare(None)  # type: ignore[arg-type]


def test_fair_share_negative_weight() -> None:
    with raises("FairShare.weight must be >= 0, got -1.0"):
        fa.FairShare(0.1, weight=[1, -1])


def test_fair_share_scalar_or_infinite_weight() -> None:
    message = "FairShare.weight must be a 1-D per-rep array of finite numbers >= 0, got "
    with raises(message + "2.0"):
        fa.FairShare(0.1, weight=2.0)
    with raises(message + "[1, inf]"):
        fa.FairShare(0.1, weight=[1, float("inf")])


def test_fair_share_nan_weight() -> None:
    with raises("FairShare.weight must not contain NaN"):
        fa.FairShare(0.1, weight=[1, float("nan")])


@pytest.mark.parametrize("rule", [fa.CountBand, fa.ValueBand])
def test_band_lower_above_upper(rule: type) -> None:
    name = rule.__name__
    with raises(f"{name}.lower must be <= {name}.upper, got 3.0 > 2.0"):
        rule(lower=3, upper=2)
    with raises(f"{name}.lower must be <= {name}.upper at rep 1, got"):
        rule(lower=[1, 3], upper=[2, 2])
    with raises(f"{name}.lower must be <= {name}.upper at rep 2, got"):
        rule(lower=[0, 1, 5], upper=4)
    with raises(f"{name}.lower must be <= {name}.upper at rep 0, got"):
        rule(lower=3, upper=[2, 5])


@pytest.mark.parametrize("rule", [fa.CountBand, fa.ValueBand])
def test_band_lengths_differ(rule: type) -> None:
    name = rule.__name__
    message = f"{name}.lower and {name}.upper must have the same length, got (2,) and (3,)"
    with raises(message):
        rule(lower=[1, 2], upper=[2, 2, 2])


@pytest.mark.parametrize("rule", [fa.CountBand, fa.ValueBand])
@pytest.mark.parametrize("side", ["lower", "upper"])
def test_band_side_messages(rule: type, side: str) -> None:
    name = f"{rule.__name__}.{side}"
    with raises(f"{name} must be >= 0, got -1.0"):
        rule(**{side: -1})
    with raises(f"{name} must be >= 0, got -2.0"):
        rule(**{side: [1, -2]})
    with raises(f"{name} must be a number or a per-rep array, got 'x'"):
        rule(**{side: "x"})
    with pytest.raises(ValidationError,
                       match=re.escape(f"{name} must be a scalar or a 1-D per-rep array, got shape (1, 2)")):
        rule(**{side: [[1, 2]]})
    with raises(f"{name} must not contain NaN"):
        rule(**{side: float("nan")})


@pytest.mark.parametrize("rule", [fa.Pin, fa.Forbid])
def test_pairs_messages(rule: type) -> None:
    name = rule.__name__
    with pytest.raises(ValidationError,
                       match=re.escape(f"{name}.pairs must be an iterable of (lead_id, rep_id) pairs, got 5")):
        rule(5)
    with raises(f"{name}.pairs must be an iterable of (lead_id, rep_id) pairs, got [(1, 2, 3)]"):
        rule([(1, 2, 3)])
    with raises(f"{name}.pairs ids must be hashable, got [1]"):
        rule([([1], 2)])


def test_validation_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        fa.FairShare(-1)
    with pytest.raises(ValueError):
        fa.CountBand(lower=2, upper=1)
