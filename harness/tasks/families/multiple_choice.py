"""Multiple choice by log-likelihood.

Each option is scored as the log-probability of ``" " + option`` after the prompt.
``acc``: the highest-scoring option is the gold one. ``acc_norm``: the same after
dividing each log-likelihood by the option's length in UTF-8 bytes, which removes the bias towards
short options. That is lm-eval's ``acc_bytes``; its ``acc_norm`` divides by characters, which
differs for Hindi and Thai.

Dataset adapters turn upstream rows into Samples with prompts in the target
language; their prompt templates are part of the prompt hash.
"""

from __future__ import annotations

import json

from harness.core.errors import OctoglotError
from harness.core.languages import LANGUAGES
from harness.core.metrics import Metric
from harness.core.records import Sample, Scored
from harness.tasks.definition import LmEvalForm, TaskDef

CHOICE_DELIMITER = " "

SIB200_TEMPLATE = "{topic_instruction}\n{sentence}: {text}\n{topic}:"
SIB200_COLUMNS = ("index_id", "category", "text")
SIB200_LITERALS = ("topic_instruction", "sentence", "topic", "topics")


def sib200_samples(rows: list[dict], literals: dict, lang: str, extras: dict | None = None) -> list[Sample]:
    """SIB-200 topic classification: the 7 topics, named in the target language."""
    topics: dict[str, str] = literals["topics"]
    labels = list(topics)
    choices = tuple(CHOICE_DELIMITER + topics[label] for label in labels)
    samples = []
    for number, row in enumerate(rows, 2):  # line 1 is the header
        category = row["category"]
        if category not in topics:
            raise OctoglotError(
                f"sib200 ({lang}): row {number}: category '{category}' has no name in literals.topics"
            )
        prompt = SIB200_TEMPLATE.format(
            topic_instruction=literals["topic_instruction"],
            sentence=literals["sentence"],
            topic=literals["topic"],
            text=row["text"].strip(),
        )
        samples.append(Sample(str(row["index_id"]), "sib200", lang, prompt, choices, labels.index(category)))
    return samples


# XCOPA: the premise, a connector ("because" / "therefore" in the target language), and each
# alternative as the continuation, as in lm-eval's xcopa; the premise's final full stop is dropped
# only when it has one (Thai sentences end without one).
XCOPA_TEMPLATE = "{premise} {connector}"
XCOPA_COLUMNS = ("premise", "choice1", "choice2", "question", "label")
XCOPA_LITERALS = ("cause_connector", "effect_connector")


def _drop_full_stop(text: str, lang: str) -> str:
    text = text.strip()
    stops = {".", "。", LANGUAGES[lang].full_stop.strip() or "."}
    return text[:-1] if text and text[-1] in stops else text


def _lower_first(text: str) -> str:
    text = text.strip()
    return text[:1].lower() + text[1:]


def xcopa_samples(rows: list[dict], literals: dict, lang: str, extras: dict | None = None) -> list[Sample]:
    samples = []
    for number, row in enumerate(rows, 1):
        kind = row["question"]
        if kind not in ("cause", "effect"):
            raise OctoglotError(f"xcopa ({lang}): row {number}: question must be 'cause' or 'effect', got '{kind}'")
        connector = literals["cause_connector" if kind == "cause" else "effect_connector"]
        prompt = XCOPA_TEMPLATE.format(premise=_drop_full_stop(row["premise"], lang), connector=connector)
        choices = tuple(CHOICE_DELIMITER + _lower_first(row[c]) for c in ("choice1", "choice2"))
        item = row.get("idx", number - 1)
        samples.append(Sample(str(item), "xcopa", lang, prompt, choices, int(row["label"])))
    return samples


# XWinograd: partial scoring as in lm-eval's winogrande: each candidate replaces the pronoun, the
# context is the sentence up to and including the candidate, and the shared continuation (the rest
# of the sentence) is scored. Local rows come from the upstream dataset.tsv (all languages in one
# header-less file); hub rows (Muennighoff/xwinograd) carry `sentence` with "_", option1/2, answer.
XWINOGRAD_TEMPLATE = "{before}{candidate} | {after}"
XWINOGRAD_COLUMNS = ()
XWINOGRAD_FIELDS = ["lang", "type", "note", "sentence", "tokens", "pronoun", "candidates"]


