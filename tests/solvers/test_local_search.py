"""The generalized-assignment local search: it keeps every rule, never lowers the score it was
given, hands other batches back unchanged, is deterministic, and finds the brute-force optimum
of tiny GAP batches."""

from __future__ import annotations

import functools
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.rules import bind
from fairassign.solvers import local_search, neighbourhood
from fairassign.solvers.base import SolveRequest
from fairassign.solvers.local_search import (
    FEWEST_ITERATIONS,
    WORK_BUDGET,
    _Search,
    applies,
    default_iterations,
    improve,
)
from fairassign.solvers.neighbourhood import exchange, restricted
from fairassign.solvers.repair import repair
from strategies import Case, cases, seeds

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from gap_instances import GapInstance, generate, to_problem


def _random_start(problem: fa.Problem, constraints: tuple[fa.Constraint, ...], seed: int) -> np.ndarray | None:
    """A rule-keeping assignment to start from (repair of a random one), or None when none is found."""
    rng = np.random.default_rng(seed)
    start = rng.integers(-1, problem.n_reps, size=problem.n_leads).astype(np.int64)
    return repair(problem, bind(problem, constraints), start, SolveRequest(seed=seed))


@given(case=cases(capacity_only=False), seed=seeds, iterations=st.integers(0, 60))
def test_the_search_keeps_every_rule_and_never_lowers_the_score(case: Case, seed: int, iterations: int) -> None:
    problem, constraints = case.problem, case.constraints
    start = _random_start(problem, constraints, seed)
    if start is None:
        return
    rules = bind(problem, constraints)
    result = improve(problem, rules, start, seed=seed, iterations=iterations)
    assert fa.verify(problem, result.rep_of, constraints) == []
    np.testing.assert_array_equal(result.rep_of >= 0, start >= 0)  # the same leads stay assigned
    assert result.score >= problem.total_score(start) - 1e-12 * max(1.0, abs(problem.total_score(start)))
    assert result.score == pytest.approx(problem.total_score(result.rep_of))
    if not applies(problem, rules):
        np.testing.assert_array_equal(result.rep_of, start)


@given(case=cases(capacity_only=False), seed=seeds)
def test_a_rule_breaking_start_comes_back_unchanged(case: Case, seed: int) -> None:
    problem, constraints = case.problem, case.constraints
    rng = np.random.default_rng(seed)
    start = rng.integers(-1, problem.n_reps, size=problem.n_leads).astype(np.int64)
    result = improve(problem, bind(problem, constraints), start, seed=seed)
    if fa.verify(problem, start, constraints):
        np.testing.assert_array_equal(result.rep_of, start)
        assert not result.improved


def _repaired_start(kind: str, n_leads: int, n_reps: int, seed: int) -> tuple[
        GapInstance, fa.Problem, tuple[fa.Constraint, ...], fa.rules.Rules, np.ndarray]:
    """A seeded GAP instance, its batch and rules, and the repair's rule-keeping start."""
    instance = generate(kind, n_leads, n_reps, seed=seed)
    problem, constraints = to_problem(instance)
    rules = bind(problem, constraints)
    start = repair(problem, rules, np.full(problem.n_leads, -1, np.int64), SolveRequest())
    assert start is not None
    return instance, problem, constraints, rules, start


def _brute_force_gap(cost: np.ndarray, effort: np.ndarray, capacity: np.ndarray) -> float:
    """Least cost of assigning every job (row) to one agent (column) within capacity; inf when none."""
    n, m = cost.shape
    best = np.inf
    for choice in itertools.product(range(m), repeat=n):
        rows = np.arange(n)
        pick = np.asarray(choice)
        load = np.bincount(pick, weights=effort[rows, pick], minlength=m)
        if np.all(load <= capacity):
            best = min(best, float(cost[rows, pick].sum()))
    return best


@pytest.mark.parametrize("kind", ["c", "d", "e"])
@pytest.mark.parametrize("seed", range(6))
def test_tiny_gap_batches_reach_the_brute_force_optimum(kind: str, seed: int) -> None:
    instance = generate(kind, 7, 3, seed=seed)
    problem, constraints = to_problem(instance)
    optimum = _brute_force_gap(instance.cost.astype(float), instance.effort.astype(float),
                               instance.capacity.astype(float))
    if not np.isfinite(optimum):
        return
    rules = bind(problem, constraints)
    start = repair(problem, rules, np.full(problem.n_leads, -1, np.int64), SolveRequest())
    assert start is not None
    result = improve(problem, rules, start, seed=seed)
    assert fa.verify(problem, result.rep_of, constraints) == []
    assert instance.total_cost(result.rep_of) == optimum


