"""Shared-prefix scoring of multiple-choice options on lm-eval's transformers (`hf`) backend.

lm-eval scores each option as a separate full-context request: an item with 7 options runs its
context through the model 7 times. Here the context is run once, its key/value cache is copied to
every option, and all options are scored in one batch from it. Tokenization is lm-eval's own
(``HFLM._encode_pair``: trailing spaces move from the context into the continuation; the context
is encoded alone, the continuation is what the whole string adds), so the log-likelihoods are
those lm-eval computes, up to float rounding (checked in the tests and the benchmark).

Backends other than a causal `hf` model, and requests longer than the model's window (which
lm-eval truncates from the left), go through the plain per-request path.
"""

from __future__ import annotations


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


def score_options(lm, context: str, continuations: list[str]) -> tuple[list[tuple[float, bool]], int] | None:
    """(log-likelihood, is_greedy) for each continuation after one shared context, and the number of
    token positions run through the model; None when this request needs the plain path."""
    import torch
    import torch.nn.functional as F

    encoded = [encode(lm, context, c) for c in continuations]
    prefix = encoded[0][0]
    if any(ctx != prefix for ctx, _ in encoded) or any(not cont for _, cont in encoded):
        return None
    longest = max(len(cont) for _, cont in encoded)
    if len(prefix) + longest > lm.max_length:
        return None
    model = lm.model
    device = lm.device
    with torch.no_grad():
        first = model(torch.tensor([prefix], device=device), use_cache=True, logits_to_keep=1)
        head = F.log_softmax(first.logits[0, -1].float(), dim=-1)
        tokens = len(prefix)
        rest = longest - 1
        tail = None
        if rest > 0:
            cache = first.cache  # transformers' Cache API (``past_key_values`` is gone in transformers 5.40)
            cache.batch_repeat_interleave(len(continuations))
            pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
            # right padding: a causal model never lets a later (padded) position change an earlier one
            batch = [cont[:-1] + [pad] * (rest - (len(cont) - 1)) for _, cont in encoded]
            out = model(torch.tensor(batch, device=device), cache=cache, use_cache=False)
            tail = F.log_softmax(out.logits.float(), dim=-1)
            tokens += len(continuations) * rest
    results = []
    for i, (_, cont) in enumerate(encoded):
        logprob = head[cont[0]].item()
        greedy = int(head.argmax()) == cont[0]
        for j in range(1, len(cont)):
            row = tail[i, j - 1]
            logprob += row[cont[j]].item()
            greedy = greedy and int(row.argmax()) == cont[j]
        results.append((logprob, greedy))
    return results, tokens
