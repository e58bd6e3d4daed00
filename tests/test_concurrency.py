"""predict, forget and pickling from several threads: nobody sees a half-updated model."""

from __future__ import annotations

import copy
import pickle
import threading

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier


def _run(threads):
    errors = []

    def guarded(target):
        def run():
            try:
                target()
            except BaseException as exc:  # reported in the main thread
                errors.append(exc)

        return run

    workers = [threading.Thread(target=guarded(t)) for t in threads]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors


@pytest.fixture
def clf(digits):
    # retrain_after: some requests also swap in a retrained model.
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        n_replay=8,
        retrain_after=10,
        random_state=0,
    ).fit(digits.X_train, digits.y_train)


def test_every_prediction_and_pickle_is_of_a_committed_model(clf, digits):
    X_query = digits.X_test[:200]
    n_requests = 25
    states = [copy.deepcopy(clf.estimator_)]  # the model after 0, 1, 2, ... requests
    done = threading.Event()
    seen, pickles = [], []

    def forgetter():
        for i in range(n_requests):
            clf.forget(digits.X_train[i : i + 1], digits.y_train[i : i + 1])
            states.append(copy.deepcopy(clf.estimator_))  # only this thread changes it
        done.set()

    def predictor():
        while not done.is_set():
            seen.append(clf.predict_proba(X_query))

    def pickler():
        while not done.is_set():
            pickles.append(pickle.dumps(clf))

    _run([forgetter, predictor, predictor, pickler])
    expected = [s.predict_proba(X_query) for s in states]
    assert len(seen) > n_requests  # the threads did overlap
    for proba in seen:
        assert any(np.array_equal(proba, e) for e in expected)
    for blob in pickles:
        copy_ = pickle.loads(blob)
        k = copy_.n_forgotten_
        assert copy_.n_retained_ == len(digits.X_train) - k == clf.n_retained_ + n_requests - k
        assert len(copy_.deletion_log_) == k
        np.testing.assert_array_equal(copy_.predict_proba(X_query), expected[k])
    assert clf.n_forgotten_ == n_requests and len(clf.deletion_log_) == n_requests


def test_several_forgetters_and_predictors_leave_a_consistent_model(clf, digits, tmp_path):
    clf.set_params(ledger_path=tmp_path / "ledger.jsonl")
    chunks = np.array_split(np.arange(30), 3)  # disjoint requests per thread
    stop = threading.Event()

    def forgetter(rows):
        def run():
            for i in rows:
                clf.forget(digits.X_train[i : i + 1], digits.y_train[i : i + 1])

        return run

    def predictor():
        while not stop.is_set():
            assert clf.predict(digits.X_test[:50]).shape == (50,)
            clf.score(digits.X_test[:50], digits.y_test[:50])

    forgetters = [forgetter(rows) for rows in chunks]
    reader = threading.Thread(target=predictor)
    reader.start()
    try:
        _run(forgetters)
    finally:
        stop.set()
        reader.join()
    assert clf.n_forgotten_ == 30 and clf.n_retained_ == len(digits.X_train) - 30
    assert sorted(r.request for r in clf.deletion_log_) == list(range(30))
    assert clf.verify_ledger().ok
    with pytest.raises(ValueError):
        clf.forget(digits.X_train[:1], digits.y_train[:1])  # each served exactly once


def test_the_lock_is_not_pickled_copied_or_cloned(clf):
    from sklearn.base import clone

    from sk_unlearn._locking import LOCK_ATTR, estimator_lock

    lock = estimator_lock(clf)
    assert LOCK_ATTR not in pickle.loads(pickle.dumps(clf)).__dict__
    assert estimator_lock(copy.deepcopy(clf)) is not lock
    assert LOCK_ATTR not in clone(clf).__dict__
