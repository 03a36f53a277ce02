"""A CRM integration end to end: CSV exports in, an assignment file with explanations out.

A CRM exports today's open leads and the sales team as CSV files; a nightly job routes the
leads under the team's rules (a TOML file a sales manager can edit) and imports the result
back. This script does that twice, with the files in ``examples/data/``:

1. as the nightly job would, with the command line::

       fairassign solve leads.csv reps.csv --rules rules.toml -o assignments.csv

2. in Python, with pandas frames (``fairassign[pandas]``), for a service that already holds
   the data in memory: :meth:`RulesFile.build` and :func:`fairassign.frames.result_to_frame`.

Both give the same assignment; the script prints the leads per rep and why one lead went
where it did.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import fairassign as fa
from fairassign.frames import result_to_frame
from fairassign.rules_file import read_rules

DATA = Path(__file__).resolve().parent / "data"
LEAD = "L-002"  # the lead whose explanation is printed


def run_command_line(folder: Path) -> dict[str, dict[str, str]]:
    """Route the batch with ``fairassign solve``; return the written rows by lead id."""
    for name in ("leads.csv", "reps.csv", "rules.toml"):
        shutil.copy(DATA / name, folder / name)
    command = [sys.executable, "-m", "fairassign", "solve", "leads.csv", "reps.csv", "--rules", "rules.toml",
               "-o", "assignments.csv", "--quiet"]
    completed = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    print("$ fairassign solve leads.csv reps.csv --rules rules.toml -o assignments.csv")
    print(completed.stdout.rstrip())
    if completed.returncode != 0:
        sys.exit(f"fairassign solve failed ({completed.returncode}): {completed.stderr.strip()}")
    with open(folder / "assignments.csv", newline="", encoding="utf-8") as handle:
        return {row["lead_id"]: row for row in csv.DictReader(handle)}


def run_python() -> dict[str, str]:
    """Route the same batch from pandas frames; return ``{lead_id: rep_id}``."""
    import pandas as pd

    leads = pd.read_csv(DATA / "leads.csv")
    reps = pd.read_csv(DATA / "reps.csv")
    rules = read_rules(DATA / "rules.toml")
    problem, constraints = rules.build(leads, reps)
    result = fa.solve(problem, constraints, **rules.solve_options())
    frame = result_to_frame(result, like=leads)
    print(f"pandas in, {type(frame).__module__.split('.')[0]} out: {len(frame)} rows, "
          f"columns {', '.join(frame.columns)}; status {result.status.name}")
    return dict(zip(frame["lead_id"], frame["rep_id"], strict=True))


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        rows = run_command_line(Path(scratch))
    print()
    per_rep = Counter(row["rep_id"] or "(unassigned)" for row in rows.values())
    print("leads per rep: " + ", ".join(f"{rep} {count}" for rep, count in sorted(per_rep.items())))
    chosen = rows[LEAD]
    print(f"lead {LEAD} -> {chosen['rep_id']} (score {chosen['score']})")
    print(f"why: {chosen['explanation']}")
    print()
    from_python = run_python()
    same = from_python == {lead: row["rep_id"] for lead, row in rows.items()}
    print(f"same assignment from the command line and from Python: {same}")


if __name__ == "__main__":
    main()
