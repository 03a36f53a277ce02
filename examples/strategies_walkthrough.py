"""Strategies walkthrough: the optimiser against what CRMs do today, and what fairness costs.

For a data scientist who wants evidence before switching a sales team from round robin:

1. make a batch of leads and reps;
2. route it with fairassign and with every CRM baseline, measured alike (fa.compare);
3. read the uplift of the optimiser over each baseline;
4. sweep the fair-share tolerance: the price-of-fairness frontier, baselines on the same chart;
5. replay a short simulated period, where outcomes are drawn from a truth no strategy sees.

Run: python examples/strategies_walkthrough.py   (about 15 s of CPU)
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path

import fairassign as fa
from fairassign.compare import compare, uplift
from fairassign.datasets import make_batch
from fairassign.frontier import fairness_frontier, plot_frontier

# 1. A batch: 80 leads (tiers A/B/C costing 3/2/1 effort units), 6 reps cleared by tier and region.
batch = make_batch(80, 6, seed=11, tier_effort=True, regions=("North", "South", "West"))
problem = batch.problem
print(f"batch: {problem.n_leads} leads, {problem.n_reps} reps, {problem.n_pairs} candidate pairs, "
      f"capacity {problem.capacity.sum():g} effort units")

# 2. Every strategy under one rule: each rep within +-20% of its capacity-weighted share of lead value.
#    The baselines keep capacity and eligibility but ignore the fair share, as CRMs do; what they
#    break shows as status INVALID with the broken rules listed.
rules = [fa.FairShare(0.2)]
comparison = compare(problem, rules, seed=0, time_limit=5)
print()
print(comparison)

# 3. Uplift in expected revenue (here the score: lead value x fit) of the optimiser over each baseline.
print()
print("uplift of fairassign (which keeps the fair share; the baselines mostly do not):")
for name, gain in uplift(comparison).items():
    print(f"  uplift over {name}: {gain:+.1%}" if gain is not None else f"  uplift over {name}: n/a")

# 4. The price of fairness: an exact solver (mip) maximising the score only, so that tightening
#    the tolerance can only lower the value. PoF(t) = 1 - value(t) / value(no fairness rule).
frontier = fairness_frontier(problem, rules, tolerances=(0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05), solver="mip",
                             objective="score", time_limit=20)
print()
print("price of fairness (mip, objective='score'):")
for point in frontier.sweep:
    if point.measured:
        print(f"  {point.label:<14} price {point.price_of_fairness:6.2%}   value {point.expected_value:>10,.0f}   "
              f"max deviation {point.max_share_deviation:6.1%}   gini/capacity {point.gini_value_per_weight:.3f}")
    else:
        print(f"  {point.label:<14} {point.status}")
print("baselines on the same axes:")
for point in frontier.baselines:
    print(f"  {point.label:<22} value {point.expected_value:>10,.0f}   max deviation {point.max_share_deviation:6.1%}")
print("the optimiser at no worse fairness than each baseline:")
for name, found in frontier.uplift_at_equal_fairness().items():
    print(f"  {name:<22} " + ("n/a" if found is None else f"{found[1]:+.1%} at {found[0]}"))

if importlib.util.find_spec("matplotlib") is not None:
    chart = Path(tempfile.mkdtemp(prefix="fairassign-")) / "frontier.png"
    plot_frontier(frontier, chart)
    print(f"frontier chart: {chart}")
else:
    print("frontier chart: skipped (pip install 'fairassign[plot]' for matplotlib)")

# 5. A short simulated period: 10 reps, 5 days, about 40 leads a day, 3 seeds. Every strategy
#    sees the same days at a seed (paired), and scores are learned from earlier outcomes.
if importlib.util.find_spec("fairassign.simulate") is not None:
    from fairassign.simulate import builtin_scenario, compare_period

    scenario = builtin_scenario(n_reps=10, n_days=5, leads_per_day=40)
    records = compare_period(scenario, ["fairassign", "round-robin", "weighted-round-robin", "load-balancing"],
                             seeds=[0, 1, 2])
    print()
    print(f"simulated period: {scenario.n_days} days, {scenario.n_reps} reps, seeds 0-2 "
          f"(realised revenue per run, 95% t interval over seeds)")
    for row in records:
        line = (f"  {row['strategy']:<22} revenue {row['revenue']:>10,.0f} "
                f"[{row['revenue_low']:>10,.0f}, {row['revenue_high']:>10,.0f}]")
        if row["strategy"] != "fairassign":
            line += (f"   fairassign uplift {row['uplift']:+,.0f} [{row['uplift_low']:+,.0f}, "
                     f"{row['uplift_high']:+,.0f}] ({row['uplift_pct']:+.1%})")
        print(line)
