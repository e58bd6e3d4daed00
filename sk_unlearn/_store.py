"""The retained training rows, indexed by content hash and by class.

Every row an :class:`~sk_unlearn.UnlearnableClassifier` learned is kept here so
that a deletion request can be recognised, same-class rows can be replayed and
the model can be retrained without the forgotten rows. Erasing a row overwrites
its slot, so no copy of it survives in the arrays this object holds or pickles.
"""

from __future__ import annotations

import contextvars
import copy
import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import scipy.sparse as sp

from ._digest_index import DigestIndex
from ._keys import block_rows, canonical_blocks, row_bytes
from ._mapped_rows import MappedRows
from ._row_file import RowFile, RowStoreMismatchError
from ._sparse_rows import SparseRows

#: While set, a store with a row file pickles as an in-memory store (see in_memory_copies).
_IN_MEMORY_COPY: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sk_unlearn_in_memory_copy", default=False
)


@contextmanager
def in_memory_copies() -> Iterator[None]:
    """Within the block, stores pickle their rows and no row file: the copy made from such a
    pickle is in memory only and never writes the file (a deep copy, a rehearsal)."""
    token = _IN_MEMORY_COPY.set(True)
    try:
        yield
    finally:
        _IN_MEMORY_COPY.reset(token)


def row_digest(row: np.ndarray) -> bytes:
    """SHA-256 of a row's values, independent of its dtype and memory layout.

    The row is canonicalised as the keyed digests canonicalise it
    (:func:`sk_unlearn._keys.row_bytes`: contiguous float64, ``-0.0`` as
    ``0.0``), so a row learned as float32 and requested as float64 or int
    with the same values has the same digest.
    """
    return hashlib.sha256(row_bytes(row)).digest()


def dense_row(X: Any, i: int) -> np.ndarray:
    """Row ``i`` of ``X`` as a dense array (one row of a sparse matrix densified)."""
    return np.asarray(X[i].toarray()).ravel() if sp.issparse(X) else X[i]


def row_digests(X: Any) -> list[bytes]:
    """:func:`row_digest` of every row of ``X`` (dense, or sparse: the digest of the dense
    row), hashed in blocks."""
    return [hashlib.sha256(r.data).digest() for block in canonical_blocks(X) for r in block]


#: Bytes of a row digest (SHA-256).
_DIGEST_BYTES = 32


def _label_keys(y: Any) -> list[Hashable]:
    """:func:`label_key` of every label (``tolist`` where the dtype is not object: the same
    plain Python values, without a call per label)."""
    y = np.asarray(y)
    if y.dtype != object:
        return y.tolist()  # type: ignore[no-any-return]
    return [label_key(label) for label in y]


def _grouped(labels: Sequence[Hashable]) -> list[tuple[Hashable, np.ndarray]]:
    """Each distinct label (in order of first appearance) with the offsets that have it."""
    groups: dict[Hashable, list[int]] = {}
    for offset, label in enumerate(labels):
        groups.setdefault(label, []).append(offset)
    return [(label, np.asarray(offsets, dtype=np.intp)) for label, offsets in groups.items()]


