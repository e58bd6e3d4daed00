"""The deployment's secret key, and the keyed digests the ledger writes with it.

A ledger line names a forgotten row by a digest of its values and its label.
An unkeyed digest is a membership oracle: whoever can enumerate plausible rows
(an age x zip code x gender table has a few hundred thousand) hashes them all
and finds who was deleted. So every digest the library writes is an
HMAC-SHA256 under a secret key that is neither in the ledger nor in the model
file, and every ledger line carries a chained HMAC of the line before it, so
that an edit, a deletion, a swap or a forged line is detected by whoever holds
the key.

Where the key comes from, first match wins:

1. ``$SK_UNLEARN_LEDGER_KEY``: the key itself, as hex (at least 32 bytes);
2. the file ``$SK_UNLEARN_LEDGER_KEY_FILE``;
3. the file ``$XDG_CONFIG_HOME/sk_unlearn/ledger.key`` (``~/.config/...``).

A key file that does not exist is created on first use, with 32 random bytes
(hex) and mode 0600. See docs/reliability.md for rotation and migration.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

KEY_ENV = "SK_UNLEARN_LEDGER_KEY"
KEY_FILE_ENV = "SK_UNLEARN_LEDGER_KEY_FILE"
_MIN_KEY_BYTES = 32


def key_file() -> Path:
    """The key file in use when ``$SK_UNLEARN_LEDGER_KEY`` is not set."""
    settings = (
        os.environ.get(KEY_FILE_ENV),
        os.environ.get("XDG_CONFIG_HOME"),
        os.environ.get("HOME"),
    )
    return _key_file(*settings)


@functools.lru_cache(maxsize=8)
def _key_file(given: str | None, config_home: str | None, home: str | None) -> Path:
    """The key file for these environment settings (asked per request: cached)."""
    if given:
        return Path(given)
    config = config_home or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "sk_unlearn" / "ledger.key"


def _parse(text: str, source: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise ValueError(f"The ledger key in {source} is not hex: {exc}") from exc
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(
            f"The ledger key in {source} has {len(key)} bytes; it needs at least {_MIN_KEY_BYTES}."
        )
    return key


_cache: dict[tuple[str, int], bytes] = {}


def deployment_key() -> bytes:
    """The secret key every digest and chain link is keyed with (created on first use).

    Raises
    ------
    OSError
        If there is no key yet and the key file cannot be created (a
        read-only home, say): the message says how to provide one.
    """
    if os.environ.get(KEY_ENV):
        return _parse(os.environ[KEY_ENV], f"${KEY_ENV}")
    path = key_file()
    try:
        stamp = (str(path), path.stat().st_mtime_ns)
        if stamp in _cache:
            return _cache[stamp]
        key = _cache[stamp] = _parse(path.read_text(encoding="ascii"), str(path))
        return key
    except (FileNotFoundError, NotADirectoryError):
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile
            return _parse(path.read_text(encoding="ascii"), str(path))
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"sk-unlearn keys the digests it records with a secret key and could not create "
            f"one at {path} ({exc.strerror}). Set ${KEY_FILE_ENV} to a writable path, or "
            f"${KEY_ENV} to a key (64 hex digits).",
        ) from exc
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(_MIN_KEY_BYTES) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return _parse(path.read_text(encoding="ascii"), str(path))


def key_id(key: bytes) -> str:
    """A short public name of a key (an HMAC of a constant): which key a line needs."""
    return hmac.new(key, b"sk-unlearn key id", hashlib.sha256).hexdigest()[:16]


def _mac(key: bytes, purpose: bytes, data: bytes) -> str:
    return hmac.new(key, purpose + b"\0" + data, hashlib.sha256).hexdigest()


def row_bytes(row: Any) -> bytes:
    """A row's values as the digest sees them: float64, flattened, -0.0 as 0.0.

    A row of a sparse matrix is seen densified: the same row, dense or
    sparse, has the same digest.
    """
    if hasattr(row, "toarray"):  # a SciPy sparse row
        row = row.toarray()
    values = np.asarray(row, dtype=np.float64).ravel() + 0.0  # -0.0 + 0.0 == 0.0
    return np.ascontiguousarray(values).tobytes()


#: Rows canonicalised at a time by :func:`canonical_blocks` (dense rows).
BLOCK_ROWS = 4096


def block_rows(sparse: bool, n_features: int) -> int:
    """Rows per block when rows are handled in dense blocks: at most ~4M values if sparse."""
    if not sparse:
        return BLOCK_ROWS
    return max(1, min(BLOCK_ROWS, (1 << 22) // max(1, n_features)))


def canonical_blocks(X: Any) -> Iterator[np.ndarray]:
    """The rows of ``X`` as :func:`row_bytes` sees them, a block at a time.

    Each block is a fresh C-contiguous float64 array of shape
    (n_rows_in_block, n_values) with ``-0.0`` as ``0.0``: row ``r`` of it has
    the bytes ``row_bytes(X[i])``. One conversion per block instead of one per
    row; sparse rows are densified a bounded block at a time.
    """
    step = block_rows(sp.issparse(X), X.shape[1] if X.ndim == 2 else 1)
    for start in range(0, X.shape[0], step):
        block = X[start : start + step]
        if sp.issparse(block):
            block = block.toarray()
        # "+ 0.0" makes a fresh array: never write into the caller's X.
        yield np.ascontiguousarray(block, dtype=np.float64).reshape(len(block), -1) + 0.0


def keyed_row_hash(row: Any, key: bytes) -> str:
    """HMAC-SHA256 of a row's values under ``key`` (hex)."""
    return _mac(key, b"row", row_bytes(row))


