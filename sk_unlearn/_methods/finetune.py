"""Noisy fine-tuning: the approximate method for a batch of requests on a neural network.

The requests of one ``forget`` call are served together: Gaussian noise is
added to every weight array of the network (``noise_scale`` times that
array's standard deviation), then the network is fine-tuned for
``finetune_epochs`` passes over the retained rows (the call's rows left out),
each with the estimator's own optimizer and settings (``partial_fit``).

Why: models that unlearned a row can only be told apart from models retrained
without it by an attacker if the two groups differ as distributions over
seeds (the NeurIPS 2023 challenge's forgetting quality, U-LiRA). Relabeling
moves one model deterministically, so the group of unlearned models is
nearly a point next to the spread of the retrained ones, and the attacker
wins on every row. The noise gives the unlearned models a spread of their
own and loosens what the weights memorized; fine-tuning on the retained
rows brings the accuracy back without the forgotten rows. It does not take
away what the model memorized of an atypical row (a mislabeled one): nothing
in it targets the row. The settings are those measured in
``benchmarks/results/forget_quality.md``.

The cost is ``finetune_epochs`` epochs over the retained rows per call, not
per request: a share of a retraining from scratch equal to
``finetune_epochs`` over the epochs a fit takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._adapter import TRAINING, EstimatorAdapter, weight_kwargs
from ._base import APPROXIMATE, NO_RELABELING, BatchUnlearningMethod


class NoisyFinetuning(BatchUnlearningMethod):
    """Serve the requests of a call with noise on the weights, then fine-tuning.

    Parameters
    ----------
    noise_scale : float, default=0.35
        Standard deviation of the noise added to each weight array, relative
        to that array's own standard deviation.
    finetune_epochs : int, default=2
        Passes of ``partial_fit`` over the retained rows after the noise.
    """

    name = "noisy_finetune"
    guarantee = APPROXIMATE
    takes_steps = True
    # partial_fit changes more than the weights (counters, loss curve, history).
    snapshot_scope = TRAINING

    def __init__(self, *, noise_scale: float = 0.35, finetune_epochs: int = 2) -> None:
        self.noise_scale = noise_scale
        self.finetune_epochs = finetune_epochs

    @classmethod
    def configure(cls, params: Mapping[str, Any]) -> NoisyFinetuning:
        return cls(noise_scale=params["noise_scale"], finetune_epochs=params["finetune_epochs"])

    @classmethod
    def supports(cls, adapter: EstimatorAdapter) -> bool:
        return bool(adapter.perturbs_weights)

    def check(self, adapter: EstimatorAdapter, classes: np.ndarray) -> None:
        if not self.supports(adapter):
            raise ValueError(
                "method='noisy_finetune' needs a neural network whose weights it can perturb "
                f"(MLPClassifier, a skorch net); {type(adapter.estimator).__name__} is not one."
            )

    def weights_refused(self, adapter: EstimatorAdapter) -> str | None:
        return adapter.weights_refused("partial_fit")

    def serve_batch(
        self, adapter: EstimatorAdapter, X: np.ndarray, y: np.ndarray
    ) -> list[dict[str, Any]]:
        """Noise on the weights, then ``finetune_epochs`` epochs on the retained rows."""
        call = self.call
        if len(call.sampler) == 0:
            raise ValueError(
                "method='noisy_finetune' fine-tunes on the retained rows, and this call would "
                "leave none; nothing was changed. A model of no rows is no model: fit anew."
            )
        adapter.perturb_weights(call.rng, self.noise_scale)
        for _ in range(self.finetune_epochs):
            for X_block, y_block, w_block in call.sampler.epoch(call.rng):
                adapter.train_one_epoch(
                    X_block.astype(call.dtype, copy=False),
                    y_block,
                    call.classes,
                    **weight_kwargs(w_block),
                )
        fields = {
            **NO_RELABELING,
            "noise_scale": self.noise_scale,
            "finetune_epochs": self.finetune_epochs,
        }
        return [dict(fields) for _ in range(len(y))]
