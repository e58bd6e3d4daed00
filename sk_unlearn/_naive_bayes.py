"""Exact removal for the naive Bayes family, by sufficient statistics.

A naive Bayes model is a function of per-class counts (or, for
``GaussianNB``, per-class means and variances): removing a row subtracts its
contribution, in O(n_features) work per row, and the model is then the one a
fresh fit on the remaining rows gives (to floating-point rounding). The
derived quantities (log probabilities, priors) are recomputed with
scikit-learn's own update methods, the same ones its ``partial_fit`` calls.

Two normalisations make "the model equals a fresh fit on the retained rows"
hold after any mix of ``fit``, ``partial_fit`` and removals, where
scikit-learn's incremental bookkeeping would otherwise depend on the order of
the batches:

* ``CategoricalNB``: ``n_categories_`` is the number of categories the counts
  hold (scikit-learn's ``partial_fit`` sets it to the last batch's); after a
  removal, categories no retained row has are dropped, as a fresh fit would
  not see them.
* ``GaussianNB``: the variance smoothing ``epsilon_`` is computed from the
  variance of *all* retained rows (scikit-learn's ``partial_fit`` uses the
  last batch's), derived from the per-class statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import naive_bayes

from ._adapter import weight_kwargs
from ._sklearn_adapters import PartialFitAdapter


def _one_hot(
    y: np.ndarray, classes: np.ndarray, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Rows of ``y`` as float indicator rows over ``classes``, scaled by ``sample_weight``
    (as the estimators' own ``fit`` weights them)."""
    Y: np.ndarray = (np.asarray(y)[:, np.newaxis] == classes[np.newaxis, :]).astype(np.float64)
    if sample_weight is not None:
        Y *= np.asarray(sample_weight, dtype=np.float64)[:, np.newaxis]
    return Y


class _NaiveBayesAdapter(PartialFitAdapter):
    """What the naive Bayes adapters share: a relabel step is ``partial_fit``, removal is exact."""

    removes_rows_exactly = True

    def _refresh(self) -> None:
        """Recompute the log probabilities and priors from the counts, as ``partial_fit`` does."""
        est = self.estimator
        est._update_feature_log_prob(est._check_alpha())
        est._update_class_log_prior(class_prior=est.class_prior)


