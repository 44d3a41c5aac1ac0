"""Translation family: builders, cleaning, per-segment chrF++, corpus chrF++/BLEU, and parity with
sacrebleu's command line (self-authored lines always; the real FLORES references when present)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_DATA, gen_kwargs, needs
from harness.scoring.aggregate import unit_scores
from harness.tasks.registry import get_task
from sacrebleu.metrics import BLEU, CHRF

from harness.tasks import data, packs
from harness.core.errors import OctoglotError
from harness.tasks.families import translation as tr
from harness.core.languages import LANGUAGES
from harness.core.records import SampleResult

FLORES = SHARED_DATA / "flores200" / "devtest" if SHARED_DATA else None
needs_flores = needs(FLORES is None or not FLORES.is_dir(),
                     "the real FLORES-200 devtest is not found (../shared/data/flores200 or $OCTOGLOT_DATA)")

# Self-authored parallel lines (not benchmark data).
EN = ["The cat sat on the mat.", "It rained all day in the city.", "She bought three apples at the market."]
DE = ["Die Katze saß auf der Matte.", "In der Stadt regnete es den ganzen Tag.", "Sie kaufte drei Äpfel auf dem Markt."]
TH = ["แมวนั่งอยู่บนเสื่อ", "ฝนตกทั้งวันในเมือง", "เธอซื้อแอปเปิ้ลสามผลที่ตลาด"]


def rows(lines: list[str]) -> list[dict]:
    return data.parse_rows("\n".join(lines) + "\n", "text", "<test>")


def literals(lang: str) -> dict:
    return packs.load_pack(lang).literals


def results_for(samples, hypotheses) -> list[SampleResult]:
    """Records whose hypothesis is exactly ``h`` (no cleaning), with the per-segment statistics the scorer stores."""
    out = []
    for s, h in zip(samples, hypotheses):
        target = s.answer_lang or s.lang
        statistics = {name: tr.segment_statistics([h], [s.target], tr.make_metric(name, target))[0]
                      for name in tr.CORPUS_METRICS}
        out.append(SampleResult(s.id, s.prompt_hash, s.target, response=h, extracted=h, statistics=statistics))
    return out


def corpus(samples, results) -> list[dict]:
    """The unit's corpus score rows, as ``harness.scoring.aggregate`` writes them into results.json."""
    task = get_task(samples[0].task)
    return [row for row in unit_scores(task, samples[0].lang, samples, results) if row["kind"] == "corpus"]


# --- builders ------------------------------------------------------------------------------------

def test_en_xx_prompt_is_in_the_target_language():
    samples = tr.flores_en_xx_samples(rows(EN), literals("de"), "de", {"reference": rows(DE)})
    assert samples[0].prompt == ("Übersetze den folgenden Satz vom Englischen ins Deutsche.\n"
                                 "Englisch: The cat sat on the mat.\nDeutsch:")
    assert [(s.id, s.task, s.lang, s.answer_lang) for s in samples] == [
        (str(i), "flores_en_xx", "de", "de") for i in (1, 2, 3)]
    assert [s.target for s in samples] == DE


def test_xx_en_prompt_keeps_the_instruction_in_the_pack_language():
    (first, *_) = tr.flores_xx_en_samples(rows(DE), literals("de"), "de", {"reference": rows(EN)})
    assert first.prompt == ("Übersetze den folgenden Satz vom Deutschen ins Englische.\n"
                            "Deutsch: Die Katze saß auf der Matte.\nEnglisch:")
    assert (first.task, first.answer_lang, first.target) == ("flores_xx_en", "en", EN[0])


def test_thai_prompt_uses_thai_words():
    lit = literals("th")
    (first, *_) = tr.ntrex_en_xx_samples(rows(EN), lit, "th", {"reference": rows(TH)})
    assert first.prompt == f"{lit['translate_en_xx']}\n{lit['name_english']}: {EN[0]}\n{lit['name_native']}:"
    assert first.prompt.endswith("\nภาษาไทย:") and first.task == "ntrex_en_xx" and first.answer_lang == "th"


def test_ids_are_line_numbers_shared_across_languages():
    de = tr.flores_en_xx_samples(rows(EN), literals("de"), "de", {"reference": rows(DE)})
    th = tr.flores_en_xx_samples(rows(EN), literals("th"), "th", {"reference": rows(TH)})
    back = tr.flores_xx_en_samples(rows(TH), literals("th"), "th", {"reference": rows(EN)})
    assert [s.id for s in de] == [s.id for s in th] == [s.id for s in back] == ["1", "2", "3"]
    assert de[0].prompt_hash != th[0].prompt_hash


