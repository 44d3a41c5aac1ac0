"""Language Confusion Benchmark (LCB; Marchisio et al. 2024, for-ai/language-confusion): does the
model answer in the language the user wants, on every line?

Data: one pack task ``lcb`` per language; ``local`` points at one CSV of that language and
``extra`` at the others (roles named after the file, e.g. ``monolingual/okapi``,
``crosslingual/sharegpt``). Monolingual rows (``prompt,source,language``) ask in language l for an
answer in l; cross-lingual rows (``prompt,location,phrasing,language,source``) ask in English for
an answer in l ("Reply in German. ..."). The prompt is the user message, unchanged, and the answer
must be in the pack's language (the rows' ``language`` column, checked).

Sample ids are ``<setting>/<dataset>:<row>``, e.g. ``crosslingual/okapi:17``: the setting and the
dataset come from the row itself (cross-lingual rows have a ``location`` column; the dataset is
the ``source`` column, named as the upstream folder), the row is the 1-based data row of its file.
So ids do not depend on which file the pack calls ``local``, and the scorer reads the setting off
the id.

Scoring, the line-level pass of the paper's ``compute_metrics.py`` (for-ai/language-confusion,
commit 6cb0fe2): the response is cut at the first ``"\\nQ:"`` (a base model starting a new
question), stripped, ASCII punctuation and ``#`` and ``،`` removed, ``—`` turned into a space; then
split into lines, and lines of fewer than 5 whitespace-separated tokens are skipped. Each remaining
line's language is detected; the response passes (``lpr`` = 1) when every line is in the desired
language. A response with no line left (empty, or only short lines) is not scored, as in the paper
(its LPR divides by the responses that kept a line): its metrics are empty and ``n`` of the score
rows counts the scored ones. ``line_acc`` is the paper's ``acc``: the share of kept lines in the
desired language. ``lpr_mono`` / ``lpr_cross`` repeat ``lpr`` on the monolingual / cross-lingual
samples only.

Differences from the paper, on purpose: lines are identified by ``harness.langid.detect`` (the
harness's configured detector; the paper used fastText ``lid.176.bin``, which downloads at run
time, and counted a line whose top fastText score was ≤ 0.3 as an error); generation is greedy
(the paper sampled with p = 0.75, T = 0.3), at most 100 new tokens as in the paper. The word-level
pass rate (WPR: English words in a Hindi answer) is not computed.
"""

from __future__ import annotations

import string

from typing import Mapping

from harness.core import langid
from harness.core.errors import OctoglotError
from harness.core.metrics import Metric
from harness.core.records import Generation, Sample, Scored
from harness.tasks.definition import TaskDef

LCB_TEMPLATE = "{prompt}"
LCB_COLUMNS = ("prompt", "source", "language")  # common to the monolingual and cross-lingual files

MIN_LINE_TOKENS = 5  # compute_metrics.py: "remove lines that are too short"
# upstream `source` column -> the folder name of test_sets/<setting>/<folder>/<lang>.csv
_DATASETS = {"aya_human_annotated": "aya", "dolly_human_edited": "dolly", "native_prompts": "native"}
_STRIP = str.maketrans("", "", string.punctuation + "#،")


def _setting(row: dict) -> str:
    return "crosslingual" if "location" in row else "monolingual"


def _key(row: dict) -> str:
    source = str(row.get("source", "")).strip()
    return f"{_setting(row)}/{_DATASETS.get(source, source)}"


def lcb_samples(rows: list[dict], literals: Mapping, lang: str,
                extras: Mapping[str, list[dict]] | None = None) -> list[Sample]:
    """All LCB prompts of one language: the ``local`` file's rows, then each ``extra`` file's."""
    samples: list[Sample] = []
    where: dict[str, str] = {}  # id prefix -> role, to refuse two files claiming the same dataset
    for role, file_rows in [("main", rows), *sorted((extras or {}).items())]:
        if not file_rows:
            raise OctoglotError(f"lcb ({lang}): file of role '{role}' has no rows")
        key = _key(file_rows[0])
        if key in where:
            raise OctoglotError(f"lcb ({lang}): roles '{where[key]}' and '{role}' both hold {key} rows")
        if "/" in role and role != key:
            raise OctoglotError(f"lcb ({lang}): role '{role}' points at a file of {key} rows")
        where[key] = role
        for number, row in enumerate(file_rows, 1):
            if _key(row) != key:
                raise OctoglotError(f"lcb ({lang}): {role} row {number}: a {_key(row)} row in a {key} file")
            if row.get("language") != lang:
                raise OctoglotError(f"lcb ({lang}): {role} row {number}: language column is "
                                    f"'{row.get('language')}', expected '{lang}'")
            if not str(row.get("prompt") or "").strip():
                raise OctoglotError(f"lcb ({lang}): {role} row {number}: empty prompt")
            samples.append(Sample(f"{key}:{number}", "lcb", lang, LCB_TEMPLATE.format(prompt=row["prompt"]),
                                  target=lang, answer_lang=lang))
    return samples


# no stop sequence: answers span several lines; EOS or 100 new tokens (as in the paper) end them
GENERATION = Generation(max_new_tokens=100)


def normalize(response: str) -> str:
    """compute_metrics.py's ``normalize``: cut at a new "Q:", drop ASCII punctuation, '#', '،'."""
    text = response.split("\nQ:")[0].strip()
    return text.translate(_STRIP).replace("—", " ")


def scored_lines(response: str) -> list[str]:
    """The lines the paper judges: after ``normalize``, those of at least 5 whitespace tokens."""
    return [line for line in normalize(response).split("\n") if len(line.split()) >= MIN_LINE_TOKENS]


def score(sample: Sample, response: str) -> Scored:
    """Line-level pass of one response; ``extracted`` is the detected language of each line."""
    lines = scored_lines(response)
    if not lines:
        return Scored({}, f"not scored: no line of {MIN_LINE_TOKENS}+ words")
    detected = [langid.detect(line) for line in lines]
    want = sample.answer_lang or sample.lang
    passed = float(all(code == want for code in detected))
    setting = "lpr_cross" if sample.id.startswith("crosslingual/") else "lpr_mono"
    metrics = {"lpr": passed, setting: passed,
               "line_acc": sum(code == want for code in detected) / len(detected)}
    return Scored(metrics, ",".join(code or "?" for code in detected))


def _pass_rate(name: str, description: str) -> Metric:
    return Metric(name, "binary", 1, description=description)


TASKS = (
    TaskDef(id="lcb", description="Language Confusion Benchmark (monolingual + cross-lingual prompts), line-level pass "
                                  "rate",
            kind="generate", build=lcb_samples, score=score,
            metrics=(_pass_rate("lpr", "every scored line of the answer is in the desired language"),
                     _pass_rate("lpr_mono", "lpr on the monolingual prompts"),
                     _pass_rate("lpr_cross", "lpr on the cross-lingual prompts"),
                     Metric("line_acc", "continuous", 1, description="share of scored lines in the desired language")),
            primary="lpr", template=LCB_TEMPLATE, columns=LCB_COLUMNS, parallel=False,
            generation=lambda sample: GENERATION,
            not_exportable="The line-level pass rate identifies the language of every line of the answer (langdetect "
                           "or the configured detector); lm-eval has no language-identification metric or filter."),
)
