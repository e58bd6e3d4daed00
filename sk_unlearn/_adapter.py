"""The contract between :class:`~sk_unlearn.UnlearnableClassifier` and one estimator family.

The meta-estimator talks to the estimator it wraps only through an
:class:`EstimatorAdapter`: train from scratch, learn new rows, predict, score
the classes of a row, save and restore what a change may touch, and one or
both of the unlearning primitives the methods use:

* :meth:`EstimatorAdapter.forget_step`: one optimizer step on a mini-batch
  at a given unlearning rate (random relabeling);
* :meth:`EstimatorAdapter.remove_rows`: subtract rows' contribution from the
  model exactly (sufficient statistics), where :attr:`removes_rows_exactly`.

Adding a backend means one subclass, registered with
:func:`~sk_unlearn.register_adapter`; the meta-estimator never asks what kind
of estimator it holds.
"""

from __future__ import annotations

import copy
import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import get_tags

from . import _scores

_MISSING = object()

#: ``snapshot`` scopes: what the coming change may touch.
STEP = "step"  # an unlearning step or an exact removal
TRAINING = "training"  # partial_fit: everything training may change


@contextmanager
def preserved(obj: Any, names: tuple[str, ...]) -> Iterator[None]:
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
def temporarily(obj: Any, **values: Any) -> Iterator[None]:
    """Set attributes on ``obj`` for the duration of a block, then restore them."""
    with preserved(obj, tuple(values)):
        for name, value in values.items():
            setattr(obj, name, value)
        yield


def takes_sample_weight(method: Any) -> bool:
    """Whether ``method`` (e.g. ``estimator.partial_fit``) has a ``sample_weight`` parameter.

    Asked on every request: the answer is cached per underlying function (a
    signature does not change), which saves ``inspect.signature``'s ~50 µs.
    """
    function = getattr(method, "__func__", None)
    if function is None:  # not a bound method: ask each time
        return _has_sample_weight(method)
    return _function_takes_sample_weight(function)


@functools.lru_cache(maxsize=256)
def _function_takes_sample_weight(function: Any) -> bool:
    return _has_sample_weight(function)


def _has_sample_weight(method: Any) -> bool:
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False
    return "sample_weight" in parameters


def weight_kwargs(sample_weight: np.ndarray | None) -> dict[str, np.ndarray]:
    """``{"sample_weight": w}``, or nothing for None: estimators that take no weights still work."""
    return {} if sample_weight is None else {"sample_weight": sample_weight}


def in_order(scores: np.ndarray, own: np.ndarray, wanted: np.ndarray) -> np.ndarray:
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


