"""Benchmark: which relabeling strategy really forgets memorized rows.

Ordinary MNIST rows cannot show forgetting (the original and the naive model
both classify them at ~99%). Rows a model has *memorized* can: training rows
carrying a deliberately wrong label, which an over-parameterised MLP learns to
repeat and a model retrained without them almost never predicts.

For each seed the script

1. takes ``--n-train`` MNIST training rows and gives ``--n-mislabeled`` of them
   (chosen at random) a random wrong label;
2. trains ``UnlearnableClassifier(MLPClassifier((256,)))`` on them (the
   original) and an ``MLPClassifier`` with the same settings on the rows
   without the mislabeled ones (the naive retrain);
3. for every strategy x unlearning rate x replay x steps, forgets the
   mislabeled rows from a deep copy of the original, one ``forget`` call per
   row, and reports test accuracy, the share of forgotten rows still predicted
   with their (wrong) training label ("repeated"), the share predicted with
   their true label, and the median time per request.

A cell meets the issue's targets when "repeated" is at most 5 points above the
naive model's and test accuracy at most 1 point below it (both averaged over
the seeds). The Markdown report and a CSV with one row per seed and cell are
written under ``benchmarks/results/``, stamped with the command, the commit,
the machine and the date.

Usage::

    python benchmarks/bench_relabel_strategies.py           # full run (~5 min on 2 cores)
    python benchmarks/bench_relabel_strategies.py --quick   # smoke run (seconds)
"""

from __future__ import annotations

import argparse
import copy
import csv
import itertools
import os
import platform
import shlex
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._relabel import STRATEGIES as RELABEL_STRATEGIES
from sk_unlearn.datasets import load_mnist
from sk_unlearn.metrics import cosine_divergence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sgd_mnist import _versions  # noqa: E402  (one provenance helper for all benches)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = "../shared/data/mnist.npz"  # relative to the repository root
DEFAULT_OUT = "benchmarks/results/relabel_strategies.md"
QUICK_OUT = "benchmarks/results/relabel_strategies_quick.md"

STRATEGIES = tuple(RELABEL_STRATEGIES)
REPEAT_MARGIN = 5.0  # points of "repeated" above naive, at most
ACCURACY_MARGIN = 1.0  # points of test accuracy below naive, at most


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help=f"mnist.npz (default: {DEFAULT_DATA})")
    p.add_argument("--n-train", type=int, default=10_000, help="training rows (default: 10000)")
    p.add_argument("--n-test", type=int, default=10_000, help="test rows (default: 10000)")
    p.add_argument("--n-mislabeled", type=int, default=100, help="rows given a wrong label")
    p.add_argument("--hidden", type=int, default=256, help="hidden units (one layer)")
    p.add_argument("--max-iter", type=int, default=60, help="training epochs (Adam)")
    p.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    p.add_argument("--rates", nargs="+", type=float, default=[1e-3, 3e-4, 1e-4])
    p.add_argument("--replays", nargs="+", type=int, default=[0, 32])
    p.add_argument("--steps", nargs="+", type=int, default=[1, 3])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    p.add_argument("--out", default=None, help=f"Markdown report (default: {DEFAULT_OUT})")
    return p


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    if args.quick:
        args.n_train, args.n_test, args.n_mislabeled = 1_000, 500, 10
        args.max_iter, args.hidden = 15, 64
        args.rates, args.replays, args.steps, args.seeds = [3e-4], [0, 8], [1, 2], [0]
    args.data = Path(args.data) if args.data else REPO_ROOT / DEFAULT_DATA
    args.out = (
        Path(args.out) if args.out else REPO_ROOT / (QUICK_OUT if args.quick else DEFAULT_OUT)
    )
    if not 1 <= args.n_mislabeled < args.n_train:
        raise SystemExit("--n-mislabeled must be between 1 and --n-train - 1")
    return args


def _command_line(argv: list[str] | None) -> str:
    script = os.path.relpath(Path(__file__).resolve(), REPO_ROOT)
    if argv is None:
        return shlex.join(["python", script, *sys.argv[1:]])
    return shlex.join(["python", script, *argv]) + "   # via main(argv) in-process"


