"""The skorch backend: one optimizer step per request, and every known skorch pitfall."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from conftest import state_bytes, weights_refused  # noqa: E402
from skorch import NeuralNetClassifier  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402
from torch import nn  # noqa: E402

from sk_unlearn import UnlearnableClassifier, forget_through_pipeline  # noqa: E402
from sk_unlearn._skorch import SkorchAdapter  # noqa: E402
from sk_unlearn.metrics import make_unlearning_scorer  # noqa: E402

# Tiny nets: threads only add contention on a 2-core CI machine.
torch.set_num_threads(1)

LABELS = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


class MLP(nn.Module):
    """A small net for the 64 digits pixels; optional Dropout and BatchNorm."""

    def __init__(self, n_in=64, hidden=32, n_out=10, dropout=0.0, batchnorm=False):
        super().__init__()
        layers = [nn.Linear(n_in, hidden)]
        if batchnorm:
            layers.append(nn.BatchNorm1d(hidden))
        layers += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out)]
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)


NET_SETTINGS = dict(
    module=MLP,
    criterion=nn.CrossEntropyLoss,
    optimizer=torch.optim.SGD,
    lr=0.2,
    max_epochs=8,
    batch_size=64,
    train_split=None,
    verbose=0,
)


def make_net(**kwargs):
    return NeuralNetClassifier(**{**NET_SETTINGS, **kwargs})


@pytest.fixture
def fitted(digits):
    torch.manual_seed(0)
    # The net's own optimizer and k - 1 copies: the mechanics most tests below check.
    return UnlearnableClassifier(
        make_net(), n_replay=4, n_relabels=None, unlearning_optimizer=None, random_state=0
    ).fit(digits.X_train, LABELS[digits.y_train])


def weights(clf):
    return {k: v.clone() for k, v in clf.estimator_.module_.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


# ------------------------------------------------------------------- labels
def test_string_labels_round_trip_and_classes_stay_the_wrappers(fitted, digits):
    assert fitted.classes_.tolist() == sorted(LABELS.tolist())
    predicted = fitted.predict(digits.X_test)
    assert set(predicted) <= set(LABELS)
    assert fitted.score(digits.X_test, LABELS[digits.y_test]) > 0.85
    inferred = fitted.estimator_.classes_.copy()
    fitted.forget(digits.X_train[:5], LABELS[digits.y_train[:5]])
    # A relabel batch holds only a few labels; neither the wrapper's nor the
    # net's classes are re-inferred from it.
    assert fitted.classes_.tolist() == sorted(LABELS.tolist())
    np.testing.assert_array_equal(fitted.estimator_.classes_, inferred)


def test_non_contiguous_integer_labels(digits):
    y = np.array([3, 7, 42])[digits.y_train % 3]
    torch.manual_seed(0)
    clf = UnlearnableClassifier(make_net(module__n_out=3), n_replay=2, random_state=0)
    clf.fit(digits.X_train, y)
    assert clf.classes_.tolist() == [3, 7, 42]
    assert set(clf.predict(digits.X_train)) <= {3, 7, 42}
    proba = clf.predict_proba(digits.X_train[:4])
    assert proba.shape == (4, 3) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # predict is the label of the most probable column, never a column index.
    rows = digits.X_train[:50]
    np.testing.assert_array_equal(
        clf.predict(rows), clf.classes_[clf.predict_proba(rows).argmax(axis=1)]
    )


def test_module_with_the_wrong_number_of_outputs_is_a_clear_error(digits):
    clf = UnlearnableClassifier(make_net(module__n_out=12, max_epochs=1))
    with pytest.raises(ValueError, match="outputs 12 columns but there are 10 classes"):
        clf.fit(digits.X_train, digits.y_train)
    assert not hasattr(clf, "estimator_")


# ------------------------------------------------------- one step, exactly
def test_a_request_is_exactly_one_optimizer_step_on_the_whole_batch(
    fitted, digits, recorded_batches
):
    """Replays the step by hand with plain torch: same weights afterwards."""
    manual = copy.deepcopy(fitted.estimator_)
    steps = []
    fitted.estimator_.optimizer_.register_step_post_hook(lambda *a: steps.append(1))
    fitted.set_params(unlearning_rate=0.05).forget(digits.X_train[:1], LABELS[digits.y_train[:1]])
    assert len(steps) == 1

    (X_batch, y_batch, rate, _) = recorded_batches[0]
    assert rate == 0.05 and len(X_batch) == 9 + 4
    # The net trains with plain SGD (no momentum): its optimizer's step is this one.
    torch_sgd_step(manual.module_, X_batch, np.searchsorted(fitted.classes_, y_batch), lr=0.05)
    assert_weights_close(fitted.estimator_.module_, manual.module_)


def torch_sgd_step(module, X, codes, lr):
    """One plain-torch SGD step on a batch, module in eval mode."""
    module.eval()
    optimizer = torch.optim.SGD(module.parameters(), lr=lr)
    logits = module(torch.as_tensor(X, dtype=torch.float32))
    nn.functional.cross_entropy(logits, torch.as_tensor(codes)).backward()
    optimizer.step()


def assert_weights_close(module_a, module_b):
    a, b = module_a.state_dict(), module_b.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_default_validation_split_and_epochs_play_no_part(digits):
    """skorch's default ValidSplit(5) would fail on (or hold out part of) a 9-row batch."""
    torch.manual_seed(0)
    net = make_net(train_split=skorch.dataset.ValidSplit(5), max_epochs=3)
    clf = UnlearnableClassifier(net, n_replay=0, unlearning_optimizer=None, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    steps = []
    clf.estimator_.optimizer_.register_step_post_hook(lambda *a: steps.append(1))
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    assert len(steps) == 3  # not 3 * max_epochs, and no split error


class CountingCallback(Callback):
    def initialize(self):
        self.calls = []
        return self

    def on_batch_begin(self, net, **kwargs):
        self.calls.append("batch")

    def on_epoch_end(self, net, **kwargs):
        self.calls.append("epoch")

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.calls.append("grad")


def test_no_history_and_no_callback_side_effects(digits):
    torch.manual_seed(0)
    net = make_net(callbacks=[("count", CountingCallback())], max_epochs=2)
    clf = UnlearnableClassifier(net, random_state=0).fit(digits.X_train, digits.y_train)
    history = copy.deepcopy(clf.estimator_.history_)
    callback = dict(clf.estimator_.callbacks_)["count"]
    calls = list(callback.calls)
    clf.forget(digits.X_train[:5], digits.y_train[:5])
    assert callback.calls == calls
    assert clf.estimator_.history_ == history


def test_unlearning_rate_applies_to_the_step_only(digits):
    torch.manual_seed(0)
    net = make_net(optimizer=torch.optim.Adam, lr=0.01)
    clf = UnlearnableClassifier(
        net, unlearning_rate=1e-4, unlearning_optimizer=None, random_state=0
    )
    clf.fit(digits.X_train, digits.y_train)
    adam_steps = _adam_steps(clf.estimator_.optimizer_)
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    optimizer = clf.estimator_.optimizer_
    assert [g["lr"] for g in optimizer.param_groups] == [0.01]
    assert clf.estimator_.lr == 0.01
    assert clf.deletion_log_[0].unlearning_rate == 1e-4
    # unlearning_optimizer=None: the training optimizer takes the step and its
    # state (Adam's moments and step count) carries on.
    assert _adam_steps(optimizer) == adam_steps + 3


def _adam_steps(optimizer):
    return int(next(iter(optimizer.state.values()))["step"])


@pytest.mark.parametrize("name", ["sgd", "adam", "adadelta"])
def test_a_separate_unlearning_optimizer_leaves_the_training_one_alone(digits, name):
    torch.manual_seed(0)
    net = make_net(optimizer=torch.optim.Adam, lr=0.01)
    clf = UnlearnableClassifier(net, unlearning_optimizer=name, unlearning_rate=1e-3)
    clf.fit(digits.X_train, digits.y_train)
    before = copy.deepcopy(clf.estimator_.optimizer_.state_dict())
    w0 = weights(clf)
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    after = clf.estimator_.optimizer_.state_dict()
    assert _adam_steps(clf.estimator_.optimizer_) == int(before["state"][0]["step"])
    for key, value in before["state"][0].items():
        torch.testing.assert_close(after["state"][0][key], value)
    assert any(not torch.equal(w0[k], v) for k, v in weights(clf).items())


def test_separate_sgd_step_matches_plain_torch(fitted, digits, recorded_batches):
    manual = copy.deepcopy(fitted.estimator_.module_)
    fitted.set_params(unlearning_optimizer=torch.optim.SGD, unlearning_rate=0.3)
    fitted.forget(digits.X_train[:1], LABELS[digits.y_train[:1]])
    X_batch, y_batch, *_ = recorded_batches[0]
    torch_sgd_step(manual, X_batch, np.searchsorted(fitted.classes_, y_batch), lr=0.3)
    assert_weights_close(fitted.estimator_.module_, manual)


def test_unknown_optimizer_is_a_clear_error_and_changes_nothing(fitted, digits):
    before = state_bytes(fitted)
    fitted.set_params(unlearning_optimizer="no-such-optimizer")
    with pytest.raises(ValueError, match="not a torch optimizer"):
        fitted.forget(digits.X_train[:2], LABELS[digits.y_train[:2]])
    fitted.set_params(unlearning_optimizer=None)
    assert state_bytes(fitted) == before


def test_sklearn_backends_refuse_an_unlearning_optimizer(digits):
    clf = UnlearnableClassifier(MultinomialNB(), method="relabel", unlearning_optimizer="adam")
    with pytest.raises(ValueError, match="steps with its own"):
        clf.fit(digits.X_train, digits.y_train)
    clf = UnlearnableClassifier(SGDClassifier(), unlearning_optimizer="adam")  # None or "sgd"
    with pytest.raises(ValueError, match="takes None .* or 'sgd'"):
        clf.fit(digits.X_train, digits.y_train)


def test_gradients_are_cleared_after_the_step(fitted, digits):
    fitted.forget(digits.X_train[:2], LABELS[digits.y_train[:2]])
    assert all(p.grad is None for p in fitted.estimator_.module_.parameters())


# -------------------------------------------------------- dropout/batchnorm
def test_batchnorm_on_a_one_row_batch_and_running_stats_untouched(digits):
    torch.manual_seed(0)
    net = make_net(module__batchnorm=True, module__dropout=0.5)
    clf = UnlearnableClassifier(net, n_relabels=1, n_replay=0, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    bn = clf.estimator_.module_.layers[1]
    mean, var = bn.running_mean.clone(), bn.running_var.clone()
    flags = [m.training for m in clf.estimator_.module_.modules()]
    clf.forget(digits.X_train[:2], digits.y_train[:2])  # batches of a single row
    torch.testing.assert_close(bn.running_mean, mean, rtol=0, atol=0)
    torch.testing.assert_close(bn.running_var, var, rtol=0, atol=0)
    assert [m.training for m in clf.estimator_.module_.modules()] == flags


def test_a_call_is_served_in_eval_mode_and_every_flag_comes_back_even_on_failure(digits):
    torch.manual_seed(0)
    net = make_net(module__batchnorm=True, module__dropout=0.5)
    clf = UnlearnableClassifier(net, random_state=0).fit(digits.X_train, digits.y_train)
    module = clf.estimator_.module_
    module.train()
    module.layers[1].eval()  # a mixed set of flags, each to be restored as it was
    flags = [m.training for m in module.modules()]
    adapter = clf._adapter()
    rows = digits.X_train[:3].astype(np.float32)
    with pytest.raises(RuntimeError, match="failed inside"), adapter.serving():
        assert not any(m.training for m in module.modules())
        with adapter.serving():  # nested: the outer block keeps the modules in eval mode
            adapter.predict_proba(rows)
            adapter.forget_step(rows, digits.y_train[:3], 1e-3)
        assert not any(m.training for m in module.modules())
        raise RuntimeError("failed inside the block")
    assert [m.training for m in module.modules()] == flags
    assert adapter._serving is None


def test_a_step_inside_a_call_is_the_step_outside_one(fitted, digits):
    inside, outside = copy.deepcopy(fitted), copy.deepcopy(fitted)
    before = weights(fitted)
    rows, labels = digits.X_train[:5].astype(np.float32), digits.y_train[5:10]
    adapter = inside._adapter()
    with adapter.serving():  # the learnable parameters listed once, for every step
        adapter.forget_step(rows, labels, 1e-2)
        adapter.forget_step(rows[::-1], labels, 1e-2)
    alone = outside._adapter()
    alone.forget_step(rows, labels, 1e-2)
    alone.forget_step(rows[::-1], labels, 1e-2)
    assert_same_weights(weights(inside), weights(outside))
    assert weights(inside)["layers.0.weight"].ne(before["layers.0.weight"]).any()


def test_the_finiteness_check_inside_a_call_sees_weights_changed_in_it(fitted):
    adapter = fitted._adapter()
    with adapter.serving():
        assert adapter.finite()
        with torch.no_grad():
            adapter.estimator.module_.layers[0].weight[0, 0] = float("nan")
        assert not adapter.finite()


def test_dropout_is_off_so_the_step_is_deterministic(digits):
    torch.manual_seed(0)
    net = make_net(module__dropout=0.5)
    clf = UnlearnableClassifier(net, random_state=0).fit(digits.X_train, digits.y_train)
    twin = copy.deepcopy(clf)
    torch.manual_seed(1)
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    torch.manual_seed(2)
    twin.forget(digits.X_train[:3], digits.y_train[:3])
    assert_same_weights(weights(clf), weights(twin))


# -------------------------------------------------- rollback and lifecycle
def test_failure_midway_rolls_back_weights_optimizer_rows_and_log(digits, monkeypatch):
    torch.manual_seed(0)
    net = make_net(optimizer=torch.optim.Adam, lr=0.01)
    clf = UnlearnableClassifier(net, random_state=0).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:1], digits.y_train[:1])
    w0 = weights(clf)
    opt0 = copy.deepcopy(clf.estimator_.optimizer_.state_dict())
    n_retained, log = clf.n_retained_, list(clf.deletion_log_)
    original = SkorchAdapter.forget_step
    calls = {"n": 0}

    def flaky(self, X, y, rate):
        if calls["n"] == 2:
            raise RuntimeError("injected failure")
        calls["n"] += 1
        return original(self, X, y, rate)

    monkeypatch.setattr(SkorchAdapter, "forget_step", flaky)
    with pytest.raises(RuntimeError, match="injected failure"):
        clf.forget(digits.X_train[5:10], digits.y_train[5:10])
    assert_same_weights(weights(clf), w0)
    opt = clf.estimator_.optimizer_.state_dict()
    for key, value in opt0["state"][0].items():
        torch.testing.assert_close(opt["state"][0][key], value, rtol=0, atol=0)
    assert clf.n_retained_ == n_retained and clf.deletion_log_ == log
    assert [g["lr"] for g in clf.estimator_.optimizer_.param_groups] == [0.01]


