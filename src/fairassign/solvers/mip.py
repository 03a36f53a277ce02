r"""Backend ``"mip"``: the batch's linear model solved as a MIP through PuLP, by HiGHS or CBC.

Model
    :func:`fairassign.linear.build_linear_model` already states every rule as matrix rows,
    ``row_lower <= A z <= row_upper``. Here each :math:`x_p` becomes a binary PuLP variable
    and the total lead value :math:`V` (present when a :class:`~fairassign.FairShare` binds)
    a continuous one. Each row becomes one ``LpAffineExpression`` built from its CSR slice,
    so the build costs :math:`O(\text{nonzeros})`. PuLP has no ranged rows, so a row becomes
    up to two constraints, but a side the variable bounds already imply is left out: a lead
    row :math:`0 \le \sum_p x_p \le 1` becomes one constraint, and a capacity that the rep's
    candidates cannot exceed none. Rules that bind could not express (``rules.conflicts``,
    such as a lead pinned to two reps) answer INFEASIBLE before any model is built.

Solver
    HiGHS through ``pulp.HiGHS`` (the highspy API, in process) when highspy is importable,
    else the CBC binary bundled with PuLP (``pulp.PULP_CBC_CMD``). ``MipSolver(backend="cbc")``
    or ``MipSolver(backend="highs")`` forces one; ``fa.solve(..., solver="mip")`` uses the
    default, ``"auto"``. The backend used is named in the result's ``reason``. Neither prints
    a log; CBC's temporary files live in a private temporary folder removed after each solve.
    Objectives are negated and minimised: CBC given a MIP start on a maximisation can return
    the start itself as optimal (coin-or/Cbc#296).

Objectives
    *score*: one phase, maximise :math:`\sum_p s_p x_p`.
    *lexicographic*: phase 1 maximises the count :math:`\sum_p x_p`; phase 2 maximises the
    score subject to :math:`\sum_p x_p \ge c_1`, :math:`c_1` the count phase 1 reached,
    warm-started from phase 1's assignment. When every lead must be assigned the count is
    fixed, so phase 1 is skipped.

Tolerances
    Score phases stop at a relative and an absolute gap of ``1e-9``
    (:data:`SCORE_GAP`), so OPTIMAL means optimal up to that. The count phase stops at an
    absolute gap of ``0.99`` (:data:`COUNT_ABS_GAP`): the count is an integer, so a gap
    below 1 proves it maximal. A variable counts as chosen when its value is within
    ``1e-6`` of 1 (:data:`CHOSEN_TOLERANCE`); the rounded assignment is checked against
    every row before it is returned.

Time limit
    Phase 1 may use half of the time left after the model is built, phase 2 everything
    left after phase 1 (at least 0.05 s, so a warm start is always looked at). If phase 1
    finds nothing in its half, phase 2 runs without the count floor, since any rule-keeping
    assignment beats none. A hint that keeps every row is returned when no phase beats it.

Bound
    OPTIMAL: the objective. Stopped early: HiGHS's proven dual bound (``mip_dual_bound``,
    read from the highspy model after the solve); CBC's bound is only in its log, so the LP
    relaxation's value (:func:`fairassign.linear.solve_lp`) is used instead. With a time
    limit that LP is solved just before the score phase, inside the limit and over the same
    count floor :math:`\sum_p x_p \ge c_1`; otherwise after it, with
    :math:`\sum_p x_p \ge n_\text{assigned}` under the lexicographic objective. Each bounds
    every rule-keeping assignment with at least the returned number of leads, as
    :attr:`fairassign.Result.bound` requires.

Examples
--------
>>> import fairassign as fa
>>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [2.0, 2.5]], capacity=[2, 1], value=[3.0, 1.0, 2.0])
>>> result = fa.solve(problem, [fa.FairShare(0.5)], solver="mip")
>>> result.status.name, result.rep_of.tolist(), result.objective
('OPTIMAL', [0, 0, 1], 11.5)
"""

from __future__ import annotations

import functools
import importlib.util
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray

from ..errors import MissingDependencyError, ValidationError
from ..linear import LinearModel, build_linear_model, solve_lp
from ..problem import Problem
from ..result import Status
from ..rules import Rules
from .base import Solver, SolveRequest, SolverOutput, register