def _mislabel(y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rows chosen at random and labels with a random wrong class for them."""
    classes = np.unique(y)
    rows = rng.choice(len(y), size=n, replace=False)
    shift = rng.integers(1, classes.size, size=n)
    position = np.searchsorted(classes, y[rows])
    noisy = y.copy()
    noisy[rows] = classes[(position + shift) % classes.size]
    return rows, noisy


def _scores(model: Any, data: Any, X_f: np.ndarray, y_f: np.ndarray, y_true: np.ndarray) -> dict:
    pred_f = model.predict(X_f)
    return {
        "test_acc": 100 * float(np.mean(model.predict(data.X_test) == data.y_test)),
        "repeated": 100 * float(np.mean(pred_f == y_f)),
        "true_label": 100 * float(np.mean(pred_f == y_true)),
    }


def _divergence(model: Any, naive: Any, data: Any, X_f: np.ndarray) -> dict:
    """Mean cosine divergence (``sk_unlearn.metrics``) to the naive model's predict_proba."""
    return {
        "div_test": float(
            cosine_divergence(
                model.predict_proba(data.X_test), naive.predict_proba(data.X_test)
            ).mean()
        ),
        "div_forgotten": float(
            cosine_divergence(model.predict_proba(X_f), naive.predict_proba(X_f)).mean()
        ),
    }


def _one_seed(args: argparse.Namespace, data: Any, seed: int, log: Any) -> list[dict]:
    X, y = data.X_train, data.y_train
    rows, noisy = _mislabel(y, args.n_mislabeled, np.random.default_rng(seed))
    X_f, y_f, y_true = X[rows], noisy[rows], y[rows]
    keep = np.ones(len(y), dtype=bool)
    keep[rows] = False

    def mlp() -> MLPClassifier:
        return MLPClassifier((args.hidden,), max_iter=args.max_iter, random_state=seed)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        original = UnlearnableClassifier(mlp(), random_state=seed).fit(X, noisy)
        fit_s = time.perf_counter() - t0
        naive = mlp().fit(X[keep], noisy[keep])
        retrain_s = time.perf_counter() - t0 - fit_s
    log(f"seed {seed}: fit {fit_s:.1f} s, naive retrain {retrain_s:.1f} s")

    base = {"seed": seed, "strategy": "", "rate": "", "replay": "", "steps": ""}
    results = [
        {
            **base,
            "model": "original",
            **_scores(original, data, X_f, y_f, y_true),
            **_divergence(original, naive, data, X_f),
            "ms": "",
        },
        {
            **base,
            "model": "naive",
            **_scores(naive, data, X_f, y_f, y_true),
            **_divergence(naive, naive, data, X_f),
            "ms": 1e3 * retrain_s,
        },
    ]
    grid = itertools.product(args.strategies, args.rates, args.replays, args.steps)
    for strategy, rate, replay, steps in grid:
        clf = copy.deepcopy(original).set_params(
            relabel=strategy, unlearning_rate=rate, n_replay=replay, n_steps=steps
        )
        times = []
        for i in range(len(rows)):
            t = time.perf_counter()
            clf.forget(X_f[i : i + 1], y_f[i : i + 1])
            times.append(time.perf_counter() - t)
        results.append(
            {
                **base,
                "model": "relabel",
                "strategy": strategy,
                "rate": rate,
                "replay": replay,
                "steps": steps,
                **_scores(clf, data, X_f, y_f, y_true),
                **_divergence(clf, naive, data, X_f),
                "ms": 1e3 * float(np.median(times)),
            }
        )
    log(f"seed {seed}: {len(results) - 2} cells done")
    return results


def _summary(results: list[dict]) -> list[dict]:
    """Mean, min and max over seeds for each model / cell."""
    key_names = ("model", "strategy", "rate", "replay", "steps")
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault(tuple(r[k] for k in key_names), []).append(r)
    rows = []
    for key, group in groups.items():
        row: dict[str, Any] = dict(zip(key_names, key))
        for metric in ("test_acc", "repeated", "true_label", "div_test", "div_forgotten"):
            values = [g[metric] for g in group]
            row[metric] = (float(np.mean(values)), min(values), max(values))
        row["ms"] = float(np.mean([g["ms"] for g in group])) if group[0]["ms"] != "" else None
        rows.append(row)
    naive = next(r for r in rows if r["model"] == "naive")
    for row in rows:
        row["meets"] = (
            row["model"] == "relabel"
            and row["repeated"][0] <= naive["repeated"][0] + REPEAT_MARGIN
            and row["test_acc"][0] >= naive["test_acc"][0] - ACCURACY_MARGIN
        )
    return rows


def _fmt(values: tuple[float, float, float], n_seeds: int, digits: int = 1) -> str:
    mean, lo, hi = values
    if n_seeds == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _report(ctx: dict[str, Any], summary: list[dict]) -> str:
    a = ctx["args"]
    n = len(a.seeds)
    lines = [
        "# sk_unlearn benchmark: relabeling strategies on memorized (mislabeled) rows",
        "",
        f"- Command: `{ctx['command']}`",
        f"- Date: {ctx['date']}",
        f"- Hardware: processor={platform.processor() or 'unknown'!r}, "
        f"os.cpu_count()={os.cpu_count()}, platform={platform.platform()} "
        "(a machine shared with other jobs: times are indicative)",
        f"- Versions (at the start of the run): {ctx['versions']}",
        f"- Seeds: {' '.join(map(str, a.seeds))} (each seed: the mislabeled rows, their wrong "
        "labels, the MLP's initialisation and the requests' random draws)",
        f"- Data: {a.data} ({a.n_train} training rows, {a.n_test} test rows); "
        f"{a.n_mislabeled} training rows given a random wrong label",
        f"- Model: `UnlearnableClassifier(MLPClassifier(({a.hidden},), max_iter={a.max_iter}, "
        "random_state=seed), n_relabels=None)` (Adam, learning_rate_init=1e-3); "
        "naive = the same MLPClassifier fitted on the rows without the mislabeled ones",
        f"- Requests: the {a.n_mislabeled} mislabeled rows, one `forget` call each, on a deep "
        "copy of the original per cell",
        f"- Total wall time: {ctx['wall_s']:.0f} s",
        "",
        "Columns: test accuracy (%); *repeated*: forgotten rows still predicted with their "
        "wrong training label (%); *true label*: forgotten rows predicted with their real "
        "label (%); ms/request: median time of one `forget` call (for naive: one full "
        f"retrain). {'Values: mean [min, max] over the seeds. ' if n > 1 else ''}"
        f"*meets*: repeated ≤ naive + {REPEAT_MARGIN:g} points and test accuracy ≥ naive − "
        f"{ACCURACY_MARGIN:g} point (means). *div. test* / *div. forgotten*: mean "
        "`sk_unlearn.metrics.cosine_divergence` (the divergence `certify` uses) between the "
        "model's and the naive model's `predict_proba` on the test rows / on the forgotten "
        "rows (0 = the naive model's outputs; at most 1).",
        "",
        "| model | relabel | unlearning rate | replay | steps | test acc | repeated | "
        "true label | div. test | div. forgotten | ms/request | meets |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for row in summary:
        ms = "–" if row["ms"] is None else f"{row['ms']:.1f}"
        lines.append(
            f"| {row['model']} | {row['strategy'] or '–'} | "
            f"{'–' if row['rate'] == '' else format(row['rate'], 'g')} | "
            f"{'–' if row['replay'] == '' else row['replay']} | {row['steps'] or '–'} | "
            f"{_fmt(row['test_acc'], n)} | {_fmt(row['repeated'], n)} | "
            f"{_fmt(row['true_label'], n)} | {_fmt(row['div_test'], n, 4)} | "
            f"{_fmt(row['div_forgotten'], n, 3)} | {ms} | {'yes' if row['meets'] else ''} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark; returns the per-seed results (also written as CSV)."""
    wall0 = time.perf_counter()
    args = _resolve(build_parser().parse_args(argv))
    versions = _versions()  # before the run: the commit that actually ran

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - wall0:7.1f} s] {msg}", file=sys.stderr, flush=True)

    data = load_mnist(args.data, n_train=args.n_train, n_test=args.n_test)
    results = [r for seed in args.seeds for r in _one_seed(args, data, seed, log)]
    summary = _summary(results)
    ctx = {
        "args": args,
        "command": _command_line(argv),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_s": time.perf_counter() - wall0,
        "versions": versions,
    }
    report = _report(ctx, summary)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    with args.out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
    log(f"wrote {args.out} and {args.out.with_suffix('.csv').name}")
    return results


if __name__ == "__main__":
    main()