def test_whitespace_around_lines_is_stripped():
    (s,) = tr.flores_en_xx_samples(rows(["  Hi. "]), literals("de"), "de", {"reference": rows(["Hallo. "])})
    assert s.prompt.endswith("Englisch: Hi.\nDeutsch:") and s.target == "Hallo."


@pytest.mark.parametrize("builder, task", [(tr.flores_en_xx_samples, "flores_en_xx"),
                                           (tr.flores_xx_en_samples, "flores_xx_en"),
                                           (tr.ntrex_en_xx_samples, "ntrex_en_xx")])
@pytest.mark.parametrize("extras, message", [
    ({}, r"\(de\): no reference translations; .*--data-dir"),
    (None, r"\(de\): no reference translations"),
    ({"reference": rows(DE[:2])}, r"\(de\): 3 source lines but 2 reference lines"),
])
def test_missing_or_misaligned_reference_is_a_one_line_error(builder, task, extras, message):
    with pytest.raises(OctoglotError, match=rf"^{task} {message}") as info:
        builder(rows(EN), literals("de"), "de", extras)
    assert "\n" not in str(info.value)


def test_empty_line_is_an_error_naming_it():
    with pytest.raises(OctoglotError, match=r"flores_en_xx \(de\): line 2: empty reference line"):
        tr.flores_en_xx_samples(rows(EN), literals("de"), "de", {"reference": rows([DE[0], " ", DE[2]])})


def test_english_is_not_a_target():
    with pytest.raises(OctoglotError, match=r"flores_en_xx \(en\): English is the pivot"):
        tr.flores_en_xx_samples(rows(EN), {}, "en", {"reference": rows(EN)})


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_every_pack_defines_the_translation_literals(lang):
    pack = packs.load_pack(lang)
    for names in (tr.FLORES_EN_XX_LITERALS, tr.FLORES_XX_EN_LITERALS, tr.NTREX_EN_XX_LITERALS):
        assert all(packs.require_literals(pack, names, f"langs/{lang}/pack.yaml", "flores").values())


# --- generation and per-segment scoring ----------------------------------------------------------

@pytest.mark.parametrize("lang, into_english, budget", [
    ("de", False, 160), ("fr", False, 160), ("hi", False, 384), ("th", False, 512),
    ("th", True, 160), ("hi", True, 160),  # into English: a Latin target
])
def test_generation_budget_follows_the_target_script(lang, into_english, budget):
    build = tr.flores_xx_en_samples if into_english else tr.flores_en_xx_samples
    (s, *_) = build(rows(EN), literals(lang), lang, {"reference": rows(DE)})
    assert gen_kwargs(s) == {"until": ["\n"], "max_gen_toks": budget, "do_sample": False}


@pytest.mark.parametrize("response, expected", [
    (" Die Katze saß auf der Matte. ", "Die Katze saß auf der Matte."),
    ("\n\n  Hallo Welt.\nEnglisch: Hello world.", "Hallo Welt."),  # first non-empty line only
    ('"Hallo Welt."', "Hallo Welt."),
    ("„Hallo Welt.“", "Hallo Welt."),
    ("« Bonjour le monde. »", "Bonjour le monde."),
    ("“แมวนั่งอยู่บนเสื่อ”", "แมวนั่งอยู่บนเสื่อ"),
    ("'Ciao.'", "Ciao."),
    # negative cases: quotes that belong to the sentence stay
    ('"Ja", sagte er, "gut"', '"Ja", sagte er, "gut"'),
    ('Er sagte: "Ja."', 'Er sagte: "Ja."'),
    ('"Ja," sagte er.', '"Ja," sagte er.'),
    ('"', '"'),
    ("", ""),
    ("  \n \n", ""),
])
def test_clean_hypothesis(response, expected):
    assert tr.clean_hypothesis(response) == expected


