"""How far an unlearned model is from one that never saw the forgotten rows.

* :func:`cosine_divergence`: row-wise divergence between two models'
  predicted probability vectors (the certificate's measure, see
  ``docs/certification.md`` for the formula and how it reads the paper).
* :func:`per_example_loss`, :func:`loss_threshold_auc`,
  :func:`learned_attack_auc`: membership inference on per-example losses.
* :func:`make_unlearning_scorer`: one number per fitted candidate for
  ``GridSearchCV`` that rewards keeping accuracy and forgetting well.
* :func:`logit_scaled_confidence`, :func:`forgetting_quality`,
  :func:`challenge_score`, :func:`ulira_auc`: forgetting measured against
  models retrained without the rows, over many seeds, as the NeurIPS 2023
  unlearning challenge and U-LiRA measure it (see
  :mod:`sk_unlearn.evaluation` for the harness that trains those models).

Forgetting is judged against the naive model (retrained without the rows),
never against "as low as possible": the target of a membership-inference AUC
after unlearning is the naive model's AUC on the same rows, which is 0.5 only
when the forgotten rows are drawn like the non-members they are compared with.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from . import _scores, _validation
from ._forgetting_quality import (
    ForgettingQuality,
    challenge_score,
    forgetting_quality,
    logit_scaled_confidence,
    points_for,
    ulira_auc,
)

_ROW_SUM_TOLERANCE = 1e-4

__all__ = [
    "ForgettingQuality",
    "challenge_score",
    "forgetting_quality",
    "logit_scaled_confidence",
    "points_for",
    "ulira_auc",
    "class_probabilities",
    "cosine_divergence",
    "learned_attack_auc",
    "loss_threshold_auc",
    "make_unlearning_scorer",
    "per_example_loss",
]


# ------------------------------------------------------------- probabilities
def class_probabilities(classifier: Any, X: ArrayLike) -> np.ndarray:
    """Class probabilities of a fitted classifier, columns ordered as ``classes_``.

    ``predict_proba`` where the classifier has it. Otherwise the softmax of
    ``decision_function`` (for two classes, the logistic function of the
    score): a monotone map of the scores onto the simplex, not a calibrated
    probability, so divergences computed from it compare the two models'
    score profiles (hinge-loss SGD, ``Perceptron``) rather than beliefs.

    Parameters
    ----------
    classifier : fitted classifier
        With ``predict_proba`` or ``decision_function``.
    X : array-like of shape (n_samples, n_features)
        Rows to score.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)

    Raises
    ------
    TypeError
        If the classifier has neither method.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sk_unlearn.metrics import class_probabilities
    >>> X = np.array([[0.0], [0.2], [1.0], [1.2]]); y = [0, 0, 1, 1]
    >>> hinge = SGDClassifier(loss="hinge", random_state=0).fit(X, y)
    >>> P = class_probabilities(hinge, X)
    >>> P.shape, bool(np.allclose(P.sum(axis=1), 1.0))
    ((4, 2), True)
    """
    return _scores.probabilities(classifier, X)


def _check_probability_rows(name: str, P: ArrayLike) -> np.ndarray:
    arr = np.atleast_2d(np.asarray(P, dtype=np.float64))
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-d or 2-d, got shape {np.shape(P)}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    if (arr < 0).any() or not np.allclose(arr.sum(axis=1), 1.0, atol=_ROW_SUM_TOLERANCE):
        raise ValueError(
            f"Every row of {name} must be a probability vector (non-negative, summing to 1)."
        )
    return arr


# ---------------------------------------------------------------- divergence
def cosine_divergence(P: ArrayLike, Q: ArrayLike) -> np.ndarray:
    """Row-wise divergence between probability vectors, from cosine and norms.

    For rows ``p`` and ``q``::

        D(p, q) = 1/2 (|p| - |q|)**2  +  |p| |q| (1 - cos(p, q))
                = 1/2 |p - q|**2

    The second term is the cosine divergence ``1 - cos(p, q)`` (do the two
    distributions point the same way?) weighted by the vectors' norms, the
    first the difference of the norms (``|p|**2 = sum(p_j**2)`` is the
    distribution's confidence: 1 for a one-hot vector, ``1/k`` for a uniform
    one). By the law of cosines the two add up to half the squared Euclidean
    distance, the one combination of the two that is a (squared) distance.
    ``docs/certification.md`` says how this reads Li & Ghosh's "metric based
    on cosine divergence and vector norm".

    Properties, for probability vectors: 0 exactly when ``p == q``;
    symmetric; between 0 and 1 (1 for two different one-hot vectors); along
    a mixture ``q_t = (1 - t) p + t q`` it grows as ``t**2 D(p, q)``.

    Parameters
    ----------
    P, Q : array-like of shape (n_rows, n_classes) or (n_classes,)
        Probability vectors (non-negative, each row summing to 1), e.g. two
        models' ``predict_proba`` on the same rows.

    Returns
    -------
    divergence : ndarray of shape (n_rows,)

    Raises
    ------
    ValueError
        If the shapes differ or a row is not a probability vector.

    Examples
    --------
    >>> from sk_unlearn.metrics import cosine_divergence
    >>> cosine_divergence([[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]])
    array([1., 0.])
    >>> float(cosine_divergence([0.9, 0.1], [0.6, 0.4])[0])  # doctest: +ELLIPSIS
    0.09...
    """
    P_arr = _check_probability_rows("P", P)
    Q_arr = _check_probability_rows("Q", Q)
    if P_arr.shape != Q_arr.shape:
        raise ValueError(f"P and Q must have the same shape, got {P_arr.shape} and {Q_arr.shape}.")
    # Computed as the distance it equals: exact 0 for equal rows, no cancellation.
    out: np.ndarray = 0.5 * np.sum((P_arr - Q_arr) ** 2, axis=1)
    return out


# ------------------------------------------------------ membership inference
def per_example_loss(classifier: Any, X: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Cross-entropy of each row under a fitted classifier: ``-log p(y | x)``.

    Probabilities come from :func:`class_probabilities` and are clipped at
    machine epsilon, so a confidently wrong row costs at most ~36.

    Parameters
    ----------
    classifier : fitted classifier
        With ``classes_`` and ``predict_proba`` or ``decision_function``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Labels, each one of ``classifier.classes_``.

    Returns
    -------
    loss : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.metrics import log_loss
    >>> from sk_unlearn.metrics import per_example_loss
    >>> X = np.array([[0.0], [0.2], [1.0], [1.2]]); y = np.array([0, 1, 0, 1])
    >>> clf = LogisticRegression().fit(X, y)
    >>> bool(np.isclose(per_example_loss(clf, X, y).mean(), log_loss(y, clf.predict_proba(X))))
    True
    """
    y_arr = np.asarray(y)
    if y_arr.ndim != 1:
        raise ValueError(f"y must be 1-d, got shape {y_arr.shape}.")
    classes = np.asarray(classifier.classes_)
    _validation.check_known_labels(y_arr, classes)
    proba = class_probabilities(classifier, X)
    if proba.shape[0] != y_arr.shape[0]:
        raise ValueError(f"X has {proba.shape[0]} rows but y has {y_arr.shape[0]}.")
    column = np.searchsorted(classes, y_arr)
    p_true = np.clip(proba[np.arange(len(y_arr)), column], np.finfo(np.float64).eps, 1.0)
    out: np.ndarray = -np.log(p_true)
    return out


