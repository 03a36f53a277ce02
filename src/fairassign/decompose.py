r"""Exact decomposition: split a batch into independent blocks and solve them apart.

Two leads interact only through a rep they could both go to, so the batch falls apart along
the connected components of the bipartite *eligibility graph*: one node per lead and per rep,
one edge per allowed candidate pair (``rules.allowed``: eligible, not forbidden, and for a
pinned lead only its pin). Every rule except :class:`~fairassign.FairShare` reads one rep
(capacity, :class:`~fairassign.CountBand`, :class:`~fairassign.ValueBand`) or one lead
(:class:`~fairassign.AssignAll`, :class:`~fairassign.Pin`, :class:`~fairassign.Forbid`), so
the rule-keeping assignments of the batch are exactly the products of rule-keeping
assignments of its blocks.

Why the objective decomposes
----------------------------
Write :math:`c_k(x)` and :math:`s_k(x)` for the lead count and score an assignment :math:`x`
gives block *k*. Both are additive: :math:`c(x) = \sum_k c_k(x)`, :math:`s(x) = \sum_k s_k(x)`,
and the blocks' choices are independent. Under ``objective="score"`` the sum is maximal iff
every term is. Under the lexicographic objective (the most leads, then the most score) the
largest count is :math:`M = \sum_k M_k` with :math:`M_k` each block's largest count, and an
assignment reaches :math:`M` only if every block reaches its :math:`M_k` (no block can make
up for another, since :math:`c_k \le M_k`); among those, the score is maximal iff each
block's score is maximal at :math:`M_k`. So solving each block lexicographically and putting
the answers side by side is the lexicographic optimum of the batch.

FairShare couples every rep through the total assigned value :math:`V`, so :func:`blocks`
returns a batch with a FairShare as one block. :func:`solve_blocks` still splits it: it
broadcasts :math:`V` to the blocks as per-rep value bands (exact when every lead must be
assigned, an estimate with a repair step otherwise; see :mod:`fairassign.coupling`). The same holds for a batch whose
rules contradict each other (a pin on an ineligible or forbidden pair), so that its diagnosis
is the one :func:`fairassign.solve` gives.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import connected_components

from .constraints import Constraint, CountBand, FairShare, Forbid, Pin, ValueBand
from .coupling import CoupledPlan, band_constraints, coupling_supported, finish_coupled, plan_coupled
from .errors import ValidationError
from .problem import Problem
from .result import Result, SolveSettings, Status
from .rules import Rules, bind
from .solve import assemble, prepare, solve
from .solvers.base import SolverOutput

__all__ = ["Block", "blocks", "solve_blocks"]


@dataclass(frozen=True, eq=False)
class Block:
    """One independent part of a batch, ready to solve on its own.

    Attributes
    ----------
    leads, reps : int64 arrays
        Positions in the whole batch of the block's leads and reps, increasing; the block's
        lead *j* is the batch's lead ``leads[j]`` (likewise for reps).
    problem : Problem
        The block as a batch of its own: the candidate pairs among its leads and reps, their
        scores and effort, the reps' capacities, the leads' values and ids.
    constraints : tuple of Constraint
        The rules restricted to the block: per-rep arrays of CountBand and ValueBand cut to
        ``reps``; Pin and Forbid keep the pairs whose lead and rep both lie in the block.
    """

    leads: NDArray[np.int64]
    reps: NDArray[np.int64]
    problem: Problem
    constraints: tuple[Constraint, ...]


class Executor(Protocol):
    """Anything with ``submit(fn, *args) -> future`` whose future has ``result()``.

    A :class:`concurrent.futures.ProcessPoolExecutor` or ThreadPoolExecutor, or a Dask
    ``Client`` (or ``client.get_executor()``).
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...


def _given(constraints: Iterable[Constraint] | Constraint) -> tuple[Constraint, ...]:
    if isinstance(constraints, Constraint):
        return (constraints,)
    try:
        return tuple(constraints)
    except TypeError:
        raise ValidationError(
            f"constraints must be an iterable of fairassign constraints, got {type(constraints).__name__}"
        ) from None


