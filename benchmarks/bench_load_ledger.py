"""``load()`` time against the length of the ledger file it checks.

``UnlearnableClassifier.load`` compares the saved model with its ledger file,
and reads only the lines after the model's checkpoint (the end of its last
successful call): what the saved model may lack. This measures the load of
the same saved model (digits, an ``SGDClassifier``) beside a ledger file with
a short and with a long history before it (lines of other models sharing the
file, as a ledger kept for years would have), interleaved, and the full
``verify_ledger()``, which reads the whole file, for contrast.

    python benchmarks/bench_load_ledger.py [--short 1000] [--long 1000000] [--repeats 5]

Writes ``benchmarks/results/load_ledger.md`` unless ``--out`` says otherwise;
the files go in a temporary directory (``--dir``) that is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import REPO_ROOT, ms_stats, provenance, write_report
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.datasets import load_digits_split


def history(path: Path, n_lines: int) -> None:
    """``n_lines`` completed requests of another model, written as a ledger writes them."""
    line = {
        "event": "completed",
        "fit": "another-model",
        "time": "2026-01-01T00:00:00+00:00",
        "row_hash": "0" * 64,
        "label": 3,
        "method": "relabel",
        "n_replay": 32,
        "unlearning_rate": 0.0001,
    }
    with open(path, "w", encoding="utf-8") as f:
        for request in range(n_lines):
            f.write(json.dumps({**line, "request": request}, separators=(",", ":")) + "\n")


def saved_model(directory: Path, n_history: int, data) -> Path:
    ledger, model = directory / "ledger.jsonl", directory / "model.pkl"
    history(ledger, n_history)
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, ledger_path=ledger
    ).fit(data.X_train, data.y_train)
    clf.forget(data.X_train[:3], data.y_train[:3]).save(model)
    return model


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=1_000)
    parser.add_argument("--long", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("."))
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "load_ledger.md"
    )
    args = parser.parse_args(argv)
    data = load_digits_split(random_state=0)
    workdir = Path(tempfile.mkdtemp(prefix="load-ledger-", dir=args.dir))
    try:
        models = {}
        for name, n in (("short", args.short), ("long", args.long)):
            (workdir / name).mkdir()
            models[name] = saved_model(workdir / name, n, data)
        sizes = {name: os.path.getsize(m.parent / "ledger.jsonl") for name, m in models.items()}
        times: dict[str, list[float]] = {f"load {k}": [] for k in models}
        times |= {f"verify_ledger {k}": [] for k in models}
        for _ in range(args.repeats):  # interleaved: the machine's load hits both alike
            for name, model in models.items():
                start = time.perf_counter()
                clf = UnlearnableClassifier.load(model)
                times[f"load {name}"].append(time.perf_counter() - start)
                start = time.perf_counter()
                clf.verify_ledger()
                times[f"verify_ledger {name}"].append(time.perf_counter() - start)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    stats = {k: ms_stats(v) for k, v in times.items()}
    ratio = np.asarray(times["load long"]) / np.asarray(times["load short"])
    lines = provenance(
        "load() time against the ledger's length",
        __file__,
        argv,
        seed=0,
        extra=[
            f"Ledger files: {args.short:,} lines ({sizes['short'] / 1e6:.1f} MB) and "
            f"{args.long:,} lines ({sizes['long'] / 1e6:.1f} MB) of another model's history "
            "before the saved model's own lines",
            f"Repeats: {args.repeats}, interleaved",
        ],
    )
    lines += [
        "",
        "| Measurement | median (ms) | p10 (ms) | p90 (ms) | mean (ms) | samples |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {k} | {s['median']:.2f} | {s['p10']:.2f} | {s['p90']:.2f} | {s['mean']:.2f} "
            f"| {s['n']} |"
            for k, s in stats.items()
        ],
        "",
        f"Ratio load long/short, per repeat: median {np.median(ratio):.2f}x "
        f"(min {ratio.min():.2f}x, max {ratio.max():.2f}x) (target <= 2x): "
        f"{'PASS' if np.median(ratio) <= 2 else 'FAIL'}",
    ]
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
