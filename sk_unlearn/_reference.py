"""A calibrated, per-row reference for certificates: what would a model that never saw the row say?

:class:`OutOfFoldReference` trains, once, ``n_folds x n_repeats`` models on the
model's own training rows minus one fold (folds drawn by a keyed hash of the
row's content, so no list of rows is kept), and answers, for any row, how
confident models that never saw it are of its label. A certified model's
confidence is compared with that, row by row, in a two-sided test: more
confident than models that never saw the row means the row is still
remembered; less confident means it was over-forgotten. Both fail.

Two problems make raw confidences the wrong currency, and the test works in
another:

* the out-models are smaller than the model (they miss a fold), and every
  model has its own overall sharpness (a seed that trains to sharper
  probabilities is more confident on *every* row). Both shift raw scores
  far more than forgetting a row does. So each model's scores are put on its
  own scale first: the probit of the score's quantile among that model's
  scores on rows none of the models trained on (the calibration rows, with
  every label). A row's place among unseen rows is what carries over between
  models of different sizes and seeds;
* a few out-models per row give a noisy mean: the spread of a row's scaled
  score between out-models that never saw it is pooled over the training
  rows (in bins of the score), and the test allows for the noise of the mean.

The false-positive rate is measured, not assumed: at build time the model
itself is tested on half of the calibration rows (which no model saw, so
every flag there is a false positive), and the certificate reports that rate
beside the nominal ``alpha``.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from numpy.typing import ArrayLike
from scipy.stats import norm
from sklearn.base import clone

from ._adapter import weight_kwargs
from ._backends import adapter_for
from ._forgetting_quality import logit_scaled_confidence
from ._store import row_digests

#: Verdicts of a row in a calibrated certificate.
FORGOTTEN, REMEMBERED, OVER_FORGOTTEN = "forgotten", "remembered", "over-forgotten"

_N_BINS = 10
_MAX_SIGMA_ROWS = 2000


def confidences(estimator: Any, classes: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logit-scaled confidence of each row's label under a fitted estimator."""
    proba = adapter_for(estimator, classes).class_probabilities(X)
    return logit_scaled_confidence(proba, np.searchsorted(classes, y))