__all__ = ["MipSolver", "BACKENDS", "SCORE_GAP", "COUNT_ABS_GAP", "CHOSEN_TOLERANCE"]

Backend = Literal["auto", "highs", "cbc"]
#: accepted values of ``MipSolver(backend=...)``
BACKENDS: tuple[Backend, ...] = ("auto", "highs", "cbc")
#: relative and absolute gap at which a score phase stops (OPTIMAL means optimal up to this)
SCORE_GAP = 1e-9
#: absolute gap at which the count phase stops; the count is integral, so < 1 proves it best
COUNT_ABS_GAP = 0.99
#: a binary counts as chosen when its value is at least 1 - CHOSEN_TOLERANCE
CHOSEN_TOLERANCE = 1e-6
#: relative slack when checking the rounded assignment against the model's rows
_ROW_RTOL = 1e-6
#: the least time a phase is given, even when the time limit is spent (seconds)
_MIN_PHASE_SECONDS = 0.05
#: time given to the LP relaxation that bounds a stopped CBC solve, at the least (seconds)
_MIN_LP_SECONDS = 1.0
_BACKEND_LABEL = {"highs": "HiGHS (highspy) through PuLP", "cbc": "CBC (bundled with PuLP)"}

PhaseState = Literal["optimal", "feasible", "infeasible", "none"]


@dataclass(frozen=True)
class _Phase:
    """What one MIP solve gave.

    ``chosen`` is the rounded assignment over the x variables (None without one);
    ``dual_bound`` a proven upper bound on the phase's objective (None when unknown).
    """

    state: PhaseState
    chosen: NDArray[np.bool_] | None
    dual_bound: float | None
    seconds: float
    hit_limit: bool
    message: str = ""
    transfer_seconds: float = 0.0  # of ``seconds``, spent copying the PuLP model into the solver


# ----------------------------------------------------------------------------- model
def _activity_range(model: LinearModel) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Least and greatest value of each row over the variable box :math:`0 \\le z \\le u`."""
    matrix = model.matrix
    n_rows = matrix.shape[0]
    row = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
    upper = model.var_upper[matrix.indices]
    data = matrix.data
    with np.errstate(invalid="ignore"):  # 0 * inf in the branch np.where discards
        high = np.where(data > 0, data * upper, 0.0)
        low = np.where(data < 0, data * upper, 0.0)
    least = np.bincount(row, weights=low, minlength=n_rows).astype(np.float64)
    greatest = np.bincount(row, weights=high, minlength=n_rows).astype(np.float64)
    return least, greatest


def _row_kind(model: LinearModel, row: int) -> str:
    block = int(np.searchsorted(np.asarray(model.row_block_start), row, side="right")) - 1
    return model.row_kind[block]


def _slack(limit: NDArray[np.float64] | float, scale: NDArray[np.float64] | float) -> Any:
    return 1e-9 * np.maximum(np.maximum(np.abs(limit), scale), 1.0)


def _hopeless_rows(model: LinearModel) -> list[str]:
    """Rows no point of the variable box satisfies, in words (each alone proves infeasibility)."""
    low, high = _activity_range(model)
    with np.errstate(invalid="ignore"):
        bad = (model.row_lower > high + _slack(model.row_lower, 0.0)) | \
              (model.row_upper < low - _slack(model.row_upper, 0.0))
    reasons = []
    for row in np.flatnonzero(bad)[:5].tolist():
        reasons.append(
            f"a {_row_kind(model, row)} row can never hold: it needs [{model.row_lower[row]:g}, "
            f"{model.row_upper[row]:g}] but can only reach [{low[row]:g}, {high[row]:g}]"
        )
    return reasons


def _total_value(problem: Problem, model: LinearModel, chosen: NDArray[np.bool_]) -> float:
    return float(problem.value[problem.pair_lead[model.pairs[chosen]]].sum())


def _full_point(problem: Problem, model: LinearModel, chosen: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The model's variable vector for a 0/1 choice of pairs (V set to its value)."""
    z = np.zeros(model.n_vars)
    z[: model.n_x] = chosen
    if model.n_vars > model.n_x:
        z[-1] = _total_value(problem, model, chosen)
    return z