def _token_offsets(sentence: str, tokens: list[str]) -> list[tuple[int, int]]:
    offsets, pos = [], 0
    for token in tokens:
        start = sentence.find(token, pos)
        if start < 0:  # tokenizer split a contraction ("does", "n't"): fall back to the next word boundary
            start = pos
        offsets.append((start, start + len(token)))
        pos = start + len(token)
    return offsets


def _xwinograd_upstream(row: dict, lang: str, number: int) -> tuple[str, str, tuple[str, ...], int]:
    try:
        sentence = row["sentence"]
        tokens = json.loads(row["tokens"])
        _, (p_start, p_end), _ = json.loads(row["pronoun"])
        candidates = json.loads(row["candidates"])
    except (KeyError, ValueError, TypeError) as exc:
        raise OctoglotError(f"xwinograd ({lang}): row {number}: not in the upstream dataset.tsv schema: {exc}") from None
    offsets = _token_offsets(sentence, tokens)
    start, end = offsets[p_start][0], offsets[p_end - 1][1]
    options = tuple(c[0] for c in candidates)
    gold = next(i for i, c in enumerate(candidates) if c[3])
    return sentence[:start], sentence[end:], options, gold


def xwinograd_samples(rows: list[dict], literals: dict, lang: str, extras: dict | None = None) -> list[Sample]:
    samples = []
    for number, row in enumerate(rows, 1):
        if "option1" in row:  # hub schema
            idx = row["sentence"].index("_")
            before, after = row["sentence"][:idx], row["sentence"][idx + 1:]
            options, gold = (row["option1"], row["option2"]), int(row["answer"]) - 1
        else:
            if row.get("lang") != lang:
                continue
            before, after, options, gold = _xwinograd_upstream(row, lang, number)
        continuation = CHOICE_DELIMITER + after.strip()
        contexts = tuple(before + option for option in options)
        prompt = XWINOGRAD_TEMPLATE.format(before=before, candidate="_", after=after.strip())
        samples.append(Sample(f"{lang}-{number}", "xwinograd", lang, prompt, (continuation,) * len(options),
                              gold, contexts))
    if not samples:
        raise OctoglotError(f"xwinograd ({lang}): no rows for language '{lang}' in the data file")
    return samples


# Lettered multiple choice (Belebele, Global-MMLU): the question (and passage) with the options
# labelled A-D in the prompt; the continuation is the letter. Words in the target language.
LETTERS = ("A", "B", "C", "D")
LETTERED_TEMPLATE = "{passage}{question_word}: {question}\n{options}\n{answer_word}:"
LETTERED_LITERALS = ("question", "answer")
BELEBELE_COLUMNS = ("flores_passage", "question", "mc_answer1", "mc_answer2", "mc_answer3", "mc_answer4",
                    "correct_answer_num")
GLOBAL_MMLU_COLUMNS = ("sample_id", "question", "option_a", "option_b", "option_c", "option_d", "answer")


def _lettered(question: str, options: list[str], literals: dict, passage: str = "") -> tuple[str, tuple[str, ...]]:
    listed = "\n".join(f"{letter}. {option.strip()}" for letter, option in zip(LETTERS, options))
    prompt = LETTERED_TEMPLATE.format(passage=f"{passage.strip()}\n" if passage else "",
                                      question_word=literals["question"], question=question.strip(),
                                      options=listed, answer_word=literals["answer"])
    return prompt, tuple(CHOICE_DELIMITER + letter for letter in LETTERS[:len(options)])


def belebele_samples(rows: list[dict], literals: dict, lang: str, extras: dict | None = None) -> list[Sample]:
    samples = []
    for row in rows:
        options = [row[f"mc_answer{i}"] for i in range(1, 5)]
        prompt, choices = _lettered(row["question"], options, literals, passage=row["flores_passage"])
        item = f"{row.get('link', '')}#{row.get('question_number', len(samples))}"
        samples.append(Sample(item, "belebele", lang, prompt, choices, int(row["correct_answer_num"]) - 1))
    return samples


def global_mmlu_samples(rows: list[dict], literals: dict, lang: str, extras: dict | None = None) -> list[Sample]:
    samples = []
    for row in rows:
        options = [row[f"option_{c}"] for c in "abcd"]
        prompt, choices = _lettered(row["question"], options, literals)
        answer = str(row["answer"]).strip().upper()
        if answer not in LETTERS:
            raise OctoglotError(f"global_mmlu ({lang}): item {row['sample_id']}: answer must be A-D, got '{answer}'")
        samples.append(Sample(str(row["sample_id"]), "global_mmlu", lang, prompt, choices, LETTERS.index(answer)))
    return samples


