"""
A PyTorch CNN on images, through skorch
=======================================

The paper's 2-conv network (:class:`sk_unlearn.nets.MnistCNN`) in a skorch
``NeuralNetClassifier``, trained with AdaDelta as in Li & Ghosh, on images of
shape ``(N, 1, side, side)``: the same arrays a skorch user passes the bare
net. :class:`~sk_unlearn.UnlearnableClassifier` takes them unchanged, through
``fit``, ``forget``, ``certify`` and ``retrain``.

Eight training images carry a wrong label, and the net trains long enough to
memorize them. Each is then forgotten by one deletion request; a calibrated
certificate (:class:`~sk_unlearn.OutOfFoldReference`) says, image by image,
whether the net now treats it as nets that never saw it do, and
``retrain()`` serves the requests exactly.

By default this runs on scikit-learn's embedded digits, as 8x8 images
(``MnistCNN(side=8)``), offline and on the CPU in about 20 seconds. With
``--mnist`` it uses the first 1,000 MNIST training images at 28x28 (the
paper's layer sizes; a few minutes on a CPU, on the GPU when one is present),
read from ``$SK_UNLEARN_MNIST`` or ``../shared/data/mnist.npz``::

    python examples/skorch_mnist_cnn.py           # digits, 8x8
    SK_UNLEARN_MNIST=/path/to/mnist.npz python examples/skorch_mnist_cnn.py --mnist

The paper's full-scale setting (60,000 rows, 600 requests, Table 1) is
``benchmarks/reproduce_paper.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch import NeuralNetClassifier

from sk_unlearn import OutOfFoldReference, UnlearnableClassifier
from sk_unlearn.datasets import MNIST_ENV_VAR, load_digits_split, load_mnist
from sk_unlearn.nets import MnistCNN

N_MISLABELED = 8
SHARED_MNIST = Path("../shared/data/mnist.npz")  # relative to the repository root


def load_images(mnist: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Train and test images ``(N, 1, side, side)``, labels, and where they came from."""
    if mnist:
        path = None if os.environ.get(MNIST_ENV_VAR) or not SHARED_MNIST.is_file() else SHARED_MNIST
        try:
            data = load_mnist(path, download_if_missing=False, n_train=1000, n_test=2000)
        except FileNotFoundError:
            sys.exit(
                f"--mnist needs mnist.npz: set {MNIST_ENV_VAR}=/path/to/mnist.npz "
                "(or run without --mnist for the embedded digits)"
            )
        source = str(data.source)
    else:
        data = load_digits_split(random_state=0)
        source = "scikit-learn's digits"
    side = int(round(np.sqrt(data.X_train.shape[1])))
    X = data.X_train.reshape(-1, 1, side, side).astype(np.float32)
    X_test = data.X_test.reshape(-1, 1, side, side).astype(np.float32)
    return X, np.asarray(data.y_train), X_test, np.asarray(data.y_test), source


def summary(
    clf: UnlearnableClassifier, X: np.ndarray, y: np.ndarray, ref: OutOfFoldReference
) -> dict[str, int]:
    """How many images still get their wrong label, and the certificate's verdicts."""
    verdicts = list(clf.certify(X, y, reference=ref).verdicts)
    return {
        "repeats": int(np.sum(clf.predict(X) == y)),
        **{v: verdicts.count(v) for v in ("forgotten", "remembered", "over-forgotten")},
    }


