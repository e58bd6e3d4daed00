"""Exact forgetting for the naive Bayes family, by sufficient statistics.

After any stream of requests interleaved with ``partial_fit`` calls, the model
equals -- to floating-point rounding -- a fresh fit on the retained rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import naive_bayes
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier

STATISTICS = (
    "class_count_",
    "feature_count_",
    "feature_all_",
    "feature_log_prob_",
    "class_log_prior_",
    "category_count_",
    "n_categories_",
    "theta_",
    "var_",
    "epsilon_",
    "class_prior_",
)


def _digits_for(name, digits):
    """The training and test rows each estimator takes (categories for CategoricalNB)."""
    if name == "categorical":
        return np.floor(digits.X_train * 4), np.floor(digits.X_test * 4)
    if name == "gaussian":  # continuous values: no two rows alike, no zero variance
        rng = np.random.default_rng(0)
        return (
            digits.X_train + rng.normal(0, 0.01, digits.X_train.shape),
            digits.X_test + rng.normal(0, 0.01, digits.X_test.shape),
        )
    return digits.X_train, digits.X_test


ESTIMATORS = {
    "multinomial": lambda: naive_bayes.MultinomialNB(alpha=0.5),
    "complement": naive_bayes.ComplementNB,
    "bernoulli": lambda: naive_bayes.BernoulliNB(binarize=0.3),
    "categorical": lambda: naive_bayes.CategoricalNB(min_categories=3),
    "gaussian": naive_bayes.GaussianNB,
}


def assert_same_model(model, reference, X_test, rtol):
    for name in STATISTICS:
        if not hasattr(reference, name):
            continue
        ours, theirs = getattr(model, name), getattr(reference, name)
        if isinstance(theirs, list):  # CategoricalNB: one array per feature
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, err_msg=name)
        else:
            np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(
        model.predict_proba(X_test), reference.predict_proba(X_test), rtol=rtol, atol=1e-12
    )


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_200_requests_interleaved_with_partial_fit_equal_a_fresh_fit(name, digits):
    X, X_test = _digits_for(name, digits)
    y = digits.y_train
    rng = np.random.default_rng(1)
    clf = UnlearnableClassifier(ESTIMATORS[name](), random_state=0).fit(X[:600], y[:600])
    learned, forgotten, next_row = list(range(600)), set(), 600
    for request in range(200):
        if request % 25 == 10:  # new rows arrive between requests
            batch = list(range(next_row, next_row + 60))
            clf.partial_fit(X[batch], y[batch])
            learned += batch
            next_row += 60
        alive = [i for i in learned if i not in forgotten]
        i = alive[rng.integers(len(alive))]
        clf.forget(X[i : i + 1], y[i : i + 1])
        forgotten.add(i)
    kept = [i for i in learned if i not in forgotten]
    assert clf.n_retained_ == len(kept) == 600 + 8 * 60 - 200
    reference = clone(ESTIMATORS[name]()).fit(X[kept], y[kept])
    rtol = 1e-9 if name == "gaussian" else 1e-12
    assert_same_model(clf.estimator_, reference, X_test, rtol)
    assert {(r.method, r.guarantee) for r in clf.deletion_log_} == {("exact", "exact")}
    assert clf.n_retrains_ == 0


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_one_bulk_call_equals_a_fresh_fit_too(name, digits):
    X, X_test = _digits_for(name, digits)
    y = digits.y_train
    clf = UnlearnableClassifier(ESTIMATORS[name](), random_state=0).fit(X, y)
    clf.forget(X[:300], y[:300])
    reference = clone(ESTIMATORS[name]()).fit(X[300:], y[300:])
    rtol = 1e-9 if name == "gaussian" else 1e-12
    # Scored on retained rows: a test row may hold a category no retained row has.
    assert_same_model(clf.estimator_, reference, X[300:], rtol)


def test_categories_no_retained_row_has_are_dropped_as_a_fresh_fit_drops_them():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(200, 4)).astype(float)
    y = rng.integers(0, 2, size=200)
    X[7, 2] = 6  # the only row with category 6 of feature 2
    clf = UnlearnableClassifier(naive_bayes.CategoricalNB(), random_state=0).fit(X, y)
    assert clf.estimator_.n_categories_[2] == 7
    clf.forget(X[7:8], y[7:8])
    kept = np.r_[0:7, 8:200]
    reference = naive_bayes.CategoricalNB().fit(X[kept], y[kept])
    assert clf.estimator_.n_categories_.tolist() == reference.n_categories_.tolist() == [3] * 4
    assert_same_model(clf.estimator_, reference, X[kept], rtol=1e-12)


def test_a_gaussian_class_left_without_rows_is_a_class_never_seen():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.r_[
        np.zeros(57, dtype=int),
        np.ones(3, dtype=int) * 2,
    ]
    y[:20] = 1
    clf = UnlearnableClassifier(naive_bayes.GaussianNB(), random_state=0).fit(X, y)
    clf.forget(X[57:], y[57:])  # every row of class 2
    reference = naive_bayes.GaussianNB().partial_fit(X[:57], y[:57], classes=[0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log of a zero prior
        assert_same_model(clf.estimator_, reference, X, rtol=1e-9)
        assert (clf.predict(X) != 2).all()


def test_certify_says_the_removal_is_exact_by_construction(digits):
    clf = UnlearnableClassifier(naive_bayes.MultinomialNB(), random_state=0)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:20], digits.y_train[:20])
    certificate = clf.certify(digits.X_train[:20])
    assert certificate.guarantee == "exact"
    assert certificate.max < 1e-20  # the naive model, to rounding
    assert "guarantee='exact'" in repr(certificate)
    clf.set_params(max_divergence=0.0)  # however strict: nothing to retrain
    if certificate.mean > 0:
        with pytest.warns(UserWarning, match="every removal since .* was exact"):
            assert not clf.certify(digits.X_train[:20]).retrained
    assert clf.n_retrains_ == 0


def test_relabeling_is_still_available_and_says_it_is_approximate(digits):
    clf = UnlearnableClassifier(naive_bayes.MultinomialNB(), method="relabel", n_replay=2)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:3], digits.y_train[:3])
    assert {r.method for r in clf.deletion_log_} == {"relabel"}
    assert clf.certify(digits.X_train[:3]).guarantee == "approximate"
    assert clf.retrain().certify(digits.X_train[:3]).guarantee == "exact"


def test_exact_removal_is_refused_where_it_cannot_be_exact(digits):
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), method="exact")
    with pytest.raises(ValueError, match="method='exact' needs an estimator"):
        clf.fit(digits.X_train, digits.y_train)
    assert not hasattr(clf, "estimator_")
    fitted = UnlearnableClassifier(SGDClassifier(random_state=0)).fit(
        digits.X_train, digits.y_train
    )
    fitted.set_params(method="exact")
    with pytest.raises(ValueError, match="method='exact'"):
        fitted.forget(digits.X_train[:1], digits.y_train[:1])
    assert fitted.n_forgotten_ == 0


def test_the_ledger_records_exact_removals(digits, tmp_path):
    from sk_unlearn import read_ledger

    path = tmp_path / "ledger.jsonl"
    clf = UnlearnableClassifier(naive_bayes.BernoulliNB(), ledger_path=path)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:2], digits.y_train[:2])
    completed = [e for e in read_ledger(path) if e["event"] == "completed"]
    assert [(e["method"], e["guarantee"]) for e in completed] == [("exact", "exact")] * 2
    assert completed[0]["n_relabels"] is None and completed[0]["unlearning_rate"] is None
    assert clf.verify_ledger().ok