# XNLI as in lm-eval: each option is the whole sentence "premise, right? Yes|Also|No, hypothesis"
# in the target language (entailment, neutral, contradiction), scored with an empty context.
XNLI_TEMPLATE = "{premise}, {nli_right}? {word}, {hypothesis}"
XNLI_COLUMNS = ("premise", "hypothesis", "label")
XNLI_LITERALS = ("nli_right", "nli_yes", "nli_also", "nli_no")


def xnli_samples(rows: list[dict], literals: dict, lang: str, extras: dict | None = None) -> list[Sample]:
    samples = []
    words = (literals["nli_yes"], literals["nli_also"], literals["nli_no"])
    for number, row in enumerate(rows):
        premise = _drop_full_stop(row["premise"], lang)
        choices = tuple(XNLI_TEMPLATE.format(premise=premise, nli_right=literals["nli_right"], word=w,
                                             hypothesis=row["hypothesis"].strip()) for w in words)
        samples.append(Sample(str(number), "xnli", lang, "", choices, int(row["label"])))
    return samples


def score(sample: Sample, loglikelihoods: list[float]) -> Scored:
    gold = int(sample.target)
    best = max(range(len(loglikelihoods)), key=loglikelihoods.__getitem__)
    normed = [ll / max(1, len(c.encode("utf-8"))) for ll, c in zip(loglikelihoods, sample.choices)]
    best_norm = max(range(len(normed)), key=normed.__getitem__)
    return Scored({"acc": float(best == gold), "acc_norm": float(best_norm == gold)})


ACC = Metric("acc", "binary", 1, description="the highest log-likelihood option is the gold one", lm_eval="acc")
ACC_NORM = Metric("acc_norm", "binary", 1, lm_eval="acc_bytes",
                  description="the same after dividing each log-likelihood by the option's length in UTF-8 bytes")

LM_EVAL = LmEvalForm(differences=(
    "octoglot's `acc_norm` is exported as lm-eval's `acc_bytes` (log-likelihood divided by the option's "
    "UTF-8 bytes, leading space included), the same computation; lm-eval's `acc_norm` divides by characters.",
    "octoglot scores the options that share a context from one pass over it, unpadded (flat scoring on the "
    "`hf` backend); the log-likelihoods equal lm-eval's up to float rounding (float32 on CPU, SmolLM2: at "
    "most 1.1e-4 per option over 1,500 requests, where lm-eval's own result is up to 4.3e-4 from float64; "
    "it can flip the choice only in a near tie).",
))


def _task(id: str, description: str, build, template: str, literals: tuple[str, ...], columns: tuple[str, ...],
          parallel: bool, metrics: tuple[Metric, ...]) -> TaskDef:
    return TaskDef(id=id, description=description, kind="loglikelihood", build=build, score=score, metrics=metrics,
                   primary="acc", template=template, literals=literals, columns=columns, parallel=parallel,
                   lm_eval=LM_EVAL)


TASKS = (
    _task("sib200", "SIB-200 topic classification (7 topics, FLORES sentences), log-likelihood", sib200_samples,
          SIB200_TEMPLATE, SIB200_LITERALS, SIB200_COLUMNS, True, (ACC, ACC_NORM)),
    _task("xcopa", "XCOPA causal commonsense (cause/effect connector in the target language), log-likelihood",
          xcopa_samples, XCOPA_TEMPLATE, XCOPA_LITERALS, XCOPA_COLUMNS, True, (ACC, ACC_NORM)),
    _task("xwinograd", "XWinograd pronoun resolution, partial log-likelihood scoring", xwinograd_samples,
          XWINOGRAD_TEMPLATE, (), XWINOGRAD_COLUMNS, False, (ACC,)),
    _task("belebele", "Belebele reading comprehension (FLORES passages), lettered options, log-likelihood",
          belebele_samples, LETTERED_TEMPLATE, LETTERED_LITERALS, BELEBELE_COLUMNS, True, (ACC,)),
    _task("global_mmlu", "Global-MMLU knowledge, lettered options, log-likelihood", global_mmlu_samples,
          LETTERED_TEMPLATE, LETTERED_LITERALS, GLOBAL_MMLU_COLUMNS, True, (ACC,)),
    _task("xnli", "XNLI entailment (premise, right? Yes/Also/No, hypothesis), log-likelihood", xnli_samples,
          XNLI_TEMPLATE, XNLI_LITERALS, XNLI_COLUMNS, True, (ACC, ACC_NORM)),
)