@pytest.mark.parametrize("solver", ["greedy", "lp-round"])
def test_the_heuristics_land_within_one_percent_on_a_small_type_e_batch(solver: str) -> None:
    instance = generate("e", 40, 4, seed=3)
    problem, constraints = to_problem(instance)
    result = fa.solve(problem, constraints, solver=solver)
    exact = fa.solve(problem, constraints, solver="mip", time_limit=60)
    assert result.status.has_solution and exact.status is fa.Status.OPTIMAL
    assert result.violations == ()
    assert instance.total_cost(result.rep_of) <= 1.01 * instance.total_cost(exact.rep_of)


def test_the_same_seed_gives_the_same_answer() -> None:
    _instance, problem, _constraints, rules, start = _repaired_start("d", 40, 5, seed=1)
    first = improve(problem, rules, start, seed=5, iterations=300)
    second = improve(problem, rules, start.copy(), seed=5, iterations=300)
    np.testing.assert_array_equal(first.rep_of, second.rep_of)
    assert first.iterations == second.iterations == 300


def test_it_improves_a_type_d_start_and_reports_it() -> None:
    instance, problem, constraints, rules, start = _repaired_start("d", 60, 5, seed=2)
    result = improve(problem, rules, start, iterations=500)
    assert result.improved and result.score > result.start_score
    assert instance.total_cost(result.rep_of) < instance.total_cost(start)
    assert fa.verify(problem, result.rep_of, constraints) == []


def test_sparse_eligibility_uses_the_sorted_keys_and_keeps_the_rules() -> None:
    """Half the pairs missing (no lookup table) and a count cap: the search keeps both."""
    rng = np.random.default_rng(11)
    n, m = 30, 6
    score = rng.normal(size=(n, m))
    score[rng.random((n, m)) < 0.6] = np.nan
    score[np.arange(n), rng.integers(0, m, n)] = 0.0  # every lead keeps a candidate
    effort = rng.uniform(0.5, 2.0, size=(n, m))
    problem = fa.Problem(score=score, capacity=np.full(m, 9.0), effort=effort)
    constraints = (fa.AssignAll(), fa.CountBand(upper=7))
    rules = bind(problem, constraints)
    start = repair(problem, rules, np.full(n, -1, np.int64), SolveRequest())
    assert start is not None
    result = improve(problem, rules, start, iterations=200)
    assert fa.verify(problem, result.rep_of, constraints) == []
    assert result.score >= problem.total_score(start)


def test_fair_share_batches_are_handed_back_unchanged() -> None:
    instance = generate("c", 20, 3, seed=0)
    problem, _ = to_problem(instance)
    constraints = (fa.AssignAll(), fa.FairShare(0.5))
    rules = bind(problem, constraints)
    assert not applies(problem, rules)
    start = np.arange(problem.n_leads, dtype=np.int64) % problem.n_reps
    result = improve(problem, rules, start)
    np.testing.assert_array_equal(result.rep_of, start)
    assert result.iterations == 0


def test_a_deadline_in_the_past_stops_at_once_with_the_start() -> None:
    _instance, problem, _constraints, rules, start = _repaired_start("d", 30, 3, seed=0)
    result = improve(problem, rules, start, deadline=0.0)
    assert result.stopped_by_time and result.iterations == 0
    np.testing.assert_array_equal(result.rep_of, start)


def test_the_default_budget_grows_with_the_batch_and_stops_on_huge_batches() -> None:
    small = default_iterations(10, 30, 45, 500)
    assert small == FEWEST_ITERATIONS  # tiny batches stay quick
    assert default_iterations(200, 4_000, 19_900, 25_000) == 10 * 200
    # more leads, more iterations, until the total work caps it
    assert default_iterations(1_600, 128_000, 10_000, 80_000) > default_iterations(400, 16_000, 10_000, 50_000)
    assert default_iterations(1_600, 128_000, 10_000, 80_000) * (128_000 + 10_000 + 80_000) <= WORK_BUDGET
    assert default_iterations(1_000_000, 10_000_000, 10_000) == 0  # too few iterations to matter: skipped


