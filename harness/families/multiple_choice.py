"""Multiple choice by log-likelihood.

Each option is scored as the log-probability of ``" " + option`` after the prompt.
``acc``: the highest-scoring option is the gold one. ``acc_norm``: the same after
dividing each log-likelihood by the option's length in UTF-8 bytes (lm-eval's
``acc_norm``), which removes the bias towards short options.

Dataset adapters turn upstream rows into Samples with prompts in the target
language; their prompt templates are part of the prompt hash.
"""

from __future__ import annotations

from harness.errors import OctoglotError
from harness.records import Sample

CHOICE_DELIMITER = " "

SIB200_TEMPLATE = "{topic_instruction}\n{sentence}: {text}\n{topic}:"
SIB200_COLUMNS = ("index_id", "category", "text")
SIB200_LITERALS = ("topic_instruction", "sentence", "topic", "topics")


KIND = "loglikelihood"


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


def requests(sample: Sample) -> list[tuple[str, str]]:
    """The (context, continuation) pairs to score for one sample."""
    contexts = sample.contexts or (sample.prompt,) * len(sample.choices)
    return list(zip(contexts, sample.choices))


def score(sample: Sample, loglikelihoods: list[float]) -> dict[str, float]:
    gold = int(sample.target)
    best = max(range(len(loglikelihoods)), key=loglikelihoods.__getitem__)
    normed = [ll / max(1, len(c.encode("utf-8"))) for ll, c in zip(loglikelihoods, sample.choices)]
    best_norm = max(range(len(normed)), key=normed.__getitem__)
    return {"acc": float(best == gold), "acc_norm": float(best_norm == gold)}
