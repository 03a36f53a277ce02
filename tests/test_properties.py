"""Invariants of the core that hold whatever backend solves: hypothesis over tiny batches.

* a Problem built from a dense score equals the one built from the same sparse candidates;
* ``Problem.permuted`` round-trips;
* ``fa.verify`` flags exactly the rules an assignment breaks (against an independent numpy
  evaluation, :func:`oracle.feasible_mask`), and agrees with the oracle on every assignment;
* the linear model and the verifier agree, both ways: for every 0/1 assignment over the
  allowed pairs, ``A @ z`` lies within the row bounds iff ``fa.verify`` finds no violation;
* ``rules.bind`` folds pins and forbids as documented;
* a diagnosis is only ever given for a batch that brute force cannot solve, and its words are
  right on crafted inputs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import fairassign as fa
from fairassign.diagnosis import diagnose
from fairassign.linear import LinearModel, build_linear_model
from fairassign.rules import bind
from oracle import STRICT_RTOL, VERIFY_RTOL, brute_force, enumerate_assignments, feasible_mask
from strategies import Case, cases, problems, seeds

#: values for which "within 1e-9" and "within 1e-6" cannot differ (see test_linear_model_agrees_with_verify)
NICE_VALUES = ("none", "integer")


def same_problem(a: fa.Problem, b: fa.Problem) -> None:
    assert a.shape == b.shape and a.effort_kind == b.effort_kind
    for name in ("pair_lead", "pair_rep", "pair_score", "pair_effort", "lead_start", "capacity", "value",
                 "lead_ids", "rep_ids", "rep_order", "rep_start"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


# ----------------------------------------------------------------------------- Problem
@given(drawn=problems(), seed=seeds)
def test_dense_and_sparse_scores_give_the_same_problem(drawn: tuple[fa.Problem, np.ndarray], seed: int) -> None:
    problem, score = drawn
    rng = np.random.default_rng(seed)
    finite = np.isfinite(score)
    rows, cols = np.nonzero(finite)
    order = rng.permutation(rows.size)  # stored in any order
    sparse = sp.coo_array((score[rows, cols][order], (rows[order], cols[order])), shape=score.shape)
    effort = None if problem.effort_kind == "unit" else (
        problem.lead_effort if problem.effort_kind == "lead" else
        sp.csr_array((problem.pair_effort, (problem.pair_lead, problem.pair_rep)), shape=problem.shape))
    kwargs = dict(capacity=problem.capacity, effort=effort, value=problem.value,
                  lead_ids=problem.lead_ids, rep_ids=problem.rep_ids)
    same_problem(problem, fa.Problem(score=sparse, **kwargs))
    same_problem(problem, fa.Problem(score=sparse.tocsr(), **kwargs))
    # the same candidates from a full score and an eligibility mask
    full = np.where(finite, score, rng.normal(size=score.shape))
    same_problem(problem, fa.Problem(score=full, eligible=finite, **kwargs))
    same_problem(problem, fa.Problem(score=full, eligible=sp.csr_array(finite), **kwargs))


@given(drawn=problems(), seed=seeds)
def test_permuted_round_trips(drawn: tuple[fa.Problem, np.ndarray], seed: int) -> None:
    problem = drawn[0]
    rng = np.random.default_rng(seed)
    lead_order, rep_order = rng.permutation(problem.n_leads), rng.permutation(problem.n_reps)
    moved = problem.permuted(lead_order=lead_order, rep_order=rep_order)
    np.testing.assert_array_equal(moved.dense_score(), problem.dense_score()[lead_order][:, rep_order])
    same_problem(problem, moved.permuted(lead_order=np.argsort(lead_order), rep_order=np.argsort(rep_order)))
    same_problem(problem, problem.permuted())


# ----------------------------------------------------------------------------- verify
@given(case=cases(), seed=seeds)
def test_verify_flags_exactly_the_broken_rules(case: Case, seed: int) -> None:
    problem = case.problem
    rep_of, pair = enumerate_assignments(problem)
    picks = np.random.default_rng(seed).choice(len(rep_of), size=min(len(rep_of), 20), replace=False)
    rep_of, pair = rep_of[picks], pair[picks]
    capacity_ok = feasible_mask(problem, rep_of, pair, [], VERIFY_RTOL)
    rule_ok = [feasible_mask(problem, rep_of, pair, [rule], VERIFY_RTOL, capacity=False) for rule in case.constraints]
    for k in range(len(rep_of)):
        expected = {"capacity"} if not capacity_ok[k] else set()
        expected |= {type(rule).__name__ for rule, ok in zip(case.constraints, rule_ok, strict=True) if not ok[k]}
        found = fa.verify(problem, rep_of[k], case.constraints)
        assert {v.rule for v in found} == expected, (rep_of[k].tolist(), [v.message for v in found])
        assert all(v.amount > 0 for v in found)


@given(case=cases(max_leads=4))
def test_oracle_and_verify_agree_on_every_assignment(case: Case) -> None:
    problem = case.problem
    rep_of, pair = enumerate_assignments(problem)
    ok = feasible_mask(problem, rep_of, pair, case.constraints, VERIFY_RTOL)
    for k in range(len(rep_of)):
        assert (fa.verify(problem, rep_of[k], case.constraints) == []) == ok[k], rep_of[k].tolist()


@given(drawn=problems(), seed=seeds)
def test_verify_flags_ineligible_pairs(drawn: tuple[fa.Problem, np.ndarray], seed: int) -> None:
    problem, score = drawn
    rng = np.random.default_rng(seed)
    rep_of = rng.integers(-1, problem.n_reps, size=problem.n_leads)
    ineligible = (rep_of >= 0) & ~np.isfinite(score[np.arange(problem.n_leads), np.maximum(rep_of, 0)])
    found = [v for v in fa.verify(problem, rep_of) if v.rule == "eligibility"]
    assert [v.subject for v in found] == [f"lead {problem.lead_ids[i].item()!r}" for i in np.flatnonzero(ineligible)]


# ----------------------------------------------------------------------------- linear model
def linear_ok(model: LinearModel, problem: fa.Problem, rep_of: np.ndarray) -> bool:
    """Whether the 0/1 point of ``rep_of`` (every chosen pair allowed) keeps every row."""
    leads = np.flatnonzero(rep_of >= 0)
    pairs = problem.pair_index(leads, rep_of[leads])
    column = np.searchsorted(model.pairs, pairs)
    assert (model.pairs[np.minimum(column, model.n_x - 1)] == pairs).all() if pairs.size else True
    z = np.zeros(model.n_vars)
    z[column] = 1.0
    if model.n_vars > model.n_x:  # the total-value variable V
        z[-1] = problem.value[leads].sum()
    activity = model.matrix @ z
    scale = np.abs(model.matrix) @ np.abs(z)
    slack = STRICT_RTOL * np.maximum(1.0, scale)
    return bool(np.all(activity >= model.row_lower - slack) and np.all(activity <= model.row_upper + slack))


@given(case=cases(value_kinds=NICE_VALUES))
def test_linear_model_agrees_with_verify(case: Case) -> None:
    # Values are small integers here, so every rule holds with room or is broken by far more than
    # the verifier's 1e-6: the two tolerances cannot disagree and the check is exact both ways.
    problem = case.problem
    rules = bind(problem, case.constraints)
    model = build_linear_model(problem, rules)
    rep_of, pair = enumerate_assignments(problem)
    allowed = np.append(rules.allowed, True)  # index -1 (unassigned) reads the True at the end
    inside = allowed[pair].all(axis=1)
    for k in np.flatnonzero(inside).tolist():
        clean = fa.verify(problem, rep_of[k], case.constraints) == []
        if rules.conflicts:  # contradictory rules: nothing keeps them, whatever the model says
            assert not clean, rep_of[k].tolist()
        else:
            assert linear_ok(model, problem, rep_of[k]) == clean, rep_of[k].tolist()
    for k in np.flatnonzero(~inside).tolist():  # a forbidden pair, or a pinned lead elsewhere
        assert {v.rule for v in fa.verify(problem, rep_of[k], case.constraints)} & {"Pin", "Forbid"}


@given(case=cases(max_leads=4, value_kinds=NICE_VALUES), seed=seeds)
def test_linear_model_rejects_two_reps_for_one_lead(case: Case, seed: int) -> None:
    problem = case.problem
    model = build_linear_model(problem, bind(problem, case.constraints))
    lead = problem.pair_lead[model.pairs]
    doubled = np.flatnonzero(np.bincount(lead, minlength=problem.n_leads) >= 2)
    if doubled.size == 0:
        return
    z = np.zeros(model.n_vars)
    z[np.flatnonzero(lead == doubled[np.random.default_rng(seed).integers(doubled.size)])[:2]] = 1.0
    rows = slice(model.row_block_start[0], model.row_block_start[1] if len(model.row_kind) > 1 else None)
    assert ((model.matrix @ z)[rows] > model.row_upper[rows]).any()


# ----------------------------------------------------------------------------- rules.bind
@given(case=cases())
def test_bind_folds_pins_and_forbids(case: Case) -> None:
    problem = case.problem
    rules = bind(problem, case.constraints)
    forbidden: set[tuple[int, int]] = set()
    pinned: dict[int, int] = {}
    for rule in case.constraints:
        if isinstance(rule, fa.Forbid | fa.Pin):
            for lead_id, rep_id in rule.pairs:
                where = (problem.lead_position(lead_id), problem.rep_position(rep_id))
                if isinstance(rule, fa.Forbid):
                    forbidden.add(where)
                else:
                    pinned.setdefault(*where)
    for p in range(problem.n_pairs):
        lead, rep = int(problem.pair_lead[p]), int(problem.pair_rep[p])
        expected = (lead, rep) not in forbidden and pinned.get(lead, rep) == rep
        assert rules.allowed[p] == expected, (lead, rep)
    assign_all = any(isinstance(rule, fa.AssignAll) for rule in case.constraints)
    assert rules.must_assign.tolist() == [assign_all or i in pinned for i in range(problem.n_leads)]


# ----------------------------------------------------------------------------- diagnosis
@given(case=cases())
def test_a_diagnosis_means_brute_force_finds_nothing(case: Case) -> None:
    reasons = diagnose(case.problem, bind(case.problem, case.constraints))
    if reasons:
        assert not brute_force(case.problem, case.constraints, rtol=STRICT_RTOL).feasible, reasons


@given(n_leads=st.integers(2, 400), n_reps=st.integers(1, 5), seed=seeds)
def test_capacity_shortfall_is_named(n_leads: int, n_reps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    total = int(rng.integers(1, n_leads))  # some room, or every lead would be named as stranded
    capacity = np.bincount(rng.integers(0, n_reps, size=total), minlength=n_reps)
    problem = fa.Problem(score=rng.normal(size=(n_leads, n_reps)), capacity=capacity)
    assert diagnose(problem, bind(problem, [fa.AssignAll()])) == [
        f"capacity {total} < {n_leads} leads that must be assigned"]


@given(n_leads=st.integers(1, 60), seed=seeds)
def test_stranded_lead_is_named(n_leads: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    stranded = int(rng.integers(n_leads))
    score = rng.normal(size=(n_leads, 3))
    score[stranded] = np.nan
    problem = fa.Problem(score=score, capacity=[n_leads] * 3, lead_ids=[f"L-{i}" for i in range(n_leads)])
    result = fa.solve(problem, [fa.AssignAll()])
    assert result.status is fa.Status.INFEASIBLE
    assert result.diagnosis == (f"lead 'L-{stranded}' must be assigned but has no eligible rep with room for it",)
