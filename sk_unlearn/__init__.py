"""sk-unlearn: make scikit-learn classifiers forget training rows.

Random relabeling (Li & Ghosh, arXiv:2305.12320) serves each deletion request
with one optimizer step on a small relabeled mini-batch, in time independent
of the training-set size.
"""

from ._adapter import EstimatorAdapter
from ._backends import UnsupportedEstimatorError, register_adapter
from ._certificate import Certificate, HeldOutReference
from ._certified import CertifiedLogisticRegression
from ._classifier import UnlearnableClassifier
from ._ledger import (
    DeletionRecord,
    LedgerError,
    LedgerReport,
    PendingRequest,
    RetrainRecord,
    read_ledger,
)
from ._pipeline import forget_through_pipeline
from ._reference import OutOfFoldReference
from ._store import UnknownRowError, row_digest

__version__ = "0.1.0.dev0"


def row_hash(row) -> str:  # type: ignore[no-untyped-def]
    """Hex SHA-256 of a row's values, as recorded in ``deletion_log_``.

    Examples
    --------
    >>> from sk_unlearn import row_hash
    >>> row_hash([0.0, 1.0]) == row_hash([-0.0, 1])
    True
    """
    import numpy as np

    return row_digest(np.asarray(row, dtype=np.float64).ravel()).hex()


__all__ = [
    "Certificate",
    "CertifiedLogisticRegression",
    "DeletionRecord",
    "HeldOutReference",
    "LedgerError",
    "LedgerReport",
    "OutOfFoldReference",
    "PendingRequest",
    "RetrainRecord",
    "EstimatorAdapter",
    "UnknownRowError",
    "UnsupportedEstimatorError",
    "UnlearnableClassifier",
    "forget_through_pipeline",
    "read_ledger",
    "register_adapter",
    "row_hash",
    "__version__",
]
