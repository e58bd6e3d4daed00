"""Forgetting measured as the field measures it: against models retrained without the rows.

Implemented from the published definitions (not from any reference code):

* the logit-scaled confidence ``log p_y - log sum_{j != y} p_j`` of a row
  under a model (Carlini et al.'s LiRA score);
* the forgetting quality ``F`` of the NeurIPS 2023 machine-unlearning
  challenge (Triantafillou et al., "Are we making progress in unlearning?",
  arXiv:2406.09073, and the organisers' evaluation note): per forgotten row,
  an attacker sees the row's confidence under N unlearned and N retrained
  models and tries to tell the two groups apart with single-threshold and
  interval decision rules; the best rule's false-positive and false-negative
  rates give an empirical (epsilon, delta) per row, and each row scores
  ``2 ** -floor(2 epsilon)`` points (0 beyond what N models can resolve); ``F``
  is the mean over rows;
* the challenge's final score ``F x (retain accuracy ratio) x (test accuracy
  ratio)``;
* U-LiRA (Hayes et al., "Inexact unlearning needs more careful evaluations
  to avoid a false sense of privacy", arXiv:2403.01218): a per-row Gaussian
  likelihood-ratio attack fitted on shadow models that unlearned the row and
  shadow models that never saw it, scored on held-out target models (AUC 0.5:
  the attacker cannot tell them apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import roc_auc_score

#: Per-row epsilons are capped here (the "cannot be told apart at all" end is 0).
EPSILON_CAP = 50.0
#: Thresholds per unit of confidence in the attacks' threshold grids.
THRESHOLDS_PER_UNIT = 100
#: Half-width of the search around the interval attack's window, in units of confidence.
_BUFFER = 2.0
#: Below this ratio of the two groups' ranges, one group is a spike: epsilon is capped.
_RANGE_RATIO = 0.01
#: Relative difference below which two confidences are floating-point rounding of one value.
_ROUNDING = 1e-9


def logit_scaled_confidence(proba: ArrayLike, y: ArrayLike) -> np.ndarray:
    """``log p_y - log sum_{j != y} p_j`` for each row: how sure the model is of label ``y``.

    Parameters
    ----------
    proba : array-like of shape (n_rows, n_classes)
        Class probabilities (rows summing to 1).
    y : array-like of int of shape (n_rows,)
        For each row, the column of its label.

    Returns
    -------
    confidence : ndarray of shape (n_rows,)
        Unbounded; 0 when the label has probability 1/2. Probabilities are
        clipped at 1e-45, so a certain model scores about +-103.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn.metrics import logit_scaled_confidence
    >>> np.round(logit_scaled_confidence([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]], [0, 2]), 3)
    array([ 0.   , -2.944])
    """
    P = np.asarray(proba, dtype=np.float64)
    cols = np.asarray(y)
    if P.ndim != 2 or cols.shape != (P.shape[0],):
        raise ValueError(
            f"proba must be 2-d and y hold one column per row; got {P.shape} and {cols.shape}."
        )
    if not np.issubdtype(cols.dtype, np.integer) or (cols < 0).any() or (cols >= P.shape[1]).any():
        raise ValueError(f"y must hold column indices in [0, {P.shape[1]}).")
    rows = np.arange(P.shape[0])
    p_label = P[rows, cols]
    others = P.copy()
    others[rows, cols] = 0.0
    p_other = others.sum(axis=1)  # summed, not 1 - p_label: no cancellation near certainty
    out: np.ndarray = np.log(np.clip(p_label, 1e-45, None)) - np.log(np.clip(p_other, 1e-45, None))
    return out


# ------------------------------------------------------------------ the attacks
def _error_rates_single(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, ...]:
    """FPR and FNR of "positive when confidence >= t" over the challenge's grid of t."""
    both = np.concatenate([positive, negative])
    low, high = both.min(), both.max()
    n = max(2, math.ceil((high - low) * THRESHOLDS_PER_UNIT))
    thresholds = np.linspace(low, high, n)
    pos, neg = np.sort(positive), np.sort(negative)
    tpr = 1.0 - np.searchsorted(pos, thresholds, side="left") / pos.size
    fpr = 1.0 - np.searchsorted(neg, thresholds, side="left") / neg.size
    return fpr, 1.0 - tpr


