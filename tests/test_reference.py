"""The calibrated certificate: never passes a row still remembered, flags over-forgetting.

A digits MLP memorizes a handful of deliberately mislabeled rows. Against an
OutOfFoldReference (models that never saw each row, on each model's own
scale), the original model's memorized rows are "remembered", a model
retrained without them certifies them as "forgotten", and no row the model
still predicts with its memorized label is ever certified.
"""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sk_unlearn import OutOfFoldReference, UnlearnableClassifier


@pytest.fixture(scope="module")
def memorized(digits):
    """Training rows with 12 mislabeled ones an MLP has learned, and a built reference."""
    X, y = digits.X_train, digits.y_train.copy()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(y), 12, replace=False)
    y[rows] = (y[rows] + rng.integers(1, 10, size=12)) % 10
    ordinary = np.setdiff1d(np.arange(len(y)), rows)[:200]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = UnlearnableClassifier(
            MLPClassifier((64,), max_iter=300, random_state=0), random_state=0
        ).fit(X, y)
        reference = OutOfFoldReference(digits.X_test, random_state=0)
        baseline = clf.certify(X[rows], y[rows], reference=reference)
    return {
        "X": X,
        "y": y,
        "rows": rows,
        "ordinary": ordinary,
        "clf": clf,
        "reference": reference,
        "baseline": baseline,
    }


def quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


def test_before_forgetting_the_certificate_is_a_baseline_not_zero(memorized):
    cert = memorized["baseline"]
    assert cert.reference == "out-of-fold" and cert.measure == "calibrated_z"
    # Every row the model predicts with its memorized label stands out, and most others do.
    predicted = memorized["clf"].predict(memorized["X"][memorized["rows"]])
    memorized_label = predicted == memorized["y"][memorized["rows"]]
    assert memorized_label.sum() >= 4
    assert (np.array(cert.verdicts)[memorized_label] == "remembered").all()
    assert cert.n_remembered >= 10
    assert cert.within_threshold is False
    assert cert.mean > 2
    ordinary = memorized["ordinary"]
    X, y = memorized["X"], memorized["y"]
    on_ordinary = quiet(
        memorized["clf"].certify, X[ordinary], y[ordinary], reference=memorized["reference"]
    )
    # Ordinary rows are barely memorized: most already look never-seen.
    assert np.mean(on_ordinary.forgotten) >= 0.85


def test_the_naive_model_certifies_and_the_rate_of_false_alarms_is_stated(memorized, digits):
    X, y, rows = memorized["X"], memorized["y"], memorized["rows"]
    clf = quiet(pickle.loads(pickle.dumps(memorized["clf"])).forget, X[rows], y[rows])
    quiet(clf.retrain)  # the naive model: trained without the rows
    reference = OutOfFoldReference(digits.X_test, random_state=0)  # built for the new training
    cert = quiet(clf.certify, X[rows], y[rows], reference=reference)
    # 12 rows and a 5% false-alarm rate per row: a flag or two is chance (the
    # benchmark measures the rate on 100 rows).
    assert np.mean(cert.forgotten) >= 0.75
    assert np.abs(cert.divergences).mean() < 1.5
    assert cert.alpha == 0.05 and cert.threshold == pytest.approx(1.959964, rel=1e-5)
    assert 0 <= cert.false_positive_rate <= 2 * cert.alpha
    assert cert.reference_seconds > 0
    assert cert.guarantee == "exact"
    json.dumps(cert.to_dict())


def test_no_row_still_predicted_with_its_memorized_label_is_ever_certified(memorized):
    X, y, rows = memorized["X"], memorized["y"], memorized["rows"]
    settings = [
        {},  # the defaults barely move a memorized row
        {"relabel": "uniform"},
        {"n_steps": 3, "n_replay": 64},
        {"unlearning_rate": 1e-3, "n_steps": 2},
    ]
    for params in settings:
        clf = pickle.loads(pickle.dumps(memorized["clf"])).set_params(**params)
        quiet(clf.forget, X[rows], y[rows])
        cert = quiet(clf.certify, X[rows], y[rows], reference=memorized["reference"])
        still = clf.predict(X[rows]) == y[rows]
        assert not (still & cert.forgotten).any(), params


