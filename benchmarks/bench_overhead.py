"""What a deletion request costs beyond its math: the wrapper against the same work by hand.

Issue 19's table, measured interleaved in one run (``--repeats`` rounds, each
taking every measure in turn, so machine load hits all alike; the table gives
the median ratio over rounds and its range):

* **one-row forget / by hand**: ``forget`` of one row (``relabel="uniform"``,
  9 copies + 32 replayed rows) against the same work done on a copy of the
  inner estimator by hand: drawing the replayed rows, stacking the batch and
  taking the same step with the same temporary settings (``partial_fit``, the
  batch step for ``unlearning_optimizer="sgd"``, the MLP's direct update
  (``sk_unlearn._mlp_step``) where the wrapper takes it, a fresh torch SGD
  step for skorch). For ``SGDClassifier`` with either optimizer, ``MLPClassifier((64,))``
  and (on MNIST) a skorch net with a 784-64-10 MLP module.
* **batch step vs partial_fit**: the batch SGD step
  (``sk_unlearn._linear_step.batch_step``) against ``SGDClassifier.partial_fit``
  on the same 41-row batch.
* **MLP direct update vs partial_fit**: the update the MLP adapter takes
  (``sk_unlearn._mlp_step.batch_update``) against ``MLPClassifier.partial_fit``
  with ``batch_size`` the batch length, on the same 41-row batch (scikit-learn
  1.7 and later).
* **bulk**: one ``forget`` call of ``--bulk`` rows against as many one-row
  calls (SGD, batch step).
* **fit**: the wrapper's ``fit`` against the raw estimator's on
  ``--fit-rows`` x 100 rows (``SGDClassifier``'s defaults).
* **load**: unpickling a fitted wrapper against unpickling the raw estimator
  plus ``X`` and ``y`` (one pickle each), and the same load followed by the
  wrapper's first request, which builds the lookup index a load leaves for
  first use. Each load runs in a fresh interpreter (the median of 5 per round,
  alternating): in one process a load reuses the memory the previous one
  freed and skips the first-touch page faults that dominate loading here.
* **scaling**: a one-row request (batch step) to a model of ``--scale-rows``
  LARGE training rows against one of SMALL rows.

    python benchmarks/bench_overhead.py [--repeats 3] [--requests 200]
        [--bulk 1000] [--fit-rows 1000000] [--loads 5] [--scale-rows 10000 1000000]
        [--data PATH|digits]

MNIST rows (``../shared/data/mnist.npz``, or the digits) for the requests; synthetic rows
for fit and load. Writes ``benchmarks/results/overhead.md`` unless ``--out``
says otherwise.
"""

from __future__ import annotations

import argparse
import copy
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO_ROOT, provenance, write_report
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.neural_network import MLPClassifier

from sk_unlearn import UnlearnableClassifier, _mlp_step
from sk_unlearn._linear_step import batch_step
from sk_unlearn.datasets import load_digits_split

MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "overhead.md"
N_RELABELS, N_REPLAY = 9, 32


def _rows(source: str, n: int) -> tuple[np.ndarray, np.ndarray, str]:
    if source == "digits":
        d = load_digits_split(random_state=0)
        return d.X_train / 16.0, d.y_train, f"digits, {len(d.y_train)} training rows x 64"
    path = Path(source)
    if not path.is_file():
        raise SystemExit(f"MNIST not found at {path}; pass --data PATH or --data digits.")
    with np.load(path) as f:
        X, y = f["x_train"][:n].reshape(-1, 784) / 255.0, f["y_train"][:n]
    return X, y, f"MNIST, {n} training rows x 784"


def _clock(action: Callable[..., Any], *args: Any) -> float:
    """Seconds ``action(*args)`` takes."""
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


