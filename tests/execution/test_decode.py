"""octoglot's greedy decoding loop (``harness.execution.decode``) on the bundled model: each request's output is
lm-eval's own ``generate_until`` output for it, whether it is decoded alone or in one batch with requests of other
lengths, budgets and stop strings; a finished sequence leaves the batch; settings the loop cannot honour are left to
lm-eval."""

import pytest

from harness.execution import decode, models
from harness.execution.engine import Engine, _lmeval_generate

pytestmark = pytest.mark.slow

CHAT = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
REQUESTS = [
    ("The capital of France is", {"until": ["\n"], "max_gen_toks": 6, "do_sample": False}),
    ("Die Geschichte der Stadt beginnt im Mittelalter. " * 12 + "Die Hauptstadt von Frankreich ist",
     {"until": ["."], "max_gen_toks": 12, "do_sample": False}),
    # chat-formatted: SmolLM2 ends its answer with <|im_end|>, its end-of-sequence token
    (CHAT.format("Translate into French: Good morning."), {"until": ["\n\n"], "max_gen_toks": 40, "do_sample": False}),
    (CHAT.format("แปลเป็นภาษาอังกฤษ: สวัสดีครับ"), {"until": ["\n"], "max_gen_toks": 20}),
    ("Count: 1, 2, 3,", {"until": [", 7"], "max_gen_toks": 30, "temperature": 0.0}),  # a stop string over tokens
    ("Frage: Wie viel ist 2 + 2?\nAntwort:", {"until": ["Frage:", "</s>", "<|im_end|>"], "max_gen_toks": 3}),
]


@pytest.fixture(scope="module")
def lm(model_cache):
    import os

    os.environ["OCTOGLOT_CACHE"] = str(model_cache)
    return models.load(models.resolve("smollm2", None), batch_size=1, device="cpu")


def _run(lm, requests):
    return decode.generate(lm, [decode.prepare(lm, c, k) for c, k in requests])


def test_each_output_is_lm_evals_own_and_the_same_in_one_batch(lm):
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in REQUESTS]  # lm-eval's path, one request a batch
    alone = [_run(lm, [r])[0] for r in REQUESTS]
    together = _run(lm, REQUESTS)
    assert alone == reference
    assert together == reference
    assert len(set(reference)) == len(reference)
    assert reference[4].startswith(" 4, 5, 6") and ", 7" not in reference[4]


def test_a_finished_sequence_leaves_the_batch(lm, monkeypatch):
    """Every forward position is accounted for: the prompt pass (each prompt's own positions, one flat sequence,
    unpadded: these prompts share no beginning of ``SHARE_MIN`` tokens), then one position per sequence still
    running at each step (no drafts here), nothing for a sequence that has ended."""
    monkeypatch.setattr(decode, "SPECULATE", 0)
    requests = [decode.prepare(lm, c, k) for c, k in REQUESTS]
    outputs, calls = _calls(lm, lambda: decode.generate(lm, requests))
    steps = [len(lm.tok_encode(out)) for out in outputs]  # a lower bound on each sequence's tokens
    assert calls[0] == ("prompt", len(requests), sum(len(r.ids) for r in requests))
    batch_sizes = [rows for kind, rows, positions in calls[1:] if kind == "step" and positions == rows]
    assert len(batch_sizes) == len(calls) - 1  # every later call a step, one position a row
    assert batch_sizes == sorted(batch_sizes, reverse=True) and batch_sizes[-1] < len(requests)
    # the step count is the longest sequence's, bounded by the largest budget; the short budgets left early
    assert len(calls) - 1 < max(r.budget for r in requests)
    assert sum(batch_sizes) < len(requests) * (len(calls) - 1)
    assert max(steps) <= len(calls)


