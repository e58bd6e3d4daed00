"""One small adapter per estimator family.

:class:`~sk_unlearn.UnlearnableClassifier` talks to the estimator it wraps only
through an :class:`EstimatorAdapter`: train from scratch, learn new rows, and
take one unlearning step on a mini-batch at a given unlearning rate while
leaving the estimator's own training settings as they were. Adding a backend
means writing one subclass and registering it; the meta-estimator never asks
what kind of estimator it holds.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn import linear_model
from sklearn.neural_network import MLPClassifier

_MISSING = object()


@contextmanager
def _preserved(obj: Any, names: tuple[str, ...]) -> Iterator[None]:
    """Undo any change a block makes to the named attributes of ``obj``.

    Used for training bookkeeping (iteration counters, loss curves) that an
    unlearning step must not advance. Attributes that did not exist before
    are deleted again afterwards.
    """
    saved = {name: copy.copy(getattr(obj, name, _MISSING)) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                if hasattr(obj, name):
                    delattr(obj, name)
            else:
                setattr(obj, name, value)


@contextmanager
def _temporarily(obj: Any, **values: Any) -> Iterator[None]:
    """Set attributes on ``obj`` for the duration of a block, then restore them."""
    with _preserved(obj, tuple(values)):
        for name, value in values.items():
            setattr(obj, name, value)
        yield


class EstimatorAdapter:
    """What the meta-estimator needs from one family of estimators.

    Subclasses implement :meth:`supports` and :meth:`forget_step`, and say in
    their docstring which of the estimator's settings the unlearning rate
    stands for; :meth:`auto_unlearning_rate` gives the rate ``"auto"`` means.
    The ``"boundary"`` and ``"soft"`` relabeling strategies also need
    :meth:`class_scores` (the default reads ``predict_proba`` or
    ``decision_function``), and ``"soft"`` passes ``sample_weight`` to
    :meth:`forget_step` only where :attr:`accepts_sample_weight` is true.

    Predictions go through the adapter too (:meth:`predict`,
    :meth:`predict_proba`), so a backend whose estimator speaks in class
    indices rather than labels (skorch) can translate.

    Parameters
    ----------
    estimator : estimator instance
        The (possibly fitted) estimator to act on; the adapter holds no other
        state.
    classes : ndarray of shape (n_classes,), default=None
        The meta-estimator's ``classes_`` (sorted), for backends that need to
        map labels to indices.
    unlearning_optimizer : None, str or callable, default=None
        The meta-estimator's ``unlearning_optimizer``; only backends with a
        choice of optimizer accept anything but None (see
        :meth:`check_unlearning_optimizer`).
    """

    #: Whether :meth:`forget_step` honours ``sample_weight``. False (the
    #: default, also right for adapters written before the argument existed)
    #: makes ``relabel="soft"`` draw its copies' labels instead of weighting them.
    accepts_sample_weight: bool = False

    def __init__(
        self,
        estimator: Any,
        classes: np.ndarray | None = None,
        unlearning_optimizer: Any = None,
    ) -> None:
        self.estimator = estimator
        self.classes = classes
        self.unlearning_optimizer = unlearning_optimizer

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        """Whether this adapter can drive ``estimator``."""
        raise NotImplementedError

    def check_settings(self) -> None:
        """Warn about estimator settings that weaken unlearning (called by fit)."""

    def check_unlearning_optimizer(self) -> None:
        """Reject an ``unlearning_optimizer`` this backend cannot use.

        The scikit-learn estimators have their optimizer built in, so only
        ``None`` (the estimator's own) is accepted here.
        """
        if self.unlearning_optimizer is not None:
            raise ValueError(
                f"unlearning_optimizer={self.unlearning_optimizer!r} needs a backend with a "
                f"choice of optimizer (skorch); {type(self.estimator).__name__} steps with its "
                "own. Use unlearning_optimizer=None."
            )

    def auto_unlearning_rate(self) -> float | None:
        """The rate ``unlearning_rate="auto"`` stands for (None: the estimator's own)."""
        return None

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train the estimator from scratch on ``(X, y)``."""
        self.estimator.fit(X, y)

    def partial_fit(self, X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> None:
        """Learn the rows ``(X, y)`` incrementally."""
        self.estimator.partial_fit(X, y, classes=classes)

    def has_class_scores(self) -> bool:
        """Whether :meth:`class_scores` can answer (the estimator can score rows)."""
        return hasattr(self.estimator, "predict_proba") or hasattr(
            self.estimator, "decision_function"
        )

    def class_scores(self, X: np.ndarray) -> np.ndarray:
        """The model's score for every row of ``X`` and every class.

        Scores are such that a softmax over any subset of classes gives the
        model's probabilities renormalised over that subset: the log of
        :meth:`predict_proba` (probabilities clipped at the smallest positive
        float) when the estimator has ``predict_proba``, else its
        ``decision_function``, whose binary form ``d`` of shape (n_rows,)
        becomes the columns ``(-d / 2, d / 2)`` (their softmax is the logistic
        ``sigmoid(d)``). Used by ``relabel="boundary"`` (the highest score
        among the wrong labels) and ``relabel="soft"`` (the softmax over the
        wrong labels); called on one row per step.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
            Rows as the estimator was trained on them.

        Returns
        -------
        scores : ndarray of shape (n_rows, n_classes)
            Columns in the order of ``classes`` (the wrapper's ``classes_``).

        Raises
        ------
        TypeError
            If the estimator has neither ``predict_proba`` nor
            ``decision_function``.
        """
        est = self.estimator
        if hasattr(est, "predict_proba"):
            proba = np.asarray(self.predict_proba(X), dtype=np.float64)
            return np.log(np.clip(proba, np.finfo(np.float64).tiny, None))
        if not hasattr(est, "decision_function"):
            raise TypeError(
                f"{type(est).__name__} has neither predict_proba nor decision_function, "
                "so it cannot score the classes of a row."
            )
        scores = np.asarray(est.decision_function(X), dtype=np.float64)
        if scores.ndim == 1:
            scores = np.column_stack([-scores / 2, scores / 2])
        own = getattr(est, "classes_", None)
        if self.classes is None or own is None:
            return scores
        return _in_order(scores, np.asarray(own), np.asarray(self.classes))

    def forget_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rate: float | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        """One unlearning step on the mini-batch ``(X, y)`` at ``rate``.

        ``rate=None`` means the estimator's own training rate. The estimator's
        training settings are the same afterwards as before.
        ``sample_weight`` (one non-negative weight per row) is only passed
        when :attr:`accepts_sample_weight` is true.
        """
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels (in the meta-estimator's label space)."""
        return self.estimator.predict(X)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes``."""
        return self.estimator.predict_proba(X)

    def snapshot(self) -> Any:
        """Everything a forget step may change, for :meth:`restore`.

        The default is a deep copy of the estimator; backends with large
        models can save only what a step touches.
        """
        return copy.deepcopy(self.estimator)

    def restore(self, snapshot: Any) -> Any:
        """The estimator as it was when ``snapshot`` was taken."""
        return snapshot

    def _no_weights(self, sample_weight: np.ndarray | None) -> None:
        if sample_weight is not None:
            raise TypeError(
                f"{type(self).__name__} cannot take sample_weight for "
                f"{type(self.estimator).__name__}."
            )


def _in_order(scores: np.ndarray, own: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The columns of ``scores`` (in the order ``own``) reordered to ``wanted``."""
    own = np.asarray(own)
    if own.shape == wanted.shape and np.array_equal(own, wanted):
        return scores
    position = {label: i for i, label in enumerate(own.tolist())}
    missing = [label for label in wanted.tolist() if label not in position]
    if missing or scores.shape[1] != own.size:
        raise ValueError(
            f"The estimator's classes {own.tolist()} do not cover the classes {wanted.tolist()}."
        )
    return scores[:, [position[label] for label in wanted.tolist()]]


class SGDAdapter(EstimatorAdapter):
    """``SGDClassifier``, ``Perceptron`` and ``PassiveAggressiveClassifier``.

    The step is one ``partial_fit`` call (one SGD epoch over the mini-batch)
    with ``learning_rate="constant"`` and ``eta0=unlearning_rate``. For
    ``PassiveAggressiveClassifier``, whose step size comes from its
    aggressiveness ``C`` (stored as ``eta0``), the unlearning rate sets ``C``.
    Early stopping is off during the step, and the schedule counter ``t_``
    and ``n_iter_`` are restored afterwards: a forget step neither uses a
    validation split nor slows down the estimator's later learning.
    """

    def auto_unlearning_rate(self) -> float:
        """1e-4 under the ``"optimal"`` schedule, else 1% of ``eta0``.

        Both are about 1% of the step the estimator trains with (the optimal
        schedule's step was ~0.01 after training on MNIST), and both were
        the settings in ``benchmarks/results/tune_defaults.md`` that kept
        test accuracy closest to naive retraining (``SGDClassifier``: 1e-4;
        ``Perceptron``, eta0=1: 1e-2). For the ``"invscaling"`` and
        ``"adaptive"`` schedules and for ``PassiveAggressiveClassifier``
        (``C``), 1% is extrapolated, not measured.
        """
        est = self.estimator
        if getattr(est, "learning_rate", None) == "optimal":
            return 1e-4
        return 0.01 * float(est.eta0)

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        families = tuple(
            family
            for family in (
                linear_model.SGDClassifier,
                linear_model.Perceptron,
                getattr(linear_model, "PassiveAggressiveClassifier", None),
            )
            if family is not None
        )
        return isinstance(estimator, families)

    def check_settings(self) -> None:
        if getattr(self.estimator, "average", False):
            warnings.warn(
                "SGD with average=True predicts with the average of all iterates, so "
                "each forget step moves the model by only ~1/(updates so far) of the "
                "step; use average=False for unlearning.",
                UserWarning,
                stacklevel=4,
            )

    @property
    def accepts_sample_weight(self) -> bool:  # type: ignore[override]
        """True except for ``PassiveAggressiveClassifier`` (no ``sample_weight``)."""
        return _takes_sample_weight(self.estimator)

    def forget_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rate: float | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        est = self.estimator
        settings: dict[str, Any] = {"early_stopping": False}
        if rate is not None:
            settings.update(learning_rate="constant", eta0=float(rate))
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if weights and not self.accepts_sample_weight:
            self._no_weights(sample_weight)
        with _temporarily(est, **settings), _preserved(est, ("t_", "n_iter_")):
            est.partial_fit(X, y, **weights)


class MLPAdapter(EstimatorAdapter):
    """``MLPClassifier`` with the ``"sgd"`` or ``"adam"`` solver.

    The step is one ``partial_fit`` call with ``batch_size`` set to the batch
    length, so it is exactly one optimizer update. The unlearning rate sets
    ``learning_rate_init`` on the estimator *and* on its optimizer (Adam
    recomputes its step size from it on every update), plus the SGD solver's
    current ``learning_rate``. The optimizer's state (momentum, Adam moments)
    carries over, as it would for one more training step; the loss curve,
    iteration counters and early-stopping bookkeeping are restored.
    """

    def auto_unlearning_rate(self) -> float:
        """10% of ``learning_rate_init`` (1e-4 for the default 1e-3).

        With Adam on MNIST (``benchmarks/results/tune_defaults.md``) 1e-4
        with 32 replayed rows was the only setting that brought the forgotten
        rows' accuracy to naive retraining's.
        """
        return 0.1 * float(self.estimator.learning_rate_init)

    _BOOKKEEPING = (
        "t_",
        "n_iter_",
        "loss_",
        "loss_curve_",
        "best_loss_",
        "_no_improvement_count",
        "validation_scores_",
        "best_validation_score_",
    )

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, MLPClassifier)

    #: ``MLPClassifier.partial_fit`` takes ``sample_weight``: the update is the
    #: weighted mean of the rows' gradients (normalised by the weights' sum).
    accepts_sample_weight = True

    def forget_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rate: float | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        est = self.estimator
        optimizer = getattr(est, "_optimizer", None)
        est_settings: dict[str, Any] = {"batch_size": X.shape[0], "early_stopping": False}
        if getattr(est, "best_loss_", 0.0) is None:
            # Trained with early stopping: the loss-based bookkeeping the step
            # runs instead needs a number (and is restored afterwards).
            est_settings["best_loss_"] = np.inf
        opt_settings: dict[str, Any] = {}
        if rate is not None:
            est_settings["learning_rate_init"] = float(rate)
            opt_settings = {"learning_rate_init": float(rate), "learning_rate": float(rate)}
        with (
            _temporarily(est, **est_settings),
            _temporarily(optimizer, **opt_settings),
            # The "adaptive" SGD schedule may divide its current rate inside the step.
            _preserved(optimizer, ("learning_rate",) if optimizer is not None else ()),
            _preserved(est, self._BOOKKEEPING),
        ):
            est.partial_fit(X, y, sample_weight=sample_weight)


class PartialFitAdapter(EstimatorAdapter):
    """Any other classifier with ``partial_fit``.

    The step is one plain ``partial_fit`` call. Such estimators expose no
    known learning-rate setting, so only ``unlearning_rate=None`` (or
    ``"auto"``, which means None here) is accepted.
    """

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return hasattr(estimator, "partial_fit")

    @property
    def accepts_sample_weight(self) -> bool:  # type: ignore[override]
        """Whether the estimator's ``partial_fit`` has a ``sample_weight`` argument."""
        return _takes_sample_weight(self.estimator)

    def forget_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rate: float | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        if rate is not None:
            raise ValueError(
                f"{type(self.estimator).__name__} has no learning rate that "
                "sk_unlearn knows how to set; use unlearning_rate=None or 'auto'."
            )
        if sample_weight is None:
            self.estimator.partial_fit(X, y)
        elif self.accepts_sample_weight:
            self.estimator.partial_fit(X, y, sample_weight=sample_weight)
        else:
            self._no_weights(sample_weight)


def _takes_sample_weight(estimator: Any) -> bool:
    """Whether ``estimator.partial_fit`` has a ``sample_weight`` parameter."""
    try:
        parameters = inspect.signature(estimator.partial_fit).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return "sample_weight" in parameters


#: Adapters in the order they are tried; the first whose ``supports`` is true wins.
ADAPTERS: list[type[EstimatorAdapter]] = [MLPAdapter, SGDAdapter, PartialFitAdapter]


def register_adapter(adapter: type[EstimatorAdapter]) -> type[EstimatorAdapter]:
    """Add ``adapter`` ahead of the built-in ones (usable as a decorator)."""
    ADAPTERS.insert(0, adapter)
    return adapter


def adapter_for(
    estimator: Any, classes: np.ndarray | None = None, unlearning_optimizer: Any = None
) -> EstimatorAdapter:
    """The adapter that drives ``estimator`` (arguments as for :class:`EstimatorAdapter`).

    Raises
    ------
    TypeError
        If no adapter supports it (it has no ``partial_fit``).
    """
    for adapter in ADAPTERS:
        if adapter.supports(estimator):
            return adapter(estimator, classes, unlearning_optimizer)
    raise TypeError(
        "UnlearnableClassifier needs a classifier with partial_fit (e.g. "
        "SGDClassifier, Perceptron, MLPClassifier with solver='sgd' or 'adam'); "
        f"got {type(estimator).__name__}."
    )
