"""Shared-prefix scoring of multiple-choice options on lm-eval's transformers (`hf`) backend.

lm-eval scores each option as a separate full-context request: an item with 7 options runs its
context through the model 7 times. Here the context is run once, its key/value cache is copied to
every option, and all options are scored in one batch from it. Several items go through the model
together (``score_batch``): their contexts in one left-padded pass, then every option of every item in
one right-padded pass from the copied caches; the attention mask hides the padding and the position ids
count only real tokens, so each option sees exactly what it would see alone. ``plan`` chooses, item by
item, between this path and lm-eval's plain (context + option) requests, and cuts the batches, by a cost
model of padded token positions and model calls.

Tokenization is lm-eval's own (``HFLM._encode_pair``: trailing spaces move from the context into the
continuation; the context is encoded alone, the continuation is what the whole string adds), so the
log-likelihoods are those lm-eval computes, up to float rounding (checked in the tests and the benchmark).

Backends other than a causal `hf` model, and requests longer than the model's window (which lm-eval
truncates from the left), go through the plain per-request path.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.execution.batching import cheapest_cuts

# Cost model of one forward call on a CPU, in token positions: a call costs CALL_COST positions of work besides the
# positions it runs (padding included). Measured with SmolLM2-135M float32 on 2 idle cores (forward passes of
# 1 × 1 … 32 × 64 random tokens, 2026-11-30): ~1.2 ms per position and ~40 ms per call whatever its size.
CALL_COST = 32
# Choosing a path item by item, an item pays its share of its batches' calls, not a whole call: batches hold about
# eight items (lm-eval's plain batches hold eight requests), so the share is an eighth.
ITEM_CALL_SHARE = CALL_COST // 8
BATCH_POSITIONS = 4096  # at most this many padded positions in one pass (bounds memory: logits are vocab-wide)
BATCH_ITEMS = 32


def supported(lm) -> bool:
    try:
        from lm_eval.models.huggingface import HFLM
    except ImportError:  # pragma: no cover - lm-eval[hf] is a dependency
        return False
    return isinstance(lm, HFLM) and getattr(lm, "backend", None) == "causal"


def encode(lm, context: str, continuation: str) -> tuple[list[int], list[int]]:
    if context == "":  # lm-eval scores an empty context after the model's prefix token
        return [lm.prefix_token_id], lm.tok_encode(continuation)
    return lm._encode_pair(context, continuation)


@dataclass(frozen=True)
class Item:
    """One context with its options, tokenized as lm-eval tokenizes them."""

    prefix: list[int]
    options: list[list[int]]

    @property
    def rest(self) -> int:
        """Option positions run after the context (an option's last token is only predicted)."""
        return max(len(o) for o in self.options) - 1

    def shared_cost(self) -> int:
        """This item's positions on the shared-prefix path, and its share of the two calls of its batch."""
        return len(self.prefix) + len(self.options) * self.rest + ITEM_CALL_SHARE * (2 if self.rest else 1)

    def plain_cost(self) -> int:
        """The same for lm-eval's path: its (context + option) requests padded to the longest, one call's share."""
        return len(self.options) * (len(self.prefix) + max(len(o) for o in self.options)) + ITEM_CALL_SHARE


def tokenize(lm, context: str, continuations: list[str]) -> Item | None:
    """The item, or None when it cannot take the shared-prefix path (the contexts tokenize differently, an
    option is empty, or context + option exceed the model's window)."""
    encoded = [encode(lm, context, c) for c in continuations]
    prefix = encoded[0][0]
    if any(ctx != prefix for ctx, _ in encoded) or any(not cont for _, cont in encoded):
        return None
    item = Item(prefix, [cont for _, cont in encoded])
    return item if len(prefix) + item.rest + 1 <= lm.max_length else None


def batch_cost(items: list[Item]) -> int:
    """Padded positions of ``score_batch`` on these items, plus its calls."""
    prefix = max(len(i.prefix) for i in items)
    rest = max(i.rest for i in items)
    options = sum(len(i.options) for i in items)
    return len(items) * prefix + options * rest + CALL_COST * (2 if rest else 1)


def plan(items: list[Item]) -> list[list[int]]:
    """Batches of item indices for ``score_batch``: items sorted by context length, or by option length, and cut
    where the summed ``batch_cost`` is lowest (dynamic programming over the cut points), each batch within
    ``BATCH_ITEMS`` items and ``BATCH_POSITIONS`` padded positions per pass unless it holds one item. Of the two
    orders the cheaper plan wins: long contexts with one-token options (SIB-200) pad least in context order, short
    contexts with options of a dozen tokens (XCOPA: 34% of the positions were padding) in option order."""
    plans = []
    for key in (lambda i: (len(items[i].prefix), items[i].rest, i), lambda i: (items[i].rest, len(items[i].prefix), i)):
        order = sorted(range(len(items)), key=key)

        def cost(start: int, end: int, order=order) -> int | None:
            chosen = [items[i] for i in order[start:end]]
            prefix = max(len(i.prefix) for i in chosen)
            options = sum(len(i.options) for i in chosen)
            rest = max(i.rest for i in chosen)
            if end - start > 1 and max(len(chosen) * prefix, options * (prefix + rest)) > BATCH_POSITIONS:
                return None
            return batch_cost(chosen)

        batches = [order[start:end] for start, end in cheapest_cuts(len(order), cost, BATCH_ITEMS)]
        plans.append((sum(batch_cost([items[i] for i in batch]) for batch in batches), batches))
    return min(plans, key=lambda plan: plan[0])[1]


def pad_id(lm) -> int:
    return lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0


def left_padded(lm, sequences: list[list[int]]):
    """Token sequences as one batch on the model's device, padded on the left: ids, attention mask, and position
    ids that count real tokens only (so each sequence sees what it would see alone)."""
    import torch

    width = max(len(s) for s in sequences)
    ids = torch.tensor([[pad_id(lm)] * (width - len(s)) + s for s in sequences], dtype=torch.long, device=lm.device)
    mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences], dtype=torch.long,
                        device=lm.device)
    return ids, mask, (mask.cumsum(-1) - 1).clamp(min=0)