def _penalised(search: _Search) -> float:
    return search.total - float(search.price @ search.overload())


@pytest.mark.parametrize("kind", ["d", "e"])
def test_chain_moves_are_valued_as_applying_them_values_them(kind: str) -> None:
    """Every ejection chain's score change, overload change and penalised value equal what
    making its shifts one by one gives, and it keeps each rep's count but the first and last."""
    _instance, problem, _constraints, rules, start = _repaired_start(kind, 30, 4, seed=2)
    leads = np.flatnonzero(start >= 0)
    search = _Search(problem, rules, start, problem.pair_index(leads, start[leads]), seed=0)
    search.price = np.random.default_rng(1).uniform(0.2, 3.0, problem.n_reps)
    path, gain, value, change = search.chains(width=16, depth=3)
    assert path.shape[0] > 0
    saved = (search.current.copy(), search.rep_of_lead.copy(), search.load.copy(), search.count.copy(),
             search.total, search.tabu_until.copy())
    before, over_before, count_before = _penalised(search), float(search.overload().sum()), search.count.copy()
    for row in range(path.shape[0]):
        steps = [int(step) for step in path[row] if step >= 0]
        assert len(steps) >= 2
        reps = [int(search.rep_of_lead[search.lead[steps[0]]])] + [int(search.rep[step]) for step in steps]
        assert len(set(reps)) == len(reps)  # a chain visits distinct reps
        for step in steps:
            search.move(step, 1)
        assert search.total - saved[4] == pytest.approx(gain[row])
        assert float(search.overload().sum()) - over_before == pytest.approx(change[row], abs=1e-6)
        assert _penalised(search) - before == pytest.approx(value[row], abs=1e-6)
        moved = np.flatnonzero(search.count != count_before)
        assert set(moved.tolist()) == {reps[0], reps[-1]}
        (search.current, search.rep_of_lead, search.load, search.count, search.total,
         search.tabu_until) = (saved[0].copy(), saved[1].copy(), saved[2].copy(), saved[3].copy(), saved[4],
                               saved[5].copy())


def test_a_far_start_reaches_the_dual_pick_quality() -> None:
    """From a poor feasible start the search begins at the pick of the capacity prices' dual and
    lands within 1% of the proven optimum; a deterministic count-based budget, same seed same answer."""
    instance = generate("d", 40, 4, seed=1)
    problem, constraints = to_problem(instance)
    rules = bind(problem, constraints)
    # a poor start: the repair of every lead on its most expensive feasible rep
    start = repair(problem, rules, np.argmax(instance.cost, axis=1).astype(np.int64),
                   SolveRequest())
    assert start is not None
    first = improve(problem, rules, start, seed=3)
    second = improve(problem, rules, start.copy(), seed=3)
    np.testing.assert_array_equal(first.rep_of, second.rep_of)
    assert fa.verify(problem, first.rep_of, constraints) == []
    assert instance.total_cost(first.rep_of) <= 1.01 * _D40X4_OPTIMUM[1]


def test_count_bands_keep_the_callers_start_and_hold() -> None:
    """A binding count band: no dual start (it ignores bands); the search still keeps the band."""
    instance = generate("e", 30, 3, seed=4)
    problem, _ = to_problem(instance)
    constraints = (fa.AssignAll(), fa.CountBand(lower=8, upper=12))
    rules = bind(problem, constraints)
    start = repair(problem, rules, np.full(problem.n_leads, -1, np.int64), SolveRequest())
    assert start is not None
    result = improve(problem, rules, start, seed=0)
    assert fa.verify(problem, result.rep_of, constraints) == []
    counts = np.bincount(result.rep_of, minlength=problem.n_reps)
    assert counts.min() >= 8 and counts.max() <= 12
    assert result.score >= problem.total_score(start)


#: optimal costs of generate("d", 40, 4, seed) for seeds 0, 1, 2, proven by fa.solve(solver="mip")
_D40X4_OPTIMUM = {0: 2601.0, 1: 2538.0, 2: 2598.0}