def test_an_initialized_net_does_not_make_the_wrapper_fitted(digits):
    net = make_net().initialize()
    clf = UnlearnableClassifier(net)
    with pytest.raises(NotFittedError):
        clf.predict(digits.X_test)


def test_retrain_after_and_partial_fit(digits):
    torch.manual_seed(0)
    clf = UnlearnableClassifier(make_net(max_epochs=2), retrain_after=3, random_state=0)
    clf.partial_fit(digits.X_train[:600], digits.y_train[:600], classes=np.arange(10))
    clf.partial_fit(digits.X_train[600:], digits.y_train[600:])
    clf.forget(digits.X_train[:4], digits.y_train[:4])
    assert clf.n_retrains_ == 1
    assert [r.retrained for r in clf.deletion_log_] == [False, False, True, False]
    assert clf.n_retained_ == len(digits.X_train) - 4


def test_pickle_round_trip_keeps_predictions_and_forgetting(fitted, digits):
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(digits.X_test), fitted.predict(digits.X_test))
    for clf in (fitted, restored):
        clf.forget(digits.X_train[:3], LABELS[digits.y_train[:3]])
    np.testing.assert_allclose(
        restored.predict_proba(digits.X_test), fitted.predict_proba(digits.X_test), rtol=1e-6
    )


