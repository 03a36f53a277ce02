"""The online router against the offline optimum of the same leads, and against greedy routing.

One day's leads come from :func:`fairassign.datasets.make_batch` (one batch, so the reps are the
same), shuffled and split: a *sample* (yesterday, the same distribution) and a *stream* routed one
lead at a time in random order. Capacities are the day's for the stream (the batch's capacities
scaled to the stream's share, rounded down), so they bind when ``--slack`` is below 1.

Methods, all on the same stream:

* ``offline``: ``fa.solve(stream, [FairShare], objective="score")``, every lead known in advance;
  its total score is the reference (100%), its bound an upper limit on any method.
* ``offline-nofair``: the same without FairShare (exact min-cost flow); ``x bound`` divides by the
  smaller of this and the offline solve's own bound, an upper limit on every fair assignment.
* ``router``: :class:`fairassign.router.Router` with prices from the sample LP only.
* ``router+refresh``: the same, re-solving the prices every ``--refresh`` leads on a window of
  the last ``--window`` leads with the room left.
* with ``--routers MODE:GAIN ...`` (e.g. ``feedback:2 track:2 track:40``), one ``router`` and one
  ``router+refresh`` row per variant: ``Router(fair_prices=MODE, fair_gain=GAIN)`` (``:guard``
  appended: ``fair_guard=True``); default ``feedback:2``, the Router's defaults.
* ``greedy``: no prices: each lead to its best-scoring eligible rep with room (the anchor that
  should do worse).
* with ``--hindsight``, ``router hindsight``: ``Router(stream, constraints, fair_prices="lp")``, prices
  from the LP of the stream itself (fair-share rows included), then the same random-order routing.
  No router can know these prices; the row shows what per-lead price routing can do at best, and
  so whether a miss comes from the prices or from routing one lead at a time.

With ``--period DAYS`` the run covers a period instead of a day: one batch of ``DAYS`` days plus the
sample, shuffled, one stream per day with the day's capacity. Every router holds the fair share over
the period (``FairShare(t, received=value each rep received on the earlier days)``; a new ``Router`` each
morning, the sample's prices). Per router and day: the period's score so far against the sum of the
days' capacity-only optima (``x bound``: no fair assignment can beat it), and the largest fair-share
deviation of the period so far, with the number of reps outside ``+-t``. ``--period-offline`` adds the
offline answer over the period (``fa.solve`` each day with the period rule and what it gave earlier;
slow: one fair solve per day; ``--offline-solver`` picks the backend, ``--routers`` with no variant
leaves the routers out). ``--period-pooled`` adds the whole period solved at once (every day's leads known
in advance, the share held at the period's end, each rep's capacity summed over the days), whose LP bound
caps every assignment the routers' measure accepts. ``--sample-yesterday``: from the second morning on, each
router learns from the previous day's leads (all of them, known by then) instead of the sample;
``--last-day-guard`` turns ``fair_guard`` on for the period's last day (no later day can pull a rep back).
``--period-bound`` adds the LP relaxation of the whole period with each day's capacity and the share held at
the period's end (column generation, minutes): its value caps the offline optimum of the same leads under
the routers' rules, and each method's final score is reported as a share of it.

Reported per method: total score and its ratio to offline, leads assigned, the largest fair-share
deviation (``max |V_r - share_r V| / (share_r V)``; FairShare(t) holds when it is <= t), rules broken
(``fa.verify``: fair-share rows; capacity is always checked), and per-lead latency of each
``route`` call (``time.perf_counter_ns``): median, p99 and max (the max includes refreshes).

Run::

    python benchmarks/online.py                 # 10k leads x 200 reps, slack 0.8 and 1.0, 1 seed
    python benchmarks/online.py --quick         # 2k x 50, a smoke run
    python benchmarks/online.py --seeds 3 --refresh 1000
    python benchmarks/online.py --slack 0.8 --routers feedback:2 track:2 track:10 track:40
    python benchmarks/online.py --slack 0.8 --hindsight   # adds the hindsight-prices row
    python benchmarks/online.py --period 20 --routers track:2 track:3   # fairness over a 20-day period
    python benchmarks/online.py --period 10 --seed 1 --routers lp:4:margin=0.4 --period-offline   # another draw

It prints a table and writes ``benchmarks/results/online-<mode>.csv`` (``online-period-<mode>-seed<S>.csv``
for a period run with ``--seed S`` other than 0).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

import fairassign as fa
from fairassign.datasets import make_batch
from fairassign.metrics import metrics
from fairassign.problem import stack_leads
from fairassign.router import Router
from fairassign.rules import bind

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Row:
    instance: str
    seed: int
    method: str
    objective: float
    ratio: float
    bound_ratio: float
    assigned: int
    n_leads: int
    max_share_dev: float
    fair_violations: int
    capacity_violations: int
    median_us: float
    p99_us: float
    max_us: float
    setup_s: float
    note: str


def split_day(n_sample: int, n_stream: int, n_reps: int, *, seed: int, slack: float,
              tier_effort: bool) -> tuple[fa.Problem, fa.Problem]:
    """A day's batch shuffled into a sample and a stream with the same reps and the stream's capacity."""
    sample, (stream,) = split_period(1, n_sample, n_stream, n_reps, seed=seed, slack=slack, tier_effort=tier_effort)
    return sample, stream


def dense_rows(problem: fa.Problem) -> np.ndarray:
    return problem.dense_score()  # -inf at non-candidates; fine at 10k x 200


def measure(stream: fa.Problem, rep_of: np.ndarray, constraints: list[fa.Constraint]) -> tuple[float, int, int, float]:
    violations = fa.verify(stream, rep_of, constraints)
    fair = sum(v.rule == "FairShare" for v in violations)
    capacity = sum(v.rule == "capacity" for v in violations)
    deviation = metrics(stream, rep_of).max_share_deviation
    return stream.total_score(rep_of), fair, capacity, float(deviation)


def run_router(stream: fa.Problem, rows: np.ndarray, router: Router) -> tuple[np.ndarray, np.ndarray]:
    value = stream.value.tolist()
    effort = (stream.lead_effort if stream.lead_effort is not None else np.ones(stream.n_leads)).tolist()
    rep_of = np.empty(stream.n_leads, np.int64)
    latency = np.empty(stream.n_leads, np.int64)
    clock = time.perf_counter_ns
    route = router.route
    for i in range(stream.n_leads):
        row = rows[i]
        started = clock()
        rep_of[i] = route(row, value[i], effort[i])
        latency[i] = clock() - started
    return rep_of, latency


def run_greedy(stream: fa.Problem, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The anchor: best raw score among eligible reps with room, no prices, same numpy style."""
    room = stream.capacity.astype(np.float64).copy()
    effort = (stream.lead_effort if stream.lead_effort is not None else np.ones(stream.n_leads)).tolist()
    buffer = np.empty(stream.n_reps)
    full = np.empty(stream.n_reps, dtype=bool)
    rep_of = np.empty(stream.n_leads, np.int64)
    latency = np.empty(stream.n_leads, np.int64)
    clock = time.perf_counter_ns
    for i in range(stream.n_leads):
        started = clock()
        np.copyto(buffer, rows[i])
        np.less(room, effort[i], out=full)
        np.copyto(buffer, -np.inf, where=full)
        best = int(np.argmax(buffer))
        if buffer[best] > -np.inf:
            room[best] -= effort[i]
            rep_of[i] = best
        else:
            rep_of[i] = -1
        latency[i] = clock() - started
    return rep_of, latency


