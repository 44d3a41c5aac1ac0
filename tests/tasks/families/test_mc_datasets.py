"""Dataset adapters of the multiple-choice family on self-authored rows in the upstream schemas."""

import json

import pytest

from conftest import FIXTURES, SHARED_DATA, needs_data
from harness.tasks import data, packs
from harness.core.errors import OctoglotError
from harness.tasks.families import multiple_choice as mc

HUB = FIXTURES / "hub"


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (HUB / name).read_text(encoding="utf-8").splitlines()]


def literals(code: str) -> dict:
    return packs.load_pack(code).literals


def test_belebele_lettered_prompt_in_german():
    first, second = mc.belebele_samples(rows("belebele.de.jsonl"), literals("de"), "de")
    assert first.prompt.startswith("Das Fahrrad wurde im 19. Jahrhundert erfunden.")
    assert "\nFrage: Was fehlte den ersten Fahrrädern?\nA. Räder\nB. Pedale\nC. Ein Sattel\nD. Ein Lenker\nAntwort:" \
        in first.prompt
    assert first.choices == (" A", " B", " C", " D") and first.target == 1 and second.target == 2
    assert first.id != second.id


def test_global_mmlu_in_hindi_and_bad_answer_letter():
    first, second = mc.global_mmlu_samples(rows("global_mmlu.hi.jsonl"), literals("hi"), "hi")
    assert first.prompt.startswith("प्रश्न: पृथ्वी") and first.prompt.endswith("\nउत्तर:")
    assert (first.target, second.target) == (2, 0) and first.id == "astronomy/test/0"
    bad = dict(rows("global_mmlu.hi.jsonl")[0], answer="E")
    with pytest.raises(OctoglotError, match=r"global_mmlu \(hi\): item astronomy/test/0: answer must be A-D"):
        mc.global_mmlu_samples([bad], literals("hi"), "hi")


def test_xnli_whole_sentence_options_in_thai():
    samples = mc.xnli_samples(rows("xnli.th.jsonl"), literals("th"), "th")
    assert [s.target for s in samples] == [0, 1, 2]
    first = samples[0]
    assert first.prompt == ""  # the whole sentence is scored
    assert first.choices == ("เขาเดินไปโรงเรียนทุกวัน, ถูกต้อง? ใช่, เขาไปโรงเรียน",
                             "เขาเดินไปโรงเรียนทุกวัน, ถูกต้อง? ดังนั้น, เขาไปโรงเรียน",
                             "เขาเดินไปโรงเรียนทุกวัน, ถูกต้อง? ไม่, เขาไปโรงเรียน")
    assert first.loglikelihood_requests() == [("", c) for c in first.choices]


def test_xwinograd_hub_rows_partial_scoring():
    first, second = mc.xwinograd_samples(rows("xwinograd.pt.jsonl"), {}, "pt")
    assert first.contexts == ("O troféu não cabe na mala porque o troféu", "O troféu não cabe na mala porque a mala")
    assert first.choices == (" é grande demais.", " é grande demais.")
    assert first.loglikelihood_requests() == list(zip(first.contexts, first.choices))
    assert (first.target, second.target) == (0, 1)


def test_xwinograd_upstream_tsv_row():
    row = {"lang": "fr", "type": "original", "note": "?",
           "sentence": "La coupe n'entre pas dans la valise, car elle est trop grande.",
           "tokens": json.dumps(["La", "coupe", "n'entre", "pas", "dans", "la", "valise", ",", "car", "elle", "est",
                                 "trop", "grande", "."]),
           "pronoun": json.dumps(["elle", [9, 10], ["elle"]]),
           "candidates": json.dumps([["La coupe", [0, 2], ["La", "coupe"], True],
                                     ["la valise", [5, 7], ["la", "valise"], False]])}
    (sample,) = mc.xwinograd_samples([row, dict(row, lang="jp")], {}, "fr")
    assert sample.contexts == ("La coupe n'entre pas dans la valise, car La coupe",
                               "La coupe n'entre pas dans la valise, car la valise")
    assert sample.choices[0] == " est trop grande." and sample.target == 0
    with pytest.raises(OctoglotError, match=r"xwinograd \(pt\): no rows for language 'pt'"):
        mc.xwinograd_samples([row], {}, "pt")


@pytest.mark.parametrize("lang, premise, kind, prompt", [
    ("it", "L'uomo aprì il rubinetto.", "effect", "L'uomo aprì il rubinetto quindi"),
    ("it", "La ragazza trovò un insetto.", "cause", "La ragazza trovò un insetto perché"),
    # Thai sentences end without a full stop: nothing is cut off
    ("th", "ผู้ชายเปิดก๊อกน้ำ", "effect", "ผู้ชายเปิดก๊อกน้ำ ดังนั้น"),
])
def test_xcopa_connector_in_the_target_language(lang, premise, kind, prompt):
    row = {"premise": premise, "choice1": "Il lavandino si riempì.", "choice2": "Xyz.", "question": kind,
           "label": 1, "idx": 7}
    (sample,) = mc.xcopa_samples([row], literals(lang), lang)
    assert sample.prompt == prompt and sample.id == "7" and sample.target == 1
    assert sample.choices[0] == " il lavandino si riempì."


def test_xcopa_bad_question_kind():
    with pytest.raises(OctoglotError, match="question must be 'cause' or 'effect'"):
        mc.xcopa_samples([{"premise": "x", "choice1": "a", "choice2": "b", "question": "why", "label": 0}],
                         literals("it"), "it")


@needs_data
@pytest.mark.parametrize("task, lang, count", [("xcopa", "it", 500), ("xcopa", "th", 500), ("xwinograd", "en", 2325),
                                               ("xwinograd", "fr", 83), ("xwinograd", "pt", 263)])
def test_real_files_load_through_the_packs(task, lang, count):
    from harness.tasks.registry import all_tasks

    TASKS = all_tasks()
    pack = packs.load_pack(lang)
    entry = pack.tasks[task]
    loaded = data.read_local(data.DataDir(SHARED_DATA, "x"), entry.local, TASKS[task].columns)
    samples = TASKS[task].build(loaded.rows, pack.literals, lang, {})
    assert len(samples) == count and len({s.id for s in samples}) == count
    assert all(0 <= s.target < len(s.choices) for s in samples)
