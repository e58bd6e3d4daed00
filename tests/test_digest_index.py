"""The digest index of the row store, and the compact pickled form of the store."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._digest_index import DigestIndex
from sk_unlearn._safe_pickle import OUT_OF_BAND_BYTES, UnsafePickleError
from sk_unlearn._store import RowStore


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), min_size=1, max_size=60))
def test_the_index_agrees_with_a_dict_of_sets_under_any_changes(operations):
    # Slots 0..n-1 are live, as in the store: add appends, remove swap-removes.
    index, reference, digests = DigestIndex(), {}, []
    for kind, value in operations:
        digest = bytes([value])
        if kind < 2 or not digests:  # add at the end
            p = len(digests)
            index.reserve(p + 1)
            index.add(digest, p)
            reference.setdefault(digest, set()).add(p)
            digests.append(digest)
        else:  # remove slot value % n, moving the last slot into it
            p, last = value % len(digests), len(digests) - 1
            gone = digests[p]
            index.remove(gone, p)
            reference[gone].discard(p)
            if p != last:
                moved = digests[last]
                index.move(moved, last, p)
                reference[moved].discard(last)
                reference[moved].add(p)
                digests[p] = moved
            digests.pop()
        for d, positions in reference.items():
            assert sorted(index.positions(d)) == sorted(positions)
        assert len(index) == sum(1 for ps in reference.values() if ps)
    rebuilt = DigestIndex.build(digests, len(digests))
    assert {d: sorted(ps) for d, ps in rebuilt.items()} == {
        d: sorted(ps) for d, ps in index.items()
    }


def test_of_identical_rows_the_one_learned_first_is_forgotten_first_even_after_pickling():
    X = np.array([[1.0, 2.0], [5.0, 5.0], [1.0, 2.0], [1.0, 2.0]])
    store = RowStore(2, np.float64, np.int64)
    store.add(X, np.array([0, 1, 0, 0]))
    store.erase(store.locate(X[1:2], [1]))  # slot 3 moves into slot 1
    for copy in (store, pickle.loads(pickle.dumps(store))):
        (position,) = copy.locate(X[:1], [0])
        assert copy._seq[position] == 0  # learned first


@pytest.fixture
def large():
    """Rows past the out-of-band threshold, each value distinct."""
    rng = np.random.default_rng(0)
    n = OUT_OF_BAND_BYTES // (8 * 50) + 100
    X = rng.uniform(size=(n, 50))
    return X, (X[:, 0] > 0.5).astype(int)


def test_large_rows_travel_beside_the_nested_state_and_load_back(large, tmp_path):
    X, y = large
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0).fit(X, y)
    clf.forget(X[:10], y[:10])
    state = clf.__getstate__()
    (nested, arrays) = state.values()
    assert len(nested) < X.nbytes / 4 and any(a.nbytes >= X[10:].nbytes for a in arrays)
    blob = pickle.dumps(clf)
    for row in X[:10]:  # forgotten: in neither part
        assert row.tobytes() not in blob
    assert X[10].tobytes() in blob
    path = tmp_path / "model.pkl"
    clf.save(path)
    for loaded in (pickle.loads(blob), UnlearnableClassifier.load(path)):  # safe loader too
        np.testing.assert_array_equal(loaded._store.X, clf._store.X)
        np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
        assert loaded.forget(X[10:12], y[10:12]).n_retained_ == len(y) - 12


def test_a_reference_to_an_array_that_is_not_there_is_refused(large, tmp_path):
    X, y = large
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0).fit(X, y)
    nested, _ = clf.__getstate__().values()
    forged = UnlearnableClassifier.__new__(UnlearnableClassifier)
    with pytest.raises(UnsafePickleError, match="unknown object"):
        forged.__setstate__({"_state_pickled_under_lock": nested, "_arrays_copied_under_lock": []})


def test_a_loaded_store_builds_its_index_on_first_use_and_repickles_unchanged():
    X = np.random.default_rng(1).normal(size=(50, 3))
    store = RowStore(3, np.float64, np.int64)
    store.add(X, np.arange(50) % 2)
    loaded = pickle.loads(pickle.dumps(store))
    assert loaded._hash_index is None  # loaded at the speed of its arrays

    def state(s):
        return {k: pickle.dumps(v) for k, v in s.__getstate__().items()}

    assert state(loaded) == state(store)  # and written back without building anything
    assert loaded._hash_index is None
    assert loaded.locate(X[7:8], [1]) == [7]
    assert loaded._hash_index is not None and state(loaded) == state(store)
