"""Saving and loading a model safely, and reconciling it with its ledger file.

The model's pickle is the truth about which requests were applied; the ledger
file is the truth about which requests were made. :func:`verify` compares the
two (the estimator's ``recover`` then serves the requests the file has and
the model lacks: their rows are still retained, found by hash), and
:func:`save` writes a pickle atomically so a crash never leaves half a model.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from typing import Any

from . import _warnings
from ._ledger import Ledger, LedgerReport


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Pickle ``obj`` to ``path`` atomically: a temporary file, fsync, rename."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sk_unlearn-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
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


def load(path: str | os.PathLike[str], expected: type) -> Any:
    """Unpickle what :func:`save` wrote; raise ``TypeError`` unless it is an ``expected``."""
    with open(path, "rb") as f:
        obj = pickle.load(f)
    if not isinstance(obj, expected):
        raise TypeError(
            f"{os.fspath(path)} holds a {type(obj).__name__}, not an {expected.__name__}."
        )
    return obj


def verify(ledger: Ledger, path: str | os.PathLike[str] | None) -> LedgerReport:
    """Compare a model's in-memory ledger with its ledger file."""
    if path is None:
        raise ValueError(
            "verify_ledger needs a ledger_path; this model keeps its ledger in memory."
        )
    return ledger.verify(path)


def warn_if_pending(report: LedgerReport) -> None:
    """A ``UserWarning`` listing requests the file has and the model lacks."""
    if report.pending:
        started = sum(p.status == "started" for p in report.pending)
        _warnings.warn(
            f"{len(report.pending)} deletion request(s) in {report.path} are not applied by "
            f"this model ({started} interrupted mid-request, {len(report.pending) - started} "
            "served after the model was last saved): call recover() to serve them."
        )
    if report.mismatched:
        _warnings.warn(
            f"The model applied request(s) {list(report.mismatched)} that {report.path} does "
            "not record as completed with the same row hash: is it this model's ledger?"
        )
