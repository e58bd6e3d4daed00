"""Random sequences of fit / partial_fit / forget / retrain / predict keep the invariants.

Tiny data with integer features (so duplicated rows are common), three
classes, an automatic retraining every few requests and a durable ledger.
Only documented errors may occur; after every step the retained count is
learned minus forgotten, the classes do not change, the ledger has one record
per served request and agrees with its file.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnknownRowError, UnlearnableClassifier

N_FEATURES, CLASSES = 3, np.array([0, 1, 2])
row = st.tuples(*[st.integers(0, 2)] * N_FEATURES)
labelled = st.tuples(row, st.sampled_from(CLASSES.tolist()))


def _arrays(pairs, dtype=np.float64):
    X = np.array([r for r, _ in pairs], dtype=dtype).reshape(-1, N_FEATURES)
    return X, np.array([c for _, c in pairs], dtype=CLASSES.dtype)


class Unlearning(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.clf = UnlearnableClassifier(
            SGDClassifier(random_state=0, max_iter=5, tol=None),
            n_replay=2,
            retrain_after=3,
            random_state=0,
            ledger_path=self.dir / "ledger.jsonl",
        )

    def teardown(self):
        shutil.rmtree(self.dir, ignore_errors=True)  # each run's ledger folder, rows' digests

    def _fit(self, pairs):
        # One row of each class first, so classes_ is always all three.
        pairs = [((0, 0, 0), 0), ((1, 1, 1), 1), ((2, 2, 2), 2), *pairs]
        self.clf.fit(*_arrays(pairs))
        self.retained, self.learned, self.forgotten, self.retrains = list(pairs), len(pairs), 0, 0

    @initialize(pairs=st.lists(labelled, max_size=8))
    def fit(self, pairs):
        self._fit(pairs)

    @rule(pairs=st.lists(labelled, max_size=6))
    def refit(self, pairs):
        self._fit(pairs)

    @rule(pairs=st.lists(labelled, min_size=1, max_size=4), float32=st.booleans())
    def partial_fit(self, pairs, float32):
        X, y = _arrays(pairs, np.float32 if float32 else np.float64)
        self.clf.partial_fit(X, y)
        self.retained += pairs
        self.learned += len(pairs)

    @precondition(lambda self: self.retained)
    @rule(data=st.data())
    def forget(self, data):
        picks = data.draw(
            st.lists(st.integers(0, len(self.retained) - 1), min_size=1, max_size=3, unique=True)
        )
        pairs = [self.retained[i] for i in picks]
        before = self.clf.n_retrains_
        self.clf.forget(*_arrays(pairs))
        for i in sorted(picks, reverse=True):
            del self.retained[i]
        self.forgotten += len(pairs)
        self.retrains += self.clf.n_retrains_ - before

    @rule(pair=labelled)
    def forget_unknown(self, pair):
        if self.retained.count(pair) > 0:
            return  # retained: not an unknown row
        before = pickle.dumps(self.clf)
        with pytest.raises(UnknownRowError):
            self.clf.forget(*_arrays([pair]))
        assert pickle.dumps(self.clf) == before

    @rule()
    def forget_nan(self):
        with pytest.raises(ValueError, match="NaN"):
            self.clf.forget(np.full((1, N_FEATURES), np.nan), CLASSES[:1])

    @rule()
    def retrain(self):
        if {c for _, c in self.retained} != set(CLASSES.tolist()):
            with pytest.raises(ValueError, match="no retained rows"):
                self.clf.retrain()
            return
        self.clf.retrain()
        self.retrains += 1

    @rule(rows=st.lists(row, min_size=1, max_size=5))
    def predict(self, rows):
        assert set(self.clf.predict(np.array(rows, dtype=float)).tolist()) <= set(CLASSES.tolist())

    @rule()
    def round_trip(self):
        self.clf = pickle.loads(pickle.dumps(self.clf))

    @invariant()
    def counts_classes_and_ledger_agree(self):
        clf = self.clf
        assert clf.n_retained_ == self.learned - self.forgotten == len(self.retained)
        assert clf.n_forgotten_ == self.forgotten == len(clf.deletion_log_)
        assert [r.request for r in clf.deletion_log_] == list(range(self.forgotten))
        assert clf.n_retrains_ == self.retrains == len(clf.retrain_log_)
        np.testing.assert_array_equal(clf.classes_, CLASSES)
        assert clf.verify_ledger().ok


@pytest.mark.filterwarnings("ignore::UserWarning")  # "Retraining postponed"
@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
def test_random_sequences_keep_the_invariants():
    machine = Unlearning.TestCase
    machine.settings = settings(
        max_examples=30,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        machine().runTest()
