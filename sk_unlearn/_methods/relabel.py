"""Random relabeling (Li & Ghosh): the approximate method.

A request ``(x, y)`` is served by ``n_steps`` optimizer steps, each on one
mini-batch built in named, overridable steps, in the spirit of skorch's
``train_step``/``get_loss``::

    copy_labels -> replay_rows -> build_batch -> take_step

With calibrated stopping (a :class:`~sk_unlearn._methods.Stop` per request,
from an :class:`~sk_unlearn.OutOfFoldReference`), ``n_steps`` becomes a cap:
steps stop as soon as the row's confidence in its label is down to the level
of models that never saw it, a row already there takes no step, and a step
that overshoots far below that level is undone and retried at half the rate
(at most ``MAX_HALVINGS`` times, then the request stops where it is). The
cost per request stays bounded by the cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import _validation
from .._adapter import STEP, EstimatorAdapter
from .._forgetting_quality import logit_scaled_confidence
from .._relabel import STRATEGIES, relabel_batch
from ._base import APPROXIMATE, Call, Stop, UnlearningMethod, non_finite_model

#: How often an overshooting step is retried at half the rate before the request stops.
MAX_HALVINGS = 3


class RandomRelabeling(UnlearningMethod):
    """Serve a request with optimizer steps on relabeled copies of the row.

    Parameters
    ----------
    relabel : {"uniform", "boundary", "soft"}, default="soft"
        The relabeling strategy (see ``sk_unlearn._relabel``).
    n_relabels : int, "auto" or None, default="auto"
        Copies per batch; None is ``n_classes - 1``, "auto" asks the adapter.
    n_steps : int, default=1
        Steps per request, each on a freshly built batch.
    unlearning_rate : float, "auto" or None, default="auto"
        The step size; "auto" asks the adapter, None is the estimator's own.
    n_replay : int, default=32
        Retained rows of the row's class replayed in each batch.
    """

    name = "relabel"
    guarantee = APPROXIMATE
    takes_steps = True
    stops_early = True

    def __init__(
        self,
        *,
        relabel: str = "soft",
        n_relabels: int | str | None = "auto",
        n_steps: int = 1,
        unlearning_rate: float | str | None = "auto",
        n_replay: int = 32,
    ) -> None:
        self.strategy = STRATEGIES[relabel]
        self.n_relabels = n_relabels
        self.n_steps = n_steps
        self.unlearning_rate = unlearning_rate
        self.n_replay = n_replay

    @classmethod
    def configure(cls, params: Mapping[str, Any]) -> RandomRelabeling:
        return cls(
            relabel=params["relabel"],
            n_relabels=params["n_relabels"],
            n_steps=params["n_steps"],
            unlearning_rate=params["unlearning_rate"],
            n_replay=params["n_replay"],
        )

    @classmethod
    def supports(cls, adapter: EstimatorAdapter) -> bool:
        """Any adapter that implements ``forget_step``."""
        return type(adapter).forget_step is not EstimatorAdapter.forget_step

    def check(self, adapter: EstimatorAdapter, classes: np.ndarray) -> None:
        super().check(adapter, classes)
        _validation.n_relabels_for(self.n_relabels, classes, adapter.auto_n_relabels())
        adapter.check_unlearning_optimizer()
        if self.strategy.needs_scores and not adapter.has_class_scores():
            raise ValueError(
                f"relabel={self.strategy.name!r} needs the model's class scores, but "
                f"{type(adapter.estimator).__name__} has neither predict_proba nor "
                "decision_function; use relabel='uniform'."
            )

    def start(self, adapter: EstimatorAdapter, call: Call) -> None:
        super().start(adapter, call)
        self.rate = (
            adapter.auto_unlearning_rate()
            if isinstance(self.unlearning_rate, str)
            else self.unlearning_rate
        )
        self.copies = _validation.n_relabels_for(
            self.n_relabels, call.classes, adapter.auto_n_relabels()
        )
        self.weighted = adapter.accepts_sample_weight

    # ------------------------------------------------------ the named steps
    def copy_labels(
        self, adapter: EstimatorAdapter, x: np.ndarray, label: Any
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The copies' labels and weights (None: all 1), as the strategy says.

        Raises ``FloatingPointError`` if the row's scores are NaN or +inf: an
        earlier request of the call broke the model (the wrapper checks the
        predictions once per call, at its end).
        """
        scores = None
        if self.strategy.needs_scores:
            scores = adapter.class_scores(x[np.newaxis, :])[0]
            if np.isnan(scores).any() or np.isposinf(scores).any():
                raise non_finite_model("an earlier request of the call", "predictions")
        return self.strategy.choose(
            label, self.call.classes, self.copies, scores, self.call.rng, self.weighted
        )

    def replay_rows(self, label: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``n_replay`` retained rows of class ``label``, none of them forgotten in this call,
        with their sample weights (None: the model was fitted without)."""
        return self.call.sampler.draw(label, self.n_replay, self.call.rng)

    def build_batch(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        weights: np.ndarray | None,
        replay: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The mini-batch: the relabeled copies, then the replayed rows."""
        return relabel_batch(x, labels, replay[0], replay[1], weights, replay[2])

    def weights_refused(self, adapter: EstimatorAdapter) -> str | None:
        if adapter.accepts_sample_weight:
            return None
        return (
            f"a relabeling step on {type(adapter.estimator).__name__} takes no sample_weight, "
            "so replayed rows could not carry theirs"
        )

    def take_step(
        self,
        adapter: EstimatorAdapter,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None,
        rate: float | None = None,
    ) -> None:
        """One optimizer step on the batch at the unlearning rate (or ``rate``)."""
        rate = self.rate if rate is None else rate
        if sample_weight is None:  # adapters written before sample_weight existed
            adapter.forget_step(X, y, rate)
        else:
            adapter.forget_step(X, y, rate, sample_weight=sample_weight)

    def confidence(self, adapter: EstimatorAdapter, x: np.ndarray, label: Any) -> float:
        """The model's logit-scaled confidence in the row's label (one prediction)."""
        column = np.searchsorted(self.call.classes, [label])
        proba = adapter.class_probabilities(x[np.newaxis, :])
        return float(logit_scaled_confidence(proba, column)[0])

    def serve(
        self,
        adapter: EstimatorAdapter,
        x: np.ndarray,
        label: Any,
        stop: Stop | None = None,
        weight: float = 1.0,
    ) -> dict[str, Any]:
        x = x.astype(self.call.dtype, copy=False)
        n_replayed, n_taken = 0, 0
        for _ in range(self.n_steps):
            if stop is not None and self.confidence(adapter, x, label) <= stop.target:
                break  # already at the level of models that never saw the row
            labels, weights = self.copy_labels(adapter, x, label)
            if weight != 1.0:  # a row learned with weight w is unlearned with w
                weights = weight * (np.ones(len(labels)) if weights is None else weights)
            replay = self.replay_rows(label)
            n_replayed = len(replay[1])
            batch = self.build_batch(x, labels, weights, replay)
            if stop is None:
                self.take_step(adapter, *batch)
            elif not self._step_without_overshoot(adapter, batch, x, label, stop):
                break
            n_taken += 1
        return {
            "n_relabels": self.copies,
            "n_replay": n_replayed,
            "unlearning_rate": self.rate,
            "relabel": self.strategy.name,
            "n_steps": n_taken,
        }

    def _step_without_overshoot(
        self,
        adapter: EstimatorAdapter,
        batch: tuple[np.ndarray, np.ndarray, np.ndarray | None],
        x: np.ndarray,
        label: Any,
        stop: Stop,
    ) -> bool:
        """Take the step, halving the rate while it overshoots ``stop.floor``; False: none fit."""
        rate = self.rate
        for _ in range(MAX_HALVINGS + 1):
            saved = adapter.snapshot(STEP)
            self.take_step(adapter, *batch, rate=rate)
            if self.confidence(adapter, x, label) >= stop.floor:
                return True
            adapter.restore(saved)
            if rate is None:  # the estimator's own rate cannot be halved
                return False
            rate = rate / 2
        return False
