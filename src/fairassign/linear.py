r"""The batch as a linear model over the allowed pairs, for the LP and MIP backends.

Variables are :math:`x_p \in [0, 1]` for each allowed candidate pair *p* (in candidate order),
plus one continuous :math:`V \ge 0`, the total lead value, when a :class:`FairShare` binds
(it keeps fair-share rows sparse: :math:`V_r - h_r V \le 0` instead of a row over all pairs).

Rows, each ``row_lower <= A @ z <= row_upper``:

* lead *i*: :math:`\sum_{p \in i} x_p \le 1`, ``= 1`` when it must be assigned;
* capacity: :math:`\sum_{p \in r} e_p x_p \le c_r` (finite capacities only);
* count band: :math:`\ell_r \le \sum_{p \in r} x_p \le u_r`;
* value band: :math:`\ell_r \le \sum_{p \in r} v_p x_p \le u_r`;
* total value: :math:`\sum_p v_p x_p - V = 0`;
* fair share: :math:`V_r - h_r V \le 0` and :math:`V_r - l_r V \ge 0` per rep and rule.

Options of :func:`build_linear_model` give smaller forms of the same relaxation (used by
the ``"lp-round"`` backend).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .problem import Problem
from .rules import Rules

__all__ = ["LinearModel", "build_linear_model", "LPSolution", "solve_lp"]


@dataclass(frozen=True, eq=False)
class LinearModel:
    """Matrix form of a batch; see the module docstring for the rows.

    Attributes
    ----------
    pairs : int64 (n_x,)
        Candidate-pair index of each x variable.
    n_vars : int
        ``n_x`` plus 1 when the total-value variable V is present.
    matrix : scipy.sparse.csr_array (n_rows, n_vars)
    row_lower, row_upper : float64 (n_rows,)
    var_upper : float64 (n_vars,)
        1 for x; inf for V (the total value of all leads with ``merge_fair``).
    score, count : float64 (n_vars,)
        Objective vectors: total score, and number of assigned leads.
    row_kind : tuple of str
        What each block of rows is ("lead", "capacity", ...), one entry per row block,
        aligned with ``row_block_start``; :meth:`block` and :meth:`kind_of_rows` read it.
    """

    pairs: NDArray[np.int64]
    n_vars: int
    matrix: sp.csr_array
    row_lower: NDArray[np.float64]
    row_upper: NDArray[np.float64]
    var_upper: NDArray[np.float64]
    score: NDArray[np.float64]
    count: NDArray[np.float64]
    row_kind: tuple[str, ...]
    row_block_start: tuple[int, ...]

    @property
    def n_x(self) -> int:
        return int(self.pairs.size)

    def rep_of(self, x: NDArray[np.float64], problem: Problem) -> NDArray[np.int64]:
        """Assignment from a 0/1 vector of x values (>= 0.5 counts as chosen)."""
        rep_of = np.full(problem.n_leads, -1, dtype=np.int64)
        chosen = self.pairs[x[: self.n_x] >= 0.5]
        rep_of[problem.pair_lead[chosen]] = problem.pair_rep[chosen]
        return rep_of

    def block(self, kind: str) -> slice:
        """Rows of the first block of ``kind`` (see ``row_kind``)."""
        k = self.row_kind.index(kind)
        stop = self.row_block_start[k + 1] if k + 1 < len(self.row_kind) else self.matrix.shape[0]
        return slice(self.row_block_start[k], stop)

    def kind_of_rows(self) -> NDArray[np.str_]:
        """``row_kind`` of each row."""
        sizes = np.diff(np.append(self.row_block_start, self.matrix.shape[0]))
        return np.repeat(np.array(self.row_kind), sizes)


def build_linear_model(problem: Problem, rules: Rules, *, fold_fixed_total: bool = False,
                       merge_unit_capacity: bool = False, merge_fair: bool = False,
                       assigned_row: bool = False) -> LinearModel:
    r"""Build the :class:`LinearModel` of ``problem`` under ``rules``.

    The columns are the allowed pairs; to restrict them, pass rules with a smaller
    ``allowed`` (``dataclasses.replace(rules, allowed=...)``). The keyword options give
    equivalent, smaller forms of the same relaxation (the defaults give the model of the
    module docstring):

    fold_fixed_total : bool
        When every lead must be assigned, :math:`V = \sum_i v_i` is a constant, so each fair
        share is a value band :math:`l_r V \le V_r \le h_r V`; it is folded into the value-band
        rows (block ``"value+fair"``), with no V column and no total or fair rows.
    merge_unit_capacity : bool
        With unit effort the capacity row counts leads like the count band; one row
        (block ``"capacity+count"``) holds :math:`\ell_r \le \sum_{p \in r} x_p \le \min(c_r, u_r)`.
    merge_fair : bool
        When V is a column, all :class:`FairShare` rules together give one ``"fair_high"`` and one
        ``"fair_low"`` row per rep at the tightest shares (:math:`\min h_r`, :math:`\max l_r`;
        equivalent as :math:`V \ge 0`), followed by the ``"total"`` row; V is bounded by the value
        of every lead (implied by the total and lead rows; a finite bound keeps Lagrangian
        bounds finite).
    assigned_row : bool
        Append the row :math:`-\infty \le \sum_p x_p \le \infty` (block ``"assigned"``), whose
        lower bound a caller may raise to ask for a number of leads.
    """
    pairs = np.flatnonzero(rules.allowed).astype(np.int64)
    n_x = pairs.size
    lead = problem.pair_lead[pairs]
    rep = problem.pair_rep[pairs]
    effort = problem.pair_effort[pairs]
    value = problem.value[lead]
    fixed_total = fold_fixed_total and bool(rules.must_assign.all())
    has_total = bool(rules.fair) and not fixed_total
    n_vars = n_x + int(has_total)
    column = np.arange(n_x, dtype=np.int64)

    blocks: list[tuple[str, NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                       NDArray[np.float64], NDArray[np.float64]]] = []
    n_rows = 0

    def add(kind: str, row: NDArray[np.int64], col: NDArray[np.int64], data: NDArray[np.float64],
            lower: NDArray[np.float64], upper: NDArray[np.float64]) -> None:
        nonlocal n_rows
        blocks.append((kind, row + n_rows, col, data, lower, upper))
        n_rows += lower.size

    # Lead rows: one per lead that has a pair or must be assigned (the latter may be empty,
    # which leaves an unsatisfiable 0 = 1 row, as it should).
    lead_rows = np.flatnonzero((np.bincount(lead, minlength=problem.n_leads) > 0) | rules.must_assign)
    row_of_lead = np.full(problem.n_leads, -1, dtype=np.int64)
    row_of_lead[lead_rows] = np.arange(lead_rows.size)
    add("lead", row_of_lead[lead], column, np.ones(n_x),
        rules.must_assign[lead_rows].astype(np.float64), np.ones(lead_rows.size))

    def per_rep_rows(kind: str, weights: NDArray[np.float64], lower: NDArray[np.float64],
                     upper: NDArray[np.float64]) -> None:
        keep = (lower > 0) | np.isfinite(upper)
        reps = np.flatnonzero(keep)
        if reps.size == 0:
            return
        row_of_rep = np.full(problem.n_reps, -1, dtype=np.int64)
        row_of_rep[reps] = np.arange(reps.size)
        on = keep[rep]
        add(kind, row_of_rep[rep[on]], column[on], weights[on], lower[reps], upper[reps])

    if merge_unit_capacity and problem.effort_kind == "unit":
        per_rep_rows("capacity+count", np.ones(n_x), rules.count_lower,
                     np.minimum(problem.capacity, rules.count_upper))
    else:
        per_rep_rows("capacity", effort, np.zeros(problem.n_reps), problem.capacity)
        per_rep_rows("count", np.ones(n_x), rules.count_lower, rules.count_upper)
    if rules.fair and fixed_total:
        total_value = float(problem.value.sum())
        value_lower, value_upper = rules.value_lower.copy(), rules.value_upper.copy()
        for fair in rules.fair:
            value_lower = np.maximum(value_lower, fair.low * total_value)
            value_upper = np.minimum(value_upper, fair.high * total_value)
        per_rep_rows("value+fair", value, value_lower, value_upper)
    else:
        per_rep_rows("value", value, rules.value_lower, rules.value_upper)

    if has_total:
        total = n_x  # column of V
        reps = np.arange(problem.n_reps, dtype=np.int64)

        def fair_rows(kind: str, share: NDArray[np.float64], lower: float, upper: float) -> None:
            add(kind, np.concatenate((rep, reps)), np.concatenate((column, np.full(problem.n_reps, total))),
                np.concatenate((value, -share)), np.full(problem.n_reps, lower), np.full(problem.n_reps, upper))

        def total_row() -> None:
            add("total", np.zeros(n_x + 1, np.int64), np.append(column, total),
                np.append(value, -1.0), np.zeros(1), np.zeros(1))

        if merge_fair:
            fair_rows("fair_high", np.min([fair.high for fair in rules.fair], axis=0), -np.inf, 0.0)
            fair_rows("fair_low", np.max([fair.low for fair in rules.fair], axis=0), 0.0, np.inf)
            total_row()
        else:
            total_row()
            for fair in rules.fair:
                fair_rows("fair_high", fair.high, -np.inf, 0.0)
                fair_rows("fair_low", fair.low, 0.0, np.inf)
    if assigned_row:
        add("assigned", np.zeros(n_x, np.int64), column, np.ones(n_x), np.array([-np.inf]), np.array([np.inf]))

    matrix = sp.csr_array(
        (np.concatenate([b[3] for b in blocks]),
         (np.concatenate([b[1] for b in blocks]), np.concatenate([b[2] for b in blocks]))),
        shape=(n_rows, n_vars),
    )
    starts, position = [], 0
    for block in blocks:
        starts.append(position)
        position += block[4].size
    score = np.zeros(n_vars)
    score[:n_x] = problem.pair_score[pairs]
    count = np.zeros(n_vars)
    count[:n_x] = 1.0
    var_upper = np.ones(n_vars)
    if has_total:
        var_upper[-1] = float(problem.value.sum()) if merge_fair else np.inf
    return LinearModel(
        pairs=pairs,
        n_vars=n_vars,
        matrix=matrix,
        row_lower=np.concatenate([b[4] for b in blocks]),
        row_upper=np.concatenate([b[5] for b in blocks]),
        var_upper=var_upper,
        score=score,
        count=count,
        row_kind=tuple(b[0] for b in blocks),
        row_block_start=tuple(starts),
    )


@dataclass(frozen=True, eq=False)
class LPSolution:
    """An LP relaxation's answer: ``x`` over the model's variables and its objective value."""

    x: NDArray[np.float64] | None
    value: float | None
    status: str  # "optimal", "infeasible", "time_limit", "error"


def solve_lp(model: LinearModel, objective: NDArray[np.float64], *, min_assigned: float | None = None,
             time_limit: float | None = None) -> LPSolution:
    r"""Maximise ``objective @ z`` over the LP relaxation with HiGHS (via scipy).

    ``min_assigned`` adds the row :math:`\sum_p x_p \ge` ``min_assigned``. The optimal value
    is an upper bound on every integer assignment that keeps the rules (and that row).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    matrix, lower, upper = model.matrix, model.row_lower, model.row_upper
    if model.n_vars == 0:  # no allowed pair: scipy's milp refuses an empty objective
        feasible = bool(np.all(lower <= 0.0) and np.all(upper >= 0.0)) and (min_assigned or 0.0) <= 0.0
        return LPSolution(x=np.zeros(0), value=0.0, status="optimal") if feasible else \
            LPSolution(x=None, value=None, status="infeasible")
    if min_assigned is not None:
        matrix = sp.vstack([matrix, sp.csr_array(model.count[None, :])], format="csr")
        lower = np.append(lower, min_assigned)
        upper = np.append(upper, np.inf)
    options = {} if time_limit is None else {"time_limit": max(float(time_limit), 1e-3)}
    constraints = [LinearConstraint(matrix, lower, upper)] if matrix.shape[0] else []
    answer = milp(-objective, constraints=constraints, bounds=Bounds(0.0, model.var_upper),
                  integrality=np.zeros(model.n_vars), options=options)
    if answer.status == 0:
        return LPSolution(x=answer.x, value=float(-answer.fun), status="optimal")
    if answer.status == 2:
        return LPSolution(x=None, value=None, status="infeasible")
    if answer.status == 1:
        return LPSolution(x=None, value=None, status="time_limit")
    return LPSolution(x=None, value=None, status="error")
