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

from collections import deque
from dataclasses import dataclass
from typing import Callable

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


# A batch takes in the next planned group (continuous batching) only while it stays within these: rows, and the
# positions its key/value cache will hold when its longest budget is spent, every row padded to the widest
# (SmolLM2-135M float32 holds 46 KB per position: 24,576 positions are 1.1 GB). ``engine.plan_batches`` keeps a
# planned group within the same positions. The bound trades memory for time (quick suite on SmolLM2, 2 cores):
# 12,288 positions took 966 s at 2.3 GB peak RSS (its 22 instruction-following answers, 1,280-token budgets, decoded
# in three waves), 49,152 took 602 s at 5.9 GB.
JOIN_ROWS = 32
CACHE_POSITIONS = 24_576


@dataclass
class _Batch:
    """The sequences being decoded together: their requests, key/value cache, attention mask (left-padded), the
    position of each one's last token, and the tokens chosen for them and not yet run."""

    rows: list[int]
    cache: object
    mask: object
    last: object
    tokens: object


def generate(lm, requests: list[Request], groups: list[list[int]] | None = None,
             done: Callable[[int, str], None] = lambda i, text: None) -> list[str]:
    """The greedy continuation of every request, decoded and cut at its first stop string; ``done(i, text)`` as
    request ``i`` ends.

    ``groups`` (indices into ``requests``; default: all in one) are prompt passes, planned by length so that little is
    padded. The group with the largest budget starts; each step runs every sequence still going, and a sequence leaves
    when it ends. Whenever the next group fits beside the sequences still going (``JOIN_ROWS``,
    ``CACHE_POSITIONS``), its prompts are run and it joins the batch, its cache padded on the left to the batch's
    width (masked), so one step serves both: a long sequence's last steps no longer run alone."""
    import torch

    ends = _end_ids(lm)
    pending = deque(sorted(groups or [list(range(len(requests)))],
                           key=lambda g: -max(requests[i].budget for i in g)))
    generated: list[list[int]] = [[] for _ in requests]
    running: _Batch | None = None
    with torch.inference_mode():
        while True:
            while pending and _fits(running, pending[0], requests, generated):
                joined = _advance(lm, requests, _prefill(lm, requests, pending.popleft()), generated, ends, done)
                running = _merge(running, joined, requests, generated)
            if running is None:
                if pending:
                    continue
                break
            mask = torch.cat([running.mask, torch.ones(len(running.rows), 1, dtype=running.mask.dtype,
                                                       device=running.mask.device)], dim=1)
            last = running.last + 1
            out = lm.model(input_ids=running.tokens[:, None], attention_mask=mask, position_ids=last[:, None],
                           cache=running.cache, use_cache=True)
            running = _advance(lm, requests, _Batch(running.rows, running.cache, mask, last,
                                                    out.logits[:, -1, :].argmax(-1)), generated, ends, done)
    return [_cut(lm.tok_decode(tokens), r.until) for tokens, r in zip(generated, requests)]  # (as done() was told)


def _growing_layer(room: int):
    """A key/value cache layer (transformers' ``DynamicLayer``) whose tensors live in a buffer with ``room``
    positions: a decoding step writes its one position in place. ``DynamicLayer`` concatenates, copying the whole
    cache at every step: for 32 sequences of 1,500 positions in SmolLM2 that is 2.2 GB a step, four times the weights
    the step reads. ``room`` is the prompt's width plus the largest budget, so the buffer never grows (it would
    double); ``keys``/``values`` are views of its filled part."""
    from transformers.cache_utils import DynamicLayer

    class GrowingLayer(DynamicLayer):
        filled = 0
        key_buffer = value_buffer = None
        wanted = room

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            n = key_states.shape[-2]
            if self.key_buffer is None or self.filled + n > self.key_buffer.shape[-2]:
                room = max(self.wanted, 2 * (self.filled + n))
                self.key_buffer = _regrown(self.key_buffer, key_states, room, self.filled)
                self.value_buffer = _regrown(self.value_buffer, value_states, room, self.filled)
            self.key_buffer[:, :, self.filled:self.filled + n] = key_states
            self.value_buffer[:, :, self.filled:self.filled + n] = value_states
            self.filled += n
            return self._views()

        def _views(self):
            self.keys = self.key_buffer[:, :, :self.filled]
            self.values = self.value_buffer[:, :, :self.filled]
            return self.keys, self.values

        def batch_select_indices(self, indices) -> None:
            self.key_buffer, self.value_buffer = self.key_buffer[indices], self.value_buffer[indices]
            self._views()

        def stack(self, other, width: int, room: int) -> None:
            """This layer's rows and then ``other``'s, both padded on the left to ``width`` positions, in a buffer of
            ``room`` positions (at least ``width``)."""
            room = max(room, width)
            for name in ("key_buffer", "value_buffer"):
                mine, theirs = getattr(self, name), getattr(other, name)
                joined = mine.new_zeros(mine.shape[0] + theirs.shape[0], mine.shape[1], room, mine.shape[3])
                joined[:mine.shape[0], :, width - self.filled:width] = mine[:, :, :self.filled]
                joined[mine.shape[0]:, :, width - other.filled:width] = theirs[:, :, :other.filled]
                setattr(self, name, joined)
            self.filled = width
            self._views()

    return GrowingLayer()


