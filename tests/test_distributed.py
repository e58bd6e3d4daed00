"""GridSearchCV and the evaluation harness on a Dask cluster, through joblib's Dask backend.

The assertions are on results (equal to the sequential run), never on how the
scheduler split the work: task counts vary from run to run.
"""

from __future__ import annotations

import joblib
import numpy as np
from distributed import Client
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
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = _search(n_jobs=-1).fit(X, y)

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


def test_the_evaluation_harness_on_dask_matches_the_sequential_run(digits):
    from sk_unlearn.evaluation import evaluate_unlearning

    def evaluate(n_jobs):
        return evaluate_unlearning(
            UnlearnableClassifier(SGDClassifier(loss="log_loss")),
            digits.X_train,
            digits.y_train,
            np.arange(10),
            X_test=digits.X_test,
            y_test=digits.y_test,
            baselines=["retrain"],
            n_models=4,
            n_jobs=n_jobs,
        )

    sequential = evaluate(None)
    with (
        Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None),
        joblib.parallel_config(backend="dask"),
    ):
        on_dask = evaluate(-1)
    np.testing.assert_array_equal(on_dask.retrained_confidences, sequential.retrained_confidences)
    for name, result in sequential.methods.items():
        np.testing.assert_array_equal(on_dask[name].confidences, result.confidences)
        assert on_dask[name].F == result.F


def test_sharded_training_and_removal_on_dask_match_the_sequential_run(digits):
    from sk_unlearn import ShardedClassifier

    X, y = digits.X_train, digits.y_train

    def run(n_jobs):
        clf = UnlearnableClassifier(
            ShardedClassifier(
                SGDClassifier(loss="log_loss", random_state=0),
                n_shards=4,
                n_slices=2,
                n_jobs=n_jobs,
                random_state=0,
            )
        ).fit(X, y)
        fitted = clf.predict_proba(digits.X_test)
        clf.forget(X[:40], y[:40])  # several shards retrained in one call
        return fitted, clf

    fitted, sequential = run(None)
    with (
        Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None),
        joblib.parallel_config(backend="dask"),
    ):
        fitted_dask, on_dask = run(-1)
    np.testing.assert_array_equal(fitted_dask, fitted)
    np.testing.assert_array_equal(
        on_dask.predict_proba(digits.X_test), sequential.predict_proba(digits.X_test)
    )
    assert [(r.shard, r.slice) for r in on_dask.deletion_log_] == [
        (r.shard, r.slice) for r in sequential.deletion_log_
    ]
