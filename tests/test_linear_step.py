"""The batch SGD step for linear models (``unlearning_optimizer="sgd"``)."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import state_bytes
from sklearn.base import clone
from sklearn.linear_model import PassiveAggressiveClassifier, SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._linear_step import batch_step, current_rate


@pytest.fixture(scope="module")
def data(digits):
    return digits.X_train[:400] / 16.0, digits.y_train[:400]


def _per_sample_step(est, X, y, rate, sample_weight=None):
    """scikit-learn's own step: partial_fit at a constant rate, its schedule left as it was."""
    est = copy.deepcopy(est)
    est.set_params(learning_rate="constant", eta0=rate, shuffle=False)
    est.partial_fit(X, y, sample_weight=sample_weight)
    return est


#: A schedule under which every loss gives a sane model on these rows.
_CONSTANT = {"learning_rate": "constant", "eta0": 0.01}

LOSSES = ["log_loss", "modified_huber", "hinge", "squared_hinge", "perceptron"]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("penalty", [None, "l2", "l1", "elasticnet"])
@pytest.mark.parametrize("n_classes", [2, 10])
def test_a_one_row_step_is_scikit_learns_per_sample_update(data, loss, penalty, n_classes):
    X, y = data
    keep = y < n_classes
    X, y = X[keep], y[keep]
    est = SGDClassifier(loss=loss, penalty=penalty, alpha=1e-3, **_CONSTANT, random_state=0).fit(
        X, y
    )
    rate = 1e-3
    theirs = _per_sample_step(est, X[:1], y[:1] * 0 + (y[0] + 1) % n_classes, rate)
    ours = copy.deepcopy(est)
    batch_step(ours, X[:1], y[:1] * 0 + (y[0] + 1) % n_classes, rate)
    moved = np.abs(theirs.coef_ - est.coef_).max()
    # Equal up to the O(rate^2) term of scikit-learn's shrink-after-update for an L2 penalty.
    assert np.allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-3 * moved + 1e-12)
    assert np.allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-6)


@pytest.mark.parametrize("loss", LOSSES)
def test_a_batch_step_is_the_sum_of_the_rows_gradients(data, loss):
    # At a small rate, partial_fit's per-sample updates add up to the batch step.
    X, y = data
    rng = np.random.default_rng(0)
    est = SGDClassifier(loss=loss, alpha=1e-4, class_weight={3: 2.0}, **_CONSTANT, random_state=0)
    est.fit(X, y)
    batch = rng.choice(len(y), 41, replace=False)
    labels = rng.integers(0, 10, 41)
    weights = rng.uniform(0.5, 2.0, 41)
    rate = 1e-6
    theirs = _per_sample_step(est, X[batch], labels, rate, weights)
    ours = copy.deepcopy(est)
    batch_step(ours, X[batch], labels, rate, weights)
    theirs_moved, ours_moved = theirs.coef_ - est.coef_, ours.coef_ - est.coef_
    assert np.abs(theirs_moved).max() > 0
    assert np.allclose(ours_moved, theirs_moved, rtol=0, atol=1e-3 * np.abs(theirs_moved).max())
    theirs_shift, ours_shift = theirs.intercept_ - est.intercept_, ours.intercept_ - est.intercept_
    assert np.allclose(ours_shift, theirs_shift, rtol=0, atol=1e-3 * np.abs(theirs_shift).max())


def test_sparse_rows_step_as_dense_rows_do_with_scikit_learns_intercept_decay(data):
    X, y = data
    est = SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    dense, sparse = copy.deepcopy(est), copy.deepcopy(est)
    batch_step(dense, X[:20], y[20:40], 1e-2)
    batch_step(sparse, sp.csr_matrix(X[:20]), y[20:40], 1e-2)
    assert np.allclose(dense.coef_, sparse.coef_, atol=1e-12)
    moved = dense.intercept_ - est.intercept_
    assert np.allclose(sparse.intercept_ - est.intercept_, 0.01 * moved, atol=1e-12)


def _wrapper(**kwargs):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        random_state=0,
        unlearning_optimizer="sgd",
        **kwargs,
    )


def test_the_wrapper_forgets_with_the_batch_step(data):
    X, y = data
    clf = _wrapper().fit(X, y)
    per_sample = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, unlearning_optimizer=None
    ).fit(X, y)
    t_before = clf.estimator_.t_
    clf.forget(X[:5], y[:5])
    per_sample.forget(X[:5], y[:5])
    assert clf.estimator_.t_ == t_before  # the schedule did not move
    assert not np.array_equal(clf.estimator_.coef_, per_sample.estimator_.coef_)
    # Both moved the model by comparable amounts: the same rate means the same step size.
    fitted = UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0)).fit(X, y)
    ours = np.abs(clf.estimator_.coef_ - fitted.estimator_.coef_).sum()
    theirs = np.abs(per_sample.estimator_.coef_ - fitted.estimator_.coef_).sum()
    assert 0.3 < ours / theirs < 3
    assert clf.deletion_log_[0].guarantee == "approximate"
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    loaded.partial_fit(X[:20], y[:20])  # still a valid scikit-learn estimator
    assert loaded.score(X, y) > 0.8


def test_a_failed_batch_step_request_changes_nothing(data):
    X, y = data
    clf = _wrapper(unlearning_rate=1e300).fit(X, y)
    before = state_bytes(clf)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # one clear error, no numpy noise
        with pytest.raises(FloatingPointError, match="unlearning_rate"):
            clf.forget(X[:2], y[:2])
    assert state_bytes(clf) == before


@pytest.mark.parametrize(
    ("estimator", "match"),
    [
        (SGDClassifier(loss="squared_error"), "loss='squared_error'"),
        (SGDClassifier(average=True), "average=True"),
        (PassiveAggressiveClassifier(), "passive-aggressive"),
    ],
    ids=["regression-loss", "averaged", "passive-aggressive"],
)
def test_estimators_the_batch_step_cannot_take_are_refused_before_fit(data, estimator, match):
    X, y = data
    clf = UnlearnableClassifier(estimator, unlearning_optimizer="sgd")
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "estimator_")


def test_an_unknown_optimizer_name_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="None .* or 'sgd'"):
        UnlearnableClassifier(SGDClassifier(), unlearning_optimizer="adam").fit(X, y)


@pytest.mark.parametrize("schedule", ["optimal", "invscaling", "constant", "adaptive"])
def test_the_estimators_own_rate_is_its_schedules_next_step(data, schedule):
    X, y = data
    est = SGDClassifier(loss="hinge", learning_rate=schedule, eta0=0.01, random_state=0)
    est.fit(X, y)
    theirs = copy.deepcopy(est).set_params(shuffle=False).partial_fit(X[:1], [(y[0] + 1) % 10])
    ours = copy.deepcopy(est)
    batch_step(ours, X[:1], np.array([(y[0] + 1) % 10]), current_rate(est))
    moved = np.abs(theirs.coef_ - est.coef_).max()
    assert moved > 0
    # Equal up to scikit-learn's shrink-after-update (O(rate^2)).
    assert np.allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-2 * moved)
    clf = UnlearnableClassifier(clone(est), unlearning_optimizer="sgd", unlearning_rate=None)
    assert clf.fit(X, y).forget(X[:1], y[:1]).deletion_log_[0].unlearning_rate is None
