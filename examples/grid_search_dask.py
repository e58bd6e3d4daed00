"""
Grid search over learning and unlearning rates, on a Dask cluster
=================================================================

``GridSearchCV`` tunes the rate the model learns with (``estimator__eta0``,
a constant SGD schedule) together with the rate it forgets with
(``unlearning_rate``). Each candidate is scored by
:func:`~sk_unlearn.metrics.make_unlearning_scorer`: on a copy of the fitted
candidate it forgets 2% of its training rows, then multiplies the copy's
validation accuracy by how much the forgotten rows look like never-seen rows
to a membership attack (1 when indistinguishable).

The fits run on a Dask cluster through joblib's Dask backend: scikit-learn
hands every (candidate, fold) to joblib, and joblib to the cluster's workers.
Nothing else changes. Without ``--scheduler`` the script starts a small
in-process cluster; point it at a real one with the scheduler's address
(every worker needs ``sk-unlearn`` installed)::

    python examples/grid_search_dask.py
    python examples/grid_search_dask.py --scheduler tcp://scheduler:8786

Runs on scikit-learn's embedded 8x8 digits (nothing to download).
"""

from __future__ import annotations

import argparse
import time

import joblib
from distributed import Client
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.datasets import load_digits_split
from sk_unlearn.metrics import make_unlearning_scorer

GRID = {"estimator__eta0": [0.01, 0.1], "unlearning_rate": [1e-4, 1e-3, 1e-2, 1e-1]}


def main(scheduler: str | None = None) -> dict[str, object]:
    data = load_digits_split(random_state=0)
    search = GridSearchCV(
        UnlearnableClassifier(
            SGDClassifier(loss="log_loss", learning_rate="constant", random_state=0),
            random_state=0,
        ),
        GRID,
        scoring=make_unlearning_scorer(forget_fraction=0.02, random_state=0),
        cv=3,
        n_jobs=-1,  # as many tasks at once as the cluster has worker threads
    )
    if scheduler is None:  # a small cluster in this process, for the demonstration
        client = Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None)
    else:
        client = Client(scheduler)
    start = time.perf_counter()
    with client, joblib.parallel_config(backend="dask"):
        search.fit(data.X_train, data.y_train)
        workers = len(client.scheduler_info()["workers"])
    seconds = time.perf_counter() - start

    cv = search.cv_results_
    print(f"{len(cv['params'])} candidates x 3 folds on {workers} Dask workers, {seconds:.1f} s")
    print(f"{'eta0':>6} {'unlearning_rate':>16} {'score':>7}")
    for params, score in zip(cv["params"], cv["mean_test_score"]):
        print(f"{params['estimator__eta0']:>6g} {params['unlearning_rate']:>16g} {score:>7.3f}")
    best = search.best_estimator_
    print(f"best: {search.best_params_}")
    print(f"its test accuracy: {best.score(data.X_test, data.y_test):.3f}")
    print(
        f"\nWhat this shows: an unchanged GridSearchCV ran its {len(cv['params']) * 3} fits, "
        f"each scored by forgetting rows, on {workers} Dask workers through joblib's Dask "
        "backend; pass --scheduler tcp://host:8786 and the same code runs on a real cluster."
    )
    return {
        "best_params": search.best_params_,
        "cv_results": cv,
        "n_workers": workers,
        "test_acc": best.score(data.X_test, data.y_test),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="GridSearchCV on a Dask cluster.")
    parser.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786")
    main(scheduler=parser.parse_args().scheduler)
