"""Machine translation: generation, scored with sacrebleu (chrF++ and BLEU).

Tasks (all line-aligned plain-text files; sample ids are 1-based line numbers, shared across
languages, so every ``flores_*`` item is parallel):

- ``flores_en_xx``: FLORES-200 devtest, English -> the pack's language.
- ``flores_xx_en``: FLORES-200 devtest, the pack's language -> English.
- ``ntrex_en_xx``: NTREX-128 (newstest2019 sources), English -> the pack's language.

The prompt is written in the pack's (non-English) language whichever way the translation goes:
its instruction (``translate_en_xx`` / ``translate_xx_en``), then the source line labelled with
the source language's name and the target language's name as the cue, both named in the pack's
language (``name_english``, ``name_native``)::

    Übersetze den folgenden Satz vom Englischen ins Deutsche.
    Englisch: The cat sat on the mat.
    Deutsch:

Scoring:

- per segment, ``chrf``: sentence-level chrF++ (``CHRF(word_order=2)``) of the cleaned answer
  (``clean_hypothesis``: first non-empty line, without surrounding quotes), and the segment's sacrebleu
  sufficient statistics for chrF++ and BLEU, stored on its record;
- per (task, language), corpus chrF++ and BLEU over all segments of the unit (``harness.scoring.aggregate``
  sums the stored statistics), with sacrebleu's signature string, exactly what ``sacrebleu REF -i HYP -m chrf
  --chrf-word-order 2`` and ``-m bleu --tokenize <bleu_tokenizer(lang)>`` print for the same lines.

BLEU's tokenizer follows the target language (``bleu_tokenizer``): ``13a`` (sacrebleu's default)
for languages written with spaces between words, ``char`` for Thai, which is not: with ``13a`` a
Thai sentence is one or a few "words" and a near-perfect translation scores 0.0 BLEU. ``char``
BLEU counts n-grams of code points (Thai vowel and tone marks are code points of their own), so
Thai BLEU is not on the same scale as the others' word BLEU: compare BLEU across systems within a
language, never across languages. chrF++ needs no tokenizer and is the primary metric. The
SentencePiece tokenizers (``flores101``, ``flores200``, ``spm``) would suit Thai better but
download a model at run time, which this harness does not do.

Per-segment sufficient statistics (``segment_statistics``) are sacrebleu's own: summing them over
any subset of segments and calling ``score_from_statistics`` gives that subset's corpus score, the
basis for bootstrap confidence intervals and paired tests without re-tokenizing (``octoglot compare``
reads them from the records).
"""

from __future__ import annotations

from functools import cache
from typing import Mapping, Sequence

from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.base import Metric, Score
from sacrebleu.utils import sum_of_lists

from harness.core import metrics
from harness.core.errors import OctoglotError
from harness.core.languages import LANGUAGES
from harness.core.records import Generation, Sample, Scored
from harness.tasks.definition import LmEvalForm, TaskDef

TEMPLATE = "{instruction}\n{source_name}: {source}\n{target_name}:"
TEXT_COLUMNS = ("text",)  # plain-text files arrive as one {"text": line} row per line

FLORES_EN_XX_LITERALS = ("translate_en_xx", "name_english", "name_native")
FLORES_XX_EN_LITERALS = ("translate_xx_en", "name_english", "name_native")
NTREX_EN_XX_LITERALS = FLORES_EN_XX_LITERALS

# Generation budget by the script of the target language. Generation stops at the first newline,
# so the budget only costs time when a model runs on; one that is too small truncates the
# translation, and the score then measures the tokenizer, not the model. Reference lengths in
# tokens, FLORES-200 devtest and NTREX-128 together (p99 / max), measured on this data:
#   SmolLM2 (49k English-centric BPE):  Latin 136 / 187, Devanagari 347 / 426, Thai 506 / 760
#   Gemma 3 (262k multilingual vocab):  Latin  90 / 143, Devanagari  87 / 118, Thai  97 / 160
# Each budget covers the p99 of the English-centric tokenizer and the maximum of the multilingual
# one. A tokenizer that falls back to bytes for Thai or Devanagari (three bytes a character) still
# truncates long lines. Changing these changes what a task measures: bump the tasks' versions.
MAX_GEN_TOKS = {"Latn": 160, "Deva": 384, "Thai": 512}