def _broken_row(problem: Problem, model: LinearModel, chosen: NDArray[np.bool_],
                extra_floor: int | None) -> str | None:
    """The first row the rounded assignment breaks (beyond a relative 1e-6), or None."""
    z = _full_point(problem, model, chosen)
    activity = model.matrix @ z
    scale = abs(model.matrix) @ np.abs(z)  # the size of the terms that make up each row
    slack = _ROW_RTOL * np.maximum(scale, 1.0)
    with np.errstate(invalid="ignore"):
        bad = (activity < model.row_lower - slack) | (activity > model.row_upper + slack)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        return (f"{_row_kind(model, row)} row at {activity[row]:.9g} outside "
                f"[{model.row_lower[row]:g}, {model.row_upper[row]:g}]")
    if extra_floor is not None and int(chosen.sum()) < extra_floor:
        return f"count {int(chosen.sum())} below the floor {extra_floor}"
    return None


class _PulpModel:
    """The :class:`LinearModel` as a PuLP problem, with the two objectives and a count floor."""

    def __init__(self, pulp: Any, model: LinearModel) -> None:
        self.pulp = pulp
        self.model = model
        # Minimise the negated objective: CBC given a MIP start on a maximisation sets its
        # cutoff on the wrong side and returns the start as "optimal" (coin-or/Cbc#296, #787).
        lp = pulp.LpProblem("fairassign", pulp.LpMinimize)
        # PuLP >= 3.3 attaches variables to the model and deprecates the bare constructor.
        make = getattr(lp, "add_variable", None) or pulp.LpVariable
        # PuLP sorts variables by name, so zero-padded names keep the model's column order.
        width = len(str(max(model.n_x - 1, 0)))
        variables = [make(f"x{k:0{width}d}", 0, 1, pulp.LpBinary) for k in range(model.n_x)]
        if model.n_vars > model.n_x:
            variables.append(make("y_total_value", 0, None, pulp.LpContinuous))
        self.variables = variables

        matrix = model.matrix.copy()
        matrix.eliminate_zeros()
        low, high = _activity_range(model)
        keep_lower = model.row_lower > low
        keep_upper = model.row_upper < high
        indptr = matrix.indptr.tolist()
        columns = matrix.indices.tolist()
        coefficients = matrix.data.tolist()
        row_lower, row_upper = model.row_lower.tolist(), model.row_upper.tolist()
        expression, constraint = pulp.LpAffineExpression, pulp.LpConstraint
        for row in np.flatnonzero(keep_lower | keep_upper).tolist():
            start, stop = indptr[row], indptr[row + 1]
            terms = list(zip(map(variables.__getitem__, columns[start:stop]), coefficients[start:stop], strict=True))
            lower, upper = row_lower[row], row_upper[row]
            if keep_lower[row] and keep_upper[row] and lower == upper:
                lp.addConstraint(constraint(expression(terms), pulp.LpConstraintEQ, f"r{row}_eq", lower))
                continue
            if keep_lower[row]:
                lp.addConstraint(constraint(expression(terms), pulp.LpConstraintGE, f"r{row}_ge", lower))
            if keep_upper[row]:
                lp.addConstraint(constraint(expression(terms), pulp.LpConstraintLE, f"r{row}_le", upper))
        self.lp = lp
        x = variables[: model.n_x]
        self.count = expression([(var, 1.0) for var in x])
        # Zero scores stay in: a variable PuLP finds in no row and no objective is left out of
        # the solver's model, and its value would not be read back.
        self.minus_count = expression([(var, -1.0) for var in x])
        self.minus_score = expression(list(zip(x, (-model.score[: model.n_x]).tolist(), strict=True)))
        self.floor: int | None = None

    def add_count_floor(self, count: int) -> None:
        self.lp.addConstraint(self.pulp.LpConstraint(self.count, self.pulp.LpConstraintGE, "count_floor", count))
        self.floor = count

    def set_start(self, start: NDArray[np.float64] | None) -> None:
        for var, value in zip(self.variables, [None] * len(self.variables) if start is None else start.tolist(),
                              strict=True):
            var.varValue = value

    def values(self) -> NDArray[np.float64]:
        return np.array([np.nan if var.varValue is None else var.varValue for var in self.variables[: self.model.n_x]],
                        dtype=np.float64)


