"""Sharded exact unlearning (SISA): accuracy, cost of a request against a full retrain, storage.

For each model and data set, a single model and ``ShardedClassifier`` models
with S shards (and R slices where the estimator has ``partial_fit``) are
trained on the same rows. Reported per configuration:

* test accuracy of the sharded model and its difference to the single model;
* one request: the median time of ``remove_rows`` of one random training
  row (``--requests`` of them, one after another), against a full retrain
  (the single model refitted on all rows but one, timed ``--retrains``
  times, interleaved with the requests); speedup = retrain / request, with
  the range over the requests;
* a batch of 100 random rows in one call, against the same retrain;
* checkpoint storage (``n_checkpoint_bytes_``) against the single model's
  pickled size;
* fit time with ``n_jobs=2`` against ``n_jobs=1`` (S = 10 only);
* exactness of the first request: the retrained shard against a fresh fit
  of that shard's retained rows under the same seed (identical predictions).

The SISA paper's speedups (Bourtoule et al., S&P 2021, section VII) are
quoted beside ours.

    python benchmarks/bench_sharded.py [--mnist PATH] [--quick]

Writes ``benchmarks/results/sharded.md`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import pickle
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO_ROOT, provenance, write_report
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from sk_unlearn import ShardedClassifier

PAPER = "Purchase 4.63x, SVHN 2.45x, ImageNet 1.36x (SISA paper, unlearning vs retraining)"
DEFAULT_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"


def load_mnist(path: Path, n_train: int | None) -> tuple[np.ndarray, ...]:
    if not path.is_file():
        raise SystemExit(f"MNIST not found at {path}: pass --mnist PATH (the usual mnist.npz).")
    with np.load(path) as data:
        X = data["x_train"].reshape(len(data["x_train"]), -1).astype(np.float32) / 255
        Xt = data["x_test"].reshape(len(data["x_test"]), -1).astype(np.float32) / 255
        return X[:n_train], data["y_train"][:n_train], Xt, data["y_test"]


def tabular(n: int, seed: int) -> tuple[np.ndarray, ...]:
    X, y = make_classification(
        n_samples=n + n // 5,
        n_features=40,
        n_informative=20,
        n_classes=5,
        n_clusters_per_class=2,
        random_state=seed,
    )
    X = X.astype(np.float32)
    return X[:n], y[:n], X[n:], y[n:]


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def exact(clf: ShardedClassifier, shard: int, X_test: np.ndarray) -> bool:
    """The retrained shard equals a fresh training of its retained rows under its seed."""
    seed = int(clf.shard_seeds_[shard])
    fresh = clone(clf.estimator).set_params(random_state=seed)
    if clf.n_slices == 1:
        fresh.fit(*clf.shard_rows(shard))
    else:
        for r in range(clf.n_slices):
            fresh.partial_fit(*clf.shard_rows(shard, slice=r), classes=clf.classes_)
    return bool(np.array_equal(clf.estimators_[shard].predict(X_test), fresh.predict(X_test)))


def run_case(
    name: str,
    estimator: Any,
    data: tuple[np.ndarray, ...],
    configs: list[tuple[int, int]],
    args: argparse.Namespace,
    rng: np.random.Generator,
) -> list[str]:
    X, y, X_test, y_test = data
    n = len(y)
    fit_single, single = timed(lambda: clone(estimator).fit(X, y))
    acc_single = single.score(X_test, y_test)
    single_bytes = len(pickle.dumps(single))
    retrains = [fit_single]
    rows = []
    for S, R in configs:
        fit_s, sharded = timed(
            lambda S=S, R=R: ShardedClassifier(
                estimator, n_shards=S, n_slices=R, random_state=args.seed
            ).fit(X, y)
        )
        acc = sharded.score(X_test, y_test)
        # S = 1 is a full retrain per request: one sample, no batch.
        picks = rng.choice(n, size=1 if S == 1 else args.requests + 100, replace=False)
        request_s, exact_ok = [], None
        for i in picks[: 1 if S == 1 else args.requests]:
            seconds, places = timed(sharded.remove_rows, X[i : i + 1], y[i : i + 1])
            request_s.append(seconds)
            if exact_ok is None:
                exact_ok = exact(sharded, places[0][0], X_test)
        batch_s = None
        if S > 1:
            batch = picks[args.requests :]
            batch_s, _ = timed(sharded.remove_rows, X[batch], y[batch])
        jobs2 = ""
        if S == 10 and not args.quick:
            fit2, _ = timed(
                lambda S=S, R=R: ShardedClassifier(
                    estimator, n_shards=S, n_slices=R, n_jobs=2, random_state=args.seed
                ).fit(X, y)
            )
            jobs2 = f"{fit_s / fit2:.2f}x"
        if len(retrains) < args.retrains:  # the baseline, interleaved with the configurations
            retrains.append(timed(lambda: clone(estimator).fit(X[1:], y[1:]))[0])
        rows.append(
            (S, R, fit_s, acc, request_s, batch_s, sharded.n_checkpoint_bytes_, jobs2, exact_ok)
        )
    retrain = float(np.median(retrains))
    lines = [
        f"### {name}",
        "",
        f"{n} training rows, {len(y_test)} test rows. Single model: test accuracy "
        f"{acc_single:.4f}, full retrain {retrain:.2f} s (median of {len(retrains)}: "
        f"{min(retrains):.2f}-{max(retrains):.2f} s), pickled {single_bytes / 1e3:.0f} kB.",
        "",
        "| S | R | fit (s) | test acc | vs single | one request (s) | speedup (range) "
        "| 100 rows (s) | speedup | checkpoints / model | fit n_jobs=2 speedup | exact |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for S, R, fit_s, acc, request_s, batch_s, ckpt, jobs2, exact_ok in rows:
        med = float(np.median(request_s))
        lo, hi = retrain / max(request_s), retrain / min(request_s)
        batch = "-" if batch_s is None else f"{batch_s:.2f} | {retrain / batch_s:.2f}x"
        lines.append(
            f"| {S} | {R} | {fit_s:.2f} | {acc:.4f} | {100 * (acc - acc_single):+.2f} pt "
            f"| {med:.3f} | {retrain / med:.1f}x ({lo:.1f}-{hi:.1f}) | "
            f"{batch if batch_s is not None else '- | -'} "
            f"| {ckpt / single_bytes:.1f} | {jobs2 or '-'} | {'yes' if exact_ok else 'NO'} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=DEFAULT_MNIST)
    parser.add_argument("--n-train", type=int, default=None, help="MNIST rows (default: all)")
    parser.add_argument("--requests", type=int, default=3, help="one-row requests per config")
    parser.add_argument("--retrains", type=int, default=3, help="full retrains per case")
    parser.add_argument("--quick", action="store_true", help="small data, few configs (smoke)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/sharded.md")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    warnings.simplefilter("ignore", ConvergenceWarning)

    n_train = args.n_train or (2000 if args.quick else None)
    mnist = load_mnist(args.mnist, n_train)
    shards = [1, 5] if args.quick else [1, 5, 10, 20]
    sgd = SGDClassifier(loss="log_loss", random_state=args.seed)
    sgd_fixed = SGDClassifier(loss="log_loss", max_iter=10, tol=None, random_state=args.seed)
    hgb = HistGradientBoostingClassifier(
        max_iter=3 if args.quick else 20, early_stopping=False, random_state=args.seed
    )
    cases = [
        (
            "MNIST, SGDClassifier(loss='log_loss'), default tol",
            sgd,
            mnist,
            [(s, 1) for s in shards] + [(s, 4) for s in shards if s > 1],
        ),
        (
            "MNIST, SGDClassifier(loss='log_loss', max_iter=10, tol=None)",
            sgd_fixed,
            mnist,
            [(s, 1) for s in shards],
        ),
        (
            f"MNIST, HistGradientBoostingClassifier(max_iter={hgb.max_iter})",
            hgb,
            mnist,
            [(s, 1) for s in shards],
        ),
        (
            "make_classification (40 features, 5 classes), SGDClassifier(loss='log_loss')",
            sgd,
            tabular(n_train or 100_000, args.seed),
            [(s, 1) for s in shards] + [(s, 4) for s in shards if s > 1],
        ),
        (
            "make_classification (40 features, 5 classes), "
            f"HistGradientBoostingClassifier(max_iter={hgb.max_iter})",
            hgb,
            tabular(n_train or 100_000, args.seed),
            [(s, 1) for s in shards],
        ),
    ]
    lines = provenance(
        "Sharded exact unlearning (SISA)",
        __file__,
        argv,
        args.seed,
        [
            "Requests: random training rows; a request is `ShardedClassifier.remove_rows` "
            "(what `UnlearnableClassifier.forget` calls for a sharded model).",
            "Speedup: median full retrain of the single model / request time; range over "
            "the requests.",
            f"Paper: {PAPER}.",
        ],
    )
    lines.append("")
    for name, estimator, data, configs in cases:
        lines += run_case(name, estimator, data, configs, args, rng)
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
