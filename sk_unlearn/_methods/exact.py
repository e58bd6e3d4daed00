"""Exact removal by sufficient statistics (the naive Bayes family)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._adapter import EstimatorAdapter, weight_kwargs
from ._base import EXACT, NO_RELABELING, Stop, UnlearningMethod


class ExactRemoval(UnlearningMethod):
    """Serve a request by subtracting the row from the model's sufficient statistics.

    The model is then the one a fresh fit on the retained rows gives, to
    floating-point rounding, in O(n_features) work per request (see
    ``sk_unlearn._naive_bayes``). Chosen by ``method="auto"`` wherever the
    adapter can do it.
    """

    name = "exact"
    guarantee = EXACT

    @classmethod
    def supports(cls, adapter: EstimatorAdapter) -> bool:
        return bool(adapter.removes_rows_exactly)

    def check(self, adapter: EstimatorAdapter, classes: np.ndarray) -> None:
        if not self.supports(adapter):
            raise ValueError(
                f"method='exact' needs an estimator whose rows can be removed exactly "
                f"(MultinomialNB, ComplementNB, BernoulliNB, CategoricalNB, GaussianNB); "
                f"{type(adapter.estimator).__name__} is not one. Use method='relabel'."
            )

    def weights_refused(self, adapter: EstimatorAdapter) -> str | None:
        if adapter.removes_weighted_rows_exactly:
            return None
        return f"{type(adapter.estimator).__name__} cannot remove weighted rows exactly"

    def serve(
        self,
        adapter: EstimatorAdapter,
        x: np.ndarray,
        label: Any,
        stop: Stop | None = None,
        weight: float = 1.0,
    ) -> dict[str, Any]:
        weights = None if weight == 1.0 else np.asarray([weight])
        adapter.remove_rows(x[np.newaxis, :], np.asarray([label]), **weight_kwargs(weights))
        return dict(NO_RELABELING)
