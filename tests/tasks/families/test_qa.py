"""Extractive QA (XQuAD): normalization, EM/F1, response cleaning and the dataset builder.

Golden tables are (inputs, expected) rows; every partial-overlap F1 is worked out by hand in the
row's comment. Fixture rows are self-authored, in the upstream SQuAD v1.1 and google/xquad shapes.
"""

import json
import unicodedata

import pytest

from conftest import SHARED_DATA, gen_kwargs, needs
from harness.tasks import data, packs
from harness.core.errors import OctoglotError
from harness.tasks.families import qa
from harness.core.records import Sample

XQUAD_LANGS = ("en", "de", "es", "hi", "th")
XQUAD_DIR = SHARED_DATA / "xquad" if SHARED_DATA else None
needs_xquad = needs(
    XQUAD_DIR is None or not all((XQUAD_DIR / f"xquad.{lang}.json").is_file() for lang in XQUAD_LANGS),
    "the real XQuAD data is not found (../shared/data/xquad/xquad.<lang>.json or $OCTOGLOT_DATA/xquad)",
)


def literals(lang: str) -> dict:
    return packs.require_literals(packs.load_pack(lang), qa.XQUAD_LITERALS, f"langs/{lang}/pack.yaml", "xquad")


# --- normalization ----------------------------------------------------------------------------

# Thai: one token per character, spaces ignored; NFKC turns SARA AM (ำ) into NIKHAHIT + SARA AA.
THAI_NORMALIZE = [
    ("กรุงเทพ", ["ก", "ร", "ุ", "ง", "เ", "ท", "พ"]),
    ("กรุง เทพ", ["ก", "ร", "ุ", "ง", "เ", "ท", "พ"]),  # a space is not a token
    ("“กรุงเทพ”", ["ก", "ร", "ุ", "ง", "เ", "ท", "พ"]),  # quotes are punctuation
    ("ต่าง ๆ", ["ต", "่", "า", "ง", "ๆ"]),  # tone mark kept; MAI YAMOK is a letter (Lm), not punctuation
    ("น้ำ", ["น", "้", "ํ", "า"]),  # NFKC: ำ -> ํ + า
    ("๓๐๘", ["3", "0", "8"]),  # Thai digits fold to ASCII
    ("ปี 2015.", ["ป", "ี", "2", "0", "1", "5"]),
    ("\ufeffNFL", ["n", "f", "l"]),  # BOM removed, Latin lowercased, still one token per character
    ("ซูเปอร์\u200bโบวล์", list("ซูเปอร์โบวล์")),  # zero-width space is whitespace: ignored
]

# Hindi: whitespace tokens; danda and double danda are punctuation; matras and virama stay attached.
HINDI_NORMALIZE = [
    ("भारत।", ["भारत"]),
    ("हिन्दी", ["हिन्दी"]),  # ह ि न ् द ी: one token, virama and matras kept
    ("नई दिल्ली॥", ["नई", "दिल्ली"]),
    ("३०८ अंक", ["308", "अंक"]),  # Devanagari digits fold to ASCII
    ("“महात्मा  गांधी”", ["महात्मा", "गांधी"]),  # quotes removed, whitespace collapsed
    ("एक किताब", ["एक", "किताब"]),  # no article list for Hindi: एक ("one, a") stays
    ("IBM मेनफ्रेम", ["ibm", "मेनफ्रेम"]),
    ("क्\u200dष", ["क्ष"]),  # zero-width joiner (Cf) removed
]

# Articles as whole tokens, per language as in MLQA; none for fr (no list), hi, th.
ARTICLE_NORMALIZE = [
    ("en", "The Denver Broncos", ["denver", "broncos"]),
    ("en", "an apple a day", ["apple", "day"]),
    ("en", "theater", ["theater"]),  # not a prefix match
    ("de", "Die Mannschaft der Stadt", ["mannschaft", "stadt"]),
    ("de", "einem Haus, eines Tages", ["haus", "tages"]),
    ("de", "Einstein", ["einstein"]),
    ("es", "Los Ángeles", ["ángeles"]),
    ("es", "una casa y unas flores", ["casa", "y", "flores"]),
    ("es", "del río", ["del", "río"]),  # contractions are not articles in MLQA's list
    ("es", "El", []),
    ("fr", "le chat", ["le", "chat"]),
    ("en", "U.S. $5", ["us", "5"]),  # P* and ASCII symbols ($) removed
    ("de", "ＦＩＦＡ", ["fifa"]),  # NFKC: full-width letters
]