CHRF_WORD_ORDER = 2  # chrF++

# Surrounding quotation marks a model may wrap its translation in: (opening, closing).
QUOTE_PAIRS = (('"', '"'), ("'", "'"), ("\u201c", "\u201d"), ("\u201e", "\u201c"), ("\u201e", "\u201d"),
               ("\u2018", "\u2019"), ("\u201a", "\u2018"), ("\u00ab", "\u00bb"), ("\u00bb", "\u00ab"),
               ("\u300c", "\u300d"))


def _references(task: str, rows: list[dict], lang: str, extras: Mapping[str, list[dict]] | None) -> list[str]:
    if not extras or "reference" not in extras:
        raise OctoglotError(
            f"{task} ({lang}): no reference translations; they are read from a local data directory "
            "(--data-dir or $OCTOGLOT_DATA) through the pack's 'extra: reference' file"
        )
    references = extras["reference"]
    if len(references) != len(rows):
        raise OctoglotError(
            f"{task} ({lang}): {len(rows)} source lines but {len(references)} reference lines; "
            "the files must be line-aligned"
        )
    return [row["text"].strip() for row in references]


def _build(task: str, rows: list[dict], literals: Mapping, lang: str, extras: Mapping[str, list[dict]] | None,
           *, into_english: bool) -> list[Sample]:
    if lang == "en":
        raise OctoglotError(f"{task} (en): English is the pivot language; the task runs for the other languages")
    references = _references(task, rows, lang, extras)
    if into_english:
        instruction, source_name, target_name = (literals["translate_xx_en"], literals["name_native"],
                                                 literals["name_english"])
    else:
        instruction, source_name, target_name = (literals["translate_en_xx"], literals["name_english"],
                                                 literals["name_native"])
    samples = []
    for number, (row, reference) in enumerate(zip(rows, references), 1):
        source = row["text"].strip()
        if not source or not reference:
            side = "source" if not source else "reference"
            raise OctoglotError(f"{task} ({lang}): line {number}: empty {side} line")
        prompt = TEMPLATE.format(instruction=instruction, source_name=source_name, source=source,
                                 target_name=target_name)
        samples.append(Sample(str(number), task, lang, prompt, target=reference,
                              answer_lang="en" if into_english else lang))
    return samples


def flores_en_xx_samples(rows: list[dict], literals: Mapping, lang: str,
                         extras: Mapping[str, list[dict]] | None = None) -> list[Sample]:
    """FLORES-200 devtest, English -> ``lang``. ``rows``: the English lines; ``extras["reference"]``:
    ``lang``'s lines."""
    return _build("flores_en_xx", rows, literals, lang, extras, into_english=False)


def flores_xx_en_samples(rows: list[dict], literals: Mapping, lang: str,
                         extras: Mapping[str, list[dict]] | None = None) -> list[Sample]:
    """FLORES-200 devtest, ``lang`` -> English. ``rows``: ``lang``'s lines; ``extras["reference"]``:
    the English lines. The instruction is still in ``lang``."""
    return _build("flores_xx_en", rows, literals, lang, extras, into_english=True)


def ntrex_en_xx_samples(rows: list[dict], literals: Mapping, lang: str,
                        extras: Mapping[str, list[dict]] | None = None) -> list[Sample]:
    """NTREX-128, English -> ``lang``. ``rows``: newstest2019-src.eng.txt; ``extras["reference"]``:
    newstest2019-ref.<lang>.txt."""
    return _build("ntrex_en_xx", rows, literals, lang, extras, into_english=False)


def _target_lang(sample: Sample) -> str:
    return sample.answer_lang or sample.lang


def generation(sample: Sample) -> Generation:
    """Greedy, one line (the source is one sentence), budget by the target script (``MAX_GEN_TOKS``)."""
    return Generation(max_new_tokens=MAX_GEN_TOKS[LANGUAGES[_target_lang(sample)].script], until=("\n",))


