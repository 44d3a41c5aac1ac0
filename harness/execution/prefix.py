"""Log-likelihood scoring on lm-eval's transformers (`hf`) backend in flat, unpadded forward calls, each context run
once for all its options.

lm-eval scores each (context, continuation) request as a row of a right-padded batch: an item with 7 options runs
its context 7 times (its logits cache spares only one-token continuations), and every row is padded to the longest
of its batch. Here the requests are grouped by their tokenized context (``group``): an ``Item`` is one context and
the options that continue it. A forward call runs several items as one flat sequence, without padding (``plan``,
``score``): each item's context followed by its first option's tokens (but the last, which is only predicted) as one
row attending causally over itself, then each further option's tokens as a row of its own that attends over the
context's keys and values and, causally, its own (``rows.attention``); positions count from the start of the item,
so each option sees exactly what it sees in lm-eval's request. Only the logits that score a token are computed
(``logits_to_keep``).

An option that continues a shared context costs only its own positions; as a request of its own it would cost the
context's as well, at the same attention cost, so the shared form is never the dearer one and every item takes it:
a lone request is an item of one option. (With padded batches the choice depended on lengths: a context of one
token shared by options of a dozen paid more in padding than it saved.)

Tokenization is lm-eval's own (``HFLM._encode_pair``: trailing spaces move from the context into the continuation;
the context is encoded alone, the continuation is what the whole string adds), so the log-likelihoods are those
lm-eval computes, up to float rounding (checked in the tests and in ``bench/vs_lmeval.py``: within 1e-4).

Backends other than a causal `hf` model, empty continuations, and requests longer than the model's window (which
lm-eval truncates from the left) go through lm-eval's own path.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.execution.rows import CAUSAL, Rows, row_attention

# A forward call runs at most PASS_POSITIONS positions (an item longer than that alone): its activations stay
# ~100 MB in SmolLM2-135M (its MLP holds 3 × 1,536 floats a position), and calls of 4,096 positions keep the matrix
# products at the CPU's best rate (a call costs ~40 ms besides its positions, 2 cores). It keeps at most PASS_LOGITS
# logit rows: each is vocabulary-wide (49,152 floats in SmolLM2, 192 KB), so 512 are ~100 MB.
PASS_POSITIONS = 4096
PASS_LOGITS = 512


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
    def positions(self) -> int:
        """Positions run: the context, and every option's tokens but its last (which is only predicted)."""
        return len(self.prefix) + sum(len(o) - 1 for o in self.options)

    @property
    def logits(self) -> int:
        """Logit rows kept: the context's last position (each option's first token) and every option position run."""
        return 1 + sum(len(o) - 1 for o in self.options)


def group(lm, pairs: list[tuple[str, str]]) -> list[tuple[Item, list[int]]]:
    """The (context, continuation) pairs as items, each with the indices of its pairs: pairs whose contexts tokenize
    alike share one item. A pair whose continuation is empty, or whose context and continuation exceed the model's
    window, is in none (lm-eval's own path truncates it)."""
    by_context: dict[tuple[int, ...], tuple[list[list[int]], list[int]]] = {}
    for n, (context, continuation) in enumerate(pairs):
        ctx, cont = encode(lm, context, continuation)
        if not cont or len(ctx) + len(cont) > lm.max_length:
            continue
        options, owners = by_context.setdefault(tuple(ctx), ([], []))
        options.append(cont)
        owners.append(n)
    return [(Item(list(ctx), options), owners) for ctx, (options, owners) in by_context.items()]


def plan(items: list[Item]) -> list[list[int]]:
    """The items, in order, cut into forward calls of at most ``PASS_POSITIONS`` positions and ``PASS_LOGITS`` kept
    logits (an item larger than that alone). Without padding the order changes no cost."""
    calls: list[list[int]] = []
    positions = logits = 0
    for n, item in enumerate(items):
        if not calls or positions + item.positions > PASS_POSITIONS or logits + item.logits > PASS_LOGITS:
            calls.append([])
            positions = logits = 0
        calls[-1].append(n)
        positions += item.positions
        logits += item.logits
    return calls


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