class Requests:
    """One-row requests served by the wrapper and, on a copy of its model, by hand."""

    def __init__(self, estimator: Any, X: np.ndarray, y: np.ndarray, **params: Any) -> None:
        self.X, self.y = X, y
        self.params = params
        self.template = estimator
        self.rng = np.random.default_rng(0)

    def fresh(self) -> None:
        """A new fitted wrapper and a copy of its inner estimator for the hand-made steps."""
        self.clf = UnlearnableClassifier(
            copy.deepcopy(self.template),
            relabel="uniform",
            n_relabels=N_RELABELS,
            n_replay=N_REPLAY,
            random_state=0,
            **self.params,
        ).fit(self.X, self.y)
        self.raw = copy.deepcopy(self.clf.estimator_)
        self.by_class = {c: np.flatnonzero(self.y == c) for c in range(10)}
        self.next = 0
        self.rate = self.clf._adapter().auto_unlearning_rate()

    def by_hand(self, row: int) -> None:
        """The work of a request done by hand on the raw copy: draw the replayed rows,
        stack the relabeled copies with them, take the step with the wrapper's settings."""
        label = self.y[row]
        wrong = np.delete(np.arange(10), label)[self.rng.permutation(9)[:N_RELABELS]]
        members = self.by_class[label]
        replay = members[self.rng.choice(members.size, N_REPLAY, replace=False)]
        X = np.concatenate([np.repeat(self.X[row : row + 1], N_RELABELS, axis=0), self.X[replay]])
        y = np.concatenate([wrong, self.y[replay]])
        raw = self.raw
        if self.params.get("unlearning_optimizer") == "sgd":
            batch_step(raw, X, y, self.rate)
        elif isinstance(raw, SGDClassifier):
            saved = (raw.learning_rate, raw.eta0, raw.t_, raw.n_iter_)
            raw.learning_rate, raw.eta0 = "constant", self.rate
            raw.partial_fit(X, y)
            raw.learning_rate, raw.eta0, raw.t_, raw.n_iter_ = saved
        elif isinstance(raw, MLPClassifier) and _mlp_step.supported(raw):
            _mlp_step_at(raw, X, y, self.rate)
        elif isinstance(raw, MLPClassifier):
            saved = (raw.batch_size, raw.learning_rate_init, raw.n_iter_, raw.t_)
            raw.batch_size, raw.learning_rate_init = len(y), self.rate
            raw.partial_fit(X, y)
            raw.batch_size, raw.learning_rate_init, raw.n_iter_, raw.t_ = saved
        else:  # a skorch net: one fresh plain SGD step in eval mode, as the adapter takes it
            _torch_step(raw, X, y, self.rate)

    def measure(self, n: int) -> tuple[float, float]:
        """Median seconds of a one-row forget and of the same work by hand, interleaved."""
        wrapper, hand = [], []
        for _ in range(n):
            row = self.next
            self.next += 1
            wrapper.append(_clock(self.clf.forget, self.X[row : row + 1], self.y[row : row + 1]))
            hand.append(_clock(self.by_hand, row))
        return float(np.median(wrapper)), float(np.median(hand))


def _small_net() -> Any:
    """A skorch net with a small MLP module (784-64-10), as the issue's skorch row uses."""
    import torch
    from skorch import NeuralNetClassifier

    module = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    return NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.1,
        max_epochs=2,
        batch_size=64,
        train_split=None,
        verbose=0,
    )


def _torch_step(net: Any, X: np.ndarray, y: np.ndarray, rate: float) -> None:
    import torch

    X_t = torch.as_tensor(X, dtype=torch.float32)
    y_t = torch.as_tensor(y, dtype=torch.int64)
    module = net.module_
    module.eval()
    optimizer = torch.optim.SGD(module.parameters(), lr=rate)
    optimizer.zero_grad(set_to_none=True)
    loss = net.get_loss(net.infer(X_t), y_t, X=X_t, training=True)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    module.train()


def _mlp_step_at(net: MLPClassifier, X: np.ndarray, y: np.ndarray, rate: float) -> None:
    """The MLP's direct update at ``rate`` (the optimizer's rate set for it, then put back)."""
    optimizer = net._optimizer
    saved = optimizer.learning_rate_init, optimizer.learning_rate
    optimizer.learning_rate_init = optimizer.learning_rate = rate
    _mlp_step.batch_update(net, X, y)
    optimizer.learning_rate_init, optimizer.learning_rate = saved


