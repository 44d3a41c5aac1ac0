"""Attention row by row over one flat, unpadded sequence: the forward calls of the decoding loop
(``decode``) and of flat log-likelihood scoring (``prefix``) run several sequences ("rows") as one sequence of
their positions in turn, and a cache object of theirs hands the attention, layer by layer, each row's own keys and
values (``Rows``). Each row attends over its own positions only, so rows of different lengths share the model's
matrix products without padding each other.
"""

from __future__ import annotations

NAME = "octoglot_rows"  # the attention implementation's name in transformers' ``AttentionInterface``
CAUSAL = "causal"  # a row's mask where it attends causally over its own positions only (no mask held)


# A row's mask is always "offset causal": its positions see every key before them (``before`` keys: a shared
# beginning, the cache, a context) and their own causally. Under a mask PyTorch's CPU kernel computes every score of
# the width × keys rectangle; causal, it skips the upper triangle of a square. So a row wider than the keys before it
# runs as the causal square instead, with zeros as the queries of the keys before it and their outputs dropped:
# keys²/2 scores instead of width × keys, the same scores for its own positions (bit for bit on the shapes measured:
# 1,000 shared + 3,000 own positions, 152 ms instead of 217 ms a layer; a 4K prompt sharing its first quarter had
# cost more attention than running it whole, 134 ms).


class Rows:
    """One layer's keys or values for a forward call: for each row, the keys (or values) it attends over, the number
    of its positions in the flat sequence (``widths``), and its mask (``CAUSAL``, a widths × keys mask, boolean or
    additive float as SDPA takes them, or None: every key)."""

    def __init__(self, views: list, widths: list[int], masks: list):
        self.views, self.widths, self.masks = views, widths, masks


def attention(module, query, key, value, attention_mask, **kwargs):
    """transformers' SDPA attention where the cache gives each row its own keys and values (``Rows``), row by row,
    unpadded. A row of one position without a mask attends to all its keys, as a one-token step of a one-request
    batch (lm-eval's) does. A row of several positions under a mask (a decoding row with a draft, a prompt or an
    option that continues shared keys) runs as one query block: that rounds like a masked batch (lm-eval's batched
    path), not bit for bit like one step per token. The flat sequence holds each row's ``widths`` positions in turn."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if not isinstance(key, Rows):
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    outputs, start = [], 0
    for k, v, width, mask in zip(key.views, value.views, key.widths, key.masks):
        # what sdpa_attention_forward does (grouped heads), with each row's own mask or causal flag
        causal = mask is CAUSAL
        q = query[:, :, start:start + width]
        before = k.shape[-2] - width  # keys the row's positions all see: a shared beginning, a cache, a context
        padded = mask is not None and not causal and width > before
        if padded:  # the causal square: see the note above ``Rows``
            q = torch.cat([q.new_zeros(q.shape[0], q.shape[1], before, q.shape[3]), q], dim=2)
        out = torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=None if causal or padded else mask, is_causal=causal or padded,
            scale=kwargs.get("scaling"), enable_gqa=True)
        outputs.append((out[:, :, before:] if padded else out).transpose(1, 2))
        start += width
    return torch.cat(outputs, dim=1), None


class row_attention:
    """The model's attention switched to ``attention`` for the forward calls inside the ``with`` block (registered
    with transformers' ``AttentionInterface`` on first use)."""

    registered = False

    def __init__(self, model):
        self.config = model.config

    def __enter__(self):
        if not row_attention.registered:
            from transformers import AttentionInterface

            AttentionInterface.register(NAME, attention)
            row_attention.registered = True
        self.before = self.config._attn_implementation
        self.config._attn_implementation = NAME

    def __exit__(self, *exc):
        self.config._attn_implementation = self.before
        return False