def score_batch(lm, items: list[Item]) -> list[list[tuple[float, bool]]]:
    """(log-likelihood, is_greedy) of every option of every item: one pass over the left-padded contexts, the
    cache rows copied to each item's options, one pass over the right-padded options."""
    import torch
    import torch.nn.functional as F

    model, device = lm.model, lm.device
    pad = pad_id(lm)
    ids, mask, positions = left_padded(lm, [i.prefix for i in items])
    rest = max(i.rest for i in items)
    # PyTorch's own kernels (MKL), not ``onednn``: oneDNN's rounding moved log-likelihoods by up to 1.42e-4 from
    # lm-eval's over 1,500 requests (``bench/vs_lmeval.py``; 8.9e-5 with MKL), past the 1e-4 they must stay within
    with torch.no_grad():
        first = model(ids, attention_mask=mask, position_ids=positions, use_cache=bool(rest), logits_to_keep=1)
        heads = F.log_softmax(first.logits[:, -1].float(), dim=-1)
        tails = None
        if rest:
            owner = [n for n, item in enumerate(items) for _ in item.options]
            cache = first.cache  # transformers' Cache API (``past_key_values`` is gone in transformers 5.40)
            cache.batch_select_indices(torch.tensor(owner, device=device))
            options = [o for item in items for o in item.options]
            # right padding: a causal model never lets a later (padded) position change an earlier one
            batch = torch.tensor([o[:-1] + [pad] * (rest - len(o) + 1) for o in options], device=device)
            option_mask = torch.tensor([[1] * (len(o) - 1) + [0] * (rest - len(o) + 1) for o in options],
                                       device=device)
            full_mask = torch.cat([mask[owner], option_mask], dim=1)
            starts = torch.tensor([len(items[n].prefix) for n in owner], device=device)
            option_positions = starts[:, None] + torch.arange(rest, device=device)[None, :]
            out = model(batch, attention_mask=full_mask, position_ids=option_positions, cache=cache,
                        use_cache=False)
            tails = F.log_softmax(out.logits.float(), dim=-1)
    results, row = [], 0
    for n, item in enumerate(items):
        scored = []
        for option in item.options:
            logprob = heads[n, option[0]].item()
            greedy = int(heads[n].argmax()) == option[0]
            for j in range(1, len(option)):
                logits = tails[row, j - 1]
                logprob += logits[option[j]].item()
                greedy = greedy and int(logits.argmax()) == option[j]
            scored.append((logprob, greedy))
            row += 1
        results.append(scored)
    return results
