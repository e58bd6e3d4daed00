"""One re-entrant lock per estimator, so threads never see a half-updated model.

Every public method of :class:`~sk_unlearn.UnlearnableClassifier` that reads
or changes the model runs under the estimator's lock (:func:`locked`). The
lock is created on first use, is not a parameter, and is never pickled,
deep-copied or cloned: each copy gets its own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

LOCK_ATTR = "_lock"


def estimator_lock(obj: Any) -> threading.RLock:
    """The lock of ``obj``, created on first use (safely from any thread)."""
    lock = obj.__dict__.get(LOCK_ATTR)
    if lock is None:
        # dict.setdefault is atomic under the GIL: two threads get the same lock.
        lock = obj.__dict__.setdefault(LOCK_ATTR, threading.RLock())
    return lock  # type: ignore[no-any-return]


def locked(method: F) -> F:
    """Run ``method`` while holding its object's lock."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with estimator_lock(self):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
