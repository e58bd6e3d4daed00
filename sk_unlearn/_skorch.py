"""The skorch backend: forget on PyTorch networks wrapped in ``NeuralNetClassifier``.

torch and skorch are optional: nothing here imports them until a skorch net is
actually handed to :class:`~sk_unlearn.UnlearnableClassifier` (and then they
are already imported).

A deletion request is one optimizer step on one mini-batch, taken by hand
rather than through ``NeuralNet.partial_fit``, which would run ``max_epochs``
epochs, split off a validation set, shuffle, append to ``history_`` and fire
every callback. See :class:`SkorchAdapter` for what the step does and does not
touch.
"""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from ._adapter import STEP, EstimatorAdapter


def _is_skorch_classifier(estimator: Any) -> bool:
    skorch = sys.modules.get("skorch")  # not imported: cannot be a skorch net
    return skorch is not None and isinstance(estimator, skorch.NeuralNetClassifier)


def _torch_modules(net: Any) -> list[Any]:
    """Every module and criterion the net registered, where they are torch modules.

    skorch lists them by name in ``_modules`` and ``_criteria`` (``module``,
    ``criterion`` and any a subclass adds in ``initialize_module``, such as
    ``module2``); the fitted object is the name plus ``_``.
    """
    import torch

    names = [*getattr(net, "_modules", []), *getattr(net, "_criteria", [])] or [
        "module",
        "criterion",
    ]
    found = (getattr(net, name + "_", None) for name in names)
    return [m for m in found if isinstance(m, torch.nn.Module)]


def _float_parameters(modules: list[Any]) -> list[Any]:
    """The floating-point parameters of ``modules`` (and of their submodules)."""
    return [p for module in modules for p in module.parameters() if p.is_floating_point()]


class _Listed(NamedTuple):
    """What :meth:`SkorchAdapter.serving` lists once for the requests of a call."""

    #: The floating-point parameters of every registered module and criterion.
    weights: list[Any]
    #: ``net.get_all_learnable_params()``: what a fresh unlearning optimizer steps.
    learnable: list[Any]


def _optimizers(net: Any) -> list[Any]:
    """Every optimizer the net registered (skorch's ``_optimizers``: ``optimizer``, others)."""
    names = getattr(net, "_optimizers", []) or ["optimizer"]
    found = (getattr(net, name + "_", None) for name in names)
    return [o for o in found if o is not None]


@functools.cache
def _optimizers_by_name() -> dict[str, Any]:
    """torch's optimizer classes by lower-case name (listed once: asked on every step)."""
    import torch

    return {
        name.lower(): cls
        for name, cls in vars(torch.optim).items()
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
    }


def _optimizer_factory(spec: Any) -> Callable[..., Any]:
    """The torch optimizer class (or factory) ``unlearning_optimizer`` names."""
    if callable(spec):
        return spec  # type: ignore[no-any-return]
    if isinstance(spec, str) and spec.lower() in _optimizers_by_name():
        return _optimizers_by_name()[spec.lower()]  # type: ignore[no-any-return]
    raise ValueError(
        f"unlearning_optimizer={spec!r} is not a torch optimizer: pass None (the net's own "
        "optimizer), a name such as 'sgd', 'adam' or 'adadelta', or an optimizer class or "
        "factory called as factory(params, lr=rate)."
    )