def _labels(problem: Problem, rules: Rules, max_blocks: int | None) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                                                             int]:
    """Block of every lead and rep: connected components of the allowed pairs, packed.

    Nodes without an allowed pair form one extra group (they interact with nothing). With
    ``max_blocks``, groups are packed largest first onto the lightest block (weight: pairs +
    leads + reps), which keeps blocks independent and balances them for an executor.
    """
    n_leads, n_reps = problem.n_leads, problem.n_reps
    lead = problem.pair_lead[rules.allowed]
    rep = problem.pair_rep[rules.allowed] + n_leads
    graph = sp.coo_array((np.ones(lead.size, np.int8), (lead, rep)), shape=(n_leads + n_reps,) * 2)
    n_components, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)

    linked = np.zeros(n_components, bool)
    linked[labels[lead]] = True
    # components numbered by their lowest node, so block order follows the batch's order
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first, kind="stable")
    group = np.full(n_components, -1, np.int64)
    kept = order[linked[order]]
    group[kept] = np.arange(kept.size)
    n_groups = int(kept.size)
    if not linked.all():
        group[~linked] = n_groups  # every isolated lead and rep together
        n_groups += 1
    node_group = group[labels]

    if max_blocks is not None and n_groups > max_blocks:
        weight = np.bincount(node_group, minlength=n_groups) + np.bincount(
            node_group[lead], minlength=n_groups)
        load = np.zeros(max_blocks, np.int64)
        packed = np.empty(n_groups, np.int64)
        for g in np.argsort(-weight, kind="stable").tolist():  # a loop over groups, not pairs
            target = int(np.argmin(load))
            packed[g] = target
            load[target] += weight[g]
        # renumber so blocks keep the order of their lowest node
        _, first_node = np.unique(packed[node_group], return_index=True)
        rank = np.empty(max_blocks, np.int64)
        used = np.unique(packed[node_group])
        rank[used[np.argsort(first_node, kind="stable")]] = np.arange(used.size)
        node_group = rank[packed[node_group]]
        n_groups = int(used.size)
    return node_group[:n_leads], node_group[n_leads:], n_groups


def _restrict_band(rule: CountBand | ValueBand, reps: NDArray[np.int64]) -> Constraint:
    def cut(bound: Any) -> Any:
        return bound[reps] if isinstance(bound, np.ndarray) and bound.ndim == 1 else bound

    return type(rule)(lower=cut(rule.lower), upper=cut(rule.upper))


def _sub_problem(problem: Problem, leads: NDArray[np.int64], reps: NDArray[np.int64],
                 pairs: NDArray[np.int64], local_lead: NDArray[np.int64],
                 local_rep: NDArray[np.int64], capacity: NDArray[np.float64] | None = None) -> Problem:
    """The batch cut to ``leads`` x ``reps`` over candidate ``pairs``; ``local_*`` map batch positions
    to the cut's. ``capacity`` replaces the reps' own (a sample of leads gets a share of it)."""
    shape = (int(leads.size), int(reps.size))
    rows, cols = local_lead[problem.pair_lead[pairs]], local_rep[problem.pair_rep[pairs]]
    score = sp.coo_array((problem.pair_score[pairs], (rows, cols)), shape=shape)
    effort: Any = None
    if problem.effort_kind == "pair":
        effort = sp.coo_array((problem.pair_effort[pairs], (rows, cols)), shape=shape)
    elif problem.lead_effort is not None and problem.effort_kind == "lead":
        effort = problem.lead_effort[leads]
    return Problem(score=score, capacity=problem.capacity[reps] if capacity is None else capacity, effort=effort,
                   value=problem.value[leads], lead_ids=problem.lead_ids[leads], rep_ids=problem.rep_ids[reps])


def _whole(problem: Problem, given: tuple[Constraint, ...]) -> list[Block]:
    return [Block(leads=np.arange(problem.n_leads, dtype=np.int64), reps=np.arange(problem.n_reps, dtype=np.int64),
                  problem=problem, constraints=given)]


