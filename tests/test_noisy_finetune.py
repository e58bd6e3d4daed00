"""method="noisy_finetune": noise on the weights, then fine-tuning on the retained rows only.

What must hold: the call's rows never reach the fine-tuning and every retained
row reaches it once per epoch; the noise has the stated relative size in
every weight array (MLP and skorch); the result is a function of
``random_state``; the model stays accurate; the ledger says how the requests
were served; a call that cannot be served changes nothing. (Rollback when a
fine-tuning epoch fails part-way, and at every stage of the transaction, is
in tests/test_transaction.py.)
"""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._sklearn_adapters import MLPAdapter
from sk_unlearn._store import RowStore

try:
    import skorch
    import torch
    from torch import nn
except ImportError:  # the skorch cases skip
    skorch = None


def _mlp(**params):
    return MLPClassifier((32,), max_iter=30, random_state=0, **params)


def _fitted(digits, **params):
    clf = UnlearnableClassifier(_mlp(), method="noisy_finetune", random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(digits.X_train, digits.y_train)


def _quiet(action, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return action(*args, **kwargs)


def test_the_fine_tuning_sees_every_retained_row_once_per_epoch_and_never_the_calls(
    digits, monkeypatch
):
    clf = _fitted(digits, finetune_epochs=3)
    seen = []
    original = MLPAdapter.train_one_epoch

    def recording(self, X, y, classes, sample_weight=None):
        seen.append(np.asarray(X).copy())
        return original(self, X, y, classes, sample_weight)

    monkeypatch.setattr(MLPAdapter, "train_one_epoch", recording)
    forgotten = digits.X_train[:25]
    _quiet(clf.forget, forgotten, digits.y_train[:25])

    rows = np.vstack(seen)
    assert len(rows) == 3 * clf.n_retained_
    as_bytes = [r.tobytes() for r in rows]
    retained = [r.tobytes() for r in digits.X_train[25:]]
    counts = {}
    for b in as_bytes:
        counts[b] = counts.get(b, 0) + 1
    # Duplicate rows in the digits count as often as they are retained.
    expected = {}
    for b in retained:
        expected[b] = expected.get(b, 0) + 3
    assert counts == expected
    assert not {r.tobytes() for r in forgotten} & set(counts)
    # Each epoch is shuffled afresh: the three epochs see the rows in different orders.
    n = clf.n_retained_
    assert not np.array_equal(rows[:n], rows[n : 2 * n])


def test_the_noise_has_the_stated_size_relative_to_each_array(digits):
    clf = _fitted(digits)
    adapter = clf._adapter()
    before = [a.copy() for a in (*clf.estimator_.coefs_, *clf.estimator_.intercepts_)]
    adapter.perturb_weights(np.random.default_rng(0), 0.5)
    after = [*clf.estimator_.coefs_, *clf.estimator_.intercepts_]
    for old, new in zip(before, after):
        ratio = (new - old).std() / old.std()
        assert ratio == pytest.approx(0.5, rel=0.3 if old.size < 100 else 0.05)
        assert new.dtype == old.dtype
    kept = [a.copy() for a in after]
    adapter.perturb_weights(np.random.default_rng(0), 0.0)
    assert all(np.array_equal(a, b) for a, b in zip(kept, after))


def test_forget_serves_the_call_keeps_accuracy_and_records_how(digits, tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    clf = _fitted(digits, ledger_path=ledger, noise_scale=0.3, finetune_epochs=2)
    weights = [w.copy() for w in clf.estimator_.coefs_]
    accuracy = clf.score(digits.X_test, digits.y_test)
    _quiet(clf.forget, digits.X_train[:20], digits.y_train[:20], ticket="T-1")

    assert clf.n_retained_ == len(digits.y_train) - 20
    assert not any(np.array_equal(a, b) for a, b in zip(weights, clf.estimator_.coefs_))
    assert clf.score(digits.X_test, digits.y_test) >= accuracy - 0.03
    records = clf.deletion_log_
    assert len(records) == 20
    assert {(r.method, r.guarantee, r.noise_scale, r.finetune_epochs) for r in records} == {
        ("noisy_finetune", "approximate", 0.3, 2)
    }
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    completed = [e for e in lines if e.get("event") == "completed"]
    assert len(completed) == 20
    assert all(e["noise_scale"] == 0.3 and e["finetune_epochs"] == 2 for e in completed)
    report = clf.verify_ledger()
    assert report.ok and not report.pending


def test_the_result_is_a_function_of_random_state(digits):
    def forgotten(seed):
        clf = _fitted(digits)
        clf.set_params(random_state=seed)
        _quiet(clf.forget, digits.X_train[:5], digits.y_train[:5])
        return clf.estimator_.coefs_

    same, again, other = forgotten(1), forgotten(1), forgotten(2)
    assert all(np.array_equal(a, b) for a, b in zip(same, again))
    assert not all(np.array_equal(a, b) for a, b in zip(same, other))


def test_an_estimator_without_weights_to_perturb_is_refused_before_anything_changes(digits):
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), method="noisy_finetune")
    with pytest.raises(ValueError, match="noisy_finetune.*SGDClassifier is not one"):
        clf.fit(digits.X_train, digits.y_train)

    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    clf.fit(digits.X_train, digits.y_train).set_params(method="noisy_finetune")
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match="SGDClassifier is not one"):
        clf.forget(digits.X_train[:2], digits.y_train[:2])
    assert pickle.dumps(clf) == before


