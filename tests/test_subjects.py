"""Forgetting by data-subject id: ``fit(..., sample_id=...)`` and ``forget(sample_id=...)``."""

import copy
import io
import pickle

import numpy as np
import pytest
import sklearn
from conftest import state_bytes
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_unlearn import (
    ShardedClassifier,
    UnknownRowError,
    UnlearnableClassifier,
    forget_through_pipeline,
    read_ledger,
    subject_hash,
)
from sk_unlearn._store import RowStore
from sk_unlearn._subjects import as_subject_ids, subject_bytes
from sk_unlearn.metrics import make_unlearning_scorer


def _sgd(**kwargs):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, **kwargs
    )


@pytest.fixture
def data(digits):
    X, y = digits.X_train[:300], digits.y_train[:300]
    ids = [f"customer-{i:04d}" for i in range(len(X))]
    return X, y, ids


# ------------------------------------------------------------------ ids
def test_forget_by_id_forgets_every_row_of_the_subject(data):
    X, y, _ = data
    ids = [i // 3 for i in range(len(X))]  # subject k owns rows 3k, 3k+1, 3k+2
    clf = _sgd().fit(X, y, sample_id=ids)
    clf.forget(sample_id=[5, 7])
    assert clf.n_retained_ == len(X) - 6
    assert clf.n_forgotten_ == 6
    for row in (15, 16, 17, 21, 22, 23):
        with pytest.raises(UnknownRowError):
            clf.forget(X[row : row + 1], y[row : row + 1])
    assert [r.subject for r in clf.deletion_log_] == [subject_hash(5)] * 3 + [subject_hash(7)] * 3


def test_identical_rows_of_two_subjects_are_told_apart(data):
    X, y, _ = data
    X2 = np.vstack([X, X[:1]])  # subject "twin" has customer-0000's exact row
    y2 = np.r_[y, y[:1]]
    clf = _sgd().fit(X2, y2, sample_id=[*range(len(X)), "twin"])
    clf.forget(sample_id="twin")
    assert clf.n_retained_ == len(X)
    clf.forget(sample_id=0)  # the other copy is still subject 0's
    with pytest.raises(UnknownRowError, match=r"sample_id\[0\] owns no retained row"):
        clf.forget(sample_id="twin")


def test_equal_ids_of_any_numpy_type_are_one_subject(data):
    X, y, _ = data
    clf = _sgd().fit(X, y, sample_id=np.arange(len(X), dtype=np.int32))
    clf.forget(sample_id=[np.int64(3), 4, 3])  # 3 named twice: one subject
    assert clf.n_forgotten_ == 2
    with pytest.raises(UnknownRowError):
        clf.forget(sample_id="5")  # the str "5" is not the int 5


def test_ledger_records_subject_and_ticket_never_the_id(tmp_path, data):
    X, y, ids = data
    path = tmp_path / "ledger.jsonl"
    clf = _sgd(ledger_path=path).fit(X, y, sample_id=ids)
    clf.forget(sample_id=ids[:2], ticket="DSR-2026-0042")
    clf.forget(X[2:3], y[2:3])
    records = clf.deletion_log_
    assert [r.ticket for r in records] == ["DSR-2026-0042"] * 2 + [None]
    assert [r.subject for r in records] == [subject_hash(ids[0]), subject_hash(ids[1]), None]
    text = path.read_text()
    assert "customer-0000" not in text and "customer-0001" not in text
    assert subject_hash(ids[0]) in text and "DSR-2026-0042" in text
    assert clf.verify_ledger().ok
    completed = [e for e in read_ledger(path) if e["event"] == "completed"]
    assert [e.get("subject") for e in completed] == [r.subject for r in records]
    assert [e.get("ticket") for e in completed] == [r.ticket for r in records]


def test_model_file_holds_no_id_in_clear(tmp_path, data):
    X, y, ids = data
    clf = _sgd().fit(X, y, sample_id=ids)
    blob = pickle.dumps(clf)
    assert b"customer-0" not in blob
    clf.save(tmp_path / "model.skops")
    loaded = UnlearnableClassifier.load(tmp_path / "model.skops")
    assert b"customer-0" not in (tmp_path / "model.skops").read_bytes()
    loaded.forget(sample_id=ids[10])
    assert loaded.n_retained_ == len(X) - 1


def test_forget_by_id_after_a_csv_round_trip(data):
    X, y, ids = data
    clf = _sgd().fit(X, y, sample_id=ids)
    buffer = io.StringIO()
    np.savetxt(buffer, X[:5], fmt="%.10f", delimiter=",")
    X_csv = np.loadtxt(io.StringIO(buffer.getvalue()), delimiter=",")
    before = state_bytes(clf)
    scaled = X_csv * 1.000001  # what a CSV of scaled values gives back: close, not equal
    with pytest.raises(UnknownRowError, match="differs from it only slightly.*sample_id"):
        clf.forget(scaled[:1], y[:1])
    assert state_bytes(clf) == before
    clf.forget(sample_id=ids[:5])
    assert clf.n_forgotten_ == 5


def test_float32_copy_of_a_float64_row_gets_the_near_match_hint(digits):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = np.arange(60) % 2
    clf = _sgd().fit(X, y, sample_id=range(60))
    with pytest.raises(UnknownRowError, match="only slightly"):
        clf.forget(X[:1].astype(np.float32), y[:1])
    with pytest.raises(UnknownRowError) as far:
        clf.forget(X[:1] + 10.0, y[:1])
    assert "only slightly" not in str(far.value)


def test_rows_learned_without_ids_are_forgotten_by_value_only(data):
    X, y, ids = data
    clf = _sgd()
    clf.partial_fit(X[:100], y[:100], classes=np.unique(y), sample_id=ids[:100])
    clf.partial_fit(X[100:200], y[100:200])  # no ids
    clf.forget(sample_id=ids[:10])
    clf.forget(X[150:151], y[150:151])
    assert clf.n_retained_ == 189
    with pytest.raises(UnknownRowError):
        clf.forget(sample_id=ids[150])  # never learned with an id


def test_forget_by_id_survives_retraining(data):
    X, y, ids = data
    clf = _sgd(retrain_after=2).fit(X, y, sample_id=ids)
    clf.forget(sample_id=ids[:2])  # retrains after the second
    assert clf.n_retrains_ == 1
    clf.forget(sample_id=ids[2])
    assert clf.n_retained_ == len(X) - 3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sample_id": [1.5]}, TypeError, r"sample_id\[0\].*float"),
        ({"sample_id": [True]}, TypeError, "must be a str, an int"),
        ({"sample_id": []}, ValueError, "names no id"),
        ({"sample_id": ["nobody"]}, UnknownRowError, "owns no retained row"),
        ({"sample_id": [0, "nobody"]}, UnknownRowError, r"sample_id\[1\]"),
        ({}, ValueError, "forget needs the rows"),
        ({"ticket": "DSR-1"}, ValueError, "forget needs the rows"),
        ({"sample_id": [0], "ticket": 7}, TypeError, "ticket must be a str"),
        ({"sample_id": [0], "ticket": ""}, ValueError, "ticket must be a non-empty"),
        ({"sample_id": [0], "ticket": "a\nb"}, ValueError, "one-line"),
        ({"sample_id": [0], "ticket": "x" * 201}, ValueError, "at most 200"),
    ],
)
def test_bad_id_requests_change_nothing(tmp_path, data, kwargs, error, match):
    X, y, _ = data
    path = tmp_path / "ledger.jsonl"
    clf = _sgd(ledger_path=path).fit(X, y, sample_id=range(len(X)))
    before, ledger_before = state_bytes(clf), path.read_bytes()
    with pytest.raises(error, match=match):
        clf.forget(**kwargs)
    assert state_bytes(clf) == before
    report = clf.verify_ledger()
    assert report.ok and not report.pending
    assert path.read_bytes()[: len(ledger_before)] == ledger_before