# ----------------------------------------------------------------------------- backends
@functools.cache
def _highs_solver_class() -> type:
    """``pulp.HiGHS`` with a quiet highspy model, a MIP start, and a safe read-back."""
    import highspy
    import pulp

    class QuietHighs(highspy.Highs):  # type: ignore[misc]
        """highspy prints a banner on its first call unless the log is off by then."""

        def enableCallbacks(self) -> Any:
            self.setOptionValue("output_flag", False)
            return super().enableCallbacks()

    class HighsThroughPulp(pulp.HiGHS):  # type: ignore[misc]
        def __init__(self, options: dict[str, Any], warm_start: bool, deadline: float | None) -> None:
            super().__init__(mip=True, msg=False)
            self.highs_options = options
            self.warm_start = warm_start
            self.deadline = deadline
            self.transfer_seconds = 0.0

        def buildSolverModel(self, lp: Any) -> None:
            started = time.perf_counter()
            super().buildSolverModel(lp)
            self.transfer_seconds = time.perf_counter() - started

        def createAndConfigureSolver(self, lp: Any) -> None:
            lp.solverModel = QuietHighs()
            lp.solverModel.setOptionValue("output_flag", False)
            for key, value in self.highs_options.items():
                lp.solverModel.setOptionValue(key, value)

        def callSolver(self, lp: Any) -> None:
            if self.warm_start:
                start = highspy.HighsSolution()
                start.col_value = [0.0 if var.varValue is None else float(var.varValue) for var in lp.variables()]
                start.value_valid = True
                lp.solverModel.setSolution(start)
            if self.deadline is not None:
                # HiGHS's clock starts here, after PuLP has copied the model into it.
                remaining = max(self.deadline - time.perf_counter(), _MIN_PHASE_SECONDS)
                lp.solverModel.setOptionValue("time_limit", float(remaining))
            lp.solverModel.run()

        def findSolutionValues(self, lp: Any) -> Any:
            # PuLP indexes the solution even when HiGHS has none (stopped or infeasible).
            if not lp.solverModel.getSolution().value_valid:
                for var in lp.variables():
                    var.varValue = None
                return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
            return super().findSolutionValues(lp)

    return HighsThroughPulp


def _highs_phase(pulp_model: _PulpModel, *, gap_rel: float, gap_abs: float, time_limit: float | None,
                 seed: int, warm_start: bool) -> _Phase:
    import highspy

    started = time.perf_counter()
    options: dict[str, Any] = {"mip_rel_gap": gap_rel, "mip_abs_gap": gap_abs, "random_seed": seed % 2147483647}
    deadline = None if time_limit is None else started + time_limit
    if deadline is not None:
        # HiGHS 1.16's root reduced-cost heuristic runs a sub-MIP that does not watch the time
        # limit: on a 2000 x 50 fair share started from lp-round's answer a 30 s limit ran 100-130 s
        # (107 s in that sub-MIP); without it the solve stopped at 30.3 s with the same answer
        options["mip_heuristic_run_root_reduced_cost"] = False
    solver = _highs_solver_class()(options, warm_start, deadline)
    pulp_model.lp.solve(solver)
    seconds = time.perf_counter() - started
    highs = pulp_model.lp.solverModel
    status = highs.getModelStatus()
    info = highs.getInfo()
    statuses = highspy.HighsModelStatus
    sense = highs.getObjectiveSense()
    sense = sense[1] if isinstance(sense, tuple) else sense
    # HiGHS minimises the negated objective (PuLP would also negate a maximisation).
    sign = 1.0 if sense == highspy.ObjSense.kMaximize else -1.0
    dual = sign * float(info.mip_dual_bound)
    dual_bound = dual if np.isfinite(dual) else None
    has_solution = bool(highs.getSolution().value_valid)
    hit_limit = status == statuses.kTimeLimit
    state: PhaseState
    if status == statuses.kOptimal and has_solution:
        state = "optimal"
    elif status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
        state = "infeasible"  # every variable is bounded, so "or unbounded" is infeasible here
    elif has_solution:
        state = "feasible"
    else:
        state = "none"
    message = highs.modelStatusToString(status)
    chosen = pulp_model.values() >= 1.0 - CHOSEN_TOLERANCE if has_solution else None
    return _Phase(state, chosen, dual_bound, seconds, hit_limit, message, solver.transfer_seconds)


