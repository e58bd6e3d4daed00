"""certify(): the divergence certificate and divergence-triggered retraining."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
from conftest import state_bytes
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier

from sk_unlearn import Certificate, HeldOutReference, UnlearnableClassifier
from sk_unlearn._backends import SGDAdapter


def state_but_certificates(clf) -> bytes:
    """The state, less the certificate log that every ``certify`` call appends to."""
    copy = pickle.loads(pickle.dumps(clf))
    copy._ledger.certificates = []
    return state_bytes(copy)


def logged(clf) -> list[tuple]:
    """What the certificate log says of each certificate: measure, mean, verdict, model version."""
    keys = ("measure", "mean", "within_threshold", "model_version")
    return [tuple(record.certificate[k] for k in keys) for record in clf.certificate_log_]


def summary(cert: Certificate) -> tuple:
    return (cert.measure, cert.mean, cert.within_threshold, cert.model_version)


def _sgd(**params):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, **params
    )


def _memorizing_mlp():
    """Over-parameterised for 200 rows: it learns even wrong labels by heart."""
    return MLPClassifier(
        hidden_layer_sizes=(64,),
        learning_rate_init=0.01,
        max_iter=200,
        tol=1e-6,
        n_iter_no_change=200,
        random_state=0,
    )


pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def mislabeled(digits):
    """200 digits training rows, 10 of them with a deliberately wrong label."""
    X, y = digits.X_train[:200], digits.y_train[:200].copy()
    rng = np.random.default_rng(0)
    wrong = rng.choice(len(y), size=10, replace=False)
    y[wrong] = (y[wrong] + rng.integers(1, 10, size=10)) % 10
    keep = np.ones(len(y), dtype=bool)
    keep[wrong] = False
    return X, y, wrong, keep


# ------------------------------------------------------------ the measure
def test_naive_model_certifies_itself_at_zero(digits):
    X, y = digits.X_train, digits.y_train
    clf = _sgd().fit(X, y).forget(X[:30], y[:30]).retrain()
    cert = clf.certify(X[:30])
    assert cert.max == 0.0 and cert.mean == 0.0
    naive = clone(clf.estimator).fit(X[30:], y[30:])  # the same naive model, trained by hand
    assert clf.certify(X[:30], reference=naive).max == pytest.approx(0.0, abs=1e-12)


def test_memorized_rows_score_far_above_a_model_that_never_saw_them(mislabeled):
    X, y, wrong, keep = mislabeled
    original = UnlearnableClassifier(_memorizing_mlp(), random_state=0).fit(X, y)
    assert original.score(X[wrong], y[wrong]) == 1.0  # the wrong labels are memorized
    never_saw = UnlearnableClassifier(_memorizing_mlp().set_params(random_state=1))
    never_saw.fit(X[keep], y[keep])
    naive = clone(original.estimator).fit(X[keep], y[keep])

    memorized = original.certify(X[wrong], reference=naive).mean
    unseen = never_saw.certify(X[wrong], reference=naive).mean
    assert memorized > 0.5
    assert memorized > 20 * unseen

    # A forget step too small to move the model: the 'retrain' reference is
    # that same naive model, and the certificate says nothing was forgotten.
    barely = clone(original).set_params(unlearning_rate=1e-9).fit(X, y)
    cert = barely.forget(X[wrong], y[wrong]).certify(X[wrong])
    assert cert.mean == pytest.approx(memorized, rel=1e-3)


def test_held_out_reference_tells_training_rows_from_unseen_ones(digits, mislabeled):
    X, y, wrong, keep = mislabeled
    members, labels = X[keep][:60], y[keep][:60]
    reference = HeldOutReference(digits.X_test, digits.y_test)
    fitted = UnlearnableClassifier(_memorizing_mlp()).fit(X[keep], y[keep])
    others = UnlearnableClassifier(_memorizing_mlp()).fit(
        digits.X_train[200:400], digits.y_train[200:400]
    )

    seen = fitted.certify(members, labels, reference=reference)
    unseen = others.certify(members, labels, reference=reference)
    assert seen.measure == "membership_advantage" and seen.reference == "held-out"
    assert seen.mean > unseen.mean + 0.1
    assert abs(unseen.mean) < 0.25
    assert np.all((-1 <= seen.divergences) & (seen.divergences <= 1))
    # Unusual rows: the naive model fits mislabeled rows worse than typical unseen rows.
    assert fitted.certify(X[wrong], y[wrong], reference=reference).mean < 0


def test_held_out_mean_is_twice_the_attack_auc_minus_one(digits):
    from sk_unlearn.metrics import loss_threshold_auc, per_example_loss

    clf = _sgd().fit(digits.X_train, digits.y_train)
    X_out, y_out = digits.X_test[:200], digits.y_test[:200]
    cert = clf.certify(
        digits.X_train[:50], digits.y_train[:50], reference=HeldOutReference(X_out, y_out)
    )
    auc = loss_threshold_auc(
        per_example_loss(clf, digits.X_train[:50], digits.y_train[:50]),
        per_example_loss(clf, X_out, y_out),
    )
    assert cert.mean == pytest.approx(2 * auc - 1)


def test_estimator_without_predict_proba_is_certified_through_its_scores(digits):
    X, y = digits.X_train, digits.y_train
    hinge = UnlearnableClassifier(SGDClassifier(loss="hinge", random_state=0), random_state=0)
    hinge.fit(X, y)
    assert not hasattr(hinge, "predict_proba")
    assert hinge.certify(X[:20]).max == 0.0  # fitted on every row: it is its naive model
    assert hinge.forget(X[:20], y[:20]).certify(X[:20]).max > 0.0


# ------------------------------------------------------- the certificate
def test_certificate_is_a_frozen_readable_summary(digits):
    clf = _sgd(max_divergence=0.5).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:10], digits.y_train[:10])
    cert = clf.certify(digits.X_train[:10])
    assert isinstance(cert, Certificate)
    assert cert.n_rows == 10 and cert.divergences.shape == (10,)
    assert cert.mean == pytest.approx(cert.divergences.mean())
    assert cert.max == cert.divergences.max()
    assert cert.threshold == 0.5 and cert.within_threshold is (cert.mean <= 0.5)
    assert cert.model_version == clf.model_version_ and cert.retrained is False
    assert repr(cert).startswith("Certificate(reference='retrain', measure='cosine_divergence'")
    assert "n_rows=10" in repr(cert) and "divergences" not in repr(cert)
    assert cert.to_dict()["divergences"] == cert.divergences.tolist()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.mean = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        cert.divergences[0] = 1.0


def test_no_threshold_means_no_verdict(digits):
    cert = _sgd().fit(digits.X_train, digits.y_train).certify(digits.X_train[:5])
    assert cert.threshold is None and cert.within_threshold is None


# ------------------------------------------------- triggered retraining
def test_certificate_over_max_divergence_retrains_from_scratch(mislabeled):
    X, y, wrong, keep = mislabeled
    clf = UnlearnableClassifier(_memorizing_mlp(), max_divergence=0.05, random_state=0)
    clf.fit(X, y).forget(X[wrong], y[wrong])
    version = clf.model_version_

    cert = clf.certify(X[wrong])
    assert cert.within_threshold is False and cert.retrained is True
    assert cert.model_version == version and clf.model_version_ > version
    assert clf.n_retrains_ == 1
    assert clf.deletion_log_[-1].retrained is True
    assert [r.retrained for r in clf.deletion_log_[:-1]] == [False] * 9
    naive = clone(clf.estimator).fit(X[keep], y[keep])
    assert np.array_equal(clf.predict_proba(X), naive.predict_proba(X))

    again = clf.certify(X[wrong])
    assert again.max == 0.0 and again.within_threshold is True and again.retrained is False
    assert clf.n_retrains_ == 1


def test_certificate_within_max_divergence_changes_nothing(digits):
    X, y = digits.X_train, digits.y_train
    clf = _sgd(max_divergence=1.0).fit(X, y).forget(X[:10], y[:10])
    before, proba = state_but_certificates(clf), clf.predict_proba(X)
    cert = clf.certify(X[:10])
    assert cert.within_threshold is True and cert.retrained is False
    assert state_but_certificates(clf) == before  # model, random state, deletion log
    assert logged(clf) == [summary(cert)]  # the one thing certify added
    assert np.array_equal(clf.predict_proba(X), proba)


def test_held_out_certificate_over_threshold_retrains_too(digits):
    X, y = digits.X_train, digits.y_train
    clf = _sgd(max_divergence=0.0).fit(X[:300], y[:300]).forget(X[:100], y[:100])
    reference = HeldOutReference(digits.X_test, digits.y_test)
    cert = clf.certify(X[:100], y[:100], reference=reference)
    assert cert.mean > 0 and cert.retrained is True and clf.n_retrains_ == 1


def test_no_retraining_when_every_removal_is_already_served_exactly(digits):
    X, y = digits.X_train, digits.y_train
    reference = HeldOutReference(digits.X_test, digits.y_test)
    clf = _sgd(max_divergence=0.0).fit(X[:300], y[:300])
    for ready in (clf, clf.forget(X[:50], y[:50]).retrain()):
        before = state_but_certificates(ready)
        with pytest.warns(UserWarning, match="already served exactly"):
            cert = ready.certify(X[:100], y[:100], reference=reference)
        assert cert.within_threshold is False and cert.retrained is False
        assert state_but_certificates(ready) == before
        assert logged(ready)[-1] == summary(cert)


def test_retraining_impossible_warns_and_keeps_the_model(digits):
    X, y = digits.X_train, digits.y_train
    zeros = np.flatnonzero(y == 0)
    clf = _sgd(max_divergence=0.0).fit(X, y).forget(X[zeros], y[zeros])
    other = _sgd().fit(X, y)
    before = state_but_certificates(clf)
    with pytest.warns(UserWarning, match="retraining is impossible"):
        cert = clf.certify(X[:20], reference=other)
    assert cert.within_threshold is False and cert.retrained is False
    assert state_but_certificates(clf) == before
    assert logged(clf) == [summary(cert)]
    with pytest.raises(ValueError, match="no retained rows of class"):
        clf.certify(X[:20])  # nor can the 'retrain' reference be built


# --------------------------------------------------- version and cache
def test_model_version_changes_with_every_change_of_the_model(digits):
    X, y = digits.X_train, digits.y_train
    clf = _sgd()
    versions = [clf.fit(X, y).model_version_]
    versions.append(clf.partial_fit(X[:5], y[:5]).model_version_)
    versions.append(clf.forget(X[:5], y[:5]).model_version_)
    versions.append(clf.retrain().model_version_)
    versions.append(clf.fit(X, y).model_version_)  # a refit never reuses a version
    assert versions == sorted(set(versions))
    clf.predict(X)
    clf.certify(X[:5])  # within threshold (none set): no change, no new version
    assert clf.model_version_ == versions[-1]
    assert pickle.loads(pickle.dumps(clf)).model_version_ == clf.model_version_


def test_retrain_reference_is_cached_until_the_model_changes(digits, monkeypatch):
    X, y = digits.X_train, digits.y_train
    clf = _sgd().fit(X, y).forget(X[:5], y[:5])
    fits = []
    original_fit = SGDAdapter.fit
    monkeypatch.setattr(
        SGDAdapter, "fit", lambda self, X, y: (fits.append(len(y)), original_fit(self, X, y))
    )
    clf.certify(X[:5])
    clf.certify(X[5:10])
    assert fits == [len(X) - 5]
    clf.forget(X[5:6], y[5:6])
    clf.certify(X[:5])
    clf.set_params(estimator__alpha=1e-3)
    clf.certify(X[:5])
    assert len(fits) == 3


def test_cache_is_not_pickled_and_certify_leaves_the_state_alone(digits):
    X, y = digits.X_train, digits.y_train
    clf = _sgd().fit(X, y).forget(X[:5], y[:5])
    before, rng_state = state_but_certificates(clf), clf._rng.bit_generator.state
    predictions = clf.predict_proba(X)
    clf.certify(X[:5])
    assert clf._reference_cache is not None
    assert state_but_certificates(clf) == before
    assert clf._rng.bit_generator.state == rng_state
    assert np.array_equal(clf.predict_proba(X), predictions)


# ------------------------------------------------------------ bad input
def test_certify_rejects_bad_input_and_changes_nothing(digits):
    X, y = digits.X_train, digits.y_train
    with pytest.raises(NotFittedError):
        _sgd().certify(X[:5])
    clf = _sgd(max_divergence=0.0).fit(X, y)
    before = state_bytes(clf)
    holdout = HeldOutReference(digits.X_test, digits.y_test)
    cases = [
        (ValueError, "pass the labels y", dict(X=X[:5], reference=holdout)),
        (
            ValueError,
            "the named references are .retrain. and .out-of-shard.",
            dict(X=X[:5], reference="naive"),
        ),
        (TypeError, "reference must be", dict(X=X[:5], reference=42)),
        (ValueError, "features", dict(X=X[:5, :10])),
        (ValueError, r"Label\(s\) \[11\]", dict(X=X[:2], y=[0, 11], reference=holdout)),
        (ValueError, "inconsistent", dict(X=X[:2], y=[0, 1, 2], reference=holdout)),
    ]
    for error, match, kwargs in cases:
        with pytest.raises(error, match=match):
            clf.certify(**kwargs)
    binary = LogisticRegression().fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="classes_"):
        clf.certify(X[:5], reference=binary)
    with pytest.raises(NotFittedError):
        clf.certify(X[:5], reference=LogisticRegression())
    with pytest.raises(ValueError, match="same length"):
        HeldOutReference(digits.X_test, digits.y_test[:3])
    assert state_bytes(clf) == before


def test_the_held_out_verdict_is_two_sided(digits):
    """Rows that look *less* like members than unseen rows are not certified either."""
    X, y = digits.X_train, digits.y_train
    clf = _sgd(max_divergence=0.1).fit(X, y)
    wrong = (y[:40] + 1) % 10  # labels these rows never had: far higher loss than held-out rows
    reference = HeldOutReference(digits.X_test, digits.y_test)
    with pytest.warns(UserWarning, match="no removal was requested"):
        cert = clf.certify(X[:40], wrong, reference=reference)
    assert cert.mean < -0.5 and cert.within_threshold is False
