"""glibc's malloc set up for a model's forward passes on the CPU: freed activations are reused, not handed back to
the operating system and faulted in again by the next layer (``reuse_freed_memory``); and the heap's free pages
handed back at once between a run's scoring and its generation (``return_freed_memory``).

A forward pass allocates and frees the same few sizes again and again (per layer: the MLP's 1,536-wide
activations, its SiLU and product, the attention's projections; 14.7 MB each for a prompt pass of 2,400 positions).
glibc serves a request above its mapping threshold with a fresh ``mmap`` and gives it back at ``free``; below it, it
gives the top of the heap back once more than the trim threshold is free there. Both thresholds adapt to the sizes
freed, up to 32 MB, so a forward pass whose sizes vary keeps crossing them, and every fresh page is a fault that
zeroes 4 KB before the operation writes it: in a prompt pass of 8 prompts × 300 tokens SmolLM2's SiLU took 4.3 ms a
layer, 1.0 ms with the thresholds fixed as below (profiled). ``bench/allocator.py`` measures whole runs (SIB-200 +
XCOPA: 0.6 against 2.6 million page faults, 75.4 against 80.7 s, peak RSS 1,311 against 1,304 MB).

``mallopt`` fixes both thresholds (which also stops their adapting): requests up to ``MAP_ABOVE`` come from the
heap, and the heap keeps up to ``KEEP_FREE`` of free memory at its top. Larger requests (a 4,096-position call's
805 MB of logits) are still mapped and given back at once, so the peak moves little (the quick suite: 1,886 against
1,849 MB in one pair of runs); the decoding loop's key/value buffers are mapped on their own (``decode._untouched``)
and go back when a row ends, as before.

The same settings as ``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=…:glibc.malloc.trim_threshold=…`` at start-up,
set from inside the process because a run is started by ``octoglot``, a test or a benchmark alike. Other C
libraries (musl) and other systems: nothing is changed.
"""

from __future__ import annotations

MAP_ABOVE = 64 << 20  # bytes: larger requests are mapped (and unmapped when freed)
KEEP_FREE = 256 << 20  # bytes of free memory the heap keeps at its top before giving it back

_M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3

_done: list[bool] = []


def _glibc():
    """The C library when it is glibc on Linux (``mallopt`` and ``malloc_trim`` are glibc's), else None."""
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def reuse_freed_memory() -> bool:
    """Set the thresholds once for this process (later calls do nothing); True where glibc took them."""
    if _done:
        return _done[0]
    libc = _glibc()
    try:
        ok = libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, MAP_ABOVE)) \
            and bool(libc.mallopt(_M_TRIM_THRESHOLD, KEEP_FREE))
    except AttributeError:
        ok = False
    _done.append(ok)
    return ok


def return_freed_memory() -> None:
    """Give the C heap's free pages back to the operating system (glibc's ``malloc_trim``; nothing elsewhere).
    Scoring leaves ~230 MB of freed but fragmented heap on SmolLM2's quick suite; generation's key/value buffers
    come from the OS page by page (``decode._untouched``) and would not reuse it."""
    trim = getattr(_glibc(), "malloc_trim", None)
    if trim is not None:
        trim(0)
