r"""Fair-share weights that each rep can actually attain.

:class:`~fairassign.FairShare` with its default weights asks rep *r* for
:math:`V w_r / W` of the value, :math:`w_r` its capacity. On a tiered team that share can
be out of reach: a rep cleared only for C-tier leads cannot receive half its
capacity-share of value when C leads are worth a quarter of A leads, so a solver keeps
the rule only by leaving valuable leads unassigned. A share of value a rep can never be
offered is not fair; it is infeasible. :func:`attainable_weights` gives weights that
reflect the value each rep can receive.

Method ``"reachable"``: a capacity-proportional split, corrected for eligibility and capacity
---------------------------------------------------------------------------------------------

Let :math:`E_i` be the reps lead *i* may go to (candidate pairs allowed by the rules),
:math:`e_{ir}` the effort of the pair, :math:`c_r` the capacity (tightened by a
:class:`~fairassign.CountBand` upper bound when effort is per lead count) and
:math:`\bar c_r = \min(c_r, \sum_{i : r \in E_i} e_{ir})` what the rep could fill with the
leads it may take. The starting point splits every lead among its eligible reps in
proportion to that capacity,

.. math:: x^{(0)}_{ir} = \bar c_r \Big/ \sum_{r' \in E_i} \bar c_{r'},

which is the capacity-weighted rule applied inside each lead's pool. It may overload reps
that many pools share (A-cleared reps are in every pool), so it is corrected by
alternating scaling (iterative proportional fitting, as in matrix balancing):

1. columns: every rep over capacity is scaled down,
   :math:`x_{ir} \leftarrow x_{ir} \min(1, c_r / \sum_i e_{ir} x_{ir})`;
2. rows: every lead is scaled back up to a full assignment,
   :math:`x_{ir} \leftarrow x_{ir} / \sum_{r'} x_{ir'}`;

until no rep is over capacity by more than ``rtol`` after step 2 (or ``max_iter``
rounds), ending with a column step so capacity always holds. The scaling keeps the ratios
between the reps of a lead's pool as close to the capacity split as capacity allows
(each step is the Kullback-Leibler projection onto one set of constraints), and it never
looks at scores. The weights are the value each rep receives in that fractional
allocation,

.. math:: w_r = \sum_i v_i \, x_{ir}.

Properties
~~~~~~~~~~

* *Attainable.* When capacity can hold every lead, the fractional allocation assigns every
  lead and gives each rep exactly :math:`w_r`, so the linear relaxation of
  ``FairShare(t, weight=w)`` with every lead assigned is feasible even at :math:`t = 0`;
  with a few leads per rep an integer assignment within a moderate band exists in practice
  (tested on synthetic tiered batches, where the capacity-weighted rule drops leads).
* *Score-free.* The weights depend on eligibility, capacity, effort and lead value only:
  the rule stays a statement about fairness, not a copy of what the optimiser would do.
* *Capacity-weighted where nothing binds.* With every rep eligible for every lead and
  enough capacity, :math:`w_r \propto c_r`, the default rule.
* *Capped by reach.* :math:`w_r` never exceeds the value of the leads that fit in rep r's
  capacity (the allocation respects capacity), and a rep with no candidate gets 0.
* *Convergence.* Geometric when some allocation leaves a little slack in every pool (the
  usual case: a few rounds on the synthetic batches); slow, about :math:`1/k` after
  :math:`k` rounds, when capacity is exactly tight so that a rep must get none of a lead it
  may take. ``max_iter`` bounds the work; the result always respects capacity, and a lead
  not fully placed then lowers the weights' total (by about 0.3% on a 4-lead example after
  200 rounds).
* Deterministic, vectorised over the sparse candidate list (``O(n_pairs)`` per round,
  ``numpy.bincount``), no dense leads x reps matrix.

Lower bounds (count or value) and existing :class:`~fairassign.FairShare` rules in
``constraints`` are ignored; ``Pin`` and ``Forbid`` shape the pools, and ``ValueBand``
upper bounds cap a rep's value like capacity caps its effort.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from .constraints import Constraint
from .errors import ValidationError
from .problem import Problem
from .rules import bind

__all__ = ["attainable_weights", "WEIGHT_METHODS"]

#: methods :func:`attainable_weights` knows
WEIGHT_METHODS: tuple[str, ...] = ("reachable",)


def attainable_weights(
    problem: Problem,
    constraints: Iterable[Constraint] | Constraint = (),
    *,
    method: str = "reachable",
    max_iter: int = 200,
    rtol: float = 1e-6,
) -> NDArray[np.float64]:
    r"""Fair-share weights proportional to the value each rep can receive.

    Pass them to :class:`~fairassign.FairShare` as ``weight`` (see the module docstring for
    the method and its properties).

    Parameters
    ----------
    problem : Problem
    constraints : iterable of Constraint, optional
        Rules of the batch: ``Pin``/``Forbid`` restrict the pools, ``CountBand`` and
        ``ValueBand`` upper bounds cap each rep; fairness rules and lower bounds are ignored.
    method : {"reachable"}
        How the weights are computed.
    max_iter : int
        Rounds of alternating scaling at most (``>= 1``).
    rtol : float
        Stop once no rep is over capacity by more than this share after a row step (``> 0``).

    Returns
    -------
    ndarray of float64, shape (n_reps,)
        :math:`w_r \ge 0`, summing to the value the fractional allocation assigns (the total
        lead value when capacity holds every lead). All zero only when no lead can be placed,
        which :class:`~fairassign.FairShare` refuses.

    Raises
    ------
    ValidationError
        An unknown ``method``, ``max_iter`` or ``rtol`` out of range, or rules that do not
        fit the problem.

    Examples
    --------
    >>> import numpy as np
    >>> import fairassign as fa
    >>> from fairassign.weights import attainable_weights
    >>> nan = np.nan
    >>> # rep 1 may only take the two cheap leads; rep 0 can take 3 leads, rep 1 two
    >>> problem = fa.Problem(score=[[1.0, nan], [1.0, nan], [1.0, 1.0], [1.0, 1.0]],
    ...                      capacity=[3, 2], value=[4.0, 4.0, 1.0, 1.0])
    >>> weights = attainable_weights(problem)
    >>> np.round(weights, 3).tolist()
    [9.0, 1.0]
    >>> fa.solve(problem, [fa.FairShare(0.1)]).n_assigned    # asks rep 1 for 4 of 10: out of reach
    0
    >>> fa.solve(problem, [fa.FairShare(0.1, weight=weights)]).n_assigned
    4
    """
    if not isinstance(problem, Problem):
        raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
    if method not in WEIGHT_METHODS:
        raise ValidationError(f"method must be one of {WEIGHT_METHODS}, got {method!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValidationError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if isinstance(rtol, bool) or not isinstance(rtol, int | float) or not 0 < rtol < 1:
        raise ValidationError(f"rtol must be a number in (0, 1), got {rtol!r}")
    rules = bind(problem, constraints)
    return _reachable(problem, rules.allowed, rules.count_upper, rules.value_upper, int(max_iter), float(rtol))


def _reachable(problem: Problem, allowed: NDArray[np.bool_], count_upper: NDArray[np.float64],
               value_upper: NDArray[np.float64], max_iter: int, rtol: float) -> NDArray[np.float64]:
    n_reps, n_leads = problem.n_reps, problem.n_leads
    pairs = np.flatnonzero(allowed)
    lead, rep = problem.pair_lead[pairs], problem.pair_rep[pairs]
    effort, value = problem.pair_effort[pairs], problem.value[lead]
    # Caps on each rep, each measured by its own per-pair amount: effort (capacity), leads
    # (count upper bound), value (value upper bound). Infinite caps never bind.
    caps = [(problem.capacity, effort), (count_upper, np.ones(pairs.size)), (value_upper, value)]
    caps = [(cap, amount) for cap, amount in caps if np.isfinite(cap).any()]

    # Starting split: by the capacity each rep could fill with the leads it may take.
    reach = np.bincount(rep, weights=effort, minlength=n_reps)
    prior = np.minimum(problem.capacity, reach)
    prior = np.where(np.isfinite(prior), prior, 0.0)
    unbounded = np.isinf(problem.capacity) & (reach > 0)
    if unbounded.any():
        # a rep without a capacity limit can fill all it may take; effort 0 leads still count
        prior[unbounded] = np.maximum(reach[unbounded], np.bincount(rep, minlength=n_reps)[unbounded])
    x = prior[rep]
    x = _normalise_rows(x, lead, n_leads)

    for _ in range(max_iter):
        x, worst = _scale_columns(x, rep, caps, n_reps)
        if worst >= 1.0 - rtol:
            break  # rows were full (the previous row step) and no rep was over: done
        x = _normalise_rows(x, lead, n_leads)
    else:
        x, _ = _scale_columns(x, rep, caps, n_reps)  # end on a column step: capacity holds
    return np.bincount(rep, weights=value * x, minlength=n_reps).astype(np.float64)


def _scale_columns(x: NDArray[np.float64], rep: NDArray[np.int64],
                   caps: list[tuple[NDArray[np.float64], NDArray[np.float64]]],
                   n_reps: int) -> tuple[NDArray[np.float64], float]:
    """Scale every rep over a cap down onto it; also return the smallest factor used."""
    worst = 1.0
    for cap, amount in caps:
        load = np.bincount(rep, weights=amount * x, minlength=n_reps)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(load > cap, cap / load, 1.0)
        worst = min(worst, float(ratio.min(initial=1.0)))
        x = x * ratio[rep]
    return x, worst


def _normalise_rows(x: NDArray[np.float64], lead: NDArray[np.int64], n_leads: int) -> NDArray[np.float64]:
    """Scale each lead's row to sum to 1 (rows summing to 0 stay 0)."""
    total = np.bincount(lead, weights=x, minlength=n_leads)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, 1.0 / total, 0.0)
    return x * scale[lead]
