"""verbose: a tqdm bar over forget's requests and a line per retraining, on stderr only."""

from __future__ import annotations

import pickle

import pytest
from sklearn.linear_model import SGDClassifier

from sk_unlearn import UnlearnableClassifier


def _fitted(digits, **params):
    return UnlearnableClassifier(
        SGDClassifier(loss="log_loss", random_state=0), random_state=0, **params
    ).fit(digits.X_train, digits.y_train)


def test_verbose_zero_prints_nothing(digits, capsys):
    clf = _fitted(digits, retrain_after=3)
    capsys.readouterr()
    clf.forget(digits.X_train[:5], digits.y_train[:5]).retrain()
    clf.certify(digits.X_train[:5])
    assert capsys.readouterr() == ("", "")


def test_verbose_shows_a_bar_over_requests_and_a_line_per_retraining(digits, capsys):
    clf = _fitted(digits, retrain_after=3, verbose=1)
    capsys.readouterr()
    clf.forget(digits.X_train[:5], digits.y_train[:5])
    out, err = capsys.readouterr()
    assert out == ""
    assert "forget" in err and "5 requests" in err
    assert err.count("training from scratch on") == 2  # announced, then done, for one retrain
    assert "done in" in err and clf.n_retrains_ == 1

    clf.retrain()
    assert "training from scratch on" in capsys.readouterr().err


def test_a_stream_of_one_row_calls_draws_one_bar(digits, capsys):
    clf = _fitted(digits, verbose=1)
    capsys.readouterr()
    for i in range(100):
        clf.forget(digits.X_train[i : i + 1], digits.y_train[i : i + 1])
    err = capsys.readouterr().err
    assert err.count("forget: 0 requests") == 1  # every bar starts by drawing its 0
    clf.fit(digits.X_train, digits.y_train)  # a new model: the bar is closed
    assert capsys.readouterr().err.rstrip("\r").endswith("\n")
    clf.forget(digits.X_train[:1], digits.y_train[:1])
    assert capsys.readouterr().err.count("forget: 0 requests") == 1  # a new stream, a new bar


def test_verbose_changes_nothing_but_the_output(digits):
    quiet = _fitted(digits, retrain_after=3).forget(digits.X_train[:5], digits.y_train[:5])
    loud = _fitted(digits, retrain_after=3, verbose=2)
    loud.forget(digits.X_train[:5], digits.y_train[:5])
    assert pickle.dumps(quiet.estimator_) == pickle.dumps(loud.estimator_)
    assert quiet.n_retrains_ == loud.n_retrains_ == 1


def test_a_negative_verbose_is_rejected(digits):
    with pytest.raises(ValueError, match="verbose"):
        _fitted(digits, verbose=-1)


def test_a_pickle_from_before_verbose_loads_silent(digits, capsys):
    clf = _fitted(digits)
    # An old pickle's state was the instance dict, without the new parameter.
    state = {k: v for k, v in vars(clf).items() if k not in ("verbose", "_lock")}
    old = UnlearnableClassifier.__new__(UnlearnableClassifier)
    old.__setstate__(state)
    capsys.readouterr()
    old.forget(digits.X_train[:2], digits.y_train[:2])
    assert old.get_params()["verbose"] == 0 and old.n_forgotten_ == 2
    assert capsys.readouterr() == ("", "")