@pytest.mark.parametrize("text, expected", THAI_NORMALIZE)
def test_thai_normalize_gives_characters(text, expected):
    assert qa.normalize(text, "th") == expected


@pytest.mark.parametrize("text, expected", HINDI_NORMALIZE)
def test_hindi_normalize_keeps_combining_marks(text, expected):
    assert qa.normalize(text, "hi") == expected


@pytest.mark.parametrize("lang, text, expected", ARTICLE_NORMALIZE)
def test_articles_and_punctuation(lang, text, expected):
    assert qa.normalize(text, lang) == expected


def test_hindi_nukta_precomposed_or_not_is_the_same_word():
    precomposed, decomposed = "\u095e\u094b\u0928", "\u092b\u093c\u094b\u0928"  # फ़ोन written two ways
    assert unicodedata.name(precomposed[0]) == "DEVANAGARI LETTER FA"
    assert qa.normalize(precomposed, "hi") == qa.normalize(decomposed, "hi")


def test_unknown_language_is_a_clear_error():
    with pytest.raises(OctoglotError, match=r"qa: no normalization rules for language 'zh'"):
        qa.normalize("x", "zh")


# --- EM and F1 --------------------------------------------------------------------------------

# (prediction, gold, exact_match, f1)
THAI_SCORES = [
    ("กรุงเทพ", "กรุงเทพ", 1.0, 1.0),
    ("เชียงใหม่", "เชียง ใหม่", 1.0, 1.0),  # spacing does not matter in Thai
    ("๓๐๘", "308", 1.0, 1.0),
    # 7 chars, all in the 13 of กรุงเทพมหานคร: P = 1, R = 7/13, F1 = 2(7/13)/(20/13) = 14/20
    ("กรุงเทพ", "กรุงเทพมหานคร", 0.0, 0.7),
    # ทีม (3) in ทีมชาติ (7): P = 1, R = 3/7, F1 = (6/7)/(10/7) = 0.6
    ("ทีม", "ทีมชาติ", 0.0, 0.6),
    # "308 คะแนน" is 8 chars (3 0 8 ค ะ แ น น), 3 shared with "308": P = 3/8, R = 1, F1 = (6/8)/(11/8) = 6/11
    ("308 คะแนน", "308", 0.0, 6 / 11),
    # character overlap is lenient: แมว/หมา share only ม: P = R = 1/3
    ("แมว", "หมา", 0.0, 1 / 3),
    ("", "กรุงเทพ", 0.0, 0.0),
]

HINDI_SCORES = [
    ("भारत।", "भारत", 1.0, 1.0),
    ("३०८", "308", 1.0, 1.0),
    ("“नई दिल्ली”", "नई दिल्ली", 1.0, 1.0),
    # 2 tokens, 1 shared: P = 1/2, R = 1, F1 = 1/(3/2) = 2/3
    ("महात्मा गांधी", "गांधी", 0.0, 2 / 3),
    # P = 2/3, R = 1, F1 = (4/3)/(5/3) = 0.8
    ("नई दिल्ली में", "नई दिल्ली", 0.0, 0.8),
    # P = 1, R = 1/4, F1 = (1/2)/(5/4) = 0.4
    ("दिल्ली", "दिल्ली विश्वविद्यालय के छात्र", 0.0, 0.4),
    ("किताब", "किताबें", 0.0, 0.0),  # a different word form is a different token
    ("कि", "की", 0.0, 0.0),  # short i vs long i: matras are not stripped
]

