"""fairassign: assign sales leads to sales reps, optimally, fairly and checkably.

>>> import fairassign as fa
>>> problem = fa.Problem(score=[[5.0, 1.0], [4.0, 3.0]], capacity=[1, 1])
>>> fa.solve(problem).rep_of.tolist()
[0, 1]
"""

from __future__ import annotations

from . import baselines, datasets, metrics, over_time
from .audit import AuditRecord, Replay, read_jsonl, replay, write_jsonl
from .audit import record as record_audit
from .baselines import TerritoryRule, territory_rules
from .compare import Comparison, compare, uplift
from .constraints import AssignAll, Constraint, CountBand, FairShare, Forbid, Pin, ValueBand
from .decompose import Block, blocks, solve_blocks
from .eligibility import attribute_eligibility, tier_eligibility
from .errors import (
    FairAssignError,
    InfeasibleError,
    MissingDependencyError,
    NoSolutionError,
    SolveError,
    UnknownSolverError,
    ValidationError,
)
from .explain import Explanation, explain
from .frames import problem_from_frames, result_to_frame
from .frontier import Frontier, fairness_frontier, plot_frontier
from .grading import Grades, grade, grade_leads
from .metrics import Metrics
from .over_time import Recycling, Resolution, available_problem, recycle, resolve, solve_with_history
from .problem import Problem
from .profiles import RepProfiles, segment_codes
from .result import Result, SolveSettings, Status
from .router import Router
from .rules_file import RulesFile, parse_rules, read_rules
from .simulate import Scenario, SimulationRun, builtin_scenario, compare_period, fair_share_rules, simulate
from .solve import solve
from .solvers import solver_names
from .strategies import run_strategy, strategy_names
from .sweep import sweep
from .verify import Violation, verify
from .weights import attainable_weights

__version__ = "0.1.0"

__all__ = [
    "Problem",
    "solve",
    "blocks",
    "solve_blocks",
    "sweep",
    "Block",
    "verify",
    "Result",
    "Status",
    "Violation",
    "Metrics",
    "metrics",
    "datasets",
    "Constraint",
    "AssignAll",
    "CountBand",
    "ValueBand",
    "FairShare",
    "Pin",
    "Forbid",
    # strategies, scoring and simulation
    "run_strategy",
    "strategy_names",
    "baselines",
    "TerritoryRule",
    "territory_rules",
    "grade",
    "grade_leads",
    "Grades",
    "RepProfiles",
    "segment_codes",
    "Scenario",
    "SimulationRun",
    "builtin_scenario",
    "simulate",
    "compare_period",
    "fair_share_rules",
    "attainable_weights",
    "compare",
    "Comparison",
    "uplift",
    "fairness_frontier",
    "plot_frontier",
    "Frontier",
    # routing in production
    "over_time",
    "resolve",
    "Resolution",
    "recycle",
    "Recycling",
    "available_problem",
    "solve_with_history",
    "Router",
    "explain",
    "Explanation",
    "AuditRecord",
    "record_audit",
    "write_jsonl",
    "read_jsonl",
    "replay",
    "Replay",
    "SolveSettings",
    "problem_from_frames",
    "result_to_frame",
    "read_rules",
    "parse_rules",
    "RulesFile",
    "tier_eligibility",
    "attribute_eligibility",
    "solver_names",
    "FairAssignError",
    "ValidationError",
    "MissingDependencyError",
    "UnknownSolverError",
    "SolveError",
    "InfeasibleError",
    "NoSolutionError",
    "__version__",
]