def blocks(problem: Problem, constraints: Iterable[Constraint] | Constraint = (), *,
           max_blocks: int | None = None) -> list[Block]:
    """Split a batch into independent blocks whose separate optima make the batch's optimum.

    Parameters
    ----------
    problem : Problem
    constraints : iterable of Constraint
        Checked against the whole batch first (as :func:`fairassign.solve` does), so a
        per-rep array of the wrong length or an unknown id raises here.
    max_blocks : int, optional
        Pack the connected components into at most this many blocks, balanced by size (a
        union of components is still independent of the rest). Default: one block per
        component with an allowed pair, plus one block for every lead and rep without one.

    Returns
    -------
    list of Block
        In the order of each block's lowest lead or rep. A single block holding the whole
        batch (the same ``Problem`` object) when a :class:`FairShare` couples every rep, when
        the rules contradict each other, or when the batch is connected.

    Notes
    -----
    Components are those of the bipartite graph on leads and reps whose edges are the
    allowed candidate pairs (:func:`scipy.sparse.csgraph.connected_components`). A candidate
    pair that is not allowed (forbidden, or a pinned lead's other reps) and joins two blocks
    is left out of both: no rule-keeping assignment can use it.

    Examples
    --------
    >>> import numpy as np
    >>> import fairassign as fa
    >>> score = [[1.0, np.nan, np.nan], [np.nan, 2.0, 3.0], [np.nan, np.nan, 4.0]]
    >>> [block.leads.tolist() for block in fa.blocks(fa.Problem(score, capacity=[1, 1, 1]))]
    [[0], [1, 2]]
    """
    if not isinstance(problem, Problem):
        raise ValidationError(f"problem must be a fairassign.Problem, got {type(problem).__name__}")
    if max_blocks is not None and (isinstance(max_blocks, bool) or not isinstance(max_blocks, int | np.integer)
                                   or max_blocks < 1):
        raise ValidationError(f"max_blocks must be a positive integer or None, got {max_blocks!r}")
    given = _given(constraints)
    rules = bind(problem, given)
    if rules.fair or rules.conflicts:
        return _whole(problem, given)
    lead_block, rep_block, n_blocks = _labels(problem, rules, None if max_blocks is None else int(max_blocks))
    if n_blocks <= 1:
        return _whole(problem, given)

    # a pair belongs to a block when both ends do; pairs across blocks are never allowed
    pair_block = lead_block[problem.pair_lead]
    inside = np.flatnonzero(pair_block == rep_block[problem.pair_rep])
    pair_order = inside[np.argsort(pair_block[inside], kind="stable")]  # stable: CSR order kept within a block
    pair_split = np.searchsorted(pair_block[pair_order], np.arange(n_blocks + 1))
    lead_order = np.argsort(lead_block, kind="stable")
    lead_split = np.searchsorted(lead_block[lead_order], np.arange(n_blocks + 1))
    rep_order = np.argsort(rep_block, kind="stable")
    rep_split = np.searchsorted(rep_block[rep_order], np.arange(n_blocks + 1))
    local_lead = np.empty(problem.n_leads, np.int64)
    local_lead[lead_order] = np.arange(problem.n_leads) - lead_split[lead_block[lead_order]]
    local_rep = np.empty(problem.n_reps, np.int64)
    local_rep[rep_order] = np.arange(problem.n_reps) - rep_split[rep_block[rep_order]]

    # which block each Pin / Forbid pair falls in (-1: its lead and rep lie in different blocks)
    pair_rule_block: dict[int, NDArray[np.int64]] = {}
    for k, rule in enumerate(given):
        if isinstance(rule, Pin | Forbid):
            lead_pos = np.array([problem.lead_position(lead) for lead, _ in rule.pairs], np.int64)
            rep_pos = np.array([problem.rep_position(rep) for _, rep in rule.pairs], np.int64)
            pair_rule_block[k] = np.where(lead_block[lead_pos] == rep_block[rep_pos], lead_block[lead_pos], -1)

    result: list[Block] = []
    for b in range(n_blocks):
        leads = lead_order[lead_split[b]:lead_split[b + 1]].astype(np.int64)
        reps = rep_order[rep_split[b]:rep_split[b + 1]].astype(np.int64)
        pairs = pair_order[pair_split[b]:pair_split[b + 1]]
        restricted: list[Constraint] = []
        for k, rule in enumerate(given):
            if isinstance(rule, CountBand | ValueBand):
                restricted.append(_restrict_band(rule, reps))
            elif isinstance(rule, Pin | Forbid):
                mine = [pair for pair, where in zip(rule.pairs, pair_rule_block[k].tolist(), strict=True)
                        if where == b]
                if mine:
                    restricted.append(type(rule)(mine))
            else:
                restricted.append(rule)
        result.append(Block(leads=leads, reps=reps,
                            problem=_sub_problem(problem, leads, reps, pairs, local_lead, local_rep),
                            constraints=tuple(restricted)))
    return result


@dataclass(frozen=True)
class _Outcome:
    """What a worker sends back for one block (small: no Problem)."""

    rep_of: NDArray[np.int64]
    status: Status
    bound: float | None
    diagnosis: tuple[str, ...]
    solver: str
    reason: str
    solve_time: float = 0.0


