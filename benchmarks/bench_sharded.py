"""Sharded exact unlearning (SISA): accuracy, cost of a request against a full retrain, storage.

For each model and data set, a single model and ``ShardedClassifier`` models
with S shards (and R slices where the estimator has ``partial_fit``, E
``slice_epochs`` per stage) are trained on the same rows. Reported per
configuration:

* test accuracy of the sharded model and its difference to the single model;
* one request: the mean time of ``remove_rows`` of one random training
  row (``--requests`` of them, one after another; ``--sliced-requests``
  with slices, where a row's cost depends on its slice, so the mean over
  random rows is the expected cost), against a full retrain (the single
  model refitted on all rows but one, timed ``--retrains`` times,
  interleaved with the requests); speedup = retrain / mean request, with
  the range over the requests;
* a batch of 100 random rows in one call, against the same retrain;
* checkpoint storage (``n_checkpoint_bytes_``) against the single model's
  pickled size;
* fit time with ``n_jobs=2`` against ``n_jobs=1`` (S = 10 only);
* exactness of the first request: the retrained shard against a fresh fit
  of that shard's retained rows under the same seed (identical predictions);
  with slices, SISA's stages written out (``slice_epochs`` passes of
  ``partial_fit`` over slices 0..r at stage r).

The averaged-SGD case (``average=True``, 5 epochs) is also compared with the
default ``SGDClassifier`` of the first case (its accuracy and its retrain),
measured in the same run: the sharded model a user would deploy instead of
the single model they have.

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
            parts = [clf.shard_rows(shard, slice=q) for q in range(r + 1)]
            X_r, y_r = np.vstack([X for X, _ in parts]), np.concatenate([y for _, y in parts])
            for _ in range(clf.slice_epochs):
                fresh.partial_fit(X_r, y_r, classes=clf.classes_)
    return bool(np.array_equal(clf.estimators_[shard].predict(X_test), fresh.predict(X_test)))


def run_case(
    name: str,
    estimator: Any,
    data: tuple[np.ndarray, ...],
    configs: list[tuple[int, int, int]],
    args: argparse.Namespace,
    rng: np.random.Generator,
    baseline: tuple[str, float, float] | None = None,
) -> tuple[list[str], tuple[float, float]]:
    """The case's table, and the single model's (test accuracy, median full retrain).

    ``baseline``: (name, test accuracy, retrain seconds) of another single model to
    compare each configuration with as well, in two more columns.
    """
    X, y, X_test, y_test = data
    n = len(y)
    fit_single, single = timed(lambda: clone(estimator).fit(X, y))
    acc_single = single.score(X_test, y_test)
    single_bytes = len(pickle.dumps(single))
    retrains = [fit_single]
    rows = []
    for S, R, E in configs:
        fit_s, sharded = timed(
            lambda S=S, R=R, E=E: ShardedClassifier(
                estimator, n_shards=S, n_slices=R, slice_epochs=E, random_state=args.seed
            ).fit(X, y)
        )
        acc = sharded.score(X_test, y_test)
        # S = 1 is a full retrain per request: one sample, no batch.
        n_requests = 1 if S == 1 else args.requests if R == 1 else args.sliced_requests
        picks = rng.choice(n, size=n_requests + (0 if S == 1 else 100), replace=False)
        request_s, exact_ok = [], None
        for i in picks[:n_requests]:
            seconds, places = timed(sharded.remove_rows, X[i : i + 1], y[i : i + 1])
            request_s.append(seconds)
            if exact_ok is None:
                exact_ok = exact(sharded, places[0][0], X_test)
        batch_s = None
        if S > 1:
            batch = picks[n_requests:]
            batch_s, _ = timed(sharded.remove_rows, X[batch], y[batch])
        jobs2 = ""
        if S == 10 and not args.quick:
            fit2, _ = timed(
                lambda S=S, R=R, E=E: ShardedClassifier(
                    estimator,
                    n_shards=S,
                    n_slices=R,
                    slice_epochs=E,
                    n_jobs=2,
                    random_state=args.seed,
                ).fit(X, y)
            )
            jobs2 = f"{fit_s / fit2:.2f}x"
        if len(retrains) < args.retrains:  # the baseline, interleaved with the configurations
            retrains.append(timed(lambda: clone(estimator).fit(X[1:], y[1:]))[0])
        rows.append(
            (S, R, E, fit_s, acc, request_s, batch_s, sharded.n_checkpoint_bytes_, jobs2, exact_ok)
        )
    retrain = float(np.median(retrains))
    lines = [
        f"### {name}",
        "",
        f"{n} training rows, {len(y_test)} test rows. Single model: test accuracy "
        f"{acc_single:.4f}, full retrain {retrain:.2f} s (median of {len(retrains)}: "
        f"{min(retrains):.2f}-{max(retrains):.2f} s), pickled {single_bytes / 1e3:.0f} kB.",
    ]
    extra_head = extra_rule = ""
    if baseline is not None:
        other, acc_other, retrain_other = baseline
        lines += [
            f"Also against {other} (test accuracy {acc_other:.4f}, full retrain "
            f"{retrain_other:.2f} s, same run): the last two columns."
        ]
        extra_head, extra_rule = " vs that model | speedup over its retrain |", " ---: | ---: |"
    lines += [
        "",
        "| S | R | E | fit (s) | test acc | vs single | one request, mean (s) | speedup (range) "
        "| 100 rows (s) | speedup | checkpoints / model | fit n_jobs=2 speedup | exact |"
        + extra_head,
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| :---: |" + extra_rule,
    ]
    for S, R, E, fit_s, acc, request_s, batch_s, ckpt, jobs2, exact_ok in rows:
        mean_s = float(np.mean(request_s))
        lo, hi = retrain / max(request_s), retrain / min(request_s)
        batch = "-" if batch_s is None else f"{batch_s:.2f} | {retrain / batch_s:.2f}x"
        line = (
            f"| {S} | {R} | {E if R > 1 else '-'} | {fit_s:.2f} | {acc:.4f} "
            f"| {100 * (acc - acc_single):+.2f} pt "
            f"| {mean_s:.3f} | {retrain / mean_s:.1f}x ({lo:.1f}-{hi:.1f}) | "
            f"{batch if batch_s is not None else '- | -'} "
            f"| {ckpt / single_bytes:.1f} | {jobs2 or '-'} | {'yes' if exact_ok else 'NO'} |"
        )
        if baseline is not None:
            line += f" {100 * (acc - acc_other):+.2f} pt | {retrain_other / mean_s:.1f}x |"
        lines.append(line)
    return [*lines, ""], (acc_single, retrain)


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=DEFAULT_MNIST)
    parser.add_argument("--n-train", type=int, default=None, help="MNIST rows (default: all)")
    parser.add_argument(
        "--requests", type=int, default=3, help="one-row requests per config without slices"
    )
    parser.add_argument(
        "--sliced-requests",
        type=int,
        default=20,
        help="one-row requests per config with slices (a request's cost depends on its slice)",
    )
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
    asgd = SGDClassifier(
        loss="log_loss", average=True, max_iter=5, tol=None, random_state=args.seed
    )
    hgb = HistGradientBoostingClassifier(
        max_iter=3 if args.quick else 20, early_stopping=False, random_state=args.seed
    )
    unsliced = [(s, 1, 1) for s in shards]
    sliced = unsliced + [(s, 4, 1) for s in shards if s > 1]
    sgd_default = "MNIST, SGDClassifier(loss='log_loss'), default tol"
    # (name, estimator, data, configs (S, R, E), the case whose single model to compare with)
    cases: list[tuple[str, Any, tuple[np.ndarray, ...], list[tuple[int, int, int]], str | None]]
    cases = [
        (sgd_default, sgd, mnist, sliced, None),
        (
            "MNIST, SGDClassifier(loss='log_loss', max_iter=10, tol=None)",
            sgd_fixed,
            mnist,
            unsliced,
            None,
        ),
        (
            "MNIST, SGDClassifier(loss='log_loss', average=True, max_iter=5, tol=None)",
            asgd,
            mnist,
            sliced + ([] if args.quick else [(10, 4, 2)]),
            sgd_default,
        ),
        (
            f"MNIST, HistGradientBoostingClassifier(max_iter={hgb.max_iter})",
            hgb,
            mnist,
            unsliced,
            None,
        ),
        (
            "make_classification (40 features, 5 classes), SGDClassifier(loss='log_loss')",
            sgd,
            tabular(n_train or 100_000, args.seed),
            sliced,
            None,
        ),
        (
            "make_classification (40 features, 5 classes), "
            f"HistGradientBoostingClassifier(max_iter={hgb.max_iter})",
            hgb,
            tabular(n_train or 100_000, args.seed),
            unsliced,
            None,
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
            f"One request: the mean time of {args.requests} one-row requests of random rows "
            f"({args.sliced_requests} with slices, where a row of slice r replays stages "
            "r..R-1, so a request's cost depends on its row's slice and the mean is the "
            "expected cost); speedup: median full retrain of the single model / that mean, "
            "range over the requests.",
            "S: shards; R: slices per shard; E: `slice_epochs` (partial_fit passes over "
            "slices 0..r at stage r).",
            f"Paper: {PAPER}.",
        ],
    )
    lines.append("")
    singles: dict[str, tuple[float, float]] = {}
    for name, estimator, data, configs, compare in cases:
        baseline = None if compare is None else (f"the {compare} model", *singles[compare])
        table, singles[name] = run_case(name, estimator, data, configs, args, rng, baseline)
        lines += table
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
