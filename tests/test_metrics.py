"""The divergence, the membership-inference metrics and the unlearning scorer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import state_bytes
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.metrics import (
    class_probabilities,
    cosine_divergence,
    learned_attack_auc,
    loss_threshold_auc,
    make_unlearning_scorer,
    per_example_loss,
)


# ------------------------------------------------------------ divergence
@st.composite
def distribution_pairs(draw):
    """Two probability vectors over the same 2..12 classes."""
    k = draw(st.integers(2, 12))
    weights = st.lists(st.floats(0, 1), min_size=k, max_size=k).filter(lambda w: sum(w) > 1e-3)
    p, q = np.array(draw(weights)), np.array(draw(weights))
    return p / p.sum(), q / q.sum()


@settings(max_examples=200, deadline=None)
@given(distribution_pairs())
def test_cosine_divergence_is_zero_on_equal_rows_symmetric_and_bounded(pair):
    p, q = pair
    assert cosine_divergence(p, p)[0] == 0.0
    assert cosine_divergence(p, q)[0] == cosine_divergence(q, p)[0]
    assert 0.0 <= cosine_divergence(p, q)[0] <= 1.0


@settings(max_examples=200, deadline=None)
@given(distribution_pairs(), st.floats(0, 1), st.floats(0, 1))
def test_cosine_divergence_grows_as_distributions_move_apart(pair, s, t):
    p, q = pair
    near, far = sorted((s, t))
    d_near = cosine_divergence(p, (1 - near) * p + near * q)[0]
    d_far = cosine_divergence(p, (1 - far) * p + far * q)[0]
    assert d_near <= d_far + 1e-12


@settings(max_examples=200, deadline=None)
@given(distribution_pairs())
def test_cosine_divergence_is_the_documented_cosine_and_norm_combination(pair):
    p, q = pair
    norm_p, norm_q = np.linalg.norm(p), np.linalg.norm(q)
    cosine = p @ q / (norm_p * norm_q)
    expected = 0.5 * (norm_p - norm_q) ** 2 + norm_p * norm_q * (1 - cosine)
    assert cosine_divergence(p, q)[0] == pytest.approx(expected, abs=1e-12)


def test_cosine_divergence_is_one_between_different_one_hot_rows():
    eye = np.eye(4)
    assert np.array_equal(cosine_divergence(eye, eye[::-1]), np.ones(4))


def test_cosine_divergence_is_row_wise():
    P = np.array([[0.7, 0.3], [0.5, 0.5], [1.0, 0.0]])
    Q = np.array([[0.7, 0.3], [0.1, 0.9], [0.0, 1.0]])
    out = cosine_divergence(P, Q)
    assert out.shape == (3,)
    assert out[0] == 0 and 0 < out[1] < out[2]


@pytest.mark.parametrize(
    "P, Q, match",
    [
        ([[0.5, 0.5]], [[0.2, 0.3, 0.5]], "same shape"),
        ([[0.5, 0.6]], [[0.5, 0.5]], "probability vector"),
        ([[1.5, -0.5]], [[0.5, 0.5]], "probability vector"),
        ([[np.nan, 1.0]], [[0.5, 0.5]], "NaN"),
    ],
)
def test_cosine_divergence_rejects_what_is_not_two_matching_distributions(P, Q, match):
    with pytest.raises(ValueError, match=match):
        cosine_divergence(P, Q)


# ---------------------------------------------------------- probabilities
def test_class_probabilities_softmax_of_decision_function_agrees_with_predict(digits):
    hinge = SGDClassifier(loss="hinge", random_state=0).fit(digits.X_train, digits.y_train)
    P = class_probabilities(hinge, digits.X_test)
    assert np.allclose(P.sum(axis=1), 1.0)
    assert np.array_equal(hinge.classes_[P.argmax(axis=1)], hinge.predict(digits.X_test))


def test_class_probabilities_binary_scores_are_the_logistic_function():
    X, y = np.array([[0.0], [0.3], [1.0], [1.4]]), np.array([3, 3, 7, 7])
    hinge = SGDClassifier(loss="hinge", random_state=0).fit(X, y)
    P = class_probabilities(hinge, X)
    assert np.allclose(P[:, 1], 1 / (1 + np.exp(-hinge.decision_function(X))))


def test_class_probabilities_needs_proba_or_scores():
    with pytest.raises(TypeError, match="neither predict_proba nor decision_function"):
        class_probabilities(object(), [[0.0]])


# --------------------------------------------------- membership inference
def test_per_example_loss_is_the_cross_entropy_of_the_true_label(digits):
    clf = LogisticRegression(max_iter=500).fit(digits.X_train, digits.y_train)
    losses = per_example_loss(clf, digits.X_test, digits.y_test)
    assert losses.shape == digits.y_test.shape and (losses >= 0).all()
    assert losses.mean() == pytest.approx(log_loss(digits.y_test, clf.predict_proba(digits.X_test)))


def test_per_example_loss_rejects_unknown_labels(digits):
    clf = LogisticRegression(max_iter=200).fit(digits.X_train, digits.y_train)
    with pytest.raises(ValueError, match=r"Label\(s\) \[42\]"):
        per_example_loss(clf, digits.X_test[:2], [1, 42])


def test_loss_threshold_auc_is_roc_auc_of_members_by_low_loss():
    rng = np.random.default_rng(0)
    members, nonmembers = rng.exponential(0.5, 80), rng.exponential(1.0, 120)
    labels = np.r_[np.ones(80), np.zeros(120)]
    expected = roc_auc_score(labels, -np.r_[members, nonmembers])
    assert loss_threshold_auc(members, nonmembers) == pytest.approx(expected)
    assert loss_threshold_auc(members, members + 10) == 1.0
    assert loss_threshold_auc(members + 10, members) == 0.0
    assert loss_threshold_auc(members, members) == 0.5


def test_learned_attack_detects_separation_in_either_direction_and_not_chance():
    rng = np.random.default_rng(0)
    low, high = rng.normal(0, 1, 150), rng.normal(3, 1, 300)
    assert learned_attack_auc(low, high) > 0.9
    assert learned_attack_auc(high, low) > 0.9  # over-forgetting gives rows away too
    same = learned_attack_auc(rng.normal(0, 1, 150), rng.normal(0, 1, 300))
    assert abs(same - 0.5) < 0.15
    assert learned_attack_auc(low, high, random_state=3) == learned_attack_auc(
        low, high, random_state=3
    )


@pytest.mark.parametrize(
    "members, nonmembers, kw, match",
    [
        ([], [1.0, 2.0], {}, "member_losses is empty"),
        ([1.0, np.inf], [1.0], {}, "NaN or infinity"),
        ([1.0] * 3, [1.0] * 10, {}, "at least n_splits=5"),
        ([1.0] * 10, [1.0] * 10, {"n_splits": 1}, "n_splits must be"),
    ],
)
def test_learned_attack_rejects_bad_input(members, nonmembers, kw, match):
    with pytest.raises(ValueError, match=match):
        learned_attack_auc(members, nonmembers, **kw)


# ----------------------------------------------------------------- scorer
def _fitted(digits, **params):
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, **params
    )
    return clf.fit(digits.X_train, digits.y_train)


def test_scorer_ranks_a_collapsing_unlearning_rate_below_a_good_one(digits):
    scorer = make_unlearning_scorer(0.05, random_state=0)
    good = scorer.details(_fitted(digits), digits.X_test, digits.y_test)
    bad = scorer.details(
        _fitted(digits, unlearning_rate=1.0, n_replay=0), digits.X_test, digits.y_test
    )
    assert bad["accuracy"] < 0.5 * good["accuracy"]  # the rate collapses the model
    assert bad["score"] < good["score"]
    assert good["score"] == pytest.approx(good["accuracy"] * (1 - abs(2 * good["attack_auc"] - 1)))


def test_scorer_is_deterministic_and_leaves_the_candidate_unchanged(digits):
    clf = _fitted(digits)
    before = state_bytes(clf)
    scorer = make_unlearning_scorer(0.05, random_state=1)
    first = scorer(clf, digits.X_test, digits.y_test)
    assert scorer(clf, digits.X_test, digits.y_test) == first
    assert 0.0 <= first <= 1.0
    assert state_bytes(clf) == before
    assert clf.n_forgotten_ == 0


def test_scorer_drives_grid_search(digits):
    search = GridSearchCV(
        UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0), random_state=0),
        {"unlearning_rate": [1e-4, 1.0], "n_replay": [0]},
        scoring=make_unlearning_scorer(0.05),
        cv=2,
    ).fit(digits.X_train, digits.y_train)
    assert search.best_params_["unlearning_rate"] == 1e-4
    assert search.best_estimator_.n_forgotten_ == 0  # refit, never forgotten


def test_scorer_rejects_what_cannot_unlearn(digits):
    scorer = make_unlearning_scorer()
    plain = SGDClassifier(loss="log_loss").fit(digits.X_train, digits.y_train)
    with pytest.raises(TypeError, match="needs a fitted UnlearnableClassifier"):
        scorer(plain, digits.X_test, digits.y_test)
    with pytest.raises(ValueError, match="forget_fraction"):
        make_unlearning_scorer(1.5)
    assert "forget_fraction=0.05" in repr(scorer)
