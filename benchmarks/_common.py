"""Shared pieces of the benchmark scripts: request batches, statistics, provenance."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import sk_unlearn

REPO_ROOT = Path(__file__).resolve().parent.parent


class RequestBatches:
    """The mini-batch a request is served with, built outside any timed region.

    ``n_relabels`` copies of the row with distinct wrong labels plus up to
    ``n_replay`` other rows of its class, drawn as the library draws them.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        n_relabels: int,
        n_replay: int,
        seed: int,
    ) -> None:
        self.X, self.y, self.classes = X, y, classes
        self.n_relabels, self.n_replay = n_relabels, n_replay
        self.rng = np.random.RandomState(seed)
        self.by_class = {c: np.flatnonzero(y == c) for c in classes}

    def __call__(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        x, label = self.X[row], self.y[row]
        wrong = self.classes[self.classes != label]
        wrong = wrong[self.rng.choice(wrong.size, size=self.n_relabels, replace=False)]
        members = self.by_class[label]
        members = members[members != row]
        replay = members[
            self.rng.choice(members.size, size=min(self.n_replay, members.size), replace=False)
        ]
        X_batch = np.concatenate([np.repeat(x[None, :], self.n_relabels, axis=0), self.X[replay]])
        return X_batch, np.concatenate([wrong, self.y[replay]])


def paper_net(epochs: int, device: str, side: int = 28) -> Any:
    """The paper's recipe: skorch ``MnistCNN``, cross-entropy, AdaDelta lr 1.0, batch 64."""
    import torch
    from skorch import NeuralNetClassifier

    from sk_unlearn.nets import MnistCNN

    return NeuralNetClassifier(
        MnistCNN,
        module__side=side,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adadelta,
        lr=1.0,
        max_epochs=epochs,
        batch_size=64,
        train_split=None,
        device=device,
        verbose=0,
    )


def ms_stats(seconds: list[float] | np.ndarray) -> dict[str, float]:
    """Median, 10th and 90th percentile, mean (milliseconds) and count."""
    ms = np.asarray(seconds, dtype=float) * 1e3
    return {
        "median": float(np.median(ms)),
        "p10": float(np.percentile(ms, 10)),
        "p90": float(np.percentile(ms, 90)),
        "mean": float(np.mean(ms)),
        "n": int(ms.size),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def git_revision() -> str:
    """Short commit hash, flagged when the code in the working tree has uncommitted changes."""
    try:

        def git(*args: str) -> str:
            return subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()

        # Reports under benchmarks/results are outputs, not code: a run that just
        # rewrote one does not make the next run's code "uncommitted".
        dirty = git(
            "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results"
        )
        return git("rev-parse", "--short", "HEAD") + (" (uncommitted changes)" if dirty else "")
    except Exception:  # noqa: BLE001 - informational only
        return "unknown"


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that reproduces this run."""
    if argv is None:
        return shlex.join(["python", *sys.argv])
    rel = os.path.relpath(Path(script).resolve(), REPO_ROOT)
    return shlex.join(["python", rel, *argv]) + "   # via main(argv) in-process"


def provenance(
    title: str,
    script: str,
    argv: list[str] | None,
    seed: int,
    extra: list[str],
    when: str = "when the report was written",
) -> list[str]:
    """A report's heading: command, date, hardware, versions, seed, then ``extra``.

    ``when`` says when the date, the git revision and the load average were taken.
    """
    import sklearn

    date = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    return [
        f"# {title}",
        "",
        f"- Command: `{command_line(script, argv)}`",
        f"- Date: {date}",
        f"- Hardware: processor={platform.processor() or 'unknown'!r}, "
        f"os.cpu_count()={os.cpu_count()}, platform={platform.platform()}",
        f"- Versions: python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, sk_unlearn {sk_unlearn.__version__} "
        f"(git {git_revision()})",
        f"- Load average (1, 5, 15 min) {when}: {', '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"- Seed: {seed}",
        *[f"- {line}" for line in extra],
    ]


def write_report(lines: list[str], out: Path) -> None:
    """Print the report and write it to ``out``."""
    text = "\n".join(lines) + "\n"
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
