"""The ``fairassign`` command: demo output, failing backends, arguments, the baseline."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import fairassign as fa
from fairassign.cli import main
from fairassign.datasets import load_example
from fairassign.solvers import base
from fairassign.solvers.base import Solver, SolveRequest, SolverOutput

REPS = ["Ana", "Ben", "Chen", "Dara", "Eli", "Femi"]


def _rep_rows(output: str) -> dict[str, list[str]]:
    """Rows of the per-rep table, by rep name."""
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] in REPS and len(cells) >= 9:
            rows[cells[0]] = cells
    return rows


def _solver_rows(output: str) -> dict[str, str]:
    table = output.split("Solvers side by side")[1]
    return {line.split()[0]: line for line in table.splitlines()[3:] if line.strip() and not line.startswith("  ")}


@pytest.fixture(scope="module")
def demo_output() -> tuple[int, str]:
    """One run of ``fairassign demo`` shared by the tests that only read its output."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["demo", "--time-limit", "20"])
    return code, buffer.getvalue()


def test_demo_succeeds_and_shows_every_rep(demo_output: tuple[int, str]) -> None:
    code, output = demo_output
    assert code == 0
    rows = _rep_rows(output)
    assert sorted(rows) == sorted(REPS)
    batch = load_example()
    # leads and effort/capacity columns add up to the batch
    assert sum(int(cells[3]) for cells in rows.values()) == batch.problem.n_leads
    for r, name in enumerate(REPS):
        effort, capacity = rows[name][4].split("/")
        assert float(effort) <= float(capacity) == batch.problem.capacity[r]
    assert re.search(r"^total\s+60/60\s", output, flags=re.MULTILINE)
    assert "every lead assigned" in output and "+-15%" in output


def test_demo_fairness_figures_hold_the_rule(demo_output: tuple[int, str]) -> None:
    _, output = demo_output
    deviation = float(re.search(r"^max deviation\s+([\d.]+)%", output, flags=re.MULTILINE).group(1))
    assert deviation <= 15.0 + 0.05
    for column in (-1,):  # signed deviation per rep, within the tolerance
        for cells in _rep_rows(output).values():
            assert abs(float(cells[column].rstrip("%"))) <= 15.0 + 0.05
    assert re.search(r"^Gini\s+0\.\d{3} of value per rep", output, flags=re.MULTILINE)
    assert re.search(r"^max/min\s+[\d.,]+ of value per rep", output, flags=re.MULTILINE)
    assert re.search(r"^price\s+[\d.]+% of the score", output, flags=re.MULTILINE)


def test_demo_compares_every_backend_and_the_baseline(demo_output: tuple[int, str]) -> None:
    _, output = demo_output
    rows = _solver_rows(output)
    for name in ("auto", *fa.solver_names(), "round"):
        assert name in rows, name
    # flow cannot take per-lead effort with a fair share: shown as n/a, not an error
    assert " n/a " in rows["flow"]
    # the baseline ignores fairness, and the verifier says so
    assert "breaks rules" in rows["round"]
    # every backend that answered kept every rule
    for name in ("auto", *fa.solver_names()):
        assert "INVALID" not in rows[name]


class _Broken(Solver):
    name = "broken"
    exact = False

    def solve(self, problem: fa.Problem, rules: object, request: SolveRequest) -> SolverOutput:
        raise RuntimeError("this backend always fails")


def test_a_failing_backend_is_an_error_row_not_a_crash(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(base._REGISTRY, "broken", _Broken)
    code = main(["demo", "--solver", "cpsat", "--time-limit", "20"])
    output = capsys.readouterr().out
    assert code == 0  # the chosen solver worked
    rows = _solver_rows(output)
    assert rows["broken"].split()[1] == "error"
    assert "broken: RuntimeError: this backend always fails" in output
    assert sorted(_rep_rows(output)) == sorted(REPS)


def test_chosen_backend_failing_gives_exit_code_1(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(base._REGISTRY, "broken", _Broken)
    code = main(["demo", "--solver", "broken", "--time-limit", "5"])
    output = capsys.readouterr().out
    assert code == 1
    assert "Solver 'broken' returned no assignment (error)" in output
    assert _rep_rows(output) == {}
    assert "Solvers side by side" in output  # the comparison is still printed


def test_chosen_backend_that_cannot_take_the_batch(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--solver", "flow", "--time-limit", "5"])
    output = capsys.readouterr().out
    assert code == 1
    assert "flow: cannot take this batch" in output


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_solvers_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solvers"]) == 0
    output = capsys.readouterr().out
    for name in fa.solver_names():
        assert re.search(rf"^{re.escape(name)}\s+(yes|no)\s+yes", output, flags=re.MULTILINE), name


@pytest.mark.parametrize("argv", [
    ["demo", "--time-limit", "-1"],
    ["demo", "--time-limit", "soon"],
    ["demo", "--seed", "-2"],
    ["demo", "--solver", "nonesuch"],
    ["demo", "--tolerance", "-0.1"],
    ["frobnicate"],
])
def test_bad_arguments_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert "usage: fairassign" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--version"])
    assert raised.value.code == 0
    assert capsys.readouterr().out.strip() == f"fairassign {fa.__version__}"


def test_module_entry_point_runs() -> None:
    completed = subprocess.run([sys.executable, "-m", "fairassign.cli", "solvers"], capture_output=True,
                               text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "cpsat" in completed.stdout


# ----------------------------------------------------------------------------- baseline




def test_a_closed_pipe_ends_the_command_quietly() -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "fairassign", "demo", "--time-limit", "2"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()  # read one line, then close the pipe like `| head -1`
        process.stdout.close()
        errors = process.stderr.read().decode()
        process.wait(timeout=120)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors
