r"""The LP relaxation of a batch by column generation with HiGHS (``highspy``).

Most candidate pairs of a batch never carry LP weight: a lead goes to one of its best reps.
:class:`ColumnGeneration` starts from each lead's :data:`TOP_K` best pairs by gain; the row
duals :math:`y` of each solve price every other pair, those with a positive reduced cost join,
and the LP is solved again (warm, by dual simplex), until none is left or after
:data:`MAX_ROUNDS` rounds. The columns past the pairs (the total value :math:`V`, elastic
slacks) are always in.

Whatever the last round, :attr:`LpAnswer.bound` is the Lagrangian dual value at :math:`y` over
*all* columns, :math:`\sum_k \min(y_k L_k, y_k U_k) + \sum_p \min(0, d_p u_p)` (minimisation form,
:math:`d = c - A^\top y`), valid for any :math:`y` and equal to the LP value once no column
prices out.

Used by the ``"lp-round"`` backend (:mod:`fairassign.solvers.lp_round`) and by the online
router's price learning (:mod:`fairassign.router`); both fall back to the full LP through scipy
when ``highspy`` is not installed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .linear import LinearModel
from .problem import Problem

__all__ = ["ColumnGeneration", "LpAnswer", "MAX_ROUNDS", "TOP_K", "quiet_highs"]

#: pairs per lead in the first restricted LP (by gain)
TOP_K = 5
#: most column-generation rounds; the bound stays valid when they run out
MAX_ROUNDS = 8


@dataclass(frozen=True, eq=False)
class LpAnswer:
    """One LP solve: status and, when ``"optimal"``, the solution, its value, bound and row duals."""

    status: str  # "optimal", "infeasible", "time_limit", "error"
    x: NDArray[np.float64] | None = None  # over every column of the model
    value: float | None = None  # LP value (maximisation)
    bound: float | None = None  # Lagrangian bound over every column (maximisation)
    rounds: int = 0
    #: per row, the derivative of the LP value with respect to the row's active bound
    #: (>= 0 at an upper bound, <= 0 at a lower one): a column's reduced gain is ``gain - A.T @ dual``
    dual: NDArray[np.float64] | None = None


def quiet_highs() -> Any:
    """A highspy model that prints nothing (it prints a banner while constructed otherwise)."""
    import highspy

    class QuietHighs(highspy.Highs):  # type: ignore[misc]
        def enableCallbacks(self) -> Any:  # highspy's name; it logs the banner
            self.setOptionValue("output_flag", False)
            return super().enableCallbacks()

    highs = QuietHighs()
    highs.setOptionValue("output_flag", False)
    return highs


class ColumnGeneration:
    """One HiGHS model over a growing set of columns; re-solved warm after each change.

    Parameters
    ----------
    model : LinearModel
        The rows and columns (:func:`fairassign.linear.build_linear_model`).
    gain : float64 (model.n_x,)
        What each pair column is worth (maximised); the columns past the pairs keep
        ``model.score``.
    problem : Problem
        The batch the model was built from (for each pair's lead).
    row_lower, row_upper : float64 (n_rows,), optional
        Row bounds in place of the model's.
    """

    def __init__(self, model: LinearModel, gain: NDArray[np.float64], problem: Problem, *,
                 row_lower: NDArray[np.float64] | None = None,
                 row_upper: NDArray[np.float64] | None = None) -> None:
        import highspy

        self.highspy = highspy
        self.model = model
        n_x = model.n_x
        self.count_row = model.block("assigned").start if "assigned" in model.row_kind else None
        self.cost = -np.concatenate([gain, model.score[n_x:]])  # minimisation
        self.matrix = sp.csc_array(model.matrix)  # columns are sliced and added by the pricing
        self.row_lower = (model.row_lower if row_lower is None else row_lower).astype(np.float64, copy=True)
        self.row_upper = (model.row_upper if row_upper is None else row_upper).astype(np.float64, copy=True)
        # first columns: each lead's TOP_K best pairs by gain (then lowest index), and every other column
        lead = problem.pair_lead[model.pairs]
        order = np.lexsort((np.arange(n_x), -gain, lead))
        first_of_lead = np.searchsorted(lead[order], lead[order])
        rank = np.empty(n_x, dtype=np.int64)
        rank[order] = np.arange(n_x) - first_of_lead
        self.active = np.append(rank < TOP_K, np.ones(model.n_vars - n_x, dtype=bool))
        self.columns = np.flatnonzero(self.active)
        self.highs = quiet_highs()
        self.highs.setOptionValue("solver", "ipm")
        self.highs.setOptionValue("random_seed", 0)
        sub = self.matrix[:, self.columns].tocsc()
        lp = highspy.HighsLp()
        lp.num_col_ = int(self.columns.size)
        lp.num_row_ = int(self.matrix.shape[0])
        lp.col_cost_ = self.cost[self.columns]
        lp.col_lower_ = np.zeros(self.columns.size)
        lp.col_upper_ = model.var_upper[self.columns]
        lp.row_lower_ = self.row_lower
        lp.row_upper_ = self.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = sub.indptr.astype(np.int32)
        lp.a_matrix_.index_ = sub.indices.astype(np.int32)
        lp.a_matrix_.value_ = sub.data
        self.highs.passModel(lp)

    def set_count_lower(self, minimum: float) -> None:
        """Ask for at least ``minimum`` leads (the model needs its ``"assigned"`` row)."""
        if self.count_row is None:
            raise ValueError("the model has no 'assigned' row (build it with assigned_row=True)")
        self.row_lower[self.count_row] = minimum
        self.highs.changeRowBounds(self.count_row, minimum, np.inf)

    def solve(self, deadline: float | None = None) -> LpAnswer:
        """Solve, pricing in columns until none has a positive reduced gain (or :data:`MAX_ROUNDS`)."""
        highspy = self.highspy
        # one round more than MAX_ROUNDS, for the one time a restricted LP's infeasibility
        # brings in every column
        for round_ in range(1, MAX_ROUNDS + 2):
            if deadline is not None:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return LpAnswer("time_limit", rounds=round_)
                self.highs.setOptionValue("time_limit", left)
            self.highs.run()
            status = self.highs.getModelStatus()
            restricted = not self.active.all()
            if restricted and status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kModelEmpty):
                # the restricted LP proves nothing (its columns may lack room, as in tight
                # generalized-assignment batches): bring in every column and solve again
                self._add_columns(np.flatnonzero(~self.active))
                continue
            if status == highspy.HighsModelStatus.kInfeasible:
                return LpAnswer("infeasible", rounds=round_)
            if status == highspy.HighsModelStatus.kTimeLimit:
                return LpAnswer("time_limit", rounds=round_)
            if status == highspy.HighsModelStatus.kModelEmpty:  # no column: do the rows hold at 0?
                if np.all(self.row_lower <= 1e-9) and np.all(self.row_upper >= -1e-9):
                    return LpAnswer("optimal", x=np.zeros(self.matrix.shape[1]), value=0.0, bound=0.0,
                                    rounds=round_, dual=np.zeros(self.matrix.shape[0]))
                return LpAnswer("infeasible", rounds=round_)
            if status != highspy.HighsModelStatus.kOptimal:
                return LpAnswer("error", rounds=round_)
            solution = self.highs.getSolution()
            dual = np.asarray(solution.row_dual, dtype=np.float64)
            x = np.zeros(self.matrix.shape[1])
            x[self.columns] = np.asarray(solution.col_value, dtype=np.float64)
            value = -float(self.highs.getInfo().objective_function_value)
            bound, reduced = self._lagrangian(dual)
            entering = np.flatnonzero(~self.active & (reduced < -1e-9))
            if entering.size == 0 or round_ >= MAX_ROUNDS:
                # HiGHS minimises -gain: its row duals are the negated derivatives of the gain
                return LpAnswer("optimal", x=x, value=value, bound=max(bound, value), rounds=round_, dual=-dual)
            self._add_columns(entering)
        raise AssertionError("unreachable")  # pragma: no cover

    def _add_columns(self, entering: NDArray[np.int64]) -> None:
        """Make ``entering`` columns part of the HiGHS model; later solves warm-start by simplex."""
        sub = self.matrix[:, entering].tocsc()
        self.highs.addCols(int(entering.size), self.cost[entering], np.zeros(entering.size),
                           self.model.var_upper[entering], int(sub.nnz), sub.indptr[:-1].astype(np.int32),
                           sub.indices.astype(np.int32), sub.data)
        self.active[entering] = True
        self.columns = np.concatenate((self.columns, entering))
        self.highs.setOptionValue("solver", "simplex")

    def _lagrangian(self, dual: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        r"""Lagrangian bound (maximisation form) at the row duals, and every column's reduced cost.

        A dual whose sign would multiply an infinite row bound is set to 0 first, which keeps
        the bound finite and valid (any :math:`y` gives a valid bound).
        """
        lower, upper = self.row_lower, self.row_upper
        dual = np.where((dual > 0) & ~np.isfinite(lower), 0.0, dual)
        dual = np.where((dual < 0) & ~np.isfinite(upper), 0.0, dual)
        reduced = self.cost - self.matrix.T @ dual
        rows_part = np.where(dual > 0, dual * np.where(np.isfinite(lower), lower, 0.0),
                             dual * np.where(np.isfinite(upper), upper, 0.0))
        # a column without an upper bound adds nothing while its reduced cost is >= 0 (and -inf below)
        below = reduced < 0
        columns_part = reduced[below] * self.model.var_upper[below]
        return -float(rows_part.sum() + columns_part.sum()), reduced
