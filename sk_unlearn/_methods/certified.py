"""Certified removal: one Newton step per batch of requests, within an (epsilon, delta) budget."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._adapter import EstimatorAdapter
from ._base import CERTIFIED, NO_RELABELING, BatchUnlearningMethod


class CertifiedRemoval(BatchUnlearningMethod):
    """Serve requests with a certified Newton step (Guo et al.; see ``sk_unlearn._certified``).

    The requests of one ``forget`` call are served together, by one Newton
    step for the batch, as the paper allows. When that step would take the
    model's gradient-residual bound over its budget, nothing is applied and
    the call asks for a retraining from scratch instead, which serves every
    request exactly (and is recorded as such).
    """

    name = "certified"
    guarantee = CERTIFIED

    @classmethod
    def supports(cls, adapter: EstimatorAdapter) -> bool:
        return bool(adapter.removes_rows_certified)

    def check(self, adapter: EstimatorAdapter, classes: np.ndarray) -> None:
        if not self.supports(adapter):
            raise ValueError(
                "method='certified' needs a CertifiedLogisticRegression; "
                f"{type(adapter.estimator).__name__} is not one."
            )

    def serve_batch(
        self, adapter: EstimatorAdapter, X: np.ndarray, y: np.ndarray
    ) -> list[dict[str, Any]]:
        """One Newton step for all rows; each record says whether a retraining must serve it."""
        served = adapter.certified_removal(X, y)  # type: ignore[attr-defined]
        return [{**NO_RELABELING, "retrain": not served} for _ in range(len(y))]
