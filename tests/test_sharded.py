"""Sharded, sliced training (SISA): exact removal by retraining the shard that held the row."""

from __future__ import annotations

import json
import pickle
import warnings
from collections import Counter

import numpy as np
import pytest
from conftest import state_bytes, weights_refused
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_unlearn import ShardedClassifier, UnknownRowError, UnlearnableClassifier, _sharded


def _logistic():
    return LogisticRegression(max_iter=500)


def _sgd():
    return SGDClassifier(loss="log_loss", random_state=0)


def _row_multiset(X, y):
    return Counter((row.tobytes(), label) for row, label in zip(X, y))


def _first_digit_group(X):
    """A group key per row (module level, so that the estimator pickles)."""
    return (X[:, 20] * 4).round().astype(int)


# ------------------------------------------------------------------ exactness
@pytest.mark.parametrize(
    "estimator",
    [
        _logistic(),
        HistGradientBoostingClassifier(max_iter=15, early_stopping=False, random_state=3),
        RandomForestClassifier(n_estimators=10, random_state=3),
        SVC(probability=True, random_state=3),
    ],
    ids=["logistic", "hist-gradient-boosting", "random-forest", "svc"],
)
def test_a_removal_retrains_the_shard_into_a_fresh_fit_of_its_retained_rows(digits, estimator):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(estimator, n_shards=5, random_state=0).fit(X, y)
    before = list(clf.estimators_)
    before_rows = [clf.shard_rows(s) for s in range(5)]

    places = clf.remove_rows(X[7:8], y[7:8])

    ((shard, first_slice),) = places
    assert first_slice == 0
    for s in range(5):
        if s != shard:
            assert clf.estimators_[s] is before[s]  # untouched
    retained = clf.shard_rows(shard)
    expected = _row_multiset(*before_rows[shard])
    expected[(X[7].tobytes(), y[7])] -= 1
    assert _row_multiset(*retained) == +expected
    fresh = clone(estimator).set_params(random_state=int(clf.shard_seeds_[shard]))
    fresh.fit(*retained)
    np.testing.assert_array_equal(
        clf.estimators_[shard].predict_proba(digits.X_test), fresh.predict_proba(digits.X_test)
    )
    assert clf.n_shard_retrains_ == 1


def _sisa_replay(clf, shard, slice_epochs):
    """The shard's model by SISA's procedure, written out: at stage r, ``slice_epochs``
    passes of ``partial_fit`` over the rows of slices 0..r."""
    fresh = clone(clf.estimator).set_params(random_state=int(clf.shard_seeds_[shard]))
    for r in range(clf.n_slices):
        parts = [clf.shard_rows(shard, slice=q) for q in range(r + 1)]
        X_r, y_r = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        for _ in range(slice_epochs):
            fresh.partial_fit(X_r, y_r, classes=clf.classes_)
    return fresh


