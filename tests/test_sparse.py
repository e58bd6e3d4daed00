"""Sparse input end to end: CSR/CSC rows through fit, forget, retrain, certify and the store."""

import pickle
import sqlite3

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import fail_at_stage, state_bytes
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline

from sk_unlearn import (
    HeldOutReference,
    OutOfFoldReference,
    RowStoreMismatchError,
    UnknownRowError,
    UnlearnableClassifier,
)
from sk_unlearn import forget_through_pipeline as forget_through
from sk_unlearn._transaction import STAGES


def _sgd(**kwargs):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, **kwargs
    )


@pytest.fixture(scope="module")
def corpus():
    """600 short documents of three topics, each a mix of topic words and common words."""
    rng = np.random.default_rng(0)
    topics = [[f"t{k}w{i}" for i in range(300)] for k in range(3)]
    common = [f"c{i}" for i in range(500)]
    y = rng.integers(0, 3, size=600)
    docs = [" ".join([*rng.choice(topics[k], size=12), *rng.choice(common, size=20)]) for k in y]
    return docs, y


@pytest.fixture(scope="module")
def tfidf(corpus):
    docs, y = corpus
    X = TfidfVectorizer().fit_transform(docs)
    return X.tocsr(), y


def test_the_tfidf_recipe_trains_sparse_forgets_every_document_by_id_and_retrains(corpus):
    docs, y = corpus
    pipe = make_pipeline(TfidfVectorizer(), _sgd())
    pipe.fit(docs, y, unlearnableclassifier__sample_id=range(len(docs)))
    clf = pipe[-1]
    assert clf._store.sparse  # kept sparse, never densified
    assert pipe.score(docs, y) > 0.9
    trial = pickle.loads(pickle.dumps(pipe))
    forget_through(trial, sample_id=list(range(len(docs) - 1)))  # every document but one
    assert trial[-1].n_retained_ == 1
    forget_through(pipe, sample_id=list(range(100)))
    pipe[-1].retrain()
    X = TfidfVectorizer().fit_transform(docs)  # the rows the final step learned
    fresh = SGDClassifier(loss="log_loss", random_state=0).fit(X[100:], y[100:])
    np.testing.assert_array_equal(pipe[-1].estimator_.coef_, fresh.coef_)


def test_the_store_holds_the_non_zeros_only(tfidf):
    X, y = tfidf
    clf = _sgd().fit(X, y)
    assert clf._store._X.nnz == X.nnz
    dense_bytes = X.shape[0] * X.shape[1] * 8
    assert len(pickle.dumps(clf)) < dense_bytes / 10
    clf.forget(X[:50], y[:50])
    assert clf._store._X.nnz == X[50:].nnz


def test_a_forgotten_document_is_gone_from_the_pickle(tfidf):
    X, y = tfidf
    clf = _sgd().fit(X, y)
    blob = pickle.dumps(clf)
    assert all(X[i].data.tobytes() in blob for i in range(5))
    clf.forget(X[:5], y[:5])
    blob = pickle.dumps(clf)
    assert not any(X[i].data.tobytes() in blob for i in range(5))
    assert all(X[i].data.tobytes() in blob for i in range(5, 10))


def test_a_row_is_found_whether_asked_for_sparse_dense_or_csc(tfidf):
    X, y = tfidf
    clf = _sgd().fit(X, y)
    clf.forget(X[:2], y[:2])
    clf.forget(X[2:4].toarray(), y[2:4])
    clf.forget(X[4:6].tocsc(), y[4:6])
    assert clf.n_retained_ == X.shape[0] - 6
    assert len({r.row_hash for r in clf.deletion_log_}) == 6
    with pytest.raises(UnknownRowError):
        clf.forget(X[:1], y[:1])
    dense = _sgd().fit(X.toarray(), y)  # learned dense, asked for sparse
    dense.forget(X[:3], y[:3])
    assert [r.row_hash for r in dense.deletion_log_] == [r.row_hash for r in clf.deletion_log_[:3]]


