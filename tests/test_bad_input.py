"""A failed forget changes nothing: model, retained rows, random state, log."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import state_bytes
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier

from sk_unlearn import UnknownRowError, UnlearnableClassifier


@pytest.fixture(params=["sgd", "mlp"])
def fitted(request, digits):
    est = (
        SGDClassifier(loss="log_loss", random_state=0)
        if request.param == "sgd"
        else MLPClassifier((16,), max_iter=5, random_state=0)
    )
    clf = UnlearnableClassifier(est, n_replay=3, retrain_after=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:2], digits.y_train[:2])  # a non-trivial history
    return clf


def _bad_requests(digits):
    X, y = digits.X_train, digits.y_train
    nan_row = X[10:13].copy()
    nan_row[1, 5] = np.nan
    inf_row = X[10:13].copy()
    inf_row[2, 0] = np.inf
    stranger = np.full((1, X.shape[1]), 0.123)
    relabelled = y[10:13].copy()
    relabelled[2] = (relabelled[2] + 1) % 10
    return {
        "nan": (nan_row, y[10:13], ValueError, "NaN"),
        "inf": (inf_row, y[10:13], ValueError, "infinity"),
        "too-few-features": (X[10:13, :-1], y[10:13], ValueError, "features"),
        "unseen-label": (X[10:13], np.array([1, 2, 42]), ValueError, r"Label\(s\) \[42\]"),
        "row-not-trained-on": (
            np.vstack([X[10:12], stranger]),
            np.r_[y[10:12], 0],
            UnknownRowError,
            "Row 2 of X .* is not among the retained training rows; nothing was forgotten",
        ),
        "wrong-label-for-row": (X[10:13], relabelled, UnknownRowError, "matches retained rows"),
        "already-forgotten": (X[:1], y[:1], UnknownRowError, "not among the retained"),
        "requested-twice": (X[[10, 10]], y[[10, 10]], UnknownRowError, "more often than"),
        "empty": (X[:0], y[:0], ValueError, "0 sample"),
        "length-mismatch": (X[10:13], y[10:12], ValueError, "inconsistent numbers"),
        "2d-y": (X[10:13], np.c_[y[10:13], y[10:13]], ValueError, "1d array"),
        "numeric-strings": (X[10:13].astype(str), y[10:13], ValueError, "bytes/strings"),
        "numeric-bytes": (X[10:13].astype(bytes), y[10:13], ValueError, "bytes/strings"),
        "list-of-strings": (X[10:13].astype(str).tolist(), y[10:13], ValueError, "strings"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "nan",
        "inf",
        "too-few-features",
        "unseen-label",
        "row-not-trained-on",
        "wrong-label-for-row",
        "already-forgotten",
        "requested-twice",
        "empty",
        "length-mismatch",
        "2d-y",
        "numeric-strings",
        "numeric-bytes",
        "list-of-strings",
    ],
)
def test_bad_request_raises_and_changes_nothing(case, fitted, digits):
    X, y, error, message = _bad_requests(digits)[case]
    before = state_bytes(fitted)
    with pytest.raises(error, match=message):
        fitted.forget(X, y)
    assert state_bytes(fitted) == before
    assert fitted.n_forgotten_ == 2 and len(fitted.deletion_log_) == 2


def test_forget_before_fit_is_not_fitted_error(digits):
    clf = UnlearnableClassifier(SGDClassifier())
    with pytest.raises(NotFittedError):
        clf.forget(digits.X_train[:1], digits.y_train[:1])
    with pytest.raises(NotFittedError):
        clf.retrain()


@pytest.mark.parametrize("fail_at", [0, 3, 6])
def test_a_step_that_crashes_midway_rolls_everything_back(fail_at, fitted, digits, monkeypatch):
    """Requests 0..fail_at-1 succeed, then the backend raises: nothing sticks.

    With retrain_after=5 and 2 earlier requests, fail_at=6 also rolls back an
    automatic retraining that happened inside the call.
    """
    from sk_unlearn import _backends

    adapter = type(_backends.adapter_for(fitted.estimator_))
    original = adapter.forget_step
    calls = {"n": 0}

    def flaky(self, X, y, rate, sample_weight=None):
        if calls["n"] == fail_at:
            raise RuntimeError("injected failure")
        calls["n"] += 1
        return original(self, X, y, rate, sample_weight)

    before = state_bytes(fitted)
    retrains = fitted.n_retrains_
    monkeypatch.setattr(adapter, "forget_step", flaky)
    with pytest.raises(RuntimeError, match="injected failure"):
        fitted.forget(digits.X_train[10:20], digits.y_train[10:20])
    assert calls["n"] == fail_at
    assert state_bytes(fitted) == before
    assert fitted.n_retrains_ == retrains

    # The same request succeeds once the backend behaves.
    monkeypatch.setattr(adapter, "forget_step", original)
    fitted.forget(digits.X_train[10:20], digits.y_train[10:20])
    assert fitted.n_forgotten_ == 12


def test_keyboard_interrupt_also_rolls_back(fitted, digits, monkeypatch):
    from sk_unlearn import _backends

    adapter = type(_backends.adapter_for(fitted.estimator_))

    def interrupted(self, X, y, rate, sample_weight=None):
        raise KeyboardInterrupt

    before = state_bytes(fitted)
    monkeypatch.setattr(adapter, "forget_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fitted.forget(digits.X_train[10:12], digits.y_train[10:12])
    assert state_bytes(fitted) == before


def test_invalid_parameters_are_reported_at_fit(digits):
    for params, message in [
        ({"n_replay": -1}, "n_replay"),
        ({"unlearning_rate": 0.0}, "unlearning_rate"),
        ({"retrain_after": 1.5}, "retrain_after"),
        ({"n_relabels": 0}, "n_relabels"),
    ]:
        with pytest.raises(ValueError, match=message):
            UnlearnableClassifier(SGDClassifier(), **params).fit(digits.X_train, digits.y_train)


def test_parameters_changed_after_fit_are_checked_by_forget(fitted, digits):
    fitted.set_params(n_replay=-1)
    before = state_bytes(fitted)
    with pytest.raises(ValueError, match="n_replay"):
        fitted.forget(digits.X_train[10:11], digits.y_train[10:11])
    assert state_bytes(fitted) == before


def test_predict_rejects_wrong_feature_count(fitted, digits):
    with pytest.raises(ValueError, match="features"):
        fitted.predict(digits.X_test[:, :10])
