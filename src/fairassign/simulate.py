r"""Replay a stream of leads over days, route each day with a strategy, and draw outcomes.

A :class:`Scenario` describes a sales team and its lead stream; :func:`simulate` plays it
out for one strategy and returns a :class:`SimulationRun`; :func:`compare_period` plays it
for several strategies over several seeds and reports means, confidence intervals and the
optimiser's uplift.

Each day *d*:

1. leads arrive: :math:`\mathrm{Poisson}(\lambda)` of them, each with a tier, region and
   industry drawn from the scenario's mixes, and a value (expected deal size)
   ``value_scale * tier_value[tier] * lognormal(0, value_sigma)``;
2. reps show up: each is off with probability ``day_off_rate`` (or as ``schedule`` says);
   a present rep can take ``capacity_per_day`` leads (times ``part_time_factor`` for the
   part-timers, at least 1);
3. the day's :class:`~fairassign.Problem` has the arriving leads and the present reps; a rep
   may take a lead when cleared for its tier and covering its region (as
   :mod:`fairassign.datasets` does); the score of a pair is the *estimated* expected revenue
   :math:`\hat p_{r s(i)} v_i` from :class:`~fairassign.profiles.RepProfiles` fitted on the
   outcomes observed so far (day 0: the neutral prior). Segment = tier x industry;
4. the strategy routes it (:func:`fairassign.strategies.run_strategy`);
5. outcomes come from the ground truth, which no strategy sees: lead *i* given to rep *r* is
   followed up with probability :math:`1 - \text{not\_followed\_up}`; first contact comes
   after an exponential delay with mean ``contact_delay_hours`` times
   :math:`(0.5 + u_r)`, :math:`u_r` the rep's load that day (busy reps are slower); the
   chance to convert is the true rate :math:`p_{r s(i)}` halved for every
   ``delay_half_life_hours`` of delay; a won deal is worth the lead value times
   :math:`\mathrm{lognormal}(-\sigma^2/2, \sigma)` (``deal_noise`` = :math:`\sigma`);
6. the outcomes (converted or not, deal value) are added to the profiles every
   ``refit_every`` days. Leads nobody took are lost.

The ground truth is drawn once per seed: rep *r*'s rate in segment *s* is
:math:`p_{rs} \sim \mathrm{Beta}(m_{rs}\kappa, (1 - m_{rs})\kappa)` around
:math:`m_{rs} = \text{base}_{t(s)} \cdot k_r \cdot (\text{industry\_lift} \text{ if the rep knows the industry})`,
with :math:`k_r \sim \mathrm{lognormal}(0, \text{rep\_skill\_sigma})` the rep's overall skill.

Paired comparisons. Arrivals, availability, the truth and every lead's random draws (follow
up, delay, conversion, deal size) come from streams fixed by the seed alone, before any
routing: at one seed every strategy faces the same days, and the same lead given to the same
rep under the same load has the same outcome (common random numbers). Differences between
strategies over seeds are then paired, and far less noisy than the totals.

Besides the realised revenue, a run records the *expected* revenue of its assignments under
the truth, :math:`\sum p_{r s(i)} (1 - f) v_i / (1 + \ln 2 \, \bar\delta_r / h)` (the mean of the
delay factor :math:`2^{-\delta/h}` over an exponential delay of mean :math:`\bar\delta_r`),
which measures the routing without the luck of the draws.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from .constraints import Constraint
from .datasets import draw_reps
from .errors import ValidationError
from .metrics import gini
from .problem import Problem
from .profiles import RepProfiles

__all__ = ["Scenario", "SimulationRun", "DayRules", "FairShareRules", "builtin_scenario", "simulate", "compare_period",
           "fair_share_rules"]

#: strategy the uplift in :func:`compare_period` is measured for
OPTIMISER = "fairassign"
_DEFAULT_REGIONS = ("North", "South", "East", "West")
_DEFAULT_INDUSTRIES = ("Software", "Retail", "Manufacturing", "Finance", "Health")
#: separate random streams per purpose, so one never shifts another
_WORLD, _ARRIVALS, _PRESENCE = 0, 1, 2


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


def _is_number(given: Any) -> bool:
    return isinstance(given, numbers.Real) and not isinstance(given, bool) and math.isfinite(given)


@dataclass(frozen=True, eq=False)
class Scenario:
    """A sales team and its lead stream, for :func:`simulate`.

    Attributes
    ----------
    n_reps, n_days : int
        Team size and number of days simulated.
    leads_per_day : float
        Mean of the Poisson number of leads arriving each day.
    tiers, tier_mix : tuple of str, tuple of float
        Lead tiers best first and their shares among arriving leads.
    regions, region_mix, industries, industry_mix
        Labels and shares (None: uniform).
    rep_tier_mix : tuple of float
        Shares of reps by the best tier they are cleared for (every region gets at least one
        rep cleared for the best tier, so every lead has someone).
    extra_region : float
        Probability a rep covers a second region besides its home one.
    day_off_rate : float
        Probability a rep is off on a given day (ignored with ``schedule``).
    schedule : bool array of shape (n_days, n_reps), optional
        Explicit availability: True where the rep works that day.
    part_time_share, part_time_factor : float
        Share of reps working part time, and the share of a full day's capacity they have.
    capacity_per_day : float
        Leads a full-time rep can take per day (rounded, at least 1 when present).
    contact_delay_hours : float
        Mean time to first contact of a rep at half load (exponential).
    delay_half_life_hours : float
        Every this many hours of delay halve the chance to convert.
    not_followed_up : float
        Probability an assigned lead is never worked (it never converts).
    base_conversion : tuple of float
        True mean conversion rate of each tier.
    rep_skill_sigma : float
        Spread of the reps' overall skill (lognormal sigma).
    industry_lift : float
        Rate multiplier in an industry the rep knows (each rep knows one or two).
    truth_strength : float
        Concentration :math:`\\kappa` of the true (rep, segment) rates around their means.
    value_scale, tier_value, value_sigma : float, tuple of float, float
        Lead value = ``value_scale * tier_value[tier] * lognormal(0, value_sigma)``.
    deal_noise : float
        Lognormal sigma of the won deal's value around the lead value.
    refit_every : int
        Days between refits of the rep profiles on the outcomes seen so far.
    """

    n_reps: int = 40
    n_days: int = 60
    leads_per_day: float = 200.0
    tiers: tuple[str, ...] = ("A", "B", "C")
    tier_mix: tuple[float, ...] = (0.2, 0.3, 0.5)
    regions: tuple[str, ...] = _DEFAULT_REGIONS
    region_mix: tuple[float, ...] | None = None
    industries: tuple[str, ...] = _DEFAULT_INDUSTRIES
    industry_mix: tuple[float, ...] | None = None
    rep_tier_mix: tuple[float, ...] = (0.3, 0.4, 0.3)
    extra_region: float = 0.2
    day_off_rate: float = 0.05
    schedule: NDArray[np.bool_] | None = field(default=None, repr=False)
    part_time_share: float = 0.15
    part_time_factor: float = 0.5
    capacity_per_day: float = 6.0
    contact_delay_hours: float = 4.0
    delay_half_life_hours: float = 24.0
    not_followed_up: float = 0.05
    base_conversion: tuple[float, ...] = (0.30, 0.20, 0.12)
    rep_skill_sigma: float = 0.35
    industry_lift: float = 1.4
    truth_strength: float = 30.0
    value_scale: float = 1000.0
    tier_value: tuple[float, ...] = (4.0, 2.0, 1.0)
    value_sigma: float = 0.8
    deal_noise: float = 0.3
    refit_every: int = 1

    def __post_init__(self) -> None:
        for name in ("n_reps", "n_days", "refit_every"):
            given = getattr(self, name)
            if isinstance(given, bool) or not isinstance(given, int | np.integer) or given < 1:
                raise ValidationError(f"Scenario.{name} must be an integer >= 1, got {given!r}")
        for name in ("leads_per_day", "capacity_per_day", "contact_delay_hours", "rep_skill_sigma", "value_sigma",
                     "deal_noise"):
            given = getattr(self, name)
            if not _is_number(given) or given < 0:
                raise ValidationError(f"Scenario.{name} must be a finite number >= 0, got {given!r}")
        for name in ("delay_half_life_hours", "industry_lift", "truth_strength", "value_scale", "part_time_factor"):
            given = getattr(self, name)
            if not _is_number(given) or given <= 0:
                raise ValidationError(f"Scenario.{name} must be a finite number > 0, got {given!r}")
        for name in ("extra_region", "day_off_rate", "part_time_share", "not_followed_up"):
            given = getattr(self, name)
            if not _is_number(given) or not 0 <= given <= 1:
                raise ValidationError(f"Scenario.{name} must be a probability in [0, 1], got {given!r}")
        for name in ("tiers", "regions", "industries"):
            labels = tuple(getattr(self, name))
            if not labels or len(set(labels)) != len(labels):
                raise ValidationError(f"Scenario.{name} must hold at least one distinct label, got {labels!r}")
            object.__setattr__(self, name, labels)
        n_tiers = len(self.tiers)
        for name, length, optional in (("tier_mix", n_tiers, False), ("rep_tier_mix", n_tiers, False),
                                       ("region_mix", len(self.regions), True),
                                       ("industry_mix", len(self.industries), True)):
            given = getattr(self, name)
            if given is None and optional:
                continue
            mix = np.asarray(given, dtype=np.float64) if given is not None else np.zeros(0)
            if mix.shape != (length,) or not np.all(np.isfinite(mix)) or np.any(mix < 0) or mix.sum() <= 0:
                raise ValidationError(f"Scenario.{name} must be {length} non-negative weights, not all 0, "
                                      f"got {given!r}")
            object.__setattr__(self, name, tuple(float(x) for x in mix))
        for name, low, high in (("base_conversion", 0.0, 1.0), ("tier_value", 0.0, math.inf)):
            given = np.asarray(getattr(self, name), dtype=np.float64)
            if given.shape != (n_tiers,) or not np.all(np.isfinite(given)) or np.any(given <= low) \
                    or np.any(given > high):
                raise ValidationError(f"Scenario.{name} must hold {n_tiers} numbers in ({low:g}, {high:g}] "
                                      f"(one per tier), got {getattr(self, name)!r}")
            object.__setattr__(self, name, tuple(float(x) for x in given))
        if self.schedule is not None:
            schedule = np.array(self.schedule)
            if schedule.shape != (self.n_days, self.n_reps) or schedule.dtype != np.bool_:
                raise ValidationError(f"Scenario.schedule must be a bool array of shape (n_days, n_reps) = "
                                      f"({self.n_days}, {self.n_reps}), got shape {schedule.shape} and dtype "
                                      f"{schedule.dtype}")
            object.__setattr__(self, "schedule", _readonly(schedule))

    @property
    def n_segments(self) -> int:
        """Segments the profiles learn: tier x industry."""
        return len(self.tiers) * len(self.industries)

    def segment_labels(self) -> tuple[tuple[str, str], ...]:
        """``(tier, industry)`` of each segment code, tier slowest."""
        return tuple((tier, industry) for tier in self.tiers for industry in self.industries)


def builtin_scenario(**changes: Any) -> Scenario:
    """The built-in scenario: 40 reps, 60 days, about 200 leads a day (change any field by keyword).

    Examples
    --------
    >>> builtin_scenario().n_reps, builtin_scenario(n_days=5).n_days
    (40, 5)
    """
    return Scenario(**changes)


@dataclass(frozen=True, eq=False)
class _World:
    """What a seed fixes before any routing: the team and the true rates."""

    rep_tier: NDArray[np.int64]
    covers: NDArray[np.bool_]  # (n_reps, n_regions)
    knows: NDArray[np.bool_]  # (n_reps, n_industries)
    part_time: NDArray[np.bool_]
    truth: NDArray[np.float64]  # (n_reps, n_segments)
    rep_ids: NDArray[np.str_]


@dataclass(frozen=True, eq=False)
class _Day:
    tier: NDArray[np.int64]
    region: NDArray[np.int64]
    industry: NDArray[np.int64]
    value: NDArray[np.float64]
    follow_draw: NDArray[np.float64]
    convert_draw: NDArray[np.float64]
    delay_draw: NDArray[np.float64]  # standard exponential
    deal_factor: NDArray[np.float64]
    present: NDArray[np.bool_]


def _mix(given: tuple[float, ...] | None, length: int) -> NDArray[np.float64]:
    mix = np.full(length, 1.0) if given is None else np.asarray(given, dtype=np.float64)
    return mix / mix.sum()


def _world(scenario: Scenario, seed: int) -> _World:
    rng = np.random.default_rng([seed, _WORLD])
    n_reps, n_regions, n_industries = scenario.n_reps, len(scenario.regions), len(scenario.industries)
    rep_tier, _, covers, knows = draw_reps(rng, n_reps, len(scenario.tiers),
                                           _mix(scenario.rep_tier_mix, len(scenario.tiers)), n_regions,
                                           n_industries, scenario.extra_region)
    part_time = rng.random(n_reps) < scenario.part_time_share
    skill = rng.lognormal(0.0, scenario.rep_skill_sigma, size=n_reps)
    base = np.asarray(scenario.base_conversion)
    # segment s = tier * n_industries + industry
    mean = base[:, None, None] * skill[None, :, None] * np.where(knows, scenario.industry_lift, 1.0)[None, :, :]
    mean = np.clip(mean, 0.005, 0.95).transpose(1, 0, 2).reshape(n_reps, -1)
    truth = rng.beta(mean * scenario.truth_strength, (1.0 - mean) * scenario.truth_strength)
    width = max(2, len(str(n_reps)))
    rep_ids = np.array([f"R-{r + 1:0{width}d}" for r in range(n_reps)])
    return _World(rep_tier=_readonly(rep_tier.astype(np.int64)), covers=_readonly(covers),
                  knows=_readonly(knows), part_time=_readonly(part_time), truth=_readonly(truth),
                  rep_ids=_readonly(rep_ids))


def _arrivals(scenario: Scenario, seed: int, day: int) -> _Day:
    rng = np.random.default_rng([seed, _ARRIVALS, day])
    n = int(rng.poisson(scenario.leads_per_day))
    tier = rng.choice(len(scenario.tiers), size=n, p=_mix(scenario.tier_mix, len(scenario.tiers)))
    region = rng.choice(len(scenario.regions), size=n, p=_mix(scenario.region_mix, len(scenario.regions)))
    industry = rng.choice(len(scenario.industries), size=n, p=_mix(scenario.industry_mix, len(scenario.industries)))
    tier_value = np.asarray(scenario.tier_value)
    value = np.round(scenario.value_scale * tier_value[tier] * rng.lognormal(0.0, scenario.value_sigma, size=n), 2)
    value = np.maximum(value, 0.01)
    # every lead's draws are made at arrival, whoever gets it: common random numbers
    follow_draw = rng.random(n)
    convert_draw = rng.random(n)
    delay_draw = rng.standard_exponential(n)
    sigma = scenario.deal_noise
    deal_factor = rng.lognormal(-sigma * sigma / 2.0, sigma, size=n) if sigma > 0 else np.ones(n)
    if scenario.schedule is not None:
        present = np.asarray(scenario.schedule[day], dtype=bool)
    else:
        presence = np.random.default_rng([seed, _PRESENCE, day])
        present = presence.random(scenario.n_reps) >= scenario.day_off_rate
    return _Day(tier=tier.astype(np.int64), region=region.astype(np.int64), industry=industry.astype(np.int64),
                value=value, follow_draw=follow_draw, convert_draw=convert_draw, delay_draw=delay_draw,
                deal_factor=deal_factor, present=present)


@dataclass(frozen=True, eq=False)
class SimulationRun:
    """One strategy played over a scenario at one seed.

    Attributes
    ----------
    strategy : str
    seed : int
    scenario : Scenario
    revenue : float
        Realised revenue: value of the deals won.
    expected_revenue : float
        Expected revenue of the assignments under the ground truth (no luck of the draws).
    conversions, n_leads, n_assigned, n_not_followed_up : int
    day_leads, day_assigned, day_conversions : int64 ndarray of shape (n_days,)
    day_revenue, day_expected_revenue, day_value_assigned, day_time : float64 ndarray of shape (n_days,)
        ``day_time``: seconds the strategy took to route the day.
    day_status : tuple of str
        Status name of each day's result (``INVALID`` on a day a baseline broke a rule).
    rep_ids : ndarray of shape (n_reps,)
    rep_leads, rep_conversions, rep_days_present : int64 ndarray of shape (n_reps,)
    rep_revenue, rep_value, rep_capacity : float64 ndarray of shape (n_reps,)
        Realised revenue, lead value received and capacity offered over the period.
    """

    strategy: str
    seed: int
    scenario: Scenario = field(repr=False)
    revenue: float
    expected_revenue: float
    conversions: int
    n_leads: int
    n_assigned: int
    n_not_followed_up: int
    day_leads: NDArray[np.int64] = field(repr=False)
    day_assigned: NDArray[np.int64] = field(repr=False)
    day_conversions: NDArray[np.int64] = field(repr=False)
    day_revenue: NDArray[np.float64] = field(repr=False)
    day_expected_revenue: NDArray[np.float64] = field(repr=False)
    day_value_assigned: NDArray[np.float64] = field(repr=False)
    day_time: NDArray[np.float64] = field(repr=False)
    day_status: tuple[str, ...] = field(repr=False)
    rep_ids: NDArray[Any] = field(repr=False)
    rep_leads: NDArray[np.int64] = field(repr=False)
    rep_conversions: NDArray[np.int64] = field(repr=False)
    rep_days_present: NDArray[np.int64] = field(repr=False)
    rep_revenue: NDArray[np.float64] = field(repr=False)
    rep_value: NDArray[np.float64] = field(repr=False)
    rep_capacity: NDArray[np.float64] = field(repr=False)

    @property
    def coverage(self) -> float:
        """Share of the leads that were assigned (1 without leads)."""
        return 1.0 if self.n_leads == 0 else self.n_assigned / self.n_leads

    @property
    def days_breaking_rules(self) -> int:
        """Days whose assignment broke a rule (status INVALID: a baseline ignoring fairness)."""
        return sum(status == "INVALID" for status in self.day_status)

    @property
    def gini_value_per_capacity(self) -> float:
        """Gini over reps of lead value received per unit of capacity offered over the period."""
        offered = self.rep_capacity > 0
        return gini(self.rep_value[offered] / self.rep_capacity[offered])

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per day: ``day``, ``leads``, ``assigned``, ``conversions``, ``revenue``,
        ``expected_revenue``, ``value_assigned``, ``status``, ``time``."""
        return [
            {"strategy": self.strategy, "seed": self.seed, "day": day, "leads": int(self.day_leads[day]),
             "assigned": int(self.day_assigned[day]), "conversions": int(self.day_conversions[day]),
             "revenue": float(self.day_revenue[day]), "expected_revenue": float(self.day_expected_revenue[day]),
             "value_assigned": float(self.day_value_assigned[day]), "status": self.day_status[day],
             "time": float(self.day_time[day])}
            for day in range(self.day_leads.size)
        ]

    def rep_records(self) -> list[dict[str, Any]]:
        """One dict per rep: ``rep_id``, ``leads``, ``conversions``, ``revenue``, ``value``, ``capacity``,
        ``days_present``."""
        return [
            {"rep_id": rep_id, "leads": int(leads), "conversions": int(won), "revenue": float(revenue),
             "value": float(value), "capacity": float(capacity), "days_present": int(days)}
            for rep_id, leads, won, revenue, value, capacity, days in zip(
                self.rep_ids.tolist(), self.rep_leads, self.rep_conversions, self.rep_revenue, self.rep_value,
                self.rep_capacity, self.rep_days_present, strict=True)
        ]

    def summary(self) -> str:
        """One readable line."""
        return (f"{self.strategy} (seed {self.seed}): revenue {self.revenue:,.0f}, "
                f"expected {self.expected_revenue:,.0f}, "
                f"{self.conversions} conversions, {self.n_assigned}/{self.n_leads} leads assigned, "
                f"{self.days_breaking_rules} days breaking rules")


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValidationError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