def test_over_forgetting_is_flagged_not_certified(memorized):
    X, y = memorized["X"], memorized["y"]
    ordinary = memorized["ordinary"][:10]
    clf = pickle.loads(pickle.dumps(memorized["clf"])).set_params(
        unlearning_rate=1e-2, n_steps=10, n_replay=0
    )
    quiet(clf.forget, X[ordinary], y[ordinary])
    cert = quiet(clf.certify, X[ordinary], y[ordinary], reference=memorized["reference"])
    assert cert.n_over_forgotten >= 8  # pushed far below what models that never saw them say
    assert cert.within_threshold is False
    assert (cert.divergences[np.array(cert.verdicts) == "over-forgotten"] < 0).all()


def test_calibrated_stopping_steps_only_as_far_as_needed(memorized):
    X, y, rows = memorized["X"], memorized["y"], memorized["rows"]
    ordinary = memorized["ordinary"][:20]
    reference = memorized["reference"]
    clf = pickle.loads(pickle.dumps(memorized["clf"])).set_params(unlearning_rate=3e-4, n_steps=8)
    quiet(clf.forget, X[ordinary], y[ordinary], reference=reference)
    steps_ordinary = [r.n_steps for r in clf.deletion_log_]
    assert max(steps_ordinary) <= 8
    assert np.mean(steps_ordinary) < 2  # most ordinary rows are already at the level
    quiet(clf.forget, X[rows], y[rows], reference=reference)
    steps_memorized = [r.n_steps for r in clf.deletion_log_[len(ordinary) :]]
    assert min(steps_memorized) >= 1 and max(steps_memorized) <= 8
    # No row was pushed more than the test's spread below its level.
    cert = quiet(clf.certify, X[rows], y[rows], reference=reference)
    assert cert.n_over_forgotten <= 1


def test_the_reference_is_reused_until_a_retrain_and_never_pickled(memorized):
    X, y = memorized["X"], memorized["y"]
    clf = pickle.loads(pickle.dumps(memorized["clf"]))
    reference = memorized["reference"]
    built = reference.build_seconds_
    quiet(clf.certify, X[:3], y[:3], reference=reference)
    assert reference.build_seconds_ == built  # same fit: reused (the copy keeps its fit id)
    blob = pickle.dumps(reference)
    restored = pickle.loads(blob)
    assert not hasattr(restored, "_models") and not restored.is_built_for(("any", 0))
    assert len(blob) < reference.X_calibration.nbytes + 10_000  # no fitted model in it
    assert b"_models" not in pickle.dumps(clf)


def test_bad_references_and_calibration_rows_are_refused(memorized, digits):
    clf = memorized["clf"]
    X, y = memorized["X"], memorized["y"]
    with pytest.raises(ValueError, match="pass y"):
        clf.certify(X[:3], reference=memorized["reference"])
    with pytest.raises(ValueError, match="trained on"):
        quiet(clf.certify, X[:3], y[:3], reference=OutOfFoldReference(X[:40]))
    with pytest.raises(ValueError, match="rows of shape"):
        clf.certify(X[:3], y[:3], reference=OutOfFoldReference(digits.X_test[:, :10]))
    with pytest.raises(ValueError, match="at least 20 rows"):
        OutOfFoldReference(digits.X_test[:5])
    with pytest.raises(ValueError, match="n_repeats"):
        OutOfFoldReference(digits.X_test, n_repeats=1)
    with pytest.raises(TypeError, match="OutOfFoldReference or None"):
        clf.forget(X[:1], y[:1], reference="retrain")
    assert clf.n_forgotten_ == 0