def test_score_is_sentence_chrf_plus_plus_of_the_cleaned_answer():
    (s, *_) = tr.flores_en_xx_samples(rows(EN), literals("de"), "de", {"reference": rows(DE)})
    scored = tr.score(s, ' "Die Katze sass auf einer Matte."\nmehr')
    metrics, extracted = scored.metrics, scored.extracted
    assert extracted == "Die Katze sass auf einer Matte."
    expected = CHRF(word_order=2).sentence_score(extracted, [DE[0]]).score
    assert metrics == {"chrf": pytest.approx(expected, abs=1e-12)} and 20 < metrics["chrf"] < 100
    assert (tr.score(s, DE[0]).metrics, tr.score(s, DE[0]).extracted) == ({"chrf": 100.0}, DE[0])
    assert (tr.score(s, "").metrics, tr.score(s, "").extracted) == ({"chrf": 0.0}, "")


# --- corpus scores -------------------------------------------------------------------------------

def test_bleu_tokenizer_by_language():
    assert {code: tr.bleu_tokenizer(code) for code in LANGUAGES} == {
        "en": "13a", "de": "13a", "fr": "13a", "it": "13a", "pt": "13a", "hi": "13a", "es": "13a", "th": "char"}


# Golden case for the Thai choice: a hypothesis that drops two words of its reference.
THAI_REF = "แมวนั่งอยู่บนเสื่อ ส่วนสุนัขนอนหลับอยู่ใต้โต๊ะในห้องครัว"
THAI_HYP = "แมวนั่งบนเสื่อ ส่วนสุนัขนอนหลับใต้โต๊ะในห้องครัว"


@pytest.mark.parametrize("tokenize, low, high", [("13a", 0.0, 0.0), ("intl", 0.0, 0.0), ("char", 70.0, 90.0)])
def test_thai_bleu_needs_the_char_tokenizer(tokenize, low, high):
    value = BLEU(tokenize=tokenize).corpus_score([THAI_HYP], [[THAI_REF]]).score
    assert low <= value <= high


def test_corpus_rows_and_thai_bleu_above_zero():
    samples = tr.flores_en_xx_samples(rows(["x"]), literals("th"), "th", {"reference": rows([THAI_REF])})
    rows_out = corpus(samples, results_for(samples, [THAI_HYP]))
    assert [r["metric"] for r in rows_out] == ["chrf++", "bleu"]
    bleu = rows_out[1]
    assert bleu["value"] > 70 and bleu["n"] == 1 and bleu["stderr"] == 0.0  # one segment: no spread
    assert bleu["signature"] == "nrefs:1|case:mixed|eff:no|tok:char|smooth:exp|version:2.6.0"
    assert rows_out[0]["signature"] == "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"


def test_corpus_is_not_the_mean_of_sentence_scores():
    samples = tr.flores_en_xx_samples(rows(EN), literals("de"), "de", {"reference": rows(DE)})
    hyps = ["Die Katze sass auf der Matte.", "Es regnete.", DE[2]]
    chrf_row, bleu_row = corpus(samples, results_for(samples, hyps))
    assert chrf_row["value"] == pytest.approx(CHRF(word_order=2).corpus_score(hyps, [DE]).score, abs=1e-12)
    assert bleu_row["value"] == pytest.approx(BLEU().corpus_score(hyps, [DE]).score, abs=1e-12)
    assert bleu_row["signature"].split("|")[3] == "tok:13a" and chrf_row["n"] == 3


def test_corpus_cleans_a_stored_response_without_extracted():
    samples = tr.flores_en_xx_samples(rows(EN[:1]), literals("de"), "de", {"reference": rows(DE[:1])})
    response = f'"{DE[0]}"\nmore'
    scored = tr.score(samples[0], response)  # the scorer cleans the response before its statistics
    result = SampleResult("1", samples[0].prompt_hash, DE[0], response=response, extracted=scored.extracted,
                          statistics=scored.statistics)
    assert corpus(samples, [result])[0]["value"] == 100.0


