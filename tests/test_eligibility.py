"""fairassign.eligibility: masks from tiers and attributes, and their messages."""

from __future__ import annotations

import re

import numpy as np
import pytest

import fairassign as fa
from fairassign.errors import ValidationError


def test_tier_eligibility() -> None:
    mask = fa.tier_eligibility(["A", "B", "C"], ["A", "B", "C"])
    assert mask.dtype == np.bool_ and mask.shape == (3, 3)
    # a rep cleared for A takes everything; one cleared for C only C leads
    assert mask.tolist() == [[True, False, False], [True, True, False], [True, True, True]]


def test_tier_eligibility_custom_order() -> None:
    mask = fa.tier_eligibility([1, 2, 3], [3, 1], order=(1, 2, 3))
    assert mask.tolist() == [[False, True], [False, True], [True, True]]


def test_tier_eligibility_empty() -> None:
    assert fa.tier_eligibility([], ["A"]).shape == (0, 1)


def test_tier_eligibility_messages() -> None:
    with pytest.raises(ValidationError, match=re.escape("lead_tier must hold tiers from ['A', 'B', 'C'], got 'D'")):
        fa.tier_eligibility(["A", "D"], ["A"])
    with pytest.raises(ValidationError, match=re.escape("rep_max_tier must hold tiers from ['A', 'B', 'C'], got 'Z'")):
        fa.tier_eligibility(["A"], ["Z"])
    with pytest.raises(ValidationError, match=re.escape("order must list each tier once, got ['A', 'A']")):
        fa.tier_eligibility(["A"], ["A"], order=("A", "A"))


def test_attribute_eligibility() -> None:
    mask = fa.attribute_eligibility(["EU", "US", "EU"], ["EU", {"US", "APAC"}, None])
    assert mask.tolist() == [[True, False, True], [False, True, True], [True, False, True]]
    lists = fa.attribute_eligibility(["de", "fr"], [["de", "en"], ("fr",), frozenset(), "es"])
    assert lists.tolist() == [[True, False, False, False], [False, True, False, False]]


def test_masks_combine_and_feed_a_problem() -> None:
    tiers = fa.tier_eligibility(["A", "C"], ["A", "B"])
    regions = fa.attribute_eligibility(["EU", "US"], ["EU", None])
    mask = tiers & regions
    assert mask.tolist() == [[True, False], [False, True]]
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], eligible=mask)
    assert problem.pair_rep.tolist() == [0, 1]
