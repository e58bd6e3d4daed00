"""A process serving a stream of requests dies; the saved model and the ledger still agree.

The worker loads a saved model with a durable ledger, forgets one row per call
and saves the model every few requests. It is killed (SIGKILL at an arbitrary
moment, or os._exit inside a request's optimizer step). Afterwards every
request in the ledger must be either applied by the saved model or reported as
pending, and recover() must serve each pending one exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier, read_ledger, row_hash

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

WORKER = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from sk_unlearn import UnlearnableClassifier
    from sk_unlearn._backends import SGDAdapter

    model_path, data_path, die_in_step = sys.argv[1], sys.argv[2], int(sys.argv[3])
    clf = UnlearnableClassifier.load(model_path)
    data = np.load(data_path)
    X, y = data["X"], data["y"]
    step = SGDAdapter.forget_step
    calls = [0]

    def maybe_die(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == die_in_step:
            os._exit(3)  # a crash between phase one and phase two
        return step(self, *args, **kwargs)

    SGDAdapter.forget_step = maybe_die
    for i in range(len(X)):
        clf.forget(X[i : i + 1], y[i : i + 1])
        if i % 5 == 4:
            clf.save(model_path)
        print(i, flush=True)
    """
)


@pytest.fixture
def setup(digits, tmp_path):
    ledger, model, data = tmp_path / "ledger.jsonl", tmp_path / "model.pkl", tmp_path / "rows.npz"
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        n_replay=4,
        retrain_after=7,
        random_state=0,
        ledger_path=ledger,
    ).fit(digits.X_train, digits.y_train)
    clf.save(model)
    stream = np.arange(300)  # more than the worker can serve before it is stopped
    np.savez(data, X=digits.X_train[stream], y=digits.y_train[stream])
    (tmp_path / "worker.py").write_text(WORKER)
    return tmp_path, clf


def _start(tmp_path, die_in_step):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "worker.py"), "model.pkl", "rows.npz", str(die_in_step)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _check_agreement(tmp_path, digits, fitted):
    """Every started request is applied or pending; recover serves each exactly once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loaded = UnlearnableClassifier.load(tmp_path / "model.pkl")
    report = loaded.verify_ledger()
    assert report.mismatched == ()
    started = [e for e in read_ledger(tmp_path / "ledger.jsonl") if e["event"] == "started"]
    assert [e["request"] for e in started] == list(range(len(started)))
    applied = {r.request for r in loaded.deletion_log_}
    pending = {p.request for p in report.pending}
    assert applied | pending == set(range(len(started))) and not applied & pending
    assert [r.row_hash for r in loaded.deletion_log_] == [
        row_hash(x) for x in digits.X_train[: loaded.n_forgotten_]
    ]
    after = loaded.recover()
    assert after.ok and loaded.n_forgotten_ == len(started)
    assert loaded.n_retained_ == len(digits.X_train) - len(started)
    assert [r.row_hash for r in loaded.deletion_log_] == [
        row_hash(x) for x in digits.X_train[: len(started)]
    ]
    return report


def test_sigkill_mid_stream(setup, digits):
    tmp_path, fitted = setup
    worker = _start(tmp_path, die_in_step=0)
    served = 0
    for line in worker.stdout:
        served = int(line) + 1
        if served >= 12:
            worker.send_signal(signal.SIGKILL)
            break
    assert worker.wait(timeout=60) == -signal.SIGKILL
    report = _check_agreement(tmp_path, digits, fitted)
    assert report.n_served >= 10  # saved every 5 requests


def test_crash_inside_a_request_is_detected_as_started(setup, digits):
    tmp_path, fitted = setup
    worker = _start(tmp_path, die_in_step=8)  # request 7: saved after 0..4
    worker.stdout.read()
    assert worker.wait(timeout=60) == 3
    report = _check_agreement(tmp_path, digits, fitted)
    assert report.n_served == 5
    assert [(p.request, p.status) for p in report.pending] == [
        (5, "completed"),
        (6, "completed"),
        (7, "started"),
    ]
