"""Building the mini-batch that serves one deletion request.

A request ``(x, y)`` is answered with ``n_relabels`` copies of ``x``, each
carrying a label that is not ``y``, plus a few retained rows of class ``y``
replayed in the same batch (they keep the model from drifting away from that
class). How the copies are labeled is the *relabeling strategy*:

``"uniform"``
    Li & Ghosh's random relabeling: ``n_relabels`` distinct wrong labels
    drawn uniformly at random.
``"boundary"``
    Every copy carries the wrong label the model currently finds most
    probable for ``x``: the step pushes ``x`` across the nearest decision
    boundary instead of towards all other classes at once.
``"soft"``
    One copy per wrong label (the ``n_relabels`` most probable ones), weighted
    by the model's probabilities renormalised over those labels. The weights
    sum to ``n_relabels``, the number of copies, so the batch carries the same
    total weight as a uniform one and the step size stays comparable. Where
    the estimator's ``partial_fit`` takes no ``sample_weight``, the fallback
    draws the ``n_relabels`` copies' labels at random (with replacement) from
    the same renormalised probabilities: the same batch in expectation.

``"boundary"`` and ``"soft"`` read the model's opinion of ``x`` as *scores*:
one value per class, such that a softmax over any subset of classes gives the
model's probabilities renormalised over that subset (log-probabilities when
the estimator has ``predict_proba``, else its ``decision_function``; see
:meth:`sk_unlearn.EstimatorAdapter.class_scores`). All functions here are pure
and never return the true label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp


def _wrong(label: Any, classes: np.ndarray, n_relabels: int) -> np.ndarray:
    """Positions in ``classes`` of the labels that are not ``label`` (checked count)."""
    wrong = np.flatnonzero(classes != label)
    if not 1 <= n_relabels <= wrong.size:
        raise ValueError(
            f"n_relabels must be between 1 and n_classes - 1 = {wrong.size}; got {n_relabels}."
        )
    return wrong


def _check_scores(scores: np.ndarray, classes: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != classes.shape:
        raise ValueError(
            f"scores must have one value per class, shape {classes.shape}; got {scores.shape}."
        )
    if np.isnan(scores).any() or np.isposinf(scores).any():
        raise ValueError("scores must not contain NaN or +inf.")
    return scores


def complementary_labels(
    label: Any, classes: np.ndarray, n_relabels: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``n_relabels`` distinct labels from ``classes``, never ``label``.

    The ``"uniform"`` strategy (the paper's).

    Parameters
    ----------
    label : scalar
        The true label of the row being forgotten.
    classes : ndarray of shape (n_classes,)
        All labels the classifier knows.
    n_relabels : int
        How many wrong labels to draw, at most ``n_classes - 1``.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    labels : ndarray of shape (n_relabels,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._relabel import complementary_labels
    >>> rng = np.random.default_rng(0)
    >>> labels = complementary_labels(2, np.arange(4), 3, rng)
    >>> sorted(labels.tolist())
    [0, 1, 3]
    """
    wrong = classes[_wrong(label, classes, n_relabels)]
    return wrong[rng.permutation(wrong.size)[:n_relabels]]


def boundary_labels(
    label: Any, classes: np.ndarray, scores: np.ndarray, n_relabels: int
) -> np.ndarray:
    """``n_relabels`` copies of the highest-scoring label other than ``label``.

    The ``"boundary"`` strategy. Ties go to the label listed first in
    ``classes``.

    Parameters
    ----------
    label : scalar
        The true label of the row being forgotten.
    classes : ndarray of shape (n_classes,)
        All labels the classifier knows.
    scores : ndarray of shape (n_classes,)
        The model's scores for the row, in the order of ``classes``.
    n_relabels : int
        Number of copies, at most ``n_classes - 1``.

    Returns
    -------
    labels : ndarray of shape (n_relabels,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._relabel import boundary_labels
    >>> boundary_labels(1, np.arange(4), np.log([0.1, 0.6, 0.05, 0.25]), 3).tolist()
    [3, 3, 3]
    """
    wrong = _wrong(label, classes, n_relabels)
    scores = _check_scores(scores, classes)
    best = wrong[np.argmax(scores[wrong])]
    return np.repeat(classes[best : best + 1], n_relabels)


