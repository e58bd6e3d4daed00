"""Pickles carry a format version; pickles written by sk-unlearn 0.1 still load."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._classifier import _LOCKED_STATE
from sk_unlearn._compat import FORMAT_KEY, FORMAT_VERSION

DATA = Path(__file__).parent / "data"
EXPECTED = json.loads((DATA / "sk_unlearn_0.1_expected.json").read_text())


def _load_0_1(name):
    with warnings.catch_warnings():
        # Written with scikit-learn 1.9.1; a newer one warns and still loads it.
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        return UnlearnableClassifier.load(DATA / f"sk_unlearn_0.1_{name}.pkl")


@pytest.mark.parametrize("name", ["sgd", "multinomial_nb"])
def test_a_0_1_pickle_loads_and_predicts_as_it_did(name):
    X, _ = load_iris(return_X_y=True)
    clf = _load_0_1(name)
    expected = EXPECTED[name]
    np.testing.assert_allclose(clf.predict_proba(X), expected["predict_proba"], rtol=1e-12)
    assert clf.n_forgotten_ == expected["n_forgotten"]
    assert clf.n_retrains_ == expected["n_retrains"]
    assert clf.n_retained_ == expected["n_retained"]
    # 0.1 served every request approximately, by relabeling.
    assert {r.method for r in clf.deletion_log_} == {"relabel"}
    assert {r.guarantee for r in clf.deletion_log_} == {"approximate"}
    # Parameters added since take their defaults; records read None for fields added since.
    assert (clf.noise_scale, clf.finetune_epochs, clf.rows_path) == (0.35, 2, None)
    assert {(r.noise_scale, r.finetune_epochs) for r in clf.deletion_log_} == {(None, None)}
    assert clf.get_params()["finetune_epochs"] == 2


def test_a_0_1_naive_bayes_keeps_relabeling_as_it_did():
    """0.1 relabeled naive Bayes models; exact removal would now subtract rows from
    counts that also hold earlier relabeled copies, so a loaded model keeps relabeling."""
    X, y = load_iris(return_X_y=True)
    clf = _load_0_1("multinomial_nb")
    assert clf.method == "relabel"
    clf.forget(X[10:12], y[10:12])
    assert clf.deletion_log_[-1].method == "relabel"
    assert clf.certify(X[:2]).guarantee == "approximate"


def test_a_0_1_model_goes_on_serving_and_saves_in_the_current_format(tmp_path):
    X, y = load_iris(return_X_y=True)
    clf = _load_0_1("sgd")
    with pytest.raises(ValueError, match="not among the retained"):
        clf.forget(X[:1], y[:1])  # forgotten under 0.1: gone for good
    clf.forget(X[20:22], y[20:22])
    assert [r.request for r in clf.deletion_log_] == list(range(7))
    state = pickle.loads(clf.__getstate__()[_LOCKED_STATE])
    assert state[FORMAT_KEY] == FORMAT_VERSION
    clf.save(tmp_path / "model.pkl")
    again = UnlearnableClassifier.load(tmp_path / "model.pkl")
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.deletion_log_ == clf.deletion_log_


def test_a_pickle_from_a_newer_format_is_refused_clearly():
    X, y = load_iris(return_X_y=True)
    clf = UnlearnableClassifier(SGDClassifier(random_state=0)).fit(X, y)
    state = pickle.loads(clf.__getstate__()[_LOCKED_STATE])
    state[FORMAT_KEY] = FORMAT_VERSION + 1
    blob = {_LOCKED_STATE: pickle.dumps(state)}
    fresh = UnlearnableClassifier.__new__(UnlearnableClassifier)
    with pytest.raises(ValueError, match="saved by a newer sk-unlearn"):
        fresh.__setstate__(blob)
