"""Rep profiles: Beta-Binomial empirical Bayes recovers known rates within its stated intervals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fairassign.errors import ValidationError
from fairassign.profiles import RepProfiles, segment_codes


def _synthetic(seed: int, n_reps: int = 150, n_segments: int = 6, mean_trials: float = 25.0):
    """Records from known per-(rep, segment) rates drawn from a Beta prior per segment."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(2.0, 8.0, n_segments)
    b = rng.uniform(8.0, 40.0, n_segments)
    truth = rng.beta(a, b, size=(n_reps, n_segments))
    trials = rng.poisson(mean_trials, size=(n_reps, n_segments))
    cells = np.arange(n_reps * n_segments)
    record_cell = np.repeat(cells, trials.ravel())
    rep, segment = np.divmod(record_cell, n_segments)
    converted = rng.random(record_cell.size) < truth[rep, segment]
    return rep, segment, converted, truth, trials


@pytest.mark.parametrize("prior", ["moments", "marginal"])
@pytest.mark.parametrize("shared_strength", [True, False])
def test_ninety_percent_intervals_cover_the_true_rate_about_ninety_percent(prior: str, shared_strength: bool) -> None:
    rep, segment, converted, truth, _ = _synthetic(seed=7)
    profiles = RepProfiles.fit(rep, segment, converted, n_reps=150, n_segments=6, prior=prior,
                               shared_strength=shared_strength)
    low, high = profiles.interval(0.9)
    coverage = float(np.mean((low <= truth) & (truth <= high)))
    assert 0.85 <= coverage <= 0.95, coverage
    low50, high50 = profiles.interval(0.5)
    coverage50 = float(np.mean((low50 <= truth) & (truth <= high50)))
    assert 0.42 <= coverage50 <= 0.58, coverage50


def test_a_small_team_still_gets_meaningful_intervals() -> None:
    # 8 reps: a strength per segment is noisy; the shared strength keeps coverage near nominal
    coverage = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        rep, segment = rng.integers(0, 8, 2000), rng.integers(0, 6, 2000)
        truth = rng.beta(4.0, 16.0, size=(8, 6))
        converted = rng.random(2000) < truth[rep, segment]
        low, high = RepProfiles.fit(rep, segment, converted, n_reps=8, n_segments=6).interval(0.9)
        coverage.append(np.mean((low <= truth) & (truth <= high)))
    assert 0.8 <= np.mean(coverage) <= 0.97, np.mean(coverage)


def test_posterior_means_beat_raw_rates_on_small_samples() -> None:
    rep, segment, converted, truth, trials = _synthetic(seed=3, mean_trials=6.0)
    profiles = RepProfiles.fit(rep, segment, converted, n_reps=150, n_segments=6)
    seen = trials > 0
    raw = profiles.wins[seen] / profiles.trials[seen]
    assert np.mean((profiles.conversion[seen] - truth[seen]) ** 2) < 0.6 * np.mean((raw - truth[seen]) ** 2)


def test_team_prior_recovers_the_segment_means() -> None:
    rng = np.random.default_rng(11)
    a = rng.uniform(2.0, 8.0, 6)
    b = rng.uniform(8.0, 40.0, 6)
    rep, segment, converted, _, _ = _synthetic(seed=11)
    profiles = RepProfiles.fit(rep, segment, converted, n_reps=150, n_segments=6)
    np.testing.assert_allclose(profiles.team_conversion, a / (a + b), atol=0.02)


def test_a_rep_with_three_deals_is_shrunk_towards_the_team_mean() -> None:
    rng = np.random.default_rng(5)
    n_reps = 30
    trials = np.full(n_reps, 200)
    trials[0] = 3
    rates = rng.uniform(0.2, 0.4, n_reps)
    wins = np.round(trials * rates).astype(int)
    wins[0] = 3  # three of three: a raw rate of 1
    rep = np.repeat(np.arange(n_reps), trials)
    converted = np.concatenate([np.arange(n) < w for n, w in zip(trials, wins, strict=True)])
    profiles = RepProfiles.fit(rep, np.zeros(rep.size, int), converted, n_reps=n_reps, n_segments=1)
    team = profiles.team_conversion[0]
    small = profiles.conversion[0, 0]
    assert team < small < 1.0
    assert small - team < 0.5 * (1.0 - team)  # moved more than halfway to the team
    assert np.argmax(profiles.conversion[:, 0]) != 0  # not ranked first on three lucky deals
    # a big-sample rep keeps close to its own rate
    np.testing.assert_allclose(profiles.conversion[1:, 0], wins[1:] / trials[1:], atol=0.03)


