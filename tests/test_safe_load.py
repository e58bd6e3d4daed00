"""load() runs no code a file chose; a crafted pickle is refused before anything is called."""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, GaussianNB, MultinomialNB
from sklearn.neural_network import MLPClassifier

from sk_unlearn import CertifiedLogisticRegression, UnlearnableClassifier, UnsafePickleError


class Payload:
    """Unpickling it calls ``how`` -- what a crafted file does."""

    def __init__(self, marker, how):
        self.marker, self.how = str(marker), how

    def __reduce__(self):
        if self.how == "system":
            return (os.system, (f"touch {self.marker}",))
        if self.how == "exec":
            return (exec, (f"open({self.marker!r}, 'w').close()",))
        return (eval, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize("how", ["system", "exec", "eval"])
def test_a_crafted_pickle_is_refused_before_its_payload_runs(tmp_path, how):
    marker, path = tmp_path / "ran", tmp_path / "crafted.pkl"
    path.write_bytes(pickle.dumps(Payload(marker, how)))
    with pytest.raises(UnsafePickleError, match="which loading would call"):
        UnlearnableClassifier.load(path)
    assert not marker.exists()


def test_a_payload_hidden_beside_a_working_model_is_refused(digits, tmp_path):
    """The file holds a genuine model and, before it, a payload: nothing runs."""
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    marker, path = tmp_path / "ran", tmp_path / "crafted.pkl"
    path.write_bytes(pickle.dumps((Payload(marker, "system"), clf)))
    with pytest.raises(UnsafePickleError):
        UnlearnableClassifier.load(path)
    assert not marker.exists()


def test_a_payload_nested_in_the_models_own_state_is_refused(digits, tmp_path, monkeypatch):
    """The model pickles its state as bytes inside the file: those are checked too."""
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    (locked,) = clf.__getstate__()
    marker, path = tmp_path / "ran", tmp_path / "crafted.pkl"
    nested = pickle.dumps(Payload(marker, "exec"))
    monkeypatch.setattr(UnlearnableClassifier, "__getstate__", lambda self: {locked: nested})
    path.write_bytes(pickle.dumps(clf))  # the outer layer names only UnlearnableClassifier
    monkeypatch.undo()
    with pytest.raises(UnsafePickleError, match="builtins.exec"):
        UnlearnableClassifier.load(path)
    assert not marker.exists()
    with pytest.raises(Exception):  # noqa: B017 - plain pickle runs it, then fails: why it is opt-in
        UnlearnableClassifier.load(path, allow_pickle=True)
    assert marker.exists()


def _estimators():
    return {
        "sgd": SGDClassifier(loss="log_loss", random_state=0),
        "hinge": SGDClassifier(random_state=np.random.RandomState(1)),
        "perceptron": Perceptron(random_state=0),
        "mlp": MLPClassifier((8,), max_iter=5, random_state=0),
        "mlp-sgd": MLPClassifier((8,), solver="sgd", max_iter=5, random_state=0),
        "multinomial-nb": MultinomialNB(),
        "gaussian-nb": GaussianNB(),
        "bernoulli-nb": BernoulliNB(),
        "certified": CertifiedLogisticRegression(random_state=0),
    }


@pytest.mark.parametrize("name", list(_estimators()))
def test_every_scikit_learn_backend_loads_safely(name, digits, tmp_path):
    labels = np.array([f"digit-{v}" for v in digits.y_train])
    clf = UnlearnableClassifier(
        _estimators()[name], random_state=0, ledger_path=tmp_path / "ledger.jsonl"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(digits.X_train, labels).forget(digits.X_train[:2], labels[:2])
    clf.save(tmp_path / "model.pkl")
    restored = UnlearnableClassifier.load(tmp_path / "model.pkl")
    np.testing.assert_array_equal(restored.predict(digits.X_test), clf.predict(digits.X_test))
    restored.forget(digits.X_train[2:3], labels[2:3])
    assert restored.verify_ledger().ok


def test_categorical_nb_loads_safely(digits, tmp_path):
    X = (digits.X_train * 4).astype(int)
    clf = UnlearnableClassifier(CategoricalNB(), random_state=0).fit(X, digits.y_train)
    clf.forget(X[:1], digits.y_train[:1]).save(tmp_path / "model.pkl")
    restored = UnlearnableClassifier.load(tmp_path / "model.pkl")
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


def test_a_skorch_net_needs_allow_pickle(digits, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(64, 10)),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=None,
        verbose=0,
    )
    X = digits.X_train.astype(np.float32)
    clf = UnlearnableClassifier(net, random_state=0).fit(X, digits.y_train)
    clf.save(tmp_path / "net.pkl")
    with pytest.raises(UnsafePickleError, match="allow_pickle=True"):
        UnlearnableClassifier.load(tmp_path / "net.pkl")
    restored = UnlearnableClassifier.load(tmp_path / "net.pkl", allow_pickle=True)
    np.testing.assert_array_equal(restored.predict(X[:50]), clf.predict(X[:50]))
