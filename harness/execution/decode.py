"""Greedy generation on lm-eval's transformers (`hf`) backend, with each sequence's own token budget and stop
strings in one batch, and finished sequences dropped from the batch as they finish.

lm-eval's ``HFLM.generate_until`` hands a batch to ``model.generate``: every request of the batch must share its
generation settings, and a sequence that has stopped keeps its row (padded) until the last one stops, so every step
costs the whole batch. Here each request keeps lm-eval's meaning exactly (its tokenization and left truncation,
``max_gen_toks``, its ``until`` strings plus the end-of-text string, the end-of-sequence ids of the model's
generation config, the text decoded and cut at the first stop string), but a batch may mix budgets and stop strings,
and a row leaves the batch (and its key/value buffer) at its own end: the budget, an end-of-sequence token, or a
stop string in its text. A waiting request takes its place at once (continuous batching): each request has a
key/value buffer of its own and each step attends every row over its own length only, so rows of different lengths
share the model's matrix products without padding each other (``JOIN_ROWS``). A row whose last tokens occurred
before in its prompt or output also runs, in the same step, the tokens that followed them there, and keeps those the
model agrees with (prompt lookup, ``SPECULATE``): a looping answer takes several tokens a step.

Greedy only, and only where ``model.generate`` would apply no logits processing besides the argmax: requests that
sample, or a model whose generation config asks for a repetition penalty, forced or suppressed tokens and the like,
go through lm-eval's own path (``usable``). The outputs are lm-eval's up to float rounding (a batch of another shape
can round a logit differently and, rarely, flip a greedy token); the tests compare them with lm-eval's own
``generate_until`` and with each request decoded alone.
"""

from __future__ import annotations

from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from harness.execution import onednn, prefix
from harness.execution.rows import CAUSAL, Rows, row_attention

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

    @cached_property
    def window(self) -> int:
        """How many last tokens hold any stop string that has just appeared in the text (``_finished``): a token
        decodes to at least one byte (special tokens, skipped, to none), and a few more cover a character cut at the
        window's start."""
        return 4 + max((len(stop.encode("utf-8")) for stop in self.until), default=0)


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


# Continuous batching (models whose layers all attend to the whole sequence, ``_rows_ready``): each request keeps
# its own key/value buffer, sized for its own prompt and budget, and each decoding step attends every row over its
# own positions only (``_RowCache``, ``rows.attention``), so a request joins the running batch as soon as a row is
# free, without padding to the others or copying their caches. A request is taken in while the batch has fewer than
# ``JOIN_ROWS`` rows and the buffers of the rows, each counted at its prompt plus its whole budget (what it may
# come to), stay within ``CACHE_POSITIONS``: 10,240 positions are 471 MB in SmolLM2-135M float32 (46 KB a
# position). The buffers are allocated untouched (``_untouched``), so memory holds the positions written, not the
# budgets. New requests wait until ``ADMIT_ROWS`` rows are free (or their whole planned group fits): fewer, fuller
# prompt passes. The bound trades memory for time (quick suite on SmolLM2, 2 cores, ``octoglot run --suite quick
# --no-cache`` as ``bench/vs_lmeval.py --only quick`` runs it, with oneDNN's linear layers): 12,288 took 254-272 s
# at 2,003-2,051 MB peak RSS in three runs, 10,240 263 s at 1,879 MB (with the heap trimmed after scoring). With
# drafts filling the steps' padded positions (``_fill``) the larger bound no longer pays: the quick suite's generation
# (``bench/quick_generation.py``, 2026-12-01) took 289.4 s in 679 steps at 12,288 and 290.8 s in 811 at 10,240, at
# 1,943 and 1,829 MB (the steps are as long as their positions make them: fewer and wider steps, the same time).
JOIN_ROWS = 32
ADMIT_ROWS = 8
CACHE_POSITIONS = 10_240
# A new row whose prompt begins with at least ``SHARE_MIN`` tokens of a prompt whose keys and values are at hand
# (another new row's in the same pass, a running row's, or the prompt run last, kept after its row ended) copies
# those keys and values into its buffer and runs only the rest: few-shot examples, a chat template's system prompt,
# a function-calling task's tool list, a long-context haystack with other needles or questions. New rows are taken
# in token order, so that each shares what it can with the one before it. A row that shares attends under a mask of
# rest × (shared + rest) positions; above ``SHARED_MASK_MAX`` of them (bytes) it runs whole.
SHARE_MIN = 16
SHARED_MASK_MAX = 2**26
# a prompt pass runs its new rows in forward calls of at most this many prompt tokens (``_parts``): the calls'
# activations (SmolLM2's MLP holds 3 × 1,536 floats a position) stay ~100 MB, whatever the pass
PASS_POSITIONS = 4096
# Planned groups of prompts longer than this wait in token order, whatever their budgets (``_order``): the prompts
# over one haystack follow each other.
PREFIX_REUSE_MIN = 1024
# Prompt lookup (speculative decoding with the request's own tokens as the draft): each step, a row whose last
# tokens (``LOOKUP_NGRAM`` down to ``LOOKUP_MIN`` of them) occurred earlier in its prompt or output proposes the
# tokens that followed them there, runs them beside its next token in the same forward pass, and keeps the longest
# run of them that matches the model's own greedy choices, plus the model's choice after it. Every kept token is
# the argmax the model gave at its position, so greedy output is unchanged. Small models on long budgets loop (an
# instruction-following answer that repeats a paragraph until its 1,280 tokens); there a step yields many tokens for
# one reading of the row's keys and values and one of the weights. A row's draft starts at ``DRAFT_START`` tokens,
# grows by 2 after a draft kept whole, up to ``SPECULATE``, and shrinks by 1 after one rejected at its first token
# (transformers' schedule for assistant models). On the quick suite's 168 generation requests (SmolLM2,
# ``bench/quick_generation.py``) this keeps 44,471 tokens in 9,369 row-steps for 57,861 positions run (without
# drafts: 44,471 of each). ``SPECULATE`` 0: off.
SPECULATE = 16
DRAFT_START = 4
LOOKUP_NGRAM = 3
LOOKUP_MIN = 2