LATIN_SCORES = [
    ("en", "the Broncos", "Broncos", 1.0, 1.0),
    # P = 1, R = 2/4, F1 = 1/(3/2) = 2/3
    ("en", "Denver Broncos", "Denver Broncos football team", 0.0, 2 / 3),
    ("de", "der Rhein", "Rhein", 1.0, 1.0),
    ("es", "la Universidad de Michigan", "Universidad de Michigan", 1.0, 1.0),
    ("en", "Chicago", "Denver", 0.0, 0.0),
    # both sides normalize to nothing: EM 1 and, by SQuAD v2's rule, F1 1
    ("en", "the", "a", 1.0, 1.0),
    ("en", "the", "Denver", 0.0, 0.0),
]


@pytest.mark.parametrize("prediction, gold, em, f1", THAI_SCORES)
def test_thai_em_and_f1(prediction, gold, em, f1):
    assert qa.exact_match(prediction, gold, "th") == em
    assert qa.f1_score(prediction, gold, "th") == pytest.approx(f1, abs=1e-12)


@pytest.mark.parametrize("prediction, gold, em, f1", HINDI_SCORES)
def test_hindi_em_and_f1(prediction, gold, em, f1):
    assert qa.exact_match(prediction, gold, "hi") == em
    assert qa.f1_score(prediction, gold, "hi") == pytest.approx(f1, abs=1e-12)


@pytest.mark.parametrize("lang, prediction, gold, em, f1", LATIN_SCORES)
def test_latin_em_and_f1(lang, prediction, gold, em, f1):
    assert qa.exact_match(prediction, gold, lang) == em
    assert qa.f1_score(prediction, gold, lang) == pytest.approx(f1, abs=1e-12)


def test_thai_is_not_tokenized_by_whitespace():
    # whitespace tokens would make these two "words" against one and give F1 0
    assert qa.f1_score("กรุงเทพ มหานคร", "กรุงเทพมหานคร", "th") == 1.0


# --- cleaning the response --------------------------------------------------------------------

# (response, answer words, cleaned)
CLEANING = [
    ("Answer: Denver Broncos", ("Answer",), "Denver Broncos"),
    ("answer : 308", ("Answer",), "308"),  # case-insensitive, space before the colon
    ("**Answer:** Denver", ("Answer",), "Denver"),
    ("Answer:\nDenver", ("Answer",), "Denver"),  # the prefix alone on the first line
    ("  \n\nDenver Broncos\nThey won.", ("Answer",), "Denver Broncos"),  # first non-empty line
    ('"Denver Broncos".', ("Answer",), "Denver Broncos"),  # quotes, then the full stop
    ('"Denver Broncos."', ("Answer",), "Denver Broncos"),
    ("Antwort: „Denver Broncos“", ("Antwort", "Answer"), "Denver Broncos"),
    ("Respuesta: «París»", ("Respuesta", "Answer"), "París"),
    ("उत्तर: भारत।", ("उत्तर", "Answer"), "भारत"),  # danda
    ("Answer: नई दिल्ली॥", ("उत्तर", "Answer"), "नई दिल्ली"),  # English prefix, double danda
    ("คำตอบ: กรุงเทพ", ("คำตอบ", "Answer"), "กรุงเทพ"),
    ("คำตอบ：“กรุงเทพ”", ("คำตอบ", "Answer"), "กรุงเทพ"),  # full-width colon
    ("Answer the question", ("Answer",), "Answer the question"),  # no colon: not a prefix
    ("Carolina Panthers'", ("Answer",), "Carolina Panthers'"),  # an apostrophe at one end only stays
    ("", ("Answer",), ""),
]


@pytest.mark.parametrize("response, words, cleaned", CLEANING)
def test_clean_response(response, words, cleaned):
    assert qa.clean_response(response, answer_words=words) == cleaned


# --- the builder ------------------------------------------------------------------------------

