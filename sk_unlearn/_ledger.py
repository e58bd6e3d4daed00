"""The audit ledger: a record of every deletion request and retraining.

:class:`Ledger` keeps the records in memory (pickled with the model) and, with
a path, appends them to a JSON Lines file, fsync'd before the model changes.
Requests are written in two phases, "started" before serving and "completed"
after, so a crash in between is detectable (:meth:`Ledger.verify`). The file
holds keyed digests of rows and labels (see :mod:`sk_unlearn._keys`), never
row values or labels, and each line a chained HMAC of the line before.
"""

from __future__ import annotations

import errno
import hmac
import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ._keys import chain_mac, deployment_key, key_id

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class DeletionRecord:
    """One served deletion request.

    The row itself is never stored: only a keyed digest of its content (see
    :func:`sk_unlearn.row_hash`), which lets an auditor holding the key check
    whether a given row was forgotten without the record revealing it to
    anyone else.

    Attributes
    ----------
    request : int
        Sequence number of the request, counting from 0 over the estimator's
        lifetime since its last ``fit``.
    row_hash : str
        Hex HMAC-SHA256 of the row's values as float64 under the deployment's
        key (records converted from versions before keys: the plain SHA-256).
    label_hash : str
        Hex HMAC-SHA256 of the label the row was trained with, under the
        deployment's key (see :func:`sk_unlearn.label_hash`): the label of a
        forgotten row is personal data too, so it is not kept in clear.
    timestamp : str
        When the request was served, ISO 8601 in UTC.
    method : str
        How it was served: ``"relabel"`` (optimizer steps on relabeled
        mini-batches), ``"exact"`` (the row's contribution subtracted from
        the model's sufficient statistics), ``"sharded"`` (the shard that
        held it retrained, see :class:`~sk_unlearn.ShardedClassifier`),
        ``"certified"`` (a Newton step within an (epsilon, delta) budget) or
        ``"noisy_finetune"`` (noise on the weights, then fine-tuning on the
        retained rows; the requests of one call are served together).
    n_relabels : int or None
        Number of relabeled copies in each mini-batch (``"relabel"`` only).
    n_replay : int or None
        Number of retained same-class rows replayed in each (``"relabel"``
        only).
    unlearning_rate : float or None
        The rate the step ran at; ``None`` means the estimator's own rate
        (or no step: ``"exact"``).
    retrained : bool
        Whether the model was retrained from scratch on the retained rows
        after this request and before the next one, by ``retrain_after`` or
        by a certificate over ``max_divergence``; that serves it (and all
        earlier ones) exactly. Every retraining, ``retrain()`` included, is
        also a :class:`RetrainRecord` in ``retrain_log_``.
    relabel : str or None
        How the copies were labeled: ``"uniform"``, ``"boundary"`` or
        ``"soft"`` (see ``UnlearnableClassifier``; ``"relabel"`` only).
    n_steps : int or None
        Number of optimizer steps taken for the request (``"relabel"`` only).
    guarantee : str
        What the removal was when it was served: ``"exact"`` (the model is
        then the one a fresh fit without the row gives, or a retraining served
        it), ``"certified"`` (a certified Newton step: see
        :class:`~sk_unlearn.CertifiedLogisticRegression`) or ``"approximate"``
        (random relabeling, noisy fine-tuning). A certified or approximate
        removal becomes exact at the next retraining from scratch
        (``retrained``, ``retrain_log_``).
    shard : int or None
        ``"sharded"`` only: the shard of :class:`~sk_unlearn.ShardedClassifier`
        that held the row, retrained without it.
    slice : int or None
        ``"sharded"`` only: the slice that shard's retraining started from
        (the checkpoint before it was restored; 0: from scratch).
    subject : str or None
        For a request made by data-subject id (``forget(sample_id=...)``):
        hex HMAC-SHA256 of the id under the deployment's key (see
        :func:`sk_unlearn.subject_hash`); None for a row given by value.
    ticket : str or None
        The reference the ``forget`` call was given (``ticket=``), in clear.
    noise_scale : float or None
        ``"noisy_finetune"`` only: the relative size of the Gaussian noise
        added to the weights (``UnlearnableClassifier(noise_scale=...)``).
    finetune_epochs : int or None
        ``"noisy_finetune"`` only: the passes over the retained rows that
        followed the noise.
    """

    request: int
    row_hash: str
    label_hash: str
    timestamp: str
    method: str
    n_relabels: int | None
    n_replay: int | None
    unlearning_rate: float | None
    retrained: bool
    relabel: str | None
    n_steps: int | None
    # A default, so records unpickled from 0.1 (which lack it) read "approximate".
    guarantee: str = "approximate"
    # Defaults, so records of the other methods (and older records) carry None.
    shard: int | None = None
    slice: int | None = None
    subject: str | None = None
    ticket: str | None = None
    noise_scale: float | None = None
    finetune_epochs: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict (JSON-serialisable for simple labels).

        Every field is a scalar or a string, so a flat dict is the whole
        record: built from the field names directly, without ``asdict``'s
        recursive copy (~50 µs, paid on every request).
        """
        return {name: getattr(self, name) for name in _DELETION_FIELDS}


_DELETION_FIELDS = tuple(f.name for f in fields(DeletionRecord))


def mark_latest_retrained(log: list[DeletionRecord]) -> None:
    """Record in ``log`` that the model was retrained after its latest request.

    Used when a retraining happens between requests (a certificate over
    ``max_divergence``); records are immutable, so the latest one is replaced.
    """
    if log and not log[-1].retrained:
        log[-1] = replace(log[-1], retrained=True)


@dataclass(frozen=True)
class RetrainRecord:
    """One retraining from scratch on the retained rows.

    Attributes
    ----------
    after_request : int
        Number of deletion requests served before it (since ``fit``); it
        serves all of them exactly.
    timestamp : str
        When it happened, ISO 8601 in UTC.
    reason : str
        ``"retrain_after"`` (automatic, inside ``forget``), ``"budget"`` (a
        certified removal that would have exceeded its (epsilon, delta)
        budget was served by retraining instead), ``"certificate"`` (a
        certificate over ``max_divergence``) or ``"manual"``
        (:meth:`~sk_unlearn.UnlearnableClassifier.retrain`).
    n_retained : int
        Number of rows the model was retrained on.
    certificate : dict or None
        For ``reason="certificate"``: the certificate's summary (reference,
        measure, n_rows, mean, max, threshold, model_version), without the
        per-row divergences.
    """

    after_request: int
    timestamp: str
    reason: str
    n_retained: int
    certificate: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class CertificateRecord:
    """One call of :meth:`~sk_unlearn.UnlearnableClassifier.certify`, as the ledger keeps it.

    Attributes
    ----------
    after_request : int
        Number of deletion requests served when it was measured (since ``fit``).
    timestamp : str
        When, ISO 8601 in UTC.
    requests : tuple of int
        The served requests whose rows were among the certified rows
        (matched by their keyed row digests; other certified rows are not
        named).
    certificate : dict
        The certificate's summary (:meth:`Certificate.to_dict` without the
        per-row values): reference, measure, n_rows, mean, max, threshold,
        verdict counts, whether it triggered a retraining.
    """

    after_request: int
    timestamp: str
    requests: tuple[int, ...]
    certificate: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict."""
        return {**asdict(self), "requests": list(self.requests)}


