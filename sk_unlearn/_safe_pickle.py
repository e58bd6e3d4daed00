"""Loading a pickle without running code the file chose: an allowlist of what it may name.

``pickle.load`` calls whatever callable the file names, with arguments the file
chose (``os.system``, ``eval``, ...): loading an untrusted pickle runs the
author's code. :func:`load` refuses every global that is not

* a class defined in scikit-learn or sk-unlearn (their constructors only
  store parameters) or in ``numpy.random`` (bit generators);
* a reconstructor NumPy and Cython use for arrays, scalars, dtypes and
  random generators (a fixed list, and Cython's ``__pyx_unpickle_*``
  helpers of those packages);
* a few built-in containers (``set``, ``frozenset``, ``slice``, ...) and
  ``pathlib`` paths.

Anything else -- ``os``, ``subprocess``, ``builtins.eval``, a function of any
package, a class of any other package -- is an :class:`UnsafePickleError`
before it is called. skorch nets are refused too: their own ``__setstate__``
runs a second, unrestricted unpickler on bytes inside the file, so no outer
allowlist can vouch for them; load those only from a source you trust, with
``UnlearnableClassifier.load(path, allow_pickle=True)``.

The restriction also holds for the pickle an ``UnlearnableClassifier``
nests in its own state (:func:`nested_loads`).
"""

from __future__ import annotations

import contextvars
import io
import pickle
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

#: Packages whose classes a file may name.
_CLASS_PACKAGES = ("sklearn", "sk_unlearn", "numpy.random")

#: Functions a file may name: NumPy's reconstructors.
_FUNCTIONS = {
    (module, name)
    for package in ("numpy.core", "numpy._core")
    for module, name in (
        (f"{package}.multiarray", "_reconstruct"),
        (f"{package}.multiarray", "scalar"),
        (f"{package}.numeric", "_frombuffer"),
    )
} | {
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("copyreg", "_reconstructor"),
}

#: Classes outside those packages a file may name.
_CLASSES = {
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    *(("numpy.dtypes", name) for name in ("Float64DType", "Float32DType", "Int64DType")),
    *(("builtins", name) for name in ("set", "frozenset", "slice", "complex", "bytearray")),
    ("builtins", "object"),
    ("collections", "OrderedDict"),
    *(  # a ledger_path given as a Path
        (module, name)
        for module in ("pathlib", "pathlib._local")
        for name in ("PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath", "Path")
    ),
}

_REFUSED_PACKAGES = ("skorch", "torch")

_restricted = contextvars.ContextVar("sk_unlearn_restricted_unpickling", default=False)


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names something outside the allowlist of :func:`load`."""


UnsafePickleError.__module__ = "sk_unlearn"


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        top = module.split(".")[0]
        if top in _REFUSED_PACKAGES:
            raise UnsafePickleError(
                f"The file holds a {top} object ({module}.{name}). A skorch net's own loading "
                "runs pickle on bytes inside the file, which no allowlist can check. Load it "
                "only if you trust the file: UnlearnableClassifier.load(path, allow_pickle=True)."
            )
        if (module, name) in _FUNCTIONS or (module, name) in _CLASSES:
            return super().find_class(module, name)
        allowed_package = any(module == p or module.startswith(p + ".") for p in _CLASS_PACKAGES)
        if allowed_package or top == "numpy":
            found = super().find_class(module, name)  # imports a module of that package
            if allowed_package and isinstance(found, type):
                return found
            if name.startswith("__pyx_unpickle_"):  # Cython's reconstructor of its class
                return found
        raise UnsafePickleError(
            f"The file names {module}.{name}, which loading would call; sk-unlearn's safe "
            "loading calls only scikit-learn, sk-unlearn and NumPy classes and NumPy's "
            "reconstructors. This is not a file sk-unlearn wrote (or it was tampered with). "
            "Only if you trust its source: UnlearnableClassifier.load(path, allow_pickle=True)."
        )


def load(file: IO[bytes]) -> Any:
    """Unpickle ``file`` calling only what the allowlist admits (see the module docstring)."""
    token = _restricted.set(True)
    try:
        return _Unpickler(file).load()
    finally:
        _restricted.reset(token)


#: Arrays at least this large travel beside a nested pickle, not inside it.
OUT_OF_BAND_BYTES = 1 << 20


class _OutOfBandPickler(pickle.Pickler):
    """A pickler that leaves large numeric arrays out, as copies in :attr:`arrays`."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.arrays: list[np.ndarray] = []

    def persistent_id(self, obj: Any) -> Any:
        if (
            type(obj) is np.ndarray
            and obj.dtype.kind in "biufc"
            and obj.nbytes >= OUT_OF_BAND_BYTES
        ):
            self.arrays.append(np.array(obj, copy=True))  # taken now: the state as of now
            return ("array", len(self.arrays) - 1)
        return None


def nested_dumps(obj: Any) -> tuple[bytes, list[np.ndarray]]:
    """``obj`` pickled, its large numeric arrays left out as copies.

    For state serialised under a lock (the arrays are copied then, so the
    result is the state as of the call) whose outer pickle should carry the
    arrays itself: loading then builds each array once, instead of once as
    bytes inside bytes and again from them.
    """
    buffer = io.BytesIO()
    pickler = _OutOfBandPickler(buffer)
    pickler.dump(obj)
    return buffer.getvalue(), pickler.arrays


def _array_loader(cls: type[pickle.Unpickler], arrays: Sequence[np.ndarray]) -> Any:
    """An unpickler of ``cls`` that resolves :func:`nested_dumps`'s references to ``arrays``."""

    class Loader(cls):  # type: ignore[misc, valid-type]
        def persistent_load(self, pid: Any) -> Any:
            if (
                isinstance(pid, tuple)
                and len(pid) == 2
                and pid[0] == "array"
                and isinstance(pid[1], int)
                and 0 <= pid[1] < len(arrays)
                and type(arrays[pid[1]]) is np.ndarray
            ):
                return arrays[pid[1]]
            raise UnsafePickleError(f"The file refers to an unknown object {pid!r}.")

    return Loader


def nested_loads(data: bytes, arrays: Sequence[np.ndarray] = ()) -> Any:
    """``pickle.loads`` for a pickle inside a pickle (arrays out of band: see
    :func:`nested_dumps`): restricted if the outer load is."""
    base = _Unpickler if _restricted.get() else pickle.Unpickler
    return _array_loader(base, arrays)(io.BytesIO(data)).load()
