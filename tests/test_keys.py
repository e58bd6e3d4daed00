"""Keyed digests and the chained ledger: no membership oracle, no undetected forgery."""

from __future__ import annotations

import json
import os
import pickle
import stat

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier, _keys, label_hash, read_ledger, row_hash


def make(path):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), n_replay=4, random_state=0, ledger_path=path
    )


def test_a_key_file_is_created_on_first_use_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv(_keys.KEY_ENV, raising=False)
    path = tmp_path / "conf" / "ledger.key"
    monkeypatch.setenv(_keys.KEY_FILE_ENV, str(path))
    key = _keys.deployment_key()
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _keys.deployment_key() == key  # read back, not regenerated


def test_the_environment_key_wins_and_a_short_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(_keys.KEY_ENV, "ab" * 32)
    assert _keys.deployment_key() == bytes([0xAB]) * 32
    monkeypatch.setenv(_keys.KEY_ENV, "ab" * 8)
    with pytest.raises(ValueError, match="needs at least 32"):
        _keys.deployment_key()
    monkeypatch.setenv(_keys.KEY_ENV, "not hex")
    with pytest.raises(ValueError, match="not hex"):
        _keys.deployment_key()


def test_the_key_is_in_neither_the_ledger_nor_the_model_file(digits, tmp_path):
    clf = make(tmp_path / "ledger.jsonl").fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:3], digits.y_train[:3]).save(tmp_path / "model.pkl")
    key = _keys.deployment_key()
    for name in ("ledger.jsonl", "model.pkl"):
        data = (tmp_path / name).read_bytes()
        assert key not in data and key.hex().encode() not in data


def test_digests_depend_on_the_key_and_labels_are_never_in_clear(digits, tmp_path):
    path = tmp_path / "ledger.jsonl"
    clf = make(path).fit(digits.X_train, digits.y_train)
    y = digits.y_train
    clf.forget(digits.X_train[:3], y[:3])
    other = bytes(range(32))
    assert row_hash(digits.X_train[0]) != row_hash(digits.X_train[0], other)
    assert label_hash(y[0]) != label_hash(y[0], other)
    events = read_ledger(path)
    assert all("label" not in e for e in events)
    completed = [e for e in events if e["event"] == "completed"]
    assert [e["label_hash"] for e in completed] == [label_hash(v) for v in y[:3]]
    # An auditor holding the key and the raw row confirms the deletion.
    assert row_hash(digits.X_train[1]) in {r.row_hash for r in clf.deletion_log_}
    assert all(r.label_hash == label_hash(v) for r, v in zip(clf.deletion_log_, y[:3]))
    assert not hasattr(clf.deletion_log_[0], "label")


def test_every_line_is_chained_and_verifies_under_the_key(digits, tmp_path):
    path = tmp_path / "ledger.jsonl"
    a = make(path).fit(digits.X_train, digits.y_train)
    b = make(path).fit(digits.X_train, digits.y_train)  # two models, one chain
    a.forget(digits.X_train[:2], digits.y_train[:2])
    b.forget(digits.X_train[2:3], digits.y_train[2:3])
    a.retrain()
    events = read_ledger(path)
    assert all(e["key"] == _keys.key_id(_keys.deployment_key()) for e in events)
    link = ""
    for line in path.read_bytes().splitlines():
        event = json.loads(line)
        content = line[: line.rindex(b',"mac":')] + b"}"
        assert event["mac"] == _keys.chain_mac(_keys.deployment_key(), link, content.decode())
        link = event["mac"]
    assert a.verify_ledger().ok and b.verify_ledger().ok


def test_a_forged_request_for_an_innocent_row_is_never_served(digits, tmp_path):
    path = tmp_path / "ledger.jsonl"
    clf = make(path).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:2], digits.y_train[:2])
    last = json.loads(path.read_bytes().splitlines()[-1])
    innocent = digits.X_train[100]
    forged = {  # everything public, and a keyed digest leaked from elsewhere; no valid link
        "event": "started",
        "fit": last["fit"],
        "time": last["time"],
        "request": 2,
        "row_hash": row_hash(innocent),
        "label_hash": label_hash(digits.y_train[100]),
        "key": last["key"],
        "mac": last["mac"],
    }
    with open(path, "a") as f:
        f.write(json.dumps(forged, separators=(",", ":")) + "\n")
    n_lines = len(path.read_bytes().splitlines())
    report = clf.verify_ledger()
    assert report.forged == (n_lines,) and not report.pending and not report.ok
    clf.recover()
    assert clf.n_retained_ == len(digits.y_train) - 2  # the innocent row is still there


def test_under_another_key_the_lines_are_forged(digits, tmp_path, monkeypatch):
    """Rotation: lines written under one key cannot be vouched for by another."""
    path = tmp_path / "ledger.jsonl"
    clf = make(path).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:1], digits.y_train[:1])
    monkeypatch.setenv(_keys.KEY_ENV, "cd" * 32)
    report = clf.verify_ledger()
    assert report.forged and not report.ok
    monkeypatch.delenv(_keys.KEY_ENV)
    assert clf.verify_ledger().ok  # the old key back: all verifies


def test_recover_finds_pending_rows_by_their_keyed_digests(digits, tmp_path):
    path, model = tmp_path / "ledger.jsonl", tmp_path / "model.pkl"
    labels = np.array([f"class-{v}" for v in digits.y_train])  # string labels too
    clf = make(path).fit(digits.X_train, labels)
    clf.save(model)
    clf.forget(digits.X_train[5:8], labels[5:8])  # served, never saved
    restored = UnlearnableClassifier.load(model, recover=True)
    assert restored.n_forgotten_ == 3 and restored.verify_ledger().ok
    assert os.path.getsize(path) > 0


def test_no_writable_place_for_a_key_is_a_clear_error_and_forget_changes_nothing(
    digits, tmp_path, monkeypatch
):
    clf = make(None).fit(digits.X_train, digits.y_train)
    before = pickle.dumps(clf)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.delenv(_keys.KEY_ENV, raising=False)
    monkeypatch.setenv(_keys.KEY_FILE_ENV, str(blocker / "ledger.key"))
    with pytest.raises(OSError, match="SK_UNLEARN_LEDGER_KEY_FILE to a writable path"):
        clf.forget(digits.X_train[:1], digits.y_train[:1])
    assert pickle.dumps(clf) == before
