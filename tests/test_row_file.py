"""Retained rows outside the model file (``rows_path``): a SQLite database or mapped files."""

import copy
import pickle
import sqlite3

import numpy as np
import pytest
from conftest import fail_at_stage
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import MultinomialNB

from sk_unlearn import RowStoreMismatchError, UnlearnableClassifier
from sk_unlearn.metrics import make_unlearning_scorer


class Where:
    """Where a test's rows live: a SQLite file or a directory of mapped files."""

    def __init__(self, kind, tmp_path):
        self.kind = kind
        self.path = tmp_path / "rows.db" if kind == "sqlite" else tmp_path / "rows"
        if kind == "memmap":
            self.path.mkdir()

    def files(self):
        return [self.path] if self.kind == "sqlite" else sorted(self.path.iterdir())

    def stored(self):
        """Every byte the rows' files hold."""
        return b"".join(f.read_bytes() for f in self.files())

    def snapshot(self):
        """What the files say, to compare before and after a call."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as connection:
                return sorted(connection.execute("SELECT * FROM retained_rows"))
        return {f.name: f.read_bytes() for f in self.files()}


@pytest.fixture(params=["sqlite", "memmap"])
def where(request, tmp_path):
    return Where(request.param, tmp_path)


def _sgd(where, **kwargs):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        random_state=0,
        rows_path=where.path,
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


def test_the_pickle_holds_no_row_and_the_file_every_row(where, data):
    X, y = data
    clf = _sgd(where).fit(X, y)
    blob, stored = pickle.dumps(clf), where.stored()
    for row in X[:50]:
        assert not any(b in blob for b in _row_bytes(row))
        assert row.tobytes() in stored
    in_memory = pickle.dumps(UnlearnableClassifier(SGDClassifier(random_state=0)).fit(X, y))
    assert len(blob) < len(in_memory) / 4  # the rows were most of the pickle


def test_forgotten_rows_are_gone_from_the_files(where, tmp_path, data):
    X, y = data
    clf = _sgd(where).fit(X, y)
    clf.forget(X[:20], y[:20])
    stored = where.stored()
    for row in X[:20]:
        assert not any(b in stored for b in _row_bytes(row))
        # Not even an 8-byte fragment of a value survives.
        assert not any(row[j : j + 1].tobytes() in stored for j in range(0, 64, 7))
    for row in X[20:40]:
        assert row.tobytes() in stored
    assert not list(tmp_path.glob("rows.db-journal"))  # SQLite's rollback journal is deleted


def test_a_loaded_model_reads_its_rows_back_and_behaves_the_same(where, tmp_path, data):
    X, y = data
    clf = _sgd(where).fit(X, y).forget(X[:5], y[:5])
    path = tmp_path / "model.pkl"
    clf.save(path)
    loaded = UnlearnableClassifier.load(path)
    twin = copy.deepcopy(clf)  # in memory: it forgets as the loaded model must
    assert loaded.n_retained_ == len(X) - 5
    twin.forget(X[5:10], y[5:10])
    loaded.forget(X[5:10], y[5:10])
    np.testing.assert_array_equal(loaded.estimator_.coef_, twin.estimator_.coef_)
    np.testing.assert_array_equal(loaded.retrain().predict(X), twin.retrain().predict(X))
    loaded.save(path)
    assert UnlearnableClassifier.load(path).n_retained_ == len(X) - 10


def _tamper(where):
    """Change one retained row's value in the files."""
    if where.kind == "sqlite":
        with sqlite3.connect(where.path) as connection:
            connection.execute("UPDATE retained_rows SET x = zeroblob(length(x)) WHERE seq = 7")
    else:
        (file,) = where.files()
        data = bytearray(file.read_bytes())
        data[8 * 64 * 7 : 8 * 64 * 7 + 8] = bytes(8)  # slot 7's first value
        file.write_bytes(bytes(data))


def test_load_refuses_files_that_changed_since_the_save(where, data, tmp_path):
    X, y = data
    clf = _sgd(where).fit(X, y)
    path = tmp_path / "model.pkl"
    clf.save(path)
    clf.forget(X[:3], y[:3])  # the files change; the saved model does not
    with pytest.raises(RowStoreMismatchError, match=r"save\(\) after each change"):
        UnlearnableClassifier.load(path)
    clf.save(path)
    assert UnlearnableClassifier.load(path).n_retained_ == len(X) - 3
    clf.partial_fit(X[:2], y[:2])  # learned after the save: rows the saved model lacks
    if where.kind == "sqlite":  # (the mapped file only grows where the saved model ignores it)
        with pytest.raises(RowStoreMismatchError, match="2 it does not retain"):
            UnlearnableClassifier.load(path)
    clf.save(path)
    _tamper(where)
    with pytest.raises(RowStoreMismatchError, match="1 changed|1 of 299 differ"):
        UnlearnableClassifier.load(path)
    for file in where.files():
        file.unlink()
    with pytest.raises(RowStoreMismatchError, match="does not exist"):
        UnlearnableClassifier.load(path)


def test_a_new_fit_deletes_the_previous_fits_rows(where, data):
    X, y = data
    clf = _sgd(where).fit(X, y)
    clf.fit(X[150:], y[150:])
    stored = where.stored()
    assert not any(b in stored for row in X[:20] for b in _row_bytes(row))
    assert all(row.tobytes() in stored for row in X[150:170])


