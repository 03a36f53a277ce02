"""The TOML rules file: what each key does to the batch, and a line-numbered error for every mistake."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fairassign as fa
from fairassign.datasets import TIER_EFFORT, load_example
from fairassign.errors import ValidationError
from fairassign.rules_file import RulesFile, parse_rules, read_rules

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_RULES = ROOT / "examples" / "data" / "rules.toml"


def _example_tables() -> tuple[dict, dict]:
    batch = load_example()
    leads = {key: np.asarray(value) for key, value in batch.leads.items()}
    reps = {key: np.asarray(value) for key, value in batch.reps.items()}
    return leads, reps


def _line(text: str, fragment: str) -> int:
    """1-based line of the first line containing ``fragment``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(fragment)


def _error(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_rules(text, source="rules.toml")
    return str(caught.value)


# --------------------------------------------------------------------------- reading
def test_example_file_reads_every_section() -> None:
    rules = read_rules(EXAMPLE_RULES)
    assert rules.source == str(EXAMPLE_RULES)
    assert rules.capacity_default == 10 and dict(rules.capacity_per_rep) == {"Dara": 4}
    assert rules.tiers and rules.tier_order == ("A", "B", "C")
    assert dict(rules.tier_effort) == {"A": 3.0, "B": 2.0, "C": 1.0}
    assert rules.sla("A") == 4 and rules.sla("C") == 168 and rules.sla("Z") is None
    assert [(t.lead, t.rep) for t in rules.territories] == [("region", "regions")]
    assert [(b.lead, b.rep, b.add) for b in rules.score_bonuses] == [("industry", "skills", 0.3),
                                                                    ("region", "region", 0.2)]
    assert rules.score_base == 0.5
    assert rules.fairness_tolerance == 0.15
    assert rules.assign_all
    assert rules.solve_options() == {"solver": "auto", "time_limit": 20.0, "seed": 0, "objective": "lexicographic"}


def test_defaults_of_an_empty_file() -> None:
    rules = parse_rules("")
    assert rules == rules  # identity equality: the dataclass is eq=False
    assert isinstance(rules, RulesFile)
    assert not rules.tiers and not rules.assign_all and rules.fairness_tolerance is None
    leads = {"id": ["a", "b"], "value": [2.0, 3.0]}
    reps = {"id": ["x", "y"], "capacity": [1, 1]}
    problem, constraints = rules.build(leads, reps)
    assert constraints == ()
    assert problem.n_pairs == 4
    assert problem.dense_score().tolist() == [[2.0, 2.0], [3.0, 3.0]]  # value x base 1


def test_example_batch_candidates_match_the_dataset() -> None:
    """Tiers + territory rules from the file rebuild the shipped example's candidate list exactly."""
    leads, reps = _example_tables()
    rules = read_rules(EXAMPLE_RULES)
    problem, constraints = rules.build(leads, reps)
    reference = load_example().problem
    assert problem.pair_lead.tolist() == reference.pair_lead.tolist()
    assert problem.pair_rep.tolist() == reference.pair_rep.tolist()
    assert problem.lead_effort.tolist() == [TIER_EFFORT[t] for t in leads["tier"]]
    assert problem.capacity[problem.rep_position("Dara")] == 4  # per_rep override
    assert problem.capacity[problem.rep_position("Chen")] == reference.capacity[reference.rep_position("Chen")]
    assert [type(c).__name__ for c in constraints] == ["AssignAll", "FairShare"]


def test_fit_rule_scores() -> None:
    rules = parse_rules("""
[score]
base = 0.5
[[score.bonus]]
lead = "industry"
rep = "skills"
add = 0.3
[[score.bonus]]
lead = "region"
rep = "home"
add = 0.2
""")
    leads = {"id": ["a", "b"], "value": [100.0, 10.0], "industry": ["Retail", "Health"], "region": ["N", "S"]}
    reps = {"id": ["x", "y"], "capacity": [1, 1], "skills": ["Retail;Finance", "*"], "home": ["S", "N"]}
    problem, _ = rules.build(leads, reps)
    assert np.allclose(problem.dense_score(), [[100 * 0.8, 100 * 1.0], [10 * 0.7, 10 * 0.8]])


def test_score_column_instead_of_value() -> None:
    rules = parse_rules('[score]\ncolumn = "priority"\nbase = 2\n')
    problem, _ = rules.build({"id": ["a"], "priority": [-1.5], "value": [9.0]}, {"id": ["x"], "capacity": [1]})
    assert problem.pair_score.tolist() == [-3.0]
    assert problem.value.tolist() == [9.0]


def test_capacity_default_override_and_blank_cells() -> None:
    rules = parse_rules('[capacity]\ndefault = 5\n[capacity.per_rep]\n"y" = 2\n')
    problem, _ = rules.build({"id": ["a"]}, {"id": ["x", "y", "z"], "capacity": [np.nan, 7, 1]})
    assert problem.capacity.tolist() == [5.0, 2.0, 1.0]
    problem, _ = rules.build({"id": ["a"]}, {"id": ["x", "y"]})
    assert problem.capacity.tolist() == [5.0, 2.0]


def test_tiers_max_tier_table_and_reps_without_column() -> None:
    rules = parse_rules('[tiers]\norder = ["Gold", "Silver"]\n[tiers.max_tier]\ny = "Silver"\n')
    problem, _ = rules.build({"id": ["a", "b"], "tier": ["Gold", "Silver"]}, {"id": ["x", "y"], "capacity": [2, 2]})
    assert problem.dense_score().tolist() == [[1.0, -np.inf], [1.0, 1.0]]


def test_bands_pins_forbid_and_fair_weight() -> None:
    rules = parse_rules("""
[count_band]
lower = 1
upper = 3
[value_band]
upper = 1e6
[fairness]
tolerance = 0.5
weight = "weight"
[pins]
"a" = "y"
[forbid]
"b" = ["x", "y"]
"c" = "z"
""")
    leads = {"id": ["a", "b", "c"]}
    reps = {"id": ["x", "y", "z"], "capacity": [3, 3, 3], "weight": [1, 2, 1]}
    problem, constraints = rules.build(leads, reps)
    kinds = {type(c).__name__: c for c in constraints}
    assert set(kinds) == {"CountBand", "ValueBand", "FairShare", "Pin", "Forbid"}
    assert kinds["Pin"].pairs == (("a", "y"),)
    assert set(kinds["Forbid"].pairs) == {("b", "x"), ("b", "y"), ("c", "z")}
    assert kinds["FairShare"].weight.tolist() == [1.0, 2.0, 1.0]
    result = fa.solve(problem, constraints)
    assert result.status.has_solution
    assert result.assignment() == {"a": "y", "b": "z", "c": "x"}


def test_numeric_ids_match_toml_string_keys() -> None:
    rules = parse_rules('[pins]\n"7" = "2"\n[capacity.per_rep]\n"1" = 0\n')
    problem, constraints = rules.build({"id": [7, 8]}, {"id": [1, 2], "capacity": [1, 1]})
    assert constraints[0].pairs == ((7, 2),)
    assert problem.capacity.tolist() == [0.0, 1.0]


def test_polars_frames_with_list_columns_build_the_same_batch() -> None:
    leads, reps = _example_tables()
    polars_reps = pl.DataFrame({key: [list(v) for v in value] if value.dtype == object else value
                                for key, value in reps.items()})
    polars_leads = pl.DataFrame(leads)
    rules = read_rules(EXAMPLE_RULES)
    from_polars, _ = rules.build(polars_leads, polars_reps)
    from_dicts, _ = rules.build(leads, reps)
    assert from_polars.pair_rep.tolist() == from_dicts.pair_rep.tolist()
    assert from_polars.pair_score.tolist() == from_dicts.pair_score.tolist()


def test_pairs_table_with_territory_rules() -> None:
    rules = parse_rules('[[territories]]\nlead = "region"\nrep = "regions"\n')
    leads = {"id": ["a", "b"], "region": ["N", "S"]}
    reps = {"id": ["x", "y"], "capacity": [1, 1], "regions": ["N", "N;S"]}
    pairs = {"lead_id": ["a", "a", "b", "b"], "rep_id": ["x", "y", "x", "y"], "score": [1.0, 2.0, 3.0, 4.0]}
    problem, _ = rules.build(leads, reps, pairs=pairs)
    assert problem.dense_score().tolist() == [[1.0, 2.0], [-np.inf, 4.0]]


# --------------------------------------------------------------------------- mistakes, with their line
TYPO = """# team rules
[capacity]
default = 10

[fairness]
tolerence = 0.15
"""


def test_unknown_key_names_line_and_suggests() -> None:
    message = _error(TYPO)
    assert message == "rules.toml, line 6: fairness.tolerence: unknown key 'tolerence'; did you mean 'tolerance'?"


def test_unknown_table_suggests() -> None:
    message = _error('[solve]\nseed = 1\n\n[fairnes]\ntolerance = 0.1\n')
    assert message.startswith("rules.toml, line 4: fairnes: unknown key 'fairnes'; did you mean 'fairness'?")


def test_unknown_key_in_array_of_tables() -> None:
    text = '[[territories]]\nlead = "region"\nrep = "regions"\n\n[[territories]]\nlead = "x"\nreps = "y"\n'
    message = _error(text)
    assert message.startswith("rules.toml, line 7: territories[2].reps: unknown key 'reps'; did you mean 'rep'?")


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    assert "valid keys are tolerance, weight" in _error("[fairness]\nzzz = 1\n")


@pytest.mark.parametrize(("text", "line", "expected"), [
    ('[fairness]\ntolerance = "high"\n', 2, "fairness.tolerance: expected a number, got a string 'high'"),
    ("[fairness]\ntolerance = -0.1\n", 2, "fairness.tolerance: expected a number >= 0, got -0.1"),
    ("[solve]\ntime_limit = 0\n", 2, "solve.time_limit: expected a number > 0, got 0"),
    ("[solve]\nseed = -1\n", 2, "solve.seed: expected an integer >= 0, got -1"),
    ("[solve]\nseed = 1.5\n", 2, "solve.seed: expected an integer, got a number 1.5"),
    ('[solve]\nassign_all = "yes"\n', 2, "solve.assign_all: expected true or false, got a string 'yes'"),
    ('[solve]\nsolver = "cpsta"\n', 2, "did you mean 'cpsat'?"),
    ('[solve]\nobjective = "max"\n', 2, "solve.objective: expected one of 'lexicographic', 'score', got 'max'"),
    ("\n[capacity]\ndefault = -3\n", 3, "capacity.default: expected a number >= 0, got -3"),
    ("[capacity.per_rep]\nAna = \"ten\"\n", 2, "capacity.per_rep.Ana: expected a number, got a string 'ten'"),
    ("[tiers]\nsla_hours = { A = 0 }\n", 2, "tiers.sla_hours.A: expected a number > 0, got 0"),
    ("[tiers]\neffort = { D = 1 }\n", 2, "tiers.effort.D: unknown key 'D'"),
    ('[tiers]\norder = ["A", "A"]\n', 2, "tiers.order: each tier must appear once"),
    ('[tiers.max_tier]\nAna = "Q"\n', 2, "tiers.max_tier.Ana: expected one of 'A', 'B', 'C', got 'Q'"),
    ("[count_band]\nlower = 5\nupper = 2\n", 2, "count_band.lower: lower 5 is above upper 2"),
    ("fairness = 3\n", 1, "fairness: expected a table, got an integer 3"),
    ('[territories]\nlead = "x"\n', 1, "territories: expected an array of tables ([[territories]] sections)"),
    ('[[territories]]\nlead = "x"\n', 1, "territories[1]: missing key 'rep'"),
    ("[fairness]\nweight = \"w\"\n", 1, "fairness: missing key 'tolerance'"),
    ('[[score.bonus]]\nlead = "a"\nrep = "b"\nadd = "much"\n', 4, "score.bonus[1].add: expected a number"),
    ('[pins]\n"L-1" = 3\n', 2, "pins.L-1: expected a non-empty string, got an integer 3"),
    ('[pins]\n"L 1" = "x"\n"L 2" = ""\n', 3, "pins.'L 2': expected a non-empty string, got a string ''"),
])
def test_wrong_type_or_range_names_the_line(text: str, line: int, expected: str) -> None:
    message = _error(text)
    assert message.startswith(f"rules.toml, line {line}: "), message
    assert expected in message


@pytest.mark.parametrize(("text", "line"), [
    ("[fairness]\ntolerance = \n", 2),
    ("[solve]\nseed = 1\nseed = 2\n", 3),
    ("[fairness\ntolerance = 0.1\n", 1),
    ('[columns]\nlead_id = "id\n', 2),
])
def test_syntax_errors_are_validation_errors_with_the_line(text: str, line: int) -> None:
    message = _error(text)
    assert re.match(rf"rules\.toml, line {line}: invalid TOML: .+ \(column \d+\)$", message), message


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"nope\.toml: rules file not found"):
        read_rules(tmp_path / "nope.toml")
    bad = tmp_path / "latin.toml"
    bad.write_bytes("[columns]\nlead_id = \"caf\xe9\"\n".encode("latin-1"))
    with pytest.raises(ValidationError, match=r"latin\.toml: not UTF-8 text"):
        read_rules(bad)
    typo = tmp_path / "rules.toml"
    typo.write_text(TYPO, encoding="utf-8")
    with pytest.raises(ValidationError, match=rf"^{re.escape(str(typo))}, line 6: fairness.tolerence"):
        read_rules(typo)


