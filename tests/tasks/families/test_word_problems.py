import pytest

from conftest import SHARED_DATA, needs_data, gen_kwargs
from harness.tasks import data, packs
from harness.core.errors import OctoglotError
from harness.tasks.families import word_problems as math

EXEMPLARS = {"MGSM_EXEMPLARS": {lang: {str(i): {"q": f"Q{i}: question {i}?", "a": f"A{i}: ..."} for i in range(1, 9)}
                                for lang in ("de", "th")},
             "EXEMPLAR_NUMBER_ANSWERS": [11, 29, 39, 9, 33, 8, 8, 5]}


def literals(code: str) -> dict:
    return packs.load_pack(code).literals


def test_cot_prompt_is_the_native_instruction_then_the_question():
    (sample,) = math.mgsm_samples([{"question": "Wie viel ist 2 + 2?", "answer_number": "4"}], literals("de"), "de")
    assert sample.prompt.startswith("Löse dieses Mathematikproblem.") and sample.prompt.endswith("\n\nWie viel ist 2 + 2?")
    assert '"Antwort:"' in sample.prompt
    assert sample.target == "4" and sample.answer_lang == "de" and sample.id == "1"
    assert gen_kwargs(sample)["until"] == []  # no newline stop: the reasoning spans lines


def test_direct_prompt_has_native_exemplars_and_numeric_answers():
    (sample,) = math.mgsm_direct_samples([{"question": "Was ist 3 mal 3?", "answer_number": "9"}], literals("de"),
                                         "de", {"exemplars": [EXEMPLARS]})
    assert sample.prompt.startswith("Frage: question 1?\nAntwort: 11\n\nFrage: question 2?\nAntwort: 29\n\n")
    assert sample.prompt.count("Frage:") == math.DIRECT_SHOTS + 1
    assert sample.prompt.endswith("Frage: Was ist 3 mal 3?\nAntwort:")
    assert gen_kwargs(sample)["until"] == ["\n"]


def test_direct_needs_the_exemplars_file():
    with pytest.raises(OctoglotError, match=r"mgsm_direct \(de\): needs the exemplars file"):
        math.mgsm_direct_samples([{"question": "x", "answer_number": "1"}], literals("de"), "de", {})


@pytest.mark.parametrize("lang, response, target, em", [
    ("de", "Sie hat 16 - 3 - 4 = 9 Eier.\nAntwort: 18", "18", 1.0),
    ("th", "ดังนั้น ๑๘\nคำตอบ: ๑๘", "18", 1.0),
    ("fr", "Réponse : 2,5", "2.5", 1.0),
    ("en", "Answer: 1,234", "1234", 1.0),
    ("de", "Antwort: 17", "18", 0.0),
    ("en", "I do not know.", "18", 0.0),
])
def test_scoring_extracts_the_final_number(lang, response, target, em):
    (sample,) = math.mgsm_samples([{"question": "q", "answer_number": target}], literals(lang), lang)
    scored = math.score(sample, response)
    metrics, extracted = scored.metrics, scored.extracted
    assert metrics == {"exact_match": em}
    if em:
        assert extracted == target


def test_gold_must_be_a_number():
    with pytest.raises(OctoglotError, match=r"mgsm \(en\): row 1: answer_number 'many' is not a number"):
        math.mgsm_samples([{"question": "q", "answer_number": "many"}], literals("en"), "en")


@needs_data
@pytest.mark.parametrize("lang", ["en", "de", "fr", "es", "th"])
def test_real_mgsm_files_and_exemplars(lang):
    pack = packs.load_pack(lang)
    root = data.DataDir(SHARED_DATA, "x")
    rows = data.read_local(root, pack.tasks["mgsm"].local, math.MGSM_COLUMNS).rows
    extras = {k: v.rows for k, v in data.load_extras(pack.tasks["mgsm_direct"], root).items()}
    cot = math.mgsm_samples(rows, pack.literals, lang)
    direct = math.mgsm_direct_samples(rows, pack.literals, lang, extras)
    assert len(cot) == len(direct) == 250
    assert [s.target for s in cot] == [s.target for s in direct]
    assert cot[0].target == "18"  # Janet's ducks, in every language
