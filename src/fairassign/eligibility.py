"""Build eligibility masks from lead and rep attributes (tier, region, industry, language).

Masks combine with ``&``: ``tier_eligibility(...) & attribute_eligibility(...)``.
They are dense (n_leads, n_reps) booleans, meant for batches where that fits; for very large
batches, build a sparse candidate list instead (see :class:`fairassign.Problem`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import ValidationError

__all__ = ["tier_eligibility", "attribute_eligibility"]


def tier_eligibility(lead_tier: Sequence[Hashable], rep_max_tier: Sequence[Hashable],
                     order: Sequence[Hashable] = ("A", "B", "C")) -> NDArray[np.bool_]:
    """Which rep may take which lead, by tier.

    A rep whose highest tier is ``t`` may take leads of tier ``t`` and of every tier after it
    in ``order`` (best first): a rep cleared for "A" takes A, B and C leads; one cleared for
    "B" takes B and C leads.

    Parameters
    ----------
    lead_tier : sequence of length n_leads
    rep_max_tier : sequence of length n_reps
    order : sequence
        Tiers from best to lowest; default ``("A", "B", "C")``.

    Returns
    -------
    bool ndarray of shape (n_leads, n_reps)

    Examples
    --------
    >>> tier_eligibility(["A", "C"], ["A", "B"]).tolist()
    [[True, False], [True, True]]
    """
    rank = {tier: k for k, tier in enumerate(order)}
    if len(rank) != len(order):
        raise ValidationError(f"order must list each tier once, got {list(order)!r}")

    def ranks(name: str, tiers: Iterable[Hashable]) -> NDArray[np.int64]:
        values = list(tiers)
        unknown = [tier for tier in values if tier not in rank]
        if unknown:
            raise ValidationError(f"{name} must hold tiers from {list(order)!r}, got {unknown[0]!r}")
        return np.array([rank[tier] for tier in values], dtype=np.int64)

    return ranks("lead_tier", lead_tier)[:, None] >= ranks("rep_max_tier", rep_max_tier)[None, :]


def attribute_eligibility(lead_value: Sequence[Hashable], rep_values: Sequence[Any]) -> NDArray[np.bool_]:
    """Which rep covers which lead's attribute (region, industry, language ...).

    Parameters
    ----------
    lead_value : sequence of length n_leads
        One attribute value per lead, e.g. its region.
    rep_values : sequence of length n_reps
        Per rep, one value or a collection (set, list, tuple) of values it covers;
        ``None`` means the rep covers every value.

    Returns
    -------
    bool ndarray of shape (n_leads, n_reps)

    Examples
    --------
    >>> attribute_eligibility(["EU", "US", "EU"], ["EU", {"US", "APAC"}, None]).tolist()
    [[True, False, True], [False, True, True], [True, False, True]]
    """
    leads = list(lead_value)
    codes: dict[Hashable, int] = {}
    lead_codes = np.array([codes.setdefault(value, len(codes)) for value in leads], dtype=np.int64)
    mask = np.zeros((len(leads), len(rep_values)), dtype=bool)
    for r, covered in enumerate(rep_values):
        if covered is None:
            mask[:, r] = True
            continue
        values = covered if isinstance(covered, set | frozenset | list | tuple) else (covered,)
        wanted = [codes[value] for value in values if value in codes]
        mask[:, r] = np.isin(lead_codes, wanted)
    return mask
