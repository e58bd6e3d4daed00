"""The ledger stays readable after any torn write, and a failed call leaves no request to serve.

Three mechanisms cut a write short: an injected short ``os.write`` followed by
an error (a full disk), a real ``RLIMIT_FSIZE`` in a subprocess (the kernel
writes what fits, then refuses), and a fragment left in the file by a writer
that died mid-line (nothing could truncate it). After each, ``verify_ledger``,
``recover`` and ``load(recover=True)`` must work, and no request the caller
was told failed may be served later.
"""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
import textwrap

import pytest
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier, read_ledger
from sk_unlearn import _ledger as ledger_module


def make(path):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), n_replay=4, random_state=0, ledger_path=path
    )


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ledger.jsonl"


@pytest.fixture
def fitted(digits, path):
    return (
        make(path)
        .fit(digits.X_train, digits.y_train)
        .forget(digits.X_train[:2], digits.y_train[:2])
    )


class ShortWrites:
    """``os.write`` that writes the first ``cut`` bytes of the ledger's next write, then fails."""

    def __init__(self, cut: int, error: int = errno.ENOSPC) -> None:
        self.cut, self.error, self.calls = cut, error, 0
        self.real = os.write

    def __call__(self, fd, data):
        self.calls += 1
        if self.calls == 1:
            return self.real(fd, bytes(data)[: self.cut])
        raise OSError(self.error, os.strerror(self.error))


@pytest.mark.parametrize("cut", [1, 7, 40, 120, 250, 400])
@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EFBIG, errno.EIO])
def test_a_short_write_leaves_the_file_and_the_model_as_they_were(
    fitted, digits, path, monkeypatch, cut, error
):
    before_file, before_model = path.read_bytes(), pickle.dumps(fitted)
    monkeypatch.setattr(ledger_module.os, "write", ShortWrites(cut, error))
    with pytest.raises(OSError):
        fitted.forget(digits.X_train[2:4], digits.y_train[2:4])
    monkeypatch.undo()
    assert path.read_bytes() == before_file  # truncated back: no fragment, no "started" line
    assert pickle.dumps(fitted) == before_model
    fitted.forget(digits.X_train[4:5], digits.y_train[4:5])  # the next call works
    report = fitted.verify_ledger()
    assert report.ok and report.torn_lines == () and not report.pending
    assert fitted.recover().ok and fitted.n_forgotten_ == 3  # the failed call's rows stay


def test_a_failing_fsync_in_phase_one_leaves_no_started_line(fitted, digits, path, monkeypatch):
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError(errno.EIO, "fsync failed")

    monkeypatch.setattr(ledger_module.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        fitted.forget(digits.X_train[2:5], digits.y_train[2:5])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert fitted.verify_ledger().ok and fitted.n_forgotten_ == 2


def test_when_even_the_aborted_lines_fail_the_started_lines_are_retracted(
    fitted, digits, path, monkeypatch
):
    """The step fails, then the disk is full: the call's "started" lines must not stay."""
    before = path.read_bytes()
    real_append = ledger_module.append_events

    def full_for_aborts(target, events, **kwargs):
        if any(e["event"] == "aborted" for e in events):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_append(target, events, **kwargs)

    def failing_step(*args, **kwargs):
        raise RuntimeError("the step failed")

    monkeypatch.setattr(ledger_module, "append_events", full_for_aborts)
    monkeypatch.setattr(type(fitted._adapter()), "forget_step", failing_step)
    with pytest.raises(RuntimeError, match="the step failed"):
        fitted.forget(digits.X_train[2:5], digits.y_train[2:5])
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not fitted.verify_ledger().pending
    assert fitted.recover().ok and fitted.n_forgotten_ == 2


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 10, 20, 30, 45, 60, 75, 90, 105, 120, 135, 150, 170])
def test_a_fragment_left_by_a_dead_writer_never_joins_the_next_line(
    fitted, digits, path, tmp_path, cut
):
    """A writer died mid-line: the fragment stays, the next append starts a fresh line."""
    fitted.save(tmp_path / "model.pkl")
    line = path.read_bytes().splitlines(keepends=True)[1]  # a complete "started" line
    with open(path, "ab") as f:
        f.write(line[: min(cut, len(line) - 1)])  # never the newline: a torn line
    n_lines = len(path.read_bytes().splitlines())
    report = fitted.verify_ledger()
    assert report.torn_tail and report.torn_lines == (n_lines,) and report.ok

    fitted.forget(digits.X_train[2:3], digits.y_train[2:3])
    report = fitted.verify_ledger()
    assert report.ok and not report.torn_tail and report.torn_lines == (n_lines,)
    assert [e["event"] for e in read_ledger(path)][-2:] == ["started", "completed"]
    with pytest.warns(UserWarning, match="1 deletion request"):
        restored = UnlearnableClassifier.load(tmp_path / "model.pkl")
    restored = UnlearnableClassifier.load(tmp_path / "model.pkl", recover=True)
    assert restored.n_forgotten_ == 3 and restored.verify_ledger().ok


CHILD = textwrap.dedent(
    """
    import errno, pickle, resource, sys
    from sk_unlearn import UnlearnableClassifier
    from sk_unlearn.datasets import load_digits_split

    model, limit = sys.argv[1], int(sys.argv[2])
    clf = UnlearnableClassifier.load(model)
    data = load_digits_split(random_state=0)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    served, failed = [], []
    for i in range(2, 12):  # one request per call, until the file is full
        try:
            clf.forget(data.X_train[i : i + 1], data.y_train[i : i + 1])
            served.append(i)
        except OSError as exc:
            assert exc.errno == errno.EFBIG, exc
            failed.append(i)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    clf.save(model)
    print(pickle.dumps((served, failed)).hex())
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize(
    "room", [0, 1, 2, 50, 100, 200, 333, 400, 500, 600, 700, 850, 1000, 1500, 2000, 2500]
)
def test_a_real_file_size_limit_never_leaves_an_unreadable_ledger(fitted, path, tmp_path, room):
    model = tmp_path / "model.pkl"
    fitted.save(model)
    limit = path.stat().st_size + room
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(limit)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    served, failed = pickle.loads(bytes.fromhex(result.stdout.strip().splitlines()[-1]))
    assert failed  # the limit was reached: some writes were cut short
    restored = UnlearnableClassifier.load(model, recover=True)  # no warning, no error
    report = restored.verify_ledger()
    assert report.ok and report.torn_lines == ()
    assert restored.n_forgotten_ == 2 + len(served)  # nothing the caller was told failed
    assert path.stat().st_size <= limit
