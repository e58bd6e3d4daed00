"""UnlearnableClassifier: a scikit-learn meta-estimator that can forget rows.

This module holds the public methods with their docstrings and the thin
orchestration that strings the library's parts together; each part does one
job elsewhere: validation (``_validation``), the all-or-nothing transaction
(``_transaction``), how a request is served (``_methods``), when to retrain
(``_retraining``), certificates (``_certify``), the retained rows
(``_store``), the ledger (``_ledger``), persistence (``_durability``,
``_compat``) and the backends (``_backends``).
"""

from __future__ import annotations

import copy
import os
import pickle
import sqlite3
import uuid
import weakref
from dataclasses import replace
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
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
    _check_sample_weight,
    check_array,
    check_is_fitted,
    validate_data,
)

from . import _certify, _durability, _safe_pickle, _validation, _warnings
from ._adapter import TRAINING, EstimatorAdapter, weight_kwargs
from ._backends import adapter_for
from ._certificate import Certificate
from ._compat import FORMAT_KEY, FORMAT_VERSION, upgrade
from ._keys import (
    deployment_key,
    keyed_row_hash,
    keyed_subject_hash,
    request_digests,
    requests_digests,
)
from ._ledger import (
    CertificateRecord,
    DeletionRecord,
    Ledger,
    LedgerReport,
    RetrainRecord,
    utc_now,
)
from ._locking import LOCK_ATTR, locked
from ._mapped_rows import MappedRows
from ._methods import (
    APPROXIMATE,
    CERTIFIED,
    EXACT,
    METHODS,
    Call,
    Stop,
    UnlearningMethod,
    method_class,
    non_finite_model,
)
from ._overlap import alongside
from ._progress import announce, end_stream, progress
from ._reference import OutOfFoldReference
from ._relabel import STRATEGIES
from ._report import ErasureReport, erasure_report
from ._retraining import (
    certificate_retrain_refusal,
    missing_classes,
    no_rows_message,
    retrain_record,
    retrain_threshold,
)
from ._row_file import RowFile
from ._store import RowStore, dense_row, in_memory_copies, label_key
from ._subjects import as_subject_ids, requested_subjects
from ._transaction import Transaction
from .metrics import class_probabilities

_LOCKED_STATE = "_state_pickled_under_lock"
#: Beside it: the large arrays that state refers to, copied under the lock.
_ARRAYS = "_arrays_copied_under_lock"


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


#: Per estimator, the parameter values that last passed validation (see ``_validate_params``).
_VALIDATED: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()


_PARAM_NAMES: dict[type, tuple[str, ...]] = {}


def _param_names(cls: type) -> tuple[str, ...]:
    """scikit-learn's parameter names of ``cls`` (from its ``__init__`` signature), read once."""
    names = _PARAM_NAMES.get(cls)
    if names is None:
        names = _PARAM_NAMES[cls] = tuple(BaseEstimator._get_param_names.__func__(cls))  # type: ignore[attr-defined]
    return names


class UnlearnableClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A classifier that can forget training rows.

    Wraps a classifier and adds :meth:`forget`. How a deletion request
    ``(x, y)`` is served is the ``method``:

    - ``"relabel"`` (approximate; any classifier with ``partial_fit``):
      ``n_steps`` optimizer steps (one by default), each on one mini-batch of
      ``n_relabels`` copies of ``x`` carrying classes that are not ``y``
      (chosen as ``relabel`` says), plus ``n_replay`` retained rows of class
      ``y`` (Li & Ghosh, "Random Relabeling for Efficient Machine
      Unlearning");
    - ``"exact"`` (the naive Bayes family): the row's contribution is
      subtracted from the model's sufficient statistics, which leaves the
      model a fresh fit on the retained rows would give;
    - ``"sharded"`` (a :class:`~sk_unlearn.ShardedClassifier` around any
      classifier): the shard that held the row is retrained without it
      (SISA), exactly, at the cost of one shard's training;
    - ``"noisy_finetune"`` (approximate; ``MLPClassifier``, skorch nets):
      the requests of a call are served together, by Gaussian noise on the
      weights followed by ``finetune_epochs`` epochs of ``partial_fit`` on the
      retained rows. It costs those epochs per call however many rows the
      call forgets. By the field's measures it forgets ordinary rows far
      better than relabeling, and rows the model memorized (mislabeled,
      outliers) not at all (see the user guide, "Noisy fine-tuning").

    Relabeling and exact removal cost the same whatever the number of
    training rows. Every ``retrain_after`` requests the model is retrained
    from scratch on the retained rows, which serves all requests so far
    exactly.

    The training rows are kept (as a copy) so that requests can be
    recognised, rows replayed and the model retrained; a forgotten row is
    erased from that copy. :meth:`certify` measures how far the model is from
    one retrained without the forgotten rows, and retrains once that passes
    ``max_divergence``.

    Parameters
    ----------
    estimator : classifier
        The classifier to make unlearnable: ``SGDClassifier``, ``Perceptron``,
        ``MLPClassifier`` (solver ``"sgd"`` or ``"adam"``), ``MultinomialNB``,
        ``ComplementNB``, ``BernoulliNB``, ``CategoricalNB``, ``GaussianNB``,
        a skorch ``NeuralNetClassifier``, a
        :class:`~sk_unlearn.ShardedClassifier` around any classifier, any
        other classifier with
        ``partial_fit``, or one an adapter registered with
        :func:`~sk_unlearn.register_adapter` drives. It is cloned; the clone
        is trained as ``estimator_``. (``PassiveAggressiveClassifier`` works
        while scikit-learn ships it; it is deprecated there in favour of
        ``SGDClassifier(loss="hinge", penalty=None, learning_rate="pa1",
        eta0=1.0)``.)

    method : {"auto", "exact", "sharded", "certified", "relabel", "noisy_finetune"}, \
            default="auto"
        How requests are served. ``"auto"`` is ``"exact"`` where the
        estimator allows it (the naive Bayes family), ``"sharded"`` for a
        :class:`~sk_unlearn.ShardedClassifier`, ``"certified"`` for
        :class:`~sk_unlearn.CertifiedLogisticRegression` (one Newton step per
        call within an (epsilon, delta) budget, a retraining beyond it) and
        ``"relabel"`` otherwise (``"noisy_finetune"`` is never chosen by
        ``"auto"``: its cost is per call, not per request). A method on an
        estimator that cannot serve it is a ``ValueError``. The relabeling
        parameters below apply to ``"relabel"`` only.

    n_relabels : int, "auto" or None, default="auto"
        Relabeled copies of a forgotten row per request. ``None`` means
        ``n_classes - 1``, as in the paper. ``"auto"`` is ``n_classes - 1``
        for the scikit-learn estimators and 1 for skorch nets (measured: see
        the user guide). Must not exceed ``n_classes - 1``.

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
          (``PassiveAggressiveClassifier``, skorch), the copies' labels are
          drawn from those probabilities instead.

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
        ``"optimal"`` schedule, else ``0.01 * eta0``), ``0.03 *
        learning_rate_init`` for ``MLPClassifier`` and ``None`` for other
        estimators. ``None`` takes each step at the estimator's own training
        rate and schedule, which collapsed every model we measured. The
        estimator's own settings are restored after every step.

    n_replay : int, default=32
        Retained rows of the forgotten row's class added to the same
        mini-batch (the paper's second remedy against accuracy drift). Costs
        O(n_replay) per request. The defaults (``"auto"``, 32) were the
        settings closest to naive retraining in our sweep on MNIST with
        ``SGDClassifier`` and ``Perceptron``
        (``benchmarks/results/tune_defaults.md``); the ``MLPClassifier`` rate
        was chosen against the calibrated certificate
        (``benchmarks/results/choose_mlp_defaults.md``; docs/benchmarks.md).

    noise_scale : float, default=0.35
        ``"noisy_finetune"`` only: the standard deviation of the Gaussian
        noise added to each weight array (a layer's weights, its biases),
        relative to that array's own standard deviation. Measured against
        models retrained without the rows
        (``benchmarks/results/forget_quality.md``): larger values forget more
        and cost accuracy that fine-tuning must win back.

    finetune_epochs : int, default=2
        ``"noisy_finetune"`` only: passes of ``partial_fit`` over the
        retained rows (shuffled, the call's rows left out) after the noise.
        A call costs this many epochs of training.

    retrain_after : int or float, default=None
        Retrain from scratch on the retained rows once this many requests
        have been served since the last full training (the paper's sequence
        length ``l``). A float in (0, 1) is a fraction of the rows the model
        was trained on. ``None`` never retrains automatically.

    unlearning_optimizer : None, str or callable, default="auto"
        The optimizer that takes the unlearning step, for backends that have
        a choice. ``None`` is the estimator's own training optimizer at
        ``unlearning_rate``, its state carried on. For skorch nets,
        ``"auto"`` is a fresh ``"sgd"``; a torch optimizer name (``"sgd"``,
        ``"adam"``, ``"adadelta"``, ...) or a factory called as
        ``factory(params, lr=unlearning_rate)`` builds a separate optimizer,
        fresh for every request (no state is shared between requests or with
        training). For ``SGDClassifier`` and ``Perceptron``, ``"sgd"`` is one
        plain SGD step on the whole batch computed on ``coef_`` and
        ``intercept_`` (the sum of the rows' gradients, so a rate means the
        same step size as with ``partial_fit``; ~30 times faster than
        ``None``, their ``partial_fit``: one epoch of per-sample updates);
        ``"auto"`` is ``"sgd"`` where it applies and ``unlearning_rate`` is
        not None, else ``None``. The other scikit-learn backends accept only
        ``None`` (``"auto"`` means it).
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
        Changing it with ``set_params`` after ``fit`` reseeds the draws at the
        next :meth:`forget`.

    ledger_path : str, path-like or None, default=None
        A JSON Lines file to which every request and retraining is appended
        and fsync'd before the model changes (two phases per request:
        "started", then "completed" or "aborted"). It holds keyed digests of
        rows and labels (HMAC-SHA256 under the deployment's secret key, see
        :func:`sk_unlearn.row_hash`), never row values or labels, and every
        line carries a chained HMAC of the one before. Several models (e.g. clones) may share a
        file: every line names its model's fit. ``None`` keeps the ledger in
        memory only (``deletion_log_``, ``retrain_log_``). A relative path
        is resolved once, against the working directory at the first call
        that uses it (``fit``, usually): a later ``os.chdir`` does not move
        the ledger. See :meth:`verify_ledger`, :meth:`recover` and
        docs/reliability.md.

    rows_path : str, path-like or None, default=None
        Where the retained rows' values persist. ``None`` keeps them in the
        estimator, so every pickle or :meth:`save` file holds a copy. A path
        to a file names a SQLite database (created if absent) to which
        ``fit``, ``partial_fit`` and ``forget`` write them, with SQLite's
        ``secure_delete`` on, so a forgotten row's bytes are overwritten in
        the file (the rows stay in memory too; sparse rows as their
        non-zeros). A path to a directory (one that exists, or a path ending
        in ``/``) holds dense rows in memory-mapped files instead, not in the
        process's memory, changed in place and flushed after every call.
        Either way the pickle holds no row values, and unpickling
        (:meth:`load`) reads them back and checks each against the row
        digest the model keeps, raising
        ``RowStoreMismatchError`` if the files do not match (save after
        each change). Taken at ``fit`` and resolved against the working
        directory then; a new ``fit`` deletes the previous fit's rows. Every
        fit writes its rows, so set it on the model you deploy, not on one a
        grid search clones. See docs/reliability.md.

    Attributes
    ----------
    estimator_ : classifier
        The trained clone of ``estimator``.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    n_features_in_ : int
        Number of features seen during ``fit`` (for rows of more than one
        dimension, the number of values in a row).

    row_shape_ : tuple of int
        The shape of one row: ``(n_features_in_,)``, or e.g. ``(1, 28, 28)``
        for images passed to a skorch net as ``(N, 1, 28, 28)``. Every later
        ``X`` must have rows of this shape.

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
        One record per served request: keyed digests of the row and its
        label (never the row or the label), when and how it was served (the method and whether
        the removal was exact or approximate; a copy: the ledger itself is
        append-only).

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

    A naive Bayes model forgets exactly: afterwards it is the model a fresh
    fit on the retained rows gives.

    >>> import numpy as np
    >>> from sklearn.naive_bayes import MultinomialNB
    >>> nb = UnlearnableClassifier(MultinomialNB()).fit(X, y).forget(X[:5], y[:5])
    >>> nb.deletion_log_[0].guarantee
    'exact'
    >>> bool(np.allclose(nb.predict_proba(X), MultinomialNB().fit(X[5:], y[5:]).predict_proba(X)))
    True
    """

    row_shape_: tuple[int, ...]

    # Metadata routing: a meta-estimator (Pipeline, GridSearchCV) that is given
    # sample_id routes it here without a set_fit_request call.
    __metadata_request__fit = {"sample_id": True}
    __metadata_request__partial_fit = {"sample_id": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "method": [StrOptions({"auto", *METHODS})],
        "n_relabels": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "unlearning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), None],
        "relabel": [StrOptions(set(STRATEGIES))],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "n_replay": [Interval(Integral, 0, None, closed="left")],
        "noise_scale": [Interval(Real, 0, None, closed="left")],
        "finetune_epochs": [Interval(Integral, 1, None, closed="left")],
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
        "rows_path": [None, str, os.PathLike],
    }

    def __init__(
        self,
        estimator: Any,
        *,
        method: str = "auto",
        n_relabels: int | str | None = "auto",
        relabel: str = "soft",
        n_steps: int = 1,
        unlearning_rate: float | str | None = "auto",
        n_replay: int = 32,
        noise_scale: float = 0.35,
        finetune_epochs: int = 2,
        retrain_after: int | float | None = None,
        unlearning_optimizer: Any = "auto",
        max_divergence: float | None = None,
        verbose: int = 0,
        random_state: int | np.random.RandomState | None = None,
        ledger_path: str | os.PathLike[str] | None = None,
        rows_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.estimator = estimator
        self.method = method
        self.n_relabels = n_relabels
        self.relabel = relabel
        self.n_steps = n_steps
        self.unlearning_rate = unlearning_rate
        self.n_replay = n_replay
        self.noise_scale = noise_scale
        self.finetune_epochs = finetune_epochs
        self.retrain_after = retrain_after
        self.unlearning_optimizer = unlearning_optimizer
        self.max_divergence = max_divergence
        self.verbose = verbose
        self.random_state = random_state
        self.ledger_path = ledger_path
        self.rows_path = rows_path

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The constructor's parameter names, read from its signature once per class."""
        return list(_param_names(cls))

    def _validate_params(self) -> None:
        """Validate the parameters, unless the very same values passed last time.

        ``forget`` and ``certify`` validate on every call (parameters may be
        set between calls, by ``set_params`` or by assignment); scikit-learn's
        validation costs ~100 µs, a request's budget. The values that passed
        are kept (so their ids stay theirs) in a table outside the estimator,
        which is never pickled or copied.
        """
        values = tuple(getattr(self, name) for name in _param_names(type(self)))
        passed = _VALIDATED.get(self)
        if passed is not None and len(passed) == len(values):
            if all(a is b for a, b in zip(passed, values)):
                return
        super()._validate_params()
        _VALIDATED[self] = values

    # ------------------------------------------------------------ learning
    @_fit_context(prefer_skip_nested_validation=False)
    @locked
    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        *,
        sample_id: ArrayLike | None = None,
    ) -> UnlearnableClassifier:
        """Train a clone of ``estimator`` on ``(X, y)`` and keep the rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (dense, finite).
        y : array-like of shape (n_samples,)
            Their labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row, passed to the estimator's
            ``fit`` and kept with the rows: :meth:`retrain` and the
            references :meth:`certify` trains use it, replayed rows carry it,
            and a relabeled (or exactly removed) row is unlearned with it.
            Refused with a ``TypeError`` where the estimator or the method
            cannot honour it (skorch nets, the certified and sharded
            methods, estimators whose ``fit`` takes none). With metadata
            routing on, request it with ``set_fit_request(sample_weight=True)``.
        sample_id : array-like of shape (n_samples,), default=None
            The data subject each row belongs to (a customer number, a
            user name: ``str``, ``int``, ``bytes``, UUIDs or tuples of them;
            one id may own many rows). Rows learned with an id can be
            forgotten by it, ``forget(sample_id=[...])``, without holding
            the raw row. The id is kept only as a salted digest (the ledger:
            a keyed one), never as given.

        Returns
        -------
        self : UnlearnableClassifier
            The fitted estimator.
        """
        with self._transaction() as tx:
            tx.stage("validate")
            estimator = clone(self.estimator)
            X_arr, y_arr = self._rows_and_labels(X, y, reset=True, estimator=estimator)
            subjects = _subjects_of(sample_id, X_arr.shape[0])
            weights = _weights_of(sample_weight, X_arr)
            check_classification_targets(y_arr)
            classes = unique_labels(y_arr)
            adapter = self._adapter(estimator, classes)
            method = self._method(adapter)
            method.check(adapter, classes)
            if weights is not None:
                method.check_weights(adapter, "fit")
            self._check_rows_path(adapter, X_arr)
            adapter.check_settings()
            tx.stage("apply")
            ledger = Ledger(uuid.uuid4().hex)
            store = self._new_store(X_arr, classes, ledger)
            # The store (a copy of every row, their digests and indexes) is built on a
            # second thread while the estimator trains: neither reads what the other writes.
            journal = alongside(
                lambda: store.add(X_arr, y_arr, subjects, weights),
                lambda: adapter.fit(X_arr, y_arr, **weight_kwargs(weights)),
                undo=store.undo,
            )
            tx.track_store(store, journal)
            tx.record_fit(ledger, X_arr.shape[0])
            tx.stage("commit")
            previous = getattr(self, "_store", None)
            self._install(estimator, classes, store, ledger)
            tx.on_success(lambda: _release_rows(previous))
            tx.stage("version")
            self._bump_version()
        end_stream(self)  # a new model: its requests are a new stream
        return self

    @available_if(_estimator_has("partial_fit"))
    @_fit_context(prefer_skip_nested_validation=False)
    @locked
    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        sample_id: ArrayLike | None = None,
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
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row, as in :meth:`fit` (rows learned without one
            weigh 1).
        sample_id : array-like of shape (n_samples,), default=None
            The data subject of each row, as in :meth:`fit`.

        Returns
        -------
        self : UnlearnableClassifier
            The updated estimator.
        """
        first_call = not self.__sklearn_is_fitted__()
        with self._transaction() as tx:
            tx.stage("validate")
            estimator = clone(self.estimator) if first_call else self.estimator_
            X_arr, y_arr = self._rows_and_labels(X, y, reset=first_call, estimator=estimator)
            subjects = _subjects_of(sample_id, X_arr.shape[0])
            weights = _weights_of(sample_weight, X_arr)
            check_classification_targets(y_arr)
            known = _validation.partial_fit_classes(classes, None if first_call else self.classes_)
            _validation.check_known_labels(y_arr, known)
            adapter = self._adapter(estimator, known)
            method = self._method(adapter)
            if first_call:
                method.check(adapter, known)
                self._check_rows_path(adapter, X_arr)
                adapter.check_settings()
            if weights is not None:
                method.check_weights(adapter, "partial_fit")
            if not first_call:
                tx.snapshot(adapter, TRAINING)
            tx.stage("apply")
            train_dtype = X_arr.dtype if first_call else self._train_dtype
            adapter.partial_fit(
                X_arr.astype(train_dtype, copy=False),
                y_arr,
                classes=known,
                **weight_kwargs(weights),
            )
            if first_call:
                ledger = Ledger(uuid.uuid4().hex)
                store = self._new_store(X_arr, known, ledger)
                tx.record_fit(ledger, 0)
            else:
                store, ledger = self._store, self._ledger
            tx.record_learned(ledger, X_arr.shape[0])
            tx.stage("commit")
            if first_call:
                self._install(estimator, known, store, ledger)
            tx.commit_store(store, lambda: store.add(X_arr, y_arr, subjects, weights))
            self._n_trained_rows += X_arr.shape[0]
            tx.stage("version")
            self._bump_version()
        return self

    # ----------------------------------------------------------- forgetting
    @locked
    def forget(
        self,
        X: ArrayLike | None = None,
        y: ArrayLike | None = None,
        *,
        sample_id: Any = None,
        ticket: str | None = None,
        reference: OutOfFoldReference | None = None,
    ) -> UnlearnableClassifier:
        """Forget training rows, one request per row: given by value or by data-subject id.

        Requests are served in order, as ``method`` says: exactly (naive
        Bayes), or by random relabeling: ``n_steps`` optimizer steps of the
        wrapped estimator, each on ``n_relabels`` copies of the row relabeled
        as ``relabel`` says plus ``n_replay`` retained rows of its class, at
        ``unlearning_rate``. The row is then erased from the retained rows
        and recorded in ``deletion_log_``. The call is all-or-nothing: if any
        row is unknown or any step fails, the model, the retained rows, the
        random state and ``deletion_log_`` are left exactly as they were.

        Parameters
        ----------
        X : array-like of shape (n_requests, n_features), default=None
            Rows to forget. Each must equal a retained training row bit for
            bit (after the cast to its dtype); a row that only nearly equals
            one is refused with an error that says so.
        y : array-like of shape (n_requests,), default=None
            The label each row was trained with (required with ``X``).
        sample_id : id or sequence of ids, default=None
            Instead of ``X`` and ``y``: the data subjects to forget, as
            given to ``fit``/``partial_fit(..., sample_id=...)``. Every
            retained row of each subject is forgotten (one request per row,
            in the order learned); an id named twice counts once. The user
            needs neither the raw rows nor their labels. The ledger records
            each request's subject as a keyed digest
            (:func:`sk_unlearn.subject_hash`).
        ticket : str, default=None
            A reference of the erasure request (a ticket number, at most 200
            characters), written with every record of the call
            (``DeletionRecord.ticket``) so that the erasure report can name
            it. It is stored in clear: it must not itself be personal data.
        reference : OutOfFoldReference, default=None
            Calibrated stopping for relabeling (any other method refuses it):
            ``n_steps`` becomes a cap, and each row's steps stop once the
            model's confidence in its label is down to what models that never
            saw it give (a row already there takes no step; a step that
            overshoots is retried at half the rate).
            The reference is built on first use (see
            :class:`OutOfFoldReference`); ``deletion_log_`` records the steps
            each request took.

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
            with another label, or requested more often than retained), or
            the first id that owns no retained row; nothing is changed.
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

        Rows learned with data-subject ids are forgotten by id:

        >>> clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
        >>> clf = clf.fit(X, y, sample_id=["ann", "ann", "bob", "eve"])
        >>> clf = clf.forget(sample_id="ann", ticket="DSR-2026-0042")
        >>> clf.n_retained_, [r.ticket for r in clf.deletion_log_]
        (2, ['DSR-2026-0042', 'DSR-2026-0042'])
        """
        _check_fitted(self)
        self._validate_params()
        if reference is not None and not isinstance(reference, OutOfFoldReference):
            raise TypeError(
                f"reference must be an OutOfFoldReference or None; got {type(reference).__name__}."
            )
        by_subject = _check_request_form(X, y, sample_id)
        _validation.check_ticket(ticket)
        with self._transaction() as tx:
            tx.stage("validate")
            subjects: list[bytes] = []
            if by_subject:
                subjects = requested_subjects(sample_id)
            else:
                X_arr = self._rows(X, reset=False)
                y_arr = _validation.labels_for(
                    _validation.as_array(y), X_arr.shape[0], self.classes_
                )
            adapter = self._adapter()
            method = self._method(adapter)
            method.check(adapter, self.classes_)
            if reference is not None and not method.stops_early:
                raise ValueError(
                    "reference= is for calibrated stopping, which only method='relabel' does; "
                    f"method={method.name!r} takes no steps to stop. Nothing was changed."
                )
            if self._store.has_weights:  # the recipe may have changed since fit
                method.check_weights(adapter, "fit")
            self._reseed_if_changed()
            if reference is not None:
                self._built(reference)
            tx.stage("locate")
            if by_subject:
                positions, owners = self._store.locate_subjects(subjects)
                X_arr, y_arr = self._store.rows_at(positions), self._store.y[positions].copy()
            else:
                positions, owners = self._store.locate(X_arr, y_arr), []
            hashes = _keyed_hashes(X_arr, y_arr)
            tags = _request_tags(len(positions), [subjects[k] for k in owners], ticket)
            first_request = tx.begin(self._ledger, hashes)
            tx.snapshot(adapter, method.snapshot_scope, rng=self._rng)
            tx.stage("apply")
            with adapter.serving():
                records, retrains = self._serve(
                    method,
                    adapter,
                    X_arr,
                    y_arr,
                    positions,
                    (first_request, hashes, tags),
                    reference,
                )
            tx.commit(self._ledger, records, retrains)
            tx.commit_store(self._store, lambda: self._store.erase(positions))
            tx.stage("version")
            self.n_forgotten_ += len(records)
            self._bump_version()
        return self

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
        _check_fitted(self)
        with self._transaction() as tx:
            tx.stage("validate")
            missing = missing_classes(self._store.class_counts(), self.classes_)
            if missing:
                raise ValueError(
                    f"Cannot retrain: {no_rows_message(missing)}; "
                    "the retrained model would not know them."
                )
            self._retrain_in(tx, retrain_record("manual", self.n_forgotten_, len(self._store)))
        return self

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
        Every certificate is recorded in the ledger (``certificate_log_``,
        and a ``"certificate"`` line in the ledger file): its summary without
        the per-row values, and which served requests' rows it measured.

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
        reference : str, fitted classifier or HeldOutReference, default="retrain"
            What the model is compared with:

            * ``"retrain"``: a fresh clone of ``estimator`` trained on the
              retained rows exactly as :meth:`retrain` would (the naive
              model). Costs one full training, then is cached until the model
              or the estimator's parameters change. The cache is not pickled.
            * ``"out-of-shard"`` (a :class:`~sk_unlearn.ShardedClassifier`
              only): for each row, the shards that do not hold it, at the cost
              of predicting. A forgotten row is in no shard, so its reference
              is the model itself (removal is exact by construction); for a
              retained row it shows how much its shard's training on it moves
              the prediction.
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
        certificate = self._certificate(X, y, reference)
        if certificate.guarantee == CERTIFIED:
            terms = self._adapter().guarantee()  # type: ignore[attr-defined]
            certificate = replace(
                certificate,
                epsilon=terms["epsilon"],
                delta=terms["delta"],
                budget=terms["budget"],
                budget_spent=terms["budget_spent"],
            )
        self._ledger.add_certificate(
            self._ledger_file(), self._certificate_record(certificate, self._validated_X(X))
        )
        return certificate

    def _certificate_record(self, certificate: Certificate, rows: np.ndarray) -> CertificateRecord:
        """What the ledger keeps of a certificate: its summary and the requests it covers."""
        key = deployment_key()
        certified = {keyed_row_hash(row, key) for row in rows}
        return CertificateRecord(
            after_request=self.n_forgotten_,
            timestamp=utc_now(),
            requests=tuple(r.request for r in self._ledger.deletions if r.row_hash in certified),
            certificate=_certify.summary(certificate),
        )

    def _certificate(self, X: ArrayLike, y: ArrayLike | None, reference: Any) -> Certificate:
        """The certificate ``certify`` returns, before the certified terms are added."""
        _check_fitted(self)
        self._validate_params()
        X_checked = self._validated_X(X)
        y_arr = None if y is None else _validation.labels_for(y, X_checked.shape[0], self.classes_)
        kind = _certify.reference_kind(reference, y_arr)
        if kind == _certify.OUT_OF_FOLD:
            assert y_arr is not None
            self._built(reference)
            return _certify.calibrated_certificate(
                reference,
                self.estimator_,
                X_checked.astype(self._train_dtype, copy=False),
                y_arr,
                model_version=self.model_version_,
                guarantee=self._guarantee(),
            )
        if kind == _certify.MODEL:
            _certify.check_reference_model(reference, self.classes_)
        naive = self._naive_model() if kind == _certify.RETRAIN else None
        if kind == _certify.OUT_OF_SHARD:
            adapter = self._adapter()
            rows = X_checked.astype(self._train_dtype, copy=False)
            reference_proba = adapter.out_of_shard_probabilities(rows)
            values = _certify.divergences(adapter.class_probabilities(rows), reference_proba)
        elif naive is not None:
            ours = self._adapter().class_probabilities(X_checked)
            values = _certify.divergences(ours, self._adapter(naive).class_probabilities(X_checked))
        elif kind == _certify.MODEL:
            values = _certify.divergences(
                class_probabilities(self, X), class_probabilities(reference, X)
            )
        else:
            values = reference.membership_advantage(self, X, y_arr)
        certificate = _certify.certificate(
            values,
            kind,
            threshold=self.max_divergence,
            model_version=self.model_version_,
            guarantee=self._guarantee(),
        )
        if certificate.within_threshold is False:
            refusal = certificate_retrain_refusal(
                self._n_since_retrain,
                self._ledger.n_approximate_since(self._n_since_retrain),
                missing_classes(self._store.class_counts(), self.classes_),
            )
            if refusal is not None:
                _warnings.warn(refusal)
            else:
                certificate = replace(certificate, retrained=True)
                self._retrain_for_certificate(certificate, naive)
        return certificate

    # ------------------------------------------------------------ reading
    def __sklearn_is_fitted__(self) -> bool:
        # Fitted means trained, not merely validated.
        return hasattr(self, "estimator_")

    @property
    @locked
    def n_retained_(self) -> int:
        """Number of training rows currently kept."""
        _check_fitted(self)
        return len(self._store)

    @property
    @locked
    def deletion_log_(self) -> list[DeletionRecord]:
        """The served requests, oldest first (a copy of the ledger's records)."""
        _check_fitted(self)
        return list(self._ledger.deletions)

    @property
    @locked
    def certificate_log_(self) -> list[CertificateRecord]:
        """Every certificate :meth:`certify` returned, oldest first (summaries)."""
        _check_fitted(self)
        return list(self._ledger.certificates)

    @property
    @locked
    def retrain_log_(self) -> list[RetrainRecord]:
        """The retrainings from scratch since ``fit``, oldest first (a copy)."""
        _check_fitted(self)
        return list(self._ledger.retrains)

    @locked
    def sample_retained(
        self, n_rows: int, *, random_state: int | np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Copies of ``n_rows`` retained training rows drawn at random, with their labels.

        For rehearsing a deletion on a copy of the model (the unlearning
        scorer of :mod:`sk_unlearn.metrics` forgets such a sample); the rows
        are personal data like the training set they come from.

        Parameters
        ----------
        n_rows : int
            How many distinct rows, at most ``n_retained_``.
        random_state : int, Generator or None, default=None
            Seed of the draw.

        Returns
        -------
        X : ndarray of shape (n_rows, n_features)
        y : ndarray of shape (n_rows,)

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import SGDClassifier
        >>> from sk_unlearn import UnlearnableClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = UnlearnableClassifier(SGDClassifier(random_state=0)).fit(X, y)
        >>> X_some, y_some = clf.sample_retained(5, random_state=0)
        >>> clf.forget(X_some, y_some).n_retained_
        145
        """
        _check_fitted(self)
        n = len(self._store)
        if not isinstance(n_rows, Integral) or not 0 <= n_rows <= n:
            raise ValueError(f"n_rows must be an int between 0 and {n}, got {n_rows!r}.")
        X, y = self._store.in_learning_order()
        rows = np.random.default_rng(random_state).choice(n, size=int(n_rows), replace=False)
        return X[rows], y[rows]

    # ---------------------------------------------------------- durability
    @locked
    def save(self, path: str | os.PathLike[str]) -> None:
        """Pickle the estimator to ``path`` atomically.

        The pickle is written to a temporary file in the same directory,
        fsync'd and renamed over ``path``: a crash leaves either the old
        file or the new one, never half of one. Load it with :meth:`load`,
        which runs no code the file chose (plain ``pickle.load`` reads it
        too, and runs whatever a tampered file says).

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
        _check_fitted(self)
        _durability.save(self, path)
        self._saved_to = os.path.abspath(os.fspath(path))  # where verify_ledger looks for leftovers

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, recover: bool = False, allow_pickle: bool = False
    ) -> UnlearnableClassifier:
        """Load a saved estimator and check it against its ledger file.

        Loading runs no code the file chose: only scikit-learn, sk-unlearn
        and NumPy classes and NumPy's reconstructors may be named in it
        (see docs/reliability.md, "Loading safely"); anything else is an
        :class:`~sk_unlearn.UnsafePickleError` before it is called. A skorch
        net cannot be loaded so (its own loading unpickles bytes inside the
        file): pass ``allow_pickle=True``, and do so only for a file from a
        source you trust, since plain ``pickle`` runs whatever the file says.

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
        allow_pickle : bool, default=False
            Load with plain ``pickle``: needed for skorch nets, and unsafe
            for a file you do not trust.

        Returns
        -------
        clf : UnlearnableClassifier
            The loaded estimator.

        Raises
        ------
        UnsafePickleError
            If the file names anything the safe loader does not admit.
        TypeError
            If the file holds something else.
        """
        clf: UnlearnableClassifier = _durability.load(path, cls, allow_pickle=allow_pickle)
        clf._saved_to = os.path.abspath(os.fspath(path))
        if clf.ledger_path is not None and hasattr(clf, "_ledger"):
            # Only the lines after the model's checkpoint: what it may lack.
            report = clf._check_ledger(since_checkpoint=True)
            clf._ledger.skip_past(report.max_request)  # numbers a later state already used
            if recover:
                clf._serve_pending(report)
            else:
                _durability.warn_if_pending(report)
        return clf

    def _check_ledger(self, *, since_checkpoint: bool) -> LedgerReport:
        return _durability.verify(self._ledger, self._ledger_file(), since_checkpoint)

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
        _check_fitted(self)
        report = self._check_ledger(since_checkpoint=False)
        removed = _durability.remove_leftovers(getattr(self, "_saved_to", None))
        return replace(report, removed_leftovers=removed) if removed else report

    @locked
    def erasure_report(self) -> ErasureReport:
        """The ledger and the model's state as a report for a data-protection officer.

        Per served request: when it was served, its ``ticket``, its data
        subject (keyed digest), how it was served (relabel, exact, sharded,
        certified), what it is now (exact once a retraining from scratch
        followed it, and since when) and which certificates measured it;
        then the retrainings, the certificates, totals, and what the library
        cannot vouch for (copies it cannot see). With ``ledger_path`` the
        ledger file is verified first and the report says whether it agrees.
        Nothing is changed.

        Returns
        -------
        report : ErasureReport
            ``report.to_json()`` for machines, ``report.to_markdown()`` for
            people.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import SGDClassifier
        >>> from sk_unlearn import UnlearnableClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
        >>> clf = clf.fit(X, y, sample_id=range(150))
        >>> clf = clf.forget(sample_id=[3, 4], ticket="DSR-1").retrain()
        >>> report = clf.erasure_report()
        >>> report.totals["requests"], report.totals["by_status_now"]
        (2, {'exact': 2})
        >>> report.to_markdown().splitlines()[0]
        '# Erasure report'
        """
        _check_fitted(self)
        path = self._ledger_file()
        verified = None if path is None else self._check_ledger(since_checkpoint=False)
        model = {
            "estimator": type(self.estimator_).__name__,
            "method": self.method,
            "fit_id": self._ledger.fit_id,
            "model_version": self.model_version_,
            "n_rows_learned": len(self._store) + self.n_forgotten_,
            "n_retained": len(self._store),
            "n_forgotten": self.n_forgotten_,
            "n_retrains": self.n_retrains_,
            "guarantee_now": self._guarantee(),
            "ledger_path": path,
            "ledger_verified": None if verified is None else verified.ok,
        }
        return erasure_report(
            list(self._ledger.deletions),
            list(self._ledger.retrains),
            list(self._ledger.certificates),
            model,
        )

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
        if report.pending:
            self._serve_pending(report)
            report = self.verify_ledger()
        return report

    def _serve_pending(self, report: LedgerReport) -> None:
        """Forget the rows of ``report.pending`` (found by hash and label), as one call."""
        if not report.pending:
            return
        legacy = [p for p in report.pending if p.label_hash is None]  # unkeyed, older lines
        keyed = [p for p in report.pending if p.label_hash is not None]
        positions = self._store.locate_pending(
            [bytes.fromhex(p.row_hash) for p in legacy],
            [p.label for p in legacy],
            [p.request for p in legacy],
        )
        if keyed:
            key = deployment_key()
            positions += self._store.locate_keyed(
                [(p.row_hash, str(p.label_hash)) for p in keyed],
                [p.request for p in keyed],
                lambda x, label: request_digests(x, label, key),
                exclude=positions,
            )
        index = np.asarray(positions, dtype=np.intp)
        self.forget(self._store.rows_at(index), self._store.y[index].copy())

    @locked
    def __getstate__(self) -> dict[str, Any]:
        # The reference cache is a second model: rebuilt on demand, never pickled.
        # The lock is per object: a copy gets its own on first use.
        state = dict(super().__getstate__())
        if "estimator_" in state:
            # A backend may write a copy recomputed from the retained rows, so that nothing of
            # a removed row is in the file (certified removal's base state).
            state["estimator_"] = self._adapter().persisted(self._store.in_learning_order)
        state.pop("_reference_cache", None)
        state.pop("_saved_to", None)  # where this copy was saved: the loader's to say
        state.pop(LOCK_ATTR, None)
        state[FORMAT_KEY] = FORMAT_VERSION
        # pickle walks the returned state only after this method (and the lock)
        # has returned, while another thread's forget may be changing the model,
        # the rows and the ledger in place: serialise it here, under the lock.
        # Large arrays (the retained rows) travel beside those bytes, copied now, so
        # that loading builds them once.
        data, arrays = _safe_pickle.nested_dumps(state)
        return {_LOCKED_STATE: data, _ARRAYS: arrays} if arrays else {_LOCKED_STATE: data}

    def __deepcopy__(self, memo: dict[int, Any]) -> UnlearnableClassifier:
        """A copy, as pickling makes it; with ``rows_path``, one whose rows are in memory only
        (it never writes the row file: a rehearsal's scratch copy cannot erase real rows)."""
        with in_memory_copies():
            blob = pickle.dumps(self)
        copied: UnlearnableClassifier = pickle.loads(blob)
        return copied

    def __setstate__(self, state: dict[str, Any]) -> None:
        if _LOCKED_STATE in state:
            state = _safe_pickle.nested_loads(state[_LOCKED_STATE], state.get(_ARRAYS, ()))
        super().__setstate__(upgrade(state))

    # ------------------------------------------------------------ predicting
    def _validated_X(self, X: ArrayLike) -> np.ndarray:
        _check_fitted(self)
        return self._rows(X, reset=False)

    def _rows(self, X: Any, *, reset: bool) -> np.ndarray:
        """``X`` validated (see :meth:`_rows_and_labels`)."""
        X_arr, _ = self._checked(X, None, labels=False, reset=reset, estimator=None)
        return X_arr

    def _rows_and_labels(
        self, X: Any, y: Any, *, reset: bool, estimator: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``X`` and ``y`` validated: 2-d as scikit-learn validates them, or N-d rows.

        A backend that takes rows of any shape (skorch: images, say) gets them
        in that shape; ``n_features_in_`` counts their values and
        ``row_shape_`` keeps the shape, which later calls must match. Torch
        tensors are taken as arrays.
        """
        X_arr, y_arr = self._checked(X, y, labels=True, reset=reset, estimator=estimator)
        assert y_arr is not None
        return X_arr, y_arr

    def _checked(
        self, X: Any, y: Any, *, labels: bool, reset: bool, estimator: Any
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if (
            not (reset or labels)
            and hasattr(self, "row_shape_")
            and not hasattr(self, "feature_names_in_")
            and _validation.is_plain_rows(X, self.n_features_in_, self.row_shape_)
        ):
            return X, None  # what validate_data would return, ~100 µs sooner
        X = _validation.refuse_strings(_validation.as_array(X))
        if labels:
            y = _validation.as_array(y)
        target = estimator if estimator is not None else self.estimator_
        kwargs: dict[str, Any] = {"dtype": _validation.DTYPES, "reset": reset}
        adapter = adapter_for(target)
        # Sparse rows where the estimator takes them (kept sparse, as CSR); refused otherwise.
        kwargs["accept_sparse"] = "csr" if adapter.accepts_sparse else False
        if _validation.n_dims(X) > 2 and adapter.accepts_nd_rows:
            rows = check_array(X, allow_nd=True, dtype=_validation.DTYPES)
            if not reset:
                _validation.check_row_shape(rows.shape[1:], self.row_shape_)
            flat = rows.reshape(len(rows), -1)
            if labels:
                _, y = validate_data(self, flat, y, **kwargs)
            else:
                validate_data(self, flat, **kwargs)
            X_arr = rows
        elif labels:
            X_arr, y = validate_data(self, X, y, **kwargs)
        else:
            X_arr = validate_data(self, X, **kwargs)
        if reset:
            self.row_shape_ = tuple(X_arr.shape[1:])
        else:
            _validation.check_row_shape(X_arr.shape[1:], self.row_shape_)
        return X_arr, (y if labels else None)

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
        tags.input_tags.sparse = _takes_sparse(self.estimator)
        tags.input_tags.allow_nan = False
        tags.input_tags.positive_only = inner.input_tags.positive_only
        tags.non_deterministic = inner.non_deterministic
        if inner.classifier_tags is not None:
            tags.classifier_tags.poor_score = inner.classifier_tags.poor_score
        return tags

    # -------------------------------------------------- private orchestration
    def _transaction(self) -> Transaction:
        """A transaction over this estimator's whole state (see ``_transaction``)."""
        resolved = self._resolved_ledger_path()
        tx = Transaction(self.__dict__, ledger_path=None if resolved is None else resolved[1])
        # Kept only if the call succeeds (the transaction restores the attributes otherwise).
        self._ledger_resolved = resolved
        return tx

    def _ledger_file(self) -> str | None:
        """``ledger_path`` as an absolute path (see :meth:`_resolved_ledger_path`)."""
        resolved = self._resolved_ledger_path()
        return None if resolved is None else resolved[1]

    def _resolved_ledger_path(self) -> tuple[str, str] | None:
        """``(ledger_path as given, as an absolute path)``, resolved when first used.

        A relative path is resolved against the working directory of the
        first successful call that writes the ledger with it (``fit``,
        usually), and stays so: a later ``os.chdir`` does not move the
        ledger, and neither does loading the pickled model elsewhere.
        scikit-learn's contract keeps the parameter itself as given.
        """
        if self.ledger_path is None:
            return None
        given = os.fspath(self.ledger_path)
        resolved: tuple[str, str] | None = self.__dict__.get("_ledger_resolved")
        if resolved is None or resolved[0] != given:
            resolved = (given, os.path.abspath(given))
        return resolved

    def _adapter(
        self, estimator: Any = None, classes: np.ndarray | None = None
    ) -> EstimatorAdapter:
        """The adapter for ``estimator`` (default ``estimator_``) with this wrapper's settings."""
        return adapter_for(
            self.estimator_ if estimator is None else estimator,
            self.classes_ if classes is None else classes,
            self.unlearning_optimizer,
        )

    def _method(self, adapter: EstimatorAdapter) -> UnlearningMethod:
        """The unlearning method ``method`` names for this estimator, set up from the parameters."""
        return method_class(self.method, adapter).configure(self.get_params(deep=False))

    def _check_rows_path(self, adapter: EstimatorAdapter, X: Any) -> None:
        """Refuse ``rows_path`` where the model file would still hold the rows."""
        if self.rows_path is not None and sp.issparse(X) and self._rows_path_is_directory():
            raise ValueError(
                "rows_path names a directory of memory-mapped files, which hold dense rows "
                "only; keep sparse rows in a SQLite file instead (rows_path='rows.db'), which "
                "stores their non-zeros."
            )
        if self.rows_path is not None and adapter.retrains_shards:
            raise ValueError(
                "rows_path cannot keep a ShardedClassifier's rows out of the model file: its "
                "shards keep their own copy of their rows (to retrain). Use rows_path=None."
            )

    def _new_store(self, X: Any, classes: np.ndarray, ledger: Ledger) -> RowStore:
        """An empty row store for a new fit (sparse for sparse ``X``), writing to
        ``rows_path`` if one is set."""
        if self.rows_path is None:
            return RowStore(X.shape[1:], X.dtype, classes.dtype, sparse=sp.issparse(X))
        path = os.path.abspath(os.fspath(self.rows_path))
        if self._rows_path_is_directory():
            mapped = MappedRows(path, ledger.fit_id)
            return RowStore(X.shape[1:], X.dtype, classes.dtype, mapped=mapped)
        rows_file = RowFile(path, ledger.fit_id)
        return RowStore(
            X.shape[1:], X.dtype, classes.dtype, rows_file=rows_file, sparse=sp.issparse(X)
        )

    def _rows_path_is_directory(self) -> bool:
        """Whether ``rows_path`` names a directory (memory-mapped files) rather than a database."""
        assert self.rows_path is not None
        given = os.fspath(self.rows_path)
        return os.path.isdir(given) or given.endswith(("/", os.sep))

    def _install(
        self, estimator: Any, classes: np.ndarray, store: RowStore, ledger: Ledger
    ) -> None:
        """Make a freshly trained model, its rows and its ledger this estimator's state."""
        self.estimator_ = estimator
        self.classes_ = classes
        self._store = store
        self._ledger = ledger
        self._rng = _generator(self.random_state)
        self._rng_seeded_with = self.random_state
        self.n_forgotten_ = 0
        self.n_retrains_ = 0
        self._n_since_retrain = 0
        self._n_trained_rows = len(store)
        # SGD cannot mix float32 and float64 batches: feed the estimator the dtype
        # it was trained with, whatever dtype a later batch arrives in.
        self._train_dtype = store.dtype

    def _bump_version(self) -> None:
        self.model_version_ = getattr(self, "model_version_", 0) + 1

    def _guarantee(self) -> str:
        """The weakest tier among the removals since the last training from scratch."""
        tiers = self._ledger.guarantees_since(self._n_since_retrain)
        for tier in (APPROXIMATE, CERTIFIED):
            if tier in tiers:
                return tier
        return EXACT

    def _call(self, positions: list[int]) -> Call:
        return Call(
            classes=self.classes_,
            sampler=self._store.replay_sampler(exclude=positions),
            rng=self._rng,
            dtype=self._train_dtype,
        )

    def _serve(
        self,
        method: UnlearningMethod,
        adapter: EstimatorAdapter,
        X: np.ndarray,
        y: np.ndarray,
        positions: list[int],
        requests: tuple[int, list[tuple[str, str]], list[dict[str, Any]]],
        reference: OutOfFoldReference | None = None,
    ) -> tuple[list[DeletionRecord], list[RetrainRecord]]:
        """Serve the requests of one ``forget`` call in order (the rows are still stored)."""
        call = self._call(positions)
        method.start(adapter, call)
        if method.serves_batches:  # no batch method takes a reference (forget refuses it)
            served = method.serve_batch(adapter, X.astype(self._train_dtype, copy=False), y)
            _check_finite(adapter, "the call's requests", X[:1] if method.takes_steps else None)
            self._n_since_retrain += len(positions)
            return self._records(method, served, requests, positions, first=0, retrains=[])
        stops = self._stops(reference, X, y)
        weights = self._store.weights_at(positions)
        records: list[DeletionRecord] = []
        retrains: list[RetrainRecord] = []
        pending: list[dict[str, Any]] = []  # served requests whose records are not built yet
        threshold = retrain_threshold(self.retrain_after, self._n_trained_rows)
        n = len(positions)
        for i in progress(range(n), verbose=self.verbose, owner=self, desc="forget"):
            fields = method.serve(
                adapter,
                dense_row(X, i),  # a sparse request is served one dense row at a time
                y[i],
                None if stops is None else stops[i],
                weight=1.0 if weights is None else float(weights[i]),
            )
            self._n_since_retrain += 1
            pending.append(fields)
            due = threshold is not None and self._n_since_retrain >= threshold
            if not (due or fields.get("retrain", False)):
                continue  # no retraining can follow this request: its record can wait
            # A retraining would replace a model the steps broke: check before it. Otherwise
            # the weights are checked once, at the end of the call (a non-finite weight stays
            # non-finite through later steps).
            _check_finite(adapter, f"the call's requests up to request {i}", None)
            new, retrains = self._records(
                method, pending, requests, positions, first=i + 1 - len(pending), retrains=retrains
            )
            records += new
            pending = []
            if new[-1].retrained:
                adapter = self._adapter()
                method.start(adapter, replace(call, dtype=self._train_dtype))
                threshold = retrain_threshold(self.retrain_after, self._n_trained_rows)
                if stops is not None:  # the levels are on the new model's scale
                    stops[i + 1 :] = self._stops(reference, X[i + 1 :], y[i + 1 :]) or []
        if pending:
            new, retrains = self._records(
                method, pending, requests, positions, first=n - len(pending), retrains=retrains
            )
            records += new
        # The model the call leaves must predict finite probabilities for its rows (finite
        # but huge weights overflow there first): one batched prediction at the end, where
        # a per-request one cost as much as the rest of a small step's bookkeeping.
        _check_finite(adapter, "the call's requests", X if method.takes_steps else None)
        return records, retrains

    def _records(
        self,
        method: UnlearningMethod,
        served: list[dict[str, Any]],
        requests: tuple[int, list[tuple[str, str]], list[dict[str, Any]]],
        positions: list[int],
        *,
        first: int,
        retrains: list[RetrainRecord],
    ) -> tuple[list[DeletionRecord], list[RetrainRecord]]:
        """Records for requests ``first, first + 1, ...`` once the method served them.

        A method that asked for retraining (``"retrain"`` in its fields: an
        over-budget certified step) is served by one now; otherwise
        ``retrain_after`` may retrain. Either way the rows forgotten so far in
        the call are left out.
        """
        last = first + len(served)
        asked = any([fields.pop("retrain", False) for fields in served])  # pop from every one
        if asked:
            self._retrain_without(positions[:last], required=True)
            reason = "budget"
        else:
            reason = "retrain_after"
        retrained = asked or self._retrain_if_due(forgotten=positions[:last])
        if retrained:
            after = self.n_forgotten_ + last
            retrains = [*retrains, retrain_record(reason, after, self._n_trained_rows)]
        records = [
            DeletionRecord(
                request=requests[0] + first + j,
                row_hash=requests[1][first + j][0],
                label_hash=requests[1][first + j][1],
                timestamp=utc_now(),
                method=method.name,
                guarantee=EXACT if asked else method.guarantee,
                retrained=retrained and j == len(served) - 1,
                **requests[2][first + j],
                **fields,
            )
            for j, fields in enumerate(served)
        ]
        return records, retrains

    def _reseed_if_changed(self) -> None:
        """Reseed the generator if ``set_params`` changed ``random_state`` since it was seeded."""
        seeded_with = getattr(self, "_rng_seeded_with", self.random_state)
        same = seeded_with is self.random_state or (
            isinstance(seeded_with, Integral)
            and isinstance(self.random_state, Integral)
            and seeded_with == self.random_state
        )
        if not same:
            self._rng = _generator(self.random_state)
            self._rng_seeded_with = self.random_state

    def _stops(
        self, reference: OutOfFoldReference | None, X: np.ndarray, y: np.ndarray
    ) -> list[Stop] | None:
        """Calibrated stopping levels of the requests, on the current model's scale."""
        if reference is None:
            return None
        targets, floors = reference.stopping_levels(
            self.estimator_, X.astype(self._train_dtype, copy=False), y
        )
        return [Stop(float(t), float(f)) for t, f in zip(targets, floors)]

    def _built(self, reference: OutOfFoldReference) -> None:
        """Build ``reference`` for this model's current training from scratch, unless it is."""
        key = (self._ledger.fit_id, self.n_retrains_)
        if reference.is_built_for(key):
            return
        X_cal = reference.X_calibration
        if X_cal.shape[1:] != self.row_shape_:
            raise ValueError(
                f"X_calibration has rows of shape {X_cal.shape[1:]}; the model was trained on "
                f"rows of shape {self.row_shape_}."
            )
        seen = int(self._store.contains(X_cal).sum())
        if seen:
            raise ValueError(
                f"X_calibration holds {seen} row(s) the model trained on: calibration rows must "
                "be rows no model saw (a validation or test split)."
            )
        X, y = self._store.in_learning_order()
        weights = self._store.weights_in_learning_order()
        n_models = reference.n_folds * reference.n_repeats
        with announce(
            f"building the out-of-fold reference ({n_models} trainings)", verbose=self.verbose
        ):
            reference.build(key, self.estimator, self.classes_, X, y, self.estimator_, weights)

    def _retrain_if_due(self, forgotten: list[int]) -> bool:
        """Retrain on the rows not yet ``forgotten`` once ``retrain_after`` is reached."""
        threshold = retrain_threshold(self.retrain_after, self._n_trained_rows)
        if threshold is None or self._n_since_retrain < threshold:
            return False
        return self._retrain_without(forgotten, required=False)

    def _retrain_without(self, forgotten: list[int], *, required: bool) -> bool:
        """Retrain on the retained rows but ``forgotten``; postpone (or, if ``required``, fail)
        when some class would have no rows."""
        removed = [label_key(self._store.y[p]) for p in forgotten]
        missing = missing_classes(self._store.class_counts(), self.classes_, removed)
        if missing:
            if required:
                raise ValueError(
                    f"This removal needs a retraining from scratch (its certified step is over "
                    f"budget), which is impossible: {no_rows_message(missing)}. Nothing was "
                    "forgotten."
                )
            _warnings.warn(f"Retraining postponed: {no_rows_message(missing)}.")
            return False
        keep = np.ones(len(self._store), dtype=bool)
        keep[forgotten] = False
        self._install_retrained(self._fresh_fit(keep), int(keep.sum()))
        return True

    def _fresh_fit(self, keep: np.ndarray | None = None) -> Any:
        """A clone of ``estimator`` trained on the kept rows (with their weights) in learning
        order."""
        estimator = clone(self.estimator)
        X, y = self._store.in_learning_order(keep)
        weights = self._store.weights_in_learning_order(keep)
        with announce(f"training from scratch on {len(y)} retained rows", verbose=self.verbose):
            self._adapter(estimator).fit(X, y, **weight_kwargs(weights))
        return estimator

    def _install_retrained(self, estimator: Any, n_rows: int) -> None:
        self.estimator_ = estimator
        self._train_dtype = self._store.dtype
        self.n_retrains_ += 1
        self._n_since_retrain = 0
        self._n_trained_rows = n_rows

    def _retrain_in(self, tx: Transaction, record: RetrainRecord, fitted: Any = None) -> None:
        """Retrain from scratch on every retained row, inside the transaction ``tx``."""
        tx.stage("apply")
        estimator = self._fresh_fit() if fitted is None else fitted
        tx.record_retrain(self._ledger, record)
        tx.stage("commit")
        self._install_retrained(estimator, len(self._store))
        tx.stage("version")
        self._bump_version()

    def _retrain_for_certificate(self, certificate: Certificate, naive: Any) -> None:
        """Retrain after a certificate over ``max_divergence`` (``naive``: the model to install)."""
        record = retrain_record(
            "certificate", self.n_forgotten_, len(self._store), _certify.summary(certificate)
        )
        with self._transaction() as tx:
            # The 'retrain' reference is exactly the model retrain() would fit.
            fitted = None if naive is None else copy.deepcopy(naive)
            self._retrain_in(tx, record, fitted)
        if naive is not None:  # still the naive model of the new version
            self._reference_cache = (self._reference_key(), naive)

    def _reference_key(self) -> tuple[int, str]:
        """What the cached naive model depends on: the model version and the recipe."""
        # The parameters too: set_params(estimator__...) changes the recipe, not the model.
        return self.model_version_, repr(self.estimator.get_params(deep=True))

    def _naive_model(self) -> Any:
        """The model ``retrain()`` would fit now, cached until the model or recipe changes."""
        key = self._reference_key()
        cached: tuple[Any, Any] | None = getattr(self, "_reference_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        missing = missing_classes(self._store.class_counts(), self.classes_)
        if missing:
            raise ValueError(
                f"Cannot build the 'retrain' reference: {no_rows_message(missing)}. "
                "Pass a fitted classifier or a HeldOutReference instead."
            )
        naive = self._fresh_fit()
        self._reference_cache = (key, naive)
        return naive


def _check_fitted(clf: UnlearnableClassifier) -> None:
    """scikit-learn's ``check_is_fitted`` (its ``NotFittedError`` and message), asked only
    when the estimator is not fitted: the answer is one attribute lookup, the check ~20 µs."""
    if not clf.__sklearn_is_fitted__():
        check_is_fitted(clf)


def _check_finite(adapter: EstimatorAdapter, what: str, rows: np.ndarray | None) -> None:
    """Fail (so the transaction rolls back) if serving ``what`` broke the model.

    Broken: a non-finite weight, or non-finite probabilities on ``rows`` (the
    row just stepped on: finite but huge weights overflow there first; None
    for a method that takes no step).
    """
    broken = "weights" if not adapter.finite() else None
    if broken is None and rows is not None and adapter.has_class_scores():
        if not np.isfinite(adapter.class_probabilities(rows)).all():
            broken = "predictions"
    if broken is not None:
        raise non_finite_model(what, broken)


def _takes_sparse(estimator: Any) -> bool:
    """Whether the wrapper takes sparse rows for ``estimator`` (False if no adapter drives it)."""
    try:
        return bool(adapter_for(estimator).accepts_sparse)
    except (TypeError, ValueError):
        return False


def _release_rows(store: RowStore | None) -> None:
    """Delete a replaced fit's rows from its row file (a warning if the file cannot be written)."""
    if store is None or store.rows_file is None:
        return
    try:
        store.rows_file.drop()
    except (OSError, sqlite3.Error) as error:
        _warnings.warn(
            f"The previous fit's retained rows could not be deleted from "
            f"{store.rows_file.path!r} ({error}); delete them with a later fit or by hand."
        )


def _weights_of(sample_weight: Any, X: np.ndarray) -> np.ndarray | None:
    """``sample_weight`` validated as scikit-learn validates it (finite, non-negative, one per
    row, not all zero), as float64; None stays None."""
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


def _subjects_of(sample_id: Any, n_rows: int) -> list[bytes] | None:
    """The canonical ids of ``n_rows`` rows being learned (None: learned without ids)."""
    return None if sample_id is None else as_subject_ids(sample_id, n_rows)


def _check_request_form(X: Any, y: Any, sample_id: Any) -> bool:
    """Whether a ``forget`` call names its requests by id; raise if it names them wrongly."""
    if sample_id is not None:
        if X is not None or y is not None:
            raise ValueError(
                "Pass either the rows (X, y) or their data-subject ids (sample_id=...) to "
                "forget, not both."
            )
        return True
    if X is None or y is None:
        raise ValueError(
            "forget needs the rows and their labels, forget(X, y), or the data-subject ids "
            "the rows were learned with, forget(sample_id=[...])."
        )
    return False


def _request_tags(n_requests: int, owners: list[bytes], ticket: str | None) -> list[dict[str, Any]]:
    """Per request, the ledger's ``subject`` and ``ticket`` fields.

    ``subject`` is the keyed digest of the id that owns the row (None for a
    row given by value).
    """
    key = deployment_key() if owners else b""
    subjects: list[str | None] = [keyed_subject_hash(o, key) for o in owners]
    if not owners:
        subjects = [None] * n_requests
    return [{"subject": s, "ticket": ticket} for s in subjects]


def _keyed_hashes(X: np.ndarray, y: np.ndarray) -> list[tuple[str, str]]:
    """``(row_hash, label_hash)`` of each request, keyed with the deployment's key."""
    return requests_digests(X, y, deployment_key())