def test_prompt_lookup_drafts_keep_every_output(lm, monkeypatch):
    """Rows that repeat what they have seen (a list continued, a phrase looping) run the tokens that followed the
    same tokens before beside their next one, and keep those the model agrees with: fewer steps than tokens, and
    every output is still lm-eval's, one request a batch, and the same with drafts off. A stop string or the budget
    reached inside a draft ends the row there."""
    requests = REQUESTS + [
        ("a b c d e f a b c d e f a b c d e f a b", {"until": ["\n\n"], "max_gen_toks": 37}),
        ("one two three, one two three, one two three, one", {"until": ["three, one two"], "max_gen_toks": 40}),
        (CHAT.format("Repeat after me: la la la la la la la la"), {"until": ["\n\n"], "max_gen_toks": 25}),
    ]
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in requests]
    prepared = [decode.prepare(lm, c, k) for c, k in requests]
    outputs, calls = _calls(lm, lambda: decode.generate(lm, prepared))
    assert outputs == reference
    steps = [(rows, positions) for kind, rows, positions in calls if kind == "step"]
    tokens = sum(len(lm.tok_encode(out)) for out in outputs)  # about each output's tokens
    assert any(positions > rows for rows, positions in steps)  # drafts ran
    assert sum(rows for rows, _ in steps) < tokens - len(requests)  # and were kept: fewer row-steps than tokens
    monkeypatch.setattr(decode, "SPECULATE", 0)
    plain, calls = _calls(lm, lambda: decode.generate(lm, prepared))
    assert plain == reference
    assert all(positions == rows for kind, rows, positions in calls if kind == "step")


def test_a_draft_is_what_followed_the_longest_run_the_tokens_end_with():
    lookup = decode._Lookup([1, 2, 3, 9, 5, 2, 3, 8, 1, 2, 3])
    assert lookup.draft(3) == [9, 5, 2]  # (1, 2, 3) occurred before: what followed it, not what followed (2, 3)
    lookup = decode._Lookup([5, 1, 2, 9, 1, 2, 7, 1, 2])
    assert lookup.draft(3) == [7, 1, 2]  # the latest earlier (1, 2)
    assert lookup.draft(4) == [7, 1, 2, 7]  # past the present: the loop (7, 1, 2) goes on
    lookup.append(4)
    assert lookup.draft(2) == []  # (2, 4) is new, and a single token is no evidence
    lookup.append(1)
    lookup.append(2)
    assert lookup.draft(3) == [4, 1, 2]
    assert decode._Lookup([1, 2] * 20).draft(3) == [1, 2, 1]


def test_a_rows_draft_grows_while_kept_and_shrinks_when_rejected():
    lookup = decode._Lookup([1, 2] * 20)
    assert len(lookup.draft(100)) == decode.DRAFT_START
    lookup.judged(decode.DRAFT_START, decode.DRAFT_START)
    assert len(lookup.draft(100)) == decode.DRAFT_START + 2
    for _ in range(20):
        lookup.judged(1, 1)
    assert len(lookup.draft(100)) == decode.SPECULATE
    lookup.judged(5, 2)  # partly kept: the same size
    assert len(lookup.draft(100)) == decode.SPECULATE
    for _ in range(40):
        lookup.judged(3, 0)
    assert len(lookup.draft(100)) == 1


def test_a_longer_draft_begins_with_the_shorter_and_may_pass_the_size():
    lookup = decode._Lookup([7, 1, 2, 3] * 5)
    short = lookup.draft(100)
    assert len(short) == decode.DRAFT_START
    longer = lookup.draft(decode.SPECULATE + 5, cap=False)
    assert len(longer) == decode.SPECULATE + 5 and longer[:len(short)] == short
    assert decode._Lookup([1, 2, 3, 4]).draft(10, cap=False) == []  # nothing seen twice: no draft, however long


def test_spare_positions_go_to_the_rows_whose_drafts_were_kept_longest():
    requests = [decode.Request([0], budget, []) for budget in (100, 100, 12, 100)]
    lookups = {}
    for i, size in enumerate((4, 10, 16, 6)):
        lookups[i] = decode._Lookup([5, 6, 7, 8] * 6)
        lookups[i].size = size
    lookups[3] = decode._Lookup([1, 2, 3, 4])  # no draft to lengthen
    generated = [[9] * 3 for _ in requests]
    drafts = [lookups[i].draft(min(decode.SPECULATE, r.budget - 3 - 1)) for i, r in enumerate(requests)]  # as _step
    before = [list(d) for d in drafts]
    decode._fill(requests, [0, 1, 2, 3], lookups, generated, drafts, 13)
    # row 2 (size 16) is first but its budget leaves room for 12 - 3 - 1 = 8 draft tokens: it already has them;
    # row 1 (size 10) takes all 13 spare positions
    assert drafts[2] == before[2] and len(drafts[2]) == 8
    assert len(drafts[1]) == 10 + 13 and drafts[1][:10] == before[1]
    assert drafts[0] == before[0] and drafts[3] == before[3] == []


