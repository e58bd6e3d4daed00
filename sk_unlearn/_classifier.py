"""UnlearnableClassifier: a scikit-learn meta-estimator that can forget rows."""

from __future__ import annotations

import math
import os
import pickle
import uuid
import warnings
from datetime import datetime, timezone
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    _fit_context,
    clone,
)
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import (
    _certify,
    _durability,
    _skorch,  # noqa: F401  (registers the skorch adapter; imports no torch)
)
from ._backends import EstimatorAdapter, adapter_for
from ._certificate import Certificate
from ._ledger import DeletionRecord, Ledger, LedgerReport, RetrainRecord
from ._locking import LOCK_ATTR, locked
from ._progress import announce, progress
from ._relabel import (
    SCORED_STRATEGIES,
    STRATEGIES,
    boundary_labels,
    complementary_labels,
    relabel_batch,
    sampled_soft_labels,
    soft_labels,
)
from ._store import RowStore, label_key

_DTYPES = [np.float64, np.float32]
_LOCKED_STATE = "_state_pickled_under_lock"


def _generator(random_state: int | np.random.RandomState | None) -> np.random.Generator:
    """A NumPy Generator seeded from a scikit-learn ``random_state``.

    A Generator's state is a small dict, so saving it for rollback costs ~1 us
    per request instead of ~50 us for a RandomState.
    """
    if isinstance(random_state, Integral):
        return np.random.default_rng(int(random_state))
    # None or a RandomState: draw the seed from it, as scikit-learn does for sub-seeds.
    return np.random.default_rng(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _estimator_has(attr: str):  # type: ignore[no-untyped-def]
    """True when the fitted (else the unfitted) inner estimator has ``attr``."""

    def check(self: UnlearnableClassifier) -> bool:
        inner = getattr(self, "estimator_", self.estimator)
        getattr(inner, attr)
        return True

    return check


class UnlearnableClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A classifier that can forget training rows by random relabeling.

    Wraps a classifier that has ``partial_fit`` and adds :meth:`forget`. Each
    deletion request ``(x, y)`` is served by ``n_steps`` ``partial_fit`` calls
    (one by default), each on one mini-batch: ``n_relabels`` copies of ``x``
    carrying classes that are not ``y`` (chosen as ``relabel`` says), plus
    ``n_replay`` retained rows of class ``y`` (Li & Ghosh, "Random Relabeling
    for Efficient Machine Unlearning"). The cost of a request does not depend
    on the number of training rows. Every
    ``retrain_after`` requests the model is retrained from scratch on the
    retained rows, which serves all requests so far exactly.

    The training rows are kept (as a copy) so that requests can be
    recognised, rows replayed and the model retrained; a forgotten row is
    erased from that copy. :meth:`certify` measures how far the model is from
    one retrained without the forgotten rows, and retrains once that passes
    ``max_divergence``.

    Parameters
    ----------
    estimator : classifier with ``partial_fit``
        The classifier to make unlearnable: ``SGDClassifier``, ``Perceptron``,
        ``PassiveAggressiveClassifier``, ``MLPClassifier`` (solver ``"sgd"``
        or ``"adam"``) or any other classifier with ``partial_fit``. It is
        cloned; the clone is trained as ``estimator_``.

    n_relabels : int, default=None
        Relabeled copies of a forgotten row per request. ``None`` means
        ``n_classes - 1``, as in the paper. Must not exceed ``n_classes - 1``.

    relabel : {"uniform", "boundary", "soft"}, default="soft"
        How the copies are labeled (see the user guide, "Choosing a
        relabeling strategy"):

        - ``"uniform"``: the paper's random relabeling, ``n_relabels``
          distinct wrong labels drawn at random.
        - ``"boundary"``: every copy carries the wrong label the current
          model finds most probable for the row.
        - ``"soft"``: one copy for each of the ``n_relabels`` most probable
          wrong labels, weighted by the model's probabilities renormalised
          over them (weights summing to ``n_relabels``, passed as
          ``sample_weight``; replayed rows weigh 1). Where the estimator's
          ``partial_fit`` takes no ``sample_weight``
          (``PassiveAggressiveClassifier``), the copies' labels are drawn
          from those probabilities instead.

        ``"boundary"`` and ``"soft"`` score the forgotten row with the model
        (``predict_proba``, else ``decision_function``): one predict call on
        that one row per step, so the cost stays independent of the number
        of training rows. They need an estimator with one of those methods.

    n_steps : int, default=1
        Optimizer steps per request. Each step builds a fresh batch (the
        model's current scores, fresh replayed rows) and runs at
        ``unlearning_rate``; the cost of a request grows linearly with it.

    unlearning_rate : float, "auto" or None, default="auto"
        Step size of the unlearning step, which may differ from the learning
        rate. What it sets depends on the estimator: ``eta0`` with a constant
        schedule for the SGD family (``C`` for ``PassiveAggressiveClassifier``),
        ``learning_rate_init`` for ``MLPClassifier``. ``"auto"`` is about 1% of
        the estimator's own step for the SGD family (1e-4 under the
        ``"optimal"`` schedule, else ``0.01 * eta0``), ``0.1 *
        learning_rate_init`` for ``MLPClassifier`` and ``None`` for other
        estimators. ``None`` takes each step at the estimator's own training
        rate and schedule, which collapsed every model we measured. The
        estimator's own settings are restored after every step.

    n_replay : int, default=32
        Retained rows of the forgotten row's class added to the same
        mini-batch (the paper's second remedy against accuracy drift). Costs
        O(n_replay) per request. The defaults (``"auto"``, 32) were the
        settings closest to naive retraining in our sweep on MNIST with
        ``SGDClassifier``, ``Perceptron`` and ``MLPClassifier``
        (``benchmarks/results/tune_defaults.md``, docs/benchmarks.md).

    retrain_after : int or float, default=None
        Retrain from scratch on the retained rows once this many requests
        have been served since the last full training (the paper's sequence
        length ``l``). A float in (0, 1) is a fraction of the rows the model
        was trained on. ``None`` never retrains automatically.

    unlearning_optimizer : None, str or callable, default=None
        The optimizer that takes the unlearning step, for backends that have
        a choice (skorch). ``None`` is the estimator's own training optimizer
        at ``unlearning_rate``, its state carried on. A torch optimizer name
        (``"sgd"``, ``"adam"``, ``"adadelta"``, ...) or a factory called as
        ``factory(params, lr=unlearning_rate)`` builds a separate optimizer,
        fresh for every request (no state is shared between requests or with
        training). The scikit-learn backends accept only ``None``.
    max_divergence : float or None, default=None
        When a certificate from :meth:`certify` has a mean divergence above
        this, the model is retrained from scratch on the retained rows right
        away, so that every removal so far is served exactly (the paper's
        maximum divergence). Only :meth:`certify` checks it, and only when a
        removal was requested since the last training from scratch. It is in
        the units of the certificate's measure (see :class:`Certificate`).
        ``None`` never retrains on a certificate.

    verbose : int, default=0
        Progress on stderr. ``0`` prints nothing. Above ``0``: a tqdm
        progress bar over the requests of each :meth:`forget` call, and a
        line with the duration of each training from scratch (automatic
        retraining, :meth:`retrain`, the ``"retrain"`` reference of
        :meth:`certify`).

    random_state : int, RandomState instance or None, default=None
        Controls the wrong labels and the replayed rows drawn per request.

    ledger_path : str, path-like or None, default=None
        A JSON Lines file to which every request and retraining is appended
        and fsync'd before the model changes (two phases per request:
        "started", then "completed" or "aborted"). It holds row hashes and
        labels, never row values. Several models (e.g. clones) may share a
        file: every line names its model's fit. ``None`` keeps the ledger in
        memory only (``deletion_log_``, ``retrain_log_``). See
        :meth:`verify_ledger`, :meth:`recover` and docs/reliability.md.

    Attributes
    ----------
    estimator_ : classifier
        The trained clone of ``estimator``.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    n_retained_ : int
        Number of training rows currently kept (learned minus forgotten).

    n_forgotten_ : int
        Number of deletion requests served since ``fit``.

    n_retrains_ : int
        Number of full retrainings since ``fit`` (automatic or by
        :meth:`retrain`).

    deletion_log_ : list of DeletionRecord
        One record per served request: the row's SHA-256 digest (never the
        row), its label, when and how it was served (a copy; the ledger
        itself is append-only).

    retrain_log_ : list of RetrainRecord
        One record per retraining from scratch since ``fit``: automatic, by
        a certificate (with its summary) or by :meth:`retrain`.

    model_version_ : int
        A counter that changes with every change of the model: ``fit``,
        ``partial_fit``, ``forget``, ``retrain`` and a retraining triggered
        by :meth:`certify`. It never decreases over the estimator's life and
        survives pickling; every :class:`Certificate` names the version it
        speaks for.

    See Also
    --------
    forget_through_pipeline : Run :meth:`forget` through a fitted Pipeline.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sk_unlearn import UnlearnableClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> clf = UnlearnableClassifier(
    ...     SGDClassifier(loss="log_loss", random_state=0), random_state=0
    ... ).fit(X, y)
    >>> clf.forget(X[:5], y[:5]).n_forgotten_
    5
    >>> clf.n_retained_ == len(X) - 5
    True
    >>> clf.deletion_log_[0].method
    'relabel'
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "partial_fit", "predict"])],
        "n_relabels": [Interval(Integral, 1, None, closed="left"), None],
        "unlearning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), None],
        "relabel": [StrOptions(set(STRATEGIES))],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "n_replay": [Interval(Integral, 0, None, closed="left")],
        "retrain_after": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "unlearning_optimizer": [None, str, callable],
        "max_divergence": [Interval(Real, 0, None, closed="left"), None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "ledger_path": [None, str, os.PathLike],
    }

    def __init__(
        self,
        estimator: Any,
        *,
        n_relabels: int | None = None,
        relabel: str = "soft",
        n_steps: int = 1,
        unlearning_rate: float | str | None = "auto",
        n_replay: int = 32,
        retrain_after: int | float | None = None,
        unlearning_optimizer: Any = None,
        max_divergence: float | None = None,
        verbose: int = 0,
        random_state: int | np.random.RandomState | None = None,
        ledger_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.estimator = estimator
        self.n_relabels = n_relabels
        self.relabel = relabel
        self.n_steps = n_steps
        self.unlearning_rate = unlearning_rate
        self.n_replay = n_replay
        self.retrain_after = retrain_after
        self.unlearning_optimizer = unlearning_optimizer
        self.max_divergence = max_divergence
        self.verbose = verbose
        self.random_state = random_state
        self.ledger_path = ledger_path

    # ------------------------------------------------------------ learning
    @_fit_context(prefer_skip_nested_validation=False)
    @locked
    def fit(self, X: ArrayLike, y: ArrayLike) -> UnlearnableClassifier:
        """Train a clone of ``estimator`` on ``(X, y)`` and keep the rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (dense, finite).
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self : UnlearnableClassifier
            The fitted estimator.
        """
        X_arr, y_arr = validate_data(self, X, y, dtype=_DTYPES)
        check_classification_targets(y_arr)
        classes = unique_labels(y_arr)
        self._n_relabels_for(classes)
        estimator = clone(self.estimator)
        adapter = self._adapter(estimator, classes)
        self._check_relabel_applies(adapter)
        adapter.check_settings()
        adapter.check_unlearning_optimizer()
        adapter.fit(X_arr, y_arr)

        store = RowStore(X_arr.shape[1], X_arr.dtype, classes.dtype)
        store.add(X_arr, y_arr)
        self._reset_state(estimator, classes, store, self._new_ledger(len(store)))
        self._bump_version()
        return self

    @available_if(_estimator_has("partial_fit"))
    @_fit_context(prefer_skip_nested_validation=False)
    @locked
    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None
    ) -> UnlearnableClassifier:
        """Learn the rows ``(X, y)`` incrementally; they become forgettable.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New training rows.
        y : array-like of shape (n_samples,)
            Their labels.
        classes : array-like of shape (n_classes,), default=None
            All labels, required on the first call (as in scikit-learn) and
            checked against ``classes_`` afterwards.

        Returns
        -------
        self : UnlearnableClassifier
            The updated estimator.
        """
        first_call = not hasattr(self, "estimator_")
        X_arr, y_arr = validate_data(self, X, y, dtype=_DTYPES, reset=first_call)
        check_classification_targets(y_arr)
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            known = unique_labels(classes)
            self._n_relabels_for(known)
        else:
            known = self.classes_
            if classes is not None and not np.array_equal(known, unique_labels(classes)):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call: {known!r}."
                )
        self._check_known_labels(y_arr, known)

        estimator = clone(self.estimator) if first_call else self.estimator_
        adapter = self._adapter(estimator, known)
        if first_call:
            self._check_relabel_applies(adapter)
            adapter.check_settings()
            adapter.check_unlearning_optimizer()
        train_dtype = X_arr.dtype if first_call else self._train_dtype
        adapter.partial_fit(X_arr.astype(train_dtype, copy=False), y_arr, classes=known)
        if first_call:  # the ledger's first line, then the model (a clone until here)
            store = RowStore(X_arr.shape[1], X_arr.dtype, known.dtype)
            self._reset_state(estimator, known, store, self._new_ledger(0))
        self._store.add(X_arr, y_arr)
        self._n_trained_rows += X_arr.shape[0]
        self._bump_version()
        return self

    def _new_ledger(self, n_rows: int) -> Ledger:
        """A ledger for a new fit, its first line written (before the model changes)."""
        ledger = Ledger(uuid.uuid4().hex)
        ledger.start(self.ledger_path, n_rows)
        return ledger

    def _reset_state(
        self, estimator: Any, classes: np.ndarray, store: RowStore, ledger: Any
    ) -> None:
        self.estimator_ = estimator
        self.classes_ = classes
        self._store = store
        self._rng = _generator(self.random_state)
        self.n_forgotten_ = 0
        self.n_retrains_ = 0
        self._ledger = ledger
        self._n_since_retrain = 0
        self._n_trained_rows = len(store)
        # SGD cannot mix float32 and float64 batches: feed the estimator the dtype
        # it was trained with, whatever dtype a later batch arrives in.
        self._train_dtype = store.X.dtype

    def _adapter(
        self, estimator: Any = None, classes: np.ndarray | None = None
    ) -> EstimatorAdapter:
        """The adapter for ``estimator`` (default ``estimator_``) with this wrapper's settings."""
        return adapter_for(
            self.estimator_ if estimator is None else estimator,
            self.classes_ if classes is None else classes,
            self.unlearning_optimizer,
        )

    def _bump_version(self) -> None:
        self.model_version_ = getattr(self, "model_version_", 0) + 1

    def __sklearn_is_fitted__(self) -> bool:
        # Fitted means trained, not merely validated: a failed first
        # partial_fit may leave n_features_in_ behind.
        return hasattr(self, "estimator_")

    @property
    @locked
    def n_retained_(self) -> int:
        """Number of training rows currently kept."""
        check_is_fitted(self)
        return len(self._store)

    @property
    @locked
    def deletion_log_(self) -> list[DeletionRecord]:
        """The served requests, oldest first (a copy of the ledger's records)."""
        check_is_fitted(self)
        return list(self._ledger.deletions)

    @property
    @locked
    def retrain_log_(self) -> list[RetrainRecord]:
        """The retrainings from scratch since ``fit``, oldest first (a copy)."""
        check_is_fitted(self)
        return list(self._ledger.retrains)

    # ----------------------------------------------------------- forgetting
    @locked
    def forget(self, X: ArrayLike, y: ArrayLike) -> UnlearnableClassifier:
        """Forget training rows by random relabeling, one request per row.

        Requests are served in order. Each is ``n_steps`` optimizer steps of
        the wrapped estimator, each on ``n_relabels`` copies of the row
        relabeled as ``relabel`` says plus ``n_replay`` retained rows of its
        class, at ``unlearning_rate``; the row is then erased from the
        retained rows and recorded in ``deletion_log_``. The call is
        all-or-nothing: if any row is unknown or any step fails, the model,
        the retained rows, the random state and ``deletion_log_`` are left
        exactly as they were.

        Parameters
        ----------
        X : array-like of shape (n_requests, n_features)
            Rows to forget. Each must equal a retained training row.
        y : array-like of shape (n_requests,)
            The label each row was trained with.

        Returns
        -------
        self : UnlearnableClassifier
            The estimator, with the rows forgotten.

        Raises
        ------
        NotFittedError
            If the estimator has not been fitted.
        UnknownRowError
            A ``ValueError`` naming the first row that matches no retained
            row with its label (never learned, already forgotten, learned
            with another label, or requested more often than retained);
            nothing is changed.
        ValueError
            If ``X`` or ``y`` is malformed or a label is unknown; nothing is
            changed.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import SGDClassifier
        >>> from sk_unlearn import UnlearnableClassifier
        >>> X = np.array([[0.0, 0.0], [0.1, 0.2], [1.0, 1.0], [0.9, 1.1]])
        >>> y = np.array([0, 0, 1, 1])
        >>> clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
        >>> clf = clf.fit(X, y).forget(X[:1], y[:1])
        >>> clf.n_retained_, clf.n_forgotten_
        (3, 1)
        >>> clf.forget(X[:1], y[:1])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        sk_unlearn.UnknownRowError: Row 0 of X (label 0) is not among the retained ...
        """
        check_is_fitted(self)
        self._validate_params()
        X_arr: np.ndarray = validate_data(self, X, dtype=_DTYPES, reset=False)
        y_arr = np.asarray(y)
        if y_arr.ndim != 1:
            y_arr = column_or_1d(y_arr, warn=True)  # sklearn's message and column warning
        check_consistent_length(X_arr, y_arr)
        self._check_known_labels(y_arr, self.classes_)
        n_relabels = self._n_relabels_for(self.classes_)
        adapter = self._adapter()
        adapter.check_unlearning_optimizer()
        self._check_relabel_applies(adapter)
        positions = self._store.locate(X_arr, y_arr)

        requests = [(self._store.digest(p).hex(), label_key(y)) for p, y in zip(positions, y_arr)]
        self._ledger.begin(self.ledger_path, requests)  # phase one, before any change
        snapshot = self._snapshot()
        try:
            records, retrains = [], []
            served = progress(
                range(len(positions)), verbose=self.verbose, total=len(positions), desc="forget"
            )
            for i in served:
                records.append(self._serve(X_arr[i], y_arr[i], positions, i, n_relabels))
                if records[-1].retrained:
                    retrains.append(
                        self._retrain_record(
                            "retrain_after", records[-1].request + 1, self._n_trained_rows
                        )
                    )
            self._ledger.commit(self.ledger_path, records, retrains)  # phase two
        except BaseException:
            self._restore(snapshot)
            self._ledger.abort(self.ledger_path, len(requests))
            raise
        self._store.erase(positions)
        self.n_forgotten_ += len(records)
        self._bump_version()
        return self

    def _serve(
        self, x: np.ndarray, label: Any, positions: list[int], i: int, n_relabels: int
    ) -> DeletionRecord:
        """Serve request ``i`` of the current call (its row is still stored)."""
        adapter = self._adapter()
        rate = (
            adapter.auto_unlearning_rate()
            if isinstance(self.unlearning_rate, str)
            else self.unlearning_rate
        )
        x = x.astype(self._train_dtype)
        for _ in range(self.n_steps):
            wrong, weights = self._copy_labels(adapter, x, label, n_relabels)
            replay = self._store.sample_class(label, self.n_replay, self._rng, exclude=positions)
            X_batch, y_batch, sample_weight = relabel_batch(
                x, wrong, self._store.X[replay], self._store.y[replay], weights
            )
            if sample_weight is None:
                adapter.forget_step(X_batch, y_batch, rate)
            else:
                adapter.forget_step(X_batch, y_batch, rate, sample_weight=sample_weight)
        self._n_since_retrain += 1
        retrained = self._retrain_if_due(forgotten=positions[: i + 1])
        return DeletionRecord(
            request=self.n_forgotten_ + i,
            row_hash=self._store.digest(positions[i]).hex(),
            label=label_key(label),
            timestamp=datetime.now(timezone.utc).isoformat(),
            method="relabel",
            n_relabels=n_relabels,
            n_replay=len(replay),
            unlearning_rate=rate,
            relabel=self.relabel,
            n_steps=self.n_steps,
            retrained=retrained,
        )

    def _copy_labels(
        self, adapter: EstimatorAdapter, x: np.ndarray, label: Any, n_relabels: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The copies' labels, and their sample weights (None: all 1), per ``relabel``."""
        if self.relabel == "uniform":
            return complementary_labels(label, self.classes_, n_relabels, self._rng), None
        scores = adapter.class_scores(x[np.newaxis, :])[0]
        if self.relabel == "boundary":
            return boundary_labels(label, self.classes_, scores, n_relabels), None
        if adapter.accepts_sample_weight:
            return soft_labels(label, self.classes_, scores, n_relabels)
        return sampled_soft_labels(label, self.classes_, scores, n_relabels, self._rng), None

    # What serving requests may change before the call commits; the retained
    # rows and the log are only touched after every request succeeded.
    _ROLLBACK_ATTRS = ("_n_since_retrain", "n_retrains_", "_n_trained_rows", "_train_dtype")

    def _snapshot(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in self._ROLLBACK_ATTRS}
        adapter = self._adapter()
        state["estimator_"] = (adapter, adapter.snapshot())
        state["rng"] = self._rng.bit_generator.state
        return state

    def _restore(self, snapshot: dict[str, Any]) -> None:
        self._rng.bit_generator.state = snapshot.pop("rng")
        adapter, saved = snapshot.pop("estimator_")
        self.estimator_ = adapter.restore(saved)
        for name, value in snapshot.items():
            setattr(self, name, value)

    @staticmethod
    def _retrain_record(
        reason: str, after_request: int, n_retained: int, certificate: Certificate | None = None
    ) -> RetrainRecord:
        summary = None
        if certificate is not None:
            summary = {k: v for k, v in certificate.to_dict().items() if k != "divergences"}
        return RetrainRecord(
            after_request=after_request,
            timestamp=datetime.now(timezone.utc).isoformat(),
            reason=reason,
            n_retained=n_retained,
            certificate=summary,
        )

    # ----------------------------------------------------------- retraining
    @locked
    def retrain(self) -> UnlearnableClassifier:
        """Retrain a fresh clone of ``estimator`` on the retained rows.

        This is the "naive" unlearning baseline: afterwards the model is
        exactly what ``fit`` gives on the retained rows in the order they were
        learned (the same model, for a seeded estimator), so every request
        served so far is honoured exactly.

        Returns
        -------
        self : UnlearnableClassifier
            The retrained estimator.

        Raises
        ------
        ValueError
            If some class has no retained rows left (the retrained model
            could not keep ``classes_``).

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import SGDClassifier
        >>> from sk_unlearn import UnlearnableClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = UnlearnableClassifier(SGDClassifier(random_state=0)).fit(X, y)
        >>> clf = clf.forget(X[:10], y[:10]).retrain()
        >>> clf.n_retrains_, clf.n_retained_
        (1, 140)
        """
        check_is_fitted(self)
        missing = self._classes_without_rows(forgotten=[])
        if missing:
            raise ValueError(
                f"Cannot retrain: no retained rows of class(es) {missing}; "
                "the retrained model would not know them."
            )
        fitted = self._fresh_fit()
        record = self._retrain_record("manual", self.n_forgotten_, len(self._store))
        self._ledger.add_retrain(self.ledger_path, record)  # before the model changes
        self._retrain_on(np.ones(len(self._store), dtype=bool), fitted=fitted)
        self._bump_version()
        return self

    def _retrain_threshold(self) -> int | None:
        if self.retrain_after is None:
            return None
        if isinstance(self.retrain_after, Integral):
            return int(self.retrain_after)
        return max(1, math.ceil(self.retrain_after * self._n_trained_rows))

    def _retrain_if_due(self, forgotten: list[int]) -> bool:
        threshold = self._retrain_threshold()
        if threshold is None or self._n_since_retrain < threshold:
            return False
        missing = self._classes_without_rows(forgotten)
        if missing:
            warnings.warn(
                f"Retraining postponed: no retained rows of class(es) {missing}.",
                UserWarning,
                stacklevel=4,
            )
            return False
        keep = np.ones(len(self._store), dtype=bool)
        keep[forgotten] = False
        self._retrain_on(keep)
        return True

    def _fresh_fit(self, keep: np.ndarray | None = None) -> Any:
        """A clone of ``estimator`` trained on the kept rows in learning order."""
        estimator = clone(self.estimator)
        X, y = self._store.in_learning_order(keep)
        with announce(f"training from scratch on {len(y)} retained rows", verbose=self.verbose):
            self._adapter(estimator).fit(X, y)
        return estimator

    def _retrain_on(self, keep: np.ndarray, fitted: Any = None) -> None:
        """Install a fresh fit on the kept rows (``fitted``: one already made)."""
        self.estimator_ = self._fresh_fit(keep) if fitted is None else fitted
        self._train_dtype = self._store.X.dtype
        self.n_retrains_ += 1
        self._n_since_retrain = 0
        self._n_trained_rows = int(keep.sum())

    def _classes_without_rows(self, forgotten: list[int]) -> list[Any]:
        counts = self._store.class_counts()
        for position in forgotten:
            counts[label_key(self._store.y[position])] -= 1
        return [c for c in self.classes_.tolist() if counts.get(c, 0) <= 0]

    # --------------------------------------------------------- certifying
    @locked
    def certify(
        self, X: ArrayLike, y: ArrayLike | None = None, *, reference: Any = "retrain"
    ) -> Certificate:
        """Measure how far the model is, on rows ``X``, from one without the forgotten rows.

        Compares the model's predicted class probabilities on ``X`` (usually
        the forgotten rows) with those of a reference model, row by row, with
        :func:`~sk_unlearn.metrics.cosine_divergence`; or, with a
        :class:`HeldOutReference`, compares the model's losses on ``(X, y)``
        with its losses on rows it never saw. When ``max_divergence`` is set
        and the certificate's mean is above it, the model is retrained from
        scratch on the retained rows (``n_retrains_`` grows, the latest
        record in ``deletion_log_`` gets ``retrained=True``, and the
        certificate says ``retrained=True``), unless no removal was requested
        since the model was last trained from scratch (then every removal is
        already served exactly; a ``UserWarning`` says so). Otherwise nothing
        about the model changes: not its predictions, not its random state.

        Probabilities come from :meth:`predict_proba`, or, for estimators
        without it (hinge-loss SGD, ``Perceptron``), from the softmax of
        :meth:`decision_function` (see
        :func:`~sk_unlearn.metrics.class_probabilities`).

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows to certify: forgotten rows, or any rows to compare on.
        y : array-like of shape (n_rows,), default=None
            Their labels; needed by the ``HeldOutReference`` only.
        reference : "retrain", fitted classifier or HeldOutReference, default="retrain"
            What the model is compared with:

            * ``"retrain"``: a fresh clone of ``estimator`` trained on the
              retained rows exactly as :meth:`retrain` would (the naive
              model). Costs one full training, then is cached until the model
              or the estimator's parameters change. The cache is not pickled.
            * a fitted classifier with the same ``classes_`` (e.g. a naive
              model you trained yourself): used as it is.
            * :class:`HeldOutReference`: no training at all; cost
              O(rows certified + held-out rows) predictions.

        Returns
        -------
        certificate : Certificate
            Per-row divergences, their mean and max, the threshold, whether
            the mean is within it, the reference, and ``model_version_``.

        Raises
        ------
        NotFittedError
            If the estimator has not been fitted.
        ValueError
            If ``X`` or ``y`` is malformed, a reference needs ``y`` and none
            was given, a reference classifier has other classes, or
            ``reference="retrain"`` while some class has no retained rows.
        TypeError
            If ``reference`` is of none of the kinds above.

        Examples
        --------
        >>> from sklearn.linear_model import SGDClassifier
        >>> from sk_unlearn import UnlearnableClassifier
        >>> from sk_unlearn.datasets import load_digits_split
        >>> d = load_digits_split()
        >>> clf = UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0),
        ...                             random_state=0).fit(d.X_train, d.y_train)
        >>> clf = clf.forget(d.X_train[:20], d.y_train[:20])
        >>> cert = clf.certify(d.X_train[:20])
        >>> cert.reference, cert.n_rows, 0 <= cert.mean <= cert.max <= 1
        ('retrain', 20, True)
        >>> clf.retrain().certify(d.X_train[:20]).max  # the naive model itself
        0.0
        """
        check_is_fitted(self)
        self._validate_params()
        n_rows = self._validated_X(X).shape[0]
        y_arr = None if y is None else self._validated_labels(y, n_rows)
        return _certify.certify(self, X, y_arr, reference)

    def _validated_labels(self, y: ArrayLike, n_rows: int) -> np.ndarray:
        y_arr = np.asarray(y)
        if y_arr.ndim != 1:
            y_arr = column_or_1d(y_arr, warn=True)
        check_consistent_length(np.empty(n_rows), y_arr)
        self._check_known_labels(y_arr, self.classes_)
        return y_arr

    def _retained_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the retained rows and labels, in learning order (for metrics)."""
        check_is_fitted(self)
        return self._store.in_learning_order()

    # ---------------------------------------------------------- durability
    @locked
    def save(self, path: str | os.PathLike[str]) -> None:
        """Pickle the estimator to ``path`` atomically.

        The pickle is written to a temporary file in the same directory,
        fsync'd and renamed over ``path``: a crash leaves either the old
        file or the new one, never half of one. Load it with :meth:`load`
        (or plain ``pickle.load``).

        Parameters
        ----------
        path : str or path-like
            Where to write the pickle.

        Examples
        --------
        >>> import os, tempfile
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import SGDClassifier
        >>> from sk_unlearn import UnlearnableClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = UnlearnableClassifier(SGDClassifier(random_state=0)).fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.pkl")
        >>> clf.forget(X[:3], y[:3]).save(path)
        >>> UnlearnableClassifier.load(path).n_forgotten_
        3
        """
        check_is_fitted(self)
        _durability.save(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, recover: bool = False) -> UnlearnableClassifier:
        """Load a saved estimator and check it against its ledger file.

        When the estimator has a ``ledger_path``, the file is compared with
        what the estimator has applied (:meth:`verify_ledger`). Requests the
        file has and the estimator lacks (interrupted by a crash, or served
        after the estimator was saved) are served with ``recover=True``;
        otherwise a ``UserWarning`` lists them.

        Parameters
        ----------
        path : str or path-like
            A pickle written by :meth:`save` (or ``pickle.dump``).
        recover : bool, default=False
            Serve the pending requests right away (see :meth:`recover`).

        Returns
        -------
        clf : UnlearnableClassifier
            The loaded estimator.

        Raises
        ------
        TypeError
            If the file holds something else.
        """
        clf = _durability.load(path)
        if clf.ledger_path is not None and hasattr(clf, "_ledger"):
            if recover:
                clf.recover()
            else:
                _durability.warn_if_pending(clf.verify_ledger())
        return clf

    @locked
    def verify_ledger(self) -> LedgerReport:
        """Compare the requests this estimator applied with its ledger file.

        Returns
        -------
        report : LedgerReport
            ``report.ok`` is true when every request the file records for
            this fit is applied by this estimator and vice versa;
            ``report.pending`` lists requests the file has and the estimator
            lacks (``status="started"``: interrupted by a crash;
            ``"completed"``: served by a later state that was not saved).

        Raises
        ------
        ValueError
            If ``ledger_path`` is None or the file has a malformed line
            (a torn last line is ignored and reported).
        """
        check_is_fitted(self)
        return _durability.verify(self)

    @locked
    def recover(self) -> LedgerReport:
        """Serve the requests the ledger file has and this estimator lacks.

        The rows are not in the ledger, but the estimator still retains
        every row it has not forgotten: each pending request's row is found
        by its hash and label and forgotten as a normal request (one call,
        all-or-nothing), so that afterwards the estimator and the file agree.

        Returns
        -------
        report : LedgerReport
            The report after serving (``report.ok`` unless the file records
            requests of this fit that no estimator state explains).

        Raises
        ------
        ValueError
            If ``ledger_path`` is None, or a pending request names no retained
            row (then nothing is changed).
        """
        report = self.verify_ledger()
        if not report.pending:
            return report
        X_rows, labels = _durability.pending_rows(self, report)
        self.forget(X_rows, labels)
        return self.verify_ledger()

    @locked
    def __getstate__(self) -> dict[str, Any]:
        # The reference cache is a second model: rebuilt on demand, never pickled.
        # The lock is per object: a copy gets its own on first use.
        state = dict(super().__getstate__())
        state.pop("_reference_cache", None)
        state.pop(LOCK_ATTR, None)
        # pickle walks the returned state only after this method (and the lock)
        # has returned, while another thread's forget may be changing the model,
        # the rows and the ledger in place: serialise it here, under the lock.
        return {_LOCKED_STATE: pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if _LOCKED_STATE in state:
            state = pickle.loads(state[_LOCKED_STATE])
        # Pickles from before the ledger kept the records as a plain list.
        if "deletion_log_" in state:
            ledger = Ledger(uuid.uuid4().hex)
            ledger.deletions = list(state.pop("deletion_log_"))
            state["_ledger"] = ledger
        # Parameters added since: an older pickle gets their defaults.
        state.setdefault("verbose", 0)
        state.setdefault("ledger_path", None)
        # Pickles from before the relabeling strategies served requests uniformly.
        state.setdefault("relabel", "uniform")
        state.setdefault("n_steps", 1)
        super().__setstate__(state)

    # ------------------------------------------------------------ validation
    def _check_relabel_applies(self, adapter: EstimatorAdapter) -> None:
        if self.relabel in SCORED_STRATEGIES and not adapter.has_class_scores():
            raise ValueError(
                f"relabel={self.relabel!r} needs the model's class scores, but "
                f"{type(adapter.estimator).__name__} has neither predict_proba nor "
                "decision_function; use relabel='uniform'."
            )

    def _n_relabels_for(self, classes: np.ndarray) -> int:
        n_wrong = len(classes) - 1
        if self.n_relabels is None:
            return max(n_wrong, 1)
        if self.n_relabels > n_wrong:
            raise ValueError(
                f"n_relabels={self.n_relabels} exceeds the {n_wrong} wrong labels "
                f"available with {len(classes)} classes."
            )
        return int(self.n_relabels)

    @staticmethod
    def _check_known_labels(y: np.ndarray, classes: np.ndarray) -> None:
        known = np.isin(y, classes)
        if not known.all():
            unknown = np.unique(y[~known])
            raise ValueError(
                f"Label(s) {unknown.tolist()} not among the classes {classes.tolist()}."
            )

    # ------------------------------------------------------------ predicting
    def _validated_X(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self)
        X_checked: np.ndarray = validate_data(self, X, dtype=_DTYPES, reset=False)
        return X_checked

    @locked
    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict class labels for ``X`` with the current model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        X_checked = self._validated_X(X)  # before touching estimator_: NotFittedError
        return self._adapter().predict(X_checked)

    @available_if(_estimator_has("predict_proba"))
    @locked
    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities for ``X``, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X_checked = self._validated_X(X)  # before touching estimator_: NotFittedError
        return self._adapter().predict_proba(X_checked)

    @available_if(_estimator_has("predict_log_proba"))
    @locked
    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Log class probabilities for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        X_checked = self._validated_X(X)  # before touching estimator_: NotFittedError
        return self.estimator_.predict_log_proba(X_checked)

    @available_if(_estimator_has("decision_function"))
    @locked
    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """Decision scores of the current model for ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        X_checked = self._validated_X(X)  # before touching estimator_: NotFittedError
        return self.estimator_.decision_function(X_checked)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = inner.non_deterministic
        if inner.classifier_tags is not None:
            tags.classifier_tags.poor_score = inner.classifier_tags.poor_score
        return tags
