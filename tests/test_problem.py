"""fairassign.problem: building the candidate list, and every validation message."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager

import numpy as np
import pytest
import scipy.sparse as sp

import fairassign as fa
from fairassign.errors import FairAssignError, ValidationError
from fairassign.problem import stack_leads


def raises(message: str) -> AbstractContextManager[pytest.ExceptionInfo[ValidationError]]:
    """``pytest.raises`` for a ValidationError whose message contains ``message`` verbatim."""
    return pytest.raises(ValidationError, match=re.escape(message))



def test_validation_error_is_a_value_error() -> None:
    assert issubclass(ValidationError, ValueError)
    assert issubclass(ValidationError, FairAssignError)
    with pytest.raises(ValueError):
        fa.Problem(score=[1.0, 2.0], capacity=[1])


# ----------------------------------------------------------------------------- candidates
def test_dense_candidates_are_sorted_by_lead_then_rep() -> None:
    score = np.array([[1.0, np.nan, 3.0], [-np.inf, 2.0, 0.0]])
    problem = fa.Problem(score=score, capacity=[1, 1, 1])
    assert problem.pair_lead.tolist() == [0, 0, 1, 1]
    assert problem.pair_rep.tolist() == [0, 2, 1, 2]
    assert problem.pair_score.tolist() == [1.0, 3.0, 2.0, 0.0]
    assert problem.lead_start.tolist() == [0, 2, 4]
    assert problem.lead_degree.tolist() == [2, 2]
    assert problem.pair_lead.dtype == np.int64 and problem.pair_rep.dtype == np.int64
    assert problem.effort_kind == "unit" and problem.pair_effort.tolist() == [1.0] * 4


def test_nan_and_minus_inf_scores_are_not_candidates_but_zero_is() -> None:
    problem = fa.Problem(score=[[np.nan, -np.inf, 0.0]], capacity=[1, 1, 1])
    assert problem.pair_rep.tolist() == [2]


def test_rep_grouping() -> None:
    score = np.array([[1.0, 2.0], [3.0, np.nan], [4.0, 5.0]])
    problem = fa.Problem(score=score, capacity=[3, 3])
    assert problem.rep_start.tolist() == [0, 3, 5]
    by_rep = [problem.rep_order[problem.rep_start[r]:problem.rep_start[r + 1]] for r in range(2)]
    assert problem.pair_lead[by_rep[0]].tolist() == [0, 1, 2]
    assert problem.pair_lead[by_rep[1]].tolist() == [0, 2]
    assert (problem.pair_rep[by_rep[1]] == 1).all()


def test_sparse_stored_entries_are_the_candidates_zeros_included() -> None:
    score = sp.coo_array((np.array([0.0, 2.0, -1.0]), (np.array([1, 0, 1]), np.array([0, 1, 1]))), shape=(3, 2))
    problem = fa.Problem(score=score, capacity=[1, 1])
    assert problem.pair_lead.tolist() == [0, 1, 1]
    assert problem.pair_rep.tolist() == [1, 0, 1]
    assert problem.pair_score.tolist() == [2.0, 0.0, -1.0]
    assert problem.lead_degree.tolist() == [1, 2, 0]


def test_sparse_nan_and_minus_inf_entries_are_dropped() -> None:
    score = sp.csr_array(np.array([[np.nan, 1.0], [-np.inf, 2.0]]))
    problem = fa.Problem(score=score, capacity=[1, 1])
    assert problem.pair_rep.tolist() == [1, 1]


def test_eligible_removes_pairs_dense_and_sparse() -> None:
    score = np.ones((2, 2))
    mask = np.array([[True, False], [False, True]])
    dense = fa.Problem(score=score, capacity=[1, 1], eligible=mask)
    sparse = fa.Problem(score=score, capacity=[1, 1], eligible=sp.csr_array(mask))
    integer = fa.Problem(score=score, capacity=[1, 1], eligible=mask.astype(int))
    for problem in (dense, sparse, integer):
        assert problem.pair_lead.tolist() == [0, 1]
        assert problem.pair_rep.tolist() == [0, 1]


def test_effort_forms() -> None:
    score = np.array([[1.0, 2.0], [np.nan, 3.0]])
    per_lead = fa.Problem(score=score, capacity=[5, 5], effort=[3.0, 1.0])
    assert per_lead.effort_kind == "lead"
    assert per_lead.pair_effort.tolist() == [3.0, 3.0, 1.0]
    assert per_lead.lead_effort is not None and per_lead.lead_effort.tolist() == [3.0, 1.0]
    per_pair = fa.Problem(score=score, capacity=[5, 5], effort=[[1.0, 2.0], [np.nan, 4.0]])
    assert per_pair.effort_kind == "pair" and per_pair.lead_effort is None
    assert per_pair.pair_effort.tolist() == [1.0, 2.0, 4.0]  # NaN outside the candidates is ignored
    sparse = fa.Problem(score=score, capacity=[5, 5],
                        effort=sp.coo_array(([1.0, 2.0, 4.0], ([0, 0, 1], [0, 1, 1])), shape=(2, 2)))
    assert sparse.effort_kind == "pair" and sparse.pair_effort.tolist() == [1.0, 2.0, 4.0]
    ones = fa.Problem(score=score, capacity=[5, 5], effort=[1.0, 1.0])
    assert ones.effort_kind == "unit"


def test_scalar_capacity_and_value_broadcast() -> None:
    problem = fa.Problem(score=np.ones((3, 2)), capacity=2, value=4.0)
    assert problem.capacity.tolist() == [2.0, 2.0]
    assert problem.value.tolist() == [4.0, 4.0, 4.0]


def test_infinite_capacity_is_allowed_and_default_value_is_one() -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[np.inf, 1])
    assert np.isinf(problem.capacity[0])
    assert problem.value.tolist() == [1.0, 1.0]
    assert problem.pair_value.tolist() == [1.0] * 4


def test_arrays_are_read_only() -> None:
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[1, 1])
    for array in (problem.pair_lead, problem.pair_rep, problem.pair_score, problem.pair_effort, problem.capacity,
                  problem.value, problem.lead_ids, problem.rep_ids, problem.lead_start):
        with pytest.raises(ValueError):
            array[0] = 0


def test_input_arrays_are_not_aliased() -> None:
    capacity = np.array([1.0, 2.0])
    value = np.array([1.0, 2.0])
    problem = fa.Problem(score=np.ones((2, 2)), capacity=capacity, value=value)
    capacity[0] = 99.0
    value[0] = 99.0
    assert problem.capacity[0] == 1.0
    assert problem.value[0] == 1.0


def test_ids_and_positions() -> None:
    problem = fa.Problem(score=np.ones((2, 3)), capacity=[1, 1, 1], lead_ids=["a", "b"], rep_ids=[10, 20, 30])
    assert problem.lead_position("b") == 1
    assert problem.rep_position(30) == 2
    with pytest.raises(KeyError):
        problem.lead_position("zzz")
    default = fa.Problem(score=np.ones((2, 3)), capacity=[1, 1, 1])
    assert default.lead_ids.tolist() == [0, 1] and default.rep_ids.tolist() == [0, 1, 2]


def test_pair_index() -> None:
    problem = fa.Problem(score=[[1.0, np.nan], [2.0, 3.0]], capacity=[1, 1])
    assert problem.pair_index([0, 0, 1, 1], [0, 1, 0, 1]).tolist() == [0, -1, 1, 2]


def test_pair_index_is_minus_one_outside_the_rep_range() -> None:
    # (lead 0, rep 2) in a 2-rep batch must not be mistaken for (lead 1, rep 0)
    problem = fa.Problem(score=np.ones((2, 2)), capacity=[1, 1])
    assert problem.pair_index([0, 0, 1], [2, -1, 5]).tolist() == [-1, -1, -1]


def test_dense_score_and_repr() -> None:
    score = np.array([[1.0, np.nan], [2.0, 3.0]])
    problem = fa.Problem(score=score, capacity=[1, 1])
    assert np.array_equal(problem.dense_score(), np.where(np.isnan(score), -np.inf, score))
    assert repr(problem) == "Problem(n_leads=2, n_reps=2, n_pairs=3, effort='unit')"
    assert problem.shape == (2, 2)


def test_empty_batch() -> None:
    problem = fa.Problem(score=np.zeros((0, 2)), capacity=[1, 1])
    assert problem.n_leads == 0 and problem.n_pairs == 0 and problem.lead_start.tolist() == [0]


# ----------------------------------------------------------------------------- messages
def test_score_plus_inf_dense() -> None:
    with raises("score must not be +inf; found at (lead 1, rep 0)"):
        fa.Problem(score=[[1.0, 2.0], [np.inf, 1.0]], capacity=[1, 1])


def test_score_plus_inf_sparse() -> None:
    score = sp.coo_array(([1.0, np.inf], ([0, 1], [1, 0])), shape=(2, 2))
    with raises("score must not be +inf; found at (lead 1, rep 0)"):
        fa.Problem(score=score, capacity=[1, 1])


def test_score_nan_marks_a_pair_not_eligible_rather_than_an_error() -> None:
    problem = fa.Problem(score=[[np.nan, np.nan]], capacity=[1, 1])
    assert problem.n_pairs == 0


def test_score_one_dimensional() -> None:
    with raises("score must be 2-D (n_leads, n_reps), got shape (3,)"):
        fa.Problem(score=[1.0, 2.0, 3.0], capacity=[1])


def test_score_three_dimensional() -> None:
    with raises("score must be 2-D (n_leads, n_reps), got shape (1, 2, 2)"):
        fa.Problem(score=np.ones((1, 2, 2)), capacity=[1, 1])


def test_score_not_numeric() -> None:
    with pytest.raises(ValidationError, match=r"score must be a numeric \(n_leads, n_reps\) array, got"):
        fa.Problem(score=[["a", "b"]], capacity=[1, 1])


def test_sparse_score_duplicate_entries() -> None:
    # a CSR matrix built from indptr/indices keeps both stored entries of (0, 1)
    score = sp.csr_array((np.array([1.0, 2.0]), np.array([1, 1]), np.array([0, 2, 2])), shape=(2, 2))
    message = "score has duplicate stored entries for pair (lead 0, rep 1); call sum_duplicates() or drop them first"
    with raises(message):
        fa.Problem(score=score, capacity=[1, 1])
    coo = sp.coo_array(([1.0, 5.0, 2.0], ([1, 0, 1], [1, 0, 1])), shape=(2, 2))
    with raises("duplicate stored entries for pair (lead 1, rep 1)"):
        fa.Problem(score=coo, capacity=[1, 1])


def test_capacity_wrong_length() -> None:
    message = "capacity must have shape (2,) (one entry per rep), got shape (3,)"
    with raises(message):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1, 1])


def test_capacity_two_dimensional() -> None:
    with raises("capacity must have shape (2,) (one entry per rep), got shape (1, 2)"):
        fa.Problem(score=np.ones((2, 2)), capacity=[[1, 1]])


def test_capacity_negative() -> None:
    with raises("capacity must be >= 0; found -1.0 at rep 1"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, -1])


def test_capacity_nan() -> None:
    with raises("capacity must not contain NaN; found 2 NaN, first at rep 0"):
        fa.Problem(score=np.ones((2, 3)), capacity=[np.nan, 1, np.nan])


def test_capacity_minus_inf_is_negative() -> None:
    with raises("capacity must be >= 0; found -inf at rep 0"):
        fa.Problem(score=np.ones((2, 1)), capacity=[-np.inf])


def test_capacity_not_numeric() -> None:
    with pytest.raises(ValidationError, match="capacity must be numeric, got"):
        fa.Problem(score=np.ones((2, 2)), capacity=["x", "y"])


def test_value_wrong_length() -> None:
    with raises("value must have shape (2,) (one entry per lead), got shape (3,)"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], value=[1, 2, 3])


def test_value_negative() -> None:
    with raises("value must be >= 0; found -2.0 at lead 1"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], value=[1, -2])


def test_value_nan_and_inf() -> None:
    with raises("value must not contain NaN; found 1 NaN, first at lead 0"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], value=[np.nan, 1])
    with raises("value must be finite; found inf at lead 1"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], value=[1, np.inf])


def test_effort_per_lead_wrong_length() -> None:
    with raises("effort must have shape (2,) (one entry per lead), got shape (3,)"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], effort=[1, 1, 1])


def test_effort_three_dimensional() -> None:
    with raises("effort must have shape (2,) (one entry per lead), got shape (2, 2, 1)"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], effort=np.ones((2, 2, 1)))


def test_effort_per_pair_wrong_shape() -> None:
    with raises("effort must have shape (2, 2), got shape (2, 3)"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], effort=np.ones((2, 3)))
    sparse = sp.csr_array(np.ones((3, 2)))
    with raises("effort must have shape (2, 2), got a sparse matrix of shape (3, 2)"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], effort=sparse)


def test_effort_negative() -> None:
    with raises("effort must be >= 0; found -1.0 at lead 0"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], effort=[-1, 1])
    message = "effort must be >= 0; found -0.5 at candidate pair 1"
    with raises(message):
        fa.Problem(score=np.ones((1, 2)), capacity=[1, 1], effort=[[1.0, -0.5]])


def test_effort_nan_or_inf_on_a_candidate() -> None:
    with raises("effort must not contain NaN; found 1 NaN, first at candidate pair 0"):
        fa.Problem(score=np.ones((1, 2)), capacity=[1, 1], effort=[[np.nan, 1.0]])
    with raises("effort must be finite; found inf at lead 0"):
        fa.Problem(score=np.ones((1, 2)), capacity=[1, 1], effort=[np.inf])


def test_sparse_effort_missing_a_candidate() -> None:
    effort = sp.coo_array(([1.0, 1.0], ([0, 1], [0, 1])), shape=(2, 2))
    message = (
        "effort is sparse but has no entry for candidate pair (lead 0, rep 1); "
        "a sparse per-pair matrix must store every candidate pair"
    )
    with raises(message):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], effort=effort)


def test_sparse_effort_with_no_entries() -> None:
    effort = sp.csr_array((2, 2))
    with raises("no entry for candidate pair (lead 0, rep 0)"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], effort=effort)


def test_eligible_wrong_shape() -> None:
    with raises("eligible must have shape (2, 2), got shape (2,)"):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], eligible=[True, False])
    with pytest.raises(ValidationError,
                       match=re.escape("eligible must have shape (2, 2), got a sparse matrix of shape (2, 3)")):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], eligible=sp.csr_array(np.ones((2, 3), bool)))


def test_eligible_not_boolean() -> None:
    message = "eligible must be a boolean mask, got dtype float64 with values other than 0/1"
    with raises(message):
        fa.Problem(score=np.ones((2, 2)), capacity=[1, 1], eligible=np.full((2, 2), 0.5))
    with pytest.raises(ValidationError, match="eligible must be a boolean mask, got dtype <U1"):
        fa.Problem(score=np.ones((1, 2)), capacity=[1, 1], eligible=[["y", "n"]])


def test_duplicate_lead_ids() -> None:
    with raises("lead_ids must be unique; 'a' appears at positions 0 and 2"):
        fa.Problem(score=np.ones((3, 1)), capacity=[1], lead_ids=["a", "b", "a"])


def test_duplicate_rep_ids() -> None:
    with raises("rep_ids must be unique; 7 appears at positions 0 and 1"):
        fa.Problem(score=np.ones((1, 2)), capacity=[1, 1], rep_ids=[7, 7])


def test_ids_wrong_length() -> None:
    with raises("lead_ids must be a sequence of 2 ids, got shape (1,)"):
        fa.Problem(score=np.ones((2, 1)), capacity=[1], lead_ids=["a"])
    with raises("rep_ids must be a sequence of 1 ids, got shape (2,)"):
        fa.Problem(score=np.ones((2, 1)), capacity=[1], rep_ids=["a", "b"])


# ----------------------------------------------------------------------------- permuted
def test_permuted_moves_everything_with_its_lead_and_rep() -> None:
    score = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 0.0]])
    effort = np.array([[1.0, 9.0, 2.0], [3.0, 4.0, 5.0]])
    problem = fa.Problem(score=score, capacity=[1, 2, 3], effort=effort, value=[7.0, 8.0],
                         lead_ids=["a", "b"], rep_ids=["x", "y", "z"])
    moved = problem.permuted(lead_order=[1, 0], rep_order=[2, 0, 1])
    assert moved.lead_ids.tolist() == ["b", "a"]
    assert moved.rep_ids.tolist() == ["z", "x", "y"]
    assert moved.capacity.tolist() == [3.0, 1.0, 2.0]
    assert moved.value.tolist() == [8.0, 7.0]
    expected = problem.dense_score()[[1, 0]][:, [2, 0, 1]]
    assert np.array_equal(moved.dense_score(), expected)  # the zero score stays a candidate
    assert moved.effort_kind == "pair"
    assert moved.pair_effort[moved.pair_index([0], [0])].tolist() == [5.0]


def test_permuted_keeps_per_lead_effort() -> None:
    problem = fa.Problem(score=np.ones((3, 1)), capacity=[5], effort=[1.0, 2.0, 3.0])
    moved = problem.permuted(lead_order=[2, 0, 1])
    assert moved.effort_kind == "lead"
    assert moved.lead_effort is not None and moved.lead_effort.tolist() == [3.0, 1.0, 2.0]


def test_pickled_problem_keeps_its_arrays_read_only():
    import pickle

    problem = fa.Problem(score=[[1.0, 2.0], [np.nan, 3.0]], capacity=[1, 2])
    _ = problem.rep_order  # a cached view travels too
    copy = pickle.loads(pickle.dumps(problem))
    np.testing.assert_array_equal(copy.pair_score, problem.pair_score)
    for array in (copy.pair_score, copy.pair_lead, copy.capacity, copy.rep_order):
        assert not array.flags.writeable


def test_stack_leads_keeps_per_pair_effort_of_either_batch() -> None:
    first = fa.Problem(score=[[1.0, 2.0], [3.0, np.nan]], capacity=[5, 5], effort=[[1.0, 2.0], [3.0, 0.0]])
    second = fa.Problem(score=[[4.0, 5.0]], capacity=[7, 8], effort=[2.0], value=[6.0])
    both = stack_leads([first, second], second.capacity)
    assert both.n_leads == 3 and both.effort_kind == "pair"
    np.testing.assert_array_equal(both.capacity, [7.0, 8.0])
    np.testing.assert_array_equal(both.value, [1.0, 1.0, 6.0])
    np.testing.assert_array_equal(both.pair_score, [1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(both.pair_effort, [1.0, 2.0, 3.0, 2.0, 2.0])


def test_stack_leads_keeps_unit_and_per_lead_effort() -> None:
    unit = fa.Problem(score=[[1.0, 2.0]], capacity=[1, 1])
    per_lead = fa.Problem(score=[[3.0, 4.0], [5.0, 6.0]], capacity=[1, 1], effort=[2.0, 3.0])
    assert stack_leads([unit, unit], [2, 2]).effort_kind == "unit"
    mixed = stack_leads([unit, per_lead], [9, 9])
    np.testing.assert_array_equal(mixed.lead_effort, [1.0, 2.0, 3.0])


@pytest.mark.parametrize(("problems", "message"), [
    ([], "problems must hold at least one Problem, got none"),
    ([fa.Problem(score=[[1.0]], capacity=[1]), fa.Problem(score=[[1.0, 2.0]], capacity=[1, 1])],
     r"problems must share their reps, got batches with \[1, 2\] reps"),
])
def test_stack_leads_validation_messages(problems: list[fa.Problem], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        stack_leads(problems, [1])
