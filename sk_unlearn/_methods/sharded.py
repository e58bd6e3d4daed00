"""Exact removal by retraining the shards that held the rows (SISA)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._adapter import EstimatorAdapter
from ._base import EXACT, NO_RELABELING, BatchUnlearningMethod


class ShardedRetraining(BatchUnlearningMethod):
    """Serve requests by retraining, once per call, each shard that held a requested row.

    Only a :class:`~sk_unlearn.ShardedClassifier` can be served so (see
    ``sk_unlearn._sharded``); each shard is retrained from the checkpoint
    before the earliest slice the call touches, so the model is exactly the
    one its training gives without the rows. Each record names the row's
    shard and the slice its retraining started from.
    """

    name = "sharded"
    guarantee = EXACT

    @classmethod
    def supports(cls, adapter: EstimatorAdapter) -> bool:
        return bool(adapter.retrains_shards)

    def check(self, adapter: EstimatorAdapter, classes: np.ndarray) -> None:
        if not self.supports(adapter):
            name = type(adapter.estimator).__name__
            raise ValueError(
                f"method='sharded' needs a ShardedClassifier; {name} is not one. Wrap it: "
                f"UnlearnableClassifier(ShardedClassifier({name}(...)))."
            )

    def serve_batch(
        self, adapter: EstimatorAdapter, X: np.ndarray, y: np.ndarray
    ) -> list[dict[str, Any]]:
        places = adapter.remove_shard_rows(X, y)  # type: ignore[attr-defined]
        return [{**NO_RELABELING, "shard": shard, "slice": first} for shard, first in places]