@dataclass
class _Batch:
    """The sequences being decoded together: their requests, key/value cache, attention mask (left-padded; None
    where each row has a buffer of its own), the position of each one's last token (None where the buffers' lengths
    tell it), and the tokens chosen for them and not yet run (a list where each row has a buffer of its own)."""

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
    padded; the group with the largest budget starts. Each step runs every sequence still going, and a sequence
    leaves when it ends. Where the model allows it (``_rows_ready``) requests of the next groups join the running
    batch as rows free up (``JOIN_ROWS``, ``CACHE_POSITIONS``, ``ADMIT_ROWS``); otherwise the groups run one after
    the other."""
    import torch

    ends = _end_ids(lm)
    pending = deque(sorted(groups or [list(range(len(requests)))], key=lambda g: _order(requests, g)))
    generated: list[list[int]] = [[] for _ in requests]
    with torch.inference_mode():
        if _rows_ready(lm):
            # patched once for the loop's every forward call, on CPUs where oneDNN is the faster (``pays_off``)
            with onednn.linear_layers(lm.model) if onednn.pays_off() else nullcontext() as patched:
                rows = onednn.ROW_STEP if patched is not None and patched.patched else 1
                _continuous(lm, requests, pending, generated, ends, done, rows)
        else:
            for group in pending:
                _one_group(lm, requests, group, generated, ends, done)
    return [_cut(lm.tok_decode(tokens), r.until) for tokens, r in zip(generated, requests)]  # (as done() was told)


def _order(requests: list[Request], group: list[int]) -> tuple:
    """Where a planned group waits: the largest budgets first (a long answer's steps overlap the others'), then
    the long prompts (more than ``PREFIX_REUSE_MIN`` tokens), whatever their budgets, in token order, so that prompts
    over one haystack follow each other; token order also among equal budgets."""
    ids = requests[group[0]].ids
    if len(ids) > PREFIX_REUSE_MIN:
        return (1, 0, ids)
    return (0, -max(requests[i].budget for i in group), ids)


def _one_group(lm, requests, group, generated, ends, done) -> None:
    """One planned group, prompt pass then steps, in transformers' own cache (a finished row leaves it)."""
    import torch

    batch = _advance(lm, requests, _prefill(lm, requests, group), generated, ends, done)
    while batch is not None:
        mask = torch.cat([batch.mask, batch.mask.new_ones(len(batch.rows), 1)], dim=1)
        last = batch.last + 1
        out = lm.model(input_ids=batch.tokens[:, None], attention_mask=mask, position_ids=last[:, None],
                       cache=batch.cache, use_cache=True)
        batch = _advance(lm, requests, _Batch(batch.rows, batch.cache, mask, last, out.logits[:, -1, :].argmax(-1)),
                         generated, ends, done)


