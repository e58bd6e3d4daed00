"""Why sharding SGD on MNIST trades accuracy for speed: epochs, fixed epochs, passes per slice.

Three probes behind ``bench_sharded.py``'s SGD rows, on full MNIST:

1. ``SGDClassifier(loss="log_loss")`` fitted on 6,000 and on 60,000 rows: time, epochs run
   (``n_iter_``) and test accuracy (a shard of S = 10 against the whole set);
2. ``ShardedClassifier`` with S = 10 around ``SGDClassifier(max_iter=k, tol=None)`` for
   k in {15, 25}: test accuracy and the time of one request;
3. S = 10, R = 4 with several ``partial_fit`` passes per slice (trained here by hand from the
   shards' slices, the library has no such setting): test accuracy.

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

    lines += ["", "## 3. Passes per slice, S = 10, R = 4", "", "| passes | test acc |"]
    lines += ["| ---: | ---: |"]
    layout = ShardedClassifier(clone(sgd), n_shards=10, n_slices=4, random_state=args.seed)
    layout.fit(X, y)
    classes = layout.classes_
    for passes in (1, 3, 5, 10):
        proba = np.zeros((len(y_test), len(classes)))
        for s in range(10):
            model = clone(sgd).set_params(random_state=int(layout.shard_seeds_[s]))
            for r in range(4):
                X_sr, y_sr = layout.shard_rows(s, slice=r)
                for _ in range(passes):
                    model.partial_fit(X_sr, y_sr, classes=classes)
            proba += model.predict_proba(X_test)
        accuracy = float((classes[proba.argmax(axis=1)] == y_test).mean())
        lines.append(f"| {passes} | {accuracy:.4f} |")
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
