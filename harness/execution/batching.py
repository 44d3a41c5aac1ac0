"""Cutting a sorted list of requests into batches where a cost model says the work is least: the dynamic program
behind generation batches (``engine.plan_batches``)."""

from __future__ import annotations

from typing import Callable


def cheapest_cuts(n: int, cost: Callable[[int, int], float | None], cap: int) -> list[tuple[int, int]]:
    """The (start, end) ranges that cover 0..n, each at most ``cap`` long, with the least summed
    ``cost(start, end)`` (None: that range is not allowed; a range of one is always allowed)."""
    best: list[float | None] = [0.0] + [None] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(max(0, end - cap), end):
            price = cost(start, end)
            if price is None or best[start] is None:
                continue
            total = best[start] + price
            if best[end] is None or total < best[end]:
                best[end], cut[end] = total, start
    ranges, end = [], n
    while end > 0:
        ranges.append((cut[end], end))
        end = cut[end]
    return ranges[::-1]
