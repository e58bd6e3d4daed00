"""A step that leaves non-finite weights is rolled back with a clear error."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier


def _poison_steps(clf, monkeypatch):
    """Make every forget step of ``clf``'s backend leave a NaN weight, as an overflowing step
    does."""
    adapter_type = type(clf._adapter())
    real_step = adapter_type.forget_step

    def poisoned(self, *args, **kwargs):
        real_step(self, *args, **kwargs)
        self.estimator.coef_[0, 0] = np.nan

    monkeypatch.setattr(adapter_type, "forget_step", poisoned)


@pytest.mark.parametrize(
    "relabel, where",
    [
        ("uniform", "the call's requests left the model with non-finite weights"),
        ("soft", "an earlier request of the call left the model"),  # it reads the scores
    ],
)
def test_a_step_leaving_nan_weights_rolls_the_call_back(digits, monkeypatch, relabel, where):
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), relabel=relabel, random_state=0
    )
    clf.fit(digits.X_train, digits.y_train)
    before = pickle.dumps(clf)
    _poison_steps(clf, monkeypatch)
    with pytest.raises(FloatingPointError, match=where):
        clf.forget(digits.X_train[:3], digits.y_train[:3])
    monkeypatch.undo()
    assert pickle.dumps(clf) == before  # the first request's step is undone too
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    assert clf.n_forgotten_ == 3 and np.isfinite(clf.predict_proba(digits.X_test)).all()


def test_an_absurd_rate_on_a_skorch_net_is_refused_and_changes_nothing(digits):
    torch = pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from skorch import NeuralNetClassifier

    torch.manual_seed(0)
    net = NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10)),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=5,
        lr=0.1,
        train_split=None,
        verbose=0,
    )
    X, y = digits.X_train.astype(np.float32), digits.y_train
    clf = UnlearnableClassifier(net, random_state=0).fit(X, y)
    predictions = clf.predict_proba(digits.X_test.astype(np.float32))
    clf.set_params(unlearning_rate=1e38)  # near float32 max: the step overflows
    with pytest.raises(FloatingPointError, match="non-finite (weights|predictions)"):
        clf.forget(X[:1], y[:1])
    np.testing.assert_array_equal(clf.predict_proba(digits.X_test.astype(np.float32)), predictions)
    clf.set_params(unlearning_rate="auto")
    clf.forget(X[:1], y[:1])  # later calls still work
    assert clf.n_forgotten_ == 1


def test_a_step_leaving_nan_weights_is_caught_before_a_retraining_hides_it(digits, monkeypatch):
    # retrain_after=2: the second request's retraining would replace the broken model.
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        relabel="uniform",
        retrain_after=2,
        random_state=0,
    )
    clf.fit(digits.X_train, digits.y_train)
    before = pickle.dumps(clf)
    _poison_steps(clf, monkeypatch)
    with pytest.raises(FloatingPointError, match="requests up to request 1 left the model"):
        clf.forget(digits.X_train[:3], digits.y_train[:3])
    assert pickle.dumps(clf) == before
