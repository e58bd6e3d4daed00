"""What a durable ledger costs per request: forget with and without ``ledger_path``.

Two copies of the same fitted ``SGDClassifier`` wrapper (digits, the library's
defaults) serve the same requests, one row per ``forget`` call, alternately, so
machine load hits both alike. One keeps its ledger in memory, the other also
appends it to a JSON Lines file and fsyncs it twice per call (the "started"
lines before serving, the "completed" lines after). Also timed: a bare
``append_events`` of one line (one open, write, fsync, close), and ``save()``
of the model (atomic pickle with fsync), which a service would call to make
served requests survive a crash.

    python benchmarks/bench_ledger.py [--requests 300] [--dir DIR]

``--dir`` is where the ledger file goes (default: a temporary directory in the
current directory, so the disk the repository is on). Writes the report to
``benchmarks/results/ledger.md`` unless ``--out`` says otherwise. The ledger
directory is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import REPO_ROOT, ms_stats, provenance, write_report
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._ledger import append_events
from sk_unlearn.datasets import load_digits_split


def _filesystem(path: Path) -> str:
    """The mount point and type of the filesystem ``path`` is on (Linux), else '?'."""
    best = ("?", "?")
    try:
        target = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if target.startswith(mount) and len(mount) >= len(best[0]):
                best = (mount, fstype)
    except OSError:
        pass
    return f"{best[0]} ({best[1]})"


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/ledger.md")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-ledger-", dir=args.dir or Path.cwd()))
    data = load_digits_split(random_state=0)
    X, y = data.X_train, data.y_train
    n = min(args.requests, len(X) - 50)

    def make(ledger_path):
        return UnlearnableClassifier(
            SGDClassifier(loss="log_loss", random_state=0), random_state=0, ledger_path=ledger_path
        ).fit(X, y)

    memory, durable = make(None), make(workdir / "ledger.jsonl")
    times: dict[str, list[float]] = {"memory": [], "durable": [], "append": [], "save": []}
    for i in range(n):
        for name, clf in (("memory", memory), ("durable", durable))[:: 1 if i % 2 else -1]:
            start = time.perf_counter()
            clf.forget(X[i : i + 1], y[i : i + 1])
            times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        append_events(workdir / "bare.jsonl", [{"event": "probe", "i": i}])
        times["append"].append(time.perf_counter() - start)
        if i % 10 == 0:
            start = time.perf_counter()
            durable.save(workdir / "model.pkl")
            times["save"].append(time.perf_counter() - start)
    assert durable.verify_ledger().ok
    np.testing.assert_array_equal(memory.estimator_.coef_, durable.estimator_.coef_)
    model_kb = os.path.getsize(workdir / "model.pkl") / 1024
    filesystem = _filesystem(workdir)
    shutil.rmtree(workdir)

    stats = {name: ms_stats(t) for name, t in times.items()}
    labels = {
        "memory": "forget, in-memory ledger",
        "durable": "forget, ledger file (2 fsyncs per call)",
        "append": "one ledger append alone (open, write, fsync, close)",
        "save": f"save() of the model ({model_kb:.0f} KiB pickle, fsync, rename)",
    }
    lines = provenance(
        "Cost of a durable ledger",
        __file__,
        argv,
        seed=0,
        extra=[
            f"Ledger directory: {workdir} (removed afterwards) on {filesystem}",
            f"Data: digits, {len(X)} training rows; {n} requests, one row per forget call, "
            "the two models alternating",
        ],
    )
    lines += [
        "",
        "| Measurement | median (ms) | p10 (ms) | p90 (ms) | mean (ms) | samples |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, s in stats.items():
        lines.append(
            f"| {labels[name]} | {s['median']:.3f} | {s['p10']:.3f} | {s['p90']:.3f} "
            f"| {s['mean']:.3f} | {s['n']} |"
        )
    overhead = stats["durable"]["median"] - stats["memory"]["median"]
    lines += [
        "",
        f"Median cost of durability per request: {overhead:.3f} ms "
        f"({stats['durable']['median'] / stats['memory']['median']:.2f}x).",
    ]
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