DayRules = Callable[[int, NDArray[Any]], Iterable[Constraint] | Constraint]


@dataclass(frozen=True)
class FairShareRules:
    """Rules ``(day, rep_ids) -> (FairShare,)`` whose weights are computed on each day's batch.

    Built by :func:`fair_share_rules`; :func:`simulate` calls it with the day's problem as
    well (``problem=``), since attainable weights depend on who may take which lead today.
    """

    tolerance: float
    weights: str = "attainable"
    needs_problem: ClassVar[bool] = True

    def __call__(self, day: int, rep_ids: NDArray[Any], problem: Problem | None = None) -> tuple[Constraint, ...]:
        from .constraints import FairShare

        if self.weights == "capacity":
            return (FairShare(self.tolerance),)
        if problem is None:
            raise ValidationError("fair_share_rules(weights='attainable') needs the day's problem: "
                                  "call it as rules(day, rep_ids, problem=problem)")
        from .weights import attainable_weights

        weight = attainable_weights(problem)
        if not weight.sum() > 0:  # nobody can take anything today: no fairness to keep
            return ()
        return (FairShare(self.tolerance, weight=weight),)


def fair_share_rules(tolerance: float, weights: str = "attainable") -> FairShareRules:
    r"""A :class:`~fairassign.FairShare` for every simulated day, as ``constraints`` of :func:`simulate`.

    Parameters
    ----------
    tolerance : float
        :math:`t \ge 0` of the rule.
    weights : {"attainable", "capacity"}
        ``"attainable"``: :func:`fairassign.weights.attainable_weights` of each day's batch,
        the value each present rep can receive given its tiers, regions and capacity;
        ``"capacity"``: the default capacity-weighted rule (the same as
        ``constraints=[FairShare(tolerance)]``).

    Returns
    -------
    FairShareRules
        Pass it as ``constraints`` to :func:`simulate` or :func:`compare_period`.

    Examples
    --------
    >>> rules = fair_share_rules(0.3)
    >>> run = simulate(builtin_scenario(n_reps=6, n_days=2, leads_per_day=20), "fairassign",
    ...                seed=0, constraints=rules)
    >>> run.days_breaking_rules
    0
    """
    from .constraints import FairShare

    FairShare(tolerance)  # validates the tolerance now, not on day 0
    if weights not in ("attainable", "capacity"):
        raise ValidationError(f"weights must be 'attainable' or 'capacity', got {weights!r}")
    return FairShareRules(tolerance=float(tolerance), weights=weights)