def test_clone_grid_search_and_pipeline(digits):
    clf = UnlearnableClassifier(make_net(max_epochs=3), n_replay=2, random_state=0)
    assert clone(clf).get_params()["estimator__lr"] == 0.2
    torch.manual_seed(0)
    grid = {
        "estimator__lr": [0.05, 0.2],
        "unlearning_rate": [1e-3, 1e-2],
        "unlearning_optimizer": [None, "adam"],
    }
    # The unlearning scorer forgets rows of every fitted candidate, so the
    # search exercises forget with each optimizer and rate.
    search = GridSearchCV(clf, grid, cv=2, scoring=make_unlearning_scorer(0.02))
    search.fit(digits.X_train, digits.y_train)
    assert set(search.best_params_) == set(grid)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.forget(digits.X_train[:2], digits.y_train[:2]).n_forgotten_ == 2

    pipe = make_pipeline(StandardScaler(), clone(clf)).fit(digits.X_train, digits.y_train)
    forget_through_pipeline(pipe, digits.X_train[:3], digits.y_train[:3])
    assert pipe[-1].n_forgotten_ == 3


# ----------------------------------------------------------------- GPU
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_net_forgets_and_returns_numpy(digits):
    torch.manual_seed(0)
    clf = UnlearnableClassifier(make_net(device="cuda"), random_state=0)
    clf.fit(digits.X_train, LABELS[digits.y_train])
    assert next(clf.estimator_.module_.parameters()).is_cuda
    clf.forget(digits.X_train[:5], LABELS[digits.y_train[:5]])
    proba = clf.predict_proba(digits.X_test)
    assert isinstance(proba, np.ndarray) and proba.shape == (len(digits.X_test), 10)
    assert set(clf.predict(digits.X_test)) <= set(LABELS)
    assert clf.score(digits.X_test, LABELS[digits.y_test]) > 0.85


