"""One optimizer update of a fitted ``MLPClassifier`` on a whole mini-batch, directly.

``MLPClassifier.partial_fit`` with ``batch_size`` set to the batch length makes
exactly one update: validation of the batch, label binarisation, one
``_backprop`` (forward pass, loss, gradients) and one
``_optimizer.update_params``, then its bookkeeping (the loss curve, counters,
the early-stopping count, the schedule's end-of-iteration hook), which the
MLP adapter restores afterwards anyway. On a relabeling batch (41 MNIST rows, a
784-64-10 net) partial_fit took 1.5x as long as the update alone
(``python benchmarks/bench_overhead.py``, benchmarks/results/overhead.md).
:func:`batch_update` makes the same update from the same two calls on rows the
wrapper has validated, and leaves the bookkeeping alone.

The update is partial_fit's: the same gradient (of the same loss, the L2
penalty, the sample weights normalised by their sum) and the same optimizer
step, with its state (momentum, Adam's moments and step count) carried on.
Only the order in which the batch's rows are summed can differ (partial_fit
may shuffle them first), so the weights agree to rounding.
"""

from __future__ import annotations

import functools
import inspect
from itertools import pairwise
from typing import Any

import numpy as np
import scipy.sparse as sp

#: The arguments :func:`batch_update` passes to ``_backprop``, by name.
_BACKPROP_ARGUMENTS = frozenset(
    ("X", "y", "sample_weight", "activations", "deltas", "coef_grads", "intercept_grads")
)


@functools.lru_cache(maxsize=8)
def _backprop_takes_sample_weight(backprop: Any) -> bool:
    """Whether ``_backprop`` takes every argument :func:`batch_update` names (1.7 and later)."""
    if backprop is None:
        return False
    try:
        return _BACKPROP_ARGUMENTS <= set(inspect.signature(backprop).parameters)
    except (TypeError, ValueError):
        return False


def supported(estimator: Any) -> bool:
    """Whether :func:`batch_update` can step ``estimator``: a fitted ``MLPClassifier`` whose
    scikit-learn has the internals it calls in the form it calls them (1.7 and later;
    before, the adapter steps with ``partial_fit``)."""
    return (
        _backprop_takes_sample_weight(getattr(type(estimator), "_backprop", None))
        and hasattr(estimator, "coefs_")
        and hasattr(getattr(estimator, "_optimizer", None), "update_params")
        and hasattr(estimator, "_label_binarizer")
    )


def _floats(values: Any) -> Any:
    """``values`` (an array or a sparse matrix) as float64 or float32, as partial_fit casts."""
    return values if values.dtype in (np.float64, np.float32) else values.astype(np.float64)


def batch_update(
    estimator: Any, X: Any, y: np.ndarray, sample_weight: np.ndarray | None = None
) -> None:
    """One update of ``estimator``'s optimizer on the whole batch ``(X, y)``, in place.

    ``estimator`` is a fitted ``MLPClassifier`` (see :func:`supported`) whose
    optimizer carries the rate to step at; the labels are among its
    ``classes_`` and the rows are finite (the wrapper validated both).

    Examples
    --------
    >>> import copy
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPClassifier
    >>> from sk_unlearn._mlp_step import batch_update
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 4)), np.arange(60) % 3
    >>> est = MLPClassifier((5,), max_iter=20, shuffle=False, random_state=0).fit(X, y)
    >>> twin = copy.deepcopy(est).set_params(batch_size=10)
    >>> batch_update(est, X[:10], y[:10])
    >>> _ = twin.partial_fit(X[:10], y[:10])
    >>> all(np.allclose(a, b) for a, b in zip(est.coefs_, twin.coefs_))
    True
    """
    est = estimator
    X = _floats(X.tocsr() if sp.issparse(X) else np.asarray(X))
    Y = est._label_binarizer.transform(y).astype(bool)  # as partial_fit binarises them
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    if sample_weight is not None:
        sample_weight = _floats(np.asarray(sample_weight))
    units = [X.shape[1]] + [coef.shape[1] for coef in est.coefs_]
    activations: list[Any] = [X] + [None] * (len(units) - 1)
    deltas: list[Any] = [None] * (len(units) - 1)
    coef_grads = [np.empty((a, b), dtype=X.dtype) for a, b in pairwise(units)]
    intercept_grads = [np.empty(b, dtype=X.dtype) for b in units[1:]]
    _, coef_grads, intercept_grads = est._backprop(
        X=X,
        y=Y,
        sample_weight=sample_weight,
        activations=activations,
        deltas=deltas,
        coef_grads=coef_grads,
        intercept_grads=intercept_grads,
    )
    est._optimizer.update_params(est.coefs_ + est.intercepts_, coef_grads + intercept_grads)