def _continuous(lm, requests, pending, generated, ends, done, rows: int = 1) -> None:
    """Continuous batching over per-row buffers (see ``JOIN_ROWS``), with prompt-lookup drafts (``SPECULATE``);
    ``rows``: the multiple of positions the linear layers compute a step in any case (``onednn.ROW_STEP``, 1 for
    none), filled with longer drafts (``_fill``)."""
    running: _Batch | None = None
    earlier = _Earlier()
    lookups: dict[int, _Lookup] = {}
    while True:
        while taken := _admit(pending, running, requests):
            cache = running.cache if running is not None else _RowCache()
            joined = _new_rows(lm, requests, taken, running, cache, earlier)
            joined = _advance(lm, requests, joined, generated, ends, done,
                              offset=len(running.rows) if running is not None else 0)
            if joined is not None:
                joined.tokens = joined.tokens.tolist()
                lookups.update((i, _Lookup(requests[i].ids + generated[i])) for i in joined.rows)
            running = _joined(running, joined, cache)
        if running is None:
            if pending:
                continue
            break
        running = _step(lm, requests, running, lookups, generated, ends, done, rows)


def _step(lm, requests, running: _Batch, lookups: dict, generated, ends, done, rows: int = 1) -> _Batch | None:
    """One decoding step of every running row, as one flat sequence of positions: each row's chosen token and its
    draft (``SPECULATE``, made longer where the step has positions to spare: ``_fill``), each at its own position;
    then each row keeps its tokens up to the first draft token the model would not have chosen, and its buffer's
    length moves past the positions it keeps."""
    import torch

    cache: _RowCache = running.cache
    ids: list[int] = []
    positions: list[int] = []
    drafts: list[list[int]] = []
    for i in running.rows:
        room = min(SPECULATE, requests[i].budget - len(generated[i]) - 1)
        drafts.append(lookups[i].draft(room) if room > 0 else [])
    sizes = [len(d) for d in drafts]  # the drafts the schedule judges (``_Lookup.judged``)
    if rows > 1:
        _fill(requests, running.rows, lookups, generated, drafts, -sum(1 + n for n in sizes) % rows)
    for row, (token, draft) in enumerate(zip(running.tokens, drafts)):
        n = cache.lengths[row]
        ids += [token, *draft]
        positions += range(n, n + 1 + len(draft))
    cache.step([1 + len(d) for d in drafts])
    device = lm.device
    with row_attention(lm.model):
        out = lm.model(input_ids=torch.tensor([ids], device=device),
                       position_ids=torch.tensor([positions], device=device), cache=cache, use_cache=True)
    chosen = out.logits[0].argmax(-1).tolist()
    keep, tokens, start = [], [], 0
    for row, (i, draft) in enumerate(zip(running.rows, drafts)):
        mine = chosen[start:start + 1 + len(draft)]
        start += 1 + len(draft)
        agreed = 0
        while agreed < len(draft) and draft[agreed] == mine[agreed]:
            agreed += 1
        lookups[i].judged(sizes[row], min(agreed, sizes[row]))
        if _extend(lm, requests[i], generated[i], lookups[i], mine[:agreed + 1], ends):
            done(i, _cut(lm.tok_decode(generated[i]), requests[i].until))
            del lookups[i]
            continue
        cache.lengths[row] += 1 + agreed
        keep.append(row)
        tokens.append(mine[agreed])
    cache.step(None)
    if not keep:
        return None
    if len(keep) < len(running.rows):
        cache.keep(keep)
    return _Batch([running.rows[row] for row in keep], cache, None, None, tokens)


