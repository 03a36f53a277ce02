"""fairassign.datasets: determinism, shapes and ranges, eligibility, sparse generation, files."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import fairassign as fa
from fairassign.datasets import TIER_EFFORT, TIERS, load_batch, load_example, make_batch, save_batch


def _same(a: fa.datasets.Batch, b: fa.datasets.Batch) -> bool:
    pa, pb = a.problem, b.problem
    return bool(
        np.array_equal(pa.pair_lead, pb.pair_lead) and np.array_equal(pa.pair_rep, pb.pair_rep)
        and np.array_equal(pa.pair_score, pb.pair_score) and np.array_equal(pa.capacity, pb.capacity)
        and np.array_equal(pa.value, pb.value)
        and all(np.array_equal(a.leads[k], b.leads[k]) for k in a.leads)
        and all(a.reps[k].tolist() == b.reps[k].tolist() for k in a.reps)
    )


def _dense_eligibility(batch: fa.datasets.Batch) -> np.ndarray:
    """Eligibility recomputed from the attribute columns with the public helpers."""
    leads, reps = batch.leads, batch.reps
    return fa.tier_eligibility(leads["tier"].tolist(), reps["max_tier"].tolist()) & fa.attribute_eligibility(
        leads["region"].tolist(), list(reps["regions"]))


def test_same_seed_same_batch_and_different_seed_differs() -> None:
    assert _same(make_batch(300, 12, seed=5), make_batch(300, 12, seed=5))
    assert _same(make_batch(300, 12, seed=5, candidates_per_lead=3), make_batch(300, 12, seed=5, candidates_per_lead=3))
    assert not _same(make_batch(300, 12, seed=5), make_batch(300, 12, seed=6))


@pytest.mark.parametrize("tier_effort", [False, True])
def test_shapes_and_ranges(tier_effort: bool) -> None:
    batch = make_batch(500, 20, seed=3, tier_effort=tier_effort)
    problem = batch.problem
    assert problem.shape == (500, 20)
    assert set(batch.leads) == {"id", "tier", "region", "industry", "value", "effort"}
    assert set(batch.reps) == {"id", "max_tier", "region", "regions", "skills", "capacity"}
    assert all(len(column) == 500 for column in batch.leads.values())
    assert all(len(column) == 20 for column in batch.reps.values())
    assert set(batch.leads["tier"].tolist()) == set(TIERS)
    assert set(batch.reps["max_tier"].tolist()) <= set(TIERS)
    assert batch.leads["id"][0] == "L-001" and batch.leads["id"][-1] == "L-500"
    assert batch.reps["id"][0] == "R-01"
    assert problem.lead_ids.tolist() == batch.leads["id"].tolist()
    assert (problem.value > 0).all() and np.array_equal(problem.value, batch.leads["value"])
    assert np.array_equal(np.round(problem.value, 2), problem.value)  # cents
    assert (problem.capacity >= 1).all() and np.array_equal(problem.capacity, np.round(problem.capacity))
    assert np.array_equal(problem.capacity, batch.reps["capacity"])
    assert (problem.pair_score > 0).all()
    # score = value x fit, fit in [0.05, 1 + noise]: never above ~1.6 x value with noise 0.1
    ratio = problem.pair_score / problem.value[problem.pair_lead]
    assert ratio.min() >= 0.05 - 0.01 and ratio.max() < 1.6
    expected_effort = [TIER_EFFORT[t] if tier_effort else 1.0 for t in batch.leads["tier"].tolist()]
    assert batch.leads["effort"].tolist() == expected_effort
    assert problem.effort_kind == ("lead" if tier_effort else "unit")
    # the home region is one of the covered regions, and skills are non-empty
    assert all(home in covered for home, covered in zip(batch.reps["region"], batch.reps["regions"], strict=True))
    assert all(len(skills) >= 1 for skills in batch.reps["skills"])


def test_values_are_heavy_tailed_and_better_tiers_worth_more() -> None:
    batch = make_batch(20_000, 50, seed=1, candidates_per_lead=2)
    value, tier = batch.leads["value"], batch.leads["tier"]
    assert value.max() > 10 * np.median(value)  # a lognormal tail
    medians = [np.median(value[tier == t]) for t in TIERS]
    assert medians[0] > medians[1] > medians[2]


def test_every_lead_has_a_candidate_even_with_few_reps() -> None:
    for n_reps in (1, 2, 3, 7):
        batch = make_batch(200, n_reps, seed=n_reps)
        assert (batch.problem.lead_degree >= 1).all()


def test_candidates_are_exactly_the_eligible_pairs() -> None:
    batch = make_batch(400, 15, seed=11)
    mask = _dense_eligibility(batch)
    dense = np.zeros_like(mask)
    dense[batch.problem.pair_lead, batch.problem.pair_rep] = True
    assert np.array_equal(dense, mask)


def test_candidates_per_lead_samples_eligible_reps() -> None:
    batch = make_batch(400, 15, seed=11, candidates_per_lead=2)
    full = make_batch(400, 15, seed=11)
    mask = _dense_eligibility(full)
    problem = batch.problem
    assert mask[problem.pair_lead, problem.pair_rep].all()
    assert np.array_equal(problem.lead_degree, np.minimum(2, mask.sum(axis=1)))
    # sampling does not change the leads' attributes
    assert np.array_equal(batch.leads["value"], full.leads["value"])


def test_large_batch_stays_sparse() -> None:
    """20k leads x 10k reps: a dense bool matrix alone would take 200 MB; the generator stays far below."""
    n_leads, n_reps = 20_000, 10_000
    tracemalloc.start()
    try:
        batch = make_batch(n_leads, n_reps, seed=0, candidates_per_lead=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert batch.problem.n_pairs == 5 * n_leads
    assert peak < n_leads * n_reps / 5  # a fifth of the smallest dense matrix (bool)


def test_fit_rewards_skill_and_home_region() -> None:
    batch = make_batch(3000, 30, seed=2, fit_noise=0.0)
    problem = batch.problem
    fit = problem.pair_score / problem.value[problem.pair_lead]
    industry = batch.leads["industry"][problem.pair_lead]
    knows = np.array([ind in batch.reps["skills"][r] for ind, r in zip(industry, problem.pair_rep, strict=True)])
    home = batch.reps["region"][problem.pair_rep] == batch.leads["region"][problem.pair_lead]
    expected = 0.5 + 0.3 * knows + 0.2 * home
    assert np.allclose(fit, expected, atol=0.01 / problem.value[problem.pair_lead].min() + 1e-9)


def test_capacity_slack_scales_total_capacity() -> None:
    tight = make_batch(2000, 20, seed=4, capacity_slack=0.5)
    loose = make_batch(2000, 20, seed=4, capacity_slack=2.0)
    assert tight.problem.capacity.sum() < 2000 * 0.6
    assert loose.problem.capacity.sum() > 2000 * 1.8


def test_rep_ids_and_labels() -> None:
    batch = make_batch(10, 2, seed=0, rep_ids=["Ann", "Bo"], regions=["EU"], industries=["Tech"])
    assert batch.problem.rep_ids.tolist() == ["Ann", "Bo"]
    assert set(batch.leads["region"].tolist()) == {"EU"}
    assert batch.reps["skills"].tolist() == [("Tech",), ("Tech",)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_leads": -1, "n_reps": 2}, "n_leads must be an integer >= 0, got -1"),
    ({"n_leads": 5, "n_reps": 0}, "n_reps must be an integer >= 1, got 0"),
    ({"n_leads": 5, "n_reps": 2.5}, "n_reps must be an integer >= 1, got 2.5"),
    ({"n_leads": 5, "n_reps": 2, "seed": -3}, "seed must be an integer >= 0"),
    ({"n_leads": 5, "n_reps": 2, "candidates_per_lead": 0}, "candidates_per_lead must be an integer >= 1"),
    ({"n_leads": 5, "n_reps": 2, "capacity_slack": 0}, "capacity_slack must be a finite number > 0"),
    ({"n_leads": 5, "n_reps": 2, "value_sigma": -1.0}, "value_sigma must be a finite number >= 0"),
    ({"n_leads": 5, "n_reps": 2, "lead_tier_mix": (1, 1)}, "lead_tier_mix must be 3 non-negative weights"),
    ({"n_leads": 5, "n_reps": 2, "regions": ("N", "N")}, "regions must hold at least 1 distinct labels"),
    ({"n_leads": 5, "n_reps": 2, "extra_region": 1.5}, r"extra_region must be a probability in \[0, 1\]"),
    ({"n_leads": 5, "n_reps": 2, "rep_ids": ["a"]}, "rep_ids must hold 2 names, got 1"),
])
def test_invalid_arguments_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(fa.ValidationError, match=message):
        make_batch(**kwargs)  # type: ignore[arg-type]


def test_empty_batch() -> None:
    batch = make_batch(0, 3, seed=0)
    assert batch.problem.shape == (0, 3) and batch.problem.n_pairs == 0


def test_columns_are_read_only() -> None:
    batch = make_batch(10, 2)
    with pytest.raises(ValueError, match="read-only"):
        batch.leads["value"][0] = 1.0
    with pytest.raises(TypeError):
        batch.leads["value"] = np.zeros(10)  # type: ignore[index]


# ----------------------------------------------------------------------------- files


def test_load_example() -> None:
    batch = load_example()
    problem = batch.problem
    assert problem.shape == (60, 6)
    assert problem.effort_kind == "lead"
    assert batch.leads["id"][:3].tolist() == ["L-001", "L-002", "L-003"]
    assert problem.rep_ids.tolist() == ["Ana", "Ben", "Chen", "Dara", "Eli", "Femi"]
    assert set(batch.leads["tier"].tolist()) == set(TIERS)
    assert batch.leads["effort"].tolist() == [TIER_EFFORT[t] for t in batch.leads["tier"].tolist()]
    assert (problem.lead_degree >= 1).all()
    assert problem.capacity.sum() >= problem.lead_effort.sum()
    # the stored candidates follow the stored attributes
    dense = np.zeros((60, 6), bool)
    dense[problem.pair_lead, problem.pair_rep] = True
    assert np.array_equal(dense, _dense_eligibility(batch))
    assert "make_batch(60, 6" in batch.description


def test_example_is_solvable_under_the_demo_rules() -> None:
    """AssignAll + FairShare(0.15) admits an assignment: checked with an independent MILP."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    from fairassign.linear import build_linear_model
    from fairassign.rules import bind

    problem = load_example().problem
    constraints = [fa.AssignAll(), fa.FairShare(0.15)]
    model = build_linear_model(problem, bind(problem, constraints))
    integrality = np.ones(model.n_vars)
    integrality[model.n_x:] = 0
    answer = milp(-model.score, constraints=[LinearConstraint(model.matrix, model.row_lower, model.row_upper)],
                  bounds=Bounds(0.0, model.var_upper), integrality=integrality)
    assert answer.x is not None
    rep_of = model.rep_of(np.round(answer.x), problem)
    assert fa.verify(problem, rep_of, constraints) == []


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    batch = make_batch(40, 5, seed=9, tier_effort=True, candidates_per_lead=3)
    path = tmp_path / "batch.json"
    save_batch(batch, path)
    again = load_batch(path)
    assert _same(batch, again)
    assert again.problem.effort_kind == "lead"
    assert again.description == batch.description
    assert isinstance(again.reps["regions"][0], tuple)


def test_load_batch_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(fa.ValidationError, match="not a fairassign batch file"):
        load_batch(path)
    document = json.loads((Path(fa.__file__).parent / "data" / "example_batch.json").read_text())
    document["reps"]["capacity"] = document["reps"]["capacity"][:-1]
    path.write_text(json.dumps(document))
    with pytest.raises(fa.ValidationError, match="reps column 'capacity' has 5 entries, expected 6"):
        load_batch(path)


def test_save_batch_refuses_pair_effort(tmp_path: Path) -> None:
    batch = make_batch(4, 2, seed=0)
    pair_effort = fa.Problem(score=[[1.0, 2.0]] * 4, capacity=[4, 4], effort=[[1.0, 2.0]] * 4)
    odd = fa.datasets.Batch(problem=pair_effort, leads=batch.leads, reps=batch.reps)
    with pytest.raises(fa.ValidationError, match="per-pair effort"):
        save_batch(odd, tmp_path / "x.json")
