"""The backend seam: an abstract adapter base and a registry that refuses duplicates."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import GaussianNB

from sk_unlearn import (
    EstimatorAdapter,
    UnlearnableClassifier,
    UnsupportedEstimatorError,
    _backends,
    register_adapter,
)


@pytest.fixture
def registry(monkeypatch):
    """An empty list of user adapters for the test (the built-ins stay)."""
    monkeypatch.setattr(_backends, "_registered", [])


class LogisticAdapter(EstimatorAdapter):
    """An estimator without partial_fit, made unlearnable by a plug-in adapter."""

    name = "test-logistic"

    @classmethod
    def supports(cls, estimator):
        return isinstance(estimator, LogisticRegression)

    def forget_step(self, X, y, rate, sample_weight=None):
        self.estimator.coef_ *= 0.999  # a stand-in for a real step


def test_an_estimator_without_partial_fit_can_be_plugged_in(registry, digits):
    with pytest.raises(UnsupportedEstimatorError, match="No adapter drives LogisticRegression"):
        UnlearnableClassifier(LogisticRegression()).fit(digits.X_train, digits.y_train)
    register_adapter(LogisticAdapter)
    clf = UnlearnableClassifier(LogisticRegression(max_iter=200), n_replay=2, random_state=0)
    clf.fit(digits.X_train, digits.y_train).forget(digits.X_train[:2], digits.y_train[:2])
    assert clf.n_forgotten_ == 2 and clf.deletion_log_[0].method == "relabel"


def test_every_step_and_check_of_a_forget_call_runs_inside_one_serving_block(registry, digits):
    events = []

    class Recording(LogisticAdapter):
        name = "test-recording"
        inside = False

        @contextmanager
        def serving(self):
            events.append("enter")
            self.inside = True
            try:
                yield
            finally:
                self.inside = False
                events.append("exit")

        def forget_step(self, X, y, rate, sample_weight=None):
            events.append("step inside" if self.inside else "step outside")
            super().forget_step(X, y, rate, sample_weight)

        def finite(self):
            events.append("check inside" if self.inside else "check outside")
            return super().finite()

    register_adapter(Recording)
    clf = UnlearnableClassifier(LogisticRegression(max_iter=200), n_replay=2, random_state=0)
    clf.fit(digits.X_train, digits.y_train)
    events.clear()
    clf.forget(digits.X_train[:3], digits.y_train[:3])
    assert events == ["enter", "step inside", "step inside", "step inside", "check inside", "exit"]


def test_the_registry_refuses_duplicates_and_non_adapters(registry):
    register_adapter(LogisticAdapter)
    with pytest.raises(ValueError, match="named 'test-logistic'.* registered already"):
        register_adapter(LogisticAdapter)

    class SameName(LogisticAdapter):
        pass

    with pytest.raises(ValueError, match="registered already"):
        register_adapter(SameName)

    class Skorchish(LogisticAdapter):
        name = "skorch"  # a built-in's name

    with pytest.raises(ValueError, match="registered already"):
        register_adapter(Skorchish)
    with pytest.raises(TypeError, match="EstimatorAdapter subclass"):
        register_adapter(SGDClassifier)
    assert _backends.adapters()[0] is LogisticAdapter


def test_every_built_in_adapter_has_a_unique_name():
    names = [adapter.name for adapter in _backends.BUILTIN_ADAPTERS]
    assert all(names) and len(set(names)) == len(names)


def test_an_adapter_must_say_what_it_supports():
    class Incomplete(EstimatorAdapter):
        name = "incomplete"

    with pytest.raises(TypeError, match="abstract"):
        Incomplete(SGDClassifier())


def test_the_methods_an_adapter_offers_decide_how_requests_are_served(digits):
    from sk_unlearn._methods import ExactRemoval, RandomRelabeling

    sgd = _backends.adapter_for(SGDClassifier())
    nb = _backends.adapter_for(GaussianNB())
    assert RandomRelabeling.supports(sgd) and not ExactRemoval.supports(sgd)
    assert RandomRelabeling.supports(nb) and ExactRemoval.supports(nb)
    plugged = LogisticAdapter(LogisticRegression())
    assert RandomRelabeling.supports(plugged) and not ExactRemoval.supports(plugged)

    class NoStep(EstimatorAdapter):
        name = "no-step"

        @classmethod
        def supports(cls, estimator):
            return True

    assert not RandomRelabeling.supports(NoStep(SGDClassifier()))


def test_importing_the_package_imports_neither_torch_nor_skorch():
    code = (
        "import sys, sk_unlearn\n"
        "from sklearn.linear_model import SGDClassifier\n"
        "import numpy as np\n"
        "X = np.random.default_rng(0).random((20, 3)); y = np.arange(20) % 2\n"
        "sk_unlearn.UnlearnableClassifier(SGDClassifier()).fit(X, y).forget(X[:1], y[:1])\n"
        "print('torch' in sys.modules, 'skorch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_adapters_are_built_per_estimator_and_hold_no_state():
    est = SGDClassifier()
    first, second = _backends.adapter_for(est), _backends.adapter_for(est)
    assert first is not second and first.estimator is second.estimator is est
    assert vars(first).keys() == {"estimator", "classes", "unlearning_optimizer"}
    assert np.array_equal(_backends.adapter_for(est, np.arange(3)).classes, np.arange(3))


def test_warnings_point_at_the_callers_line(digits):
    """Not at sklearn/base.py (fit's wrapper) nor at the lock's wrapper."""
    clf = UnlearnableClassifier(SGDClassifier(average=True, random_state=0), random_state=0)
    with pytest.warns(UserWarning, match="average=True") as caught:
        clf.fit(digits.X_train, digits.y_train)
    assert caught[0].filename == __file__

    retrained = UnlearnableClassifier(SGDClassifier(random_state=0), random_state=0)
    retrained.fit(digits.X_train, digits.y_train).retrain()
    retrained.set_params(max_divergence=0.0)
    other = SGDClassifier(loss="hinge", random_state=1).fit(digits.X_train, digits.y_train)
    with pytest.warns(UserWarning, match="no removal was requested") as caught:
        retrained.certify(digits.X_train[:5], reference=other)
    assert caught[0].filename == __file__