def _fill(requests: list[Request], rows: list[int], lookups: dict, generated, drafts: list[list[int]],
          spare: int) -> None:
    """Longer drafts for ``spare`` positions of a step that the linear layers compute anyway (oneDNN pads each
    call's rows to a multiple of ``onednn.ROW_STEP``): they go to the rows whose drafts have been kept the longest
    (the largest draft sizes: a loop), each drafting further along its lookup, past its size and ``SPECULATE``,
    within its budget; where they fill the step, ``onednn._product`` copies nothing to pad it. A longer draft extends
    the shorter one, and the draft-size schedule judges only the shorter one: every kept token is still the model's
    argmax, so the rows' outputs are as without the fill."""
    for row in sorted(range(len(rows)), key=lambda r: -lookups[rows[r]].size):
        if spare <= 0:
            return
        i, draft = rows[row], drafts[row]
        room = requests[i].budget - len(generated[i]) - 1
        if not draft or len(draft) >= room:
            continue
        longer = lookups[i].draft(min(room, len(draft) + spare), cap=False)
        spare -= len(longer) - len(draft)
        drafts[row] = longer


def _extend(lm, request: Request, tokens: list[int], lookup: "_Lookup", new: list[int], ends: set[int]) -> bool:
    """``new`` appended to a row's tokens one by one, as single steps would have; True when the row ended (the
    tokens after its end are dropped)."""
    for token in new:
        tokens.append(token)
        lookup.append(token)
        if _finished(lm, request, tokens, token, ends):
            return True
    return False


class _Lookup:
    """A row's tokens (prompt and output), where the token after the latest occurrence of each run of
    ``LOOKUP_MIN`` to ``LOOKUP_NGRAM`` of them is, and how long its next draft may be."""

    def __init__(self, tokens: list[int]):
        self.tokens: list[int] = []
        self.after: dict[tuple[int, ...], int] = {}
        self.size = DRAFT_START
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        tokens = self.tokens
        tokens.append(token)
        end = len(tokens) - 1  # the runs that end just before the new token now have a follower
        for n in range(LOOKUP_MIN, min(LOOKUP_NGRAM, end) + 1):
            self.after[tuple(tokens[end - n:end])] = end

    def draft(self, most: int, cap: bool = True) -> list[int]:
        """``most`` tokens (at most the row's draft size, unless ``cap`` is off) as they followed the latest earlier
        occurrence of the longest run the tokens end with; [] when no run of ``LOOKUP_MIN`` has occurred before.
        Where what followed reaches the present, the draft goes on as it predicts itself: a loop's period repeated.
        A longer draft begins with the shorter one."""
        tokens = self.tokens
        for n in range(min(LOOKUP_NGRAM, len(tokens)), LOOKUP_MIN - 1, -1):
            at = self.after.get(tuple(tokens[-n:]))
            if at is not None:
                period = len(tokens) - at
                return [tokens[at + j % period] for j in range(min(most, self.size) if cap else most)]
        return []

    def judged(self, drafted: int, kept: int) -> None:
        """The next draft's size after one of ``drafted`` tokens of which the model agreed with ``kept``."""
        if drafted and kept == drafted:
            self.size = min(SPECULATE, self.size + 2)
        elif drafted and not kept:
            self.size = max(1, self.size - 1)


def _admit(pending: deque, running: _Batch | None, requests: list[Request]) -> list[int]:
    """The requests to take into the running batch now, from the first planned group that has any that fit (the
    rest of a group waits at its place); [] for none. With nothing running, the first waiting request always goes."""
    rows = len(running.rows) if running is not None else 0
    free = JOIN_ROWS - rows
    if not pending or free <= 0 or (rows and free < min(ADMIT_ROWS, len(pending[0]))):
        return []
    used = sum(len(requests[i].ids) + requests[i].budget for i in running.rows) if running is not None else 0
    for n, group in enumerate(pending):
        taken = []
        for i in group:
            need = len(requests[i].ids) + requests[i].budget
            if len(taken) < free and used + need <= CACHE_POSITIONS:
                taken.append(i)
                used += need
        if not taken and not rows and n == 0:
            taken = [group[0]]
        if taken:
            rest = [i for i in group if i not in taken]
            if rest:
                pending[n] = rest
            else:
                del pending[n]
            return taken
    return []


def _joined(running: _Batch | None, joined: _Batch | None, cache) -> _Batch | None:
    if running is None or joined is None:
        return running or joined
    return _Batch(running.rows + joined.rows, cache, None, None, running.tokens + joined.tokens)