@pytest.mark.parametrize("seed", sorted(_D40X4_OPTIMUM))
def test_type_d_starts_end_within_one_percent_of_the_proven_optimum(seed: int) -> None:
    """Type d (the cheap pairs are the heavy ones): the capacity prices must let the search reach
    feasible states; with the old prices it hovered just over capacity."""
    instance, problem, constraints, rules, start = _repaired_start("d", 40, 4, seed=seed)
    result = improve(problem, rules, start, seed=0)
    assert fa.verify(problem, result.rep_of, constraints) == []
    cost = instance.total_cost(result.rep_of)
    assert _D40X4_OPTIMUM[seed] <= cost <= 1.01 * _D40X4_OPTIMUM[seed]


def test_the_tracked_gap_reference_is_the_default_and_consistent() -> None:
    import gap

    assert gap.REFERENCE.name == "gap_reference.csv" and gap.REFERENCE.exists()
    sources: dict[str, str] = {}
    known = gap.read_reference(gap.REFERENCE, sources)
    assert {"d200x20/0", "e200x20/0", "a100x5/0"} <= set(known)
    for key, (cost, bound) in known.items():
        assert cost is not None and bound is not None, key
        assert bound <= cost, key  # a proven lower bound never exceeds a reached cost
        assert sources.get(key), key  # every figure says where it came from


def test_the_gap_reference_round_trips_and_keeps_sources(tmp_path: Path) -> None:
    import gap

    path = tmp_path / "reference.csv"
    known = {"d10x2/0": (101.0, 99.5), "a10x2/0": (50.0, None)}
    gap.write_reference(path, known, {"d10x2/0": "a test, with a comma"})
    sources: dict[str, str] = {}
    assert gap.read_reference(path, sources) == known
    assert sources == {"d10x2/0": "a test, with a comma"}
    assert gap.read_reference(tmp_path / "missing.csv") == {}


def test_the_gap_reference_keeps_a_figure_a_run_only_recomputes() -> None:
    import gap

    known = (176614.0, 176469.7038)  # as the file stores it: 10 significant digits
    # the same LP bound recomputed in full precision is no news; a higher bound or a lower cost is
    assert gap._merge(known, 176614.0, 176469.70379999) == known
    assert gap._merge(known, 176615.0, 176469.703801) == known
    assert gap._merge(known, 176613.0, 176470.5) == (176613.0, 176470.5)
    assert gap._merge((None, None), 5.0, None) == (5.0, None)
    assert gap._merge((5.0, 4.0), None, None) == (5.0, 4.0)


def test_the_search_stops_at_once_when_the_start_reaches_the_ceiling() -> None:
    problem = fa.Problem(score=[[4.0, 1.0], [3.0, 2.0]], capacity=[2.0, 2.0], effort=[[2.0, 1.0], [1.0, 2.0]])
    rules = bind(problem, [fa.AssignAll()])
    best = np.array([0, 1])  # score 6, the optimum
    # integer scores: a ceiling of 6.7 leaves nothing better than 6
    stopped = improve(problem, rules, best, ceiling=6.7)
    assert stopped.iterations == 0 and stopped.rep_of.tolist() == [0, 1]
    assert improve(problem, rules, best).iterations > 0  # without it, the budget is spent
    # from a worse start the search still finds the optimum and then stops
    assert improve(problem, rules, np.array([1, 0]), ceiling=6.0).rep_of.tolist() == [0, 1]


def _exchange_from(problem: fa.Problem, rules: fa.rules.Rules, start: np.ndarray, seed: int,
                   max_solves: int | None = None) -> tuple[np.ndarray, float]:
    """:func:`exchange` on the search's view of ``start``; the assignment it gives and its gain."""
    search = _view(problem, rules, start, seed)
    result = exchange(search.lead, search.rep, search.score, search.effort, search.lead_start, search.capacity,
                      search.count_lower, search.count_upper, search.current, seed=seed, max_solves=max_solves)
    return _placed(start, search, result.current), result.gain


def _view(problem: fa.Problem, rules: fa.rules.Rules, start: np.ndarray, seed: int) -> _Search:
    """The search's working view of ``start``, which must keep every rule."""
    kept, pairs = local_search._keeps(problem, rules, start)
    assert kept
    return _Search(problem, rules, start, pairs, seed)


def _placed(start: np.ndarray, search: _Search, current: np.ndarray) -> np.ndarray:
    """``start`` with the search's leads on the reps of ``current`` (a candidate per local lead)."""
    rep_of = start.copy()
    rep_of[search.leads] = search.rep[current]
    return rep_of


