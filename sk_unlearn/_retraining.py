"""When to retrain from scratch, whether it is possible, and what it records.

Retraining from scratch on the retained rows is the exact answer to every
removal so far. It happens on request (``retrain()``), after
``retrain_after`` requests, or when a certificate is over
``max_divergence``. These helpers decide and describe; the estimator runs the
retraining itself, inside its transaction.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from numbers import Integral
from typing import Any

import numpy as np

from ._ledger import RetrainRecord, utc_now


def retrain_threshold(retrain_after: int | float | None, n_trained_rows: int) -> int | None:
    """Requests after which to retrain: ``retrain_after``, or that share of the rows.

    Examples
    --------
    >>> from sk_unlearn._retraining import retrain_threshold
    >>> retrain_threshold(0.01, 1347), retrain_threshold(5, 1347), retrain_threshold(None, 10)
    (14, 5, None)
    """
    if retrain_after is None:
        return None
    if isinstance(retrain_after, Integral):
        return int(retrain_after)
    return max(1, math.ceil(retrain_after * n_trained_rows))


def missing_classes(
    class_counts: Mapping[Hashable, int],
    classes: np.ndarray,
    removed: Iterable[Hashable] = (),
) -> list[Any]:
    """The classes with no retained row, once the ``removed`` labels are taken away.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._retraining import missing_classes
    >>> missing_classes({0: 3, 1: 1}, np.array([0, 1, 2]), removed=[1])
    [1, 2]
    """
    counts = dict(class_counts)
    for label in removed:
        counts[label] = counts.get(label, 0) - 1
    return [c for c in classes.tolist() if counts.get(c, 0) <= 0]


def no_rows_message(missing: list[Any]) -> str:
    """The one wording for "some class has no retained rows"."""
    return f"no retained rows of class(es) {missing}"


def retrain_record(
    reason: str,
    after_request: int,
    n_retained: int,
    certificate: Mapping[str, Any] | None = None,
) -> RetrainRecord:
    """The ledger's record of one retraining (``certificate``: its summary, if one caused it)."""
    summary = None
    if certificate is not None:
        summary = {k: v for k, v in certificate.items() if k != "divergences"}
    return RetrainRecord(
        after_request=after_request,
        timestamp=utc_now(),
        reason=reason,
        n_retained=n_retained,
        certificate=summary,
    )


def certificate_retrain_refusal(
    n_since_retrain: int, n_approximate: int, missing: list[Any]
) -> str | None:
    """Why a certificate over ``max_divergence`` should *not* retrain, or None to retrain."""
    if n_since_retrain == 0:
        return (
            "Certificate over max_divergence, but no removal was requested since the "
            "model was last trained from scratch: every removal is already served "
            "exactly, so it is not retrained (is max_divergence below the reference's "
            "own noise?)."
        )
    if n_approximate == 0:
        return (
            "Certificate over max_divergence, but every removal since the model was last "
            "trained from scratch was exact or certified: it is not retrained on a "
            "divergence (an exact model is the retrained one to rounding; a certified one "
            "retrains by its own budget)."
        )
    if missing:
        return (
            "Certificate over max_divergence, but retraining is impossible: "
            f"{no_rows_message(missing)}."
        )
    return None
