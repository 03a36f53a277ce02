"""Shared test setup: hypothesis profiles, seeded generators, small fixed batches.

Profiles (choose with ``HYPOTHESIS_PROFILE=<name>``; "ci" when the CI variable is set,
"default" otherwise):

* ``default``: 50 examples per property, no deadline (solver calls vary in time);
* ``ci``: 150 examples, derandomized so a CI run is reproducible, printing the blob;
* ``quick``: 10 examples, for a fast local loop;
* ``thorough``: 500 examples, random, for hunting rare failures before a release.

``tests/`` is put on ``sys.path`` so that test modules in subfolders (``tests/solvers``)
can ``import oracle`` and ``import strategies``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import fairassign as fa

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# Drawing a problem plus a rule list and calling a solver is slower than hypothesis
# expects of a plain function, and a tiny MIP's time is not what these tests measure.
_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("default", max_examples=50, deadline=None, suppress_health_check=_SLOW)
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=_SLOW)
settings.register_profile("quick", max_examples=10, deadline=None, suppress_health_check=_SLOW)
settings.register_profile("thorough", max_examples=500, deadline=None, suppress_health_check=_SLOW)
# CI (which sets CI=true) runs the derandomized profile, so a run is reproducible and a
# rare counterexample cannot turn a submission red by chance; local runs keep exploring.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A generator with a fixed seed, fresh for every test (never global state)."""
    return np.random.default_rng(20240601)


@pytest.fixture
def small_problem() -> fa.Problem:
    """3 leads x 2 reps with string ids; lead 'L-2' may only go to rep 'R-1'."""
    score = np.array([[5.0, 1.0], [4.0, 3.0], [np.nan, 2.5]])
    return fa.Problem(score=score, capacity=[2, 1], value=[10.0, 20.0, 30.0],
                      lead_ids=["L-0", "L-1", "L-2"], rep_ids=["R-0", "R-1"])
