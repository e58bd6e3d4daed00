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
from pathlib import Path
from typing import Any

import numpy as np

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


def chain_mac(key: bytes, previous: str, content: str) -> str:
    """The link of a ledger line: HMAC of the previous line's link and this line's content."""
    return _mac(key, b"line", previous.encode() + b"\0" + content.encode())
