"""``fairassign solve leads.csv reps.csv --rules rules.toml -o assignments.csv``.

Reads the leads and reps (and optionally scored pairs) from CSV files with the standard
library, applies a TOML rules file (:mod:`fairassign.rules_file`), solves, and writes one
row per lead (``lead_id``, ``rep_id``, ``score``, ``explanation``) and, when asked, an audit
record appended to a JSON-lines file. Both files are written atomically: to a temporary file
in the same folder, then renamed over the target, so an error leaves no partial file.

Exit codes: 0 an assignment was written; 1 the rules admit none (the diagnosis is printed,
nothing is written); 2 malformed input (a one-line error naming the file, line and column)
or a usage error; 3 interrupted (Ctrl-C) while ``solver="auto"`` was refining, after a first
stage had an answer: that best assignment so far was written, and the summary says so;
130 interrupted before any assignment, or while writing: nothing was written. A line per
phase (and per stage of ``auto``) goes to stderr (``--quiet`` turns it off), with a
heartbeat every few seconds while the solver runs.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..errors import FairAssignError, MissingDependencyError, ValidationError
from ..frames import Table, result_columns
from ..metrics import metrics
from ..result import Result, Status
from ..rules_file import RulesFile, read_rules
from ..solve import solve
from ..solvers import solver_names
from . import integer_at_least, positive_float

__all__ = ["add_parser", "read_csv", "write_atomically", "run"]

#: seconds between two "still solving" lines
HEARTBEAT = 5.0
#: exit code of a run interrupted after a first answer, which was written as the best so far
EXIT_INTERRUPTED = 3


# --------------------------------------------------------------------------- input
def read_csv(path: str | os.PathLike[str], name: str | None = None) -> Table:
    """A CSV file with a header line as a text :class:`~fairassign.frames.Table`.

    Cells are kept as stripped strings (numbers are parsed where a number is expected);
    messages name the file and the line of each row. Blank lines are skipped.

    Raises
    ------
    ValidationError
        The file is missing, unreadable, not UTF-8, has no header, an empty or repeated
        column name, or a row with a different number of fields than the header.
    """
    label = name or str(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"{label}: file not found") from None
    except OSError as exc:
        raise ValidationError(f"{label}: cannot read: {exc.strerror}") from None
    rows: list[list[str]] = []
    lines: list[int] = []
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise ValidationError(f"{label}: the file is empty; expected a header line with column names")
            header = [cell.strip() for cell in header]
            for k, column in enumerate(header):
                if not column:
                    raise ValidationError(f"{label} line 1, column {k + 1}: empty column name in the header")
                if column in header[:k]:
                    raise ValidationError(f"{label} line 1: column {column!r} appears twice in the header")
            start = reader.line_num + 1
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    start = reader.line_num + 1
                    continue
                if len(row) != len(header):
                    raise ValidationError(
                        f"{label} line {start}: {len(row)} fields, expected {len(header)} as in the header "
                        f"({', '.join(header)})"
                    )
                rows.append([cell.strip() for cell in row])
                lines.append(start)
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ValidationError(f"{label} line {reader.line_num}: malformed CSV: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    columns: dict[str, Any] = {}
    for k, column in enumerate(header):
        cells = np.empty(len(rows), dtype=object)
        cells[:] = [row[k] for row in rows]
        columns[column] = cells
    return Table(label, columns, len(rows), lines=np.array(lines, dtype=np.int64), text=True)


# --------------------------------------------------------------------------- output
@contextlib.contextmanager
def write_atomically(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """Open a temporary file beside ``path`` for text; rename it over ``path`` only on success.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        # mkstemp makes the file private (0600); give it the mode an ordinary new file would have
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~umask)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # 12 significant digits: value x fit products print as 2205.992, not 2205.9919999999997
        return format(value, ".12g")
    return str(value)


