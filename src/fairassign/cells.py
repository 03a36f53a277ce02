"""Numbers as table cells, the same way in every table the library prints."""

from __future__ import annotations

import math

__all__ = ["number_cell", "percent_cell"]


def number_cell(value: float | None, digits: int = 0) -> str:
    """``1,234`` with thousands separators; ``-`` for a missing figure, ``inf`` for an infinite one.

    >>> number_cell(1234.5), number_cell(None), number_cell(float("inf"))
    ('1,234', '-', 'inf')
    """
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "inf"
    return f"{value:,.{digits}f}"


def percent_cell(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """``12.5%`` (``+12.5%`` when ``signed``); ``-`` for a missing figure, ``inf`` for an infinite one.

    >>> percent_cell(0.125), percent_cell(0.125, signed=True), percent_cell(None)
    ('12.5%', '+12.5%', '-')
    """
    if value is None:
        return "-"
    if not math.isfinite(value):
        return "inf"
    return f"{value:+.{digits}%}" if signed else f"{value:.{digits}%}"
