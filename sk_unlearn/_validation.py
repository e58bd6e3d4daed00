"""Checks on what callers pass in: labels, request batches, relabeling counts.

Pure functions that take the values they check and either return them in
canonical form or raise a ``ValueError`` that names the problem. Nothing here
changes an estimator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_consistent_length, column_or_1d

#: The floating dtypes rows are validated to (float32 stays float32).
DTYPES = [np.float64, np.float32]
_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def is_plain_rows(X: Any, n_features: int, row_shape: tuple[int, ...]) -> bool:
    """Whether ``X`` is what scikit-learn's validation would return unchanged: a 2-d
    float64/float32 NumPy array of at least one row of ``n_features`` finite values, rows of
    shape ``row_shape``.

    Such a request needs no ``validate_data`` (~100-200 µs, most of it
    looking for a dataframe); anything else goes through it, which converts
    it or raises scikit-learn's own error. Fitted with feature names, every
    call goes through it too (it checks them).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._validation import is_plain_rows
    >>> is_plain_rows(np.zeros((1, 3)), 3, (3,)), is_plain_rows(np.full((1, 3), np.nan), 3, (3,))
    (True, False)
    >>> is_plain_rows([[0.0, 0.0, 0.0]], 3, (3,))
    False
    """
    return (
        type(X) is np.ndarray
        and X.dtype in _FLOATS
        and X.ndim == 2
        and X.shape[0] > 0
        and X.shape[1] == n_features
        and row_shape == (n_features,)
        and bool(np.isfinite(X).all())
    )


def as_array(values: Any) -> Any:
    """A torch tensor as a NumPy array (copied to the CPU); anything else unchanged.

    skorch takes tensors as well as arrays; the rows are kept (and hashed) as
    NumPy arrays. torch is not imported: a tensor's type is recognised by its
    module.

    Examples
    --------
    >>> import torch
    >>> from sk_unlearn._validation import as_array
    >>> as_array(torch.ones(2, 3)).shape
    (2, 3)
    >>> as_array([1, 2])
    [1, 2]
    """
    if type(values).__module__.split(".")[0] == "torch" and hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return values


def refuse_strings(X: Any) -> Any:
    """``X`` unchanged, unless it holds strings or bytes: then ``ValueError``.

    scikit-learn refuses them where it asks for numeric data
    (``check_array(dtype="numeric")``); the wrapper asks for floats, which
    would silently parse ``"1.5"``. A row is not a string of digits.

    Examples
    --------
    >>> from sk_unlearn._validation import refuse_strings
    >>> refuse_strings([[1.0, 2.0]])
    [[1.0, 2.0]]
    >>> refuse_strings([["1.0", "2.0"]])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: dtype='numeric' is not compatible with arrays of bytes/strings. ...
    """
    dtype = getattr(X, "dtype", None)
    if dtype is None and not hasattr(X, "shape"):
        dtype = np.asarray(X).dtype  # a list: what it converts to
    if getattr(dtype, "kind", None) in ("U", "S", "V"):
        raise ValueError(
            "dtype='numeric' is not compatible with arrays of bytes/strings. "
            "Convert your data to numeric values explicitly instead."
        )
    return X


def n_dims(values: Any) -> int:
    """The number of dimensions of an array-like, without NumPy's array functions.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._validation import n_dims
    >>> n_dims(np.zeros((2, 1, 8, 8))), n_dims([[1, 2], [3, 4]])
    (4, 2)
    """
    ndim = getattr(values, "ndim", None)
    return int(ndim) if ndim is not None else np.asarray(values).ndim


def check_row_shape(shape: tuple[int, ...], fitted: tuple[int, ...]) -> None:
    """Raise unless rows of ``shape`` are rows of the ``fitted`` shape.

    Examples
    --------
    >>> from sk_unlearn._validation import check_row_shape
    >>> check_row_shape((1, 8, 8), (1, 8, 8))
    >>> check_row_shape((64,), (1, 8, 8))
    Traceback (most recent call last):
    ...
    ValueError: X has rows of shape (64,); the model was trained on rows of shape (1, 8, 8).
    """
    if tuple(shape) != tuple(fitted):
        raise ValueError(
            f"X has rows of shape {tuple(shape)}; the model was trained on rows of shape "
            f"{tuple(fitted)}."
        )


def check_known_labels(y: np.ndarray, classes: np.ndarray) -> None:
    """Raise if a label of ``y`` is not one of ``classes``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._validation import check_known_labels
    >>> check_known_labels(np.array([1, 7]), np.array([0, 1]))
    Traceback (most recent call last):
    ...
    ValueError: Label(s) [7] not among the classes [0, 1].
    """
    known = _known(y, classes)
    if not known.all():
        unknown = np.unique(y[~known])
        raise ValueError(f"Label(s) {unknown.tolist()} not among the classes {classes.tolist()}.")


def _known(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Which labels of ``y`` are among ``classes``: a binary search where ``classes`` are
    sorted (for the one-row requests of a stream, ~10x sooner than ``np.isin``), else
    ``np.isin``."""
    try:
        if len(classes) and bool(np.all(classes[:-1] < classes[1:])):
            at = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
            return np.asarray(classes[at] == y, dtype=bool)
    except TypeError:  # labels and classes of kinds that do not compare
        pass
    return np.isin(y, classes)