@pytest.mark.parametrize("slice_epochs", [1, 3])
def test_a_removal_in_a_slice_retrains_from_the_checkpoint_before_it(digits, slice_epochs):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(
        _sgd(), n_shards=3, n_slices=4, slice_epochs=slice_epochs, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(  # fitted by the procedure a removal replays
        clf.estimators_[1].predict_proba(digits.X_test),
        _sisa_replay(clf, 1, slice_epochs).predict_proba(digits.X_test),
    )
    # A row of slice 2 of shard 1.
    X12, y12 = clf.shard_rows(1, slice=2)
    checkpoints_before = list(clf._checkpoints[1])

    places = clf.remove_rows(X12[:1], y12[:1])

    assert places == [(1, 2)]
    after = clf._checkpoints[1]
    assert after[0] is checkpoints_before[0] and after[1] is checkpoints_before[1]
    assert after[2] is not checkpoints_before[2]  # the checkpoint after slice 2 saw the row
    np.testing.assert_array_equal(
        clf.estimators_[1].predict_proba(digits.X_test),
        _sisa_replay(clf, 1, slice_epochs).predict_proba(digits.X_test),
    )
    expected = _row_multiset(X12, y12)
    expected[(X12[0].tobytes(), y12[0])] -= 1
    assert _row_multiset(*clf.shard_rows(1, slice=2)) == +expected


def test_cumulative_stages_keep_what_one_pass_per_slice_forgets(digits):
    # Learning slice r alone at stage r drifts towards the last slice; SISA's stages over
    # slices 0..r do not, at the same number of partial_fit calls.
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(_sgd(), n_shards=2, n_slices=4, random_state=0).fit(X, y)
    accuracy = {"cumulative": clf.score(digits.X_test, digits.y_test)}
    proba = np.zeros((len(digits.y_test), len(clf.classes_)))
    for s in range(2):
        alone = clone(_sgd()).set_params(random_state=int(clf.shard_seeds_[s]))
        for r in range(4):
            alone.partial_fit(*clf.shard_rows(s, slice=r), classes=clf.classes_)
        proba += alone.predict_proba(digits.X_test)
    accuracy["one slice per stage"] = np.mean(clf.classes_[proba.argmax(1)] == digits.y_test)
    assert accuracy["cumulative"] > accuracy["one slice per stage"], accuracy


def test_the_procedure_is_fixed_at_fit_and_a_removal_replays_it(digits):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(_sgd(), n_shards=2, n_slices=3, slice_epochs=2, random_state=0)
    clf.fit(X, y)
    clf.set_params(slice_epochs=5)  # takes effect at the next fit, as for any parameter
    X01, y01 = clf.shard_rows(0, slice=1)
    clf.remove_rows(X01[:1], y01[:1])
    np.testing.assert_array_equal(
        clf.estimators_[0].predict_proba(digits.X_test),
        _sisa_replay(clf, 0, slice_epochs=2).predict_proba(digits.X_test),
    )


def test_a_model_pickled_before_cumulative_stages_replays_one_slice_per_stage(digits):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(_sgd(), n_shards=2, n_slices=4, random_state=0).fit(X, y)
    # The attributes such a model was pickled with: `_incremental`, no `slice_epochs`.
    state = clf.__getstate__()
    state["_incremental"] = state.pop("_procedure").incremental
    del state["slice_epochs"]
    old = ShardedClassifier.__new__(ShardedClassifier)
    old.__setstate__(state)
    assert old.get_params()["slice_epochs"] == 1
    X02, y02 = old.shard_rows(0, slice=2)
    expected = pickle.loads(pickle.dumps(old._checkpoints[0][1]))  # the model after slice 1

    old.remove_rows(X02[:1], y02[:1])

    for r in (2, 3):  # each remaining stage learns its own slice, once
        expected.partial_fit(*old.shard_rows(0, slice=r), classes=old.classes_)
    np.testing.assert_array_equal(
        old.estimators_[0].predict_proba(digits.X_test), expected.predict_proba(digits.X_test)
    )


@pytest.mark.parametrize("slice_epochs", [0, -1, 1.5, "2"])
def test_a_bad_slice_epochs_is_refused_before_training(digits, slice_epochs):
    clf = ShardedClassifier(_sgd(), n_slices=2, slice_epochs=slice_epochs)
    with pytest.raises(ValueError, match="slice_epochs"):
        clf.fit(digits.X_train, digits.y_train)
    assert not hasattr(clf, "estimators_")


def test_a_call_retrains_each_affected_shard_once_from_its_earliest_slice(digits):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(_sgd(), n_shards=4, n_slices=3, random_state=0).fit(X, y)
    a, b = clf.shard_rows(2, slice=2), clf.shard_rows(2, slice=1)
    c = clf.shard_rows(0, slice=0)
    X_req = np.vstack([a[0][:2], b[0][:1], c[0][:1]])
    y_req = np.concatenate([a[1][:2], b[1][:1], c[1][:1]])
    before = list(clf.estimators_)

    places = clf.remove_rows(X_req, y_req)

    assert places == [(2, 1), (2, 1), (2, 1), (0, 0)]
    assert clf.n_shard_retrains_ == 2
    assert clf.estimators_[1] is before[1] and clf.estimators_[3] is before[3]


def test_partial_fit_then_removal_is_still_a_replay_of_the_shards_procedure(digits):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(_sgd(), n_shards=3, random_state=0)
    clf.partial_fit(X[:600], y[:600], classes=np.unique(y))
    clf.partial_fit(X[600:], y[600:])
    assert sum(len(clf.shard_rows(s)[1]) for s in range(3)) == len(y)
    ((shard, _),) = clf.remove_rows(X[900:901], y[900:901])
    fresh = clone(_sgd()).set_params(random_state=int(clf.shard_seeds_[shard]))
    fresh.partial_fit(*clf.shard_rows(shard), classes=clf.classes_)
    np.testing.assert_array_equal(
        clf.estimators_[shard].predict(digits.X_test), fresh.predict(digits.X_test)
    )


# ------------------------------------------------------------------ assignment
def test_stratified_shards_hold_every_class_and_random_shards_are_balanced(digits):
    X, y = digits.X_train, digits.y_train
    strat = ShardedClassifier(GaussianNB(), n_shards=10, random_state=0).fit(X, y)
    for s in range(10):
        assert set(strat.shard_rows(s)[1]) == set(np.unique(y))
        np.testing.assert_array_equal(strat.estimators_[s].classes_, np.unique(y))
    rand = ShardedClassifier(GaussianNB(), n_shards=7, assignment="random", random_state=0)
    sizes = [len(rand.fit(X, y).shard_rows(s)[1]) for s in range(7)]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(y)


def test_a_group_key_keeps_each_group_in_one_shard(digits):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(
        GaussianNB(), n_shards=4, assignment=_first_digit_group, random_state=0
    ).fit(X, y)
    groups = _first_digit_group(X)
    owner = {}
    for s in range(4):
        for g in np.unique(_first_digit_group(clf.shard_rows(s)[0])):
            assert owner.setdefault(g, s) == s
    one = groups == groups[0]
    places = clf.remove_rows(X[one], y[one])
    assert len({shard for shard, _ in places}) == 1 and clf.n_shard_retrains_ == 1
    with pytest.raises(ValueError, match="one key per row"):
        ShardedClassifier(GaussianNB(), assignment=lambda X: [0]).fit(X, y)


def test_the_same_seed_gives_the_same_model_and_another_seed_another(digits):
    X, y = digits.X_train, digits.y_train
    a = ShardedClassifier(_sgd(), n_shards=3, random_state=1).fit(X, y)
    b = ShardedClassifier(_sgd(), n_shards=3, random_state=1).fit(X, y)
    c = ShardedClassifier(_sgd(), n_shards=3, random_state=2).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(digits.X_test), b.predict_proba(digits.X_test))
    assert not np.array_equal(a.shard_rows(0)[0], c.shard_rows(0)[0])


