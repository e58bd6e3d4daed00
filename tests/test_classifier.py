"""Behaviour of UnlearnableClassifier on the scikit-learn partial_fit backends."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.naive_bayes import MultinomialNB
from sklearn.neural_network import MLPClassifier

from sk_unlearn import UnlearnableClassifier, label_hash, row_hash

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from sklearn.linear_model import PassiveAggressiveClassifier


def _mlp(**kw):
    return MLPClassifier(hidden_layer_sizes=(32,), max_iter=30, random_state=0, **kw)


def _pa():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return PassiveAggressiveClassifier(random_state=0)


BACKENDS = {
    "sgd-log": lambda: SGDClassifier(loss="log_loss", random_state=0),
    "sgd-huber": lambda: SGDClassifier(loss="modified_huber", random_state=0),
    "sgd-hinge": lambda: SGDClassifier(loss="hinge", random_state=0),
    "perceptron": lambda: Perceptron(random_state=0),
    "passive-aggressive": _pa,
    "mlp-adam": _mlp,
    "mlp-sgd": lambda: _mlp(solver="sgd", learning_rate_init=0.05),
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FutureWarning)  # PassiveAggressive deprecation
        yield


@pytest.mark.parametrize("name", BACKENDS)
def test_forget_serves_each_row_once_and_erases_it(name, digits):
    clf = UnlearnableClassifier(BACKENDS[name](), n_replay=4, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    assert clf.score(digits.X_test, digits.y_test) > 0.8

    X_f, y_f = digits.X_train[:10], digits.y_train[:10]
    clf.forget(X_f, y_f)

    assert clf.n_forgotten_ == 10
    assert clf.n_retained_ == len(digits.X_train) - 10
    assert [r.row_hash for r in clf.deletion_log_] == [row_hash(x) for x in X_f]
    assert [r.label_hash for r in clf.deletion_log_] == [label_hash(v) for v in y_f]
    assert [r.request for r in clf.deletion_log_] == list(range(10))
    # The rows are gone: asking again is an unknown-row error.
    with pytest.raises(ValueError, match="not among the retained"):
        clf.forget(X_f[:1], y_f[:1])
    assert clf.predict(digits.X_test).shape == digits.y_test.shape


def test_uniform_batch_has_distinct_wrong_labels_and_same_class_replay(digits, recorded_batches):
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        relabel="uniform",
        n_replay=5,
        random_state=0,
    ).fit(digits.X_train, digits.y_train)
    X_f, y_f = digits.X_train[:20], digits.y_train[:20]
    clf.forget(X_f, y_f)

    assert len(recorded_batches) == 20
    for (Xb, yb, *_), x, label in zip(recorded_batches, X_f, y_f):
        copies, replay = Xb[:9], Xb[9:]
        wrong, replay_labels = yb[:9], yb[9:]
        assert np.array_equal(copies, np.tile(x, (9, 1)))
        assert label not in wrong
        assert sorted(wrong.tolist()) == sorted(set(range(10)) - {label})
        assert len(replay) == 5
        assert (replay_labels == label).all()
        # replayed rows are real retained rows of that class, never a row being forgotten
        for row in replay:
            assert not (row == X_f).all(axis=1).any()
            assert (row == digits.X_train[digits.y_train == label]).all(axis=1).any()


def test_n_relabels_draws_a_subset_of_wrong_labels(digits, recorded_batches):
    clf = UnlearnableClassifier(
        SGDClassifier(random_state=0), relabel="uniform", n_relabels=3, n_replay=0, random_state=1
    ).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:30], digits.y_train[:30])
    drawn = set()
    for (_, yb, *_), label in zip(recorded_batches, digits.y_train[:30]):
        assert len(yb) == 3 and len(set(yb.tolist())) == 3 and label not in yb
        drawn.update(yb.tolist())
    assert drawn == set(range(10))  # over 30 requests every label shows up


def test_n_relabels_larger_than_wrong_labels_is_rejected(digits):
    clf = UnlearnableClassifier(SGDClassifier(), n_relabels=10)
    with pytest.raises(ValueError, match="n_relabels=10 exceeds the 9 wrong labels"):
        clf.fit(digits.X_train, digits.y_train)


def test_string_and_noncontiguous_labels(digits):
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    y = names[digits.y_train]
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0).fit(
        digits.X_train, y
    )
    clf.forget(digits.X_train[:5], y[:5])
    assert set(clf.predict(digits.X_test)) <= set(names)
    assert clf.deletion_log_[0].label_hash == label_hash(y[0])

    sparse_labels = digits.y_train * 7 + 3
    clf2 = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    clf2.fit(digits.X_train, sparse_labels).forget(digits.X_train[:5], sparse_labels[:5])
    assert clf2.classes_.tolist() == sorted(set(sparse_labels.tolist()))


def test_same_random_state_gives_same_model(digits):
    def run():
        clf = UnlearnableClassifier(
            SGDClassifier(random_state=0), n_relabels=4, n_replay=3, random_state=42
        )
        clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:15], digits.y_train[:15])
        return clf.estimator_.coef_

    np.testing.assert_array_equal(run(), run())


# --------------------------------------------------------------------- rates
def test_sgd_step_runs_at_the_unlearning_rate_and_restores_settings(digits, recorded_batches):
    est = SGDClassifier(loss="log_loss", learning_rate="optimal", random_state=0)
    clf = UnlearnableClassifier(
        est,
        unlearning_rate=0.05,
        unlearning_optimizer=None,
        random_state=0,  # partial_fit
    )
    clf.fit(digits.X_train, digits.y_train)
    inner = clf.estimator_
    before = {k: getattr(inner, k) for k in ("learning_rate", "eta0", "t_", "n_iter_")}

    # Reproduce the step by hand with a constant schedule at eta0=0.05.
    manual = copy.deepcopy(inner)
    clf.forget(digits.X_train[:1], digits.y_train[:1])
    Xb, yb, rate, weights = recorded_batches[0]
    assert rate == 0.05
    manual.set_params(learning_rate="constant", eta0=0.05)
    manual.partial_fit(Xb, yb, sample_weight=weights)
    np.testing.assert_allclose(clf.estimator_.coef_, manual.coef_)

    after = {k: getattr(clf.estimator_, k) for k in before}
    assert after == before  # schedule, rate and counters untouched


def test_defaults_are_the_measured_ones(digits, recorded_batches):
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    assert clf.unlearning_rate == "auto" and clf.n_replay == 32
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:1], digits.y_train[:1])
    Xb, yb, rate, _ = recorded_batches[0]
    assert rate == 1e-4 and len(yb) == 9 + 32
    assert clf.deletion_log_[0].unlearning_rate == 1e-4
    assert clf.deletion_log_[0].n_replay == 32


@pytest.mark.parametrize(
    "estimator, expected",
    [
        (SGDClassifier(), 1e-4),  # "optimal" schedule
        (SGDClassifier(learning_rate="constant", eta0=0.5), 0.005),
        (Perceptron(), 0.01),
        (MLPClassifier(learning_rate_init=2e-3), 6e-5),
        (MultinomialNB(), None),
    ],
)
def test_auto_rate_per_estimator(estimator, expected, digits):
    clf = UnlearnableClassifier(estimator, n_replay=0, random_state=0)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:1], digits.y_train[:1])
    assert clf.deletion_log_[0].unlearning_rate == pytest.approx(expected)


def test_sgd_rate_none_uses_the_estimators_own_schedule(digits, recorded_batches):
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), unlearning_rate=None)
    clf.set_params(random_state=0).fit(digits.X_train, digits.y_train)
    manual = copy.deepcopy(clf.estimator_)
    clf.forget(digits.X_train[:1], digits.y_train[:1])
    Xb, yb, _, weights = recorded_batches[0]
    manual.partial_fit(Xb, yb, sample_weight=weights)
    np.testing.assert_allclose(clf.estimator_.coef_, manual.coef_)


@pytest.mark.parametrize(
    "params", [{"solver": "adam"}, {"solver": "sgd", "momentum": 0.0}], ids=["adam", "sgd"]
)
def test_mlp_step_size_scales_with_the_unlearning_rate(params, digits):
    """DESIGN pitfall: Adam recomputes its step from learning_rate_init.

    (SGD without momentum, so that the step is the rate times the gradient.)
    """
    clf = UnlearnableClassifier(_mlp(**params), random_state=0)
    clf.fit(digits.X_train, digits.y_train)

    def step_norm(rate):
        c = copy.deepcopy(clf).set_params(unlearning_rate=rate)
        w0 = c.estimator_.coefs_[0].copy()
        c.forget(digits.X_train[:1], digits.y_train[:1])
        return np.linalg.norm(c.estimator_.coefs_[0] - w0)

    small, large = step_norm(1e-4), step_norm(1e-2)
    assert small > 0
    np.testing.assert_allclose(large / small, 100, rtol=1e-6)


def test_mlp_step_is_one_update_and_leaves_training_state(digits):
    est = _mlp(batch_size=2, learning_rate_init=0.002)
    clf = UnlearnableClassifier(est, n_replay=8, unlearning_rate=1e-3, random_state=0)
    clf.fit(digits.X_train, digits.y_train)

    def training_state(inner):
        return {
            "batch_size": inner.batch_size,
            "learning_rate_init": inner.learning_rate_init,
            "opt_lr_init": inner._optimizer.learning_rate_init,
            "t_": inner.t_,
            "n_iter_": inner.n_iter_,
            "loss_curve_": list(inner.loss_curve_),
        }

    opt_t = clf.estimator_._optimizer.t
    kept = training_state(clf.estimator_)
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    assert clf.estimator_._optimizer.t == opt_t + 3  # exactly one Adam update per request
    assert training_state(clf.estimator_) == kept


def test_adaptive_mlp_schedule_is_not_decayed_by_forget_steps(digits):
    clf = UnlearnableClassifier(
        _mlp(solver="sgd", learning_rate="adaptive", learning_rate_init=0.05),
        unlearning_rate=None,
        random_state=0,
    ).fit(digits.X_train, digits.y_train)
    inner = clf.estimator_
    # One more epoch without improvement would make sklearn divide the rate by 5.
    inner._no_improvement_count = inner.n_iter_no_change + 1
    inner.best_loss_ = 0.0
    rate = inner._optimizer.learning_rate
    clf.forget(digits.X_train[:2], digits.y_train[:2])
    assert clf.estimator_._optimizer.learning_rate == rate
    assert clf.estimator_._no_improvement_count == inner.n_iter_no_change + 1


def test_mlp_with_early_stopping_can_still_forget(digits):
    """partial_fit refuses early_stopping=True; the forget step turns it off for one step."""
    clf = UnlearnableClassifier(_mlp(early_stopping=True), random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    scores = list(clf.estimator_.validation_scores_)
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    assert clf.estimator_.early_stopping is True
    assert list(clf.estimator_.validation_scores_) == scores


def test_passive_aggressive_rate_sets_its_aggressiveness(digits, recorded_batches):
    clf = UnlearnableClassifier(_pa(), unlearning_rate=0.01, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    manual = copy.deepcopy(clf.estimator_)
    c_before = clf.estimator_.eta0
    clf.forget(digits.X_train[:1], digits.y_train[:1])
    Xb, yb, *_ = recorded_batches[0]
    manual.eta0 = 0.01
    manual.partial_fit(Xb, yb)
    np.testing.assert_allclose(clf.estimator_.coef_, manual.coef_)
    assert clf.estimator_.eta0 == c_before


def test_averaged_sgd_gets_a_warning_at_fit(digits):
    clf = UnlearnableClassifier(SGDClassifier(average=True, random_state=0))
    with pytest.warns(UserWarning, match="average=True"):
        clf.fit(digits.X_train, digits.y_train)
    with pytest.warns(UserWarning, match="average=True"):
        clone(clf).partial_fit(digits.X_train, digits.y_train, classes=np.arange(10))


def test_generic_partial_fit_backend_requires_rate_none(digits):
    # Naive Bayes forgets exactly by default; method="relabel" takes the generic
    # partial_fit step instead.
    clf = UnlearnableClassifier(MultinomialNB(), method="relabel", n_replay=2, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    counts = clf.estimator_.class_count_.copy()
    clf.forget(digits.X_train[:1], digits.y_train[:1])  # "auto" means None here
    assert clf.estimator_.class_count_.sum() == counts.sum() + 9 + 2
    assert clf.deletion_log_[0].unlearning_rate is None
    clf.set_params(unlearning_rate=0.1)
    with pytest.raises(ValueError, match="unlearning_rate=None"):
        clf.forget(digits.X_train[1:2], digits.y_train[1:2])
    assert clf.n_forgotten_ == 1


CONFIGURATIONS = {
    "sgd-early-stopping": lambda: SGDClassifier(early_stopping=True, random_state=0),
    "sgd-adaptive": lambda: SGDClassifier(learning_rate="adaptive", eta0=0.01, random_state=0),
    "sgd-invscaling": lambda: SGDClassifier(learning_rate="invscaling", eta0=0.01, random_state=0),
    "sgd-class-weight": lambda: SGDClassifier(class_weight={0: 2.0}, random_state=0),
    "sgd-elasticnet": lambda: SGDClassifier(
        loss="modified_huber", penalty="elasticnet", random_state=0
    ),
    "perceptron-l2": lambda: Perceptron(penalty="l2", random_state=0),
    "pa-squared-hinge": lambda: _pa().set_params(loss="squared_hinge"),
    "mlp-sgd-adaptive": lambda: _mlp(
        solver="sgd", learning_rate="adaptive", learning_rate_init=0.05
    ),
    "mlp-nesterov-off": lambda: _mlp(
        solver="sgd", nesterovs_momentum=False, learning_rate_init=0.05
    ),
}


@pytest.mark.parametrize("rate", ["auto", None, 1e-3])
@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_forget_leaves_every_training_setting_as_it_was(name, rate, digits):
    clf = UnlearnableClassifier(CONFIGURATIONS[name](), unlearning_rate=rate, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    settings = clf.estimator_.get_params()
    optimizer = getattr(clf.estimator_, "_optimizer", None)
    current_rate = getattr(optimizer, "learning_rate", None)
    clf.forget(digits.X_train[:5], digits.y_train[:5])
    assert clf.estimator_.get_params() == settings
    assert getattr(getattr(clf.estimator_, "_optimizer", None), "learning_rate", None) == (
        current_rate
    )
    assert clf.n_forgotten_ == 5 and clf.score(digits.X_test, digits.y_test) > 0.5


# ----------------------------------------------------------------- retraining
def test_retrain_equals_a_fresh_fit_on_the_retained_rows(digits):
    est = SGDClassifier(random_state=0)
    clf = UnlearnableClassifier(est, random_state=0).fit(digits.X_train, digits.y_train)
    forget = np.r_[0:20, 500:530]  # erasures that reorder the store's slots
    clf.forget(digits.X_train[forget], digits.y_train[forget]).retrain()
    assert clf.n_retrains_ == 1
    keep = np.ones(len(digits.X_train), dtype=bool)
    keep[forget] = False
    fresh = SGDClassifier(random_state=0).fit(digits.X_train[keep], digits.y_train[keep])
    np.testing.assert_array_equal(clf.estimator_.coef_, fresh.coef_)
    remaining = {row_hash(x) for x in clf._store.X}
    assert not remaining & {row_hash(x) for x in digits.X_train[forget]}


def test_retrain_after_counts_requests(digits):
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), retrain_after=4, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:10], digits.y_train[:10])
    assert clf.n_retrains_ == 2
    assert [r.retrained for r in clf.deletion_log_] == [
        False,
        False,
        False,
        True,
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    # The retrain after request 8 saw none of the first 8 rows but rows 8 and 9.
    clf.forget(digits.X_train[10:12], digits.y_train[10:12])
    assert clf.n_retrains_ == 3


def test_retrain_mid_call_excludes_rows_forgotten_so_far(digits, monkeypatch):
    from sk_unlearn import _backends

    seen = []
    original = _backends.SGDAdapter.fit

    def spy_fit(self, X, y):
        seen.append({row_hash(x) for x in X})
        return original(self, X, y)

    clf = UnlearnableClassifier(SGDClassifier(random_state=0), retrain_after=3, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    monkeypatch.setattr(_backends.SGDAdapter, "fit", spy_fit)
    clf.forget(digits.X_train[:5], digits.y_train[:5])
    (rows,) = seen
    hashes = [row_hash(x) for x in digits.X_train[:5]]
    assert not rows & set(hashes[:3])
    assert set(hashes[3:]) <= rows
    assert len(rows) == len(digits.X_train) - 3


def test_retrain_after_as_a_fraction_of_training_rows(digits):
    n = len(digits.X_train)
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), retrain_after=0.01, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    threshold = int(np.ceil(0.01 * n))
    clf.forget(digits.X_train[: threshold - 1], digits.y_train[: threshold - 1])
    assert clf.n_retrains_ == 0
    clf.forget(digits.X_train[threshold - 1 : threshold], digits.y_train[threshold - 1 : threshold])
    assert clf.n_retrains_ == 1


def test_retrain_refuses_when_a_class_has_no_rows_left():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    y = np.array([0, 0, 1, 1, 2])
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0).fit(X, y)
    clf.forget(X[4:], y[4:])
    with pytest.raises(ValueError, match=r"no retained rows of class\(es\) \[2\]"):
        clf.retrain()
    assert clf.n_retrains_ == 0
    # Automatic retraining is postponed with a warning instead of failing the request.
    clf2 = UnlearnableClassifier(SGDClassifier(random_state=0), retrain_after=1, random_state=0)
    clf2.fit(X, y)
    with pytest.warns(UserWarning, match="Retraining postponed"):
        clf2.forget(X[4:], y[4:])
    assert clf2.n_forgotten_ == 1 and clf2.n_retrains_ == 0


# ---------------------------------------------------------------- partial_fit
def test_partial_fit_rows_become_forgettable_in_any_order(digits):
    X, y = digits.X_train, digits.y_train
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    clf.partial_fit(X[:500], y[:500], classes=np.arange(10))
    clf.forget(X[:5], y[:5])
    clf.partial_fit(X[500:], y[500:])
    clf.forget(X[600:605], y[600:605])
    assert clf.n_retained_ == len(X) - 10
    assert clf.n_forgotten_ == 10
    clf.partial_fit(X[:5], y[:5])  # a forgotten row may be learned again...
    clf.forget(X[:1], y[:1])  # ...and then forgotten again
    assert clf.n_retained_ == len(X) - 6


def test_rows_are_found_with_the_values_they_were_learned_with(digits):
    X32 = digits.X_train.astype(np.float32)
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    clf.fit(X32[:1000], digits.y_train[:1000])
    x64 = digits.X_train[1000:1002] + 1e-9  # not representable in float32
    clf.partial_fit(x64, digits.y_train[1000:1002])
    clf.forget(x64, digits.y_train[1000:1002])
    clf.forget(X32[:2], digits.y_train[:2])
    clf.forget(X32[2:4].astype(np.float64), digits.y_train[2:4])  # same values, other dtype
    assert clf.n_forgotten_ == 6


def test_partial_fit_needs_classes_first_and_keeps_them(digits):
    X, y = digits.X_train, digits.y_train
    clf = UnlearnableClassifier(SGDClassifier(random_state=0))
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "estimator_")
    with pytest.raises(NotFittedError):
        clf.forget(X[:1], y[:1])
    clf.partial_fit(X[:100], y[:100], classes=np.arange(10))
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=np.arange(11))
    with pytest.raises(ValueError, match=r"Label\(s\) \[10\]"):
        clf.partial_fit(X[:2], np.array([10, 1]))
    assert clf.n_retained_ == 100


def test_fit_resets_everything(digits):
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:3], digits.y_train[:3])
    clf.fit(digits.X_train, digits.y_train)
    assert clf.n_forgotten_ == 0 and clf.deletion_log_ == [] and clf.n_retrains_ == 0
    assert clf.n_retained_ == len(digits.X_train)


# --------------------------------------------------------- delegated methods
def test_methods_follow_the_inner_estimator():
    assert hasattr(UnlearnableClassifier(SGDClassifier(loss="log_loss")), "predict_proba")
    assert not hasattr(UnlearnableClassifier(SGDClassifier(loss="hinge")), "predict_proba")
    assert hasattr(UnlearnableClassifier(SGDClassifier(loss="hinge")), "decision_function")
    assert not hasattr(UnlearnableClassifier(MultinomialNB()), "decision_function")
    assert hasattr(UnlearnableClassifier(MLPClassifier()), "predict_proba")


def test_estimator_without_partial_fit_is_rejected(digits):
    with pytest.raises(ValueError, match="partial_fit"):
        UnlearnableClassifier(MLPClassifier(solver="lbfgs")).fit(digits.X_train, digits.y_train)


def test_predictions_match_the_inner_estimator(digits):
    clf = UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0)).fit(
        digits.X_train, digits.y_train
    )
    X = digits.X_test
    np.testing.assert_array_equal(clf.predict(X), clf.estimator_.predict(X))
    np.testing.assert_allclose(clf.predict_proba(X), clf.estimator_.predict_proba(X))
    np.testing.assert_allclose(clf.decision_function(X), clf.estimator_.decision_function(X))
    assert clf.score(X, digits.y_test) == clf.estimator_.score(X, digits.y_test)


def test_a_registered_adapter_takes_precedence(digits, monkeypatch):
    from sk_unlearn import EstimatorAdapter, _backends, register_adapter

    monkeypatch.setattr(_backends, "_registered", [])
    steps = []

    @register_adapter
    class CountingNB(EstimatorAdapter):
        name = "counting-nb-test"

        @classmethod
        def supports(cls, estimator):
            return isinstance(estimator, MultinomialNB)

        def auto_unlearning_rate(self):
            return 0.5

        def forget_step(self, X, y, rate):
            steps.append((len(X), rate))
            self.estimator.partial_fit(X, y)

    clf = UnlearnableClassifier(MultinomialNB(), n_replay=3, random_state=0)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:2], digits.y_train[:2])
    assert steps == [(12, 0.5), (12, 0.5)]
    assert clf.deletion_log_[0].unlearning_rate == 0.5