@dataclass(frozen=True)
class PendingRequest:
    """A request the ledger file knows of but the model has not applied.

    Attributes
    ----------
    request : int
        Its sequence number in the file (since ``fit``).
    row_hash : str
        Keyed digest of the row (see :func:`sk_unlearn.row_hash`; the plain
        SHA-256 in lines written before keys).
    label : object
        The row's label, for lines written before labels were keyed (None
        otherwise).
    status : str
        ``"started"``: the process stopped while serving it (a crash between
        the two phases); ``"completed"``: it was served, but by a state of
        the model that was never saved (the loaded model predates it).
    """

    request: int
    row_hash: str
    label: Any
    status: str
    label_hash: str | None = None


@dataclass(frozen=True)
class LedgerReport:
    """How a model and its ledger file agree (see ``verify_ledger``).

    Attributes
    ----------
    path : str
        The ledger file read.
    fit_id : str
        The model's fit identifier; only this fit's events were read.
    n_served : int
        Requests the model has applied (``n_forgotten_``).
    n_logged : int
        Requests the file records as completed and applied by this model.
    pending : tuple of PendingRequest
        Requests in the file that the model has not applied (in flight at a
        crash, or served after the model was last saved).
        :meth:`~sk_unlearn.UnlearnableClassifier.recover` serves them.
    mismatched : tuple of int
        Requests the model applied that the file does not record as completed
        with the same row hash: the file is not this model's ledger, or was
        edited or truncated.
    torn_tail : bool
        The file ended in a partial line (a crash while writing it); that
        line is ignored.
    torn_lines : tuple of int
        Line numbers (from 1) of every partial line in the file, the last
        one included: what a crash, a full disk or a file-size limit cut
        short while it was being written. A later append starts on a fresh
        line, so a partial line never joins a complete one; partial lines
        are ignored (nothing a partial line describes was applied: the
        model changes only after its lines are written in full).
    altered : tuple of str
        Lines that say something other than the model's own records: a
        completed request whose fields differ (which ones are named), a
        retraining of the model with no matching line. The file was edited,
        or is not this model's.
    forged : tuple of int
        Line numbers of this model's lines whose chained HMAC does not
        verify under the deployment's key: edited, moved, inserted by
        someone without the key, or following a deleted line. They are
        ignored: a forged request is never served.
    max_request : int
        The largest request number of this fit in the lines read (-1: none).
    checked_from : int
        Byte offset the check started reading at: 0 for the whole file (what
        :meth:`~sk_unlearn.UnlearnableClassifier.verify_ledger` reads); the
        model's checkpoint for the check ``load`` makes, which reads only
        the lines written after the model's last successful call (line
        numbers then count from there).
    removed_leftovers : tuple of str
        Temporary files an interrupted :meth:`~sk_unlearn.UnlearnableClassifier.save`
        of this model left beside the file it was last saved to or loaded
        from, removed by this check (each held a full copy of the model,
        retained rows included).
    """

    path: str
    fit_id: str
    n_served: int
    n_logged: int
    pending: tuple[PendingRequest, ...]
    mismatched: tuple[int, ...]
    torn_tail: bool
    torn_lines: tuple[int, ...] = field(default=())
    removed_leftovers: tuple[str, ...] = field(default=())
    altered: tuple[str, ...] = field(default=())
    checked_from: int = 0
    forged: tuple[int, ...] = field(default=())
    max_request: int = -1

    @property
    def ok(self) -> bool:
        """True when every request in the file is applied and vice versa, and the lines agree."""
        return not (self.pending or self.mismatched or self.altered or self.forged)


