"""Retained rows in a SQLite database outside the model file (``rows_path``)."""

import copy
import pickle
import sqlite3

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import MultinomialNB

from sk_unlearn import RowStoreMismatchError, UnlearnableClassifier
from sk_unlearn._transaction import Transaction
from sk_unlearn.metrics import make_unlearning_scorer


def _sgd(tmp_path, **kwargs):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        random_state=0,
        rows_path=tmp_path / "rows.db",
        **kwargs,
    )


@pytest.fixture
def data(digits):
    # Distinct, recognisable values: no row's bytes occur by chance elsewhere.
    rng = np.random.default_rng(0)
    X = digits.X_train[:300] + rng.uniform(1e-6, 1e-3, size=(300, 64))
    return X, digits.y_train[:300]


def _row_bytes(row):
    return [row.astype(np.float64).tobytes(), row.astype(np.float32).tobytes()]


def _db_rows(path):
    with sqlite3.connect(path) as connection:
        return sorted(connection.execute("SELECT model, seq, dtype, x FROM retained_rows"))


def test_the_pickle_holds_no_row_and_the_file_every_row(tmp_path, data):
    X, y = data
    clf = _sgd(tmp_path).fit(X, y)
    blob = pickle.dumps(clf)
    database = (tmp_path / "rows.db").read_bytes()
    for row in X[:50]:
        assert not any(b in blob for b in _row_bytes(row))
        assert row.tobytes() in database
    in_memory = pickle.dumps(UnlearnableClassifier(SGDClassifier(random_state=0)).fit(X, y))
    assert len(blob) < len(in_memory) / 4  # the rows were most of the pickle


def test_forgotten_rows_are_gone_from_the_database_file(tmp_path, data):
    X, y = data
    clf = _sgd(tmp_path).fit(X, y)
    clf.forget(X[:20], y[:20])
    database = (tmp_path / "rows.db").read_bytes()
    for row in X[:20]:
        assert not any(b in database for b in _row_bytes(row))
        # Not even an 8-byte fragment of a value survives (secure_delete zeroes the cells).
        assert not any(row[j : j + 1].tobytes() in database for j in range(0, 64, 7) if row[j])
    for row in X[20:40]:
        assert row.tobytes() in database
    assert not list(tmp_path.glob("rows.db-journal"))  # the rollback journal is deleted


def test_a_loaded_model_reads_its_rows_back_and_behaves_the_same(tmp_path, data):
    X, y = data
    clf = _sgd(tmp_path).fit(X, y).forget(X[:5], y[:5])
    path = tmp_path / "model.pkl"
    clf.save(path)
    loaded = UnlearnableClassifier.load(path)
    assert loaded.n_retained_ == len(X) - 5
    clf.forget(X[5:10], y[5:10])  # both serve the same requests (and delete the same rows)
    loaded.forget(X[5:10], y[5:10])
    np.testing.assert_array_equal(loaded.estimator_.coef_, clf.estimator_.coef_)
    np.testing.assert_array_equal(loaded.retrain().predict(X), clf.retrain().predict(X))


def test_load_refuses_a_database_that_changed_since_the_save(tmp_path, data):
    X, y = data
    clf = _sgd(tmp_path).fit(X, y)
    path = tmp_path / "model.pkl"
    clf.save(path)
    clf.forget(X[:3], y[:3])  # the file changes; the saved model does not
    with pytest.raises(RowStoreMismatchError, match="3 retained row.s. missing"):
        UnlearnableClassifier.load(path)
    clf.save(path)
    assert UnlearnableClassifier.load(path).n_retained_ == len(X) - 3
    clf.partial_fit(X[:2], y[:2])  # learned after the save: rows the saved model lacks
    with pytest.raises(RowStoreMismatchError, match="2 it does not retain"):
        UnlearnableClassifier.load(path)
    clf.save(path)
    with sqlite3.connect(tmp_path / "rows.db") as connection:
        connection.execute("UPDATE retained_rows SET x = zeroblob(length(x)) WHERE seq = 7")
    with pytest.raises(RowStoreMismatchError, match="1 changed"):
        UnlearnableClassifier.load(path)
    (tmp_path / "rows.db").unlink()
    with pytest.raises(RowStoreMismatchError, match="does not exist"):
        UnlearnableClassifier.load(path)


