"""The retained-row store: lookup, erasure that leaves nothing, sampling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sk_unlearn import UnknownRowError, row_hash
from sk_unlearn._store import RowStore, row_digest


def _store(X, y):
    store = RowStore(X.shape[1], X.dtype, np.asarray(y).dtype)
    store.add(X, np.asarray(y))
    return store


def _consistent(store: RowStore) -> None:
    """Every index agrees with the arrays."""
    n = len(store)
    assert sorted(p for _, ps in store._by_hash.items() for p in ps) == list(range(n))
    for d, ps in store._by_hash.items():
        for p in ps:
            assert row_digest(store.X[p]) == d == store.digest(p)
    assert sorted(p for ps in store._by_class.values() for p in ps) == list(range(n))
    for label, ps in store._by_class.items():
        for slot, p in enumerate(ps):
            assert store.y[p] == label and store._class_slot[p] == slot
    assert not store._X[n:].any()  # spare capacity holds no data
    assert len(set(store._seq[:n].tolist())) == n


def test_digest_ignores_dtype_and_signed_zero():
    row = np.array([0.0, 1.5, 2.0])
    assert row_digest(row) == row_digest(row.astype(np.float32))
    assert row_digest(row) == row_digest(np.array([-0.0, 1.5, 2.0]))
    assert row_digest(row) != row_digest(row[::-1])
    assert row_hash(row) == row_hash(row.astype(np.float32)) == row_hash([-0.0, 1.5, 2.0])
    assert row_hash(row) != row_digest(row).hex()  # keyed: not the plain SHA-256


def test_adding_never_writes_into_the_callers_array():
    X = np.array([[-0.0, 1.0], [2.0, -0.0]])
    _store(X, [0, 1])
    assert np.signbit(X[0, 0]) and np.signbit(X[1, 1])


def test_random_erasures_keep_indexes_consistent():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 3, size=(300, 4)).astype(float)  # many duplicate rows
    y = rng.randint(0, 4, size=300)
    store = _store(X, y)
    alive = list(range(300))
    for _ in range(30):
        batch = rng.choice(len(alive), size=min(7, len(alive)), replace=False)
        originals = [alive[i] for i in batch]
        positions = store.locate(X[originals], y[originals])
        store.erase(positions)
        alive = [a for i, a in enumerate(alive) if i not in set(batch.tolist())]
        _consistent(store)
        # The multiset of retained rows is exactly the survivors.
        kept = sorted(map(tuple, np.c_[store.X, store.y].tolist()))
        assert kept == sorted(map(tuple, np.c_[X[alive], y[alive]].tolist()))
    assert len(store) == 300 - 210


def test_duplicates_one_request_removes_one_copy():
    X = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]])
    store = _store(X, [0, 0, 1])
    store.erase(store.locate(X[:1], [0]))
    assert len(store) == 2
    store.erase(store.locate(X[:1], [0]))
    with pytest.raises(UnknownRowError, match="not among the retained"):
        store.locate(X[:1], [0])


def test_locate_explains_each_kind_of_miss():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    store = _store(X, [0, 1])
    with pytest.raises(
        UnknownRowError, match=r"Row 0 of X \(label 1\) matches retained rows with label\(s\) 0"
    ):
        store.locate(X[:1], [1])
    with pytest.raises(UnknownRowError, match="Row 1 .* requested more often than it is retained"):
        store.locate(X[[0, 0]], [0, 0])
    with pytest.raises(UnknownRowError, match="Row 0 .* not among the retained"):
        store.locate(np.array([[9.0, 9.0]]), [0])


def test_sample_class_returns_distinct_rows_of_that_class_only():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [500, 20, 3])
    X = np.arange(y.size * 2, dtype=float).reshape(-1, 2)
    store = _store(X, y)
    exclude = set(range(10))
    for label, n in [(0, 8), (1, 8), (1, 30), (2, 8)]:
        picked = store.sample_class(label, n, rng, exclude=exclude)
        assert len(set(picked.tolist())) == len(picked) == min(n, (y == label).sum())
        assert (store.y[picked] == label).all()
        assert not exclude & set(picked.tolist())
    assert store.sample_class(0, 0, rng).size == 0
    assert store.sample_class(7, 5, rng).size == 0


def test_pickle_carries_only_live_rows():
    X = np.arange(40, dtype=float).reshape(20, 2) + 0.5
    store = _store(X, np.zeros(20, dtype=int))
    store.erase(store.locate(X[5:15], [0] * 10))
    restored = pickle.loads(pickle.dumps(store))
    assert len(restored) == 10
    np.testing.assert_array_equal(restored.X, store.X)
    _consistent(restored)
    restored.add(X[5:6], np.array([0]))  # it keeps growing after a round trip
    assert restored.locate(X[5:6], [0])


def test_wider_rows_widen_the_store_so_values_survive_exactly():
    X32 = np.array([[0.5, 1.0]], dtype=np.float32)
    store = _store(X32, [0])
    x64 = np.array([[0.1, 0.2]])  # not representable in float32
    store.add(x64, np.array([1]))
    assert store.X.dtype == np.float64
    assert store.locate(x64, [1]) == [1]
    assert store.locate(X32, [0]) == [0]


def test_learning_order_survives_erasures():
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.arange(10) % 2
    store = _store(X, y)
    store.erase(store.locate(X[[1, 4, 5]], y[[1, 4, 5]]))
    ordered_X, ordered_y = store.in_learning_order()
    kept = [0, 2, 3, 6, 7, 8, 9]
    np.testing.assert_array_equal(ordered_X, X[kept])
    np.testing.assert_array_equal(ordered_y, y[kept])
    assert not np.array_equal(store.X, X[kept])  # the slots themselves were reordered