def _mlp_step_speed(X: np.ndarray, y: np.ndarray, n: int) -> tuple[float, float] | None:
    """Median seconds of the MLP's direct update and of ``partial_fit`` (one batch of the
    whole batch) on the same 41-row batches; None where the direct update is unavailable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        base = MLPClassifier((64,), max_iter=5, random_state=0).fit(X, y)
    if not _mlp_step.supported(base):
        return None
    base.set_params(batch_size=N_RELABELS + N_REPLAY, learning_rate_init=3e-5)
    return _against_partial_fit(base, _mlp_step_at, 3e-5, X, y, n)


def _against_partial_fit(
    base: Any, step: Callable[..., None], rate: float, X: np.ndarray, y: np.ndarray, n: int
) -> tuple[float, float]:
    """Median seconds of ``step(model, Xb, yb, rate)`` and of ``partial_fit`` on the same
    ``n`` random 41-row batches, each on its own copy of ``base``, interleaved."""
    rng = np.random.default_rng(1)
    fast_model, slow_model = copy.deepcopy(base), copy.deepcopy(base)
    fast, slow = [], []
    for _ in range(n):
        rows = rng.choice(len(y), N_RELABELS + N_REPLAY, replace=False)
        Xb, yb = X[rows], rng.integers(0, 10, len(rows))
        fast.append(_clock(step, fast_model, Xb, yb, rate))
        slow.append(_clock(slow_model.partial_fit, Xb, yb))
    return float(np.median(fast)), float(np.median(slow))


def _step_speed(X: np.ndarray, y: np.ndarray, n: int) -> tuple[float, float]:
    """Median seconds of the batch step and of partial_fit on the same 41-row batches."""
    base = SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0).fit(X, y)
    base.set_params(learning_rate="constant", eta0=1e-4)
    return _against_partial_fit(base, batch_step, 1e-4, X, y, n)


def _bulk(X: np.ndarray, y: np.ndarray, n_rows: int) -> tuple[float, float]:
    """Seconds of one forget call of ``n_rows`` rows and of ``n_rows`` one-row calls."""

    def fitted() -> UnlearnableClassifier:
        return UnlearnableClassifier(
            SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0),
            unlearning_optimizer="sgd",
            relabel="uniform",
            random_state=0,
        ).fit(X, y)

    one_call, many_calls = fitted(), fitted()
    bulk = _clock(lambda: one_call.forget(X[:n_rows], y[:n_rows]))
    single = _clock(lambda: [many_calls.forget(X[i : i + 1], y[i : i + 1]) for i in range(n_rows)])
    return bulk, single


def _synthetic(n_rows: int, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 100))
    return X, (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)


#: Run in a fresh interpreter by :func:`_load_seconds`: time one load (and a first request).
_LOAD_SCRIPT = """
import pickle, sys, time
import numpy as np, sklearn.linear_model, sk_unlearn  # imports are not part of the load
blob = open(sys.argv[1], "rb").read()
start = time.perf_counter()
model = pickle.loads(blob)
if sys.argv[2] == "forget":
    X, y = np.load(sys.argv[3]), np.load(sys.argv[4])
    model.forget(X, y)
