"""Row-by-row attention (``harness.execution.rows``): each row of a flat sequence attends over its own keys only,
and a row wider than the keys before it, run as a causal square, gets what its offset-causal mask gives."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from harness.execution.rows import CAUSAL, Rows, attention  # noqa: E402

F = torch.nn.functional


def offset_causal(before: int, width: int):
    return torch.arange(before + width) <= torch.arange(before, before + width)[:, None]


def additive(mask):
    """A boolean mask as the additive float one the decoding loop hands over (``decode._RowCache.step``)."""
    return torch.zeros(mask.shape).masked_fill_(~mask, float("-inf"))


@pytest.mark.parametrize("float_mask", [False, True])
@pytest.mark.parametrize("before,width", [(300, 100), (100, 300), (1, 40), (0, 7), (50, 50), (400, 6)])
def test_each_row_gets_what_its_own_mask_gives(before, width, float_mask):
    """Rows narrower and wider than the keys before them (the latter run as the causal square), with a boolean or an
    additive float mask, beside a causal row and a one-position row over all its keys, in one flat sequence."""
    torch.manual_seed(before * 1000 + width)
    heads, kv_heads, size = 9, 3, 64
    mask = offset_causal(before, width) if before else CAUSAL
    if float_mask and before:
        mask = additive(mask)
    shapes = [(before, width, mask), (0, 20, CAUSAL), (30, 1, None)]
    keys = [torch.randn(1, kv_heads, n + w, size) for n, w, _ in shapes]
    values = [torch.randn(1, kv_heads, n + w, size) for n, w, _ in shapes]
    query = torch.randn(1, heads, sum(w for _, w, _ in shapes), size)
    widths, masks = [w for _, w, _ in shapes], [m for *_, m in shapes]
    out, _ = attention(None, query, Rows(keys, widths, masks), Rows(values, widths, masks), None)
    start = 0
    for (n, w, mask), k, v in zip(shapes, keys, values):
        q = query[:, :, start:start + w]
        explicit = torch.ones(w, n + w, dtype=torch.bool) if mask is None else \
            offset_causal(n, w) if mask is not CAUSAL else offset_causal(0, w)
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=explicit, enable_gqa=True).transpose(1, 2)
        assert out[:, start:start + w].shape == expected.shape
        torch.testing.assert_close(out[:, start:start + w], expected, atol=2e-6, rtol=1e-5)
        start += w
    assert out.shape[1] == start