def test_calibrated_stopping_is_refused_for_a_method_without_steps_to_stop(digits):
    from sk_unlearn import OutOfFoldReference

    clf = _fitted(digits)
    before = pickle.dumps(clf)
    reference = OutOfFoldReference(digits.X_test)
    with pytest.raises(ValueError, match="only method='relabel' does.*Nothing was changed"):
        clf.forget(digits.X_train[:2], digits.y_train[:2], reference=reference)
    assert pickle.dumps(clf) == before
    assert not reference.is_built_for((clf._ledger.fit_id, clf.n_retrains_))


def test_forgetting_every_row_is_refused_and_changes_nothing(digits):
    clf = _fitted(digits)
    clf = _quiet(clf.fit, digits.X_train[:30], digits.y_train[:30])
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match="would leave none; nothing was changed"):
        clf.forget(digits.X_train[:30], digits.y_train[:30])
    assert pickle.dumps(clf) == before


@pytest.mark.parametrize(
    ("params", "name"),
    [({"noise_scale": -0.1}, "noise_scale"), ({"finetune_epochs": 0}, "finetune_epochs")],
)
def test_bad_settings_are_refused(digits, params, name):
    clf = UnlearnableClassifier(_mlp(), method="noisy_finetune", **params)
    with pytest.raises(InvalidParameterError, match=name):
        clf.fit(digits.X_train, digits.y_train)


def test_rows_learned_with_weights_are_fine_tuned_with_them(digits, monkeypatch):
    weights = np.linspace(0.5, 2.0, len(digits.y_train))
    clf = UnlearnableClassifier(_mlp(), method="noisy_finetune", random_state=0)
    _quiet(clf.fit, digits.X_train, digits.y_train, sample_weight=weights)
    seen = []
    original = MLPAdapter.train_one_epoch

    def recording(self, X, y, classes, sample_weight=None):
        seen.append((np.asarray(X).copy(), sample_weight.copy()))
        return original(self, X, y, classes, sample_weight)

    monkeypatch.setattr(MLPAdapter, "train_one_epoch", recording)
    _quiet(clf.forget, digits.X_train[:3], digits.y_train[:3])
    by_row = {row.tobytes(): w for row, w in zip(digits.X_train, weights)}
    for X, w in seen:
        assert np.array_equal(w, [by_row[row.tobytes()] for row in X])


def test_the_sampler_epoch_is_every_kept_row_once_in_blocks():
    store = RowStore(3, np.float64, np.int64)
    X = np.arange(30.0).reshape(10, 3)
    store.add(X, np.arange(10) % 2)
    sampler = store.replay_sampler(exclude=[2, 7])
    assert len(sampler) == 8
    blocks = list(sampler.epoch(np.random.default_rng(0), block=3))
    assert [len(b[0]) for b in blocks] == [3, 3, 2]
    rows = np.vstack([b[0] for b in blocks])
    labels = np.concatenate([b[1] for b in blocks])
    assert sorted(rows[:, 0].tolist()) == [0.0, 3.0, 9.0, 12.0, 15.0, 18.0, 24.0, 27.0]
    assert np.array_equal(labels, (rows[:, 0] // 3).astype(int) % 2)
    assert all(b[2] is None for b in blocks)
    other = np.vstack([b[0] for b in sampler.epoch(np.random.default_rng(1), block=3)])
    assert not np.array_equal(rows, other)
    assert list(store.replay_sampler(exclude=range(10)).epoch(np.random.default_rng(0))) == []


# ------------------------------------------------------------------- skorch
def _net():
    if skorch is None:
        pytest.skip("skorch is not installed")
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return skorch.NeuralNetClassifier(
        module,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.1,
        max_epochs=5,
        batch_size=64,
        train_split=None,
        verbose=0,
    )


def test_a_skorch_net_is_perturbed_relative_to_each_parameter_and_fine_tuned(digits):
    X = digits.X_train.astype(np.float32) / 16
    clf = UnlearnableClassifier(_net(), method="noisy_finetune", random_state=0).fit(
        X, digits.y_train
    )
    net = clf.estimator_
    before = [p.detach().clone() for _, p in net.get_all_learnable_params()]
    clf._adapter().perturb_weights(np.random.default_rng(0), 0.5)
    after = [p.detach().clone() for _, p in net.get_all_learnable_params()]
    for old, new in zip(before, after):
        assert float((new - old).std() / old.std()) == pytest.approx(0.5, rel=0.3)
        assert new.dtype == old.dtype

    accuracy = clf.score(digits.X_test.astype(np.float32) / 16, digits.y_test)
    epochs = len(net.history)
    clf.forget(X[:10], digits.y_train[:10])
    assert len(net.history) == epochs + 2  # two epochs of partial_fit
    assert clf.n_retained_ == len(X) - 10
    assert clf.deletion_log_[-1].method == "noisy_finetune"
    assert clf.score(digits.X_test.astype(np.float32) / 16, digits.y_test) >= accuracy - 0.05


def test_a_skorch_net_predicts_in_eval_mode_after_fine_tuning_inside_the_call(digits, monkeypatch):
    """skorch's partial_fit leaves the modules in train mode; the call's end-of-call check
    must still run the forward pass in eval mode (dropout off, no batch-norm statistics
    updated on the forgotten rows), and the modules' flags are put back afterwards."""
    from sk_unlearn._skorch import SkorchAdapter

    X = digits.X_train.astype(np.float32) / 16
    clf = UnlearnableClassifier(_net(), method="noisy_finetune", random_state=0).fit(
        X, digits.y_train
    )
    modes = []
    original = SkorchAdapter.predict_proba

    def recording(self, rows):
        modes.append(self.estimator.module_.training)
        return original(self, rows)

    monkeypatch.setattr(SkorchAdapter, "predict_proba", recording)
    clf.estimator_.module_.train()
    clf.forget(X[:5], digits.y_train[:5])
    assert modes and not any(modes)
    assert clf.estimator_.module_.training  # as it was before the call
