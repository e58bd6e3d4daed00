"""Data loaders: digits embedded, MNIST from a path, the environment, a cache or a fetch."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import MNIST_PATH

from sk_unlearn import datasets


def _fake_npz(path, n_train=12, n_test=5):
    rng = np.random.RandomState(0)
    np.savez(
        path,
        x_train=rng.randint(0, 256, size=(n_train, 28, 28)).astype(np.uint8),
        y_train=(np.arange(n_train) % 10).astype(np.uint8),
        x_test=rng.randint(0, 256, size=(n_test, 28, 28)).astype(np.uint8),
        y_test=(np.arange(n_test) % 10).astype(np.uint8),
    )
    return path


def test_digits_split_is_scaled_and_stratified():
    data = datasets.load_digits_split(test_size=0.2, random_state=1)
    assert data.X_train.min() >= 0 and data.X_train.max() <= 1
    assert len(data.X_test) == 360
    assert np.bincount(data.y_test).min() >= 35


def test_mnist_from_a_user_path(tmp_path):
    data = datasets.load_mnist(_fake_npz(tmp_path / "m.npz"), n_train=10)
    assert data.X_train.shape == (10, 784) and data.X_train.dtype == np.float32
    assert 0 <= data.X_train.min() and data.X_train.max() <= 1
    assert data.X_test.shape == (5, 784)
    assert data.y_train.tolist() == list(range(10))


def test_mnist_from_the_environment_and_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.MNIST_ENV_VAR, str(_fake_npz(tmp_path / "env.npz")))
    assert datasets.load_mnist().X_train.shape == (12, 784)
    with pytest.raises(FileNotFoundError, match="No MNIST file"):
        datasets.load_mnist(tmp_path / "absent.npz")
    monkeypatch.setenv(datasets.MNIST_ENV_VAR, str(tmp_path / "gone.npz"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.load_mnist()


def test_mnist_is_fetched_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.MNIST_ENV_VAR, raising=False)
    calls = []

    def fake_fetch_openml(name, **kwargs):
        calls.append(name)
        n = 70000
        X = np.zeros((n, 784), dtype=np.uint8)
        X[:, 0] = np.arange(n) % 256
        y = np.array([str(i % 10) for i in range(n)], dtype=object)
        return X, y

    monkeypatch.setattr(datasets, "fetch_openml", fake_fetch_openml)
    with pytest.raises(FileNotFoundError, match="download_if_missing"):
        datasets.load_mnist(data_home=tmp_path, download_if_missing=False)
    data = datasets.load_mnist(data_home=tmp_path, n_test=3)
    assert calls == ["mnist_784"]
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (3, 784)
    assert data.y_test.tolist() == [0, 1, 2]  # rows 60000.. are the test set
    assert (tmp_path / "mnist.npz").is_file()
    datasets.load_mnist(data_home=tmp_path)
    assert calls == ["mnist_784"]  # second call read the cache


def test_a_file_without_the_mnist_arrays_is_rejected(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="lacks the MNIST arrays"):
        datasets.load_mnist(tmp_path / "other.npz")


def test_the_shared_mnist_copy_has_the_standard_split():
    if not MNIST_PATH.is_file():
        pytest.skip(f"MNIST is not at {MNIST_PATH}")
    data = datasets.load_mnist(MNIST_PATH)
    assert data.X_train.shape == (60000, 784) and data.X_test.shape == (10000, 784)
    assert np.bincount(data.y_train).tolist()[:3] == [5923, 6742, 5958]
