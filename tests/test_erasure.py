"""Real erasure and exactly once: no copy of a forgotten row survives, none is served twice."""

from __future__ import annotations

import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier

from sk_unlearn import UnknownRowError, UnlearnableClassifier, row_hash


def _secret_rows(n_features, n=3, seed=0):
    """Rows with values no other row shares, so a byte search is conclusive."""
    return np.random.RandomState(seed).uniform(0.1, 0.9, size=(n, n_features))


def _patterns(rows):
    """Byte patterns of each row: float64, float32, and an 8-value fragment of each."""
    for row in rows:
        for dtype in (np.float64, np.float32):
            values = row.astype(dtype)
            yield values.tobytes()
            yield values[:8].tobytes()


def _make(kind, ledger_path=None):
    method = "noisy_finetune" if kind.endswith("-noisy-finetune") else "auto"
    kind = kind.removesuffix("-noisy-finetune")
    if kind == "sgd":
        est = SGDClassifier(loss="log_loss", random_state=0)
    elif kind == "mlp":
        est = MLPClassifier((16,), max_iter=20, random_state=0)
    else:
        torch = pytest.importorskip("torch")
        pytest.importorskip("skorch")
        from skorch import NeuralNetClassifier

        torch.set_num_threads(1)
        torch.manual_seed(0)
        module = torch.nn.Sequential(
            torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10)
        )
        est = NeuralNetClassifier(
            module,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.SGD,
            optimizer__momentum=0.9,  # optimizer state that a step updates
            lr=0.1,
            max_epochs=3,
            train_split=None,
            verbose=0,
        )
    return UnlearnableClassifier(
        est, method=method, n_replay=4, random_state=0, ledger_path=ledger_path
    )


@pytest.mark.parametrize(
    "kind", ["sgd", "mlp", "skorch", "mlp-noisy-finetune", "skorch-noisy-finetune"]
)
def test_pickle_and_ledger_hold_no_copy_of_forgotten_rows(kind, digits, tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    clf = _make(kind, ledger)
    secret = _secret_rows(digits.X_train.shape[1])
    labels = np.array([1, 2, 3])
    X = np.vstack([digits.X_train, secret])
    y = np.r_[digits.y_train, labels]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        blob = pickle.dumps(clf)
        assert all(row.tobytes() in blob for row in secret)  # the search does find them
        clf.forget(secret, labels)
        clf.forget(digits.X_train[:2], digits.y_train[:2])  # later requests replay other rows
    joblib.dump(clf, tmp_path / "model.joblib")
    for blob in (
        pickle.dumps(clf),
        (tmp_path / "model.joblib").read_bytes(),
        ledger.read_bytes(),
    ):
        for pattern in _patterns(secret):
            assert pattern not in blob
    assert {row_hash(x) for x in secret} <= {r.row_hash for r in clf.deletion_log_}


def test_already_forgotten_row_is_an_error_that_changes_nothing(digits):
    clf = _make("sgd").fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:1], digits.y_train[:1])
    before = pickle.dumps(clf)
    with pytest.raises(UnknownRowError, match="not among the retained"):
        clf.forget(digits.X_train[:1], digits.y_train[:1])
    assert pickle.dumps(clf) == before and len(clf.deletion_log_) == 1


def test_one_request_removes_one_copy_of_a_duplicated_row(digits):
    X = np.vstack([digits.X_train, digits.X_train[:1], digits.X_train[:1]])  # 3 copies
    y = np.r_[digits.y_train, digits.y_train[:1], digits.y_train[:1]]
    clf = _make("sgd").fit(X, y)
    row, label = digits.X_train[:1], digits.y_train[:1]
    for remaining in (2, 1, 0):
        clf.forget(row, label)
        assert clf.n_retained_ == len(digits.X_train) - 1 + remaining
    with pytest.raises(UnknownRowError):
        clf.forget(row, label)  # a fourth request: no copy left
    assert len(clf.deletion_log_) == 3
    assert len({r.row_hash for r in clf.deletion_log_}) == 1
    assert [r.request for r in clf.deletion_log_] == [0, 1, 2]


def test_all_copies_in_one_call(digits):
    X = np.vstack([digits.X_train, digits.X_train[:1]])
    y = np.r_[digits.y_train, digits.y_train[:1]]
    clf = _make("sgd").fit(X, y)
    clf.forget(digits.X_train[[0, 0]], digits.y_train[[0, 0]])
    assert clf.n_retained_ == len(digits.X_train) - 1
    with pytest.raises(UnknownRowError, match="more often than"):
        clf.forget(digits.X_train[[1, 1]], digits.y_train[[1, 1]])