def _rules_of_day(constraints: Any) -> Callable[[int, NDArray[Any], Problem], tuple[Constraint, ...]]:
    def as_tuple(given: Any, where: str) -> tuple[Constraint, ...]:
        rules = (given,) if isinstance(given, Constraint) else tuple(given)
        bad = [rule for rule in rules if not isinstance(rule, Constraint)]
        if bad:
            raise ValidationError(f"constraints must be fairassign rules{where}, got {type(bad[0]).__name__}")
        return rules

    if callable(constraints) and not isinstance(constraints, Constraint):
        if getattr(constraints, "needs_problem", False):  # e.g. fair_share_rules: weights from the batch
            return lambda day, rep_ids, problem: as_tuple(constraints(day, rep_ids, problem=problem),
                                                          f" (returned by the callable on day {day})")
        return lambda day, rep_ids, problem: as_tuple(constraints(day, rep_ids),
                                                      f" (returned by the callable on day {day})")
    try:
        fixed = as_tuple(constraints, "")
    except TypeError:
        raise ValidationError(f"constraints must be rules or a callable (day, rep_ids) -> rules, "
                              f"got {type(constraints).__name__}") from None
    return lambda day, rep_ids, problem: fixed


def simulate(
    scenario: Scenario,
    strategy: str,
    *,
    seed: int = 0,
    constraints: Iterable[Constraint] | Constraint | DayRules = (),
    strategy_options: Mapping[str, Any] | None = None,
    time_limit: float | None = None,
) -> SimulationRun:
    """Play ``scenario`` out with ``strategy`` routing every day (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
    strategy : str
        A name :func:`fairassign.strategies.run_strategy` accepts (``"fairassign"``,
        ``"round-robin"``, ``"greedy"`` ...).
    seed : int
        Fixes the team, the truth, the arrivals and every draw: same seed, same run; every
        strategy at one seed faces the same days.
    constraints : iterable of Constraint, or callable
        Rules for each day's batch (e.g. ``[fa.FairShare(0.2)]``). Each day's batch holds the
        day's leads (ids ``0 .. n-1``) and the reps present, so a rule with per-rep arrays or
        rep ids must be built per day: pass a callable ``(day, rep_ids) -> rules``, called
        with the day number and the ids of the reps present (in the batch's order).
    strategy_options : mapping, optional
        Extra keyword options for the strategy (see :func:`fairassign.strategies.run_strategy`).
    time_limit : float, optional
        Seconds per day for the optimiser and the solver backends.

    Returns
    -------
    SimulationRun

    Examples
    --------
    >>> run = simulate(builtin_scenario(n_reps=6, n_days=3, leads_per_day=20), "round-robin", seed=1)
    >>> run.day_leads.size, run.n_leads == int(run.day_leads.sum())
    (3, True)
    """
    if not isinstance(scenario, Scenario):
        raise ValidationError(f"scenario must be a fairassign.simulate.Scenario, got {type(scenario).__name__}")
    if not isinstance(strategy, str):
        raise ValidationError(f"strategy must be a strategy name (str), got {strategy!r}")
    seed = _check_seed(seed)
    options = dict(strategy_options or {})
    rules_of_day = _rules_of_day(constraints)
    from .strategies import run_strategy  # here, not at the top: strategies is the heavier module

    world = _world(scenario, seed)
    n_reps, n_days, n_industries = scenario.n_reps, scenario.n_days, len(scenario.industries)
    profiles = RepProfiles.neutral(n_reps, scenario.n_segments)
    capacity_full = np.maximum(1.0, np.round(scenario.capacity_per_day
                                             * np.where(world.part_time, scenario.part_time_factor, 1.0)))
    decay = math.log(2.0) / scenario.delay_half_life_hours
    keep = 1.0 - scenario.not_followed_up

    day_leads = np.zeros(n_days, np.int64)
    day_assigned = np.zeros(n_days, np.int64)
    day_conversions = np.zeros(n_days, np.int64)
    day_revenue = np.zeros(n_days)
    day_expected = np.zeros(n_days)
    day_value = np.zeros(n_days)
    day_time = np.zeros(n_days)
    day_status: list[str] = []
    rep_leads = np.zeros(n_reps, np.int64)
    rep_conversions = np.zeros(n_reps, np.int64)
    rep_days = np.zeros(n_reps, np.int64)
    rep_revenue = np.zeros(n_reps)
    rep_value = np.zeros(n_reps)
    rep_capacity = np.zeros(n_reps)
    not_followed = 0
    pending: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]] = []

    for day in range(n_days):
        arrivals = _arrivals(scenario, seed, day)
        segment = arrivals.tier * n_industries + arrivals.industry
        present = np.flatnonzero(arrivals.present)
        n_leads = arrivals.value.size
        day_leads[day] = n_leads
        rep_days[present] += 1
        rep_capacity[present] += capacity_full[present]
        rep_of = np.full(n_leads, -1, dtype=np.int64)
        if n_leads and present.size:
            eligible = (arrivals.tier[:, None] >= world.rep_tier[present][None, :]) \
                & world.covers[present][:, arrivals.region].T
            score = profiles.score(segment, arrivals.value)[:, present]
            problem = Problem(score=np.where(eligible, score, np.nan), capacity=capacity_full[present],
                              value=arrivals.value, rep_ids=world.rep_ids[present])
            day_rules = rules_of_day(day, problem.rep_ids, problem)
            started = time.perf_counter()
            result = run_strategy(strategy, problem, day_rules, seed=(seed * 1_000_003 + day) % (2**31),
                                  time_limit=time_limit, **options)
            day_time[day] = time.perf_counter() - started
            day_status.append(result.status.name)
            local = np.asarray(result.rep_of, dtype=np.int64)
            rep_of[local >= 0] = present[local[local >= 0]]
        else:
            day_status.append("EMPTY")
        leads = np.flatnonzero(rep_of >= 0)
        reps = rep_of[leads]
        if leads.size:
            load = np.bincount(reps, minlength=n_reps) / capacity_full  # share of the day's capacity used
            mean_delay = scenario.contact_delay_hours * (0.5 + load[reps])
            rate = world.truth[reps, segment[leads]]
            followed = arrivals.follow_draw[leads] >= scenario.not_followed_up
            chance = rate * np.exp(-decay * mean_delay * arrivals.delay_draw[leads])
            converted = followed & (arrivals.convert_draw[leads] < chance)
            deal = np.where(converted, arrivals.value[leads] * arrivals.deal_factor[leads], 0.0)
            expected = rate * keep * arrivals.value[leads] / (1.0 + decay * mean_delay)
            day_assigned[day] = leads.size
            day_conversions[day] = int(converted.sum())
            day_revenue[day] = float(deal.sum())
            day_expected[day] = float(expected.sum())
            day_value[day] = float(arrivals.value[leads].sum())
            not_followed += int((~followed).sum())
            rep_leads += np.bincount(reps, minlength=n_reps)
            rep_conversions += np.bincount(reps, weights=converted, minlength=n_reps).astype(np.int64)
            rep_revenue += np.bincount(reps, weights=deal, minlength=n_reps)
            rep_value += np.bincount(reps, weights=arrivals.value[leads], minlength=n_reps)
            # the CRM sees won or lost and the deal value; not why a lead was lost
            pending.append((reps, segment[leads], converted, np.where(converted, deal, np.nan)))
        if pending and ((day + 1) % scenario.refit_every == 0):
            profiles = profiles.refit(np.concatenate([p[0] for p in pending]), np.concatenate([p[1] for p in pending]),
                                      np.concatenate([p[2] for p in pending]),
                                      deal_value=np.concatenate([p[3] for p in pending]))
            pending = []

    return SimulationRun(
        strategy=strategy, seed=seed, scenario=scenario, revenue=float(day_revenue.sum()),
        expected_revenue=float(day_expected.sum()), conversions=int(day_conversions.sum()),
        n_leads=int(day_leads.sum()), n_assigned=int(day_assigned.sum()), n_not_followed_up=not_followed,
        day_leads=_readonly(day_leads), day_assigned=_readonly(day_assigned),
        day_conversions=_readonly(day_conversions), day_revenue=_readonly(day_revenue),
        day_expected_revenue=_readonly(day_expected), day_value_assigned=_readonly(day_value),
        day_time=_readonly(day_time), day_status=tuple(day_status), rep_ids=world.rep_ids,
        rep_leads=_readonly(rep_leads), rep_conversions=_readonly(rep_conversions),
        rep_days_present=_readonly(rep_days), rep_revenue=_readonly(rep_revenue), rep_value=_readonly(rep_value),
        rep_capacity=_readonly(rep_capacity),
    )


