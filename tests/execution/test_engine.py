"""The engine on the real bundled model: shared-prefix and plain scoring agree, the response cache
serves a re-run without model calls, and two models never share cache entries."""

import pytest

from harness.execution import models
from harness.execution.cache import ResponseCache, model_key
from harness.execution.engine import Engine
from harness.execution import prefix
from harness.execution.prefix import encode

pytestmark = pytest.mark.slow

GROUPS = [
    [("What is the topic of the following sentence?\nSentence: The team won the cup.\nTopic:", c)
     for c in (" science/technology", " travel", " politics", " sports", " health")],
    [("ประโยคต่อไปนี้เกี่ยวกับหัวข้ออะไร\nประโยค: ทีมชนะการแข่งขันฟุตบอล\nหัวข้อ:", c)
     for c in (" วิทยาศาสตร์/เทคโนโลยี", " กีฬา", " การเมือง")],
    [("", "Il pleut, correct? Oui, il fait beau"), ("", "Il pleut, correct? Non, il fait beau")],  # empty context
    [("Le chat est", " noir"), ("Le chien est", " noir")],  # two contexts: the plain path
]


@pytest.fixture(scope="module")
def lm(model_cache):
    import os

    os.environ["OCTOGLOT_CACHE"] = str(model_cache)
    spec = models.resolve("smollm2", None)
    return models.load(spec, batch_size=4, device="cpu"), spec


def test_shared_prefix_equals_lm_evals_own_path(lm):
    model, _ = lm
    shared = Engine(model, None, shared_prefix=True)
    plain = Engine(model, None, shared_prefix=False)
    a, b = shared.loglikelihood(GROUPS), plain.loglikelihood(GROUPS)
    for group_a, group_b in zip(a, b):
        for (ll_a, greedy_a), (ll_b, greedy_b) in zip(group_a, group_b):
            assert abs(ll_a - ll_b) < 1e-4 and greedy_a == greedy_b
    # options that share a context (the empty one too: lm-eval scores it after the prefix token) share its pass;
    # a request whose context no other shares runs alone ("flat")
    assert shared.counts.paths == {"shared-prefix": 10, "flat": 2}
    assert plain.counts.paths == {"plain": 12}
    assert shared.counts.forward_tokens < plain.counts.forward_tokens
    # a SIB-200-shaped item: one context, five options: the context once, then each option's tokens but its last,
    # unpadded (counted at the model's forward, not by formula; lm-eval's own path is cheaper than one full
    # request per option: it runs one-token continuations that share a context once)
    sib_shared, sib_plain = Engine(model, None, shared_prefix=True), Engine(model, None, shared_prefix=False)
    sib_shared.loglikelihood(GROUPS[:1]), sib_plain.loglikelihood(GROUPS[:1])
    encoded = [encode(model, context, option) for context, option in GROUPS[0]]
    assert sib_shared.counts.forward_tokens == len(encoded[0][0]) + sum(len(option) - 1 for _, option in encoded)
    assert sib_shared.counts.forward_tokens < sib_plain.counts.forward_tokens


def test_batched_shared_prefix_equals_one_item_at_a_time_and_lm_eval(lm):
    """Items of different context lengths, scripts and option counts in one flat call: each option's
    log-likelihood and greedy flag are those of the item scored alone and of lm-eval's own path."""
    model, _ = lm
    groups = [*GROUPS[:2],
              [("Premise: The glass fell off the table. What happened as a result?", c)
               for c in (" It broke into pieces.", " It flew away.")],
              [("Question: 2 + 2 =", c) for c in (" 4", " 5", " four", " 22")]]
    grouped = [prefix.group(model, group) for group in groups]
    assert all(len(g) == 1 and g[0][1] == list(range(len(group))) for g, group in zip(grouped, groups))
    items = [g[0][0] for g in grouped]
    assert len({len(item.prefix) for item in items}) == len(items)  # padded, this batch would pad
    together = prefix.score(model, items)
    alone = [prefix.score(model, [item])[0] for item in items]
    reference = Engine(model, None, shared_prefix=False).loglikelihood(groups)
    for batched, single, ref in zip(together, alone, reference):
        for (ll_a, g_a), (ll_b, g_b), (ll_c, g_c) in zip(batched, single, ref):
            assert abs(ll_a - ll_b) < 1e-4 and abs(ll_a - ll_c) < 1e-4 and g_a == g_b == g_c
    engine = Engine(model, None, shared_prefix=True)
    engine.loglikelihood(groups)
    assert engine.counts.paths == {"shared-prefix": sum(len(g) for g in groups)}
    # one forward call per call the plan cuts
    calls = []
    handle = model.model.register_forward_pre_hook(lambda *a, **k: calls.append(1), with_kwargs=True)
    try:
        Engine(model, None, shared_prefix=True).loglikelihood(groups)
    finally:
        handle.remove()
    assert len(calls) == len(prefix.plan(items)) == 1


