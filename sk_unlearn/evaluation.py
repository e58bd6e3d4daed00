"""Evaluate an unlearning method as the field does: against many models retrained without the rows.

:func:`evaluate_unlearning` trains ``n_models`` models on the retained rows
(fresh seeds) and, from one original model trained on every row, runs
``n_models`` unlearnings of the forget rows per method (each with its own
seed), then compares the two groups row by row with the NeurIPS 2023
challenge's forgetting quality and with U-LiRA (see
:mod:`sk_unlearn.metrics`). Baselines run beside the methods so that a number
is never read alone: retraining against retraining (the best any method can
score at this number of models), no unlearning (the floor), fine-tuning on
the retained rows, and NegGrad+.

The trainings go through joblib, so ``with joblib.parallel_config(
backend="dask"):`` runs them on a Dask cluster; the unlearning runs, which
are short and share one original model, run on threads.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from numpy.typing import ArrayLike
from sklearn.base import clone

from ._backends import adapter_for
from ._baselines import BASELINES
from ._forgetting_quality import (
    ForgettingQuality,
    challenge_score,
    forgetting_quality,
    logit_scaled_confidence,
    ulira_auc,
)
from ._reference import OutOfFoldReference

__all__ = ["MethodResult", "UnlearningEvaluation", "evaluate_unlearning"]

#: The share of one retrain's time above which a method fails the efficiency gate.
EFFICIENCY_GATE = 0.2


@dataclass(frozen=True)
class MethodResult:
    """How one method (or baseline) unlearned, over ``n_models`` runs.

    Attributes
    ----------
    name : str
    quality : ForgettingQuality
        The challenge's forgetting quality against the retrained models
        (``quality.F``, per-row ``quality.epsilons``).
    ulira_auc : float
        U-LiRA's attack AUC (0.5: unlearned models cannot be told from
        retrained ones).
    score : float
        The challenge's final score, ``F`` times the retained- and
        test-accuracy ratios to retraining.
    retain_accuracy, test_accuracy, forget_accuracy : float
        Mean accuracy of the runs on the retained rows, the test rows and the
        forgotten rows.
    seconds : float
        Median wall-clock time of one run (unlearning only).
    time_share : float
        ``seconds`` over the median time of one retraining.
    passes_gate : bool
        ``time_share <= efficiency_gate``.
    confidences : ndarray of shape (n_models, n_rows)
        The forgotten rows' logit-scaled confidences under each run.
    """

    name: str
    quality: ForgettingQuality
    ulira_auc: float
    score: float
    retain_accuracy: float
    test_accuracy: float
    forget_accuracy: float
    seconds: float
    time_share: float
    passes_gate: bool
    confidences: np.ndarray = field(repr=False)

    @property
    def F(self) -> float:  # noqa: N802 (the challenge's name)
        """The forgetting quality ``F``."""
        return self.quality.F


@dataclass(frozen=True)
class UnlearningEvaluation:
    """The result of :func:`evaluate_unlearning`.

    Attributes
    ----------
    methods : dict of str to MethodResult
        One entry per method and baseline, in the order they ran.
    retrained_confidences : ndarray of shape (n_models, n_rows)
        The forgotten rows' confidences under the reference retrained models.
    retrain_seconds : float
        Median time of one retraining.
    retrain_accuracy : tuple of float
        Mean retained- and test-accuracy of the retrained models.
    n_models, n_rows : int
    efficiency_gate : float
    original : UnlearnableClassifier
        The original model every unlearning run started from (fitted on every
        row; the runs worked on copies).
    """

    methods: dict[str, MethodResult]
    retrained_confidences: np.ndarray = field(repr=False)
    retrain_seconds: float
    retrain_accuracy: tuple[float, float]
    n_models: int
    n_rows: int
    efficiency_gate: float
    original: Any = field(repr=False, default=None)

    def __getitem__(self, name: str) -> MethodResult:
        return self.methods[name]

    def table(self) -> str:
        """A Markdown table: one row per method and baseline."""
        lines = [
            "| method | F | score | U-LiRA AUC | retain acc | test acc | forget acc | "
            "time / retrain | gate |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for r in self.methods.values():
            lines.append(
                f"| {r.name} | {r.F:.3f} | {r.score:.3f} | {r.ulira_auc:.3f} | "
                f"{r.retain_accuracy:.4f} | {r.test_accuracy:.4f} | {r.forget_accuracy:.4f} | "
                f"{r.time_share:.2%} | {'pass' if r.passes_gate else 'FAIL'} |"
            )
        return "\n".join(lines)

    def plot(self, path: Any = None, *, n_rows: int = 6) -> Any:
        """Per-row epsilon of every method, and the confidence distributions of a few rows.

        Parameters
        ----------
        path : str or path-like, default=None
            Where to save the figure (PNG); None only returns it.
        n_rows : int, default=6
            How many forgotten rows' confidence distributions to draw.

        Returns
        -------
        figure : matplotlib.figure.Figure
        """
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        shown = min(n_rows, self.n_rows)
        fig, axes = plt.subplots(1 + shown, 1, figsize=(9, 2.2 * (1 + shown)), squeeze=False)
        ax = axes[0, 0]
        width = 0.8 / max(1, len(self.methods))
        for i, r in enumerate(self.methods.values()):
            ax.bar(np.arange(self.n_rows) + i * width, r.quality.epsilons, width, label=r.name)
        ax.set_ylabel("epsilon per row")
        ax.set_xlabel("forgotten row")
        ax.legend(fontsize="small", ncol=3)
        for j in range(shown):
            ax = axes[1 + j, 0]
            ax.hist(self.retrained_confidences[:, j], bins=20, alpha=0.5, label="retrained")
            for r in self.methods.values():
                if r.name != "retrain":
                    ax.hist(r.confidences[:, j], bins=20, alpha=0.4, histtype="step", label=r.name)
            ax.set_ylabel(f"row {j}")
        axes[-1, 0].set_xlabel("logit-scaled confidence of the row's label")
        axes[1, 0].legend(fontsize="small", ncol=3)
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=100)
        return fig


# ------------------------------------------------------------------ one model
def _outcome(
    estimator: Any, classes: np.ndarray, data: Mapping[str, np.ndarray], seconds: float
) -> dict[str, Any]:
    """What the evaluation keeps of one model: confidences, accuracies, time."""
    adapter = adapter_for(estimator, classes)
    proba = adapter.class_probabilities(data["X_forget"])
    columns = np.searchsorted(classes, data["y_forget"])

    def accuracy(X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(adapter.predict(X) == y))

    return {
        "confidences": logit_scaled_confidence(proba, columns),
        "retain": accuracy(data["X_retain"], data["y_retain"]),
        "test": accuracy(data["X_test"], data["y_test"]),
        "forget": float(np.mean(classes[proba.argmax(axis=1)] == data["y_forget"])),
        "seconds": seconds,
    }


def _retrained(template: Any, classes: np.ndarray, data: Mapping[str, Any], seed: int) -> Any:
    """Train one model on the retained rows and keep its outcome (a joblib task)."""
    start = time.perf_counter()
    model = BASELINES["retrain"](template, classes, data, seed)
    return _outcome(model, classes, data, time.perf_counter() - start)


def _unlearned(
    original: Any,
    method: Callable[..., Any],
    data: Mapping[str, np.ndarray],
    seed: int,
) -> dict[str, Any]:
    """Copy the original, unlearn with ``method`` and keep the outcome (a thread task)."""
    copied = copy.deepcopy(original)
    start = time.perf_counter()
    estimator, classes = method(copied, data, seed)
    return _outcome(estimator, classes, data, time.perf_counter() - start)


def _wrapper_method(params: Mapping[str, Any]) -> Callable[..., Any]:
    """Unlearning by ``forget`` on a copy of the fitted wrapper, with ``params`` set."""
    settings = dict(params)
    reference = settings.pop("reference", None)

    def run(clf: Any, data: Mapping[str, np.ndarray], seed: int) -> tuple[Any, np.ndarray]:
        clf.set_params(**settings, random_state=seed, ledger_path=None, verbose=0)
        clf.forget(data["X_forget"], data["y_forget"], reference=reference)
        return clf.estimator_, clf.classes_

    return run


def _baseline_method(name: str) -> Callable[..., Any]:
    baseline = BASELINES[name]

    def run(clf: Any, data: Mapping[str, np.ndarray], seed: int) -> tuple[Any, np.ndarray]:
        return baseline(clf.estimator_, clf.classes_, data, seed), clf.classes_

    return run


def _progress(tasks: Iterable[Any], total: int, verbose: int, desc: str) -> Iterable[Any]:
    if verbose <= 0:
        return tasks
    from tqdm import tqdm

    return tqdm(tasks, total=total, desc=desc, unit="model", file=sys.stderr)


# ---------------------------------------------------------------- the harness
def evaluate_unlearning(
    estimator: Any,
    X: ArrayLike,
    y: ArrayLike,
    forget: ArrayLike,
    *,
    X_test: ArrayLike,
    y_test: ArrayLike,
    methods: Mapping[str, Mapping[str, Any] | Callable[..., Any]] | None = None,
    baselines: Iterable[str] = ("retrain", "none", "finetune", "neggrad+"),
    n_models: int = 64,
    efficiency_gate: float = EFFICIENCY_GATE,
    delta: float = 1e-5,
    n_jobs: int | None = None,
    random_state: int = 0,
    verbose: int = 0,
) -> UnlearningEvaluation:
    """Measure forgetting against ``n_models`` models retrained without the forget rows.

    Parameters
    ----------
    estimator : UnlearnableClassifier
        The recipe (unfitted; it is cloned). Its inner estimator's
        ``random_state``, where it has one, is set per model.
    X, y : array-like
        The training rows and labels.
    forget : array-like of int or bool
        Which training rows are forgotten (indices, or a mask over ``X``).
    X_test, y_test : array-like
        Rows no model trains on, for the test accuracy.
    methods : dict, default=None
        Name to either a dict of ``UnlearnableClassifier`` parameters for the
        ``forget`` of a copy of the original (an ``"reference"`` entry, an
        :class:`~sk_unlearn.OutOfFoldReference`, is passed to ``forget`` for
        calibrated stopping, built once from the original), or a callable
        ``method(clf, data, seed) -> (estimator, classes)`` taking a copy of
        the fitted original wrapper. None: ``{"sk-unlearn defaults": {}}``.
    baselines : iterable of str, default=("retrain", "none", "finetune", "neggrad+")
        Baselines run beside the methods (see ``sk_unlearn._baselines``).
        ``"retrain"`` retrains ``n_models`` more models with other seeds: the
        score retraining itself gets against the reference, at this number of
        models.
    n_models : int, default=64
        Models per group (the challenge's evaluation used 512).
    efficiency_gate : float, default=0.2
        Share of one retraining's time above which a method fails the gate.
    delta : float, default=1e-5
    n_jobs : int or None, default=None
        Parallel trainings and unlearning runs.
    random_state : int, default=0
        Seeds everything: the original, the retrained models, the runs.
    verbose : int, default=0
        Progress bars on stderr when above 0.

    Returns
    -------
    evaluation : UnlearningEvaluation

    Examples
    --------
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sk_unlearn import UnlearnableClassifier
    >>> from sk_unlearn.datasets import load_digits_split
    >>> from sk_unlearn.evaluation import evaluate_unlearning
    >>> d = load_digits_split()
    >>> clf = UnlearnableClassifier(SGDClassifier(loss="log_loss"))
    >>> result = evaluate_unlearning(clf, d.X_train, d.y_train, range(10), X_test=d.X_test,
    ...                              y_test=d.y_test, n_models=8, baselines=["retrain"])
    >>> sorted(result.methods)
    ['retrain', 'sk-unlearn defaults']
    >>> 0 <= result["sk-unlearn defaults"].F <= 1
    True
    """
    X_arr, y_arr = np.asarray(X), np.asarray(y)
    chosen = np.asarray(forget)
    if chosen.dtype == bool and chosen.shape == y_arr.shape:
        mask = chosen.copy()
    else:
        mask = np.zeros(len(y_arr), dtype=bool)
        mask[chosen.astype(np.intp)] = True
    if not 0 < mask.sum() < len(y_arr):
        raise ValueError("forget must name at least one training row and leave some.")
    if n_models < 4:
        raise ValueError(f"n_models must be at least 4 (U-LiRA splits them), got {n_models}.")
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise ValueError(f"Unknown baseline(s) {sorted(unknown)}; known: {sorted(BASELINES)}.")
    data = {
        "X_retain": X_arr[~mask],
        "y_retain": y_arr[~mask],
        "X_forget": X_arr[mask],
        "y_forget": y_arr[mask],
        "X_test": np.asarray(X_test),
        "y_test": np.asarray(y_test),
    }
    seeds = np.random.default_rng(random_state).integers(0, 2**31 - 1, size=(3, n_models))
    original = clone(estimator).set_params(random_state=int(seeds[0, 0]))
    inner = original.estimator
    if "random_state" in inner.get_params(deep=False):
        inner.set_params(random_state=int(seeds[0, 1]))
    original.fit(X_arr, y_arr)
    classes = original.classes_
    template = original.estimator  # the inner recipe, seeded per retrained model

    def retrain_all(row: int, desc: str) -> list[dict[str, Any]]:
        tasks = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_retrained)(template, classes, data, int(s)) for s in seeds[row]
        )
        return list(_progress(tasks, n_models, verbose, desc))

    reference_runs = retrain_all(1, "retraining (reference)")
    retrained = np.array([r["confidences"] for r in reference_runs])
    retrain_seconds = float(np.median([r["seconds"] for r in reference_runs]))
    retrain_accuracy = (
        float(np.mean([r["retain"] for r in reference_runs])),
        float(np.mean([r["test"] for r in reference_runs])),
    )

    plan: dict[str, Callable[..., Any] | None] = {}
    for name, spec in (methods or {"sk-unlearn defaults": {}}).items():
        if callable(spec):
            plan[name] = spec
        else:
            reference = spec.get("reference")
            if isinstance(reference, OutOfFoldReference):  # built once, from the original
                original.certify(data["X_forget"], data["y_forget"], reference=reference)
            plan[name] = _wrapper_method(spec)
    for name in baselines:
        plan[name] = None if name == "retrain" else _baseline_method(name)

    results: dict[str, MethodResult] = {}
    for name, method in plan.items():
        if method is None:
            runs = retrain_all(2, "retraining (baseline)")
        else:
            tasks = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
                delayed(_unlearned)(original, method, data, int(s)) for s in seeds[2]
            )
            runs = list(_progress(tasks, n_models, verbose, name))
        confidences = np.array([r["confidences"] for r in runs])
        quality = forgetting_quality(retrained, confidences, delta=delta)
        seconds = float(np.median([r["seconds"] for r in runs]))
        retain_acc = float(np.mean([r["retain"] for r in runs]))
        test_acc = float(np.mean([r["test"] for r in runs]))
        share = seconds / retrain_seconds
        results[name] = MethodResult(
            name=name,
            quality=quality,
            ulira_auc=ulira_auc(retrained, confidences, random_state=random_state),
            score=challenge_score(
                quality.F, (retain_acc, retrain_accuracy[0]), (test_acc, retrain_accuracy[1])
            ),
            retain_accuracy=retain_acc,
            test_accuracy=test_acc,
            forget_accuracy=float(np.mean([r["forget"] for r in runs])),
            seconds=seconds,
            time_share=share,
            passes_gate=share <= efficiency_gate,
            confidences=confidences,
        )
    return UnlearningEvaluation(
        methods=results,
        retrained_confidences=retrained,
        retrain_seconds=retrain_seconds,
        retrain_accuracy=retrain_accuracy,
        n_models=n_models,
        n_rows=int(mask.sum()),
        efficiency_gate=efficiency_gate,
        original=original,
    )