def test_rows_and_ids_together_are_refused(data):
    X, y, _ = data
    clf = _sgd().fit(X, y, sample_id=range(len(X)))
    before = state_bytes(clf)
    with pytest.raises(ValueError, match="not both"):
        clf.forget(X[:1], y[:1], sample_id=[0])
    with pytest.raises(ValueError, match="forget needs the rows"):
        clf.forget(X[:1])
    assert state_bytes(clf) == before


@pytest.mark.parametrize(
    ("sample_id", "error", "match"),
    [
        (list(range(10)), ValueError, "has 10 ids for 300 rows"),
        ([0.5] * 300, TypeError, "float"),
        ("abc", TypeError, "one id per row"),
        (np.zeros((300, 2), dtype=int), ValueError, "1-d"),
    ],
)
def test_bad_ids_at_fit_leave_the_fitted_model_as_it_was(data, sample_id, error, match):
    X, y, _ = data
    clf = _sgd().fit(X, y, sample_id=range(len(X)))
    before = state_bytes(clf)
    with pytest.raises(error, match=match):
        clf.fit(X, y, sample_id=sample_id)
    with pytest.raises(error, match=match):
        clf.partial_fit(X, y, sample_id=sample_id)
    assert state_bytes(clf) == before


def test_a_failing_step_leaves_the_subject_index_as_it_was(monkeypatch, data):
    X, y, ids = data
    clf = _sgd().fit(X, y, sample_id=ids)
    before = state_bytes(clf)
    adapter_type = type(clf._adapter())

    def broken(self, *args, **kwargs):
        raise RuntimeError("the step failed")

    monkeypatch.setattr(adapter_type, "forget_step", broken)
    with pytest.raises(RuntimeError, match="the step failed"):
        clf.forget(sample_id=ids[:3])
    assert state_bytes(clf) == before
    monkeypatch.undo()
    clf.forget(sample_id=ids[:3])
    assert clf.n_forgotten_ == 3


def test_sharded_exact_removal_by_id(data):
    X, y, ids = data
    clf = UnlearnableClassifier(
        ShardedClassifier(GaussianNB(), n_shards=3, random_state=0), random_state=0
    ).fit(X, y, sample_id=ids)
    clf.forget(sample_id=ids[:2])
    assert [r.method for r in clf.deletion_log_] == ["sharded", "sharded"]
    assert all(r.subject is not None and r.shard is not None for r in clf.deletion_log_)
    assert sum(len(clf.estimator_.shard_rows(s)[0]) for s in range(3)) == len(X) - 2


# ----------------------------------------------------------- the store
def test_store_undo_restores_the_subject_index_exactly():
    rng = np.random.default_rng(0)
    store = RowStore(3, np.float64, np.int64)
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 3, size=40)
    subjects = [subject_bytes(i % 7) for i in range(40)]
    store.add(X, y, subjects)
    for _ in range(20):
        positions, _ = store.locate_subjects([subject_bytes(int(rng.integers(0, 7)))])
        before = pickle.dumps(store)
        journal = store.erase(positions)
        assert len(store) == 40 - len(positions)
        store.undo(journal)
        assert pickle.dumps(store) == before
    # Erase subject by subject: every other subject still finds exactly its own rows.
    for k in range(7):
        positions, owners = store.locate_subjects([subject_bytes(k)])
        assert owners == [0] * len(positions)
        assert sorted(
            int(np.flatnonzero((X == store.X[p]).all(axis=1))[0]) % 7 for p in positions
        ) == [k] * len(positions)
        store.settle(store.erase(positions))
    assert len(store) == 0 and not store.has_subjects


def test_store_pickled_before_ids_loads_without_them():
    store = RowStore(2, np.float64, np.int64)
    store.add(np.eye(2), np.array([0, 1]))
    state = store.__getstate__()
    for key in ("_subject", "_by_subject", "_subject_salt"):
        del state[key]
    old = RowStore.__new__(RowStore)
    old.__setstate__(state)
    assert not old.has_subjects
    old.add(np.ones((1, 2)), np.array([1]), [subject_bytes("new")])
    assert old.locate_subjects([subject_bytes("new")])[0] == [2]


def test_as_subject_ids_accepts_series_and_uuids():
    import uuid

    pd = pytest.importorskip("pandas")
    u = uuid.UUID(int=5)
    assert as_subject_ids(pd.Series([1, 2])) == as_subject_ids([1, 2])
    assert as_subject_ids([u]) == as_subject_ids([str(u)])
    assert as_subject_ids([(1, "a")]) != as_subject_ids([(1, "b")])


# -------------------------------------------------------------- pipelines
def _documents(n, seed=0):
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(300)])
    topics = rng.dirichlet(np.full(300, 0.05), size=3)
    labels = rng.integers(0, 3, size=n)
    docs = [
        " ".join(rng.choice(vocabulary, size=int(rng.integers(8, 40)), p=topics[label]))
        for label in labels
    ]
    return docs, labels


