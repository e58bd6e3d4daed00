"""The evaluation harness: many retrained models against many unlearning runs, with baselines."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import MultinomialNB

from sk_unlearn import UnlearnableClassifier
from sk_unlearn._forgetting_quality import row_epsilon
from sk_unlearn.evaluation import evaluate_unlearning

FORGET = np.arange(0, 60, 3)  # 20 rows


def _evaluate(digits, estimator, **kwargs):
    params = dict(X_test=digits.X_test, y_test=digits.y_test, n_models=8, random_state=0)
    return evaluate_unlearning(
        estimator, digits.X_train, digits.y_train, FORGET, **{**params, **kwargs}
    )


@pytest.fixture(scope="module")
def sgd_result(digits):
    clf = UnlearnableClassifier(SGDClassifier(loss="log_loss"))
    return _evaluate(digits, clf, methods={"defaults": {}, "uniform": {"relabel": "uniform"}})


def test_every_method_and_baseline_is_measured(sgd_result):
    assert list(sgd_result.methods) == [
        "defaults",
        "uniform",
        "retrain",
        "none",
        "finetune",
        "neggrad+",
    ]
    assert sgd_result.retrained_confidences.shape == (8, 20)
    for r in sgd_result.methods.values():
        assert r.confidences.shape == (8, 20)
        assert 0 <= r.F <= 1 and 0 <= r.ulira_auc <= 1
        assert r.quality.epsilons.shape == (20,)
        assert r.score == pytest.approx(
            r.F
            * r.retain_accuracy
            / sgd_result.retrain_accuracy[0]
            * r.test_accuracy
            / sgd_result.retrain_accuracy[1]
        )
        assert r.passes_gate == (r.time_share <= sgd_result.efficiency_gate)
    table = sgd_result.table()
    assert table.count("\n") == 1 + len(sgd_result.methods)


def test_the_baselines_bracket_the_methods(sgd_result):
    none, retrain = sgd_result["none"], sgd_result["retrain"]
    # Without unlearning every run is the same model: a spike the attacker always finds.
    assert none.F == 0.0
    assert (none.confidences == none.confidences[0]).all()
    # Retraining against retraining: the best any method can score at 8 models.
    assert retrain.F > none.F
    assert retrain.ulira_auc < 0.75
    assert none.time_share == pytest.approx(0.0, abs=0.01)


def test_an_exact_method_scores_like_retraining(digits):
    result = _evaluate(digits, UnlearnableClassifier(MultinomialNB()), baselines=["retrain"])
    exact, retrain = result["sk-unlearn defaults"], result["retrain"]
    # Deterministic both ways and equal to rounding: no attacker can tell them apart.
    assert exact.F == retrain.F == 1.0
    assert np.allclose(exact.confidences, result.retrained_confidences, rtol=1e-9)


def test_the_same_seed_gives_the_same_evaluation(digits, sgd_result):
    again = _evaluate(
        digits,
        UnlearnableClassifier(SGDClassifier(loss="log_loss")),
        methods={"defaults": {}, "uniform": {"relabel": "uniform"}},
    )
    for name, r in sgd_result.methods.items():
        np.testing.assert_array_equal(again[name].confidences, r.confidences)
        assert again[name].F == r.F


def test_unlearning_runs_differ_by_seed(sgd_result):
    runs = sgd_result["uniform"].confidences
    assert len({tuple(np.round(run, 12)) for run in runs}) == len(runs)


def test_the_plot_is_saved(sgd_result, tmp_path):
    path = tmp_path / "evaluation.png"
    figure = sgd_result.plot(path, n_rows=3)
    assert path.stat().st_size > 10_000
    assert len(figure.axes) == 4


def test_bad_arguments_are_refused(digits):
    clf = UnlearnableClassifier(SGDClassifier())
    with pytest.raises(ValueError, match="at least 4"):
        _evaluate(digits, clf, n_models=3)
    with pytest.raises(ValueError, match="Unknown baseline"):
        _evaluate(digits, clf, baselines=["retrain", "magic"])
    with pytest.raises(ValueError, match="at least one training row"):
        evaluate_unlearning(
            clf, digits.X_train, digits.y_train, [], X_test=digits.X_test, y_test=digits.y_test
        )


def test_rounding_is_not_a_difference():
    assert row_epsilon([1.0, 1.0], [1.0 + 1e-13, 1.0 + 1e-13]) == 0.0
    assert row_epsilon([1.0, 1.0], [1.001, 1.001]) == 50.0


def test_a_changed_random_state_reseeds_the_next_forget(digits):
    X, y = digits.X_train, digits.y_train
    fitted = UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), relabel="uniform", random_state=0
    ).fit(X, y)
    import copy

    same, other = copy.deepcopy(fitted), copy.deepcopy(fitted)
    fitted.forget(X[:5], y[:5])
    same.set_params(random_state=0).forget(X[:5], y[:5])
    other.set_params(random_state=1).forget(X[:5], y[:5])
    np.testing.assert_array_equal(same.estimator_.coef_, fitted.estimator_.coef_)
    assert not np.array_equal(other.estimator_.coef_, fitted.estimator_.coef_)
