"""``fairassign compare``: the table, the frontier chart, the simulated period, exit codes."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from fairassign.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
FAST = ["--time-limit", "5", "--strategies", "fairassign,round-robin,weighted-round-robin"]


def _row(text: str, name: str) -> list[str]:
    statuses = "OPTIMAL|FEASIBLE|INVALID|INFEASIBLE|NO_SOLUTION|ERROR"
    found = re.search(rf"^{re.escape(name)}(?: \(\S+\))?\s+((?:{statuses})\s.*)$", text, flags=re.MULTILINE)
    assert found, f"no row for {name!r} in:\n{text}"
    return found.group(1).split()


def test_table_on_the_example_batch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", *FAST]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fairassign compare: the built-in example batch, 60 leads, 6 reps")
    assert "within +-15% of its capacity-weighted share" in out
    header = re.search(r"^strategy\s+status\s+score\s+exp\. revenue\s+coverage\s+unassigned\s+max dev", out,
                       flags=re.MULTILINE)
    assert header
    best = _row(out, "fairassign")
    assert best[0] in ("OPTIMAL", "FEASIBLE")
    assert float(best[5].rstrip("%")) <= 15.0 + 0.05  # max dev: the optimiser keeps the rule
    assert best[-2] == "0"  # rules broken
    baseline = _row(out, "round-robin")
    assert baseline[0] == "INVALID" and int(baseline[-2]) > 0
    # the uplift lines name every other strategy and agree with the scores in the table
    uplifts = dict(re.findall(r"^\s+(\S+)\s+([+-][\d.]+)%\s+\(", out, flags=re.MULTILINE))
    assert set(uplifts) == {"round-robin", "weighted-round-robin"}
    score = {name: float(_row(out, name)[1].replace(",", "")) for name in ("fairassign", "round-robin")}
    assert float(uplifts["round-robin"]) == pytest.approx(100 * (score["fairassign"] / score["round-robin"] - 1),
                                                          abs=0.06)
    assert "Price of fairness" not in out  # only with --frontier or --plot


def test_plot_writes_a_png_and_prints_the_frontier(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "frontier.png"
    assert main(["compare", *FAST, "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == PNG
    out = capsys.readouterr().out
    assert "Price of fairness (fair-share sweep)" in out
    assert re.search(r"^unconstrained\s+OPTIMAL\s+mip\s+60\s", out, flags=re.MULTILINE)
    assert re.search(r"^round-robin\s+FEASIBLE\s+round-robin\s", out, flags=re.MULTILINE)
    assert re.search(r"^\s+round-robin\s+[+-][\d.]+% expected value \(", out, flags=re.MULTILINE)
    assert f"frontier chart written to {path}" in out


def test_plot_without_matplotlib_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    path = tmp_path / "frontier.png"
    assert main(["compare", "--time-limit", "5", "--strategies", "round-robin", "--plot", str(path)]) == 3
    assert "fairassign[plot]" in capsys.readouterr().out
    assert not path.exists()


def test_simulated_period(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--time-limit", "5", "--strategies", "fairassign,round-robin", "--days", "2",
                 "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    period = out.split("Simulated period:", 1)[1]
    assert "2 day(s) of the built-in lead stream, seeds [0, 1]" in period
    assert re.search(r"^fairassign\s+[\d,]+\s+\[", period, flags=re.MULTILINE)
    assert re.search(r"^round-robin\s+[\d,]+\s+\[.*\]\s+[\d.]+\s+[\d,]+\s+[\d.]+%\s+[+-][\d,]+\s+\[", period,
                     flags=re.MULTILINE)


def test_synthetic_batch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--leads", "30", "--reps", "4", "--tolerance", "0.5", "--strategies",
                 "mip,round-robin", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fairassign compare: make_batch(30, 4, seed=2, tier_effort=True), 30 leads, 4 reps")
    assert _row(out, "mip")[0] == "OPTIMAL"
    assert "Uplift of fairassign" not in out  # the optimiser was not among the strategies


def test_no_rule_keeping_assignment_exits_1(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # the module, not the function fa.compare that the package may export under the same name
    module = importlib.import_module("fairassign.compare")
    real = module.run_strategy

    def failing(name: str, *args: object, **kwargs: object) -> object:
        if name == "fairassign":
            raise RuntimeError("solver crashed")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(module, "run_strategy", failing)
    assert main(["compare", "--strategies", "fairassign,round-robin"]) == 1
    out = capsys.readouterr().out
    assert _row(out, "fairassign")[0] == "ERROR"
    assert "fairassign: RuntimeError: solver crashed" in out
    assert _row(out, "round-robin")[0] == "INVALID"  # the table is still printed


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--leads", "10"]) == 2
    assert "--leads and --reps go together" in capsys.readouterr().out
    for argv in (["compare", "--strategies", "nope"], ["compare", "--tolerance", "-1"],
                 ["compare", "--days", "0"], ["compare", "--time-limit", "0"], ["compare", "--solver", "x"]):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
    assert "unknown strategy 'nope'" in capsys.readouterr().err