def test_every_tfidf_document_is_forgettable_by_id():
    docs, labels = _documents(600)
    ids = [f"doc-{i}" for i in range(600)]
    pipe = make_pipeline(
        TfidfVectorizer(), TruncatedSVD(40, random_state=0), StandardScaler(), _sgd()
    ).fit(docs, labels, unlearnableclassifier__sample_id=ids)
    for half in (ids[:300], ids[300:]):
        trial = copy.deepcopy(pipe)
        forget_through_pipeline(trial, sample_id=half)
        assert trial[-1].n_forgotten_ == 300 and trial[-1].n_retained_ == 300


def test_every_pca_pipeline_row_is_forgettable_by_id_one_request_at_a_time(data):
    X, y, ids = data
    pipe = make_pipeline(StandardScaler(), PCA(10, random_state=0), _sgd()).fit(
        X, y, unlearnableclassifier__sample_id=ids
    )
    for subject in ids[:100]:
        forget_through_pipeline(pipe, sample_id=[subject], ticket="DSR-9")
    assert pipe[-1].n_forgotten_ == 100
    assert {r.ticket for r in pipe[-1].deletion_log_} == {"DSR-9"}


def test_value_requests_through_a_pca_pipeline_succeed_or_point_to_ids(data):
    X, y, _ = data
    pipe = make_pipeline(StandardScaler(), PCA(10, random_state=0), _sgd()).fit(X, y)
    outcomes = []
    for i in range(40):
        try:
            forget_through_pipeline(pipe, X[i : i + 1], y[i : i + 1])
            outcomes.append("forgotten")
        except UnknownRowError as exc:
            assert "sample_id" in str(exc) and "standardscaler, pca" in str(exc)
            outcomes.append("refused")
    assert pipe[-1].n_forgotten_ == outcomes.count("forgotten")


def test_pipeline_helper_refuses_rows_and_ids_together(data):
    X, y, ids = data
    pipe = make_pipeline(StandardScaler(), _sgd()).fit(X, y, unlearnableclassifier__sample_id=ids)
    with pytest.raises(ValueError, match="not both"):
        forget_through_pipeline(pipe, X[:1], y[:1], sample_id=ids[:1])
    with pytest.raises(ValueError, match="needs the raw rows"):
        forget_through_pipeline(pipe, X[:1])


# -------------------------------------------------------- metadata routing
@pytest.mark.parametrize("routing", [False, True])
def test_ids_reach_the_classifier_through_pipeline_and_grid_search(data, routing):
    X, y, ids = data
    with sklearn.config_context(enable_metadata_routing=routing):
        params = {"sample_id": ids} if routing else {"unlearnableclassifier__sample_id": ids}
        pipe = make_pipeline(StandardScaler(), _sgd()).fit(X, y, **params)
        forget_through_pipeline(pipe, sample_id=ids[:4])
        assert pipe[-1].n_forgotten_ == 4
        search = GridSearchCV(_sgd(), {"n_replay": [0, 8]}, cv=3).fit(X, y, sample_id=ids)
        search.best_estimator_.forget(sample_id=ids[:4])
        assert search.best_estimator_.n_forgotten_ == 4


def test_unlearning_scorer_on_a_pipeline_gives_finite_scores(data):
    X, y, _ = data
    pipe = make_pipeline(StandardScaler(), _sgd())
    search = GridSearchCV(
        pipe,
        {"unlearnableclassifier__n_replay": [0, 8]},
        cv=3,
        scoring=make_unlearning_scorer(0.05),
        error_score="raise",
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and ((0 < scores) & (scores <= 1)).all()


def test_unlearning_scorer_fails_loudly_on_a_plain_pipeline(data):
    X, y, _ = data
    pipe = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    search = GridSearchCV(
        pipe,
        {"sgdclassifier__alpha": [1e-4]},
        cv=2,
        scoring=make_unlearning_scorer(0.05),
        error_score="raise",
    )
    with pytest.raises(
        TypeError, match="Pipeline whose final step is one; got Pipeline ending in SGDClassifier"
    ):
        search.fit(X, y)
