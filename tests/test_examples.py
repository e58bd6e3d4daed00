"""The examples run as scripts and report what they claim."""

from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib
import pytest
from conftest import MNIST_PATH

matplotlib.use("Agg")  # before pyplot is imported: the stream example draws a figure

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


def test_pipeline_forgets_through_the_scaler_and_reports_what_it_keeps(capsys):
    results = runpy.run_path(str(EXAMPLES / "pipeline_forget.py"))["main"]()
    out = capsys.readouterr().out
    assert results["n_forgotten"] == 30 and "forgot 30 rows" in out
    assert results["test_acc_after"] > 0.9
    assert results["scaler_shift"] > 0  # the scaler was not refitted, and the example says so


def test_deletion_stream_certifies_periodically_and_retrains_over_the_threshold(capsys):
    import matplotlib.pyplot as plt

    namespace = runpy.run_path(str(EXAMPLES / "deletion_stream.py"))
    results = namespace["main"](show=False)
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
    plt.close(results["figure"])


def test_grid_search_runs_on_an_in_process_dask_cluster(capsys):
    results = runpy.run_path(str(EXAMPLES / "grid_search_dask.py"))["main"]()
    out = capsys.readouterr().out
    assert results["n_workers"] == 2 and "on 2 Dask workers" in out
    assert len(results["cv_results"]["params"]) == 8
    assert set(results["best_params"]) == {"estimator__eta0", "unlearning_rate"}
    assert results["test_acc"] > 0.9


def test_skorch_cnn_example_reads_the_local_mnist_and_certifies(capsys, monkeypatch):
    import torch

    if not MNIST_PATH.is_file():  # never download in the tests
        pytest.skip(f"MNIST is not at {MNIST_PATH}")
    monkeypatch.setenv("SK_UNLEARN_MNIST", str(MNIST_PATH))
    torch.set_num_threads(1)
    results = runpy.run_path(str(EXAMPLES / "skorch_mnist_cnn.py"))["main"]()
    out = capsys.readouterr().out
    assert results["device"] == "cpu" and results["n_train"] == 600
    assert results["source"] == str(MNIST_PATH)
    assert results["n_forgotten"] == 20 and "forgot 20 rows" in out
    assert 0.0 <= results["certificate"].mean <= 1.0
    assert 0.0 <= results["divergence_before"] <= 1.0
    assert results["test_acc"] > 0.5  # far above chance (0.1) even on 600 rows


def test_every_example_script_is_run_by_a_test_here():
    source = Path(__file__).read_text()
    missing = [p.name for p in EXAMPLES.glob("*.py") if f'"{p.name}"' not in source]
    assert missing == []
