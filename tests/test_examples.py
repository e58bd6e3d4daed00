"""The examples run as scripts on a fresh machine and report what they claim.

A fresh machine here has no MNIST, no display and nothing cached: every
example is run from an empty directory, with ``$SK_UNLEARN_MNIST`` unset and
matplotlib on Agg, and must exit 0 with its conclusion printed.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # before pyplot is imported: the stream example draws a figure

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONCLUSION = "What this shows:"


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """An empty working directory, no MNIST anywhere, no display, an empty data home."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SK_UNLEARN_MNIST", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "scikit_learn_data"))
    return tmp_path


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """Run an example as its docstring says, in the current (fresh) environment."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"},
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    "script",
    ["quickstart.py", "deletion_stream.py", "pipeline_forget.py", "tune_unlearning.py"]
    + ["grid_search_dask.py", "erasure_report.py", "sparse_text.py"],
)
def test_example_script_exits_0_with_its_conclusion_on_a_fresh_machine(script, fresh_machine):
    result = run_script(str(EXAMPLES / script))
    assert result.returncode == 0, result.stderr
    assert CONCLUSION in result.stdout
    if script == "deletion_stream.py":  # no display: the plot is saved, and the path printed
        assert (fresh_machine / "deletion_stream.png").stat().st_size > 0
        assert str(fresh_machine / "deletion_stream.png") in result.stdout


def test_quickstart_shows_memorized_rows_forgotten_certified_and_the_cost(capsys, fresh_machine):
    results = runpy.run_path(str(EXAMPLES / "quickstart.py"))["main"]()
    out = capsys.readouterr().out
    n = len(results["rows"])
    before, after, retrained = results["before"], results["after"], results["retrained"]
    # The model memorized the wrong labels, and the certificate sees it.
    assert before["repeats"] >= n - 1 and before["remembered"] >= n - 1
    # forget takes most of them away; retraining takes all, and the certificate
    # passes (nearly) every row only then.
    assert after["repeats"] <= n // 2
    assert retrained["repeats"] == 0 and retrained["forgotten"] >= n - 1
    assert after["forgotten"] <= retrained["forgotten"]
    assert results["n_forgotten"] == n
    assert 0 < results["ms_per_request"] < results["retrain_seconds"] * 1e3
    assert CONCLUSION in out and "calibrated certificate" in out
    assert f"repeats {after['repeats']} of the {n} wrong labels" in out


def test_tune_unlearning_prefers_a_rate_that_keeps_the_model(capsys, fresh_machine):
    results = runpy.run_path(str(EXAMPLES / "tune_unlearning.py"))["main"]()
    out = capsys.readouterr().out
    scores = results["scores"]
    assert len(scores) == 8 and "best:" in out and "Certificate(reference='retrain'" in out
    assert results["best_params"]["unlearning_rate"] < 1.0
    best = max(scores.values())
    assert all(scores[(1.0, n_replay)] < best for n_replay in (0, 32))
    assert results["test_acc"] > 0.9
    assert 0.0 <= results["certificate"].mean <= 1.0
    assert CONCLUSION in out


def test_pipeline_forgets_through_the_scaler_and_reports_what_it_keeps(capsys, fresh_machine):
    results = runpy.run_path(str(EXAMPLES / "pipeline_forget.py"))["main"]()
    out = capsys.readouterr().out
    assert results["n_forgotten"] == 30 and "forgot 30 rows" in out
    assert results["test_acc_after"] > 0.9
    assert results["scaler_shift"] > 0  # the scaler was not refitted, and the example says so
    assert CONCLUSION in out and "the scaler did not" in out


def test_deletion_stream_certifies_periodically_and_retrains_over_the_threshold(
    capsys, fresh_machine
):
    import matplotlib.pyplot as plt

    namespace = runpy.run_path(str(EXAMPLES / "deletion_stream.py"))
    results = namespace["main"](show=False, output=fresh_machine / "stream.png")
    out = capsys.readouterr().out
    n, every = namespace["N_REQUESTS"], namespace["CERTIFY_EVERY"]
    assert results["checkpoints"] == list(range(every, n + 1, every))
    assert len(results["means"]) == len(results["accuracy"]) == n // every
    assert all(0.0 <= m <= x <= 1.0 for m, x in zip(results["means"], results["maxima"]))
    # Every checkpoint over the threshold retrained, and only those.
    over = [
        c
        for c, m in zip(results["checkpoints"], results["means"])
        if m > namespace["MAX_DIVERGENCE"]
    ]
    assert results["retrained_at"] == over
    assert results["n_retrains"] == len(over) == out.count("-> retrained")
    assert len(results["figure"].axes) == 2
    assert (fresh_machine / "stream.png").stat().st_size > 0
    assert f"{results['n_retrains']} retrainings over {n} requests" in out
    plt.close(results["figure"])


def test_grid_search_runs_on_an_in_process_dask_cluster(capsys, fresh_machine):
    results = runpy.run_path(str(EXAMPLES / "grid_search_dask.py"))["main"]()
    out = capsys.readouterr().out
    assert results["n_workers"] == 2 and "on 2 Dask workers" in out
    assert len(results["cv_results"]["params"]) == 8
    assert set(results["best_params"]) == {"estimator__eta0", "unlearning_rate"}
    assert results["test_acc"] > 0.9
    assert CONCLUSION in out


def test_skorch_cnn_example_forgets_memorized_images_without_mnist(capsys, fresh_machine):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = runpy.run_path(str(EXAMPLES / "skorch_mnist_cnn.py"))["main"]()
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert results["source"] == "scikit-learn's digits" and results["image_shape"] == (1, 8, 8)
    assert results["device"] in ("cpu", "cuda") and results["n_forgotten"] == 8
    before, after, retrained = results["before"], results["after"], results["retrained"]
    assert before["repeats"] >= 6 and before["remembered"] >= 6  # memorized, and seen to be
    assert after["repeats"] < before["repeats"]
    assert retrained["repeats"] == 0 and retrained["forgotten"] >= 7
    assert results["test_acc_after"] > 0.95
    assert CONCLUSION in out and "images of shape (1, 8, 8)" in out


def test_skorch_cnn_example_without_mnist_file_stops_with_one_line(fresh_machine):
    result = run_script(str(EXAMPLES / "skorch_mnist_cnn.py"), "--mnist")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SK_UNLEARN_MNIST" in lines[0], result.stderr


def test_every_example_script_is_run_by_a_test_here():
    source = Path(__file__).read_text()
    missing = [p.name for p in EXAMPLES.glob("*.py") if f'"{p.name}"' not in source]
    assert missing == []


def test_erasure_report_example_writes_a_report_of_every_request(capsys, fresh_machine):
    results = runpy.run_path(str(EXAMPLES / "erasure_report.py"))["main"](fresh_machine)
    report = results["report"]
    assert report.totals["requests"] == results["n_rows"] == report.model["n_forgotten"]
    assert report.totals["tickets"] == 12 and report.totals["subjects"] == 12
    assert report.totals["retrains"] >= 1
    assert report.totals["by_status_now"].get("exact", 0) >= 20
    page = (fresh_machine / "erasure_report.md").read_text(encoding="utf-8")
    assert page.count("| DSR-2026-") == 12 + results["n_rows"]
    assert (fresh_machine / "erasure_report.json").stat().st_size > 0
    assert report.certificates[0]["requests"] == [r["request"] for r in report.requests]


def test_sparse_text_example_keeps_the_rows_sparse_and_forgets_by_author(capsys):
    results = runpy.run_path(str(EXAMPLES / "sparse_text.py"))["main"]()
    assert results["n_forgotten"] == 200  # the first 100 authors' two documents each
    assert results["pickle_mib"] < results["dense_mib"] / 5
    before, after = results["accuracy"]
    assert before > 0.8 and after > 0.8
