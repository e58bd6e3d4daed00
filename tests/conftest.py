from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from sk_unlearn.datasets import load_digits_split

MNIST_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"
_KEY_DIR = tempfile.mkdtemp(prefix="sk-unlearn-test-key-")


def pytest_configure(config):
    """One ledger key for the whole run (and its subprocesses), never the user's own."""
    os.environ.pop("SK_UNLEARN_LEDGER_KEY", None)
    os.environ["SK_UNLEARN_LEDGER_KEY_FILE"] = os.path.join(_KEY_DIR, "ledger.key")


def pytest_unconfigure(config):
    shutil.rmtree(_KEY_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], split into train and test."""
    return load_digits_split(random_state=0)


@pytest.fixture
def recorded_batches(monkeypatch):
    """Every mini-batch handed to an adapter's forget_step, in order.

    Each entry is ``(X, y, rate, sample_weight)``.
    """
    from sk_unlearn import _backends

    batches: list[tuple[np.ndarray, np.ndarray, float | None, np.ndarray | None]] = []
    # Only the classes that define the step: a subclass that inherits it would
    # otherwise record every batch twice.
    for adapter in [a for a in _backends.adapters() if "forget_step" in vars(a)]:
        original = adapter.forget_step

        def spy(self, X, y, rate, sample_weight=None, _original=original):
            weights = None if sample_weight is None else sample_weight.copy()
            batches.append((X.copy(), y.copy(), rate, weights))
            if sample_weight is None:  # adapters written before sample_weight existed
                return _original(self, X, y, rate)
            return _original(self, X, y, rate, sample_weight=sample_weight)

        monkeypatch.setattr(adapter, "forget_step", spy)
    return batches


#: scikit-learn's estimator checks that fit with ``sample_weight``.
SAMPLE_WEIGHT_CHECKS = (
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_classifiers_one_label_sample_weights",
    "check_sample_weight_equivalence_on_dense_data",
)


def weights_refused(reason: str) -> dict[str, str]:
    """Expected failures of a configuration that refuses ``sample_weight`` (a TypeError)."""
    return {check: f"refuses sample_weight: {reason}" for check in SAMPLE_WEIGHT_CHECKS}


def state_bytes(clf) -> bytes:
    """Everything the estimator keeps, as bytes: equal bytes, equal state."""
    return pickle.dumps(clf)


def fail_at_stage(monkeypatch, stage: str, error: type[BaseException] = KeyboardInterrupt) -> None:
    """Make every transaction raise ``error`` at ``stage`` (until monkeypatch undoes it)."""
    from sk_unlearn._transaction import Transaction

    original = Transaction.stage

    def failing(self, name):
        if name == stage:
            raise error(f"injected at {stage}")
        original(self, name)

    monkeypatch.setattr(Transaction, "stage", failing)
