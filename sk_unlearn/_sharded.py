"""Exact unlearning by sharded, sliced training (SISA; Bourtoule et al., IEEE S&P 2021).

Implemented from the paper ("Machine Unlearning", arXiv:1912.03817), not from
its reference code. The training rows are split into ``n_shards`` disjoint
shards, one model per shard; the ensemble predicts by averaging the shards'
probabilities (or by majority vote). A shard's rows are split further into
``n_slices`` slices added one after another: at stage ``r`` the model
learns, with ``partial_fit``, the rows of slices ``0 .. r`` (the paper's
incremental training on a growing set), and a checkpoint of the model is
kept after each stage. Removing a row retrains only the shard that held it,
from the checkpoint taken before the row's slice: the shard is then exactly
the model its training procedure gives on its retained rows, and every other
shard never saw the row. Cost: one shard's training (less with slices), not
the whole model's.

Training procedure of one shard (:class:`Procedure`, fixed at ``fit``), which
a removal replays:

* ``n_slices=1`` and the model started by :meth:`ShardedClassifier.fit`: a
  fresh clone of ``estimator``, seeded with the shard's seed, fitted on the
  shard's rows (``fit``); rows added later by ``partial_fit`` are learned
  incrementally, and a removal refits the shard on all its retained rows,
  as ``UnlearnableClassifier.retrain`` refits the whole model;
* otherwise (slices, or a model started by ``partial_fit``): the seeded
  clone goes through the stages, each ``slice_epochs`` calls of
  ``partial_fit(X, y, classes=classes_)`` on the rows of slices ``0 .. r``;
  rows added later join the last slice.

Everything a removal changes is replaced, never written into: new row
arrays, new model objects, new lists and index. A removal that fails
half-way leaves the estimator exactly as it was, and a snapshot of the
attribute dictionary (references only) is enough to undo one.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from ._adapter import STEP, EstimatorAdapter
from ._store import UnknownRowError, label_key, row_digests

_MAX_SEED = np.iinfo(np.int32).max

#: A shard's place of a row: (shard, slice).
Place = tuple[int, int]
#: Row digest -> (label, shard, slice) of each retained row with that content.
_Index = dict[bytes, list[tuple[Hashable, int, int]]]


def _has(attr: str) -> Callable[[Any], bool]:
    def check(self: ShardedClassifier) -> bool:
        return hasattr(self.estimator, attr)

    return check


# ------------------------------------------------------------------ assignment
def deal(order: np.ndarray, n_shards: int, start: int) -> np.ndarray:
    """Shard of each row when the rows ``order`` are dealt round-robin from ``start``.

    Examples
    --------
    >>> deal(np.array([2, 0, 1]), 2, start=1)
    array([0, 1, 1])
    """
    shards = np.empty(order.size, dtype=np.intp)
    shards[order] = (start + np.arange(order.size)) % n_shards
    return shards


def key_shards(keys: Any, n_shards: int, seed: int) -> np.ndarray:
    """Shard of each row from its group key: a seeded digest of the key, so equal keys share.

    The key is canonicalised (a NumPy scalar as the Python value, numbers as
    floats) so that ``3``, ``3.0`` and ``np.int64(3)`` name the same group.
    """
    salt = seed.to_bytes(8, "little")
    out = np.empty(len(keys), dtype=np.intp)
    for i, key in enumerate(keys):
        value = label_key(key)
        text = repr(float(value)) if isinstance(value, (int, float)) else repr(value)
        digest = hashlib.blake2b(text.encode(), digest_size=8, key=salt).digest()
        out[i] = int.from_bytes(digest, "little") % n_shards
    return out


def assign(
    assignment: Any,
    X: np.ndarray,
    y: np.ndarray,
    n_shards: int,
    rng: np.random.Generator,
    *,
    start: int,
    seed: int,
) -> np.ndarray:
    """Shard of each row of ``(X, y)`` under ``assignment`` (see ``ShardedClassifier``)."""
    if callable(assignment):
        keys = assignment(X)
        if len(keys) != len(y):
            raise ValueError(
                f"assignment returned {len(keys)} group keys for {len(y)} rows; it must "
                "return one key per row."
            )
        return key_shards(keys, n_shards, seed)
    if assignment == "random":
        return deal(rng.permutation(len(y)), n_shards, start)
    # "stratified": class by class, each class shuffled, one running deal.
    by_class = [rng.permutation(np.flatnonzero(y == c)) for c in unique_labels(y)]
    order = np.concatenate(by_class) if by_class else np.empty(0, dtype=np.intp)
    return deal(order, n_shards, start)


# ------------------------------------------------------------------ one shard's training
def seeded(estimator: Any, seed: int) -> Any:
    """A clone of ``estimator`` with every ``random_state`` set to ``seed`` (as bagging does)."""
    model = clone(estimator)
    names = [
        name
        for name in model.get_params(deep=True)
        if name == "random_state" or name.endswith("__random_state")
    ]
    if names:
        model.set_params(**dict.fromkeys(names, int(seed)))
    return model


def fit_rows(estimator: Any, seed: int, X: np.ndarray, y: np.ndarray) -> Any:
    """A shard model fitted on ``(X, y)``: None without rows, a constant with one class."""
    if len(y) == 0:
        return None
    if unique_labels(y).size < 2:
        # Most classifiers refuse a single class; the exact model of one class is a constant.
        return DummyClassifier(strategy="prior").fit(X, y)
    return seeded(estimator, seed).fit(X, y)


def _size(model: Any) -> int:
    return 0 if model is None else len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))


@dataclass(frozen=True)
class Procedure:
    """How one shard is trained; fixed at ``fit``, so that a removal replays it.

    Parameters
    ----------
    incremental : bool
        Stages of ``partial_fit`` (slices, or a model started by
        ``partial_fit``) rather than one ``fit`` on all the shard's rows.
    slice_epochs : int, default=1
        ``partial_fit`` calls per stage.
    cumulative : bool, default=True
        Stage ``r`` learns the rows of slices ``0 .. r`` (SISA). False: slice
        ``r`` alone, once -- how models fitted before ``slice_epochs``
        existed were trained, kept so that their removals replay it.

    Examples
    --------
    >>> Procedure(incremental=True, slice_epochs=2).stage_rows(2)
    slice(0, 3, None)
    """

    incremental: bool
    slice_epochs: int = 1
    cumulative: bool = True

    def stage_rows(self, r: int) -> slice:
        """The slices stage ``r`` learns."""
        return slice(0 if self.cumulative else r, r + 1)


def train_shard(
    estimator: Any,
    seed: int,
    slices: list[tuple[np.ndarray, np.ndarray]],
    classes: np.ndarray,
    procedure: Procedure,
    *,
    start: int = 0,
    start_model: Any = None,
) -> tuple[Any, list[Any], list[int]]:
    """Train one shard from stage ``start`` on, from ``start_model`` (the checkpoint before it).

    Returns the shard's model (None if it has no rows), the checkpoints after
    stages ``start .. n_slices - 2`` and their pickled sizes in bytes.
    A pure function of its arguments, run in a joblib worker.
    """
    if not procedure.incremental:
        X, y = slices[0]
        return fit_rows(estimator, seed, X, y), [], []
    model = copy.deepcopy(start_model)
    checkpoints: list[Any] = []
    for r in range(start, len(slices)):
        X, y = _concat_all(slices[procedure.stage_rows(r)])
        if len(y):
            if model is None:
                model = seeded(estimator, seed)
            for _ in range(procedure.slice_epochs):
                model.partial_fit(X, y, classes=classes)
        if r < len(slices) - 1:
            checkpoints.append(copy.deepcopy(model))
    return model, checkpoints, [_size(c) for c in checkpoints]


def learn_more(
    estimator: Any,
    seed: int,
    model: Any,
    rows: tuple[np.ndarray, np.ndarray],
    shard_rows: tuple[np.ndarray, np.ndarray],
    classes: np.ndarray,
    procedure: Procedure,
) -> Any:
    """Shard model after learning ``rows`` (``shard_rows``: all its rows, the new ones included).

    A copy learns them with ``partial_fit``; a shard that cannot (no model
    yet, a constant, or a fitted model that lacks one of the new labels)
    is refitted on all its rows, which its procedure gives too.
    """
    X, y = rows
    if procedure.incremental:
        new = seeded(estimator, seed) if model is None else copy.deepcopy(model)
        new.partial_fit(X, y, classes=classes)
        return new
    known = getattr(model, "classes_", None)
    if (
        model is None
        or isinstance(model, DummyClassifier)
        or not np.isin(unique_labels(y), np.asarray(known)).all()
    ):
        return fit_rows(estimator, seed, *shard_rows)
    new = copy.deepcopy(model)
    new.partial_fit(X, y, classes=known)
    return new


# ------------------------------------------------------------------ the estimator
class ShardedClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """An ensemble of shard models that forgets a row exactly by retraining one shard (SISA).

    The training rows are split into ``n_shards`` disjoint shards and one
    clone of ``estimator`` is trained per shard, so that removing a row
    (:meth:`remove_rows`) retrains only the shard that held it: afterwards
    that shard is exactly what its training gives on its retained rows and
    no other shard ever saw the row. Within a shard, ``n_slices > 1``
    adds the shard's rows slice after slice, learning the rows so far with
    ``partial_fit`` at each stage, and keeps a checkpoint after each, so a
    removal retrains from the checkpoint before the row's slice. Bourtoule
    et al., "Machine Unlearning" (IEEE S&P 2021).

    Works with any classifier (``LogisticRegression``,
    ``HistGradientBoostingClassifier``, ``RandomForestClassifier``,
    ``SVC(probability=True)``, ...); slices need ``partial_fit``. Wrap it in
    :class:`~sk_unlearn.UnlearnableClassifier` for deletion requests with a
    ledger, ``certify``, ``save``/``load``: its ``method="auto"`` serves them
    by sharded retraining.

    The shards keep their training rows (retraining needs them): a fitted
    ``ShardedClassifier`` holds, and pickles, a copy of every retained row.

    Parameters
    ----------
    estimator : classifier
        The classifier trained on each shard (cloned; every ``random_state``
        in it is set to the shard's seed, as ``BaggingClassifier`` does).
    n_shards : int, default=10
        Number of disjoint shards. A request costs about one shard's
        training; fewer rows per shard usually cost some accuracy.
    n_slices : int, default=1
        Slices per shard, added in turn: at stage ``r`` the shard's model
        learns the rows of slices ``0 .. r`` with ``partial_fit`` (SISA's
        incremental training), with a checkpoint after each stage but the
        last. Needs ``estimator`` to have ``partial_fit``; a removal retrains
        from the checkpoint before the earliest slice it touches, so a row in
        slice ``r`` costs stages ``r .. n_slices - 1``.
    slice_epochs : int, default=1
        ``partial_fit`` calls on the rows of slices ``0 .. r`` at each stage
        (one epoch each for ``SGDClassifier`` and ``MLPClassifier``; a skorch
        net's ``partial_fit`` runs its ``max_epochs``). A row of slice ``r``
        is learned ``slice_epochs * (n_slices - r)`` times. Used only with
        ``n_slices > 1`` or a model started by ``partial_fit``. An estimator
        whose ``partial_fit`` accumulates counts (naive Bayes) counts a row
        once per call: use ``n_slices=1`` for it.
    assignment : {"stratified", "random"} or callable, default="stratified"
        How rows are assigned to shards:

        * ``"stratified"``: each class's rows, shuffled, dealt round-robin,
          so every shard holds every class with at least ``n_shards`` rows;
        * ``"random"``: all rows shuffled and dealt round-robin (shards of
          equal size);
        * a callable ``f(X) -> keys`` returning one hashable group key per
          row (a customer number, say): rows with equal keys share a shard,
          chosen by a seeded digest of the key, so forgetting one data
          subject retrains one shard.
    aggregation : {"mean", "vote"}, default="mean"
        ``"mean"``: the average of the shards' ``predict_proba`` (needs
        ``estimator`` to have it). ``"vote"``: majority vote of their
        ``predict``; ``predict_proba`` is then the share of votes (ties go to
        the first class in ``classes_``).
    n_jobs : int, default=None
        Shards trained in parallel through joblib (``None``: one, unless in
        a ``joblib.parallel_config`` context; ``-1``: all processors).
        ``with joblib.parallel_config(backend="dask"):`` trains them on a
        Dask cluster.
    random_state : int, RandomState instance or None, default=None
        Seeds the assignment and the shards' seeds.

    Attributes
    ----------
    estimators_ : list of length n_shards
        The fitted shard models; ``None`` for a shard without rows (it
        abstains), a ``DummyClassifier`` for a shard whose rows all have one
        class (most classifiers cannot be fitted on one class; the exact
        model of such rows predicts that class).
    shard_seeds_ : ndarray of shape (n_shards,)
        The seed each shard's estimator is trained with.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    n_checkpoint_bytes_ : int
        Pickled size of the checkpoints kept: at most
        ``n_shards * (n_slices - 1)`` models.
    n_shard_retrains_ : int
        Shard trainings that removals have run so far.

    Notes
    -----
    A shard can be left without rows of some class (a rare class under
    ``"random"`` or a group key, or after removals): its model then does not
    know the class, and its probability for it counts as 0 in the mean. A
    shard left with one class is a constant; a shard left without rows
    abstains. With ``n_slices > 1`` every shard is trained with
    ``classes=classes_`` and knows every class.

    A shard's training should cost in proportion to its rows, or sharding
    saves little: ``SGDClassifier``'s default stopping rule runs more epochs
    on a small shard. For SGD shards, a fixed number of epochs with averaged
    iterates (``average=True, max_iter=5, tol=None``) was as accurate as the
    same single model on MNIST at 10 shards, with requests 11.6x cheaper
    than a retrain (``benchmarks/bench_sharded.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_unlearn import ShardedClassifier
    >>> from sk_unlearn.datasets import load_digits_split
    >>> d = load_digits_split()
    >>> clf = ShardedClassifier(LogisticRegression(max_iter=1000), n_shards=4,
    ...                         random_state=0).fit(d.X_train, d.y_train)
    >>> len(clf.estimators_), clf.score(d.X_test, d.y_test) > 0.9
    (4, True)
    >>> places = clf.remove_rows(d.X_train[:1], d.y_train[:1])  # retrains one shard
    >>> len(places), clf.n_shard_retrains_
    (1, 1)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "n_shards": [Interval(Integral, 1, None, closed="left")],
        "n_slices": [Interval(Integral, 1, None, closed="left")],
        "slice_epochs": [Interval(Integral, 1, None, closed="left")],
        "assignment": [StrOptions({"stratified", "random"}), callable],
        "aggregation": [StrOptions({"mean", "vote"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator: Any,
        *,
        n_shards: int = 10,
        n_slices: int = 1,
        slice_epochs: int = 1,
        assignment: str | Callable[[np.ndarray], Any] = "stratified",
        aggregation: str = "mean",
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.estimator = estimator
        self.n_shards = n_shards
        self.n_slices = n_slices
        self.slice_epochs = slice_epochs
        self.assignment = assignment
        self.aggregation = aggregation
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------ learning
    def fit(self, X: Any, y: Any) -> ShardedClassifier:
        """Assign the rows to shards and train one model per shard.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (dense, finite).
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self : ShardedClassifier
        """
        self._validate_params()
        X_arr, y_arr = validate_data(self, X, y, reset=True)
        check_classification_targets(y_arr)
        self._check_estimator()
        self._start(X_arr, y_arr, unique_labels(y_arr), incremental=self.n_slices > 1)
        return self

    @available_if(_has("partial_fit"))
    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> ShardedClassifier:
        """Learn new rows: each affected shard learns its new rows incrementally.

        The first call assigns the rows and trains every shard slice by slice
        with ``partial_fit`` (``classes`` is then required, as in
        scikit-learn). Later calls add each row to its shard's last slice and
        let that shard learn it; other shards are untouched.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every label; required on the first call.

        Returns
        -------
        self : ShardedClassifier
        """
        first = not hasattr(self, "estimators_")
        if first:
            self._validate_params()
        X_arr, y_arr = validate_data(self, X, y, reset=first)
        check_classification_targets(y_arr)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._check_estimator()
            known = unique_labels(classes)
            _check_labels(y_arr, known)
            self._start(X_arr, y_arr, known, incremental=True)
            return self
        if classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} differs from the classes of the first "
                f"call, {self.classes_.tolist()}."
            )
        _check_labels(y_arr, self.classes_)
        self._learn(X_arr, y_arr)
        return self

    def _check_estimator(self) -> None:
        if self.n_slices > 1 and not hasattr(self.estimator, "partial_fit"):
            raise ValueError(
                f"n_slices={self.n_slices} trains each shard slice by slice with partial_fit, "
                f"which {type(self.estimator).__name__} does not have. Use n_slices=1."
            )
        if self.aggregation == "mean" and not hasattr(self.estimator, "predict_proba"):
            raise ValueError(
                f"aggregation='mean' averages the shards' predict_proba, which "
                f"{type(self.estimator).__name__} does not have. Use aggregation='vote'."
            )

    def _start(
        self, X: np.ndarray, y: np.ndarray, classes: np.ndarray, *, incremental: bool
    ) -> None:
        """Train every shard from scratch on its rows of ``(X, y)``."""
        random_state = check_random_state(self.random_state)
        seeds = random_state.randint(_MAX_SEED, size=self.n_shards)
        assign_seed = int(random_state.randint(_MAX_SEED))
        rng = np.random.default_rng([assign_seed, 0])
        shard_of = assign(self.assignment, X, y, self.n_shards, rng, start=0, seed=assign_seed)
        slices = []
        for s in range(self.n_shards):
            rows = np.flatnonzero(shard_of == s)
            if self.n_slices > 1:
                rows = rng.permutation(rows)  # random slices, as in the paper
            slices.append([(X[part], y[part]) for part in np.array_split(rows, self.n_slices)])
        procedure = Procedure(incremental, self.slice_epochs)
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(train_shard)(self.estimator, int(seeds[s]), slices[s], classes, procedure)
            for s in range(self.n_shards)
        )
        self.classes_ = classes
        self.shard_seeds_ = seeds
        self.estimators_ = [model for model, _, _ in results]
        self._slices = slices
        self._checkpoints = [checkpoints for _, checkpoints, _ in results]
        self._checkpoint_sizes = [sizes for _, _, sizes in results]
        self.n_checkpoint_bytes_ = int(sum(map(sum, self._checkpoint_sizes)))
        self.n_shard_retrains_ = 0
        self._procedure = procedure
        self._assign_seed = assign_seed
        self._n_dealt = len(y)
        self._index: _Index | None = None
        self._row_index()  # built now, so that no request pays for it

    def _learn(self, X: np.ndarray, y: np.ndarray) -> None:
        """Add rows to their shards' last slices; the affected shards learn them."""
        rng = np.random.default_rng([self._assign_seed, self._n_dealt])
        shard_of = assign(
            self.assignment, X, y, self.n_shards, rng, start=self._n_dealt, seed=self._assign_seed
        )
        shards = [s for s in range(self.n_shards) if (shard_of == s).any()]
        new_rows = {s: (X[shard_of == s], y[shard_of == s]) for s in shards}
        last = {s: _concat_all([self._slices[s][-1], new_rows[s]]) for s in shards}
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(learn_more)(
                self.estimator,
                int(self.shard_seeds_[s]),
                self.estimators_[s],
                new_rows[s],
                _concat_all([*self._slices[s][:-1], last[s]]),
                self.classes_,
                self._procedure,
            )
            for s in shards
        )
        estimators, slices = list(self.estimators_), list(self._slices)
        for s, model in zip(shards, results):
            estimators[s] = model
            slices[s] = [*slices[s][:-1], last[s]]
        index = dict(self._row_index())
        for digest, label, shard in zip(row_digests(X), y, shard_of):
            place = (label_key(label), int(shard), len(slices[shard]) - 1)
            index[digest] = [*index.get(digest, []), place]
        self.estimators_, self._slices = estimators, slices
        self._n_dealt += len(y)
        self._index = index

    # ------------------------------------------------------------ removing
    def remove_rows(self, X: Any, y: Any) -> list[Place]:
        """Remove training rows exactly: retrain each shard that held one, once.

        Each affected shard is retrained from the checkpoint taken before the
        earliest slice the call touches (from scratch without slices), in
        parallel through joblib. The call is all-or-nothing: an unknown row
        or a failed training changes nothing.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows to remove, each equal to a training row.
        y : array-like of shape (n_rows,)
            The label each was trained with.

        Returns
        -------
        places : list of (shard, slice)
            For each row, its shard and the first slice that shard was
            retrained from.

        Raises
        ------
        UnknownRowError
            If a row (with its label) is not among the retained rows, or is
            requested more often than it is held.
        """
        check_is_fitted(self)
        X_arr = validate_data(self, X, reset=False)
        y_arr = np.asarray(y)
        if y_arr.ndim != 1 or len(y_arr) != len(X_arr):
            raise ValueError(
                f"y must hold one label per row of X: got shape {y_arr.shape} for "
                f"{len(X_arr)} rows."
            )
        index, held, places = self._claimed(X_arr, y_arr)
        first = {s: min(r for (t, r) in held if t == s) for s, _ in held}
        new_slices = {s: list(self._slices[s]) for s in first}
        for (s, r), positions in held.items():
            X_sr, y_sr = new_slices[s][r]
            keep = np.ones(len(y_sr), dtype=bool)
            keep[positions] = False
            new_slices[s][r] = (X_sr[keep], y_sr[keep])
        shards = sorted(first)
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(train_shard)(
                self.estimator,
                int(self.shard_seeds_[s]),
                new_slices[s],
                self.classes_,
                self._procedure,
                start=first[s],
                start_model=self._checkpoints[s][first[s] - 1] if first[s] else None,
            )
            for s in shards
        )
        estimators, slices = list(self.estimators_), list(self._slices)
        checkpoints, sizes = list(self._checkpoints), list(self._checkpoint_sizes)
        for s, (model, new_checkpoints, new_sizes) in zip(shards, results):
            estimators[s] = model
            slices[s] = new_slices[s]
            checkpoints[s] = [*checkpoints[s][: first[s]], *new_checkpoints]
            sizes[s] = [*sizes[s][: first[s]], *new_sizes]
        self.estimators_, self._slices = estimators, slices
        self._checkpoints, self._checkpoint_sizes = checkpoints, sizes
        self.n_checkpoint_bytes_ = int(sum(map(sum, sizes)))
        self.n_shard_retrains_ += len(shards)
        self._index = index
        return [(s, first[s]) for s, _ in places]

    def _claimed(
        self, X: np.ndarray, y: np.ndarray
    ) -> tuple[_Index, dict[Place, list[int]], list[Place]]:
        """The index without the rows ``(X, y)``, their positions in each (shard, slice), and
        each row's (shard, slice).

        Raises ``UnknownRowError`` (nothing changed) for a row not held.
        """
        index = dict(self._row_index())
        held: dict[Place, list[int]] = {}
        places: list[Place] = []
        for i, (digest, label) in enumerate(zip(row_digests(X), y)):
            key = label_key(label)
            entries = index.get(digest, [])
            match = next((e for e in entries if e[0] == key), None)
            if match is None:
                raise UnknownRowError(
                    f"Row {i} of X (label {key!r}) is not among the retained training rows "
                    "(never learned, already removed, learned with another label, or requested "
                    "more often than held)."
                )
            remaining = list(entries)
            remaining.remove(match)
            index[digest] = remaining
            place = (match[1], match[2])
            X_sr, y_sr = self._slices[place[0]][place[1]]
            same = np.flatnonzero(
                (X_sr.astype(np.float64) == X[i].astype(np.float64)).all(axis=1) & (y_sr == label)
            )
            taken = held.setdefault(place, [])
            taken.append(int(next(p for p in same if p not in taken)))
            places.append(place)
        return {d: e for d, e in index.items() if e}, held, places

    def _row_index(self) -> _Index:
        """Where each retained row is, by content digest (built on first use, never pickled)."""
        if self._index is None:
            index: _Index = {}
            for s, shard in enumerate(self._slices):
                for r, (X_sr, y_sr) in enumerate(shard):
                    for digest, label in zip(row_digests(X_sr), y_sr):
                        index.setdefault(digest, []).append((label_key(label), s, r))
            self._index = index
        return self._index

    def shard_rows(self, shard: int, slice: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The retained rows of ``shard`` (of one of its slices) and their labels, in the order
        its model learned them.

        Parameters
        ----------
        shard : int
        slice : int, default=None
            One slice (``0 .. n_slices - 1``); None: all.

        Returns
        -------
        X : ndarray of shape (n_rows, n_features)
        y : ndarray of shape (n_rows,)

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sk_unlearn import ShardedClassifier
        >>> X = np.arange(16.0).reshape(8, 2); y = np.array([0, 1] * 4)
        >>> clf = ShardedClassifier(LogisticRegression(), n_shards=2, random_state=0).fit(X, y)
        >>> sum(len(clf.shard_rows(s)[1]) for s in range(2))
        8
        """
        check_is_fitted(self)
        parts = self._slices[shard]
        return _concat_all(parts if slice is None else [parts[slice]])

    # ---------------------------------------------------------- predicting
    def _per_shard(self, X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``X`` validated, each shard's probabilities (or one-hot votes) on it, and which
        shards answer."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        n_classes = len(self.classes_)
        out = np.zeros((self.n_shards, len(X), n_classes))
        active = np.zeros(self.n_shards, dtype=bool)
        for s, model in enumerate(self.estimators_):
            if model is None:
                continue
            columns = np.searchsorted(self.classes_, model.classes_)
            if self.aggregation == "mean":
                out[s][:, columns] = model.predict_proba(X)
            else:
                votes = np.searchsorted(self.classes_, model.predict(X))
                out[s, np.arange(len(X)), votes] = 1.0
            active[s] = True
        if not active.any():
            raise ValueError("Every shard is empty: the model has no rows left to predict from.")
        return X, out, active

    def _can_proba(self) -> bool:
        return self.aggregation == "vote" or hasattr(self.estimator, "predict_proba")

    @available_if(_can_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """The shards' mean probability (``"mean"``) or share of votes (``"vote"``).

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)

        Returns
        -------
        proba : ndarray of shape (n_rows, n_classes)
        """
        _, out, active = self._per_shard(X)
        proba: np.ndarray = out[active].mean(axis=0)
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The class with the highest mean probability or the most votes (first on ties)."""
        _, out, active = self._per_shard(X)
        predicted: np.ndarray = self.classes_[out[active].sum(axis=0).argmax(axis=1)]
        return predicted

    def out_of_shard_proba(self, X: Any) -> np.ndarray:
        """For each row, the ensemble of the shards that do not hold it (a row never seen: all).

        A per-row reference of models that never trained on the row, at the
        cost of predicting: for a training row, what the model would say had
        the row never been in its shard; for a removed row, the model itself.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)

        Returns
        -------
        proba : ndarray of shape (n_rows, n_classes)

        Raises
        ------
        ValueError
            If every answering shard holds some row of ``X`` (``n_shards=1``).
        """
        X_arr, out, active = self._per_shard(X)
        index = self._row_index()
        mask = np.tile(active, (len(X_arr), 1))
        for i, digest in enumerate(row_digests(X_arr)):
            for _, s, _ in index.get(digest, []):
                mask[i, s] = False
        alone = np.flatnonzero(~mask.any(axis=1))
        if alone.size:
            raise ValueError(
                f"Row {int(alone[0])} of X is held by every shard that answers: no shard never "
                "saw it (n_shards=1?)."
            )
        proba: np.ndarray = np.einsum("snk,ns->nk", out, mask) / mask.sum(axis=1, keepdims=True)
        return proba

    # ------------------------------------------------------------ the rest
    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = dict(super().__getstate__())
        state["_index"] = None  # rebuilt from the rows when needed
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "_incremental" in state:  # fitted before slice stages were cumulative
            state["_procedure"] = Procedure(state.pop("_incremental"), 1, cumulative=False)
        state.setdefault("slice_epochs", 1)
        super().__setstate__(state)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.input_tags.positive_only = inner.input_tags.positive_only
        tags.non_deterministic = inner.non_deterministic
        if inner.classifier_tags is not None and tags.classifier_tags is not None:
            tags.classifier_tags.poor_score = inner.classifier_tags.poor_score
        return tags


