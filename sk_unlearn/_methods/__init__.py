"""Unlearning methods: how a deletion request is served.

``UnlearnableClassifier(method=...)`` names one of :data:`METHODS`;
``"auto"`` takes the first method that is not approximate and supports the
estimator, else random relabeling.
"""

from __future__ import annotations

from .._adapter import EstimatorAdapter
from ._base import (
    APPROXIMATE,
    CERTIFIED,
    EXACT,
    NO_RELABELING,
    BatchUnlearningMethod,
    Call,
    Stop,
    UnlearningMethod,
    non_finite_model,
)
from .certified import CertifiedRemoval
from .exact import ExactRemoval
from .finetune import NoisyFinetuning
from .relabel import RandomRelabeling
from .sharded import ShardedRetraining

#: The methods by name, most exact first (the order "auto" tries them in).
METHODS: dict[str, type[UnlearningMethod]] = {
    ExactRemoval.name: ExactRemoval,
    ShardedRetraining.name: ShardedRetraining,
    CertifiedRemoval.name: CertifiedRemoval,
    RandomRelabeling.name: RandomRelabeling,
    NoisyFinetuning.name: NoisyFinetuning,
}


def method_class(name: str, adapter: EstimatorAdapter) -> type[UnlearningMethod]:
    """The method ``name`` stands for on ``adapter``'s estimator (``"auto"``: see above)."""
    if name != "auto":
        return METHODS[name]
    for method in METHODS.values():
        if method.guarantee != APPROXIMATE and method.supports(adapter):
            return method
    return RandomRelabeling


__all__ = [
    "APPROXIMATE",
    "BatchUnlearningMethod",
    "CERTIFIED",
    "EXACT",
    "METHODS",
    "NO_RELABELING",
    "NoisyFinetuning",
    "Call",
    "CertifiedRemoval",
    "ExactRemoval",
    "RandomRelabeling",
    "ShardedRetraining",
    "Stop",
    "UnlearningMethod",
    "method_class",
    "non_finite_model",
]
