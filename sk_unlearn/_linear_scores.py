"""Class probabilities of scikit-learn's SGD classifiers without their input validation.

A request asks the model for one row's probabilities once or twice (the
``"soft"`` and ``"boundary"`` strategies' scores, the finiteness check after
the step). ``SGDClassifier.predict_proba`` spends most of its time validating
that one row (~100-200 µs: dtype, finiteness, looking for a dataframe); the
rows the wrapper passes are already validated, so :func:`probabilities`
computes the same numbers directly from ``coef_`` and ``intercept_``, with
scikit-learn's formulas (``LinearClassifierMixin._predict_proba_lr`` for
``log_loss``; the clipped, normalised scores of ``SGDClassifier.predict_proba``
for ``modified_huber``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

#: The losses whose probabilities :func:`probabilities` computes.
LOSSES = ("log_loss", "modified_huber")


def decision(estimator: Any, X: Any) -> np.ndarray:
    """``X @ coef_.T + intercept_``, shape (n_rows, n_models)."""
    return np.asarray(X @ estimator.coef_.T) + estimator.intercept_


def probabilities(estimator: Any, X: Any) -> np.ndarray:
    """``estimator.predict_proba(X)`` for a fitted SGD classifier with a loss in :data:`LOSSES`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sk_unlearn._linear_scores import probabilities
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> clf = SGDClassifier(loss="log_loss", random_state=0).fit(X, [0, 1, 2])
    >>> bool(np.allclose(probabilities(clf, X), clf.predict_proba(X)))
    True
    """
    scores = decision(estimator, X)
    if estimator.loss == "log_loss":
        prob = expit(scores)
    else:  # modified_huber
        prob = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
    if prob.shape[1] == 1:  # binary: the model scores class 1
        return np.hstack([1.0 - prob, prob])
    total = prob.sum(axis=1)
    none = total == 0  # every class scored zero: uniform, as scikit-learn does
    prob[none, :] = 1.0
    total[none] = prob.shape[1]
    return prob / total[:, np.newaxis]
