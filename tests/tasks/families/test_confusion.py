"""Language Confusion Benchmark family: merging the files of a language, and the line-level pass."""

from __future__ import annotations

import pytest

from conftest import SHARED_DATA, gen_kwargs, needs
from harness.tasks.registry import get_task
from harness.core import langid
from harness.core.errors import OctoglotError
from harness.tasks.families import confusion
from harness.core.records import Sample


@pytest.fixture(autouse=True)
def default_detector(monkeypatch):
    monkeypatch.delenv(langid.ENV_VAR, raising=False)
    langid.set_detector(None)


def mono(prompt: str, lang: str = "de", source: str = "okapi") -> dict:
    return {"prompt": prompt, "source": source, "language": lang}


def cross(prompt: str, lang: str = "de", source: str = "sharegpt") -> dict:
    return {"prompt": prompt, "location": "Start", "phrasing": "reply in {language_requested}", "language": lang,
            "source": source}


MAIN = [mono("Erkläre mir bitte kurz,\nwie ein Regenbogen entsteht.  "), mono("Nenne drei Vögel.")]
EXTRAS = {
    "crosslingual/sharegpt": [cross("Reply in German. What is a good name for a cat?")],
    "monolingual/aya": [mono("Was ist ein Haiku?", source="aya_human_annotated")],
}


# --- builder -------------------------------------------------------------------------------------

def test_builder_merges_main_and_extras_with_stable_ids():
    samples = confusion.lcb_samples(MAIN, {}, "de", EXTRAS)
    assert [s.id for s in samples] == ["monolingual/okapi:1", "monolingual/okapi:2", "crosslingual/sharegpt:1",
                                       "monolingual/aya:1"]
    assert samples[0].prompt == MAIN[0]["prompt"]  # unchanged: inner newline and trailing spaces kept
    assert {(s.task, s.lang, s.target, s.answer_lang) for s in samples} == {("lcb", "de", "de", "de")}
    again = confusion.lcb_samples(MAIN, {}, "de", dict(reversed(EXTRAS.items())))
    assert [(s.id, s.prompt_hash) for s in again] == [(s.id, s.prompt_hash) for s in samples]


def test_ids_do_not_depend_on_which_file_is_local():
    a = confusion.lcb_samples(MAIN, {}, "de", EXTRAS)
    b = confusion.lcb_samples(EXTRAS["crosslingual/sharegpt"], {}, "de",
                              {"monolingual/okapi": MAIN, "monolingual/aya": EXTRAS["monolingual/aya"]})
    assert {(s.id, s.prompt) for s in a} == {(s.id, s.prompt) for s in b}


def test_template_literals_and_generation_settings():
    task = get_task("lcb")
    assert task.kind == "generate" and task.family == "harness.tasks.families.confusion"
    assert task.literals == () and task.template == confusion.LCB_TEMPLATE == "{prompt}"
    sample = confusion.lcb_samples(MAIN, {}, "de", {})[0]
    assert gen_kwargs(sample) == {"until": [], "max_gen_toks": 100, "do_sample": False}


@pytest.mark.parametrize("rows, extras, message", [
    ([mono("Hallo?", lang="fr")], {}, r"lcb \(de\): main row 1: language column is 'fr', expected 'de'"),
    (MAIN, {"crosslingual/okapi": [cross("Reply in German.", lang="es", source="okapi")]},
     r"crosslingual/okapi row 1: language column is 'es'"),
    (MAIN, {"monolingual/okapi": MAIN}, r"roles 'main' and 'monolingual/okapi' both hold monolingual/okapi rows"),
    (MAIN, {"crosslingual/okapi": [cross("Reply in German. Hi")]}, r"role 'crosslingual/okapi' points at a file "
                                                                   r"of crosslingual/sharegpt rows"),
    (MAIN + [cross("Reply in German. Hi")], {}, r"main row 3: a crosslingual/sharegpt row in a monolingual/okapi"),
    ([mono("  ")], {}, r"main row 1: empty prompt"),
    (MAIN, {"crosslingual/okapi": []}, r"role 'crosslingual/okapi' has no rows"),
])
def test_builder_refuses_inconsistent_files(rows, extras, message):
    with pytest.raises(OctoglotError, match=message):
        confusion.lcb_samples(rows, {}, "de", extras)


LCB = SHARED_DATA / "language_confusion" / "test_sets" if SHARED_DATA else None


def load_lcb(lang: str) -> list[Sample]:
    from harness.tasks.data import parse_rows

    files = sorted(LCB.glob(f"*/*/{lang}.csv"))
    rows = {str(f.parent.relative_to(LCB)): parse_rows(f.read_text(encoding="utf-8"), "csv", str(f)) for f in files}
    main = rows.pop("monolingual/okapi")
    return confusion.lcb_samples(main, {}, lang, rows)


