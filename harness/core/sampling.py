"""``--limit N``: a seeded sample of items, never the first N rows.

Items are ranked by sha256(seed, item id) and the N lowest are kept, in their
original order. The rank depends on the id only, so in a parallel set (SIB-200,
FLORES, MGSM: the same ids in every language) every language gets the same items,
and a larger N keeps every item a smaller N chose. A task may ask for N items per group (BFCL: per category).
"""

from __future__ import annotations

import hashlib
from typing import Callable

from harness.core.records import Sample


def rank(seed: int, item_id: str) -> str:
    return hashlib.sha256(f"{seed}:{item_id}".encode("utf-8")).hexdigest()


def seeded_subset(samples: list[Sample], limit: int | None, seed: int,
                  group: Callable[[Sample], str] | None = None) -> list[Sample]:
    """The ``limit`` lowest-ranked items, in their original order; with ``group``, that many of each group."""
    if limit is None:
        return list(samples)
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(group(sample) if group else "", []).append(sample)
    chosen = {i for members in groups.values()
              for i in sorted((s.id for s in members), key=lambda i: rank(seed, i))[:limit]}
    return [s for s in samples if s.id in chosen]
