"""Adapters for scikit-learn's own incremental classifiers.

* :class:`SGDAdapter`: ``SGDClassifier``, ``Perceptron`` (and the deprecated
  ``PassiveAggressiveClassifier`` while scikit-learn ships it);
* :class:`MLPAdapter`: ``MLPClassifier`` with the ``"sgd"`` or ``"adam"``
  solver;
* :class:`PartialFitAdapter`: any other classifier with ``partial_fit``.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import numpy as np
from sklearn import linear_model
from sklearn.neural_network import MLPClassifier

from . import _linear_scores, _linear_step, _mlp_step, _warnings
from ._adapter import STEP, EstimatorAdapter, preserved, takes_sample_weight, temporarily


class SGDAdapter(EstimatorAdapter):
    """``SGDClassifier`` and ``Perceptron`` (and ``PassiveAggressiveClassifier``).

    With ``unlearning_optimizer=None`` the step is one ``partial_fit`` call (one
    SGD epoch of per-sample updates over the mini-batch) with
    ``learning_rate="constant"`` and ``eta0=unlearning_rate``. For
    ``PassiveAggressiveClassifier``, whose step size comes from its
    aggressiveness ``C`` (stored as ``eta0``), the unlearning rate sets ``C``.
    Early stopping is off during the step, and the schedule counter ``t_``
    and ``n_iter_`` are restored afterwards: a forget step neither uses a
    validation split nor slows down the estimator's later learning.

    With ``unlearning_optimizer="sgd"`` (what ``"auto"`` means wherever it
    applies -- every loss but the regression ones, ``average=False``, not a
    passive-aggressive step -- and ``unlearning_rate`` is not None) the step
    is instead one plain SGD step on the whole batch, computed on ``coef_``
    and ``intercept_`` with the estimator's loss, penalty and class weights
    (:mod:`sk_unlearn._linear_step`):
    the paper's step, ~30 times faster than ``partial_fit`` on a relabel
    batch, and nothing but ``coef_`` and ``intercept_`` changes (so the
    rollback snapshot copies only those two). With an explicit ``"sgd"``,
    ``unlearning_rate=None`` is the step size the estimator's schedule would
    take next.

    ``PassiveAggressiveClassifier`` is deprecated since scikit-learn 1.8 and
    keeps working here while scikit-learn ships it; its replacement,
    ``SGDClassifier(loss="hinge", penalty=None, learning_rate="pa1",
    eta0=1.0)``, is an ``SGDClassifier`` like any other.
    """

    name = "sgd"

    def auto_unlearning_rate(self) -> float:
        """1e-4 under the ``"optimal"`` schedule, else 1% of ``eta0``.

        Both are about 1% of the step the estimator trains with (the optimal
        schedule's step was ~0.01 after training on MNIST), and both were
        the settings in ``benchmarks/results/tune_defaults.md`` that kept
        test accuracy closest to naive retraining (``SGDClassifier``: 1e-4;
        ``Perceptron``, eta0=1: 1e-2). For the ``"invscaling"`` and
        ``"adaptive"`` schedules and for ``PassiveAggressiveClassifier``
        (``C``), 1% is extrapolated, not measured.
        """
        est = self.estimator
        if getattr(est, "learning_rate", None) == "optimal":
            return 1e-4
        return 0.01 * float(est.eta0)

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        families = tuple(
            family
            for family in (
                linear_model.SGDClassifier,
                linear_model.Perceptron,
                getattr(linear_model, "PassiveAggressiveClassifier", None),
            )
            if family is not None
        )
        return isinstance(estimator, families)

    def check_settings(self) -> None:
        if getattr(self.estimator, "average", False):
            _warnings.warn(
                "SGD with average=True predicts with the average of all iterates, so "
                "each forget step moves the model by only ~1/(updates so far) of the "
                "step; use average=False for unlearning."
            )

    @property
    def accepts_sample_weight(self) -> bool:  # type: ignore[override]
        """True except for ``PassiveAggressiveClassifier`` (no ``sample_weight``)."""
        return takes_sample_weight(self.estimator.partial_fit)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``predict_proba`` computed from the weights, for rows the wrapper validated
        (:mod:`sk_unlearn._linear_scores`); the estimator's own for other losses."""
        est = self.estimator
        if getattr(est, "loss", None) in _linear_scores.LOSSES and hasattr(est, "coef_"):
            return _linear_scores.probabilities(est, X)
        return super().predict_proba(X)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """``decision_function`` computed from the weights
        (:func:`sk_unlearn._linear_scores.decision`: its formula without its input
        validation, which cost more than the rest of a one-row request's scoring)."""
        scores = _linear_scores.decision(self.estimator, X)
        return scores[:, 0] if scores.shape[1] == 1 else scores  # binary: class 1's score

    def finite(self) -> bool:
        """Whether ``coef_`` and ``intercept_`` are finite: the model's only floating-point
        fitted arrays (the default's scan of every attribute, on each request, costs more)."""
        est = self.estimator
        return bool(np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all())

    def __init__(
        self, estimator: Any, classes: np.ndarray | None = None, unlearning_optimizer: Any = None
    ) -> None:
        super().__init__(estimator, classes)
        # "auto" is kept as given and resolved per step (see _batch_step): it depends on the rate.
        self.unlearning_optimizer = unlearning_optimizer

    def auto_unlearning_optimizer(self) -> str | None:
        """``"sgd"``, the batch step, where it applies (else None: ``partial_fit``).

        It forgot as well as ``partial_fit`` at the default rate and at 10x it,
        and a little better at 100x, by the challenge's forgetting quality on
        MNIST, at 8% of a retraining's time against 80%
        (``benchmarks/results/linear_step.md``). Under ``"auto"``,
        ``unlearning_rate=None`` still steps with ``partial_fit``: at a
        training-sized rate a step on the summed gradient overshoots where
        per-sample updates saturate (test accuracy on the digits fell to
        0.10-0.42 after five requests in ``tests/test_classifier.py``'s
        settings).
        """
        return "sgd" if _linear_step.unsupported(self.estimator) is None else None

    def _batch_step(self, rate: float | None) -> bool:
        """Whether a step at ``rate`` is the batch step (else ``partial_fit``)."""
        spec = self.unlearning_optimizer
        if isinstance(spec, str) and spec == "auto":
            return rate is not None and self.auto_unlearning_optimizer() == "sgd"
        return isinstance(spec, str) and spec == "sgd"

    def check_unlearning_optimizer(self) -> None:
        """Accept None (``partial_fit``) and ``"sgd"`` (one step on the batch) where it applies."""
        if self.unlearning_optimizer is None or self.unlearning_optimizer == "auto":
            return  # "auto" falls back to partial_fit where the batch step does not apply
        if self.unlearning_optimizer != "sgd":
            raise ValueError(
                f"unlearning_optimizer={self.unlearning_optimizer!r}: "
                f"{type(self.estimator).__name__} takes None (its own partial_fit) or 'sgd' "
                "(one plain SGD step on the whole batch)."
            )
        why = _linear_step.unsupported(self.estimator)
        if why is not None:
            raise ValueError(
                f"unlearning_optimizer='sgd' cannot step {type(self.estimator).__name__} with "
                f"{why}; use unlearning_optimizer=None."
            )

    def forget_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rate: float | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        est = self.estimator
        if self._batch_step(rate):
            if rate is None:  # the estimator's own: its schedule's next step size
                rate = _linear_step.current_rate(est)
            _linear_step.batch_step(est, X, y, float(rate), sample_weight)
            return
        settings: dict[str, Any] = {"early_stopping": False}
        if rate is not None:
            settings.update(learning_rate="constant", eta0=float(rate))
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if weights and not self.accepts_sample_weight:
            self._no_weights(sample_weight)
        with temporarily(est, **settings), preserved(est, ("t_", "n_iter_")):
            est.partial_fit(X, y, **weights)

    def snapshot(self, scope: str = STEP) -> Any:
        """For a batch step (asked for explicitly), copies of ``coef_`` and ``intercept_``,
        all it changes; for a step that may be ``partial_fit`` (under ``"auto"``, say), the
        attributes with copies of their arrays (:func:`_attributes`); else a deep copy of
        the estimator."""
        est = self.estimator
        if scope != STEP:
            return super().snapshot(scope)
        if isinstance(self.unlearning_optimizer, str) and self.unlearning_optimizer == "sgd":
            return _Weights(est.coef_.copy(), est.intercept_.copy())
        return _attributes(est)

    def restore(self, snapshot: Any) -> None:
        if isinstance(snapshot, _Weights):
            np.copyto(self.estimator.coef_, snapshot.coef)
            np.copyto(self.estimator.intercept_, snapshot.intercept)
        elif isinstance(snapshot, _Attributes):
            _put_back(self.estimator, snapshot)
        else:
            super().restore(snapshot)


class _Weights(NamedTuple):
    """A linear model's weights, saved before a batch step."""

    coef: np.ndarray
    intercept: np.ndarray


class _Attributes(NamedTuple):
    """An estimator's attributes as a step's rollback keeps them, and the states of the
    ``RandomState`` generators among them (by attribute name)."""

    state: dict[str, Any]
    generators: dict[str, Any]


def _attributes(
    estimator: Any,
    arrays: tuple[str, ...] | None = None,
    deep: tuple[str, ...] = (),
    *,
    generators: bool = True,
    memo: dict[int, Any] | None = None,
) -> _Attributes:
    """What a ``partial_fit`` step may change, saved for :func:`_put_back`: a fraction of
    the cost of a deep copy of the estimator.

    A shallow copy of the attributes, with copies of the arrays a step
    updates in place: those named in ``arrays`` (arrays or lists of arrays),
    or, for None, every array attribute and every list of arrays; deep
    copies of the attributes named in ``deep`` (an array two attributes name,
    as ``coef_`` and ``_average_coef`` after an averaged step, is copied
    once and stays shared, and so is one ``memo`` shared by several calls);
    and, unless ``generators`` is false (for a step that draws no random
    numbers), the states of the ``RandomState`` generators among the
    attributes, which keep their identity (a generator the user passed stays
    theirs).
    """
    state = dict(vars(estimator))
    if arrays is None:
        arrays = tuple(
            name
            for name, value in state.items()
            if isinstance(value, np.ndarray)
            or (isinstance(value, list) and value and isinstance(value[0], np.ndarray))
        )
    memo = {} if memo is None else memo  # one copy per array, however many attributes name it

    def copied(value: Any) -> Any:
        if not isinstance(value, np.ndarray):
            return value
        if id(value) not in memo:
            memo[id(value)] = value.copy()
        return memo[id(value)]

    for name in arrays:
        if name in state:
            value = state[name]
            state[name] = [copied(a) for a in value] if isinstance(value, list) else copied(value)
    for name in deep:
        if name in state:
            state[name] = copy.deepcopy(state[name], memo)
    drawn = {
        name: value.get_state()
        for name, value in state.items()
        if generators and isinstance(value, np.random.RandomState)
    }
    return _Attributes(state, drawn)


def _put_back(estimator: Any, saved: _Attributes) -> None:
    """The attributes :func:`_attributes` saved, in place (attributes added since dropped)."""
    estimator.__dict__.clear()
    estimator.__dict__.update(saved.state)
    for name, generator_state in saved.generators.items():
        saved.state[name].set_state(generator_state)


class MLPAdapter(EstimatorAdapter):
    """``MLPClassifier`` with the ``"sgd"`` or ``"adam"`` solver.

    The step is exactly one optimizer update on the whole batch: the update
    ``partial_fit`` with ``batch_size`` set to the batch length makes, taken
    directly (:mod:`sk_unlearn._mlp_step`: its gradient and its optimizer
    step, without its validation and bookkeeping: 1.5x sooner on a relabeling
    batch in ``benchmarks/bench_overhead.py``; with scikit-learn before 1.7,
    ``partial_fit`` itself, its loss curve, iteration counters and
    early-stopping bookkeeping restored afterwards). The unlearning rate sets the optimizer's
    ``learning_rate_init`` (Adam recomputes its step size from it on every
    update) and the SGD solver's current ``learning_rate``, for the step only.
    The optimizer's state (momentum, Adam moments) carries over, as it would
    for one more training step.
    """

    def auto_unlearning_rate(self) -> float:
        """3% of ``learning_rate_init`` (3e-5 for the default 1e-3).

        Chosen against the calibrated certificate
        (``benchmarks/results/choose_mlp_defaults.md``): with the default
        ``"soft"`` relabeling, 1e-4 (0.2's default) over-forgot 42% of 100
        ordinary MNIST rows and cost 9 points of test accuracy; 3e-5
        over-forgot 18% at 1.1 points.
        """
        return 0.03 * float(self.estimator.learning_rate_init)

    _BOOKKEEPING = (
        "t_",
        "n_iter_",
        "loss_",
        "loss_curve_",
        "best_loss_",
        "_no_improvement_count",
        "validation_scores_",
        "best_validation_score_",
    )

    name = "mlp"

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        # The lbfgs solver has no partial_fit (hidden by available_if).
        return isinstance(estimator, MLPClassifier) and hasattr(estimator, "partial_fit")

    #: ``MLPClassifier.partial_fit`` takes ``sample_weight``: the update is the
    #: weighted mean of the rows' gradients (normalised by the weights' sum).
    accepts_sample_weight = True

    def forget_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rate: float | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        est = self.estimator
        optimizer = getattr(est, "_optimizer", None)
        opt_settings: dict[str, Any] = {}
        if rate is not None:
            opt_settings = {"learning_rate_init": float(rate), "learning_rate": float(rate)}
        if _mlp_step.supported(est):
            with temporarily(optimizer, **opt_settings):
                _mlp_step.batch_update(est, X, y, sample_weight)
            return
        est_settings: dict[str, Any] = {"batch_size": X.shape[0], "early_stopping": False}
        if getattr(est, "best_loss_", 0.0) is None:
            # Trained with early stopping: the loss-based bookkeeping the step
            # runs instead needs a number (and is restored afterwards).
            est_settings["best_loss_"] = np.inf
        if rate is not None:
            est_settings["learning_rate_init"] = float(rate)
        with (
            temporarily(est, **est_settings),
            temporarily(optimizer, **opt_settings),
            # The "adaptive" SGD schedule may divide its current rate inside the step.
            preserved(optimizer, ("learning_rate",) if optimizer is not None else ()),
            preserved(est, self._BOOKKEEPING),
        ):
            est.partial_fit(X, y, sample_weight=sample_weight)

    #: What a step changes besides the weights, copied deeply for the rollback
    #: (the optimizer's moments, lists it appends to). (``_best_coefs`` and
    #: ``_best_intercepts`` are not among them: a step rebinds them to fresh
    #: copies, which the shallow copy of the attributes undoes.)
    _STEP_STATE = ("_optimizer", "loss_curve_", "validation_scores_")

    perturbs_weights = True

    def perturb_weights(self, rng: np.random.Generator, scale: float) -> None:
        """Noise on ``coefs_`` and ``intercepts_`` (see the base class), in their dtype."""
        for array in (*self.estimator.coefs_, *self.estimator.intercepts_):
            array += rng.normal(0.0, scale * float(array.std()), array.shape).astype(array.dtype)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``predict_proba`` without the estimator's input validation, for rows the wrapper
        validated: its own forward pass (``_forward_pass_fast(X, check_input=False)``),
        ~150 µs sooner per request; the estimator's ``predict_proba`` where that is missing."""
        est = self.estimator
        try:
            output = est._forward_pass_fast(X, check_input=False)
        except (AttributeError, TypeError):  # a scikit-learn without it
            return super().predict_proba(X)
        if output.ndim == 1 or output.shape[1] == 1:  # binary: the probability of class 1
            output = output.ravel()
            return np.vstack([1 - output, output]).T
        return output

    def snapshot(self, scope: str = STEP) -> Any:
        """For a step: for the direct update, the attributes with copies of the weights and
        the optimizer's attributes with copies of its buffers, all it changes (most of the
        cost is copying Adam's moments); for
        ``partial_fit``, the attributes with copies of the weights, deep copies of
        :attr:`_STEP_STATE` and the shuffling generator's state (half the cost of a deep
        copy of the estimator); else a deep copy."""
        if scope != STEP:
            return super().snapshot(scope)
        est = self.estimator
        weights = ("coefs_", "intercepts_")
        if _mlp_step.supported(est):
            memo: dict[int, Any] = {}
            model = _attributes(est, arrays=weights, generators=False, memo=memo)
            return _Update(model, _attributes(est._optimizer, generators=False, memo=memo))
        return _attributes(est, arrays=weights, deep=self._STEP_STATE)

    def restore(self, snapshot: Any) -> None:
        if isinstance(snapshot, _Update):
            _put_back(self.estimator, snapshot.model)
            _put_back(self.estimator._optimizer, snapshot.optimizer)  # the same object
        elif isinstance(snapshot, _Attributes):
            _put_back(self.estimator, snapshot)
        else:
            super().restore(snapshot)


class _Update(NamedTuple):
    """What the MLP's direct update changes, saved: the estimator's attributes (with its
    weights) and its optimizer's (with its buffers: momentum, Adam's moments)."""

    model: _Attributes
    optimizer: _Attributes


class PartialFitAdapter(EstimatorAdapter):
    """Any other classifier with ``partial_fit``.

    The step is one plain ``partial_fit`` call. Such estimators expose no
    known learning-rate setting, so only ``unlearning_rate=None`` (or
    ``"auto"``, which means None here) is accepted.
    """

    name = "partial-fit"

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return hasattr(estimator, "partial_fit")

    @property
    def accepts_sample_weight(self) -> bool:  # type: ignore[override]
        """Whether the estimator's ``partial_fit`` has a ``sample_weight`` argument."""
        return takes_sample_weight(self.estimator.partial_fit)

    def forget_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rate: float | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        if rate is not None:
            raise ValueError(
                f"{type(self.estimator).__name__} has no learning rate that "
                "sk_unlearn knows how to set; use unlearning_rate=None or 'auto'."
            )
        if sample_weight is None:
            self.estimator.partial_fit(X, y)
        elif self.accepts_sample_weight:
            self.estimator.partial_fit(X, y, sample_weight=sample_weight)
        else:
            self._no_weights(sample_weight)
