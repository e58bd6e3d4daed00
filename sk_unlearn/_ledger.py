"""The record kept for every deletion request that was served."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class DeletionRecord:
    """One served deletion request.

    The row itself is never stored: only its SHA-256 content digest (see
    :func:`sk_unlearn.row_hash`), which lets an auditor check whether a given
    row was forgotten without the record revealing it.

    Attributes
    ----------
    request : int
        Sequence number of the request, counting from 0 over the estimator's
        lifetime since its last ``fit``.
    row_hash : str
        Hex SHA-256 of the row's values as float64.
    label : object
        The label the row was trained with.
    timestamp : str
        When the request was served, ISO 8601 in UTC.
    method : str
        ``"relabel"``: optimizer steps on relabeled mini-batches.
    n_relabels : int
        Number of relabeled copies in each mini-batch.
    n_replay : int
        Number of retained same-class rows replayed in each.
    unlearning_rate : float or None
        The rate the step ran at; ``None`` means the estimator's own rate.
    retrained : bool
        Whether the model was retrained from scratch on the retained rows
        after this request and before the next one, by ``retrain_after`` or
        by a certificate over ``max_divergence``; that serves it (and all
        earlier ones) exactly. A call to ``retrain()`` is not recorded here.
    relabel : str
        How the copies were labeled: ``"uniform"``, ``"boundary"`` or
        ``"soft"`` (see ``UnlearnableClassifier``).
    n_steps : int
        Number of optimizer steps taken for the request.
    """

    request: int
    row_hash: str
    label: Any
    timestamp: str
    method: str
    n_relabels: int
    n_replay: int
    unlearning_rate: float | None
    retrained: bool
    relabel: str
    n_steps: int

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict (JSON-serialisable for simple labels)."""
        return asdict(self)


def mark_latest_retrained(log: list[DeletionRecord]) -> None:
    """Record in ``log`` that the model was retrained after its latest request.

    Used when a retraining happens between requests (a certificate over
    ``max_divergence``); records are immutable, so the latest one is replaced.
    """
    if log and not log[-1].retrained:
        log[-1] = replace(log[-1], retrained=True)