def _error_rates_interval(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, ...]:
    """FPR and FNR of "the peakier group when l <= confidence <= r" over the challenge's grid.

    The window's width is the peakier group's range; its right end sweeps
    that group's range (widened by the buffer), its left end +-buffer
    around ``r - width``.
    """
    if np.ptp(positive) >= np.ptp(negative):  # the peakier group is the one predicted
        positive, negative = negative, positive
    width = np.ptp(positive)
    low, high = positive.min() + width - _BUFFER, positive.max() + _BUFFER
    rights = np.linspace(low, high, max(2, math.ceil((high - low) * THRESHOLDS_PER_UNIT)))
    offsets = np.linspace(-_BUFFER, _BUFFER, math.ceil(2 * _BUFFER * THRESHOLDS_PER_UNIT))
    right = np.repeat(rights, offsets.size)
    left = (rights[:, np.newaxis] - width + offsets[np.newaxis, :]).ravel()
    pos, neg = np.sort(positive), np.sort(negative)

    def inside(sorted_values: np.ndarray) -> np.ndarray:
        count = np.searchsorted(sorted_values, right, side="right")
        count -= np.searchsorted(sorted_values, left, side="left")
        return np.clip(count, 0, None) / sorted_values.size

    tpr, fpr = inside(pos), inside(neg)
    return fpr, 1.0 - tpr


def _epsilon_from_rates(fpr: np.ndarray, fnr: np.ndarray, delta: float) -> float:
    """The largest epsilon the rates of any threshold prove, by the challenge's rules.

    A threshold with both rates 0 separates the groups perfectly: infinite
    epsilon. One with exactly one rate 0 is discarded (a sign of too few
    models, not of a real separation). Otherwise ``max(log(1 - delta - FPR)
    - log FNR, log(1 - delta - FNR) - log FPR)``, at least 0.
    """
    if np.any((fpr == 0) & (fnr == 0)):
        return math.inf
    usable = (fpr > 0) & (fnr > 0)
    if not usable.any():
        return 0.0
    f, g = fpr[usable], fnr[usable]
    with np.errstate(divide="ignore", invalid="ignore"):
        candidates = np.maximum(
            np.log(1 - delta - f) - np.log(g), np.log(1 - delta - g) - np.log(f)
        )
    candidates = candidates[np.isfinite(candidates)]
    return float(max(0.0, candidates.max())) if candidates.size else 0.0


def row_epsilon(retrained: ArrayLike, unlearned: ArrayLike, *, delta: float = 1e-5) -> float:
    """The empirical epsilon of one row: how well an attacker tells the two groups apart.

    Parameters
    ----------
    retrained, unlearned : array-like of shape (n_models,)
        The row's logit-scaled confidence under each retrained and each
        unlearned model.
    delta : float, default=1e-5

    Returns
    -------
    epsilon : float
        In [0, 50]: 0 when no decision rule does better than chance.
    """
    a = np.asarray(retrained, dtype=np.float64).ravel()
    b = np.asarray(unlearned, dtype=np.float64).ravel()
    positive, negative = (a, b) if np.median(a) > np.median(b) else (b, a)
    spread_p, spread_n = np.ptp(positive), np.ptp(negative)
    largest, smallest = max(spread_p, spread_n), min(spread_p, spread_n)
    scale = 1.0 + max(np.abs(positive).max(), np.abs(negative).max())
    if largest <= _ROUNDING * scale:
        # Two constants: the same value tells nothing, another everything. Values
        # within rounding (an exact removal against a fresh fit) are the same.
        same = abs(np.median(positive) - np.median(negative)) <= _ROUNDING * scale
        return 0.0 if same else EPSILON_CAP
    if smallest / largest < _RANGE_RATIO:
        return EPSILON_CAP  # one group is a spike inside the other: treat as separable
    fpr_s, fnr_s = _error_rates_single(positive, negative)
    fpr_d, fnr_d = _error_rates_interval(positive, negative)
    epsilon = _epsilon_from_rates(np.r_[fpr_s, fpr_d], np.r_[fnr_s, fnr_d], delta)
    return float(min(epsilon, EPSILON_CAP))


