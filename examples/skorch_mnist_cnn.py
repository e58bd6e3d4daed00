"""
A PyTorch CNN on MNIST, through skorch
======================================

The paper's 2-conv network (:class:`sk_unlearn.nets.MnistCNN`) wrapped in a
skorch ``NeuralNetClassifier`` and trained with AdaDelta, as in Li & Ghosh.
``forget`` serves each deletion request with one SGD step (``unlearning_rate``
1e-2) on the relabeled copies of the row plus 32 replayed rows of its class;
the net's own AdaDelta state is left alone.

The forgotten rows are then certified: :meth:`~sk_unlearn.UnlearnableClassifier.certify`
compares the net's predicted probabilities on them with those of the naive
model, the same recipe retrained without them, and the original model is
measured the same way for context. On the small subset the net is
under-trained, so the 32 replayed rows in each step also teach it: accuracy
can rise while the rows are forgotten. Read the numbers of the ``--full`` run.

By default this runs on the CPU on a small subset (600 training rows, 2
epochs: a few seconds; the accuracy is that of a tiny training set). With
``--full`` it trains on all 60,000 rows for 5 epochs, on the GPU when one is
present::

    python examples/skorch_mnist_cnn.py          # small, CPU
    python examples/skorch_mnist_cnn.py --full   # the paper's setting

MNIST is read from ``$SK_UNLEARN_MNIST``, else ``../shared/data/mnist.npz``
(run from the repository root), else scikit-learn's data home (fetched from
OpenML once); see :func:`sk_unlearn.datasets.load_mnist`.
"""

from __future__ import annotations

import argparse
import copy
import os
from pathlib import Path

import numpy as np
import torch
from skorch import NeuralNetClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.datasets import MNIST_ENV_VAR, load_mnist
from sk_unlearn.nets import MnistCNN

SHARED_MNIST = Path("../shared/data/mnist.npz")  # relative to the repository root


def load_data(full: bool):  # type: ignore[no-untyped-def]
    """MNIST from $SK_UNLEARN_MNIST, the shared copy, or the data home, in that order."""
    path = None if os.environ.get(MNIST_ENV_VAR) or not SHARED_MNIST.is_file() else SHARED_MNIST
    n_train, n_test = (None, None) if full else (600, 1000)
    return load_mnist(path, n_train=n_train, n_test=n_test)


def main(full: bool = False) -> dict[str, object]:
    torch.manual_seed(0)
    device = "cuda" if full and torch.cuda.is_available() else "cpu"
    data = load_data(full)
    X, y = data.X_train, data.y_train
    net = NeuralNetClassifier(
        MnistCNN,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adadelta,
        lr=1.0,
        max_epochs=5 if full else 2,
        batch_size=64,
        train_split=None,
        device=device,
        verbose=0,
    )
    clf = UnlearnableClassifier(
        net, unlearning_optimizer="sgd", unlearning_rate=1e-2, random_state=0
    ).fit(X, y)
    test_acc_before = clf.score(data.X_test, data.y_test)
    print(f"trained on {len(X)} rows ({device}): test accuracy {test_acc_before:.3f}")

    rows = np.random.default_rng(0).choice(len(y), size=20, replace=False)
    original = copy.deepcopy(clf)
    clf.forget(X[rows], y[rows])  # 20 requests, one SGD step each
    test_acc = clf.score(data.X_test, data.y_test)
    print(f"forgot {clf.n_forgotten_} rows: test accuracy {test_acc:.3f}")

    # Certify against the naive model: the same recipe retrained without the
    # rows. Put the number in context: how far was the original model from it?
    naive = copy.deepcopy(clf).retrain()
    after = clf.certify(X[rows], reference=naive)
    before = original.certify(X[rows], reference=naive)
    print(f"mean divergence from the naive model on them: {before.mean:.4f} before, then")
    print(after)
    print(
        f"forgotten rows' accuracy: original {original.score(X[rows], y[rows]):.2f}, "
        f"after forget {clf.score(X[rows], y[rows]):.2f}, naive {naive.score(X[rows], y[rows]):.2f}"
    )
    return {
        "device": device,
        "source": data.source,
        "n_train": len(X),
        "test_acc": test_acc,
        "divergence_before": before.mean,
        "certificate": after,
        "n_forgotten": clf.n_forgotten_,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Forget rows from a skorch CNN on MNIST.")
    parser.add_argument("--full", action="store_true", help="all 60,000 rows, 5 epochs, GPU")
    main(full=parser.parse_args().full)