def _cbc_phase(pulp_model: _PulpModel, *, gap_rel: float, gap_abs: float, time_limit: float | None,
               seed: int, warm_start: bool) -> _Phase:
    pulp = pulp_model.pulp
    cbc_seed = seed % 2147483646 + 1  # CBC reads 0 as "seed from the clock"
    started = time.perf_counter()
    # CBC reads and writes files; a private folder makes sure none is left behind, even
    # when CBC fails half way.
    with tempfile.TemporaryDirectory(prefix="fairassign-cbc-") as folder, warnings.catch_warnings():
        # PuLP 3.3 announces that PULP_CBC_CMD moves out of PuLP 4.0; it is still PuLP's bundled CBC.
        warnings.simplefilter("ignore", DeprecationWarning)
        # No "threads": the bundled CBC runs single-threaded by default, and asking for one
        # thread made about 1 run in 10 of a 3 x 2 batch stall for 10 s past its time limit.
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=gap_rel, gapAbs=gap_abs,
                                   warmStart=warm_start,
                                   options=[f"randomSeed {cbc_seed}", f"randomCbcSeed {cbc_seed}"])
        solver.tmpDir = folder
        try:
            pulp_model.lp.solve(solver)
        except pulp.PulpSolverError as error:
            return _Phase("none", None, None, time.perf_counter() - started, False, f"CBC failed: {error}")
    seconds = time.perf_counter() - started
    lp = pulp_model.lp
    state: PhaseState
    if lp.sol_status == pulp.LpSolutionOptimal:
        state = "optimal"
    elif lp.sol_status == pulp.LpSolutionIntegerFeasible:
        state = "feasible"
    elif lp.status == pulp.LpStatusInfeasible:
        state = "infeasible"
    else:
        state = "none"
    hit_limit = time_limit is not None and state in ("feasible", "none")
    chosen = pulp_model.values() >= 1.0 - CHOSEN_TOLERANCE if state in ("optimal", "feasible") else None
    return _Phase(state, chosen, None, seconds, hit_limit, pulp.LpStatus.get(lp.status, str(lp.status)))


