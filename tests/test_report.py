"""The erasure report and the certificates the ledger records."""

import json

import numpy as np
import pytest
from conftest import state_bytes
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import GaussianNB

from sk_unlearn import HeldOutReference, UnlearnableClassifier, read_ledger, subject_hash


def _sgd(**kwargs):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, **kwargs
    )


@pytest.fixture
def stream(tmp_path, digits):
    """100 one-row requests with tickets, three certificates and one retraining in between."""
    X, y = digits.X_train, digits.y_train
    ids = [f"c{i}" for i in range(len(X))]
    clf = _sgd(ledger_path=tmp_path / "ledger.jsonl").fit(X, y, sample_id=ids)
    held_out = HeldOutReference(digits.X_test[:200], digits.y_test[:200])
    for i in range(100):
        clf.forget(sample_id=[ids[i]], ticket=f"DSR-{i // 10}")  # 10 tickets of 10 rows
        if i == 29:
            clf.certify(X[:30], y[:30], reference=held_out)
        if i == 59:
            clf.retrain()
        if i == 79:
            clf.certify(X[70:80])
    clf.certify(X[95:100], y[95:100], reference=held_out)
    return clf, X, y, ids


def test_report_lists_every_request_of_a_stream_correctly(stream):
    clf, X, y, ids = stream
    report = clf.erasure_report()
    rows = report.requests
    assert [r["request"] for r in rows] == list(range(100))
    assert [r["ticket"] for r in rows] == [f"DSR-{i // 10}" for i in range(100)]
    assert [r["subject"] for r in rows] == [subject_hash(ids[i]) for i in range(100)]
    # The retraining after request 59 made requests 0..59 exact, the later ones are not.
    retrain_time = clf.retrain_log_[0].timestamp
    assert all(r["status"] == "exact" and r["exact_since"] == retrain_time for r in rows[:60])
    assert all(r["retrained_by"] == "manual" for r in rows[:60])
    assert all(r["status"] == "approximate" and r["exact_since"] is None for r in rows[60:])
    assert all(r["guarantee"] == "approximate" and r["method"] == "relabel" for r in rows)
    # Certificates name exactly the requests whose rows they measured.
    assert [r["certificates"] for r in rows[:30]] == [[0]] * 30
    assert [r["certificates"] for r in rows[30:70]] == [[]] * 40
    assert [r["certificates"] for r in rows[70:80]] == [[1]] * 10
    assert [r["certificates"] for r in rows[95:]] == [[2]] * 5
    assert report.totals == {
        "requests": 100,
        "by_method": {"relabel": 100},
        "by_guarantee_when_served": {"approximate": 100},
        "by_status_now": {"exact": 60, "approximate": 40},
        "tickets": 10,
        "without_ticket": 0,
        "subjects": 100,
        "retrains": 1,
        "certificates": 3,
    }
    assert report.model["ledger_verified"] is True
    assert report.model["n_forgotten"] == 100 and report.model["guarantee_now"] == "approximate"
    assert [c["certificate"]["reference"] for c in report.certificates] == [
        "held-out",
        "retrain",
        "held-out",
    ]


def test_report_renders_as_json_and_markdown_without_ids_or_rows(stream):
    clf, X, _, ids = stream
    report = clf.erasure_report()
    text = report.to_json(indent=2)
    assert json.loads(text)["totals"]["requests"] == 100
    page = report.to_markdown()
    assert page.startswith("# Erasure report")
    assert page.count("| DSR-") == 10 + 100  # the ticket table, then one line per request
    assert "Not covered by this report" in page
    for i in range(100):  # no id in clear, as a JSON string or a table cell
        assert f'"{ids[i]}"' not in text and f"| {ids[i]} |" not in page


def test_report_is_read_only(stream):
    clf, *_ = stream
    before = state_bytes(clf)
    clf.erasure_report()
    assert state_bytes(clf) == before


def test_exact_removals_are_exact_from_the_moment_they_are_served(digits):
    clf = UnlearnableClassifier(GaussianNB()).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:3], digits.y_train[:3], ticket="T-1")
    rows = clf.erasure_report().requests
    assert [(r["method"], r["status"], r["retrained_by"]) for r in rows] == [
        ("exact", "exact", None)
    ] * 3
    assert [r["exact_since"] for r in rows] == [r.timestamp for r in clf.deletion_log_]


def test_every_certificate_is_in_the_ledger_file(tmp_path, digits):
    path = tmp_path / "ledger.jsonl"
    clf = _sgd(ledger_path=path).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:5], digits.y_train[:5])
    clf.certify(digits.X_train[:10])
    clf.certify(digits.X_test[:10])  # no forgotten row: covers no request
    lines = [e for e in read_ledger(path) if e["event"] == "certificate"]
    assert [line["requests"] for line in lines] == [[0, 1, 2, 3, 4], []]
    assert [c.requests for c in clf.certificate_log_] == [(0, 1, 2, 3, 4), ()]
    assert all("divergences" not in line["certificate"] for line in lines)
    assert clf.verify_ledger().ok


def test_a_certificate_that_retrains_is_recorded_with_its_retraining(digits):
    clf = _sgd(max_divergence=0.0).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:5], digits.y_train[:5])
    cert = clf.certify(digits.X_train[:5])
    assert cert.retrained
    report = clf.erasure_report()
    assert report.certificates[0]["certificate"]["retrained"] is True
    assert [r["retrained_by"] for r in report.requests] == ["certificate"] * 5
    assert report.totals["by_status_now"] == {"exact": 5}


def test_failed_certify_records_nothing(digits):
    clf = _sgd().fit(digits.X_train, digits.y_train)
    before = state_bytes(clf)
    with pytest.raises(ValueError):
        clf.certify(np.zeros((2, 3)))
    assert state_bytes(clf) == before and clf.certificate_log_ == []


def test_a_certificate_that_cannot_be_written_changes_nothing(tmp_path, digits, monkeypatch):
    path = tmp_path / "ledger.jsonl"
    clf = _sgd(ledger_path=path).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:2], digits.y_train[:2])
    before, on_disk = state_bytes(clf), path.read_bytes()
    import sk_unlearn._ledger as ledger_module

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ledger_module, "append_events", full_disk)
    with pytest.raises(OSError, match="No space"):
        clf.certify(digits.X_train[:2])
    assert state_bytes(clf) == before and path.read_bytes() == on_disk
