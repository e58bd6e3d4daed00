"""Do one piece of work on a second thread while the calling thread does another.

``fit`` must train the estimator and keep a copy of every row with its digest
(the row store). Neither needs the other's result, and scikit-learn's and
PyTorch's training loops spend most of their time outside the GIL (Cython
``nogil`` loops, BLAS, torch kernels), as does NumPy's copy of the rows into
the store; so the store is built on a second thread while the estimator
trains, and a wrapper's ``fit`` takes little more wall-clock time than the
estimator's (``benchmarks/bench_overhead.py``). On one core the two simply
take turns.

Failure stays all-or-nothing: whichever side fails, the other is waited for
(never abandoned half-way, even through a KeyboardInterrupt), the
background's finished work is undone, and the first error is raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Background(Generic[T]):
    """``work()`` on a thread of its own; :meth:`outcome` waits for it."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sk-unlearn-store", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._work()
        except BaseException as exc:  # handed to the calling thread by outcome()
            self._error = exc

    def wait(self) -> None:
        """Wait until the work has finished; a KeyboardInterrupt meanwhile is re-raised
        after it has (the work is never left running behind an undo)."""
        interrupted: BaseException | None = None
        while self._thread.is_alive():
            try:
                self._thread.join()
            except KeyboardInterrupt as exc:
                interrupted = exc
        if interrupted is not None:
            raise interrupted

    def outcome(self) -> tuple[T | None, BaseException | None]:
        """The work's result and its error (one of them None), once it has finished."""
        self.wait()
        return self._result, self._error


def alongside(
    background: Callable[[], T], foreground: Callable[[], None], undo: Callable[[T], None]
) -> T:
    """Run ``background`` on a second thread while ``foreground`` runs here; return its result.

    Parameters
    ----------
    background : callable
        Work that touches nothing ``foreground`` reads or writes. If it fails,
        it must leave nothing behind (its own partial work undone).
    foreground : callable
        The calling thread's work.
    undo : callable
        Takes ``background``'s result and undoes it; called if ``foreground``
        fails after ``background`` succeeded.

    Raises
    ------
    BaseException
        ``foreground``'s error if it failed (after ``background`` was waited
        for and undone), else ``background``'s.

    Examples
    --------
    >>> from sk_unlearn._overlap import alongside
    >>> done = []
    >>> alongside(lambda: sum(range(10)), lambda: done.append("trained"), undo=print)
    45
    >>> done
    ['trained']
    """
    job = _Background(background)
    try:
        foreground()
    except BaseException:
        result, error = job.outcome()
        if error is None:
            undo(result)  # type: ignore[arg-type]  # no error: the work returned its result
        raise
    result, error = job.outcome()
    if error is not None:
        raise error
    return result  # type: ignore[return-value]  # no error: the work returned its result