@given(case=cases(capacity_only=False), seed=seeds)
def test_the_exact_neighbourhood_keeps_every_rule_and_never_loses_score(case: Case, seed: int) -> None:
    problem, constraints = case.problem, case.constraints
    rules = bind(problem, constraints)
    start = _random_start(problem, constraints, seed)
    if start is None or not applies(problem, rules) or not np.any(start >= 0):
        return
    with pytest.MonkeyPatch.context() as patch:  # tiny batches: let groups form on 2-3 reps
        patch.setattr(neighbourhood, "FEWEST_REPS", 2)
        rep_of, gain = _exchange_from(problem, rules, start, seed, max_solves=6)
    assert fa.verify(problem, rep_of, constraints) == []
    np.testing.assert_array_equal(rep_of >= 0, start >= 0)  # the same leads stay assigned
    before = problem.total_score(start)
    assert problem.total_score(rep_of) >= before - 1e-12 * max(1.0, abs(before))
    assert problem.total_score(rep_of) == pytest.approx(before + gain)


@functools.cache
def _stuck(kind: str, n_leads: int, n_reps: int, seed: int) -> tuple[
        GapInstance, fa.Problem, tuple[fa.Constraint, ...], fa.rules.Rules, np.ndarray]:
    """:func:`_repaired_start`'s batch and the tabu search's answer alone from its start, with ten
    times its default moves (it ends at its stall count first)."""
    instance, problem, constraints, rules, start = _repaired_start(kind, n_leads, n_reps, seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local_search, "EXCHANGE", False)
        patch.setattr(local_search, "RESTRICTED", False)
        stuck = improve(problem, rules, start, seed=0, iterations=3000)
    stuck.rep_of.flags.writeable = False  # shared by the tests that call it
    return instance, problem, constraints, rules, stuck.rep_of


def test_the_exact_neighbourhood_frees_the_tabu_search_where_it_is_stuck() -> None:
    """Type d 40 x 10: where the tabu search levels off, reassigning small groups of reps exactly
    still finds a better assignment (on seed 1 here; which seeds do depends on the numerics of
    the versions installed, so four are tried)."""
    gains = []
    for seed in range(4):
        _instance, problem, constraints, rules, stuck = _stuck("d", 40, 10, seed)
        freed, gain = _exchange_from(problem, rules, stuck, seed=0)
        assert fa.verify(problem, freed, constraints) == []
        assert problem.total_score(freed) == pytest.approx(problem.total_score(stuck) + gain)
        gains.append(gain)
    assert max(gains) > 0


def test_the_exact_neighbourhood_is_deterministic() -> None:
    _instance, problem, _constraints, rules, start = _repaired_start("d", 30, 10, seed=1)
    first, first_gain = _exchange_from(problem, rules, start, seed=4, max_solves=4)
    second, second_gain = _exchange_from(problem, rules, start.copy(), seed=4, max_solves=4)
    np.testing.assert_array_equal(first, second)
    assert first_gain == second_gain > 0
    one, two = improve(problem, rules, start, seed=0), improve(problem, rules, start.copy(), seed=0)
    np.testing.assert_array_equal(one.rep_of, two.rep_of)
    assert one.exchanges == two.exchanges > 0


def _restricted_from(problem: fa.Problem, rules: fa.rules.Rules, start: np.ndarray, price: np.ndarray | None = None,
                     **options: int) -> tuple[np.ndarray, float, np.ndarray]:
    """:func:`restricted` on the search's view of ``start`` at ``price`` (default: the search's
    dual prices); the assignment it gives, its gain, and the pairs it could use per lead."""
    search = _view(problem, rules, start, seed=0)
    held = search.current.copy()
    if price is None:
        search.relaxed_start(local_search.DUAL_STEPS, search.total)
        price = search.dual_price
    result = restricted(search.lead, search.rep, search.score, search.effort, search.lead_start, search.capacity,
                        search.count_lower, search.count_upper, held, price=price, **options)
    rep_of = _placed(start, search, result.current)
    # the pairs it may use: each lead's per_lead best by reduced score, and the one it held
    per_lead = options.get("per_lead", neighbourhood.RESTRICTED_PER_LEAD)
    reduced = search.score - price[search.rep] * search.effort
    usable = np.zeros(search.pair.size, bool)
    for lead in range(search.leads.size):
        own = np.arange(search.lead_start[lead], search.lead_start[lead + 1])
        usable[own[np.argsort(-reduced[own], kind="stable")[:per_lead]]] = True
    usable[held] = True
    allowed = np.full((problem.n_leads, problem.n_reps), False)
    allowed[search.leads[search.lead[usable]], search.rep[usable]] = True
    return rep_of, result.gain, allowed


