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

from . import _safe_pickle, _warnings
from ._ledger import Ledger, LedgerReport

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

#: How a temporary file of ``save(path)`` ends (it starts ``.<name of path>.sk_unlearn-``).
TEMP_SUFFIX = ".sk_unlearn-save.tmp"


def temp_prefix(target: str) -> str:
    """The name every temporary file of ``save(target)`` starts with, in target's directory."""
    return f".{os.path.basename(target)}.sk_unlearn-"


def leftovers(target: str | os.PathLike[str]) -> list[str]:
    """Temporary files an interrupted ``save(target)`` left behind (none in progress).

    Each is a full copy of the model, retained rows included. A save in
    progress holds an exclusive ``flock`` on its file (where available), and
    a process that dies releases it, so only files no live save is writing
    are listed.
    """
    target = os.fspath(target)
    directory = os.path.dirname(os.path.abspath(target))
    prefix = temp_prefix(target)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    found = []
    for name in sorted(names):
        if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
            continue
        full = os.path.join(directory, name)
        try:
            fd = os.open(full, os.O_RDONLY)
        except OSError:
            continue  # removed meanwhile
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            found.append(full)
        except OSError:
            pass  # a save in progress holds it
        finally:
            os.close(fd)
    return found


def remove_leftovers(target: str | os.PathLike[str] | None) -> tuple[str, ...]:
    """Delete what :func:`leftovers` finds, warn that it did, and return the paths."""
    if target is None:
        return ()
    removed = []
    for leftover in leftovers(target):
        try:
            os.unlink(leftover)
            removed.append(leftover)
        except FileNotFoundError:
            pass
    if removed:
        _warnings.warn(
            f"Removed {len(removed)} temporary file(s) an interrupted save of "
            f"{os.fspath(target)} left behind: {removed}. Each held a full copy of the model, "
            "its retained rows included; rows forgotten since were still in it."
        )
    return tuple(removed)


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Pickle ``obj`` to ``path`` atomically: a temporary file, fsync, rename.

    The temporary file sits beside ``path``, is named after it
    (:func:`temp_prefix`), and is locked while written; leftovers of an
    earlier, interrupted save are removed first (with a warning).
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    remove_leftovers(target)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=temp_prefix(target), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # held until closed: "in progress"
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


def load(path: str | os.PathLike[str], expected: type, *, allow_pickle: bool = False) -> Any:
    """Unpickle what :func:`save` wrote; raise ``TypeError`` unless it is an ``expected``.

    Through the allowlist of :mod:`sk_unlearn._safe_pickle` unless
    ``allow_pickle``. Leftovers of an interrupted save of ``path`` are
    removed first (with a warning).
    """
    remove_leftovers(path)
    with open(path, "rb") as f:
        obj = pickle.load(f) if allow_pickle else _safe_pickle.load(f)
    if not isinstance(obj, expected):
        raise TypeError(
            f"{os.fspath(path)} holds a {type(obj).__name__}, not an {expected.__name__}."
        )
    return obj


def verify(
    ledger: Ledger, path: str | os.PathLike[str] | None, since_checkpoint: bool = False
) -> LedgerReport:
    """Compare a model's in-memory ledger with its ledger file (see ``Ledger.verify``)."""
    if path is None:
        raise ValueError(
            "verify_ledger needs a ledger_path; this model keeps its ledger in memory."
        )
    return ledger.verify(path, since_checkpoint=since_checkpoint)


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
