"""Sends a run's requests to one lm-eval model, doing as little model work as honest results allow:

1. the response cache (keyed by model identity and request) answers what an earlier run finished;
2. identical requests within a run (across tasks and languages) are computed once;
3. log-likelihood options that share a context are scored from one pass over it (``harness.prefix``)
   on the transformers backend; everything else goes through lm-eval's own request path.

Model errors propagate to the caller, which records them on the samples; nothing failed is cached.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from typing import Callable

from harness.execution import decode, prefix
from harness.execution.batching import cheapest_cuts
from harness.execution.cache import ResponseCache, request_key

# A generation request's draw number (``--samples``): part of the request's key, so each draw is its own request
# (computed once, cached once), and never sent to the model.
DRAW = "octoglot_draw"


@dataclass
class Counters:
    requests: int = 0  # requests the run asked for
    cached: int = 0  # answered by the response cache
    deduplicated: int = 0  # answered by an identical request of the same run
    model_requests: int = 0  # computed by the model
    # token positions the model ran, padding included, counted at its top-level forward (transformers backend only)
    forward_tokens: int = 0
    model_seconds: float = 0.0  # wall time inside model calls
    load_seconds: float = 0.0  # wall time loading the model (on the first request the cache cannot answer)
    paths: dict[str, int] = field(default_factory=dict)  # requests per scoring path


class Engine:
    """``lm`` is an lm-eval model, or a function that loads one: then the model is loaded on the first
    request the cache cannot answer, so a fully cached re-run never loads it."""

    def __init__(self, lm, cache: ResponseCache | None, shared_prefix: bool = True):
        self._lm = None if callable(lm) and not hasattr(lm, "loglikelihood") else lm
        self._load: Callable | None = lm if self._lm is None else None
        self.counts = Counters()
        if self._lm is not None:
            self._count_forward(self._lm)
        self.cache = cache
        self._want_shared_prefix = shared_prefix
        self._memo: dict[str, object] = {}
        self._prefetched: set[str] = set()  # computed ahead for requests the units have not asked yet

    @property
    def lm(self):
        if self._lm is None:
            started = time.perf_counter()
            self._lm = self._load()
            self.counts.load_seconds += time.perf_counter() - started
            self._count_forward(self._lm)
        return self._lm

    def _count_forward(self, lm) -> None:
        """Count the token positions of every forward call of a transformers model, as it runs them: the batches
        lm-eval pads, the shared-prefix passes and every decoding step alike (a formula would miss padding). One
        hook per model; each engine adds the difference over its own calls (``_model_call``)."""
        if not prefix.supported(lm) or hasattr(lm.model, "_octoglot_positions"):
            return
        lm.model._octoglot_positions = 0

        def count(module, args, kwargs):
            ids = kwargs.get("input_ids", args[0] if args else None)
            if ids is not None:
                module._octoglot_positions += int(ids.numel())

        lm.model.register_forward_pre_hook(count, with_kwargs=True)

    def _positions(self) -> int:
        return getattr(getattr(self._lm, "model", None), "_octoglot_positions", 0) if self._lm is not None else 0

    @property
    def loaded(self) -> bool:
        return self._lm is not None

    @property
    def shared_prefix(self) -> bool:
        return self._want_shared_prefix and prefix.supported(self.lm)

    def _path(self, name: str, n: int) -> None:
        self.counts.paths[name] = self.counts.paths.get(name, 0) + n

    def _key(self, kind: str, request: object) -> str:
        return self.cache.key(kind, request) if self.cache else _memo_key(kind, request)

    def _lookup(self, kind: str, requests: list, ahead: bool = False) -> tuple[list[str], dict[str, object]]:
        keys = [self._key(kind, r) for r in requests]
        known = {k: self._memo[k] for k in keys if k in self._memo}
        stored = {}
        if self.cache:
            missing = [k for k in dict.fromkeys(keys) if k not in known]
            stored = self.cache.get_many(missing) if missing else {}
            known.update(stored)
        if not ahead:
            self.counts.requests += len(keys)
            self.counts.cached += sum(k in stored for k in keys)
            for key in keys:
                if key in self._prefetched:
                    self._prefetched.discard(key)  # computed for this very request
                elif key in self._memo:
                    self.counts.deduplicated += 1
        return keys, known

    def _store(self, kind: str, new: dict[str, object]) -> None:
        self._memo.update(new)
        if self.cache and new:
            self.cache.put_many(kind, new)

    def loglikelihood(self, groups: list[list[tuple[str, str]]]) -> list[list[tuple[float, bool]]]:
        """(log-likelihood, is_greedy) for every (context, continuation) pair of every group."""
        flat = [pair for group in groups for pair in group]
        keys, known = self._lookup("loglikelihood", [list(p) for p in flat])
        todo: dict[str, tuple[str, str]] = {}
        for key, pair in zip(keys, flat):
            if key not in known:
                todo.setdefault(key, pair)
        new: dict[str, object] = {}
        started, loading = time.perf_counter(), self.counts.load_seconds
        positions = self._positions()  # 0 until the model is loaded (its counter starts then)
        if todo and self.shared_prefix:
            new.update(self._shared_prefix(todo))
        rest = {k: p for k, p in todo.items() if k not in new}
        if rest:
            from lm_eval.api.instance import Instance

            instances = [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(rest.values())]
            outputs = self.lm.loglikelihood(instances, disable_tqdm=True)
            self._path("plain", len(rest))
            new.update({k: [float(ll), bool(g)] for k, (ll, g) in zip(rest, outputs)})
        if todo:
            self.counts.model_seconds += time.perf_counter() - started - (self.counts.load_seconds - loading)
            self.counts.forward_tokens += self._positions() - positions
        self.counts.model_requests += len(new)
        self._store("loglikelihood", new)
        known.update(new)
        out, offset = [], 0
        for group in groups:
            out.append([tuple(known[k]) for k in keys[offset:offset + len(group)]])
            offset += len(group)
        return out

    def _shared_prefix(self, todo: dict[str, tuple[str, str]]) -> dict[str, list]:
        """The pending requests as ``prefix`` items (requests whose contexts tokenize alike share one), scored in the
        flat calls ``prefix.plan`` cuts; what no item holds is left to lm-eval's path. Path counts: "shared-prefix"
        for an option scored beside others of its context, "flat" for a request alone with its context."""
        keys = list(todo)
        grouped = prefix.group(self.lm, list(todo.values()))
        items = [item for item, _ in grouped]
        new: dict[str, list] = {}
        for call in prefix.plan(items):
            scored = prefix.score(self.lm, [items[i] for i in call])
            for i, values in zip(call, scored):
                owners = grouped[i][1]
                new.update({keys[n]: list(v) for n, v in zip(owners, values)})
                self._path("shared-prefix" if len(owners) > 1 else "flat", len(owners))
        return new

    def generate(self, requests: list[tuple[str, dict]], ahead: bool = False,
                 done: Callable[[int], None] | None = None) -> list[str]:
        """Greedy generations for (context, generation kwargs) requests. ``ahead``: computed before the
        units ask for them (not counted as requests; the units' own calls find them). ``done(i)`` as request ``i``
        has its answer (those the cache or the run already knew first)."""
        keys, known = self._lookup("generate_until", [[c, k] for c, k in requests], ahead)
        todo: dict[str, tuple[str, dict]] = {}
        waiting: dict[str, list[int]] = {}
        for i, (key, request) in enumerate(zip(keys, requests)):
            if key not in known:
                todo.setdefault(key, request)
                waiting.setdefault(key, []).append(i)
            elif done:
                done(i)
        new: dict[str, object] = {}
        stored: set[str] = set()
        if todo:
            lm = self.lm  # loads the model if needed (counted in load_seconds)
            started, positions = time.perf_counter(), self._positions()
            order = list(todo)

            def finished(n: int, output: str) -> None:
                # stored as it ends: a run that stops mid-group (a full disk, a crash) keeps every answer it finished
                self._store("generate_until", {order[n]: output})
                stored.add(order[n])
                if ahead:
                    self._prefetched.add(order[n])
                for i in waiting[order[n]] if done else ():
                    done(i)

            outputs = generate_until(lm, [c for c, _ in todo.values()],
                                     [{k: v for k, v in kw.items() if k != DRAW} for _, kw in todo.values()],
                                     finished)
            self.counts.model_seconds += time.perf_counter() - started
            self.counts.forward_tokens += self._positions() - positions
            new = dict(zip(todo, outputs))
            self._path("generate", len(new))
        self.counts.model_requests += len(new)
        if ahead:
            self._prefetched.update(new)
        self._store("generate_until", {k: v for k, v in new.items() if k not in stored})
        known.update(new)
        return [known[k] for k in keys]

    def remember_generations(self, requests: list[tuple[str, dict]], outputs: list[str]) -> None:
        """Generations computed ahead elsewhere (another worker of the run) for these requests: the units'
        own calls find them, counted as they would be had this engine computed them ahead."""
        new = {self._key("generate_until", [c, k]): output for (c, k), output in zip(requests, outputs)}
        if self.cache:  # what the cache holds is found there, and counted as cached as in a local run
            stored = self.cache.get_many(list(new))
            new = {k: v for k, v in new.items() if k not in stored}
        self._memo.update(new)
        self._prefetched.update(new)


def merge_counts(counts: list[Counters]) -> Counters:
    """The counters of several engines (the workers of one run) added up."""
    total = Counters()
    for c in counts:
        for f in fields(Counters):
            if f.name != "paths":
                setattr(total, f.name, getattr(total, f.name) + getattr(c, f.name))
        for path, n in c.paths.items():
            total.paths[path] = total.paths.get(path, 0) + n
    return total


def _memo_key(kind: str, request: object) -> str:
    return request_key("", kind, request)


GENERATION_BATCH = 32  # on a CPU a batch of 32 decodes about twice as fast as four batches of 8

# Cost model of greedy generation with a transformers model on a CPU (SmolLM2-135M, float32, 2 cores):
# the prompt pass costs about 3.5 ms per token of the left-padded batch (compute-bound, so padding
# is paid in full), a decoding step about 80 ms plus 2.5 ms per sequence still in the batch (memory-bound: the
# weights are read once per step for the whole batch). A batch steps until its largest budget; a sequence pays its
# own budget at most (``decode`` drops it when it ends). Only the ratios matter to the plan below.
PROMPT_TOKEN_COST = 3.5
STEP_COST = 80.0
SEQUENCE_STEP_COST = 2.5
# at most this many padded prompt tokens in one batch: attention's cost per token grows with the length, which the
# linear model above leaves out; long-context prompts run a few at a time, a single one alone
BATCH_TOKENS = 16_384
# and at most this batch × length² in one prompt pass: attention's scores are that many floats per head (the CPU
# kernel behind transformers' SDPA path materializes them). In SmolLM2's 9 heads 8M are 288 MB: 4 prompts of
# 2,000 tokens (16M) raised a run's peak RSS by 1.2 GB, 8 by 1.8 GB.
PROMPT_SCORES = 8 * 2**20


def plan_batches(lengths: list[int], budgets: int | list[int], cap: int = GENERATION_BATCH,
                 tokens: int = BATCH_TOKENS) -> list[list[int]]:
    """Split generation requests into batches, as indices into ``lengths`` (prompt tokens); ``budgets`` are their
    token budgets (one for all, or one each). One batch pads every prompt to its longest and steps until its largest
    budget; more batches pad less and step more. Requests are sorted by length and cut where the cost model above is
    lowest (dynamic programming over the cut points); each batch holds at most ``cap`` requests and, unless it is a
    single request, at most ``tokens`` padded prompt tokens, ``PROMPT_SCORES`` attention scores per head and a cache
    of at most ``decode.CACHE_POSITIONS`` when its largest budget is spent."""
    budget = [budgets] * len(lengths) if isinstance(budgets, int) else list(budgets)
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))

    def cost(start: int, end: int) -> float | None:
        size, longest = end - start, lengths[order[end - 1]]
        members = [budget[order[k]] for k in range(start, end)]
        if size > 1 and (size * longest > tokens or size * longest * longest > PROMPT_SCORES
                         or size * (longest + max(members)) > decode.CACHE_POSITIONS):
            return None
        return PROMPT_TOKEN_COST * size * longest + STEP_COST * max(members) + SEQUENCE_STEP_COST * sum(members)

    return [order[start:end] for start, end in cheapest_cuts(len(order), cost, cap)]


def generate_until(lm, contexts: list[str], kwargs: list[dict],
                   done: Callable[[int, str], None] = lambda i, output: None) -> list[str]:
    """Greedy generation. A stop sequence that starts with a newline would turn an answer that
    starts with one into ''; such answers are asked again with the newline in the context.
    On the transformers backend on a CPU, requests are batched by ``plan_batches``, whatever their budgets and stop
    strings, and decoded by ``decode.generate`` (each sequence leaves its batch when it ends, the next planned batch
    joins the sequences still going); settings that loop cannot honour (sampling) go through lm-eval's
    ``generate_until``, batched by ``plan_batches`` per setting. ``done(i, output)`` as request ``i`` has its final
    answer."""
    if not (prefix.supported(lm) and str(getattr(lm, "device", "")) == "cpu" and contexts):
        call = lambda c, k, d: _whole(_lmeval_generate(lm, c, k), d)  # noqa: E731
    elif decode.usable(lm, kwargs):
        call = lambda c, k, d: _decode(lm, c, k, d)  # noqa: E731
    else:
        call = lambda c, k, d: _whole(_lmeval_batched(lm, c, k), d)  # noqa: E731
    return _retry_newline(contexts, kwargs, call, done)


def _whole(outputs: list[str], done: Callable[[int, str], None]) -> list[str]:
    for i, output in enumerate(outputs):
        done(i, output)
    return outputs


def _decode(lm, contexts: list[str], kwargs: list[dict], done: Callable[[int, str], None]) -> list[str]:
    requests = [decode.prepare(lm, c, k) for c, k in zip(contexts, kwargs)]
    return decode.generate(lm, requests, plan_batches([len(r.ids) for r in requests], [r.budget for r in requests]),
                           done)


def _lmeval_batched(lm, contexts: list[str], kwargs: list[dict]) -> list[str]:
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(kwargs):
        groups.setdefault(json.dumps(k, sort_keys=True, default=str), []).append(i)
    outputs: list[str | None] = [None] * len(contexts)
    original = lm.batch_size_per_gpu
    try:
        for members in groups.values():
            lengths = [len(lm.tok_encode(contexts[i])) for i in members]
            budget = int(kwargs[members[0]].get("max_gen_toks", lm.max_gen_toks))
            for batch in plan_batches(lengths, budget):
                chosen = [members[j] for j in batch]
                lm.batch_size_per_gpu = len(chosen)
                for i, out in zip(chosen, _lmeval_generate(lm, [contexts[i] for i in chosen],
                                                           [kwargs[i] for i in chosen])):
                    outputs[i] = out
    finally:
        lm.batch_size_per_gpu = original
    return outputs


def _lmeval_generate(lm, contexts: list[str], kwargs: list[dict]) -> list[str]:
    from lm_eval.api.instance import Instance

    instances = [Instance("generate_until", {}, (c, dict(k)), i) for i, (c, k) in enumerate(zip(contexts, kwargs))]
    return list(lm.generate_until(instances, disable_tqdm=True))


def _retry_newline(contexts: list, kwargs: list[dict], call: Callable, done: Callable[[int, str], None]) -> list[str]:
    # (plain-text contexts only: a chat API's context is a message list the server templates itself)
    def again(i: int, output: str) -> bool:
        return output == "" and isinstance(contexts[i], str) \
            and any(stop.startswith("\n") for stop in kwargs[i].get("until", []))

    outputs = call(contexts, kwargs, lambda i, output: None if again(i, output) else done(i, output))
    retry = [i for i, output in enumerate(outputs) if again(i, output)]
    if retry:
        retried = call([contexts[i] + "\n" for i in retry], [kwargs[i] for i in retry],
                       lambda n, output: done(retry[n], output))
        for i, output in zip(retry, retried):
            outputs[i] = output
    return outputs