def assignment_rows(result: Result, explain: bool) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the assignment CSV."""
    columns = result_columns(result, explain=explain)
    header = list(columns)
    rows = [[_cell(value) for value in row] for row in zip(*columns.values(), strict=True)]
    return header, rows


# --------------------------------------------------------------------------- progress
class _Progress:
    """One line per phase on stderr, and a heartbeat while the solver runs."""

    def __init__(self, stream: TextIO | None, interval: float | None = None) -> None:
        self.stream = stream
        self.interval = HEARTBEAT if interval is None else interval
        self.started = time.perf_counter()

    def say(self, text: str) -> None:
        if self.stream is not None:
            print(f"[{time.perf_counter() - self.started:6.1f} s] {text}", file=self.stream, flush=True)

    @contextlib.contextmanager
    def stages(self) -> Iterator[None]:
        """Show the stages ``solver="auto"`` logs (lp-round, mip ...) as progress lines."""
        if self.stream is None:
            yield
            return
        progress = self

        class Lines(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                progress.say(record.getMessage())

        logger, handler = logging.getLogger("fairassign.auto"), Lines(logging.INFO)
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    @contextlib.contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        if self.stream is None:
            yield
            return
        done = threading.Event()
        began = time.perf_counter()

        def beat() -> None:
            while not done.wait(self.interval):
                self.say(f"{what}: still running after {time.perf_counter() - began:.0f} s")

        thread = threading.Thread(target=beat, name="fairassign-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


# --------------------------------------------------------------------------- the command
def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``solve`` to the ``fairassign`` subcommands."""
    parser = commands.add_parser(
        "solve", help="assign the leads of a CSV file to the reps of another, under a TOML rules file",
        description="Assign the leads in LEADS to the reps in REPS under the rules in a TOML file; write one "
                    "row per lead with its rep, score and an explanation. Exit 0: written; 1: the rules admit no "
                    "assignment; 2: malformed input; 3: interrupted, the best assignment so far written; "
                    "130: interrupted, nothing written.",
    )
    parser.add_argument("leads", help="CSV file, one row per lead (an id column, and the columns the rules name)")
    parser.add_argument("reps", help="CSV file, one row per rep (an id column, capacity, ...)")
    parser.add_argument("--rules", metavar="RULES.toml", help="TOML rules file (see docs/integration.md)")
    parser.add_argument("--pairs", metavar="PAIRS.csv",
                        help="CSV of scored candidate pairs: lead_id, rep_id, score [, effort]; without it the "
                             "score is lead value x the fit rule of the rules file")
    parser.add_argument("-o", "--output", required=True, metavar="ASSIGNMENTS.csv",
                        help="where to write the assignment (written atomically)")
    parser.add_argument("--audit", metavar="AUDIT.jsonl", help="append the run's audit record to this JSON-lines file")
    parser.add_argument("--solver", choices=("auto", *solver_names()), help="backend (default: the rules file's, "
                                                                             "else auto)")
    parser.add_argument("--time-limit", type=positive_float, metavar="SECONDS",
                        help="seconds for the solver (default: the rules file's, else none)")
    parser.add_argument("--seed", type=integer_at_least(0), help="seed (default: the rules file's, else 0)")
    parser.add_argument("--no-explain", action="store_true", help="leave out the explanation column")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(handler=run)
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"fairassign solve: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def run(args: argparse.Namespace, out: TextIO) -> int:
    """The ``solve`` subcommand; returns the exit code."""
    progress = _Progress(None if args.quiet else sys.stderr)
    try:
        return _run(args, out, progress)
    except (ValidationError, MissingDependencyError) as exc:
        return _fail(str(exc))
    except FairAssignError as exc:
        return _fail(f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was written", 130)


def _check_output(path: str, inputs: Sequence[str | None], option: str) -> None:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ValidationError(f"{option} {path}: folder {str(folder)!r} does not exist")
    if target.is_dir():
        raise ValidationError(f"{option} {path}: is a folder; give a file name")
    for given in inputs:
        if given is not None and Path(given).exists() and target.exists() and target.samefile(given):
            raise ValidationError(f"{option} {path}: would overwrite the input file {given}")


def _audit_functions() -> tuple[Callable[..., Any], Callable[..., Any]]:
    try:
        from ..audit import record, write_jsonl
    except ImportError:
        raise MissingDependencyError("--audit needs fairassign.audit, which this installation lacks") from None
    return record, write_jsonl


def _run(args: argparse.Namespace, out: TextIO, progress: _Progress) -> int:
    inputs = [args.leads, args.reps, args.rules, args.pairs]
    _check_output(args.output, inputs, "-o")
    if args.audit is not None:
        _check_output(args.audit, [*inputs, args.output], "--audit")
        if Path(args.audit).resolve() == Path(args.output).resolve():
            raise ValidationError(f"--audit {args.audit}: the same file as -o")
    audit = _audit_functions() if args.audit is not None else None

    rules = read_rules(args.rules) if args.rules is not None else RulesFile(source="(no rules file)")
    progress.say(f"read rules from {args.rules}" if args.rules else "no rules file: capacity column, no other rule")
    leads = read_csv(args.leads)
    reps = read_csv(args.reps)
    pairs = read_csv(args.pairs) if args.pairs is not None else None
    progress.say(f"read {leads.n_rows} leads, {reps.n_rows} reps"
                 + (f", {pairs.n_rows} scored pairs" if pairs is not None else ""))
    problem, constraints = rules.build(leads, reps, pairs=pairs)
    progress.say(f"built the batch: {problem.n_pairs} candidate pairs; rules: "
                 + ("; ".join(c.describe() for c in constraints) or "capacity and eligibility only"))

    options = rules.solve_options()
    for key in ("solver", "time_limit", "seed"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    limit = options["time_limit"]
    what = f"solving with {options['solver']}" + (f" (time limit {limit:g} s)" if limit is not None else "")
    progress.say(what)
    with progress.waiting(what), progress.stages():
        result = solve(problem, constraints, **options)
    interrupted = _interrupted(result)
    progress.say(f"solved: {result.status.name} by {result.solver} in {result.solve_time:.2f} s"
                 + ("; interrupted: writing the best assignment so far" if interrupted else ""))

    say = lambda text="": print(text, file=out)  # noqa: E731 - a local shorthand
    if not result.status.has_solution:
        say(f"no assignment: {result.status.name}")
        for line in result.diagnosis:
            say(f"  {line}")
        for violation in result.violations:
            say(f"  violation: {violation.message}")
        say(f"nothing written to {args.output}")
        return 1

    explain = not args.no_explain
    with progress.waiting("explaining each decision"):
        if explain:
            progress.say("explaining each decision")
        header, rows = assignment_rows(result, explain=explain)
    entry = None
    if audit is not None:
        record_audit, write_audit = audit
        entry = record_audit(result)

    with write_atomically(args.output) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        if entry is not None:
            # appended (all lines or none) before the assignment file is renamed into place, so a
            # failed append leaves neither file changed
            write_audit(entry, args.audit)
    progress.say(f"wrote {args.output}" + (f" and {args.audit}" if args.audit else ""))

    for line in _summary(result, args, limit):
        say(line)
    return EXIT_INTERRUPTED if interrupted else 0


def _summary(result: Result, args: argparse.Namespace, limit: float | None) -> list[str]:
    problem = result.problem
    figures = metrics(problem, result)
    gap = "n/a" if result.gap is None else f"{result.gap:.2%}"
    interrupted = _interrupted(result)
    lines = [
        f"{result.status.name}" + (" (INTERRUPTED: best assignment so far)" if interrupted else "")
        + f": {result.n_assigned} of {problem.n_leads} leads assigned to {problem.n_reps} reps "
        f"by {result.solver} in {result.solve_time:.2f} s",
        f"total score {result.objective:,.2f}, bound "
        + ("n/a" if result.bound is None else f"{result.bound:,.2f}") + f", gap {gap}",
    ]
    if result.constraints:
        lines.append("rules: " + "; ".join(c.describe() for c in result.constraints))
    if np.isfinite(figures.max_share_deviation):
        lines.append(f"fairness: max deviation {figures.max_share_deviation:.1%} from the capacity-weighted share, "
                     f"Gini {figures.gini_value:.3f} of value per rep")
    if interrupted:
        stage = result.reason.split("interrupted during ", 1)[1].split(";", 1)[0].split(" (", 1)[0]
        lines.append(f"interrupted during {stage}: this is the best assignment found before the interrupt, "
                     f"not proven optimal (gap {gap})")
    elif _hit_time_limit(result, limit):
        lines.append(f"time limit of {limit:g} s reached: this is the best assignment found so far, "
                     f"not proven optimal (gap {gap})")
    lines.append(f"wrote {problem.n_leads} rows to {args.output}" + (f"; audit record appended to {args.audit}"
                                                                      if args.audit else ""))
    return lines


def _interrupted(result: Result) -> bool:
    """True for an answer ``auto`` returned because Ctrl-C stopped a later stage (see solvers/auto.py)."""
    return result.status.has_solution and "interrupted during " in result.reason


def _hit_time_limit(result: Result, limit: float | None) -> bool:
    """A FEASIBLE answer under a time limit that was not proven within ``auto``'s default gap.

    Backends say "time limit" in their notes; ``auto`` instead keeps its heuristic answer when
    no time is left to refine it, which shows as a gap above the 1e-4 it aims for.
    """
    if limit is None or result.status is not Status.FEASIBLE:
        return False
    return ("time limit" in result.reason.lower() or result.solve_time >= 0.95 * limit
            or result.gap is None or result.gap > 1e-4)
