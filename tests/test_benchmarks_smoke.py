"""Smoke tests: every benchmark script runs end to end on a tiny slice of its data."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path

import pytest
from sklearn.neural_network import MLPClassifier

from sk_unlearn import _mlp_step

REPO_ROOT = Path(__file__).resolve().parent.parent
MNIST = REPO_ROOT / ".." / "shared" / "data" / "mnist.npz"

HEADERS = (
    "| Measurement | median (ms) | p10 (ms) | p90 (ms) | mean (ms) | samples |",
    "| Measurement | time |",
    "| Model | test accuracy | forget-set accuracy | retained-set accuracy |",
)
NUMBERS = {
    "ratio": r"Ratio forget/raw, one row per call: (\S+)x \(target <= 1\.3x\): (PASS|FAIL)",
    "ratio_all": r"Ratio forget/raw, all rows in one call: (\S+)x",
    "speedup": r"Speedup retrain/forget: (\S+)x \(target >= 1000x\): (PASS|FAIL)",
}


def _load_bench(name: str):  # type: ignore[no-untyped-def]
    """Import ``benchmarks/<name>.py`` (its sibling helpers, e.g. ``_common``, importable)."""
    bench_dir = str(REPO_ROOT / "benchmarks")
    sys.path.insert(0, bench_dir)
    try:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault(spec.name, module)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(bench_dir)


def _load_script():  # type: ignore[no-untyped-def]
    return _load_bench("bench_sgd_mnist")


def test_bench_sgd_mnist_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not MNIST.is_file():
        pytest.skip(f"MNIST file not found at {MNIST}")
    bench = _load_script()
    out = tmp_path / "sgd_mnist.md"
    argv = [
        "--data",
        str(MNIST),
        "--n-train",
        "2000",
        "--n-test",
        "1000",
        "--n-requests",
        "20",
        "--repeats",
        "1",
        "--retrain-repeats",
        "1",
        "--out",
        str(out),
    ]
    results = bench.main(argv)
    printed = capsys.readouterr().out

    text = out.read_text(encoding="utf-8")
    for header in HEADERS:
        assert header in text
        assert header in printed
    for stamp in ("- Command: ", "- Date: ", "- Hardware: ", "- Versions: ", "- Seed: 0"):
        assert stamp in text
    assert "--n-requests 20" in text

    for key, pattern in NUMBERS.items():
        for source in (text, printed):
            match = re.search(pattern, source)
            assert match, f"{key} line missing"
            value = float(match.group(1))
            assert math.isfinite(value) and value > 0, f"{key} = {value}"
        assert math.isfinite(results[key]) and results[key] > 0


def test_bench_skorch_mnist_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("skorch")
    if not MNIST.is_file():
        pytest.skip(f"MNIST file not found at {MNIST}")
    bench = _load_bench("bench_skorch_mnist")
    out = tmp_path / "skorch.md"
    argv = ["--data", str(MNIST), "--device", "cpu", "--n-train", "300", "--n-test", "200"]
    results = bench.main([*argv, "--n-requests", "3", "--epochs", "1", "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    for stamp in (
        "- Command: ",
        "- Date: ",
        "- Hardware: ",
        "- Device: cpu",
        "300-row subset of MNIST, 1 epoch(s), the paper trains 5",
    ):
        assert stamp in text
    assert re.search(r"Ratio forget/raw: \S+x \(target <= 1\.3x\): (PASS|FAIL)", text)
    assert re.search(r"Speedup retrain/forget: \S+x", text)
    assert math.isfinite(results["ratio"]) and results["ratio"] > 0
    assert results["wrap_ms"]["n"] == results["raw_ms"]["n"] == 3


def test_bench_ledger_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_bench("bench_ledger")
    out = tmp_path / "ledger.md"
    bench.main(["--requests", "4", "--dir", str(tmp_path), "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    assert "| forget, ledger file (2 fsyncs per call) |" in text
    assert re.search(r"Median cost of durability per request: -?\d+\.\d+ ms", text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.md"]  # its files are gone


def test_bench_relabel_strategies_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not MNIST.is_file():
        pytest.skip(f"MNIST file not found at {MNIST}")
    bench = _load_bench("bench_relabel_strategies")
    out = tmp_path / "relabel.md"
    results = bench.main(["--quick", "--data", str(MNIST), "--out", str(out)])
    printed = capsys.readouterr().out

    text = out.read_text(encoding="utf-8")
    header = "| model | relabel | unlearning rate | replay | steps | test acc | repeated |"
    assert header in text and header in printed
    for stamp in (
        "- Command: ",
        "- Date: ",
        "- Hardware: ",
        "- Versions (at the start",
        "- Seeds: 0",
    ):
        assert stamp in text
    # original, naive, then every strategy x rate x replay x steps cell of the quick grid
    assert [r["model"] for r in results[:2]] == ["original", "naive"]
    cells = {(r["strategy"], r["replay"], r["steps"]) for r in results[2:]}
    assert cells == {
        (s, p, n) for s in ("uniform", "boundary", "soft") for p in (0, 8) for n in (1, 2)
    }
    for r in results:
        for metric in ("test_acc", "repeated", "true_label"):
            assert 0 <= r[metric] <= 100
    csv_lines = out.with_suffix(".csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_lines) == 1 + len(results)


def test_bench_exact_nb_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_bench("bench_exact_nb")
    out = tmp_path / "exact_nb.md"
    argv = ["--small", "300", "--large", "3000", "--requests", "5", "--rounds", "2"]
    bench.main([*argv, "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    assert "| small | 300 |" in text and "| large | 3,000 |" in text
    assert re.search(r"Ratio large/small, median of rounds: \S+x .*: (PASS|FAIL)", text)
    # Exactness does not depend on timing: the removal leaves a fresh fit's model.
    assert "after each round: 0.0e+00, 0.0e+00" in text


def test_bench_bulk_replay_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_bench("bench_bulk_replay")
    out = tmp_path / "bulk_replay.md"
    argv = ["--class-rows", "2000", "--other-rows", "200", "--small", "20", "--large", "200"]
    bench.main([*argv, "--rounds", "2", "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    assert "| small | 20 |" in text and "| large | 200 |" in text
    assert re.search(r"Ratio large/small per request, median of rounds: \S+x .*: (PASS|FAIL)", text)
    assert "Library timed: sk_unlearn imported from" in text


def test_ledger_campaign_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_bench("ledger_campaign")
    out = tmp_path / "campaign.md"
    bench.main(["--quick", "--dir", str(tmp_path), "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    # What this version guarantees: no unreadable ledger, no failed request served, no copy left.
    for part in (
        "torn writes: unreadable ledgers",
        "torn writes: failed requests served later",
        "SIGKILL during save: copies left after the next load",
    ):
        assert re.search(rf"\| {re.escape(part)} \| [1-9]\d* \| 0 \| 0 \|", text), part
    for part in (
        "tampering: undetected",
        "re-identified deleted people without a key",
        "crafted pickles that ran code under load()",
    ):
        assert re.search(rf"\| {re.escape(part)} \| [1-9]\d* \| 0 \| 0 \|", text), part
    assert "| forge a started line for a retained row | 1 of 1 |" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["campaign.md"]  # its files are gone


def test_bench_load_ledger_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_bench("bench_load_ledger")
    out = tmp_path / "load.md"
    bench.main(
        ["--short", "10", "--long", "20000", "--repeats", "2", "--dir", str(tmp_path)]
        + ["--out", str(out)]
    )
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    assert "| load long |" in text and "| verify_ledger long |" in text
    assert re.search(r"Ratio load long/short, per repeat: median \d+\.\d+x", text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["load.md"]


def test_bench_sharded_smoke(tmp_path: Path) -> None:
    if not MNIST.is_file():
        pytest.skip(f"MNIST file not found at {MNIST}")
    bench = _load_bench("bench_sharded")
    out = tmp_path / "sharded.md"
    lines = bench.main(["--mnist", str(MNIST), "--quick", "--n-train", "400", "--out", str(out)])
    rows = [line for line in lines if re.match(r"\| \d+ \| \d+ \|", line)]
    assert len(rows) == 6 * 2 + 3  # six cases, S in {1, 5}, and R = 4 for the three SGD cases
    assert all("| yes |" in line for line in rows)  # every request exact
    # The averaged-SGD case is also compared with the default SGD model, in two more columns.
    assert sum(line.count("|") == 16 for line in rows) == 3
    assert out.read_text(encoding="utf-8").startswith("# Sharded exact unlearning")


def test_bench_row_store_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_bench("bench_row_store")
    out = tmp_path / "row_store.md"
    argv = ["--data", "digits", "--requests", "4", "--repeats", "2", "--dir", str(tmp_path)]
    bench.main([*argv, "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    for store in ("sqlite", "memmap"):
        assert f"| forget, one row per call, {store} |" in text
    for store in ("SQLite", "memmap"):
        pattern = rf"Median ratio {store}/memory per request: (\d+\.\d+)x; at fit: (\d+\.\d+)x"
        match = re.search(pattern, text)
        assert match and all(math.isfinite(float(v)) and float(v) > 0 for v in match.groups())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["row_store.md"]  # its files are gone


def test_bench_overhead_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_bench("bench_overhead")
    out = tmp_path / "overhead.md"
    argv = ["--data", "digits", "--repeats", "1", "--requests", "3", "--bulk", "5"]
    sizes = ["--fit-rows", "500", "--loads", "1", "--scale-rows", "300", "600"]
    bench.main([*argv, *sizes, "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    ratios = re.findall(r"\| (\d+\.\d+)x \|", text)
    direct_mlp = _mlp_step._backprop_takes_sample_weight(MLPClassifier._backprop)
    assert len(ratios) == 9 + direct_mlp and all(float(r) > 0 for r in ratios)
    assert "| one-row forget / by hand, SGD, batch step |" in text
    assert ("| MLP direct update speed-up over partial_fit (same batch) |" in text) == direct_mlp
    assert "| load of a pickled wrapper and its first request / raw estimator + X + y |" in text


def test_bench_linear_step_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load_bench("bench_linear_step")
    out = tmp_path / "linear_step.md"
    bench.main(["--data", "digits", "--n-models", "4", "--n-jobs", "1", "--out", str(out)])
    text = out.read_text(encoding="utf-8")
    assert text in capsys.readouterr().out
    for setting in ("partial_fit, rate x1", "batch step, rate x100", "retrain", "none"):
        assert f"| {setting} |" in text