# ------------------------------------------------------ estimator checks
class AutoSizedNet(NeuralNetClassifier):
    """Sizes the module to the data, as the estimator checks vary both."""

    def fit(self, X, y, **fit_params):
        self.set_params(module__n_in=X.shape[1], module__n_out=len(np.unique(y)))
        return super().fit(X, y, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if not self.initialized_:
            self.set_params(module__n_in=X.shape[1], module__n_out=len(classes))
        return super().partial_fit(X, y, classes=classes, **fit_params)


# Each check fits twice and compares the predictions. A torch net's initial
# weights (and skorch's batch shuffling) come from torch's global random state,
# which neither skorch nor this wrapper seeds, so two fits differ.
EXPECTED_FAILED_CHECKS: dict[str, str] = {
    "check_supervised_y_2d": "torch's weight initialisation is not seeded per fit",
    "check_fit_idempotent": "torch's weight initialisation is not seeded per fit",
    **weights_refused("skorch hands fit arguments to the module, not to the loss"),
}


@parametrize_with_checks(
    [
        UnlearnableClassifier(
            AutoSizedNet(**{**NET_SETTINGS, "max_epochs": 40, "lr": 0.1}),
            n_replay=2,
            random_state=0,
        )
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    torch.manual_seed(0)
    check(estimator)


@pytest.mark.parametrize(
    ("optimizer", "expected"),
    [(None, 0.02), ("sgd", 1e-2), (torch.optim.SGD, 1e-2), ("adam", 1e-3)],
)
def test_auto_rate(fitted, digits, optimizer, expected):
    fitted.set_params(unlearning_optimizer=optimizer)
    fitted.forget(digits.X_train[:1], LABELS[digits.y_train[:1]])
    assert fitted.deletion_log_[-1].unlearning_rate == pytest.approx(expected)


def test_certify_against_the_naive_net(fitted, digits):
    fitted.forget(digits.X_train[:5], LABELS[digits.y_train[:5]])
    certificate = fitted.certify(digits.X_train[:5])
    assert certificate.reference == "retrain" and certificate.n_rows == 5
    assert np.all(np.isfinite(certificate.divergences)) and 0 <= certificate.mean <= 1
    fitted.set_params(max_divergence=0.0)
    assert fitted.certify(digits.X_train[:5]).retrained
    assert fitted.n_retrains_ == 1 and fitted.deletion_log_[-1].retrained


def test_set_params_on_the_template_never_wipes_the_fitted_net(fitted, digits):
    """skorch re-initialises a net on ``module__*`` changes; estimator_ is a separate clone."""
    proba = fitted.predict_proba(digits.X_test)
    fitted.set_params(estimator__module__hidden=16, estimator__lr=0.05)
    np.testing.assert_array_equal(fitted.predict_proba(digits.X_test), proba)
    assert fitted.estimator_.lr == 0.2
    torch.manual_seed(0)
    fitted.retrain()  # the next training from scratch uses the new recipe
    assert fitted.estimator_.module_.layers[0].out_features == 16
    assert fitted.estimator_.lr == 0.05


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_rollback_and_pickle(digits, monkeypatch):
    torch.manual_seed(0)
    net = make_net(device="cuda", optimizer=torch.optim.Adam, lr=0.01)
    clf = UnlearnableClassifier(net, random_state=0).fit(digits.X_train, digits.y_train)
    w0 = weights(clf)

    def broken(self, X, y, rate):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(SkorchAdapter, "forget_step", broken)
    with pytest.raises(RuntimeError):
        clf.forget(digits.X_train[:2], digits.y_train[:2])
    monkeypatch.undo()
    assert_same_weights(weights(clf), w0)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(
        restored.predict_proba(digits.X_test), clf.predict_proba(digits.X_test), rtol=1e-6
    )


def test_boundary_and_soft_read_the_nets_probabilities_in_label_space(
    fitted, digits, recorded_batches
):
    """class_scores goes through the adapter's predict_proba: columns in classes_ order."""
    x, label = digits.X_train[:1], LABELS[digits.y_train[:1]]
    proba = fitted.predict_proba(x)[0]
    proba[fitted.classes_ == label[0]] = -1
    runner_up = fitted.classes_[np.argmax(proba)]
    fitted.set_params(relabel="boundary").forget(x, label)
    (_, y_batch, _, weights) = recorded_batches[0]
    assert y_batch[:9].tolist() == [runner_up] * 9 and weights is None
    # skorch's step takes no sample weights: "soft" draws the copies' labels instead.
    fitted.set_params(relabel="soft").forget(digits.X_train[1:2], LABELS[digits.y_train[1:2]])
    (_, y_batch, _, weights) = recorded_batches[1]
    assert weights is None and LABELS[digits.y_train[1]] not in y_batch[:9]
    assert fitted.deletion_log_[-1].relabel == "soft"


def test_auto_defaults_for_skorch_are_the_measured_recommendation(digits):
    """One soft copy, a fresh SGD step at 1e-2, 32 replayed rows; training optimizer untouched."""
    torch.manual_seed(0)
    net = make_net(optimizer=torch.optim.Adam, lr=0.01)
    clf = UnlearnableClassifier(net, random_state=0).fit(digits.X_train, digits.y_train)
    adam_steps = _adam_steps(clf.estimator_.optimizer_)
    clf.forget(digits.X_train[:2], digits.y_train[:2])
    record = clf.deletion_log_[-1]
    assert (record.n_relabels, record.unlearning_rate, record.n_replay) == (1, 1e-2, 32)
    assert _adam_steps(clf.estimator_.optimizer_) == adam_steps  # a separate optimizer stepped
    sgd = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    sgd.fit(digits.X_train, digits.y_train).forget(digits.X_train[:1], digits.y_train[:1])
    assert sgd.deletion_log_[-1].n_relabels == 9  # scikit-learn estimators: k - 1, the paper


@pytest.mark.parametrize("n_slices", [1, 2])
def test_a_sharded_skorch_net_forgets_by_retraining_one_shard(digits, n_slices):
    from sk_unlearn import ShardedClassifier

    X, y = digits.X_train.astype(np.float32), digits.y_train.astype(np.int64)
    torch.manual_seed(0)
    clf = UnlearnableClassifier(
        ShardedClassifier(make_net(max_epochs=20), n_shards=3, n_slices=n_slices, random_state=0)
    ).fit(X, y)
    before = list(clf.estimator_.estimators_)
    clf.forget(X[:1], y[:1])
    (record,) = clf.deletion_log_
    assert record.method == "sharded" and record.guarantee == "exact"
    for s in range(3):
        assert (clf.estimator_.estimators_[s] is before[s]) == (s != record.shard)
    held = clf.estimator_.shard_rows(record.shard)
    assert not any((row == X[0]).all() for row in held[0])
    assert clf.score(digits.X_test.astype(np.float32), digits.y_test) > 0.8


def test_sample_weights_are_refused_with_the_reason(digits):
    X, y = digits.X_train[:100].astype(np.float32), digits.y_train[:100]
    clf = UnlearnableClassifier(make_net(max_epochs=1))
    with pytest.raises(TypeError, match="skorch's NeuralNet hands extra fit arguments"):
        clf.fit(X, y, sample_weight=np.ones(len(y)))
    assert not hasattr(clf, "estimator_")
    clf.fit(X, y)
    before = state_bytes(clf)
    with pytest.raises(TypeError, match="weight the rows in your criterion"):
        clf.partial_fit(X[:5], y[:5], sample_weight=np.ones(5))
    assert state_bytes(clf) == before


@pytest.mark.parametrize(
    "settings",
    [{}, {"module__dropout": 0.5, "module__batchnorm": True}, {"predict_nonlinearity": None}],
    ids=["plain", "dropout-batchnorm", "no-nonlinearity"],
)
def test_the_forward_pass_gives_the_nets_own_probabilities(digits, settings):
    torch.manual_seed(0)
    net = make_net(max_epochs=2, **settings)
    clf = UnlearnableClassifier(net, random_state=0).fit(digits.X_train, digits.y_train)
    module = clf.estimator_.module_
    module.train()  # as after training: the fast path must not leave it in eval mode
    rows = digits.X_train[:5].astype(np.float32)
    fast = clf._adapter().predict_proba(rows)  # one batch: the module's forward pass
    assert module.training
    np.testing.assert_allclose(fast, clf.estimator_.predict_proba(rows), rtol=1e-6, atol=1e-7)
    many = digits.X_train[:200]  # more than a batch: through the net's DataLoader
    np.testing.assert_allclose(
        clf.predict_proba(many), clf.estimator_.predict_proba(many.astype(np.float32)), atol=1e-7
    )


@pytest.mark.parametrize(
    ("value", "finite"), [(np.nan, False), (np.inf, False), (-np.inf, False), (3e38, True)]
)
def test_the_finiteness_check_finds_one_bad_weight_and_passes_huge_finite_ones(
    fitted, value, finite
):
    net = copy.deepcopy(fitted.estimator_)
    with torch.no_grad():
        weight = net.module_.layers[0].weight
        weight[0, :2] = float(value)  # two huge values: their float32 sum would overflow
    assert SkorchAdapter(net, fitted.classes_).finite() is finite