def points_for(epsilon: ArrayLike, n_models: int) -> np.ndarray:
    """The challenge's points per row: ``2 ** -floor(2 epsilon)``, 0 beyond what N models resolve.

    With N models per group, epsilons of ``ceil(log(N - 1))`` or more cannot
    be told from a perfect separation and score 0.

    Examples
    --------
    >>> from sk_unlearn.metrics import points_for
    >>> points_for([0.0, 0.4, 0.6, 1.2, 4.9, 5.0], n_models=64).tolist()
    [1.0, 1.0, 0.5, 0.25, 0.001953125, 0.0]
    """
    eps = np.asarray(epsilon, dtype=np.float64)
    resolvable = math.ceil(math.log(n_models - 1)) if n_models > 2 else 0
    points: np.ndarray = np.where(eps < resolvable, 2.0 ** -np.floor(2 * eps), 0.0)
    return points


@dataclass(frozen=True)
class ForgettingQuality:
    """The challenge's forgetting quality of a set of forgotten rows.

    Attributes
    ----------
    F : float
        Mean points per row, in [0, 1]: 1 when no row can be told apart.
    epsilons : ndarray of shape (n_rows,)
        Per-row empirical epsilon.
    points : ndarray of shape (n_rows,)
        Per-row points, ``2 ** -floor(2 epsilon)`` (0 past the resolvable end).
    over_forgotten : ndarray of bool of shape (n_rows,)
        Rows whose median confidence is lower after unlearning than after
        retraining (the others are under-forgotten or exact).
    n_models : int
        Models per group.
    delta : float
    """

    F: float
    epsilons: np.ndarray
    points: np.ndarray
    over_forgotten: np.ndarray
    n_models: int
    delta: float


def forgetting_quality(
    retrained: ArrayLike, unlearned: ArrayLike, *, delta: float = 1e-5
) -> ForgettingQuality:
    """The NeurIPS 2023 challenge's forgetting quality ``F`` (see the module docstring).

    ``F`` is 1 only in the limit: with finitely many models the attacker's
    search over thresholds finds spurious separations, so two groups drawn
    from the *same* distribution score well below 1 (about 0.15 with 64
    models per group). Compare a method's ``F`` with that of retraining
    against retraining at the same number of models, as
    :func:`sk_unlearn.evaluation.evaluate_unlearning` does.

    Parameters
    ----------
    retrained : array-like of shape (n_models, n_rows)
        Logit-scaled confidences of the forgotten rows under models retrained
        without them (one model per seed).
    unlearned : array-like of shape (n_models, n_rows)
        The same under models that learned the rows and then unlearned them
        (one unlearning run per seed).
    delta : float, default=1e-5
        The delta of the per-row (epsilon, delta) estimate.

    Returns
    -------
    quality : ForgettingQuality

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn.metrics import forgetting_quality
    >>> rng = np.random.default_rng(0)
    >>> retrained = rng.normal(0, 1, size=(64, 20))
    >>> same = forgetting_quality(retrained, rng.normal(0, 1, size=(64, 20)))
    >>> 0.05 < same.F < 0.3  # the same distribution: the attack's noise floor at 64 models
    True
    >>> forgetting_quality(retrained, retrained + 10).F  # every row told apart
    0.0
    """
    R = np.atleast_2d(np.asarray(retrained, dtype=np.float64))
    U = np.atleast_2d(np.asarray(unlearned, dtype=np.float64))
    if R.shape[1] != U.shape[1] or R.shape[0] < 2 or U.shape[0] < 2:
        raise ValueError(
            "retrained and unlearned must be (n_models, n_rows) with the same rows and at "
            f"least 2 models each; got {R.shape} and {U.shape}."
        )
    if not (np.isfinite(R).all() and np.isfinite(U).all()):
        raise ValueError("Confidences must be finite.")
    epsilons = np.array([row_epsilon(R[:, j], U[:, j], delta=delta) for j in range(R.shape[1])])
    n_models = min(R.shape[0], U.shape[0])
    points = points_for(epsilons, n_models)
    return ForgettingQuality(
        F=float(points.mean()),
        epsilons=epsilons,
        points=points,
        over_forgotten=np.median(U, axis=0) < np.median(R, axis=0),
        n_models=n_models,
        delta=delta,
    )


