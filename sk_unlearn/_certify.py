"""What a certificate compares with, and how: references, measures, the certificate.

Pure functions of the values they are given. The estimator's ``certify``
validates its input, asks :func:`reference_kind` which reference it was
given, computes the two sides' probabilities (or the held-out losses) and
builds the certificate with :func:`certificate`; whether a certificate over
``max_divergence`` retrains is for the estimator and its retraining policy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import _scores
from ._certificate import ADVANTAGE, CALIBRATED, COSINE, Certificate, HeldOutReference
from ._reference import OutOfFoldReference
from .metrics import cosine_divergence

#: The reference kinds, as a certificate names them.
RETRAIN, MODEL, HELD_OUT, OUT_OF_FOLD = "retrain", "model", "held-out", "out-of-fold"
OUT_OF_SHARD = "out-of-shard"


def reference_kind(reference: Any, y: np.ndarray | None) -> str:
    """The kind of ``reference`` (``"retrain"``, ``"out-of-shard"``, ``"held-out"``,
    ``"out-of-fold"`` or ``"model"``), if it is usable.

    A classifier passed as the reference is checked separately
    (:func:`check_reference_model`), against the estimator's classes.

    Raises
    ------
    ValueError
        For an unknown name, or a ``HeldOutReference`` without labels ``y``.
    TypeError
        For anything that is neither a name, a ``HeldOutReference`` nor a
        classifier with ``predict_proba`` or ``decision_function``.
    """
    if isinstance(reference, str):
        if reference not in (RETRAIN, OUT_OF_SHARD):
            raise ValueError(
                f"reference={reference!r}: the named references are 'retrain' and "
                "'out-of-shard' (a ShardedClassifier); else pass a fitted classifier or a "
                "HeldOutReference."
            )
        return reference
    if isinstance(reference, HeldOutReference):
        if y is None:
            raise ValueError("The HeldOutReference compares losses: pass the labels y.")
        return HELD_OUT
    if isinstance(reference, OutOfFoldReference):
        if y is None:
            raise ValueError(
                "The OutOfFoldReference tests the confidence in each row's label: pass y."
            )
        return OUT_OF_FOLD
    if not _scores.has_scores(reference):
        raise TypeError(
            "reference must be 'retrain', a fitted classifier with predict_proba or "
            "decision_function, an OutOfFoldReference or a HeldOutReference; got "
            f"{type(reference).__name__}."
        )
    return MODEL


def check_reference_model(reference: Any, classes: np.ndarray) -> None:
    """A classifier passed as the reference must be fitted, with the same ``classes``."""
    check_is_fitted(reference)
    own = getattr(reference, "classes_", None)
    if own is None or not np.array_equal(np.asarray(own), classes):
        raise ValueError(
            f"The reference classifier's classes_ {own!r} differ from this estimator's {classes!r}."
        )


def measure_for(kind: str) -> str:
    """The measure a certificate against a reference of ``kind`` reports."""
    return {HELD_OUT: ADVANTAGE, OUT_OF_FOLD: CALIBRATED}.get(kind, COSINE)


def divergences(model_proba: np.ndarray, reference_proba: np.ndarray) -> np.ndarray:
    """Per-row cosine divergence between the model's and the reference's probabilities."""
    return cosine_divergence(model_proba, reference_proba)


def certificate(
    values: np.ndarray,
    kind: str,
    *,
    threshold: float | None,
    model_version: int,
    guarantee: str,
) -> Certificate:
    """The certificate for per-row ``values`` measured against a reference of ``kind``."""
    return Certificate(
        divergences=values,
        reference=kind,
        measure=measure_for(kind),
        threshold=None if threshold is None else float(threshold),
        model_version=model_version,
        guarantee=guarantee,
    )


def calibrated_certificate(
    reference: OutOfFoldReference,
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    model_version: int,
    guarantee: str,
) -> Certificate:
    """The per-row, two-sided test of a built :class:`OutOfFoldReference`, as a certificate."""
    verdicts, z, _ = reference.test(model, X, y)
    return Certificate(
        divergences=z,
        reference=OUT_OF_FOLD,
        measure=CALIBRATED,
        threshold=reference.z_critical,
        model_version=model_version,
        guarantee=guarantee,
        verdicts=tuple(verdicts),
        alpha=reference.alpha,
        false_positive_rate=reference.false_positive_rate_,
        reference_seconds=reference.build_seconds_,
    )


def summary(cert: Certificate) -> dict[str, Any]:
    """The certificate without its per-row values, as a retraining record keeps it."""
    return {k: v for k, v in cert.to_dict().items() if k != "divergences"}