def _solve_block(problem: Problem, constraints: tuple[Constraint, ...], options: dict[str, Any]) -> _Outcome:
    """Top level, so process pools and Dask workers can pickle it."""
    result = solve(problem, constraints, **options)
    return _Outcome(rep_of=np.asarray(result.rep_of), status=result.status, bound=result.bound,
                    diagnosis=result.diagnosis, solver=result.solver, reason=result.reason,
                    solve_time=result.solve_time)


class _InProcess:
    """The default executor: runs each block now, in this process, in order."""

    class _Done:
        def __init__(self, value: Any) -> None:
            self._value = value

        def result(self) -> Any:
            return self._value

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return self._Done(fn(*args, **kwargs))


#: combined status: the first of these that any block has
_WORST_FIRST = (Status.INFEASIBLE, Status.INVALID, Status.NO_SOLUTION, Status.FEASIBLE, Status.OPTIMAL)


def _summary(items: list[str], limit: int = 3) -> str:
    counted = Counter(items).most_common()
    shown = [f"{item} (x{count})" if count > 1 else item for item, count in counted[:limit]]
    return "; ".join(shown) + (f"; and {len(counted) - limit} more" if len(counted) > limit else "")


def solve_blocks(
    problem: Problem,
    constraints: Iterable[Constraint] | Constraint = (),
    *,
    executor: Executor | None = None,
    max_blocks: int | None = None,
    solver: str = "auto",
    objective: str = "lexicographic",
    time_limit: float | None = None,
    seed: int = 0,
    hint: Result | ArrayLike | None = None,
    rel_gap: float = 1e-4,
) -> Result:
    r"""Solve a batch block by block (see :func:`blocks`) and report it as one :class:`Result`.

    Each block goes through :func:`fairassign.solve` with the same options, submitted to
    ``executor``; the answers are put side by side and measured and verified on the whole
    batch (:func:`fairassign.solve.assemble`), so the result reads as a single solve's would.
    Because the objective decomposes (module docstring), with exact backends the result has
    the objective, lead count and status :func:`fairassign.solve` finds.

    Parameters
    ----------
    problem, constraints
        As for :func:`fairassign.solve`.
    executor : object with ``submit``, optional
        Where blocks run: a :class:`concurrent.futures.ProcessPoolExecutor` (with a *spawn*
        context: a forked child of a process whose solver threads ran can hang), a Dask
        client, ... Default: in this process, one block after the other.
    max_blocks : int, optional
        Passed to :func:`blocks`; with many small components, pack them into a few blocks
        (say, a few per worker) to save per-solve overhead.
    solver, objective, seed, hint, rel_gap
        As for :func:`fairassign.solve`; ``hint`` is cut to each block.
    time_limit : float, optional
        Seconds *per block*.

    A :class:`FairShare` is split too (:mod:`fairassign.coupling`): under
    :class:`AssignAll` exactly, as per-rep value bands of the known total value; otherwise
    on a sampled estimate of it, followed by a repair on the whole batch and a Lagrangian
    bound (status FEASIBLE at best). ``reason`` says which.

    Returns
    -------
    Result
        ``status``: INFEASIBLE if any block is (with the diagnoses of those blocks), else
        INVALID, NO_SOLUTION, FEASIBLE, OPTIMAL: the worst of the blocks'. ``objective``: the
        sum over blocks. ``bound``: the sum of the blocks' bounds (None if any is None). Under
        the lexicographic objective a block's bound holds only at its own lead count or above,
        so the sum is a proven bound only when every block's count is proven largest (the
        block is OPTIMAL or assigns every lead with an allowed pair); otherwise ``bound`` is
        None and ``reason`` says so. ``solver``: the blocks' backends joined by ``+``.
        ``solve_time``: wall clock of the whole call.

    Examples
    --------
    >>> import numpy as np
    >>> import fairassign as fa
    >>> score = [[1.0, np.nan, np.nan], [np.nan, 2.0, 3.0], [np.nan, np.nan, 4.0]]
    >>> result = fa.solve_blocks(fa.Problem(score, capacity=[1, 1, 1]), [fa.AssignAll()])
    >>> result.status.name, result.rep_of.tolist(), result.objective
    ('OPTIMAL', [0, 1, 2], 7.0)
    """
    started = time.perf_counter()
    prepared = prepare(problem, constraints, solver, objective, time_limit, seed, hint, rel_gap)
    rules, request, given = prepared.rules, prepared.request, prepared.rules.constraints
    settings = SolveSettings(solver=solver, objective=request.objective, time_limit=request.time_limit,
                             seed=request.seed, rel_gap=request.rel_gap, hint=request.hint, entry="solve_blocks",
                             max_blocks=None if max_blocks is None else int(max_blocks))
    if prepared.infeasible is not None:  # the same answer as fa.solve, found before splitting
        return assemble(problem, rules, prepared.infeasible, solver, "infeasibility found before solving", started,
                        settings=settings)

    coupled: CoupledPlan | None = None
    parts = blocks(problem, given, max_blocks=max_blocks)
    if len(parts) == 1 and rules.fair and not rules.conflicts and coupling_supported(given):
        # a fair share alone kept the batch whole: split the rest and broadcast its total value as bands
        rest = tuple(rule for rule in given if not isinstance(rule, FairShare))
        split = blocks(problem, rest, max_blocks=max_blocks)
        if len(split) > 1:
            coupled = plan_coupled(problem, rules, request)
            bands = band_constraints(rules, coupled.total_value)
            parts = [replace(block, constraints=block.constraints + tuple(_restrict_band(band, block.reps)
                                                                          for band in bands))
                     for block in split]
    pool: Executor = _InProcess() if executor is None else executor
    options: dict[str, Any] = {"solver": solver, "objective": objective, "time_limit": request.time_limit,
                               "seed": request.seed, "rel_gap": request.rel_gap}
    futures = []
    for block in parts:
        block_options = dict(options)
        if request.hint is not None:
            local = np.full(problem.n_reps, -1, np.int64)
            local[block.reps] = np.arange(block.reps.size)
            wanted = request.hint[block.leads]
            block_options["hint"] = np.where(wanted >= 0, local[np.maximum(wanted, 0)], -1)
        futures.append(pool.submit(_solve_block, block.problem, block.constraints, block_options))
    outcomes: list[_Outcome] = [future.result() for future in futures]
    output, notes = _combine(problem, rules, parts, outcomes, request.objective)
    names = list(dict.fromkeys(outcome.solver for outcome in outcomes))
    if coupled is not None:
        def whole() -> SolverOutput:
            result = solve(problem, given, **options, hint=request.hint)
            names[:] = [result.solver]
            return SolverOutput(rep_of=np.asarray(result.rep_of), status=result.status, bound=result.bound,
                                diagnosis=result.diagnosis)

        output, more = finish_coupled(problem, rules, request, output.rep_of, output.status, output.bound,
                                      coupled, whole)
        notes += more
    why = "; ".join([*notes, _summary([outcome.reason for outcome in outcomes])])
    return assemble(problem, rules, output, "+".join(names), why, started, settings=settings)


