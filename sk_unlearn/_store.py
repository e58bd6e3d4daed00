"""The retained training rows, indexed by content hash and by class.

Every row an :class:`~sk_unlearn.UnlearnableClassifier` learned is kept here so
that a deletion request can be recognised, same-class rows can be replayed and
the model can be retrained without the forgotten rows. Erasing a row overwrites
its slot, so no copy of it survives in the arrays this object holds or pickles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np

_HASH_CHUNK = 4096


def row_digest(row: np.ndarray) -> bytes:
    """SHA-256 of a row's values, independent of its dtype and memory layout.

    The row is canonicalised to contiguous float64 (``+ 0.0`` turns ``-0.0``
    into ``0.0``), so a row learned as float32 and requested as float64 or int
    with the same values has the same digest.
    """
    canonical = np.ascontiguousarray(row, dtype=np.float64) + 0.0
    return hashlib.sha256(canonical.tobytes()).digest()


def _digests(X: np.ndarray) -> list[bytes]:
    out: list[bytes] = []
    for start in range(0, X.shape[0], _HASH_CHUNK):
        # "+ 0.0" makes a fresh array: never write into the caller's X.
        block = np.ascontiguousarray(X[start : start + _HASH_CHUNK], dtype=np.float64) + 0.0
        out.extend(hashlib.sha256(r.tobytes()).digest() for r in block)
    return out


def label_key(value: Any) -> Hashable:
    """A label as a plain Python value, usable as a dict key."""
    return value.item() if isinstance(value, np.generic) else value


class UnknownRowError(ValueError):
    """A deletion request names a row that is not among the retained rows."""


UnknownRowError.__module__ = "sk_unlearn"  # its public home


class RowStore:
    """Training rows with O(1) lookup by content and O(1) erasure.

    Rows live in the first ``len(self)`` slots of preallocated arrays. Erasing
    slot ``p`` moves the last row into ``p`` and zeroes the vacated last slot
    (swap-remove), so erasure costs O(n_features) and leaves nothing behind.

    Parameters
    ----------
    n_features : int
        Number of columns of every row.
    dtype : numpy dtype
        Floating dtype the rows are kept in.
    label_dtype : numpy dtype
        Dtype of the labels (that of the classifier's ``classes_``).
    """

    def __init__(self, n_features: int, dtype: Any, label_dtype: Any) -> None:
        self._X = np.zeros((0, n_features), dtype=dtype)
        self._y = np.empty(0, dtype=label_dtype)
        self._digest: list[bytes | None] = []
        self._n = 0
        self._by_hash: dict[bytes, list[int]] = {}
        self._by_class: dict[Hashable, list[int]] = {}
        self._class_slot = np.zeros(0, dtype=np.intp)
        # Insertion sequence numbers: swap-remove reorders the slots, but
        # retraining should see the rows in the order they were learned.
        self._seq = np.zeros(0, dtype=np.int64)
        self._next_seq = 0

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return self._n

    @property
    def X(self) -> np.ndarray:
        """The retained rows, shape ``(len(self), n_features)`` (a view)."""
        return self._X[: self._n]

    @property
    def y(self) -> np.ndarray:
        """The labels of the retained rows (a view)."""
        return self._y[: self._n]

    def in_learning_order(self, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Retained rows and labels in the order they were learned.

        Parameters
        ----------
        keep : ndarray of bool of shape (len(self),), default=None
            Only the rows where this is true.
        """
        positions = np.arange(self._n) if keep is None else np.flatnonzero(keep)
        positions = positions[np.argsort(self._seq[positions], kind="stable")]
        return self._X[positions], self._y[positions]

    def digest(self, position: int) -> bytes:
        """Content digest of the row at ``position``."""
        d = self._digest[position]
        assert d is not None
        return d

    def class_counts(self) -> dict[Hashable, int]:
        """Number of retained rows of each class that has any."""
        return {c: len(p) for c, p in self._by_class.items() if p}

    # ---------------------------------------------------------------- growing
    def _reserve(self, n_total: int) -> None:
        capacity = self._X.shape[0]
        if n_total <= capacity:
            return
        new_capacity = max(n_total, int(capacity * 1.5) + 16)
        X = np.zeros((new_capacity, self._X.shape[1]), dtype=self._X.dtype)
        X[: self._n] = self._X[: self._n]
        y = np.empty(new_capacity, dtype=self._y.dtype)
        y[: self._n] = self._y[: self._n]
        slot = np.zeros(new_capacity, dtype=np.intp)
        slot[: self._n] = self._class_slot[: self._n]
        seq = np.zeros(new_capacity, dtype=np.int64)
        seq[: self._n] = self._seq[: self._n]
        self._X, self._y, self._class_slot, self._seq = X, y, slot, seq
        self._digest.extend([None] * (new_capacity - len(self._digest)))

    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        """Append rows ``X`` with labels ``y``.

        Rows of a wider dtype than those kept so far (float64 after float32)
        widen the store, so every row is kept with the values it was given.
        """
        wider = np.result_type(self._X.dtype, X.dtype)
        if wider != self._X.dtype:
            self._X = self._X.astype(wider)
        start, n_new = self._n, X.shape[0]
        digests = _digests(X)
        self._reserve(start + n_new)
        self._X[start : start + n_new] = X
        self._y[start : start + n_new] = y
        self._seq[start : start + n_new] = np.arange(self._next_seq, self._next_seq + n_new)
        self._next_seq += n_new
        for offset, (d, label) in enumerate(zip(digests, map(label_key, y))):
            position = start + offset
            self._digest[position] = d
            self._by_hash.setdefault(d, []).append(position)
            members = self._by_class.setdefault(label, [])
            self._class_slot[position] = len(members)
            members.append(position)
        self._n += n_new

    # ----------------------------------------------------------------- lookup
    def locate(self, X: np.ndarray, y: Sequence[Hashable] | np.ndarray) -> list[int]:
        """Positions of the retained rows matching each ``(X[i], y[i])``.

        Each request claims one retained copy; asking for a row twice in one
        call needs two retained copies. Nothing is modified.

        Raises
        ------
        UnknownRowError
            Naming the first request that matches no unclaimed retained row.
        """
        claimed: set[int] = set()
        positions: list[int] = []
        for i, (row, label) in enumerate(zip(X, y)):
            candidates = self._by_hash.get(row_digest(row), [])
            # Compare values too: a digest match alone could be a collision.
            matching = [
                p for p in candidates if np.array_equal(self._X[p], row.astype(self._X.dtype))
            ]
            free = [p for p in matching if p not in claimed]
            same_label = [p for p in free if self._y[p] == label]
            if not same_label:
                raise UnknownRowError(self._explain_miss(i, label, matching, free))
            claimed.add(same_label[0])
            positions.append(same_label[0])
        return positions

    def _explain_miss(self, i: int, label: Hashable, matching: list[int], free: list[int]) -> str:
        prefix = f"Row {i} of X (label {label_key(label)!r}) "
        if free:
            labels = sorted({repr(label_key(self._y[p])) for p in free})
            reason = f"matches retained rows with label(s) {', '.join(labels)} only"
        elif matching:
            reason = "is requested more often than it is retained"
        else:
            reason = "is not among the retained training rows"
        return prefix + reason + "; nothing was forgotten."

    # --------------------------------------------------------------- sampling
    def sample_class(
        self,
        label: Hashable,
        n: int,
        rng: np.random.Generator,
        exclude: Iterable[int] = (),
    ) -> np.ndarray:
        """Positions of up to ``n`` distinct retained rows of class ``label``.

        Positions in ``exclude`` are never returned. Expected cost is O(n)
        when the class is much larger than ``n`` and ``exclude``.
        """
        members = self._by_class.get(label_key(label), [])
        excluded = set(exclude)
        if n <= 0 or not members:
            return np.empty(0, dtype=np.intp)
        if 4 * (n + len(excluded)) >= len(members):
            pool = np.array([p for p in members if p not in excluded], dtype=np.intp)
            if pool.size <= n:
                return pool
            return pool[rng.choice(pool.size, size=n, replace=False)]
        chosen: dict[int, None] = {}
        while len(chosen) < n:
            for draw in rng.integers(0, len(members), size=n - len(chosen)):
                position = members[draw]
                if position not in excluded:
                    chosen[position] = None
        return np.fromiter(chosen, dtype=np.intp, count=len(chosen))[:n]

    # ---------------------------------------------------------------- erasing
    def erase(self, positions: Iterable[int]) -> None:
        """Delete the rows at ``positions``; their values are overwritten."""
        for position in sorted(set(positions), reverse=True):
            self._erase_one(position)

    def _erase_one(self, p: int) -> None:
        last = self._n - 1
        d, label = self.digest(p), label_key(self._y[p])
        self._by_hash[d].remove(p)
        if not self._by_hash[d]:
            del self._by_hash[d]
        self._remove_from_class(label, p)
        if p != last:
            moved_digest, moved_label = self.digest(last), label_key(self._y[last])
            self._X[p] = self._X[last]
            self._y[p] = self._y[last]
            self._seq[p] = self._seq[last]
            self._digest[p] = moved_digest
            hash_list = self._by_hash[moved_digest]
            hash_list[hash_list.index(last)] = p
            slot = self._class_slot[last]
            self._by_class[moved_label][slot] = p
            self._class_slot[p] = slot
        self._X[last] = 0
        self._digest[last] = None
        self._n = last

    def _remove_from_class(self, label: Hashable, p: int) -> None:
        members = self._by_class[label]
        slot = self._class_slot[p]
        tail = members.pop()
        if tail != p:
            members[slot] = tail
            self._class_slot[tail] = slot

    # ---------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        # Keep only live rows: spare capacity is zeros, but need not travel.
        state = self.__dict__.copy()
        n = self._n
        state["_X"] = self._X[:n].copy()
        state["_y"] = self._y[:n].copy()
        state["_class_slot"] = self._class_slot[:n].copy()
        state["_seq"] = self._seq[:n].copy()
        state["_digest"] = self._digest[:n]
        return state
