"""Retained rows kept in a SQLite database file, outside the model file.

With ``UnlearnableClassifier(rows_path=...)`` the row store writes the value
of every retained row to a SQLite database (the standard library's
``sqlite3``), and the estimator's pickle carries none: loading it reads the
rows back and checks each against the digest the model keeps. The store
keeps its in-memory copy as well (lookup, replay and retraining read it); the
file is what survives the process, in place of the rows in the pickle.

Erasure is real in the file: every connection runs with ``secure_delete``
on, so SQLite overwrites a deleted row's bytes (and frees no page with them
left in it), and the rollback journal is deleted at each commit
(``journal_mode=DELETE``). Each change of the store (one ``add`` or
``erase``) is one SQLite transaction, committed before the estimator's
transaction commits; the estimator undoes it with the opposite change if
anything after it fails.

One table holds the rows of every model that uses the file, keyed by the
model's fit id and the row's insertion sequence number (stable while the
store moves rows between slots). A dense row is its values' bytes; a sparse
row (one learned from a SciPy sparse matrix) is its non-zeros only: the
column indices (int32) followed by the values, with ``dtype`` marked
``"sparse:<values dtype>"``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from typing import Any

import numpy as np

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS retained_rows ("
    " model TEXT NOT NULL, seq INTEGER NOT NULL, dtype TEXT NOT NULL, x BLOB NOT NULL,"
    " PRIMARY KEY (model, seq)) WITHOUT ROWID"
)


class RowStoreMismatchError(ValueError):
    """The row database does not hold the rows the model was saved with."""


RowStoreMismatchError.__module__ = "sk_unlearn"  # its public home

_SPARSE = "sparse:"

#: A sparse row as kept: its column indices and its values.
SparseRow = tuple[np.ndarray, np.ndarray]


class RowFile:
    """The rows of one fitted model in a SQLite database file.

    Parameters
    ----------
    path : str or path-like
        The database file (created with its table on first write).
    model : str
        The fit id of the model whose rows these are.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sk_unlearn._row_file import RowFile
    >>> rows = RowFile(os.path.join(tempfile.mkdtemp(), "rows.db"), "fit-1")
    >>> rows.insert([0, 1], np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> rows.delete([0])
    >>> sorted(rows.read((2,), np.float64))
    [1]
    >>> rows.insert_sparse([2], [(np.array([1]), np.array([5.0]))])
    >>> rows.read_sparse(np.float64)[2]
    (array([1], dtype=int32), array([5.]))
    """

    def __init__(self, path: str | os.PathLike[str], model: str) -> None:
        self.path = os.fspath(path)
        self.model = model

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection with erasure settings on, committed (or rolled back) and closed."""
        with closing(sqlite3.connect(self.path)) as connection:
            connection.execute("PRAGMA secure_delete = ON")
            connection.execute("PRAGMA journal_mode = DELETE")
            with connection:  # one transaction: committed, or rolled back on error
                connection.execute(_SCHEMA)
                yield connection

    def insert(self, seqs: Sequence[int] | np.ndarray, rows: np.ndarray) -> None:
        """Write ``rows`` under their sequence numbers, in one transaction."""
        with self._connection() as connection:
            connection.executemany(
                "INSERT INTO retained_rows (model, seq, dtype, x) VALUES (?, ?, ?, ?)",
                (
                    (self.model, int(seq), row.dtype.str, np.ascontiguousarray(row).tobytes())
                    for seq, row in zip(seqs, rows)
                ),
            )

    def insert_sparse(self, seqs: Sequence[int] | np.ndarray, rows: Iterable[SparseRow]) -> None:
        """Write sparse rows (column indices and values) under their sequence numbers."""
        with self._connection() as connection:
            connection.executemany(
                "INSERT INTO retained_rows (model, seq, dtype, x) VALUES (?, ?, ?, ?)",
                (
                    (
                        self.model,
                        int(seq),
                        _SPARSE + values.dtype.str,
                        np.asarray(indices, dtype=np.int32).tobytes()
                        + np.ascontiguousarray(values).tobytes(),
                    )
                    for seq, (indices, values) in zip(seqs, rows)
                ),
            )

    def delete(self, seqs: Sequence[int] | np.ndarray) -> None:
        """Delete the rows with these sequence numbers, in one transaction."""
        with self._connection() as connection:
            connection.executemany(
                "DELETE FROM retained_rows WHERE model = ? AND seq = ?",
                ((self.model, int(seq)) for seq in seqs),
            )

    def drop(self) -> None:
        """Delete every row of the model (its model was replaced by a new fit)."""
        with self._connection() as connection:
            connection.execute("DELETE FROM retained_rows WHERE model = ?", (self.model,))

    def read(self, row_shape: tuple[int, ...], dtype: Any) -> dict[int, np.ndarray]:
        """Every row of the model, by sequence number, in ``dtype`` and ``row_shape``.

        Raises
        ------
        RowStoreMismatchError
            If the file does not exist.
        """
        return {
            seq: np.frombuffer(blob, dtype=np.dtype(kind)).astype(dtype).reshape(row_shape)
            for seq, kind, blob in self._rows()
            if not kind.startswith(_SPARSE)
        }

    def read_sparse(self, dtype: Any) -> dict[int, SparseRow]:
        """Every sparse row of the model, by sequence number: indices and values in ``dtype``.

        Raises
        ------
        RowStoreMismatchError
            If the file does not exist.
        """
        found = {}
        for seq, kind, blob in self._rows():
            if not kind.startswith(_SPARSE):
                continue
            values_dtype = np.dtype(kind[len(_SPARSE) :])
            nnz = len(blob) // (4 + values_dtype.itemsize)
            indices = np.frombuffer(blob, dtype=np.int32, count=nnz).copy()
            values = np.frombuffer(blob, dtype=values_dtype, offset=4 * nnz).astype(dtype)
            found[seq] = (indices, values)
        return found

    def _rows(self) -> list[tuple[int, str, bytes]]:
        """Sequence number, dtype mark and bytes of every row of the model."""
        if not os.path.exists(self.path):
            raise RowStoreMismatchError(
                f"The model's retained rows live in {self.path!r}, which does not exist: the "
                "model cannot be loaded without it (it forgets, replays and retrains from those "
                "rows)."
            )
        with self._connection() as connection:
            found = connection.execute(
                "SELECT seq, dtype, x FROM retained_rows WHERE model = ?", (self.model,)
            )
            return [(int(seq), str(kind), bytes(blob)) for seq, kind, blob in found]

    def __repr__(self) -> str:
        return f"RowFile({self.path!r}, model={self.model!r})"