def keyed_label_hash(label: Any, key: bytes) -> str:
    """HMAC-SHA256 of a label under ``key`` (hex); equal labels of any NumPy type agree."""
    if isinstance(label, np.generic):
        label = label.item()
    return _mac(key, b"label", json.dumps(label, default=str).encode())


def keyed_subject_hash(subject: bytes, key: bytes) -> str:
    """HMAC-SHA256 of a data-subject id's canonical bytes under ``key`` (hex).

    ``subject`` is :func:`sk_unlearn._subjects.subject_bytes` of the id.
    """
    return _mac(key, b"subject", subject)


def request_digests(row: Any, label: Any, key: bytes) -> tuple[str, str]:
    """``(row_hash, label_hash)`` of a deletion request: how records and ledger lines name it."""
    return keyed_row_hash(row, key), keyed_label_hash(label, key)


#: Label types whose equal values always hash alike (the per-call cache of label hashes).
_CACHED_LABEL_TYPES = (int, str, bool)


def requests_digests(X: Any, y: Any, key: bytes) -> list[tuple[str, str]]:
    """:func:`request_digests` of every request ``(X[i], y[i])`` of a call.

    The same digests, computed for a whole call: rows canonicalised a block
    at a time (:func:`canonical_blocks`), the row MAC's key schedule done
    once, each distinct label hashed once.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_unlearn._keys import request_digests, requests_digests
    >>> X, y, key = np.array([[1.0, -0.0], [2.0, 3.0]]), np.array([0, 1]), b"k" * 32
    >>> requests_digests(X, y, key) == [request_digests(X[i], y[i], key) for i in range(2)]
    True
    """
    base = hmac.new(key, b"row\0", hashlib.sha256)
    labels: dict[tuple[type, Any], str] = {}  # one hash per distinct label
    out: list[tuple[str, str]] = []
    y = list(y)
    for block in canonical_blocks(X):
        for row in block:
            mac = base.copy()
            mac.update(row.data)
            label = y[len(out)]
            plain = label.item() if isinstance(label, np.generic) else label
            if type(plain) not in _CACHED_LABEL_TYPES:  # floats: 0.0 == -0.0, nan != nan
                out.append((mac.hexdigest(), keyed_label_hash(plain, key)))
                continue
            cached = labels.get((type(plain), plain))
            if cached is None:
                cached = labels[type(plain), plain] = keyed_label_hash(plain, key)
            out.append((mac.hexdigest(), cached))
    return out


def chain_mac(key: bytes, previous: str, content: str) -> str:
    """The link of a ledger line: HMAC of the previous line's link and this line's content."""
    return _mac(key, b"line", previous.encode() + b"\0" + content.encode())