def test_refit_on_new_outcomes_moves_scores_the_right_way() -> None:
    rep, segment, converted, _, _ = _synthetic(seed=2, n_reps=20, n_segments=3)
    profiles = RepProfiles.fit(rep, segment, converted, n_reps=20, n_segments=3)
    lead_segment, lead_value = np.array([1, 1, 2]), np.array([100.0, 50.0, 10.0])
    before = profiles.score(lead_segment, lead_value)
    won = profiles.refit(np.full(30, 4), np.ones(30, int), np.ones(30, bool))
    lost = profiles.refit(np.full(30, 4), np.ones(30, int), np.zeros(30, bool))
    assert np.all(won.score(lead_segment, lead_value)[:2, 4] > before[:2, 4])
    assert np.all(lost.score(lead_segment, lead_value)[:2, 4] < before[:2, 4])
    # refit is the same as fitting everything at once, and leaves the original alone
    together = RepProfiles.fit(np.concatenate([rep, np.full(30, 4)]), np.concatenate([segment, np.ones(30, int)]),
                               np.concatenate([converted, np.ones(30, bool)]), n_reps=20, n_segments=3)
    np.testing.assert_allclose(together.conversion, won.conversion)
    np.testing.assert_array_equal(profiles.score(lead_segment, lead_value), before)


def test_neutral_profiles_and_scores() -> None:
    profiles = RepProfiles.neutral(3, 2)
    np.testing.assert_allclose(profiles.conversion, 0.5)
    low, high = profiles.interval(0.9)
    np.testing.assert_allclose(low, 0.05)
    np.testing.assert_allclose(high, 0.95)
    np.testing.assert_allclose(profiles.score([0, 1], [10.0, 4.0]), [[5.0] * 3, [2.0] * 3])
    # with no deal values known the expected value is 1, so the score is the probability
    np.testing.assert_allclose(profiles.score([1]), [[0.5] * 3])


def test_score_is_conversion_times_value_and_std_shrinks_with_data() -> None:
    rng = np.random.default_rng(9)
    trials = np.array([3, 200, 40, 60, 80, 100])
    rep = np.repeat(np.arange(6), trials)
    converted = rng.random(rep.size) < np.array([0.3, 0.3, 0.2, 0.4, 0.25, 0.35])[rep]
    segment = rng.integers(0, 2, rep.size)
    profiles = RepProfiles.fit(rep, segment, converted, n_reps=6, n_segments=2)
    score = profiles.score([1, 0], [30.0, 2.0])
    np.testing.assert_allclose(score, profiles.conversion.T[[1, 0]] * np.array([[30.0], [2.0]]))
    std = profiles.score_std([1, 0], [30.0, 2.0])
    np.testing.assert_allclose(std, profiles.conversion_std.T[[1, 0]] * np.array([[30.0], [2.0]]))
    assert np.all(std[:, 0] > std[:, 1])  # three records against two hundred, same prior
    low90, high90 = profiles.interval(0.9)
    low95, high95 = profiles.interval(0.95)
    assert np.all((low90 <= profiles.conversion) & (profiles.conversion <= high90))
    assert np.all((low95 <= low90) & (high90 <= high95))


def test_expected_deal_value_is_shrunk_towards_the_overall_mean() -> None:
    rep = np.zeros(12, int)
    segment = np.array([0] * 10 + [1] * 2)
    converted = np.ones(12, bool)
    deal = np.array([100.0] * 10 + [1000.0] * 2)
    profiles = RepProfiles.fit(rep, segment, converted, n_reps=1, n_segments=3, deal_value=deal,
                               value_prior_weight=5.0)
    overall = deal.mean()
    value = profiles.expected_value
    assert 100.0 < value[0] < overall
    assert overall < value[1] < 1000.0
    assert value[2] == pytest.approx(overall)  # no deals: the overall mean
    np.testing.assert_allclose(profiles.score([1]), profiles.conversion[:, [1]].T * value[1])
    # lost deals' values and NaN (unknown) do not count
    more = profiles.refit([0, 0], [0, 0], [False, True], deal_value=[1e6, np.nan])
    np.testing.assert_allclose(more.expected_value, value)