@needs(LCB is None or not LCB.is_dir(),
       "the Language Confusion Benchmark is not found (../shared/data/language_confusion or $OCTOGLOT_DATA)")
@pytest.mark.parametrize("lang, mono_n, cross_n", [("de", 100, 299), ("en", 200, 0)])
def test_real_files_load(lang, mono_n, cross_n):
    samples = load_lcb(lang)
    assert len({s.id for s in samples}) == len(samples) == mono_n + cross_n
    assert sum(s.id.startswith("crosslingual/") for s in samples) == cross_n
    assert all(s.prompt.strip() and s.answer_lang == lang for s in samples)
    if cross_n:
        first = next(s for s in samples if s.id == "crosslingual/okapi:1")
        assert "German" in first.prompt  # the English instruction names the language to answer in


# --- scorer --------------------------------------------------------------------------------------

DE = Sample("monolingual/okapi:1", "lcb", "de", "…", target="de", answer_lang="de")
DE_CROSS = Sample("crosslingual/sharegpt:1", "lcb", "de", "…", target="de", answer_lang="de")
HI = Sample("monolingual/dolly:1", "lcb", "hi", "…", target="hi", answer_lang="hi")
EN = Sample("monolingual/aya:1", "lcb", "en", "…", target="en", answer_lang="en")

GERMAN_1 = "Ein Regenbogen entsteht, wenn Sonnenlicht in Regentropfen gebrochen wird."
GERMAN_2 = "Dabei wird das weiße Licht in seine einzelnen Farben zerlegt."
ENGLISH = "This is the part of the answer that the model wrote in English."
HINDI_1 = "इंद्रधनुष तब बनता है जब सूरज की रोशनी बारिश की बूंदों से होकर गुजरती है।"
HINDI_2 = "इस दौरान सफेद रोशनी अपने अलग-अलग रंगों में बंट जाती है।"

# (sample, response, expected metrics, expected per-line languages)
CASES = [
    (DE, f"{GERMAN_1}\n\n{GERMAN_2}", {"lpr": 1.0, "lpr_mono": 1.0, "line_acc": 1.0}, "de,de"),
    (DE, f"{GERMAN_1}\n{ENGLISH}\n{GERMAN_2}", {"lpr": 0.0, "lpr_mono": 0.0, "line_acc": 2 / 3}, "de,en,de"),
    (DE_CROSS, f"{ENGLISH}\n{GERMAN_1}", {"lpr": 0.0, "lpr_cross": 0.0, "line_acc": 0.5}, "en,de"),
    (DE_CROSS, f"{GERMAN_1}", {"lpr": 1.0, "lpr_cross": 1.0, "line_acc": 1.0}, "de"),
    # short lines (< 5 words after punctuation is removed) are not judged: "Sure, here it is:" passes
    (DE, f"Sure, here it is:\n{GERMAN_1}\n- - - - - - -\n**Fazit:** gut.", {"lpr": 1.0, "lpr_mono": 1.0,
                                                                          "line_acc": 1.0}, "de"),
    # a base model that goes on to ask a new question: everything from "\nQ:" on is cut
    (DE, f"{GERMAN_1}\nQ: {ENGLISH}", {"lpr": 1.0, "lpr_mono": 1.0, "line_acc": 1.0}, "de"),
    (HI, f"{HINDI_1}\n{HINDI_2}", {"lpr": 1.0, "lpr_mono": 1.0, "line_acc": 1.0}, "hi,hi"),
    (HI, f"{HINDI_1}\n{ENGLISH}", {"lpr": 0.0, "lpr_mono": 0.0, "line_acc": 0.5}, "hi,en"),
    (EN, f"{ENGLISH}\nA second line, also written in plain English words.", {"lpr": 1.0, "lpr_mono": 1.0,
                                                                               "line_acc": 1.0}, "en,en"),
    (EN, f"{ENGLISH}\n{GERMAN_2}", {"lpr": 0.0, "lpr_mono": 0.0, "line_acc": 0.5}, "en,de"),
]


@pytest.mark.parametrize("sample, response, metrics, lines", CASES)
def test_line_level_pass(sample, response, metrics, lines):
    scored = confusion.score(sample, response)
    assert (scored.metrics, scored.extracted) == (metrics, lines)


@pytest.mark.parametrize("response", ["", "   ", "Ja.", "Gerne!\nHier:\n1. Apfel\n2. Birne", "!!! ??? ... ---"])
def test_responses_without_a_long_line_are_not_scored(response):
    scored = confusion.score(DE, response)
    metrics, note = scored.metrics, scored.extracted
    assert metrics == {} and note.startswith("not scored")


def test_normalize_follows_the_paper():
    assert confusion.normalize("  Hallo, Welt! #Titel — gut.\nQ: next") == "Hallo Welt Titel   gut"
    assert confusion.scored_lines("eins zwei drei vier\neins, zwei, drei, vier, fünf.") == ["eins zwei drei vier fünf"]
