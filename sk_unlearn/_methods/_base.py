"""The interface every unlearning method implements.

A method says how one deletion request is served, once the transaction has
located the row, written phase one of the ledger and saved what may change.
It never touches the ledger, the store or the estimator's bookkeeping: it
gets an adapter and the row, changes the model through the adapter, and
returns what the ledger should record about how the request was served.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._adapter import STEP, EstimatorAdapter
from .._store import ReplaySampler

#: The three tiers of forgetting, as a record or certificate names them.
EXACT = "exact"
CERTIFIED = "certified"
APPROXIMATE = "approximate"

#: The record fields of a request served without relabeling steps.
NO_RELABELING: dict[str, Any] = {
    "n_relabels": None,
    "n_replay": None,
    "unlearning_rate": None,
    "relabel": None,
    "n_steps": None,
}


def non_finite_model(what: str, broken: str) -> FloatingPointError:
    """The error for a model that serving ``what`` left with non-finite ``broken``
    (``"weights"`` or ``"predictions"``); the transaction rolls the call back on it."""
    return FloatingPointError(
        f"Serving {what} left the model with non-finite {broken} (NaN or infinity), as a "
        "step at too large an unlearning_rate does; the call was rolled back and nothing "
        "changed. Use a smaller unlearning_rate."
    )


@dataclass(frozen=True)
class Stop:
    """Where calibrated stopping ends one request's steps (raw confidence of its label).

    Attributes
    ----------
    target : float
        Steps stop once the row's confidence is at most this: the level of
        models that never saw the row.
    floor : float
        A step that takes the confidence below this overshoots: it is undone
        and retried at half the rate (or the request stops).
    """

    target: float
    floor: float


@dataclass(frozen=True)
class Call:
    """What a method may use while it serves the requests of one ``forget`` call.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
        The estimator's ``classes_``.
    sampler : ReplaySampler
        Draws retained rows per class, never a row of this call.
    rng : numpy.random.Generator
        The estimator's generator (saved by the transaction).
    dtype : numpy dtype
        The dtype the model was trained on; rows are cast to it.
    """

    classes: np.ndarray
    sampler: ReplaySampler
    rng: np.random.Generator
    dtype: Any


class UnlearningMethod(ABC):
    """How a deletion request is served: one object per method.

    Subclasses set :attr:`name` (what ``UnlearnableClassifier(method=...)``
    and the ledger call it) and :attr:`guarantee` (``"exact"``,
    ``"certified"`` or ``"approximate"``), and implement :meth:`supports`
    and :meth:`serve`.
    """

    name: ClassVar[str]
    guarantee: ClassVar[str]

    #: Whether :meth:`serve_batch` serves a whole call at once (then the
    #: estimator hands it every request of a call together).
    serves_batches: ClassVar[bool] = False

    #: Whether serving takes optimizer steps at ``unlearning_rate`` (which an
    #: absurd rate can make overflow): the estimator then also checks the
    #: model's probabilities on the row after each request, not only its weights.
    takes_steps: ClassVar[bool] = False

    #: Whether the method stops a request's steps early at a calibrated level
    #: (``forget(reference=...)``); ``forget`` refuses a reference for others.
    stops_early: ClassVar[bool] = False

    #: What the transaction saves before the method serves a call
    #: (:meth:`EstimatorAdapter.snapshot`'s scope): ``"step"`` where the method
    #: changes only what a step does, ``"training"`` where it calls ``partial_fit``.
    snapshot_scope: ClassVar[str] = STEP

    @classmethod
    @abstractmethod
    def supports(cls, adapter: EstimatorAdapter) -> bool:
        """Whether this method can serve requests on the adapter's estimator."""

    @classmethod
    def configure(cls, params: Mapping[str, Any]) -> UnlearningMethod:
        """The method, set up from the estimator's parameters (``get_params``)."""
        return cls()

    def check(self, adapter: EstimatorAdapter, classes: np.ndarray) -> None:
        """Raise ``ValueError`` if this method cannot serve this model (``fit``, ``forget``)."""
        if not self.supports(adapter):
            raise ValueError(
                f"method={self.name!r} cannot serve requests on {type(adapter.estimator).__name__}."
            )

    def weights_refused(self, adapter: EstimatorAdapter) -> str | None:
        """Why this method cannot serve rows learned with sample weights; None if it can."""
        return f"method={self.name!r} takes no sample weights"

    def check_weights(self, adapter: EstimatorAdapter, training: str) -> None:
        """Raise ``TypeError`` unless rows weighted through ``training`` can be learned and
        served (``training``: ``"fit"`` or ``"partial_fit"``, the estimator method used)."""
        reason = adapter.weights_refused(training) or self.weights_refused(adapter)
        if reason is not None:
            raise TypeError(f"sample_weight cannot be used here: {reason}. Nothing was changed.")

    def start(self, adapter: EstimatorAdapter, call: Call) -> None:
        """Resolve what stays fixed for the whole call (rates, counts); keep the call."""
        self.call = call

    @abstractmethod
    def serve(
        self,
        adapter: EstimatorAdapter,
        x: np.ndarray,
        label: Any,
        stop: Stop | None = None,
        weight: float = 1.0,
    ) -> dict[str, Any]:
        """Serve the request ``(x, label)``; return the ledger record's method fields.

        ``stop`` (calibrated stopping) bounds the steps of methods that take
        steps; exact methods ignore it. ``weight`` is the sample weight the
        row was learned with (1 unless the model was fitted with weights,
        which only methods whose :meth:`weights_refused` is None accept). A
        ``"retrain": True`` entry asks the estimator to serve the request by
        retraining from scratch instead (the method applied nothing).

        The fields are those of :class:`~sk_unlearn.DeletionRecord` that
        describe how the request was served (``n_relabels``, ``n_replay``,
        ``unlearning_rate``, ``relabel``, ``n_steps``); ``method`` and
        ``guarantee`` are added from the class.
        """

    def serve_batch(
        self, adapter: EstimatorAdapter, X: np.ndarray, y: np.ndarray
    ) -> list[dict[str, Any]]:
        """Serve every request of a call at once (where :attr:`serves_batches`)."""
        raise NotImplementedError


class BatchUnlearningMethod(UnlearningMethod):
    """A method that serves the requests of a ``forget`` call together.

    Subclasses implement :meth:`serve_batch`; one request alone is served as
    a batch of one.
    """

    serves_batches: ClassVar[bool] = True

    def serve(
        self,
        adapter: EstimatorAdapter,
        x: np.ndarray,
        label: Any,
        stop: Stop | None = None,
        weight: float = 1.0,
    ) -> dict[str, Any]:
        return self.serve_batch(adapter, x[np.newaxis], np.asarray([label]))[0]

    @abstractmethod
    def serve_batch(
        self, adapter: EstimatorAdapter, X: np.ndarray, y: np.ndarray
    ) -> list[dict[str, Any]]:
        """Serve every request of a call at once; one record's fields per request."""
