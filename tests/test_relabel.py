"""Relabeling strategies: the labels each one builds, and how forget uses them."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
from conftest import state_bytes
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._backends import adapter_for
from sk_unlearn._linear_step import batch_step
from sk_unlearn._relabel import (
    boundary_labels,
    complementary_labels,
    relabel_batch,
    sampled_soft_labels,
    soft_labels,
    wrong_label_probabilities,
)
from sk_unlearn.metrics import make_unlearning_scorer

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from sklearn.linear_model import PassiveAggressiveClassifier


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield


# ------------------------------------------------------- label construction
@st.composite
def _request(draw):
    """Classes (ints or strings), a true label among them, scores and a copy count."""
    k = draw(st.integers(2, 12))
    classes = np.arange(k) * 3 + 1
    if draw(st.booleans()):
        classes = np.array([f"c{c}" for c in classes])
    label = classes[draw(st.integers(0, k - 1))]
    finite = st.floats(-50, 50, allow_nan=False)
    scores = np.array(draw(st.lists(finite | st.just(-np.inf), min_size=k, max_size=k)))
    n_relabels = draw(st.integers(1, k - 1))
    return classes, label, scores, n_relabels


@settings(max_examples=200, deadline=None)
@given(_request(), st.integers(0, 2**32 - 1))
def test_no_strategy_ever_returns_the_true_label(request, seed):
    classes, label, scores, n = request
    rng = np.random.default_rng(seed)
    uniform = complementary_labels(label, classes, n, rng)
    boundary = boundary_labels(label, classes, scores, n)
    soft, weights = soft_labels(label, classes, scores, n)
    sampled = sampled_soft_labels(label, classes, scores, n, rng)
    for labels in (uniform, boundary, soft, sampled):
        assert labels.shape == (n,)
        assert label not in labels
        assert set(labels.tolist()) <= set(classes.tolist())
    assert len(set(uniform.tolist())) == n  # distinct
    assert len(set(boundary.tolist())) == 1  # one label for every copy
    assert len(set(soft.tolist())) == n  # one copy per wrong label
    # Weights: non-negative, summing to the number of copies.
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(), n)
    assert set(sampled.tolist()) <= set(soft.tolist())


@settings(max_examples=100, deadline=None)
@given(_request())
def test_boundary_is_the_most_probable_wrong_label(request):
    classes, label, scores, n = request
    (chosen,) = set(boundary_labels(label, classes, scores, n).tolist())
    wrong = classes != label
    assert scores[classes == chosen][0] == scores[wrong].max()


def test_soft_weights_are_the_renormalised_probabilities():
    classes = np.array(["a", "b", "c", "d"])
    proba = np.array([0.4, 0.3, 0.2, 0.1])
    labels, weights = soft_labels("b", classes, np.log(proba), 3)
    assert labels.tolist() == ["a", "c", "d"]
    np.testing.assert_allclose(weights, 3 * np.array([0.4, 0.2, 0.1]) / 0.7)
    # Fewer copies: only the most probable wrong labels, renormalised among themselves.
    labels, weights = soft_labels("b", classes, np.log(proba), 2)
    assert labels.tolist() == ["a", "c"]
    np.testing.assert_allclose(weights, 2 * np.array([0.4, 0.2]) / 0.6)


def test_scores_that_give_no_probability_anywhere_weigh_equally():
    labels, p = wrong_label_probabilities(0, np.arange(4), np.full(4, -np.inf), 3)
    assert labels.tolist() == [1, 2, 3]
    np.testing.assert_allclose(p, [1 / 3] * 3)


def test_sampled_soft_labels_follow_the_probabilities():
    rng = np.random.default_rng(0)
    proba = np.array([0.05, 0.6, 0.25, 0.1])
    labels = np.concatenate(
        [sampled_soft_labels(0, np.arange(4), np.log(proba), 3, rng) for _ in range(2000)]
    )
    frequencies = np.bincount(labels, minlength=4) / labels.size
    assert frequencies[0] == 0
    np.testing.assert_allclose(frequencies[1:], proba[1:] / proba[1:].sum(), atol=0.02)


@pytest.mark.parametrize(
    "scores, message",
    [(np.zeros(3), "one value per class"), (np.array([0.0, np.nan, 1, 2]), "NaN")],
)
def test_bad_scores_are_rejected(scores, message):
    with pytest.raises(ValueError, match=message):
        boundary_labels(0, np.arange(4), scores, 2)
    with pytest.raises(ValueError, match=message):
        soft_labels(0, np.arange(4), scores, 2)


def test_relabel_batch_weighs_replayed_rows_one():
    x = np.array([1.0, 2.0])
    X, y, w = relabel_batch(
        x, np.array([3, 4]), np.zeros((3, 2)), np.array([0, 0, 0]), np.array([1.5, 0.5])
    )
    assert X.shape == (5, 2) and y.tolist() == [3, 4, 0, 0, 0]
    assert w.tolist() == [1.5, 0.5, 1.0, 1.0, 1.0]
    assert relabel_batch(x, np.array([3]), np.zeros((0, 2)), np.array([], dtype=int))[2] is None


# ----------------------------------------------------------- class scores
def test_class_scores_are_log_probabilities_in_class_order(digits):
    est = SGDClassifier(loss="log_loss", random_state=0).fit(digits.X_train, digits.y_train)
    X = digits.X_test[:3]
    scores = adapter_for(est, est.classes_).class_scores(X)
    np.testing.assert_allclose(np.exp(scores), est.predict_proba(X), atol=1e-12)


def test_decision_scores_are_reordered_to_the_wrappers_classes(digits):
    est = Perceptron(random_state=0).fit(digits.X_train, digits.y_train)
    X = digits.X_test[:3]
    scores = adapter_for(est, est.classes_).class_scores(X)
    np.testing.assert_array_equal(scores, est.decision_function(X))
    reversed_order = adapter_for(est, est.classes_[::-1]).class_scores(X)
    np.testing.assert_array_equal(reversed_order, scores[:, ::-1])
    with pytest.raises(ValueError, match="do not cover"):
        adapter_for(est, np.arange(11)).class_scores(X)


def test_binary_decision_function_becomes_two_logistic_columns(digits):
    mask = digits.y_train < 2
    est = Perceptron(random_state=0).fit(digits.X_train[mask], digits.y_train[mask])
    X = digits.X_test[:5]
    scores = adapter_for(est, est.classes_).class_scores(X)
    assert scores.shape == (5, 2)
    softmax = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax[:, 1], 1 / (1 + np.exp(-est.decision_function(X))))


# ------------------------------------------------------ strategies in forget
def _fitted(estimator, digits, **params):
    return UnlearnableClassifier(estimator, random_state=0, **params).fit(
        digits.X_train, digits.y_train
    )


def test_boundary_labels_every_copy_with_the_models_runner_up(digits, recorded_batches):
    clf = _fitted(
        SGDClassifier(loss="log_loss", random_state=0), digits, relabel="boundary", n_replay=4
    )
    x, label = digits.X_train[:1], digits.y_train[0]
    proba = clf.predict_proba(x)[0]
    proba[label] = -1
    clf.forget(x, [label])
    (Xb, yb, _, weights) = recorded_batches[0]
    assert yb[:9].tolist() == [np.argmax(proba)] * 9
    assert (yb[9:] == label).all() and len(yb) == 13
    assert weights is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGDClassifier(loss="log_loss", random_state=0),
        lambda: Perceptron(random_state=0),  # decision_function only
        lambda: MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0),
    ],
    ids=["sgd", "perceptron", "mlp"],
)
def test_soft_passes_the_renormalised_probabilities_as_sample_weight(
    make, digits, recorded_batches
):
    clf = _fitted(make(), digits, relabel="soft", n_replay=5)
    x, label = digits.X_train[:1], digits.y_train[0]
    scores = clf._adapter().class_scores(x)[0]
    clf.forget(x, [label])
    (_, yb, _, weights) = recorded_batches[0]
    wrong = np.delete(np.arange(10), label)
    p = np.exp(scores[wrong] - scores[wrong].max())
    expected = dict(zip(wrong.tolist(), 9 * p / p.sum()))
    assert sorted(yb[:9].tolist()) == wrong.tolist()
    np.testing.assert_allclose(weights[:9], [expected[c] for c in yb[:9]])
    np.testing.assert_allclose(weights[9:], 1.0)
    np.testing.assert_allclose(weights.sum(), 9 + 5)


@pytest.mark.parametrize("optimizer", [None, "sgd"], ids=["partial-fit", "batch-step"])
def test_soft_step_equals_a_weighted_step_by_hand(digits, recorded_batches, optimizer):
    est = SGDClassifier(loss="log_loss", random_state=0)
    clf = _fitted(est, digits, relabel="soft", unlearning_optimizer=optimizer)
    manual = copy.deepcopy(clf.estimator_)
    clf.forget(digits.X_train[:1], digits.y_train[:1])
    Xb, yb, rate, weights = recorded_batches[0]
    if optimizer is None:
        manual.set_params(learning_rate="constant", eta0=rate)
        manual.partial_fit(Xb, yb, sample_weight=weights)
    else:
        batch_step(manual, Xb, yb, rate, weights)
    np.testing.assert_allclose(clf.estimator_.coef_, manual.coef_)


def test_soft_without_sample_weight_draws_the_labels(digits, recorded_batches):
    clf = _fitted(PassiveAggressiveClassifier(random_state=0), digits, relabel="soft", n_replay=0)
    assert not adapter_for(clf.estimator_).accepts_sample_weight
    clf.forget(digits.X_train[:20], digits.y_train[:20])
    drawn_repeats = 0
    for (_, yb, _, weights), label in zip(recorded_batches, digits.y_train[:20]):
        assert weights is None and len(yb) == 9 and label not in yb
        drawn_repeats += len(set(yb.tolist())) < 9
    assert drawn_repeats > 0  # drawn with replacement, not one copy per label


def test_n_steps_takes_that_many_fresh_steps_per_request(digits, recorded_batches):
    clf = _fitted(
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0),
        digits,
        relabel="boundary",
        n_steps=3,
        n_replay=4,
    )
    t = clf.estimator_._optimizer.t
    clf.forget(digits.X_train[:2], digits.y_train[:2])
    assert clf.estimator_._optimizer.t == t + 6  # one Adam update per step
    assert len(recorded_batches) == 6
    first = recorded_batches[:3]
    # Every step replays freshly drawn rows of the class.
    replays = {Xb[9:].tobytes() for Xb, *_ in first}
    assert len(replays) == 3
    record = clf.deletion_log_[0]
    assert (record.relabel, record.n_steps, record.n_replay) == ("boundary", 3, 4)


def test_a_failure_in_a_later_step_rolls_the_whole_call_back(digits, monkeypatch):
    from sk_unlearn import _backends

    clf = _fitted(SGDClassifier(loss="log_loss", random_state=0), digits, n_steps=3)
    original = _backends.SGDAdapter.forget_step
    calls = {"n": 0}

    def flaky(self, X, y, rate, sample_weight=None):
        calls["n"] += 1
        if calls["n"] == 5:  # the second step of the second request
            raise RuntimeError("injected failure")
        return original(self, X, y, rate, sample_weight)

    before = state_bytes(clf)
    monkeypatch.setattr(_backends.SGDAdapter, "forget_step", flaky)
    with pytest.raises(RuntimeError, match="injected failure"):
        clf.forget(digits.X_train[:3], digits.y_train[:3])
    assert state_bytes(clf) == before


class _ScorelessClassifier(ClassifierMixin, BaseEstimator):
    """Nearest class mean, learned incrementally; no predict_proba or decision_function."""

    def partial_fit(self, X, y, classes=None):
        if not hasattr(self, "classes_"):
            self.classes_ = np.asarray(classes)
            self.sums_ = np.zeros((len(self.classes_), X.shape[1]))
            self.counts_ = np.zeros(len(self.classes_))
        for i, c in enumerate(self.classes_):
            self.sums_[i] += X[y == c].sum(axis=0)
            self.counts_[i] += (y == c).sum()
        return self

    def fit(self, X, y):
        for name in ("classes_", "sums_", "counts_"):
            self.__dict__.pop(name, None)
        return self.partial_fit(X, y, classes=np.unique(y))

    def predict(self, X):
        means = self.sums_ / np.maximum(self.counts_, 1)[:, None]
        return self.classes_[np.argmin(((X[:, None, :] - means) ** 2).sum(axis=2), axis=1)]


@pytest.mark.parametrize("strategy", ["boundary", "soft"])
def test_strategies_that_need_scores_say_so(strategy, digits):
    clf = UnlearnableClassifier(_ScorelessClassifier(), relabel=strategy)
    with pytest.raises(ValueError, match=f"relabel='{strategy}' needs the model's class scores"):
        clf.fit(digits.X_train, digits.y_train)
    fitted = _fitted(_ScorelessClassifier(), digits, relabel="uniform", unlearning_rate=None)
    fitted.set_params(relabel=strategy)
    before = state_bytes(fitted)
    with pytest.raises(ValueError, match="use relabel='uniform'"):
        fitted.forget(digits.X_train[:1], digits.y_train[:1])
    assert state_bytes(fitted) == before


@pytest.mark.parametrize(
    "params, message",
    [({"relabel": "random"}, "relabel"), ({"n_steps": 0}, "n_steps")],
)
def test_invalid_strategy_parameters(params, message, digits):
    with pytest.raises(ValueError, match=message):
        UnlearnableClassifier(SGDClassifier(), **params).fit(digits.X_train, digits.y_train)


def test_grid_search_can_choose_the_strategy_and_steps(digits):
    base = UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0), random_state=0)
    assert {"relabel", "n_steps"} <= set(base.get_params())
    twin = clone(base.set_params(relabel="soft", n_steps=2))
    assert (twin.relabel, twin.n_steps) == ("soft", 2)
    # The unlearning scorer forgets rows from each candidate, so the strategy matters to it.
    search = GridSearchCV(
        base,
        {"relabel": ["uniform", "boundary", "soft"], "n_steps": [1, 2]},
        scoring=make_unlearning_scorer(0.02),
        cv=2,
    ).fit(digits.X_train, digits.y_train)
    assert len(search.cv_results_["params"]) == 6
    assert len(set(np.round(search.cv_results_["mean_test_score"], 12))) > 1
    best = search.best_estimator_
    assert best.relabel == search.best_params_["relabel"]
    best.forget(digits.X_train[:2], digits.y_train[:2])
    assert best.deletion_log_[0].relabel == best.relabel


def test_a_pickle_from_before_the_strategies_keeps_uniform_relabeling(digits):
    import pickle

    from sk_unlearn._classifier import _LOCKED_STATE
    from sk_unlearn._compat import FORMAT_KEY

    clf = _fitted(SGDClassifier(loss="log_loss", random_state=0), digits)
    state = pickle.loads(clf.__getstate__()[_LOCKED_STATE])
    del state["relabel"], state["n_steps"], state[FORMAT_KEY]  # as 0.1 wrote it
    old = UnlearnableClassifier.__new__(UnlearnableClassifier)
    old.__setstate__(state)
    assert (old.relabel, old.n_steps) == ("uniform", 1)
    old.forget(digits.X_train[:1], digits.y_train[:1])
    assert old.deletion_log_[0].relabel == "uniform"
