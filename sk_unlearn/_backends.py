"""The adapter registry: which :class:`~sk_unlearn.EstimatorAdapter` drives an estimator.

Adapters registered with :func:`register_adapter` are tried first (newest
first), then the built-in ones, most specific first; the first whose
``supports`` is true wins. The skorch adapter is one of the built-ins: its
module imports neither torch nor skorch, and its ``supports`` is false for
anything that is not a skorch net.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._adapter import EstimatorAdapter
from ._certified import CertifiedAdapter
from ._naive_bayes import CategoricalNBAdapter, CountingNBAdapter, GaussianNBAdapter
from ._sharded import ShardedAdapter
from ._sklearn_adapters import MLPAdapter, PartialFitAdapter, SGDAdapter
from ._skorch import SkorchAdapter

#: The built-in adapters, in the order they are tried (the generic one last).
BUILTIN_ADAPTERS: tuple[type[EstimatorAdapter], ...] = (
    MLPAdapter,
    SGDAdapter,
    CountingNBAdapter,
    CategoricalNBAdapter,
    GaussianNBAdapter,
    CertifiedAdapter,
    ShardedAdapter,
    SkorchAdapter,
    PartialFitAdapter,
)

_registered: list[type[EstimatorAdapter]] = []


class UnsupportedEstimatorError(ValueError, TypeError):
    """No registered adapter drives the estimator (an invalid ``estimator`` parameter)."""


UnsupportedEstimatorError.__module__ = "sk_unlearn"  # its public home


def adapters() -> tuple[type[EstimatorAdapter], ...]:
    """Every adapter, in the order they are tried."""
    return (*reversed(_registered), *BUILTIN_ADAPTERS)


def register_adapter(adapter: type[EstimatorAdapter]) -> type[EstimatorAdapter]:
    """Add ``adapter`` ahead of the built-in ones (usable as a decorator).

    Parameters
    ----------
    adapter : subclass of EstimatorAdapter
        With a :attr:`~EstimatorAdapter.name` no other adapter has.

    Returns
    -------
    adapter : subclass of EstimatorAdapter
        The same class.

    Raises
    ------
    TypeError
        If ``adapter`` is not an ``EstimatorAdapter`` subclass.
    ValueError
        If it, or another adapter of the same name, is registered already.
    """
    if not (isinstance(adapter, type) and issubclass(adapter, EstimatorAdapter)):
        raise TypeError(f"register_adapter needs an EstimatorAdapter subclass, got {adapter!r}.")
    name = adapter.name or adapter.__name__
    for known in adapters():
        if known is adapter or (known.name or known.__name__) == name:
            raise ValueError(
                f"An adapter named {name!r} ({known.__module__}.{known.__qualname__}) is "
                "registered already; give the new one another name."
            )
    _registered.append(adapter)
    return adapter


def unregister_adapter(adapter: type[EstimatorAdapter]) -> None:
    """Remove an adapter added by :func:`register_adapter` (built-ins stay)."""
    _registered.remove(adapter)


def adapter_for(
    estimator: Any, classes: np.ndarray | None = None, unlearning_optimizer: Any = None
) -> EstimatorAdapter:
    """The adapter that drives ``estimator`` (arguments as for :class:`EstimatorAdapter`).

    Raises
    ------
    UnsupportedEstimatorError
        If no adapter supports it (it has no ``partial_fit``, say).
    """
    for adapter in adapters():
        if adapter.supports(estimator):
            return adapter(estimator, classes, unlearning_optimizer)
    raise UnsupportedEstimatorError(
        f"No adapter drives {type(estimator).__name__}: UnlearnableClassifier needs a "
        "classifier with partial_fit (e.g. SGDClassifier, Perceptron, MLPClassifier with "
        "solver='sgd' or 'adam', a naive Bayes classifier, a skorch NeuralNetClassifier), or an "
        "adapter registered with sk_unlearn.register_adapter."
    )