def test_drafts_fill_the_positions_onednn_pads_and_keep_every_output(lm, monkeypatch):
    """Where oneDNN computes the linear layers (rows padded to ``onednn.ROW_STEP``), a step's spare positions hold
    longer drafts: steps run whole multiples of the pad, fewer of them, and every output is still lm-eval's."""
    from harness.execution import onednn

    requests = REQUESTS + [
        ("a b c d e f a b c d e f a b c d e f a b", {"until": ["\n\n"], "max_gen_toks": 60}),
        ("one two three, one two three, one two three, one", {"until": ["\n\n"], "max_gen_toks": 60}),
    ]
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in requests]
    prepared = [decode.prepare(lm, c, k) for c, k in requests]
    monkeypatch.setattr(onednn, "pays_off", lambda cpuinfo=None: True)
    filled, calls = _calls(lm, lambda: decode.generate(lm, prepared))
    monkeypatch.setattr(onednn, "pays_off", lambda cpuinfo=None: False)
    plain, plain_calls = _calls(lm, lambda: decode.generate(lm, prepared))
    assert filled == plain == reference
    steps = [(rows, positions) for kind, rows, positions in calls if kind == "step"]
    plain_steps = [(rows, positions) for kind, rows, positions in plain_calls if kind == "step"]
    whole = sum(p % onednn.ROW_STEP == 0 for _, p in steps)
    assert whole > sum(p % onednn.ROW_STEP == 0 for _, p in plain_steps) and whole >= len(steps) / 4
    assert sum(r for r, _ in steps) < sum(r for r, _ in plain_steps)  # the looping rows ended in fewer steps


def test_a_stop_string_is_found_from_the_rows_last_tokens(lm):
    """The stop check decodes a row's last ``Request.window`` tokens, and the whole text only where they show a
    stop string: token by token through these texts (stop strings over several tokens, Thai and Devanagari
    characters over several byte tokens) it says what the check of the whole text says, up to the token where the
    row ends."""
    cases = [("Count: 1, 2, 3, 4, 5, 6, 7, 8", [", 7", "\n\n"]),
             ("สวัสดีครับ ผมชื่อสมชาย ยินดีที่ได้รู้จัก", ["ยินดี"]),
             ("उत्तर: यह सही है। प्रश्न: और", ["प्रश्न:", "।"]),
             ("Answer: 42<|im_end|>Question: next", ["Question:", "<|im_end|>"])]
    for text, until in cases:
        tokens = lm.tok_encode(text)
        request = decode.Request([0], 10_000, until)
        whole = [any(s in lm.tok_decode(tokens[:n]) for s in until) for n in range(1, len(tokens) + 1)]
        end = whole.index(True) + 1  # the row ends at the first token whose text holds a stop string
        found = [decode._finished(lm, request, tokens[:n], tokens[n - 1], set()) for n in range(1, end + 1)]
        assert found == whole[:end] and end > 2


def _calls(lm, run):
    """``run()``'s result and its forward calls: ("prompt", rows, width) for a prompt pass, ("step", rows,
    positions) for a decoding step (a flat sequence over per-row buffers: each row's token and its draft)."""
    calls = []

    def record(module, args, kwargs):
        rows, columns = kwargs["input_ids"].shape
        cache = kwargs.get("cache")
        widths = getattr(cache, "widths", None)
        if isinstance(cache, decode._PromptPass):  # new rows' prompts, flat: the positions each runs
            calls.append(("prompt", len(cache.rests), sum(cache.rests)))
        elif widths is not None:
            calls.append(("step", len(widths), sum(widths)))
        else:
            calls.append(("step" if columns == 1 else "prompt", rows, rows if columns == 1 else columns))

    handle = lm.model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        return run(), calls
    finally:
        handle.remove()