def write_csv(rows: list[Row] | list[PeriodRow], name: str) -> None:
    """The rows as ``benchmarks/results/online-<name>.csv``."""
    out = HERE / "results" / f"online-{name}.csv"
    out.parent.mkdir(exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    print(f"\nwrote {out.relative_to(HERE.parent)}")


def parse_variants(specs: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """``MODE:GAIN[:guard][:fill=G][:margin=M][:blend=W][:scope=S]`` specs as (spec, Router keyword arguments)."""
    variants = []
    for spec in specs:
        fair_prices, gain, *rest = spec.split(":") + ["2" if spec.split(":")[0] != "split" else "50"][
            : 2 - len(spec.split(":"))]
        options: dict[str, Any] = dict(fair_prices=fair_prices, fair_gain=float(gain), fair_guard="guard" in rest)
        for part in rest:
            if part.startswith("fill="):
                options["fill_gain"] = float(part.removeprefix("fill="))
            elif part.startswith("margin="):
                options["fair_margin"] = float(part.removeprefix("margin="))
            elif part.startswith("blend="):
                options["refresh_weight"] = float(part.removeprefix("blend="))
            elif part.startswith("scope="):
                options["refresh_scope"] = part.removeprefix("scope=")
        variants.append((spec, options))
    return variants


@dataclass(frozen=True)
class PeriodRow:
    method: str
    day: int
    objective: float
    bound_ratio: float
    assigned: int
    period_max_dev: float
    reps_outside: int
    day_max_dev: float
    median_us: float
    p99_us: float
    note: str


def split_period(days: int, n_sample: int, per_day: int, n_reps: int, *, seed: int, slack: float,
                 tier_effort: bool = False) -> tuple[fa.Problem, list[fa.Problem]]:
    """A sample and ``days`` streams from one shuffled batch: the same reps, each day's capacity."""
    total = n_sample + days * per_day
    batch = make_batch(total, n_reps, seed=seed, capacity_slack=slack, tier_effort=tier_effort)
    day = batch.problem
    order = np.random.default_rng(seed + 7).permutation(total)
    capacity = np.maximum(1.0, np.floor(day.capacity * per_day / total))
    score = sp.csr_array((day.pair_score, (day.pair_lead, day.pair_rep)), shape=day.shape)
    effort = day.lead_effort if day.lead_effort is not None else np.ones(total)

    def part(leads: np.ndarray) -> fa.Problem:
        return fa.Problem(score=score[leads], capacity=capacity, effort=effort[leads], value=day.value[leads],
                          rep_ids=day.rep_ids)

    streams = [part(order[n_sample + d * per_day: n_sample + (d + 1) * per_day]) for d in range(days)]
    return part(order[:n_sample]), streams


def run_period(args: argparse.Namespace, variants: list[tuple[str, dict[str, Any]]], name: str) -> int:
    """Route ``args.period`` days with every fair share held over the period; print and write a CSV."""
    slack = args.slack[0]
    sample, streams = split_period(args.period, args.sample, args.leads, args.reps, seed=args.seed, slack=slack)
    bounds = [fa.solve(stream, objective="score").objective for stream in streams]
    share = bind(sample, [fa.FairShare(args.tolerance)]).fair[0].share  # the rule's own (default) weights
    rows_out: list[PeriodRow] = []
    print(f"{args.period} days x {args.leads} leads x {args.reps} reps, slack {slack:g}, FairShare({args.tolerance:g}) "
          f"over the period; x bound: score over the sum of the days' capacity-only optima")
    print(f"{'method':<18} {'day':>4} {'period score':>14} {'x bound':>8} {'max dev':>8} {'outside':>8} "
          f"{'day dev':>8} {'med us':>7} {'p99 us':>7}")
    methods: list[tuple[str, dict[str, Any] | None]] = [(spec, options) for spec, options in variants]
    if args.period_offline:
        methods.append(("offline", None))
    for spec, options in methods:
        received = np.zeros(sample.n_reps)
        total = bound = 0.0
        for day, stream in enumerate(streams):
            rule = fa.FairShare(args.tolerance, received=received.copy())
            if options is None:  # fa.solve holds a period rule exactly (over_time.history's reduction)
                result = fa.solve(stream, [rule], objective="score", time_limit=args.time_limit, seed=day,
                                  solver=args.offline_solver)
                rep_of, micro, note = result.rep_of, None, f"{result.status.name} {result.solver}"
            else:
                learn = streams[day - 1] if args.sample_yesterday and day > 0 else sample
                last_day = day == len(streams) - 1  # no later day can pull a rep back
                guard = {"fair_guard": True} if args.last_day_guard and last_day else {}
                router = Router(learn, [rule], seed=day, expected_leads=stream.n_leads,
                                refresh_every=args.refresh or None, window=args.window, **(options | guard))
                rep_of, latency = run_router(stream, dense_rows(stream), router)
                micro, note = latency / 1e3, f"{router.state().n_refreshes} refreshes"
            taken = rep_of >= 0
            today = np.bincount(rep_of[taken], weights=stream.value[taken], minlength=stream.n_reps)
            received = received + today
            total += stream.total_score(rep_of)
            bound += bounds[day]
            deviation = share_deviation(received, share)
            row = PeriodRow(spec, day, total, total / bound, int(taken.sum()), float(deviation.max()),
                            int((deviation > args.tolerance + 1e-9).sum()), float(share_deviation(today, share).max()),
                            float(np.median(micro)) if micro is not None else float("nan"),
                            float(np.percentile(micro, 99)) if micro is not None else float("nan"), note)
            rows_out.append(row)
            print_period_row(row)
    if args.period_pooled:
        rows_out.append(pooled_offline(args, streams, share, sum(bounds)))
    if args.period_bound:
        lp_bound = period_lp_bound(streams, args.tolerance)
        finals = {row.method: row.objective for row in rows_out if row.day == len(streams) - 1}
        shares = ", ".join(f"{method} {objective / lp_bound:.2%}" for method, objective in finals.items())
        row = PeriodRow("period LP bound", len(streams) - 1, lp_bound, lp_bound / sum(bounds), 0, float("nan"), 0,
                        float("nan"), float("nan"), float("nan"), f"each day's capacity; of it: {shares}")
        rows_out.append(row)
        print_period_row(row)
    write_csv(rows_out, name)
    return 0


def share_deviation(received: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Per rep, ``|V_r / (share_r V) - 1|`` (NaN while nothing is assigned, printed as such)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(received / (share * received.sum()) - 1)


def print_period_row(row: PeriodRow) -> None:
    print(f"{row.method:<18} {row.day:>4} {row.objective:>14,.0f} {row.bound_ratio:>8.2%} "
          f"{row.period_max_dev:>8.3f} {row.reps_outside:>8} {row.day_max_dev:>8.3f} {row.median_us:>7.1f} "
          f"{row.p99_us:>7.1f}  {row.note}", flush=True)


def pool(streams: list[fa.Problem]) -> tuple[fa.Problem, np.ndarray]:
    """The period's days as one batch, each rep's capacity summed over the days; and each lead's day."""
    pooled = stack_leads(streams, np.sum([day.capacity for day in streams], axis=0))
    return pooled, np.repeat(np.arange(len(streams)), [day.n_leads for day in streams])


def period_lp_bound(streams: list[fa.Problem], tolerance: float) -> float:
    """An upper bound on every assignment of the period's leads the routers could make in hindsight.

    The LP relaxation of the whole period with each day's capacity (one row per rep and day) and
    ``FairShare(tolerance)`` held at the period's end, solved by column generation; its
    Lagrangian bound caps the offline optimum of the same leads under the routers' rules.
    """
    from dataclasses import replace

    from fairassign.column_generation import ColumnGeneration
    from fairassign.linear import build_linear_model

    pooled, day_of_lead = pool(streams)
    model = build_linear_model(pooled, bind(pooled, [fa.FairShare(tolerance)]), merge_fair=True)
    rows = model.block("capacity")
    n_reps, n_days = pooled.n_reps, len(streams)
    if rows.stop - rows.start != n_reps:  # the day rows below replace one capacity row per rep
        raise ValueError("period_lp_bound needs a finite capacity for every rep")
    rep, lead = pooled.pair_rep[model.pairs], pooled.pair_lead[model.pairs]
    daily = sp.csr_array((pooled.pair_effort[model.pairs], (rep * n_days + day_of_lead[lead], np.arange(model.n_x))),
                         shape=(n_reps * n_days, model.n_vars))
    matrix = sp.vstack([model.matrix[: rows.start], daily, model.matrix[rows.stop:]], format="csr")
    capacity = np.stack([day.capacity for day in streams], axis=1).ravel()  # rep-major, as the rows
    shift = daily.shape[0] - (rows.stop - rows.start)
    daily_model = replace(
        model, matrix=matrix,
        row_lower=np.concatenate([model.row_lower[: rows.start], np.zeros(daily.shape[0]),
                                  model.row_lower[rows.stop:]]),
        row_upper=np.concatenate([model.row_upper[: rows.start], capacity, model.row_upper[rows.stop:]]),
        row_block_start=tuple(start + shift if start > rows.start else start for start in model.row_block_start))
    answer = ColumnGeneration(daily_model, daily_model.score[: daily_model.n_x], pooled).solve()
    if answer.bound is None:
        raise RuntimeError(f"the period LP ended {answer.status}")
    return answer.bound


def pooled_offline(args: argparse.Namespace, streams: list[fa.Problem], share: np.ndarray, bound: float) -> PeriodRow:
    """The whole period solved at once: every day's leads known in advance, the share held at its end.

    The days become one batch with each rep's capacity summed over the days (a relaxation: a
    lead may use another day's room), under ``FairShare(t)`` over the period. Its LP bound caps
    every assignment that holds the period share at the period's end, the routers' measure,
    while the day-by-day ``offline`` rows hold it at every day's end and plan one day at a time.
    ``share`` is the routers' (capacity-weighted shares: summing the capacities keeps them).
    """
    pooled, _ = pool(streams)
    rule = fa.FairShare(args.tolerance)
    result = fa.solve(pooled, [rule], objective="score", time_limit=args.time_limit, solver=args.offline_solver)
    taken = result.rep_of >= 0
    received = np.bincount(result.rep_of[taken], weights=pooled.value[taken], minlength=pooled.n_reps)
    deviation = share_deviation(received, share)
    bound_note = f", LP bound {result.bound:,.0f}" if result.bound is not None else ""
    row = PeriodRow("pooled offline", len(streams) - 1, result.objective, result.objective / bound, int(taken.sum()),
                    float(deviation.max()), int((deviation > args.tolerance + 1e-9).sum()), float("nan"),
                    float("nan"), float("nan"), f"{result.status.name} {result.solver}{bound_note}")
    print_period_row(row)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2k x 50 smoke run")
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--sample", type=int, default=1_000, help="leads in the sample day")
    parser.add_argument("--slack", type=float, nargs="+", default=[0.8, 1.0])
    parser.add_argument("--tolerance", type=float, default=0.10)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--refresh", type=int, default=2_000, help="refresh_every for router+refresh (0: skip)")
    parser.add_argument("--window", type=int, default=1_000)
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds for the offline solve")
    parser.add_argument("--routers", nargs="*", default=["feedback:2"], metavar="MODE:GAIN",
                        help="router variants, each fair_prices:fair_gain (modes track, feedback, lp, split; "
                             "append :guard for fair_guard=True, :fill=G for fill_gain=G, :margin=M for "
                             "fair_margin=M, :blend=W for refresh_weight=W, :scope=seen for "
                             "refresh_scope='seen'), "
                             "e.g. feedback:2 track:40 split:50:fill=10; none given: no router (with --period "
                             "--period-offline, the offline rows alone)")
    parser.add_argument("--tier-effort", action="store_true", help="effort by tier (A=3, B=2, C=1)")
    parser.add_argument("--hindsight", action="store_true",
                        help="add a router with prices from the stream's own LP (a limit no router reaches)")
    parser.add_argument("--period", type=int, default=0, metavar="DAYS",
                        help="route DAYS days with the fair share held over the period (see the module docstring)")
    parser.add_argument("--offline-solver", default="auto",
                        help="backend of the --period-offline solves (default auto)")
    parser.add_argument("--seed", type=int, default=0, help="with --period: the batch's seed (default 0)")
    parser.add_argument("--period-pooled", action="store_true",
                        help="with --period: also the whole period solved at once (pooled_offline; slow: "
                             "one solve over every day's leads)")
    parser.add_argument("--period-bound", action="store_true",
                        help="with --period: also the LP bound of the whole period with each day's capacity "
                             "(period_lp_bound), and each method's share of it")
    parser.add_argument("--last-day-guard", action="store_true",
                        help="with --period: on the period's last day the routers run with fair_guard=True")
    parser.add_argument("--sample-yesterday", action="store_true",
                        help="with --period: each morning after the first, the routers learn from the previous "
                             "day's leads (all of them) instead of the sample")
    parser.add_argument("--period-offline", action="store_true",
                        help="with --period: also the offline solve of each day with the period's history")
    args = parser.parse_args(argv)
    if args.quick:
        args.leads, args.reps, args.sample, args.window = 2_000, 50, 500, 500
        args.refresh = min(args.refresh, 1_000)
    mode = "quick" if args.quick else "full"
    if args.period:
        suffix = f"-seed{args.seed}" if args.seed else ""
        return run_period(args, parse_variants(args.routers), f"period-{mode}{suffix}")

    results: list[Row] = []
    header = (f"{'instance':<24} {'seed':>4} {'method':<26} {'objective':>14} {'x offline':>9} {'x bound':>8} "
              f"{'assigned':>11} {'max dev':>8} {'fair viol':>9} {'cap viol':>8} {'med us':>7} {'p99 us':>7} "
              f"{'max us':>9} {'setup s':>8}  note")
    variants = parse_variants(args.routers)
    print(header)
    print("-" * len(header))
    for slack in args.slack:
        instance = f"{args.leads}x{args.reps} slack {slack:g}"
        constraints: list[fa.Constraint] = [fa.FairShare(args.tolerance)]
        for seed in range(args.seeds):
            sample, stream = split_day(args.sample, args.leads, args.reps, seed=seed, slack=slack,
                                       tier_effort=args.tier_effort)
            rows = dense_rows(stream)

            started = time.perf_counter()
            offline = fa.solve(stream, constraints, objective="score", time_limit=args.time_limit, seed=seed)
            offline_time = time.perf_counter() - started
            # the capacity-only optimum (exact, min-cost flow) bounds every fair assignment from above
            unfair = fa.solve(stream, objective="score", seed=seed)
            reference = offline.objective if offline.status.has_solution else float("nan")
            bound = unfair.objective if offline.bound is None else min(offline.bound, unfair.objective)

            def add(method: str, rep_of: np.ndarray, latency: np.ndarray | None, setup: float, note: str, *,
                    stream: fa.Problem = stream, constraints: list[fa.Constraint] = constraints,
                    instance: str = instance, seed: int = seed, reference: float = reference,
                    bound: float = bound) -> None:
                objective, fair, capacity, deviation = measure(stream, rep_of, constraints)
                micro = latency / 1e3 if latency is not None else None
                row = Row(instance, seed, method, objective, objective / reference, objective / bound,
                          int((rep_of >= 0).sum()), stream.n_leads, deviation, fair, capacity,
                          float(np.median(micro)) if micro is not None else float("nan"),
                          float(np.percentile(micro, 99)) if micro is not None else float("nan"),
                          float(micro.max()) if micro is not None else float("nan"), setup, note)
                results.append(row)
                print(f"{row.instance:<24} {row.seed:>4} {row.method:<26} {row.objective:>14,.0f} "
                      f"{row.ratio:>9.2%} {row.bound_ratio:>8.2%} {row.assigned:>5}/{row.n_leads:<5} "
                      f"{row.max_share_dev:>8.3f} {row.fair_violations:>9} {row.capacity_violations:>8} "
                      f"{row.median_us:>7.1f} {row.p99_us:>7.1f} {row.max_us:>9.0f} {row.setup_s:>8.2f}  {row.note}",
                      flush=True)

            add("offline", offline.rep_of, None, offline_time, f"{offline.status.name} {offline.solver}")
            add("offline-nofair", unfair.rep_of, None, unfair.solve_time,
                f"{unfair.status.name} {unfair.solver}, FairShare not imposed")

            for spec, options in variants:
                tag = "" if len(variants) == 1 else f" {spec}"
                started = time.perf_counter()
                router = Router(sample, constraints, seed=seed, expected_leads=stream.n_leads, **options)
                setup = time.perf_counter() - started
                rep_of, latency = run_router(stream, rows, router)
                add("router" + tag, rep_of, latency, setup, "; ".join(router.state().notes) or "sample prices")

                if args.refresh:
                    started = time.perf_counter()
                    router = Router(sample, constraints, seed=seed, expected_leads=stream.n_leads,
                                    refresh_every=args.refresh, window=args.window, **options)
                    setup = time.perf_counter() - started
                    rep_of, latency = run_router(stream, rows, router)
                    state = router.state()
                    refresh_total = (float(np.sort(latency)[-state.n_refreshes:].sum()) / 1e9
                                     if state.n_refreshes else 0)
                    add("router+refresh" + tag, rep_of, latency, setup,
                        f"{state.n_refreshes} refreshes, ~{refresh_total:.1f} s in total"
                        + (f"; {'; '.join(state.notes)}" if state.notes else ""))

            if args.hindsight:
                started = time.perf_counter()
                router = Router(stream, constraints, seed=seed, expected_leads=stream.n_leads, fair_prices="lp")
                setup = time.perf_counter() - started
                rep_of, latency = run_router(stream, rows, router)
                add("router hindsight", rep_of, latency, setup,
                    "prices from the stream's own LP" + (f"; {'; '.join(router.state().notes)}"
                                                         if router.state().notes else ""))

            rep_of, latency = run_greedy(stream, rows)
            add("greedy", rep_of, latency, 0.0, "no prices")

    write_csv(results, mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
