"""The long-context family: matching that is right in every script, RULER's scores and the none case; prompts built
on the real ONERULER data with the bundled SmolLM2's real tokenizer: lengths exact within the chat template's
overhead, needles at the language's sentence boundaries, the same items in every language, lengths past the window
skipped and listed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conftest import SHARED_DATA, needs_data, tokenizer_dir
from harness.core.languages import parse_langs
from harness.core.records import Sample
from harness.core.tokens import Sizing, format_length, parse_length, parse_lengths
from harness.core.errors import OctoglotError
from harness.execution.plan import RunConfig, plan, task_literals
from harness.tasks import data, packs
from harness.tasks.families import long_context as lc
from harness.tasks.registry import get_task

LANGS = ("en", "de", "fr", "it", "pt", "hi", "es", "th")


# ------------------------------------------------------------------------------------------------ lengths

@pytest.mark.parametrize("text, tokens", [("1k", 1024), ("4K", 4096), ("128k", 131072), ("3000", 3000),
                                          ("1m", 1048576)])
def test_lengths_are_powers_of_two_as_in_ruler(text, tokens):
    assert parse_length(text) == tokens
    assert parse_lengths("16k,1k,4k,1k") == (1024, 4096, 16384)
    assert format_length(131072) == "128k" and format_length(3000) == "3000"


@pytest.mark.parametrize("bad", ["", "4kb", "-1k", "0", "k"])
def test_a_bad_length_is_one_line_naming_the_flag(bad):
    with pytest.raises(OctoglotError, match="--context-lengths: expected a token count"):
        parse_lengths(bad) if bad else parse_length(bad)


# ----------------------------------------------------------------------------------------------- matching

@pytest.mark.parametrize("response, number, found", [
    ("<Answer> 4837261 </Answer>", "4837261", True),
    ("The number is 4,837,261.", "4837261", True),          # grouped with commas
    ("Die Zahl ist 4.837.261.", "4837261", True),            # grouped with dots
    ("le nombre est 4 837 261", "4837261", True),            # grouped with spaces
    ("le nombre est 4\u202f837\u202f261", "4837261", True),  # narrow no-break spaces
    ("संख्या ४८३७२६१ है।", "4837261", True),                  # Devanagari digits
    ("ตัวเลขคือ ๔๘๓๗๒๖๑", "4837261", True),                   # Thai digits
    ("４８３７２６１", "4837261", True),                        # full-width
    ("48372610", "4837261", False),                          # a longer number is not it
    ("14837261", "4837261", False),
    ("4837262", "4837261", False),
    ("4837261 and 7654321", "7654321", True),                # a list: the second number
    ("4837261, 7654321", "4837261", True),
])
def test_numbers_match_in_every_script_and_grouping(response, number, found):
    assert lc.has_number(response, number) is found


@pytest.mark.parametrize("response, lang, none", [
    ("none", "en", True), ("NONE.", "en", True), ("<Answer> Keine vorhanden </Answer>", "de", True),
    ("keine  vorhanden", "de", True), ("Keinevorhanden", "de", True), ("keine", "de", False),
    ("कोई नहीं", "hi", True), ("कोई", "hi", False), ("<คำตอบ> ไม่มี </คำตอบ>", "th", True),
    ("aucun", "fr", True), ("Nenhum.", "pt", True), ("4837261", "en", False),
])
def test_the_none_word_of_the_pack_whitespace_and_case_ignored(response, lang, none):
    answers = packs.load_pack(lang).literals["none_answers"]
    assert lc.says_none(response, answers) is none


@pytest.mark.parametrize("response, word, lang, found", [
    ("1. apple 2. pear", "apple", "en", True),
    ("pineapple", "apple", "en", False),                     # a whole word, not a substring
    ("Apfel, Birne", "apfel", "de", True),
    ("नदी, पहाड़, सड़क", "पहाड़", "hi", True),                # Devanagari with nukta: a whole word
    ("नदियाँ", "नदी", "hi", False),
    ("ดอกไม้ แม่น้ำ ภูเขา", "แม่น้ำ", "th", True),
    ("ดอกไม้", "ดอก", "th", False),                           # inside a longer Thai word (PyThaiNLP's words)
])
def test_cwe_words_match_as_whole_words_of_their_language(response, word, lang, found):
    assert lc.has_word(response, word, lang) is found


# ------------------------------------------------------------------------------------------------ scoring

def sample(task: str, target: tuple, inserted: tuple = (), lang: str = "en") -> Sample:
    none = packs.load_pack(lang).literals["none_answers"]
    return Sample("1024-00", task, lang, "…", target=target, meta={"length": 1024, "depth": 50, "tokens": 1000,
                                                                   "inserted": list(inserted), "none_answers": none})


def test_ruler_scores_all_any_recall_and_said_none():
    s = sample("niah_multivalue", ("1111111", "2222222", "3333333", "4444444"))
    scored = lc.score(s, "<Answer> 1111111, 3333333 </Answer>")
    assert scored.metrics == {"match_all": 0.0, "match_any": 1.0, "recall": 0.5, "said_none": 0.0}
    assert scored.details == {"length": 1024, "depth": 50, "tokens": 1000}
    assert lc.score(s, "4444444 3333333 2222222 1111111").metrics["match_all"] == 1.0
    single = sample("niah_single", ("4837261",))
    assert lc.score(single, "none").metrics == {"match_all": 0.0, "match_any": 0.0, "recall": 0.0, "said_none": 1.0}


def test_none_is_right_only_with_the_none_word_and_no_inserted_number():
    s = sample("niah_none", (), inserted=("1111111", "2222222"), lang="de")
    assert lc.score(s, "Keine vorhanden").metrics["match_all"] == 1.0
    assert lc.score(s, "Keine vorhanden, oder 2222222?").metrics["match_all"] == 0.0  # a distractor's number
    assert lc.score(s, "1111111").metrics["match_all"] == 0.0
    assert "said_none" not in lc.score(s, "Keine vorhanden").metrics


def test_cwe_scores_words_not_numbers():
    s = Sample("1024-00", "cwe", "en", "…", target=("apple", "river"), meta={"length": 1024, "depth": -1,
                                                                           "tokens": 900})
    assert lc.score(s, "1. apple 2. river").metrics == {"match_all": 1.0, "match_any": 1.0, "recall": 1.0}
    assert lc.score(s, "apples, river").metrics["recall"] == 0.5


# ------------------------------------------------------------------------------------ items and depths

def test_items_are_the_same_everywhere_and_limit_picks_per_length():
    all_ids = lc.item_ids((1024, 2048), None, 7)
    assert len(all_ids) == 2 * len(lc.DEPTHS) * lc.REPEATS
    five = lc.item_ids((1024, 2048), 5, 7)
    assert sum(1 for length, _ in five if length == 1024) == 5 and set(five) <= set(all_ids)
    assert set(five) <= set(lc.item_ids((1024, 2048), 8, 7))  # a larger limit keeps every smaller one's items
    assert lc.DEPTHS[0] == 0 and lc.DEPTHS[-1] == 100 and len(set(lc.DEPTHS)) == len(lc.DEPTHS)
    first = lc.plan_item("niah_multikey", lc.VARIANTS["niah_multikey"], 1024, 3, 7)
    assert first == lc.plan_item("niah_multikey", lc.VARIANTS["niah_multikey"], 1024, 3, 7)
    assert len(first.keys) == 4 and len(set(first.keys)) == 4 and first.asked[0] in first.keys
    assert first.depth == lc.DEPTHS[3] and first.depths[0] == first.depth
    assert all(len(v) == 7 for values in first.values for v in values)
    none = lc.plan_item("niah_none", lc.VARIANTS["niah_none"], 1024, 3, 7)
    assert none.asked[0] not in none.keys and none.depth == -1
    assert not {79, 97} & {k for i in range(40) for k in lc.plan_item("niah_multikey",
                                                                        lc.VARIANTS["niah_multikey"], 1024, i, 7).keys}


# ----------------------------------------------------------------- real data, real tokenizer (SmolLM2's)

@pytest.fixture(scope="module")
def sizer(model_cache):
    from transformers import AutoTokenizer

    from harness.execution.tokenizer import HFSizer

    folder = tokenizer_dir(model_cache)
    return HFSizer(AutoTokenizer.from_pretrained(folder), 8192, True, {"tokenizer": "smollm2"})


def unit_inputs(task_id: str, lang: str):
    task = get_task(task_id)
    pack = packs.load_pack(lang)
    entry = pack.tasks[task_id]
    root = data.resolve_data_dir(str(SHARED_DATA))
    rows = data.load_task_data(entry, root, task.columns).rows
    extras = {k: v.rows for k, v in data.load_extras(entry, root).items()}
    return task, rows, task_literals(task, pack, str(packs.pack_path(parse_langs(lang)[0]))), extras


def built(task_id: str, lang: str, sizer, lengths=(1024, 2048), limit=3, seed=1234):
    task, rows, literals, extras = unit_inputs(task_id, lang)
    return task.build(rows, literals, lang, extras, Sizing(sizer, lengths, seed, limit))


@needs_data
@pytest.mark.parametrize("lang", LANGS)
def test_prompts_fill_their_length_exactly_with_needles_at_sentence_boundaries(lang, sizer):
    samples = built("niah_single", lang, sizer)
    assert [s.meta["length"] for s in samples].count(1024) == 3 and len(samples) == 6
    task, rows, literals, extras = unit_inputs("niah_single", lang)
    templates = lc.niah_templates(extras, literals, lang)
    hay = lc._haystack_builder(rows, extras, lang)(200_000)  # the same sentences, in the same order
    head, tail = templates["task"].split("{context}")
    for s in samples:
        length, tokens = s.meta["length"], s.meta["tokens"]
        room = s.meta["max_new_tokens"]  # the answer's room: 64, or more where the language costs more tokens
        assert room == 64 if lang in ("en", "de", "fr", "it", "pt", "es") else room > 64
        assert tokens == sizer.count(s.prompt) + room  # counted as the model will see it: chat template included
        assert length - 24 <= tokens <= length, (lang, length, tokens)  # filled to within a word or two
        (value,) = s.target
        needle = lc.needle_text(templates, s.meta["keys"][0], value, lang)
        assert s.prompt.count(needle) == 1 and s.prompt.count(value) == 1
        ask = lc.question(templates, s.meta["asked"])
        assert s.prompt.startswith(head) and s.prompt.endswith(tail + ask)
        context = s.prompt[len(head):len(s.prompt) - len(tail + ask)]
        # the needle stands between two whole sentences of the haystack: without it, the context is exactly the
        # haystack's first sentences, joined as the haystack joins them
        parts = context.split(needle)
        if parts[0] == "":
            without = parts[1][1:]
        elif parts[1] == "":
            without = parts[0][:-1]
        else:
            assert parts[0].endswith(hay.joiner) and parts[1].startswith(hay.joiner)
            without = parts[0] + parts[1][1:]
        whole = hay.text(0, s.meta["sentences"])
        partial = without[len(whole) + 1:]
        assert without.startswith(whole) and len(partial) == s.meta["tail_chars"]
        # after the whole sentences, the beginning of the next one (whole words where words are spaced); the needle
        # stood between whole sentences, never inside or after that partial one
        assert hay.sentences[s.meta["sentences"]].startswith(partial)
        assert (whole + hay.joiner)[:len(parts[0])] == parts[0]
        if partial and lang != "th":
            rest = hay.sentences[s.meta["sentences"]][len(partial):]
            assert rest == "" or rest[0] == " "
        if lang == "hi":
            assert needle.endswith("।")
        if lang == "th":
            assert not needle.endswith(".")


@needs_data
def test_the_same_items_in_every_language(sizer):
    by_lang = {lang: built("niah_multikey", lang, sizer, lengths=(2048,), limit=4) for lang in ("en", "hi", "th")}
    # at 1K, Thai's four needles and question alone overfill SmolLM2's budget: no item, never a failure
    assert built("niah_multikey", "th", sizer, lengths=(1024,), limit=4) == []
    ids = {lang: [s.id for s in samples] for lang, samples in by_lang.items()}
    assert ids["en"] == ids["hi"] == ids["th"]
    for en, hi, th in zip(by_lang["en"], by_lang["hi"], by_lang["th"]):
        assert en.target == hi.target == th.target and en.meta["depths"] == hi.meta["depths"] == th.meta["depths"]
        assert en.meta["keys"] != hi.meta["keys"]  # the same nouns, each in its language


@needs_data
def test_cwe_lists_hold_the_common_words_more_often_and_fit_the_length(sizer):
    # a Hindi word costs SmolLM2 ~10 tokens: 1K cannot hold the 10 common words 10 times each, so no item is built
    # for it (the plan lists the length as skipped); 4K holds them and more
    (s,) = built("cwe", "hi", sizer, lengths=(1024, 4096), limit=1)
    common, uncommon = lc.cwe_frequencies(4096)
    assert s.meta["length"] == 4096 and len(s.target) == 10 and s.meta["tokens"] <= 4096
    assert s.meta["tokens"] >= 4096 - 64  # filled to within a few entries
    assert s.meta["distinct_words"] > 10 and s.meta["frequencies"] == [10, 1]
    for word in s.target:
        assert s.prompt.count(f". {word} ") + s.prompt.count(f". {word} <") >= common


@needs_data
def test_a_length_past_the_window_is_skipped_and_listed(model_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("OCTOGLOT_CACHE", str(model_cache))
    config = RunConfig(model="smollm2", model_args=None, tasks=[get_task("niah_single")], langs=parse_langs("en,th"),
                       limit=1, seed=1, output=tmp_path, data_dir=str(SHARED_DATA),
                       context_lengths=(1024, 16384))
    units, skipped = plan(config)
    assert [u.lang for u in units] == ["en", "th"]
    assert skipped == [f"niah_single/{lang}: lengths beyond the model's window of 8192 tokens (16384)"
                       for lang in ("en", "th")]
    context = units[0].info["context"]
    assert context["lengths"] == [1024] and context["skipped_lengths"] == [16384]
    assert context["tokenizer"]["window"] == 8192 and context["tokenizer"]["chat_template"] is True
    th = units[1].info["context"]["fertility"]
    assert th["measured"] and th["vs_english"] > 1.5  # Thai costs SmolLM2 far more tokens than English
    assert units[0].info["context"]["fertility"]["vs_english"] == 1.0
    config.context_lengths = (16384,)
    with pytest.raises(OctoglotError, match="no \\(task, language\\) pair"):
        plan(config)
    config.langs = parse_langs("en")
    config.tasks = [get_task("niah_single"), get_task("sib200")]
    units, skipped = plan(config)
    assert skipped == ["niah_single/en: every length beyond the model's window of 8192 tokens (16384)"]


@needs_data
def test_a_length_too_short_for_the_language_is_skipped_and_listed(model_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("OCTOGLOT_CACHE", str(model_cache))
    config = RunConfig(model="smollm2", model_args=None, tasks=[get_task("cwe")], langs=parse_langs("en,hi"),
                       limit=1, seed=1, output=tmp_path, data_dir=str(SHARED_DATA), context_lengths=(1024, 4096))
    units, skipped = plan(config)
    en, hi = units
    assert {s.meta["length"] for s in en.samples} == {1024, 4096} and "unfit_lengths" not in en.info["context"]
    assert {s.meta["length"] for s in hi.samples} == {4096} and hi.info["context"]["unfit_lengths"] == [1024]
    assert skipped == ["cwe/hi: too short for the task's smallest prompt in the model's tokens (1024)"]


@needs_data
@pytest.mark.parametrize("lang", ["fr", "hi", "th"])
def test_an_echo_of_the_question_is_not_an_answer_of_none(lang):
    # small models repeat the prompt's "if there is no such number, answer 'none'": that names the none word but
    # answers nothing (Gemma 3 270M did so in French at every length)
    _, _, literals, extras = unit_inputs("niah_none", lang)
    templates = lc.niah_templates(extras, literals, lang)
    none = literals["none_answers"]
    echo = lc.echo_of(templates)
    assert echo and templates["none"] in echo[0]
    s = Sample("1024-00", "niah_none", lang, "…", target=(), meta={
        "length": 1024, "depth": -1, "tokens": 1000, "inserted": ["1111111"], "none_answers": none, "echo": echo})
    parroted = "\n\n" + question(templates) + " "
    assert lc.score(s, parroted).metrics["match_all"] == 0.0
    assert lc.score(s, parroted + templates["answer_prefix"] + " " + none[0]).metrics["match_all"] == 1.0
    single = replace(s, task="niah_single", target=("1111111",))
    assert lc.score(single, parroted).metrics["said_none"] == 0.0


def question(templates):
    return templates["question_single_numbers"].format(query1="x") + " " + templates["if_no_numbers"]
