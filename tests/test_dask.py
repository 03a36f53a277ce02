"""Scale-out on Dask (the ``fairassign[dask]`` extra): blocks and sweeps through a Dask client.

Dask runs in this process (``LocalCluster(processes=False)``) for the equality checks, and
once with a worker process, which pickles every argument and answer both ways.
"""

from __future__ import annotations

from collections.abc import Iterator

import distributed  # the fairassign[dask] extra, part of the test extra: a missing install fails here
import numpy as np
import pytest

import fairassign as fa
from test_decompose import regional, same_answer


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    cluster = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0")
    with cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def test_blocks_through_a_dask_client_equal_the_single_solve(client: distributed.Client) -> None:
    problem = regional(np.random.default_rng(3), 120, 12, 4, 3, ids=True)
    rules = [fa.AssignAll(), fa.CountBand(upper=12)]
    whole = fa.solve(problem, rules, solver="mip")
    same_answer(fa.solve_blocks(problem, rules, solver="mip", executor=client), whole)
    same_answer(fa.solve_blocks(problem, rules, solver="mip", executor=client.get_executor()), whole)


def test_fair_share_blocks_through_dask_equal_the_single_solve(client: distributed.Client) -> None:
    problem = regional(np.random.default_rng(5), 60, 8, 2, 3, capacity=10)
    rules = [fa.FairShare(0.3), fa.AssignAll()]
    whole = fa.solve(problem, rules, solver="mip")
    assert whole.status is fa.Status.OPTIMAL
    split = fa.solve_blocks(problem, rules, solver="mip", executor=client)
    same_answer(split, whole)
    assert "FairShare split exactly" in split.reason


def test_a_sweep_through_dask_matches_one_solve_per_scenario(client: distributed.Client) -> None:
    problem = regional(np.random.default_rng(7), 40, 6, 1, 4, capacity=9)
    scenarios = [[fa.FairShare(t), fa.AssignAll()] for t in (0.2, 0.5, 1.0)]
    swept = fa.sweep(problem, scenarios, solver="cpsat", executor=client)
    for rules, result in zip(scenarios, swept, strict=True):
        same_answer(result, fa.solve(problem, rules, solver="cpsat"))
        assert result.constraints == tuple(rules)
    # a looser rule never costs score
    assert swept[0].objective <= swept[1].objective + 1e-6 <= swept[2].objective + 2e-6


def test_worker_processes_pickle_every_argument_and_answer() -> None:
    problem = regional(np.random.default_rng(11), 80, 8, 2, 3, ids=True)
    rules = [fa.AssignAll(), fa.Pin([("L0", problem.rep_ids[problem.pair_rep[problem.lead_start[0]]])])]
    cluster = distributed.LocalCluster(processes=True, n_workers=1, threads_per_worker=1, dashboard_address=":0")
    with cluster, distributed.Client(cluster) as dask_client:
        split = fa.solve_blocks(problem, rules, solver="flow", executor=dask_client)
        swept = fa.sweep(problem, [rules, [fa.FairShare(0.5)]], solver="auto", executor=dask_client)
    same_answer(split, fa.solve(problem, rules, solver="flow"))
    same_answer(swept[0], fa.solve(problem, rules, solver="auto"))
    assert swept[1].status.has_solution and swept[1].violations == ()