class LedgerError(ValueError):
    """A ledger file holds a line that no ledger writes (it was edited, or is not a ledger).

    A partial line (a torn write) is not an error: it is reported in
    :attr:`LedgerReport.torn_lines` and ignored.
    """


def utc_now() -> str:
    """The current time, ISO 8601 in UTC: every timestamp the ledger writes."""
    return datetime.now(timezone.utc).isoformat()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, default=_json_default, separators=(",", ":"))


def _link_before(fd: int, end: int) -> str:
    """The chain link (``"mac"``) of the last complete ledger line before byte ``end``.

    Reads backwards from ``end`` in growing chunks; partial lines are
    skipped; "" when there is none (the first line, or unkeyed lines).
    """
    size = 4096
    while True:
        start = max(0, end - size)
        chunk = os.pread(fd, end - start, start)
        lines = chunk.split(b"\n")
        if start > 0:
            lines = lines[1:]  # may be the end of a longer line
        for line in reversed(lines):
            try:
                event = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            return str(event.get("mac", "")) if isinstance(event, dict) else ""
        if start == 0:
            return ""
        size *= 4


def append_events(
    path: str | os.PathLike[str], events: list[dict[str, Any]], key: bytes | None = None
) -> tuple[int, int]:
    """Append ``events`` to a JSON Lines file, then fsync; all of them or none.

    With ``key``, every line also carries ``"key"`` (the key's public id)
    and ``"mac"``: an HMAC under the key of the previous line's ``"mac"``
    and this line's content, so that any edit, deletion, swap or insertion
    breaks the chain for whoever holds the key (:func:`chain_mac`). The
    previous line is read under the same lock, so writers sharing the file
    keep one chain.

    The lines go out on a file opened with ``O_APPEND`` under an exclusive
    ``flock`` (where available), so writers sharing the file never
    interleave within a line. Two rules keep the file readable after any
    torn write:

    * if the file does not end with a newline (a writer died mid-line, or
      the machine lost power), the append starts with one, so the fragment
      stays a line of its own (reported as torn by :func:`read_events`)
      and never joins the new line;
    * if anything fails once writing has begun (a short write on a full
      disk, a file-size limit, an fsync error, an interrupt), the file is
      truncated back to where this append began, under the same lock,
      and the error is raised: the lines are in the file in full, or not
      at all.

    Returns
    -------
    start, end : int
        Byte offsets of the appended lines in the file (for :func:`retract`).
    """
    fd = os.open(os.fspath(path), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        start = os.fstat(fd).st_size
        if key is None:
            text = "".join(_dumps(e) + "\n" for e in events)
        else:
            link, kid, parts = _link_before(fd, start), key_id(key), []
            for event in events:
                content = _dumps({**event, "key": kid})
                link = chain_mac(key, link, content)
                parts.append(content[:-1] + f',"mac":"{link}"}}\n')
            text = "".join(parts)
        data = text.encode()
        if start and os.pread(fd, 1, start - 1) != b"\n":
            data = b"\n" + data  # close off a torn fragment
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                if written == 0:  # pragma: no cover - POSIX write returns > 0 or raises
                    raise OSError(errno.EIO, "the ledger file took no more bytes")
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            _truncate(fd, start)
            raise
        return start, start + len(data)
    finally:
        os.close(fd)  # also releases the flock


def _truncate(fd: int, size: int) -> None:
    """Cut the file back to ``size`` bytes (best effort: the caller is already failing)."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass


def retract(path: str | os.PathLike[str], span: tuple[int, int]) -> bool:
    """Remove lines :func:`append_events` wrote at ``span``, if nothing was appended since.

    The last resort of a failing call whose "aborted" lines could not be
    written: its "started" lines must not stay in the file as requests to
    serve. Returns whether they were removed.
    """
    try:
        fd = os.open(os.fspath(path), os.O_RDWR)
    except OSError:
        return False
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_size != span[1]:
            return False  # another writer appended after them
        os.ftruncate(fd, span[0])
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read_events(
    path: str | os.PathLike[str], offset: int = 0
) -> tuple[list[dict[str, Any]], list[int], bool, list[int]]:
    """A ledger file's events, its torn lines, whether the last is torn, the events' lines.

    With ``offset`` (the start of a line), only what follows it is read, and
    line numbers count from there.

    A line is torn when a write was cut short (a crash, a full disk, a size
    limit): the file's last line when it lacks its newline, and any line
    that is not complete JSON (every line a ledger writes is one JSON
    object, and no proper prefix of one parses). Torn lines are left out
    and their numbers reported. A line that parses but is not a ledger event
    (not an object with an ``"event"`` and a ``"fit"``) raises
    :class:`LedgerError`.
    """
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    lines = data.split(b"\n")
    torn_tail = lines[-1] != b""
    lines.pop()  # b"" when the file ends with a newline, as it should
    events, torn, numbers = [], [], []
    for number, line in enumerate(lines, start=1):
        try:
            event = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            torn.append(number)
            continue
        if not (isinstance(event, dict) and "event" in event and "fit" in event):
            raise LedgerError(
                f"{os.fspath(path)}:{number} is not a ledger line: a ledger writes one JSON "
                f"object with an 'event' and a 'fit' per line, not {line[:60]!r}."
            )
        events.append(event)
        numbers.append(number)
    if torn_tail:
        torn.append(len(lines) + 1)
    return events, torn, torn_tail, numbers


def read_ledger(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The events of a ledger file (see ``UnlearnableClassifier(ledger_path=...)``).

    One dict per line, oldest first: ``"fit"`` (a new fit, with the number of
    rows), ``"learned"`` (rows added by ``partial_fit``), ``"started"``,
    ``"completed"`` (the full :class:`DeletionRecord`) and ``"aborted"`` for
    requests, ``"retrain"`` (a :class:`RetrainRecord`) and ``"resumed"`` (a
    saved model began writing again, at ``n_served`` requests). An
    ``"aborted"`` line with ``"of"`` instead of ``"request"`` says that a
    ``"fit"``, ``"learned"`` or ``"retrain"`` line written by a call that then
    failed does not describe the model. Every event names its model's fit
    (``"fit"``) and its time. A torn last line (a crash while writing) is left
    out.

    Parameters
    ----------
    path : str or path-like
        The ledger file.

    Returns
    -------
    events : list of dict

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sk_unlearn import UnlearnableClassifier, read_ledger
    >>> X, y = load_iris(return_X_y=True)
    >>> path = os.path.join(tempfile.mkdtemp(), "ledger.jsonl")
    >>> clf = UnlearnableClassifier(SGDClassifier(random_state=0), ledger_path=path)
    >>> clf = clf.fit(X, y).forget(X[:1], y[:1])
    >>> [e["event"] for e in read_ledger(path)]
    ['fit', 'started', 'completed']
    """
    return read_events(path)[0]


class Ledger:
    """The audit trail of one fitted model, optionally mirrored to a file.

    In memory it keeps the served requests (:class:`DeletionRecord`) and the
    retrainings (:class:`RetrainRecord`); it is pickled with the model. With a
    path, every change is also appended to a JSON Lines file and fsync'd
    before the model changes (see docs/reliability.md for the events and
    what they guarantee).

    Parameters
    ----------
    fit_id : str
        Identifies the fit this ledger belongs to; every line it writes
        carries it, so several models may share one file.
    """

    def __init__(self, fit_id: str) -> None:
        self.fit_id = fit_id
        self.deletions: list[DeletionRecord] = []
        self.retrains: list[RetrainRecord] = []
        self.certificates: list[CertificateRecord] = []
        # The file this object last wrote to; not pickled, so a loaded or
        # copied model first writes a "resumed" line saying where it stands.
        self._synced_path: str | None = None
        # Where the latest phase one's lines lie in the file, for abort().
        self._begun: tuple[int, int] | None = None
        # (file, offset) after this object's latest write, and after the latest
        # write of a call that succeeded: every line of this fit before that
        # offset is applied or aborted, so a check at load reads only what follows.
        self._written: tuple[str, int] | None = None
        self.checkpoint: tuple[str, int] | None = None
        # Every line of this fit carries a chained HMAC (False: a ledger pickled
        # by an earlier version, whose old lines have none).
        self.keyed = True
        # The next request number, advanced when a call succeeds. A failed
        # call's numbers are in the file after the checkpoint, and phase one
        # skips past them, so no number is used twice (see begin()).
        self.next_request = 0
        self._begun_first = 0
        self._taken = 0

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_synced_path"] = None
        state["_begun"] = None
        state["_written"] = None
        state.pop("_begun_first", None)  # a call's own bookkeeping, not the model's
        state.pop("_taken", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickles from before these attributes read as "no checkpoint".
        defaults: dict[str, Any] = {
            "_begun": None,
            "_written": None,
            "checkpoint": None,
            "keyed": False,
            "certificates": [],
        }
        self.__dict__.update({**defaults, **state})
        if "next_request" not in state:  # before the counter: numbers were 0, 1, ... n - 1
            self.next_request = max((r.request for r in self.deletions), default=-1) + 1
        self._begun_first = self._taken = self.next_request

    def skip_past(self, request: int) -> None:
        """Never hand out ``request`` or a smaller number (the file already used it)."""
        self.next_request = max(self.next_request, request + 1)

    def settle(self) -> None:
        """The call succeeded: what it wrote is settled, and a later check may start after it."""
        if self._written is not None:
            self.checkpoint = self._written
        self.next_request = max(self.next_request, self._taken)

    # -------------------------------------------------------------- writing
    def _write(self, path: Any, events: list[dict[str, Any]]) -> tuple[int, int] | None:
        if path is None:
            return None
        target = os.fspath(path)
        if self._synced_path != target:
            # Requests numbered from first_unapplied on, written before this
            # line, are ones this model has not applied (a later state did).
            first_unapplied = max((r.request for r in self.deletions), default=-1) + 1
            resumed = self._event(
                "resumed", n_served=len(self.deletions), first_unapplied=first_unapplied
            )
            events = [resumed, *events]
        return self._append(target, events)

    def _append(self, target: str, events: list[dict[str, Any]]) -> tuple[int, int]:
        """Append keyed, chained lines, and remember where this object's writing stands."""
        span = append_events(target, events, key=deployment_key())
        self._synced_path = target
        self._written = (target, span[1])
        return span

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"event": kind, "fit": self.fit_id, "time": utc_now(), **fields}

    def start(self, path: Any, n_rows: int) -> None:
        """Record a fresh fit (the first line of this ledger's segment)."""
        if path is not None:  # the segment's first line: no "resumed" before it
            self._append(os.fspath(path), [self._event("fit", n_rows=n_rows)])

    def learned(self, path: Any, n_rows: int) -> None:
        """Record that ``partial_fit`` added ``n_rows`` rows to the model."""
        self._write(path, [self._event("learned", n_rows=n_rows)])

    def void(self, path: Any, kind: str) -> None:
        """Say that the last ``kind`` line (``"fit"``, ``"learned"``) was rolled back.

        Best effort: a failed write is ignored, as the caller is already
        failing.
        """
        try:
            self._write(path, [self._event("aborted", of=kind)])
        except OSError:
            pass

    def begin(self, path: Any, requests: list[tuple[str, Any]]) -> int:
        """Phase one: record ``(row_hash, label_hash)`` requests as started.

        Returns the number of the first request; the call's requests take
        the numbers from there, which no later call reuses, even if this
        one fails.
        """
        first = self.next_request
        if path is not None:  # numbers a failed call took: after the checkpoint
            first = max(first, self._max_request_after_checkpoint(path) + 1)
        self._begun_first, self._taken = first, first + len(requests)
        self._begun = None
        self._begun = self._write(
            path,
            [
                self._event("started", request=first + i, row_hash=h, label_hash=label)
                for i, (h, label) in enumerate(requests)
            ],
        )
        return first

    def _max_request_after_checkpoint(self, path: Any) -> int:
        """The largest request number of this fit in the file after the checkpoint (-1: none)."""
        offset = 0
        if self.checkpoint is not None and self.checkpoint[0] == os.fspath(path):
            offset = self.checkpoint[1]
        try:
            if os.path.getsize(path) < offset:
                offset = 0
            events = read_events(path, offset)[0]
        except FileNotFoundError:
            return -1
        numbers = [
            e["request"]
            for e in events
            if e.get("fit") == self.fit_id and isinstance(e.get("request"), int)
        ]
        return max(numbers, default=-1)

    def abort(self, path: Any, n_requests: int) -> None:
        """Record that the started requests were rolled back.

        The "aborted" lines are appended; if that fails too (a full disk),
        the "started" lines are removed instead, when nothing was appended
        after them. Only if both fail (and then another writer shares the
        file) do they stay, as requests :meth:`verify` reports pending.
        """
        first = self._begun_first
        begun, self._begun = self._begun, None
        try:
            self._write(
                path,
                [self._event("aborted", request=first + i) for i in range(n_requests)],
            )
        except OSError:
            if path is not None and begun is not None and retract(path, begun):
                self._written = None  # the file is shorter again

    def mark(self) -> tuple[int, int, DeletionRecord | None]:
        """Where the in-memory records stand now, for :meth:`revoke`."""
        latest = self.deletions[-1] if self.deletions else None
        return len(self.deletions), len(self.retrains), latest

    def revoke(self, path: Any, mark: tuple[int, int, DeletionRecord | None]) -> None:
        """Undo what :meth:`commit` and :meth:`add_retrain` did since ``mark``.

        The in-memory records go back to ``mark``; each retraining line
        written since gets an ``"aborted"`` line (best effort). Requests'
        lines are aborted by :meth:`abort`.
        """
        n_deletions, n_retrains, latest = mark
        revoked = self.retrains[n_retrains:]
        del self.deletions[n_deletions:]
        del self.retrains[n_retrains:]
        if latest is not None:
            self.deletions[-1] = latest
        if revoked:
            events = [
                self._event("aborted", of="retrain", after_request=r.after_request) for r in revoked
            ]
            try:
                self._write(path, events)
            except OSError:
                pass

    def commit(
        self, path: Any, records: list[DeletionRecord], retrains: list[RetrainRecord]
    ) -> None:
        """Phase two: write the completed records, then keep them in memory.

        Raises (changing nothing in memory) if the file cannot be written.
        """
        events = [self._event("completed", **r.to_dict()) for r in records]
        events += [self._event("retrain", **r.to_dict()) for r in retrains]
        self._write(path, events)
        self.deletions.extend(records)
        self.retrains.extend(retrains)

    def add_retrain(self, path: Any, record: RetrainRecord) -> None:
        """Write a retraining to the file, then keep it in memory."""
        self._write(path, [self._event("retrain", **record.to_dict())])
        self.retrains.append(record)
        if record.reason == "certificate":
            mark_latest_retrained(self.deletions)

    def add_certificate(self, path: Any, record: CertificateRecord) -> None:
        """Write a certificate to the file, then keep it in memory (nothing changes if it fails)."""
        self._write(path, [self._event("certificate", **record.to_dict())])
        self.certificates.append(record)
        self.settle()  # a call that succeeded: a later check may start after it

    def guarantees_since(self, n_since_retrain: int) -> set[str]:
        """The tiers of the latest ``n_since_retrain`` served requests."""
        if n_since_retrain <= 0:
            return set()
        return {r.guarantee for r in self.deletions[-n_since_retrain:]}

    def n_approximate_since(self, n_since_retrain: int) -> int:
        """How many of the latest ``n_since_retrain`` served requests were approximate."""
        if n_since_retrain <= 0:
            return 0
        return sum(r.guarantee == "approximate" for r in self.deletions[-n_since_retrain:])

    # -------------------------------------------------------------- reading
    def verify(self, path: Any, *, since_checkpoint: bool = False) -> LedgerReport:
        """Compare this ledger (the model's) with the file at ``path``.

        With ``since_checkpoint``, only the lines after this model's
        checkpoint are read (the end of the last write of a call that
        succeeded, as pickled): they are what a saved model may lack, so the
        check's cost does not grow with the file. Requests the model applied
        are then not compared with their lines (``mismatched`` and
        ``altered`` are empty); the full check does that. Without a usable
        checkpoint (none yet, another file, a file shorter than it) the
        whole file is read.
        """
        offset = 0
        if since_checkpoint and self.checkpoint is not None:
            target, at = self.checkpoint
            try:
                if target == os.fspath(path) and os.path.getsize(path) >= at:
                    offset = at
            except OSError:
                pass
        try:
            events, torn, torn_tail, numbers = read_events(path, offset)
            link = _link_at(path, offset)
        except FileNotFoundError:  # nothing written yet: every served request is missing
            events, torn, torn_tail, numbers, link = [], [], False, [], ""
        key = deployment_key()
        kid = key_id(key)
        current: dict[int, dict[str, Any]] = {}
        carried: list[dict[str, Any]] = []  # unapplied requests from before a "resumed"
        retrains: list[dict[str, Any]] = []  # the file's retrain lines not aborted
        forged = []
        for event, number in zip(events, numbers):
            previous, link = link, str(event.get("mac", ""))
            if event.get("fit") != self.fit_id:
                continue
            if not _authentic(event, previous, key, kid, legacy_ok=not self.keyed):
                forged.append(number)
                continue
            try:
                _replay(event, current, carried, retrains)
            except (KeyError, TypeError) as exc:
                raise LedgerError(
                    f"{os.fspath(path)} has a {event.get('event')!r} line that no ledger writes "
                    f"(missing or malformed field {exc}): {event}"
                ) from exc
        n_served = len(self.deletions)
        applied = {r.request for r in self.deletions}
        mismatched: tuple[int, ...] = ()
        altered: tuple[str, ...] = ()
        if not offset:  # else the applied requests' lines lie before the checkpoint, unread
            mismatched = tuple(
                r.request
                for r in self.deletions
                if current.get(r.request, {}).get("status") != "completed"
                or current[r.request]["row_hash"] != r.row_hash
            )
            altered = self._altered(current, retrains)
        late = [
            e
            for n, e in sorted(current.items())
            if n not in applied and e["status"] in ("started", "completed")
        ]
        pending = tuple(PendingRequest(**_pending_fields(e)) for e in carried + late)
        return LedgerReport(
            path=os.fspath(path),
            fit_id=self.fit_id,
            n_served=n_served,
            n_logged=n_served - len(mismatched),
            pending=pending,
            mismatched=mismatched,
            torn_tail=torn_tail,
            torn_lines=tuple(torn),
            altered=altered,
            checked_from=offset,
            forged=tuple(forged),
            max_request=max([*current, *(e["request"] for e in carried)], default=-1),
        )

    def _altered(
        self, current: dict[int, dict[str, Any]], retrains: list[dict[str, Any]]
    ) -> tuple[str, ...]:
        """What the file says differently from the model's own records."""
        found = []
        for record in self.deletions:
            line = current.get(record.request, {}).get("record")
            if line is None or "mac" not in line:
                continue  # a line written before lines were keyed says it differently
            if _content(line) != _content(record.to_dict()):
                fields = sorted(
                    k
                    for k in set(_content(line)) | set(_content(record.to_dict()))
                    if _content(line).get(k) != _content(record.to_dict()).get(k)
                )
                found.append(f"completed request {record.request}: {', '.join(fields)}")
        lines = [_content(line) for line in retrains]
        for retrain in self.retrains:
            expected = _content(retrain.to_dict())
            if expected in lines:
                lines.remove(expected)
            else:
                found.append(f"retrain after request {retrain.after_request}: no such line")
        return tuple(found)


#: Fields of a line that are the file's, not the record's: compared separately or not at all.
_LINE_FIELDS = ("event", "fit", "time", "retrained", "key", "mac")


def _link_at(path: Any, offset: int) -> str:
    """The chain link of the last complete line before ``offset`` ("" at the start)."""
    if offset == 0:
        return ""
    fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        return _link_before(fd, offset)
    finally:
        os.close(fd)


def _authentic(
    event: dict[str, Any], previous: str, key: bytes, kid: str, *, legacy_ok: bool
) -> bool:
    """Whether a line's chained HMAC verifies (a line without one only for a legacy ledger)."""
    mac = event.get("mac")
    if mac is None:
        return legacy_ok
    if event.get("key") != kid:
        return False  # written under another key (or forged): this key cannot vouch for it
    content = _dumps({k: v for k, v in event.items() if k != "mac"})
    return hmac.compare_digest(str(mac), chain_mac(key, previous, content))


#: Record fields that lines written before them lack: absent and None are the same.
_OPTIONAL_FIELDS = frozenset(
    {"shard", "slice", "subject", "ticket", "noise_scale", "finetune_epochs"}
)


def _content(fields: dict[str, Any]) -> dict[str, Any]:
    """A record's fields as the file holds them (JSON), without the line's own.

    ``retrained`` is left out: on disk a certificate's retraining is a line
    of its own, while the in-memory record is marked.
    """
    text = json.dumps(
        {
            k: v
            for k, v in fields.items()
            if k not in _LINE_FIELDS and not (k in _OPTIONAL_FIELDS and v is None)
        },
        default=_json_default,
    )
    content: dict[str, Any] = json.loads(text)
    return content


def _pending_fields(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in ("request", "row_hash", "label", "status", "label_hash")}


def _replay(
    event: dict[str, Any],
    current: dict[int, dict[str, Any]],
    carried: list[dict[str, Any]],
    retrains: list[dict[str, Any]],
) -> None:
    """Apply one of the model's events to the requests read so far (in place)."""
    kind = event["event"]
    if kind == "fit":
        current.clear()
        carried.clear()
        retrains.clear()
    elif kind == "retrain":
        retrains.append(event)
    elif kind == "aborted" and event.get("of") == "retrain":
        for i in range(len(retrains) - 1, -1, -1):
            if retrains[i]["after_request"] == event["after_request"]:
                del retrains[i]
                break
    elif kind == "resumed":
        cut = event.get("first_unapplied", event["n_served"])
        for n in sorted(k for k in current if k >= cut):
            entry = current.pop(n)
            if entry["status"] in ("started", "completed"):
                carried.append(entry)
    elif kind == "started":
        current[event["request"]] = {
            "request": event["request"],
            "row_hash": event["row_hash"],
            "label": event["label"] if "label_hash" not in event else None,
            "label_hash": event.get("label_hash"),
            "status": "started",
        }
    elif kind in ("completed", "aborted") and event.get("request") in current:
        current[event["request"]]["status"] = kind
        if kind == "completed":
            current[event["request"]]["record"] = event
            _settle(carried, event["row_hash"], event.get("label"), event.get("label_hash"))


def _settle(carried: list[dict[str, Any]], row_hash: str, label: Any, label_hash: Any) -> None:
    """A completed request serves the first carried one for the same row."""
    for i, entry in enumerate(carried):
        same = (entry["row_hash"], entry["label"], entry["label_hash"])
        if same == (row_hash, label, label_hash):
            del carried[i]
            return
