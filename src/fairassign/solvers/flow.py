r"""Backend ``"flow"``: OR-Tools min-cost flow, exact when only capacity-type rules bind.

With unit effort and no side rule (no :class:`~fairassign.FairShare`, no
:class:`~fairassign.ValueBand`, no lower :class:`~fairassign.CountBand`), routing is a
transportation problem. Its network is

.. math:: \text{source} \xrightarrow{1} \text{lead } i \xrightarrow{1,\; -c_{ir}}
          \text{rep } r \xrightarrow{k_r} \text{sink},
          \qquad k_r = \lfloor \min(\text{capacity}_r,\ \text{count upper}_r,\
          \#\{\text{allowed pairs of } r\}) \rfloor,

with one lead-to-rep arc per allowed candidate pair and integer unit costs
:math:`c_{ir} = \operatorname{round}(s \cdot \text{score}_{ir})`. Every vertex of this
network's flow polytope is integral, so an optimal flow is an optimal assignment.

Objectives
    *lexicographic*: the most flow, then the least cost (``solve_max_flow_with_min_cost``).
    *score*: a bypass arc source -> sink of cost 0 lets a lead stay unassigned, and pairs
    of negative score are left out (they can only lower the total).

Leads that must be assigned (:class:`~fairassign.AssignAll`, pins)
    A must-assign lead with a single allowed pair (every pinned lead) is assigned before
    the flow, its rep's room reduced by one. The others receive a supply of 1 at their own
    node instead of a source arc, so every feasible flow assigns them; OR-Tools reports
    INFEASIBLE exactly when they cannot all be placed. Under the lexicographic objective the
    other leads share a source supply of :math:`F - m` (:math:`F` the maximum flow,
    :math:`m` the must-assign leads): the leads that can be assigned together form a
    (transversal) matroid, so when the must-assign leads can be placed at all, some maximum
    assignment contains them. No big-M bonus is needed, so the score resolution is not
    spent on one.

Integer costs
    Scores are multiplied by a power of two :math:`s` and rounded: the largest :math:`s` with
    :math:`s \max|\text{score}| \le C`. First :math:`C = (2^{63}-1) / (4n)` (:math:`n`
    nodes, OR-Tools' own source and sink included), the finest scale OR-Tools accepts; should
    its node potentials overflow (it reports BAD_COST_RANGE), the batch is solved again with
    :math:`C = (2^{63}-1) / (2 n^2)`, under which OR-Tools guarantees they cannot. Both keep
    any sum of costs over an assignment inside int64, and both are capped at :math:`2^{53}`
    (floats stop being exact integers there). Integer scores within :math:`C` use
    :math:`s = 1` and are exact. With rounding error
    :math:`e = \max_p (\text{score}_p - c_p / s) \ge 0` over the pairs in the network, an
    assignment optimal for the rounded scores is within :math:`k e` of the float optimum
    (:math:`k` leads assigned), so the reported bound is the rounded optimum plus
    :math:`k e`: an upper bound on the true optimum.

Examples
--------
>>> import fairassign as fa
>>> problem = fa.Problem(score=[[3.0, 0.5], [2.0, -1.0], [-2.0, -3.0]], capacity=[1, 1])
>>> fa.solve(problem, solver="flow").rep_of.tolist()
[1, 0, -1]
>>> fa.solve(problem, solver="flow", objective="score").rep_of.tolist()
[0, -1, -1]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..diagnosis import MAX_NAMED, named_list
from ..problem import Problem
from ..result import Status
from ..rules import Rules
from .base import Solver, SolveRequest, SolverOutput, register

__all__ = ["FlowSolver", "IntegerCosts", "cost_limit", "integer_costs", "rep_room"]

#: floats hold every integer up to here exactly
_FLOAT_EXACT = 2**53


def cost_limit(n_nodes: int, *, guaranteed: bool = True) -> int:
    r"""Largest unit cost magnitude for OR-Tools' min-cost flow on ``n_nodes`` nodes.

    With :math:`n` = ``n_nodes + 2`` (OR-Tools adds a source and a sink of its own):

    * ``guaranteed=True``: :math:`(2^{63} - 1) / (2 n^2)`, below which OR-Tools guarantees
      that its node potentials cannot overflow;
    * ``guaranteed=False``: :math:`(2^{63} - 1) / (4 n)`, which passes OR-Tools' own check
      (each cost times :math:`n + 1` fits in int64) with room to spare. Potentials may then
      overflow in principle; OR-Tools detects that and answers BAD_COST_RANGE, and the backend
      retries with the guaranteed limit.

    Either limit keeps the total cost of any assignment (at most ``n_nodes`` pairs) inside
    int64. Both are capped at :math:`2^{53}`, beyond which floats skip integers.

    >>> cost_limit(10), cost_limit(1_000_000), cost_limit(1_000_000, guaranteed=False)
    (9007199254740992, 4611666, 2305838397535)
    """
    nodes = max(int(n_nodes), 0) + 2
    room = 2 * nodes * nodes if guaranteed else 4 * nodes
    return int(min(_FLOAT_EXACT, (2**63 - 1) // room - 1))


@dataclass(frozen=True)
class IntegerCosts:
    """Scores turned into min-cost-flow unit costs.

    Attributes
    ----------
    cost : int64 (n,)
        ``-round(score * scale)``: min-cost flow minimises, fairassign maximises.
    scale : float
        1, or a power of two.
    max_error : float
        :math:`\\max_p(\\text{score}_p + \\text{cost}_p / \\text{scale})`, at least 0: how much
        one pair's rounded score may undershoot its true score.
    """

    cost: NDArray[np.int64]
    scale: float
    max_error: float

    @property
    def exact(self) -> bool:
        return self.max_error == 0.0


def integer_costs(score: NDArray[np.float64], limit: int) -> IntegerCosts:
    """Scale and round ``score`` to integer costs of magnitude at most ``limit``.

    Integer scores within ``limit`` keep scale 1 (exact). Otherwise the scale is the largest
    power of two that keeps every scaled score within ``limit`` (a power of two, so the
    scaling itself adds no floating-point error).

    >>> costs = integer_costs(np.array([3.0, -1.0, 2.0]), 1000)
    >>> costs.scale, costs.cost.tolist(), costs.max_error
    (1.0, [-3, 1, -2], 0.0)
    >>> costs = integer_costs(np.array([1.0, 0.5, -2.0]), 1000)
    >>> costs.scale, costs.cost.tolist(), costs.max_error
    (256.0, [-256, -128, 512], 0.0)
    >>> costs = integer_costs(np.array([0.1, 0.3]), 1000)
    >>> costs.scale, costs.cost.tolist(), costs.max_error < 0.5 / costs.scale
    (2048.0, [-205, -614], True)
    """
    if score.size == 0:
        return IntegerCosts(cost=np.zeros(0, np.int64), scale=1.0, max_error=0.0)
    biggest = float(np.max(np.abs(score)))
    rounded = np.rint(score)
    if biggest <= limit and np.array_equal(rounded, score):
        np.negative(rounded, out=rounded)
        return IntegerCosts(cost=rounded.astype(np.int64), scale=1.0, max_error=0.0)
    exponent = min(math.floor(math.log2(limit) - math.log2(biggest)), 1000)
    # log2 is rounded: settle on the largest power of two that keeps biggest * scale <= limit
    while exponent > -1000 and math.ldexp(biggest, exponent) > limit:
        exponent -= 1
    while exponent < 1000 and math.ldexp(biggest, exponent + 1) <= limit:
        exponent += 1
    scale = math.ldexp(1.0, exponent)
    scaled = score * scale
    np.rint(scaled, out=rounded)
    max_error = max(float(np.max(scaled - rounded)), 0.0) / scale
    np.negative(rounded, out=rounded)
    return IntegerCosts(cost=rounded.astype(np.int64), scale=scale, max_error=max_error)


def rep_room(problem: Problem, rules: Rules) -> NDArray[np.int64]:
    """Leads each rep can still take: ``floor(min(capacity, count upper, allowed pairs))``."""
    allowed_rep = problem.pair_rep if rules.allowed.all() else problem.pair_rep[rules.allowed]
    degree = np.bincount(allowed_rep, minlength=problem.n_reps).astype(np.float64)
    room = np.minimum(np.minimum(problem.capacity, rules.count_upper), degree)
    return np.floor(room).astype(np.int64)


def _plain(identifier: Any) -> Any:
    """numpy scalars (np.str_('R-1')) read badly in messages; plain Python ones do not."""
    return identifier.item() if isinstance(identifier, np.generic) else identifier


def _leads_phrase(ids: list[Any]) -> str:
    return ("lead " if len(ids) == 1 else "leads ") + named_list(ids)


@dataclass(frozen=True)
class _Forced:
    """Must-assign leads with a single allowed pair, placed before the flow."""

    pairs: NDArray[np.int64]  # candidate-pair index of each forced lead's pair
    count: NDArray[np.int64]  # forced leads per rep


def _unplaceable(problem: Problem, rules: Rules, room: NDArray[np.int64]) -> tuple[_Forced, list[str]]:
    """Place the forced leads; reasons in words when some must-assign lead cannot be placed."""
    must = rules.must_assign
    allowed_lead = problem.pair_lead[rules.allowed]
    degree = np.bincount(allowed_lead, minlength=problem.n_leads)
    reasons = []
    stranded = np.flatnonzero(must & (degree == 0))
    if stranded.size:
        ids = problem.lead_ids[stranded].tolist()
        verb = "has" if len(ids) == 1 else "have"
        reasons.append(f"{_leads_phrase(ids)} must be assigned but {verb} no eligible rep")
    forced_lead = must & (degree == 1)
    pairs = np.flatnonzero(rules.allowed & forced_lead[problem.pair_lead]).astype(np.int64)
    count = np.bincount(problem.pair_rep[pairs], minlength=problem.n_reps).astype(np.int64)
    for rep in np.flatnonzero(count > room)[:MAX_NAMED].tolist():
        ids = problem.lead_ids[problem.pair_lead[pairs[problem.pair_rep[pairs] == rep]]].tolist()
        reasons.append(
            f"{_leads_phrase(ids)} must go to rep {_plain(problem.rep_ids[rep])!r} (pinned there, or it is their only "
            f"eligible rep) but its capacity and count cap leave room for only {room[rep]}"
        )
    return _Forced(pairs=pairs, count=count), reasons


def _must_diagnosis(problem: Problem, lead: NDArray[np.int64], rep: NDArray[np.int64],
                    must_leads: NDArray[np.int64], room: NDArray[np.int64], n_forced: int) -> list[str]:
    r"""Why the must-assign leads do not all fit: a set of them whose reps are too small.

    A maximum flow from the must-assign leads alone (lead-to-rep arcs uncapacitated) has a
    minimum cut whose source side holds leads :math:`L` and every rep :math:`R` eligible for
    them, with :math:`|L| - \text{room}(R)` equal to the shortfall (Hall's condition fails).
    """
    from ortools.graph.python import max_flow

    n_leads, n_reps = problem.n_leads, problem.n_reps
    source, sink = n_leads + n_reps, n_leads + n_reps + 1
    is_must = np.zeros(n_leads, dtype=bool)
    is_must[must_leads] = True
    keep = is_must[lead]
    network = max_flow.SimpleMaxFlow()
    big = must_leads.size + 1
    network.add_arcs_with_capacity(lead[keep].astype(np.int32), (rep[keep] + n_leads).astype(np.int32),
                                   np.full(int(keep.sum()), big, np.int64))
    network.add_arcs_with_capacity(np.full(must_leads.size, source, np.int32), must_leads.astype(np.int32),
                                   np.ones(must_leads.size, np.int64))
    network.add_arcs_with_capacity(np.arange(n_leads, n_leads + n_reps, dtype=np.int32),
                                   np.full(n_reps, sink, np.int32), room.astype(np.int64))
    network.solve(source, sink)
    fit = int(network.optimal_flow())
    side = np.asarray(network.get_source_side_min_cut(), dtype=np.int64)
    side_leads = side[(side < n_leads)]
    side_leads = side_leads[is_must[side_leads]]
    side_reps = side[(side >= n_leads) & (side < n_leads + n_reps)] - n_leads
    n_must = must_leads.size + n_forced
    total = f"at most {fit + n_forced} of the {n_must} leads that must be assigned fit"
    if side_leads.size == 0:  # cannot happen when fit < must_leads.size; kept for a readable fallback
        return [f"the leads that must be assigned do not fit in the reps eligible for them: {total}"]
    lead_ids = problem.lead_ids[np.sort(side_leads)].tolist()
    rep_ids = problem.rep_ids[np.sort(side_reps)].tolist()
    space = int(room[side_reps].sum())
    them = "it" if len(lead_ids) == 1 else "them"
    # every lead in the network has a rep, and uncapacitated arcs put its reps on the source side
    reps = f"rep {named_list(rep_ids)} is" if len(rep_ids) == 1 else f"reps {named_list(rep_ids)} are"
    return [
        f"{_leads_phrase(lead_ids)} must be assigned, but the only {reps} eligible for {them}, with room for "
        f"{space} of these {len(lead_ids)} leads (capacity, count caps and pinned leads counted): {total}"
    ]


@register
class FlowSolver(Solver):
    """OR-Tools min-cost flow; see the module docstring for the network and its guarantees."""

    name = "flow"
    exact = True
    requires = ("ortools",)

    def unsupported(self, problem: Problem, rules: Rules) -> str | None:
        reasons = []
        if problem.effort_kind != "unit":
            reasons.append(f"effort is per {problem.effort_kind}, while a flow counts each lead as one unit")
        if rules.fair:
            reasons.append("FairShare binds")
        if rules.has_value_band:
            reasons.append("a ValueBand binds")
        if rules.has_count_lower:
            reasons.append("a CountBand sets a lower bound")
        if not reasons:
            return None
        return ("min-cost flow is exact only for capacity, count caps, eligibility, pins and AssignAll "
                "with unit effort; here " + ", ".join(reasons))

    def solve(self, problem: Problem, rules: Rules, request: SolveRequest) -> SolverOutput:
        n_leads, n_reps = problem.n_leads, problem.n_reps
        unassigned = np.full(n_leads, -1, dtype=np.int64)
        room = rep_room(problem, rules)
        must = rules.must_assign
        any_must = bool(must.any())

        # 1. Must-assign leads with one allowed pair (pins) are placed now.
        forced = _Forced(pairs=np.zeros(0, np.int64), count=np.zeros(n_reps, np.int64))
        if any_must:
            forced, reasons = _unplaceable(problem, rules, room)
            if reasons:
                return SolverOutput(rep_of=unassigned, status=Status.INFEASIBLE, diagnosis=tuple(reasons))
            room = room - forced.count
        n_forced = int(forced.pairs.size)

        # 2. The pairs that enter the network.
        keep = rules.allowed
        if n_forced:
            placed = np.zeros(n_leads, dtype=bool)
            placed[problem.pair_lead[forced.pairs]] = True
            keep = keep & ~placed[problem.pair_lead]
        if request.objective == "score":
            useful = problem.pair_score >= 0
            if any_must:
                useful |= must[problem.pair_lead]
            keep = keep & useful
        if keep.all():  # the common case: no copy of the candidate list
            lead, rep, score = problem.pair_lead, problem.pair_rep, problem.pair_score
        else:
            lead, rep, score = problem.pair_lead[keep], problem.pair_rep[keep], problem.pair_score[keep]

        has_pair = np.bincount(lead, minlength=n_leads) > 0
        must_leads = np.flatnonzero(must & has_pair) if any_must else np.zeros(0, np.int64)
        free_leads = np.flatnonzero(~must & has_pair) if any_must else np.flatnonzero(has_pair)

        # 3. Under the lexicographic objective with leads that must be assigned and leads that
        #    need not, the free leads share the flow that the must-assign ones leave.
        most = None
        if request.objective == "lexicographic" and must_leads.size and free_leads.size:
            most = self._max_flow(lead, rep, free_leads, must_leads, room, n_leads, n_reps)
            if most < must_leads.size:
                reasons = _must_diagnosis(problem, lead, rep, must_leads, room, n_forced)
                return SolverOutput(rep_of=unassigned, status=Status.INFEASIBLE, diagnosis=tuple(reasons))

        # 4. Integer costs at the finest scale OR-Tools accepts; if its potentials overflow
        #    (it says so), again at the scale where they cannot.
        n_nodes = n_leads + n_reps + 2
        costs = IntegerCosts(cost=np.zeros(0, np.int64), scale=1.0, max_error=0.0)
        chosen = np.zeros(0, dtype=bool)
        overflowed_at = None
        for guaranteed in (False, True):
            costs = integer_costs(score, cost_limit(n_nodes, guaranteed=guaranteed))
            if not lead.size:
                break
            network = self._network(lead, rep, costs.cost, room, free_leads, must_leads, n_leads, n_reps)
            status = self._run(network, request.objective, n_leads + n_reps, free_leads.size, must_leads.size,
                               most)
            if status == network.BAD_COST_RANGE and not guaranteed:
                overflowed_at = costs.scale
                continue
            if status == network.INFEASIBLE:
                reasons = _must_diagnosis(problem, lead, rep, must_leads, room, n_forced)
                return SolverOutput(rep_of=unassigned, status=Status.INFEASIBLE, diagnosis=tuple(reasons))
            if status != network.OPTIMAL:
                name = getattr(status, "name", str(status))
                return SolverOutput(rep_of=unassigned, status=Status.NO_SOLUTION,
                                    diagnosis=(f"OR-Tools min-cost flow stopped with status {name}",))
            chosen = network.flows(np.arange(lead.size, dtype=np.int32)) > 0
            break

        # 5. The assignment, its rounded objective and the bound.
        rep_of = unassigned
        rep_of[lead[chosen]] = rep[chosen]
        forced_leads = problem.pair_lead[forced.pairs]
        rep_of[forced_leads] = problem.pair_rep[forced.pairs]
        if any_must and np.any(must & (rep_of < 0)):  # by construction impossible; never claim OPTIMAL then
            reasons = _must_diagnosis(problem, lead, rep, must_leads, room, n_forced)
            return SolverOutput(rep_of=np.full(n_leads, -1, np.int64), status=Status.INFEASIBLE,
                                diagnosis=tuple(reasons))

        n_flow_assigned = int(np.count_nonzero(chosen))
        rounded = -int(costs.cost[chosen].sum()) / costs.scale + float(problem.pair_score[forced.pairs].sum())
        if request.objective == "score":
            # any rule-keeping assignment places at most this many leads through the network
            comparable = int(min(has_pair.sum(), room.clip(min=0).sum()))
        else:
            comparable = n_flow_assigned  # every maximum assignment places as many
        bound = rounded + comparable * costs.max_error
        notes = [self._rounding_note(costs, comparable)]
        if overflowed_at is not None:
            notes.append(f"OR-Tools reported a cost overflow at scale 2^{round(math.log2(overflowed_at))}, "
                         "so the scores were scaled down and solved again")
        if n_forced:
            notes.append(f"{n_forced} pinned or single-option lead{'s' if n_forced != 1 else ''} placed first")
        return SolverOutput(rep_of=rep_of, status=Status.OPTIMAL, bound=bound, notes=tuple(notes))

    @staticmethod
    def _network(lead: NDArray[np.int64], rep: NDArray[np.int64], cost: NDArray[np.int64],
                 room: NDArray[np.int64], free_leads: NDArray[np.int64], must_leads: NDArray[np.int64],
                 n_leads: int, n_reps: int) -> Any:
        """The arcs, built from whole arrays; pair arcs come first, so arc p is pair p."""
        from ortools.graph.python import min_cost_flow

        source, sink = n_leads + n_reps, n_leads + n_reps + 1
        network = min_cost_flow.SimpleMinCostFlow()
        heads = rep.astype(np.int32)
        heads += n_leads
        network.add_arcs_with_capacity_and_unit_cost(lead.astype(np.int32), heads, np.ones(lead.size, np.int64),
                                                     cost)
        del heads
        if free_leads.size:
            network.add_arcs_with_capacity_and_unit_cost(
                np.full(free_leads.size, source, np.int32), free_leads.astype(np.int32),
                np.ones(free_leads.size, np.int64), np.zeros(free_leads.size, np.int64))
        network.add_arcs_with_capacity_and_unit_cost(
            np.arange(n_leads, n_leads + n_reps, dtype=np.int32), np.full(n_reps, sink, np.int32),
            room, np.zeros(n_reps, np.int64))
        if must_leads.size:
            network.set_nodes_supplies(must_leads.astype(np.int32), np.ones(must_leads.size, np.int64))
        return network

    @staticmethod
    def _run(network: Any, objective: str, source: int, n_free: int, n_must: int, most: int | None) -> Any:
        """Set the supplies of ``source`` and the sink after it for ``objective``, and solve."""
        sink = source + 1
        if objective == "score":
            # a free lead may stay unassigned through the bypass at cost 0
            network.add_arc_with_capacity_and_unit_cost(source, sink, n_free, 0)
            network.set_node_supply(source, n_free)
            network.set_node_supply(sink, -(n_free + n_must))
            return network.solve()
        if n_must == 0:
            network.set_node_supply(source, n_free)
            network.set_node_supply(sink, -n_free)
            return network.solve_max_flow_with_min_cost()
        if most is None:  # every lead in the network must be assigned
            network.set_node_supply(sink, -n_must)
            return network.solve()
        network.set_node_supply(source, most - n_must)
        network.set_node_supply(sink, -most)
        return network.solve()

    @staticmethod
    def _max_flow(lead: NDArray[np.int64], rep: NDArray[np.int64], free_leads: NDArray[np.int64],
                  must_leads: NDArray[np.int64], room: NDArray[np.int64], n_leads: int, n_reps: int) -> int:
        """Most leads the network can place at once (must-assign or not)."""
        from ortools.graph.python import max_flow

        source, sink = n_leads + n_reps, n_leads + n_reps + 1
        starts = np.concatenate((free_leads, must_leads)).astype(np.int32)
        network = max_flow.SimpleMaxFlow()
        heads = rep.astype(np.int32)
        heads += n_leads
        network.add_arcs_with_capacity(lead.astype(np.int32), heads, np.ones(lead.size, np.int64))
        network.add_arcs_with_capacity(np.full(starts.size, source, np.int32), starts,
                                       np.ones(starts.size, np.int64))
        network.add_arcs_with_capacity(np.arange(n_leads, n_leads + n_reps, dtype=np.int32),
                                       np.full(n_reps, sink, np.int32), room.astype(np.int64))
        network.solve(source, sink)
        return int(network.optimal_flow())

    @staticmethod
    def _rounding_note(costs: IntegerCosts, comparable: int) -> str:
        if costs.scale == 1.0 and costs.exact:
            return "integer scores, no rounding"
        power = round(math.log2(costs.scale))
        if costs.exact:
            return f"scores scaled by 2^{power} to integers without rounding"
        return (f"scores scaled by 2^{power} and rounded to integers; the bound adds the rounding, "
                f"at most {costs.max_error:.3g} per lead ({comparable * costs.max_error:.3g} in all)")
