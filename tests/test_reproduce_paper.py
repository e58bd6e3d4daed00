"""The paper-reproduction command (benchmarks/reproduce_paper.py) on tiny subsets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("skorch")
pytest.importorskip("matplotlib")

from test_benchmarks_smoke import MNIST, _load_bench  # noqa: E402

TINY = ["--n-train", "300", "--n-test", "120", "--epochs", "2", "--no-progress", "--seed", "3"]
TINY += ["--removals", "4", "12", "--checkpoints", "6", "12"]


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("# ")]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    return comments, rows


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    import torch

    torch.set_num_threads(1)
    bench = _load_bench("reproduce_paper")
    out = tmp_path_factory.mktemp("paper")
    return bench.main([*TINY, "--device", "cpu", "--out-dir", str(out)]), out


def test_table1_csv_has_the_issue_columns_and_every_row(digits_run: tuple[dict, Path]) -> None:
    bench = _load_bench("reproduce_paper")
    results, out = digits_run
    comments, rows = _read(out / "table1.csv")
    assert list(rows[0]) == list(bench.TABLE1_COLUMNS)
    for stamp in ("# Command: ", "# Date: ", "# Hardware: ", "# Seed: 3", "# Device: cpu"):
        assert any(line.startswith(stamp) for line in comments), stamp
    assert any("--removals 4 12" in line for line in comments)

    methods = [(r["method"], int(r["n_removed"])) for r in rows]
    expected = [("original", 0), ("naive", 4), ("naive", 12)]
    expected += [(s.name, n) for s in bench.TABLE1_SETTINGS for n in (4, 12)]
    assert methods == expected
    assert len(results["table1"]) == len(rows)

    naive_seconds = {int(r["n_removed"]): float(r["naive_seconds"]) for r in rows[1:3]}
    for r in rows[1:]:
        test, unlearned, total = (float(r[k]) for k in ("test_acc", "unlearned_acc", "total_acc"))
        for value in (test, unlearned, total, float(r["mia_auc"])):
            assert 0.0 <= value <= 1.0
        n = int(r["n_removed"])
        # total is the accuracy on test + removed rows together.
        np.testing.assert_allclose(total, (120 * test + n * unlearned) / (120 + n), rtol=1e-4)
        assert float(r["naive_seconds"]) == naive_seconds[n] > 0
        assert 0 < float(r["seconds_per_request"]) <= float(r["naive_seconds"]) or (
            r["method"] == "naive"
        )


def test_relabeling_really_moves_the_model_and_naive_never_saw_the_rows(
    digits_run: tuple[dict, Path],
) -> None:
    results, _ = digits_run
    table = results["table1"]
    for row in table:
        if row["method"] not in ("original", "naive"):
            # Every setting served its requests: its weights left the original's.
            assert row["weight_change"] > 0
        if row["method"] == "naive":
            assert row["divergence"] == 0.0
    by_setting: dict[str, list[float]] = {}
    for row in table[3:]:
        by_setting.setdefault(row["method"], []).append(row["weight_change"])
    for moved in by_setting.values():
        assert moved[1] > moved[0]  # 12 requests move the weights further than 4


def test_figure1_csv_png_and_report(digits_run: tuple[dict, Path]) -> None:
    from PIL import Image

    bench = _load_bench("reproduce_paper")
    _, out = digits_run
    comments, rows = _read(out / "figure1.csv")
    assert list(rows[0]) == list(bench.FIGURE1_COLUMNS)
    assert any(line.startswith("# Command: ") for line in comments)
    cells = {(r["optimizer"], float(r["unlearning_rate"]), int(r["n_replay"])) for r in rows}
    assert cells == {
        (o, r, k)
        for o in bench.FIGURE1_OPTIMIZERS
        for r in bench.FIGURE1_RATES
        for k in bench.FIGURE1_REPLAY
    }
    assert sorted({int(r["n_removed"]) for r in rows}) == [6, 12]
    assert len(rows) == len(cells) * 2

    image = Image.open(out / "figure1.png")
    assert image.size[0] > 1000
    assert "reproduce_paper.py" in image.info["Description"]
    assert "seed 3" in image.info["Description"]

    report = (out / "table1.md").read_text(encoding="utf-8")
    assert "| naive | 600 | 99.14% | 99.00% | 99.13% |" in report  # the paper's numbers
    assert "![Figure 1](figure1.png)" in report
    assert "### Targets at 12 removals" in report


def test_too_many_removals_is_a_clear_error_before_training(tmp_path: Path) -> None:
    bench = _load_bench("reproduce_paper")
    argv = ["--n-train", "50", "--removals", "60", "--no-figure", "--out-dir", str(tmp_path)]
    with pytest.raises(ValueError, match="60 removals need more than 50 training rows"):
        bench.main(argv)
    assert list(tmp_path.iterdir()) == []


def test_mnist_on_a_tiny_subset(tmp_path: Path) -> None:
    if not MNIST.is_file():
        pytest.skip(f"MNIST file not found at {MNIST}")
    import torch

    torch.set_num_threads(1)
    bench = _load_bench("reproduce_paper")
    argv = ["--dataset", "mnist", "--data", str(MNIST), "--device", "cpu", "--n-train", "200"]
    argv += ["--n-test", "50", "--epochs", "1", "--removals", "3", "--no-figure", "--no-progress"]
    results = bench.main([*argv, "--out-dir", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table1.csv", "table1.md"]
    assert "a 200-row subset of MNIST" in (tmp_path / "table1.md").read_text(encoding="utf-8")
    assert [r["n_removed"] for r in results["table1"]] == [0, 3] + [3] * 6


@pytest.mark.parametrize("page", ["README.md", "docs/paper.md"])
def test_the_published_table1_is_generated_from_the_committed_results(page: str) -> None:
    bench = _load_bench("reproduce_paper")
    root = Path(__file__).resolve().parents[1]
    text = (root / page).read_text(encoding="utf-8")
    start, end = "<!-- table1: generated from benchmarks/results/table1.csv -->", "<!-- /table1 -->"
    assert text.count(start) == 1 and text.count(end) == 1
    published = text.split(start)[1].split(end)[0].strip().splitlines()
    expected = bench.side_by_side(bench.read_csv(root / "benchmarks/results/table1.csv"))
    assert published == expected