def test_a_group_joins_the_sequences_still_going(lm):
    """Three prompt passes: the group with the largest budget starts, the others join it before it decodes (each
    row in a buffer of its own, attended over its own length), and every output is still the request's own."""
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in REQUESTS]
    requests = [decode.prepare(lm, c, k) for c, k in REQUESTS]
    groups = [[0, 1], [2, 3], [4, 5]]
    outputs, calls = _calls(lm, lambda: decode.generate(lm, requests, groups))
    assert outputs == reference
    prompts = [n for n, (kind, _, _) in enumerate(calls) if kind == "prompt"]
    assert prompts == [0, 1, 2]  # all three fit beside each other: they join before the first step
    widths = [columns for _, _, columns in calls[:3]]
    assert widths[0] == len(requests[2].ids) + len(requests[3].ids)  # the group of budget 40 first
    assert 2 < max(rows for kind, rows, _ in calls if kind == "step") <= 6


def test_no_group_joins_past_the_cache_budget(lm, monkeypatch):
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in REQUESTS]
    requests = [decode.prepare(lm, c, k) for c, k in REQUESTS]
    monkeypatch.setattr(decode, "CACHE_POSITIONS", 1)
    outputs, calls = _calls(lm, lambda: decode.generate(lm, requests, [[0, 1], [2, 3], [4, 5]]))
    assert outputs == reference
    steps = [rows for kind, rows, _ in calls if kind == "step"]
    assert max(steps) == 1  # each request decoded alone, one after the other
    prompts = [rows for kind, rows, _ in calls if kind == "prompt"]
    assert prompts == [1] * len(requests)


def test_a_request_joins_mid_way_as_a_row_frees(lm, monkeypatch):
    """Two rows at most: the third request waits until one of the first two ends, then runs its prompt pass and
    decodes beside the one still going (their lengths differ: no padding between them), with every output the
    request's own."""
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in REQUESTS]
    requests = [decode.prepare(lm, c, k) for c, k in REQUESTS]
    monkeypatch.setattr(decode, "JOIN_ROWS", 2)
    monkeypatch.setattr(decode, "ADMIT_ROWS", 1)
    outputs, calls = _calls(lm, lambda: decode.generate(lm, requests, [[2, 1], [4], [0], [3], [5]]))
    assert outputs == reference
    prompts = [n for n, (kind, _, _) in enumerate(calls) if kind == "prompt"]
    assert prompts[:1] == [0] and all(n > 1 for n in prompts[1:])  # the later ones came in after steps had run
    assert max(rows for _, rows, _ in calls) <= 2
    assert any(rows == 2 and n > prompts[1] for n, (kind, rows, _) in enumerate(calls) if kind == "step")


def test_models_with_sliding_window_layers_decode_group_by_group(lm, monkeypatch):
    """Where per-row buffers do not apply (sliding-window layers, an attention other than SDPA), each planned
    group runs alone in transformers' own cache, with the same outputs."""
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in REQUESTS]
    requests = [decode.prepare(lm, c, k) for c, k in REQUESTS]
    monkeypatch.setattr(decode, "_rows_ready", lambda lm: False)
    outputs, calls = _calls(lm, lambda: decode.generate(lm, requests, [[0, 1], [2, 3], [4, 5]]))
    assert outputs == reference
    assert max(rows for kind, rows, _ in calls if kind == "step") <= 2


def test_the_engine_sends_mixed_budgets_to_one_batch(lm):
    calls = []
    handle = lm.model.register_forward_pre_hook(lambda *a, **k: calls.append(a), with_kwargs=True)
    short = [(f"Question {i}: what is {i} + {i}?\nAnswer:", {"until": ["\n"], "max_gen_toks": 4 + i})
             for i in range(4)]
    try:
        outputs = Engine(lm, None).generate(short)
    finally:
        handle.remove()
    assert outputs == [_lmeval_generate(lm, [c], [k])[0] for c, k in short]
    assert len(calls) <= 4 + 3  # one prompt pass and at most the largest budget of steps: one batch


