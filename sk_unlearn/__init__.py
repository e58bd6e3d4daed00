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
    CertificateRecord,
    DeletionRecord,
    LedgerError,
    LedgerReport,
    PendingRequest,
    RetrainRecord,
    read_ledger,
)
from ._pipeline import forget_through_pipeline
from ._reference import OutOfFoldReference
from ._report import ErasureReport
from ._row_file import RowStoreMismatchError
from ._safe_pickle import UnsafePickleError
from ._sharded import ShardedClassifier
from ._store import UnknownRowError

__version__ = "0.1.0.dev0"


def row_hash(row, key: bytes | None = None) -> str:  # type: ignore[no-untyped-def]
    """Hex HMAC-SHA256 of a row's values, as ``deletion_log_`` and the ledger record it.

    Keyed with the deployment's secret key (``key=None``; see
    docs/reliability.md, "Keys"), which is neither in the ledger nor in the
    model file: without it a digest reveals nothing, not even to someone who
    can enumerate every plausible row. An auditor holding the key and a raw
    row confirms its deletion with
    ``row_hash(x) in {r.row_hash for r in clf.deletion_log_}``.

    Examples
    --------
    >>> from sk_unlearn import row_hash
    >>> key = bytes(32)  # a fixed key, for the example
    >>> row_hash([0.0, 1.0], key) == row_hash([-0.0, 1], key)
    True
    >>> row_hash([0.0, 1.0], key) == row_hash([0.0, 1.0], bytes([1]) * 32)
    False
    """
    from ._keys import deployment_key, keyed_row_hash

    return keyed_row_hash(row, deployment_key() if key is None else key)


def label_hash(label, key: bytes | None = None) -> str:  # type: ignore[no-untyped-def]
    """Hex HMAC-SHA256 of a label, as ``DeletionRecord.label_hash`` and the ledger record it.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn import label_hash
    >>> label_hash(np.int64(3), bytes(32)) == label_hash(3, bytes(32))
    True
    """
    from ._keys import deployment_key, keyed_label_hash

    return keyed_label_hash(label, deployment_key() if key is None else key)


def subject_hash(sample_id, key: bytes | None = None) -> str:  # type: ignore[no-untyped-def]
    """Hex HMAC-SHA256 of a data-subject id, as ``DeletionRecord.subject`` records it.

    A data-protection officer holding the key confirms that every row of
    subject ``42`` was forgotten with
    ``[r for r in clf.deletion_log_ if r.subject == subject_hash(42)]``.
    Equal ids of any NumPy type agree; ``42`` and ``"42"`` are different ids.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn import subject_hash
    >>> subject_hash(np.int64(42), bytes(32)) == subject_hash(42, bytes(32))
    True
    >>> subject_hash(42, bytes(32)) == subject_hash("42", bytes(32))
    False
    """
    from ._keys import deployment_key, keyed_subject_hash
    from ._subjects import subject_bytes

    return keyed_subject_hash(subject_bytes(sample_id), deployment_key() if key is None else key)


__all__ = [
    "Certificate",
    "CertificateRecord",
    "ErasureReport",
    "CertifiedLogisticRegression",
    "DeletionRecord",
    "HeldOutReference",
    "LedgerError",
    "LedgerReport",
    "OutOfFoldReference",
    "PendingRequest",
    "RetrainRecord",
    "ShardedClassifier",
    "EstimatorAdapter",
    "UnknownRowError",
    "RowStoreMismatchError",
    "UnsafePickleError",
    "UnsupportedEstimatorError",
    "UnlearnableClassifier",
    "forget_through_pipeline",
    "read_ledger",
    "register_adapter",
    "label_hash",
    "row_hash",
    "subject_hash",
    "__version__",
]