def _rows_ready(lm) -> bool:
    """Whether the model can decode from per-row buffers: transformers' SDPA attention, and a cache whose layers are
    all plain full-attention ones (not sliding windows)."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    if getattr(lm.model.config, "_attn_implementation", None) != "sdpa":
        return False
    cache = DynamicCache(config=lm.model.config)
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


class _Earlier:
    """The prompt run last and its buffer (kept after its row ends: the next prompts may share its beginning)."""

    ids: list[int] = []
    buffer = None

    def remember(self, ids: list[int], buffer) -> None:
        self.ids, self.buffer = ids, buffer


def _common(a: list[int], b: list[int]) -> int:
    """How many first tokens two prompts share (a binary search over slices: long-context prompts are long)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _sources(requests: list[Request], taken: list[int],
             known: list[tuple[list[int], object]]) -> tuple[list[int], list]:
    """For each new row (``taken``, in token order), how many first tokens it takes from a prompt whose keys and
    values are at hand (``SHARE_MIN``), and from where: a buffer of ``known`` ((prompt, buffer) pairs: the running
    rows', the earlier prompt's, those of this pass's earlier parts), or the index of a new row before it in this
    call; (0, None) for a row run whole."""
    shared, sources = [], []
    for k, i in enumerate(taken):
        ids = requests[i].ids
        best, source = 0, None
        for other, buffer in known + [(requests[j].ids, n) for n, j in enumerate(taken[:k])]:
            n = _common(ids, other)
            if n > best:
                best, source = n, buffer
        best = min(best, len(ids) - 1)
        rest = len(ids) - best
        if best < SHARE_MIN or rest * (best + rest) > SHARED_MASK_MAX:
            best, source = 0, None
        shared.append(best)
        sources.append(source)
    return shared, sources


def _new_rows(lm, requests: list[Request], taken: list[int], running: "_Batch | None", cache: "_RowCache",
              earlier: "_Earlier") -> _Batch:
    """The requests ``taken`` as new rows of ``cache``, in token order: their prompt passes (``_parts``,
    ``_prompts``), each prompt sharing what it can with those at hand, and each row's first token."""
    import torch

    taken = sorted(taken, key=lambda i: requests[i].ids)
    known = list(zip((requests[i].ids for i in running.rows), cache.buffers)) if running is not None else []
    if earlier.buffer is not None:
        known.append((earlier.ids, earlier.buffer))
    tokens = []
    for part in _parts(requests, taken):
        tokens += _prompts(lm, requests, part, known, cache)
        known += zip((requests[i].ids for i in part), cache.buffers[-len(part):])
    earlier.remember(requests[taken[-1]].ids, cache.buffers[-1])
    last = torch.tensor([len(requests[i].ids) - 1 for i in taken])
    return _Batch(taken, cache, None, last, torch.tensor(tokens))


def _parts(requests: list[Request], taken: list[int]) -> list[list[int]]:
    """The new rows cut into consecutive parts of at most ``PASS_POSITIONS`` prompt tokens (a longer prompt alone):
    one forward call each."""
    parts, size = [], 0
    for i in taken:
        if not parts or size + len(requests[i].ids) > PASS_POSITIONS:
            parts.append([])
            size = 0
        parts[-1].append(i)
        size += len(requests[i].ids)
    return parts


def _prompts(lm, requests: list[Request], taken: list[int], known: list, cache: "_RowCache") -> list[int]:
    """The prompt pass of the new rows ``taken`` (in token order): one flat sequence of each row's tokens after
    the beginning it shares (``_sources``), at their own positions, into new buffers appended to ``cache``
    (``_PromptPass``); each row's greedy next token, from the logits of its last position only."""
    import torch

    shared, sources = _sources(requests, taken, known)
    ids, positions, lasts = [], [], []
    for i, n in zip(taken, shared):
        ids += requests[i].ids[n:]
        positions += range(n, len(requests[i].ids))
        lasts.append(len(ids) - 1)
    device = lm.device
    rooms = [len(requests[i].ids) + requests[i].budget for i in taken]
    rests = [len(requests[i].ids) - n for i, n in zip(taken, shared)]
    with row_attention(lm.model):
        out = lm.model(input_ids=torch.tensor([ids], device=device),
                       position_ids=torch.tensor([positions], device=device),
                       cache=_PromptPass(cache, lm.model.config.num_hidden_layers, shared, sources, rests, rooms),
                       use_cache=True, logits_to_keep=torch.tensor(lasts, device=device))
    return out.logits[0].argmax(-1).tolist()