def test_sampling_and_logit_processing_are_left_to_lm_eval(lm):
    assert decode.usable(lm, [k for _, k in REQUESTS])
    assert not decode.usable(lm, [{"until": ["\n"], "do_sample": True, "temperature": 0.7}])
    assert not decode.usable(lm, [{"until": ["\n"], "top_k": 1}])
    config = lm.model.generation_config
    original = config.repetition_penalty
    config.repetition_penalty = 1.3
    try:
        assert not decode.usable(lm, [{"until": ["\n"]}])
    finally:
        config.repetition_penalty = original
    assert decode.usable(lm, [{"until": ["\n"]}])


def test_a_prompt_that_begins_like_the_one_before_runs_only_its_rest(lm, monkeypatch):
    """Prompts over one document with different questions (the long-context tasks' haystacks): the second and third
    take the shared beginning's keys and values from the prompt before and run only their own rest; each output is
    still the request's own (lm-eval's, one request a batch)."""
    document = "Die Geschichte der Stadt beginnt im Mittelalter, als Kaufleute an den Fluss kamen. " * 8
    requests = [(CHAT.format(document + question), {"until": ["\n"], "max_gen_toks": 8})
                for question in ("Wann beginnt die Geschichte?", "Wer kam an den Fluss?", "Was ist die Stadt?")]
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in requests]
    prepared = [decode.prepare(lm, c, k) for c, k in requests]
    outputs, calls = _calls(lm, lambda: decode.generate(lm, prepared, [[0], [1], [2]]))
    assert outputs == reference
    widths = sorted(columns for kind, _, columns in calls if kind == "prompt")
    lengths = sorted(len(r.ids) for r in prepared)
    shared = len(lm.tok_encode(CHAT.format(document)))
    assert len(widths) == 3 and widths[-1] in lengths  # the first in token order runs in full
    assert all(width < length - shared + 16 for width, length in zip(widths[:2], lengths))  # the others their rest
    monkeypatch.setattr(decode, "SHARE_MIN", 100_000)
    full = _calls(lm, lambda: decode.generate(lm, prepared, [[0], [1], [2]]))[1]
    assert sorted(columns for kind, _, columns in full if kind == "prompt") == lengths


def test_prompts_of_one_pass_share_their_beginning(lm):
    """Few-shot prompts (the same examples, other questions) in one prompt pass: taken in token order, each after
    the first runs only what follows the beginning it shares with the one before it, in the same forward call, and
    every output is still lm-eval's, one request a batch."""
    import os

    shots = "Frage: Wie viel ist 3 + 4?\nAntwort: 7\n\nFrage: Wie viel ist 5 + 1?\nAntwort: 6\n\n" * 3
    requests = [(shots + f"Frage: Wie viel ist {question}?\nAntwort:", {"until": ["\n"], "max_gen_toks": 6})
                for question in ("8 + 1", "2 + 2", "1 + 9")]
    reference = [_lmeval_generate(lm, [c], [k])[0] for c, k in requests]
    prepared = [decode.prepare(lm, c, k) for c, k in requests]
    outputs, calls = _calls(lm, lambda: decode.generate(lm, prepared))
    assert outputs == reference
    ordered = sorted(r.ids for r in prepared)
    shared = [len(os.path.commonprefix([a, b])) for a, b in zip(ordered, ordered[1:])]
    assert min(shared) >= len(lm.tok_encode(shots)) - 2
    assert [c for c in calls if c[0] == "prompt"] == [("prompt", 3, sum(map(len, ordered)) - sum(shared))]


def test_common_counts_the_first_tokens_two_prompts_share():
    assert decode._common([1, 2, 3, 4], [1, 2, 3, 5, 6]) == 3
    assert decode._common([1, 2], [1, 2, 3]) == 2
    assert decode._common([7, 2], [1, 2]) == 0
    assert decode._common([], [1]) == 0
    assert decode._common(list(range(10_000)), list(range(9_999)) + [0]) == 9_999
