"""Progress reporting, following scikit-learn's ``verbose`` convention.

``verbose=0`` prints nothing and does not import tqdm; ``verbose > 0`` shows
one tqdm bar per estimator over every request it serves, however many
``forget`` calls bring them (a stream of one-row calls draws one bar, not one
per call), and a line for every training from scratch, all on stderr.
"""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


# One bar per estimator, kept outside it: nothing of it is pickled or copied.
_bars: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def progress(items: Iterable[T], *, verbose: int, owner: Any, desc: str) -> Iterator[T]:
    """``items``, counted on ``owner``'s stream bar (stderr) when ``verbose > 0``.

    The bar is made on the first request ``owner`` serves with ``verbose > 0``
    and counts every request after it, call after call, until
    :func:`end_stream` (a new ``fit``) or until ``owner`` is garbage-collected.
    """
    if verbose <= 0:
        yield from items
        return
    bar = _bars.get(owner)
    if bar is None:
        from tqdm import tqdm

        bar = _bars[owner] = tqdm(desc=desc, unit=" requests", file=sys.stderr)
    for item in items:
        yield item
        bar.update(1)
    bar.refresh()  # the call's last count, whatever tqdm's redraw interval skipped


def end_stream(owner: Any) -> None:
    """Close ``owner``'s stream bar, if it has one (its next request starts a new one)."""
    bar = _bars.pop(owner, None)
    if bar is not None:
        bar.close()


@contextmanager
def announce(message: str, *, verbose: int) -> Iterator[None]:
    """Write ``message`` and, when the block is done, its duration (``verbose > 0``)."""
    if verbose <= 0:
        yield
        return
    from tqdm import tqdm

    tqdm.write(f"[UnlearnableClassifier] {message} ...", file=sys.stderr)
    start = time.perf_counter()
    yield
    tqdm.write(
        f"[UnlearnableClassifier] {message}: done in {time.perf_counter() - start:.2f} s",
        file=sys.stderr,
    )