# ------------------------------------------------------------------ aggregation
def test_vote_aggregation_is_the_majority_and_its_proba_the_share_of_votes(digits):
    X, y = digits.X_train, digits.y_train
    est = SGDClassifier(loss="hinge", random_state=0)
    clf = ShardedClassifier(est, n_shards=5, aggregation="vote", random_state=0).fit(X, y)
    votes = np.stack([m.predict(digits.X_test) for m in clf.estimators_])
    share = clf.predict_proba(digits.X_test)
    for i in range(20):
        counts = Counter(votes[:, i].tolist())
        assert (
            share[i, list(clf.classes_).index(clf.predict(digits.X_test[i : i + 1])[0])]
            == max(counts.values()) / 5
        )
    np.testing.assert_allclose(share.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="aggregation='vote'"):
        ShardedClassifier(est).fit(X, y)
    assert not hasattr(ShardedClassifier(est), "predict_proba")


def test_mean_aggregation_averages_the_shards_probabilities(digits):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(GaussianNB(), n_shards=3, random_state=0).fit(X, y)
    mean = np.mean([m.predict_proba(digits.X_test) for m in clf.estimators_], axis=0)
    np.testing.assert_allclose(clf.predict_proba(digits.X_test), mean)
    np.testing.assert_array_equal(clf.predict(digits.X_test), clf.classes_[mean.argmax(axis=1)])


