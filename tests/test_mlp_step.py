"""The MLP's direct step makes the update partial_fit makes on the same batch, and no more."""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sk_unlearn import _mlp_step
from sk_unlearn._backends import adapter_for

SOLVERS = {
    "adam": {"solver": "adam"},
    "sgd-momentum": {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": False},
    "sgd-nesterov": {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": True},
    "sgd-invscaling": {"solver": "sgd", "learning_rate": "invscaling", "momentum": 0.0},
}


def _fitted(digits, n_classes, **params):
    keep = digits.y_train < n_classes
    est = MLPClassifier((12,), max_iter=3, shuffle=False, alpha=1e-3, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(digits.X_train[keep] / 16.0, digits.y_train[keep])


def _state(est):
    """The weights and the optimizer's state (moments, velocities, step count)."""
    optimizer = {
        name: ([a.copy() for a in value] if isinstance(value, list) else value)
        for name, value in vars(est._optimizer).items()
        if name != "params"
    }
    return [a.copy() for a in est.coefs_ + est.intercepts_], optimizer


def _assert_same(a, b, rtol):
    (weights_a, optimizer_a), (weights_b, optimizer_b) = a, b
    for x, y in zip(weights_a, weights_b, strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-15)
    assert optimizer_a.keys() == optimizer_b.keys()
    for name in optimizer_a:
        x, y = optimizer_a[name], optimizer_b[name]
        if isinstance(x, list):
            for u, v in zip(x, y, strict=True):
                np.testing.assert_allclose(u, v, rtol=rtol, atol=1e-15)
        elif isinstance(x, float):
            assert x == pytest.approx(y, rel=rtol), name
        else:  # a schedule's name, a step count
            assert x == y, name


def _by_partial_fit(est, X, y, rate, sample_weight=None):
    """The step as partial_fit takes it: one batch of the whole batch, at the rate."""
    est.set_params(batch_size=len(y), learning_rate_init=rate)
    saved = est._optimizer.learning_rate_init, est._optimizer.learning_rate
    est._optimizer.learning_rate_init = est._optimizer.learning_rate = rate
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.partial_fit(X, y, sample_weight=sample_weight)
    est._optimizer.learning_rate_init, est._optimizer.learning_rate = saved


@pytest.mark.skipif(
    not _mlp_step._backprop_takes_sample_weight(MLPClassifier._backprop),
    reason="scikit-learn before 1.7: the adapter steps with partial_fit",
)
@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("n_classes", [2, 10])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("rows", ["dense", "float32", "sparse"])
def test_the_direct_step_is_partial_fits_update(digits, solver, n_classes, weighted, rows):
    est = _fitted(digits, n_classes, **SOLVERS[solver])
    twin = copy.deepcopy(est)
    rng = np.random.default_rng(0)
    picked = rng.choice(np.flatnonzero(digits.y_train < n_classes), 41, replace=False)
    X, y = digits.X_train[picked] / 16.0, rng.permutation(digits.y_train[picked])
    X = {"dense": X, "float32": X.astype(np.float32), "sparse": sp.csr_matrix(X)}[rows]
    weights = rng.uniform(0.5, 2.0, size=41) if weighted else None
    bookkeeping = {
        name: copy.deepcopy(getattr(est, name))
        for name in ("t_", "n_iter_", "loss_curve_", "_no_improvement_count", "best_loss_")
    }

    adapter_for(est, est.classes_).forget_step(X, y, 3e-3, sample_weight=weights)
    _by_partial_fit(twin, X, y, 3e-3, sample_weight=weights)

    rtol = 1e-5 if rows == "float32" else 1e-12
    _assert_same(_state(est), _state(twin), rtol)
    assert est._optimizer.learning_rate_init == twin._optimizer.learning_rate_init  # restored
    for name, value in bookkeeping.items():  # the step leaves partial_fit's bookkeeping alone
        assert getattr(est, name) == value, name


def test_without_the_internals_it_steps_with_partial_fit_to_the_same_weights(digits, monkeypatch):
    est = _fitted(digits, 10, solver="adam")
    direct, fallback = copy.deepcopy(est), copy.deepcopy(est)
    X, y = digits.X_train[:41] / 16.0, digits.y_train[::-1][:41]
    adapter_for(direct, est.classes_).forget_step(X, y, 3e-3)
    monkeypatch.setattr(_mlp_step, "supported", lambda estimator: False)
    monkeypatch.setattr(_mlp_step, "batch_update", None)  # never reached
    adapter_for(fallback, est.classes_).forget_step(X, y, 3e-3)
    _assert_same(_state(direct), _state(fallback), 1e-12)
    assert fallback.t_ == est.t_ and fallback.loss_curve_ == est.loss_curve_  # restored


def test_a_model_trained_with_early_stopping_takes_the_step(digits):
    est = _fitted(digits, 10, solver="adam", early_stopping=True, validation_fraction=0.2)
    assert est.best_loss_ is None
    before = [a.copy() for a in est.coefs_]
    adapter_for(est, est.classes_).forget_step(
        digits.X_train[:41] / 16.0, digits.y_train[:41], 1e-3
    )
    assert est.best_loss_ is None and est.early_stopping  # its settings untouched
    assert any(not np.array_equal(a, b) for a, b in zip(before, est.coefs_))