SQUAD = {
    "version": "1.1",
    "data": [
        {"title": "Rivers", "paragraphs": [
            {"context": "\ufeffThe Rhine flows through Basel. It is 1,230 km long.",
             "qas": [
                 {"id": "q-rhine-city", "question": " Which city does the Rhine flow through? ",
                  "answers": [{"text": "Basel", "answer_start": 24}, {"text": "Basel", "answer_start": 24},
                              {"text": "Basel, a city", "answer_start": 24}]},
                 {"id": "q-rhine-length", "question": "How long is the Rhine?",
                  "answers": [{"text": "1,230 km", "answer_start": 43}]},
             ]},
        ]},
        {"title": "Cats", "paragraphs": [
            {"context": "Cats sleep for most of the day.",
             "qas": [{"id": "q-cats", "question": "When do cats sleep?",
                      "answers": [{"text": "most of the day", "answer_start": 15}]}]},
        ]},
    ],
}

HUB_ROWS = [  # the same questions as google/xquad rows
    {"id": "q-rhine-city", "context": "\ufeffThe Rhine flows through Basel. It is 1,230 km long.",
     "question": " Which city does the Rhine flow through? ",
     "answers": {"text": ["Basel", "Basel", "Basel, a city"], "answer_start": [24, 24, 24]}},
    {"id": "q-rhine-length", "context": "\ufeffThe Rhine flows through Basel. It is 1,230 km long.",
     "question": "How long is the Rhine?", "answers": {"text": ["1,230 km"], "answer_start": [43]}},
    {"id": "q-cats", "context": "Cats sleep for most of the day.", "question": "When do cats sleep?",
     "answers": {"text": ["most of the day"], "answer_start": [15]}},
]


def local_rows() -> list[dict]:
    """The fixture as the data layer hands over a local SQuAD file: [the whole object]."""
    return data.parse_rows(json.dumps(SQUAD, ensure_ascii=False), "json", "xquad.en.json")


def test_builder_flattens_squad_json():
    samples = qa.xquad_samples(local_rows(), literals("en"), "en")
    assert [s.id for s in samples] == ["q-rhine-city", "q-rhine-length", "q-cats"]
    first = samples[0]
    assert first.prompt == (
        "Answer the question with a short span copied from the passage.\n\n"
        "Passage: The Rhine flows through Basel. It is 1,230 km long.\n\n"
        "Question: Which city does the Rhine flow through?\nAnswer:"
    )
    assert first.target == ("Basel", "Basel, a city")  # deduplicated, order kept
    assert (first.task, first.lang, first.answer_lang, first.choices) == ("xquad", "en", "en", ())
    assert all("\ufeff" not in s.prompt for s in samples)


def test_builder_gives_the_same_samples_from_hub_rows():
    assert qa.xquad_samples(HUB_ROWS, literals("en"), "en") == qa.xquad_samples(local_rows(), literals("en"), "en")


def test_prompt_is_in_the_target_language():
    (sample, *_) = qa.xquad_samples(local_rows(), literals("de"), "de")
    assert sample.prompt.startswith("Beantworte die Frage mit einem kurzen Textausschnitt aus dem Abschnitt.\n\n"
                                    "Abschnitt: The Rhine")
    assert "\n\nFrage: Which city" in sample.prompt and sample.prompt.endswith("\nAntwort:")


@pytest.mark.parametrize("lang", XQUAD_LANGS)
def test_every_xquad_pack_has_the_literals(lang):
    assert all(literals(lang)[name] for name in qa.XQUAD_LITERALS)


@pytest.mark.parametrize("row, problem", [
    ({"title": "x", "paragraphs": []}, "found keys title, paragraphs"),  # an article, not a file
    ({"id": "1", "question": "q"}, "found keys id, question"),
    ({"data": "oops"}, "'data' is not a list of articles"),
    ({"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": []}]}]}]}, "no field 'id'"),
    ("just text", "got a str"),
])
def test_rows_of_neither_shape_are_a_clear_error(row, problem):
    with pytest.raises(OctoglotError) as err:
        qa.xquad_samples([row], literals("de"), "de")
    message = str(err.value)
    assert message.startswith("xquad (de): row 1: expected SQuAD v1.1 JSON") and "hub row" in message
    assert message.endswith(problem) and "\n" not in message


