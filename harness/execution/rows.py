"""Attention row by row over one flat, unpadded sequence: the forward calls of the decoding loop
(``decode``) and of flat log-likelihood scoring (``prefix``) run several sequences ("rows") as one sequence of
their positions in turn, and a cache object of theirs hands the attention, layer by layer, each row's own keys and
values (``Rows``). Each row attends over its own positions only, so rows of different lengths share the model's
matrix products without padding each other.
"""

from __future__ import annotations

NAME = "octoglot_rows"  # the attention implementation's name in transformers' ``AttentionInterface``
CAUSAL = "causal"  # a row's mask where it attends causally over its own positions only (no mask held)


class Rows:
    """One layer's keys or values for a forward call: for each row, the keys (or values) it attends over, the number
    of its positions in the flat sequence (``widths``), and its mask (``CAUSAL``, a boolean widths × keys mask, or
    None: every key)."""

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
        out = torch.nn.functional.scaled_dot_product_attention(
            query[:, :, start:start + width], k, v, attn_mask=None if causal else mask, is_causal=causal,
            scale=kwargs.get("scaling"), enable_gqa=True)
        outputs.append(out.transpose(1, 2))
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
