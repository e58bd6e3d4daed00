"""Certified removal (Guo et al.) on MNIST: accuracy, removals before a retrain, time per removal.

For MNIST 3 vs 8 and the 10 classes, rows scaled to [0, 1] and normalised to
unit length (as in the paper, so that ||x|| <= 1 and the intercept column
adds 1), a ``CertifiedLogisticRegression`` is trained at each epsilon with
delta = 1e-4, beside scikit-learn's unperturbed ``LogisticRegression`` at
the same regularisation; then random training rows are removed one request
at a time through ``UnlearnableClassifier.forget`` until the first removal
that would exceed the budget (or ``--max-removals``). Timed in the same run:
the full fit and every removal (the Newton step, the bound, the ledger record).

    python benchmarks/bench_certified.py [--tasks 3v8 10] [--epsilons 0.1 1 10]
        [--lam 1e-3] [--noise 1.0] [--max-removals 1000] [--data ../shared/data/mnist.npz]

``C = 1 / (lam * n)`` matches the paper's regulariser ``lam * n / 2 * ||w||^2``.
Writes ``benchmarks/results/certified.md`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO_ROOT, provenance, verdict, write_report
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import Normalizer

from sk_unlearn import CertifiedLogisticRegression, UnlearnableClassifier
from sk_unlearn.datasets import load_digits_split, load_mnist

DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data" / "mnist.npz"


def task_data(task: str, data: Path, quick: bool) -> dict[str, np.ndarray]:
    if quick:
        d = load_digits_split(random_state=0)
        X, y, X_test, y_test = d.X_train, d.y_train, d.X_test, d.y_test
    else:
        d = load_mnist(data)
        X, y, X_test, y_test = d.X_train, d.y_train, d.X_test, d.y_test
    if task == "3v8":
        keep, keep_test = np.isin(y, [3, 8]), np.isin(y_test, [3, 8])
        X, y, X_test, y_test = X[keep], y[keep], X_test[keep_test], y_test[keep_test]
    norm = Normalizer()
    return {
        "X": norm.fit_transform(X.astype(np.float64)),
        "y": y,
        "X_test": norm.transform(X_test.astype(np.float64)),
        "y_test": y_test,
    }


def run(task: str, epsilon: float, d: dict[str, np.ndarray], args: Any) -> dict[str, Any]:
    n = len(d["y"])
    C = 1.0 / (args.lam * n)
    start = time.perf_counter()
    plain = LogisticRegression(C=C, max_iter=1000).fit(d["X"], d["y"])
    plain_seconds = time.perf_counter() - start
    inner = CertifiedLogisticRegression(
        C=C, epsilon=epsilon, delta=args.delta, noise=args.noise, random_state=args.seed
    )
    start = time.perf_counter()
    clf = UnlearnableClassifier(inner).fit(d["X"], d["y"])
    fit_seconds = time.perf_counter() - start
    accuracy = clf.score(d["X_test"], d["y_test"])
    order = np.random.default_rng(args.seed).permutation(n)[: args.max_removals]
    times, served, residual = [], 0, None
    kept = np.ones(n, dtype=bool)
    for i in order:
        row = (d["X"][i : i + 1], d["y"][i : i + 1])
        bounds, _ = clf.estimator_.removal_cost(*row)  # untimed: will this one retrain?
        if (bounds > clf.estimator_.budget_).any() or served == len(order) - 1:
            # The last certified model: its true gradient norm against its bound (an O(n d)
            # pass over the remaining rows, which removals never make).
            measured = clf.estimator_.gradient_residual(d["X"][kept], d["y"][kept]).max()
            residual = (float(measured), float(clf.estimator_.residual_bound_.max()))
        start = time.perf_counter()
        clf.forget(*row)
        times.append(time.perf_counter() - start)
        if clf.deletion_log_[-1].retrained:
            break
        kept[i] = False
        served += 1
    removal_times = times[:served] if served else times
    per_removal = float(np.median(removal_times))
    guarantee = clf.estimator_.guarantee()
    return {
        "task": task,
        "epsilon": epsilon,
        "n": n,
        "C": C,
        "accuracy": accuracy,
        "plain_accuracy": plain.score(d["X_test"], d["y_test"]),
        "served": served,
        "capped": served == len(order),
        "per_removal": per_removal,
        "fit_seconds": fit_seconds,
        "plain_seconds": plain_seconds,
        "speedup": fit_seconds / per_removal,
        "budget": guarantee["budget"],
        "spent": guarantee["budget_spent"],
        "residual": residual,
    }


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["3v8", "10"])
    parser.add_argument("--epsilons", nargs="+", type=float, default=[0.1, 1.0, 10.0])
    parser.add_argument("--delta", type=float, default=1e-4)
    parser.add_argument("--lam", type=float, default=1e-3)
    parser.add_argument("--noise", type=float, default=1.0)
    parser.add_argument("--max-removals", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="digits instead of MNIST")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/certified.md")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)

    lines = provenance(
        "Certified removal for logistic regression (Guo et al.) on MNIST",
        __file__,
        argv,
        args.seed,
        [
            f"Data: {'digits (quick)' if args.quick else 'MNIST'}, rows in [0, 1] normalised to "
            "unit length; the intercept is an extra constant feature",
            f"lam = {args.lam} (C = 1 / (lam n)), noise sigma = {args.noise}, "
            f"delta = {args.delta}; up to {args.max_removals} removals, one row per forget call",
        ],
        when="when the run started",
    )
    lines += [
        "",
        "| task | epsilon | rows | test acc (certified) | test acc (LogisticRegression) | "
        "removals before a retrain | per removal | full fit | speedup | "
        "true residual / bound |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    results = []
    for task in args.tasks:
        d = task_data(task, args.data, args.quick)
        for epsilon in args.epsilons:
            r = run(task, epsilon, d, args)
            results.append(r)
            served = f">= {r['served']}" if r["capped"] else f"{r['served']}"
            ratio = "" if r["residual"] is None else f"{r['residual'][0] / r['residual'][1]:.3f}"
            lines.append(
                f"| {task} | {epsilon:g} | {r['n']:,} | {r['accuracy']:.4f} | "
                f"{r['plain_accuracy']:.4f} | {served} | {r['per_removal'] * 1e3:.1f} ms | "
                f"{r['fit_seconds']:.1f} s | {r['speedup']:,.0f}x | {ratio} |"
            )
    goal = next((r for r in results if r["task"] == "3v8" and r["epsilon"] == 1.0), None)
    if goal is not None:
        gap = goal["plain_accuracy"] - goal["accuracy"]
        lines += [
            "",
            "Goals at epsilon = 1 on 3 vs 8:",
            f"- test accuracy within 1 point of LogisticRegression: {gap * 100:+.2f} points "
            f"below: {verdict(gap <= 0.01)}",
            f"- at least 100x faster per removal than a full fit: {goal['speedup']:,.0f}x: "
            f"{verdict(goal['speedup'] >= 100)}",
            f"- hundreds of removals before a retrain: {goal['served']}"
            f"{' (the cap)' if goal['capped'] else ''}: {verdict(goal['served'] >= 200)}",
        ]
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
