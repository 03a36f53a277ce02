"""Subcommands of the ``fairassign`` command that live outside :mod:`fairassign.cli`.

Each module here defines ``add_parser(commands)``, which adds its subparser to the
``argparse`` subparsers object and sets ``handler(args, out) -> int`` as its default. The
argument types below are shared by every subcommand, so a bad number reads the same everywhere.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["nonnegative_float", "positive_float", "integer_at_least"]


def nonnegative_float(text: str) -> float:
    """A finite number ``>= 0``, for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number ``> 0`` (seconds, say), for argparse."""
    value = nonnegative_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def integer_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer ``>= minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse
