"""``sample_weight`` in ``fit``/``partial_fit``: kept with the rows, used by retrain and replay."""

import pickle

import numpy as np
import pytest
import sklearn
from conftest import state_bytes
from sklearn.base import clone
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import PassiveAggressiveClassifier, SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_unlearn import CertifiedLogisticRegression, ShardedClassifier, UnlearnableClassifier


def _sgd(**kwargs):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, **kwargs
    )


@pytest.fixture
def data(digits):
    X, y = digits.X_train[:400], digits.y_train[:400]
    weights = np.random.default_rng(0).integers(1, 4, size=len(y)).astype(float)
    return X, y, weights


def test_fit_passes_the_weights_to_the_estimator(data):
    X, y, w = data
    clf = _sgd().fit(X, y, sample_weight=w)
    raw = SGDClassifier(loss="log_loss", random_state=0).fit(X, y, sample_weight=w)
    unweighted = SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    assert np.array_equal(clf.estimator_.coef_, raw.coef_)
    assert not np.array_equal(raw.coef_, unweighted.coef_)  # the weights matter here


def test_retrain_uses_the_retained_rows_weights(data):
    X, y, w = data
    clf = _sgd().fit(X, y, sample_weight=w).forget(X[:30], y[:30]).retrain()
    raw = SGDClassifier(loss="log_loss", random_state=0).fit(X[30:], y[30:], sample_weight=w[30:])
    assert np.array_equal(clf.estimator_.coef_, raw.coef_)


def test_retrain_after_partial_fit_keeps_each_batchs_weights(data):
    X, y, w = data
    classes = np.unique(y)
    clf = _sgd().partial_fit(X[:200], y[:200], classes=classes)  # no weights: each weighs 1
    clf.partial_fit(X[200:], y[200:], sample_weight=w[200:])
    clf.retrain()
    expected = np.concatenate([np.ones(200), w[200:]])
    raw = SGDClassifier(loss="log_loss", random_state=0).fit(X, y, sample_weight=expected)
    assert np.array_equal(clf.estimator_.coef_, raw.coef_)


def test_weights_survive_pickling(data):
    X, y, w = data
    clf = pickle.loads(pickle.dumps(_sgd().fit(X, y, sample_weight=w))).retrain()
    raw = SGDClassifier(loss="log_loss", random_state=0).fit(X, y, sample_weight=w)
    assert np.array_equal(clf.estimator_.coef_, raw.coef_)


@pytest.mark.parametrize(
    "estimator", [MultinomialNB(), ComplementNB(), BernoulliNB(binarize=0.5)], ids=type
)
def test_exact_removal_subtracts_a_weighted_row_by_its_weight(data, estimator):
    X, y, w = data
    clf = UnlearnableClassifier(clone(estimator)).fit(X, y, sample_weight=w)
    clf.forget(X[:40], y[:40])
    fresh = clone(estimator).fit(X[40:], y[40:], sample_weight=w[40:])
    unweighted = clone(estimator).fit(X[40:], y[40:])
    assert clf.deletion_log_[0].guarantee == "exact"
    assert np.allclose(clf.predict_proba(X), fresh.predict_proba(X), atol=1e-8)
    assert not np.allclose(fresh.predict_proba(X), unweighted.predict_proba(X), atol=1e-3)


def test_exact_removal_of_categorical_rows_by_their_weight(data):
    X, y, w = data
    Xc = (X * 4).astype(int)
    clf = UnlearnableClassifier(CategoricalNB(min_categories=5)).fit(Xc, y, sample_weight=w)
    clf.forget(Xc[:40], y[:40])
    fresh = CategoricalNB(min_categories=5).fit(Xc[40:], y[40:], sample_weight=w[40:])
    assert np.allclose(clf.predict_proba(Xc), fresh.predict_proba(Xc), atol=1e-8)


def _gaussian_equal(ours, fresh):
    for name in ("theta_", "var_", "class_count_", "class_prior_"):
        assert np.allclose(getattr(ours, name), getattr(fresh, name), rtol=1e-9, atol=1e-9), name
    assert np.isclose(ours.epsilon_, fresh.epsilon_, rtol=1e-9)


def test_gaussian_nb_removes_weighted_rows_exactly(data):
    X, y, w = data
    w = w.copy()
    w[50:60] = 0.0  # rows of no weight: in the smoothing, not in the class statistics
    clf = UnlearnableClassifier(GaussianNB()).fit(X, y, sample_weight=w)
    clf.forget(X[:60], y[:60])
    fresh = GaussianNB().fit(X[60:], y[60:], sample_weight=w[60:])
    assert clf.deletion_log_[0].guarantee == "exact"
    _gaussian_equal(clf.estimator_, fresh)
    assert not np.allclose(fresh.theta_, GaussianNB().fit(X[60:], y[60:]).theta_, atol=1e-3)


def test_gaussian_nb_weighted_batches_then_removal_match_a_fresh_fit(data):
    X, y, w = data
    clf = UnlearnableClassifier(GaussianNB())
    for start in range(0, 400, 100):
        part = slice(start, start + 100)
        clf.partial_fit(X[part], y[part], classes=np.arange(10), sample_weight=w[part])
    whole_class = np.flatnonzero(y == 3)
    clf.forget(X[whole_class], y[whole_class])
    first = np.setdiff1d(np.arange(30), whole_class)
    clf.forget(X[first], y[first])
    keep = np.setdiff1d(np.arange(400), np.r_[whole_class, first])
    fresh = GaussianNB().partial_fit(X[keep], y[keep], np.arange(10), sample_weight=w[keep])
    assert clf.estimator_.class_count_[3] == fresh.class_count_[3] == 0.0
    for name in ("theta_", "class_count_", "class_prior_"):
        assert np.allclose(getattr(clf.estimator_, name), getattr(fresh, name), atol=1e-9), name
    classes_left = np.flatnonzero(fresh.class_count_)
    assert np.allclose(clf.estimator_.var_[classes_left], fresh.var_[classes_left], rtol=1e-9)
    assert np.isclose(clf.estimator_.epsilon_, fresh.epsilon_, rtol=1e-9)
    assert np.allclose(clf.predict_proba(X[keep]), fresh.predict_proba(X[keep]), atol=1e-8)


def test_gaussian_nb_weighted_moments_survive_pickling_and_retrain(data):
    X, y, w = data
    clf = UnlearnableClassifier(GaussianNB()).fit(X, y, sample_weight=w)
    loaded = pickle.loads(pickle.dumps(clf))
    loaded.forget(X[:20], y[:20])
    _gaussian_equal(loaded.estimator_, GaussianNB().fit(X[20:], y[20:], sample_weight=w[20:]))
    loaded.retrain()
    _gaussian_equal(loaded.estimator_, GaussianNB().fit(X[20:], y[20:], sample_weight=w[20:]))


def test_replayed_rows_carry_their_weights_and_copies_the_rows(data, recorded_batches):
    X, y, _ = data
    w = np.where(y == y[0], 4.0, 1.0)  # the forgotten row's class weighs 4
    w[0] = 5.0
    clf = _sgd(relabel="uniform", n_relabels=3, n_replay=8).fit(X, y, sample_weight=w)
    clf.forget(X[:1], y[:1])
    (batch_X, batch_y, _, batch_w) = recorded_batches[-1]
    assert np.array_equal(batch_w[:3], [5.0, 5.0, 5.0])  # each copy: the row's weight
    assert np.array_equal(batch_w[3:], np.full(8, 4.0))  # replayed: their own weights


def test_unweighted_models_keep_their_batches_unweighted(data, recorded_batches):
    X, y, _ = data
    _sgd(relabel="uniform", n_replay=4).fit(X, y).forget(X[:1], y[:1])
    assert recorded_batches[-1][3] is None


def test_certify_trains_its_retrain_reference_with_the_weights(data):
    X, y, w = data
    clf = _sgd().fit(X, y, sample_weight=w).forget(X[:10], y[:10])
    clf.certify(X[:10])
    naive = clf._reference_cache[1]
    raw = SGDClassifier(loss="log_loss", random_state=0).fit(X[10:], y[10:], sample_weight=w[10:])
    assert np.array_equal(naive.coef_, raw.coef_)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: UnlearnableClassifier(PassiveAggressiveClassifier()), "takes no sample_weight"),
        (
            lambda: UnlearnableClassifier(ShardedClassifier(SGDClassifier(loss="log_loss"))),
            "sample_weight",
        ),
        (lambda: UnlearnableClassifier(CertifiedLogisticRegression()), "sample_weight"),
        (
            lambda: UnlearnableClassifier(PassiveAggressiveClassifier(), method="relabel"),
            "takes no sample_weight",
        ),
    ],
    ids=["no-weights-estimator", "sharded", "certified", "relabel-step"],
)
def test_estimators_that_cannot_take_weights_refuse_them_and_change_nothing(data, make, match):
    X, y, w = data
    clf = make().fit(X, y)
    before = state_bytes(clf)
    with pytest.raises(TypeError, match=match):
        clf.fit(X, y, sample_weight=w)
    assert state_bytes(clf) == before
    if hasattr(clf, "partial_fit"):
        with pytest.raises(TypeError, match=match):
            clf.partial_fit(X[:5], y[:5], sample_weight=w[:5])
        assert state_bytes(clf) == before


