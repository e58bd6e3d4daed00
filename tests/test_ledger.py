"""The audit ledger: what it records, durably, and how a model is checked against it."""

from __future__ import annotations

import json
import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier

from sk_unlearn import (
    LedgerError,
    LedgerReport,
    RetrainRecord,
    UnknownRowError,
    UnlearnableClassifier,
    label_hash,
    read_ledger,
    row_hash,
)
from sk_unlearn import _ledger as ledger_module

state_bytes = pickle.dumps  # everything the estimator keeps: equal bytes, equal state


def make(path=None, **kwargs):
    params = {"n_replay": 4, "random_state": 0, "ledger_path": path, **kwargs}
    return UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0), **params)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "ledger.jsonl"


@pytest.fixture
def fitted(digits, path):
    clf = make(path).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    return clf


def events(path, kind=None):
    return [e for e in read_ledger(path) if kind is None or e["event"] == kind]


def test_each_request_is_written_started_then_completed(fitted, digits, path):
    kinds = [e["event"] for e in events(path)]
    assert kinds == ["fit"] + ["started"] * 3 + ["completed"] * 3
    completed = events(path, "completed")
    assert [e["request"] for e in completed] == [0, 1, 2]
    assert [e["row_hash"] for e in completed] == [row_hash(x) for x in digits.X_train[:3]]
    assert [e["label_hash"] for e in completed] == [label_hash(v) for v in digits.y_train[:3]]
    assert all("label" not in e for e in read_ledger(path))  # no label in clear
    # The file's completed records are exactly the in-memory ones.
    fields = set(fitted.deletion_log_[0].to_dict())
    assert [{k: e[k] for k in fields} for e in completed] == [
        r.to_dict() for r in fitted.deletion_log_
    ]
    assert {e["fit"] for e in events(path)} == {fitted._ledger.fit_id}
    assert fitted.verify_ledger().ok


def test_every_line_is_fsynced(fitted, digits, path, monkeypatch):
    synced = []
    original = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), original(fd)))
    fitted.forget(digits.X_train[3:4], digits.y_train[3:4])
    assert len(synced) == 2  # phase one and phase two, each fsync'd before going on


def test_ledger_holds_hashes_never_values(fitted, digits, path):
    text = path.read_bytes()
    for x in digits.X_train[:3]:
        assert x.tobytes() not in text and x.astype(np.float32).tobytes() not in text
        # Digits rows hold values like 0.3125. Short ones (1.0, 0.5, 0.25) are left
        # out: they also occur in timestamps (e.g. "...:01.0...") and fail by chance.
        for value in x[x > 0]:
            if len(repr(float(value))) >= 6:
                assert repr(float(value)).encode() not in text
        assert row_hash(x).encode() in text