def test_slices_need_partial_fit():
    with pytest.raises(ValueError, match="partial_fit"):
        ShardedClassifier(_logistic(), n_slices=2).fit([[0.0], [1.0]], [0, 1])


# ------------------------------------------------------------------ missing classes
def test_a_shard_left_without_a_class_one_class_or_no_rows_is_handled():
    X = np.arange(24, dtype=float).reshape(12, 2)
    y = np.array([0, 1, 2] * 4)
    clf = ShardedClassifier(_logistic(), n_shards=2, random_state=0).fit(X, y)
    X0, y0 = clf.shard_rows(0)
    # Remove class 2 from shard 0: its model no longer knows the class.
    clf.remove_rows(X0[y0 == 2], y0[y0 == 2])
    np.testing.assert_array_equal(clf.estimators_[0].classes_, [0, 1])
    proba = clf.predict_proba(X)
    assert proba.shape == (12, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Down to one class: a constant model of that class.
    X0, y0 = clf.shard_rows(0)
    clf.remove_rows(X0[y0 == 1], y0[y0 == 1])
    assert isinstance(clf.estimators_[0], DummyClassifier)
    assert (clf.estimators_[0].predict(X) == 0).all()
    # No rows at all: the shard abstains; the other shard answers alone.
    X0, y0 = clf.shard_rows(0)
    clf.remove_rows(X0, y0)
    assert clf.estimators_[0] is None
    np.testing.assert_allclose(clf.predict_proba(X), clf.estimators_[1].predict_proba(X))


# ------------------------------------------------------------------ parallel
def test_parallel_training_gives_the_sequential_model(digits):
    X, y = digits.X_train, digits.y_train
    seq = ShardedClassifier(_sgd(), n_shards=4, n_slices=2, random_state=0).fit(X, y)
    par = ShardedClassifier(_sgd(), n_shards=4, n_slices=2, n_jobs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(
        seq.predict_proba(digits.X_test), par.predict_proba(digits.X_test)
    )
    seq.remove_rows(X[:30], y[:30])
    par.remove_rows(X[:30], y[:30])
    np.testing.assert_array_equal(
        seq.predict_proba(digits.X_test), par.predict_proba(digits.X_test)
    )


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_storage_is_reported_and_bounded(digits):
    X, y = digits.X_train, digits.y_train
    flat = ShardedClassifier(_sgd(), n_shards=3, random_state=0).fit(X, y)
    assert flat.n_checkpoint_bytes_ == 0
    sliced = ShardedClassifier(_sgd(), n_shards=3, n_slices=4, random_state=0).fit(X, y)
    n_checkpoints = sum(len(c) for c in sliced._checkpoints)
    assert n_checkpoints == 3 * 3
    one = len(pickle.dumps(sliced.estimators_[0]))
    assert 0.5 * 9 * one < sliced.n_checkpoint_bytes_ < 2 * 9 * one
    sliced.remove_rows(X[:50], y[:50])
    assert sum(len(c) for c in sliced._checkpoints) == 9


# ------------------------------------------------------------------ erasure
def _contains(blob, rows):
    return any(row.tobytes() in blob for row in rows)


def test_no_forgotten_row_survives_in_the_shards_models_or_the_pickle(digits):
    """SVC keeps its support vectors (training rows): the shard retrained without the row
    drops it; the wrapper's pickle holds no forgotten row anywhere."""
    X, y = digits.X_train, digits.y_train
    clf = UnlearnableClassifier(
        ShardedClassifier(SVC(probability=True, random_state=0), n_shards=3, random_state=0)
    ).fit(X, y)
    shards = clf.estimator_
    svs = np.vstack([m.support_vectors_ for m in shards.estimators_])
    secret = np.flatnonzero([(svs == row).all(axis=1).any() for row in X])[:5]
    assert _contains(pickle.dumps(clf), X[secret])

    clf.forget(X[secret], y[secret])

    blob = pickle.dumps(clf)
    assert not _contains(blob, X[secret])
    assert not _contains(pickle.dumps(shards._checkpoints), X[secret])
    for m in shards.estimators_:
        assert not _contains(m.support_vectors_.tobytes(), X[secret])


# ------------------------------------------------------------------ bad input
def test_an_unknown_row_changes_nothing(digits):
    X, y = digits.X_train, digits.y_train
    clf = ShardedClassifier(_sgd(), n_shards=3, n_slices=2, random_state=0).fit(X, y)
    before = state_bytes(clf)
    with pytest.raises(UnknownRowError, match="Row 1 of X"):
        clf.remove_rows(np.vstack([X[0], X[0] + 5.0]), y[:2])
    with pytest.raises(UnknownRowError, match="Row 1 of X"):
        clf.remove_rows(X[[3, 3]], y[[3, 3]])  # held once, requested twice
    with pytest.raises(ValueError, match="one label per row"):
        clf.remove_rows(X[:2], y[:3])
    assert state_bytes(clf) == before


def test_a_training_that_fails_half_way_changes_nothing(digits, monkeypatch):
    X, y = digits.X_train, digits.y_train
    clf = UnlearnableClassifier(
        ShardedClassifier(_sgd(), n_shards=3, n_slices=2, random_state=0)
    ).fit(X, y)
    before = state_bytes(clf)
    calls = []
    original = _sharded.train_shard

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("simulated")
        return original(*args, **kwargs)

    monkeypatch.setattr(_sharded, "train_shard", flaky)
    with pytest.raises(MemoryError):
        clf.forget(X[:60], y[:60])  # touches every shard
    assert state_bytes(clf) == before
    monkeypatch.undo()
    clf.forget(X[:60], y[:60])
    assert clf.n_forgotten_ == 60


def test_a_partial_fit_that_fails_half_way_changes_nothing(digits, monkeypatch):
    X, y = digits.X_train, digits.y_train
    clf = UnlearnableClassifier(ShardedClassifier(_sgd(), n_shards=3, random_state=0))
    clf.partial_fit(X[:600], y[:600], classes=np.unique(y))
    before = state_bytes(clf)
    calls = []
    original = _sharded.learn_more

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("simulated")
        return original(*args, **kwargs)

    monkeypatch.setattr(_sharded, "learn_more", flaky)
    with pytest.raises(MemoryError):
        clf.partial_fit(X[600:], y[600:])
    assert state_bytes(clf) == before
    monkeypatch.undo()
    clf.partial_fit(X[600:], y[600:])
    assert clf.n_retained_ == len(y)


def test_a_model_whose_every_shard_is_empty_says_so():
    X = np.arange(8, dtype=float).reshape(4, 2)
    y = np.array([0, 1, 0, 1])
    clf = ShardedClassifier(GaussianNB(), n_shards=2, random_state=0).fit(X, y)
    clf.remove_rows(X, y)
    with pytest.raises(ValueError, match="Every shard is empty"):
        clf.predict(X)


# ------------------------------------------------------------------ inside UnlearnableClassifier
def test_the_wrapper_serves_requests_by_sharded_retraining_and_records_where(digits, tmp_path):
    X, y = digits.X_train, digits.y_train
    ledger = tmp_path / "ledger.jsonl"
    clf = UnlearnableClassifier(
        ShardedClassifier(_sgd(), n_shards=4, n_slices=2, random_state=0), ledger_path=ledger
    ).fit(X, y)
    clf.forget(X[:5], y[:5])
    log = clf.deletion_log_
    assert {r.method for r in log} == {"sharded"} and {r.guarantee for r in log} == {"exact"}
    assert all(r.shard in range(4) and r.slice in (0, 1) for r in log)
    completed = [
        json.loads(line)
        for line in ledger.read_text().splitlines()
        if json.loads(line).get("event") == "completed"
    ]
    assert [(e["shard"], e["slice"]) for e in completed] == [(r.shard, r.slice) for r in log]
    assert clf.verify_ledger().ok

    cert = clf.certify(X[:5], reference="out-of-shard")
    assert cert.guarantee == "exact" and cert.reference == "out-of-shard"
    assert cert.max == pytest.approx(0.0, abs=1e-12)  # in no shard: the model itself
    retained = clf.certify(X[10:30], reference="out-of-shard")
    assert retained.max > 0  # their shard trained on them

    path = tmp_path / "model.pkl"
    clf.save(path)
    loaded = UnlearnableClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X[:50]), clf.predict_proba(X[:50]))
    loaded.forget(X[5:8], y[5:8])
    assert loaded.n_forgotten_ == 8