def _t_interval(samples: NDArray[np.float64], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t interval; NaN bounds with fewer than two samples."""
    mean = float(samples.mean())
    if samples.size < 2:
        return mean, math.nan, math.nan
    from scipy.stats import t as t_distribution  # scipy.stats is slow to import: only when asked

    quantile = float(t_distribution.ppf(0.5 + level / 2.0, samples.size - 1))
    half = quantile * float(samples.std(ddof=1)) / math.sqrt(samples.size)
    return mean, mean - half, mean + half


def compare_period(
    scenario: Scenario,
    strategies: Sequence[str],
    *,
    seeds: Sequence[int],
    constraints: Iterable[Constraint] | Constraint | DayRules = (),
    strategy_options: Mapping[str, Mapping[str, Any]] | None = None,
    time_limit: float | None = None,
    reference: str = OPTIMISER,
) -> list[dict[str, Any]]:
    r"""Simulate every strategy at every seed; means, 95% t intervals over seeds, and paired uplift.

    Parameters
    ----------
    scenario : Scenario
    strategies : sequence of str
        Strategy names (see :func:`simulate`).
    seeds : sequence of int
        One run per strategy per seed; at one seed all strategies face the same days.
    constraints : iterable of Constraint, or callable
        Rules of every day's batch, for every strategy (baselines ignore fairness rules);
        see :func:`simulate`.
    strategy_options : mapping of str to mapping, optional
        Options per strategy name.
    time_limit : float, optional
        Seconds per day for the optimiser and solver backends.
    reference : str
        The strategy whose uplift over each other is reported (default ``"fairassign"``).

    Returns
    -------
    list of dict
        One per strategy, in the order given, with ``strategy``, ``n_seeds``;
        ``revenue``, ``revenue_low``, ``revenue_high`` (mean realised revenue per run and
        its 95% t interval over seeds); the same for ``conversions`` and
        ``expected_revenue``; ``coverage``, ``days_breaking_rules``, ``gini_value_per_capacity``
        and ``time`` (means); and ``uplift``, ``uplift_low``, ``uplift_high``,
        ``uplift_pct``: the reference's realised revenue minus this strategy's, mean of
        the paired differences by seed with its 95% t interval, and as a share of this
        strategy's mean revenue (None when the reference was not run, 0 for itself).
        Interval bounds are NaN with a single seed.

    Examples
    --------
    >>> rows = compare_period(builtin_scenario(n_reps=6, n_days=2, leads_per_day=20),
    ...                       ["fairassign", "round-robin"], seeds=[0, 1])
    >>> [row["strategy"] for row in rows], rows[0]["uplift"]
    (['fairassign', 'round-robin'], 0.0)
    """
    names = [strategies] if isinstance(strategies, str) else list(strategies)
    if not names or not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        raise ValidationError(f"strategies must be distinct strategy names, at least one, got {strategies!r}")
    seed_list = [_check_seed(seed) for seed in (seeds if isinstance(seeds, Iterable) else [seeds])]
    if not seed_list or len(set(seed_list)) != len(seed_list):
        raise ValidationError(f"seeds must hold at least one seed, each once, got {seeds!r}")
    options = dict(strategy_options or {})
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ValidationError(f"strategy_options names strategies not in strategies: {unknown}")
    rules = constraints if callable(constraints) and not isinstance(constraints, Constraint) else (
        (constraints,) if isinstance(constraints, Constraint) else tuple(constraints))
    runs: dict[str, list[SimulationRun]] = {
        name: [simulate(scenario, name, seed=seed, constraints=rules, strategy_options=options.get(name),
                        time_limit=time_limit) for seed in seed_list]
        for name in names
    }
    reference_revenue = None
    if reference in runs:
        reference_revenue = np.array([run.revenue for run in runs[reference]])
    records = []
    for name in names:
        taken = runs[name]
        row: dict[str, Any] = {"strategy": name, "n_seeds": len(seed_list)}
        for figure in ("revenue", "conversions", "expected_revenue"):
            mean, low, high = _t_interval(np.array([float(getattr(run, figure)) for run in taken]))
            row[figure], row[f"{figure}_low"], row[f"{figure}_high"] = mean, low, high
        for figure in ("coverage", "days_breaking_rules", "gini_value_per_capacity"):
            row[figure] = float(np.mean([float(getattr(run, figure)) for run in taken]))
        row["time"] = float(np.mean([float(run.day_time.sum()) for run in taken]))
        if reference_revenue is None:
            row["uplift"] = row["uplift_low"] = row["uplift_high"] = row["uplift_pct"] = None
        elif name == reference:
            row["uplift"], row["uplift_low"], row["uplift_high"], row["uplift_pct"] = 0.0, 0.0, 0.0, 0.0
        else:
            difference = reference_revenue - np.array([run.revenue for run in taken])
            mean, low, high = _t_interval(difference)
            row["uplift"], row["uplift_low"], row["uplift_high"] = mean, low, high
            row["uplift_pct"] = mean / row["revenue"] if row["revenue"] > 0 else math.nan
        records.append(row)
    return records
