"""A save killed half-way leaves no copy of the model behind for long.

``save`` writes a temporary file beside the target and renames it; a process
killed in between leaves that file, a full copy of the model with its
retained rows. The next ``save``, ``load`` or ``verify_ledger`` of the model
finds it, says so, and removes it; a save still in progress is left alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier, _durability

fcntl = pytest.importorskip("fcntl")  # POSIX: signals and flock


def make(ledger):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        n_replay=4,
        random_state=0,
        ledger_path=ledger,
    )


@pytest.fixture
def saved(digits, tmp_path):
    clf = make(tmp_path / "ledger.jsonl").fit(digits.X_train, digits.y_train)
    model = tmp_path / "model.pkl"
    clf.save(model)
    return clf, model


def temp_files(model):
    prefix = _durability.temp_prefix(str(model))
    return sorted(p for p in model.parent.iterdir() if p.name.startswith(prefix))


DIES_BEFORE_RENAME = textwrap.dedent(
    """
    import os, sys
    from sk_unlearn import UnlearnableClassifier, _durability
    clf = UnlearnableClassifier.load(sys.argv[1])
    _durability.os.replace = lambda *args: os._exit(9)  # killed after the copy is written
    clf.save(sys.argv[1])
    """
)


def die_in_save(model):
    result = subprocess.run(
        [sys.executable, "-c", DIES_BEFORE_RENAME, str(model)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 9, result.stderr


@pytest.mark.parametrize("next_call", ["load", "save"])
def test_the_next_call_removes_what_a_killed_save_left_and_says_so(saved, digits, next_call):
    clf, model = saved
    die_in_save(model)
    [leftover] = temp_files(model)
    row = digits.X_train[0]
    assert row.tobytes() in leftover.read_bytes()  # a full copy, retained rows included
    clf.forget(digits.X_train[:1], digits.y_train[:1])  # forgotten after the copy was made
    with pytest.warns(UserWarning, match="interrupted save"):
        if next_call == "load":
            UnlearnableClassifier.load(model, recover=True)
        else:
            clf.save(model)
    assert temp_files(model) == []
    if next_call == "save":
        assert row.tobytes() not in model.read_bytes()  # the forgotten row is gone everywhere


def test_verify_ledger_finds_leftovers_beside_where_the_model_was_saved(saved):
    clf, model = saved
    die_in_save(model)
    with pytest.warns(UserWarning, match="interrupted save"):
        report = clf.verify_ledger()
    [removed] = report.removed_leftovers
    assert os.path.basename(removed).startswith(f".{model.name}.sk_unlearn-")
    assert temp_files(model) == [] and report.ok
    assert clf.verify_ledger().removed_leftovers == ()


def test_a_save_in_progress_is_left_alone(saved):
    _, model = saved
    busy = model.parent / (_durability.temp_prefix(str(model)) + "x" + _durability.TEMP_SUFFIX)
    busy.write_bytes(b"a save in progress")
    with open(busy, "rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        assert _durability.leftovers(model) == []  # locked: a live save
    assert _durability.leftovers(model) == [str(busy)]  # released: a leftover


def test_only_this_models_temporary_files_are_touched(saved, tmp_path):
    _, model = saved
    other = tmp_path / (_durability.temp_prefix(str(tmp_path / "other.pkl")) + "1.tmp")
    other.write_bytes(b"another model's")
    unrelated = tmp_path / ".sk_unlearn-old.tmp"
    unrelated.write_bytes(b"not ours to judge")
    UnlearnableClassifier.load(model)
    assert other.exists() and unrelated.exists()


SAVES_FOREVER = textwrap.dedent(
    """
    import sys
    from sk_unlearn import UnlearnableClassifier
    clf = UnlearnableClassifier.load(sys.argv[1])
    print("ready", flush=True)
    while True:
        clf.save(sys.argv[1])
    """
)


@pytest.mark.parametrize("trial", range(6))
def test_sigkill_during_saves_leaves_nothing_after_the_next_load(saved, trial):
    _, model = saved
    child = subprocess.Popen(
        [sys.executable, "-c", SAVES_FOREVER, str(model)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.05 + np.random.default_rng(trial).uniform(0, 0.3))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    with warnings.catch_warnings(record=True) as caught:  # a warning if the kill landed mid-save
        warnings.simplefilter("always")
        restored = UnlearnableClassifier.load(model)
    assert all("interrupted save" in str(w.message) for w in caught)
    assert temp_files(model) == [] and restored.n_forgotten_ == 0
