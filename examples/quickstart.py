"""
Quickstart: forget rows a model memorized, and check that it did
=================================================================

Eight of the training digits carry a wrong label, and the network has
memorized them: it repeats the wrong label. Those are the rows where
forgetting shows (an ordinary row barely moves a model, so a model already
looks as if it never saw it). Each row is then forgotten by one deletion
request, and a calibrated certificate
(:class:`~sk_unlearn.OutOfFoldReference`) says, row by row, whether the model
now treats it as it treats rows it never saw. Where it does not, ``retrain()``
serves the requests exactly.

Runs on scikit-learn's embedded 8x8 digits (nothing to download) in a few
seconds: ``python examples/quickstart.py``.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sk_unlearn import OutOfFoldReference, UnlearnableClassifier
from sk_unlearn.datasets import load_digits_split

N_TRAIN = 500  # training rows (of the 1,347 in the split): seconds on 2 cores
N_MISLABELED = 8


def summary(
    clf: UnlearnableClassifier, X: np.ndarray, y: np.ndarray, ref: OutOfFoldReference
) -> dict[str, int]:
    """How many rows still get their wrong label, and the certificate's verdicts."""
    verdicts = list(clf.certify(X, y, reference=ref).verdicts)
    return {
        "repeats": int(np.sum(clf.predict(X) == y)),
        **{v: verdicts.count(v) for v in ("forgotten", "remembered", "over-forgotten")},
    }


def main() -> dict[str, object]:
    warnings.simplefilter("ignore", ConvergenceWarning)  # the MLP trains to memorize
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning")  # and in the workers
    data = load_digits_split(random_state=0)
    X, y = data.X_train[:N_TRAIN], data.y_train[:N_TRAIN].copy()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(y), N_MISLABELED, replace=False)
    true = y[rows].copy()
    y[rows] = (true + rng.integers(1, 10, size=N_MISLABELED)) % 10  # a wrong label each

    start = time.perf_counter()
    clf = UnlearnableClassifier(
        MLPClassifier((128,), max_iter=300, random_state=0), random_state=0
    ).fit(X, y)
    fit_seconds = time.perf_counter() - start
    X_del, y_del = X[rows], y[rows]
    predicted_before = clf.predict(X_del)

    # Rows no model trains on: the reference trains models on folds of the
    # training rows (2 folds x 2 repeats here, for speed; 5 x 2 by default), once
    # per training from scratch, and compares each row with the models that missed it.
    ref = OutOfFoldReference(data.X_test, n_folds=2, n_jobs=2, random_state=0)
    before = summary(clf, X_del, y_del, ref)

    # Serve the requests: relabeling, each row stopped at its never-seen level
    # (at most 10 steps), with 128 replayed rows of its class per step.
    clf.set_params(n_steps=10, n_replay=128, unlearning_rate=1e-4)
    start = time.perf_counter()
    for i in range(N_MISLABELED):  # one request per row, as they arrive
        clf.forget(X_del[i : i + 1], y_del[i : i + 1], reference=ref)
    per_request = (time.perf_counter() - start) / N_MISLABELED
    predicted_after = clf.predict(X_del)
    after = summary(clf, X_del, y_del, ref)

    start = time.perf_counter()
    clf.retrain()  # exact: a fresh fit on the retained rows
    retrain_seconds = time.perf_counter() - start
    predicted_retrained = clf.predict(X_del)
    retrained = summary(clf, X_del, y_del, ref)

    n = N_MISLABELED
    print(
        f"An MLP trained on {len(y)} digits, {n} of them with a wrong label, repeats that "
        f"label on {before['repeats']} of the {n}."
    )
    print(
        "\ngiven: the wrong label it trained with; model, forget, retrain: what it predicts "
        "before, after forget, after retrain()"
    )
    print(f"{'row':>5} {'given':>6} {'true':>5} {'model':>6} {'forget':>7} {'retrain':>8}")
    for j, i in enumerate(rows):
        print(
            f"{i:>5} {y_del[j]:>6} {true[j]:>5} {predicted_before[j]:>6} "
            f"{predicted_after[j]:>7} {predicted_retrained[j]:>8}"
        )
    print(f"\n{'':34}{'repeats the wrong label':>24}   calibrated certificate")
    for name, result, cost in (
        ("before", before, f"(reference built in {ref.build_seconds_:.1f} s)"),
        ("after forget", after, f"({per_request * 1e3:.0f} ms per request)"),
        ("after retrain()", retrained, f"({retrain_seconds:.1f} s)"),
    ):
        verdicts = ", ".join(
            f"{result[v]} {v}" for v in ("forgotten", "remembered", "over-forgotten") if result[v]
        )
        print(f"{name:>16} {cost:<34}{result['repeats']:>6} of {n}   {verdicts}")
    cheaper = retrain_seconds / per_request
    print(
        f"\nWhat this shows: after forget the model repeats {after['repeats']} of the {n} "
        f"wrong labels, down from {before['repeats']}, at {per_request * 1e3:.0f} ms per request, "
        f"{cheaper:.0f}x cheaper than retraining these {len(y)} rows (a request's cost does not "
        f"grow with the data; retraining's does). The certificate is stricter: it compares each "
        f"row with models that never saw it, and passes {after['forgotten']} of the {n} after "
        "relabeling, which is approximate. retrain() served the requests exactly: it passes "
        f"{retrained['forgotten']} of {n}. Certify before you claim a row is forgotten."
    )
    return {
        "n_train": len(y),
        "rows": rows,
        "before": before,
        "after": after,
        "retrained": retrained,
        "ms_per_request": per_request * 1e3,
        "retrain_seconds": retrain_seconds,
        "fit_seconds": fit_seconds,
        "n_forgotten": clf.n_forgotten_,
    }


if __name__ == "__main__":
    main()
