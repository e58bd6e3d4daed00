"""Exact forgetting on MultinomialNB: the time per request does not grow with the rows.

Two ``UnlearnableClassifier(MultinomialNB())`` models, one trained on a small
and one on a large set of synthetic count rows (same features, same classes),
serve requests one row per ``forget`` call, alternately (so machine load hits
both alike), in several rounds. A request subtracts the row's counts from the
class's sufficient statistics, so its cost is O(n_features), whatever the
number of rows. The report gives the median time per request of each model,
the ratio large/small per round, and the spread over the rounds; it also
checks after every round that the large model still equals a fresh fit on its
retained rows (exactness).

    python benchmarks/bench_exact_nb.py [--small 10000] [--large 1000000]
        [--features 64] [--requests 200] [--rounds 3]

Writes ``benchmarks/results/exact_nb.md`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import REPO_ROOT, ms_stats, provenance, verdict, write_report
from sklearn.naive_bayes import MultinomialNB

from sk_unlearn import UnlearnableClassifier

FLAT = 1.1  # large/small at most this


def counts(n_rows: int, n_features: int, n_classes: int, seed: int) -> tuple[np.ndarray, ...]:
    """Poisson count rows whose rate depends on the class (a bag-of-words stand-in)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n_rows)
    rates = rng.gamma(2.0, 1.0, size=(n_classes, n_features))
    return rng.poisson(rates[y]).astype(np.float64), y


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200, help="per model and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/exact_nb.md")
    args = parser.parse_args(argv)

    X, y = counts(args.large, args.features, args.classes, args.seed)
    sizes = {"small": args.small, "large": args.large}
    models, fit_seconds = {}, {}
    for name, n in sizes.items():
        start = time.perf_counter()
        models[name] = UnlearnableClassifier(MultinomialNB()).fit(X[:n], y[:n])
        fit_seconds[name] = time.perf_counter() - start

    times: dict[str, list[list[float]]] = {name: [] for name in sizes}
    exact_errors = []
    next_row = 0
    for _ in range(args.rounds):
        for name in sizes:
            times[name].append([])
        for i in range(args.requests):
            row = next_row + i  # the same rows, in the first `small` rows of both sets
            order = list(sizes) if i % 2 else list(sizes)[::-1]
            for name in order:
                start = time.perf_counter()
                models[name].forget(X[row : row + 1], y[row : row + 1])
                times[name][-1].append(time.perf_counter() - start)
        next_row += args.requests
        large = models["large"]
        reference = MultinomialNB().fit(X[next_row : args.large], y[next_row : args.large])
        exact_errors.append(
            float(np.abs(large.estimator_.feature_log_prob_ - reference.feature_log_prob_).max())
        )

    per_round = {name: [float(np.median(t)) for t in times[name]] for name in sizes}
    ratios = [lg / sm for lg, sm in zip(per_round["large"], per_round["small"])]
    ratio = float(np.median(ratios))
    all_times = {name: [t for rnd in times[name] for t in rnd] for name in sizes}
    lines = provenance(
        "Exact forgetting on MultinomialNB: time per request at two training-set sizes",
        __file__,
        argv,
        args.seed,
        [
            f"Data: synthetic Poisson count rows, {args.features} features, {args.classes} "
            f"classes; small model on {args.small:,} rows, large on {args.large:,}",
            f"Requests: {args.requests} per model and round, one row per forget call, "
            f"the two models alternating; {args.rounds} rounds",
        ],
    )
    lines += [
        "",
        "| model | rows | fit (s) | median per request (ms) | p10 | p90 |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, n in sizes.items():
        s = ms_stats(all_times[name])
        lines.append(
            f"| {name} | {n:,} | {fit_seconds[name]:.2f} | {s['median']:.3f} | "
            f"{s['p10']:.3f} | {s['p90']:.3f} |"
        )
    lines += [
        "",
        "Median per round (ms): "
        + "; ".join(
            f"round {r + 1}: small {sm * 1e3:.3f}, large {lg * 1e3:.3f}, ratio {q:.3f}"
            for r, (sm, lg, q) in enumerate(zip(per_round["small"], per_round["large"], ratios))
        ),
        "",
        f"Ratio large/small, median of rounds: {ratio:.3f}x (spread "
        f"{min(ratios):.3f}-{max(ratios):.3f}; target <= {FLAT}x): {verdict(ratio <= FLAT)}",
        f"Largest |feature_log_prob_| difference from a fresh fit on the retained rows, "
        f"after each round: {', '.join(f'{e:.1e}' for e in exact_errors)}",
    ]
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