# --------------------------------------------------------------------------- mistakes found against the data
def _build_error(text: str, leads: dict, reps: dict, pairs: dict | None = None) -> str:
    rules = parse_rules(text, source="rules.toml")
    with pytest.raises(ValidationError) as caught:
        rules.build(leads, reps, pairs=pairs)
    return str(caught.value)


LEADS = {"id": ["a", "b"], "tier": ["A", "C"], "region": ["N", "S"]}
REPS = {"id": ["x", "y"], "capacity": [2, 2], "max_tier": ["A", "B"], "regions": ["N", "S"]}


def test_column_named_by_the_file_but_missing_in_the_data() -> None:
    text = '[solve]\nseed = 0\n[[territories]]\nlead = "region"\nrep = "areas"\n'
    message = _build_error(text, LEADS, REPS)
    assert message.startswith("rules.toml, line 5: territories[1].rep: reps has no column 'areas'")
    text = '[columns]\nvalue = "worth"\n'
    assert _build_error(text, LEADS, REPS).startswith("rules.toml, line 2: columns.value: leads has no column 'worth'")
    text = '[tiers]\nlead_column = "grade"\n'
    assert _build_error(text, LEADS, REPS).startswith("rules.toml, line 2: tiers.lead_column: leads has no column")
    message = _build_error("", LEADS, {"id": ["x"]})
    assert "no column 'capacity' and no capacity.default is set" in message