# ----------------------------------------------------------------------------- solver
@register
class MipSolver(Solver):
    """Exact backend: the linear model as a MIP through PuLP (HiGHS when available, else CBC).

    Parameters
    ----------
    backend : {"auto", "highs", "cbc"}
        ``"auto"`` (what ``fa.solve(..., solver="mip")`` uses): HiGHS when highspy is
        importable, else CBC. ``"highs"`` needs highspy.

    See the module docstring for the model, the phases, the tolerances and the bound.
    """

    name: ClassVar[str] = "mip"
    exact: ClassVar[bool] = True
    requires: ClassVar[tuple[str, ...]] = ("pulp",)

    def __init__(self, backend: Backend = "auto") -> None:
        if backend not in BACKENDS:
            raise ValidationError(f"MipSolver.backend must be one of {BACKENDS}, got {backend!r}")
        self.backend: Backend = backend

    def resolved_backend(self) -> Literal["highs", "cbc"]:
        """The MIP solver this instance runs: ``"highs"`` or ``"cbc"``.

        Raises
        ------
        MissingDependencyError
            ``backend="highs"`` without highspy installed.
        """
        has_highs = importlib.util.find_spec("highspy") is not None
        if self.backend == "highs" and not has_highs:
            raise MissingDependencyError(
                "MipSolver(backend='highs') needs highspy; install it with pip install 'fairassign[highs]'"
            )
        if self.backend == "cbc" or not has_highs:
            return "cbc"
        return "highs"

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        started = time.perf_counter()
        self.ensure_available()
        import pulp

        backend = self.resolved_backend()
        label = _BACKEND_LABEL[backend]
        unassigned = np.full(problem.n_leads, -1, dtype=np.int64)
        if rules.conflicts:  # e.g. a lead pinned to two reps: the linear model keeps only one pin
            return SolverOutput(rep_of=unassigned, status=Status.INFEASIBLE, diagnosis=rules.conflicts,
                                notes=(label,))
        model = build_linear_model(problem, rules)
        hopeless = _hopeless_rows(model)
        if hopeless:
            return SolverOutput(rep_of=unassigned, status=Status.INFEASIBLE,
                                diagnosis=("the MIP model's rules are infeasible before solving", *hopeless),
                                notes=(label,))
        if model.n_x == 0:
            # No pair may be chosen; every row holds at z = 0 (V = 0), or it was hopeless above.
            return SolverOutput(rep_of=unassigned, status=Status.OPTIMAL, bound=0.0,
                                notes=(label, "no pair may be chosen"))

        pulp_model = _PulpModel(pulp, model)
        build_seconds = time.perf_counter() - started
        deadline = None if request.time_limit is None else started + request.time_limit
        run = _highs_phase if backend == "highs" else _cbc_phase

        def remaining(share: float = 1.0) -> float | None:
            if deadline is None:
                return None
            return max(deadline - time.perf_counter(), 0.0) * share

        def phase(minus_objective: Any, gap_rel: float, gap_abs: float, limit: float | None,
                  start: NDArray[np.bool_] | None) -> _Phase:
            if limit is not None:
                limit = max(limit, _MIN_PHASE_SECONDS)
            pulp_model.lp.setObjective(minus_objective)
            pulp_model.set_start(None if start is None else _full_point(problem, model, start))
            outcome = run(pulp_model, gap_rel=gap_rel, gap_abs=gap_abs, time_limit=limit, seed=request.seed,
                          warm_start=start is not None)
            if outcome.chosen is not None:
                broken = _broken_row(problem, model, outcome.chosen, pulp_model.floor)
                if broken is not None:  # never pass on an assignment the rows reject
                    return _Phase("none", None, outcome.dual_bound, outcome.seconds, outcome.hit_limit,
                                  f"{outcome.message}; discarded a rounded solution ({broken})",
                                  outcome.transfer_seconds)
            return outcome

        hint = self._start_from_hint(problem, model, request.hint)
        notes = [label]
        two_phase = request.objective == "lexicographic" and not bool(rules.must_assign.all())
        first: _Phase | None = None
        start = hint
        if two_phase:
            notes.append("lexicographic in two phases (count, then score)")
            first = phase(pulp_model.minus_count, 0.0, COUNT_ABS_GAP, remaining(0.5), hint)
            if first.state == "infeasible":
                return self._infeasible(unassigned, label, notes)
            if first.chosen is not None:
                pulp_model.add_count_floor(int(first.chosen.sum()))
                start = first.chosen
            else:
                notes.append("phase 1 found nothing in its half of the time; phase 2 ran without a count floor")
        elif request.objective == "lexicographic":
            notes.append("every lead must be assigned, so one score phase")

        # CBC proves no bound that PuLP can read, so with a time limit the LP relaxation (over
        # the same count floor) is solved first, inside the time budget: afterwards it could
        # only overrun the limit.
        relaxation_bound: float | None = None
        if backend == "cbc" and deadline is not None:
            relaxation = solve_lp(model, model.score, min_assigned=pulp_model.floor,
                                  time_limit=max(remaining(0.5) or 0.0, _MIN_PHASE_SECONDS))
            relaxation_bound = relaxation.value if relaxation.status == "optimal" else None

        # The score phase always runs, if only briefly: with a warm start it costs little
        # and may improve on it.
        second = phase(pulp_model.minus_score, SCORE_GAP, SCORE_GAP, remaining(), start)
        phases = [p for p in (first, second) if p is not None]
        transfer = sum(p.transfer_seconds for p in phases)
        solving = sum(p.seconds for p in phases) - transfer
        copied = f", copied into HiGHS in {transfer:.2f} s" if backend == "highs" else ""
        what = "solver ran" if backend == "highs" else "CBC ran (MPS file included)"
        notes.append(f"PuLP model built in {build_seconds:.2f} s{copied}, {what} {solving:.2f} s")
        if any(p.hit_limit for p in phases):
            notes.append("time limit reached")

        if second.state == "infeasible" and (first is None or first.chosen is None):
            return self._infeasible(unassigned, label, notes)
        candidates = [(source, p.chosen) for source, p in (("score phase", second), ("count phase", first))
                      if p is not None and p.chosen is not None]
        if hint is not None and _broken_row(problem, model, hint, None) is None:
            candidates.append(("hint", hint))
        if not candidates:
            messages = "; ".join(p.message for p in phases if p.message)
            within = "" if request.time_limit is None else f" within the time limit of {request.time_limit:g} s"
            return SolverOutput(
                rep_of=unassigned, status=Status.NO_SOLUTION,
                diagnosis=(f"the MIP solver ({label}) found no feasible assignment{within} ({messages})",),
                notes=tuple(notes),
            )

        def rank(candidate: tuple[str, NDArray[np.bool_]]) -> tuple[int, float]:
            chosen = candidate[1]
            count = int(chosen.sum()) if request.objective == "lexicographic" else 0
            return count, float(model.score[: model.n_x][chosen].sum())

        source, chosen = max(candidates, key=rank)  # the first of equals: the score phase's
        if source != "score phase":
            notes.append(f"kept the {source}'s assignment: the score phase found nothing better")
        objective = float(model.score[: model.n_x][chosen].sum())
        n_assigned = int(chosen.sum())
        rep_of = model.rep_of(chosen.astype(np.float64), problem)
        count_proven = first is None or first.state == "optimal"
        score_proven = source == "score phase" and second.state == "optimal"
        if count_proven and score_proven:
            return SolverOutput(rep_of=rep_of, status=Status.OPTIMAL, bound=objective, notes=tuple(notes))

        # The score phase's bound covers every assignment with at least its floor of leads
        # (all of them without a floor), so it bounds the kept one when that has as many.
        covers = pulp_model.floor is None or n_assigned >= pulp_model.floor
        bound: float | None
        if score_proven:
            bound = objective  # optimal over its floor; only phase 1's count is unproven
        elif second.dual_bound is not None and covers:
            bound = second.dual_bound
            notes.append("bound: HiGHS's dual bound")
        elif relaxation_bound is not None and covers:
            bound = relaxation_bound
            notes.append("bound: LP relaxation")
        else:
            budget = max(remaining() or 0.0, _MIN_LP_SECONDS) if deadline is not None else None
            relaxation = solve_lp(model, model.score,
                                  min_assigned=n_assigned if request.objective == "lexicographic" else None,
                                  time_limit=budget)
            bound = relaxation.value if relaxation.status == "optimal" else None
            notes.append("bound: LP relaxation" if bound is not None else "no bound: the LP relaxation did not finish")
        return SolverOutput(rep_of=rep_of, status=Status.FEASIBLE, bound=bound, notes=tuple(notes))

    @staticmethod
    def _infeasible(unassigned: NDArray[np.int64], label: str, notes: list[str]) -> SolverOutput:
        return SolverOutput(rep_of=unassigned, status=Status.INFEASIBLE,
                            diagnosis=(f"the MIP solver ({label}) proved the rules infeasible: "
                                       "no assignment keeps every rule",),
                            notes=tuple(notes))

    @staticmethod
    def _start_from_hint(problem: Problem, model: LinearModel,
                         hint: NDArray[np.int64] | None) -> NDArray[np.bool_] | None:
        """The hint as a 0/1 choice of x variables; pairs the rules do not allow are dropped."""
        if hint is None:
            return None
        leads = np.flatnonzero(hint >= 0)
        pairs = problem.pair_index(leads, hint[leads])
        pairs = pairs[pairs >= 0]
        where = np.searchsorted(model.pairs, pairs)
        found = where < model.n_x
        found[found] = model.pairs[where[found]] == pairs[found]
        chosen = np.zeros(model.n_x, dtype=bool)
        chosen[where[found]] = True
        return chosen
