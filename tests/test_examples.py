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