def test_out_of_shard_needs_a_sharded_model_and_more_than_one_shard(digits):
    X, y = digits.X_train, digits.y_train
    plain = UnlearnableClassifier(_sgd()).fit(X, y)
    with pytest.raises(ValueError, match="needs a ShardedClassifier"):
        plain.certify(X[:3], reference="out-of-shard")
    one = UnlearnableClassifier(ShardedClassifier(GaussianNB(), n_shards=1)).fit(X, y)
    with pytest.raises(ValueError, match="every shard"):
        one.certify(X[:3], reference="out-of-shard")
    with pytest.raises(ValueError, match="needs a ShardedClassifier"):
        UnlearnableClassifier(_sgd(), method="sharded").fit(X, y)


def test_the_wrapper_learns_more_rows_and_forgets_them(digits):
    X, y = digits.X_train, digits.y_train
    clf = UnlearnableClassifier(ShardedClassifier(_sgd(), n_shards=3, random_state=0))
    clf.partial_fit(X[:700], y[:700], classes=np.unique(y))
    clf.partial_fit(X[700:], y[700:])
    clf.forget(X[690:710], y[690:710])
    assert clf.n_retained_ == len(y) - 20
    assert sum(len(clf.estimator_.shard_rows(s)[1]) for s in range(3)) == len(y) - 20


