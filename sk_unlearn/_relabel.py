"""Building the mini-batch that serves one deletion request.

Random relabeling (Li & Ghosh) answers a request ``(x, y)`` with ``k'`` copies
of ``x``, each carrying a different label drawn from the ``k - 1`` labels that
are not ``y``. Optionally a few retained rows of class ``y`` are replayed in the
same batch, which keeps the model from drifting away from that class.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def complementary_labels(
    label: Any, classes: np.ndarray, n_relabels: int, rng: np.random.Generator
) -> np.ndarray:
    """Draw ``n_relabels`` distinct labels from ``classes``, never ``label``.

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
    wrong = classes[classes != label]
    if not 1 <= n_relabels <= wrong.size:
        raise ValueError(
            f"n_relabels must be between 1 and n_classes - 1 = {wrong.size}; got {n_relabels}."
        )
    return wrong[rng.permutation(wrong.size)[:n_relabels]]


def relabel_batch(
    x: np.ndarray,
    wrong_labels: np.ndarray,
    replay_X: np.ndarray,
    replay_y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Stack the relabeled copies of ``x`` with the replayed rows.

    Returns
    -------
    X_batch : ndarray of shape (len(wrong_labels) + len(replay_X), n_features)
    y_batch : ndarray of shape (len(wrong_labels) + len(replay_X),)
    """
    copies = np.broadcast_to(x, (wrong_labels.size, x.shape[0]))
    X_batch = np.concatenate([copies, replay_X.astype(x.dtype, copy=False)])
    y_batch = np.concatenate([wrong_labels, replay_y.astype(wrong_labels.dtype, copy=False)])
    return X_batch, y_batch
