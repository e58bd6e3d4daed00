"""Forgetting through a fitted scikit-learn Pipeline."""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike
from sklearn.pipeline import Pipeline

from ._store import UnknownRowError


def forget_through_pipeline(
    pipeline: Pipeline,
    X: ArrayLike | None = None,
    y: ArrayLike | None = None,
    *,
    sample_id: Any = None,
    ticket: str | None = None,
) -> Pipeline:
    """Forget rows from the final step of a fitted ``Pipeline``, by data-subject id or by value.

    ``Pipeline`` does not expose custom methods, so this helper calls
    ``forget`` on the final step, which must be an
    :class:`~sk_unlearn.UnlearnableClassifier` (or have ``forget``).

    - **By id** (``sample_id=``, for a pipeline fitted with
      ``pipeline.fit(X, y, <step>__sample_id=ids)``, or ``sample_id=ids``
      under scikit-learn's metadata routing): the final step finds the rows
      it learned by id, whatever the transformers do. This works for every
      transformer and is the recommended way.
    - **By value** (``X``, ``y``): ``X`` is transformed with the fitted
      transformers (exactly as ``predict`` would) and the transformed rows
      must reproduce the ones the classifier was trained on bit for bit.
      Element-wise transformers such as ``StandardScaler`` do; TF-IDF, PCA
      and TruncatedSVD often differ in the last bit between the batch seen by
      ``fit`` and a later ``transform``, and the request then fails with an
      :class:`~sk_unlearn.UnknownRowError` that says so and points to ids.

    The transformers are *not* refitted: statistics they learned from the
    forgotten rows (a scaler's mean, a PCA basis, a TF-IDF vocabulary and its
    document frequencies) keep that influence until the whole pipeline is
    refitted on the retained data (``pipeline.fit`` on the rows you keep).

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline whose last step has ``forget``.
    X : array-like of shape (n_requests, n_features), default=None
        Raw rows to forget, as they were given to ``pipeline.fit``.
    y : array-like of shape (n_requests,), default=None
        Their labels.
    sample_id : id or sequence of ids, default=None
        Instead of ``X`` and ``y``: the data subjects to forget.
    ticket : str, default=None
        The request's reference, for the ledger (see
        :meth:`UnlearnableClassifier.forget`).

    Returns
    -------
    pipeline : Pipeline
        The same pipeline, its final step having forgotten the rows.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_unlearn import UnlearnableClassifier, forget_through_pipeline
    >>> X, y = load_iris(return_X_y=True)
    >>> ids = [f"customer-{i}" for i in range(len(X))]
    >>> pipe = make_pipeline(
    ...     StandardScaler(), PCA(2),
    ...     UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0),
    ... ).fit(X, y, unlearnableclassifier__sample_id=ids)
    >>> _ = forget_through_pipeline(pipe, sample_id=ids[:3], ticket="DSR-7")
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
    if sample_id is not None:
        if X is not None or y is not None:
            raise ValueError(
                "Pass either the rows (X, y) or their data-subject ids (sample_id=...), not both."
            )
        final.forget(sample_id=sample_id, ticket=ticket)
        return pipeline
    if X is None or y is None:
        raise ValueError(
            "forget_through_pipeline needs the raw rows and their labels (X, y), or the "
            "data-subject ids the pipeline was fitted with (sample_id=...)."
        )
    Xt = pipeline[:-1].transform(X) if len(pipeline) > 1 else X
    try:
        final.forget(Xt, y, **({} if ticket is None else {"ticket": ticket}))
    except UnknownRowError as exc:
        if len(pipeline) == 1:
            raise
        raise UnknownRowError(
            f"{exc} (The rows were transformed by the pipeline's "
            f"{', '.join(name for name, _ in pipeline.steps[:-1])} step(s) first; a transformer "
            "whose output is not reproduced bit for bit makes a trained row look unknown. Fit "
            "the pipeline with sample_id and forget by id.)"
        ) from exc
    return pipeline
