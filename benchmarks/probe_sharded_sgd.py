"""Why sharding SGD on MNIST trades accuracy for speed: epochs, fixed epochs, passes per slice.

Three probes behind ``bench_sharded.py``'s SGD rows, on full MNIST:

1. ``SGDClassifier(loss="log_loss")`` fitted on 6,000 and on 60,000 rows: time, epochs run
   (``n_iter_``) and test accuracy (a shard of S = 10 against the whole set);
2. ``ShardedClassifier`` with S = 10 around ``SGDClassifier(max_iter=k, tol=None)`` for
   k in {15, 25}: test accuracy and the time of one request;
3. S = 10, R = 4: test accuracy and the median time of 3 one-row requests for
   ``slice_epochs`` in {1, 2, 4} (SISA's stages: ``partial_fit`` passes over slices 0..r at
   stage r), for the default ``SGDClassifier`` and for averaged SGD; beside them each
   slice learned alone at its stage, once (trained by hand from the same slices: what
   ``ShardedClassifier`` did before its stages were cumulative).

    python benchmarks/probe_sharded_sgd.py [--mnist PATH]

Writes ``benchmarks/results/probe_sharded_sgd.md`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _common import REPO_ROOT, provenance, write_report
from bench_sharded import DEFAULT_MNIST, load_mnist
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from sk_unlearn import ShardedClassifier


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=DEFAULT_MNIST)
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "benchmarks/results/probe_sharded_sgd.md"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y, X_test, y_test = load_mnist(args.mnist, args.n_train)
    sgd = SGDClassifier(loss="log_loss", random_state=args.seed)
    lines = provenance("Sharding SGD on MNIST: epochs and accuracy", __file__, argv, args.seed, [])

    lines += ["", "## 1. Epochs to converge", "", "| rows | fit (s) | n_iter_ | test acc |"]
    lines += ["| ---: | ---: | ---: | ---: |"]
    for n in (len(y) // 10, len(y)):
        start = time.perf_counter()
        model = clone(sgd).fit(X[:n], y[:n])
        seconds = time.perf_counter() - start
        lines.append(
            f"| {n} | {seconds:.2f} | {model.n_iter_} | {model.score(X_test, y_test):.4f} |"
        )

    lines += ["", "## 2. Fixed epochs, S = 10", "", "| max_iter | test acc | one request (s) |"]
    lines += ["| ---: | ---: | ---: |"]
    for k in (15, 25):
        est = SGDClassifier(loss="log_loss", max_iter=k, tol=None, random_state=args.seed)
        clf = ShardedClassifier(est, n_shards=10, random_state=args.seed).fit(X, y)
        start = time.perf_counter()
        clf.remove_rows(X[5:6], y[5:6])
        seconds = time.perf_counter() - start
        lines.append(f"| {k} | {clf.score(X_test, y_test):.4f} | {seconds:.2f} |")

    lines += ["", "## 3. Slice stages, S = 10, R = 4", ""]
    lines += ["| estimator | stages | test acc | one request (s) |", "| --- | --- | ---: | ---: |"]
    asgd = SGDClassifier(loss="log_loss", average=True, random_state=args.seed)
    requests = np.random.default_rng(args.seed).choice(len(y), size=3, replace=False)
    for name, est in (("SGD", sgd), ("SGD, average=True", asgd)):
        for epochs in (1, 2, 4):
            clf = ShardedClassifier(
                clone(est), n_shards=10, n_slices=4, slice_epochs=epochs, random_state=args.seed
            ).fit(X, y)
            accuracy = clf.score(X_test, y_test)
            seconds = []
            for i in requests:
                start = time.perf_counter()
                clf.remove_rows(X[i : i + 1], y[i : i + 1])
                seconds.append(time.perf_counter() - start)
            lines.append(
                f"| {name} | slices 0..r, {epochs} pass(es) | {accuracy:.4f} "
                f"| {np.median(seconds):.3f} |"
            )
        proba = np.zeros((len(y_test), len(clf.classes_)))
        for s in range(10):
            model = clone(est).set_params(random_state=int(clf.shard_seeds_[s]))
            for r in range(4):
                model.partial_fit(*clf.shard_rows(s, slice=r), classes=clf.classes_)
            proba += model.predict_proba(X_test)
        accuracy = float((clf.classes_[proba.argmax(axis=1)] == y_test).mean())
        lines.append(f"| {name} | slice r alone, 1 pass | {accuracy:.4f} | - |")
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
