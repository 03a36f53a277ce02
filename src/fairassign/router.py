r"""The online router: one lead at a time, in arrival order, priced by duals learned from a sample.

A CRM webhook fires for each new lead and needs a rep now, not at the end of the day. The
:class:`Router` learns one price per rep and per binding rule from a sample batch
(yesterday's leads, say) by solving the LP relaxation of that sample with capacities scaled
to the sample's share of the day, then routes each lead greedily on price-adjusted scores:

.. math:: r^* = \arg\max_{r \text{ eligible, with room}} \;
          s_{ir} - e_i \, \alpha_r - \gamma_r - v_i \, \beta_r ,

where :math:`\alpha_r` prices rep r's capacity (per effort unit), :math:`\gamma_r` its
count band, and :math:`\beta_r` the value rows (value band, fair-share rows and the
total-value row) -- each the dual of its LP row. The lead stays unrouted (``-1``) when no
rep has room, or when the best adjusted score is below 0 (its capacity is worth more on
later leads), unless :class:`~fairassign.AssignAll` is given. This is the dual-price
algorithm of Devanur & Hayes (2009) and Agrawal, Wang & Ye (2014): under random arrival
order and a sample that is a fair slice of the day, it approaches the offline optimum.

What holds whatever the prices:

* capacity: a rep never receives more effort than its capacity (a hard check on the
  remaining room, before and after the argmax);
* :class:`~fairassign.CountBand` and :class:`~fairassign.ValueBand` upper sides: hard, the
  same way (remaining count and value room);
* eligibility: only reps with a finite score (and ``eligible`` True) are chosen.

What holds approximately (measured in ``benchmarks/online.py``): the lower sides of bands,
and :class:`~fairassign.FairShare`, pulled towards by a feedback price (and, with
``fair_guard=True``, an upper guard against the projected total value :math:`\hat V`); the
final total :math:`V` is unknown until the stream ends, so no online rule can promise it.

Prices refresh from recent traffic when ``refresh_every`` is set: every that many routed
leads, the LP is re-solved on the last ``window`` leads with the remaining capacity, band
room and fair-share offsets scaled to the window's share of the leads still expected. A
window's LP prices are noisy (a few leads per rep); ``refresh_weight`` blends them with the
prices in use, an exponential average over the refreshes. With ``refresh_scope="seen"`` the
LP covers the sample and every lead routed so far instead (re-solving).
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from .column_generation import ColumnGeneration
from .constraints import AssignAll, Constraint, CountBand, FairShare, Forbid, Pin, ValueBand
from .errors import ValidationError
from .linear import LinearModel, build_linear_model
from .over_time.history import period_received
from .problem import Problem, stack_leads
from .result import Result, Status
from .rules import Rules, bind

__all__ = ["Router", "RouterPrices", "RouterState"]

#: rows of routed leads kept per history chunk (allocated once per chunk, not per lead)
_CHUNK = 1024
#: relative slack on room checks, well inside the verifier's rtol of 1e-6
_ROOM_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class RouterPrices:
    r"""Per-rep prices the router subtracts from a lead's scores.

    Attributes
    ----------
    effort : float64 (n_reps,)
        :math:`\alpha_r`, per effort unit (capacity rows).
    count : float64 (n_reps,)
        :math:`\gamma_r`, per lead (count-band rows).
    value : float64 (n_reps,)
        :math:`\beta_r`, per unit of lead value (value band, fair-share and total-value rows).
    source : str
        ``"sample"``, ``"refresh"``, ``"manual"`` or ``"none"``.
    """

    effort: NDArray[np.float64]
    count: NDArray[np.float64]
    value: NDArray[np.float64]
    source: str


@dataclass(frozen=True, eq=False)
class RouterState:
    """A snapshot of the router.

    Attributes
    ----------
    n_routed : int
        Leads passed to :meth:`Router.route` (routed or not).
    n_assigned : int
        Leads that received a rep.
    rep_count, rep_effort, rep_value : float64 (n_reps,)
        Leads, effort and value each rep has received.
    remaining_capacity : float64 (n_reps,)
    projected_value : float
        :math:`\\hat V`, the total value the router expects to have routed at the end of the
        stream; the fair-share guard holds each rep under ``high_r * projected_value``.
    prices : RouterPrices
    n_refreshes : int
    notes : tuple of str
        What happened to price learning (an infeasible window LP relaxed, ...).
    fill_factor : float
        ``fair_prices="split"``: the fill controller's factor :math:`\\lambda` on the capacity
        prices at the last lead (above 1: capacity went faster than planned); 1 otherwise.
    """

    n_routed: int
    n_assigned: int
    rep_count: NDArray[np.float64]
    rep_effort: NDArray[np.float64]
    rep_value: NDArray[np.float64]
    remaining_capacity: NDArray[np.float64]
    projected_value: float
    prices: RouterPrices
    n_refreshes: int
    notes: tuple[str, ...]
    fill_factor: float = 1.0


def _scalar(name: str, given: Any, *, positive_or_zero: bool = True, at_most: float | None = None) -> float:
    expected = "a finite number >= 0" if at_most is None else f"a number from 0 to {at_most:g}"
    try:
        number = float(given)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be {expected}, got {given!r}") from None
    if not math.isfinite(number) or (positive_or_zero and number < 0) or (at_most is not None and number > at_most):
        raise ValidationError(f"{name} must be {expected}, got {given!r}")
    return number


def _positive_int(name: str, given: Any, *, allow_none: bool) -> int | None:
    if given is None and allow_none:
        return None
    if isinstance(given, bool) or not isinstance(given, int | np.integer) or given < 1:
        raise ValidationError(f"{name} must be an integer >= 1{' or None' if allow_none else ''}, got {given!r}")
    return int(given)


def _with_capacity(problem: Problem, capacity: NDArray[np.float64]) -> Problem:
    """The same candidate list with another capacity vector."""
    return problem if np.array_equal(problem.capacity, capacity) else stack_leads([problem], capacity)


@dataclass(frozen=True, eq=False)
class _Duals:
    prices: RouterPrices
    assigned_value: float  # value the LP assigns on its batch
    rep_effort: NDArray[np.float64]  # effort the LP gives each rep on its batch
    note: str | None


def _lp_duals(problem: Problem, rules: Rules, *, scale: float, used: NDArray[np.float64],
              count: NDArray[np.float64], value: NDArray[np.float64], source: str,
              fair_value: NDArray[np.float64] | None = None, fair_penalty: float | None = None,
              fair_margin: float = 0.0) -> _Duals | None:
    r"""Solve the LP relaxation of ``problem`` for the rest of the stream and read its row duals.

    ``problem`` is a slice of the stream worth ``scale`` of what is still to come; every right
    side is the room left (capacity minus ``used``, bands minus ``count``/``value``, fair
    shares with ``fair_value`` as an offset: the value routed so far, plus what each rep received
    earlier in the period for a period fair share; default ``value``) times ``scale``.
    With ``fair_penalty`` :math:`\rho` the fair-share rows are elastic (:func:`_elastic_fair`);
    ``fair_margin`` m narrows each fair share's tolerance t to :math:`t (1 - m)`.
    """
    if fair_margin > 0 and rules.fair:  # aim inside the band: leads routed whole scatter the shares around the aim
        rules = rules.fair_narrowed(fair_margin)
    model = build_linear_model(problem, rules, merge_fair=True)
    lower, upper = model.row_lower.copy(), model.row_upper.copy()
    capacity = problem.capacity
    kinds = model.row_kind

    def rows_of(kind: str) -> slice | None:
        return model.block(kind) if kind in kinds else None

    block = rows_of("capacity")
    if block is not None:
        reps = np.flatnonzero(np.isfinite(capacity))
        upper[block] = np.maximum(capacity[reps] - used[reps], 0.0) * scale
    for kind, low_all, high_all, so_far in (("count", rules.count_lower, rules.count_upper, count),
                                            ("value", rules.value_lower, rules.value_upper, value)):
        block = rows_of(kind)
        if block is None:
            continue
        reps = np.flatnonzero((low_all > 0) | np.isfinite(high_all))
        lower[block] = np.maximum(low_all[reps] - so_far[reps], 0.0) * scale
        upper[block] = np.maximum(high_all[reps] - so_far[reps], 0.0) * scale
    offset = value if fair_value is None else fair_value
    total_so_far = float(offset.sum())
    if rules.fair:
        high = np.min([fair.high for fair in rules.fair], axis=0)
        low = np.max([fair.low for fair in rules.fair], axis=0)
        upper[model.block("fair_high")] = (high * total_so_far - offset) * scale
        lower[model.block("fair_low")] = (low * total_so_far - offset) * scale

    note = None
    if rules.fair and fair_penalty is not None:
        model = _elastic_fair(model, fair_penalty)
    answer = _solve_lp(model, problem, lower, upper)
    if answer is None:
        # the rest of the stream cannot meet every lower side (or a rep is already past its
        # share): keep the upper sides, which x = 0 satisfies once the fair offsets are clipped
        note = f"{source} LP infeasible; priced without lower bounds"
        for kind in ("count", "value"):
            block = rows_of(kind)
            if block is not None:
                lower[block] = 0.0
        if rules.fair:
            lower[model.block("fair_low")] = -np.inf
            fair_high = model.block("fair_high")
            upper[fair_high] = np.maximum(upper[fair_high], 0.0)
        answer = _solve_lp(model, problem, lower, upper)
        if answer is None:
            return None
    x, duals = answer
    n_reps = problem.n_reps
    effort_price, count_price, value_price = np.zeros(n_reps), np.zeros(n_reps), np.zeros(n_reps)
    block = rows_of("capacity")
    if block is not None:
        effort_price[np.flatnonzero(np.isfinite(capacity))] = duals[block]
    for kind, low_all, high_all, target in (("count", rules.count_lower, rules.count_upper, count_price),
                                            ("value", rules.value_lower, rules.value_upper, value_price)):
        block = rows_of(kind)
        if block is not None:
            target[np.flatnonzero((low_all > 0) | np.isfinite(high_all))] += duals[block]
    if rules.fair:
        value_price += duals[model.block("fair_high")] + duals[model.block("fair_low")]
        value_price += duals[model.block("total")][0]
    pair_value = problem.value[problem.pair_lead[model.pairs]]
    assigned_value = float(pair_value @ x[: model.n_x])
    rep_effort = np.bincount(problem.pair_rep[model.pairs], weights=problem.pair_effort[model.pairs] * x[: model.n_x],
                             minlength=n_reps).astype(np.float64)
    prices = RouterPrices(effort=effort_price, count=count_price, value=value_price, source=source)
    return _Duals(prices=prices, assigned_value=assigned_value, rep_effort=rep_effort, note=note)


def _elastic_fair(model: LinearModel, penalty: float) -> LinearModel:
    r"""``model`` with a slack column on every fair-share row, each priced ``penalty`` per unit of value.

    A rep short of its share by :math:`s_r` (or past it) costs :math:`\rho s_r` score instead of
    making the LP infeasible, so the fair-share duals stay bounded by :math:`\rho` and every
    rep behind keeps a pull, however far behind.
    """
    high, low = model.block("fair_high"), model.block("fair_low")
    rows = np.concatenate([np.arange(high.start, high.stop), np.arange(low.start, low.stop)])
    signs = np.concatenate([np.full(high.stop - high.start, -1.0), np.ones(low.stop - low.start)])
    slack = sp.csr_array((signs, (rows, np.arange(rows.size))), shape=(model.matrix.shape[0], rows.size))
    return replace(model, n_vars=model.n_vars + rows.size,
                   matrix=sp.hstack([model.matrix, slack], format="csr"),
                   var_upper=np.concatenate([model.var_upper, np.full(rows.size, np.inf)]),
                   score=np.concatenate([model.score, np.full(rows.size, -penalty)]),
                   count=np.concatenate([model.count, np.zeros(rows.size)]))


def _solve_lp(model: LinearModel, problem: Problem, lower: NDArray[np.float64],
              upper: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    r"""Maximise the score over ``lower <= A z <= upper`` with HiGHS; return ``z`` and one dual per row.

    The dual :math:`y_k` of row k is the derivative of the optimal score with respect to
    that row's active bound (:math:`\ge 0` at an upper bound, :math:`\le 0` at a lower one), so
    a column's reduced cost is :math:`c_p - \sum_k y_k A_{kp}`. With ``highspy`` installed, by
    column generation (:mod:`fairassign.column_generation`: a sample of yesterday's 10,000 leads
    with a fair share, 460k pairs, takes seconds instead of minutes); else the full LP through scipy.
    """
    n_rows = model.matrix.shape[0]
    if model.n_vars == 0 or n_rows == 0:
        return np.zeros(model.n_vars), np.zeros(n_rows)
    if np.any(lower > upper + 1e-12):
        return None
    if importlib.util.find_spec("highspy") is None:
        return _linprog(model, lower, upper)
    engine = ColumnGeneration(model, model.score[: model.n_x], problem, row_lower=lower, row_upper=upper)
    answer = engine.solve()
    if answer.status != "optimal" or answer.x is None or answer.dual is None:
        return None
    return answer.x, answer.dual


def _linprog(model: LinearModel, lower: NDArray[np.float64],
             upper: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """:func:`_solve_lp` without highspy: the full LP through :func:`scipy.optimize.linprog`."""
    from scipy.optimize import linprog

    matrix = model.matrix
    n_rows = matrix.shape[0]
    equal = lower == upper
    # a lower side of 0 on a row without negative coefficients is implied by z >= 0
    coo = matrix.tocoo()
    nonnegative = np.ones(n_rows, dtype=bool)
    nonnegative[coo.row[coo.data < 0]] = False
    has_upper = np.isfinite(upper) & ~equal
    has_lower = np.isfinite(lower) & ~equal & ~((lower <= 0) & nonnegative)
    upper_rows, lower_rows, equal_rows = (np.flatnonzero(mask) for mask in (has_upper, has_lower, equal))
    a_ub = sp.vstack([matrix[upper_rows], -matrix[lower_rows]], format="csr")
    b_ub = np.concatenate([upper[upper_rows], -lower[lower_rows]])
    a_eq = matrix[equal_rows] if equal_rows.size else None
    b_eq = upper[equal_rows] if equal_rows.size else None
    answer = linprog(-model.score, A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if b_ub.size else None,
                     A_eq=a_eq, b_eq=b_eq, bounds=np.column_stack((np.zeros(model.n_vars), model.var_upper)),
                     method="highs-ds")
    if answer.status != 0:
        return None
    duals = np.zeros(n_rows)
    if a_ub.shape[0]:
        marginals = np.asarray(answer.ineqlin.marginals)
        # linprog minimises -score: its marginals are d(-score)/d(b) <= 0 on "<=" rows
        duals[upper_rows] -= marginals[: upper_rows.size]
        duals[lower_rows] += marginals[upper_rows.size:]
    if equal_rows.size:
        duals[equal_rows] -= np.asarray(answer.eqlin.marginals)
    return np.asarray(answer.x, dtype=np.float64), duals


class _History:
    """Every routed lead's candidate row, value and effort, for :meth:`Router.result` and refreshes.

    Dense rows go into preallocated chunks of ``_CHUNK`` rows (no allocation per lead);
    sparse rows are kept as their (reps, scores) arrays.
    """

    def __init__(self, n_reps: int) -> None:
        self.n_reps = n_reps
        self.chunks: list[NDArray[np.float64]] = []
        self.sparse: dict[int, tuple[NDArray[np.int64], NDArray[np.float64]]] = {}
        self.value: list[float] = []
        self.effort: list[float] = []
        self.rep_of: list[int] = []

    def dense_slot(self, position: int) -> NDArray[np.float64]:
        chunk, row = divmod(position, _CHUNK)
        if chunk == len(self.chunks):
            self.chunks.append(np.empty((_CHUNK, self.n_reps)))
        return self.chunks[chunk][row]

    def __len__(self) -> int:
        return len(self.rep_of)

    def triplets(self, start: int, stop: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """(lead, rep, score) of the finite entries of leads ``start:stop``, leads renumbered from 0."""
        leads, reps, scores = [], [], []
        position = start
        while position < stop:
            if position in self.sparse:
                rep_array, score_array = self.sparse[position]
                keep = np.isfinite(score_array)
                leads.append(np.full(int(keep.sum()), position - start, np.int64))
                reps.append(rep_array[keep])
                scores.append(score_array[keep])
                position += 1
                continue
            chunk, row = divmod(position, _CHUNK)
            # a run of dense rows inside one chunk at once
            run_stop = min(stop, (chunk + 1) * _CHUNK)
            run = [p for p in range(position, run_stop) if p in self.sparse]
            run_stop = run[0] if run else run_stop
            block = self.chunks[chunk][row: row + run_stop - position]
            lead_in, rep_in = np.nonzero(np.isfinite(block))
            leads.append(lead_in.astype(np.int64) + position - start)
            reps.append(rep_in.astype(np.int64))
            scores.append(block[lead_in, rep_in])
            position = run_stop
        if not leads:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(leads), np.concatenate(reps), np.concatenate(scores)

    def problem(self, start: int, stop: int, capacity: NDArray[np.float64], rep_ids: NDArray[Any]) -> Problem:
        leads, reps, scores = self.triplets(start, stop)
        score = sp.csr_array((scores, (leads, reps)), shape=(stop - start, self.n_reps))
        effort = np.asarray(self.effort[start:stop], dtype=np.float64)
        return Problem(score=score, capacity=capacity, effort=effort,
                       value=np.asarray(self.value[start:stop], dtype=np.float64), rep_ids=rep_ids)


class Router:
    r"""Route leads one at a time with dual prices learned from a sample batch.

    Parameters
    ----------
    sample_problem : Problem
        A batch like the stream to come (yesterday's leads, say). Its capacities are the
        stream's (the whole day's) unless ``capacity`` is given; its rep order is the one
        every ``score_row`` uses.
    constraints : iterable of Constraint
        :class:`CountBand`, :class:`ValueBand`, :class:`FairShare`, and :class:`AssignAll`
        (route every lead that fits, prices then only choose the rep). :class:`Pin` and
        :class:`Forbid` name sample leads and do not apply to a stream; pass ``eligible`` to
        :meth:`route` instead. A :class:`FairShare` with ``received`` (value each rep received
        earlier in the period) is held over the period: every fair-share controller, and the
        LP's fair-share rows, count :math:`V_r + P_r` against :math:`V + P`, so a rep behind
        after earlier days is pulled up today (:meth:`result` verifies the period rule).
    seed : int
        Seeds the tie-breaking jitter (below ``1e-9`` of the typical score), so reps with
        equal adjusted scores do not always lose to the lowest index; same seed, same routes.
    expected_leads : int, optional
        Leads the stream will bring (the day's volume); default the sample's size. The
        sample LP runs with capacities scaled by ``n_sample / expected_leads``.
    refresh_every : int, optional
        Re-solve the prices every that many routed leads on the last ``window`` leads with
        the remaining room (see the module docstring). None (default): sample prices only.
    window : int, optional
        Leads in the refresh window; default the sample size.
    refresh_scope : {"window", "seen"}
        What a refresh's LP covers. "window" (default): the last ``window`` routed leads.
        "seen": the sample and every lead routed so far, the re-solving policy of network
        revenue management (each refresh re-plans the rest of the stream with every lead seen
        as its estimate); slower refreshes (the LP grows through the day), steadier prices.
    refresh_weight : float
        Weight w in (0, 1] of a refresh's LP prices: the prices become
        :math:`w\,p_{LP} + (1 - w)\,p_{in use}`, an exponential average that damps the noise
        of a small window (1 replaces the prices). Default 0.5: on the 10k x 200 benchmark
        stream it routed more score than 1 in the feedback and lp modes (docs/router.md).
    capacity : array_like (n_reps,), optional
        Capacity for the stream, when it differs from the sample problem's.
    fair_guard : bool
        Refuse a rep a lead that would take it above ``high_r`` times the projected total
        value (only with :class:`FairShare`; with "track" the projection is updated per lead;
        default False: measured, it cost score and did not make the share hold). The final
        total differs from the projection, so this does not guarantee the final share.
    fair_prices : {"feedback", "track", "lp"}
        "feedback" (default): the LP prices capacity and bands; fair shares are held by a
        term :math:`v_i \kappa (V_r - w_r V_{now}) / (w_r \hat V)` charged to reps ahead of
        their share. "track": a controller on each rep's projected end-of-stream value,
        capacity-aware (see :meth:`_tracking`): a rep heading below its share pays for
        cheap leads that would use up its room, one heading above pays for valuable ones,
        and a lead large against a rep's target is dear for that rep. With a high gain it
        holds the share, at a large score cost on heavy-tailed values (docs/router.md).
        "lp": the LP's fair-share duals instead, its fair-share rows elastic (a unit of value
        outside the band costs ``fair_gain`` typical units of score), so a rep further behind
        than the rest of the stream can make up still gets a pull; with ``fair_margin`` and
        frequent refreshes this mode holds a period fair share (docs/router.md).
    fair_gain : float
        :math:`\kappa` of the feedback or tracking term (default 2); in "lp" mode the price
        of a unit of value outside the band, in units of the sample's median score per median
        value (0: hard fair-share rows, dropped when the LP cannot meet them).
    fair_margin : float
        From 0 (default) to 1: the LP prices fair shares with the tolerance narrowed to
        :math:`t (1 - m)`, aiming inside the band, as leads routed whole scatter the shares
        around the aim ("lp" mode only).

    Examples
    --------
    >>> import numpy as np
    >>> import fairassign as fa
    >>> from fairassign.router import Router
    >>> sample = fa.Problem(score=[[3.0, 1.0], [2.0, 1.5], [1.0, 1.2], [2.5, 0.5]], capacity=[2, 2])
    >>> router = Router(sample, expected_leads=4)
    >>> [router.route(np.array(row)) for row in ([3.0, 1.0], [1.0, 1.2], [2.0, 1.5], [2.5, 0.5])]
    [0, 1, 1, 0]
    >>> router.route(np.array([1.0, 1.0]))  # both reps full
    -1
    >>> router.result().status.name
    'FEASIBLE'
    """

    def __init__(
        self,
        sample_problem: Problem,
        constraints: Iterable[Constraint] | Constraint = (),
        *,
        seed: int = 0,
        expected_leads: int | None = None,
        refresh_every: int | None = None,
        window: int | None = None,
        refresh_scope: str = "window",
        refresh_weight: float = 0.5,
        capacity: ArrayLike | None = None,
        fair_guard: bool = False,
        fair_prices: str = "feedback",
        fair_gain: float | None = None,
        fill_gain: float = 10.0,
        place_within: float = 0.1,
        fair_margin: float = 0.0,
    ) -> None:
        if not isinstance(sample_problem, Problem):
            raise ValidationError(f"sample_problem must be a fairassign.Problem, got {type(sample_problem).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValidationError(f"seed must be a non-negative integer, got {seed!r}")
        n_sample = sample_problem.n_leads
        self.expected_leads: int = _positive_int("expected_leads", expected_leads if expected_leads is not None
                                                 else max(n_sample, 1), allow_none=False) or 1
        self.refresh_every: int | None = _positive_int("refresh_every", refresh_every, allow_none=True)
        self.window: int = _positive_int("window", window if window is not None else max(n_sample, 1),
                                         allow_none=False) or 1
        if refresh_scope not in ("window", "seen"):
            raise ValidationError(f"refresh_scope must be 'window' or 'seen', got {refresh_scope!r}")
        self.refresh_scope: str = refresh_scope
        self.refresh_weight: float = _scalar("refresh_weight", refresh_weight, at_most=1.0)
        if self.refresh_weight <= 0:
            raise ValidationError(f"refresh_weight must be a number in (0, 1], got {refresh_weight!r}")
        n_reps = sample_problem.n_reps
        if capacity is None:
            stream_capacity = np.array(sample_problem.capacity, dtype=np.float64)
        else:
            try:
                stream_capacity = np.array(capacity, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValidationError(f"capacity must be numeric, got {capacity!r}") from None
            if stream_capacity.shape != (n_reps,) or np.isnan(stream_capacity).any() or (stream_capacity < 0).any():
                raise ValidationError(
                    f"capacity must hold one number >= 0 (or inf) per rep (n_reps={n_reps}), "
                    f"got shape {stream_capacity.shape}"
                )
        if isinstance(constraints, Constraint):
            constraints = (constraints,)
        given = tuple(constraints)
        for constraint in given:
            if isinstance(constraint, Pin | Forbid):
                raise ValidationError(
                    f"constraints: {type(constraint).__name__} names leads of the sample and cannot apply to a "
                    "stream; pass eligible=... to route() for the leads it concerns"
                )
            if not isinstance(constraint, AssignAll | CountBand | ValueBand | FairShare):
                raise ValidationError(
                    f"constraints must hold AssignAll, CountBand, ValueBand or FairShare rules, got {constraint!r}"
                )
        self.constraints: tuple[Constraint, ...] = given
        received = period_received(given)  # a period fair share: value each rep received earlier
        self.n_reps: int = n_reps
        self.rep_ids: NDArray[Any] = sample_problem.rep_ids
        self.capacity: NDArray[np.float64] = stream_capacity
        self.capacity.flags.writeable = False
        self._sample = _with_capacity(sample_problem, stream_capacity)
        self._lp_constraints = tuple(c for c in given if not isinstance(c, AssignAll))
        self._rules = bind(self._sample, self._lp_constraints)
        self._assign_all = any(isinstance(c, AssignAll) for c in given)
        self._fair_guard = bool(fair_guard) and bool(self._rules.fair) and fair_prices not in ("track", "split")
        self._fair_high = (np.min([fair.high for fair in self._rules.fair], axis=0) if self._rules.fair
                           else np.full(n_reps, np.inf))
        if fair_prices not in ("track", "feedback", "lp", "split"):
            raise ValidationError(f"fair_prices must be 'track', 'feedback', 'lp' or 'split', got {fair_prices!r}")
        if fair_gain is None:
            fair_gain = 50.0 if fair_prices == "split" else 2.0
        self._fair_gain = _scalar("fair_gain", fair_gain)
        self.fair_prices: str = fair_prices
        # "split": accept on prices corrected by the fill controller, then place for the fair share
        self._split = fair_prices == "split"
        self._fill_gain = _scalar("fill_gain", fill_gain)
        self._place_within = _scalar("place_within", place_within)
        self._fill_factor = 1.0
        self._plan_start = 0  # the fill plan: from (lead _plan_start, effort _plan_used) at _plan_rate per lead
        self._plan_used = 0.0
        self._plan_rate = 0.0
        self._plan_norm = 0.0
        self._place_key = np.empty(n_reps)
        self._delta = np.empty(n_reps)
        self._binds = np.empty(n_reps, dtype=bool)
        self._feedback = fair_prices == "feedback" and bool(self._rules.fair) and self._fair_gain > 0
        self._track = fair_prices == "track" and bool(self._rules.fair) and self._fair_gain > 0
        self._place_fair = self._split and bool(self._rules.fair) and self._fair_gain > 0
        # the fair-share target of each rep: the tightest share over the FairShare rules' midpoints
        self._share = (np.mean([fair.share for fair in self._rules.fair], axis=0) if self._rules.fair
                       else np.zeros(n_reps))
        self._feedback_scale = np.zeros(n_reps)
        self._total_value = 0.0
        self._total_effort = 0.0
        self._total_effort_finite = 0.0  # effort on reps with a finite capacity, for the fill plan
        self._effort_seen = 0.0  # effort of every lead routed, taken or not
        self._finite_capacity = np.isfinite(stream_capacity)
        self._rate_total = 0.0
        # tracking controller: per-lead effort rate each rep is expected to receive, value per effort unit
        with np.errstate(divide="ignore"):
            self._inv_share = np.where(self._share > 0, 1.0 / np.where(self._share > 0, self._share, 1.0), 1e6)
        self._rate = np.zeros(n_reps)
        self._unit_value = 0.0
        self._future = np.empty(n_reps)
        self._guard = np.empty(n_reps)
        self._fair = np.zeros(n_reps)
        self._guard_mask = np.zeros(n_reps, dtype=bool)
        self._track_guard = self._track and bool(fair_guard)
        self._fair_in_lp = fair_prices == "lp"
        if fair_prices != "lp":
            # the LP prices capacity and bands; fair shares are held by the feedback term instead
            self._lp_rules = bind(self._sample, tuple(c for c in self._lp_constraints if not isinstance(c, FairShare)))
        else:
            self._lp_rules = self._rules

        rng = np.random.default_rng(int(seed))
        scores = np.abs(sample_problem.pair_score)
        typical = float(np.median(scores)) if scores.size else 1.0
        self._jitter = rng.random(n_reps) * 1e-9 * max(typical, 1e-300)
        # "split" placement: the fair-share cost is in value units, the score in its own; one ratio converts
        values = np.abs(sample_problem.value[sample_problem.pair_lead]) if scores.size else np.zeros(0)
        typical_value = float(np.median(values)) if values.size else 0.0
        self._score_per_value = typical / typical_value if typical_value > 0 and typical > 0 else 1.0
        # "lp": elastic fair-share rows, a unit of value outside the (narrowed) band costs
        # fair_gain typical units of score per unit of value
        self._fair_penalty = (self._fair_gain * self._score_per_value if self._fair_in_lp and self._fair_gain > 0
                              else None)  # gain 0: hard rows
        self._fair_margin = _scalar("fair_margin", fair_margin, at_most=1.0)

        # running state: scalars change per lead, never whole vectors
        self._used = np.zeros(n_reps)
        self._count = np.zeros(n_reps)
        self._value = np.zeros(n_reps)
        # the fair-share controllers read V_r + P_r and V + P: P_r, what rep r received earlier in
        # the period under a period FairShare (``received``), else 0; V_r, V today's value.
        # V_r + P_r is kept per rep (the hot path reads it whole); V + P is _fair_total()
        self._fair_value = np.zeros(n_reps) if received is None else np.array(received, dtype=np.float64)
        self._prior_total = float(self._fair_value.sum())
        tolerance = _ROOM_RTOL * np.maximum(np.where(np.isfinite(stream_capacity), stream_capacity, 1.0), 1.0)
        self._room_effort = stream_capacity + tolerance
        self._room_count = np.asarray(self._rules.count_upper, dtype=np.float64) + 1e-9
        self._value_upper = np.asarray(self._rules.value_upper, dtype=np.float64)
        self._check_count = bool(np.isfinite(self._room_count).any())
        self._check_value = bool(np.isfinite(self._value_upper).any()) or self._fair_guard
        self._room_value = np.full(n_reps, np.inf)
        self._projected_value = math.inf

        # hot-path buffers
        self._buffer = np.empty(n_reps)
        self._scratch = np.empty(n_reps)
        self._mask = np.empty(n_reps, dtype=bool)
        self._mask_other = np.empty(n_reps, dtype=bool)
        self._history = _History(n_reps)
        self._n_assigned = 0
        self._n_refreshes = 0
        self._notes: list[str] = []

        scale = n_sample / self.expected_leads
        duals = _lp_duals(self._sample, self._lp_rules, scale=scale, used=self._used, count=self._count,
                          value=self._value, source="sample", fair_value=self._fair_value,
                          fair_penalty=self._fair_penalty, fair_margin=self._fair_margin) if n_sample else None
        if duals is None:
            self._notes.append("sample LP not solved; routing on raw scores" if n_sample else
                               "empty sample; routing on raw scores")
            zeros = np.zeros(n_reps)
            self._set_prices(RouterPrices(zeros, zeros.copy(), zeros.copy(), "none"), math.inf)
        else:
            if duals.note:
                self._notes.append(duals.note)
            self._set_prices(duals.prices, duals.assigned_value / scale)
            self._set_flow(duals, scale, self.expected_leads)
            self._set_plan(duals, scale, 0)

    # ----------------------------------------------------------------- prices
    def _set_prices(self, prices: RouterPrices, projected_value: float) -> None:
        self._prices = prices
        self._price_effort = np.ascontiguousarray(prices.effort, dtype=np.float64)
        self._price_value = np.ascontiguousarray(prices.value, dtype=np.float64)
        # the count price and the tie-breaking jitter are both per-rep constants: one vector
        self._price_const = np.ascontiguousarray(prices.count, dtype=np.float64) + self._jitter
        self._has_value_price = bool(np.any(self._price_value != 0))
        self._extreme_prices = not all(bool(np.all(np.abs(vector) < 1e100)) for vector in
                                       (self._price_effort, self._price_value, self._price_const))
        self._projected_value = projected_value
        if self._feedback:
            target = (self._share * (projected_value + self._prior_total) if math.isfinite(projected_value)
                      else np.zeros(self.n_reps))
            with np.errstate(divide="ignore"):
                self._feedback_scale = np.where(target > 0, self._fair_gain / np.where(target > 0, target, 1.0),
                                                self._fair_gain * 1e6)
        self._update_value_room()

    def _set_flow(self, duals: _Duals, scale: float, remaining: int) -> None:
        """What the LP expects the rest of the stream to bring each rep, for the tracking controller."""
        future_effort = duals.rep_effort / scale  # over the ``remaining`` leads still expected
        total = float(future_effort.sum())
        if total > 0 and duals.assigned_value > 0:
            self._rate = future_effort / max(remaining, 1)
            if not self._rate_total:
                self._rate_total = float(self._rate.sum())
            self._unit_value = duals.assigned_value / float(duals.rep_effort.sum())

    def _set_plan(self, duals: _Duals, scale: float, start: int) -> None:
        r"""The fill plan of the "split" mode: the effort the LP expects the rest of the stream to use, spread evenly.

        From lead ``start`` on, the router should have used
        :math:`U(n) = U_0 + (n - n_0)\,E / (N - n_0)` effort units after n leads, where E is the
        LP's effort on its batch over ``scale`` (capped by the finite room left) and N the
        expected leads.
        """
        finite = np.isfinite(self.capacity)
        room = float(np.maximum(self.capacity[finite] - self._used[finite], 0.0).sum())
        planned = float(duals.rep_effort[finite].sum()) / scale
        planned = min(planned, room)
        self._plan_start = start
        self._plan_used = float(self._used[finite].sum())
        self._plan_rate = planned / max(self.expected_leads - start, 1)
        self._plan_norm = max(self._plan_used + planned, 1e-12)

    def _fill_control(self) -> float:
        r"""The factor :math:`\lambda` on the capacity prices: above 1 when capacity goes faster than planned.

        .. math:: \lambda = \exp\bigl(g \, (U - U(n)) / U_{end}\bigr),

        with U the effort used so far, U(n) the plan (:meth:`_set_plan`), :math:`U_{end}` the
        effort the plan uses by the end of the stream and g = ``fill_gain``: capacity used 5% of
        the day's planned effort ahead of plan multiplies the prices by :math:`e^{0.05 g}` (1.65
        at g = 10), 5% behind divides them by as much, so capacity runs out with the stream.
        """
        if not self._fill_gain or not self._plan_rate:
            return 1.0
        planned = self._plan_used + self._plan_rate * (len(self._history) - self._plan_start)
        error = (self._total_effort_finite - planned) / self._plan_norm
        return math.exp(max(min(self._fill_gain * error, 50.0), -50.0))

    def _update_value_room(self) -> None:
        room = self._value_upper - self._value
        if self._fair_guard and math.isfinite(self._projected_value):
            room = np.minimum(room, self._fair_high * (self._projected_value + self._prior_total) - self._fair_value)
        self._room_value = room + _ROOM_RTOL * np.maximum(np.abs(np.where(np.isfinite(room), room, 0.0)), 1.0)

    def _fair_total(self) -> float:
        """V + P: the value routed today plus what every rep received earlier in the period."""
        return self._total_value + self._prior_total

    @property
    def prices(self) -> RouterPrices:
        """The prices in use."""
        return self._prices

    def set_prices(self, effort: ArrayLike | None = None, count: ArrayLike | None = None,
                   value: ArrayLike | None = None) -> None:
        """Replace the prices (each a per-rep array; None keeps the current one).

        Capacity and the hard band checks hold whatever the prices; any number but NaN is
        accepted, ``inf`` included.
        """
        current = self._prices
        arrays = []
        for name, given, old in (("effort", effort, current.effort), ("count", count, current.count),
                                 ("value", value, current.value)):
            if given is None:
                arrays.append(old)
                continue
            array = np.array(given, dtype=np.float64)
            if array.shape != (self.n_reps,) or np.isnan(array).any():
                raise ValidationError(
                    f"{name} prices must be one non-NaN number per rep (n_reps={self.n_reps}), "
                    f"got shape {array.shape}"
                )
            arrays.append(array)
        self._set_prices(RouterPrices(arrays[0], arrays[1], arrays[2], "manual"), self._projected_value)

    def refresh(self) -> bool:
        """Re-solve the prices on the last ``window`` routed leads (``refresh_scope="seen"``: on the
        sample and every routed lead) with the room left.

        Returns True when new prices were set. Called by :meth:`route` every
        ``refresh_every`` leads; call it yourself to refresh off the request path.
        """
        stop = len(self._history)
        start = 0 if self.refresh_scope == "seen" else max(0, stop - self.window)
        if stop - start < 1:
            return False
        window = self._history.problem(start, stop, self.capacity, self.rep_ids)
        if self.refresh_scope == "seen":
            window = stack_leads([self._sample, window], self.capacity)
        remaining = max(self.expected_leads - stop, 1)
        scale = window.n_leads / remaining
        rules = bind(window, self._lp_constraints if self._fair_in_lp else
                     tuple(c for c in self._lp_constraints if not isinstance(c, FairShare)))
        duals = _lp_duals(window, rules, scale=scale, used=self._used, count=self._count, value=self._value,
                          source="refresh", fair_value=self._fair_value,
                          fair_penalty=self._fair_penalty, fair_margin=self._fair_margin)
        self._n_refreshes += 1
        if duals is None:
            self._notes.append(f"refresh at lead {stop}: LP not solved, prices kept")
            return False
        if duals.note:
            self._notes.append(f"{duals.note} (at lead {stop})")
        # the tracking controller keeps the sample's flow rates: measured, re-estimating them from
        # each window made its projection jump at every refresh and the shares drift
        self._set_prices(self._blend(duals.prices), float(self._value.sum()) + duals.assigned_value / scale)
        if self._split:
            self._set_plan(duals, scale, stop)
        return True

    def _blend(self, fresh: RouterPrices) -> RouterPrices:
        """``refresh_weight`` times ``fresh`` plus the rest times the prices in use (where those are finite)."""
        weight, current = self.refresh_weight, self._prices
        if weight >= 1.0 or current.source == "none":  # nothing learned yet to average with
            return fresh
        blended = [np.where(np.isfinite(old), weight * new + (1.0 - weight) * old, new)
                   for new, old in ((fresh.effort, current.effort), (fresh.count, current.count),
                                    (fresh.value, current.value))]
        return RouterPrices(blended[0], blended[1], blended[2], fresh.source)

    # ----------------------------------------------------------------- routing
    def route(self, score_row: ArrayLike | tuple[ArrayLike, ArrayLike], value: float = 1.0, effort: float = 1.0,
              eligible: ArrayLike | None = None) -> int:
        r"""Choose a rep for one lead and record it; the rep's position, or -1.

        Parameters
        ----------
        score_row : float array (n_reps,), or a tuple ``(reps, scores)``
            Dense: the lead's score for every rep, NaN or ``-inf`` where not eligible.
            Sparse (wide teams): the positions of the candidate reps and their scores.
        value : float
            Lead value (for bands and fair shares), finite and ``>= 0``.
        effort : float
            Capacity the lead uses, finite and ``>= 0``.
        eligible : bool array (n_reps,), optional
            Dense form only: False removes a rep for this lead.

        Returns
        -------
        int
            The rep with the highest price-adjusted score among eligible reps with room for
            the lead (lowest jittered index on ties), or -1 when none has room, or when the best
            adjusted score is below 0 and no :class:`AssignAll` is given.
        """
        if type(value) is not float or not (value >= 0.0 and value != math.inf):
            value = _scalar("value", value)
        if type(effort) is not float or not (effort >= 0.0 and effort != math.inf):
            effort = _scalar("effort", effort)
        if self._extreme_prices:  # inf * 0 and overflow are expected there and masked as closed
            with np.errstate(all="ignore"):
                return self._route(score_row, value, effort, eligible)
        return self._route(score_row, value, effort, eligible)

    def _route(self, score_row: Any, value: float, effort: float, eligible: Any) -> int:
        if isinstance(score_row, tuple):
            if eligible is not None:
                raise ValidationError("eligible applies to a dense score_row; with (reps, scores) leave out "
                                      "the reps that are not eligible")
            rep = self._route_sparse(score_row, value, effort)
        else:
            rep = self._route_dense(score_row, value, effort, eligible)
        if rep >= 0:
            self._used[rep] += effort
            self._room_effort[rep] -= effort
            self._count[rep] += 1.0
            self._room_count[rep] -= 1.0
            self._value[rep] += value
            self._room_value[rep] -= value
            self._total_value += value
            self._fair_value[rep] += value
            self._total_effort += effort
            if self._finite_capacity[rep]:
                self._total_effort_finite += effort
            self._n_assigned += 1
        self._effort_seen += effort
        history = self._history
        history.value.append(value)
        history.effort.append(effort)
        history.rep_of.append(rep)
        if self.refresh_every is not None and len(history) % self.refresh_every == 0:
            self.refresh()
        return rep

    def _route_dense(self, score_row: Any, value: float, effort: float, eligible: Any) -> int:
        n_reps = self.n_reps
        if type(score_row) is not np.ndarray or score_row.dtype != np.float64 or score_row.shape != (n_reps,):
            try:
                score_row = np.asarray(score_row, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValidationError(f"score_row must be numeric, got {type(score_row).__name__}") from None
            if score_row.shape != (n_reps,):
                raise ValidationError(
                    f"score_row must have one entry per rep (n_reps={n_reps}), got shape {score_row.shape}"
                )
        buffer, scratch, mask = self._buffer, self._scratch, self._mask
        # buffer = e * alpha + gamma (+ v * beta), then adjusted = score - buffer
        np.multiply(self._price_effort, effort, out=buffer)
        buffer += self._price_const
        if self._split:
            # the accept threshold moves with the fill rate: prices times lambda
            self._fill_factor = self._fill_control()
            buffer *= self._fill_factor
        if self._has_value_price:
            np.multiply(self._price_value, value, out=scratch)
            buffer += scratch
        if self._feedback:
            # v * gain * (V_r - share_r V_now) / (share_r V_hat): a rep ahead of its share pays
            # (V_r + P_r and V_now + P over a period)
            np.multiply(self._share, -self._fair_total(), out=scratch)
            scratch += self._fair_value
            scratch *= self._feedback_scale
            scratch *= value
            buffer += scratch
        tracked = self._track and self._tracking(self._fair, value, effort)
        np.subtract(score_row, buffer, out=buffer)
        # closed: no room, not eligible, NaN (NaN score, or inf - inf from extreme prices)
        np.less(self._room_effort, effort, out=mask)
        if self._check_count:
            np.logical_or(mask, np.less(self._room_count, 1.0, out=self._mask_other), out=mask)
        if self._check_value:
            np.logical_or(mask, np.less(self._room_value, value, out=self._mask_other), out=mask)
        if eligible is not None:
            eligible = self._eligible(eligible)
            np.logical_or(mask, np.logical_not(eligible, out=self._mask_other), out=mask)
        if tracked:
            buffer -= self._fair
            if self._track_guard:
                np.logical_or(mask, self._guard_mask, out=mask)
        np.logical_or(mask, np.isneginf(score_row, out=self._mask_other), out=mask)
        np.logical_or(mask, np.isnan(buffer, out=self._mask_other), out=mask)
        np.copyto(buffer, -np.inf, where=mask)
        best = int(np.argmax(buffer))
        top = buffer[best]
        if top == -np.inf:
            rep = self._fallback_dense(score_row, mask) if self._assign_all else -1
        elif top < 0.0 and not self._assign_all:
            rep = -1
        elif self._place_fair:
            rep = self._place(score_row, buffer, mask if top < 0.0 else None, value, effort, best)
        else:
            rep = best
        if rep >= 0:
            if score_row[rep] == np.inf:
                raise ValidationError(f"score_row must not hold +inf; found at rep {rep}")
            if not self._fits(rep, value, effort):  # pragma: no cover - the mask already excludes it
                rep = -1
        slot = self._history.dense_slot(len(self._history))
        np.copyto(slot, score_row)
        if eligible is not None:
            np.copyto(slot, -np.inf, where=np.logical_not(eligible, out=self._mask_other))
        return rep

    def _place(self, score_row: NDArray[np.float64], adjusted: NDArray[np.float64], closed: NDArray[np.bool_] | None,
               value: float, effort: float, best: int) -> int:
        r"""The "split" mode's second step: the rep, among those that accept the lead, that keeps the shares best.

        ``adjusted`` holds the price-adjusted scores, ``-inf`` where closed; the candidates are
        the reps whose adjusted score is ``>= 0`` (or every open rep, ``closed`` False, when the
        lead is routed under :class:`AssignAll` at a loss). Among them the key is

        .. math:: s_{ir} - \kappa \, \rho \left( d_r\,\delta_i + \frac{\delta_i^2}{2 T_r} \right),

        the score minus the change of :math:`\tfrac{\kappa}{2}\sum_r T_r d_r^2` (the projected
        deviations of :meth:`_tracking`, capacity-aware) when r takes the lead, converted to score
        units by :math:`\rho` = median sample score / median sample value. With
        :math:`\kappa` = ``fair_gain`` large (default 50) the fairness term decides and the score
        only breaks near-ties: a rep heading below its share at the end, once its room is filled
        at the average accepted value, is the one to take a valuable lead, a rep with room to spare
        takes the cheap ones.
        """
        key = self._place_key
        if not self._split_cost(self._fair, value, effort):
            return best
        np.multiply(self._fair, -self._score_per_value, out=key)
        key += score_row
        key += self._jitter
        if closed is None:
            # candidates: reps within place_within of the best adjusted score (and >= 0)
            floor = max(adjusted[best] - self._place_within * abs(float(score_row[best])), 0.0)
            np.less(adjusted, floor, out=self._mask_other)
            np.copyto(key, -np.inf, where=self._mask_other)
        else:
            np.copyto(key, -np.inf, where=closed)
        np.copyto(key, -np.inf, where=np.isnan(key, out=self._mask_other))
        chosen = int(np.argmax(key))
        return chosen if key[chosen] > -np.inf else best

    def _split_cost(self, out: NDArray[np.float64], value: float, effort: float) -> bool:
        r"""Write into ``out`` each rep's fair-share cost of taking this lead, for the "split" placement.

        As :meth:`_tracking`, with two changes. Each rep expects its share of the projected future
        effort, :math:`F_r = \min(\text{room}_r, w_r F)` with :math:`F = \sum_r \min(\text{room}_r,
        \rho_r n_{left})` (placement moves leads off the LP's reps, so the LP's per-rep flow is no
        guide). And the lead's excess value is per rep: :math:`\delta_{ir} = v_i - e_i \bar u` where
        the room binds (:math:`\text{room}_r \le w_r S`, S the effort of every lead still to come:
        the lead takes the place of a later one),
        :math:`\delta_{ir} = v_i` where it does not (the lead adds to what r will receive anyway).
        The cost is :math:`\kappa (d_r \delta_{ir} + \delta_{ir}^2 / 2T_r)`.
        """
        future, scratch, delta, binds = self._future, self._scratch, self._delta, self._binds
        unit, left = self._expected_future()
        # room binds where the rep's share of the whole remaining supply (every lead still to come,
        # at the mean effort seen) exceeds it: a lead taken there displaces a later one
        routed = len(self._history)
        supply = left * (self._effort_seen / routed if routed else 1.0)
        np.multiply(self._share, supply, out=scratch)
        np.less_equal(self._room_effort, scratch, out=binds)
        np.multiply(self._share, float(future.sum()), out=future)
        np.minimum(future, self._room_effort, out=future)
        projected = self._fair_total() + unit * float(future.sum())
        if not projected > 0.0:
            return False
        # d_r = (V_r + u F_r) / (w_r V_hat) - 1
        np.multiply(future, unit, out=scratch)
        scratch += self._fair_value
        scratch *= self._inv_share
        scratch *= 1.0 / projected
        scratch -= 1.0
        np.multiply(binds, -effort * unit, out=delta)
        delta += value
        np.multiply(scratch, delta, out=out)
        np.multiply(delta, delta, out=scratch)
        scratch *= self._inv_share
        scratch *= 1.0 / (2.0 * projected)
        out += scratch
        out *= self._fair_gain
        return True

    def _expected_future(self) -> tuple[float, int]:
        r"""Fill ``self._future`` with :math:`F_r = \min(\text{room}_r, \rho_r n_{left})`; return
        :math:`\bar u`, the value per effort unit (the router's own once a tenth of the expected
        effort is routed, the LP's before), and :math:`n_{left}`."""
        unit = self._unit_value
        if self._total_effort > 0.0 and self._n_assigned >= 0.1 * self.expected_leads * self._rate_total:
            # the value per effort unit the router itself has been routing: its own selection, not the LP's
            unit = self._total_value / self._total_effort
        left = max(self.expected_leads - len(self._history), 0)
        np.multiply(self._rate, float(left), out=self._future)
        np.minimum(self._future, self._room_effort, out=self._future)
        return unit, left

    def _tracking(self, out: NDArray[np.float64], value: float, effort: float) -> bool:
        r"""Write into ``out`` each rep's fair-share cost for this lead; False when there is no projection yet.

        :math:`F_r = \min(\text{room}_r, \rho_r n_{left})` is the effort rep r is still expected to
        receive (:math:`\rho_r`: the LP's effort per lead for r), :math:`\bar u` the value per effort
        unit routed so far (the LP's until a tenth of the expected effort is routed),
        :math:`\hat V = V_{now} + \bar u \sum_r F_r` the projected total,
        :math:`T_r = w_r \hat V` the target and :math:`d_r = (V_r + \bar u F_r) / T_r - 1` the
        projected relative deviation (over a period, :math:`V_r + P_r` and :math:`\hat V + P`).
        Taking the lead changes r's projected value by

        .. math:: \delta_r = v_i + \bar u \left(\min(\text{room}_r - e_i, \rho_r n_{left}) - F_r\right):

        :math:`v_i - e_i \bar u` where the room binds (the lead takes the place of a later one),
        :math:`v_i` where it does not (it adds to what r will receive anyway). The cost is

        .. math:: \kappa \left( d_r \, \delta_r + \frac{\delta_r^2}{2 T_r} \right),

        the change of :math:`\tfrac{\kappa}{2} \sum_r T_r d_r^2` when r takes the lead: a rep
        heading above its share pays for valuable leads, one heading below and short of room pays
        for cheap leads (which would use up its room), and a lead large against a rep's target is
        dear for it.
        """
        future, scratch, delta = self._future, self._scratch, self._delta
        unit, left = self._expected_future()
        projected = self._fair_total() + unit * float(future.sum())
        if not projected > 0.0:
            return False
        if self._track_guard:
            # hard upper side against the projected total: V_r + v <= h_r V_hat
            np.multiply(self._fair_high, projected, out=self._guard)
            self._guard -= self._fair_value
            np.less(self._guard, value, out=self._guard_mask)
        # delta_r = v + u (min(room_r - e, rho_r n_left) - F_r)
        np.multiply(self._rate, float(left), out=delta)
        np.minimum(delta, self._room_effort - effort, out=delta)
        delta -= future
        delta *= unit
        delta += value
        # d_r = (V_r + u F_r) / (w_r V_hat) - 1
        np.multiply(future, unit, out=scratch)
        scratch += self._fair_value
        scratch *= self._inv_share
        scratch *= 1.0 / projected
        scratch -= 1.0
        gain = self._fair_gain
        np.multiply(scratch, delta, out=out)
        # + delta_r^2 / (2 w_r V_hat): a lead large against a rep's target is dear for that rep
        np.multiply(delta, delta, out=scratch)
        scratch *= self._inv_share
        scratch *= 1.0 / (2.0 * projected)
        out += scratch
        out *= gain
        return True

    def _fallback_dense(self, score_row: NDArray[np.float64], closed: NDArray[np.bool_]) -> int:
        """With AssignAll, a lead that prices out everywhere (infinite prices) still goes to the best raw score."""
        candidates = np.where(closed, -np.inf, score_row)
        best = int(np.argmax(candidates))
        return best if np.isfinite(candidates[best]) else -1

    def _eligible(self, eligible: Any) -> NDArray[np.bool_]:
        if type(eligible) is np.ndarray and eligible.dtype == np.bool_ and eligible.shape == (self.n_reps,):
            return eligible
        array = np.asarray(eligible)
        if array.shape != (self.n_reps,) or array.dtype != np.bool_:
            raise ValidationError(
                f"eligible must be a bool array with one entry per rep (n_reps={self.n_reps}), "
                f"got dtype {array.dtype} and shape {array.shape}"
            )
        return array

    def _route_sparse(self, pair: tuple[Any, Any], value: float, effort: float) -> int:
        if len(pair) != 2:
            raise ValidationError(f"a sparse score_row must be a (reps, scores) pair, got a tuple of {len(pair)}")
        try:
            reps = np.asarray(pair[0], dtype=np.int64)
            scores = np.array(pair[1], dtype=np.float64)  # a copy: kept in the history
        except (TypeError, ValueError):
            raise ValidationError("a sparse score_row must be (int rep positions, float scores)") from None
        if reps.ndim != 1 or scores.shape != reps.shape:
            raise ValidationError(
                f"a sparse score_row needs reps and scores of the same 1-D length, got shapes {reps.shape} "
                f"and {scores.shape}"
            )
        if reps.size and (reps.min() < 0 or reps.max() >= self.n_reps):
            raise ValidationError(f"reps must be positions in [0, {self.n_reps - 1}], got {reps.min()}..{reps.max()}")
        if reps.size > 1 and np.unique(reps).size != reps.size:
            raise ValidationError("reps must not repeat a rep in a sparse score_row")
        reps = reps.copy()
        adjusted = scores - effort * self._price_effort[reps] - self._price_const[reps]
        if self._split:
            self._fill_factor = self._fill_control()
            adjusted = scores - self._fill_factor * (effort * self._price_effort[reps] + self._price_const[reps])
        if self._has_value_price:
            adjusted -= value * self._price_value[reps]
        if self._feedback:
            adjusted -= value * self._feedback_scale[reps] * (
                self._fair_value[reps] - self._share[reps] * self._fair_total())
        charge = None
        if self._track and self._tracking(self._fair, value, effort):
            charge = self._fair[reps]
        closed = self._room_effort[reps] < effort
        if self._check_count:
            closed |= self._room_count[reps] < 1.0
        if self._check_value:
            closed |= self._room_value[reps] < value
        closed |= np.isneginf(scores) | np.isnan(scores)
        if charge is not None:
            if self._track_guard:
                closed |= self._guard_mask[reps]
            adjusted -= charge
        closed |= np.isnan(adjusted)
        adjusted[closed] = -np.inf
        rep = -1
        if reps.size:
            k = int(np.argmax(adjusted))
            top = adjusted[k]
            if top == -np.inf:
                if self._assign_all:
                    raw = np.where(closed, -np.inf, scores)
                    k = int(np.argmax(raw))
                    rep = int(reps[k]) if np.isfinite(raw[k]) else -1
            elif (top >= 0.0 or self._assign_all) and self._place_fair and self._split_cost(self._fair, value, effort):
                key = scores - self._score_per_value * self._fair[reps] + self._jitter[reps]
                floor = max(top - self._place_within * abs(float(scores[k])), 0.0)
                key[adjusted < floor if top >= 0.0 else closed] = -np.inf
                key[np.isnan(key)] = -np.inf
                j = int(np.argmax(key))
                k = j if key[j] > -np.inf else k
                rep = int(reps[k])
            elif top >= 0.0 or self._assign_all:
                rep = int(reps[k])
            if rep >= 0:
                if scores[k] == np.inf:
                    raise ValidationError(f"score_row must not hold +inf; found at rep {rep}")
                if not self._fits(rep, value, effort):  # pragma: no cover - closed already excludes it
                    rep = -1
        self._history.sparse[len(self._history)] = (reps, scores)
        return rep

    def _fits(self, rep: int, value: float, effort: float) -> bool:
        """The hard check, whatever the prices: effort, count and value room of one rep."""
        return bool(self._room_effort[rep] >= effort and self._room_count[rep] >= 1.0
                    and self._room_value[rep] >= value)

    # ----------------------------------------------------------------- reading
    def state(self) -> RouterState:
        """A snapshot (copies) of the router's counters, prices and notes."""
        return RouterState(
            n_routed=len(self._history),
            n_assigned=self._n_assigned,
            rep_count=self._count.copy(),
            rep_effort=self._used.copy(),
            rep_value=self._value.copy(),
            remaining_capacity=np.maximum(self.capacity - self._used, 0.0),
            projected_value=self._projected_value,
            prices=self._prices,
            n_refreshes=self._n_refreshes,
            notes=tuple(self._notes),
            fill_factor=self._fill_factor,
        )

    def routed_problem(self) -> Problem:
        """The leads routed so far as a :class:`Problem` (lead ids ``0 .. n_routed-1``)."""
        return self._history.problem(0, len(self._history), self.capacity, self.rep_ids)

    def result(self) -> Result:
        """The routed leads as a verified :class:`Result` (solver ``"router"``).

        ``fa.verify`` runs on it with the router's constraints: capacity and band upper sides
        always hold; a broken fair share or band lower side makes the status INVALID with the
        ``violations`` listed, which is how the benchmark measures the router's fairness.
        """
        from .solve import assemble
        from .solvers.base import SolverOutput

        started = time.perf_counter()
        problem = self.routed_problem()
        rules = bind(problem, self.constraints)
        output = SolverOutput(rep_of=np.asarray(self._history.rep_of, dtype=np.int64).reshape(-1),
                              status=Status.FEASIBLE, notes=(f"{self._n_refreshes} price refreshes",))
        return assemble(problem, rules, output, "router", "online: dual prices learned from a sample", started)

    def __repr__(self) -> str:
        return (f"Router(n_reps={self.n_reps}, routed={len(self._history)}, assigned={self._n_assigned}, "
                f"prices={self._prices.source!r}, refreshes={self._n_refreshes})")