def _check_labels(y: np.ndarray, classes: np.ndarray) -> None:
    unknown = np.setdiff1d(unique_labels(y), classes)
    if unknown.size:
        raise ValueError(
            f"Labels {unknown.tolist()} are not among the classes {np.asarray(classes).tolist()}."
        )


def _concat_all(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])


# ------------------------------------------------------------------ the adapter
class ShardedAdapter(EstimatorAdapter):
    """:class:`ShardedClassifier`: removals by retraining the shards that held the rows."""

    name = "sharded"
    retrains_shards = True

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return isinstance(estimator, ShardedClassifier)

    def remove_shard_rows(self, X: np.ndarray, y: np.ndarray) -> list[Place]:
        """Remove the rows exactly; each row's (shard, first slice retrained)."""
        places: list[Place] = self.estimator.remove_rows(X, y)
        return places

    def out_of_shard_probabilities(self, X: np.ndarray) -> np.ndarray:
        """Per row, the probabilities of the shards that never saw it."""
        proba: np.ndarray = self.estimator.out_of_shard_proba(X)
        return proba

    def snapshot(self, scope: str = STEP) -> Any:
        """The attributes, by reference: removals and ``partial_fit`` replace what they change
        (new arrays, models, lists and index), never writing into the old ones."""
        return dict(vars(self.estimator))

    def restore(self, snapshot: Any) -> None:
        self.estimator.__dict__.clear()
        self.estimator.__dict__.update(snapshot)
