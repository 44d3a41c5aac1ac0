"""Math word problems, MGSM: generation, exact match on the normalized final number.

- ``mgsm`` (native chain of thought, 0-shot): the instruction in the target language asks for the
  reasoning and then the final answer on its own line after the language's answer prefix, as
  simple-evals' MGSM does.
- ``mgsm_direct`` (few-shot, direct answer): the first ``DIRECT_SHOTS`` exemplars of the upstream
  exemplars file (native questions with their numeric answers), then the test question; the model
  writes the number after the answer word.

The final answer is read by ``harness.answers.extract_number`` (native digits, decimal commas,
thousands separators, localized prefixes) and compared as a normalized ASCII number.
"""

from __future__ import annotations

from harness.answers import extract_number
from harness.errors import OctoglotError
from harness.records import Sample

KIND = "generate"

MGSM_COLUMNS = ("question", "answer_number")
MGSM_FIELDS = ["question", "answer_number"]  # the upstream TSV files have no header row

COT_TEMPLATE = "{math_instruction}\n\n{question}"
COT_LITERALS = ("math_instruction", "answer")
COT_MAX_TOKENS = 320  # room for the reasoning of a grade-school problem

DIRECT_SHOTS = 4  # of the 8 upstream exemplars: keeps Thai prompts inside small models' context
DIRECT_TEMPLATE = "{exemplars}{question_word}: {question}\n{answer_word}:"
DIRECT_LITERALS = ("question", "answer")
DIRECT_MAX_TOKENS = 24


def _gold(row: dict, lang: str, number: int) -> str:
    gold = extract_number(str(row["answer_number"]), "en")
    if gold is None:
        raise OctoglotError(f"mgsm ({lang}): row {number}: answer_number '{row['answer_number']}' is not a number")
    return gold


def mgsm_samples(rows: list[dict], literals: dict, lang: str, extras: dict | None = None) -> list[Sample]:
    samples = []
    for number, row in enumerate(rows, 1):
        prompt = COT_TEMPLATE.format(math_instruction=literals["math_instruction"], question=row["question"].strip())
        samples.append(Sample(str(number), "mgsm", lang, prompt, target=_gold(row, lang, number), answer_lang=lang))
    return samples


def _exemplars(extras: dict | None, lang: str, literals: dict) -> str:
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


def mgsm_direct_samples(rows: list[dict], literals: dict, lang: str, extras: dict | None = None) -> list[Sample]:
    exemplars = _exemplars(extras, lang, literals)
    samples = []
    for number, row in enumerate(rows, 1):
        prompt = DIRECT_TEMPLATE.format(exemplars=exemplars, question_word=literals["question"],
                                        question=row["question"].strip(), answer_word=literals["answer"])
        samples.append(Sample(str(number), "mgsm_direct", lang, prompt, target=_gold(row, lang, number),
                              answer_lang=None))
    return samples


def gen_kwargs(sample: Sample) -> dict:
    if sample.task == "mgsm_direct":
        return {"until": ["\n"], "max_gen_toks": DIRECT_MAX_TOKENS, "do_sample": False}
    return {"until": [], "max_gen_toks": COT_MAX_TOKENS, "do_sample": False}


def score(sample: Sample, response: str) -> tuple[dict[str, float], str | None]:
    answer = extract_number(response, sample.lang)
    return {"exact_match": float(answer is not None and answer == sample.target)}, answer
