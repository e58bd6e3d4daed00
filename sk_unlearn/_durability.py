"""Saving and loading a model safely, and reconciling it with its ledger file.

The model's pickle is the truth about which requests were applied; the ledger
file is the truth about which requests were made. :func:`verify` compares the
two, :func:`recover` serves the requests the file has and the model lacks
(their rows are still among the model's retained rows, found by hash), and
:func:`save` writes a pickle atomically so a crash never leaves half a model.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from ._ledger import LedgerReport
from ._store import label_key

if TYPE_CHECKING:  # pragma: no cover
    from ._classifier import UnlearnableClassifier


def save(clf: UnlearnableClassifier, path: str | os.PathLike[str]) -> None:
    """Pickle ``clf`` to ``path`` atomically: a temporary file, fsync, rename."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sk_unlearn-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(clf, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def load(path: str | os.PathLike[str]) -> Any:
    """Unpickle a model saved by :func:`save` (or any pickle of one)."""
    from ._classifier import UnlearnableClassifier

    with open(path, "rb") as f:
        clf = pickle.load(f)
    if not isinstance(clf, UnlearnableClassifier):
        raise TypeError(
            f"{os.fspath(path)} holds a {type(clf).__name__}, not an UnlearnableClassifier."
        )
    return clf


def verify(clf: UnlearnableClassifier) -> LedgerReport:
    """Compare the model's served requests with its ledger file."""
    if clf.ledger_path is None:
        raise ValueError(
            "verify_ledger needs a ledger_path; this model keeps its ledger in memory."
        )
    return clf._ledger.verify(clf.ledger_path)


def warn_if_pending(report: LedgerReport) -> None:
    """A ``UserWarning`` listing requests the file has and the model lacks."""
    if report.pending:
        started = sum(p.status == "started" for p in report.pending)
        warnings.warn(
            f"{len(report.pending)} deletion request(s) in {report.path} are not applied by "
            f"this model ({started} interrupted mid-request, {len(report.pending) - started} "
            "served after the model was last saved): call recover() to serve them.",
            UserWarning,
            stacklevel=3,
        )
    if report.mismatched:
        warnings.warn(
            f"The model applied request(s) {list(report.mismatched)} that {report.path} does "
            "not record as completed with the same row hash: is it this model's ledger?",
            UserWarning,
            stacklevel=3,
        )


def pending_rows(clf: UnlearnableClassifier, report: LedgerReport) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the retained rows (and labels) the pending requests name.

    Raises
    ------
    ValueError
        If a pending request names no retained row with its hash and label;
        nothing is changed.
    """
    store = clf._store
    claimed: set[int] = set()
    positions = []
    for p in report.pending:
        candidates = store._by_hash.get(bytes.fromhex(p.row_hash), [])
        free = [q for q in candidates if q not in claimed and label_key(store.y[q]) == p.label]
        if not free:
            raise ValueError(
                f"Pending request {p.request} (label {p.label!r}) names no retained row; "
                "this model cannot serve it. Nothing was changed."
            )
        claimed.add(free[0])
        positions.append(free[0])
    index = np.asarray(positions, dtype=np.intp)
    return store.X[index].copy(), store.y[index].copy()
