"""What :meth:`UnlearnableClassifier.certify` does once its input is validated.

Pick the reference (the cached naive model, a classifier the user passes, or
held-out rows), measure, and retrain from scratch when the certificate is over
``max_divergence``.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ._certificate import ADVANTAGE, COSINE, Certificate, HeldOutReference
from .metrics import class_probabilities, cosine_divergence

if TYPE_CHECKING:  # pragma: no cover
    from ._classifier import UnlearnableClassifier


def certify(
    clf: UnlearnableClassifier, X: Any, y: np.ndarray | None, reference: Any
) -> Certificate:
    """The certificate for validated rows ``X`` (and labels ``y``) against ``reference``."""
    view = None
    if isinstance(reference, str):
        if reference != "retrain":
            raise ValueError(
                f"reference={reference!r}: the only named reference is 'retrain'; "
                "else pass a fitted classifier or a HeldOutReference."
            )
        view = retrain_reference(clf)
        name, measure = "retrain", COSINE
    elif isinstance(reference, HeldOutReference):
        if y is None:
            raise ValueError("The HeldOutReference compares losses: pass the labels y.")
        name, measure = "held-out", ADVANTAGE
    else:
        check_reference_model(clf, reference)
        name, measure = "model", COSINE

    if measure == COSINE:
        other = reference if view is None else view
        values = cosine_divergence(class_probabilities(clf, X), class_probabilities(other, X))
    else:
        values = reference.membership_advantage(clf, X, y)
    certificate = Certificate(
        divergences=values,
        reference=name,
        measure=measure,
        threshold=None if clf.max_divergence is None else float(clf.max_divergence),
        model_version=clf.model_version_,
    )
    if certificate.within_threshold is False and retrain_for_certificate(clf, view, certificate):
        certificate = replace(certificate, retrained=True)
    return certificate


def check_reference_model(clf: UnlearnableClassifier, reference: Any) -> None:
    """A classifier passed as the reference must be fitted, with ``clf``'s classes."""
    if not (hasattr(reference, "predict_proba") or hasattr(reference, "decision_function")):
        raise TypeError(
            "reference must be 'retrain', a fitted classifier with predict_proba or "
            f"decision_function, or a HeldOutReference; got {type(reference).__name__}."
        )
    check_is_fitted(reference)
    classes = getattr(reference, "classes_", None)
    if classes is None or not np.array_equal(np.asarray(classes), clf.classes_):
        raise ValueError(
            f"The reference classifier's classes_ {classes!r} differ from "
            f"this estimator's {clf.classes_!r}."
        )


def retrain_reference(clf: UnlearnableClassifier) -> UnlearnableClassifier:
    """The naive model on the retained rows, wrapped like ``clf``; cached on ``clf``."""
    key = reference_key(clf)
    cached: tuple[Any, UnlearnableClassifier] | None = getattr(clf, "_reference_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    missing = clf._classes_without_rows(forgotten=[])
    if missing:
        raise ValueError(
            f"Cannot build the 'retrain' reference: no retained rows of class(es) "
            f"{missing}. Pass a fitted classifier or a HeldOutReference instead."
        )
    view = wrapped(clf, clf._fresh_fit())
    clf._reference_cache = (key, view)
    return view


def reference_key(clf: UnlearnableClassifier) -> tuple[int, str]:
    """What the cached reference depends on: the model version and the recipe."""
    # The parameters too: set_params(estimator__...) changes the recipe, not the model.
    return clf.model_version_, repr(clf.estimator.get_params(deep=True))


def wrapped(clf: UnlearnableClassifier, estimator: Any) -> UnlearnableClassifier:
    """A fitted-looking wrapper around ``estimator`` that predicts like ``clf``.

    It holds no rows: only what ``predict_proba``/``decision_function``
    need, so it predicts through the same wrapper methods as ``clf``.
    """
    view = clone(clf)
    view.estimator_ = estimator
    view.classes_ = clf.classes_
    view.n_features_in_ = clf.n_features_in_
    if hasattr(clf, "feature_names_in_"):
        view.feature_names_in_ = clf.feature_names_in_
    return view


def retrain_for_certificate(
    clf: UnlearnableClassifier, view: UnlearnableClassifier | None, certificate: Certificate
) -> bool:
    """Retrain after a certificate over ``max_divergence``; False if pointless or impossible."""
    if clf._n_since_retrain == 0:
        warnings.warn(
            "Certificate over max_divergence, but no removal was requested since the "
            "model was last trained from scratch: every removal is already served "
            "exactly, so it is not retrained (is max_divergence below the reference's "
            "own noise?).",
            UserWarning,
            stacklevel=5,  # the caller of certify (through its lock wrapper)
        )
        return False
    missing = clf._classes_without_rows(forgotten=[])
    if missing:
        warnings.warn(
            f"Certificate over max_divergence, but retraining is impossible: no "
            f"retained rows of class(es) {missing}.",
            UserWarning,
            stacklevel=5,  # the caller of certify (through its lock wrapper)
        )
        return False
    # The 'retrain' reference is exactly the model retrain() would fit.
    fitted = clf._fresh_fit() if view is None else copy.deepcopy(view.estimator_)
    record = clf._retrain_record(
        "certificate",
        clf.n_forgotten_,
        len(clf._store),
        replace(certificate, retrained=True),
    )
    clf._ledger.add_retrain(clf.ledger_path, record)  # marks the latest request too
    clf._retrain_on(np.ones(len(clf._store), dtype=bool), fitted=fitted)
    clf._bump_version()
    if view is not None:  # still the naive model of the new version
        clf._reference_cache = (reference_key(clf), view)
    return True
