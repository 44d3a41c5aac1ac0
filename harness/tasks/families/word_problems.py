"""Math word problems, MGSM: generation, exact match on the normalized final number.

- ``mgsm`` (native chain of thought, 0-shot): the instruction in the target language asks for the
  reasoning and then the final answer on its own line after the language's answer prefix, as
  simple-evals' MGSM does.
- ``mgsm_direct`` (few-shot, direct answer): the first ``DIRECT_SHOTS`` exemplars of the upstream
  exemplars file (native questions with their numeric answers), then the test question; the model
  writes the number after the answer word.

The final answer is read by ``harness.tasks.answers.extract_number`` (native digits, decimal commas,
thousands separators, answer prefixes) and compared as a normalized ASCII number. The answer words it looks
for are the pack's: ``answer`` and ``final_answer`` before a colon, the ``answer_is`` phrases, each in the
language and in English.
"""

from __future__ import annotations

import re
from typing import Mapping

from harness.core.errors import OctoglotError
from harness.core.languages import LANGUAGES
from harness.core.metrics import LANG_FIDELITY, Metric
from harness.core.records import Generation, Sample, Scored
from harness.tasks.answers import extract_number, number_pattern
from harness.tasks.definition import LmEvalForm, TaskDef

MGSM_COLUMNS = ("question", "answer_number")

EXTRACTION_LITERALS = ("answer", "final_answer", "answer_is")  # the words extract_number looks for

COT_TEMPLATE = "{math_instruction}\n\n{question}"
COT_LITERALS = ("math_instruction", *EXTRACTION_LITERALS)
COT_GENERATION = Generation(max_new_tokens=320)  # room for the reasoning of a grade-school problem

DIRECT_SHOTS = 4  # of the 8 upstream exemplars: keeps Thai prompts inside small models' context
DIRECT_TEMPLATE = "{exemplars}{question_word}: {question}\n{answer_word}:"
DIRECT_LITERALS = ("question", *EXTRACTION_LITERALS)
DIRECT_GENERATION = Generation(max_new_tokens=24, until=("\n",))


