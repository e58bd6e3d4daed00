"""One all-or-nothing change of a fitted estimator.

Every change -- ``fit``, ``partial_fit``, ``forget``, ``retrain``, a
retraining triggered by ``certify`` or ``retrain_after`` -- runs inside one
:class:`Transaction`, through the same stages::

    validate -> locate -> ledger phase one -> snapshot -> apply
             -> ledger phase two -> commit the store -> bump the version

(an operation without requests skips "locate" and phase one; ``fit`` builds
its new store during "apply", on a second thread while the estimator trains,
and tracks it from there). On any
exception the transaction puts back everything it was given -- the
estimator's attribute dictionary as a whole (so attributes set by a failed
validation, such as ``n_features_in_``, go back too), the wrapped model's
state in place (through its adapter's snapshot), the random generator's
state, the in-memory ledger and the row store (from the journal of its
change) -- writes "aborted" lines for whatever the ledger file was told, and
re-raises. Only once the whole change has succeeded is the store's change
settled (its journal, which holds the erased rows, is dropped).

:meth:`Transaction.stage` marks each stage. It is also where tests inject a
failure at every stage of every operation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Literal

import numpy as np

from ._adapter import EstimatorAdapter
from ._ledger import DeletionRecord, Ledger, RetrainRecord
from ._store import Journal, RowStore

#: The stages, in order.
STAGES = (
    "validate",
    "locate",
    "ledger-begin",
    "snapshot",
    "apply",
    "ledger-commit",
    "commit",
    "version",
)


class Transaction:
    """Run one change of an estimator all-or-nothing (a context manager).

    Parameters
    ----------
    attributes : dict
        The estimator's attribute dictionary (``vars(estimator)``); on
        failure it is restored to what it held on entry.
    ledger_path : path-like or None
        The ledger file phase one and two write to (None: memory only).

    Examples
    --------
    >>> from sk_unlearn._transaction import Transaction
    >>> class Model:
    ...     pass
    >>> model = Model()
    >>> model.weights = [1.0]
    >>> try:
    ...     with Transaction(vars(model), ledger_path=None) as tx:
    ...         tx.stage("apply")
    ...         model.weights = [2.0]
    ...         raise RuntimeError("the step failed")
    ... except RuntimeError:
    ...     pass
    >>> model.weights
    [1.0]
    """

    def __init__(self, attributes: dict[str, Any], *, ledger_path: Any) -> None:
        self._attributes = attributes
        self._saved = dict(attributes)
        self._path = ledger_path
        self._undo: list[Callable[[], None]] = []
        self._settle: list[Callable[[], None]] = []
        self.current_stage: str | None = None

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if exc_type is not None:
            self.roll_back()
        else:
            for settle in self._settle:
                settle()
        return False  # never swallow the exception

    def stage(self, name: str) -> None:
        """Enter stage ``name`` (one of :data:`STAGES`)."""
        self.current_stage = name

    # ------------------------------------------------------------ snapshot
    def snapshot(
        self, adapter: EstimatorAdapter, scope: str, rng: np.random.Generator | None = None
    ) -> None:
        """Save what the coming change may alter in place: the model, the generator."""
        self.stage("snapshot")
        saved_model = adapter.snapshot(scope)
        self._undo.append(lambda: adapter.restore(saved_model))
        if rng is not None:
            saved_rng = rng.bit_generator.state

            def restore_rng() -> None:
                rng.bit_generator.state = saved_rng

            self._undo.append(restore_rng)

    # -------------------------------------------------------------- ledger
    def begin(self, ledger: Ledger, requests: list[tuple[str, Any]]) -> int:
        """Ledger phase one: the requests are started (aborted if anything fails later).

        Returns the first request's number (see ``Ledger.begin``).
        """
        self.stage("ledger-begin")
        # Registered before the write: a write that fails half-way may have
        # put some "started" lines in the file already.
        self._undo.append(lambda: ledger.abort(self._path, len(requests)))
        self._settle.append(ledger.settle)
        return ledger.begin(self._path, requests)

    def commit(
        self,
        ledger: Ledger,
        records: Sequence[DeletionRecord] = (),
        retrains: Sequence[RetrainRecord] = (),
    ) -> None:
        """Ledger phase two: served requests and retrainings (revoked if anything fails later)."""
        self.stage("ledger-commit")
        mark = ledger.mark()
        self._undo.append(lambda: ledger.revoke(self._path, mark))
        self._settle.append(ledger.settle)
        ledger.commit(self._path, list(records), list(retrains))

    def record_retrain(self, ledger: Ledger, record: RetrainRecord) -> None:
        """Ledger phase two of a retraining between requests (``retrain()``, a certificate)."""
        self.stage("ledger-commit")
        mark = ledger.mark()
        self._undo.append(lambda: ledger.revoke(self._path, mark))
        self._settle.append(ledger.settle)
        ledger.add_retrain(self._path, record)

    def record_fit(self, ledger: Ledger, n_rows: int) -> None:
        """Ledger phase two of a fit: the new fit's first line (voided if anything fails later)."""
        self.stage("ledger-commit")
        self._undo.append(lambda: ledger.void(self._path, "fit"))
        self._settle.append(ledger.settle)
        ledger.start(self._path, n_rows)

    def record_learned(self, ledger: Ledger, n_rows: int) -> None:
        """Ledger phase two of a ``partial_fit`` (voided if anything fails later)."""
        self.stage("ledger-commit")
        self._undo.append(lambda: ledger.void(self._path, "learned"))
        self._settle.append(ledger.settle)
        ledger.learned(self._path, n_rows)

    # --------------------------------------------------------------- store
    def commit_store(self, store: RowStore, change: Callable[[], Journal]) -> None:
        """Commit the store: run ``change`` (an ``add`` or ``erase``), undone if anything fails."""
        self.stage("commit")
        self.track_store(store, change())  # the change undoes its own partial work if it fails

    def track_store(self, store: RowStore, journal: Journal) -> None:
        """Undo the store change ``journal`` records if anything fails from now on (``fit``
        builds its new store while the estimator trains, before the ledger's phase two)."""
        self._undo.append(lambda: store.undo(journal))
        self._settle.append(lambda: store.settle(journal))

    def on_success(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the whole change has succeeded (never if it fails)."""
        self._settle.append(action)

    # ------------------------------------------------------------ rollback
    def roll_back(self) -> None:
        """Undo everything, newest first; then restore the attribute dictionary."""
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self._settle.clear()
        self._attributes.clear()
        self._attributes.update(self._saved)
