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
    k = model.row_kind.index(kind)
    stop = model.row_block_start[k + 1] if k + 1 < len(model.row_kind) else model.matrix.shape[0]
    return slice(model.row_block_start[k], stop)


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
