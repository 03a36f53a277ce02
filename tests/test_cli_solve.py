"""``fairassign solve``: CSV in, assignment CSV out; exit 2 and no file for every malformed input."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fairassign as fa
from fairassign.cli import main
from fairassign.commands import solve as command
from fairassign.commands.solve import read_csv, write_atomically
from fairassign.errors import ValidationError
from fairassign.rules_file import read_rules

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
FAST_RULES = """
[tiers]
effort = { A = 3, B = 2, C = 1 }
sla_hours = { A = 4 }

[[territories]]
lead = "region"
rep = "regions"

[score]
base = 0.5
[[score.bonus]]
lead = "industry"
rep = "skills"
add = 0.3

[fairness]
tolerance = 0.3

[solve]
assign_all = true
seed = 0
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working folder with the example's leads.csv and reps.csv and a quick rules.toml."""
    shutil.copy(DATA / "leads.csv", tmp_path / "leads.csv")
    shutil.copy(DATA / "reps.csv", tmp_path / "reps.csv")
    (tmp_path / "rules.toml").write_text(FAST_RULES, encoding="utf-8")
    return tmp_path


def _run(folder: Path, *extra: str, rules: str | None = "rules.toml", capsys: pytest.CaptureFixture[str],
         leads: str = "leads.csv", reps: str = "reps.csv") -> tuple[int, str, str]:
    argv = ["solve", str(folder / leads), str(folder / reps), "-o", str(folder / "out.csv"), "--quiet"]
    if rules is not None:
        argv += ["--rules", str(folder / rules)]
    code = main([*argv, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _files(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


# --------------------------------------------------------------------------- working runs
def test_solve_writes_assignment_with_explanations(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(folder, capsys=capsys)
    assert code == 0, err
    assert err == ""  # --quiet
    rows = _rows(folder / "out.csv")
    assert list(rows[0]) == ["lead_id", "rep_id", "score", "explanation"]
    assert [row["lead_id"] for row in rows] == [f"L-{k:03d}" for k in range(1, 61)]
    # the same batch solved in Python gives the same assignment, and it keeps every rule
    rules = read_rules(folder / "rules.toml")
    problem, constraints = rules.build(read_csv(folder / "leads.csv"), read_csv(folder / "reps.csv"))
    result = fa.solve(problem, constraints, **rules.solve_options())
    assert {row["lead_id"]: row["rep_id"] for row in rows} == result.assignment()
    assert fa.verify(problem, result.rep_of, constraints) == []
    for row in rows[:5]:
        assert row["explanation"].startswith(f"Lead '{row['lead_id']}' went to rep '{row['rep_id']}'")
        assert float(row["score"]) == pytest.approx(problem.pair_score[problem.pair_index(
            [problem.lead_position(row["lead_id"])], [problem.rep_position(row["rep_id"])])[0]])
    assert re.search(r"^(OPTIMAL|FEASIBLE): 60 of 60 leads assigned to 6 reps by \w+", out, re.MULTILINE)
    assert "rules: every lead assigned; lead value per rep within +-30%" in out
    assert f"wrote 60 rows to {folder / 'out.csv'}" in out
    assert _files(folder) == {"leads.csv", "reps.csv", "rules.toml", "out.csv"}


def test_pairs_csv_scores_and_effort(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "leads2.csv").write_text("id,value\nL1,100\nL2,50\nL3,10\n", encoding="utf-8")
    (folder / "reps2.csv").write_text("id,capacity\nAna,3\nBo,2\n", encoding="utf-8")
    (folder / "pairs.csv").write_text(
        "lead_id,rep_id,score,effort\nL1,Ana,9,2\nL1,Bo,5,1\nL2,Bo,4,1\nL3,Ana,3,1\nL3,Bo,8,2\n", encoding="utf-8")
    code, _, err = _run(folder, "--pairs", str(folder / "pairs.csv"), "--no-explain", rules=None,
                          leads="leads2.csv", reps="reps2.csv", capsys=capsys)
    assert code == 0, err
    rows = _rows(folder / "out.csv")
    assert list(rows[0]) == ["lead_id", "rep_id", "score"]
    # Bo has room 2: L2 (1) + L1 (1) or L3 (2); best is L1->Ana (9), L2->Bo (4), L3 cannot go to Ana (room 1 left)
    assert {row["lead_id"]: (row["rep_id"], row["score"]) for row in rows} == {
        "L1": ("Ana", "9"), "L2": ("Bo", "4"), "L3": ("Ana", "3")}


def test_unassigned_lead_has_empty_cells(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "leads2.csv").write_text("id\nL1\nL2\n", encoding="utf-8")
    (folder / "reps2.csv").write_text("id,capacity\nAna,1\n", encoding="utf-8")
    code, _, err = _run(folder, rules=None, leads="leads2.csv", reps="reps2.csv", capsys=capsys)
    assert code == 0, err
    rows = _rows(folder / "out.csv")
    assert (rows[0]["rep_id"], rows[1]["rep_id"], rows[1]["score"]) == ("Ana", "", "")
    assert "no eligible rep" in rows[1]["explanation"] or "full" in rows[1]["explanation"]


def test_progress_lines_and_heartbeat(folder: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "HEARTBEAT", 0.01)
    real_solve = command.solve

    def slow_solve(*args: object, **kwargs: object) -> fa.Result:
        import time
        time.sleep(0.2)
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(command, "solve", slow_solve)
    code = main(["solve", str(folder / "leads.csv"), str(folder / "reps.csv"), "--rules", str(folder / "rules.toml"),
                 "-o", str(folder / "out.csv"), "--no-explain"])
    err = capsys.readouterr().err
    assert code == 0
    phases = [line.split("] ", 1)[1] for line in err.splitlines()]
    assert phases[0] == f"read rules from {folder / 'rules.toml'}"
    assert phases[1] == "read 60 leads, 6 reps"
    assert phases[2].startswith("built the batch: 137 candidate pairs; rules: every lead assigned")
    assert phases[3] == "solving with auto"
    assert any(line.startswith("solving with auto: still running") for line in phases)
    assert any(re.match(r"solved: (OPTIMAL|FEASIBLE) by \w+", line) for line in phases)
    assert phases[-1] == f"wrote {folder / 'out.csv'}"


def test_audit_record_appended(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fairassign.audit import read_jsonl, replay

    audit = folder / "audit.jsonl"
    for _ in range(2):
        code, out, err = _run(folder, "--audit", str(audit), "--no-explain", capsys=capsys)
        assert code == 0, err
        assert f"audit record appended to {audit}" in out
    records = read_jsonl(audit)
    assert len(records) == 2
    assert records[0].input_digest == records[1].input_digest
    assert dict(records[0].decisions) == {row["lead_id"]: row["rep_id"] for row in _rows(folder / "out.csv")}
    rules = read_rules(folder / "rules.toml")
    problem, _ = rules.build(read_csv(folder / "leads.csv"), read_csv(folder / "reps.csv"))
    assert replay(records[1], problem).matches
    assert json.loads(audit.read_text().splitlines()[0])["n_leads"] == 60


def test_options_override_the_rules_file(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(folder, "--solver", "greedy", "--seed", "3", "--no-explain", capsys=capsys)
    assert code == 0, err
    assert " by greedy in " in out


def test_time_limit_marks_best_so_far() -> None:
    batch = fa.datasets.load_example()
    result = fa.solve(batch.problem, [fa.AssignAll()])
    stopped = dataclasses.replace(result, status=fa.Status.FEASIBLE, gap=0.02, reason="cpsat; time limit reached")
    args = argparse.Namespace(output="out.csv", audit=None)
    lines = command._summary(stopped, args, 5.0)
    assert "time limit of 5 s reached: this is the best assignment found so far, not proven optimal (gap 2.00%)" \
        in lines
    assert not any("time limit" in line for line in command._summary(result, args, 5.0))
    assert not any("time limit" in line for line in command._summary(stopped, args, None))


def test_infeasible_rules_exit_1_and_write_nothing(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "tight.toml").write_text('[capacity]\ncolumn = "none"\ndefault = 1\n[solve]\nassign_all = true\n',
                                       encoding="utf-8")
    code, out, _ = _run(folder, rules="tight.toml", capsys=capsys)
    assert code == 1
    assert out.startswith("no assignment: INFEASIBLE")
    assert "out.csv" not in _files(folder)


def test_interrupt_writes_nothing(folder: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "solve", interrupted)
    code, _, err = _run(folder, capsys=capsys)
    assert code == 130
    assert err == "fairassign solve: error: interrupted; nothing was written\n"
    assert _files(folder) == {"leads.csv", "reps.csv", "rules.toml"}


def test_interrupt_during_refinement_writes_the_best_so_far(folder: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from fairassign.audit import read_jsonl
    from fairassign.solvers import auto

    real_run = auto._run
    stages: list[str] = []

    def run(name: str, *args: object) -> object:
        stages.append(name)
        if len(stages) == 2:  # the refinement after the first heuristic answer
            raise KeyboardInterrupt
        return real_run(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(auto, "_run", run)
    audit = folder / "audit.jsonl"
    code, out, err = _run(folder, "--audit", str(audit), capsys=capsys)
    assert code == command.EXIT_INTERRUPTED == 3, err
    assert stages == ["lp-round", "cpsat"]
    assert out.startswith("FEASIBLE (INTERRUPTED: best assignment so far): 60 of 60 leads assigned to 6 reps by "
                          "lp-round")
    assert "interrupted during cpsat: this is the best assignment found before the interrupt, not proven optimal" \
        in out
    rows = _rows(folder / "out.csv")
    assert len(rows) == 60 and all(row["rep_id"] for row in rows)
    (entry,) = read_jsonl(audit)
    assert entry.status == "feasible" and "interrupted during cpsat; best assignment so far" in entry.reason
    assert dict(entry.decisions) == {row["lead_id"]: row["rep_id"] for row in rows}


def _big_batch(folder: Path, n_leads: int = 600, n_reps: int = 20, per_lead: int = 8) -> None:
    """A batch whose auto solve refines with the MIP for a second or more (4800 pairs, a 2% fair share)."""
    rng = np.random.default_rng(0)
    value = np.round(rng.lognormal(7.0, 1.0, n_leads), 2)
    (folder / "leads.csv").write_text("id,value\n" + "".join(f"L{i},{v}\n" for i, v in enumerate(value)))
    capacity = int(np.ceil(1.1 * n_leads / n_reps))
    (folder / "reps.csv").write_text("id,capacity\n" + "".join(f"R{r},{capacity}\n" for r in range(n_reps)))
    lines = ["lead_id,rep_id,score\n"]
    for i in range(n_leads):
        for r in rng.choice(n_reps, size=per_lead, replace=False):
            lines.append(f"L{i},R{r},{round(value[i] * rng.uniform(0.5, 1.5), 2)}\n")
    (folder / "pairs.csv").write_text("".join(lines))
    (folder / "rules.toml").write_text("[fairness]\ntolerance = 0.02\n[solve]\nassign_all = true\n")


def test_real_sigint_during_the_mip_stage_writes_the_best_so_far(tmp_path: Path) -> None:
    """Ctrl-C for real: SIGINT to a running ``fairassign solve`` once it reports the MIP stage.

    Deterministic enough: the stage line is logged just before the MIP starts, and the MIP then
    runs for its budget (at least a second); HiGHS finishes its run before Python raises the
    interrupt, which auto catches, keeping lp-round's answer.
    """
    import signal

    _big_batch(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "fairassign", "solve", "leads.csv", "reps.csv", "--pairs", "pairs.csv", "--rules",
         "rules.toml", "-o", "out.csv", "--no-explain"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            if line.rstrip().endswith("auto: running mip"):
                process.send_signal(signal.SIGINT)
                break
        out, rest = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    err = "".join(seen) + rest
    assert process.returncode == 3, err
    assert "auto: running lp-round" in err and "interrupted: writing the best assignment so far" in err
    assert out.startswith("FEASIBLE (INTERRUPTED: best assignment so far): 600 of 600 leads assigned to 20 reps by "
                          "lp-round")
    assert "interrupted during mip" in out
    rows = _rows(tmp_path / "out.csv")
    assert len(rows) == 600 and all(row["rep_id"] for row in rows)
    assert not [name for name in _files(tmp_path) if name.endswith(".tmp")]


# --------------------------------------------------------------------------- malformed input
def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


MALFORMED = {
    "missing column": (lambda f: _edit(f / "reps.csv", "regions,", "areas,"),
                       "rules.toml, line 8: territories[1].rep: reps.csv has no column 'regions'"),
    "wrong type": (lambda f: _edit(f / "leads.csv", "L-003,B,West,Software,848.37", "L-003,B,West,Software,lots"),
                   "leads.csv line 4, column 'value' (lead value): expected a number, got 'lots'"),
    "empty cell": (lambda f: _edit(f / "leads.csv", "L-003,B,West,Software,848.37", "L-003,B,West,Software,"),
                   "leads.csv line 4, column 'value' (lead value): value is missing"),
    "NaN": (lambda f: _edit(f / "reps.csv", "Ben,A,South,South,Retail;Finance,22", "Ben,A,South,South,Retail,nan"),
            "reps.csv line 3, column 'capacity' (capacity): value is missing (empty, NaN or null)"),
    "negative": (lambda f: _edit(f / "reps.csv", ",22", ",-22"),
                 "reps.csv line 3, column 'capacity' (capacity): expected a number >= 0, got -22"),
    "duplicate id": (lambda f: _edit(f / "leads.csv", "L-003,", "L-001,"),
                     "leads.csv column 'id' (lead id) must hold unique ids; 'L-001' appears at line 2 and line 4"),
    "unknown rep in pins": (lambda f: _edit(f / "rules.toml", "[solve]", '[pins]\n"L-001" = "Zed"\n\n[solve]'),
                            "rules.toml, line 21: pins.L-001: 'Zed' is not a rep id of the batch"),
    "unknown lead in pins": (lambda f: _edit(f / "rules.toml", "[solve]", '[pins]\n"L-999" = "Ana"\n[solve]'),
                             "rules.toml, line 21: pins.L-999: 'L-999' is not a lead id of the batch"),
    "empty batch": (lambda f: (f / "leads.csv").write_text("id,tier,region,industry,value\n", encoding="utf-8"),
                    "leads.csv has no rows: an empty batch has no lead to assign"),
    "empty file": (lambda f: (f / "reps.csv").write_text("", encoding="utf-8"),
                   "reps.csv: the file is empty; expected a header line with column names"),
    "ragged row": (lambda f: _edit(f / "leads.csv", "L-003,B,West,Software,848.37", "L-003,B,West,848.37"),
                   "leads.csv line 4: 4 fields, expected 5 as in the header (id, tier, region, industry, value)"),
    "repeated header": (lambda f: _edit(f / "reps.csv", "id,max_tier", "id,id"),
                        "reps.csv line 1: column 'id' appears twice in the header"),
    "typo in rules": (lambda f: _edit(f / "rules.toml", "tolerance = 0.3", "tolerence = 0.3"),
                      "rules.toml, line 18: fairness.tolerence: unknown key 'tolerence'; did you mean 'tolerance'?"),
    "TOML syntax": (lambda f: _edit(f / "rules.toml", "tolerance = 0.3", "tolerance = "),
                    "rules.toml, line 18: invalid TOML:"),
    "unknown tier": (lambda f: _edit(f / "leads.csv", "L-003,B,", "L-003,Z,"),
                     "leads.csv line 4, column 'tier': tier 'Z' is not in tiers.order ['A', 'B', 'C']"),
    "missing file": (lambda f: (f / "reps.csv").unlink(), "reps.csv: file not found"),
    "not UTF-8": (lambda f: (f / "leads.csv").write_bytes(b"id,value\nL\xe9,1\n"), "leads.csv: not UTF-8 text"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_exits_2_with_one_line_and_no_file(case: str, folder: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    damage, expected = MALFORMED[case]
    damage(folder)
    before = _files(folder)
    code, out, err = _run(folder, capsys=capsys)
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("fairassign solve: error: "), err
    assert expected in err.replace(f"{folder}/", ""), err
    assert _files(folder) == before  # no output, no temporary file


def test_malformed_pairs_csv(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "pairs.csv").write_text("lead_id,rep_id,score\nL-001,Chen,5\nL-002,Nobody,3\n", encoding="utf-8")
    code, _, err = _run(folder, "--pairs", str(folder / "pairs.csv"), capsys=capsys)
    assert code == 2
    assert "pairs.csv line 3, column 'rep_id': 'Nobody' is not an id in" in err
    (folder / "pairs.csv").write_text("lead_id,rep_id,score\nL-001,Chen,5\nL-001,Chen,3\n", encoding="utf-8")
    code, _, err = _run(folder, "--pairs", str(folder / "pairs.csv"), capsys=capsys)
    assert code == 2
    assert "pairs.csv lists the pair ('L-001', 'Chen') twice: at line 2 and line 3" in err
    assert "out.csv" not in _files(folder)


def test_failed_run_keeps_the_previous_output(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "out.csv").write_text("yesterday\n", encoding="utf-8")
    _edit(folder / "leads.csv", "848.37", "oops")
    code, _, _ = _run(folder, capsys=capsys)
    assert code == 2
    assert (folder / "out.csv").read_text(encoding="utf-8") == "yesterday\n"


def test_bad_output_places(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["solve", str(folder / "leads.csv"), str(folder / "reps.csv"), "-o", str(folder / "no" / "out.csv")])
    assert code == 2
    assert "folder" in capsys.readouterr().err
    code = main(["solve", str(folder / "leads.csv"), str(folder / "reps.csv"), "-o", str(folder / "leads.csv")])
    assert code == 2
    assert "would overwrite the input file" in capsys.readouterr().err
    assert (folder / "leads.csv").read_text(encoding="utf-8").startswith("id,tier")


def test_usage_errors_exit_2(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["solve", "leads.csv", "reps.csv"], ["solve", "a", "b", "-o", "x", "--time-limit", "0"],
                 ["solve", "a", "b", "-o", "x", "--solver", "magic"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    capsys.readouterr()


# --------------------------------------------------------------------------- pieces
def test_write_atomically_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), write_atomically(target) as handle:
        handle.write("half")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert _files(tmp_path) == {"out.csv"}
    with write_atomically(target) as handle:
        handle.write("new")
    assert target.read_text(encoding="utf-8") == "new"
    assert _files(tmp_path) == {"out.csv"}


def test_read_csv_lines_skip_blanks_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,note,value\na,"two\nlines",1\n\nb,x,2\n', encoding="utf-8")
    table = read_csv(path)
    assert table.n_rows == 2
    assert table.lines.tolist() == [2, 5]
    assert table.numbers("value", "v").tolist() == [1.0, 2.0]
    path.write_text('id,value\na,1\n\nb,zz\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"t\.csv line 4, column 'value' \(v\): expected a number, got 'zz'"):
        read_csv(path).numbers("value", "v")


def test_score_cells_are_short_and_exact() -> None:
    assert command._cell(1561.3) == "1561.3"
    assert command._cell(0.1 + 0.2) == "0.3"
    assert command._cell(None) == ""
    assert command._cell(np.int64(3)) == "3"


def test_crm_example_runs_end_to_end() -> None:
    completed = subprocess.run([sys.executable, str(ROOT / "examples" / "crm_integration.py")], capture_output=True,
                               text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout
    assert output.startswith("$ fairassign solve leads.csv reps.csv --rules rules.toml -o assignments.csv\n")
    assert re.search(r"^(OPTIMAL|FEASIBLE): 60 of 60 leads assigned to 6 reps", output, re.MULTILINE)
    counts = dict(re.findall(r"(\w+) (\d+)", re.search(r"^leads per rep: (.*)$", output, re.MULTILINE).group(1)))
    assert set(counts) == {"Ana", "Ben", "Chen", "Dara", "Eli", "Femi"}
    assert sum(int(n) for n in counts.values()) == 60
    chosen = re.search(r"^lead L-002 -> (\w+) \(score ([\d.]+)\)$", output, re.MULTILINE)
    assert chosen is not None
    assert re.search(rf"^why: Lead 'L-002' went to rep '{chosen.group(1)}'", output, re.MULTILINE)
    assert "pandas in, pandas out: 60 rows, columns lead_id, rep_id, score" in output
    assert output.rstrip().endswith("same assignment from the command line and from Python: True")


def test_help_lists_solve(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "solve" in capsys.readouterr().out


def test_runs_without_narwhals_or_polars(folder: Path) -> None:
    """The command reads CSV with the standard library: the data-frame extras are not needed."""
    script = (
        "import sys\n"
        "for name in ('narwhals', 'narwhals.stable.v2', 'polars'):\n"
        "    sys.modules[name] = None\n"
        "from fairassign.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, "solve", "leads.csv", "reps.csv", "--rules", "rules.toml", "-o", "out.csv",
         "--quiet"], cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    assert len(_rows(folder / "out.csv")) == 60
