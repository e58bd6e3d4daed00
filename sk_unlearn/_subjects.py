"""Data-subject ids: what a user may pass as ``sample_id``, in one canonical form.

A deletion request usually names a person ("delete customer 42"), not a
float vector. Rows learned with ``sample_id=`` can be forgotten by that id.
An id is personal data too, so it is never kept as given: the row store keeps
a salted digest of its canonical bytes and the ledger a keyed one (see
:func:`sk_unlearn._keys.keyed_subject_hash`).

Ids are ``str``, ``int`` (NumPy integers too), ``bytes``, :class:`uuid.UUID`
(taken as its string) or tuples of these. Floats are refused: a customer
number read back from a CSV file with a missing value becomes ``42.0``, and
an id must survive such round trips unchanged. ``bool`` is refused too (it
is an ``int`` to Python, rarely meant as one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["as_subject_ids", "requested_subjects", "subject_bytes"]


def subject_bytes(value: Any) -> bytes:
    """The canonical bytes of one id: its kind and its value.

    Equal ids of different Python or NumPy types (``42`` and ``np.int64(42)``,
    ``"a"`` and ``np.str_("a")``) give the same bytes; ``42`` and ``"42"``
    do not.

    Parameters
    ----------
    value : str, int, bytes, uuid.UUID or tuple of these
        One data-subject id.

    Returns
    -------
    canonical : bytes

    Raises
    ------
    TypeError
        For any other kind of value, saying which kinds are accepted.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._subjects import subject_bytes
    >>> subject_bytes(42) == subject_bytes(np.int64(42))
    True
    >>> subject_bytes(42) == subject_bytes("42")
    False
    >>> subject_bytes(42.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: A sample_id must be a str, an int, bytes, a UUID or a tuple of them; got float ...
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, uuid.UUID):
        value = str(value)
    if isinstance(value, bool):
        pass  # refused below, although it is an int
    elif isinstance(value, int):
        return b"int:" + str(value).encode()
    elif isinstance(value, str):
        return b"str:" + value.encode("utf-8", "surrogatepass")
    elif isinstance(value, bytes):
        return b"bytes:" + value
    elif isinstance(value, tuple):
        parts = [subject_bytes(part) for part in value]
        return b"tuple:" + b"".join(len(p).to_bytes(8, "big") + p for p in parts)
    hint = ""
    if isinstance(value, float):
        hint = " (a float id does not survive CSV round trips: cast the ids to int or str)"
    raise TypeError(
        "A sample_id must be a str, an int, bytes, a UUID or a tuple of them; got "
        f"{type(value).__name__}{hint}."
    )


def _values(sample_id: Any) -> list[Any]:
    if hasattr(sample_id, "to_numpy"):  # a pandas Series or Index
        sample_id = sample_id.to_numpy()
    if isinstance(sample_id, np.ndarray):
        if sample_id.ndim != 1:
            raise ValueError(
                f"sample_id must be 1-d, one id per row; got an array of shape {sample_id.shape}."
            )
        return list(sample_id)
    if isinstance(sample_id, Iterable) and not isinstance(sample_id, (str, bytes, tuple)):
        return list(sample_id)
    if isinstance(sample_id, tuple):
        return list(sample_id)
    raise TypeError(
        f"sample_id must be a sequence with one id per row; got {type(sample_id).__name__}. "
        "Wrap a single id in a list."
    )


def as_subject_ids(sample_id: Any, n_rows: int | None = None) -> list[bytes]:
    """The canonical bytes of every id of ``sample_id`` (a list, array or Series).

    Parameters
    ----------
    sample_id : sequence
        One id per row (``fit``) or the ids to forget (``forget``).
    n_rows : int, default=None
        The number of ids required (the rows they label); ``None``: any.

    Returns
    -------
    ids : list of bytes
        :func:`subject_bytes` of each id, in order.

    Raises
    ------
    ValueError
        If the number of ids is not ``n_rows``.
    TypeError
        If ``sample_id`` is not a sequence, or an id is of a refused kind
        (the message gives its position, never its value).

    Examples
    --------
    >>> from sk_unlearn._subjects import as_subject_ids
    >>> len(as_subject_ids(["alice", "bob", 7], n_rows=3))
    3
    >>> as_subject_ids([1, 2], n_rows=3)
    Traceback (most recent call last):
    ...
    ValueError: sample_id has 2 ids for 3 rows; give one id per row.
    """
    values = _values(sample_id)
    if n_rows is not None and len(values) != n_rows:
        raise ValueError(f"sample_id has {len(values)} ids for {n_rows} rows; give one id per row.")
    out = []
    for i, value in enumerate(values):
        try:
            out.append(subject_bytes(value))
        except TypeError as exc:
            raise TypeError(f"sample_id[{i}]: {exc}") from None
    return out


def requested_subjects(sample_id: Any) -> list[bytes]:
    """The distinct ids a ``forget(sample_id=...)`` call names, in first-seen order.

    One id (a ``str``, ``int``, ``bytes`` or UUID) or a sequence of them. An
    id named twice is one request: forgetting a data subject forgets all of
    their rows once.

    Examples
    --------
    >>> from sk_unlearn._subjects import requested_subjects
    >>> len(requested_subjects(42)), len(requested_subjects([42, 7, 42]))
    (1, 2)
    """
    single = (str, bytes, int, np.generic, uuid.UUID)
    values = as_subject_ids([sample_id] if isinstance(sample_id, single) else sample_id)
    if not values:
        raise ValueError("sample_id names no id; nothing was forgotten.")
    return list(dict.fromkeys(values))