def _untouched(shape: tuple[int, ...], like):
    """An uninitialized tensor of ``like``'s dtype in memory of its own, mapped from the operating system: its pages
    hold memory once written and go back when the tensor is freed. (From the allocator, a buffer below glibc's
    mapping threshold would reuse pages other buffers wrote: the process would keep the most it ever wrote.)"""
    import mmap
    import math

    import torch

    if like.device.type != "cpu":
        return like.new_empty(shape)
    memory = mmap.mmap(-1, max(1, math.prod(shape) * like.element_size()))
    return torch.frombuffer(memory, dtype=like.dtype).view(shape)


class _RowCache:
    """A key/value cache with one buffer per row (layers × keys/values × heads × positions × head size), sized for
    the row's prompt and budget and allocated untouched (``_untouched``), so memory holds what was written. A step
    (one flat sequence: each row's ``widths`` positions in turn) writes each row's positions in place after its
    ``lengths`` and hands the attention each row's filled part; the step moves ``lengths`` past what it keeps."""

    def __init__(self):
        self.buffers: list = []
        self.lengths: list[int] = []
        self.widths: list[int] | None = None
        self.masks: list = []

    def step(self, widths: list[int] | None) -> None:
        """The positions each row runs in the next forward call (None after it), and each row's causal mask over
        its buffer for them: None for one position (it attends to all), else offset by the row's length, made
        once a step as the additive float mask SDPA would make of a boolean one in every layer's call (0 and -inf:
        the same logits, bit for bit; a step of 14 rows × 6 positions 289 against 293 ms, 10 × 8 301 against 308,
        measured in one process alternating)."""
        import torch

        self.widths, self.masks = widths, []
        for buffer, n, width in zip(self.buffers, self.lengths, widths or []):
            if width == 1:
                self.masks.append(None)
                continue
            device = buffer.device
            seen = torch.arange(n + width, device=device) <= torch.arange(n, n + width, device=device)[:, None]
            self.masks.append(torch.zeros(seen.shape, dtype=buffer.dtype, device=device)
                              .masked_fill_(~seen, float("-inf")))

    def keep(self, rows: list[int]) -> None:
        self.buffers = [self.buffers[r] for r in rows]
        self.lengths = [self.lengths[r] for r in rows]

    def update(self, key_states, value_states, layer_idx: int, *args, **kwargs):
        import torch

        states = torch.stack([key_states[0], value_states[0]])  # 2 × heads × positions × size
        keys, values, start = [], [], 0
        for buffer, n, width in zip(self.buffers, self.lengths, self.widths):
            buffer[layer_idx, :, :, n:n + width] = states[:, :, start:start + width]
            start += width
            keys.append(buffer[layer_idx, 0, :, :n + width].unsqueeze(0))
            values.append(buffer[layer_idx, 1, :, :n + width].unsqueeze(0))
        return Rows(keys, self.widths, self.masks), Rows(values, self.widths, self.masks)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return max(self.lengths, default=0)


