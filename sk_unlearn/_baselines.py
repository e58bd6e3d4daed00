"""The usual baselines of the unlearning literature, on any estimator an adapter drives.

Each baseline takes a copy of the original (fitted on every row) inner
estimator and returns it unlearned. They exist so that
:func:`sk_unlearn.evaluation.evaluate_unlearning` compares like with like:

* ``"retrain"``: a fresh fit on the retained rows (the exact answer, at full cost);
* ``"none"``: the original model, unchanged (the floor);
* ``"finetune"``: ``epochs`` passes of ``partial_fit`` over the retained rows
  (catastrophic forgetting as unlearning);
* ``"neggrad+"``: ``epochs`` passes over the retained rows in mini-batches,
  each step on the batch (weight ``beta``) and the forget rows (weight
  ``-(1 - beta)``): gradient descent on the retained rows and ascent on the
  forgotten ones (Kurmanji et al., "Towards Unbounded Machine Unlearning",
  NeurIPS 2023), at the estimator's own rate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone

from ._backends import adapter_for

Baseline = Callable[..., Any]


def retrain(original: Any, classes: np.ndarray, data: dict[str, np.ndarray], seed: int) -> Any:
    """A fresh clone fitted on the retained rows, reseeded where it has a ``random_state``."""
    model = clone(original)
    if "random_state" in model.get_params(deep=False):
        model.set_params(random_state=seed)
    adapter_for(model, classes).fit(data["X_retain"], data["y_retain"])
    return model


def none(original: Any, classes: np.ndarray, data: dict[str, np.ndarray], seed: int) -> Any:
    """The original model, unchanged."""
    return original


def finetune(
    original: Any, classes: np.ndarray, data: dict[str, np.ndarray], seed: int, epochs: int = 1
) -> Any:
    """``epochs`` passes of ``partial_fit`` over the retained rows, shuffled by ``seed``."""
    adapter = adapter_for(original, classes)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(data["y_retain"]))
        adapter.partial_fit(data["X_retain"][order], data["y_retain"][order], classes)
    return original


def neggrad_plus(
    original: Any,
    classes: np.ndarray,
    data: dict[str, np.ndarray],
    seed: int,
    epochs: int = 1,
    beta: float = 0.99,
    batch_size: int = 128,
) -> Any:
    """Descent on retained mini-batches mixed with ascent on the forget rows (see above)."""
    adapter = adapter_for(original, classes)
    if not adapter.accepts_sample_weight:
        raise ValueError(
            f"neggrad+ needs weighted steps; {type(original).__name__}'s adapter takes none."
        )
    X_r, y_r, X_f, y_f = data["X_retain"], data["y_retain"], data["X_forget"], data["y_forget"]
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(y_r))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            X = np.concatenate([X_r[batch], X_f])
            y = np.concatenate([y_r[batch], y_f])
            weights = np.r_[np.full(len(batch), beta), np.full(len(y_f), -(1 - beta))]
            # Rescaled to a mean of 1: estimators that divide by the weights' sum
            # (MLPClassifier) then take the step they would on an unweighted batch.
            adapter.forget_step(X, y, None, sample_weight=weights * len(weights) / weights.sum())
    return original


#: The baselines by name.
BASELINES: dict[str, Baseline] = {
    "retrain": retrain,
    "none": none,
    "finetune": finetune,
    "neggrad+": neggrad_plus,
}