def label_key(value: Any) -> Hashable:
    """A label as a plain Python value, usable as a dict key."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Journal:
    """What one ``RowStore.add`` or ``RowStore.erase`` changed, for ``RowStore.undo``."""

    kind: str
    entries: list[Any]
    #: Whether the change reached the row file (then undo writes the opposite change).
    written: bool = False


class UnknownRowError(ValueError):
    """A deletion request names a row that is not among the retained rows."""


UnknownRowError.__module__ = "sk_unlearn"  # its public home


class RowStore:
    """Training rows with O(1) lookup by content or by data-subject id, and O(1) erasure.

    Rows live in the first ``len(self)`` slots of preallocated arrays. Erasing
    slot ``p`` moves the last row into ``p`` and zeroes the vacated last slot
    (swap-remove), so erasure costs O(n_features) and leaves nothing behind.
    A row may be an array of any shape (an image for a skorch net); it is
    identified by its full content, and optionally by the data-subject id it
    was learned with (kept only as a salted SHA-256 digest of the id's
    canonical bytes, :func:`sk_unlearn._subjects.subject_bytes`; one id may
    own many rows).

    Parameters
    ----------
    row_shape : int or tuple of int
        The shape of every row: its number of columns, or e.g. ``(1, 28, 28)``.
    dtype : numpy dtype
        Floating dtype the rows are kept in.
    label_dtype : numpy dtype
        Dtype of the labels (that of the classifier's ``classes_``).
    rows_file : RowFile, default=None
        A SQLite database the rows' values are also written to. Then the
        store's pickle holds no row values; unpickling reads them back from
        the file and checks them against the row digests (see
        :mod:`sk_unlearn._row_file`). A deep copy is an in-memory store that
        writes nothing to the file.
    mapped : MappedRows, default=None
        Instead: the rows array is a memory map of files there (see
        :mod:`sk_unlearn._mapped_rows`), flushed after every change; the
        pickle holds no row values either.
    """

    def __init__(
        self,
        row_shape: int | tuple[int, ...],
        dtype: Any,
        label_dtype: Any,
        rows_file: RowFile | None = None,
        mapped: MappedRows | None = None,
        sparse: bool = False,
    ) -> None:
        shape = (row_shape,) if isinstance(row_shape, (int, np.integer)) else tuple(row_shape)
        if sparse and (len(shape) != 1 or mapped is not None):
            raise ValueError("sparse rows are kept 1-d, in memory or in a row database")
        self._X: Any = SparseRows(0, shape[0], dtype) if sparse else np.zeros((0, *shape), dtype)
        self._y = np.empty(0, dtype=label_dtype)
        # The row digests and their index; after unpickling, the digests as one bytes
        # string until first needed (see _materialize).
        self._digests: list[bytes | None] | None = []
        self._hash_index: DigestIndex | None = DigestIndex()
        self._digest_blob: bytes | None = None
        self._n = 0
        self._by_class: dict[Hashable, list[int]] = {}
        self._class_slot = np.zeros(0, dtype=np.intp)
        # Insertion sequence numbers: swap-remove reorders the slots, but
        # retraining should see the rows in the order they were learned.
        self._seq = np.zeros(0, dtype=np.int64)
        self._next_seq = 0
        # Data-subject ids: a salted digest per slot (None: learned without one).
        self._subject_salt = secrets.token_bytes(16)
        self._subject: list[bytes | None] = []
        self._by_subject: dict[bytes, list[int]] = {}
        # Sample weights: one per slot (1 for rows learned without one).
        self._w = np.zeros(0, dtype=np.float64)
        self._weighted = False
        self._file = rows_file
        self._mapped = mapped

    # ----------------------------------------------------------------- digests
    @property
    def _digest(self) -> list[bytes | None]:
        """The row digest of every slot (None: a free slot)."""
        if self._digests is None:
            self._materialize()
        assert self._digests is not None
        return self._digests

    @property
    def _by_hash(self) -> DigestIndex:
        """Digest -> positions of the retained rows with it."""
        if self._hash_index is None:
            self._materialize()
        assert self._hash_index is not None
        return self._hash_index

    def _materialize(self) -> None:
        """Build the digests and their index from the bytes an unpickled store keeps.

        Loading leaves them as one bytes string, so that a model loads at the speed of its
        arrays; the first lookup or change builds them, O(n) once.
        """
        blob = self._digest_blob or b""
        digests = [blob[i : i + _DIGEST_BYTES] for i in range(0, len(blob), _DIGEST_BYTES)]
        self._hash_index = DigestIndex.build(digests, len(digests))
        self._digests = cast("list[bytes | None]", digests)
        self._digest_blob = None

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return self._n

    @property
    def X(self) -> Any:
        """The retained rows, shape ``(len(self), *row_shape)`` (a view; sparse rows: a CSR
        matrix built for the call, O(non-zeros))."""
        return self._X[: self._n]

    @property
    def n_values(self) -> int:
        """Values per row (the product of the row shape)."""
        return int(np.prod(self._X.shape[1:], dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        """The dtype the rows are kept in."""
        return np.dtype(self._X.dtype)

    @property
    def sparse(self) -> bool:
        """Whether the rows are kept sparse (they were learned as a sparse matrix)."""
        return isinstance(self._X, SparseRows)

    def rows_at(self, positions: Sequence[int] | np.ndarray) -> Any:
        """Copies of the rows at ``positions`` (an array, or a CSR matrix for sparse rows)."""
        return self._X[np.asarray(positions, dtype=np.intp)]  # fancy indexing: a copy

    @property
    def y(self) -> np.ndarray:
        """The labels of the retained rows (a view)."""
        return self._y[: self._n]

    def in_learning_order(self, keep: np.ndarray | None = None) -> tuple[Any, np.ndarray]:
        """Retained rows and labels in the order they were learned.

        Parameters
        ----------
        keep : ndarray of bool of shape (len(self),), default=None
            Only the rows where this is true.
        """
        positions = self._learning_order(keep)
        return self._X[positions], self._y[positions]

    def weights_in_learning_order(self, keep: np.ndarray | None = None) -> np.ndarray | None:
        """The sample weights of :meth:`in_learning_order`'s rows; None if no row has one."""
        return self._w[self._learning_order(keep)] if self._weighted else None

    def _learning_order(self, keep: np.ndarray | None) -> np.ndarray:
        positions = np.arange(self._n) if keep is None else np.flatnonzero(keep)
        return positions[np.argsort(self._seq[positions], kind="stable")]

    @property
    def has_weights(self) -> bool:
        """Whether some row was learned with a sample weight (then every row has one)."""
        return self._weighted

    def weights_at(self, positions: Sequence[int] | np.ndarray) -> np.ndarray | None:
        """The sample weights of the rows at ``positions``; None if no row has one."""
        return self._w[np.asarray(positions, dtype=np.intp)] if self._weighted else None

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
        if self.sparse:
            X = self._X.resized(new_capacity)
        else:
            X = self._new_rows((new_capacity, *self._X.shape[1:]), self._X.dtype)
            X[: self._n] = self._X[: self._n]
        y = np.empty(new_capacity, dtype=self._y.dtype)
        y[: self._n] = self._y[: self._n]
        slot = np.zeros(new_capacity, dtype=np.intp)
        slot[: self._n] = self._class_slot[: self._n]
        seq = np.zeros(new_capacity, dtype=np.int64)
        seq[: self._n] = self._seq[: self._n]
        w = np.ones(new_capacity, dtype=np.float64)
        w[: self._n] = self._w[: self._n]
        self._X, self._y, self._class_slot, self._seq, self._w = X, y, slot, seq, w
        self._digest.extend([None] * (new_capacity - len(self._digest)))
        self._by_hash.reserve(new_capacity)
        self._subject.extend([None] * (new_capacity - len(self._subject)))

    def subject_digest(self, subject: bytes) -> bytes:
        """The store's salted digest of an id's canonical bytes (how the store names it)."""
        return hashlib.sha256(self._subject_salt + subject).digest()

    @property
    def has_subjects(self) -> bool:
        """Whether some retained row was learned with a data-subject id."""
        return any(self._by_subject.values())

    def add(
        self,
        X: Any,
        y: np.ndarray,
        subjects: Sequence[bytes] | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> Journal:
        """Append rows ``X`` with labels ``y``; return the journal that :meth:`undo` takes.

        ``subjects`` (canonical id bytes, one per row) names the data subject
        each row belongs to; the store keeps only their salted digests.
        ``sample_weight`` (one per row; None: each weighs 1) is kept with
        the rows, for retraining and replay.

        Rows of a wider dtype than those kept so far (float64 after float32)
        widen the store, so every row is kept with the values it was given.
        Hashing and allocation happen before the store changes; if anything
        fails once it has (an interrupt), the rows added so far are taken out
        again before the exception propagates.
        """
        if sp.issparse(X) and not self.sparse:  # a sparse batch for a dense store
            X = X.toarray()
        digests = row_digests(X)
        labels = _label_keys(y)
        owners: list[bytes | None] = (
            [None] * len(digests)
            if subjects is None
            else [self.subject_digest(s) for s in subjects]
        )
        arrays = (self._X, self._y, self._class_slot, self._seq, self._w, self._weighted)
        journal = Journal("add", [arrays, self._n, self._next_seq, []])
        try:
            wider = np.result_type(self._X.dtype, X.dtype)
            if wider != self._X.dtype:
                if self.sparse:
                    self._X = self._X.resized(len(self._X), wider)
                else:
                    widened = self._new_rows(self._X.shape, wider)
                    widened[...] = self._X
                    self._X = widened
            start, n_new = self._n, X.shape[0]
            self._reserve(start + n_new)
            self._X[start : start + n_new] = X
            self._y[start : start + n_new] = y
            self._w[start : start + n_new] = 1.0 if sample_weight is None else sample_weight
            self._weighted = self._weighted or sample_weight is not None
            self._seq[start : start + n_new] = np.arange(self._next_seq, self._next_seq + n_new)
            self._next_seq += n_new
            # The rows' index entries, a batch at a time. _n first, so that undo
            # (which takes out whatever entries exist) sees every row this touches.
            self._n = start + n_new
            self._digest[start : start + n_new] = digests
            self._by_hash.add_new(digests, start)
            self._subject[start : start + n_new] = owners
            for offset, owner in enumerate(owners):
                if owner is not None:
                    self._by_subject.setdefault(owner, []).append(start + offset)
            for label, offsets in _grouped(labels):
                if label not in self._by_class:
                    journal.entries[3].append(label)  # a class this add introduced
                    self._by_class[label] = []
                members = self._by_class[label]
                positions = start + offsets
                self._class_slot[positions] = len(members) + np.arange(len(offsets))
                members.extend(positions.tolist())
            if self._file is not None:
                self._write_rows(start, start + n_new)
                journal.written = True
            self._flush()
        except BaseException:
            self.undo(journal)
            raise
        return journal

    def _undo_add(self, entries: list[Any], written: bool) -> None:
        arrays, n_before, next_seq_before, new_classes = entries
        if written:
            assert self._file is not None
            self._file.delete(self._seq[n_before : self._n])
        for position in range(self._n - 1, n_before - 1, -1):
            d = self._digest[position]
            if d is not None:
                self._by_hash.discard(d, position)
            owner = self._subject[position]
            owned = self._by_subject.get(owner) if owner is not None else None
            if owned and owned[-1] == position:
                owned.pop()
            self._subject[position] = None
            members = self._by_class.get(label_key(self._y[position]))
            if members and members[-1] == position:
                members.pop()
            self._digest[position] = None
        if arrays[0] is self._X:
            self._X[n_before:] = 0
        if arrays[4] is self._w:
            self._w[n_before:] = 1.0
        # Arrays the add replaced (to grow or widen them) still hold the rows
        # before it, untouched: put them back.
        self._X, self._y, self._class_slot, self._seq, self._w, self._weighted = arrays
        for label in new_classes:
            del self._by_class[label]
        self._n, self._next_seq = n_before, next_seq_before

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

        digests = row_digests(X)  # a block at a time, not a conversion per row

        def matching(i: int) -> list[int]:
            candidates = self._by_hash.positions(digests[i])
            if not candidates:
                return []
            row = dense_row(X, i).astype(self._X.dtype, copy=False)
            # Compare values too: a digest match alone could be a collision.
            return [p for p in candidates if np.array_equal(self._X[p], row)]

        def explain(i: int, label: Hashable, found: list[int], free: list[int]) -> str:
            return self._explain_miss(dense_row(X, i), i, label, found, free)

        return self._claim(matching, y, explain)

    def locate_subjects(self, subjects: Sequence[bytes]) -> tuple[list[int], list[int]]:
        """Positions of every retained row of each data subject, subject by subject.

        ``subjects`` are canonical id bytes (distinct). Returns the positions
        and, for each, the index in ``subjects`` of the subject that owns it.
        Nothing is modified.

        Raises
        ------
        UnknownRowError
            Naming (by its position in ``subjects``) the first id that owns
            no retained row.
        """
        positions: list[int] = []
        owners: list[int] = []
        for i, subject in enumerate(subjects):
            owned = self._by_subject.get(self.subject_digest(subject))
            if not owned:
                raise UnknownRowError(
                    f"sample_id[{i}] owns no retained row (never learned with this id, or "
                    "already forgotten); nothing was forgotten."
                )
            positions.extend(sorted(owned, key=lambda p: self._seq[p]))  # as learned
            owners.extend([i] * len(owned))
        return positions, owners

    def contains(self, X: np.ndarray) -> np.ndarray:
        """Per row of ``X``, whether a retained row has exactly its values."""
        found = np.zeros(X.shape[0], dtype=bool)
        for i in range(X.shape[0]):
            row = dense_row(X, i)
            candidates = self._by_hash.positions(row_digest(row))
            found[i] = any(
                np.array_equal(self._X[p], row.astype(self._X.dtype)) for p in candidates
            )
        return found

    def locate_pending(
        self, digests: Sequence[bytes], y: Sequence[Hashable], requests: Sequence[int]
    ) -> list[int]:
        """Positions of retained rows with each content digest and label, as a ledger names them.

        ``requests`` are the ledger's request numbers, for the error message.

        Raises
        ------
        UnknownRowError
            Naming the first request that matches no unclaimed retained row.
        """

        def explain(i: int, label: Hashable, matching: list[int], free: list[int]) -> str:
            return (
                f"Pending request {requests[i]} (label {label_key(label)!r}) names no retained "
                "row; this model cannot serve it. Nothing was changed."
            )

        return self._claim(lambda i: self._by_hash.positions(digests[i]), y, explain)

    def locate_keyed(
        self,
        hashes: Sequence[tuple[str, str]],
        requests: Sequence[int],
        keyed: Callable[[np.ndarray, Any], tuple[str, str]],
        exclude: Sequence[int] = (),
    ) -> list[int]:
        """Positions of retained rows whose keyed ``(row, label)`` digests are ``hashes``.

        The ledger names a request by keyed digests only, so every retained
        row is digested with ``keyed`` (O(n), done only to recover). One
        unclaimed position per request, never one in ``exclude``.

        Raises
        ------
        UnknownRowError
            Naming the first request that matches no unclaimed retained row.
        """
        index: dict[tuple[str, str], list[int]] = {}
        for p in range(self._n):
            index.setdefault(keyed(self._X[p], self._y[p]), []).append(p)
        claimed, positions = set(exclude), []
        for i, pair in enumerate(hashes):
            free = [p for p in index.get((pair[0], pair[1]), []) if p not in claimed]
            if not free:
                raise UnknownRowError(
                    f"Pending request {requests[i]} names no retained row; this model cannot "
                    "serve it. Nothing was changed."
                )
            claimed.add(free[0])
            positions.append(free[0])
        return positions

    def _claim(
        self,
        matching: Callable[[int], list[int]],
        y: Sequence[Hashable] | np.ndarray,
        explain: Callable[[int, Hashable, list[int], list[int]], str],
    ) -> list[int]:
        """One unclaimed position with the right label for each request, in order."""
        claimed: set[int] = set()
        positions: list[int] = []
        for i, label in enumerate(y):
            found = matching(i)
            free = [p for p in found if p not in claimed]
            wanted = label_key(label)
            same_label = [p for p in free if label_key(self._y[p]) == wanted]
            if not same_label:
                raise UnknownRowError(explain(i, label, found, free))
            # Of identical rows, the one learned first: a rule that does not depend on
            # the order the index lists them in (which a pickle round trip rebuilds).
            chosen = same_label[0]
            if len(same_label) > 1:
                chosen = min(same_label, key=lambda p: self._seq[p])
            claimed.add(chosen)
            positions.append(chosen)
        return positions

    def _explain_miss(
        self, row: np.ndarray, i: int, label: Hashable, matching: list[int], free: list[int]
    ) -> str:
        prefix = f"Row {i} of X (label {label_key(label)!r}) "
        if free:
            labels = sorted({repr(label_key(self._y[p])) for p in free})
            reason = f"matches retained rows with label(s) {', '.join(labels)} only"
        elif matching:
            reason = "is requested more often than it is retained"
        else:
            reason = "is not among the retained training rows"
            if self.is_near(row):
                reason += (
                    ", but a retained row differs from it only slightly (rounding, another "
                    "dtype, a CSV round trip or a transformer that does not reproduce its "
                    "output bit for bit); rows are matched exactly"
                )
                hint = (
                    "Forget by the data-subject id instead: forget(sample_id=...) for rows "
                    "learned with fit(X, y, sample_id=...)."
                )
                return f"{prefix}{reason}; nothing was forgotten. {hint}"
        return prefix + reason + "; nothing was forgotten."

    def is_near(self, row: np.ndarray, *, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        """Whether a retained row equals ``row`` within ``numpy.isclose`` tolerances.

        O(len(self) x n_features), in blocks: for explaining a failed lookup only.
        """
        target = np.asarray(row, dtype=np.float64).ravel()
        step = block_rows(self.sparse, self._X.shape[1] if self._X.ndim == 2 else 1)
        for start in range(0, self._n, step):
            block = self._X[start : min(start + step, self._n)]
            block = block.toarray() if sp.issparse(block) else block
            block = block.reshape(len(block), -1).astype(np.float64)
            if np.isclose(block, target, rtol=rtol, atol=atol).all(axis=1).any():
                return True
        return False

    # --------------------------------------------------------------- sampling
    def replay_sampler(self, exclude: Iterable[int] = ()) -> ReplaySampler:
        """A sampler of retained rows per class that never returns ``exclude``.

        Build it once per ``forget`` call (with the call's own positions): the
        exclusion is indexed once, so drawing for a request costs O(n) however
        many rows the call or the class holds.
        """
        return ReplaySampler(self, exclude)

    def sample_class(
        self,
        label: Hashable,
        n: int,
        rng: np.random.Generator,
        exclude: Iterable[int] = (),
    ) -> np.ndarray:
        """Positions of up to ``n`` distinct retained rows of ``label``, none in ``exclude``."""
        return self.replay_sampler(exclude).sample(label, n, rng)

    def class_members(self, label: Hashable) -> Sequence[int]:
        """Positions of the retained rows of class ``label`` (a read-only view; do not keep)."""
        return self._by_class.get(label_key(label), ())

    # ---------------------------------------------------------------- erasing
    def erase(self, positions: Iterable[int]) -> Journal:
        """Delete the rows at ``positions``; their values are overwritten.

        Returns the journal that :meth:`undo` takes to put them back. It holds
        the erased rows in memory until it is dropped; it is never pickled. If
        the erasure fails part-way (an interrupt), the rows erased so far are
        put back before the exception propagates.
        """
        journal = Journal("erase", [])
        try:
            for position in sorted(set(positions), reverse=True):
                journal.entries.append(self._erase_one(position))
            if self._file is not None:
                self._file.delete([saved[3] for saved in journal.entries])
                journal.written = True
            self._flush()
        except BaseException:
            self.undo(journal)
            raise
        return journal

    def _erase_one(self, p: int) -> tuple[Any, ...]:
        last = self._n - 1
        d, label = self.digest(p), label_key(self._y[p])
        slot = int(self._class_slot[p])
        owner = self._subject[p]
        owned = self._by_subject[owner] if owner is not None else []
        k_owner = owned.index(p) if owner is not None else -1
        saved = (
            p, self._row_copy(p), self._y[p], self._seq[p], d, label, slot, owner, k_owner,
            self._w[p],
        )  # fmt: skip
        self._by_hash.remove(d, p)
        if owner is not None:
            del owned[k_owner]
        self._remove_from_class(label, p)
        if p != last:
            self._move(last, p)
        self._X[last] = 0
        self._w[last] = 1.0
        self._digest[last] = None
        self._subject[last] = None
        self._n = last
        return saved

    def _unerase_one(self, saved: tuple[Any, ...]) -> None:
        """Exactly undo one :meth:`_erase_one`, the last one done."""
        p, row, label_value, seq, d, label, slot, owner, k_owner, weight = saved
        last = self._n
        if p != last:  # the row now at p came from last: move it back
            self._move(p, last)
        self._put_row(p, row)
        self._y[p] = label_value
        self._w[p] = weight
        self._seq[p] = seq
        self._digest[p] = d
        self._by_hash.add(d, p)
        self._subject[p] = owner
        if owner is not None:
            self._by_subject.setdefault(owner, []).insert(k_owner, p)
        members = self._by_class[label]
        if slot < len(members):  # the class's tail had moved into p's slot
            tail = members[slot]
            members.append(tail)
            self._class_slot[tail] = len(members) - 1
            members[slot] = p
        else:
            members.append(p)
        self._class_slot[p] = slot
        self._n = last + 1

    def _move(self, source: int, target: int) -> None:
        """Move the row in slot ``source`` to the free slot ``target``, with its index entries."""
        digest, label = self.digest(source), label_key(self._y[source])
        self._put_row(target, self._row_copy(source))
        self._y[target] = self._y[source]
        self._w[target] = self._w[source]
        self._seq[target] = self._seq[source]
        self._digest[target] = digest
        self._by_hash.move(digest, source, target)
        owner = self._subject[source]
        self._subject[target] = owner
        if owner is not None:
            owned = self._by_subject[owner]
            owned[owned.index(source)] = target
        slot = self._class_slot[source]
        self._by_class[label][slot] = target
        self._class_slot[target] = slot

    def _row_copy(self, p: int) -> Any:
        """The row in slot ``p`` as kept (a copy; for sparse rows, its indices and values)."""
        return self._X.take(p) if self.sparse else self._X[p].copy()

    def _put_row(self, p: int, row: Any) -> None:
        """Put a :meth:`_row_copy` into slot ``p``, exactly as it was kept."""
        if self.sparse:
            self._X.put(p, row)
        else:
            self._X[p] = row

    def _remove_from_class(self, label: Hashable, p: int) -> None:
        members = self._by_class[label]
        slot = self._class_slot[p]
        tail = members.pop()
        if tail != p:
            members[slot] = tail
            self._class_slot[tail] = slot

    # ------------------------------------------------------------------- undo
    def undo(self, journal: Journal) -> None:
        """Put the store back as it was before the :meth:`add` or :meth:`erase` of ``journal``.

        Only the latest change may be undone (undo changes newest first).
        """
        if journal.kind == "add":
            self._undo_add(journal.entries, journal.written)
        else:
            if journal.written:
                assert self._file is not None
                seqs = [saved[3] for saved in journal.entries]
                if self.sparse:
                    self._file.insert_sparse(seqs, [saved[1] for saved in journal.entries])
                else:
                    self._file.insert(seqs, np.stack([saved[1] for saved in journal.entries]))
            for saved in reversed(journal.entries):
                self._unerase_one(saved)
        self._flush()
        if self._mapped is not None:  # an add may have moved to a new file: back to the old
            self._mapped.adopt(self._X)
            self._mapped.release_others()
        journal.entries = []
        journal.written = False

    def settle(self, journal: Journal) -> None:
        """Make the change of ``journal`` final: it can no longer be undone.

        Drops the journal's copies of erased rows and the data-subject entries
        the change left empty (kept until now so that an undo restores that
        index exactly, order included).
        """
        if journal.kind == "add" and self._mapped is not None:
            self._mapped.release_others()  # the files the store outgrew
        if journal.kind == "erase":
            for saved in journal.entries:
                owner = saved[7]
                if owner is not None and not self._by_subject.get(owner, True):
                    del self._by_subject[owner]
        journal.entries = []

    # ---------------------------------------------------------------- pickling
    def __getstate__(self) -> dict[str, Any]:
        # Keep only live rows: spare capacity is zeros, but need not travel.
        # The indexes travel compact and are rebuilt on load: the digests as one
        # bytes string, the class members as arrays (no per-row Python objects to
        # unpickle), the digest index not at all (DigestIndex.build).
        state = self.__dict__.copy()
        n = self._n
        if self._digests is not None:  # else: still the bytes it was loaded with
            state["_digest_blob"] = b"".join(self._digests[:n])  # type: ignore[arg-type]
        state["_digests"] = state["_hash_index"] = None
        state["_by_class"] = {
            c: np.asarray(members, dtype=np.int64) for c, members in self._by_class.items()
        }
        state["_y"] = self._y[:n].copy()
        state["_class_slot"] = self._class_slot[:n].copy()
        state["_seq"] = self._seq[:n].copy()
        state["_w"] = self._w[:n].copy()
        state["_subject"] = self._subject[:n]
        state["_by_subject"] = {s: p for s, p in self._by_subject.items() if p}
        in_memory_copy = _IN_MEMORY_COPY.get()
        if self._file is not None and not in_memory_copy:  # the values are in the file
            state["_X"] = None
            state["_row_layout"] = (self._X.shape[1:], self._X.dtype.str, self.sparse)
        elif self._mapped is not None and not in_memory_copy:
            state["_X"] = None
            state["_mapped_layout"] = (self._X.shape, self._X.dtype.str)
        else:  # the values travel, in memory (a map's too), and no row file with them
            state["_X"] = self._X.resized(n) if self.sparse else np.array(self._X[:n])
            state["_file"] = state["_mapped"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        layout = state.pop("_row_layout", None)
        mapped_layout = state.pop("_mapped_layout", None)
        older = state.pop("_digest", None)  # a store pickled before the digests were bytes
        state.pop("_by_hash", None)
        self.__dict__.update(state)
        if older is not None:  # its digests as a list (and its index as a dict of lists)
            self._digest_blob = older if isinstance(older, bytes) else b"".join(older)
            self._digests = self._hash_index = None
        self._by_class = {
            c: members.tolist() if isinstance(members, np.ndarray) else members
            for c, members in self._by_class.items()
        }
        self.__dict__.setdefault("_file", None)
        self.__dict__.setdefault("_mapped", None)
        if layout is not None:
            sparse = len(layout) > 2 and layout[2]  # a 2-tuple: stored before sparse rows
            self._X = self._attach(tuple(layout[0]), np.dtype(layout[1]), sparse)
        if mapped_layout is not None:
            assert self._mapped is not None
            shape, dtype = tuple(mapped_layout[0]), np.dtype(mapped_layout[1])
            self._X = self._mapped.open(self._mapped.current, shape, dtype)
            self._check_rows(self._X, self._mapped.current or "")
        if "_subject" not in state:  # a store pickled before data-subject ids
            self._subject_salt = secrets.token_bytes(16)
            self._subject = [None] * len(self._seq)
            self._by_subject = {}
        if "_w" not in state:  # a store pickled before sample weights
            self._w = np.ones(len(self._seq), dtype=np.float64)
            self._weighted = False

    def __deepcopy__(self, memo: dict[int, Any]) -> RowStore:
        """An in-memory copy that writes nothing to a row file (a rehearsal's scratch copy)."""
        with in_memory_copies():
            state = self.__getstate__()
        copied = RowStore.__new__(RowStore)
        copied.__setstate__(copy.deepcopy(state, memo))
        return copied

    def _new_rows(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """A zeroed rows array: in memory, or a new mapped file."""
        if self._mapped is not None and shape[0] > 0:
            return self._mapped.allocate(shape, dtype)
        return np.zeros(shape, dtype=dtype)

    def _flush(self) -> None:
        """Write a mapped rows array's changes to its file."""
        if isinstance(self._X, np.memmap):
            self._X.flush()

    def _check_rows(self, X: np.ndarray, where: str) -> None:
        """Raise unless the first ``len(self)`` rows of ``X`` have the digests the model kept."""
        changed = sum(row_digest(X[p]) != self._digest[p] for p in range(self._n))
        if changed:
            raise RowStoreMismatchError(
                f"The row file {where!r} does not hold this model's rows as it was saved: "
                f"{changed} of {self._n} differ. The file changes with every fit, partial_fit "
                "and forget; load the model file saved after the last of them (save() after "
                "each change)."
            )

    def _write_rows(self, start: int, stop: int) -> None:
        """Write the rows in slots ``start:stop`` to the row file, in one transaction."""
        assert self._file is not None
        seqs = self._seq[start:stop]
        if self.sparse:
            self._file.insert_sparse(seqs, (self._X.take(p) for p in range(start, stop)))
        else:
            self._file.insert(seqs, self._X[start:stop])

    def _attach(self, row_shape: tuple[int, ...], dtype: np.dtype, sparse: bool) -> Any:
        """The retained rows read back from the row file, each checked against its digest."""
        assert self._file is not None
        found: dict[int, Any]
        if sparse:
            found = self._file.read_sparse(dtype)
            X: Any = SparseRows(self._n, row_shape[0], dtype)
        else:
            found = self._file.read(row_shape, dtype)
            X = np.zeros((self._n, *row_shape), dtype=dtype)
        missing = changed = 0
        for p in range(self._n):
            row = found.pop(int(self._seq[p]), None)
            if row is None:
                missing += 1
                continue
            if sparse:
                X.put(p, row)
            else:
                X[p] = row
            if row_digest(X[p]) != self._digest[p]:
                changed += 1
        if missing or changed or found:
            raise RowStoreMismatchError(
                f"The row database {self._file.path!r} does not hold this model's rows as it was "
                f"saved: {missing} retained row(s) missing, {changed} changed, {len(found)} it "
                "does not retain. The database changes with every fit, partial_fit and forget; "
                "load the model file saved after the last of them (save() after each change)."
            )
        return X

    @property
    def rows_file(self) -> RowFile | MappedRows | None:
        """Where the rows persist outside the model file: a SQLite file, mapped files, or
        None (in memory only)."""
        return self._file if self._file is not None else self._mapped


class ReplaySampler:
    """Draws retained rows of a class for replay, never any of the excluded positions.

    Made by :meth:`RowStore.replay_sampler` once per ``forget`` call, while
    the store does not change. Where the class is much larger than the draw
    plus its excluded rows, positions are drawn at random and rejected if
    excluded: expected O(n) per draw. Otherwise the class's non-excluded
    positions are listed once per call and sampled from.

    Parameters
    ----------
    store : RowStore
        The store to draw from; it must not change while the sampler is used.
    exclude : iterable of int
        Positions never to return.
    """

    def __init__(self, store: RowStore, exclude: Iterable[int] = ()) -> None:
        self._store = store
        self._excluded = set(exclude)
        self._excluded_per_class = Counter(label_key(store.y[p]) for p in self._excluded)
        self._pools: dict[Hashable, np.ndarray] = {}

    def __len__(self) -> int:
        """How many retained rows the sampler may return (the excluded ones left out)."""
        return len(self._store) - len(self._excluded)

    def sample(self, label: Hashable, n: int, rng: np.random.Generator) -> np.ndarray:
        """Positions of up to ``n`` distinct retained rows of class ``label``."""
        key = label_key(label)
        members = self._store.class_members(key)
        if n <= 0 or not members:
            return np.empty(0, dtype=np.intp)
        if 4 * (n + self._excluded_per_class[key]) >= len(members):
            pool = self._pools.get(key)
            if pool is None:
                pool = np.array([p for p in members if p not in self._excluded], dtype=np.intp)
                self._pools[key] = pool
            if pool.size <= n:
                return pool.copy()
            return pool[rng.choice(pool.size, size=n, replace=False)]
        chosen: dict[int, None] = {}
        while len(chosen) < n:
            for draw in rng.integers(0, len(members), size=n - len(chosen)):
                position = members[draw]
                if position not in self._excluded:
                    chosen[position] = None
        return np.fromiter(chosen, dtype=np.intp, count=len(chosen))[:n]

    def draw(
        self, label: Hashable, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Copies of up to ``n`` distinct retained rows of class ``label``, their labels and
        their sample weights (None where the store has none)."""
        positions = self.sample(label, n, rng)
        store = self._store
        return store.rows_at(positions), store.y[positions], store.weights_at(positions)

    def epoch(
        self, rng: np.random.Generator, block: int | None = None
    ) -> Iterator[tuple[Any, np.ndarray, np.ndarray | None]]:
        """Every retained row that is not excluded, once, in an order shuffled by ``rng``.

        Yields copies of the rows, their labels and their sample weights
        (None where the store has none), ``block`` rows at a time (default:
        :func:`sk_unlearn._keys.block_rows`, so that at most a few million
        values are in memory at once however the rows are stored). Nothing
        is yielded when no row is left.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_unlearn._store import RowStore
        >>> store = RowStore(2, np.float64, np.int64)
        >>> _ = store.add(np.arange(8.0).reshape(4, 2), np.array([0, 1, 0, 1]))
        >>> sampler = store.replay_sampler(exclude=[1])
        >>> rows = [X for X, y, w in sampler.epoch(np.random.default_rng(0), block=2)]
        >>> [len(X) for X in rows], sorted(np.vstack(rows)[:, 0].tolist())
        ([2, 1], [0.0, 4.0, 6.0])
        """
        store = self._store
        kept = np.ones(len(store), dtype=bool)
        kept[list(self._excluded)] = False
        order = rng.permutation(np.flatnonzero(kept))
        step = block or block_rows(store.sparse, store.n_values)
        for start in range(0, len(order), step):
            positions = order[start : start + step]
            yield store.rows_at(positions), store.y[positions], store.weights_at(positions)