def test_question_without_answers_and_duplicate_ids_are_errors():
    no_answer = dict(HUB_ROWS[2], answers={"text": [], "answer_start": []})
    with pytest.raises(OctoglotError, match=r"^xquad \(en\): question q-cats: no gold answer text$"):
        qa.xquad_samples([no_answer], literals("en"), "en")
    with pytest.raises(OctoglotError, match=r"^xquad \(en\): question id q-cats occurs twice$"):
        qa.xquad_samples([HUB_ROWS[2], HUB_ROWS[2]], literals("en"), "en")


# --- scoring a response -----------------------------------------------------------------------

def thai_sample(*golds: str) -> Sample:
    row = {"id": "t1", "context": "กรุงเทพมหานครเป็นเมืองหลวง", "question": "เมืองหลวงคืออะไร",
           "answers": {"text": list(golds), "answer_start": [0] * len(golds)}}
    (sample,) = qa.xquad_samples([row], literals("th"), "th")
    return sample


def hindi_sample(*golds: str) -> Sample:
    row = {"id": "h1", "context": "नई दिल्ली भारत की राजधानी है।", "question": "भारत की राजधानी क्या है?",
           "answers": {"text": list(golds), "answer_start": [0] * len(golds)}}
    (sample,) = qa.xquad_samples([row], literals("hi"), "hi")
    return sample


@pytest.mark.parametrize("sample, response, em, f1, extracted", [
    # best over the golds: the second one matches exactly
    (thai_sample("กรุงเทพมหานคร", "กรุงเทพ"), "คำตอบ: กรุงเทพ\nอื่น ๆ", 1.0, 1.0, "กรุงเทพ"),
    (thai_sample("กรุงเทพมหานคร"), "Answer: กรุงเทพ", 0.0, 0.7, "กรุงเทพ"),  # English prefix; F1 as above
    (hindi_sample("नई दिल्ली"), "उत्तर: “नई दिल्ली”।", 1.0, 1.0, "नई दिल्ली"),
    (hindi_sample("नई दिल्ली"), "नई दिल्ली में", 0.0, 0.8, "नई दिल्ली में"),
    (hindi_sample("नई दिल्ली"), "", 0.0, 0.0, ""),
])
def test_score(sample, response, em, f1, extracted):
    scored = qa.score(sample, response)
    metrics, answer = scored.metrics, scored.extracted
    assert set(metrics) == {"exact_match", "f1"}
    assert metrics["exact_match"] == em and metrics["f1"] == pytest.approx(f1, abs=1e-12)
    assert answer == extracted


def test_score_accepts_a_target_read_back_from_json():
    sample = hindi_sample("नई दिल्ली")
    reread = Sample(sample.id, sample.task, sample.lang, sample.prompt, target=list(sample.target))
    assert qa.score(reread, "नई दिल्ली").metrics["exact_match"] == 1.0


def test_gen_kwargs_greedy_one_line_with_room_for_short_token_scripts():
    en, hi, th = (gen_kwargs(Sample("1", "xquad", lang, "p")) for lang in ("en", "hi", "th"))
    for kwargs in (en, hi, th):
        assert kwargs["until"] == ["\n"] and kwargs["do_sample"] is False
    assert en["max_gen_toks"] < hi["max_gen_toks"] < th["max_gen_toks"]


# --- the real data ----------------------------------------------------------------------------

@needs_xquad
def test_real_xquad_files():
    ids = {}
    by_lang = {}
    for lang in XQUAD_LANGS:
        text = (XQUAD_DIR / f"xquad.{lang}.json").read_text(encoding="utf-8")
        samples = qa.xquad_samples(data.parse_rows(text, "json", f"xquad.{lang}.json"), literals(lang), lang)
        assert len(samples) == 1190, lang
        assert all("\ufeff" not in s.prompt for s in samples), lang
        ids[lang] = [s.id for s in samples]
        by_lang[lang] = samples
    assert all(set(ids[lang]) == set(ids["en"]) for lang in XQUAD_LANGS)
    for lang in ("th", "hi"):
        for sample in by_lang[lang]:
            gold = sample.target[0]
            assert qa.normalize(gold, lang), (lang, sample.id)
            metrics = qa.score(sample, gold).metrics
            assert metrics == {"exact_match": 1.0, "f1": 1.0}, (lang, sample.id, gold)
