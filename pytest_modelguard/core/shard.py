"""``--modelguard-shard I/N``: which shard a case belongs to, by a stable hash. Pure.

A case's key is its suite's path relative to the rootdir and its id (a Python test's: its
node id without the model), never the model: a case's baseline and candidates, and all its
repeats, land in the same shard. The hash is sha256, so every machine, Python version and
process (``PYTHONHASHSEED``) splits a suite the same way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_SHARDS = 10_000
_FORM = re.compile(r"\s*(\d{1,20})\s*/\s*(\d{1,20})\s*", re.ASCII)


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` with 1 <= I <= N <= MAX_SHARDS; ValueError saying what is wrong."""
        found = _FORM.fullmatch(text)
        if found is None:
            raise ValueError(f"{text!r} is not I/N (e.g. 2/3: the second of three shards)")
        index, count = int(found[1]), int(found[2])
        if not 1 <= count <= MAX_SHARDS:
            raise ValueError(f"{text!r}: the number of shards must be from 1 to {MAX_SHARDS}")
        if not 1 <= index <= count:
            raise ValueError(f"{text!r}: the shard must be from 1 to {count}")
        return cls(index, count)

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, key: str) -> bool:
        """Whether the case with this key is in this shard."""
        return shard_of(key, self.count) == self.index


def case_key(suite_path: str, case_id: str) -> str:
    """The key of a case: its suite's path (relative to the rootdir, ``/``-separated) and id."""
    return f"{suite_path.replace(chr(92), '/')}::{case_id}"


def shard_of(key: str, count: int) -> int:
    """The 1-based shard of ``count`` that holds ``key``: sha256, uniform, stable."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1