def test_partial_fit_and_retrain_keep_the_files_in_step(where, data, tmp_path):
    X, y = data
    clf = _sgd(where).partial_fit(X[:100], y[:100], classes=np.arange(10))
    clf.partial_fit(X[100:], y[100:]).forget(X[:10], y[:10]).retrain()
    stored = where.stored()
    assert sum(row.tobytes() in stored for row in X) == len(X) - 10
    if where.kind == "memmap":  # grown twice, but only the file in use is left
        assert len(where.files()) == 1
    path = tmp_path / "model.pkl"
    clf.save(path)
    assert UnlearnableClassifier.load(path).n_retained_ == len(X) - 10


@pytest.mark.parametrize("stage", ["validate", "apply", "ledger-commit", "commit", "version"])
@pytest.mark.parametrize("operation", ["fit", "partial_fit", "forget"])
def test_a_failed_call_leaves_the_files_as_they_were(where, data, monkeypatch, operation, stage):
    X, y = data
    clf = _sgd(where).fit(X[:200], y[:200])
    before, files_before = pickle.dumps(clf), where.snapshot()
    fail_at_stage(monkeypatch, stage)
    with pytest.raises(KeyboardInterrupt):
        if operation == "fit":
            clf.fit(X, y)
        elif operation == "partial_fit":
            clf.partial_fit(X[200:], y[200:])  # grows the mapped file
        else:
            clf.forget(X[:10], y[:10])
    assert pickle.dumps(clf) == before
    assert where.snapshot() == files_before


@pytest.mark.parametrize("failing", ["estimator", "store", "both"])
@pytest.mark.parametrize("rows", ["in memory", "in files"])
def test_a_refit_failing_while_the_store_is_built_changes_nothing(
    where, data, monkeypatch, failing, rows
):
    """fit trains the estimator while a second thread builds the new store: a failure on
    either side (or both) leaves the model and the files of the previous fit as they were."""
    from sk_unlearn._backends import SGDAdapter
    from sk_unlearn._store import RowStore

    X, y = data
    clf = _sgd(where) if rows == "in files" else UnlearnableClassifier(SGDClassifier())
    clf.fit(X[:200], y[:200])
    before, files_before = pickle.dumps(clf), where.snapshot() if rows == "in files" else None
    added = []
    real_add = RowStore.add

    def add(self, *args, **kwargs):
        journal = real_add(self, *args, **kwargs)  # the new store is built in full ...
        added.append(self)
        if failing in ("store", "both"):
            self.undo(journal)  # ... and, as a failing add does, taken out again
            raise MemoryError("no room for the rows")
        return journal

    def estimator_fit(self, *args, **kwargs):
        if failing in ("estimator", "both"):
            raise KeyboardInterrupt("interrupted while training")

    monkeypatch.setattr(RowStore, "add", add)
    monkeypatch.setattr(SGDAdapter, "fit", estimator_fit)
    error = MemoryError if failing == "store" else KeyboardInterrupt
    with pytest.raises(error):
        clf.fit(X, y)
    monkeypatch.undo()
    assert len(added) == 1 and len(added[0]) == 0  # the new store was built, then emptied
    assert pickle.dumps(clf) == before
    if rows == "in files":
        assert where.snapshot() == files_before
        assert clf.forget(X[:3], y[:3]).n_retained_ == 197  # the old rows still serve


def test_a_write_that_fails_changes_nothing(where, data, monkeypatch):
    X, y = data
    clf = _sgd(where).fit(X, y)
    before, files_before = pickle.dumps(clf), where.snapshot()
    if where.kind == "sqlite":
        from sk_unlearn._row_file import RowFile

        def broken(self, seqs):
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(RowFile, "delete", broken)
    else:
        failures = iter([OSError("msync failed")])
        original = np.memmap.flush

        def broken(self):  # only the first flush fails: the undo's own flush works
            error = next(failures, None)
            if error is not None:
                raise error
            original(self)

        monkeypatch.setattr(np.memmap, "flush", broken)
    with pytest.raises((sqlite3.OperationalError, OSError)):
        clf.forget(X[:4], y[:4])
    assert pickle.dumps(clf) == before
    assert where.snapshot() == files_before


def test_a_deep_copy_is_in_memory_and_never_writes_the_files(where, data):
    X, y = data
    clf = _sgd(where).fit(X, y)
    files_before = where.snapshot()
    rehearsal = copy.deepcopy(clf).forget(X[:10], y[:10])
    assert rehearsal.n_retained_ == len(X) - 10
    assert where.snapshot() == files_before
    scorer = make_unlearning_scorer(0.05, random_state=0)  # forgets on a copy
    assert np.isfinite(scorer(clf, X[:100], y[:100]))
    assert where.snapshot() == files_before


def test_rows_of_another_dtype_and_exact_removal(where, data, tmp_path):
    X, y = data
    counts = (X * 16).round()
    nb = UnlearnableClassifier(MultinomialNB(), rows_path=where.path)
    nb.fit(counts.astype(np.float32), y)
    nb.partial_fit(counts[:5], y[:5])  # float64 rows widen the store
    nb.forget(counts[:5], y[:5])
    path = tmp_path / "nb.pkl"
    nb.save(path)
    loaded = UnlearnableClassifier.load(path)
    assert loaded.n_retained_ == len(X)
    assert loaded._store.X.dtype == np.float64
    np.testing.assert_allclose(loaded.predict_proba(counts), nb.predict_proba(counts))


def test_a_sharded_model_refuses_a_rows_path(where, data):
    from sk_unlearn import ShardedClassifier

    X, y = data
    clf = UnlearnableClassifier(
        ShardedClassifier(SGDClassifier(loss="log_loss"), n_shards=2), rows_path=where.path
    )
    with pytest.raises(ValueError, match="shards keep their own copy"):
        clf.fit(X, y)
    assert not hasattr(clf, "estimator_")