def every_label_confidences(estimator: Any, classes: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Logit-scaled confidences of every row with every label, flattened."""
    proba = adapter_for(estimator, classes).class_probabilities(X)
    return np.concatenate(
        [logit_scaled_confidence(proba, np.full(X.shape[0], j)) for j in range(len(classes))]
    )


def _rows_float64(X: Any) -> Any:
    """Rows as float64: an array, or a CSR matrix for sparse rows."""
    return X.tocsr().astype(np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)


def _repeat_rows(X: Any, k: int) -> Any:
    """Each row of ``X`` ``k`` times in a row (dense or sparse)."""
    return X[np.repeat(np.arange(X.shape[0]), k)]


def fit_clone(
    estimator: Any,
    classes: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    seed: int,
    sample_weight: np.ndarray | None = None,
) -> Any:
    """A clone of ``estimator`` fitted on ``(X, y)`` (weighted by ``sample_weight``),
    reseeded where it has a ``random_state``."""
    model = clone(estimator)
    if "random_state" in model.get_params(deep=False):
        model.set_params(random_state=seed)
    adapter_for(model, classes).fit(X, y, **weight_kwargs(sample_weight))
    return model


class QuantileScale:
    """A score's probit quantile among a model's scores on the calibration rows.

    Linear between the calibration scores, extended linearly past them with
    the slope of their outer 5%, so scores beyond every calibration score stay
    ordered instead of being clipped.
    """

    def __init__(self, scores: np.ndarray) -> None:
        values, counts = np.unique(np.asarray(scores, dtype=np.float64), return_counts=True)
        ends = np.cumsum(counts)
        mid_rank = (ends - counts / 2.0) / ends[-1]
        self.values = values
        self.probits = norm.ppf(np.clip(mid_rank, 0.5 / ends[-1], 1 - 0.5 / ends[-1]))
        k = max(1, len(values) // 20)
        self.slopes = (
            self._slope(slice(0, k + 1)),
            self._slope(slice(len(values) - k - 1, len(values))),
        )

    def _slope(self, part: slice) -> float:
        dv = self.values[part][-1] - self.values[part][0]
        dp = self.probits[part][-1] - self.probits[part][0]
        return float(dp / dv) if dv > 0 and dp > 0 else 1.0

    def inverse(self, probits: np.ndarray) -> np.ndarray:
        """The score whose scaled value is ``probits`` (the inverse map, extended the same way)."""
        p = np.asarray(probits, dtype=np.float64)
        out = np.interp(p, self.probits, self.values)
        low, high = p < self.probits[0], p > self.probits[-1]
        out[low] = self.values[0] + (p[low] - self.probits[0]) / self.slopes[0]
        out[high] = self.values[-1] + (p[high] - self.probits[-1]) / self.slopes[1]
        return out

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        s = np.asarray(scores, dtype=np.float64)
        out = np.interp(s, self.values, self.probits)
        low, high = s < self.values[0], s > self.values[-1]
        out[low] = self.probits[0] + (s[low] - self.values[0]) * self.slopes[0]
        out[high] = self.probits[-1] + (s[high] - self.values[-1]) * self.slopes[1]
        return out


class OutOfFoldReference:
    """What models that never saw a row would say about it: a calibrated, two-sided test.

    Pass it to :meth:`UnlearnableClassifier.certify
    <sk_unlearn.UnlearnableClassifier.certify>`, and to
    :meth:`~sk_unlearn.UnlearnableClassifier.forget` to stop relabeling each
    row at its reference level (calibrated stopping). The estimator builds it on
    first use, from its own training rows and recipe: ``n_folds x n_repeats``
    clones, each fitted on the training rows minus one fold. Building costs
    that many trainings (in parallel with ``n_jobs``); it is then reused for
    every later certificate and request until the model is fitted or retrained
    from scratch. See the module docstring for why scores are compared on each
    model's own quantile scale.

    For each certified row with its label, the test compares the model's
    scaled logit-scaled confidence ``q`` with the mean ``mu`` of the
    out-models that never saw the row: ``z = (q - mu) / (sigma sqrt(1 +
    1/m))``, ``sigma`` the pooled spread between such out-models and ``m`` their
    number. The row is

    * ``"remembered"`` when ``z`` exceeds the two-sided ``1 - alpha`` quantile
      of the normal distribution, or when the model predicts the row's label
      while fewer than half of the out-models do;
    * ``"over-forgotten"`` when ``z`` is below minus that quantile;
    * ``"forgotten"`` otherwise.

    ``alpha`` is the nominal false-positive rate per row (for a model that
    never saw the row); the rate measured on calibration rows at build time is
    reported beside it.

    The out-models were trained on rows that may be forgotten later: they
    hold those rows' influence. They live in memory only -- a pickled
    reference (or a pickled estimator) never carries them -- and are dropped
    with the reference.

    Parameters
    ----------
    X_calibration : array-like of shape (n_rows, n_features)
        Rows none of the models trained on (a validation or test split);
        labels are not needed, every label of every row is used. At least 20
        rows; a few hundred are plenty.
    n_folds : int, default=5
        Folds of the training rows; each out-model misses one.
    n_repeats : int, default=2
        Independent fold assignments (and seeds); each row is then unseen by
        ``n_repeats`` out-models. At least 2 (the spread needs two).
    alpha : float, default=0.05
        Nominal two-sided false-positive rate per row.
    n_jobs : int or None, default=None
        Trainings in parallel, through joblib (so on a Dask cluster under
        ``joblib.parallel_config(backend="dask")``).
    random_state : int or None, default=None
        Seeds the folds, the out-models and the calibration split.

    Attributes
    ----------
    build_seconds_ : float
        Wall-clock time the build took (set once built).
    false_positive_rate_ : float
        Share of (calibration row, label) pairs the build-time model was
        flagged on, though it never saw them.
    """

    def __init__(
        self,
        X_calibration: ArrayLike,
        *,
        n_folds: int = 5,
        n_repeats: int = 2,
        alpha: float = 0.05,
        n_jobs: int | None = None,
        random_state: int | None = None,
    ) -> None:
        X_cal = _rows_float64(X_calibration)
        if X_cal.ndim < 2 or X_cal.shape[0] < 20:
            raise ValueError(
                "X_calibration must be an array of at least 20 rows (2-d, or rows of any shape "
                f"for a backend that takes them); got shape {X_cal.shape}."
            )
        if not np.isfinite(X_cal.data if sp.issparse(X_cal) else X_cal).all():
            raise ValueError("X_calibration contains NaN or infinity.")
        if not (isinstance(n_folds, int) and n_folds >= 2):
            raise ValueError(f"n_folds must be an int >= 2, got {n_folds!r}.")
        if not (isinstance(n_repeats, int) and n_repeats >= 2):
            raise ValueError(f"n_repeats must be an int >= 2, got {n_repeats!r}.")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
        self.X_calibration = X_cal
        self.n_folds = n_folds
        self.n_repeats = n_repeats
        self.alpha = float(alpha)
        self.n_jobs = n_jobs
        self.random_state = random_state
        self._built_for: Any = None

    def __repr__(self) -> str:
        built = "built" if self.is_built_for(self._built_for) and self._built_for else "not built"
        return (
            f"OutOfFoldReference(n_calibration={self.X_calibration.shape[0]}, "
            f"n_folds={self.n_folds}, "
            f"n_repeats={self.n_repeats}, alpha={self.alpha}, {built})"
        )

    _PARAMETERS = ("X_calibration", "n_folds", "n_repeats", "alpha", "n_jobs", "random_state")

    def __getstate__(self) -> dict[str, Any]:
        # The out-models hold the influence of rows that may be forgotten: never
        # pickled. A pickled reference is its parameters, unbuilt.
        state = {name: self.__dict__[name] for name in self._PARAMETERS}
        state["_built_for"] = None
        return state

    @property
    def z_critical(self) -> float:
        """The two-sided critical value of the test, ``Phi^-1(1 - alpha / 2)``."""
        return float(norm.ppf(1 - self.alpha / 2))

    def is_built_for(self, key: Any) -> bool:
        """Whether the reference was built for the model state ``key`` (see ``build``)."""
        return key is not None and self._built_for == key

    # --------------------------------------------------------------- build
    def folds_of(self, X: np.ndarray) -> np.ndarray:
        """The fold of every row in every repeat, shape (n_rows, n_repeats), from its content."""
        digests = row_digests(X)  # dense or sparse: the digest of the dense row
        out = np.empty((len(digests), self.n_repeats), dtype=np.int64)
        for r, salt in enumerate(self._salts):
            for i, d in enumerate(digests):
                out[i, r] = int.from_bytes(hashlib.sha256(salt + d).digest()[:4], "little")
        return out % self.n_folds

    def build(
        self,
        key: Any,
        estimator: Any,
        classes: np.ndarray,
        X: np.ndarray,
        y: np.ndarray,
        model: Any,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        """Train the out-models on ``(X, y)`` and calibrate against the fitted ``model``.

        ``estimator`` is the recipe (cloned, reseeded per out-model), ``model``
        the fitted estimator whose rows these are; ``key`` names that model's
        state, so that a later state is not certified with a stale reference.
        ``sample_weight``: the rows' weights, as the model learned them.
        """
        start = time.perf_counter()
        self._built_for = None  # until the build has succeeded
        rng = np.random.default_rng(self.random_state)
        self._salts = [rng.bytes(16) for _ in range(self.n_repeats)]
        folds = self.folds_of(X)
        plan = [(r, k) for r in range(self.n_repeats) for k in range(self.n_folds)]
        seeds = rng.integers(0, np.iinfo(np.int32).max, size=len(plan))
        self._plan = plan

        kept = [folds[:, r] != k for r, k in plan]
        self._models = Parallel(n_jobs=self.n_jobs)(
            delayed(fit_clone)(
                estimator,
                classes,
                X[m],
                y[m],
                s,
                None if sample_weight is None else sample_weight[m],
            )
            for m, s in zip(kept, seeds)
        )
        self._classes = classes
        order = rng.permutation(self.X_calibration.shape[0])
        half = len(order) // 2
        self._scale_rows = self.X_calibration[order[:half]]
        self._check_rows = self.X_calibration[order[half:]]
        self._scales = [
            QuantileScale(every_label_confidences(m, classes, self._scale_rows))
            for m in self._models
        ]
        sample = rng.permutation(X.shape[0])[:_MAX_SIGMA_ROWS]
        self._sigma_edges, self._sigmas = self._pooled_spread(X[sample], y[sample], folds[sample])
        self.false_positive_rate_ = self._measured_false_positive_rate(model)
        self.build_seconds_ = time.perf_counter() - start
        self._built_for = key

    def _out_scores(self, X: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """Scaled confidences of the rows under each out-model; NaN where the model saw the row."""
        scores = np.full((len(self._models), X.shape[0]), np.nan)
        for i, ((r, k), model, scale) in enumerate(zip(self._plan, self._models, self._scales)):
            unseen = folds[:, r] == k
            if unseen.any():
                scores[i, unseen] = scale(confidences(model, self._classes, X[unseen], y[unseen]))
        return scores

    def _pooled_spread(
        self, X: np.ndarray, y: np.ndarray, folds: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bins of the mean scaled score, and the pooled spread between out-models in each.

        Every label of every sampled training row is used (each pair is unseen
        by the out-models that missed the row's fold), so the bins cover wrong
        labels -- the scores of mislabeled rows -- as densely as right ones.
        """
        k = len(self._classes)
        X_all = _repeat_rows(X, k)
        y_all = np.tile(self._classes, X.shape[0])
        scores = self._out_scores(X_all, y_all, np.repeat(folds, k, axis=0))
        mean = np.nanmean(scores, axis=0)
        variance = np.nanvar(scores, axis=0, ddof=1)
        edges = np.quantile(mean, np.linspace(0, 1, _N_BINS + 1))
        bins = np.clip(np.searchsorted(edges, mean, side="right") - 1, 0, _N_BINS - 1)
        pooled = np.sqrt(np.mean(variance))
        sigmas = np.array(
            [
                np.sqrt(np.mean(variance[bins == b])) if (bins == b).any() else pooled
                for b in range(_N_BINS)
            ]
        )
        return edges, np.maximum(sigmas, 1e-3)

    def _sigma_at(self, mean: np.ndarray) -> np.ndarray:
        bins = np.clip(np.searchsorted(self._sigma_edges, mean, side="right") - 1, 0, _N_BINS - 1)
        out: np.ndarray = self._sigmas[bins]
        return out

    def _measured_false_positive_rate(self, model: Any) -> float:
        """How often ``model`` is flagged on calibration rows it never saw, over every label."""
        n, k = self._check_rows.shape[0], len(self._classes)
        X = _repeat_rows(self._check_rows, k)
        y = np.tile(self._classes, n)
        verdicts, _, _ = self._test(model, X, y, unseen_by_all=True)
        return float(np.mean(verdicts != FORGOTTEN))

    # ---------------------------------------------------------------- test
    def test(
        self, model: Any, X: np.ndarray, y: np.ndarray, *, unseen_by_all: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Verdicts, z-scores and the out-models' mean scaled scores for rows ``(X, y)``.

        ``unseen_by_all`` says no out-model saw the rows (calibration rows):
        every out-model then answers for them.
        """
        if self._built_for is None:
            raise RuntimeError("The reference is not built yet.")
        return self._test(model, X, y, unseen_by_all=unseen_by_all)

    def _test(
        self, model: Any, X: np.ndarray, y: np.ndarray, *, unseen_by_all: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        folds = np.zeros((X.shape[0], self.n_repeats), dtype=np.int64)
        if unseen_by_all:
            scores = self._out_scores_all(X, y)
        else:
            folds = self.folds_of(X)
            scores = self._out_scores(X, y, folds)
        m = np.sum(~np.isnan(scores), axis=0)
        mean = np.nanmean(scores, axis=0)
        q = self.scale_of(model)(confidences(model, self._classes, X, y))
        z = (q - mean) / (self._sigma_at(mean) * np.sqrt(1 + 1 / m))
        verdicts = np.full(X.shape[0], FORGOTTEN, dtype=object)
        verdicts[z < -self.z_critical] = OVER_FORGOTTEN
        label_kept = self._label_still_predicted(model, X, y, folds, unseen_by_all)
        verdicts[(z > self.z_critical) | label_kept] = REMEMBERED
        return verdicts, z, mean

    def _out_scores_all(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.array(
            [
                scale(confidences(model, self._classes, X, y))
                for model, scale in zip(self._models, self._scales)
            ]
        )

    def _label_still_predicted(
        self, model: Any, X: np.ndarray, y: np.ndarray, folds: np.ndarray, unseen_by_all: bool
    ) -> np.ndarray:
        """The model predicts the row's label where most models that never saw it do not."""
        predicted = adapter_for(model, self._classes).predict(X) == y
        votes = np.zeros(X.shape[0])
        counts = np.zeros(X.shape[0])
        for (r, k), out_model in zip(self._plan, self._models):
            unseen = np.ones(X.shape[0], dtype=bool) if unseen_by_all else folds[:, r] == k
            if unseen.any():
                predicts = adapter_for(out_model, self._classes).predict(X[unseen])
                votes[unseen] += predicts == y[unseen]
                counts[unseen] += 1
        out: np.ndarray = predicted & (votes < counts / 2)
        return out

    def scale_of(self, model: Any) -> QuantileScale:
        """``model``'s quantile scale on the calibration rows."""
        return QuantileScale(every_label_confidences(model, self._classes, self._scale_rows))

    def stopping_levels(
        self, model: Any, X: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the confidence models that never saw it give, and one deviation below.

        Both on ``model``'s own raw scale (the out-models' mean scaled score,
        and that minus one spread of the test, mapped back through ``model``'s
        quantile scale): calibrated stopping relabels a row down to the first
        and undoes a step that takes it below the second. Computed once per
        ``forget`` call, for all its rows.
        """
        scores = self._out_scores(X, y, self.folds_of(X))
        m = np.sum(~np.isnan(scores), axis=0)
        mean = np.nanmean(scores, axis=0)
        spread = self._sigma_at(mean) * np.sqrt(1 + 1 / m)
        scale = self.scale_of(model)
        return scale.inverse(mean), scale.inverse(mean - spread)
