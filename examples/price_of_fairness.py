"""Price of fairness on the built-in example: total score against the fair-share tolerance.

For each tolerance t, solve with AssignAll + FairShare(t) and report the score lost against
the best assignment without the fairness rule, and how even the value per rep is.

Run: python examples/price_of_fairness.py
"""

from __future__ import annotations

import fairassign as fa
from fairassign.datasets import load_example
from fairassign.metrics import metrics

problem = load_example().problem
free = fa.solve(problem, [fa.AssignAll()], time_limit=10, seed=0).raise_for_status()
best = free.objective

print(f"{'tolerance':>9}  {'status':<11}  {'score':>10}  {'cost':>6}  {'max dev':>7}  {'gini/cap':>8}  solver")
rows = [("none", free)]
for tolerance in (0.5, 0.3, 0.2, 0.15, 0.10, 0.05, 0.02):
    rows.append((f"{tolerance:.2f}", fa.solve(problem, [fa.AssignAll(), fa.FairShare(tolerance)],
                                              time_limit=10, seed=0)))
for label, result in rows:
    if not result.status.has_solution:
        print(f"{label:>9}  {result.status.name:<11}  {'-':>10}  {'-':>6}  {'-':>7}  {'-':>8}  {result.solver}")
        continue
    figures = metrics(problem, result)
    cost = (best - result.objective) / best
    print(f"{label:>9}  {result.status.name:<11}  {result.objective:>10,.0f}  {cost:>6.2%}  "
          f"{figures.max_share_deviation:>7.1%}  {figures.gini_value_per_weight:>8.3f}  {result.solver}")

infeasible = [(label, result) for label, result in rows if result.status is fa.Status.INFEASIBLE]
if infeasible:
    label, result = infeasible[0]
    print(f"\nwhy tolerance {label} is infeasible: {'; '.join(result.diagnosis)}")
