"""Long context, RULER's synthetic tasks in ONERULER's multilingual form, sized in the model's own tokens.

Tasks (every prompt is in the target language: ONERULER's native-speaker templates, Thai's in ``langs/th``):

- ``niah_single``: one needle ("The special magic number for "apple" is: 4837261."), its number asked;
- ``niah_multikey``: four needles with different keys, one asked;
- ``niah_multivalue``: four needles with the same key, all four numbers asked;
- ``niah_multiquery``: four needles, two asked (Meta's multi-needle setting for Llama 3.1: 4 inserted, 2 asked);
- ``niah_none``: four needles, a fifth key asked: the right answer is the language's word for "none"
  (ONERULER's addition; every NIAH prompt offers that answer, as ONERULER's do);
- ``cwe``: common-word extraction: a numbered list of words, the ten most frequent asked (RULER's frequencies:
  30 and 3 repeats, 10 and 1 up to 8K tokens).

Haystack: the language's ONERULER book (en de fr it pt hi es), Thai FLORES-200 devtest then NTREX-128 sentences
(``harness.tasks.haystack``), repeated when a length needs more text than it has (as RULER does). Needles end with
the language's full stop (``।`` in Hindi; Thai separates sentences with a space) and go between two sentences of
the haystack, at a sentence boundary of that language.

Lengths and depths (``Sizing``): a length L is the whole request in the model's tokens: the prompt as sent (chat
template, special tokens) plus the answer's room (``max_new_tokens``). The haystack is tokenized once per model and
language; the context is the whole sentences that fit the budget and the beginning of the next one, cut at a word (Thai: a
token) where the budget ends (``cut``), and the assembled prompt is counted exactly, the budget moved by the
difference until it fits (within 2 tokens, mostly). A length a task cannot fill at all (CWE's 100 listed common words
in Hindi at 1K) builds no items; the plan lists it as skipped. Each length has ``DEPTHS`` evenly spaced 0-100%
(``REPEATS`` items each); an item id is ``<length>-<slot>``: the same needles (keys are indices into the 100-noun
list, translated), numbers and depths in every language and for every model. ``--limit N``: N items per length, a
seeded choice of ids, the same everywhere. The depth of an item is its asked needle's (multi-key: the asked one;
the other needles at seeded depths).

Scoring (RULER's string match, made right for every script): the response and the references are NFKC-normalised
and case-folded, native digits read as ASCII, digit-group separators between digits dropped (1,234,567 and
1 234 567 are 1234567); a number matches where no other digit touches it; a word (CWE) matches as a whole word by
the language's word rules (``text_units.keyword_count``: Thai by PyThaiNLP's segmenter, Devanagari words whole).

- ``match_all`` (primary, binary): every reference present (RULER's ``string_match_all`` counts the share; the
  share is ``recall``); for ``niah_none``: the none word present and no needle's number;
- ``match_any`` (binary): at least one reference (RULER's ``string_match_part``);
- ``recall``: the share of references present;
- ``said_none`` (binary, lower is better): the none word in an answer whose needle is there (ONERULER's finding:
  models answer "none" when the needle is present).

Every sample records its length, depth(s), exact token count and needles (``meta``, and ``details`` on the record).
"""

from __future__ import annotations

import random
import re
from bisect import bisect_right
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Mapping, Sequence

from harness.core.errors import OctoglotError
from harness.core.languages import LANGUAGES
from harness.core.metrics import Metric
from harness.core.records import Generation, Sample, Scored
from harness.core.sampling import rank
from harness.core.tokens import Sizing
from harness.tasks import haystack as haystacks
from harness.tasks import text_units
from harness.tasks.definition import TaskDef

DEFAULT_LENGTHS = (1024, 2048, 4096)
DEPTHS = tuple(round(i * 100 / 9) for i in range(10))  # 0, 11, 22, 33, 44, 56, 67, 78, 89, 100
REPEATS = 2  # items per (length, depth): 20 per length
# the answer's room, at least (ONERULER: 30 and 50 new tokens); more where the model's tokenizer spends more tokens
# on the language: twice the tokens of an answer in the template's format (``answer_budget``)
NIAH_GENERATION = Generation(max_new_tokens=64)
CWE_GENERATION = Generation(max_new_tokens=160)
NUMBER_DIGITS = 7
NOUNS = 100  # the noun list's length: needle keys are indices into it, the same in every language
# keys never used: "party" (#80) is "fête" like "holiday" (#41) in French, and "street" (#98) is "Straße", "strada",
# "सड़क" like "road" (#92) in German, Italian and Hindi (0-based indices below)
KEY_POOL = tuple(i for i in range(NOUNS) if i not in (79, 97))