def _two_samples(member_losses: ArrayLike, nonmember_losses: ArrayLike) -> tuple[np.ndarray, ...]:
    members = np.asarray(member_losses, dtype=np.float64).ravel()
    nonmembers = np.asarray(nonmember_losses, dtype=np.float64).ravel()
    for name, arr in (("member_losses", members), ("nonmember_losses", nonmembers)):
        if arr.size == 0:
            raise ValueError(f"{name} is empty.")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity.")
    labels = np.r_[np.ones(members.size), np.zeros(nonmembers.size)]
    return members, nonmembers, labels


def loss_threshold_auc(member_losses: ArrayLike, nonmember_losses: ArrayLike) -> float:
    """AUC of the loss-threshold membership attack (Yeom et al., 2018).

    The attack calls a row a member when its loss is below a threshold; over
    all thresholds, this is the probability that a random member has a lower
    loss than a random non-member (ties count one half). 0.5: the attack
    cannot tell the two groups apart; 1: every member has a lower loss.

    After unlearning, the target for the forgotten rows is the naive model's
    AUC on the same rows, not 0.5 or 0: forgotten rows that are unusual (say,
    mislabeled) have a *higher* loss than typical non-members under the naive
    model, an AUC well below 0.5.

    Parameters
    ----------
    member_losses : array-like of shape (n_members,)
        Per-example losses of the rows tested for membership (e.g. the
        forgotten rows), see :func:`per_example_loss`.
    nonmember_losses : array-like of shape (n_nonmembers,)
        Per-example losses of rows the model never saw.

    Returns
    -------
    auc : float

    Examples
    --------
    >>> from sk_unlearn.metrics import loss_threshold_auc
    >>> loss_threshold_auc([0.1, 0.2], [0.5, 0.9])
    1.0
    >>> loss_threshold_auc([0.1, 0.9], [0.5, 0.5])
    0.5
    """
    members, nonmembers, labels = _two_samples(member_losses, nonmember_losses)
    return float(roc_auc_score(labels, -np.r_[members, nonmembers]))


