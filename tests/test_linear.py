"""fairassign.linear: the matrix form of a batch, and its LP relaxation."""

from __future__ import annotations

import numpy as np
import pytest

import fairassign as fa
from fairassign.linear import build_linear_model, solve_lp
from fairassign.rules import bind
from oracle import brute_force


@pytest.fixture
def problem() -> fa.Problem:
    score = np.array([[3.0, 1.0, np.nan], [2.0, 2.0, 2.0], [np.nan, 5.0, 1.0]])
    return fa.Problem(score=score, capacity=[1, np.inf, 1], value=[1.0, 2.0, 4.0], effort=[1.0, 2.0, 1.0])


def block(model: fa.linear.LinearModel, kind: str) -> slice:
    return model.block(kind)


COMPACT = {"fold_fixed_total": True, "merge_unit_capacity": True, "merge_fair": True, "assigned_row": True}


def test_capacity_only_model(problem: fa.Problem) -> None:
    model = build_linear_model(problem, bind(problem))
    assert model.n_x == problem.n_pairs == 7 and model.n_vars == 7
    assert model.row_kind == ("lead", "capacity")  # rep 1 has infinite capacity: no row
    dense = model.matrix.toarray()
    np.testing.assert_array_equal(dense[block(model, "lead")], [[1, 1, 0, 0, 0, 0, 0],
                                                                [0, 0, 1, 1, 1, 0, 0],
                                                                [0, 0, 0, 0, 0, 1, 1]])
    np.testing.assert_array_equal(dense[block(model, "capacity")], [[1, 0, 2, 0, 0, 0, 0],
                                                                    [0, 0, 0, 0, 2, 0, 1]])
    np.testing.assert_array_equal(model.row_lower, [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(model.row_upper, [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(model.score, problem.pair_score)
    np.testing.assert_array_equal(model.count, np.ones(7))
    np.testing.assert_array_equal(model.var_upper, np.ones(7))


def test_rules_add_rows(problem: fa.Problem) -> None:
    constraints = [fa.AssignAll(), fa.CountBand(lower=[0, 1, 0]), fa.ValueBand(upper=[10, 3, np.inf]),
                   fa.FairShare(0.5, weight=[1, 1, 2]), fa.Forbid([(1, 1)])]
    rules = bind(problem, constraints)
    model = build_linear_model(problem, rules)
    assert model.n_x == 6 and model.n_vars == 7  # one forbidden pair gone, plus V
    assert model.row_kind == ("lead", "capacity", "count", "value", "total", "fair_high", "fair_low")
    np.testing.assert_array_equal(model.row_lower[block(model, "lead")], [1, 1, 1])
    assert model.row_upper[block(model, "count")].tolist() == [np.inf]
    assert model.row_upper[block(model, "value")].tolist() == [10, 3]
    dense = model.matrix.toarray()
    np.testing.assert_array_equal(dense[block(model, "total")], [[1, 1, 2, 2, 4, 4, -1]])
    high = dense[block(model, "fair_high")]
    np.testing.assert_allclose(high[:, -1], [-0.375, -0.375, -0.75])
    np.testing.assert_allclose(dense[block(model, "fair_low")][:, -1], [-0.125, -0.125, -0.25])
    assert np.isinf(model.var_upper[-1])


def test_must_assign_lead_without_pairs_leaves_an_unsatisfiable_row() -> None:
    problem = fa.Problem(score=[[np.nan], [1.0]], capacity=[1])
    model = build_linear_model(problem, bind(problem, [fa.AssignAll()]))
    rows = block(model, "lead")
    assert model.matrix.toarray()[rows].tolist() == [[0.0], [1.0]]
    assert model.row_lower[rows].tolist() == [1.0, 1.0]
    assert solve_lp(model, model.score).status == "infeasible"


def test_rep_of_from_x(problem: fa.Problem) -> None:
    model = build_linear_model(problem, bind(problem))
    x = np.zeros(model.n_vars)
    x[[1, 4, 5]] = [1.0, 0.6, 0.4]
    assert model.rep_of(x, problem).tolist() == [1, 2, -1]


def test_lp_value_bounds_the_integer_optimum(problem: fa.Problem) -> None:
    for constraints in ([], [fa.AssignAll()], [fa.FairShare(1.0, weight=[1, 1, 1])], [fa.CountBand(upper=1)]):
        model = build_linear_model(problem, bind(problem, constraints))
        lp = solve_lp(model, model.score)
        oracle = brute_force(problem, constraints)
        assert lp.status == "optimal" and lp.x is not None and lp.value is not None
        assert lp.value >= oracle.best_score - 1e-9
        assert model.score @ lp.x == pytest.approx(lp.value)
        with_count = solve_lp(model, model.score, min_assigned=oracle.count)
        assert with_count.value is not None and with_count.value >= oracle.score - 1e-9


def test_lp_min_assigned_can_make_it_infeasible(problem: fa.Problem) -> None:
    model = build_linear_model(problem, bind(problem))
    assert solve_lp(model, model.score, min_assigned=4).status == "infeasible"


def test_lp_of_an_empty_model() -> None:
    problem = fa.Problem(score=[[np.nan]], capacity=[1])
    model = build_linear_model(problem, bind(problem))
    lp = solve_lp(model, model.score)
    assert model.n_vars == 0 and lp.status == "optimal" and lp.value == 0.0


def test_lp_of_an_empty_model_that_must_assign() -> None:
    problem = fa.Problem(score=[[np.nan]], capacity=[1])
    model = build_linear_model(problem, bind(problem, [fa.AssignAll()]))
    assert model.n_vars == 0 and solve_lp(model, model.score).status == "infeasible"
    empty = build_linear_model(problem, bind(problem))
    assert solve_lp(empty, empty.score, min_assigned=1).status == "infeasible"


def test_block_and_kind_of_rows(problem: fa.Problem) -> None:
    model = build_linear_model(problem, bind(problem, [fa.FairShare(0.5, weight=[1, 1, 2])]))
    kinds = model.kind_of_rows()
    assert kinds.size == model.matrix.shape[0] == model.row_lower.size
    for kind in model.row_kind:
        rows = model.block(kind)
        assert set(kinds[rows].tolist()) == {kind}
    assert kinds.tolist() == ["lead"] * 3 + ["capacity"] * 2 + ["total"] + ["fair_high"] * 3 + ["fair_low"] * 3


def test_fold_fixed_total_makes_fair_shares_value_bands(problem: fa.Problem) -> None:
    constraints = [fa.AssignAll(), fa.ValueBand(upper=[10, 2, np.inf]), fa.FairShare(0.5, weight=[1, 1, 2])]
    model = build_linear_model(problem, bind(problem, constraints), fold_fixed_total=True)
    assert model.n_vars == model.n_x == 7  # V = 1 + 2 + 4 is a constant: no column
    assert model.row_kind == ("lead", "capacity", "value+fair")
    rows = block(model, "value+fair")
    # shares 1/4, 1/4, 1/2 of V = 7, within 50%; rep 1's band (2) is tighter than its share
    np.testing.assert_allclose(model.row_lower[rows], [0.875, 0.875, 1.75])
    np.testing.assert_allclose(model.row_upper[rows], [2.625, 2.0, 5.25])
    np.testing.assert_array_equal(model.matrix.toarray()[rows], [[1, 0, 2, 0, 0, 0, 0],
                                                                 [0, 1, 0, 2, 0, 4, 0],
                                                                 [0, 0, 0, 0, 2, 0, 4]])
    # without AssignAll the total is not fixed: the option changes nothing
    open_rules = bind(problem, constraints[1:])
    kept = build_linear_model(problem, open_rules, fold_fixed_total=True)
    assert kept.row_kind == build_linear_model(problem, open_rules).row_kind


def test_merge_unit_capacity_shares_the_count_band_row() -> None:
    problem = fa.Problem(score=[[1.0, 2.0], [3.0, np.nan], [1.0, 1.0]], capacity=[2, np.inf])
    rules = bind(problem, [fa.CountBand(lower=[1, 1], upper=[3, 1])])
    model = build_linear_model(problem, rules, merge_unit_capacity=True)
    assert model.row_kind == ("lead", "capacity+count")
    rows = block(model, "capacity+count")
    assert model.row_lower[rows].tolist() == [1, 1] and model.row_upper[rows].tolist() == [2, 1]
    np.testing.assert_array_equal(model.matrix.toarray()[rows], [[1, 0, 1, 1, 0], [0, 1, 0, 0, 1]])
    assert build_linear_model(problem, rules).row_kind == ("lead", "capacity", "count")


def test_merge_unit_capacity_keeps_effort_rows_apart(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.CountBand(upper=2)])
    model = build_linear_model(problem, rules, merge_unit_capacity=True)  # effort is per lead here
    assert model.row_kind == ("lead", "capacity", "count")


def test_merge_fair_keeps_the_tightest_shares(problem: fa.Problem) -> None:
    rules = bind(problem, [fa.FairShare(0.5, weight=[1, 1, 2]), fa.FairShare(0.2, weight=[2, 1, 1])])
    model = build_linear_model(problem, rules, merge_fair=True)
    assert model.row_kind == ("lead", "capacity", "fair_high", "fair_low", "total")
    dense = model.matrix.toarray()
    high = np.minimum([0.375, 0.375, 0.75], [0.6, 0.3, 0.3])
    low = np.maximum([0.125, 0.125, 0.25], [0.4, 0.2, 0.2])
    np.testing.assert_allclose(dense[block(model, "fair_high")][:, -1], -high)
    np.testing.assert_allclose(dense[block(model, "fair_low")][:, -1], -low)
    assert model.var_upper[-1] == 7.0  # V is at most the value of every lead


def test_assigned_row_sums_every_x(problem: fa.Problem) -> None:
    model = build_linear_model(problem, bind(problem, [fa.FairShare(0.5, weight=[1, 1, 2])]),
                               assigned_row=True)
    assert model.row_kind[-1] == "assigned"
    rows = block(model, "assigned")
    assert model.matrix.toarray()[rows].tolist() == [[1.0] * 7 + [0.0]]
    assert model.row_lower[rows].tolist() == [-np.inf] and model.row_upper[rows].tolist() == [np.inf]


@pytest.mark.parametrize("seed", range(6))
def test_compact_options_keep_the_lp_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    score = rng.uniform(0.0, 5.0, size=(12, 4))
    score[rng.uniform(size=score.shape) < 0.4] = np.nan
    score[:, seed % 4] = rng.uniform(0.0, 5.0, size=12)  # every lead has a pair
    effort = None if seed % 2 else rng.uniform(0.5, 2.0, size=12)
    problem = fa.Problem(score=score, capacity=rng.integers(3, 8, size=4), value=rng.lognormal(size=12),
                         effort=effort)
    fair = [fa.FairShare(0.6), fa.FairShare(0.8, weight=[1, 2, 3, 4])]
    for constraints in ([], fair, [fa.AssignAll(), *fair], [fa.CountBand(lower=1, upper=5), *fair],
                        [fa.AssignAll(), fa.ValueBand(upper=np.full(4, 20.0))]):
        rules = bind(problem, constraints)
        full = build_linear_model(problem, rules)
        compact = build_linear_model(problem, rules, **COMPACT)
        assert compact.matrix.shape[0] <= full.matrix.shape[0] + 1
        for objective in ("score", "count"):
            a = solve_lp(full, getattr(full, objective))
            b = solve_lp(compact, getattr(compact, objective))
            assert a.status == b.status
            if a.value is not None and b.value is not None:
                assert b.value == pytest.approx(a.value, rel=1e-7, abs=1e-7)
