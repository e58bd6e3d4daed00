"""Does the batch SGD step (``unlearning_optimizer="sgd"``) forget as well as ``partial_fit``?

Issue 19 asks for one plain SGD step on the whole relabel batch for the SGD
family, and for it to become the default only if it forgets at least as well
at equal accuracy. This benchmark answers with the field's yardstick:
:func:`sk_unlearn.evaluation.evaluate_unlearning` trains ``--n-models``
models retrained without the forget rows and runs as many unlearnings per
setting from one original ``SGDClassifier(loss="log_loss")``; every setting
gets the NeurIPS 2023 challenge's forgetting quality F, its final score,
U-LiRA's AUC and the accuracies. The same settings are compared with
``unlearning_optimizer=None`` (``partial_fit``: one epoch of per-sample
updates) and ``"sgd"`` (the batch step), at the default rate and at 10x and
100x it (the batch step sums the rows' gradients, so equal rates mean equal
step sizes).

    python benchmarks/bench_linear_step.py [--data digits|PATH] [--n-train 5000]
        [--n-models 32] [--forget 0.02] [--n-jobs 2]

Writes ``benchmarks/results/linear_step.md`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from _common import REPO_ROOT, provenance, write_report
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.datasets import load_digits_split
from sk_unlearn.evaluation import evaluate_unlearning

MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "linear_step.md"


def _data(source: str, n_train: int) -> tuple[np.ndarray, ...]:
    if source == "digits":
        d = load_digits_split(random_state=0)
        return d.X_train / 16.0, d.y_train, d.X_test / 16.0, d.y_test, "digits (64 features)"
    path = Path(source)
    if not path.is_file():
        raise SystemExit(f"MNIST not found at {path}; pass --data PATH or --data digits.")
    with np.load(path) as f:
        X = f["x_train"][:n_train].reshape(-1, 784) / 255.0
        X_test = f["x_test"][:2000].reshape(-1, 784) / 255.0
        return X, f["y_train"][:n_train], X_test, f["y_test"][:2000], f"MNIST, {n_train} rows"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits")
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-models", type=int, default=32)
    parser.add_argument("--forget", type=float, default=0.02, help="share of rows forgotten")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    X, y, X_test, y_test, what = _data(args.data, args.n_train)
    rng = np.random.default_rng(args.seed)
    forget = rng.choice(len(y), size=max(1, int(args.forget * len(y))), replace=False)
    recipe = UnlearnableClassifier(SGDClassifier(loss="log_loss", max_iter=20, tol=None))
    default_rate = 1e-4  # SGDAdapter.auto_unlearning_rate under the "optimal" schedule
    methods = {}
    for optimizer, label in ((None, "partial_fit"), ("sgd", "batch step")):
        for factor in (1, 10, 100):
            methods[f"{label}, rate x{factor}"] = {
                "unlearning_optimizer": optimizer,
                "unlearning_rate": default_rate * factor,
            }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        evaluation = evaluate_unlearning(
            recipe,
            X,
            y,
            forget,
            X_test=X_test,
            y_test=y_test,
            methods=methods,
            baselines=("retrain", "none"),
            n_models=args.n_models,
            n_jobs=args.n_jobs,
            random_state=args.seed,
        )
    table = evaluation.table()
    print(table)
    lines = provenance(
        "The batch SGD step against partial_fit: forgetting quality",
        __file__,
        argv,
        args.seed,
        [
            f"Data: {what}; {len(forget)} forgotten rows; {args.n_models} models per group",
            "Estimator: SGDClassifier(loss='log_loss', max_iter=20, tol=None); defaults "
            "otherwise (relabel='soft', n_replay=32)",
        ],
    )
    write_report([*lines, "", table], args.out)


if __name__ == "__main__":
    main()