def learned_attack_auc(
    member_losses: ArrayLike,
    nonmember_losses: ArrayLike,
    *,
    n_splits: int = 5,
    random_state: int | None = 0,
) -> float:
    """AUC of a logistic-regression membership attack on per-example losses.

    As in the NeurIPS 2023 machine-unlearning challenge's starting kit: a
    ``LogisticRegression`` (here ``class_weight="balanced"``, so unequal group
    sizes do not matter) learns to tell members from non-members by their
    loss; its out-of-fold probabilities (``StratifiedKFold``) are scored by
    ROC AUC. Unlike :func:`loss_threshold_auc` it learns the direction too,
    so rows with *unusually high* loss (over-forgetting, which also gives
    them away) count as detected: an AUC below 0.5 only arises from noise.

    Its target after unlearning is the naive model's value on the same rows.

    Parameters
    ----------
    member_losses : array-like of shape (n_members,)
    nonmember_losses : array-like of shape (n_nonmembers,)
    n_splits : int, default=5
        Folds of the cross-validation; each group needs at least this many rows.
    random_state : int or None, default=0
        Seed of the fold shuffle.

    Returns
    -------
    auc : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn.metrics import learned_attack_auc
    >>> rng = np.random.default_rng(0)
    >>> members, nonmembers = rng.normal(0, 1, 200), rng.normal(3, 1, 200)
    >>> learned_attack_auc(members, nonmembers) > 0.9
    True
    >>> learned_attack_auc(nonmembers, members) > 0.9  # direction is learned
    True
    """
    members, nonmembers, labels = _two_samples(member_losses, nonmember_losses)
    if not isinstance(n_splits, Integral) or n_splits < 2:
        raise ValueError(f"n_splits must be an int >= 2, got {n_splits!r}.")
    if min(members.size, nonmembers.size) < n_splits:
        raise ValueError(
            f"Each group needs at least n_splits={n_splits} rows; got {members.size} "
            f"members and {nonmembers.size} non-members."
        )
    features = np.r_[members, nonmembers].reshape(-1, 1)
    cv = StratifiedKFold(n_splits=int(n_splits), shuffle=True, random_state=random_state)
    attack = LogisticRegression(class_weight="balanced")
    scores = cross_val_predict(attack, features, labels, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, scores))


# -------------------------------------------------------------------- scorer
def _unlearnable_part(estimator: Any) -> tuple[Any, Callable[[Any], Any]]:
    """The unlearnable estimator to score, and how rows reach it.

    An :class:`~sk_unlearn.UnlearnableClassifier` itself (rows as given), or
    the final step of a ``Pipeline`` (rows through the fitted transformers).
    """

    def unlearnable(candidate: Any) -> bool:
        return all(hasattr(candidate, name) for name in ("forget", "sample_retained"))

    if unlearnable(estimator):
        return estimator, lambda X: X
    if isinstance(estimator, Pipeline) and unlearnable(estimator.steps[-1][1]):
        if len(estimator) == 1:
            return estimator.steps[-1][1], lambda X: X
        return estimator.steps[-1][1], estimator[:-1].transform
    raise TypeError(
        "The unlearning scorer needs a fitted UnlearnableClassifier, or a Pipeline whose "
        f"final step is one; got {type(estimator).__name__}"
        + (
            f" ending in {type(estimator.steps[-1][1]).__name__}"
            if isinstance(estimator, Pipeline)
            else ""
        )
        + ". (GridSearchCV turns this error into a nan score and a warning unless "
        'error_score="raise".)'
    )


