"""Measure ``unlearning_rate`` x ``n_replay`` to choose sk_unlearn's defaults.

For each backend the script trains one :class:`~sk_unlearn.UnlearnableClassifier`
on MNIST training rows, then, for every cell of an ``(unlearning_rate,
n_replay)`` grid, serves the same sequence of deletion requests on a deep copy
of it (``forget`` called one row at a time) and compares the result with the
*naive* model, a fresh fit of the same estimator on the retained rows (the rows
left after the requests, in their original order).

Reported per cell, averaged over ``--repeats`` request sets (a different random
set of rows to forget each time, with its own naive model):

* ``test acc`` -- accuracy on the MNIST test rows after all requests;
* ``forget acc`` -- accuracy on the forgotten rows (the naive model never saw
  them, so its number is what "forgotten" should look like);
* ``gap`` -- forget acc minus test acc: how much better the model does on
  the forgotten rows than on unseen rows (about 0 for the naive model, up to
  sampling noise; positive = the rows are still remembered);
* ``forget p(y)`` -- mean predicted probability of the true label on the
  forgotten rows (finer than accuracy; ``n/a`` without ``predict_proba``);
* ``|d test|``, ``|d forget|`` -- absolute differences from the naive model's
  two numbers (averaged per repeat, then over repeats);
* ``TV`` -- mean total-variation distance ``0.5 * sum_c |p_c - q_c|`` between
  the unlearned and the naive model's ``predict_proba`` on the test rows
  (``n/a`` for estimators without ``predict_proba``, e.g. Perceptron);
* ``disagree`` -- share of test rows whose predicted label differs from the
  naive model's;
* ``ms/req`` -- wall-clock milliseconds per ``forget`` call (one row each).

Reference rows: the model before any request ("original"), and
``clf.retrain()`` after the requests. The committed results in
``benchmarks/results/tune_defaults*.md`` were made while ``retrain()`` still
fitted the retained rows in slot order (swap-remove erasure reorders them), so
that row is a fit on the same rows in another order: its distance to the naive
model is the noise floor of training itself. ``retrain()`` now keeps the
learning order, and the row equals the naive one.

Run from the project root::

    python benchmarks/tune_defaults.py            # full run, ~15-20 min on 2 cores
    python benchmarks/tune_defaults.py --quick    # smaller run, ~1-2 min

The Markdown tables are printed and written to
``benchmarks/results/tune_defaults.md`` (``--quick`` writes
``tune_defaults_quick.md``), stamped with the command line, date, machine and
library versions.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import shlex
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.neural_network import MLPClassifier

from sk_unlearn import UnlearnableClassifier
from sk_unlearn import __version__ as sk_unlearn_version
from sk_unlearn.datasets import load_mnist

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist.npz"
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Backend:
    name: str
    make: Callable[[], Any]
    n_train: int
    rates: list[float | None]
    replays: list[int]
    note: str = ""


def backends(quick: bool, sgd_train: list[int]) -> list[Backend]:
    scale = (lambda n: max(2000, n // 10)) if quick else (lambda n: n)
    out = [
        Backend(
            f"SGDClassifier(log_loss), {scale(n):,} rows",
            lambda: SGDClassifier(loss="log_loss", random_state=0),
            scale(n),
            [None, 1e-4, 1e-3, 1e-2, 1e-1],
            [0, 8, 32],
        )
        for n in sgd_train
    ]
    out += [
        Backend(
            f"MLPClassifier((128,), adam, max_iter=20), {scale(10_000):,} rows",
            lambda: MLPClassifier(hidden_layer_sizes=(128,), random_state=0, max_iter=20),
            scale(10_000),
            [None, 1e-4, 3e-4, 1e-3],
            [0, 8, 32],
            note="unlearning_rate=None is adam's learning_rate_init=1e-3.",
        ),
        Backend(
            f"Perceptron, {scale(20_000):,} rows",
            lambda: Perceptron(random_state=0),
            scale(20_000),
            [None, 1e-3, 1e-2, 1e-1, 1.0],
            [0, 8, 32],
            note=(
                "Perceptron trains with learning_rate='constant', eta0=1.0, so "
                "unlearning_rate=None and 1.0 take the same step. Perceptron has no "
                "predict_proba: TV is n/a, compare 'disagree'."
            ),
        ),
    ]
    return out


def n_requests_for(n_train: int, wanted: int) -> int:
    """``wanted`` requests, or 1% of the rows when ``wanted`` exceeds ~5% of them."""
    if wanted <= 0.05 * n_train:
        return wanted
    return max(1, round(0.01 * n_train))


@dataclass
class Metrics:
    test_acc: float
    forget_acc: float
    forget_py: float = float("nan")
    d_test: float = float("nan")
    d_forget: float = float("nan")
    tv: float = float("nan")
    disagree: float = float("nan")
    ms_per_req: float = float("nan")


def proba(model: Any, X: np.ndarray) -> np.ndarray | None:
    return model.predict_proba(X) if hasattr(model, "predict_proba") else None


def evaluate(
    model: Any, data: Any, X_forget: np.ndarray, y_forget: np.ndarray, naive: dict[str, Any] | None
) -> Metrics:
    pred_test = model.predict(data.X_test)
    m = Metrics(
        test_acc=float(np.mean(pred_test == data.y_test)),
        forget_acc=float(np.mean(model.predict(X_forget) == y_forget)),
    )
    p_forget = proba(model, X_forget)
    if p_forget is not None:
        cols = np.searchsorted(model.classes_, y_forget)
        m.forget_py = float(np.mean(p_forget[np.arange(len(y_forget)), cols]))
    if naive is not None:
        m.d_test = abs(m.test_acc - naive["metrics"].test_acc)
        m.d_forget = abs(m.forget_acc - naive["metrics"].forget_acc)
        m.disagree = float(np.mean(pred_test != naive["pred_test"]))
        p = proba(model, data.X_test)
        if p is not None and naive["proba_test"] is not None:
            m.tv = float(np.mean(0.5 * np.abs(p - naive["proba_test"]).sum(axis=1)))
    return m


def mean_metrics(ms: list[Metrics]) -> tuple[Metrics, Metrics]:
    names = list(Metrics.__dataclass_fields__)
    mean = Metrics(**{n: float(np.mean([getattr(m, n) for m in ms])) for n in names})
    std = Metrics(**{n: float(np.std([getattr(m, n) for m in ms])) for n in names})
    return mean, std


def fmt_rate(rate: float | None) -> str:
    return "None" if rate is None else f"{rate:g}"


def pct(x: float) -> str:
    return "n/a" if np.isnan(x) else f"{100 * x:.2f}"


def run_backend(b: Backend, full: Any, args: argparse.Namespace, log: Callable[[str], None]) -> str:
    X, y = full.X_train[: b.n_train], full.y_train[: b.n_train]
    data = full
    n_req = n_requests_for(b.n_train, args.n_requests)
    log(
        f"\n== {b.name}: {n_req} requests x {args.repeats} request sets, "
        f"{len(b.rates) * len(b.replays)} cells"
    )

    t = time.perf_counter()
    # Pinned to the paper's uniform relabeling: the committed results were measured with it.
    base = UnlearnableClassifier(
        b.make(), n_relabels=args.n_relabels, relabel="uniform", random_state=args.seed
    ).fit(X, y)
    fit_s = time.perf_counter() - t
    log(f"  original fit: {fit_s:.1f}s, test acc {base.score(data.X_test, data.y_test):.4f}")

    rng = np.random.RandomState(args.seed)
    cells: dict[tuple[Any, int], list[Metrics]] = {(r, k): [] for r in b.rates for k in b.replays}
    refs: dict[str, list[Metrics]] = {
        "original (before requests)": [],
        "naive (fresh fit on retained rows)": [],
        "naive via clf.retrain() (other row order)": [],
    }
    for rep in range(args.repeats):
        idx = rng.choice(b.n_train, size=n_req, replace=False)
        X_f, y_f = X[idx], y[idx]
        keep = np.ones(b.n_train, dtype=bool)
        keep[idx] = False

        t = time.perf_counter()
        naive_model = clone(b.make()).fit(X[keep], y[keep])
        naive_s = time.perf_counter() - t
        naive_metrics = evaluate(naive_model, data, X_f, y_f, None)
        naive = {
            "metrics": naive_metrics,
            "pred_test": naive_model.predict(data.X_test),
            "proba_test": proba(naive_model, data.X_test),
        }
        refs["naive (fresh fit on retained rows)"].append(
            evaluate(naive_model, data, X_f, y_f, naive)
        )
        refs["naive (fresh fit on retained rows)"][-1].ms_per_req = 1000 * naive_s
        refs["original (before requests)"].append(evaluate(base, data, X_f, y_f, naive))
        log(
            f"  request set {rep}: naive fit {naive_s:.1f}s, "
            f"test acc {naive_metrics.test_acc:.4f}, forget acc {naive_metrics.forget_acc:.4f}"
        )

        first_clf = None
        for rate in b.rates:
            for k in b.replays:
                clf = copy.deepcopy(base).set_params(unlearning_rate=rate, n_replay=k)
                t = time.perf_counter()
                for i in range(n_req):
                    clf.forget(X_f[i : i + 1], y_f[i : i + 1])
                elapsed = time.perf_counter() - t
                m = evaluate(clf, data, X_f, y_f, naive)
                m.ms_per_req = 1000 * elapsed / n_req
                cells[(rate, k)].append(m)
                log(
                    f"    rate={fmt_rate(rate):>6} replay={k:>2}: test {m.test_acc:.4f} "
                    f"forget {m.forget_acc:.4f} TV {pct(m.tv)} disagree {pct(m.disagree)} "
                    f"{m.ms_per_req:.1f} ms/req"
                )
                if first_clf is None:
                    first_clf = clf
        if first_clf is not None:
            t = time.perf_counter()
            first_clf.retrain()
            r = evaluate(first_clf, data, X_f, y_f, naive)
            r.ms_per_req = 1000 * (time.perf_counter() - t)
            refs["naive via clf.retrain() (other row order)"].append(r)

    # ---------------------------------------------------------------- table
    lines = [f"### {b.name}", ""]
    lines.append(
        f"{n_req} sequential requests (one row per `forget` call) out of {b.n_train:,} "
        f"training rows; test on {len(data.y_test):,} rows; mean over {args.repeats} "
        f"request set(s) (± = std over sets). Original fit took {fit_s:.1f}s."
    )
    if b.note:
        lines.append(b.note)
    lines += [
        "",
        "| unlearning_rate | n_replay | test acc % | forget acc % | gap | forget p(y) % | "
        "\\|Δ test\\| | \\|Δ forget\\| | TV % | disagree % | ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, ms in refs.items():
        if not ms:
            continue
        mean, std = mean_metrics(ms)
        timing = f"fit {mean.ms_per_req / 1000:.1f}s" if "naive" in label else ""
        lines.append(
            f"| *{label}* | | {pct(mean.test_acc)} | {pct(mean.forget_acc)} | "
            f"{pct(mean.forget_acc - mean.test_acc)} | {pct(mean.forget_py)} | "
            f"{pct(mean.d_test)} | {pct(mean.d_forget)} | {pct(mean.tv)} | "
            f"{pct(mean.disagree)} | {timing} |"
        )
    best_key, best_score = None, float("inf")
    for (rate, k), ms in cells.items():
        mean, std = mean_metrics(ms)
        score = mean.d_test + mean.d_forget
        if score < best_score:
            best_key, best_score = (rate, k), score
        lines.append(
            f"| {fmt_rate(rate)} | {k} | {pct(mean.test_acc)} ± {pct(std.test_acc)} | "
            f"{pct(mean.forget_acc)} ± {pct(std.forget_acc)} | "
            f"{pct(mean.forget_acc - mean.test_acc)} | {pct(mean.forget_py)} | "
            f"{pct(mean.d_test)} | {pct(mean.d_forget)} | {pct(mean.tv)} | "
            f"{pct(mean.disagree)} | {mean.ms_per_req:.1f} |"
        )
    orig, _ = mean_metrics(refs["original (before requests)"])
    by_div = min(
        cells,
        key=lambda c: (
            mean_metrics(cells[c])[0].tv
            if not np.isnan(mean_metrics(cells[c])[0].tv)
            else mean_metrics(cells[c])[0].disagree
        ),
    )
    lines += [
        "",
        f"Closest to naive by |Δ test| + |Δ forget|: unlearning_rate={fmt_rate(best_key[0])}, "
        f"n_replay={best_key[1]} ({100 * best_score:.2f} points; doing nothing, i.e. the "
        f"original model, scores {100 * (orig.d_test + orig.d_forget):.2f}). "
        f"Closest by {'TV' if hasattr(base, 'predict_proba') else 'disagreement'}: "
        f"unlearning_rate={fmt_rate(by_div[0])}, n_replay={by_div[1]}.",
        "",
    ]
    table = "\n".join(lines)
    log("\n" + table)
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1/10 of the training rows (at least 2,000), 2,000 test rows, 1 request set",
    )
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="path to mnist.npz")
    parser.add_argument(
        "--n-requests",
        type=int,
        default=600,
        help="requests per set (1%% of the rows instead if this exceeds 5%%)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="request sets per backend (default 3, or 1 with --quick)",
    )
    parser.add_argument(
        "--sgd-train",
        type=int,
        nargs="+",
        default=[20_000, 60_000],
        help="training-set sizes for SGDClassifier (one table each)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=["sgd", "mlp", "perceptron"], help="run only these backends"
    )
    parser.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=None,
        help="override the unlearning_rate grid of the chosen backends "
        "(use with --only; None is not included unless --with-none)",
    )
    parser.add_argument(
        "--with-none", action="store_true", help="with --rates, also run unlearning_rate=None"
    )
    parser.add_argument(
        "--replays",
        type=int,
        nargs="+",
        default=None,
        help="override the n_replay grid of the chosen backends",
    )
    parser.add_argument(
        "--n-relabels",
        type=int,
        default=None,
        help="n_relabels for every cell (default None = n_classes - 1)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="Markdown file to write")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    output = (
        Path(args.output)
        if args.output
        else RESULTS / ("tune_defaults_quick.md" if args.quick else "tune_defaults.md")
    )

    warnings.simplefilter("ignore", ConvergenceWarning)
    full = load_mnist(args.data, n_test=2000 if args.quick else None)

    def log(msg: str) -> None:
        print(msg, flush=True)

    chosen = backends(args.quick, args.sgd_train)
    if args.only:
        keys = {"sgd": "SGD", "mlp": "MLP", "perceptron": "Perceptron"}
        chosen = [b for b in chosen if any(b.name.startswith(keys[o]) for o in args.only)]
    for b in chosen:
        if args.rates is not None:
            b.rates = ([None] if args.with_none else []) + list(args.rates)
        if args.replays is not None:
            b.replays = list(args.replays)

    started = time.perf_counter()
    tables = [run_backend(b, full, args, log) for b in chosen]
    total = time.perf_counter() - started

    header = [
        "# Tuning `unlearning_rate` and `n_replay`",
        "",
        f"- command: `{shlex.join([Path(sys.executable).name, *sys.argv])}`",
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        f"- sklearn {sklearn.__version__}, numpy {np.__version__}, sk_unlearn {sk_unlearn_version}",
        f"- seed {args.seed}; n_relabels {args.n_relabels or 'None (n_classes - 1)'}; "
        f"total run time {total / 60:.1f} min",
        "",
        "Metrics: accuracies in %; |Δ| = absolute difference from the naive model "
        "(fresh fit of the same estimator on the retained rows); TV = mean over test rows "
        "of the total-variation distance 0.5·Σ|p−q| between the unlearned and the naive "
        "model's predict_proba; disagree = share of test rows predicted differently from "
        "the naive model. Forget acc of the naive model is what 'forgotten' should look "
        "like (its accuracy on rows it never saw), not 0.",
        "",
    ]
    text = "\n".join(header + tables)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")
    log(f"\nwrote {output} ({total / 60:.1f} min)")


if __name__ == "__main__":
    main()