def clean_hypothesis(response: str) -> str:
    """The translation in a response: the first non-empty line, stripped, without one pair of
    quotation marks around the whole of it.

    A pair is removed only when the line starts with an opening mark, ends with its closing mark
    and has neither mark inside, so ``"Ja", sagte er, "gut"`` keeps its quotes and a translation
    that merely ends in a quotation keeps it. An empty response gives ``""``.
    """
    line = next((part.strip() for part in response.splitlines() if part.strip()), "")
    for opening, closing in QUOTE_PAIRS:
        inner = line[len(opening):-len(closing)]
        if (len(line) >= len(opening) + len(closing) + 1 and line.startswith(opening) and line.endswith(closing)
                and opening not in inner and closing not in inner):
            return inner.strip()
    return line


def chrf_metric() -> CHRF:
    return CHRF(word_order=CHRF_WORD_ORDER)


def bleu_tokenizer(lang: str) -> str:
    """sacrebleu's BLEU tokenizer for a target language: ``char`` where words are not separated by
    spaces (Thai), else ``13a``, sacrebleu's default (see the module docstring)."""
    return "13a" if LANGUAGES[lang].word_spaces else "char"


def bleu_metric(lang: str) -> BLEU:
    return BLEU(tokenize=bleu_tokenizer(lang))


def make_metric(name: str, lang: str) -> Metric:
    """A fresh sacrebleu metric as the harness configures it: ``"chrf++"`` or ``"bleu"`` for
    target language ``lang``."""
    if name == "chrf++":
        return chrf_metric()
    if name == "bleu":
        return bleu_metric(lang)
    raise OctoglotError(f"translation: unknown corpus metric '{name}' (expected 'chrf++' or 'bleu')")


def score(sample: Sample, response: str) -> Scored:
    """Sentence chrF++ of the cleaned hypothesis, and its chrF++ and BLEU statistics for the corpus scores."""
    hypothesis = clean_hypothesis(response)
    reference = str(sample.target)
    value = chrf_metric().sentence_score(hypothesis, [reference]).score
    lang = _target_lang(sample)
    statistics = {name: segment_statistics([hypothesis], [reference], _configured(name, lang))[0]
                  for name in CORPUS_METRICS}
    return Scored({"chrf": float(value)}, hypothesis, statistics)


def segment_statistics(hypotheses: list[str], references: list[str], metric: Metric) -> list[list[float]]:
    """sacrebleu's per-segment sufficient statistics (one list of numbers per segment; for BLEU
    lengths and n-gram counts, for chrF n-gram match counts) for one reference per segment.

    Uses sacrebleu's ``Metric._extract_corpus_statistics``, the method its own corpus scores and
    significance tests use (tested against ``corpus_score`` for the sacrebleu version installed).
    """
    if len(hypotheses) != len(references):
        raise OctoglotError(f"translation: {len(hypotheses)} hypotheses but {len(references)} references")
    return metric._extract_corpus_statistics(list(hypotheses), [list(references)])


def score_from_statistics(stats: list[list[float]], metric: Metric) -> Score:
    """The corpus score of the segments whose statistics are given: column sums, then sacrebleu's
    ``_compute_score_from_stats``."""
    return metric._compute_score_from_stats(sum_of_lists(stats))


@cache
def _configured(name: str, lang: str) -> Metric:
    """One metric object per (name, target language), for per-segment statistics (which keep no state)."""
    return make_metric(name, lang)


@cache
def signature(name: str, lang: str) -> str:
    """sacrebleu's signature of corpus metric ``name`` as configured for target language ``lang`` (one reference
    per segment). sacrebleu fills a signature in only after a corpus score, so one is computed on a one-line corpus;
    nothing in it depends on the lines."""
    metric = make_metric(name, lang)
    metric.corpus_score(["a"], [["a"]])
    return metric.get_signature().format()


def lm_eval_scoring(lang: str, samples: list[Sample]) -> tuple[list[dict], list[dict], list[tuple[str, str]]]:
    """``clean_hypothesis`` as two lm-eval regex filters (the first non-empty line, lm-eval strips the match; then
    one pair of quotation marks around the whole line when neither mark occurs inside, the pairs in
    ``QUOTE_PAIRS`` order), corpus chrF++, and BLEU where octoglot's tokenizer is lm-eval's ``13a``."""
    import re

    first_line = rf"{NOT_LINE_BREAK}*\S{NOT_LINE_BREAK}*"
    alternatives = []
    for opening, closing in QUOTE_PAIRS:
        o, c = re.escape(opening), re.escape(closing)
        alternatives.append(rf"^{o}((?:(?!{o}|{c})[\s\S])+){c}\Z")
    quotes = "|".join(alternatives + [r"^([\s\S]*)\Z"])
    filters = [{"function": "regex", "regex_pattern": first_line, "group_select": 0, "fallback": ""},
               {"function": "regex", "regex_pattern": quotes, "group_select": 0, "fallback": ""},
               {"function": "take_first"}]
    target = _target_lang(samples[0]) if samples else lang
    scored = [{"metric": "chrf++", "aggregation": "chrf++"}]  # lm-eval's corpus aggregations
    left_out = []
    if bleu_tokenizer(target) == "13a":
        scored.append({"metric": "bleu", "aggregation": "bleu"})
    else:
        left_out.append(("bleu", "octoglot scores BLEU into Thai with sacrebleu's `char` tokenizer (Thai has no word "
                                 "spaces); lm-eval's `bleu` always uses `13a`"))
    left_out += [("lang_fidelity", "answer-language detection (langdetect) has no lm-eval metric"),
                 ("chrf (per segment)", "lm-eval scores translation as corpus metrics only; corpus chrF++, octoglot's "
                                        "headline score, is exported")]
    return filters, scored, left_out


# a character that is not a str.splitlines() boundary, for the "first non-empty line" filter
NOT_LINE_BREAK = r"[^\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]"

CORPUS_METRICS = ("chrf++", "bleu")
CHRF_PP = metrics.Metric("chrf++", "corpus", 100, description="corpus chrF++ (sacrebleu, character 6-grams and word "
                         "2-grams)", lm_eval="chrf++",
                         from_statistics=lambda sums: chrf_metric()._compute_score_from_stats(list(sums)).score,
                         signature=lambda lang: signature("chrf++", lang))
BLEU_SCORE = metrics.Metric("bleu", "corpus", 100, description="corpus BLEU (sacrebleu; 13a tokens, Thai characters: "
                            "compare within a language only)", lm_eval="bleu",
                            from_statistics=lambda sums: BLEU()._compute_score_from_stats(list(sums)).score,
                            signature=lambda lang: signature("bleu", lang))
SENTENCE_CHRF = metrics.Metric("chrf", "continuous", 100, description="sentence-level chrF++ of each segment")
TASK_METRICS = (CHRF_PP, BLEU_SCORE, SENTENCE_CHRF, metrics.LANG_FIDELITY)

LM_EVAL = LmEvalForm(scoring=lm_eval_scoring, differences=(
    "The filter reproduces `clean_hypothesis` (first non-empty line, stripped, one pair of matching "
    "quotation marks removed when neither mark occurs inside). Corpus scores carry no sacrebleu "
    "signature or bootstrap interval in lm-eval's output; the group averages chrF++ only (BLEU is not "
    "comparable across languages).",
))


def _task(id: str, description: str, build, literals: tuple[str, ...]) -> TaskDef:
    return TaskDef(id=id, description=description, kind="generate", build=build, score=score, metrics=TASK_METRICS,
                   primary="chrf++", template=TEMPLATE, literals=literals, columns=TEXT_COLUMNS, parallel=True,
                   generation=generation, lm_eval=LM_EVAL)


TASKS = (
    _task("flores_en_xx", "FLORES-200 devtest, English → the language; chrF++ and BLEU (sacrebleu)",
          flores_en_xx_samples, FLORES_EN_XX_LITERALS),
    _task("flores_xx_en", "FLORES-200 devtest, the language → English; chrF++ and BLEU (sacrebleu)",
          flores_xx_en_samples, FLORES_XX_EN_LITERALS),
    _task("ntrex_en_xx", "NTREX-128, English → the language; chrF++ and BLEU (sacrebleu)", ntrex_en_xx_samples,
          NTREX_EN_XX_LITERALS),
)
