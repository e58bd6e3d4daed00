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
    Takes flat rows of 784 pixels (or images of shape (1, 28, 28)) and returns
    logits: use it with ``criterion=torch.nn.CrossEntropyLoss``.

    Parameters
    ----------
    n_classes : int, default=10
        Outputs, one per class.

    Examples
    --------
    >>> import torch
    >>> from sk_unlearn.nets import MnistCNN
    >>> MnistCNN()(torch.zeros(2, 784)).shape
    torch.Size([2, 10])
    """

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
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
            nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, n_classes)
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(X.reshape(-1, 1, 28, 28)))