@pytest.mark.parametrize("name, lang", [("chrf++", "de"), ("bleu", "de"), ("chrf++", "th"), ("bleu", "th")])
def test_summed_segment_statistics_give_the_corpus_score(name, lang):
    refs = DE if lang == "de" else TH
    hyps = [refs[0], refs[1][: len(refs[1]) // 2], ""]
    stats = tr.segment_statistics(hyps, refs, tr.make_metric(name, lang))
    assert len(stats) == 3
    expected = tr.make_metric(name, lang).corpus_score(hyps, [refs]).score
    assert tr.score_from_statistics(stats, tr.make_metric(name, lang)).score == pytest.approx(expected, abs=1e-12)
    # and for a subset, as a bootstrap resample would use it (segment 0 twice, segment 2 once)
    subset = tr.score_from_statistics([stats[0], stats[0], stats[2]], tr.make_metric(name, lang)).score
    direct = tr.make_metric(name, lang).corpus_score([hyps[0], hyps[0], hyps[2]], [[refs[0], refs[0], refs[2]]]).score
    assert subset == pytest.approx(direct, abs=1e-12)


def test_unknown_metric_and_misaligned_statistics_are_errors():
    with pytest.raises(OctoglotError, match="unknown corpus metric 'ter'"):
        tr.make_metric("ter", "de")
    with pytest.raises(OctoglotError, match="2 hypotheses but 1 references"):
        tr.segment_statistics(["a", "b"], ["a"], tr.make_metric("bleu", "de"))


# --- parity with sacrebleu's command line --------------------------------------------------------

def sacrebleu_cli() -> list[str]:
    script = shutil.which("sacrebleu", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "sacrebleu"]


def cli_scores(tmp_path: Path, hypotheses: list[str], references: list[str], tokenize: str) -> dict[str, dict]:
    ref, hyp = tmp_path / "ref.txt", tmp_path / "hyp.txt"
    ref.write_text("".join(line + "\n" for line in references), encoding="utf-8")
    hyp.write_text("".join(line + "\n" for line in hypotheses), encoding="utf-8")
    out = {}
    for metric, options in (("chrf++", ["-m", "chrf", "--chrf-word-order", "2"]),
                            ("bleu", ["-m", "bleu", "--tokenize", tokenize])):
        done = subprocess.run([*sacrebleu_cli(), str(ref), "-i", str(hyp), *options, "--width", "16", "-f", "json"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        out[metric] = json.loads(done.stdout)
    return out


def assert_parity(tmp_path, samples, hypotheses, lang):
    ours = {row["metric"]: row for row in corpus(samples, results_for(samples, hypotheses))}
    theirs = cli_scores(tmp_path, hypotheses, [s.target for s in samples], tr.bleu_tokenizer(lang))
    for metric in ("chrf++", "bleu"):
        assert ours[metric]["value"] == pytest.approx(theirs[metric]["score"], abs=1e-9), metric
        assert ours[metric]["signature"] == theirs[metric]["signature"], metric
        assert ours[metric]["n"] == len(samples)
    return ours


def perturb(line: str, i: int, lang: str) -> str:
    """A deterministic imperfect translation of a reference line (five kinds, by line number)."""
    words = line.split()
    kind = i % 5
    if kind == 0:
        return line
    if kind == 1:  # drop the last word (Thai: the last quarter of the characters)
        return " ".join(words[:-1]) if len(words) > 1 else line[: max(1, 3 * len(line) // 4)]
    if kind == 2:  # swap the first two words (Thai: rotate the characters)
        return " ".join([words[1], words[0], *words[2:]]) if len(words) > 1 else line[5:] + line[:5]
    if kind == 3:
        return line.lower() if lang != "th" else line.replace("ที่", "ซึ่ง")
    return ""  # an empty answer


@pytest.mark.parametrize("lang, refs", [("de", DE), ("th", TH)])
def test_parity_with_sacrebleu_cli_on_self_authored_lines(tmp_path, lang, refs):
    samples = tr.flores_en_xx_samples(rows(EN), literals(lang), lang, {"reference": rows(refs)})
    hyps = [perturb(line, i, lang) for i, line in enumerate(refs, 1)]
    ours = assert_parity(tmp_path, samples, hyps, lang)
    assert 0 < ours["chrf++"]["value"] < 100


@needs_flores
@pytest.mark.parametrize("lang", ["de", "th"])
def test_parity_with_sacrebleu_cli_on_flores_references(tmp_path, lang):
    read = lambda code: data.parse_rows((FLORES / f"{code}.devtest").read_text(encoding="utf-8"), "text", code)
    samples = tr.flores_en_xx_samples(read("eng_Latn"), literals(lang), lang,
                                      {"reference": read(LANGUAGES[lang].flores)})
    assert len(samples) == 1012 and samples[-1].id == "1012"
    hyps = [perturb(s.target, i, lang) for i, s in enumerate(samples, 1)]
    ours = assert_parity(tmp_path, samples, hyps, lang)
    assert 30 < ours["bleu"]["value"] < 100 and 30 < ours["chrf++"]["value"] < 100