def _optimizer_snapshot(optimizer: Any) -> dict[str, Any]:
    """A torch optimizer's state (per parameter, in order) and its groups' settings."""
    import torch

    def saved(value: Any) -> Any:
        return value.detach().clone() if torch.is_tensor(value) else copy.deepcopy(value)

    state = optimizer.state.items()
    return {
        "state": [(id(p), {k: saved(v) for k, v in st.items()}) for p, st in state],
        "groups": [
            {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for group in optimizer.param_groups
        ],
    }


def _optimizer_restore(optimizer: Any, snapshot: dict[str, Any]) -> None:
    """Put back what :func:`_optimizer_snapshot` saved, into the optimizer's own objects.

    Unlike ``load_state_dict``, which builds new state tensors and groups,
    existing tensors are written in place and dict order is kept, so the
    restored optimizer is the same object graph as before, not an equal one.
    """
    import torch

    params = {id(p): p for group in optimizer.param_groups for p in group["params"]}
    current = dict(optimizer.state)
    rebuilt = []
    for pid, saved in snapshot["state"]:
        state = current.get(params[pid], {})
        for key in [k for k in state if k not in saved]:
            del state[key]
        for key, value in saved.items():
            old = state.get(key)
            if torch.is_tensor(old) and old.shape == value.shape and old.dtype == value.dtype:
                old.copy_(value)
            else:
                state[key] = value
        rebuilt.append((params[pid], state))
    optimizer.state.clear()
    optimizer.state.update(rebuilt)
    for group, saved in zip(optimizer.param_groups, snapshot["groups"]):
        group.update(saved)


class SkorchAdapter(EstimatorAdapter):
    """``skorch.NeuralNetClassifier`` on the CPU or a GPU.

    Labels are mapped to the indices ``0..n_classes-1`` of the
    meta-estimator's ``classes_`` on the way in and back on the way out, so
    any scikit-learn labels work and the net's own ``classes_`` inference
    plays no part. Rows are cast to float32 and passed in the shape they were
    given: flat rows, or images ``(N, C, H, W)``, or any shape the module takes.

    The forget step is exactly one optimizer update on the whole mini-batch,
    taken directly with the net's ``infer`` and ``get_loss``:

    - no validation split, no epochs, no shuffling; ``history_`` is not
      appended to and no callback fires (so learning-rate schedulers, early
      stopping, checkpoints and gradient clipping callbacks do not see it);
    - the module runs in **eval mode**: Dropout is off, so the step is
      deterministic, and BatchNorm normalises with (and does not update) its
      running statistics. A request's batch is a few copies of one row plus
      a few replayed rows; batch statistics of such a batch are meaningless
      (and fail outright on a single row). The modules stay in eval mode for
      the whole ``forget`` call (:meth:`serving`) and each module's
      train/eval flag is restored afterwards;
    - ``unlearning_optimizer=None`` steps with the net's own ``optimizer_``
      at the unlearning rate (its ``lr`` is restored afterwards); its state
      (momentum, Adam moments) is the training state and carries on, as in
      one more training step. A named optimizer (``"sgd"``, ``"adam"``,
      ``"adadelta"``, ...) or factory is built **fresh for every request**
      over ``get_all_learnable_params()``: requests do not share momentum or
      moments, the training optimizer's state is untouched, and nothing extra
      is pickled;
    - gradients are cleared (set to None) after the step, so no gradient of a
      forgotten row stays in memory.

    ``"auto"``: see :meth:`auto_unlearning_rate`.

    Rollback (:meth:`snapshot`) covers every module, criterion and optimizer
    in skorch's registries of the net, not only ``module_``.
    """

    name = "skorch"
    accepts_nd_rows = True

    @classmethod
    def supports(cls, estimator: Any) -> bool:
        return _is_skorch_classifier(estimator)

    def check_unlearning_optimizer(self) -> None:
        if self.unlearning_optimizer is not None:
            _optimizer_factory(self.unlearning_optimizer)

    def auto_unlearning_optimizer(self) -> str:
        """``"sgd"``: a fresh plain SGD step per request (see :meth:`auto_n_relabels`)."""
        return "sgd"

    def auto_n_relabels(self) -> int:
        """One copy of the row per request.

        With the paper's MNIST net, one soft-relabeled copy, a fresh SGD step
        at 1e-2 and 32 replayed rows stayed within 0.1 points of naive
        retraining over 600 requests, where all 9 copies lost a point and the
        net's own AdaDelta at 0.1 (the former default) lost 1.14
        (``benchmarks/reproduce_paper.py --dataset mnist --epochs 5``, docs/paper.md).
        """
        return 1

    def auto_unlearning_rate(self) -> float:
        """``0.1 * lr`` with the net's own optimizer; 1e-2 for a separate SGD, else 1e-3.

        1e-2 with plain SGD and 32 replayed rows kept the paper's MNIST net
        within a few tenths of a point of naive retraining over 600 requests
        (docs/benchmarks.md); a fresh Adam or AdaDelta scales its first step
        differently, hence the smaller rate.
        """
        if self.unlearning_optimizer is None:
            return 0.1 * float(self.estimator.lr)
        import torch

        return 1e-2 if _optimizer_factory(self.unlearning_optimizer) is torch.optim.SGD else 1e-3

    # ------------------------------------------------------------ labels
    def _codes(self, y: np.ndarray) -> np.ndarray:
        if self.classes is None:
            raise RuntimeError("SkorchAdapter needs the classes to encode labels.")
        return np.searchsorted(self.classes, y).astype(np.int64)

    @staticmethod
    def _rows(X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(X, dtype=np.float32)

    def _check_outputs(self, X: np.ndarray) -> None:
        n_out = self.estimator.predict_proba(self._rows(X[:1])).shape[1]
        if self.classes is not None and n_out != len(self.classes):
            raise ValueError(
                f"The module outputs {n_out} columns but there are {len(self.classes)} "
                "classes; give the module one output per class."
            )

    # ---------------------------------------------------------- learning
    @contextmanager
    def _shape_errors(self, X: np.ndarray) -> Iterator[None]:
        """torch's error for rows the module cannot take, as a ValueError naming their shape."""
        try:
            yield
        except RuntimeError as error:
            raise ValueError(
                f"The net failed on rows of shape {X.shape[1:]}: {error}. If its module takes "
                "rows of another shape, pass X in that shape (any per-row shape is kept as is)."
            ) from error

    @property
    def accepts_sparse(self) -> bool:
        return False

    def weights_refused(self, training: str) -> str | None:
        return (
            "skorch's NeuralNet hands extra fit arguments to the module's forward, not to the "
            "loss; weight the rows in your criterion instead"
        )

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
        self._no_weights(sample_weight)
        with self._shape_errors(X):
            self.estimator.fit(self._rows(X), self._codes(y))
        self._check_outputs(X)

    def partial_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        self._learn(X, y, classes, sample_weight)

    def _learn(
        self, X: np.ndarray, y: np.ndarray, classes: np.ndarray, sample_weight: Any, **fit: Any
    ) -> None:
        self._no_weights(sample_weight)
        # skorch itself ignores ``classes`` (subclasses may use it to size the module).
        indices = np.arange(len(classes))
        with self._shape_errors(X):
            self.estimator.partial_fit(self._rows(X), self._codes(y), classes=indices, **fit)
        self._check_outputs(X)
        if self._serving is not None:  # skorch leaves its modules in train mode; the block
            for module in _torch_modules(self.estimator):  # predicts in eval mode
                module.eval()

    def train_one_epoch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        classes: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        """``partial_fit`` for one epoch (skorch's own runs ``max_epochs`` of them)."""
        self._learn(X, y, classes, sample_weight, epochs=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """The net's ``predict_proba``; for at most one batch of rows (a request's row, say),
        its own forward pass without the DataLoader: the module in eval mode, no gradients,
        the net's prediction nonlinearity (~5x sooner for one row)."""
        net = self.estimator
        batch = getattr(net, "batch_size", -1)
        nonlinearity = getattr(net, "_get_predict_nonlinearity", None)
        if nonlinearity is None or (batch != -1 and len(X) > batch):
            return np.asarray(net.predict_proba(self._rows(X)))
        import torch
        from skorch.utils import to_numpy, to_tensor

        with self._eval_mode(), torch.no_grad():
            output = net.infer(to_tensor(self._rows(X), device=net.device))
            output = output[0] if isinstance(output, tuple) else output
            return np.asarray(to_numpy(nonlinearity()(output)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        assert self.classes is not None
        return self.classes[self.predict_proba(X).argmax(axis=1)]

    # -------------------------------------------------------- forgetting
    #: What :meth:`serving` lists once for its block (None outside it).
    _serving: _Listed | None = None

    @contextmanager
    def serving(self) -> Iterator[None]:
        """The modules in eval mode, and the weights and learnable parameters listed, once
        for the whole block instead of once per step and per prediction (a switch to eval
        mode and back visits every submodule twice)."""
        if self._serving is not None:  # already serving
            yield
            return
        modules = _torch_modules(self.estimator)
        with self._eval_mode(modules):
            learnable = list(self.estimator.get_all_learnable_params())
            self._serving = _Listed(_float_parameters(modules), learnable)
            try:
                yield
            finally:
                self._serving = None

    @contextmanager
    def _eval_mode(self, modules: list[Any] | None = None) -> Iterator[None]:
        """Every registered module in eval mode for the block (left so inside :meth:`serving`),
        each submodule's train/eval flag restored afterwards."""
        if self._serving is not None:
            yield
            return
        tops = _torch_modules(self.estimator) if modules is None else modules
        flags = [(m, m.training) for top in tops for m in top.modules()]
        try:
            for top in tops:
                top.eval()
            yield
        finally:
            for module, training in flags:
                module.training = training

    @contextmanager
    def _step_optimizer(self, rate: float | None) -> Iterator[Any]:
        net = self.estimator
        if self.unlearning_optimizer is not None:
            factory = _optimizer_factory(self.unlearning_optimizer)
            if self._serving is not None:
                params = list(self._serving.learnable)  # the optimizer keeps this list
            else:
                params = list(net.get_all_learnable_params())
            yield factory(params, lr=rate) if rate is not None else factory(params)
            return
        optimizer = net.optimizer_
        saved = [group["lr"] for group in optimizer.param_groups]
        try:
            if rate is not None:
                for group in optimizer.param_groups:
                    group["lr"] = float(rate)
            yield optimizer
        finally:
            for group, lr in zip(optimizer.param_groups, saved):
                group["lr"] = lr

    def forget_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rate: float | None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        # accepts_sample_weight is False: relabel="soft" draws labels instead of weighting.
        self._no_weights(sample_weight)
        import torch
        from skorch.utils import to_tensor

        net = self.estimator
        X_t = to_tensor(self._rows(X), device=net.device)
        y_t = to_tensor(self._codes(y), device=net.device)
        with self._eval_mode(), self._step_optimizer(rate) as optimizer:
            try:
                optimizer.zero_grad(set_to_none=True)
                with torch.enable_grad():
                    loss = net.get_loss(net.infer(X_t), y_t, X=X_t, training=True)
                    loss.backward()
                optimizer.step()
            finally:
                optimizer.zero_grad(set_to_none=True)

    perturbs_weights = True

    def perturb_weights(self, rng: np.random.Generator, scale: float) -> None:
        """Noise on every learnable parameter (``get_all_learnable_params``; see the base
        class), drawn by ``rng`` in float64 and added in the parameter's dtype and device."""
        import torch

        with torch.no_grad():
            for _, parameter in self.estimator.get_all_learnable_params():
                spread = scale * float(parameter.detach().double().std(correction=0))
                noise = rng.normal(0.0, spread, tuple(parameter.shape))
                parameter.add_(torch.as_tensor(noise).to(parameter))

    def finite(self) -> bool:
        """Whether every weight of every registered module and criterion is finite.

        One float64 sum per tensor, all checked at once: NaN and infinity
        propagate into a sum, and a float64 sum of float32 (or float16)
        values cannot overflow, so the sums are finite exactly when the
        weights are; ~8x sooner than ``isfinite`` on every tensor.
        """
        import torch

        if self._serving is not None:
            tensors = self._serving.weights
        else:
            tensors = _float_parameters(_torch_modules(self.estimator))
        if not tensors:
            return True
        with torch.no_grad():
            sums = torch.stack([t.sum(dtype=torch.float64) for t in tensors])
            return bool(torch.isfinite(sums).all())

    # ----------------------------------------------------------- rollback
    def snapshot(self, scope: str = STEP) -> Any:
        """What the coming change may alter, for :meth:`restore`.

        Always: copies of the weights of every registered module and
        criterion, and the state of every registered optimizer (a step with
        the net's own optimizer moves its state) -- much cheaper than a deep
        copy of the net, which would pickle it. For ``partial_fit``, which
        also appends to ``history_`` and runs the callbacks: in addition, a
        deep copy of every other attribute of the net.
        """
        net = self.estimator
        modules, optimizers = _torch_modules(net), _optimizers(net)
        weights = [
            {k: v.detach().clone() for k, v in module.state_dict().items()} for module in modules
        ]
        optimizer_states = [_optimizer_snapshot(o) for o in optimizers]
        others = None
        if scope != STEP:
            torch_parts = {id(part) for part in (*modules, *optimizers)}
            others = {
                name: copy.deepcopy(value)
                for name, value in vars(net).items()
                if id(value) not in torch_parts
            }
        return weights, optimizer_states, others

    def restore(self, snapshot: Any) -> None:
        """Load the saved weights and optimizer states into the net's own tensors, in place."""
        net = self.estimator
        weights, optimizer_states, others = snapshot
        modules, optimizers = _torch_modules(net), _optimizers(net)
        for module, state in zip(modules, weights):
            module.load_state_dict(state)
        for optimizer, state in zip(optimizers, optimizer_states):
            _optimizer_restore(optimizer, state)
        if others is not None:
            torch_parts = {id(part) for part in (*modules, *optimizers)}
            for name in [n for n, v in vars(net).items() if id(v) not in torch_parts]:
                if name not in others:
                    del net.__dict__[name]  # added by the failed call
            net.__dict__.update(others)