@given(case=cases(capacity_only=False), seed=seeds, per_lead=st.integers(1, 3))
def test_the_restricted_mip_keeps_every_rule_and_only_uses_each_leads_best_reps(case: Case, seed: int,
                                                                              per_lead: int) -> None:
    problem, constraints = case.problem, case.constraints
    rules = bind(problem, constraints)
    start = _random_start(problem, constraints, seed)
    if start is None or not applies(problem, rules) or not np.any(start >= 0):
        return
    price = np.random.default_rng(seed).random(problem.n_reps)
    with pytest.MonkeyPatch.context() as patch:  # tiny batches: let it run on 2 reps
        patch.setattr(neighbourhood, "FEWEST_REPS", 2)
        rep_of, gain, allowed = _restricted_from(problem, rules, start, price, per_lead=per_lead)
    assert fa.verify(problem, rep_of, constraints) == []
    np.testing.assert_array_equal(rep_of >= 0, start >= 0)  # the same leads stay assigned
    assigned = np.flatnonzero(rep_of >= 0)
    assert allowed[assigned, rep_of[assigned]].all()
    before = problem.total_score(start)
    assert gain >= 0 and problem.total_score(rep_of) == pytest.approx(before + gain)


@pytest.mark.parametrize("kind", ["c", "d", "e"])
def test_the_restricted_mip_over_every_rep_is_the_brute_force_optimum(kind: str) -> None:
    """With every rep kept per lead it is the whole GAP as one MIP: from the repair's start it
    reaches the optimum (or, already there, hands the start back). Seeds without a feasible
    assignment are passed over; four are checked."""
    checked = 0
    for seed in itertools.count():
        if checked == 4:
            break
        instance = generate(kind, 7, 3, seed=seed)
        optimum = _brute_force_gap(instance.cost.astype(float), instance.effort.astype(float),
                                   instance.capacity.astype(float))
        if not np.isfinite(optimum):
            continue
        _instance, problem, constraints, rules, start = _repaired_start(kind, 7, 3, seed)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(neighbourhood, "FEWEST_REPS", 2)
            rep_of, gain, _allowed = _restricted_from(problem, rules, start, np.zeros(3), per_lead=3,
                                                      node_limit=10_000)
        assert fa.verify(problem, rep_of, constraints) == []
        assert instance.total_cost(rep_of) == optimum
        assert (gain > 0) == (instance.total_cost(start) > optimum)
        checked += 1


def test_the_restricted_mip_frees_the_tabu_search_where_it_is_stuck() -> None:
    """Type d 40 x 10: where the tabu search levels off, the MIP over each lead's three best reps
    at the dual prices finds a better assignment (on some of four seeds, as above)."""
    gains = []
    for seed in range(4):
        _instance, problem, constraints, rules, stuck = _stuck("d", 40, 10, seed)
        freed, gain, _allowed = _restricted_from(problem, rules, stuck)
        assert fa.verify(problem, freed, constraints) == []
        gains.append(gain)
    assert max(gains) > 0


def test_the_restricted_mip_is_deterministic_and_skips_batches_over_its_size() -> None:
    _instance, problem, _constraints, rules, stuck = _stuck("d", 40, 10, seed=1)
    first, first_gain, _ = _restricted_from(problem, rules, stuck)
    second, second_gain, _ = _restricted_from(problem, rules, stuck.copy())
    np.testing.assert_array_equal(first, second)
    assert first_gain == second_gain
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(neighbourhood, "RESTRICTED_VARIABLES", 50)
        rep_of, gain, _ = _restricted_from(problem, rules, stuck)
    np.testing.assert_array_equal(rep_of, stuck)
    assert gain == 0.0


def test_batches_with_few_reps_are_left_to_the_tabu_search() -> None:
    _instance, problem, _constraints, rules, start = _repaired_start("d", 30, 6, seed=3)
    rep_of, gain = _exchange_from(problem, rules, start, seed=0)
    np.testing.assert_array_equal(rep_of, start)
    assert gain == 0.0 and improve(problem, rules, start).exchanges == 0
