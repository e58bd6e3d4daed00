"""
A stream of deletion requests, certified as it goes
===================================================

Deletion requests arrive one at a time and each is served at once by
``forget``. Every 20 requests the model is certified on every row forgotten
so far: :meth:`~sk_unlearn.UnlearnableClassifier.certify` compares its
predicted probabilities with those of the naive model (retrained without
those rows). With ``max_divergence`` set, a certificate over it retrains the
model from scratch on the spot, which serves every removal so far exactly,
and the divergence starts again from zero.

The plot shows the certificate's mean divergence over the stream, the
threshold, the retrainings, and the test accuracy. It opens in a window where
there is a display and is always saved to ``deletion_stream.png`` in the
current directory (``--output`` to choose another file).

Runs on scikit-learn's embedded 8x8 digits (nothing to download):
``python examples/deletion_stream.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.datasets import load_digits_split

N_REQUESTS = 200
CERTIFY_EVERY = 20
MAX_DIVERGENCE = 0.015
#: pyplot backends that draw to files only (a headless machine gets Agg).
FILE_ONLY_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def main(show: bool = True, output: str | Path | None = "deletion_stream.png") -> dict[str, object]:
    data = load_digits_split(random_state=0)
    X, y = data.X_train, data.y_train
    clf = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        max_divergence=MAX_DIVERGENCE,
        random_state=0,
    ).fit(X, y)

    stream = np.random.default_rng(0).choice(len(y), size=N_REQUESTS, replace=False)
    checkpoints, means, maxima, accuracy, retrained_at = [], [], [], [], []
    for served, i in enumerate(stream, start=1):
        clf.forget(X[i : i + 1], y[i : i + 1])  # one request, as it arrives
        if served % CERTIFY_EVERY == 0:
            certificate = clf.certify(X[stream[:served]])
            checkpoints.append(served)
            means.append(certificate.mean)
            maxima.append(certificate.max)
            accuracy.append(clf.score(data.X_test, data.y_test))
            if certificate.retrained:
                retrained_at.append(served)
            print(
                f"{served:4d} requests: mean divergence {certificate.mean:.4f}, "
                f"max {certificate.max:.3f}" + ("  -> retrained" if certificate.retrained else "")
            )
    print(
        f"\nWhat this shows: each relabeling step moves the model a little away from the "
        f"naive model (retrained without the rows), and the certificate measures how far: "
        f"the mean divergence reached {max(means):.4f}. Each time it crossed "
        f"max_divergence={MAX_DIVERGENCE}, the model was retrained on the spot, which serves "
        f"every removal so far exactly: {clf.n_retrains_} retrainings over {N_REQUESTS} "
        f"requests, test accuracy {min(accuracy):.3f} to {max(accuracy):.3f} throughout. "
        "The threshold trades retraining cost against how far the model may drift."
    )

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 5))
    top.plot(checkpoints, means, "o-", label="mean divergence")
    top.axhline(MAX_DIVERGENCE, color="k", linestyle=":", label="max_divergence")
    for served in retrained_at:
        top.axvline(served, color="tab:red", alpha=0.4)
    top.set_ylabel("divergence from naive")
    top.set_title("Certificates over a stream of deletion requests (red: retrained)")
    top.legend(loc="upper left", fontsize="small")
    bottom.plot(checkpoints, accuracy, "o-", color="tab:green")
    bottom.set_ylabel("test accuracy")
    bottom.set_xlabel("deletion requests served")
    fig.tight_layout()
    if output is not None:
        fig.savefig(output, dpi=100)
        print(f"plot saved to {Path(output).resolve()}")
    if show and plt.get_backend().lower() not in FILE_ONLY_BACKENDS:
        plt.show()
    return {
        "checkpoints": checkpoints,
        "means": means,
        "maxima": maxima,
        "accuracy": accuracy,
        "retrained_at": retrained_at,
        "n_retrains": clf.n_retrains_,
        "figure": fig,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A certified stream of deletion requests.")
    parser.add_argument("--output", default="deletion_stream.png", help="where to save the plot")
    main(output=parser.parse_args().output)
