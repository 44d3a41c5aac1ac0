"""``harness.execution.worker``'s memory hand-back between scoring and generation."""

import ctypes.util
import sys

import pytest

from harness.execution.worker import return_freed_memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux") or not ctypes.util.find_library("c"),
                    reason="glibc's malloc_trim is Linux-only")
def test_freed_heap_goes_back_to_the_os():
    """Blocks below glibc's mapping threshold stay in the heap once freed (fragmented: every other one is kept);
    the hand-back returns their pages."""
    blocks = [bytearray(64 * 1024) for _ in range(4000)]  # 250 MB of 64 KB heap blocks, written
    kept = blocks[::50]
    del blocks
    before = _rss_mb()
    return_freed_memory()
    after = _rss_mb()
    assert before - after > 100, (before, after)
    assert len(kept) == 80