class _FlatPass:
    """The cache of one flat scoring call: nothing is kept; each layer hands every row its keys and values, sliced
    from the call's own (a context row's), or an option row's own after its context's (a copy of that layer's only).
    ``rows``: (start, width, context start, context length) per row, the context None for a context row."""

    is_compileable = False

    def __init__(self, rows: list[tuple[int, int, int | None, int]], device):
        import torch

        self.rows = rows
        self.widths = [w for _, w, _, _ in rows]
        self.masks = [CAUSAL if c is None else
                      torch.arange(n + w, device=device) <= torch.arange(n, n + w, device=device)[:, None]
                      for _, w, c, n in rows]

    def update(self, key_states, value_states, layer_idx: int, *args, **kwargs):
        import torch

        keys, values = [], []
        for start, width, context, n in self.rows:
            k, v = key_states[:, :, start:start + width], value_states[:, :, start:start + width]
            if context is not None:
                k = torch.cat([key_states[:, :, context:context + n], k], dim=2)
                v = torch.cat([value_states[:, :, context:context + n], v], dim=2)
            keys.append(k)
            values.append(v)
        return Rows(keys, self.widths, self.masks), Rows(values, self.widths, self.masks)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return 0


def score(lm, items: list[Item]) -> list[list[tuple[float, bool]]]:
    """(log-likelihood, is_greedy) of every option of every item, from one flat forward call (see the module's
    docstring): each log-likelihood the sum, over the option's tokens, of the token's log-softmax (as lm-eval
    computes it), greedy when every token is its row's argmax."""
    import torch

    ids: list[int] = []
    positions: list[int] = []
    rows: list[tuple[int, int, int | None, int]] = []
    keep: list[int] = []  # flat index of each kept logit row
    reads: list[list[list[tuple[int, int]]]] = []  # per item, per option: (kept row, token) of each token
    for item in items:
        first = item.options[0]
        start, n = len(ids), len(item.prefix)
        ids += item.prefix + first[:-1]
        positions += range(n + len(first) - 1)
        rows.append((start, n + len(first) - 1, None, 0))
        head = len(keep)
        keep.append(start + n - 1)
        keep += range(start + n, start + n + len(first) - 1)
        reads.append([[(head, first[0])] + [(head + j, t) for j, t in enumerate(first[1:], 1)]])
        for option in item.options[1:]:
            at, row = len(ids), len(keep)
            if len(option) > 1:
                ids += option[:-1]
                positions += range(n, n + len(option) - 1)
                rows.append((at, len(option) - 1, start, n))
                keep += range(at, at + len(option) - 1)
            reads[-1].append([(head, option[0])] + [(row + j - 1, t) for j, t in enumerate(option[1:], 1)])
    device = lm.device
    # PyTorch's own kernels (MKL), not ``onednn``: on the benchmark's 1,500 requests (SmolLM2, 2 cores) oneDNN's
    # linear layers took 59 s against MKL's 47 s in calls of 4,096 positions, and moved log-likelihoods further
    # from lm-eval's (up to 1.7e-4; 1.1e-4 with MKL)
    with torch.no_grad(), row_attention(lm.model):
        out = lm.model(input_ids=torch.tensor([ids], device=device),
                       position_ids=torch.tensor([positions], device=device), cache=_FlatPass(rows, device),
                       use_cache=True, logits_to_keep=torch.tensor(keep, device=device))
        # lm-eval's own reduction, log_softmax then gather: logits less torch.logsumexp sums the exponentials in
        # another order and ran 7e-6 a token lower (-3.6e-4 on a 39-token option)
        logprobs = torch.log_softmax(out.logits[0].float(), dim=-1)
        del out
        picks = [pick for item in reads for option in item for pick in option]
        at = torch.tensor([r for r, _ in picks], device=device)
        tokens = torch.tensor([t for _, t in picks], device=device)
        greedy = (logprobs.argmax(-1)[at] == tokens).tolist()
        logprobs = logprobs[at, tokens].tolist()
    results, k = [], 0
    for item in reads:
        scored = []
        for option in item:
            scored.append((sum(logprobs[k:k + len(option)]), all(greedy[k:k + len(option)])))
            k += len(option)
        results.append(scored)
    return results