def test_replay_batches_stay_sparse(tfidf, recorded_batches):
    X, y = tfidf
    _sgd(n_replay=8).fit(X, y).forget(X[:3], y[:3])
    assert recorded_batches and all(sp.issparse(batch[0]) for batch in recorded_batches)
    assert all(batch[0].shape[1] == X.shape[1] for batch in recorded_batches)


def test_partial_fit_certify_and_pickling_with_sparse_rows(tfidf):
    X, y = tfidf
    clf = _sgd().partial_fit(X[:300], y[:300], classes=np.arange(3))
    clf.partial_fit(X[300:500], y[300:500]).forget(X[:10], y[:10])
    cert = clf.certify(X[:10])
    assert np.isfinite(cert.mean)
    held_out = clf.certify(X[:10], y[:10], reference=HeldOutReference(X[500:], y[500:]))
    assert np.isfinite(held_out.mean)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    restored.forget(X[10:20], y[10:20])
    assert restored.n_retained_ == 480


def test_the_calibrated_certificate_and_calibrated_stopping_on_sparse_rows(tfidf):
    X, y = tfidf
    reference = OutOfFoldReference(X[500:], random_state=0)  # sparse calibration rows
    clf = _sgd().fit(X[:500], y[:500])
    before = clf.certify(X[:20], y[:20], reference=reference)
    assert before.n_rows == 20 and before.n_remembered >= 10  # trained rows: remembered
    clf.forget(X[:20], y[:20], reference=reference)  # calibrated stopping: at most n_steps
    assert all(r.n_steps <= 1 for r in clf.deletion_log_)
    after = clf.certify(X[:20], y[:20], reference=reference)
    assert after.verdicts is not None and len(after.verdicts) == 20
    dense = OutOfFoldReference(X[500:].toarray(), random_state=0)
    as_dense = _sgd().fit(X[:500].toarray(), y[:500])
    same = as_dense.certify(X[:20].toarray(), y[:20], reference=dense)
    # The folds are drawn from the rows' digests, the same for both forms of a row.
    np.testing.assert_array_equal(reference.folds_of(X[:50]), dense.folds_of(X[:50].toarray()))
    # The same rows dense: the same verdicts but for the last bits of training (sparse and
    # dense SGD round differently).
    assert abs(same.n_remembered - before.n_remembered) <= 2


def test_exact_removal_from_multinomial_nb_on_sparse_rows(tfidf):
    X, y = tfidf
    clf = UnlearnableClassifier(MultinomialNB()).fit(X, y).forget(X[:40], y[:40])
    fresh = MultinomialNB().fit(X[40:], y[40:])
    assert clf.deletion_log_[0].guarantee == "exact"
    np.testing.assert_allclose(clf.predict_proba(X), fresh.predict_proba(X), atol=1e-10)


def test_an_mlp_forgets_sparse_rows(tfidf):
    X, y = tfidf
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    clf = UnlearnableClassifier(mlp, random_state=0).fit(X, y).forget(X[:5], y[:5])
    assert clf.n_retained_ == X.shape[0] - 5
    np.testing.assert_array_equal(
        clf.retrain().estimator_.coefs_[0], clone(mlp).fit(X[5:], y[5:]).coefs_[0]
    )


def test_estimators_without_sparse_support_refuse_it_and_change_nothing(tfidf, tmp_path):
    X, y = tfidf
    gaussian = UnlearnableClassifier(GaussianNB()).fit(X.toarray(), y)
    before = state_bytes(gaussian)
    with pytest.raises(TypeError, match="dense data is required"):
        gaussian.fit(X, y)
    with pytest.raises(TypeError, match="dense data is required"):
        gaussian.forget(X[:1], y[:1])
    assert state_bytes(gaussian) == before
    mapped = tmp_path / "rows"
    mapped.mkdir()
    with pytest.raises(ValueError, match="dense rows only.*SQLite file"):
        _sgd(rows_path=mapped).fit(X, y)
    assert not list(mapped.iterdir())


@pytest.fixture
def distinct():
    """Sparse rows whose every value is distinct: no value's bytes occur twice by chance."""
    rng = np.random.default_rng(1)
    X = sp.random(300, 400, density=0.03, format="csr", random_state=1)
    X.data = rng.uniform(0.1, 1.0, size=X.nnz)
    return X, rng.integers(0, 3, size=300)


