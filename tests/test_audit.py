"""Audit records: rules and batches round-trip, JSON lines read back, replay reproduces bit for bit."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.audit import (
    AuditRecord,
    constraint_from_dict,
    constraint_to_dict,
    constraints_digest,
    input_digest,
    problem_digest,
    problem_from_dict,
    problem_to_dict,
    read_jsonl,
    record,
    replay,
    write_jsonl,
)
from fairassign.rules import bind
from fairassign.solve import assemble
from fairassign.solvers.base import SolverOutput
from fairassign.strategies import run_strategy
from strategies import cases

INF = np.inf


@pytest.fixture
def batch() -> fa.Problem:
    return fa.datasets.load_example().problem


#: feasible on the example batch (every backend assigns all 60 leads)
RULES = (fa.AssignAll(), fa.CountBand(upper=[20, 20, 60, 20, 20, INF]), fa.FairShare(0.5),
         fa.Forbid([("L-003", "Chen")]), fa.Pin([("L-002", "Femi")]))


def unit_problem(rng: np.random.Generator, n_leads: int = 30, n_reps: int = 5) -> fa.Problem:
    score = np.round(rng.normal(size=(n_leads, n_reps)), 3)
    score[rng.random(score.shape) < 0.3] = np.nan
    return fa.Problem(score=score, capacity=rng.integers(3, 9, size=n_reps),
                      lead_ids=[f"lead-{i}" for i in range(n_leads)], rep_ids=[f"rep-{r}" for r in range(n_reps)])


# ------------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("constraint", [
    fa.AssignAll(),
    fa.CountBand(lower=1, upper=7),
    fa.CountBand(upper=[2.0, INF, 0.0]),
    fa.ValueBand(lower=[0.1, 0.2, 1.0 / 3.0], upper=None),
    fa.ValueBand(upper=5000),
    fa.FairShare(0.1),
    fa.FairShare(1.0 / 3.0, weight=[0.5, 1.0 / 7.0, 2.0]),
    fa.Pin([("L-1", "R-2"), (3, 4), (("north", 1), 2.5)]),
    fa.Forbid([(0, 1), (2, 1)]),
])
def test_every_constraint_round_trips_exactly(constraint: fa.Constraint) -> None:
    data = json.loads(json.dumps(constraint_to_dict(constraint), allow_nan=False))
    back = constraint_from_dict(data)
    assert type(back) is type(constraint)
    for item in dataclasses.fields(constraint):
        mine, theirs = getattr(constraint, item.name), getattr(back, item.name)
        if isinstance(mine, np.ndarray):
            assert isinstance(theirs, np.ndarray) and mine.tobytes() == theirs.tobytes()
        else:
            assert mine == theirs and type(mine) is type(theirs)
    assert constraints_digest([back]) == constraints_digest([constraint])


def test_constraint_digest_sees_every_change() -> None:
    base = constraints_digest([fa.FairShare(0.1)])
    assert constraints_digest([fa.FairShare(0.1 + 1e-18)]) == base  # the same double
    assert constraints_digest([fa.FairShare(0.1000000001)]) != base
    assert constraints_digest([fa.FairShare(0.1), fa.AssignAll()]) != constraints_digest(
        [fa.AssignAll(), fa.FairShare(0.1)])


@pytest.mark.parametrize("bad", [{"type": "CountBnd", "upper": 1}, {"type": "CountBand", "uper": 1, "lower": None},
                                 {"type": "Pin", "pairs": [["a"]]}, {"type": "FairShare", "tolerance": "x",
                                                                     "weight": None}])
def test_bad_constraint_dict_is_a_clear_error(bad: dict) -> None:
    with pytest.raises(fa.ValidationError):
        constraint_from_dict(bad)


@pytest.mark.parametrize("effort", ["unit", "lead", "pair"])
def test_problem_round_trips_with_the_same_digest(effort: str, rng: np.random.Generator) -> None:
    score = rng.normal(size=(7, 3))
    score[rng.random(score.shape) < 0.3] = np.nan
    score[0, 0] = 0.0  # a stored zero stays a candidate
    effort_arg = {"unit": None, "lead": rng.choice([0.5, 1.0, 2.0], size=7),
                  "pair": rng.choice([0.5, 1.0, 2.0], size=(7, 3))}[effort]
    problem = fa.Problem(score, capacity=[3.0, INF, 2.5], effort=effort_arg, value=rng.random(7),
                         lead_ids=[f"L{i}" for i in range(7)], rep_ids=[10, 20, 30])
    back = problem_from_dict(json.loads(json.dumps(problem_to_dict(problem), allow_nan=False)))
    assert problem_digest(back) == problem_digest(problem)
    assert back.effort_kind == problem.effort_kind and back.rep_ids.tolist() == [10, 20, 30]


def test_problem_digest_sees_every_change(batch: fa.Problem) -> None:
    base = problem_digest(batch)
    assert problem_digest(fa.datasets.load_example().problem) == base
    changed_value = fa.Problem(sp.coo_array((batch.pair_score, (batch.pair_lead, batch.pair_rep)), shape=batch.shape),
                               capacity=batch.capacity, effort=batch.lead_effort, value=batch.value * 1.000001,
                               lead_ids=batch.lead_ids, rep_ids=batch.rep_ids)
    assert problem_digest(changed_value) != base
    relabelled = fa.Problem([[1.0]], capacity=[1], lead_ids=["a"], rep_ids=["x"])
    assert problem_digest(relabelled) != problem_digest(fa.Problem([[1.0]], capacity=[1], lead_ids=["b"],
                                                                   rep_ids=["x"]))
    assert problem_digest(fa.Problem([[1.0]], capacity=[1], lead_ids=[1])) != problem_digest(
        fa.Problem([[1.0]], capacity=[1], lead_ids=["1"]))


# ------------------------------------------------------------------------------------------- records
def test_record_fields(batch: fa.Problem) -> None:
    result = fa.solve(batch, RULES, solver="cpsat", seed=7, time_limit=30)
    assert result.status is fa.Status.OPTIMAL
    entry = record(result)
    assert entry.solver_requested == "cpsat" and entry.solver_used == "cpsat"
    assert entry.parameters == dataclasses.replace(entry.parameters, objective="lexicographic", time_limit=30.0,
                                                   seed=7, rel_gap=1e-4, hint_digest=None)
    assert entry.input_digest == input_digest(batch, RULES)
    assert entry.status == result.status.value and entry.objective == result.objective
    assert entry.bound == result.bound and entry.n_assigned == result.n_assigned
    assert entry.assignment() == result.assignment()
    assert [lead for lead, _ in entry.decisions] == batch.lead_ids.tolist()
    for package in ("fairassign", "ortools", "pulp", "highspy"):
        assert entry.versions[package]
    assert datetime.fromisoformat(entry.timestamp).utcoffset() == UTC.utcoffset(None)
    assert entry.rules()[3] == RULES[3]
    line = entry.to_json()
    assert "\n" not in line
    back = AuditRecord.from_dict(json.loads(line))
    assert back.to_dict() == entry.to_dict()


def test_record_of_a_result_without_settings_takes_overrides() -> None:
    problem = fa.Problem([[1.0, 2.0]], capacity=[1, 1])
    rules = bind(problem, ())
    output = SolverOutput(rep_of=np.array([1]), status=fa.Status.FEASIBLE)
    result = assemble(problem, rules, output, "greedy", "by hand", time.perf_counter())
    assert result.settings is None
    entry = record(result, seed=4, objective="score")
    assert (entry.solver_requested, entry.parameters.seed, entry.parameters.objective) == ("greedy", 4, "score")


@pytest.mark.parametrize("solver", ["auto", "greedy", "lp-round", "cpsat", "mip", "round-robin", "points"])
def test_record_jsonl_read_replay_is_bit_for_bit(solver: str, batch: fa.Problem, tmp_path: Path) -> None:
    if solver in fa.solver_names() or solver == "auto":
        result = fa.solve(batch, RULES, solver=solver, seed=11)
    else:
        result = run_strategy(solver, batch, RULES, seed=11)
    assert result.n_assigned >= batch.n_leads - 1  # a real assignment, not an empty one
    path = tmp_path / "audit.jsonl"
    write_jsonl([record(result), record(result, include_problem=True)], path)
    plain, embedded = read_jsonl(path)
    again = replay(plain, batch)
    assert again.matches and again.same_objective and not again.differences
    assert "bit for bit" in again.message
    assert again.result.rep_of.tolist() == result.rep_of.tolist()
    alone = replay(embedded)  # the record carries its batch
    assert alone.matches


def test_flow_replays(rng: np.random.Generator, tmp_path: Path) -> None:
    problem = unit_problem(rng)
    result = fa.solve(problem, [fa.CountBand(upper=6)], solver="flow")
    write_jsonl(record(result), tmp_path / "a.jsonl")
    assert replay(read_jsonl(tmp_path / "a.jsonl")[0], problem).matches


def test_hint_is_recorded_and_checked(batch: fa.Problem) -> None:
    start = fa.solve(batch, RULES, solver="greedy")
    assert start.n_assigned == batch.n_leads
    result = fa.solve(batch, RULES, solver="cpsat", hint=start, seed=1)
    entry = record(result, include_problem=True)
    assert entry.parameters.hint_digest is not None
    assert replay(entry).matches
    bare = record(result)
    with pytest.raises(fa.ValidationError, match="hint"):
        replay(bare, batch)
    assert replay(bare, batch, hint=start).matches
    with pytest.raises(fa.ValidationError, match="hint does not match"):
        replay(bare, batch, hint=np.zeros(batch.n_leads, dtype=np.int64))


def test_changed_input_is_detected(batch: fa.Problem) -> None:
    entry = record(fa.solve(batch, RULES, solver="greedy"))
    score = batch.dense_score()
    score[5, np.flatnonzero(np.isfinite(score[5]))[0]] += 1.0
    score[~np.isfinite(score)] = np.nan
    changed = fa.Problem(score, capacity=batch.capacity, effort=batch.lead_effort, value=batch.value,
                         lead_ids=batch.lead_ids, rep_ids=batch.rep_ids)
    with pytest.raises(fa.ValidationError, match="problem does not match the record"):
        replay(entry, changed)
    with pytest.raises(fa.ValidationError, match="constraints do not match the record"):
        replay(entry, batch, [fa.AssignAll()])
    with pytest.raises(fa.ValidationError, match="embeds no problem"):
        replay(entry)


def test_a_different_assignment_is_reported_lead_by_lead(batch: fa.Problem) -> None:
    entry = record(fa.solve(batch, RULES, solver="greedy"))
    decisions = list(entry.decisions)
    lead, rep = decisions[7]
    decisions[7] = (lead, None)
    tampered = dataclasses.replace(entry, decisions=tuple(decisions))
    outcome = replay(tampered, batch)
    assert not outcome.matches
    assert [(d.lead_id, d.recorded, d.replayed) for d in outcome.differences] == [(lead, None, rep)]
    assert "differs" in outcome.message and repr(lead) in outcome.message


def test_time_limited_record_says_replay_may_differ(batch: fa.Problem) -> None:
    entry = record(fa.solve(batch, RULES, solver="greedy", time_limit=5))
    outcome = replay(entry, batch)
    assert outcome.matches and any("time limit" in note for note in outcome.notes)


# ------------------------------------------------------------------------------------------- JSON lines
def _two_lines(batch: fa.Problem, path: Path) -> list[str]:
    result = fa.solve(batch, RULES, solver="greedy")
    write_jsonl(record(result), path)
    write_jsonl(record(result), path)  # append mode
    return path.read_text().splitlines()


def test_corrupt_line_names_its_number(batch: fa.Problem, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = _two_lines(batch, path)
    assert len(lines) == 2 and len(read_jsonl(path)) == 2
    path.write_text(lines[0] + "\n\n" + lines[1][: len(lines[1]) // 2] + "\n")
    with pytest.raises(fa.ValidationError, match=r"line 3: not valid JSON"):
        read_jsonl(path)
    path.write_text(lines[0] + "\n" + lines[1].replace('"solver_requested"', '"solver_requsted"') + "\n")
    with pytest.raises(fa.ValidationError, match=r"line 2: .*missing \['solver_requested'\].*solver_requsted"):
        read_jsonl(path)
    path.write_text(lines[0].replace('"status":"feasible"', '"status":"feasable"') + "\n")
    with pytest.raises(fa.ValidationError, match=r"line 1: .*'status'"):
        read_jsonl(path)
    path.write_text(lines[0].replace('"type":"FairShare"', '"type":"FairShair"') + "\n")
    with pytest.raises(fa.ValidationError, match=r"line 1: .*FairShair"):
        read_jsonl(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(fa.ValidationError, match=r"line 1: a record must be a JSON object"):
        read_jsonl(path)


def test_write_is_all_or_nothing(batch: fa.Problem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    entry = record(fa.solve(batch, RULES, solver="greedy"))
    with pytest.raises(fa.ValidationError, match="item 1"):
        write_jsonl([entry, "not a record"], path)  # type: ignore[list-item]
    assert not path.exists()

    write_jsonl(entry, path)
    before = path.read_bytes()
    real_write = os.write

    def failing_write(descriptor: int, data: bytes | memoryview) -> int:
        real_write(descriptor, bytes(data)[:100])  # part of the batch reaches the disk ...
        raise OSError(28, "No space left on device")  # ... then the disk fills

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(OSError, match="No space"):
        write_jsonl([entry, entry], path)
    with pytest.raises(OSError, match="No space"):
        write_jsonl(entry, tmp_path / "new.jsonl")
    monkeypatch.undo()
    assert path.read_bytes() == before  # cut back to its former length
    assert not (tmp_path / "new.jsonl").exists()  # a file this call created is removed
    assert len(read_jsonl(path)) == 1


def test_ids_that_json_cannot_hold_are_refused() -> None:
    ids = np.empty(1, dtype=object)
    ids[0] = frozenset({1})
    problem = fa.Problem([[1.0]], capacity=[1], lead_ids=ids)
    with pytest.raises(fa.ValidationError, match="ids that are str, int"):
        record(fa.solve(problem))


# ------------------------------------------------------------------------------------------- property
@given(cases(max_leads=5, max_reps=3), st.sampled_from(["auto", "greedy", "lp-round", "mip", "cpsat"]))
def test_any_small_batch_replays_from_its_record_alone(case: object, solver: str) -> None:
    problem, constraints = case.problem, case.constraints  # type: ignore[attr-defined]
    try:
        result = fa.solve(problem, constraints, solver=solver, seed=2)
    except fa.ValidationError:
        return
    line = record(result, include_problem=True).to_json()
    entry = AuditRecord.from_dict(json.loads(line))
    outcome = replay(entry)
    assert outcome.matches, outcome.message


# ------------------------------------------------------------------------------------------- the docs page
def test_docs_page_examples_run_and_print_what_it_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "explain_audit.md").read_text(encoding="utf-8")
    blocks = page.split("```python\n")[1:]
    code = [block.split("```", 1)[0] for block in blocks]
    shown = [block.split("```", 1)[0] for block in page.split("```text\n")[1:]]
    monkeypatch.chdir(tmp_path)  # the page writes audit.jsonl in the working directory
    namespace: dict[str, object] = {}
    for snippet in code:
        exec(compile(snippet, "docs/explain_audit.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert shown[0].strip() == printed.split("\nLead 'small'")[0].split("\nMoving it")[0].strip()
    for snippet in code:  # every "# output" comment right after a print is what it printed
        for line in snippet.splitlines():
            if line.startswith("# ") and not line.startswith("# or"):
                assert line[2:].split(" other leads:")[0] in printed, line


# ------------------------------------------------------------------------------------------- entry points and options
def _through_json(entry: AuditRecord) -> AuditRecord:
    return AuditRecord.from_dict(json.loads(entry.to_json()))


def split_problem(rng: np.random.Generator, n_groups: int = 4, per_group: int = 12, reps: int = 3) -> fa.Problem:
    """Leads that only reps of their own group can take: ``n_groups`` independent blocks."""
    n_leads, n_reps = n_groups * per_group, n_groups * reps
    score = np.full((n_leads, n_reps), np.nan)
    for g in range(n_groups):
        block = rng.uniform(1.0, 10.0, size=(per_group, reps)).round(2)
        block[rng.random(block.shape) < 0.2] = np.nan
        block[:, 0] = rng.uniform(1.0, 10.0, size=per_group).round(2)  # every lead has a rep
        score[g * per_group:(g + 1) * per_group, g * reps:(g + 1) * reps] = block
    return fa.Problem(score=score, capacity=np.full(n_reps, per_group / reps + 1), value=rng.uniform(1, 5, n_leads))


@pytest.mark.parametrize("rules", [[fa.AssignAll()], [fa.AssignAll(), fa.FairShare(0.3)]], ids=["bands", "fair"])
def test_solve_blocks_records_its_entry_and_replays_bit_for_bit(rules: list, rng: np.random.Generator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    problem = split_problem(rng)
    assert len(fa.blocks(problem, rules[:1])) == 4
    with ThreadPoolExecutor(2) as pool:
        result = fa.solve_blocks(problem, rules, executor=pool, max_blocks=3, seed=5, solver="auto")
    assert result.status.has_solution and "independent block" in result.reason
    settings = result.settings
    assert settings is not None and (settings.entry, settings.max_blocks, settings.seed) == ("solve_blocks", 3, 5)
    entry = _through_json(record(result))
    assert (entry.parameters.entry, entry.parameters.max_blocks) == ("solve_blocks", 3)
    again = replay(entry, problem)  # in this process
    assert again.matches, again.message
    assert "independent block" in again.result.reason and again.result.settings.entry == "solve_blocks"


def test_sweep_results_record_settings_and_replay(batch: fa.Problem) -> None:
    results = fa.sweep(batch, [[fa.FairShare(0.5)], [fa.AssignAll(), fa.FairShare(0.3)]], solver="mip", seed=4)
    for result in results:
        assert result.settings is not None and (result.settings.entry, result.settings.solver) == ("sweep", "mip")
        entry = _through_json(record(result, include_problem=True))
        assert entry.parameters.entry == "sweep" and entry.parameters.seed == 4
        assert replay(entry).matches


def test_weighted_round_robin_options_are_recorded_and_replayed(batch: fa.Problem, rng: np.random.Generator) -> None:
    options = {"monthly_capacity": rng.integers(30, 400, size=batch.n_reps),
               "opened_last_day": np.array([0, 2, 1, 0, 3, 0]), "lead_priority": rng.random(batch.n_leads)}
    result = run_strategy("weighted-round-robin", batch, [fa.Pin([("L-002", "Femi")])], seed=3, **options)
    assert result.settings.entry == "strategy" and set(result.settings.options) == set(options)
    default = run_strategy("weighted-round-robin", batch, [fa.Pin([("L-002", "Femi")])], seed=3)
    assert (default.rep_of != result.rep_of).any()  # the options matter, so a replay without them would differ
    entry = _through_json(record(result))
    assert entry.parameters.options["opened_last_day"] == {"array": [0, 2, 1, 0, 3, 0], "dtype": "<i8", "shape": [6]}
    again = replay(entry, batch)
    assert again.matches, again.message
    assert again.result.rep_of.tolist() == result.rep_of.tolist()
    with pytest.raises(fa.ValidationError, match="'lead_priority' differs from the recorded one"):
        replay(entry, batch, options={"lead_priority": options["lead_priority"] + 1.0})


def test_territory_rules_are_recorded_and_replayed() -> None:
    from fairassign.baselines import TerritoryRule, territory_rules

    example = fa.datasets.load_example()
    rules = (*territory_rules(example)[:1], TerritoryRule(reps=("Chen", "Eli"), criteria={"tier": ("A", "B")},
                                                          name="good leads"))
    result = run_strategy("territory", example.problem, rules=rules, lead_attributes=example.leads)
    catch_all = run_strategy("territory", example.problem)
    assert (catch_all.rep_of != result.rep_of).any()
    entry = _through_json(record(result, include_problem=True))
    recorded = entry.parameters.options["rules"]
    assert recorded["tuple"][1] == {"TerritoryRule": {
        "reps": ["Chen", "Eli"],
        "criteria": {"dict": {"tier": {"tuple": ["A", "B"]}}}, "name": "good leads"}}
    again = replay(entry)
    assert again.matches, again.message


def test_a_territory_predicate_is_refused_or_must_be_passed_again() -> None:
    from fairassign.baselines import TerritoryRule

    example = fa.datasets.load_example()
    rules = (TerritoryRule(reps=("Ana",), predicate=lambda a: a["value"] > 3000, name="big"),
             TerritoryRule(reps=("Ben", "Chen")))
    result = run_strategy("territory", example.problem, rules=rules, lead_attributes=example.leads)
    with pytest.raises(fa.ValidationError, match=r"strategy option 'rules'\[0\]: TerritoryRule 'big' has a "
                                                 r"predicate.*replay then needs it passed again"):
        record(result)
    entry = _through_json(record(result, unrecorded_options=True))
    assert "unrecorded" in entry.parameters.options["rules"]
    with pytest.raises(fa.ValidationError, match=r"could not hold strategy option\(s\) 'rules'.*passed again: "
                                                 r"replay\(entry, problem, options=\{'rules': ...\}\)"):
        replay(entry, example.problem)
    again = replay(entry, example.problem, options={"rules": rules})
    assert again.matches, again.message


@pytest.mark.parametrize("value", [
    np.array([1.5, np.inf, -0.0]), np.array([[1, 2], [3, 4]], dtype=np.int32), np.array([True, False]),
    np.array(["a", "bc"]), (1, "x", None, 2.5, float("inf")), ["n", {"k": (1, 2)}], {"a": [np.int64(3)]},
])
def test_option_values_round_trip(value: object) -> None:
    from fairassign.audit import options_from_dict, options_to_dict

    line = json.dumps(options_to_dict({"option": value}), allow_nan=False)
    back = options_from_dict(json.loads(line))["option"]
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        assert back.tobytes() == value.tobytes()
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize("value, message", [(np.array([np.nan]), "NaN"), ({1: 2}, "keys other than strings"),
                                            (object(), "type object cannot be recorded"),
                                            (print, "Python callable")])
def test_options_that_cannot_be_recorded_are_named(value: object, message: str) -> None:
    from fairassign.audit import options_to_dict

    with pytest.raises(fa.ValidationError, match=f"strategy option 'x'.*{message}"):
        options_to_dict({"x": value})


def test_a_format_1_record_still_reads_and_replays(batch: fa.Problem) -> None:
    data = record(fa.solve(batch, RULES, solver="cpsat", seed=1)).to_dict()
    data["format"] = 1
    for key in ("entry", "max_blocks", "options"):
        del data["parameters"][key]
    old = AuditRecord.from_dict(data)
    assert (old.format, old.parameters.entry, old.parameters.options) == (2, "solve", None)
    assert replay(old, batch).matches
    data["parameters"]["entry"] = "solve"
    with pytest.raises(fa.ValidationError, match="parameters"):
        AuditRecord.from_dict(data)  # a format-1 record holds exactly the format-1 parameters
