"""Progress reporting, following scikit-learn's ``verbose`` convention.

``verbose=0`` prints nothing and does not import tqdm; ``verbose > 0`` shows a
tqdm bar over the requests of a ``forget`` call and a line for every training
from scratch, all on stderr.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], *, verbose: int, total: int, desc: str) -> Iterable[T]:
    """``items``, wrapped in a tqdm bar on stderr when ``verbose > 0``."""
    if verbose <= 0:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=desc, unit="request", file=sys.stderr)


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
