"""Warnings that point at the caller's line, not at a line inside the library.

A warning raised deep inside ``forget`` (through the estimator's lock, the
transaction and scikit-learn's ``_fit_context`` wrapper) would otherwise name a
file of sk-unlearn or scikit-learn as its source. :func:`warn` walks the stack
to the first frame outside both packages, so ``warnings`` filters and the
printed location refer to the user's own code.
"""

from __future__ import annotations

import os
import sys
import warnings

import sklearn

_INTERNAL = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep,
)


def user_stacklevel() -> int:
    """The ``stacklevel`` that names the first frame outside sk-unlearn and scikit-learn.

    Counted for a ``warnings.warn`` call made by the caller of this function.
    """
    level = 1
    frame = sys._getframe(1)  # the function that will call warnings.warn
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the user's line.

    Examples
    --------
    >>> import warnings
    >>> from sk_unlearn._warnings import warn
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("careful")
    >>> caught[0].filename.endswith("_warnings.py")
    False
    """
    warnings.warn(message, category, stacklevel=user_stacklevel())
