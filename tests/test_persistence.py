"""Round trips keep behaviour, rows and ledger; a net saved on CUDA loads on a CPU machine."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from skorch import NeuralNetClassifier  # noqa: E402
from skorch.exceptions import DeviceWarning  # noqa: E402

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]


def make_net(device="cpu"):
    module = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    return NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        optimizer__momentum=0.9,
        lr=0.1,
        max_epochs=3,
        train_split=None,
        verbose=0,
        device=device,
    )


@pytest.mark.parametrize("dump", ["pickle", "joblib", "save"])
def test_round_trip_keeps_the_ledger_and_retrain_log(dump, digits, tmp_path):
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        retrain_after=2,
        random_state=0,
        ledger_path=tmp_path / "ledger.jsonl",
    ).fit(digits.X_train, digits.y_train)
    clf.forget(digits.X_train[:3], digits.y_train[:3]).retrain()
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(clf))
    elif dump == "joblib":
        joblib.dump(clf, tmp_path / "m.joblib")
        restored = joblib.load(tmp_path / "m.joblib")
    else:
        clf.save(tmp_path / "m.pkl")
        restored = UnlearnableClassifier.load(tmp_path / "m.pkl")
    assert restored.deletion_log_ == clf.deletion_log_
    assert restored.retrain_log_ == clf.retrain_log_
    assert restored.n_retained_ == clf.n_retained_
    np.testing.assert_array_equal(
        restored.predict_proba(digits.X_test), clf.predict_proba(digits.X_test)
    )
    assert restored.verify_ledger().ok
    restored.forget(digits.X_train[3:5], digits.y_train[3:5])  # the copy carries on writing
    assert restored.verify_ledger().ok


def test_net_saved_with_device_cuda_loads_and_forgets_on_cpu(digits, monkeypatch):
    """What a CPU-only machine sees: a pickle whose net says device='cuda'.

    The weights here were on the CPU (there is no GPU to put them on), so this
    checks skorch's fallback path through our pickle, not CUDA storage: the
    net's device becomes 'cpu' and forget, which moves batches to net.device,
    works. test_cuda_pickle_loads_in_a_cpu_only_process checks the real thing.
    """
    torch.manual_seed(0)
    clf = UnlearnableClassifier(make_net(), n_replay=4, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    expected = clf.predict_proba(digits.X_test)
    clf.estimator_.device = "cuda"
    clf.set_params(estimator__device="cuda")
    blob = pickle.dumps(clf)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="cuda"):
        loaded = pickle.loads(blob)
    assert torch.device(loaded.estimator_.device).type == "cpu"
    np.testing.assert_allclose(loaded.predict_proba(digits.X_test), expected, rtol=1e-6)
    loaded.forget(digits.X_train[:3], digits.y_train[:3])
    assert loaded.n_forgotten_ == 3
    # retrain() builds a new net from the parameters, which still say cuda.
    loaded.set_params(estimator__device="cpu")
    assert loaded.retrain().n_retrains_ == 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_pickle_loads_in_a_cpu_only_process(digits, tmp_path):
    torch.manual_seed(0)
    clf = UnlearnableClassifier(make_net(device="cuda"), n_replay=4, random_state=0)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:2], digits.y_train[:2])
    assert next(clf.estimator_.module_.parameters()).is_cuda
    clf.save(tmp_path / "model.pkl")
    np.save(tmp_path / "expected.npy", clf.predict_proba(digits.X_test))
    np.savez(tmp_path / "rows.npz", X=digits.X_test, Xf=digits.X_train[2:4], yf=digits.y_train[2:4])
    script = textwrap.dedent(
        """
        import warnings, numpy as np, torch
        assert not torch.cuda.is_available()
        from sk_unlearn import UnlearnableClassifier
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = UnlearnableClassifier.load("model.pkl")
        assert torch.device(clf.estimator_.device).type == "cpu"
        assert not next(clf.estimator_.module_.parameters()).is_cuda
        d = np.load("rows.npz")
        np.testing.assert_allclose(clf.predict_proba(d["X"]), np.load("expected.npy"), atol=1e-5)
        clf.forget(d["Xf"], d["yf"])
        assert clf.n_forgotten_ == 4
        print("ok")
        """
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_pickle_from_before_the_ledger_still_loads(digits):
    clf = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:2], digits.y_train[:2])
    records = clf.deletion_log_
    # An old pickle's state was the instance dict, with the log as a plain list.
    state = {k: v for k, v in vars(clf).items() if k not in ("_ledger", "_lock")}
    state["deletion_log_"] = records  # how issue-2/3 pickles kept the log
    old = UnlearnableClassifier.__new__(UnlearnableClassifier)
    old.__setstate__(state)
    assert old.deletion_log_ == records and old.retrain_log_ == []
    old.forget(digits.X_train[2:3], digits.y_train[2:3])
    assert [r.request for r in old.deletion_log_] == [0, 1, 2]