def test_retrains_are_appended_with_their_reason(digits, path):
    clf = make(path, retrain_after=2).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    clf.retrain()
    clf.set_params(max_divergence=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf.forget(digits.X_train[3:4], digits.y_train[3:4])
        cert = clf.certify(digits.X_train[:3])
    assert cert.retrained
    reasons = [(r.reason, r.after_request) for r in clf.retrain_log_]
    assert reasons == [("retrain_after", 2), ("manual", 3), ("certificate", 4)]
    assert clf.retrain_log_[-1].certificate["mean"] == cert.mean
    assert "divergences" not in clf.retrain_log_[-1].certificate
    assert clf.n_retrains_ == len(clf.retrain_log_) == 3
    # Append-only on disk: the certificate's retraining is one more line, and the
    # completed record of request 3 stays as it was written.
    on_disk = events(path, "retrain")
    assert [e["reason"] for e in on_disk] == ["retrain_after", "manual", "certificate"]
    assert events(path, "completed")[-1]["retrained"] is False
    assert clf.deletion_log_[-1].retrained is True  # the in-memory view marks it
    assert clf.verify_ledger().ok


def test_in_memory_ledger_without_a_path_writes_nothing(digits, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clf = make().fit(digits.X_train, digits.y_train).forget(digits.X_train[:2], digits.y_train[:2])
    assert os.listdir(tmp_path) == []
    assert len(clf.deletion_log_) == 2
    with pytest.raises(ValueError, match="ledger_path"):
        clf.verify_ledger()


def test_deletion_log_is_a_copy(fitted):
    log = fitted.deletion_log_
    log.clear()
    assert len(fitted.deletion_log_) == 3


# ----------------------------------------------------- failure at each stage
def _fail_writes(monkeypatch, on_event):
    original = ledger_module.append_events

    def failing(path, evs, **kwargs):
        if any(e["event"] == on_event for e in evs):
            raise OSError(28, "No space left on device (injected)")
        return original(path, evs, **kwargs)

    monkeypatch.setattr(ledger_module, "append_events", failing)


@pytest.mark.parametrize("stage", ["started", "step", "completed", "interrupt"])
def test_failure_at_each_stage_changes_nothing_but_an_aborted_line(
    stage, fitted, digits, path, monkeypatch
):
    from sk_unlearn._backends import SGDAdapter

    before_state, before_lines = state_bytes(fitted), path.read_bytes()
    if stage in ("started", "completed"):
        _fail_writes(monkeypatch, stage)
        error = OSError
    else:
        error = RuntimeError if stage == "step" else KeyboardInterrupt
        calls = {"n": 0}
        original = SGDAdapter.forget_step

        def flaky(self, X, y, rate, sample_weight=None):
            calls["n"] += 1
            if calls["n"] == 2:
                raise error("injected")
            return original(self, X, y, rate, sample_weight)

        monkeypatch.setattr(SGDAdapter, "forget_step", flaky)
    with pytest.raises(error):
        fitted.forget(digits.X_train[10:13], digits.y_train[10:13])
    assert state_bytes(fitted) == before_state
    new = events(path)[len(before_lines.splitlines()) :]
    if stage == "started":
        # The failed write may have reached the file in part: the requests are
        # aborted all the same, and none was ever started or served.
        assert [e["event"] for e in new] == ["aborted"] * 3
    else:
        kinds = [e["event"] for e in new]
        assert kinds == ["started"] * 3 + ["aborted"] * 3
    assert fitted.verify_ledger().ok  # aborted requests are not pending
    monkeypatch.undo()
    fitted.forget(digits.X_train[10:13], digits.y_train[10:13])  # and it works afterwards
    assert fitted.n_forgotten_ == 6 and fitted.verify_ledger().ok


def test_failed_retrain_write_leaves_the_model(fitted, path, monkeypatch):
    before = state_bytes(fitted)
    _fail_writes(monkeypatch, "retrain")
    with pytest.raises(OSError):
        fitted.retrain()
    assert state_bytes(fitted) == before and fitted.n_retrains_ == 0


def test_fit_with_an_unwritable_path_fails_before_training(digits, tmp_path):
    clf = make(tmp_path / "missing-dir" / "ledger.jsonl")
    with pytest.raises(OSError):
        clf.fit(digits.X_train, digits.y_train)
    assert not hasattr(clf, "estimator_")


@pytest.mark.parametrize("bad", [3, ["a.jsonl"], b"bytes"])
def test_ledger_path_of_wrong_type_is_rejected_at_fit(bad, digits):
    with pytest.raises(ValueError, match="ledger_path"):
        make(bad).fit(digits.X_train, digits.y_train)


# ------------------------------------------------ verify, load and recover
def test_model_saved_before_later_requests_reports_and_recovers_them(fitted, digits, tmp_path):
    model = tmp_path / "model.pkl"
    fitted.save(model)
    fitted.forget(digits.X_train[3:6], digits.y_train[3:6])
    with pytest.warns(UserWarning, match="3 deletion request.*not applied"):
        old = UnlearnableClassifier.load(model)
    report = old.verify_ledger()
    assert isinstance(report, LedgerReport) and not report.ok
    assert [(p.request, p.status) for p in report.pending] == [
        (3, "completed"),
        (4, "completed"),
        (5, "completed"),
    ]
    assert [p.row_hash for p in report.pending] == [row_hash(x) for x in digits.X_train[3:6]]
    assert old.n_forgotten_ == 3
    after = old.recover()
    assert after.ok and after.n_served == 6
    assert [r.row_hash for r in old.deletion_log_] == [r.row_hash for r in fitted.deletion_log_]
    # Served exactly once: the rows are gone, asking again is an error.
    with pytest.raises(UnknownRowError):
        old.forget(digits.X_train[3:4], digits.y_train[3:4])
    assert old.recover().ok  # nothing left to do


@pytest.mark.parametrize("labels", ["int", "str"])
def test_load_with_recover_serves_pending_requests(labels, digits, path, tmp_path):
    names = np.array(list("abcdefghij"), dtype=object) if labels == "str" else np.arange(10)
    y = names[digits.y_train]
    clf = make(path).fit(digits.X_train, y).forget(digits.X_train[:3], y[:3])
    model = tmp_path / "model.pkl"
    clf.save(model)
    clf.forget(digits.X_train[3:5], y[3:5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = UnlearnableClassifier.load(model, recover=True)
    assert loaded.n_forgotten_ == 5 and loaded.verify_ledger().ok
    assert [r.label_hash for r in loaded.deletion_log_] == [label_hash(v) for v in y[:5]]


def test_pending_request_survives_an_unrelated_forget_after_load(fitted, digits, tmp_path):
    model = tmp_path / "model.pkl"
    fitted.save(model)
    fitted.forget(digits.X_train[3:4], digits.y_train[3:4])
    with pytest.warns(UserWarning):
        old = UnlearnableClassifier.load(model)
    old.forget(digits.X_train[7:8], digits.y_train[7:8])  # ignores the warning
    pending = old.verify_ledger().pending
    assert [p.row_hash for p in pending] == [row_hash(digits.X_train[3])]  # not lost
    assert old.recover().ok and old.n_forgotten_ == 5


def test_wrong_ledger_is_reported_as_mismatched(fitted, digits, tmp_path):
    other = tmp_path / "other.jsonl"
    fitted.set_params(ledger_path=other)
    report = fitted.verify_ledger()
    assert report.mismatched == (0, 1, 2) and not report.ok


def test_torn_last_line_is_ignored_and_reported(fitted, path):
    with open(path, "ab") as f:
        f.write(b'{"event":"started","fit":"')
    report = fitted.verify_ledger()
    assert report.torn_tail and report.ok


def test_a_partial_line_in_the_middle_is_reported_as_torn(fitted, path):
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(1, b'{"event":"started","fit":"abc","requ\n')  # cut short, then a fresh line
    path.write_bytes(b"".join(lines))
    report = fitted.verify_ledger()
    assert report.torn_lines == (2,) and not report.torn_tail and report.ok


@pytest.mark.parametrize(
    "line",
    [b"42", b'"started"', b"[1, 2]", b"null", b'{"event": "started"}', b'{"fit": "x"}'],
)
def test_a_complete_line_no_ledger_writes_is_a_ledger_error(fitted, path, line):
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = line + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(LedgerError, match=":2 is not a ledger line"):
        fitted.verify_ledger()


def test_a_line_without_an_event_is_a_ledger_error(fitted, path):
    lines = path.read_bytes().splitlines(keepends=True)
    started = json.loads(lines[1])
    del started["event"]
    lines[1] = json.dumps(started).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(LedgerError, match="not a ledger line"):
        fitted.verify_ledger()


@pytest.mark.parametrize("field", ["request", "row_hash", "label_hash", "key", "mac", "time"])
def test_a_line_missing_a_field_is_forged_and_never_served(fitted, path, field):
    lines = path.read_bytes().splitlines(keepends=True)
    started = json.loads(lines[1])
    del started[field]
    lines[1] = json.dumps(started, separators=(",", ":")).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    report = fitted.verify_ledger()
    assert 2 in report.forged and not report.ok and not report.pending


def test_clones_sharing_one_file_keep_their_fits_apart(digits, path):
    a = make(path).fit(digits.X_train, digits.y_train)
    b = clone(a).fit(digits.X_train, digits.y_train)
    a.forget(digits.X_train[:2], digits.y_train[:2])
    b.forget(digits.X_train[2:5], digits.y_train[2:5])
    a.forget(digits.X_train[5:6], digits.y_train[5:6])
    assert a.verify_ledger().ok and b.verify_ledger().ok
    fits = [e["fit"] for e in events(path, "completed")]
    assert fits.count(a._ledger.fit_id) == 3 and fits.count(b._ledger.fit_id) == 3


def test_refit_starts_a_new_segment(fitted, digits, path):
    old_id = fitted._ledger.fit_id
    fitted.fit(digits.X_train, digits.y_train)
    assert fitted._ledger.fit_id != old_id
    assert fitted.deletion_log_ == [] and fitted.verify_ledger().ok
    assert len(events(path, "fit")) == 2


def test_save_is_atomic_and_rejects_other_objects(fitted, tmp_path, monkeypatch):
    model = tmp_path / "model.pkl"
    fitted.save(model)
    before = model.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("injected crash while writing")

    monkeypatch.setattr(pickle, "dump", crash)
    with pytest.raises(OSError):
        fitted.save(model)
    assert model.read_bytes() == before  # the old file is intact
    assert sorted(os.listdir(tmp_path)) == ["ledger.jsonl", "model.pkl"]  # no temp left
    monkeypatch.undo()
    with open(tmp_path / "list.pkl", "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(TypeError, match="not an UnlearnableClassifier"):
        UnlearnableClassifier.load(tmp_path / "list.pkl")


def test_record_types_are_plain_data():
    record = RetrainRecord(after_request=1, timestamp="t", reason="manual", n_retained=5)
    assert json.loads(json.dumps(record.to_dict()))["reason"] == "manual"


def test_a_relative_ledger_path_does_not_follow_chdir(digits, tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    clf = make("ledger.jsonl").fit(digits.X_train, digits.y_train)
    monkeypatch.chdir(tmp_path / "b")
    clf.forget(digits.X_train[:2], digits.y_train[:2])
    assert not (tmp_path / "b" / "ledger.jsonl").exists()
    assert [e["event"] for e in read_ledger(tmp_path / "a" / "ledger.jsonl")][-2:] == [
        "completed",
        "completed",
    ]
    assert clf.verify_ledger().ok and clf.get_params()["ledger_path"] == "ledger.jsonl"
    restored = pickle.loads(pickle.dumps(clf))  # loaded elsewhere: still the same file
    assert restored.verify_ledger().ok


@pytest.mark.parametrize(
    ("field", "value"),
    [("row_hash", "0" * 64), ("label_hash", "0" * 64), ("unlearning_rate", 9.0), ("n_replay", 99)],
)
def test_an_edited_completed_line_is_reported_forged(fitted, path, field, value):
    lines = path.read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"completed"' in line)
    event = json.loads(lines[index])
    event[field] = value
    lines[index] = json.dumps(event).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    report = fitted.verify_ledger()  # the chained HMAC no longer verifies
    assert not report.ok and report.forged == (index + 1,)
    assert report.mismatched == (event["request"],)  # and the request lost its line


def test_a_deleted_or_edited_retrain_line_is_reported_altered(fitted, digits, path):
    fitted.retrain()
    assert fitted.verify_ledger().ok
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"retrain"' in line)
    del lines[index]
    path.write_bytes(b"".join(lines))
    assert fitted.verify_ledger().altered == ("retrain after request 3: no such line",)
    path.write_bytes(original.replace(b'"n_retained":', b'"n_retained":1'))
    assert not fitted.verify_ledger().ok


def test_load_reads_only_the_lines_after_the_models_checkpoint(fitted, digits, path, tmp_path):
    model = tmp_path / "model.pkl"
    fitted.save(model)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = b"4" * (len(lines[1]) - 1) + b"\n"  # before the checkpoint: no ledger line
    path.write_bytes(b"".join(lines))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: nothing after the checkpoint
        restored = UnlearnableClassifier.load(model)
    with pytest.raises(LedgerError, match=":2 is not a ledger line"):
        restored.verify_ledger()  # the full check reads it all


def test_requests_after_the_checkpoint_are_found_at_load(fitted, digits, path, tmp_path):
    model = tmp_path / "model.pkl"
    fitted.save(model)
    fitted.forget(digits.X_train[3:5], digits.y_train[3:5])  # served, never saved
    checkpoint = fitted._ledger.checkpoint
    with pytest.warns(UserWarning, match="2 deletion request"):
        UnlearnableClassifier.load(model)
    restored = UnlearnableClassifier.load(model, recover=True)
    assert restored.n_forgotten_ == 5 and restored.verify_ledger().ok
    assert restored._ledger.checkpoint[1] > checkpoint[1]  # the recovery moved it on


def test_a_ledger_shorter_than_the_checkpoint_is_read_whole(fitted, path, tmp_path):
    model = tmp_path / "model.pkl"
    fitted.save(model)
    path.write_bytes(b"")  # replaced: the checkpoint lies past its end
    with pytest.warns(UserWarning, match="does not record"):
        UnlearnableClassifier.load(model)


def test_a_failed_call_does_not_move_the_checkpoint(fitted, digits, monkeypatch):
    checkpoint = fitted._ledger.checkpoint
    monkeypatch.setattr(
        type(fitted._adapter()), "forget_step", lambda *a, **k: (_ for _ in ()).throw(OSError())
    )
    with pytest.raises(OSError):
        fitted.forget(digits.X_train[3:4], digits.y_train[3:4])
    assert fitted._ledger.checkpoint == checkpoint


def test_a_failed_calls_request_numbers_are_never_reused(fitted, digits, path, monkeypatch):
    before = pickle.dumps(fitted)

    def failing_step(*args, **kwargs):
        raise RuntimeError("the step failed")

    monkeypatch.setattr(type(fitted._adapter()), "forget_step", failing_step)
    with pytest.raises(RuntimeError):
        fitted.forget(digits.X_train[3:6], digits.y_train[3:6])  # takes 3, 4, 5, then fails
    monkeypatch.undo()
    assert pickle.dumps(fitted) == before  # the model is as it was
    fitted.forget(digits.X_train[6:7], digits.y_train[6:7])
    assert fitted.deletion_log_[-1].request == 6  # not 3: that number is the failed call's
    started = [e["request"] for e in events(path, "started")]
    assert started == [0, 1, 2, 3, 4, 5, 6] and len(set(started)) == len(started)
    assert fitted.verify_ledger().ok


def test_numbers_a_later_state_used_are_skipped_after_load(fitted, digits, tmp_path):
    model = tmp_path / "model.pkl"
    fitted.save(model)
    fitted.forget(digits.X_train[3:5], digits.y_train[3:5])  # 3, 4: served, never saved
    restored = UnlearnableClassifier.load(model, recover=True)
    restored.forget(digits.X_train[5:6], digits.y_train[5:6])
    numbers = [r.request for r in restored.deletion_log_]
    assert numbers[:3] == [0, 1, 2] and min(numbers[3:]) > 4 and len(set(numbers)) == 6
    assert restored.verify_ledger().ok