LITERALS = ("none_answers",)
# Thai is not in ONERULER: its templates and nouns are pack literals (langs/th/pack.yaml); other languages read
# them from the data (OneRuler/data/prompt/<lang>/, vocab/100_noun_list_translated.tsv)
TEMPLATE_KEYS = ("task", "needle_numbers", "question_single_numbers", "question_multi_numbers", "please_list",
                 "if_no_numbers", "answer_prefix", "answer_numbers", "none")
THAI_LITERALS = ("long_context_niah", "long_context_cwe", "long_context_nouns")


@dataclass(frozen=True)
class Variant:
    keys: int  # needles with distinct keys
    values: int  # needles per key
    asked: int  # keys asked
    present: bool = True  # False: the asked key is not in the text (niah_none)


VARIANTS = {
    "niah_single": Variant(1, 1, 1),
    "niah_multikey": Variant(4, 1, 1),
    "niah_multivalue": Variant(1, 4, 1),
    "niah_multiquery": Variant(4, 1, 2),
    "niah_none": Variant(4, 1, 1, present=False),
}


# ------------------------------------------------------------------------------------------------- matching

_DIGIT_GROUP = re.compile(r"(?<=\d)[,.'\u00a0\u202f\u2009 ](?=\d{3}(?!\d))")
_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def normalize(text: str) -> str:
    """NFKC, case-folded, every decimal digit as ASCII (Thai ๐-๙, Devanagari ०-९, full-width), digit-group
    separators between digits removed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() and unicodedata.digit(c, None)
                   is not None else c for c in text)
    return _DIGIT_GROUP.sub("", text)


def has_number(response: str, number: str) -> bool:
    """``number`` in the response with no digit touching it."""
    return re.search(rf"(?<!\d){re.escape(normalize(number))}(?!\d)", normalize(response)) is not None


def says_none(response: str, none_answers: Sequence[str], echo: Sequence[str] = ()) -> bool:
    """The none word in the response (whitespace and case ignored), not counting it inside a copy of the prompt's
    own instruction (``echo``: "if there is no such number, answer 'none'"), which small models repeat."""
    squeezed = _SPACE.sub("", normalize(response))
    for text in echo:
        squeezed = squeezed.replace(_SPACE.sub("", normalize(text)), "")
    return any(_SPACE.sub("", normalize(word)) in squeezed for word in none_answers)


def echo_of(templates: Mapping) -> list[str]:
    """The prompt's instruction that names the none word, up to and including it (what an echo would copy)."""
    text, word = templates["if_no_numbers"], templates["none"]
    end = text.rfind(word)  # the quoted word: Thai's "if there is no such number" already says ไม่มี
    return [text[:end + len(word)]] if end >= 0 else []


def has_word(response: str, word: str, lang: str) -> bool:
    return text_units.keyword_count(normalize(response), normalize(word), lang) > 0


# --------------------------------------------------------------------------------------------- the haystack

@dataclass
class Tokenized:
    """A haystack and, per sentence, the token offset and character offset where it starts (one more of each:
    where the last ends), and the character where each token ends."""

    haystack: haystacks.Haystack
    starts: list[int]  # starts[i]: tokens before sentence i; starts[-1]: all the tokens
    chars: list[int]  # chars[i]: characters before sentence i in the joined text
    ends: list[int]  # ends[t]: the character after token t
    repeats: int  # how many times the text was repeated to fill the longest length


_TOKENIZED: dict[tuple, Tokenized] = {}


