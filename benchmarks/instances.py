"""Random benchmark instances, the recipe the anchors in the issues were measured on.

Each lead has ``candidates`` distinct eligible reps drawn uniformly; lead values are lognormal
(heavy-tailed); a pair's score is the lead's value times a uniform fit in [0.5, 1.5);
capacities sum to ``slack`` times the number of leads (unit effort), spread with +-50% noise.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import fairassign as fa


def random_pairs(n_leads: int, n_reps: int, candidates: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (lead, rep) candidate arrays, ``candidates`` distinct reps per lead."""
    rng = np.random.default_rng(seed)
    candidates = min(candidates, n_reps)
    # distinct reps per lead without a dense matrix: one random rep in each of `candidates`
    # equal strata of the rep range, rotated by a random start per lead
    edges = (np.arange(candidates + 1) * n_reps) // candidates
    width = np.diff(edges)
    within = (rng.random((n_leads, candidates)) * width[None, :]).astype(np.int64)
    start = rng.integers(0, n_reps, size=(n_leads, 1))
    reps = np.sort((start + edges[None, :-1] + within) % n_reps, axis=1)
    leads = np.repeat(np.arange(n_leads, dtype=np.int64), candidates)
    return leads, reps.ravel().astype(np.int64)


def random_problem(n_leads: int, n_reps: int, candidates: int = 10, *, seed: int = 0,
                   slack: float = 1.1) -> fa.Problem:
    """A sparse :class:`fairassign.Problem` with the recipe in the module docstring."""
    rng = np.random.default_rng(seed + 1)
    leads, reps = random_pairs(n_leads, n_reps, candidates, seed)
    value = rng.lognormal(mean=0.0, sigma=1.0, size=n_leads)
    fit = rng.uniform(0.5, 1.5, size=leads.size)
    score = sp.csr_array((value[leads] * fit, (leads, reps)), shape=(n_leads, n_reps))
    spread = rng.uniform(0.5, 1.5, size=n_reps)
    capacity = np.maximum(1.0, np.round(spread / spread.sum() * slack * n_leads))
    return fa.Problem(score=score, capacity=capacity, value=value)
