"""
Quickstart: forget 1% of the training rows
==========================================

Trains an ``SGDClassifier`` on scikit-learn's embedded 8x8 digits (nothing to
download), serves one deletion request per forgotten row by random relabeling,
and compares the result with naive retraining without those rows.

Run it with ``python examples/quickstart.py``.
"""

from __future__ import annotations

import copy
import time

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.datasets import load_digits_split


def main() -> dict[str, float]:
    data = load_digits_split(random_state=0)
    X, y = data.X_train, data.y_train

    clf = UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0), random_state=0)
    clf.fit(X, y)
    before = clf.score(data.X_test, data.y_test)

    original = copy.deepcopy(clf)
    rng = np.random.RandomState(0)
    forget = rng.choice(len(X), size=max(1, len(X) // 100), replace=False)

    start = time.perf_counter()
    for i in forget:  # one request per row, as deletion requests arrive
        clf.forget(X[i : i + 1], y[i : i + 1])
    per_request = (time.perf_counter() - start) / len(forget)

    # The naive baseline: retrain from scratch without the forgotten rows.
    keep = np.ones(len(X), dtype=bool)
    keep[forget] = False
    start = time.perf_counter()
    naive = clone(clf.estimator).fit(X[keep], y[keep])
    retrain_time = time.perf_counter() - start

    def distance_to_naive(model) -> float:
        """Mean total-variation distance of predicted probabilities on the test set."""
        p, q = model.predict_proba(data.X_test), naive.predict_proba(data.X_test)
        return float(0.5 * np.abs(p - q).sum(axis=1).mean())

    results = {
        "n_train": len(X),
        "n_forgotten": len(forget),
        "test_acc_before": before,
        "test_acc_after": clf.score(data.X_test, data.y_test),
        "test_acc_naive": naive.score(data.X_test, data.y_test),
        "forgotten_acc_after": clf.score(X[forget], y[forget]),
        "forgotten_acc_naive": naive.score(X[forget], y[forget]),
        "tv_original_to_naive": distance_to_naive(original),
        "tv_after_to_naive": distance_to_naive(clf),
        "ms_per_request": per_request * 1e3,
        "ms_retrain": retrain_time * 1e3,
    }
    print(f"Trained on {len(X)} digits; forgetting {len(forget)} rows (1%), one request each.")
    print(f"{'':24}{'relabeling':>12}{'naive retrain':>15}")
    print(
        f"{'test accuracy':24}{results['test_acc_after']:>12.3f}{results['test_acc_naive']:>15.3f}"
        f"   (before: {before:.3f})"
    )
    print(
        f"{'forgotten-row accuracy':24}{results['forgotten_acc_after']:>12.3f}"
        f"{results['forgotten_acc_naive']:>15.3f}"
    )
    print(
        f"Distance to the naive model (mean total variation of predict_proba): "
        f"{results['tv_original_to_naive']:.4f} before, {results['tv_after_to_naive']:.4f} after."
    )
    print(
        f"{'time':24}{per_request * 1e3:>9.2f} ms{retrain_time * 1e3:>12.1f} ms"
        f"   ({retrain_time / per_request:.0f}x faster per request)"
    )
    print(f"Deletion log: {len(clf.deletion_log_)} records, e.g. {clf.deletion_log_[0]}")
    return results


if __name__ == "__main__":
    main()
