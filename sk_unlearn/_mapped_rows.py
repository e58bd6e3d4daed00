"""Retained rows in memory-mapped files in a directory, outside the model file.

With ``UnlearnableClassifier(rows_path="some/directory/")`` the row store's
array of rows *is* a ``numpy.memmap`` of a file in that directory: the rows
are not held in the process's memory (the operating system pages them in and
out), every change of the store is written to the file and flushed
(``msync``) before the estimator's call returns, and the estimator's pickle
carries no row values: loading it maps the file again and checks every row
against the digest the model keeps.

Erasure is real in the file: the store's swap-remove writes the last row over
the erased one and zeroes the freed slot, in place. When the store grows (or
widens its dtype) it writes a new, larger file and deletes the old one once
the change has succeeded; the deleted file held only rows that are still
retained (forgotten rows had been overwritten in it).

Files are named ``<fit id>-<generation>.rows``: several models may share a
directory.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import numpy as np


class MappedRows:
    """The memory-mapped row files of one fitted model.

    Parameters
    ----------
    directory : str or path-like
        Where the files go (created on first use, mode 0700).
    model : str
        The fit id of the model whose rows these are.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sk_unlearn._mapped_rows import MappedRows
    >>> mapped = MappedRows(tempfile.mkdtemp(), "fit-1")
    >>> rows = mapped.allocate((4, 2), np.float64)
    >>> rows[0] = [1.0, 2.0]
    >>> rows.flush()
    >>> again = mapped.open(mapped.current, (4, 2), np.float64)
    >>> again[0].tolist()
    [1.0, 2.0]
    """

    def __init__(self, directory: str | os.PathLike[str], model: str) -> None:
        self.directory = os.fspath(directory)
        self.model = model
        self.current: str | None = None  # the file name of the array in use

    @property
    def path(self) -> str:
        """The directory (how messages name where the rows are)."""
        return self.directory

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def allocate(self, shape: tuple[int, ...], dtype: Any) -> np.memmap:
        """A new zero-filled file-backed array (the old one stays until :meth:`release_others`)."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        generations = [int(name[len(self.model) + 1 : -len(".rows")]) for name in self.files()]
        name = f"{self.model}-{max(generations, default=0) + 1}.rows"
        array = np.memmap(self._path(name), mode="w+", dtype=dtype, shape=shape)
        self.current = name
        return array

    def adopt(self, array: np.ndarray) -> None:
        """Make ``array`` (a map of one of these files, or an in-memory array) the current one."""
        filename = getattr(array, "filename", None)
        self.current = None if filename is None else os.path.basename(filename)

    def open(self, name: str | None, shape: tuple[int, ...], dtype: Any) -> np.memmap:
        """Map an existing file again (at load), read-write.

        Raises
        ------
        RowStoreMismatchError
            If the file is missing or has another size.
        """
        from ._row_file import RowStoreMismatchError

        path = self._path(name or "")
        expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if name is None or not os.path.isfile(path):
            raise RowStoreMismatchError(
                f"The model's retained rows live in {path!r}, which does not exist: the model "
                "cannot be loaded without it (it forgets, replays and retrains from those rows)."
            )
        if os.path.getsize(path) != expected:
            raise RowStoreMismatchError(
                f"The row file {path!r} holds {os.path.getsize(path)} bytes; the model's rows "
                f"take {expected}. It is not this model's file as it was saved."
            )
        self.current = name
        return np.memmap(path, mode="r+", dtype=dtype, shape=shape)

    def files(self) -> list[str]:
        """The names of this model's row files in the directory."""
        pattern = self._path(glob.escape(self.model) + "-*.rows")
        return sorted(os.path.basename(p) for p in glob.glob(pattern))

    def release_others(self) -> None:
        """Delete this model's files other than the current one (replaced by a larger one)."""
        for name in self.files():
            if name != self.current:
                os.remove(self._path(name))

    def drop(self) -> None:
        """Delete every file of the model (its model was replaced by a new fit)."""
        for name in self.files():
            os.remove(self._path(name))

    def __repr__(self) -> str:
        return f"MappedRows({self.directory!r}, model={self.model!r})"
