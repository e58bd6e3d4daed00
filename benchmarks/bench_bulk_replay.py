"""A bulk ``forget`` call: its cost per request does not grow with the rows in the call.

One ``UnlearnableClassifier(SGDClassifier(loss="log_loss"))`` is trained on a
synthetic set with one large class (and a smaller second one). Copies of it
then forget, in one ``forget`` call each, a small and a large number of rows
of the large class. Every request replays rows of its class that the call is
not forgetting, so the call's exclusions are indexed once per call; before,
they were rebuilt (and the class scanned) at every step. The report gives the
time per request of each call, small and large alternating over several
rounds, and the ratio large/small.

    python benchmarks/bench_bulk_replay.py [--class-rows 100000] [--small 2000]
        [--large 20000] [--rounds 3]

Only public API is used, so the same script can time another version of the
library (``PYTHONPATH=/path/to/checkout python benchmarks/bench_bulk_replay.py``).
Writes ``benchmarks/results/bulk_replay.md`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
from _common import REPO_ROOT, provenance, verdict, write_report
from sklearn.linear_model import SGDClassifier

import sk_unlearn
from sk_unlearn import UnlearnableClassifier

TARGET = 1.5  # large/small at most this


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-rows", type=int, default=100_000)
    parser.add_argument("--other-rows", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--large", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/bulk_replay.md")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    y = np.r_[np.zeros(args.class_rows, dtype=int), np.ones(args.other_rows, dtype=int)]
    X = rng.normal(size=(y.size, args.features)) + y[:, np.newaxis]
    start = time.perf_counter()
    fitted = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0
    ).fit(X, y)
    fit_seconds = time.perf_counter() - start

    per_request: dict[str, list[float]] = {"small": [], "large": []}
    sizes = {"small": args.small, "large": args.large}
    for r in range(args.rounds):
        order = list(sizes) if r % 2 == 0 else list(sizes)[::-1]
        for name in order:
            clf = copy.deepcopy(fitted)
            rows = rng.choice(args.class_rows, size=sizes[name], replace=False)
            start = time.perf_counter()
            clf.forget(X[rows], y[rows])
            per_request[name].append((time.perf_counter() - start) / sizes[name])
    ratios = [lg / sm for lg, sm in zip(per_request["large"], per_request["small"])]
    ratio = float(np.median(ratios))

    lines = provenance(
        "A bulk forget call: time per request against the number of rows in the call",
        __file__,
        argv,
        args.seed,
        [
            f"Data: synthetic, {args.features} features; class 0 has {args.class_rows:,} rows, "
            f"class 1 {args.other_rows:,}; SGDClassifier(loss='log_loss'), library defaults "
            f"(relabel='soft', n_replay=32); fit took {fit_seconds:.1f} s",
            f"Calls: one forget call of {args.small:,} and one of {args.large:,} rows of class 0, "
            f"each on a fresh copy of the fitted model, alternating over {args.rounds} rounds",
            f"Library timed: sk_unlearn imported from {Path(sk_unlearn.__file__).parent} "
            "(the git revision above is the benchmark script's checkout)",
        ],
    )
    lines += [
        "",
        "| call | rows | per request (ms), each round | median |",
        "| --- | ---: | --- | ---: |",
    ]
    for name in sizes:
        values = ", ".join(f"{t * 1e3:.3f}" for t in per_request[name])
        lines.append(
            f"| {name} | {sizes[name]:,} | {values} | {np.median(per_request[name]) * 1e3:.3f} |"
        )
    lines += [
        "",
        f"Ratio large/small per request, median of rounds: {ratio:.3f}x (spread "
        f"{min(ratios):.3f}-{max(ratios):.3f}; target <= {TARGET}x): {verdict(ratio <= TARGET)}",
    ]
    write_report(lines, args.out)
    return lines


if __name__ == "__main__":
    main()