def test_unknown_ids_in_the_file() -> None:
    text = '\n[pins]\n"a" = "x"\n"b" = "zed"\n'
    assert _build_error(text, LEADS, REPS) == "rules.toml, line 4: pins.b: 'zed' is not a rep id of the batch"
    text = '[forbid]\n"q" = "x"\n'
    assert _build_error(text, LEADS, REPS) == "rules.toml, line 2: forbid.q: 'q' is not a lead id of the batch"
    text = "[capacity.per_rep]\nnobody = 3\n"
    assert _build_error(text, LEADS, REPS) == "rules.toml, line 2: capacity.per_rep.nobody: 'nobody' is not a rep id " \
                                              "in reps"


def test_tier_in_the_data_not_in_the_order() -> None:
    leads = dict(LEADS, tier=["A", "D"])
    message = _build_error("[tiers]\n", leads, REPS)
    assert message == "leads row 1, column 'tier': tier 'D' is not in tiers.order ['A', 'B', 'C'] of rules.toml"


def test_effort_twice() -> None:
    leads = dict(LEADS, effort=[1.0, 2.0])
    message = _build_error('[columns]\neffort = "effort"\n[tiers]\neffort = { A = 3 }\n', leads, REPS)
    assert message.startswith("rules.toml, line 4: tiers.effort: effort is set twice")


def test_fair_share_needs_finite_capacity() -> None:
    reps = dict(REPS, capacity=[np.inf, 2])
    assert "needs finite capacities" in _build_error("[fairness]\ntolerance = 0.1\n", LEADS, reps)


@settings(max_examples=40, deadline=None)
@given(section=st.sampled_from(["fairness", "solve", "capacity", "columns", "count_band"]),
       key=st.from_regex(r"[a-z]{3,10}", fullmatch=True), blank=st.integers(0, 3))
def test_any_unknown_key_is_named_with_its_line(section: str, key: str, blank: int) -> None:
    valid = {"fairness": ("tolerance", "weight"), "solve": ("assign_all", "solver", "time_limit", "seed", "objective"),
             "capacity": ("column", "default", "per_rep"), "columns": ("lead_id", "rep_id", "value", "effort"),
             "count_band": ("lower", "upper")}[section]
    if key in valid:
        return
    text = "# rules\n" + "\n" * blank + f"[{section}]\n{key} = 1\n"
    message = _error(text)
    assert message.startswith(f"rules.toml, line {blank + 3}: {section}.{key}: unknown key {key!r}")
