"""Quick start: route a small batch by hand, then the built-in example, and check the answers.

Run: python examples/quickstart.py
"""

from __future__ import annotations

import numpy as np

import fairassign as fa
from fairassign.datasets import load_example
from fairassign.metrics import metrics

# --- 1. A batch written by hand: 5 leads, 2 reps -------------------------------------------
# score[i, r]: what lead i is worth with rep r (e.g. p(convert) x deal size); NaN = not eligible.
score = np.array([
    [90.0, 60.0],
    [80.0, 75.0],
    [np.nan, 40.0],  # lead L-3 is outside rep Ada's territory
    [30.0, 35.0],
    [20.0, 10.0],
])
problem = fa.Problem(
    score=score,
    capacity=[3, 3],  # leads each rep can take
    value=[900, 800, 400, 300, 200],  # deal size: what fairness measures
    lead_ids=["L-1", "L-2", "L-3", "L-4", "L-5"],
    rep_ids=["Ada", "Bo"],
)
rules = [fa.AssignAll(), fa.FairShare(0.25)]  # every lead placed; value within +-25% of equal shares
result = fa.solve(problem, rules, seed=0)

print("hand-made batch")
print(result.summary())
print("assignment:", result.assignment())
print("violations:", fa.verify(problem, result, rules) or "none")
figures = metrics(problem, result)
print(f"value per rep: {dict(zip(problem.rep_ids.tolist(), figures.rep_value.tolist(), strict=True))}")
print(f"max deviation from fair share: {figures.max_share_deviation:.1%}")
print()

# --- 2. The built-in example batch: 60 leads, 6 reps, effort by tier -------------------------
batch = load_example()
example_rules = [fa.AssignAll(), fa.FairShare(0.15)]
example = fa.solve(batch.problem, example_rules, time_limit=10, seed=0).raise_for_status()
figures = metrics(batch.problem, example)
print("built-in example")
print(example.summary())
print(f"coverage {figures.coverage:.0%}, max deviation {figures.max_share_deviation:.1%}, "
      f"Gini of value per unit of capacity {figures.gini_value_per_weight:.3f}")
print("violations:", fa.verify(batch.problem, example, example_rules) or "none")
for record in example.to_records()[:3]:
    print(record)