def challenge_score(
    quality: float,
    retain_accuracy: tuple[float, float],
    test_accuracy: tuple[float, float],
) -> float:
    """The challenge's final score: ``F x (RA_u / RA_r) x (TA_u / TA_r)``.

    Parameters
    ----------
    quality : float
        The forgetting quality ``F``.
    retain_accuracy, test_accuracy : (unlearned, retrained) pairs of floats
        Mean accuracy on the retained training rows and on test rows, of the
        unlearned and of the retrained models.

    Examples
    --------
    >>> from sk_unlearn.metrics import challenge_score
    >>> challenge_score(0.5, (0.99, 1.0), (0.9, 0.95))  # doctest: +ELLIPSIS
    0.4689...
    """
    (ra_u, ra_r), (ta_u, ta_r) = retain_accuracy, test_accuracy
    return float(quality * (ra_u / ra_r) * (ta_u / ta_r))


def ulira_auc(
    retrained: ArrayLike,
    unlearned: ArrayLike,
    *,
    n_splits: int = 10,
    random_state: Any = 0,
) -> float:
    """The AUC of U-LiRA, a per-row likelihood-ratio attack on unlearning (Hayes et al.).

    The models of each group are split at random into halves, shadow and
    target. Per row, a Gaussian is fitted to its confidences under the
    unlearned shadows ("in": learned, then unlearned) and one under the
    retrained shadows ("out": never learned); each target model's confidence
    on the row is scored by the log-likelihood ratio in/out, and the ROC AUC
    of those scores (unlearned targets against retrained ones, all rows
    pooled) is averaged over ``n_splits`` random splits. 0.5: the attacker
    cannot tell unlearned models from retrained ones; 1: always can. The
    forget set is the same in every model here; Hayes et al. also vary it.

    Parameters
    ----------
    retrained, unlearned : array-like of shape (n_models, n_rows)
        As for :func:`forgetting_quality`; at least 4 models each.
    n_splits : int, default=10
    random_state : int, Generator or None, default=0

    Returns
    -------
    auc : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn.metrics import ulira_auc
    >>> rng = np.random.default_rng(0)
    >>> r, u = rng.normal(0, 1, (64, 30)), rng.normal(0, 1, (64, 30))
    >>> abs(ulira_auc(r, u) - 0.5) < 0.05
    True
    >>> ulira_auc(r, u + 3) > 0.95
    True
    """
    R = np.asarray(retrained, dtype=np.float64)
    U = np.asarray(unlearned, dtype=np.float64)
    if R.ndim != 2 or U.ndim != 2 or R.shape[1] != U.shape[1] or min(len(R), len(U)) < 4:
        raise ValueError(
            "retrained and unlearned must be (n_models, n_rows) with the same rows and at "
            f"least 4 models each; got {R.shape} and {U.shape}."
        )
    rng = np.random.default_rng(random_state)
    aucs = []
    for _ in range(n_splits):
        r_idx, u_idx = rng.permutation(len(R)), rng.permutation(len(U))
        r_shadow, r_target = R[r_idx[: len(R) // 2]], R[r_idx[len(R) // 2 :]]
        u_shadow, u_target = U[u_idx[: len(U) // 2]], U[u_idx[len(U) // 2 :]]
        inside, outside = _gaussian(u_shadow), _gaussian(r_shadow)
        scores = np.r_[_log_ratio(u_target, inside, outside), _log_ratio(r_target, inside, outside)]
        labels = np.r_[np.ones(u_target.size), np.zeros(r_target.size)]
        aucs.append(roc_auc_score(labels, scores))
    return float(np.mean(aucs))


def _log_ratio(
    confidences: np.ndarray,
    inside: tuple[np.ndarray, np.ndarray],
    outside: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Per (model, row), log N(c; in) - log N(c; out), flattened."""
    (mu_in, sd_in), (mu_out, sd_out) = inside, outside
    log_in = -0.5 * ((confidences - mu_in) / sd_in) ** 2 - np.log(sd_in)
    log_out = -0.5 * ((confidences - mu_out) / sd_out) ** 2 - np.log(sd_out)
    out: np.ndarray = (log_in - log_out).ravel()
    return out


def _gaussian(confidences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and standard deviation, the latter floored so a spike stays a density."""
    mean = confidences.mean(axis=0)
    sd = confidences.std(axis=0, ddof=1)
    floor = 1e-3 * (1.0 + np.abs(mean))
    return mean, np.maximum(sd, floor)
