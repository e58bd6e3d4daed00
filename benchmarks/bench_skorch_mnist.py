"""Benchmark: ``UnlearnableClassifier(NeuralNetClassifier(MnistCNN))`` on MNIST.

The paper's 2-conv network (:class:`sk_unlearn.nets.MnistCNN`) through skorch,
trained with AdaDelta (lr=1.0) as in the paper. Measured in one run:

(a) the cost of one deletion request served by ``forget`` (one row per call)
    against a raw torch optimizer step on the same kind of mini-batch (the
    relabeled copies plus the replayed rows, built outside the timer) taken on
    a deep copy of the fitted net: move the batch to the device, zero the
    gradients, forward, cross-entropy, backward, step, with the module in eval
    mode and the learning rate set to the unlearning rate, exactly what the
    adapter does. Raw and wrapper calls alternate, the order flipping every
    request; on CUDA each is followed by ``torch.cuda.synchronize()``. For
    reference, skorch's own ``partial_fit`` (``max_epochs=1``,
    ``train_split=None``) on the same batch is timed too. Target: forget/raw
    <= 1.3x.
(b) ``forget`` per request against ``retrain()`` (the naive baseline: the
    same recipe from scratch on the retained rows). Target: >= 1000x.
(c) test and forget-set accuracy of the original model, of relabeling and of
    naive retraining after the requests.

CUDA is used when available (full MNIST by default); on the CPU the default is
a subset (``--n-train 5000``, 1 epoch), which the report states.

Usage::

    python benchmarks/bench_skorch_mnist.py           # CUDA: 60,000 rows; CPU: a subset
    python benchmarks/bench_skorch_mnist.py --quick   # smoke run
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import (
    REPO_ROOT,
    RequestBatches,
    ms_stats,
    paper_net,
    provenance,
    verdict,
    write_report,
)
from torch import nn

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._skorch import _optimizer_factory
from sk_unlearn.datasets import load_mnist

DEFAULT_DATA = "../shared/data/mnist.npz"  # relative to the repository root
RATIO_TARGET = 1.3
SPEEDUP_TARGET = 1000.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(REPO_ROOT / DEFAULT_DATA), help="mnist.npz to read")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--n-train", type=int, default=None, help="training rows (CUDA: all; CPU: 5000)")
    p.add_argument("--n-test", type=int, default=None, help="test rows (default: all 10000)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (CUDA: 5; CPU: 1)")
    p.add_argument("--n-requests", type=int, default=100, help="sequential deletion requests")
    p.add_argument("--n-replay", type=int, default=32)
    p.add_argument("--unlearning-rate", type=float, default=1e-2)
    p.add_argument(
        "--unlearning-optimizer",
        default="sgd",
        help="'none' for the net's own AdaDelta, else a torch optimizer name (default: sgd)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument(
        "--out", default=None, help="Markdown report (default: results/skorch_mnist_<device>.md)"
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 1000 rows, 10 requests")
    return p


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    cuda = args.device.startswith("cuda")
    if args.quick:
        args.n_train = args.n_train or 1000
        args.n_test = args.n_test or 1000
        args.n_requests = min(args.n_requests, 10)
    if args.n_train is None and not cuda:
        args.n_train = 5000
    if args.epochs is None:
        args.epochs = 5 if cuda else 1
    if args.unlearning_optimizer.lower() == "none":
        args.unlearning_optimizer = None
    if args.out is None:
        suffix = "_quick" if args.quick else ""
        args.out = (
            REPO_ROOT / f"benchmarks/results/skorch_mnist_{'cuda' if cuda else 'cpu'}{suffix}.md"
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class RawStep:
    """The bare torch work of one request, on a deep copy of the fitted net."""

    def __init__(self, clf: UnlearnableClassifier, rate: float, optimizer: str | None) -> None:
        net = copy.deepcopy(clf.estimator_)
        self.module, self.device, self.classes = net.module_, net.device, clf.classes_
        self.module.eval()
        if optimizer is None:
            self.optimizer = net.optimizer_
            for group in self.optimizer.param_groups:
                group["lr"] = rate
        else:
            self.optimizer = _optimizer_factory(optimizer)(self.module.parameters(), lr=rate)

    def __call__(self, X: np.ndarray, y: np.ndarray) -> None:
        X_t = torch.as_tensor(X, dtype=torch.float32).to(self.device)
        y_t = torch.as_tensor(np.searchsorted(self.classes, y)).to(self.device)
        self.optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(self.module(X_t), y_t).backward()
        self.optimizer.step()


def _row(name: str, ms: dict[str, float]) -> str:
    return f"| {name} | {ms['median']:.2f} | {ms['p10']:.2f} | {ms['p90']:.2f} | {ms['n']} |"


def _accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(X) == y))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = _resolve(build_parser().parse_args(argv))
    wall0 = time.perf_counter()
    torch.manual_seed(args.seed)
    data = load_mnist(args.data, n_train=args.n_train, n_test=args.n_test)
    X, y = data.X_train, data.y_train
    rows = np.random.RandomState(args.seed).choice(len(y), size=args.n_requests, replace=False)

    net = paper_net(args.epochs, args.device)
    model = UnlearnableClassifier(
        net,
        relabel="uniform",  # pinned: the raw baseline (RequestBatches) builds uniform batches
        unlearning_rate=args.unlearning_rate,
        unlearning_optimizer=args.unlearning_optimizer,
        n_replay=args.n_replay,
        random_state=args.seed,
    )
    t0 = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - t0
    print(f"fit on {len(y)} rows, {args.epochs} epoch(s): {fit_s:.1f} s", flush=True)

    # (a) forget vs raw torch step, interleaved, plus skorch partial_fit for reference.
    clf = copy.deepcopy(model)
    raw = RawStep(model, args.unlearning_rate, args.unlearning_optimizer)
    skorch_net = copy.deepcopy(model.estimator_).set_params(max_epochs=1, train_split=None)
    skorch_net.lr = args.unlearning_rate
    batches = RequestBatches(
        X, y, model.classes_, len(model.classes_) - 1, args.n_replay, args.seed + 1
    )
    t_raw, t_wrap, t_skorch = [], [], []
    perf = time.perf_counter
    for i, row in enumerate(rows):
        X_batch, y_batch = batches(row)
        steps = [
            (t_raw, lambda Xb=X_batch, yb=y_batch: raw(Xb, yb)),
            (t_wrap, lambda r=row: clf.forget(X[r : r + 1], y[r : r + 1])),
        ]
        for times, step in steps if i % 2 == 0 else steps[::-1]:
            _sync(args.device)
            start = perf()
            step()
            _sync(args.device)
            times.append(perf() - start)
        start = perf()
        skorch_net.partial_fit(X_batch, np.searchsorted(model.classes_, y_batch))
        t_skorch.append(perf() - start)

    raw_ms, wrap_ms, skorch_ms = ms_stats(t_raw), ms_stats(t_wrap), ms_stats(t_skorch)
    ratio = wrap_ms["median"] / raw_ms["median"]

    # (b) naive retraining on the retained rows, same recipe.
    naive = copy.deepcopy(clf)
    t0 = time.perf_counter()
    naive.retrain()
    retrain_s = time.perf_counter() - t0
    speedup = retrain_s / (wrap_ms["median"] / 1e3)

    def scores(m: Any) -> dict[str, float]:
        # Divergence to the naive model on the forgotten rows (0 for naive itself).
        divergence = m.certify(X[rows], reference=naive).mean
        return {
            "test": _accuracy(m, data.X_test, data.y_test),
            "forget": _accuracy(m, X[rows], y[rows]),
            "divergence": divergence,
        }

    accuracy = [
        ("original", scores(model)),
        ("relabel (forget)", scores(clf)),
        ("naive retrain", scores(naive)),
    ]
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    epochs = f"{args.epochs} epoch(s)" + ("" if args.epochs == 5 else ", the paper trains 5")
    rows_used = "full MNIST" if len(y) == 60_000 else f"a {len(y)}-row subset of MNIST"
    scale = f"{rows_used}, {epochs}"
    lines = provenance(
        "sk_unlearn benchmark: skorch MnistCNN on MNIST",
        __file__,
        argv,
        args.seed,
        extra=[
            f"Device: {args.device} ({device_name}); torch {torch.__version__}, "
            f"{torch.get_num_threads()} CPU threads",
            f"Data: {scale}; {len(data.y_test)} test rows",
            f"Model: NeuralNetClassifier(MnistCNN, CrossEntropyLoss, Adadelta lr=1.0, "
            f"{args.epochs} epoch(s), batch 64), fit in {fit_s:.1f} s",
            f"Unlearning: optimizer={args.unlearning_optimizer!r}, "
            f"rate={args.unlearning_rate}, 9 relabeled copies + {args.n_replay} replayed rows",
            f"Requests: {args.n_requests}, one row per forget call",
            f"Total wall time: {time.perf_counter() - wall0:.0f} s",
        ],
    )
    lines += [
        "",
        "## (a) Per-request cost",
        "",
        "| Measurement | median (ms) | p10 (ms) | p90 (ms) | samples |",
        "|---|---:|---:|---:|---:|",
        _row("raw torch step on the same batch", raw_ms),
        _row("`forget`, one row per call", wrap_ms),
        _row("skorch `partial_fit` (max_epochs=1) on the same batch", skorch_ms),
        "",
        f"- Ratio forget/raw: {ratio:.2f}x (target <= {RATIO_TARGET}x): "
        f"{verdict(ratio <= RATIO_TARGET)}",
        "",
        "## (b) `forget` vs naive retraining",
        "",
        f"- `retrain()` on {naive.n_retained_} rows: {retrain_s:.1f} s",
        f"- Speedup retrain/forget: {speedup:.0f}x (target >= {SPEEDUP_TARGET:.0f}x): "
        f"{verdict(speedup >= SPEEDUP_TARGET)}",
        "",
        f"## (c) Accuracy after {args.n_requests} requests",
        "",
        "Divergence: mean `certify` divergence to the naive model on the forgotten rows "
        "(docs/certification.md).",
        "",
        "| Model | test accuracy | forget-set accuracy | divergence to naive |",
        "|---|---:|---:|---:|",
        *[
            f"| {name} | {a['test']:.4f} | {a['forget']:.4f} | {a['divergence']:.4f} |"
            for name, a in accuracy
        ],
        "",
    ]
    write_report(lines, Path(args.out))
    return {
        "ratio": ratio,
        "speedup": speedup,
        "raw_ms": raw_ms,
        "wrap_ms": wrap_ms,
        "accuracy": dict(accuracy),
    }


if __name__ == "__main__":
    main()
