"""skorch nets on image-shaped rows and torch tensors, through the whole life cycle."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from conftest import state_bytes  # noqa: E402
from skorch import NeuralNetClassifier  # noqa: E402
from torch import nn  # noqa: E402

from sk_unlearn import OutOfFoldReference, UnlearnableClassifier  # noqa: E402

torch.set_num_threads(1)


class SmallCNN(nn.Module):
    """One 3x3 convolution over (1, 8, 8) digits images, then a dense layer."""

    def __init__(self, channels=8):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 3)
        self.head = nn.Linear(channels * 6 * 6, 10)

    def forward(self, X):
        return self.head(torch.relu(self.conv(X)).flatten(1))


def make_cnn(**kwargs):
    settings = dict(
        module=SmallCNN,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.5,
        max_epochs=20,
        batch_size=64,
        train_split=None,
        verbose=0,
    )
    return NeuralNetClassifier(**{**settings, **kwargs})


@pytest.fixture
def images(digits):
    def shaped(X):
        return X.astype(np.float32).reshape(-1, 1, 8, 8)  # digits come scaled to [0, 1]

    return shaped(digits.X_train), digits.y_train, shaped(digits.X_test), digits.y_test


@pytest.fixture
def fitted(images):
    X, y, _, _ = images
    torch.manual_seed(0)
    return UnlearnableClassifier(make_cnn(), n_replay=8, random_state=0).fit(X, y)


def test_a_cnn_on_images_through_the_life_cycle(fitted, images):
    X, y, X_test, y_test = images
    assert fitted.row_shape_ == (1, 8, 8) and fitted.n_features_in_ == 64
    assert fitted.score(X_test, y_test) > 0.85
    fitted.forget(X[:3], y[:3])
    assert fitted.n_retained_ == len(y) - 3
    assert [r.method for r in fitted.deletion_log_] == ["relabel"] * 3
    with pytest.raises(ValueError, match="not among the retained"):
        fitted.forget(X[:1], y[:1])  # erased: gone from the store
    cert = fitted.certify(X[:3])
    assert cert.n_rows == 3 and 0 <= cert.mean <= 1
    fitted.retrain()
    assert fitted.n_retrains_ == 1 and fitted.score(X_test, y_test) > 0.85
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X_test), fitted.predict(X_test))
    restored.forget(X[3:4], y[3:4])
    assert restored.n_retained_ == len(y) - 4


def test_the_calibrated_certificate_takes_images(fitted, images):
    X, y, X_test, _ = images
    reference = OutOfFoldReference(X_test[:200], n_folds=2, n_repeats=2, random_state=0)
    fitted.forget(X[:2], y[:2])
    cert = fitted.certify(X[:2], y[:2], reference=reference)
    assert len(cert.verdicts) == 2
    assert set(cert.verdicts) <= {"forgotten", "remembered", "over-forgotten"}


def test_torch_tensors_are_taken_as_arrays(images):
    X, y, X_test, y_test = images
    torch.manual_seed(0)
    clf = UnlearnableClassifier(make_cnn(), n_replay=8, random_state=0)
    clf.fit(torch.from_numpy(X), torch.from_numpy(y))
    assert clf.row_shape_ == (1, 8, 8)
    clf.forget(torch.from_numpy(X[:2]), torch.from_numpy(y[:2]))
    assert clf.n_retained_ == len(y) - 2
    np.testing.assert_array_equal(clf.predict(torch.from_numpy(X_test)), clf.predict(X_test))
    assert isinstance(clf.predict_proba(torch.from_numpy(X_test[:3])), np.ndarray)


def test_grid_search_and_clone_on_images(images):
    X, y, _, _ = images
    torch.manual_seed(0)
    search = GridSearchCV(
        UnlearnableClassifier(make_cnn(max_epochs=3), n_replay=4, random_state=0),
        {"unlearning_rate": [1e-3, 1e-2]},
        cv=2,
    ).fit(X[:400], y[:400])
    assert search.best_estimator_.row_shape_ == (1, 8, 8)
    assert clone(search.best_estimator_).get_params()["unlearning_rate"] in (1e-3, 1e-2)


@pytest.mark.parametrize(
    "rows",
    [
        lambda X: X.reshape(len(X), -1),  # flat rows for an image model
        lambda X: X.reshape(len(X), 1, 4, 16),  # another image shape
    ],
)
def test_rows_of_another_shape_are_refused_and_change_nothing(fitted, images, rows):
    X, y, X_test, _ = images
    before = state_bytes(fitted)
    with pytest.raises(ValueError, match=r"rows of shape .*trained on rows of shape \(1, 8, 8\)"):
        fitted.forget(rows(X[:2]), y[:2])
    with pytest.raises(ValueError, match="trained on rows of shape"):
        fitted.predict(rows(X_test[:2]))
    assert state_bytes(fitted) == before


def test_a_shape_the_module_cannot_take_is_a_clear_error(images):
    X, y, _, _ = images
    two_channels = np.repeat(X, 2, axis=1)  # (N, 2, 8, 8) for a 1-channel convolution
    clf = UnlearnableClassifier(make_cnn(max_epochs=1), random_state=0)
    with pytest.raises(ValueError, match=r"The net failed on rows of shape \(2, 8, 8\)"):
        clf.fit(two_channels, y)
    assert not hasattr(clf, "estimator_")


def test_scikit_learn_estimators_still_refuse_images(images):
    from sklearn.linear_model import SGDClassifier

    X, y, _, _ = images
    with pytest.raises(ValueError, match="dim 4"):
        UnlearnableClassifier(SGDClassifier()).fit(X, y)


def test_the_paper_cnn_on_28x28_images_through_the_life_cycle(digits):
    """MnistCNN at MNIST's size: digits upsampled to (N, 1, 28, 28), as MNIST images come."""
    from sk_unlearn.nets import MnistCNN

    def as_28x28(X):  # each pixel 3x3, then a 2-pixel border: 8 * 3 + 4 = 28
        images = np.kron(X.reshape(-1, 8, 8), np.ones((3, 3)))
        return np.pad(images, ((0, 0), (2, 2), (2, 2)))[:, None].astype(np.float32)

    X, y = as_28x28(digits.X_train[:300]), digits.y_train[:300]
    X_test, y_test = as_28x28(digits.X_test[:200]), digits.y_test[:200]
    net = NeuralNetClassifier(
        MnistCNN,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adadelta,
        lr=1.0,
        max_epochs=4,
        batch_size=32,
        train_split=None,
        verbose=0,
    )
    torch.manual_seed(0)
    search = GridSearchCV(
        UnlearnableClassifier(net, random_state=0),
        {"unlearning_rate": [1e-3, 1e-2]},
        cv=2,
    ).fit(X, y)
    clf = search.best_estimator_
    assert clf.row_shape_ == (1, 28, 28) and clf.score(X_test, y_test) > 0.7
    clf.forget(X[:2], y[:2])
    assert clf.n_retained_ == len(y) - 2 and clf.n_forgotten_ == 2
    assert clf.certify(X[:2]).n_rows == 2
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X_test), clf.predict(X_test))
    restored.retrain()
    assert restored.n_retrains_ == 1 and restored.score(X_test, y_test) > 0.7
    with pytest.raises(ValueError, match=r"shape"):
        restored.forget(X[2:3].reshape(1, -1), y[2:3])  # flat rows: not this model's shape