def _values_bytes(X, i):
    return [value.tobytes() for value in X[i].data]


def _database_rows(path):
    with sqlite3.connect(path) as connection:
        return sorted(connection.execute("SELECT * FROM retained_rows"))


def test_a_row_database_keeps_sparse_rows_as_their_non_zeros(distinct, tmp_path):
    X, y = distinct
    path = tmp_path / "rows.db"
    clf = _sgd(rows_path=path).fit(X, y, sample_id=range(300))
    assert clf._store.sparse
    blob, stored = pickle.dumps(clf), path.read_bytes()
    for i in range(0, 300, 7):
        assert not any(b in blob for b in _values_bytes(X, i))  # no value in the model file
        assert all(b in stored for b in _values_bytes(X, i))
    assert path.stat().st_size < X.shape[0] * X.shape[1] * 8 / 4  # not dense rows
    clf.forget(sample_id=range(20))
    stored = path.read_bytes()
    for i in range(20):
        assert not any(b in stored for b in _values_bytes(X, i))
    for i in range(20, 40):
        assert all(b in stored for b in _values_bytes(X, i))
    assert not list(tmp_path.glob("rows.db-journal"))


def test_a_model_with_sparse_rows_in_a_database_loads_them_back(distinct, tmp_path):
    X, y = distinct
    path, model = tmp_path / "rows.db", tmp_path / "model.pkl"
    clf = _sgd(rows_path=path).fit(X, y, sample_id=range(300))
    clf.forget(sample_id=range(10))
    clf.partial_fit(X[:5].toarray() * 2, y[:5])  # dense rows join the sparse store
    clf.save(model)
    loaded = UnlearnableClassifier.load(model)
    assert loaded._store.sparse and loaded.n_retained_ == 295
    twin = pickle.loads(pickle.dumps(clf))
    loaded.forget(sample_id=range(10, 30))
    twin.forget(sample_id=range(10, 30))
    np.testing.assert_array_equal(loaded.estimator_.coef_, twin.estimator_.coef_)
    retained = sp.vstack([X[30:], sp.csr_matrix(X[:5].toarray() * 2)])
    fresh = SGDClassifier(loss="log_loss", random_state=0).fit(retained, np.r_[y[30:], y[:5]])
    np.testing.assert_array_equal(loaded.retrain().estimator_.coef_, fresh.coef_)
    with sqlite3.connect(path) as connection:  # one value changed behind the model's back
        connection.execute("UPDATE retained_rows SET x = zeroblob(length(x)) WHERE seq = 40")
    with pytest.raises(RowStoreMismatchError, match="1 changed"):
        UnlearnableClassifier.load(model)


@pytest.mark.parametrize("stage", ["apply", "commit"])
@pytest.mark.parametrize("operation", ["partial_fit", "forget"])
def test_a_failed_call_leaves_a_sparse_row_database_as_it_was(
    distinct, tmp_path, monkeypatch, operation, stage
):
    X, y = distinct
    path = tmp_path / "rows.db"
    clf = _sgd(rows_path=path).fit(X[:200], y[:200], sample_id=range(200))
    before, rows_before = state_bytes(clf), _database_rows(path)
    fail_at_stage(monkeypatch, stage)
    with pytest.raises(KeyboardInterrupt):
        if operation == "partial_fit":
            clf.partial_fit(X[200:], y[200:])
        else:
            clf.forget(sample_id=range(15))
    assert state_bytes(clf) == before
    assert _database_rows(path) == rows_before


@pytest.mark.parametrize("stage", STAGES)
def test_a_failed_sparse_request_changes_nothing(tfidf, monkeypatch, stage):
    X, y = tfidf
    clf = _sgd(n_replay=4).fit(X, y, sample_id=range(X.shape[0]))
    before = state_bytes(clf)
    fail_at_stage(monkeypatch, stage)
    with pytest.raises(KeyboardInterrupt):
        clf.forget(sample_id=[3, 4, 5])
    assert state_bytes(clf) == before
    monkeypatch.undo()
    assert clf.forget(sample_id=[3, 4, 5]).n_retained_ == X.shape[0] - 3
