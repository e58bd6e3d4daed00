"""The Python blocks of the docs' walkthrough pages run as written, top to bottom."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: str) -> list[str]:
    return BLOCK.findall((DOCS / page).read_text())


@pytest.mark.parametrize("page", ["getting_started.md", "grid_search.md"])
def test_a_page_runs_as_a_reader_would_copy_it(page, capsys):
    namespace: dict[str, object] = {}
    # Blocks naming a real cluster's address need that cluster: the page runs
    # the same search on an in-process one first.
    blocks = [b for b in python_blocks(page) if "tcp://" not in b]
    assert len(blocks) >= 2
    try:
        for block in blocks:
            exec(compile(block, f"{page} block", "exec"), namespace)
    finally:
        client = namespace.get("client")
        if client is not None:
            client.close()  # type: ignore[attr-defined]
    if page == "grid_search.md":
        assert set(namespace["search"].best_params_) == {"estimator__eta0", "unlearning_rate"}
    else:
        assert namespace["clf"].n_forgotten_ == 210
        assert (
            "forget: 210 requests" in capsys.readouterr().err
        )  # one bar for the call and the stream
