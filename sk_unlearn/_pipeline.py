"""Forgetting through a fitted scikit-learn Pipeline."""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike
from sklearn.pipeline import Pipeline


def forget_through_pipeline(pipeline: Pipeline, X: ArrayLike, y: ArrayLike) -> Pipeline:
    """Forget rows from the final step of a fitted ``Pipeline``.

    ``Pipeline`` does not expose custom methods, so this helper transforms
    ``X`` with the fitted transformers (exactly as ``predict`` would) and
    calls ``forget`` on the final step, which must be an
    :class:`~sk_unlearn.UnlearnableClassifier` (or have ``forget``).

    The transformers are *not* refitted: statistics they learned from the
    forgotten rows (a scaler's mean, a PCA basis) keep that influence until
    the whole pipeline is refitted. The transformed rows must reproduce the
    ones the classifier was trained on bit for bit, which holds for
    element-wise transformers such as ``StandardScaler``.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline whose last step has ``forget``.
    X : array-like of shape (n_requests, n_features)
        Raw rows to forget, as they were given to ``pipeline.fit``.
    y : array-like of shape (n_requests,)
        Their labels.

    Returns
    -------
    pipeline : Pipeline
        The same pipeline, its final step having forgotten the rows.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_unlearn import UnlearnableClassifier, forget_through_pipeline
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(
    ...     StandardScaler(),
    ...     UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0),
    ... ).fit(X, y)
    >>> _ = forget_through_pipeline(pipe, X[:3], y[:3])
    >>> pipe[-1].n_forgotten_
    3
    """
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"Expected a Pipeline, got {type(pipeline).__name__}.")
    final: Any = pipeline.steps[-1][1]
    if not hasattr(final, "forget"):
        raise TypeError(
            f"The pipeline's final step {type(final).__name__} has no forget method; "
            "wrap it in UnlearnableClassifier."
        )
    Xt = pipeline[:-1].transform(X) if len(pipeline) > 1 else X
    final.forget(Xt, y)
    return pipeline