def answer_vocabulary(literals: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    """``extract_number``'s answer words and phrases from a task's literals (the language's, then English)."""
    words: list[str] = []
    phrases: list[str] = []
    for source in (literals, literals.get("english") or {}):
        words += [source[name] for name in ("answer", "final_answer") if source.get(name)]
        phrases += list(source.get("answer_is") or ())
    return {"answer_words": tuple(dict.fromkeys(words)), "answer_phrases": tuple(dict.fromkeys(phrases))}


def _gold(row: dict, lang: str, number: int) -> str:
    gold = extract_number(str(row["answer_number"]), "en")
    if gold is None:
        raise OctoglotError(f"mgsm ({lang}): row {number}: answer_number '{row['answer_number']}' is not a number")
    return gold


def mgsm_samples(rows: list[dict], literals: Mapping, lang: str, extras: Mapping | None = None) -> list[Sample]:
    vocabulary = answer_vocabulary(literals)
    samples = []
    for number, row in enumerate(rows, 1):
        prompt = COT_TEMPLATE.format(math_instruction=literals["math_instruction"], question=row["question"].strip())
        samples.append(Sample(str(number), "mgsm", lang, prompt, target=_gold(row, lang, number), answer_lang=lang,
                              meta=vocabulary))
    return samples


def _exemplars(extras: Mapping | None, lang: str, literals: Mapping) -> str:
    if not extras or "exemplars" not in extras:
        raise OctoglotError(f"mgsm_direct ({lang}): needs the exemplars file (a local data directory: --data-dir)")
    (module,) = extras["exemplars"]
    try:
        shots = module["MGSM_EXEMPLARS"][lang]
        answers = module["EXEMPLAR_NUMBER_ANSWERS"]
    except KeyError as exc:
        raise OctoglotError(f"mgsm_direct ({lang}): exemplars file has no {exc}") from None
    parts = []
    for i in range(1, DIRECT_SHOTS + 1):
        question = shots[str(i)]["q"].split(":", 1)[1].strip()  # drop the upstream "Question:" prefix
        parts.append(f"{literals['question']}: {question}\n{literals['answer']}: {answers[i - 1]}\n\n")
    return "".join(parts)


def mgsm_direct_samples(rows: list[dict], literals: Mapping, lang: str, extras: Mapping | None = None) -> list[Sample]:
    exemplars = _exemplars(extras, lang, literals)
    vocabulary = answer_vocabulary(literals)
    samples = []
    for number, row in enumerate(rows, 1):
        prompt = DIRECT_TEMPLATE.format(exemplars=exemplars, question_word=literals["question"],
                                        question=row["question"].strip(), answer_word=literals["answer"])
        samples.append(Sample(str(number), "mgsm_direct", lang, prompt, target=_gold(row, lang, number),
                              answer_lang=None, meta=vocabulary))
    return samples


def score(sample: Sample, response: str) -> Scored:
    answer = extract_number(response, sample.lang, **sample.meta)
    return Scored({"exact_match": float(answer is not None and answer == sample.target)}, answer)


def lm_eval_scoring(lang: str, samples: list[Sample]) -> tuple[list[dict], list[dict], list[tuple[str, str]]]:
    """The lm-eval filter pipeline and ``exact_match`` ``regexes_to_ignore`` that follow ``extract_number``
    for a one-line direct answer in ``lang`` (the golds are plain ASCII integers)."""
    language = LANGUAGES[lang]
    decimal = language.decimal_separator
    # the separators number_pattern allows inside a number
    seps = ".,'\u2019\u00a0\u202f\u2009" + (" " if language.thousands_separator.isspace() else "")
    groups = "[" + "".join(re.escape(c) for c in seps.replace(decimal, "")) + "]"
    dec = re.escape(decimal)
    ignore = [
        # a thousands separator that is not a clean grouping (1-3 digits, then groups of 3, then an
        # optional decimal part): octoglot reads a decimal or several numbers, never this integer
        rf"^(?=.*{groups})(?!-?[1-9][0-9]{{0,2}}(?:{groups}[0-9]{{3}})+(?:{dec}[0-9]+)?$).*$",
        groups,  # thousands separators
        rf"{dec}0+$",  # a zero fraction: 18,00 is 18
        r"(?<![0-9])0+(?=[0-9])",  # leading zeros: 007 is 7
        r"^-(?=0$)",  # -0 is 0
    ]
    filters = [{"function": "regex", "regex_pattern": number_pattern(lang), "group_select": -1,
                "fallback": "[invalid]"},  # the last number token; none: never equal to a gold
               {"function": "take_first"}]
    metrics = [{"metric": "exact_match", "regexes_to_ignore": ignore, "ignore_case": False,
                "ignore_punctuation": False}]
    return filters, metrics, []


EXACT_MATCH = Metric("exact_match", "binary", 1, description="the final number equals the gold answer",
                     lm_eval="exact_match")

TASKS = (
    TaskDef(id="mgsm", description="MGSM math, native chain of thought (0-shot), exact match on the final number",
            kind="generate", build=mgsm_samples, score=score, metrics=(EXACT_MATCH, LANG_FIDELITY),
            primary="exact_match", template=COT_TEMPLATE, literals=COT_LITERALS, english_literals=EXTRACTION_LITERALS,
            columns=MGSM_COLUMNS, parallel=True, generation=lambda sample: COT_GENERATION,
            not_exportable="Chain-of-thought answers are read by `extract_number`: the number after the LAST "
                           "localized answer prefix (`Antwort:`, `คำตอบ:`, English fallback), the result of a "
                           "calculation line (`9 × 2 = 18`), \"the answer is N\" phrases, native digits, decimal "
                           "commas. lm-eval's regex filter takes one match of one pattern; on multi-line reasoning it "
                           "picks another number too often to be the same metric. `lang_fidelity` (answer-language "
                           "detection) has no lm-eval metric either."),
    TaskDef(id="mgsm_direct", description=f"MGSM math, direct answer ({DIRECT_SHOTS}-shot native exemplars), "
                                          "exact match",
            kind="generate", build=mgsm_direct_samples, score=score, metrics=(EXACT_MATCH,), primary="exact_match",
            template=DIRECT_TEMPLATE, literals=DIRECT_LITERALS, english_literals=EXTRACTION_LITERALS,
            columns=MGSM_COLUMNS, parallel=True, generation=lambda sample: DIRECT_GENERATION,
            lm_eval=LmEvalForm(scoring=lm_eval_scoring, differences=(
                "The filter takes the LAST number token (the same token pattern as `extract_number`) and "
                "`exact_match` removes thousands separators, a zero fraction and leading zeros (per-language "
                "`regexes_to_ignore`). octoglot reads more: the number after an answer prefix (`Answer: 5 (2+3)` is "
                "5 there, 3 here) or after \"the answer is\"; Thai and Devanagari digits (not read here: lm-eval has "
                "no filter that maps characters); the Unicode minus sign; a malformed grouping (`12,34,5`: octoglot "
                "takes the last digit run, here no number) and the decimal separator used as a thousands separator "
                "several times (`1,000,000` in German). A one-line direct answer rarely has any of these.",))),
)