def labels_for(y: Any, n_rows: int, classes: np.ndarray) -> np.ndarray:
    """``y`` as a 1-d array of ``n_rows`` known labels.

    A column vector is accepted with scikit-learn's ``DataConversionWarning``.
    """
    y_arr = np.asarray(y)
    if y_arr.ndim != 1:
        y_arr = column_or_1d(y_arr, warn=True)  # scikit-learn's message and warning
    if len(y_arr) != n_rows:
        check_consistent_length(np.empty(n_rows), y_arr)  # scikit-learn's message
    check_known_labels(y_arr, classes)
    return y_arr


def partial_fit_classes(classes: Any, fitted_classes: np.ndarray | None) -> np.ndarray:
    """The classes a ``partial_fit`` call learns with.

    On the first call (``fitted_classes`` None) ``classes`` is required; on
    later calls it may be omitted but must not differ.
    """
    if fitted_classes is None:
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        known: np.ndarray = unique_labels(classes)
        return known
    if classes is not None and not np.array_equal(fitted_classes, unique_labels(classes)):
        raise ValueError(
            f"classes={classes!r} is not the same as on the first call: {fitted_classes!r}."
        )
    return fitted_classes


def n_relabels_for(
    n_relabels: int | str | None, classes: np.ndarray, auto: int | None = None
) -> int:
    """The number of relabeled copies per request.

    ``n_relabels``; ``None`` is ``n_classes - 1``; ``"auto"`` is the
    backend's measured default ``auto`` (``None``: ``n_classes - 1``).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._validation import n_relabels_for
    >>> n_relabels_for(None, np.arange(10))
    9
    >>> n_relabels_for("auto", np.arange(10), auto=1)
    1
    """
    n_wrong = len(classes) - 1
    if isinstance(n_relabels, str):  # "auto"
        return max(n_wrong, 1) if auto is None else min(auto, max(n_wrong, 1))
    if n_relabels is None:
        return max(n_wrong, 1)
    if n_relabels > n_wrong:
        raise ValueError(
            f"n_relabels={n_relabels} exceeds the {n_wrong} wrong labels "
            f"available with {len(classes)} classes."
        )
    return int(n_relabels)


#: The longest ``ticket`` a ``forget`` call may carry into the ledger.
MAX_TICKET = 200


def check_ticket(ticket: Any) -> None:
    """Raise unless ``ticket`` is None or a non-empty one-line string of at most 200 characters.

    Examples
    --------
    >>> from sk_unlearn._validation import check_ticket
    >>> check_ticket("DSR-42")
    >>> check_ticket(42)
    Traceback (most recent call last):
    ...
    TypeError: ticket must be a str or None; got int.
    """
    if ticket is None:
        return
    if not isinstance(ticket, str):
        raise TypeError(f"ticket must be a str or None; got {type(ticket).__name__}.")
    if not ticket.strip() or len(ticket) > MAX_TICKET or not ticket.isprintable():
        raise ValueError(
            f"ticket must be a non-empty, printable one-line string of at most {MAX_TICKET} "
            f"characters; got one of {len(ticket)} characters."
        )
