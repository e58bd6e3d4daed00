"""Certified removal for logistic regression: Newton steps, a sound bound, a budget."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.preprocessing import MinMaxScaler, Normalizer
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_unlearn import CertifiedLogisticRegression, UnlearnableClassifier, read_ledger


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return MinMaxScaler().fit_transform(X), y


def _digits_3_vs_8():
    d = load_digits()
    keep = np.isin(d.target, [3, 8])
    return Normalizer().fit_transform(d.data[keep]), d.target[keep]


DATASETS = {"breast-cancer": _cancer, "digits-3-vs-8": _digits_3_vs_8}


@parametrize_with_checks([CertifiedLogisticRegression(random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", list(DATASETS))
def test_without_noise_ten_newton_steps_stay_within_1e_3_of_a_refit(name):
    X, y = DATASETS[name]()
    clf = CertifiedLogisticRegression(C=10.0, noise=0.0).fit(X, y)
    rng = np.random.default_rng(0)
    kept = np.ones(len(y), dtype=bool)
    for _ in range(10):
        i = rng.choice(np.flatnonzero(kept))
        kept[i] = False
        assert clf.remove_rows(X[i : i + 1], y[i : i + 1])
    refit = CertifiedLogisticRegression(C=10.0, noise=0.0).fit(X[kept], y[kept])
    weights = np.r_[clf.coef_.ravel(), clf.intercept_]
    exact = np.r_[refit.coef_.ravel(), refit.intercept_]
    assert np.linalg.norm(weights - exact) / np.linalg.norm(exact) < 1e-3


@pytest.mark.parametrize("name", list(DATASETS))
def test_the_bound_is_never_below_the_measured_residual(name):
    """200 random removals, alone and in batches, past the budget: bound >= true gradient."""
    X, y = DATASETS[name]()
    clf = CertifiedLogisticRegression(C=10.0, noise=1.0, random_state=0).fit(X, y)
    rng = np.random.default_rng(1)
    kept = np.ones(len(y), dtype=bool)
    removed = 0
    while removed < 200:
        size = int(rng.choice([1, 1, 1, 3, 7]))
        rows = rng.choice(np.flatnonzero(kept), size=size, replace=False)
        _, plan = clf.removal_cost(X[rows], y[rows])
        clf.apply_removal(plan)  # the budget is not what this test is about
        kept[rows] = False
        removed += size
        measured = clf.gradient_residual(X[kept], y[kept])
        assert (clf.residual_bound_ >= measured).all(), (removed, clf.residual_bound_, measured)


def test_the_budget_retrains_exactly_when_the_next_step_would_exceed_it(tmp_path):
    X, y = _digits_3_vs_8()
    inner = CertifiedLogisticRegression(C=1.0, epsilon=0.05, noise=1.0, random_state=0)
    clf = UnlearnableClassifier(inner, ledger_path=tmp_path / "ledger.jsonl").fit(X, y)
    retrained_at = []
    for i in range(40):
        bounds, _ = clf.estimator_.removal_cost(X[i : i + 1], y[i : i + 1])
        over = bool((bounds > clf.estimator_.budget_).any())
        clf.forget(X[i : i + 1], y[i : i + 1])
        record = clf.deletion_log_[-1]
        assert record.retrained == over and record.method == "certified"
        assert record.guarantee == ("exact" if over else "certified")
        assert (clf.estimator_.residual_bound_ <= clf.estimator_.budget_).all()
        if over:
            retrained_at.append(i)
    assert retrained_at, "the budget should have run out at least once in 40 removals"
    assert [r.reason for r in clf.retrain_log_] == ["budget"] * len(retrained_at)
    assert [r.after_request for r in clf.retrain_log_] == [i + 1 for i in retrained_at]
    budget_lines = [e for e in read_ledger(tmp_path / "ledger.jsonl") if e["event"] == "retrain"]
    assert [e["reason"] for e in budget_lines] == ["budget"] * len(retrained_at)
    assert clf.verify_ledger().ok


def test_a_batch_is_one_newton_step(monkeypatch):
    X, y = _cancer()
    clf = UnlearnableClassifier(CertifiedLogisticRegression(C=10.0, random_state=0)).fit(X, y)
    steps = []
    original = CertifiedLogisticRegression.apply_removal

    def counted(self, plan):
        steps.append(plan["n"])
        return original(self, plan)

    monkeypatch.setattr(CertifiedLogisticRegression, "apply_removal", counted)
    clf.forget(X[:6], y[:6])
    assert steps == [6] and clf.estimator_.n_removed_ == 6
    assert {r.guarantee for r in clf.deletion_log_} == {"certified"}


def test_the_certificate_states_the_guarantee():
    X, y = _cancer()
    clf = UnlearnableClassifier(
        CertifiedLogisticRegression(C=10.0, epsilon=1.0, delta=1e-4, random_state=0)
    ).fit(X, y)
    clf.forget(X[:4], y[:4])
    cert = clf.certify(X[:4])
    assert cert.guarantee == "certified"
    assert (cert.epsilon, cert.delta) == (1.0, 1e-4)
    assert 0 < cert.budget_spent <= cert.budget
    assert cert.budget == pytest.approx(1.0 / math.sqrt(2 * math.log(1.5 / 1e-4)))
    assert "epsilon=1" in repr(cert)


def _remaining(X, y, removed):
    kept = np.ones(len(y), dtype=bool)
    kept[removed] = False
    return X[kept], y[kept]


@pytest.mark.parametrize("how", ["pickle", "save"])
def test_the_guarantee_survives_persistence_and_removals_go_on(tmp_path, how):
    X, y = _cancer()
    clf = UnlearnableClassifier(
        CertifiedLogisticRegression(C=10.0, epsilon=1.0, delta=1e-4, noise=10.0, random_state=0),
        ledger_path=tmp_path / "ledger.jsonl",
    ).fit(X, y)
    clf.forget(X[:5], y[:5])
    before = clf.certify(X[:5])
    if how == "pickle":
        loaded = pickle.loads(pickle.dumps(clf))
    else:
        clf.save(tmp_path / "model.skunlearn")
        loaded = UnlearnableClassifier.load(tmp_path / "model.skunlearn")
    after = loaded.certify(X[:5])
    assert after.guarantee == before.guarantee == "certified"
    stated = (before.epsilon, before.delta, before.budget)
    assert (after.epsilon, after.delta, after.budget) == stated
    # the written copy was rebased: its bound is the exact residual, never above the bound
    assert 0 < after.budget_spent <= before.budget_spent
    np.testing.assert_array_equal(loaded.estimator_.coef_, clf.estimator_.coef_)
    assert loaded.estimator_.n_removed_ == 5
    # the loaded model goes on serving certified Newton steps, with a bound that holds
    loaded.forget(X[5:8], y[5:8])
    assert loaded.deletion_log_[-1].guarantee == "certified"
    measured = loaded.estimator_.gradient_residual(*_remaining(X, y, np.arange(8)))
    assert (loaded.estimator_.residual_bound_ >= measured).all()
    clf.forget(X[5:8], y[5:8])
    np.testing.assert_allclose(loaded.estimator_.coef_, clf.estimator_.coef_, rtol=1e-6, atol=1e-9)


def test_nothing_of_a_removed_row_is_written_with_the_model():
    X, y = _cancer()
    clf = UnlearnableClassifier(
        CertifiedLogisticRegression(C=10.0, epsilon=1.0, random_state=0)
    ).fit(X, y)
    clf.forget(X[:1], y[:1])
    live = clf.estimator_
    # in memory, the base state holds the row: the removed gradient is the row, scaled
    row = np.append(X[0], 1.0)
    cosine = (
        live._removed_grad[0] @ row / np.linalg.norm(live._removed_grad[0]) / np.linalg.norm(row)
    )
    assert abs(cosine) == pytest.approx(1.0)
    written = pickle.loads(pickle.dumps(clf)).estimator_
    assert not written._removed_grad.any()
    np.testing.assert_array_equal(written._w_hessian, live._w)  # the base is the released model
    # the rebased Hessian is the remaining rows' at the released weights
    np.testing.assert_allclose(
        np.linalg.inv(written._hessian_inv[0]),
        _hessian_at(live._w[0], np.hstack([X[1:], np.ones((len(X) - 1, 1))]), 1 / 10.0),
        rtol=1e-8,
        atol=1e-8,
    )


def _hessian_at(w, Z, reg):
    from scipy.special import expit

    a = expit(Z @ w)
    return (Z * (a * (1 - a))[:, None]).T @ Z + reg * np.eye(Z.shape[1])


def test_a_bare_estimator_copied_after_removals_asks_for_a_rebase():
    X, y = _cancer()
    X = MinMaxScaler().fit_transform(X)
    clf = CertifiedLogisticRegression(C=10.0, random_state=0).fit(X, y)
    assert clf.remove_rows(X[:2], y[:2])
    copied = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copied.predict_proba(X), clf.predict_proba(X))
    with pytest.raises(ValueError, match=r"rebase\(X, y\)"):
        copied.remove_rows(X[2:3], y[2:3])
    copied.rebase(X[2:], y[2:])
    assert copied.remove_rows(X[2:3], y[2:3])
    measured = copied.gradient_residual(X[3:], y[3:])
    assert (copied.residual_bound_ >= measured).all()
    # a model copied before any removal keeps everything
    fresh = pickle.loads(pickle.dumps(CertifiedLogisticRegression(C=10.0).fit(X, y)))
    assert fresh.remove_rows(X[:1], y[:1])


def test_multiclass_splits_the_guarantee_over_the_one_vs_rest_models():
    d = load_digits()
    X, y = Normalizer().fit_transform(d.data[:400]), d.target[:400]
    clf = CertifiedLogisticRegression(epsilon=2.0, delta=1e-4, noise=3.0, random_state=0)
    clf.fit(X, y)
    assert clf.coef_.shape == (10, 64)
    expected = 3.0 * (2.0 / 10) / math.sqrt(2 * math.log(1.5 / (1e-4 / 10)))
    assert clf.budget_ == pytest.approx(expected)
    assert np.allclose(clf.predict_proba(X).sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"C": np.inf}, ValueError, "'C' parameter .* must be a float in the range"),
        ({"epsilon": 0.0}, ValueError, "epsilon"),
        ({"delta": 1.0}, ValueError, "delta"),
        ({"max_norm": 0.5}, ValueError, "max_norm"),
    ],
)
def test_bad_settings_are_clear_errors(params, error, message):
    X, y = _cancer()
    with pytest.raises(error, match=message):
        CertifiedLogisticRegression(**params).fit(X, y)


def test_without_noise_nothing_is_certified():
    X, y = _cancer()
    clf = CertifiedLogisticRegression(noise=0.0).fit(X, y)
    assert clf.budget_ == math.inf
    assert clf.guarantee()["epsilon"] is None


def test_certified_is_refused_where_no_certified_removal_exists():
    from sklearn.linear_model import SGDClassifier

    X, y = _cancer()
    with pytest.raises(ValueError, match="certified"):
        UnlearnableClassifier(SGDClassifier(), method="certified").fit(X, y)
    # and the certified model cannot be served approximately (it has no partial_fit)
    with pytest.raises(ValueError, match="relabel"):
        UnlearnableClassifier(CertifiedLogisticRegression(), method="relabel").fit(X, y)
