"""The field's yardsticks: logit-scaled confidence, the challenge's F and score, U-LiRA."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sk_unlearn._forgetting_quality import EPSILON_CAP, row_epsilon
from sk_unlearn.metrics import (
    challenge_score,
    forgetting_quality,
    logit_scaled_confidence,
    points_for,
    ulira_auc,
)


def test_logit_scaled_confidence_by_hand():
    proba = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5], [1.0, 0.0, 0.0]])
    c = logit_scaled_confidence(proba, np.array([0, 2, 1]))
    assert c[0] == pytest.approx(math.log(0.7 / 0.3))
    assert c[1] == pytest.approx(0.0)
    assert c[2] == pytest.approx(math.log(1e-45) - math.log(1.0))  # clipped, finite
    # Near-certain rows keep their precision: the other classes are summed, not 1 - p.
    tiny = np.array([[1 - 3e-17, 1e-17, 2e-17]])
    assert logit_scaled_confidence(tiny, np.array([0]))[0] == pytest.approx(-math.log(3e-17))


@pytest.mark.parametrize(
    ("y", "message"), [(np.array([0, 3]), "column indices"), (np.array([0]), "one column per row")]
)
def test_logit_scaled_confidence_rejects_bad_labels(y, message):
    with pytest.raises(ValueError, match=message):
        logit_scaled_confidence([[0.5, 0.5], [0.1, 0.9]], y)


def test_a_row_epsilon_worked_out_by_hand():
    """Retrained 0,1,2,3 and unlearned 2,3,4,5: the best rule errs 1 time in 4 each way.

    "Unlearned when c >= 2.5" (or the window [-0.5, 2.5] for retrained) has
    FPR = FNR = 1/4; every rule with one error rate 0 is discarded, so
    epsilon = log((1 - delta - 1/4) / (1/4)).
    """
    delta = 1e-5
    eps = row_epsilon([0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0], delta=delta)
    assert eps == pytest.approx(math.log((0.75 - delta) / 0.25), rel=1e-9)
    assert points_for([eps], n_models=4).tolist() == [0.25]  # floor(2 x 1.0986) = 2


def test_constant_and_spike_distributions():
    assert row_epsilon([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]) == 0.0  # indistinguishable
    assert row_epsilon([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]) == EPSILON_CAP  # always told apart
    spread = np.linspace(-3, 3, 50)
    assert row_epsilon(spread, np.full(50, 0.0)) == EPSILON_CAP  # a spike: the range rule
    assert row_epsilon(spread, spread + 100) == EPSILON_CAP  # perfectly separated


def test_points_follow_the_challenge_buckets():
    # 64 models resolve epsilons below ceil(log 63) = 5.
    eps = [0.0, 0.49, 0.5, 0.99, 1.0, 2.6, 4.99, 5.0, 50.0]
    expected = [1, 1, 0.5, 0.5, 0.25, 2.0**-5, 2.0**-9, 0, 0]
    assert points_for(eps, n_models=64).tolist() == expected


def test_f_is_the_noise_floor_for_identical_groups_and_falls_with_a_shift():
    rng = np.random.default_rng(0)
    retrained = rng.normal(5.0, 1.0, size=(64, 40))
    same = forgetting_quality(retrained, rng.normal(5.0, 1.0, size=(64, 40))).F
    shifted = forgetting_quality(retrained, rng.normal(6.0, 1.0, size=(64, 40))).F
    far = forgetting_quality(retrained, rng.normal(9.0, 1.0, size=(64, 40))).F
    assert 0.05 < same < 0.4
    assert far < shifted < same
    assert far < 0.01


def test_f_flags_the_direction_of_each_row():
    rng = np.random.default_rng(1)
    retrained = rng.normal(0.0, 1.0, size=(32, 4))
    unlearned = retrained + np.array([3.0, -3.0, 3.0, -3.0])
    quality = forgetting_quality(retrained, unlearned)
    assert quality.over_forgotten.tolist() == [False, True, False, True]
    assert quality.epsilons.shape == quality.points.shape == (4,)
    assert quality.n_models == 32


def test_f_rejects_mismatched_or_tiny_inputs():
    with pytest.raises(ValueError, match="same rows"):
        forgetting_quality(np.zeros((8, 3)), np.zeros((8, 4)))
    with pytest.raises(ValueError, match="at least 2 models"):
        forgetting_quality(np.zeros((1, 3)), np.zeros((8, 3)))
    with pytest.raises(ValueError, match="finite"):
        forgetting_quality(np.full((4, 2), np.nan), np.zeros((4, 2)))


def test_challenge_score_arithmetic():
    assert challenge_score(0.2, (0.9, 1.0), (0.8, 0.8)) == pytest.approx(0.18)
    assert challenge_score(0.0, (1.0, 1.0), (1.0, 1.0)) == 0.0


def test_ulira_auc_is_one_half_when_indistinguishable_and_one_when_shifted():
    rng = np.random.default_rng(2)
    retrained = rng.normal(0, 1, (64, 30))
    same = ulira_auc(retrained, rng.normal(0, 1, (64, 30)))
    assert abs(same - 0.5) < 0.05
    assert ulira_auc(retrained, retrained + 5.0) > 0.99
    # Per-row Gaussians: a shift that differs by row is found just the same.
    shifts = rng.choice([-4.0, 4.0], size=30)
    assert ulira_auc(retrained, rng.normal(0, 1, (64, 30)) + shifts) > 0.99
    assert ulira_auc(retrained, retrained + 1.0, random_state=3) == ulira_auc(
        retrained, retrained + 1.0, random_state=3
    )
    with pytest.raises(ValueError, match="at least 4 models"):
        ulira_auc(retrained[:3], retrained[:3])
