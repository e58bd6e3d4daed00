"""GridSearchCV over an UnlearnableClassifier on a Dask cluster, through joblib's Dask backend."""

from __future__ import annotations

import joblib
import numpy as np
from distributed import Client, get_task_stream
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV

from sk_unlearn import UnlearnableClassifier
from sk_unlearn.metrics import make_unlearning_scorer


def _search(n_jobs: int | None) -> GridSearchCV:
    return GridSearchCV(
        UnlearnableClassifier(SGDClassifier(loss="log_loss", random_state=0), random_state=0),
        {"unlearning_rate": [1e-4, 1e-1], "estimator__alpha": [1e-4, 1e-2]},
        scoring=make_unlearning_scorer(forget_fraction=0.02, random_state=0),
        cv=2,
        n_jobs=n_jobs,
    )


def test_grid_search_on_an_in_process_dask_cluster_matches_the_sequential_run(digits):
    X, y = digits.X_train, digits.y_train
    sequential = _search(n_jobs=None).fit(X, y)

    with (
        Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None),
        get_task_stream() as tasks,
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = _search(n_jobs=-1).fit(X, y)

    assert len(tasks.data) >= 8  # 4 candidates x 2 folds ran as tasks on the cluster
    assert on_dask.best_params_ == sequential.best_params_
    for key in ("params", "mean_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_array_equal(on_dask.cv_results_[key], sequential.cv_results_[key])
    X_test = digits.X_test
    np.testing.assert_array_equal(
        on_dask.best_estimator_.predict_proba(X_test),
        sequential.best_estimator_.predict_proba(X_test),
    )
    # The refitted winner still forgets.
    on_dask.best_estimator_.forget(X[:3], y[:3])
    assert on_dask.best_estimator_.n_forgotten_ == 3