def wrong_label_probabilities(
    label: Any, classes: np.ndarray, scores: np.ndarray, n_relabels: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_relabels`` most probable wrong labels and their renormalised probabilities.

    The probabilities are the softmax of ``scores`` over those labels: for
    log-probabilities, the model's probabilities renormalised to sum to 1
    over them. Rows the model gives no weight at all (every score ``-inf``)
    get equal probabilities.

    Parameters
    ----------
    label : scalar
        The true label of the row being forgotten.
    classes : ndarray of shape (n_classes,)
        All labels the classifier knows.
    scores : ndarray of shape (n_classes,)
        The model's scores for the row, in the order of ``classes``.
    n_relabels : int
        How many wrong labels to keep, at most ``n_classes - 1``.

    Returns
    -------
    labels : ndarray of shape (n_relabels,)
        Wrong labels, most probable first (ties: first in ``classes``).
    probabilities : ndarray of shape (n_relabels,)
        Non-negative, summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._relabel import wrong_label_probabilities
    >>> labels, p = wrong_label_probabilities(0, np.arange(3), np.log([0.5, 0.3, 0.2]), 2)
    >>> labels.tolist(), np.round(p, 2).tolist()
    ([1, 2], [0.6, 0.4])
    """
    wrong = _wrong(label, classes, n_relabels)
    scores = _check_scores(scores, classes)
    order = np.argsort(-scores[wrong], kind="stable")[:n_relabels]
    chosen, kept = wrong[order], scores[wrong[order]]
    if np.isneginf(kept).all():
        probabilities = np.full(kept.size, 1.0 / kept.size)
    else:
        exp = np.exp(kept - kept.max())
        probabilities = exp / exp.sum()
    return classes[chosen], probabilities


def soft_labels(
    label: Any, classes: np.ndarray, scores: np.ndarray, n_relabels: int
) -> tuple[np.ndarray, np.ndarray]:
    """One copy per probable wrong label, weighted by its renormalised probability.

    The ``"soft"`` strategy for estimators whose ``partial_fit`` takes
    ``sample_weight``. The weights sum to ``n_relabels`` (the number of
    copies), so the batch weighs as much as a uniform one.

    Parameters
    ----------
    label : scalar
        The true label of the row being forgotten.
    classes : ndarray of shape (n_classes,)
        All labels the classifier knows.
    scores : ndarray of shape (n_classes,)
        The model's scores for the row, in the order of ``classes``.
    n_relabels : int
        Number of copies: the ``n_relabels`` most probable wrong labels.

    Returns
    -------
    labels : ndarray of shape (n_relabels,)
    weights : ndarray of shape (n_relabels,)
        Non-negative, summing to ``n_relabels``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._relabel import soft_labels
    >>> labels, w = soft_labels(0, np.arange(3), np.log([0.5, 0.3, 0.2]), 2)
    >>> labels.tolist(), np.round(w, 2).tolist()
    ([1, 2], [1.2, 0.8])
    """
    labels, probabilities = wrong_label_probabilities(label, classes, scores, n_relabels)
    return labels, probabilities * n_relabels


def sampled_soft_labels(
    label: Any,
    classes: np.ndarray,
    scores: np.ndarray,
    n_relabels: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``n_relabels`` wrong labels drawn from the renormalised probabilities.

    The ``"soft"`` strategy's fallback for estimators without
    ``sample_weight``: drawn with replacement from the same labels and
    probabilities :func:`soft_labels` uses, so each label's expected count
    equals its weight there.

    Parameters
    ----------
    label : scalar
        The true label of the row being forgotten.
    classes : ndarray of shape (n_classes,)
        All labels the classifier knows.
    scores : ndarray of shape (n_classes,)
        The model's scores for the row, in the order of ``classes``.
    n_relabels : int
        Number of copies.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    labels : ndarray of shape (n_relabels,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._relabel import sampled_soft_labels
    >>> rng = np.random.default_rng(0)
    >>> labels = sampled_soft_labels(0, np.arange(3), np.array([0.0, 0.0, -np.inf]), 2, rng)
    >>> labels.tolist()  # class 2 has probability 0 and is never drawn
    [1, 1]
    """
    labels, probabilities = wrong_label_probabilities(label, classes, scores, n_relabels)
    return labels[rng.choice(labels.size, size=n_relabels, p=probabilities)]


def relabel_batch(
    x: np.ndarray,
    wrong_labels: np.ndarray,
    replay_X: np.ndarray,
    replay_y: np.ndarray,
    copy_weights: np.ndarray | None = None,
    replay_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Stack the relabeled copies of ``x`` with the replayed rows.

    Parameters
    ----------
    x : ndarray of shape (n_features,)
        The row being forgotten.
    wrong_labels : ndarray of shape (n_copies,)
        One label per copy.
    replay_X, replay_y : ndarray of shape (n_replay, n_features) and (n_replay,)
        Retained rows of the forgotten row's class.
    copy_weights : ndarray of shape (n_copies,), default=None
        Sample weights of the copies (None: 1 each).
    replay_weights : ndarray of shape (n_replay,), default=None
        Sample weights of the replayed rows (None: 1 each).

    Returns
    -------
    X_batch : ndarray of shape (n_copies + n_replay, n_features)
    y_batch : ndarray of shape (n_copies + n_replay,)
    sample_weight : ndarray of shape (n_copies + n_replay,) or None
        None when both weights are None (every row weighs 1).
    """
    n_copies = wrong_labels.size
    if sp.issparse(replay_X):  # sparse rows: a sparse batch, as the model was trained
        copies = np.broadcast_to(x, (n_copies, *x.shape))
        X_batch = sp.vstack([sp.csr_matrix(copies), replay_X.astype(x.dtype)], format="csr")
    else:  # filled in place: one pass over the batch
        X_batch = np.empty((n_copies + replay_X.shape[0], *x.shape), dtype=x.dtype)
        X_batch[:n_copies] = x
        X_batch[n_copies:] = replay_X
    y_batch = np.concatenate([wrong_labels, replay_y.astype(wrong_labels.dtype, copy=False)])
    if copy_weights is None and replay_weights is None:
        return X_batch, y_batch, None
    sample_weight = np.concatenate(
        [
            np.ones(wrong_labels.size) if copy_weights is None else copy_weights,
            np.ones(replay_X.shape[0]) if replay_weights is None else replay_weights,
        ]
    )
    return X_batch, y_batch, sample_weight


#: What a strategy returns: the copies' labels, and their weights (None: all 1).
CopyLabels = tuple[np.ndarray, np.ndarray | None]


@dataclass(frozen=True)
class Strategy:
    """One relabeling strategy: how the copies of a forgotten row are labeled.

    Attributes
    ----------
    name : str
        What ``UnlearnableClassifier(relabel=...)`` calls it.
    needs_scores : bool
        Whether it reads the model's scores for the row (then the estimator
        needs ``predict_proba`` or ``decision_function``).
    choose : callable
        ``choose(label, classes, n_relabels, scores, rng, weighted)`` returns
        the copies' labels and weights (None: every copy weighs 1).
        ``scores`` is None for strategies that do not need them; ``weighted``
        says whether the estimator's step takes ``sample_weight``.
    """

    name: str
    needs_scores: bool
    choose: Callable[..., CopyLabels]


def _choose_uniform(
    label: Any,
    classes: np.ndarray,
    n_relabels: int,
    scores: np.ndarray | None,
    rng: np.random.Generator,
    weighted: bool,
) -> CopyLabels:
    return complementary_labels(label, classes, n_relabels, rng), None


def _choose_boundary(
    label: Any,
    classes: np.ndarray,
    n_relabels: int,
    scores: np.ndarray | None,
    rng: np.random.Generator,
    weighted: bool,
) -> CopyLabels:
    assert scores is not None
    return boundary_labels(label, classes, scores, n_relabels), None


def _choose_soft(
    label: Any,
    classes: np.ndarray,
    n_relabels: int,
    scores: np.ndarray | None,
    rng: np.random.Generator,
    weighted: bool,
) -> CopyLabels:
    assert scores is not None
    if weighted:
        return soft_labels(label, classes, scores, n_relabels)
    return sampled_soft_labels(label, classes, scores, n_relabels, rng), None


#: The relabeling strategies, by name: the one place they are listed.
STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("uniform", needs_scores=False, choose=_choose_uniform),
        Strategy("boundary", needs_scores=True, choose=_choose_boundary),
        Strategy("soft", needs_scores=True, choose=_choose_soft),
    )
}