def main(mnist: bool = False) -> dict[str, object]:
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    X, y, X_test, y_test, source = load_images(mnist)
    y = y.copy()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(y), N_MISLABELED, replace=False)
    true = y[rows].copy()
    y[rows] = (true + rng.integers(1, 10, size=N_MISLABELED)) % 10  # a wrong label each

    net = NeuralNetClassifier(
        MnistCNN,
        module__side=X.shape[-1],
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adadelta,
        lr=1.0,
        max_epochs=30 if mnist else 60,  # long enough to memorize the wrong labels
        batch_size=64,
        train_split=None,
        device=device,
        verbose=0,
    )
    start = time.perf_counter()
    clf = UnlearnableClassifier(net, random_state=0).fit(X, y)  # images, as skorch takes them
    fit_seconds = time.perf_counter() - start
    test_before = clf.score(X_test, y_test)
    X_del, y_del = X[rows], y[rows]
    predicted_before = clf.predict(X_del)

    # Nets that never saw a row: trained once on 2 folds x 2 repeats of the
    # training images (5 x 2 by default), compared row by row.
    ref = OutOfFoldReference(X_test, n_folds=2, random_state=0)
    before = summary(clf, X_del, y_del, ref)

    # One request per image. For rows a net has memorized, the skorch defaults
    # (one step of a fresh SGD at 1e-2) are too gentle: take up to 10 steps at
    # 0.1, each stopped once the certificate's reference says the row sits at
    # its never-seen level, with 128 replayed images of its class per step.
    clf.set_params(n_steps=10, n_replay=128, unlearning_rate=0.1)
    start = time.perf_counter()
    for i in range(N_MISLABELED):
        clf.forget(X_del[i : i + 1], y_del[i : i + 1], reference=ref)
    per_request = (time.perf_counter() - start) / N_MISLABELED
    predicted_after = clf.predict(X_del)
    test_after = clf.score(X_test, y_test)
    after = summary(clf, X_del, y_del, ref)

    start = time.perf_counter()
    clf.retrain()  # exact: a fresh fit on the retained images
    retrain_seconds = time.perf_counter() - start
    predicted_retrained = clf.predict(X_del)
    retrained = summary(clf, X_del, y_del, ref)

    n = N_MISLABELED
    print(
        f"MnistCNN on {len(y)} images of shape {X.shape[1:]} ({source}, {device}), {n} of them "
        f"with a wrong label: it repeats that label on {before['repeats']} of the {n}; "
        f"test accuracy {test_before:.3f} (fit in {fit_seconds:.1f} s)."
    )
    print(
        "\ngiven: the wrong label it trained with; net, forget, retrain: what it predicts "
        "before, after forget, after retrain()"
    )
    print(f"{'row':>5} {'given':>6} {'true':>5} {'net':>4} {'forget':>7} {'retrain':>8}")
    for j, i in enumerate(rows):
        print(
            f"{i:>5} {y_del[j]:>6} {true[j]:>5} {predicted_before[j]:>4} "
            f"{predicted_after[j]:>7} {predicted_retrained[j]:>8}"
        )
    print(f"\n{'':34}{'repeats the wrong label':>24}   calibrated certificate")
    for name, result, cost in (
        ("before", before, f"(reference built in {ref.build_seconds_:.1f} s)"),
        ("after forget", after, f"({per_request * 1e3:.0f} ms per request)"),
        ("after retrain()", retrained, f"({retrain_seconds:.1f} s)"),
    ):
        verdicts = ", ".join(
            f"{result[v]} {v}" for v in ("forgotten", "remembered", "over-forgotten") if result[v]
        )
        print(f"{name:>16} {cost:<34}{result['repeats']:>6} of {n}   {verdicts}")
    print(
        f"\nWhat this shows: the net took images as skorch does. After forget it repeats "
        f"{after['repeats']} of the {n} wrong labels, down from {before['repeats']} (test accuracy "
        f"{test_before:.3f} -> {test_after:.3f}), at {per_request * 1e3:.0f} ms per request, "
        f"{retrain_seconds / per_request:.0f}x cheaper than a retrain here. A changed "
        "prediction is not forgetting: the certificate compares each image with nets that "
        f"never saw it and passes {after['forgotten']} of {n} after relabeling, which is "
        f"approximate; after retrain() it passes {retrained['forgotten']} of {n} (a flag on a "
        "retrained row is the certificate's own false-positive rate, "
        f"{ref.false_positive_rate_:.1%} on unseen rows here). Certify before you claim a row "
        "is forgotten; retrain when it fails."
    )
    return {
        "device": device,
        "source": source,
        "image_shape": X.shape[1:],
        "n_train": len(y),
        "before": before,
        "after": after,
        "retrained": retrained,
        "test_acc_before": test_before,
        "test_acc_after": test_after,
        "ms_per_request": per_request * 1e3,
        "retrain_seconds": retrain_seconds,
        "n_forgotten": clf.n_forgotten_,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Forget memorized images from a skorch CNN.")
    parser.add_argument(
        "--mnist", action="store_true", help=f"1,000 MNIST images (from ${MNIST_ENV_VAR})"
    )
    main(mnist=parser.parse_args().mnist)
