"""PyTorch modules for the skorch backend.

Importing this module imports torch (``pip install "sk-unlearn[torch]"``).
"""

from __future__ import annotations

import torch
from torch import nn


class MnistCNN(nn.Module):
    """The 2-conv MNIST network of the paper (PyTorch's MNIST example layout).

    conv 1→32 (3x3) → ReLU → conv 32→64 (3x3) → ReLU → 2x2 max-pool →
    Dropout(0.25) → dense 9216→128 → ReLU → Dropout(0.5) → dense 128→10.
    Takes flat rows of ``side * side`` pixels (or images of shape
    ``(1, side, side)``) and returns logits: use it with
    ``criterion=torch.nn.CrossEntropyLoss``. ``side=28`` is MNIST (the dense
    layer then has the paper's 9216 inputs); ``side=8`` fits scikit-learn's
    digits.

    Parameters
    ----------
    n_classes : int, default=10
        Outputs, one per class.
    side : int, default=28
        Height and width of the square input images, at least 6.

    Examples
    --------
    >>> import torch
    >>> from sk_unlearn.nets import MnistCNN
    >>> MnistCNN()(torch.zeros(2, 784)).shape
    torch.Size([2, 10])
    >>> MnistCNN(side=8)(torch.zeros(2, 64)).shape
    torch.Size([2, 10])
    """

    def __init__(self, n_classes: int = 10, side: int = 28) -> None:
        super().__init__()
        if side < 6:
            raise ValueError(
                f"side must be at least 6 (two 3x3 convolutions and a pool), got {side}"
            )
        self.side = side
        pooled = (side - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(0.25),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(64 * pooled * pooled, 128),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, n_classes),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(X.reshape(-1, 1, self.side, self.side)))
