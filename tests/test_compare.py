"""fa.compare: one measured row per strategy; the optimiser beats every rule-keeping baseline."""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
import strategies as drawn
from fairassign.baselines import BASELINES
from fairassign.compare import COLUMNS, Comparison, Row, compare, default_strategies, uplift
from fairassign.datasets import load_example, make_batch
from fairassign.errors import MissingDependencyError, ValidationError
from fairassign.metrics import metrics

ROOT = Path(__file__).resolve().parent.parent
#: slack of a score comparison: the verifier's relative tolerance, on the scale of the scores
RTOL = 1e-6


def _slack(*values: float) -> float:
    return RTOL * max(1.0, *(abs(v) for v in values))


@pytest.fixture(scope="module")
def example() -> fa.Problem:
    return load_example().problem


@pytest.fixture(scope="module")
def table(example: fa.Problem) -> Comparison:
    # mip proves the optimum here in about a second; auto is tested in the CLI tests
    return compare(example, [fa.FairShare(0.15)], ["mip", *BASELINES], time_limit=30)


def _check_optimiser_beats_baselines(comparison: Comparison, optimiser: str, lexicographic: bool) -> int:
    """The optimiser's score >= every rule-keeping baseline's; return how many baselines kept the rules."""
    best = comparison.row(optimiser)
    if best.status == "ERROR":  # an input every strategy rejects (say, fair shares of zero capacity)
        assert all(row.status == "ERROR" for row in comparison.rows)
        return 0
    assert best.status in ("OPTIMAL", "INFEASIBLE"), best
    kept = 0
    for row in comparison.rows:
        if row.strategy == optimiser or not row.keeps_rules:
            continue
        kept += 1
        # a baseline that keeps the rules is a witness: the rules admit an assignment
        assert best.status == "OPTIMAL", (row, best)
        if lexicographic:
            assert row.n_assigned <= best.n_assigned  # the count comes first
            if row.n_assigned < best.n_assigned:
                continue  # the optimiser's score is the best among assignments with its own count
        assert best.total_score >= row.total_score - _slack(best.total_score, row.total_score), (row, best)
    return kept


@given(case=drawn.problems(max_leads=7, max_reps=3), objective=st.sampled_from(["score", "lexicographic"]))
def test_optimiser_at_least_every_baseline_capacity_only(case: tuple[fa.Problem, np.ndarray], objective: str) -> None:
    problem, _ = case
    comparison = compare(problem, (), strategy_options={"fairassign": {"objective": objective}})
    _check_optimiser_beats_baselines(comparison, "fairassign", objective == "lexicographic")
    # capacity-only: every baseline keeps the rules (capacity and eligibility are all there is)
    assert all(row.keeps_rules for row in comparison.rows if row.strategy != "fairassign")


@given(case=drawn.problems(max_leads=7, max_reps=3, finite_capacity=True), tolerance=st.sampled_from([0.3, 1.0, 3.0]),
       objective=st.sampled_from(["score", "lexicographic"]))
def test_optimiser_at_least_every_baseline_that_keeps_fair_share(case: tuple[fa.Problem, np.ndarray],
                                                                  tolerance: float, objective: str) -> None:
    problem, _ = case
    comparison = compare(problem, [fa.FairShare(tolerance)], strategy_options={"fairassign": {"objective": objective}})
    _check_optimiser_beats_baselines(comparison, "fairassign", objective == "lexicographic")


def test_fair_share_property_is_not_vacuous() -> None:
    """On seeded batches some baselines do keep a loose fair share, and then lose to the optimiser."""
    kept = 0
    for seed in range(6):
        problem = make_batch(12, 3, seed=seed).problem
        comparison = compare(problem, [fa.FairShare(1.0)], strategy_options={"fairassign": {"objective": "score"}})
        kept += _check_optimiser_beats_baselines(comparison, "fairassign", lexicographic=False)
    assert kept >= 3


