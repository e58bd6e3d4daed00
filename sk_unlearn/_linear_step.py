"""One plain SGD step on a whole mini-batch, for scikit-learn's SGD classifiers.

``SGDClassifier.partial_fit`` on a relabel batch runs one epoch of
*per-sample* updates (one after another, in a shuffled order), through a
joblib loop over the one-vs-rest problems, with per-call validation and
dataset construction: 20-40 times the work of the step itself on a 41-row
batch. :func:`batch_step` takes the step the paper prescribes instead: one
gradient step on the whole batch, computed directly on ``coef_`` and
``intercept_`` with the estimator's own loss, penalty, class weights and
intercept decay, one-vs-rest as scikit-learn trains it.

The gradient is the *sum* of the rows' per-sample gradients (and the
penalty's gradient once per row), which is what the per-sample updates of
``partial_fit`` add up to to first order: an unlearning rate means the same
step size under both, so the rates calibrated for ``partial_fit`` carry over.
The L1 part of a penalty is applied as a proximal (soft-threshold) step,
the batch form of scikit-learn's truncated gradient.

Loss derivatives follow scikit-learn's ``dloss(p, y)`` for ``y`` in {-1, +1}
(``sklearn/_loss/_loss.pyx`` and ``linear_model/_sgd_fast.pyx``), written
vectorised here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn import linear_model

from . import _linear_scores

#: scikit-learn's intercept decay for sparse rows (``_stochastic_gradient.SPARSE_INTERCEPT_DECAY``).
SPARSE_INTERCEPT_DECAY = 0.01


def _log_loss(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return -t * expit(-t * p)


def _modified_huber(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    z = p * t
    return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * (1.0 - z) * t, -4.0 * t))


def _hinge(threshold: float) -> Any:
    def dloss(p: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.where(p * t <= threshold, -t, 0.0)

    return dloss


def _squared_hinge(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    z = 1.0 - p * t
    return np.where(z > 0.0, -2.0 * t * z, 0.0)


#: The derivative of each classification loss with respect to the decision value.
DLOSS = {
    "log_loss": _log_loss,
    "modified_huber": _modified_huber,
    "hinge": _hinge(1.0),
    "perceptron": _hinge(0.0),
    "squared_hinge": _squared_hinge,
}


def unsupported(estimator: Any) -> str | None:
    """Why :func:`batch_step` cannot step ``estimator``; None if it can."""
    passive_aggressive = getattr(linear_model, "PassiveAggressiveClassifier", None)
    if passive_aggressive is not None and isinstance(estimator, passive_aggressive):
        return "a passive-aggressive step (its step size depends on each row)"
    loss = getattr(estimator, "loss", None)
    if loss not in DLOSS:
        return f"loss={loss!r} (the batch step knows {sorted(DLOSS)})"
    if getattr(estimator, "average", False):
        return "average=True (the model predicts with averaged weights a step does not move)"
    if getattr(estimator, "learning_rate", None) in ("pa1", "pa2"):
        return "a passive-aggressive learning rate (its step size depends on each row)"
    if getattr(estimator, "penalty", None) not in (None, "l2", "l1", "elasticnet"):
        return f"penalty={estimator.penalty!r}"
    return None


def current_rate(estimator: Any) -> float:
    """The step size the estimator's own schedule would take on its next row.

    As scikit-learn's ``_plain_sgd`` computes it from ``t_``: ``eta0`` for the
    ``"constant"`` and ``"adaptive"`` schedules (the latter's reductions are
    not kept between calls), ``eta0 / t_ ** power_t`` for ``"invscaling"``,
    ``1 / (alpha * (t0 + t_ - 1))`` for ``"optimal"``, with ``t0`` from the
    typical weight ``(1 / sqrt(alpha)) ** 0.5`` as scikit-learn derives it.
    """
    schedule, t = estimator.learning_rate, float(estimator.t_)
    if schedule == "optimal":
        alpha = float(estimator.alpha)
        typical = np.sqrt(1.0 / np.sqrt(alpha))
        slope = float(DLOSS[estimator.loss](np.array([-typical]), np.array([1.0]))[0])
        initial = typical / max(1.0, slope)
        return 1.0 / (alpha * (1.0 / (initial * alpha) + t - 1.0))
    if schedule == "invscaling":
        return float(estimator.eta0) / t ** float(estimator.power_t)
    return float(estimator.eta0)


def class_weights(estimator: Any, classes: np.ndarray) -> np.ndarray:
    """The weight of each class's rows, from ``class_weight`` (a dict or None) as
    ``partial_fit`` takes it."""
    given = estimator.class_weight
    if given is None:
        return np.ones(len(classes))
    return np.asarray([float(given.get(c, 1.0)) for c in classes])


def batch_step(
    estimator: Any,
    X: Any,
    y: np.ndarray,
    rate: float,
    sample_weight: np.ndarray | None = None,
) -> None:
    """Move ``estimator.coef_`` and ``intercept_`` by one SGD step on the batch ``(X, y)``.

    Parameters
    ----------
    estimator : SGDClassifier or Perceptron
        A fitted estimator whose :func:`unsupported` is None. Only
        ``coef_`` and ``intercept_`` change (in place).
    X : ndarray or sparse matrix of shape (n_rows, n_features)
        The batch's rows.
    y : ndarray of shape (n_rows,)
        Their labels, among ``estimator.classes_``.
    rate : float
        The step size.
    sample_weight : ndarray of shape (n_rows,), default=None
        Per-row weights of the rows' gradients (None: 1).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sk_unlearn._linear_step import batch_step
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> clf = SGDClassifier(loss="log_loss", random_state=0).fit(X, [0, 1, 1])
    >>> before = clf.predict_proba(X[:1])[0, 1]
    >>> batch_step(clf, X[:1], np.array([1]), rate=0.5)  # row 0 taught class 1
    >>> bool(clf.predict_proba(X[:1])[0, 1] > before)
    True
    """
    # An absurd rate overflows to inf or NaN here; the wrapper's finiteness check then
    # rolls the request back with its own error, so numpy need not warn as well.
    with np.errstate(over="ignore", invalid="ignore"):
        _step(estimator, X, y, rate, sample_weight)


def _step(
    estimator: Any, X: Any, y: np.ndarray, rate: float, sample_weight: np.ndarray | None
) -> None:
    coef, intercept = estimator.coef_, estimator.intercept_
    classes = estimator.classes_
    y = np.asarray(y)
    n = len(y)
    per_class = class_weights(estimator, classes)
    decision = _linear_scores.decision(estimator, X)  # (n_rows, n_models)
    if len(classes) == 2:  # one model: class 1 against class 0
        positive = (y == classes[1])[:, np.newaxis]
        row_weight = np.where(positive, per_class[1], per_class[0])
    else:  # one-vs-rest: class k against the rest, the rest weighing 1
        positive = y[:, np.newaxis] == classes[np.newaxis, :]
        row_weight = np.where(positive, per_class[np.newaxis, :], 1.0)
    if sample_weight is not None:
        row_weight *= np.asarray(sample_weight, float)[:, np.newaxis]
    targets = np.where(positive, 1.0, -1.0)
    dloss = DLOSS[estimator.loss](decision, targets) * row_weight  # (n_rows, n_models)
    # The step's scale goes on the small (n_rows, n_models) factor, and the penalty's
    # gradient on coef_ in place: two passes over coef_-sized arrays, not five.
    scaled = rate * dloss
    step = np.asarray(X.T @ scaled).T if sp.issparse(X) else scaled.T @ X
    penalty = estimator.penalty
    alpha = float(estimator.alpha)
    l1_ratio = {"l1": 1.0, "elasticnet": float(estimator.l1_ratio)}.get(penalty, 0.0)
    if penalty is not None and l1_ratio < 1.0:
        coef *= 1.0 - rate * n * alpha * (1.0 - l1_ratio)
    coef -= step.astype(coef.dtype, copy=False)
    if penalty is not None and l1_ratio > 0:  # the L1 part: one proximal step
        shrink = rate * n * alpha * l1_ratio
        np.copyto(coef, np.sign(coef) * np.maximum(np.abs(coef) - shrink, 0.0))
    if estimator.fit_intercept:
        decay = SPARSE_INTERCEPT_DECAY if sp.issparse(X) else 1.0
        intercept -= (decay * scaled.sum(axis=0)).astype(intercept.dtype, copy=False)
