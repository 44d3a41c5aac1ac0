"""Greedy generation on lm-eval's transformers (`hf`) backend, with each sequence's own token budget and stop
strings in one batch, and finished sequences dropped from the batch as they finish.

lm-eval's ``HFLM.generate_until`` hands a batch to ``model.generate``: every request of the batch must share its
generation settings, and a sequence that has stopped keeps its row (padded) until the last one stops, so every step
costs the whole batch. Here each request keeps lm-eval's meaning exactly (its tokenization and left truncation,
``max_gen_toks``, its ``until`` strings plus the end-of-text string, the end-of-sequence ids of the model's
generation config, the text decoded and cut at the first stop string), but a batch may mix budgets and stop strings,
and a row leaves the batch (and its key/value cache: ``Cache.batch_select_indices``) at its own end: the budget, an
end-of-sequence token, or a stop string in its text.

Greedy only, and only where ``model.generate`` would apply no logits processing besides the argmax: requests that
sample, or a model whose generation config asks for a repetition penalty, forced or suppressed tokens and the like,
go through lm-eval's own path (``usable``). The outputs are lm-eval's up to float rounding (a batch of another shape
can round a logit differently and, rarely, flip a greedy token); the tests compare them with lm-eval's own
``generate_until`` and with each request decoded alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.execution import prefix

GREEDY_KEYS = {"until", "max_gen_toks", "do_sample", "temperature"}
# generation-config fields that do not change greedy decoding (ids, switches, sampling settings that greedy ignores)
NEUTRAL_CONFIG = {"bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id", "use_cache",
                  "_from_model_config", "transformers_version", "output_attentions", "output_hidden_states",
                  "output_scores", "output_logits", "return_dict_in_generate", "do_sample", "temperature", "top_k",
                  "top_p", "min_p", "typical_p", "max_length", "max_new_tokens", "cache_implementation",
                  "num_return_sequences", "_commit_hash", "trust_remote_code"}


@dataclass
class Request:
    """One generation request as lm-eval would send it: its prompt tokens, budget and stop strings."""

    ids: list[int]
    budget: int
    until: list[str]


def usable(lm, kwargs: list[dict]) -> bool:
    """Whether these requests can go through this loop: a causal `hf` model, greedy settings only, and a generation
    config that asks ``model.generate`` for nothing but the argmax."""
    if not prefix.supported(lm):
        return False
    for kw in kwargs:
        if set(kw) - GREEDY_KEYS or kw.get("do_sample") or float(kw.get("temperature") or 0.0) != 0.0:
            return False
    config = getattr(lm.model, "generation_config", None)
    if config is None:
        return True
    from transformers import GenerationConfig

    default = GenerationConfig().to_dict()
    changed = {k for k, v in config.to_dict().items() if k not in NEUTRAL_CONFIG and default.get(k, v) != v}
    return not changed


def prepare(lm, context: str, kwargs: dict) -> Request:
    """lm-eval's reading of one request (``HFLM.generate_until``): the budget, the stop strings with the
    end-of-text string added, the prompt tokenized and left-truncated to the window less the budget."""
    from lm_eval.models.utils import handle_stop_sequences, normalize_gen_kwargs

    settings = normalize_gen_kwargs(dict(kwargs), lm.max_gen_toks)
    eos = lm.tok_decode(lm.eot_token_id, skip_special_tokens=False)
    until = handle_stop_sequences(settings.pop("until", None), eos=eos)
    budget = int(settings.pop("max_gen_toks"))
    ids, _ = lm.tok_batch_encode([context], left_truncate_len=lm.max_length - budget, truncation=lm.truncation)
    return Request(ids[0].tolist(), budget, until)


def _end_ids(lm) -> set[int]:
    config = getattr(lm.model, "generation_config", None)
    ends = getattr(config, "eos_token_id", None)
    if ends is None:
        return set()
    return {int(e) for e in (ends if isinstance(ends, (list, tuple)) else [ends])}


def generate(lm, requests: list[Request]) -> list[str]:
    """The greedy continuation of every request, decoded and cut at its first stop string, from one batch."""
    import torch

    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    ends = _end_ids(lm)
    width = max(len(r.ids) for r in requests)
    ids = torch.tensor([[pad] * (width - len(r.ids)) + r.ids for r in requests], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(r.ids)) + [1] * len(r.ids) for r in requests], dtype=torch.long)
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    device = lm.device
    generated: list[list[int]] = [[] for _ in requests]
    active = list(range(len(requests)))
    with torch.inference_mode():
        out = lm.model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                       use_cache=True, logits_to_keep=1)
        cache, last = out.past_key_values, positions[:, -1]
        while True:
            tokens = out.logits[:, -1, :].argmax(-1).cpu()
            keep = []
            for row, (i, token) in enumerate(zip(active, tokens.tolist())):
                generated[i].append(token)
                if not _finished(lm, requests[i], generated[i], token, ends):
                    keep.append(row)
            if not keep:
                break
            if len(keep) < len(active):
                index = torch.tensor(keep, dtype=torch.long)
                cache.batch_select_indices(index.to(device))
                mask, last, tokens = mask[index], last[index], tokens[index]
                active = [active[row] for row in keep]
            mask = torch.cat([mask, torch.ones(len(active), 1, dtype=torch.long)], dim=1)
            last = last + 1
            out = lm.model(input_ids=tokens[:, None].to(device), attention_mask=mask.to(device),
                           position_ids=last[:, None].to(device), past_key_values=cache, use_cache=True)
    return [_cut(lm.tok_decode(tokens), r.until) for tokens, r in zip(generated, requests)]


def _finished(lm, request: Request, tokens: list[int], token: int, ends: set[int]) -> bool:
    if token in ends or len(tokens) >= request.budget:
        return True
    text = lm.tok_decode(tokens)
    return any(stop and stop in text for stop in request.until)


def _cut(text: str, until: list[str]) -> str:
    """lm-eval's cut (``postprocess_generated_text``): the text before each stop string in turn."""
    for stop in until:
        if stop:
            text = text.split(stop)[0]
    return text