class EstimatorAdapter(ABC):
    """What the meta-estimator needs from one family of estimators.

    A subclass names itself (:attr:`name`, unique among registered adapters),
    says which estimators it drives (:meth:`supports`) and implements at
    least one unlearning primitive: :meth:`forget_step` for random
    relabeling, or :meth:`remove_rows` (with :attr:`removes_rows_exactly`
    true) for exact removal. Everything else has a default that suits
    scikit-learn estimators:

    ================================  =============================================
    member                            default
    ================================  =============================================
    :meth:`fit`                       ``estimator.fit(X, y)``
    :meth:`partial_fit`               ``estimator.partial_fit(X, y, classes=...)``
    :meth:`train_one_epoch`           :meth:`partial_fit`
    :meth:`predict`                   ``estimator.predict``
    :meth:`predict_proba`             ``estimator.predict_proba``
    :meth:`class_scores`              log ``predict_proba``, else ``decision_function``
    :meth:`snapshot`                  a deep copy of the estimator
    :meth:`restore`                   the copy's state put back into the estimator
    :meth:`serving`                   nothing to set up for a call's requests
    :meth:`check_settings`            nothing to warn about
    :meth:`auto_unlearning_rate`      None (the estimator's own rate)
    ================================  =============================================

    An adapter holds no state of its own beyond its arguments (but what it
    sets up inside :meth:`serving`, for that block only): it is built afresh
    whenever the meta-estimator needs one.

    Parameters
    ----------
    estimator : estimator instance
        The (possibly fitted) estimator to act on.
    classes : ndarray of shape (n_classes,), default=None
        The meta-estimator's ``classes_`` (sorted), for backends that need to
        map labels to indices.
    unlearning_optimizer : None, str or callable, default=None
        The meta-estimator's ``unlearning_optimizer``; only backends with a
        choice of optimizer accept anything but None (see
        :meth:`check_unlearning_optimizer`). ``"auto"`` becomes
        :meth:`auto_unlearning_optimizer`.
    """

    #: Unique name of the adapter in the registry.
    name: ClassVar[str] = ""

    #: Whether :meth:`forget_step` honours ``sample_weight``. False (the
    #: default, also right for adapters written before the argument existed)
    #: makes ``relabel="soft"`` draw its copies' labels instead of weighting them.
    accepts_sample_weight: bool = False

    @property
    def accepts_sparse(self) -> bool:
        """Whether the estimator takes SciPy sparse rows (its ``input_tags.sparse``): then
        the meta-estimator takes, keeps and passes them sparse."""
        return bool(get_tags(self.estimator).input_tags.sparse)

    #: Whether the estimator takes rows of any shape (images as ``(N, C, H,
    #: W)``, say): then the meta-estimator keeps and passes them in that shape
    #: instead of requiring 2-d ``X``.
    accepts_nd_rows: ClassVar[bool] = False

    #: Whether :meth:`remove_rows` makes the model exactly one that never
    #: learned the rows (then ``method="auto"`` serves requests with it).
    removes_rows_exactly: ClassVar[bool] = False

    #: Whether :meth:`remove_rows` also removes rows learned with sample
    #: weights exactly (given their weights).
    removes_weighted_rows_exactly: ClassVar[bool] = False

    #: Whether the adapter has ``certified_removal(X, y) -> bool`` and
    #: ``guarantee() -> dict``: removals with an (epsilon, delta) guarantee.
    removes_rows_certified: ClassVar[bool] = False

    #: Whether the adapter has ``remove_shard_rows(X, y) -> [(shard, slice)]``:
    #: exact removals by retraining the shards that held the rows (SISA), and
    #: :meth:`out_of_shard_probabilities`.
    retrains_shards: ClassVar[bool] = False

    #: Whether the adapter implements :meth:`perturb_weights` (a neural
    #: network's weights): then ``method="noisy_finetune"`` can serve requests.
    perturbs_weights: ClassVar[bool] = False

    def __init__(
        self,
        estimator: Any,
        classes: np.ndarray | None = None,
        unlearning_optimizer: Any = None,
    ) -> None:
        self.estimator = estimator
        self.classes = classes
        if isinstance(unlearning_optimizer, str) and unlearning_optimizer == "auto":
            unlearning_optimizer = self.auto_unlearning_optimizer()
        self.unlearning_optimizer = unlearning_optimizer

    @classmethod
    @abstractmethod
    def supports(cls, estimator: Any) -> bool:
        """Whether this adapter can drive ``estimator``."""

    # ------------------------------------------------------------ settings
    def check_settings(self) -> None:  # noqa: B027 (optional hook, nothing to warn by default)
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

    def auto_unlearning_optimizer(self) -> Any:
        """What ``unlearning_optimizer="auto"`` stands for: None, the estimator's own."""
        return None

    def auto_n_relabels(self) -> int | None:
        """The copies per request ``n_relabels="auto"`` stands for (None: ``n_classes - 1``)."""
        return None

    # ------------------------------------------------------------ learning
    def weights_refused(self, training: str) -> str | None:
        """Why the estimator cannot learn weighted rows through ``training``; None if it can.

        ``training`` is ``"fit"`` or ``"partial_fit"``. The default: it can
        where that method of the estimator has a ``sample_weight`` argument.
        """
        if takes_sample_weight(getattr(self.estimator, training)):
            return None
        return f"{type(self.estimator).__name__}.{training} takes no sample_weight"

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        """Train the estimator from scratch on ``(X, y)``, weighted by ``sample_weight``."""
        self.estimator.fit(X, y, **weight_kwargs(sample_weight))

    def partial_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        """Learn the rows ``(X, y)`` incrementally, weighted by ``sample_weight``."""
        self.estimator.partial_fit(X, y, classes=classes, **weight_kwargs(sample_weight))

    def train_one_epoch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        """One pass over the rows ``(X, y)`` with the estimator's own optimizer and settings.

        The default is :meth:`partial_fit`, which is one epoch for scikit-learn's
        incremental estimators.
        """
        self.partial_fit(X, y, classes, sample_weight)

    # ---------------------------------------------------------- predicting
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels (in the meta-estimator's label space)."""
        return self.estimator.predict(X)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes``."""
        return self.estimator.predict_proba(X)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """The estimator's ``decision_function`` (its classes' order), for
        :meth:`class_scores` where it has no ``predict_proba``."""
        return np.asarray(self.estimator.decision_function(X))

    def has_class_scores(self) -> bool:
        """Whether :meth:`class_scores` can answer (the estimator can score rows)."""
        return _scores.has_scores(self.estimator)

    def class_scores(self, X: np.ndarray) -> np.ndarray:
        """The model's score for every row of ``X`` and every class.

        Scores are such that a softmax over any subset of classes gives the
        model's probabilities renormalised over that subset (see
        :func:`sk_unlearn._scores.log_scores`): the log of :meth:`predict_proba`
        where the estimator has ``predict_proba``, else its
        ``decision_function``. Used by ``relabel="boundary"`` and
        ``relabel="soft"``; called on one row per step.

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
        if _scores.scoring_method(est) == "predict_proba":
            return _scores.log_scores(self, X)  # through predict_proba above
        scores = _scores.decision_columns(self.decision_function(X))
        own = getattr(est, "classes_", None)
        if self.classes is None or own is None:
            return scores
        return in_order(scores, np.asarray(own), np.asarray(self.classes))

    def class_probabilities(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities in the order of ``classes``: :meth:`predict_proba`, else
        the softmax of the decision scores (see :mod:`sk_unlearn._scores`)."""
        if _scores.scoring_method(self.estimator) == "predict_proba":
            return np.asarray(self.predict_proba(X), dtype=np.float64)
        return _scores.softmax(self.class_scores(X))

    # --------------------------------------------------------- unlearning
    @contextmanager
    def serving(self) -> Iterator[None]:
        """The block in which the meta-estimator serves one ``forget`` call's requests.

        Every step, prediction and check of the call runs inside it (on this
        adapter; a retraining mid-call makes a new one). A backend may set up
        there, once per call, what each step and prediction would otherwise
        set up and undo (the skorch adapter: eval mode, its list of weights);
        the adapter holds that state only inside the block. The default does
        nothing.
        """
        yield

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
        raise NotImplementedError(
            f"{type(self).__name__} takes no relabeling steps for {type(self.estimator).__name__}."
        )

    def remove_rows(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> None:
        """Remove the rows' contribution, leaving the model one that never learned them.

        ``sample_weight``: the weights the rows were learned with (None: 1),
        only passed where :attr:`removes_weighted_rows_exactly` is true.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot remove rows exactly from "
            f"{type(self.estimator).__name__}."
        )

    def perturb_weights(self, rng: np.random.Generator, scale: float) -> None:
        """Add Gaussian noise to every learnable weight array, in place.

        Each array (a layer's weights, its biases) gets independent noise of
        standard deviation ``scale`` times that array's own standard deviation,
        drawn from ``rng``, so that the perturbation is the same relative size
        in every layer whatever its initialisation. Only where
        :attr:`perturbs_weights` is true.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot perturb the weights of {type(self.estimator).__name__}."
        )

    def out_of_shard_probabilities(self, X: np.ndarray) -> np.ndarray:
        """Per row, the probabilities of models that never trained on it (sharded models only)."""
        raise ValueError(
            "reference='out-of-shard' needs a ShardedClassifier, whose shards that never saw a "
            f"row give its reference; {type(self.estimator).__name__} is not one."
        )

    def _no_weights(self, sample_weight: np.ndarray | None) -> None:
        if sample_weight is not None:
            raise TypeError(
                f"{type(self).__name__} cannot take sample_weight for "
                f"{type(self.estimator).__name__}."
            )

    # ------------------------------------------------------------ persistence
    def persisted(self, remaining: Callable[[], tuple[np.ndarray, np.ndarray]]) -> Any:
        """The estimator to write when the meta-estimator is pickled.

        ``remaining()`` gives the retained training rows, for a backend whose
        fitted state must be recomputed from them so that nothing of a removed
        row is written (the certified adapter). The default is the estimator
        itself.
        """
        return self.estimator

    def finite(self) -> bool:
        """Whether every fitted floating-point array of the estimator is finite.

        Fitted arrays are the attributes ending in ``_`` (``coef_``,
        ``coefs_``, ...), arrays or lists of arrays. A step at an absurd rate
        can leave NaN or infinite weights that every later call trips over;
        the meta-estimator checks this after every step and rolls back.
        """
        for name, value in vars(self.estimator).items():
            if not name.endswith("_") or name.startswith("_"):
                continue
            for array in value if isinstance(value, (list, tuple)) else (value,):
                if (
                    isinstance(array, np.ndarray)
                    and array.dtype.kind in "fc"
                    and not np.isfinite(array).all()
                ):
                    return False
        return True

    # ------------------------------------------------------------ rollback
    def snapshot(self, scope: str = TRAINING) -> Any:
        """Everything a change of ``scope`` may alter, for :meth:`restore`.

        ``scope`` is ``"step"`` (a forget step or an exact removal) or
        ``"training"`` (``partial_fit``). The default is a deep copy of the
        estimator for both; backends with large models save only what a step
        touches.
        """
        return copy.deepcopy(self.estimator)

    def restore(self, snapshot: Any) -> None:
        """Put the estimator back, in place, as it was when ``snapshot`` was taken."""
        state = snapshot.__dict__
        self.estimator.__dict__.clear()
        self.estimator.__dict__.update(state)
