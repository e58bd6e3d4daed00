"""A model's opinion of a row: class probabilities, else decision scores.

Every part of the library that asks a model "how likely is each class for
this row?" (the soft and boundary relabeling strategies, certificates,
membership-inference losses) goes through here, so there is one rule for
models without ``predict_proba`` and one convention for binary decision
functions:

* ``predict_proba`` where the model has it;
* else ``decision_function``; a binary score ``d`` of shape ``(n_rows,)``
  becomes the two columns ``(0, d)``, whose softmax is ``(1 - sigmoid(d),
  sigmoid(d))``, the logistic reading of the score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_TINY = np.finfo(np.float64).tiny


def scoring_method(model: Any) -> str:
    """``"predict_proba"`` or ``"decision_function"``: what the model is scored with.

    Raises
    ------
    TypeError
        If the model has neither.
    """
    for name in ("predict_proba", "decision_function"):
        if hasattr(model, name):
            return name
    raise TypeError(
        f"{type(model).__name__} has neither predict_proba nor decision_function, "
        "so it cannot score the classes of a row."
    )


def has_scores(model: Any) -> bool:
    """Whether :func:`scoring_method` has an answer for ``model``."""
    return hasattr(model, "predict_proba") or hasattr(model, "decision_function")


def decision_columns(scores: Any) -> np.ndarray:
    """Decision scores as one column per class (binary ``d`` becomes ``(0, d)``)."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 1:
        return np.column_stack([np.zeros_like(arr), arr])
    return arr


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed stably."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    out: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return out


def probabilities(model: Any, X: Any) -> np.ndarray:
    """``predict_proba``, else the softmax of :func:`decision_columns`."""
    if scoring_method(model) == "predict_proba":
        return np.asarray(model.predict_proba(X), dtype=np.float64)
    return softmax(decision_columns(model.decision_function(X)))


def log_scores(model: Any, X: Any) -> np.ndarray:
    """Scores whose softmax over any set of classes is the model's renormalised probability.

    The log of ``predict_proba`` (clipped at the smallest positive float),
    else :func:`decision_columns` of ``decision_function``.
    """
    if scoring_method(model) == "predict_proba":
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        return np.log(np.clip(proba, _TINY, None))
    return decision_columns(model.decision_function(X))