def _combine(problem: Problem, rules: Rules, parts: list[Block], outcomes: list[_Outcome],
             objective: str) -> tuple[SolverOutput, list[str]]:
    """The blocks' answers side by side, the worst status, the summed bound where it holds, and notes."""
    rep_of = np.full(problem.n_leads, -1, np.int64)
    for block, outcome in zip(parts, outcomes, strict=True):
        chosen = outcome.rep_of >= 0
        rep_of[block.leads[chosen]] = block.reps[outcome.rep_of[chosen]]
    statuses = {outcome.status for outcome in outcomes}
    status = next(s for s in _WORST_FIRST if s in statuses)
    diagnosis = tuple(line for outcome in outcomes if outcome.status is status for line in outcome.diagnosis)

    notes = [f"{len(parts)} independent block{'s' if len(parts) != 1 else ''}"]
    bound: float | None = None
    if all(outcome.bound is not None for outcome in outcomes):
        has_pair = np.zeros(problem.n_leads, bool)
        has_pair[problem.pair_lead[rules.allowed]] = True
        counts_proven = all(
            outcome.status is Status.OPTIMAL or int((outcome.rep_of >= 0).sum()) == int(has_pair[block.leads].sum())
            for block, outcome in zip(parts, outcomes, strict=True))
        if objective == "score" or counts_proven:
            bound = float(sum(outcome.bound for outcome in outcomes if outcome.bound is not None))
        else:
            notes.append("no bound: a block's lead count is not proven largest, so the block bounds do not add up")
    if status is Status.INVALID:
        # let the verifier on the whole batch name what the block's answer broke
        status = Status.FEASIBLE
        notes.append("a block's answer broke a rule")
    return SolverOutput(rep_of=rep_of, status=status, bound=bound, diagnosis=diagnosis), notes
