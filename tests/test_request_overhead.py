"""What the per-request fast paths skip must not change what a request does or refuses."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier
from sklearn.utils._param_validation import InvalidParameterError

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._backends import adapter_for
from sk_unlearn._linear_scores import probabilities
from sk_unlearn._scores import decision_columns
from sk_unlearn._validation import check_known_labels


@pytest.fixture(scope="module")
def data(digits):
    return digits.X_train[:300] / 16.0, digits.y_train[:300]


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
@pytest.mark.parametrize("n_classes", [2, 10])
def test_probabilities_from_the_weights_are_scikit_learns(data, loss, n_classes):
    X, y = data
    keep = y < n_classes
    est = SGDClassifier(loss=loss, random_state=0).fit(X[keep], y[keep])
    np.testing.assert_allclose(probabilities(est, X), est.predict_proba(X), rtol=1e-12, atol=0)
    sparse = probabilities(est, sp.csr_matrix(X))
    np.testing.assert_allclose(sparse, est.predict_proba(X), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss", ["hinge", "perceptron"])
@pytest.mark.parametrize("n_classes", [2, 10])
def test_decision_scores_from_the_weights_are_scikit_learns(data, loss, n_classes):
    X, y = data
    keep = y < n_classes
    est = SGDClassifier(loss=loss, random_state=0).fit(X[keep], y[keep])
    expected = decision_columns(est.decision_function(X))
    est.decision_function = None  # the scores come from the weights, not through it
    adapter = adapter_for(est, est.classes_)
    np.testing.assert_array_equal(adapter.class_scores(X), expected)
    np.testing.assert_allclose(adapter.class_scores(sp.csr_matrix(X)), expected, rtol=1e-12)


def test_rows_every_class_scores_zero_get_uniform_probabilities_as_in_scikit_learn(data):
    X, y = data
    est = SGDClassifier(loss="modified_huber", random_state=0).fit(X, y)
    est.intercept_[:] = -1e6  # every clipped score is -1: all zero
    np.testing.assert_array_equal(probabilities(est, X[:3]), est.predict_proba(X[:3]))
    assert np.allclose(probabilities(est, X[:3]), 0.1)


def test_the_wrappers_probabilities_are_the_estimators(data):
    X, y = data
    clf = UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0)).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), clf.estimator_.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize(
    ("request_rows", "error"),
    [
        (lambda X: np.full((1, X.shape[1]), np.nan), "NaN"),
        (lambda X: X[:1, :10], "features"),
        (lambda X: X[:1].astype(object), None),  # converted by scikit-learn, then served
    ],
    ids=["nan", "short", "object-dtype"],
)
def test_requests_off_the_fast_path_get_scikit_learns_checks(data, request_rows, error):
    X, y = data
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0).fit(X, y)
    rows = request_rows(X)
    if error is None:
        assert clf.forget(rows, y[:1]).n_retained_ == len(y) - 1
    else:
        with pytest.raises(ValueError, match=error):
            clf.forget(rows, y[:1])
        assert clf.n_retained_ == len(y)


def test_a_model_fitted_with_feature_names_still_checks_them(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0).fit(frame, y)
    with pytest.warns(UserWarning, match="feature names"):
        clf.forget(X[:1], y[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.forget(frame.iloc[1:2], y[1:2])


def test_a_parameter_set_between_requests_is_validated_again(data):
    X, y = data
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0).fit(X, y)
    clf.forget(X[:1], y[:1])
    clf.n_replay = -3  # by assignment, as scikit-learn allows
    with pytest.raises(InvalidParameterError, match="n_replay"):
        clf.forget(X[1:2], y[1:2])
    assert clf.n_retained_ == len(y) - 1
    clf.set_params(n_replay=4)
    assert clf.forget(X[1:2], y[1:2]).n_retained_ == len(y) - 2
    clf.set_params(relabel="nonsense")
    with pytest.raises(InvalidParameterError, match="relabel"):
        clf.forget(X[2:3], y[2:3])


@pytest.mark.parametrize(
    "classes",
    [np.array([0, 1, 2]), np.array([2, 0, 1]), np.array(["a", "b", "c"], dtype=object)],
    ids=["sorted", "unsorted", "strings"],
)
def test_known_labels_are_found_whatever_the_order_of_the_classes(classes):
    check_known_labels(classes[[1, 2, 0, 1]], classes)
    with pytest.raises(ValueError, match="not among the classes"):
        check_known_labels(np.array([classes[0], 99], dtype=object), classes)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 1, 3, 3, 1, 0, 2]),
        np.array(["b", "a", "b", "b", "a", "c", "a"], dtype=object),
        np.array([0.0, -0.0, 0.0, np.nan, np.nan, 1.5, -0.0]),  # equal floats, distinct bytes
        np.array([True, 1, 1.0, "1", True, 1, 1.0], dtype=object),  # equal under ==
    ],
)
@pytest.mark.parametrize("sparse", [False, True])
def test_a_calls_digests_are_the_one_request_digests(labels, sparse, monkeypatch):
    from sk_unlearn import _keys

    monkeypatch.setattr(_keys, "BLOCK_ROWS", 3)  # rows across several blocks
    rng = np.random.default_rng(0)
    X = rng.normal(size=(len(labels), 5)).astype(np.float32)
    X[::2, 1] = -0.0  # -0.0 digests as 0.0
    X[1:3] = X[0]  # repeated rows
    X = sp.csr_matrix(X) if sparse else X
    key = bytes(range(32))
    one_by_one = [
        _keys.request_digests(X[i].toarray() if sparse else X[i], labels[i], key)
        for i in range(len(labels))
    ]
    assert _keys.requests_digests(X, labels, key) == one_by_one
    assert len({label_hash for _, label_hash in one_by_one}) > 1


@pytest.mark.parametrize(
    "relabel, n_rows, where",
    [("uniform", 1, "the call's requests"), ("soft", 2, "an earlier request of the call")],
)
def test_a_call_that_leaves_non_finite_predictions_with_finite_weights_is_rolled_back(
    data, monkeypatch, relabel, n_rows, where
):
    """Checked at the end of the call, or where the next request reads the row's scores."""
    import pickle

    X, y = data[0] * 256, data[1]  # pixel values 0-256
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        unlearning_optimizer="sgd",
        relabel=relabel,
        random_state=0,
    ).fit(X, y)
    before = pickle.dumps(clf)
    adapter_type = type(clf._adapter())
    real_step = adapter_type.forget_step

    def huge(self, *args, **kwargs):
        real_step(self, *args, **kwargs)
        # Finite weights whose products with the rows' pixels overflow: inf - inf is NaN.
        self.estimator.coef_[:, 3], self.estimator.coef_[:, 4] = 1e308, -1e308

    rows = np.flatnonzero((X[:, 3] >= 2) & (X[:, 4] >= 2))[:n_rows]
    assert len(rows) == n_rows
    monkeypatch.setattr(adapter_type, "forget_step", huge)
    assert np.isfinite(clf.estimator_.coef_).all()
    with pytest.raises(
        FloatingPointError, match=f"{where} left the model with non-finite predictions"
    ):
        clf.forget(X[rows], y[rows])
    monkeypatch.undo()
    assert pickle.dumps(clf) == before
