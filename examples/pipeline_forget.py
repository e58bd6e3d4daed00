"""
Forgetting through a Pipeline
=============================

A ``Pipeline`` of a ``StandardScaler`` and an
:class:`~sk_unlearn.UnlearnableClassifier`. ``Pipeline`` exposes no
``forget``, so :func:`~sk_unlearn.forget_through_pipeline` scales the raw rows
with the fitted scaler, exactly as ``predict`` would, and hands them to the
classifier's ``forget``.

What it does not do: the scaler is not refitted, so its mean and variance
still carry the forgotten rows until the whole pipeline is refitted. The last
lines measure how much that is.

Run it with ``python examples/pipeline_forget.py``.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_unlearn import UnlearnableClassifier, forget_through_pipeline
from sk_unlearn.datasets import load_digits_split


def main() -> dict[str, float]:
    data = load_digits_split(random_state=0)
    X, y = data.X_train, data.y_train
    pipe = make_pipeline(
        StandardScaler(),
        UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0), random_state=0),
    ).fit(X, y)
    before = pipe.score(data.X_test, data.y_test)

    rows = np.random.default_rng(0).choice(len(y), size=30, replace=False)
    forget_through_pipeline(pipe, X[rows], y[rows])  # raw rows, as given to fit
    classifier = pipe[-1]
    after = pipe.score(data.X_test, data.y_test)
    print(f"forgot {classifier.n_forgotten_} rows; {classifier.n_retained_} retained")
    print(f"test accuracy {before:.3f} before, {after:.3f} after")

    # The scaler still carries the forgotten rows: compare it with one fitted without them.
    keep = np.ones(len(y), dtype=bool)
    keep[rows] = False
    refit = StandardScaler().fit(X[keep])
    shift = float(np.abs(pipe[0].mean_ - refit.mean_).max())
    print(f"largest shift of the scaler's mean had it been refitted: {shift:.2e}")
    print("(refit the whole pipeline to remove it: pipe.fit(X[keep], y[keep]))")
    print(
        f"\nWhat this shows: the pipeline forgot {classifier.n_forgotten_} rows given raw, as "
        f"to fit, with test accuracy {before:.3f} -> {after:.3f}; the classifier forgot them, "
        f"the scaler did not: its statistics still hold a trace of them (its mean would move "
        f"by up to {shift:.2e} if refitted). Refit the pipeline when every step must forget."
    )
    return {
        "test_acc_before": before,
        "test_acc_after": after,
        "n_forgotten": classifier.n_forgotten_,
        "scaler_shift": shift,
    }


if __name__ == "__main__":
    main()
