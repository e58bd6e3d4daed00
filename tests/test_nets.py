"""sk_unlearn.nets: the paper's MNIST network at any square input size."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sk_unlearn.nets import MnistCNN  # noqa: E402


@pytest.mark.parametrize(("side", "dense_inputs"), [(28, 9216), (8, 256), (6, 64)])
def test_dense_layer_matches_the_input_side(side: int, dense_inputs: int) -> None:
    net = MnistCNN(n_classes=3, side=side)
    assert net.classifier[0].in_features == dense_inputs
    out = net(torch.zeros(4, side * side))
    assert out.shape == (4, 3)
    assert net(torch.zeros(4, 1, side, side)).shape == (4, 3)


def test_too_small_a_side_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="side must be at least 6"):
        MnistCNN(side=5)


def test_digits_through_skorch_and_the_wrapper() -> None:
    from skorch import NeuralNetClassifier

    from sk_unlearn import UnlearnableClassifier
    from sk_unlearn.datasets import load_digits_split

    torch.set_num_threads(1)
    torch.manual_seed(0)
    d = load_digits_split()
    net = NeuralNetClassifier(
        MnistCNN,
        module__side=8,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adadelta,
        lr=1.0,
        max_epochs=5,
        train_split=None,
        verbose=0,
    )
    model = UnlearnableClassifier(net, unlearning_optimizer="sgd", random_state=0)
    model.fit(d.X_train, d.y_train)
    assert model.score(d.X_test, d.y_test) > 0.8
    model.forget(d.X_train[:2], d.y_train[:2])
    assert model.n_forgotten_ == 2
    assert np.isin(model.predict(d.X_test), model.classes_).all()