@pytest.mark.parametrize(
    ("weights", "error", "match"),
    [
        (-np.ones(400), ValueError, "[Nn]egative"),
        (np.ones(399), ValueError, "shape|length|samples"),
        (np.full(400, np.nan), ValueError, "NaN|finite|infinity"),
    ],
    ids=["negative", "short", "nan"],
)
def test_bad_weights_are_refused_and_change_nothing(data, weights, error, match):
    X, y, w = data
    clf = _sgd().fit(X, y, sample_weight=w)
    before = state_bytes(clf)
    with pytest.raises(error, match=match):
        clf.fit(X, y, sample_weight=weights)
    with pytest.raises(error, match=match):
        clf.partial_fit(X, y, sample_weight=weights)
    assert state_bytes(clf) == before


def test_pipeline_passes_weights_by_step_name_and_by_routing(data):
    X, y, w = data
    raw = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=0))
    raw.fit(X, y, sgdclassifier__sample_weight=w)
    pipe = make_pipeline(StandardScaler(), _sgd())
    pipe.fit(X, y, unlearnableclassifier__sample_weight=w)
    assert np.array_equal(pipe[-1].estimator_.coef_, raw[-1].coef_)
    with sklearn.config_context(enable_metadata_routing=True):
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        routed = make_pipeline(scaler, _sgd().set_fit_request(sample_weight=True))
        routed.fit(X, y, sample_weight=w)
        assert np.array_equal(routed[-1].estimator_.coef_, raw[-1].coef_)
        with pytest.raises(UnsetMetadataPassedError, match="UnlearnableClassifier.fit"):
            make_pipeline(clone(scaler), _sgd()).fit(X, y, sample_weight=w)


def test_grid_search_routes_weights_to_every_candidate(data):
    X, y, w = data
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            _sgd().set_fit_request(sample_weight=True).set_score_request(sample_weight=False),
            {"n_replay": [0, 4]},
            cv=3,
        )
        search.fit(X, y, sample_weight=w)
    raw = SGDClassifier(loss="log_loss", random_state=0).fit(X, y, sample_weight=w)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert np.array_equal(search.best_estimator_.estimator_.coef_, raw.coef_)


def test_mlp_takes_weights_for_fit_and_replay(data):
    X, y, w = data
    mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=50, random_state=0)
    clf = UnlearnableClassifier(mlp, random_state=0).fit(X, y, sample_weight=w)
    raw = clone(mlp).fit(X, y, sample_weight=w)
    assert all(np.array_equal(a, b) for a, b in zip(clf.estimator_.coefs_, raw.coefs_))
    clf.forget(X[:3], y[:3])
    assert clf.n_retained_ == len(X) - 3


def test_a_forgotten_rows_weight_is_erased_with_it(data):
    X, y, w = data
    w = w.copy()
    w[7] = 7.123456789  # a weight no other row has
    clf = _sgd().fit(X, y, sample_weight=w)
    assert np.float64(w[7]).tobytes() in pickle.dumps(clf)
    clf.forget(X[7:8], y[7:8])
    assert np.float64(w[7]).tobytes() not in pickle.dumps(clf)


def test_gaussian_nb_fitted_before_moments_were_kept_derives_them(data):
    # Models saved before the moments were kept were unweighted (weights were refused then).
    X, y, _ = data
    clf = UnlearnableClassifier(GaussianNB()).fit(X, y)
    del clf.estimator_._unweighted_moments
    clf.forget(X[:25], y[:25])
    _gaussian_equal(clf.estimator_, GaussianNB().fit(X[25:], y[25:]))