print(time.perf_counter() - start)
"""


def _load_seconds(blob: Path, *first_request: Path) -> float:
    """Seconds to unpickle ``blob`` (then, given the paths of a row and its label, to
    forget it) in a fresh interpreter: every load pays the same first-touch page faults,
    which one process reusing freed memory would not."""
    action = "forget" if first_request else "load"
    command = [sys.executable, "-c", _LOAD_SCRIPT, str(blob), action, *map(str, first_request)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def _fit_and_load(n_rows: int, loads: int = 3) -> tuple[float, float, float, float, float]:
    """Seconds of the wrapper's and the raw fit (``SGDClassifier``'s defaults), of loading
    each pickle, and of a wrapper's load followed by its first request (which builds the
    lookup index a load leaves for first use); loads are medians of ``loads`` alternating
    loads, each in a fresh interpreter."""
    X, y = _synthetic(n_rows)
    raw = SGDClassifier(loss="log_loss", random_state=0)
    wrapper = UnlearnableClassifier(copy.deepcopy(raw), random_state=0)
    fit_raw = _clock(lambda: raw.fit(X, y))
    fit_wrapper = _clock(lambda: wrapper.fit(X, y))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        blobs = {"raw": (raw, X, y), "wrapper": wrapper, "x": X[:1], "y": y[:1]}
        for name, value in blobs.items():
            with open(folder / name, "wb") as f:
                if name in ("x", "y"):
                    np.save(f, value)
                else:
                    pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        times: dict[str, list[float]] = {"raw": [], "wrapper": [], "serve": []}
        for _ in range(loads):
            times["raw"].append(_load_seconds(folder / "raw"))
            times["wrapper"].append(_load_seconds(folder / "wrapper"))
            times["serve"].append(_load_seconds(folder / "wrapper", folder / "x", folder / "y"))
    load = {name: float(np.median(values)) for name, values in times.items()}
    return fit_wrapper, fit_raw, load["wrapper"], load["raw"], load["serve"]


def _scaling(small: int, large: int, n: int) -> tuple[float, float]:
    """Median seconds of a one-row forget (batch step) with ``small`` and ``large``
    training rows, interleaved."""

    def fitted(n_rows: int) -> tuple[UnlearnableClassifier, np.ndarray, np.ndarray]:
        X, y = _synthetic(n_rows, seed=3)
        clf = UnlearnableClassifier(
            SGDClassifier(loss="log_loss", max_iter=1, tol=None, random_state=0),
            unlearning_optimizer="sgd",
            relabel="uniform",
            random_state=0,
        )
        return clf.fit(X, y), X, y

    models = [fitted(small), fitted(large)]
    times: list[list[float]] = [[], []]
    for i in range(n):
        for k, (clf, X, y) in enumerate(models):
            times[k].append(_clock(clf.forget, X[i : i + 1], y[i : i + 1]))
    return float(np.median(times[0])), float(np.median(times[1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200, help="one-row requests per round")
    parser.add_argument("--bulk", type=int, default=1000)
    parser.add_argument("--fit-rows", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=5, help="loads of each pickle per round")
    parser.add_argument(
        "--scale-rows", type=int, nargs=2, default=[10_000, 1_000_000], metavar=("SMALL", "LARGE")
    )
    parser.add_argument("--data", default=str(MNIST), help="mnist.npz, or 'digits'")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)

    X, y, what = _rows(args.data, 5000)
    backends = {
        "SGD, partial_fit": Requests(
            SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0),
            X,
            y,
            unlearning_optimizer=None,
        ),
        "SGD, batch step": Requests(
            SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0),
            X,
            y,
            unlearning_optimizer="sgd",
        ),
        "MLPClassifier((64,))": Requests(MLPClassifier((64,), max_iter=5, random_state=0), X, y),
    }
    if X.shape[1] == 784:  # the net's module takes MNIST rows
        backends["skorch, MLP 784-64-10"] = Requests(_small_net(), X.astype(np.float32), y)
    ratios: dict[str, list[float]] = {}
    extra: dict[str, list[float]] = {}

    def note(name: str, ratio: float, wrapper: float, hand: float) -> None:
        ratios.setdefault(name, []).append(ratio)
        extra.setdefault(name, []).append((wrapper - hand) * 1e6)

    for _ in range(args.repeats):
        for name, requests in backends.items():
            requests.fresh()
            wrapper, hand = requests.measure(args.requests)
            note(f"one-row forget / by hand, {name}", wrapper / hand, wrapper, hand)
        fast, slow = _step_speed(X, y, args.requests)
        ratios.setdefault("batch step speed-up over partial_fit (same batch)", []).append(
            slow / fast
        )
        mlp = _mlp_step_speed(X, y, args.requests)
        if mlp is not None:
            name = "MLP direct update speed-up over partial_fit (same batch)"
            ratios.setdefault(name, []).append(mlp[1] / mlp[0])
        bulk, single = _bulk(X, y, args.bulk)
        ratios.setdefault(f"{args.bulk} one-row calls / one call of {args.bulk} rows", []).append(
            single / bulk
        )
        fit_w, fit_r, load_w, load_r, load_serve = _fit_and_load(args.fit_rows, args.loads)
        ratios.setdefault(f"wrapper fit / raw fit, SGD, {args.fit_rows} x 100", []).append(
            fit_w / fit_r
        )
        ratios.setdefault("load of a pickled wrapper / raw estimator + X + y", []).append(
            load_w / load_r
        )
        ratios.setdefault(
            "load of a pickled wrapper and its first request / raw estimator + X + y", []
        ).append(load_serve / load_r)
        small, large = _scaling(args.scale_rows[0], args.scale_rows[1], args.requests)
        name = f"one-row forget at {args.scale_rows[1]} / at {args.scale_rows[0]} training rows"
        ratios.setdefault(name, []).append(large / small)

    rows = ["| measure | median ratio | range over rounds | extra µs per request (median) |"]
    rows.append("| --- | ---: | ---: | ---: |")
    for name, values in ratios.items():
        spread = f"{min(values):.2f}–{max(values):.2f}x"
        added = f"{np.median(extra[name]):.0f}" if name in extra else ""
        rows.append(f"| {name} | {np.median(values):.2f}x | {spread} | {added} |")
    table = "\n".join(rows)
    print(table)
    lines = provenance(
        "Wrapper overhead per request, bulk calls, fit and load",
        __file__,
        argv,
        0,
        [
            f"Requests: {what}; {args.requests} one-row requests per "
            f"backend and round, relabel='uniform', {N_RELABELS} copies + {N_REPLAY} replayed "
            f"rows; {args.repeats} rounds",
            f"Fit and load: {args.fit_rows} synthetic rows x 100, SGDClassifier(loss='log_loss') "
            "with its defaults; scaling: one-row requests (batch step) against models of "
            f"{args.scale_rows[0]} and {args.scale_rows[1]} synthetic rows x 100",
        ],
    )
    write_report([*lines, "", table], args.out)


if __name__ == "__main__":
    main()