def test_forward_tokens_are_the_positions_the_model_ran_padding_included(lm):
    """The counter is the model's own forward calls (an independent hook here), not a formula: lm-eval pads each
    plain batch to its longest request, which a per-request token formula leaves out."""
    model, _ = lm
    seen = []
    handle = model.model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs.get("input_ids", args[0] if args else None).numel()),
        with_kwargs=True)
    try:
        for shared in (True, False):
            seen.clear()
            engine = Engine(model, None, shared_prefix=shared)
            engine.loglikelihood(GROUPS)
            assert engine.counts.forward_tokens == sum(seen) > 0, shared
        padded = sum(seen)
    finally:
        handle.remove()
    exact = sum(len(c) + len(t) - 1 for c, t in (encode(model, *pair) for group in GROUPS for pair in group))
    assert padded > exact  # lm-eval padded its batches of requests of different lengths
    flat = Engine(model, None, shared_prefix=True)
    flat.loglikelihood(GROUPS)
    contexts = {tuple(c): 0 for c, _ in (encode(model, *pair) for group in GROUPS for pair in group)}
    options = sum(len(t) - 1 for _, t in (encode(model, *pair) for group in GROUPS for pair in group))
    assert flat.counts.forward_tokens == sum(len(c) for c in contexts) + options  # each context once, no padding


def test_identical_requests_are_computed_once(lm):
    model, _ = lm
    engine = Engine(model, None)
    engine.loglikelihood([GROUPS[3], GROUPS[3]])
    assert engine.counts.requests == 4 and engine.counts.model_requests == 2


def test_cache_serves_a_rerun_and_is_keyed_by_model(lm, tmp_path):
    model, spec = lm
    key = model_key(spec.backend, spec.args, spec.identity)
    cache = ResponseCache(tmp_path / "responses.sqlite", key)
    first = Engine(model, cache).loglikelihood(GROUPS)
    again = Engine(model, cache)
    assert again.loglikelihood(GROUPS) == first
    assert again.counts.model_requests == 0 and again.counts.cached == 12
    gen = Engine(model, cache)
    out = gen.generate([("The capital of France is", {"until": ["\n"], "max_gen_toks": 5, "do_sample": False})])
    assert Engine(model, cache).generate(
        [("The capital of France is", {"until": ["\n"], "max_gen_toks": 5, "do_sample": False})]) == out

    # another model (other weights) sees none of these entries
    other_identity = {**spec.identity, "weights_sha256": "0" * 64}
    other_key = model_key(spec.backend, spec.args, other_identity)
    assert other_key != key
    other = ResponseCache(tmp_path / "responses.sqlite", other_key)
    assert other.get_many([other.key("loglikelihood", list(p)) for g in GROUPS for p in g]) == {}
    assert cache.count(key) == 13 and other.count(other_key) == 0
    # batch size and device do not change a model's outputs, so they do not change its key
    assert model_key(spec.backend, {**spec.args, "batch_size": "64", "device": "cuda"}, spec.identity) == key


def test_generation_batches_follow_prompt_lengths_and_keep_request_order(lm):
    """Requests of two lengths and two settings: every output lands on its own request and equals
    the output of that request generated alone."""
    model, _ = lm
    short = {"until": ["\n"], "max_gen_toks": 6, "do_sample": False}
    other = {"until": ["."], "max_gen_toks": 4, "do_sample": False}
    long_context = "Die Geschichte der Stadt beginnt im Mittelalter. " * 30 + "Die Hauptstadt von Frankreich ist"
    requests = [("The capital of France is", short), (long_context, short),
                ("La capitale de l'Italie est", other), ("The capital of Spain is", short)]
    together = Engine(model, None).generate(requests)
    alone = [Engine(model, None).generate([r])[0] for r in requests]
    assert together == alone
    assert len(set(together)) > 1
