"""Row digest -> store positions, in O(1) per change and one int per row.

The row store finds a requested row by the SHA-256 digest of its values. A
dict of lists (one Python list per retained row) made fitting, pickling and
loading cost about a microsecond per row in object churn; this index keeps a
dict from each distinct digest to one position (an int) and threads the
positions of identical rows (duplicates) through two integer arrays, a doubly
linked list per digest. Adding, removing and moving a position are O(1);
:meth:`DigestIndex.build` makes the whole index from the digests in one dict
pass when they are distinct, which they almost always are.

The order in which the positions of one digest are listed is not meaningful
(the store picks among identical rows by learning order); it is therefore
not part of the store's pickled state, which rebuilds the index on load.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

_NONE = -1


class DigestIndex:
    """Positions by digest, for positions in ``range(capacity)``.

    Examples
    --------
    >>> from sk_unlearn._digest_index import DigestIndex
    >>> index = DigestIndex.build([b"a", b"b", b"a"], capacity=4)
    >>> sorted(index.positions(b"a")), index.positions(b"c")
    ([0, 2], [])
    >>> index.remove(b"a", 0)
    >>> index.move(b"b", 1, 0)  # the row in slot 1 moved to slot 0
    >>> index.positions(b"b"), index.positions(b"a")
    ([0], [2])
    """

    def __init__(self, capacity: int = 0) -> None:
        self._head: dict[bytes, int] = {}
        self._next = np.full(capacity, _NONE, dtype=np.intp)
        self._prev = np.full(capacity, _NONE, dtype=np.intp)

    @classmethod
    def build(cls, digests: Sequence[bytes], capacity: int) -> DigestIndex:
        """The index of ``digests[p]`` at position ``p``, for every ``p``."""
        index = cls(max(capacity, len(digests)))
        index._head = dict(zip(digests, range(len(digests))))
        if len(index._head) < len(digests):  # identical rows: link them
            index._head = {}
            for p, digest in enumerate(digests):
                index.add(digest, p)
        return index

    def reserve(self, capacity: int) -> None:
        """Room for positions up to ``capacity - 1``."""
        grow = capacity - len(self._next)
        if grow > 0:
            self._next = np.concatenate([self._next, np.full(grow, _NONE, dtype=np.intp)])
            self._prev = np.concatenate([self._prev, np.full(grow, _NONE, dtype=np.intp)])

    def positions(self, digest: bytes) -> list[int]:
        """Every position with ``digest`` (empty if none)."""
        out: list[int] = []
        p = self._head.get(digest, _NONE)
        while p != _NONE:
            out.append(p)
            p = int(self._next[p])
        return out

    def items(self) -> Iterator[tuple[bytes, list[int]]]:
        """Every digest with its positions."""
        for digest in self._head:
            yield digest, self.positions(digest)

    def __len__(self) -> int:
        """Number of distinct digests."""
        return len(self._head)

    def add(self, digest: bytes, p: int) -> None:
        """List the free position ``p`` under ``digest``."""
        head = self._head.get(digest, _NONE)
        self._prev[p] = _NONE
        self._next[p] = head
        if head != _NONE:
            self._prev[head] = p
        self._head[digest] = p

    def add_new(self, digests: Sequence[bytes], start: int) -> None:
        """List ``digests[i]`` at the free positions ``start + i``: one dict update where
        the digests are distinct and not yet indexed (the usual case), else one by one."""
        if len(set(digests)) == len(digests) and self._head.keys().isdisjoint(digests):
            self._head.update(zip(digests, range(start, start + len(digests))))
        else:
            for offset, digest in enumerate(digests):
                self.add(digest, start + offset)

    def discard(self, digest: bytes, p: int) -> None:
        """:meth:`remove` if ``p`` is listed under ``digest``; else nothing."""
        if self._head.get(digest) == p or self._prev[p] != _NONE:
            self.remove(digest, p)

    def remove(self, digest: bytes, p: int) -> None:
        """Take ``p`` out of ``digest``'s positions (the digest goes when it has none left)."""
        before, after = int(self._prev[p]), int(self._next[p])
        if before == _NONE:
            if after == _NONE:
                del self._head[digest]
            else:
                self._head[digest] = after
        else:
            self._next[before] = after
        if after != _NONE:
            self._prev[after] = before
        self._next[p] = self._prev[p] = _NONE

    def move(self, digest: bytes, source: int, target: int) -> None:
        """The row listed at ``source`` is now at the free position ``target``."""
        before, after = int(self._prev[source]), int(self._next[source])
        self._prev[target], self._next[target] = before, after
        if before == _NONE:
            self._head[digest] = target
        else:
            self._next[before] = target
        if after != _NONE:
            self._prev[after] = target
        self._next[source] = self._prev[source] = _NONE