def _regrown(buffer, states, room: int, filled: int):
    grown = states.new_zeros(*states.shape[:2], room, states.shape[-1])
    if buffer is not None and filled:
        grown[:, :, :filled] = buffer[:, :, :filled]
    return grown


def _new_cache(lm, room: int):
    """An empty cache for the model: growing layers of ``room`` positions where the model's layers are plain
    full-attention ones (these are also the only ones a batch can join), transformers' own otherwise (sliding-window
    layers)."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    cache = DynamicCache(config=lm.model.config)
    if cache.layers and all(type(layer) is DynamicLayer for layer in cache.layers):
        cache.layers = [_growing_layer(room) for _ in cache.layers]
    return cache


def _prefill(lm, requests: list[Request], rows: list[int]) -> _Batch:
    ids, mask, positions = prefix.left_padded(lm, [requests[i].ids for i in rows])
    room = ids.shape[1] + max(requests[i].budget for i in rows)
    out = lm.model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=_new_cache(lm, room),
                   use_cache=True, logits_to_keep=1)
    return _Batch(list(rows), out.cache, mask, positions[:, -1], out.logits[:, -1, :].argmax(-1))


def _advance(lm, requests: list[Request], batch: _Batch, generated: list[list[int]], ends: set[int],
             done: Callable[[int, str], None]) -> _Batch | None:
    """The batch's chosen tokens appended to its sequences; those that ended leave it (None: all ended)."""
    import torch

    keep = []
    for row, (i, token) in enumerate(zip(batch.rows, batch.tokens.tolist())):
        generated[i].append(token)
        if not _finished(lm, requests[i], generated[i], token, ends):
            keep.append(row)
        else:
            done(i, _cut(lm.tok_decode(generated[i]), requests[i].until))
    if not keep:
        return None
    if len(keep) == len(batch.rows):
        return batch
    index = torch.tensor(keep, dtype=torch.long, device=batch.mask.device)
    batch.cache.batch_select_indices(index)
    return _Batch([batch.rows[row] for row in keep], batch.cache, batch.mask[index], batch.last[index],
                  batch.tokens[index])


def _layers(cache) -> list | None:
    """The cache's layers when each is a growing layer that padding can join (``_new_cache``)."""
    layers = getattr(cache, "layers", None)
    if not layers or any(not hasattr(layer, "stack") or layer.key_buffer is None for layer in layers):
        return None
    return layers


def _fits(running: _Batch | None, group: list[int], requests: list[Request], generated: list[list[int]]) -> bool:
    if running is None:
        return True
    if _layers(running.cache) is None or len(running.rows) + len(group) > JOIN_ROWS:
        return False
    width = max(running.mask.shape[1], max(len(requests[i].ids) for i in group))
    longest = max([requests[i].budget - len(generated[i]) for i in running.rows] +
                  [requests[i].budget for i in group])
    return (len(running.rows) + len(group)) * (width + longest) <= CACHE_POSITIONS


def _merge(running: _Batch | None, joined: _Batch | None, requests: list[Request],
           generated: list[list[int]]) -> _Batch | None:
    """One batch of two: masks and caches padded on the left to the wider one, rows stacked, in caches with room for
    the longest remaining budget."""
    import torch
    import torch.nn.functional as F

    if running is None or joined is None:
        return running or joined
    width = max(running.mask.shape[1], joined.mask.shape[1])
    room = width + max(requests[i].budget - len(generated[i]) for i in running.rows + joined.rows)
    for mine, theirs in zip(_layers(running.cache), _layers(joined.cache)):
        mine.stack(theirs, width, room)
    masks = [F.pad(b.mask, (width - b.mask.shape[1], 0)) for b in (running, joined)]
    return _Batch(running.rows + joined.rows, running.cache, torch.cat(masks, dim=0),
                  torch.cat([running.last, joined.last]), torch.cat([running.tokens, joined.tokens]))


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