def test_rows_measure_each_strategy(table: Comparison, example: fa.Problem) -> None:
    assert table.strategies == ("mip", *BASELINES)
    best = table.row("mip")
    assert best.status == "OPTIMAL" and best.keeps_rules and best.n_violations == 0 and best.violations == ""
    assert best.max_share_deviation <= 0.15 + 1e-6
    for row in table.rows:
        assert row.result is not None
        figures = metrics(example, row.result)
        assert row.total_score == pytest.approx(figures.total_score)
        assert row.expected_revenue == pytest.approx(figures.total_score)  # no expected value given: the score
        assert row.coverage == pytest.approx(figures.coverage)
        assert row.n_assigned + row.n_unassigned == example.n_leads
        assert row.gini_value == pytest.approx(figures.gini_value)
        assert 0.0 <= row.min_max_value <= 1.0
        assert row.n_violations == len(row.result.violations)
        assert (row.n_violations > 0) == (row.status == "INVALID") == bool(row.violations)
    # round robin on this batch breaks the 15% fair share: the table says so, in words
    assert table.row("round-robin").status == "INVALID"
    assert "fair share" in table.row("round-robin").violations


def test_table_text(table: Comparison) -> None:
    text = table.table()
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["strategy", "status", "score"]
    assert re.search(r"^mip\s+OPTIMAL\s+132,224\s+132,224\s+100\.0%\s+0\s+13\.4%", text, flags=re.MULTILINE)
    assert re.search(r"^round-robin\s+INVALID\s", text, flags=re.MULTILINE)
    assert "rules broken and errors:" in text
    assert str(table).startswith("Comparison of 7 strategies under: lead value per rep within +-15%")


def test_records_and_frame_round_trip(table: Comparison) -> None:
    pd = pytest.importorskip("pandas")
    records = table.to_records()
    assert [list(record) for record in records] == [list(COLUMNS)] * len(table.rows)
    frame = table.to_frame()
    assert list(frame.columns) == list(COLUMNS) and len(frame) == len(records)
    back = frame.to_dict("records")
    for got, want in zip(back, records, strict=True):
        for key in COLUMNS:
            if want[key] is None:
                assert got[key] is None or (isinstance(got[key], float) and math.isnan(got[key]))
            else:
                assert got[key] == want[key], key
    pd.testing.assert_frame_equal(pd.DataFrame.from_records(back, columns=list(COLUMNS)), frame)


def test_to_frame_without_pandas(table: Comparison, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"fairassign\[pandas\]"):
        table.to_frame()


def test_expected_value_column(example: fa.Problem) -> None:
    rng = np.random.default_rng(4)
    per_pair = rng.uniform(0.0, 10.0, size=example.n_pairs)
    dense = np.zeros(example.shape)
    dense[example.pair_lead, example.pair_rep] = per_pair
    by_pair = compare(example, (), ["mip", "round-robin"], expected_value=per_pair)
    by_dense = compare(example, (), ["mip", "round-robin"], expected_value=dense)
    for a, b in zip(by_pair.rows, by_dense.rows, strict=True):
        leads = np.flatnonzero(a.result.rep_of >= 0)
        pairs = example.pair_index(leads, a.result.rep_of[leads])
        assert a.expected_revenue == pytest.approx(per_pair[pairs].sum())
        assert b.expected_revenue == pytest.approx(a.expected_revenue)
        assert a.expected_revenue != pytest.approx(a.total_score)


def test_same_seed_same_table(example: fa.Problem) -> None:
    def figures(comparison: Comparison) -> list[dict]:
        return [{k: v for k, v in record.items() if k != "seconds"} for record in comparison.to_records()]

    first = compare(example, [fa.FairShare(0.3)], ["mip", *BASELINES], seed=3)
    again = compare(example, [fa.FairShare(0.3)], ["mip", *BASELINES], seed=3)
    assert figures(first) == figures(again)


def test_default_strategies_are_optimiser_and_every_baseline() -> None:
    assert default_strategies() == ("fairassign", *BASELINES)
    problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0], [1.0, 2.0]], capacity=[2, 1])
    assert compare(problem).strategies == default_strategies()


def test_a_strategy_that_raises_is_a_row(example: fa.Problem) -> None:
    comparison = compare(example, (), ["mip", "round-robin"], strategy_options={"round-robin": {"bogus": 1}})
    broken = comparison.row("round-robin")
    assert broken.status == "ERROR" and "bogus" in broken.error and broken.error.startswith("ValidationError")
    assert broken.total_score is None and broken.result is None and not broken.keeps_rules
    assert comparison.row("mip").status == "OPTIMAL"
    assert re.search(r"^round-robin\s+ERROR\s+-\s+-", comparison.table(), flags=re.MULTILINE)
    assert "round-robin: ValidationError" in comparison.table()