class _UnlearningScorer:
    """Callable ``(estimator, X, y) -> float``; see :func:`make_unlearning_scorer`."""

    def __init__(self, forget_fraction: float, random_state: int | None) -> None:
        self.forget_fraction = forget_fraction
        self.random_state = random_state

    def __repr__(self) -> str:
        return (
            f"make_unlearning_scorer(forget_fraction={self.forget_fraction!r}, "
            f"random_state={self.random_state!r})"
        )

    def __call__(self, estimator: Any, X: ArrayLike, y: ArrayLike) -> float:
        return float(self.details(estimator, X, y)["score"])

    def details(self, estimator: Any, X: ArrayLike, y: ArrayLike) -> dict[str, float]:
        """The score with its parts: accuracy, attack AUC, forgetting quality."""
        estimator, transform = _unlearnable_part(estimator)
        X = transform(X)
        n_retained = estimator.n_retained_
        n_forget = max(1, math.ceil(self.forget_fraction * n_retained))
        if n_forget >= n_retained:
            raise ValueError(
                f"forget_fraction={self.forget_fraction} would forget all "
                f"{n_retained} retained rows."
            )
        X_forget, y_forget = estimator.sample_retained(n_forget, random_state=self.random_state)
        unlearned = copy.deepcopy(estimator)  # the fitted candidate stays as it was
        unlearned.set_params(ledger_path=None)  # a trial: not a request to record
        unlearned.forget(X_forget, y_forget)
        accuracy = float(unlearned.score(X, y))
        auc = loss_threshold_auc(
            per_example_loss(unlearned, X_forget, y_forget), per_example_loss(unlearned, X, y)
        )
        quality = 1.0 - abs(2.0 * auc - 1.0)
        return {
            "score": accuracy * quality,
            "accuracy": accuracy,
            "attack_auc": auc,
            "forgetting_quality": quality,
        }


def make_unlearning_scorer(
    forget_fraction: float = 0.05, *, random_state: int | None = 0
) -> Callable[[Any, ArrayLike, ArrayLike], float]:
    """A scorer for ``GridSearchCV`` that rates how well a candidate unlearns.

    Given a fitted :class:`~sk_unlearn.UnlearnableClassifier` (or a fitted
    ``Pipeline`` ending in one: the validation rows then go through its
    transformers) and validation
    rows ``(X, y)``, the scorer works on a deep copy of the candidate (which
    it never modifies): it forgets ``forget_fraction`` of the candidate's own
    retained training rows, drawn at random, one request per row, and returns

    ``score = accuracy * (1 - |2 * AUC - 1|)``

    * ``accuracy``: the unlearned copy's accuracy on ``(X, y)`` (retained
      utility);
    * ``AUC``: :func:`loss_threshold_auc` of the forgotten rows against the
      validation rows under the unlearned copy. The forgotten rows are a
      uniformly random share of training rows and the validation rows come
      from the same distribution (a cross-validation split), so for the naive
      model, which saw neither, the expected AUC is 0.5: that is the target.
      ``1 - |2 AUC - 1|`` is 1 there and falls to 0 as the forgotten rows
      become fully recognisable, as members (AUC 1) or by being
      over-forgotten (AUC 0).

    The score is in [0, 1], higher is better, and deterministic given
    ``random_state`` and the fitted candidate. A rate that collapses accuracy
    scores low through the first factor, one that leaves the rows memorised
    through the second. With few forgotten rows the AUC is noisy (its
    standard error is roughly ``0.3 / sqrt(n_forgotten)``): forget at least a
    few dozen rows.

    Parameters
    ----------
    forget_fraction : float in (0, 1), default=0.05
        Share of the candidate's retained training rows to forget (at least
        one row).
    random_state : int or None, default=0
        Seed of the choice of rows to forget.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``; ``scorer.details(estimator, X,
        y)`` returns the score with its parts.

    Examples
    --------
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn.model_selection import cross_val_score
    >>> from sk_unlearn import UnlearnableClassifier
    >>> from sk_unlearn.datasets import load_digits_split
    >>> from sk_unlearn.metrics import make_unlearning_scorer
    >>> data = load_digits_split()
    >>> clf = UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0),
    ...                             random_state=0)
    >>> scores = cross_val_score(clf, data.X_train, data.y_train, cv=3,
    ...                          scoring=make_unlearning_scorer(0.05))
    >>> bool(((0 <= scores) & (scores <= 1)).all())
    True
    """
    if not isinstance(forget_fraction, Real) or not 0 < forget_fraction < 1:
        raise ValueError(f"forget_fraction must be a float in (0, 1), got {forget_fraction!r}.")
    return _UnlearningScorer(float(forget_fraction), random_state)