class CountingNBAdapter(_NaiveBayesAdapter):
    """``MultinomialNB``, ``ComplementNB`` and ``BernoulliNB``: per-class feature counts.

    Removal runs the estimator's own counting with negated class indicators
    (scaled by the rows' sample weights, as ``fit`` scales them; the rows
    binarised first for ``BernoulliNB``, as its ``partial_fit`` does), then
    recomputes the log probabilities and priors.
    """

    name = "naive-bayes-counts"
    removes_weighted_rows_exactly = True

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(
            estimator,
            (naive_bayes.MultinomialNB, naive_bayes.ComplementNB, naive_bayes.BernoulliNB),
        )

    def remove_rows(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> None:
        est = self.estimator
        counted = X
        if getattr(est, "binarize", None) is not None:
            counted = (X > est.binarize).astype(np.float64)
        est._count(counted, -_one_hot(y, est.classes_, sample_weight))
        # Sums of non-integer values can leave -1e-17 where a fresh fit has 0.
        np.maximum(est.feature_count_, 0.0, out=est.feature_count_)
        np.maximum(est.class_count_, 0.0, out=est.class_count_)
        self._refresh()


class CategoricalNBAdapter(_NaiveBayesAdapter):
    """``CategoricalNB``: per-class, per-feature category counts.

    Removal subtracts the rows' (weighted) category counts with the
    estimator's own counting, then drops trailing categories no retained row
    has (down to ``min_categories``), so the counts have the shape a fresh
    fit gives.
    """

    name = "naive-bayes-categorical"
    removes_weighted_rows_exactly = True

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, naive_bayes.CategoricalNB)

    def partial_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        super().partial_fit(X, y, classes, **weight_kwargs(sample_weight))
        self._trim_categories()

    def remove_rows(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> None:
        est = self.estimator
        est._count(np.asarray(X, dtype=np.int64), -_one_hot(y, est.classes_, sample_weight))
        self._trim_categories()
        self._refresh()

    def _trim_categories(self) -> None:
        est = self.estimator
        n_features = len(est.category_count_)
        floor = est._validate_n_categories(
            np.zeros((1, n_features), dtype=np.int64), est.min_categories
        )
        sizes = []
        for i, counts in enumerate(est.category_count_):
            present = np.flatnonzero(counts.sum(axis=0) > 0)
            size = max(int(present[-1]) + 1 if present.size else 0, int(floor[i]))
            est.category_count_[i] = counts[:, :size]
            sizes.append(size)
        est.n_categories_ = np.asarray(sizes, dtype=np.int64)


class GaussianNBAdapter(_NaiveBayesAdapter):
    """``GaussianNB``: per-class counts, means and variances.

    Removal downdates each class's (weighted) mean and variance with the
    inverse of the parallel (Chan et al.) merge that ``GaussianNB.partial_fit``
    uses; a class left without weight gets the zero mean and variance of a
    class never seen. The variance smoothing ``epsilon_`` is then recomputed
    from the variance of all retained rows, as ``fit`` computes it.

    ``fit`` takes ``epsilon_`` from the *unweighted* variance of the rows,
    which weighted per-class statistics do not determine. So the adapter keeps
    the unweighted count, mean and sum of squared deviations of the retained
    rows beside the model (the estimator attribute ``_unweighted_moments``,
    aggregates of the same kind as ``theta_`` and ``var_``, no row in it),
    merged on ``partial_fit`` and downdated on removal like the class
    statistics, and weighted rows are removed exactly too.
    """

    name = "naive-bayes-gaussian"
    removes_weighted_rows_exactly = True

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, naive_bayes.GaussianNB)

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        super().fit(X, y, sample_weight)
        self.estimator._unweighted_moments = _moments_of(X)

    def partial_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        est = self.estimator
        if not hasattr(est, "theta_"):
            super().partial_fit(X, y, classes, **weight_kwargs(sample_weight))
            est._unweighted_moments = _moments_of(X)
            return
        moments = self._moments()
        # GaussianNB.partial_fit takes off the *new* batch's epsilon before
        # merging: hand it a variance that carries exactly that one.
        batch_epsilon = est.var_smoothing * float(np.var(X, axis=0).max())
        est.var_ += batch_epsilon - est.epsilon_
        super().partial_fit(X, y, classes, **weight_kwargs(sample_weight))
        est._unweighted_moments = _merged(moments, _moments_of(X))
        self._smooth(est.var_ - est.epsilon_)

    def remove_rows(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> None:
        est = self.estimator
        moments = _downdated(self._moments(), _moments_of(X))
        y = np.asarray(y)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        theta = est.theta_.copy()
        within = est.var_ - est.epsilon_
        counts = est.class_count_.copy()
        for label in np.unique(y):
            i = int(np.searchsorted(est.classes_, label))
            mask = y == label
            removed = _moments_of(X[mask], weights[mask])
            if removed[0] == 0.0:
                continue  # rows of weight zero never moved the class statistics
            n, mean, ssd = _downdated((counts[i], theta[i], counts[i] * within[i]), removed)
            if n == 0.0:
                theta[i], within[i], counts[i] = 0.0, 0.0, 0.0
                continue
            theta[i], within[i], counts[i] = mean, ssd / n, n
        est.theta_, est.class_count_ = theta, counts
        est._unweighted_moments = moments
        if est.priors is None:
            total = counts.sum()
            est.class_prior_ = counts / total if total > 0 else np.zeros_like(counts)
        self._smooth(within)

    def _moments(self) -> _Moments:
        """The retained rows' unweighted moments: kept, or derived from unweighted class statistics.

        A model fitted before the moments were kept was fitted without
        weights (they were refused then), so its class statistics are the
        unweighted ones and determine the moments exactly.
        """
        est = self.estimator
        kept: _Moments | None = getattr(est, "_unweighted_moments", None)
        if kept is not None:
            return kept
        counts = est.class_count_.astype(np.float64)
        total = float(counts.sum())
        within = est.var_ - est.epsilon_
        mean = (counts[:, np.newaxis] * est.theta_).sum(axis=0) / total
        ssd = (counts[:, np.newaxis] * (within + (est.theta_ - mean) ** 2)).sum(axis=0)
        return total, mean, ssd

    def _smooth(self, within: np.ndarray) -> None:
        """Set ``var_ = within + epsilon_`` with ``epsilon_`` from all retained rows."""
        est = self.estimator
        n, _, ssd = self._moments()
        if n > 0:
            est.epsilon_ = est.var_smoothing * float((ssd / n).max())
        est.var_ = within + est.epsilon_


#: (count, mean, sum of squared deviations) of a set of rows, per feature.
_Moments = tuple[float, np.ndarray, np.ndarray]


def _moments_of(X: np.ndarray, weights: np.ndarray | None = None) -> _Moments:
    """The (weighted) count, mean and sum of squared deviations of the rows ``X``."""
    X = np.asarray(X, dtype=np.float64)
    if weights is None:
        mean = X.mean(axis=0)
        return float(X.shape[0]), mean, ((X - mean) ** 2).sum(axis=0)
    n = float(weights.sum())
    if np.isclose(n, 0.0):  # as GaussianNB treats a batch of no weight
        return 0.0, np.zeros(X.shape[1]), np.zeros(X.shape[1])
    mean = np.average(X, axis=0, weights=weights)
    return n, mean, (weights[:, np.newaxis] * (X - mean) ** 2).sum(axis=0)


def _merged(a: _Moments, b: _Moments) -> _Moments:
    """The moments of two sets of rows together (Chan et al.'s parallel merge)."""
    (n_a, mean_a, ssd_a), (n_b, mean_b, ssd_b) = a, b
    n = n_a + n_b
    delta = mean_b - mean_a
    return n, mean_a + delta * (n_b / n), ssd_a + ssd_b + delta**2 * (n_a * n_b / n)


def _downdated(whole: _Moments, part: _Moments) -> _Moments:
    """The moments of ``whole`` without the rows ``part`` (the merge run backwards).

    A remainder of (close to) no weight gets count, mean and deviations 0.
    """
    (n, mean, ssd), (m, mean_part, ssd_part) = whole, part
    left = n - m
    if left <= 0 or np.isclose(left, 0.0):
        return 0.0, np.zeros_like(mean, dtype=np.float64), np.zeros_like(ssd, dtype=np.float64)
    mean_left = (n * mean - m * mean_part) / left
    ssd_left = ssd - ssd_part - (left * m / n) * (mean_left - mean_part) ** 2
    return float(left), mean_left, np.maximum(ssd_left, 0.0)