def test_infeasible_optimiser_row_has_no_figures() -> None:
    problem = fa.Problem(score=[[1.0], [1.0]], capacity=[1])
    comparison = compare(problem, [fa.AssignAll()], ["fairassign", "round-robin"])
    best = comparison.row("fairassign")
    assert best.status == "INFEASIBLE" and best.total_score is None and best.coverage is None
    assert "capacity" in best.violations  # the diagnosis, in words
    assert comparison.row("round-robin").status == "INVALID"  # one lead left out breaks AssignAll
    assert uplift(comparison) == {"round-robin": None}


def test_uplift() -> None:
    rows = (Row("fairassign", "OPTIMAL", total_score=12.0, expected_revenue=15.0, coverage=1.0),
            Row("round-robin", "FEASIBLE", total_score=10.0, expected_revenue=10.0, coverage=0.8),
            Row("points", "ERROR", error="RuntimeError: boom"),
            Row("territory", "FEASIBLE", total_score=0.0, expected_revenue=0.0, coverage=0.0))
    comparison = Comparison(rows)
    assert uplift(comparison) == {"round-robin": 0.5, "points": None, "territory": None}
    assert uplift(comparison, "round-robin", column="total_score") == {"round-robin": pytest.approx(0.2)}
    assert uplift(comparison, ["round-robin"], column="coverage") == {"round-robin": pytest.approx(0.25)}
    assert uplift(comparison, "fairassign", strategy="round-robin") == {"fairassign": pytest.approx(-1 / 3)}
    with pytest.raises(ValidationError, match="column must be one of"):
        uplift(comparison, column="status")
    with pytest.raises(ValidationError, match="strategy must be one of"):
        uplift(comparison, "nope")
    with pytest.raises(ValidationError, match="comparison must be a Comparison"):
        uplift(rows)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"problem": [[1.0]]}, "problem must be a fairassign.Problem"),
    ({"strategies": ["fairassign", "nope"]}, "strategies must be names from"),
    ({"strategies": []}, "at least one strategy"),
    ({"strategies": ["flow", "flow"]}, "must not repeat a name, got 'flow'"),
    ({"strategy_options": {"points": {}}}, "strategy_options keys must be strategies being compared"),
    ({"strategy_options": {"flow": 3}}, r"strategy_options\['flow'\] must be a dict"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"time_limit": 0}, "time_limit must be a positive number"),
    ({"expected_value": np.ones(5)}, r"expected_value must have shape \(3,\) .* or \(2, 2\)"),
    ({"expected_value": [np.nan, 1.0, 1.0]}, "expected_value must be finite"),
    ({"constraints": [3]}, "constraints must hold fairassign rules"),
])
def test_errors(kwargs: dict, message: str) -> None:
    problem = fa.Problem(score=[[1.0, np.nan], [2.0, 1.0]], capacity=[1, 1])
    arguments = {"problem": problem, "constraints": (), "strategies": ["flow"], **kwargs}
    with pytest.raises(ValidationError, match=message):
        compare(arguments.pop("problem"), arguments.pop("constraints"), arguments.pop("strategies"), **arguments)


def test_strategies_walkthrough_example() -> None:
    completed = subprocess.run([sys.executable, str(ROOT / "examples" / "strategies_walkthrough.py")],
                               capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert re.search(r"^fairassign \(\S+\)\s+(OPTIMAL|FEASIBLE)\s", out, flags=re.MULTILINE)
    assert re.search(r"^round-robin\s+(INVALID|FEASIBLE)\s", out, flags=re.MULTILINE)
    uplifts = dict(re.findall(r"^\s+uplift over (\S+):\s+([+-][\d.]+)%", out, flags=re.MULTILINE))
    assert set(uplifts) == set(BASELINES)
    prices = [float(p) for p in re.findall(r"^\s+t=\S+\s+price\s+([\d.]+)%", out, flags=re.MULTILINE)]
    assert len(prices) >= 4 and all(b >= a - 1e-9 for a, b in itertools.pairwise(prices))
    assert "price of fairness" in out
    assert "simulated period" in out
