"""Data-frame adapters: pandas and polars in, the same frame type out; every malformed input named."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import fairassign as fa
from fairassign.errors import MissingDependencyError, ValidationError
from fairassign.frames import Table, as_table, problem_from_frames, result_to_frame

LIBRARIES = {"pandas": pd.DataFrame, "polars": pl.DataFrame}


def _frames(make: type) -> tuple[object, object, object]:
    leads = make({"id": ["L1", "L2", "L3", "L4"], "value": [100.0, 50.0, 80.0, 10.0], "tier": ["A", "B", "C", "C"]})
    reps = make({"id": ["Ana", "Bo", "Cy"], "capacity": [2, 1, 1]})
    pairs = make({
        "lead_id": ["L1", "L1", "L2", "L2", "L3", "L4"],
        "rep_id": ["Ana", "Bo", "Bo", "Cy", "Ana", "Cy"],
        "score": [9.0, 5.0, 4.0, 6.0, 3.0, 1.0],
    })
    return leads, reps, pairs


@pytest.fixture(params=sorted(LIBRARIES))
def make(request: pytest.FixtureRequest) -> type:
    return LIBRARIES[request.param]


# --------------------------------------------------------------------------- round trips
def test_pairs_frame_round_trip_keeps_frame_type_and_ids(make: type) -> None:
    leads, reps, pairs = _frames(make)
    problem = problem_from_frames(leads, reps, score=pairs, value="value")
    assert problem.shape == (4, 3)
    assert problem.n_pairs == 6
    assert problem.lead_ids.tolist() == ["L1", "L2", "L3", "L4"]
    assert problem.rep_ids.tolist() == ["Ana", "Bo", "Cy"]
    assert problem.value.tolist() == [100.0, 50.0, 80.0, 10.0]
    assert problem.dense_score()[1, 2] == 6.0
    assert problem.dense_score()[0, 2] == -np.inf  # not listed: not a candidate
    result = fa.solve(problem)
    frame = result_to_frame(result, like=leads)
    assert type(frame) is type(leads)
    assert list(frame.columns) == ["lead_id", "rep_id", "score"]
    records = frame.to_dict("records") if isinstance(frame, pd.DataFrame) else frame.to_dicts()
    assert [r["lead_id"] for r in records] == ["L1", "L2", "L3", "L4"]
    assignment = {r["lead_id"]: r["rep_id"] for r in records}
    assert assignment == {lead: result.assignment().get(lead) for lead in ["L1", "L2", "L3", "L4"]}
    assert result.objective == pytest.approx(sum(r["score"] for r in records if r["rep_id"] is not None))


def test_unassigned_lead_has_null_rep_and_integer_ids_stay_integers(make: type) -> None:
    leads = make({"id": [10, 11, 12]})
    reps = make({"id": [7, 8], "capacity": [1, 1]})
    problem = problem_from_frames(leads, reps, score=lambda lc, rc: np.array([[5.0, 1.0], [4.0, np.nan],
                                                                              [np.nan, 2.0]]))
    result = fa.solve(problem)
    frame = result_to_frame(result, like=leads)
    assert type(frame) is type(leads)
    if isinstance(frame, pd.DataFrame):
        reps_out = frame["rep_id"].tolist()
        assert reps_out[0] == 7 and isinstance(reps_out[0], int | np.integer)
        assert pd.isna(reps_out[1])
        assert frame["lead_id"].tolist() == [10, 11, 12]
    else:
        assert frame["rep_id"].dtype == pl.Int64
        assert frame["rep_id"].to_list() == [7, None, 8]
        assert frame["score"].to_list() == [5.0, None, 2.0]


def test_callable_score_receives_columns(make: type) -> None:
    leads, reps, _ = _frames(make)
    seen = {}

    def score(lead_columns: dict, rep_columns: dict) -> np.ndarray:
        seen["lead"], seen["rep"] = set(lead_columns), set(rep_columns)
        return np.outer(lead_columns["value"], rep_columns["capacity"].astype(float))

    problem = problem_from_frames(leads, reps, score=score, value="value")
    assert seen == {"lead": {"id", "value", "tier"}, "rep": {"id", "capacity"}}
    assert problem.n_pairs == 12
    assert problem.dense_score()[2, 0] == 160.0


def test_per_lead_score_column_with_eligible_pairs_frame(make: type) -> None:
    leads, reps, _ = _frames(make)
    allowed = make({"lead_id": ["L1", "L3", "L4"], "rep_id": ["Bo", "Ana", "Ana"]})
    problem = problem_from_frames(leads, reps, score="value", eligible=allowed)
    assert problem.n_pairs == 3
    assert sorted(zip(problem.pair_lead.tolist(), problem.pair_rep.tolist(), strict=True)) == [(0, 1), (2, 0),
                                                                                               (3, 0)]
    assert problem.pair_score.tolist() == [100.0, 80.0, 10.0]


def test_score_column_of_a_pairs_frame_and_per_pair_effort(make: type) -> None:
    leads, reps, _ = _frames(make)
    pairs = make({"lead_id": ["L1", "L2"], "rep_id": ["Bo", "Cy"], "fit": [0.5, 0.25], "effort": [2.0, 3.0]})
    problem = problem_from_frames(leads, reps, score="fit", pairs=pairs)
    assert problem.effort_kind == "pair"
    assert problem.pair_score.tolist() == [0.5, 0.25]
    assert problem.pair_effort.tolist() == [2.0, 3.0]


def test_eligible_callable_and_effort_column(make: type) -> None:
    _, reps, _ = _frames(make)
    leads = make({"id": ["L1", "L2"], "effort": [2.0, 1.0]})
    problem = problem_from_frames(leads, reps, score=lambda lc, rc: np.ones((2, 3)), effort="effort",
                                  eligible=lambda lc, rc: np.array([[True, False, True], [False, False, True]]))
    assert problem.n_pairs == 3
    assert problem.lead_effort.tolist() == [2.0, 1.0]


def test_polars_list_column_reaches_the_callable() -> None:
    leads = pl.DataFrame({"id": ["a", "b"], "region": ["N", "S"]})
    reps = pl.DataFrame({"id": ["x", "y"], "capacity": [1, 1], "regions": [["N"], ["N", "S"]]})

    def eligible(lc: dict, rc: dict) -> np.ndarray:
        return fa.attribute_eligibility(lc["region"].tolist(), [list(r) for r in rc["regions"]])

    problem = problem_from_frames(leads, reps, score=lambda lc, rc: np.ones((2, 2)), eligible=eligible)
    assert sorted(zip(problem.pair_lead.tolist(), problem.pair_rep.tolist(), strict=True)) == [(0, 0), (0, 1),
                                                                                               (1, 1)]


def test_pairs_frame_stays_sparse_on_a_large_batch() -> None:
    """20k leads x 5k reps with 3 pairs per lead: a dense matrix would be 100M cells."""
    rng = np.random.default_rng(3)
    n_leads, n_reps = 20_000, 5_000
    lead_ids = np.array([f"L{i}" for i in range(n_leads)])
    reps_of = np.stack([rng.choice(n_reps, 3, replace=False) for _ in range(n_leads)])
    pairs = pl.DataFrame({
        "lead_id": np.repeat(lead_ids, 3),
        "rep_id": reps_of.reshape(-1),
        "score": rng.random(3 * n_leads),
    })
    problem = problem_from_frames(pl.DataFrame({"id": lead_ids}),
                                  pl.DataFrame({"id": np.arange(n_reps), "capacity": np.full(n_reps, 5)}),
                                  score=pairs)
    assert problem.n_pairs == 3 * n_leads
    assert problem.pair_rep[:3].tolist() == sorted(reps_of[0].tolist())


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_pairs_frame_row_order_does_not_matter(data: st.DataObject) -> None:
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_leads, n_reps = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 5))
    cells = [(i, r) for i in range(n_leads) for r in range(n_reps) if rng.random() < 0.6] or [(0, 0)]
    score = rng.normal(size=len(cells)).round(3)
    frame = pd.DataFrame({"lead_id": [f"L{i}" for i, _ in cells], "rep_id": [r for _, r in cells], "score": score})
    leads = pd.DataFrame({"id": [f"L{i}" for i in range(n_leads)]})
    reps = pd.DataFrame({"id": list(range(n_reps)), "capacity": [1] * n_reps})
    first = problem_from_frames(leads, reps, score=frame)
    shuffled = frame.iloc[rng.permutation(len(frame))]
    second = problem_from_frames(leads, reps, score=shuffled)
    for name in ("pair_lead", "pair_rep", "pair_score"):
        assert getattr(first, name).tolist() == getattr(second, name).tolist()
    expected = sorted(zip(cells, score.tolist(), strict=True))
    assert list(zip(zip(first.pair_lead.tolist(), first.pair_rep.tolist(), strict=True),
                    first.pair_score.tolist(), strict=True)) == expected


def test_explanation_column(make: type) -> None:
    leads, reps, pairs = _frames(make)
    result = fa.solve(problem_from_frames(leads, reps, score=pairs))
    frame = result_to_frame(result, like=leads, explain=True)
    assert type(frame) is type(leads)
    texts = list(frame["explanation"])
    assert len(texts) == 4
    assert all(isinstance(text, str) and "\n" not in text for text in texts)
    assert f"'{result.assignment()['L1']}'" in texts[0]


# --------------------------------------------------------------------------- malformed input
def _error(make: type, **changes: object) -> str:
    leads, reps, pairs = _frames(make)
    arguments: dict[str, object] = {"leads": leads, "reps": reps, "score": pairs, "value": "value"}
    arguments.update(changes)
    with pytest.raises(ValidationError) as caught:
        problem_from_frames(**arguments)  # type: ignore[arg-type]
    return str(caught.value)


def test_missing_column(make: type) -> None:
    message = _error(make, reps=make({"id": ["Ana"], "cap": [1]}))
    assert "reps has no column 'capacity' (capacity)" in message
    assert "'cap'" in message  # lists what is there
    assert "leads has no column 'worth'" in _error(make, value="worth")
    assert "pairs has no column 'rep_id'" in _error(make, score=make({"lead_id": ["L1"], "score": [1.0]}))


def test_wrong_types(make: type) -> None:
    message = _error(make, reps=make({"id": ["Ana", "Bo", "Cy"], "capacity": ["two", "1", "1"]}))
    assert "reps row 0, column 'capacity' (capacity): expected a number, got 'two'" in message
    message = _error(make, leads=make({"id": ["L1", "L2", "L3", "L4"], "value": [True, False, True, True]}))
    assert "leads row 0, column 'value' (lead value): expected a number, got True (bool)" in message
    assert "score must be a column name, a callable" in _error(make, score=3.5)


def test_nan_and_null(make: type) -> None:
    message = _error(make, leads=make({"id": ["L1", "L2", "L3", "L4"], "value": [1.0, None, 3.0, np.nan]}))
    assert "leads row 1, column 'value' (lead value): value is missing" in message
    assert "2 missing in all" in message
    message = _error(make, leads=make({"id": ["L1", None, "L3", "L4"], "value": [1.0, 2.0, 3.0, 4.0]}))
    assert "leads row 1, column 'id' (lead id): value is missing" in message
    pairs = make({"lead_id": ["L1", "L2"], "rep_id": ["Ana", "Bo"], "score": [1.0, np.nan]})
    assert "pairs row 1, column 'score' (score of each pair): value is missing" in _error(make, score=pairs)


def test_negative_and_infinite_numbers(make: type) -> None:
    assert "expected a number >= 0, got -1" in _error(
        make, reps=make({"id": ["Ana", "Bo", "Cy"], "capacity": [2, -1, 1]}))
    assert "expected a finite number" in _error(
        make, leads=make({"id": ["L1", "L2", "L3", "L4"], "value": [1.0, np.inf, 3.0, 4.0]}))


def test_duplicate_ids(make: type) -> None:
    message = _error(make, leads=make({"id": ["L1", "L2", "L1", "L4"], "value": [1.0, 2.0, 3.0, 4.0]}))
    assert "leads column 'id' (lead id) must hold unique ids; 'L1' appears at row 0 and row 2" in message
    message = _error(make, reps=make({"id": [1, 2, 2], "capacity": [1, 1, 1]}))
    assert "must hold unique ids; 2 appears at row 1 and row 2" in message


def test_unknown_ids_and_repeated_pairs(make: type) -> None:
    pairs = make({"lead_id": ["L1", "L2", "L2"], "rep_id": ["Ana", "Zed", "Yan"], "score": [1.0, 2.0, 3.0]})
    message = _error(make, score=pairs)
    assert "pairs row 1, column 'rep_id': 'Zed' is not an id in reps (2 unknown in all)" in message
    pairs = make({"lead_id": ["L9"], "rep_id": ["Ana"], "score": [1.0]})
    assert "pairs row 0, column 'lead_id': 'L9' is not an id in leads" in _error(make, score=pairs)
    pairs = make({"lead_id": ["L1", "L2", "L1"], "rep_id": ["Ana", "Bo", "Ana"], "score": [1.0, 2.0, 3.0]})
    assert "lists the pair ('L1', 'Ana') twice: at row 0 and row 2" in _error(make, score=pairs)
    allowed = make({"lead_id": ["L1"], "rep_id": ["Nobody"]})
    assert "'Nobody' is not an id in reps" in _error(make, score="value", eligible=allowed)


def test_empty_batch(make: type) -> None:
    leads = make({"id": ["x"], "value": [1.0]})[:0]
    assert "leads has no rows: an empty batch has no lead to assign" in _error(make, leads=leads)
    reps = make({"id": ["x"], "capacity": [1]})[:0]
    assert "reps has no rows" in _error(make, reps=reps)


def test_effort_given_twice_and_bad_matrix_shape(make: type) -> None:
    leads = make({"id": ["L1"], "effort": [1.0]})
    pairs = make({"lead_id": ["L1"], "rep_id": ["Ana"], "score": [1.0], "effort": [2.0]})
    assert "effort is given twice" in _error(make, leads=leads, score=pairs, value=None, effort="effort")
    message = _error(make, score=lambda lc, rc: np.ones((2, 2)))
    assert "score must return a matrix of shape (4, 3)" in message


def test_not_a_frame_and_missing_narwhals(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="leads must be a pandas or polars DataFrame"):
        as_table(42, "leads")
    monkeypatch.setitem(sys.modules, "narwhals.stable.v2", None)
    with pytest.raises(MissingDependencyError, match=r"fairassign\[pandas\]"):
        as_table(pd.DataFrame({"id": [1]}), "leads")
    with pytest.raises(MissingDependencyError, match=r"fairassign\[polars\]"):
        result_to_frame(None, like=pd.DataFrame())  # type: ignore[arg-type]


def test_mapping_and_table_inputs() -> None:
    table = as_table({"id": ["a", "b"], "capacity": [1, 2]}, "reps")
    assert isinstance(table, Table) and table.n_rows == 2
    assert as_table(table, "ignored") is table
    with pytest.raises(ValidationError, match="same length"):
        as_table({"id": ["a", "b"], "capacity": [1]}, "reps")
    problem = problem_from_frames({"id": ["a"]}, {"id": ["x", "y"], "capacity": [1, 1]},
                                  score=lambda lc, rc: sp.coo_array(([0.0, 2.0], ([0, 0], [0, 1])), shape=(1, 2)))
    assert problem.n_pairs == 2  # a stored zero is a candidate
