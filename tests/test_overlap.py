"""The store built on a second thread while the estimator trains: results, and failures."""

import threading

import numpy as np
import pytest

from sk_unlearn._overlap import alongside


def test_the_result_of_the_background_is_returned_and_both_sides_ran():
    ran = []
    result = alongside(lambda: np.arange(5).sum(), lambda: ran.append("fore"), undo=ran.append)
    assert result == 10 and ran == ["fore"]


def test_a_failing_foreground_waits_for_the_background_and_undoes_it():
    started, finished, undone = threading.Event(), [], []

    def background():
        started.wait()
        finished.append(True)
        return "work"

    def foreground():
        started.set()  # the background is released, then the foreground fails
        raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt, match="stop"):
        alongside(background, foreground, undo=undone.append)
    assert finished == [True] and undone == ["work"]


def test_a_failing_background_is_raised_after_the_foreground_and_nothing_is_undone():
    fore, undone = [], []

    def background():
        raise MemoryError("no room")

    with pytest.raises(MemoryError, match="no room"):
        alongside(background, lambda: fore.append(True), undo=undone.append)
    assert fore == [True] and undone == []


def test_when_both_fail_the_foregrounds_error_wins():
    def background():
        raise MemoryError("background")

    def foreground():
        raise ValueError("foreground")

    with pytest.raises(ValueError, match="foreground"):
        alongside(background, foreground, undo=pytest.fail)