def tokenized_haystack(build, key: tuple, sizer, tokens_needed: int) -> Tokenized:
    """The haystack tokenized once per (tokenizer, language, data), with the token offset of every sentence start;
    holding at least ``tokens_needed`` tokens: more of the source text while it has more, then the whole text
    repeated (as RULER does). ``build(max_chars)`` makes the haystack from up to ``max_chars`` of the source."""
    cached = _TOKENIZED.get(key)
    if cached is not None and cached.starts[-1] >= tokens_needed:
        return cached
    max_chars = max(100_000, tokens_needed * 6)
    hay = build(max_chars)
    offsets = sizer.offsets(hay.text())
    repeats = 1
    while len(offsets) < tokens_needed and hay.sentences:
        bigger = build(max_chars * 2)
        if len(bigger.sentences) > len(hay.sentences):  # the source had more text: take it
            hay, max_chars = bigger, max_chars * 2
        else:
            repeats = -(-tokens_needed // max(1, len(offsets))) + 1
            hay = replace(hay, sentences=hay.sentences * repeats)
        offsets = sizer.offsets(hay.text())
    ends = [end for _, end in offsets]
    starts, chars, position = [], [], 0
    for sentence in hay.sentences:
        starts.append(bisect_right(ends, position))  # the tokens that end at or before the sentence's start
        chars.append(position)
        position += len(sentence) + len(hay.joiner)
    starts.append(len(offsets))
    chars.append(position)
    result = Tokenized(hay, starts, chars, ends, repeats)
    _TOKENIZED[key] = result
    return result


def cut(tok: Tokenized, budget: int, lang: str) -> tuple[int, str]:
    """The haystack text that fills ``budget`` tokens: the most whole sentences that fit, and the beginning of the
    next one up to the token where the budget ends (whole words where the language spaces its words; Thai at a
    token boundary), as RULER cuts its haystack by length and not by sentence. Needles go only between the whole
    sentences (the tail, a partial sentence, takes none)."""
    count = max(0, bisect_right(tok.starts, budget) - 1)
    if count >= len(tok.haystack.sentences) or budget <= tok.starts[count]:
        return count, ""
    last = min(tok.starts[count] + (budget - tok.starts[count]), len(tok.ends)) - 1
    sentence = tok.haystack.sentences[count]
    tail = sentence[:max(0, tok.ends[last] - tok.chars[count])]
    if LANGUAGES[lang].word_spaces and tail != sentence:
        tail = tail[:tail.rfind(" ")] if " " in tail else ""
    return count, tail.rstrip()


# ---------------------------------------------------------------------------------------------- templates

def niah_templates(extras: Mapping[str, list[dict]], literals: Mapping, lang: str) -> dict:
    if "templates" in extras:
        (templates,) = extras["templates"]
    elif "long_context_niah" in literals:
        templates = literals["long_context_niah"]
    else:
        raise OctoglotError(f"long context ({lang}): no NIAH templates: the pack needs an extra 'templates' file "
                            "or the literal long_context_niah")
    missing = [k for k in TEMPLATE_KEYS if k not in templates]
    if missing:
        raise OctoglotError(f"long context ({lang}): NIAH templates lack {', '.join(missing)}")
    return templates


def nouns(extras: Mapping[str, list[dict]], literals: Mapping, lang: str) -> list[str]:
    if "nouns" in extras:
        rows = extras["nouns"]
        column = lang if lang in rows[0] else None
        if column is None:
            raise OctoglotError(f"long context ({lang}): the noun list has no column '{lang}'")
        words = [str(r[column]).strip() for r in rows if r.get(column)]
    elif "long_context_nouns" in literals:
        words = [str(w).strip() for w in literals["long_context_nouns"]]
    else:
        raise OctoglotError(f"long context ({lang}): no needle nouns: the pack needs an extra 'nouns' file or the "
                            "literal long_context_nouns")
    if len(words) != NOUNS:
        raise OctoglotError(f"long context ({lang}): expected {NOUNS} nouns, got {len(words)}")
    pool = [words[i].casefold() for i in KEY_POOL]
    if len(set(pool)) != len(pool):
        twice = sorted({w for w in pool if pool.count(w) > 1})
        raise OctoglotError(f"long context ({lang}): needle keys must differ, but {', '.join(twice)} appear twice")
    return words


def question(templates: Mapping, keys: Sequence[str]) -> str:
    """ONERULER's question: the asked key(s), "list all that apply", "if none, answer none", the answer format."""
    if len(keys) == 1:
        ask = templates["question_single_numbers"].format(query1=keys[0])
    else:
        ask = templates["question_multi_numbers"].format(query1=keys[0], query2=keys[1])
    return (ask + " " + templates["please_list"] + " " + templates["if_no_numbers"] + templates["answer_prefix"]
            + " " + templates["answer_numbers"])


def answer_budget(sizer, floor: int, answer: str) -> int:
    """New tokens for the answer: ``floor`` (64 for NIAH, 160 for CWE), or twice the tokens of ``answer`` (a right
    answer in the template's format, in the language) where that is more: SmolLM2 spends ~7 tokens on a Hindi word
    and ~4 on a Thai syllable, so 64 tokens hold barely the answer tags in Hindi."""
    return max(floor, 2 * len(sizer.offsets(answer)))


def needle_text(templates: Mapping, key: str, value: str, lang: str) -> str:
    """The needle as a sentence of the language: ends with its full stop (``।`` in Hindi; none in Thai, whose
    sentences end where a space separates them from the next)."""
    return templates["needle_numbers"].format(key=key, value=value).rstrip() + LANGUAGES[lang].full_stop.strip()


# ------------------------------------------------------------------------------------------------- items

def item_ids(lengths: Sequence[int], limit: int | None, seed: int) -> list[tuple[int, int]]:
    """(length, slot) of every item to build: all slots, or ``limit`` per length chosen by the seeded rank of the
    id (``harness.core.sampling``), so every language and model gets the same items."""
    slots = range(len(DEPTHS) * REPEATS)
    chosen = []
    for length in lengths:
        ids = [(length, s) for s in slots]
        if limit is not None and limit < len(ids):
            keep = set(sorted(ids, key=lambda i: rank(seed, f"{i[0]}-{i[1]:02d}"))[:limit])
            ids = [i for i in ids if i in keep]
        chosen += ids
    return chosen


def item_rng(task: str, length: int, slot: int, seed: int) -> random.Random:
    return random.Random(f"{task}:{length}:{slot}:{seed}")


@dataclass(frozen=True)
class Plan:
    """Everything about an item that is the same in every language."""

    keys: tuple[int, ...]  # noun indices of the inserted needles' keys, in insertion order of first appearance
    values: tuple[tuple[str, ...], ...]  # per key, its numbers
    asked: tuple[int, ...]  # noun indices asked
    depths: tuple[int, ...]  # per needle (key-major), its depth in percent
    depth: int  # the item's depth: its (first) asked needle's


def plan_item(task: str, variant: Variant, length: int, slot: int, seed: int) -> Plan:
    rng = item_rng(task, length, slot, seed)
    depth = DEPTHS[slot % len(DEPTHS)]
    chosen = rng.sample(KEY_POOL, variant.keys + (0 if variant.present else 1))
    keys, extra = chosen[:variant.keys], chosen[variant.keys:]
    values = tuple(tuple(str(rng.randrange(10 ** (NUMBER_DIGITS - 1), 10 ** NUMBER_DIGITS))
                         for _ in range(variant.values)) for _ in keys)
    asked = tuple(extra) if not variant.present else tuple(keys[:variant.asked])
    # needle depths: the asked key's first needle at the item's depth, the others at seeded depths
    needles = variant.keys * variant.values
    depths = [rng.choice(range(0, 101)) for _ in range(needles)]
    if variant.present:
        depths[0] = depth
    else:
        depth = -1  # nothing asked is in the text: no depth
    return Plan(tuple(keys), values, asked, tuple(depths), depth)


# ------------------------------------------------------------------------------------------ building NIAH

def _insert(tok: Tokenized, count: int, tail: str, needles: list[tuple[int, str]]) -> str:
    """The first ``count`` sentences with each needle inserted before the sentence nearest its depth (a needle at
    100% after the last whole sentence), then the partial ``tail``."""
    by_position: dict[int, list[str]] = {}
    for depth, text in needles:
        by_position.setdefault(round(depth / 100 * count), []).append(text)
    out = []
    for i in range(count + 1):
        out += by_position.get(i, [])
        if i < count:
            out.append(tok.haystack.sentences[i])
    if tail:
        out.append(tail)
    return tok.haystack.joiner.join(out)


def build_niah(task: str, variant: Variant, rows: list[dict], literals: Mapping, lang: str,
               extras: Mapping[str, list[dict]], sizing: Sizing) -> list[Sample]:
    templates = niah_templates(extras, literals, lang)
    words = nouns(extras, literals, lang)
    none_answers = [str(w) for w in literals["none_answers"]]
    if _SPACE.sub("", normalize(templates["none"])) not in {_SPACE.sub("", normalize(w)) for w in none_answers}:
        raise OctoglotError(f"long context ({lang}): the template's none word '{templates['none']}' is not among "
                            f"the pack's none_answers ({', '.join(none_answers)})")
    sizer = sizing.sizer
    ids = item_ids(sizing.lengths, sizing.limit, sizing.seed)
    if not ids:
        return []
    build = _haystack_builder(rows, extras, lang)
    tok = tokenized_haystack(build, (tuple(sorted(sizer.facts().items())), lang, _rows_key(rows, extras)), sizer,
                             max(sizing.lengths))
    samples = []
    for length, slot in ids:
        plan = plan_item(task, variant, length, slot, sizing.seed)
        keys = [words[k] for k in plan.keys]
        needles, d = [], 0
        for key, values in zip(keys, plan.values):
            for value in values:
                needles.append((plan.depths[d], needle_text(templates, key, value, lang)))
                d += 1
        asked = [words[k] for k in plan.asked]
        ask = question(templates, asked)
        # a right answer in the template's format: its answer line with as many 7-digit numbers as there are needles
        # (the same for every item of a task and language)
        right = templates["answer_numbers"] + " " + " ".join(["8765432"] * (variant.keys * variant.values))
        generation = Generation(max_new_tokens=answer_budget(sizer, NIAH_GENERATION.max_new_tokens, right))
        prompt_of = lambda context: templates["task"].format(context=context) + ask  # noqa: E731
        room = length - generation.max_new_tokens
        overhead = sizer.count(prompt_of(""))
        needle_tokens = sum(len(sizer.offsets(" " + text)) for _, text in needles)
        budget = room - overhead - needle_tokens - 2 * len(needles) - 2
        best = None
        for _ in range(8):  # exact counts: the budget moves by the measured excess or shortfall
            count, tail = cut(tok, max(0, budget), lang)
            prompt = prompt_of(_insert(tok, count, tail, needles))
            tokens = sizer.count(prompt)
            if tokens <= room and (best is None or tokens > best[0]):
                best = (tokens, prompt, count, tail)
            if 0 <= room - tokens <= 2 or budget <= 0:
                break
            budget += room - tokens
        if best is None:  # the needles and question alone overfill this length in this language: no item (listed)
            continue
        tokens, prompt, count, tail = best
        references = tuple(v for k in plan.asked if k in plan.keys for v in plan.values[plan.keys.index(k)])
        inserted = tuple(v for values in plan.values for v in values)
        item = f"{length}-{slot:02d}"
        # answer_lang None: the answer is numbers (or the none word), nothing a language identifier can judge
        samples.append(Sample(item, task, lang, prompt, target=references, answer_lang=None, meta={
            "length": length, "tokens": tokens + generation.max_new_tokens, "depth": plan.depth,
            "depths": list(plan.depths), "keys": keys, "asked": asked, "inserted": list(inserted),
            "none_answers": none_answers, "echo": echo_of(templates), "max_new_tokens": generation.max_new_tokens, "sentences": count, "tail_chars": len(tail), "repeats": tok.repeats}))
    return samples


def _rows_key(rows: list[dict], extras: Mapping[str, list[dict]]) -> tuple:
    """What identifies the haystack's text: its first and last lines and line counts (the data layer has checked
    the files' sha256 already)."""
    more = extras.get("more", [])
    return (len(rows), str(rows[0]) if rows else "", str(rows[-1]) if rows else "", len(more))


def _haystack_builder(rows: list[dict], extras: Mapping[str, list[dict]], lang: str):
    lines = [str(r.get("text", "")) for r in rows]
    if "more" in extras:  # Thai: sentence-per-line files (FLORES-200 devtest, then NTREX-128)
        lines += [str(r.get("text", "")) for r in extras["more"]]
        return lambda max_chars: haystacks.from_sentence_lines(lines, lang, source="FLORES-200 devtest + NTREX-128")
    return lambda max_chars: haystacks.from_paragraphs(lines, lang, max_chars=max_chars)


# -------------------------------------------------------------------------------------------- building CWE

CWE_COMMON = 10


def cwe_frequencies(length: int) -> tuple[int, int]:
    """RULER's common-word extraction: the 10 common words 30 times and the others 3 times; up to 8K tokens (RULER:
    ``max_seq_length <= 8000``) 10 times and once."""
    return (10, 1) if length <= 8000 else (30, 3)


def cwe_vocabulary(extras: Mapping[str, list[dict]], literals: Mapping, lang: str) -> list[str]:
    """The words a CWE list is drawn from, sorted (the seed shuffles them): nouns, adjectives and verbs without
    digits of ONERULER's dictionary (de fr it pt hi es); English: wonderwords' noun, adjective and verb lists (the
    lists RULER and ONERULER use for English; ONERULER ships no English dictionary); Thai: the Volubilis word list in
    PyThaiNLP's wheel (no part of speech; Thai-letter words of 2 to 12 characters)."""
    if "words" in extras:
        words = {str(r.get("words") or "").strip() for r in extras["words"]
                 if r.get("pos") in ("noun", "adjective", "verb")}
    elif lang == "en":
        from wonderwords import RandomWord

        words = set(RandomWord().filter(include_categories=["noun", "adjective", "verb"]))
    elif lang == "th":
        words = set(_volubilis())
    else:
        raise OctoglotError(f"cwe ({lang}): no word list: the pack needs an extra 'words' file")
    words = sorted(w for w in words if w and not any(c.isdigit() for c in w) and " " not in w)
    if len(words) < 100:
        raise OctoglotError(f"cwe ({lang}): the word list has {len(words)} usable words")
    return words


@lru_cache(maxsize=1)
def _volubilis() -> tuple[str, ...]:
    text_units.pythainlp_offline()
    from pythainlp.corpus import thai_volubilis_words

    thai = re.compile(r"^[\u0e01-\u0e4e]{2,12}$")
    return tuple(sorted(w.strip() for w in thai_volubilis_words() if thai.match(w.strip())))


def cwe_template(extras: Mapping[str, list[dict]], literals: Mapping, lang: str) -> str:
    if "cwe_template" in extras:
        template = "\n".join(str(r.get("text", "")) for r in extras["cwe_template"])
    elif "long_context_cwe" in literals:
        template = str(literals["long_context_cwe"])
    else:
        raise OctoglotError(f"cwe ({lang}): no template: the pack needs an extra 'cwe_template' file or the literal "
                            "long_context_cwe")
    if "{context}" not in template:
        raise OctoglotError(f"cwe ({lang}): the template has no {{context}}")
    return template


def _cwe_list(words: list[str], common: int, uncommon: int, n: int, rng_seed: str) -> tuple[str, list[str]]:
    rng = random.Random(rng_seed)
    chosen = rng.sample(words, n)
    common_words, others = chosen[:CWE_COMMON], chosen[CWE_COMMON:]
    listed = common_words * common + others * uncommon
    random.Random(rng_seed + ":order").shuffle(listed)
    return " ".join(f"{i + 1}. {w}" for i, w in enumerate(listed)), common_words


def build_cwe(task: str, rows: list[dict], literals: Mapping, lang: str, extras: Mapping[str, list[dict]],
              sizing: Sizing) -> list[Sample]:
    template = cwe_template(extras, literals, lang)
    vocabulary = cwe_vocabulary(extras, literals, lang)
    shuffled = list(vocabulary)
    random.Random(f"cwe-vocabulary:{sizing.seed}").shuffle(shuffled)
    sizer = sizing.sizer
    # tokens per listed word, from a sample of entries (each "i. word"), to start the search near the answer
    probe = " ".join(f"{i + 1}. {w}" for i, w in enumerate(shuffled[:400]))
    per_entry = max(1.0, len(sizer.offsets(probe)) / 400)
    # a right answer: ten listed words of the language (the answer line of the template is part of the prompt)
    generation = Generation(max_new_tokens=answer_budget(
        sizer, CWE_GENERATION.max_new_tokens, " ".join(f"{i + 1}. {w}" for i, w in enumerate(shuffled[:CWE_COMMON]))))
    samples = []
    for length, slot in item_ids(sizing.lengths, sizing.limit, sizing.seed):
        common, uncommon = cwe_frequencies(length)
        room = length - generation.max_new_tokens
        overhead = sizer.count(template.format(context=""))
        seed = f"{task}:{length}:{slot}:{sizing.seed}"
        entries = max(0, (room - overhead) / per_entry)
        n = int((entries - CWE_COMMON * common) / uncommon) + CWE_COMMON
        n = max(CWE_COMMON + 1, min(n, len(shuffled)))
        best = None
        for _ in range(12):  # a few exact counts: n moves by the measured excess or shortfall
            context, answer = _cwe_list(shuffled, common, uncommon, n, seed)
            tokens = sizer.count(template.format(context=context))
            if tokens <= room:
                best = (n, context, answer, tokens)
                slack = room - tokens
                step = int(slack / (per_entry * uncommon) * 0.9)
                if step < 1 or n >= len(shuffled):
                    break
                n = min(len(shuffled), n + step)
            else:
                n -= max(1, int((tokens - room) / (per_entry * uncommon)) + 1)
                if n <= CWE_COMMON:
                    break
        if best is None:  # too short for this language in this tokenizer: no item (the plan lists the length)
            continue
        n, context, answer, tokens = best
        samples.append(Sample(f"{length}-{slot:02d}", task, lang, template.format(context=context),
                              target=tuple(answer), answer_lang=lang, meta={
                                  "length": length, "tokens": tokens + generation.max_new_tokens, "depth": -1,
                                  "distinct_words": n, "frequencies": [common, uncommon],
                                  "max_new_tokens": generation.max_new_tokens,
                                  "vocabulary_exhausted": n >= len(shuffled)}))
    return samples


# ------------------------------------------------------------------------------------------------- scoring

def score(sample: Sample, response: str) -> Scored:
    meta = sample.meta
    details = {"length": meta["length"], "depth": meta["depth"], "tokens": meta["tokens"]}
    if sample.task == "cwe":
        found = [has_word(response, w, sample.lang) for w in sample.target]
        none = False
    elif sample.target:  # a needle is asked
        found = [has_number(response, v) for v in sample.target]
        none = says_none(response, meta["none_answers"], meta.get("echo", ()))
    else:  # niah_none: right when the answer says none and gives no needle's number
        none = says_none(response, meta["none_answers"], meta.get("echo", ()))
        correct = none and not any(has_number(response, v) for v in meta["inserted"])
        value = float(correct)
        return Scored({"match_all": value, "match_any": value, "recall": value}, details=details)
    recall = sum(found) / len(found)
    metrics = {"match_all": float(all(found)), "match_any": float(any(found)), "recall": recall}
    if sample.task != "cwe":
        metrics["said_none"] = float(none)
    return Scored(metrics, details=details)


METRICS = (
    Metric("match_all", "binary", 1, description="every reference in the answer (the none word, for niah_none)"),
    Metric("match_any", "binary", 1, description="at least one reference in the answer (RULER's string_match_part)"),
    Metric("recall", "continuous", 1, description="share of the references in the answer (RULER's string_match_all)"),
)
SAID_NONE = Metric("said_none", "binary", 1, higher_is_better=False,
                   description="answered 'none' although the needle is in the text")

NOT_EXPORTABLE = ("prompts are sized in the model's own tokens at run time (lm-eval's tasks are fixed text); "
                  "lm-eval's ruler is English-only")


def _generation(sample: Sample) -> Generation:
    """Greedy, the answer's room as the builder sized it (``answer_budget``)."""
    return Generation(max_new_tokens=sample.meta["max_new_tokens"])


def _niah(task: str, description: str) -> TaskDef:
    variant = VARIANTS[task]

    def build(rows, literals, lang, extras, sizing):
        return build_niah(task, variant, rows, literals, lang, extras, sizing)

    metrics = METRICS + ((SAID_NONE,) if variant.present else ())
    return TaskDef(id=task, description=description, kind="generate", build=build, score=score, metrics=metrics,
                   primary="match_all", template="oneruler niah (partial templates)", literals=LITERALS,
                   optional_literals=THAI_LITERALS, columns=(), parallel=True,
                   generation=_generation, not_exportable=NOT_EXPORTABLE, sized=DEFAULT_LENGTHS)


def _cwe_build(rows, literals, lang, extras, sizing):
    return build_cwe("cwe", rows, literals, lang, extras, sizing)


TASKS = (
    _niah("niah_single", "long context: one needle (a number for a noun) in a book, its number asked"),
    _niah("niah_multikey", "long context: four needles with different keys, one asked"),
    _niah("niah_multivalue", "long context: four numbers for one key, all asked"),
    _niah("niah_multiquery", "long context: four needles, two asked (Meta's multi-needle setting)"),
    _niah("niah_none", "long context: four needles, a fifth key asked; the answer is the language's 'none'"),
    TaskDef(id="cwe", description="long context: the ten most common words of a long numbered list",
            kind="generate", build=_cwe_build, score=score, metrics=METRICS, primary="match_all",
            template="oneruler cwe", literals=LITERALS, optional_literals=THAI_LITERALS, columns=(), parallel=True,
            generation=_generation, not_exportable=NOT_EXPORTABLE, sized=DEFAULT_LENGTHS),
)