class _PromptPass:
    """The cache of a prompt pass (``_prompts``): each new row's buffer, allocated untouched for its prompt and
    budget, takes its shared beginning from its source (``_sources``) layer by layer, then the keys and values of
    its own positions from the flat sequence (each row's ``rests`` in turn); each row attends over its own buffer,
    under a causal mask offset by its shared beginning, or, with none, causally (``CAUSAL``: no mask held). The
    buffers join ``rows`` after the last layer; the pass keeps nothing else."""

    is_compileable = False

    def __init__(self, rows: "_RowCache", layers: int, shared: list[int], sources: list, rests: list[int],
                 rooms: list[int]):
        import torch

        self.rows, self.layers, self.shared, self.sources, self.rests, self.rooms = (
            rows, layers, shared, sources, rests, rooms)
        self.buffers: list = []
        self.masks = [CAUSAL if n == 0 else torch.arange(n + w) <= torch.arange(n, n + w)[:, None]
                      for n, w in zip(shared, rests)]

    def update(self, key_states, value_states, layer_idx: int, *args, **kwargs):
        import torch

        states = torch.stack([key_states[0], value_states[0]])  # 2 × heads × positions × size
        if not self.buffers:
            self.buffers = [_untouched((self.layers, 2, states.shape[1], max(room, n + w), states.shape[3]),
                                       key_states) for n, w, room in zip(self.shared, self.rests, self.rooms)]
        keys, values, start = [], [], 0
        for buffer, n, w, source in zip(self.buffers, self.shared, self.rests, self.sources):
            if n:
                source = self.buffers[source] if isinstance(source, int) else source
                buffer[layer_idx, :, :, :n] = source[layer_idx, :, :, :n]
            buffer[layer_idx, :, :, n:n + w] = states[:, :, start:start + w]
            start += w
            keys.append(buffer[layer_idx, 0, :, :n + w].unsqueeze(0))
            values.append(buffer[layer_idx, 1, :, :n + w].unsqueeze(0))
        if layer_idx == self.layers - 1:
            self.rows.buffers += self.buffers
            self.rows.lengths += [n + w for n, w in zip(self.shared, self.rests)]
        return Rows(keys, self.rests, self.masks), Rows(values, self.rests, self.masks)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return 0


def _prefill(lm, requests: list[Request], rows: list[int], cache=None) -> _Batch:
    """The prompt pass of these requests, left-padded, into ``cache`` (default: transformers' own)."""
    from transformers.cache_utils import DynamicCache

    ids, mask, positions = prefix.left_padded(lm, [requests[i].ids for i in rows])
    cache = cache if cache is not None else DynamicCache(config=lm.model.config)
    out = lm.model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
                   logits_to_keep=1)
    return _Batch(list(rows), out.cache, mask, positions[:, -1], out.logits[:, -1, :].argmax(-1))


def _advance(lm, requests: list[Request], batch: _Batch, generated: list[list[int]], ends: set[int],
             done: Callable[[int, str], None], offset: int = 0) -> _Batch | None:
    """The batch's chosen tokens appended to its sequences; those that ended leave it (None: all ended).
    ``offset``: where the batch's rows start in its cache (rows just added to a ``_RowCache``)."""
    import torch

    keep = []
    for row, (i, token) in enumerate(zip(batch.rows, batch.tokens.tolist())):
        generated[i].append(token)
        if not _finished(lm, requests[i], generated[i], token, ends):
            keep.append(row)
        else:
            done(i, _cut(lm.tok_decode(generated[i]), requests[i].until))
    if len(keep) == len(batch.rows):
        return batch
    if isinstance(batch.cache, _RowCache):
        batch.cache.keep(list(range(offset)) + [offset + row for row in keep])
    elif keep:
        batch.cache.batch_select_indices(torch.tensor(keep, dtype=torch.long, device=batch.last.device))
    if not keep:
        return None
    index = torch.tensor(keep, dtype=torch.long, device=batch.last.device)
    return _Batch([batch.rows[row] for row in keep], batch.cache,
                  batch.mask[index] if batch.mask is not None else None, batch.last[index], batch.tokens[index])


def _finished(lm, request: Request, tokens: list[int], token: int, ends: set[int]) -> bool:
    """Whether the row ends at ``token``: an end-of-sequence id, its budget, or a stop string in its text. The text
    is decoded whole only where the last ``Request.window`` tokens show a stop string (SmolLM2's tokenizer took
    ~300 µs to decode a 1,280-token answer, after each of its tokens, in an ad-hoc timing); a stop string the window
    missed (a run of special tokens in it) only makes the row run on, and its text is cut at its first stop string
    all the same (``_cut``)."""
    if token in ends or len(tokens) >= request.budget:
        return True
    if not any(request.until):
        return False
    tail = lm.tok_decode(tokens[-request.window:])
    if not any(stop and stop in tail for stop in request.until):
        return False
    text = lm.tok_decode(tokens)
    return any(stop and stop in text for stop in request.until)


def _cut(text: str, until: list[str]) -> str:
    """lm-eval's cut (``postprocess_generated_text``): the text before each stop string in turn."""
    for stop in until:
        if stop:
            text = text.split(stop)[0]
    return text
