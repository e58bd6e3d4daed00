"""Data sets for examples, tests and benchmarks.

:func:`load_digits_split` needs nothing beyond scikit-learn (the digits ship
with it). :func:`load_mnist` reads the usual ``mnist.npz`` layout from a path
you give, from ``$SK_UNLEARN_MNIST``, or from a cached copy under
scikit-learn's data home, and otherwise fetches MNIST from OpenML once and
caches it there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import fetch_openml, get_data_home, load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

MNIST_ENV_VAR = "SK_UNLEARN_MNIST"
_MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_digits_split(*, test_size: float = 0.25, random_state: int = 0) -> Bunch:
    """scikit-learn's 8x8 digits, scaled to [0, 1] and split stratified.

    Parameters
    ----------
    test_size : float, default=0.25
        Share of rows held out for testing.
    random_state : int, default=0
        Seed of the split.

    Returns
    -------
    data : Bunch
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (float64 features in
        [0, 1], integer labels 0..9).

    Examples
    --------
    >>> from sk_unlearn.datasets import load_digits_split
    >>> data = load_digits_split()
    >>> data.X_train.shape, data.X_test.shape
    ((1347, 64), (450, 64))
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=test_size, random_state=random_state, stratify=y
    )
    return Bunch(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)


def _default_mnist_path(data_home: str | os.PathLike[str] | None) -> Path:
    return Path(get_data_home(data_home)) / "mnist.npz"


def _fetch_mnist(cache: Path) -> None:
    """Fetch MNIST from OpenML and save it to ``cache`` in the npz layout."""
    X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
    images = np.asarray(X, dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.asarray(y).astype(np.uint8)
    # OpenML's mnist_784 lists the 60,000 training images first, then the test set.
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        x_train=images[:60000],
        y_train=labels[:60000],
        x_test=images[60000:],
        y_test=labels[60000:],
    )
    tmp.replace(cache)


def load_mnist(
    path: str | os.PathLike[str] | None = None,
    *,
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
    n_train: int | None = None,
    n_test: int | None = None,
) -> Bunch:
    """MNIST as flat float32 rows in [0, 1].

    Where the file comes from, first match wins: ``path``; the environment
    variable ``SK_UNLEARN_MNIST``; ``mnist.npz`` under scikit-learn's data
    home; else, if ``download_if_missing``, a fetch of ``mnist_784`` from
    OpenML, cached to the data home.

    Parameters
    ----------
    path : path-like, default=None
        An ``.npz`` with ``x_train`` (60000, 28, 28), ``y_train``, ``x_test``
        and ``y_test``, as in the common ``mnist.npz``.
    data_home : path-like, default=None
        scikit-learn data home for the cached copy (see
        :func:`sklearn.datasets.get_data_home`).
    download_if_missing : bool, default=True
        Fetch from OpenML when no local copy is found.
    n_train, n_test : int, default=None
        Keep only the first ``n_train`` training and ``n_test`` test rows.

    Returns
    -------
    data : Bunch
        ``X_train`` (n_train, 784), ``y_train``, ``X_test``, ``y_test``,
        ``source`` (the file read).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist, or no copy is found and
        ``download_if_missing`` is false.

    Examples
    --------
    >>> from sk_unlearn.datasets import load_mnist
    >>> data = load_mnist("../shared/data/mnist.npz", n_train=100)  # doctest: +SKIP
    >>> data.X_train.shape  # doctest: +SKIP
    (100, 784)
    """
    if path is not None:
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(f"No MNIST file at {source}.")
    elif os.environ.get(MNIST_ENV_VAR):
        source = Path(os.environ[MNIST_ENV_VAR])
        if not source.is_file():
            raise FileNotFoundError(f"${MNIST_ENV_VAR} points to {source}, which does not exist.")
    else:
        source = _default_mnist_path(data_home)
        if not source.is_file():
            if not download_if_missing:
                raise FileNotFoundError(
                    f"No MNIST copy at {source}; pass a path, set ${MNIST_ENV_VAR}, "
                    "or allow download_if_missing."
                )
            _fetch_mnist(source)
    return _read_npz(source, n_train, n_test)


def _read_npz(source: Path, n_train: int | None, n_test: int | None) -> Bunch:
    with np.load(source) as npz:
        missing = [k for k in _MNIST_KEYS if k not in npz.files]
        if missing:
            raise ValueError(f"{source} lacks the MNIST arrays {missing}.")
        arrays: dict[str, Any] = {k: npz[k] for k in _MNIST_KEYS}

    def flat(images: np.ndarray, n: int | None) -> np.ndarray:
        images = images[:n]
        return images.reshape(images.shape[0], -1).astype(np.float32) / 255.0

    return Bunch(
        X_train=flat(arrays["x_train"], n_train),
        y_train=arrays["y_train"][:n_train].astype(np.int64),
        X_test=flat(arrays["x_test"], n_test),
        y_test=arrays["y_test"][:n_test].astype(np.int64),
        source=str(source),
    )
