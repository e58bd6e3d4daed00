"""Sparse retained rows: one slot per row, memory proportional to the non-zeros.

The row store keeps dense rows in a preallocated array and erases a row by
moving the last row into its slot (swap-remove). :class:`SparseRows` offers
the part of that array's interface the store uses, for rows that arrived as a
SciPy sparse matrix: each slot holds the row's column indices and values (no
zeros), so the store's memory grows with the non-zeros, not with
``n_rows x n_features``. A slot read alone is a dense 1-d row (what digests
and comparisons need, one row at a time); a slice or a list of slots is a CSR
matrix (what training, replay and lookups by id need).

A freed slot holds nothing: erasing a row drops its arrays, so no copy of its
values stays in the object or in its pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

_EMPTY_INDICES = np.zeros(0, dtype=np.int32)


class SparseRows:
    """Rows of ``n_features`` values kept sparse, one slot per row.

    Parameters
    ----------
    capacity : int
        Number of slots.
    n_features : int
        Values per row.
    dtype : numpy dtype
        Floating dtype of the values.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sk_unlearn._sparse_rows import SparseRows
    >>> rows = SparseRows(3, 4, np.float64)
    >>> rows[0:2] = sp.csr_matrix([[0, 1.5, 0, 0], [2.0, 0, 0, 3.0]])
    >>> rows[1].tolist()
    [2.0, 0.0, 0.0, 3.0]
    >>> rows[[1, 0]].toarray().tolist()
    [[2.0, 0.0, 0.0, 3.0], [0.0, 1.5, 0.0, 0.0]]
    >>> rows.nnz
    3
    """

    def __init__(self, capacity: int, n_features: int, dtype: Any) -> None:
        self.n_features = int(n_features)
        self.dtype = np.dtype(dtype)
        self._indices: list[np.ndarray] = [_EMPTY_INDICES] * int(capacity)
        self._values: list[np.ndarray] = [np.zeros(0, dtype=self.dtype)] * int(capacity)

    # ------------------------------------------------------------ shape
    @property
    def shape(self) -> tuple[int, int]:
        return (len(self._indices), self.n_features)

    @property
    def ndim(self) -> int:
        return 2

    @property
    def nnz(self) -> int:
        """Number of stored values (non-zeros) over all slots."""
        return sum(len(v) for v in self._values)

    def __len__(self) -> int:
        return len(self._indices)

    # ------------------------------------------------------------ reading
    def _slots(self, key: Any) -> Sequence[int]:
        if isinstance(key, slice):
            return range(*key.indices(len(self)))
        return [int(k) for k in np.asarray(key).ravel()]

    def __getitem__(self, key: Any) -> Any:
        """A dense 1-d row for an int; a CSR matrix for a slice or a sequence of slots."""
        if isinstance(key, (int, np.integer)):
            row = np.zeros(self.n_features, dtype=self.dtype)
            np.add.at(row, self._indices[int(key)], self._values[int(key)])  # duplicates add up
            return row
        slots = self._slots(key)
        indices = [self._indices[s] for s in slots]
        values = [self._values[s] for s in slots]
        indptr = np.zeros(len(slots) + 1, dtype=np.int64)
        np.cumsum([len(i) for i in indices], out=indptr[1:])
        return sp.csr_matrix(
            (
                np.concatenate(values) if values else np.zeros(0, dtype=self.dtype),
                np.concatenate(indices) if indices else _EMPTY_INDICES,
                indptr,
            ),
            shape=(len(slots), self.n_features),
        )

    # ------------------------------------------------------------ writing
    def __setitem__(self, key: Any, value: Any) -> None:
        """Set slots: an int from a dense row (or 0), a slice from a sparse matrix (or 0),
        ``...`` from another :class:`SparseRows` of the same shape."""
        if key is Ellipsis:
            for slot in range(len(self)):
                self._set(slot, value._indices[slot], value._values[slot])
            return
        if isinstance(key, (int, np.integer)):
            row = np.asarray(value, dtype=self.dtype).ravel()
            if row.size == 1 and self.n_features != 1:  # a scalar: 0 clears the slot
                row = np.full(self.n_features, row[0], dtype=self.dtype)
            nonzero = np.flatnonzero(row).astype(np.int32)
            self._set(int(key), nonzero, row[nonzero])
            return
        slots = self._slots(key)
        if np.isscalar(value):
            if value != 0:
                raise ValueError("sparse rows can only be cleared with 0")
            for slot in slots:
                self._set(slot, _EMPTY_INDICES, np.zeros(0, dtype=self.dtype))
            return
        # As given (index order, duplicates): a retraining then sums in the order a fresh fit
        # does. The caller's matrix is only read.
        block = value if sp.isspmatrix_csr(value) or isinstance(value, sp.csr_array) else None
        block = sp.csr_matrix(value) if block is None else block
        for offset, slot in enumerate(slots):
            start, end = block.indptr[offset], block.indptr[offset + 1]
            self._set(slot, block.indices[start:end], block.data[start:end])

    def take(self, slot: int) -> tuple[np.ndarray, np.ndarray]:
        """The slot's indices and values, exactly as kept (for :meth:`put`)."""
        return self._indices[slot], self._values[slot]

    def put(self, slot: int, kept: tuple[np.ndarray, np.ndarray]) -> None:
        """Set the slot to what :meth:`take` returned (index order kept)."""
        self._indices[slot], self._values[slot] = kept

    def _set(self, slot: int, indices: np.ndarray, values: np.ndarray) -> None:
        self._indices[slot] = np.array(indices, dtype=np.int32)
        self._values[slot] = np.array(values, dtype=self.dtype)

    # ------------------------------------------------------------ resizing
    def resized(self, capacity: int, dtype: Any = None) -> SparseRows:
        """A copy with ``capacity`` slots (the first ones copied) and ``dtype``."""
        out = SparseRows(capacity, self.n_features, self.dtype if dtype is None else dtype)
        for slot in range(min(capacity, len(self))):
            out._set(slot, self._indices[slot], self._values[slot])
        return out

    # ------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        # One CSR triple instead of two small arrays per slot: compact and fast to load.
        matrix = self[:]
        return {
            "n_features": self.n_features,
            "dtype": self.dtype.str,
            "data": matrix.data,
            "indices": matrix.indices.astype(np.int32),
            "indptr": matrix.indptr.astype(np.int64),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.n_features = int(state["n_features"])
        self.dtype = np.dtype(state["dtype"])
        indptr, indices, data = state["indptr"], state["indices"], state["data"]
        self._indices = [indices[indptr[s] : indptr[s + 1]].copy() for s in range(len(indptr) - 1)]
        self._values = [data[indptr[s] : indptr[s + 1]].copy() for s in range(len(indptr) - 1)]

    def __repr__(self) -> str:
        return f"SparseRows(capacity={len(self)}, n_features={self.n_features}, nnz={self.nnz})"