def test_a_new_fit_deletes_the_previous_fits_rows(tmp_path, data):
    X, y = data
    clf = _sgd(tmp_path).fit(X, y)
    clf.fit(X[150:], y[150:])
    database = (tmp_path / "rows.db").read_bytes()
    assert not any(b in database for row in X[:20] for b in _row_bytes(row))
    assert {model for model, *_ in _db_rows(tmp_path / "rows.db")} == {clf._ledger.fit_id}


def test_partial_fit_and_retrain_keep_the_file_in_step(tmp_path, data):
    X, y = data
    clf = _sgd(tmp_path).partial_fit(X[:100], y[:100], classes=np.arange(10))
    clf.partial_fit(X[100:], y[100:]).forget(X[:10], y[:10]).retrain()
    assert len(_db_rows(tmp_path / "rows.db")) == len(X) - 10
    path = tmp_path / "model.pkl"
    clf.save(path)
    assert UnlearnableClassifier.load(path).n_retained_ == len(X) - 10


@pytest.mark.parametrize("stage", ["validate", "apply", "ledger-commit", "commit", "version"])
@pytest.mark.parametrize("operation", ["fit", "partial_fit", "forget"])
def test_a_failed_call_leaves_the_database_as_it_was(tmp_path, data, monkeypatch, operation, stage):
    X, y = data
    clf = _sgd(tmp_path).fit(X[:200], y[:200])
    before, rows_before = pickle.dumps(clf), _db_rows(tmp_path / "rows.db")
    original = Transaction.stage

    def failing(self, name):
        if name == stage:
            raise KeyboardInterrupt
        original(self, name)

    monkeypatch.setattr(Transaction, "stage", failing)
    with pytest.raises(KeyboardInterrupt):
        if operation == "fit":
            clf.fit(X, y)
        elif operation == "partial_fit":
            clf.partial_fit(X[200:], y[200:])
        else:
            clf.forget(X[:10], y[:10])
    assert pickle.dumps(clf) == before
    assert _db_rows(tmp_path / "rows.db") == rows_before


def test_a_database_write_that_fails_changes_nothing(tmp_path, data, monkeypatch):
    X, y = data
    clf = _sgd(tmp_path).fit(X, y)
    before, rows_before = pickle.dumps(clf), _db_rows(tmp_path / "rows.db")
    from sk_unlearn._row_file import RowFile

    def broken(self, seqs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(RowFile, "delete", broken)
    with pytest.raises(sqlite3.OperationalError):
        clf.forget(X[:4], y[:4])
    assert pickle.dumps(clf) == before
    assert _db_rows(tmp_path / "rows.db") == rows_before


def test_a_deep_copy_is_in_memory_and_never_writes_the_file(tmp_path, data):
    X, y = data
    clf = _sgd(tmp_path).fit(X, y)
    rows_before = _db_rows(tmp_path / "rows.db")
    rehearsal = copy.deepcopy(clf).forget(X[:10], y[:10])
    assert rehearsal.n_retained_ == len(X) - 10
    assert _db_rows(tmp_path / "rows.db") == rows_before
    scorer = make_unlearning_scorer(0.05, random_state=0)  # forgets on a copy
    assert np.isfinite(scorer(clf, X[:100], y[:100]))
    assert _db_rows(tmp_path / "rows.db") == rows_before


def test_rows_of_another_dtype_and_exact_removal(tmp_path, data):
    X, y = data
    counts = (X * 16).round()
    nb = UnlearnableClassifier(MultinomialNB(), rows_path=tmp_path / "nb.db").fit(
        counts.astype(np.float32), y
    )
    nb.partial_fit(counts[:5], y[:5])  # float64 rows widen the store
    nb.forget(counts[:5], y[:5])
    path = tmp_path / "nb.pkl"
    nb.save(path)
    loaded = UnlearnableClassifier.load(path)
    assert loaded.n_retained_ == len(X)
    assert loaded._store.X.dtype == np.float64
