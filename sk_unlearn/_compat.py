"""Reading pickles written by earlier versions of sk-unlearn.

Every pickle of an :class:`~sk_unlearn.UnlearnableClassifier` carries the
format version of its state (:data:`FORMAT_VERSION`). :func:`upgrade` turns a
state of any earlier format into the current one; a state from a newer
format is refused with a clear error rather than half-read.

Formats:

1. sk-unlearn 0.1 (no version key): parameters added since (``verbose``,
   ``ledger_path``, ``relabel``, ``n_steps``, ``method``) get the values that
   reproduce what 0.1 did -- in particular ``relabel="uniform"`` and
   ``method="relabel"``, since 0.1 served every request by uniform random
   relabeling; the oldest 0.1 pickles kept ``deletion_log_`` as a plain list.
2. 0.2 development: the state as ``vars(estimator)`` holds it.
3. Rows of any shape: ``row_shape_``.
4. Keyed digests: a ``DeletionRecord`` keeps ``label_hash`` (HMAC of the
   label under the deployment's key) instead of the label; older records
   are converted with the current key. Their ``row_hash`` stays the unkeyed
   SHA-256 the old version wrote, and their ledger lines stay unkeyed
   (``Ledger.keyed`` is false for such a model): see docs/reliability.md,
   "Migrating an unkeyed ledger".
5. ``rows_path``: older states get ``None`` (their rows are in the pickle,
   as they always were). The row store gains per-row sample weights and,
   optionally, a row file or sparse rows; it reads older stores itself.
6. ``method="noisy_finetune"``: older states get its parameters' defaults
   (``noise_scale=0.35``, ``finetune_epochs=2``), which they never used.
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from typing import Any

from ._keys import deployment_key, keyed_label_hash
from ._ledger import DeletionRecord, Ledger

#: The format this version writes.
FORMAT_VERSION = 6

#: The key under which a pickled state names its format.
FORMAT_KEY = "_sk_unlearn_format"


def upgrade(state: dict[str, Any]) -> dict[str, Any]:
    """The state of a pickle of any known format, in the current format (in place).

    Raises
    ------
    ValueError
        If the state comes from a newer sk-unlearn.
    """
    version = state.pop(FORMAT_KEY, 1)
    if version > FORMAT_VERSION:
        raise ValueError(
            f"This model was saved by a newer sk-unlearn (state format {version}); this "
            f"version reads formats up to {FORMAT_VERSION}. Upgrade sk-unlearn to load it."
        )
    if version < 2:
        _from_0_1(state)
    if version < 3 and "n_features_in_" in state:  # before rows of any shape: always 2-d
        state.setdefault("row_shape_", (int(state["n_features_in_"]),))
    if version < 4 and "_ledger" in state:
        _key_the_labels(state["_ledger"])
    if version < 5:
        state.setdefault("rows_path", None)
    if version < 6:
        state.setdefault("noise_scale", 0.35)
        state.setdefault("finetune_epochs", 2)
    return state


def _key_the_labels(ledger: Ledger) -> None:
    """Replace each record's label by its keyed digest; the ledger's old lines stay unkeyed."""
    key = deployment_key()
    names = {f.name for f in fields(DeletionRecord)}
    upgraded = []
    for record in ledger.deletions:
        values = dict(vars(record))
        if "label" in values:
            values["label_hash"] = keyed_label_hash(values.pop("label"), key)
        upgraded.append(DeletionRecord(**{k: v for k, v in values.items() if k in names}))
    ledger.deletions = upgraded
    ledger.keyed = False


def _from_0_1(state: dict[str, Any]) -> None:
    if "deletion_log_" in state:  # before the ledger: the records as a plain list
        ledger = Ledger(uuid.uuid4().hex)
        ledger.deletions = list(state.pop("deletion_log_"))
        ledger.next_request = len(ledger.deletions)  # 0.1 numbered them 0, 1, ...
        ledger.keyed = False
        state["_ledger"] = ledger
    state.setdefault("verbose", 0)
    state.setdefault("ledger_path", None)
    state.setdefault("relabel", "uniform")
    state.setdefault("n_steps", 1)
    state.setdefault("method", "relabel")
