"""The examples run as scripts and report what they claim."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quickstart_forgets_one_percent_and_compares_with_naive(capsys):
    results = runpy.run_path(str(EXAMPLES / "quickstart.py"))["main"]()
    out = capsys.readouterr().out
    assert "forgetting 13 rows (1%)" in out
    assert results["n_forgotten"] == results["n_train"] // 100
    for key in ("test_acc_after", "test_acc_naive", "forgotten_acc_after"):
        assert 0.0 <= results[key] <= 1.0
    assert results["test_acc_naive"] > 0.9
    assert results["ms_per_request"] > 0 and results["ms_retrain"] > 0
    assert "Deletion log: 13 records" in out


def test_tune_unlearning_prefers_a_rate_that_keeps_the_model(capsys):
    results = runpy.run_path(str(EXAMPLES / "tune_unlearning.py"))["main"]()
    out = capsys.readouterr().out
    scores = results["scores"]
    assert len(scores) == 8 and "best:" in out and "Certificate(reference='retrain'" in out
    assert results["best_params"]["unlearning_rate"] < 1.0
    best = max(scores.values())
    assert all(scores[(1.0, n_replay)] < best for n_replay in (0, 32))
    assert results["test_acc"] > 0.9
    assert 0.0 <= results["certificate"].mean <= 1.0


def test_every_example_script_is_run_by_a_test_here():
    source = Path(__file__).read_text()
    missing = [p.name for p in EXAMPLES.glob("*.py") if f'"{p.name}"' not in source]
    assert missing == []
