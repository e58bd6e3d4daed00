"""What keeping the rows outside the model file costs: SQLite and mapped files against memory.

Three wrappers of the same ``SGDClassifier`` (MNIST rows, or the digits with
``--data digits``), one keeping its retained rows in memory (the default), one
with ``rows_path`` naming a SQLite database (``secure_delete`` on), one with
``rows_path`` naming a directory of memory-mapped files, are fitted and then
serve the same requests, one row per ``forget`` call, in rotating order so
that machine load hits all alike; then ``save()`` and ``load()`` of each.
``--repeats`` runs the whole comparison that many times on fresh models; the
table gives each repetition's median ratio and their spread.

    python benchmarks/bench_row_store.py [--data PATH|digits] [--n-train 20000]
        [--requests 100] [--repeats 3] [--dir DIR]

``--dir`` is where the database and model files go (default: a temporary
directory in the current directory, so the disk the repository is on; removed
at the end). Writes the report to ``benchmarks/results/row_store.md`` unless
``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO_ROOT, ms_stats, provenance, write_report
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.datasets import load_digits_split

MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"


def _data(source: str, n_train: int) -> tuple[np.ndarray, np.ndarray, str]:
    if source == "digits":
        d = load_digits_split(random_state=0)
        return d.X_train, d.y_train, f"digits, {len(d.y_train)} training rows x 64"
    path = Path(source)
    if not path.is_file():
        raise SystemExit(f"MNIST not found at {path}; pass --data PATH or --data digits.")
    with np.load(path) as f:
        X = f["x_train"][:n_train].reshape(-1, 784).astype(np.float32) / 255.0
        y = f["y_train"][:n_train]
    return X, y, f"MNIST, {len(y)} training rows x 784 (float32)"


def _timed(action: Callable[..., Any], *args: Any) -> float:
    """Seconds ``action(*args)`` takes."""
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(MNIST))
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/row_store.md")
    args = parser.parse_args(argv)

    X, y, described = _data(args.data, args.n_train)
    n = min(args.requests, len(X) - 50)
    workdir = Path(tempfile.mkdtemp(prefix="bench-row-store-", dir=args.dir or Path.cwd()))
    names = ("memory", "sqlite", "memmap")
    stores = names[1:]
    measures = ("fit", "forget", "save", "load")
    times: dict[tuple[str, str], list[float]] = {(m, k): [] for m in measures for k in names}
    ratios: dict[tuple[str, str], list[float]] = {(m, k): [] for m in measures for k in stores}
    sizes: dict[str, float] = {}
    try:
        for repeat in range(args.repeats):
            paths = {
                "memory": None,
                "sqlite": workdir / f"rows-{repeat}.db",
                "memmap": f"{workdir / f'rows-{repeat}'}{os.sep}",  # a new directory
            }
            models = {
                k: UnlearnableClassifier(
                    SGDClassifier(loss="log_loss", random_state=0, max_iter=5, tol=None),
                    random_state=0,
                    rows_path=paths[k],
                )
                for k in names
            }
            this: dict[tuple[str, str], list[float]] = {key: [] for key in times}
            order = names[repeat % 3 :] + names[: repeat % 3]
            for k in order:
                this[("fit", k)].append(_timed(models[k].fit, X, y))
            for i in range(n):
                for k in names[i % 3 :] + names[: i % 3]:
                    this[("forget", k)].append(_timed(models[k].forget, X[i : i + 1], y[i : i + 1]))
            for k in order:
                file = workdir / f"{k}-{repeat}.pkl"
                this[("save", k)].append(_timed(models[k].save, file))
                this[("load", k)].append(_timed(UnlearnableClassifier.load, file))
                sizes[f"{k} model file"] = os.path.getsize(file) / 2**20
            sizes["sqlite database"] = os.path.getsize(paths["sqlite"]) / 2**20
            mapped = Path(paths["memmap"]).iterdir()
            sizes["memmap directory"] = sum(os.path.getsize(f) for f in mapped) / 2**20
            for k in stores:
                np.testing.assert_array_equal(
                    models["memory"].estimator_.coef_, models[k].estimator_.coef_
                )
            for key, values in this.items():
                times[key] += values
            for m in measures:
                for k in stores:
                    ratios[(m, k)].append(
                        float(np.median(this[(m, k)]) / np.median(this[(m, "memory")]))
                    )
    finally:
        shutil.rmtree(workdir)

    lines = provenance(
        "Cost of the row stores outside the model file (rows_path) against the in-memory store",
        __file__,
        argv,
        seed=0,
        extra=[
            f"Data: {described}; SGDClassifier(loss='log_loss', max_iter=5, tol=None); "
            f"{n} requests, one row per forget call, the three models in rotating order; "
            f"{args.repeats} repetitions on fresh models",
            f"Files in {workdir} (removed afterwards)",
        ],
    )
    labels = {"fit": "fit", "forget": "forget, one row per call", "save": "save()"}
    labels["load"] = "load() (outside stores: read or map, and check every row)"
    lines += [
        "",
        "| Measurement | median (ms) | p10 (ms) | p90 (ms) | mean (ms) | samples |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in measures:
        for k in names:
            s = ms_stats(times[(m, k)])
            lines.append(
                f"| {labels[m]}, {k} | {s['median']:.3f} | {s['p10']:.3f} | {s['p90']:.3f} "
                f"| {s['mean']:.3f} | {s['n']} |"
            )
    lines += ["", "| Ratio store / memory | store | per repetition | median | min-max |"]
    lines += ["| --- | --- | --- | ---: | --- |"]
    for m in measures:
        for k in stores:
            r = ratios[(m, k)]
            lines.append(
                f"| {labels[m]} | {k} | {', '.join(f'{v:.2f}' for v in r)} | "
                f"{np.median(r):.2f}x | {min(r):.2f}-{max(r):.2f} |"
            )
    lines += ["", "| File | MiB |", "| --- | ---: |"]
    lines += [f"| {name} | {mib:.2f} |" for name, mib in sizes.items()]
    lines += [
        "",
        f"Median ratio SQLite/memory per request: {np.median(ratios[('forget', 'sqlite')]):.2f}x; "
        f"at fit: {np.median(ratios[('fit', 'sqlite')]):.2f}x.",
        f"Median ratio memmap/memory per request: {np.median(ratios[('forget', 'memmap')]):.2f}x; "
        f"at fit: {np.median(ratios[('fit', 'memmap')]):.2f}x.",
    ]
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