def test_clone_grid_search_and_pipeline(digits):
    X, y = digits.X_train, digits.y_train
    clf = UnlearnableClassifier(ShardedClassifier(GaussianNB(), random_state=0))
    assert clone(clf).get_params()["estimator__n_shards"] == 10
    search = GridSearchCV(clf, {"estimator__n_shards": [1, 4]}, cv=2).fit(X, y)
    assert search.best_params_["estimator__n_shards"] in (1, 4)
    pipe = make_pipeline(StandardScaler(), clone(clf)).fit(X, y)
    assert pipe.score(digits.X_test, digits.y_test) > 0.7
    restored = pickle.loads(pickle.dumps(clf.fit(X, y)))
    np.testing.assert_array_equal(restored.predict(X[:40]), clf.predict(X[:40]))


@parametrize_with_checks(
    [
        ShardedClassifier(LogisticRegression(), n_shards=3, random_state=0),
        ShardedClassifier(
            SGDClassifier(loss="log_loss", random_state=0), n_shards=2, n_slices=2, random_state=0
        ),
        ShardedClassifier(
            SGDClassifier(loss="hinge", random_state=0), n_shards=3, aggregation="vote"
        ),
        UnlearnableClassifier(ShardedClassifier(GaussianNB(), n_shards=2, random_state=0)),
    ],
    expected_failed_checks=lambda estimator: (
        weights_refused("ShardedClassifier.fit takes none")
        if isinstance(estimator, UnlearnableClassifier)
        else {}
    ),
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_string_labels_and_requests_in_another_dtype(digits):
    X, y = digits.X_train.astype(np.float32), np.array(list("abcdefghij"))[digits.y_train]
    clf = UnlearnableClassifier(
        ShardedClassifier(_sgd(), n_shards=3, n_slices=2, random_state=0)
    ).fit(X, y)
    clf.forget(digits.X_train[:4], y[:4])  # float64 requests of float32 rows
    assert clf.n_forgotten_ == 4 and set(clf.predict(X[:50])) <= set(y)
    assert sum(len(clf.estimator_.shard_rows(s)[1]) for s in range(3)) == len(y) - 4