def test_marginal_and_moments_agree_roughly() -> None:
    rep, segment, converted, _, _ = _synthetic(seed=4)
    moments = RepProfiles.fit(rep, segment, converted, n_reps=150, n_segments=6)
    marginal = RepProfiles.fit(rep, segment, converted, n_reps=150, n_segments=6, prior="marginal")
    np.testing.assert_allclose(moments.conversion, marginal.conversion, atol=0.03)


def test_no_spread_beyond_noise_pools_everyone() -> None:
    rng = np.random.default_rng(1)
    rep = np.repeat(np.arange(20), 50)
    converted = rng.random(rep.size) < 0.3  # every rep has the same true rate
    profiles = RepProfiles.fit(rep, np.zeros(rep.size, int), converted, n_reps=20, n_segments=1,
                               max_strength=1e4)
    assert np.ptp(profiles.conversion) < 0.5 * np.ptp(profiles.wins[:, 0] / profiles.trials[:, 0])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: RepProfiles.fit([0, 3], [0, 0], [1, 0], n_reps=3, n_segments=1), r"rep must be in \[0, 3\)"),
    (lambda: RepProfiles.fit([0, 1], [0, 2], [1, 0], n_reps=3, n_segments=2), r"segment must be in \[0, 2\)"),
    (lambda: RepProfiles.fit([0, 1], [0], [1, 0], n_reps=3, n_segments=1), "same length"),
    (lambda: RepProfiles.fit([0, 1], [0, 0], [1, 2], n_reps=3, n_segments=1), "converted must be booleans or 0/1"),
    (lambda: RepProfiles.fit([0.5], [0], [1], n_reps=3, n_segments=1), "rep must hold integer positions"),
    (lambda: RepProfiles.fit([0], [0], [1], n_reps=0, n_segments=1), "n_reps must be an integer >= 1"),
    (lambda: RepProfiles.fit([0], [0], [1], n_reps=1, n_segments=1, deal_value=[-5.0]),
     "deal_value must be finite and >= 0"),
    (lambda: RepProfiles.fit([0], [0], [1], n_reps=1, n_segments=1, deal_value=[1.0, 2.0]),
     r"deal_value must have shape \(1,\)"),
    (lambda: RepProfiles.fit([0], [0], [1], n_reps=1, n_segments=1, prior="bayes"), "prior must be one of"),
    (lambda: RepProfiles.fit([0], [0], [1], n_reps=1, n_segments=1, min_strength=5.0, max_strength=1.0),
     "min_strength must be <= max_strength"),
    (lambda: RepProfiles.neutral(2, 2).interval(1.5), r"level must be a probability in \(0, 1\)"),
    (lambda: RepProfiles.neutral(2, 2).score([0, 1], [1.0]), "lead_value must have shape"),
    (lambda: RepProfiles.neutral(2, 2).score([0, 5]), r"lead_segment must be in \[0, 2\)"),
    (lambda: RepProfiles.neutral(2, 2).score([0], [np.inf]), "lead_value must be finite"),
    (lambda: segment_codes(), "at least one column"),
    (lambda: segment_codes(["A", "B"], ["x"]), "equal length"),
    (lambda: segment_codes(["A", "D"], levels=[("A", "B")]), "'D', which is not among levels"),
    (lambda: segment_codes(["A"], levels=[("A",), ("x",)]), "levels must list the values of each of the 1"),
])
def test_validation_messages(call, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        call()


def test_segment_codes_with_levels_use_the_full_grid() -> None:
    codes, labels = segment_codes(["C", "A", "B"], ["y", "x", "y"], levels=[("A", "B", "C"), ("x", "y")])
    assert codes.tolist() == [5, 0, 3]
    assert labels == (("A", "x"), ("A", "y"), ("B", "x"), ("B", "y"), ("C", "x"), ("C", "y"))


@given(st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 3)), min_size=1, max_size=40))
def test_segment_codes_label_each_lead_with_its_own_values(rows: list[tuple[str, int]]) -> None:
    tiers = [tier for tier, _ in rows]
    regions = [region for _, region in rows]
    codes, labels = segment_codes(tiers, regions)
    assert len(labels) == len(set(rows))
    assert [labels[code] for code in codes.tolist()] == rows
    assert list(labels) == sorted(labels)
