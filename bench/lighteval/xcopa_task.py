"""lighteval custom task: octoglot's XCOPA prompts, read from a local JSON Lines file.

Used by ``bench/vs_lighteval.py`` (``lighteval accelerate ... --custom-tasks bench/lighteval/xcopa_task.py``).
Nothing here is octoglot's code: the bench writes the items octoglot itself built (its prompt and options, the
same seeded items) as ``{"id", "context", "choices", "gold"}`` lines to ``$OCTOGLOT_LIGHTEVAL_DATA/test.jsonl``,
and this task only reads that file back, so both tools score the very same (context, option) pairs.

lighteval 0.13 loads a task's data with ``datasets.load_dataset(path=hf_repo, name=hf_subset,
revision=hf_revision)`` and no ``data_files``; a local folder as ``hf_repo`` holding ``test.jsonl`` makes
``datasets`` pick its json builder and a ``test`` split from the file name, offline.

Doc: ``query`` is the context as is (octoglot's choices begin with their space; lighteval moves a context's
trailing spaces into the continuations, as lm-eval does, and there are none here), no instruction, no
few-shot examples; ``specific["id"]`` carries octoglot's item id into the details files (lighteval
overwrites ``Doc.id`` with the row's position).
"""

from __future__ import annotations

import os
from pathlib import Path

from lighteval.metrics.metrics import Metrics
from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc

DATA = os.environ.get("OCTOGLOT_LIGHTEVAL_DATA")
if not DATA:  # lighteval imports this file for `lighteval tasks list` too; the bench always sets it
    DATA = str(Path(__file__).resolve().parent / "data")


def octoglot_prompt(line: dict, task_name: str | None = None) -> Doc:
    return Doc(task_name=task_name, query=line["context"], choices=list(line["choices"]),
               gold_index=int(line["gold"]), specific={"id": str(line["id"])})


xcopa_octoglot = LightevalTaskConfig(
    name="xcopa_octoglot",
    prompt_function=octoglot_prompt,
    hf_repo=DATA,
    hf_subset="default",
    hf_avail_splits=["test"],
    evaluation_splits=["test"],
    few_shots_split=None,
    few_shots_select=None,
    generation_size=-1,
    metrics=[Metrics.loglikelihood_acc],
    stop_sequence=["\n"],
    version=0,
)

TASKS_TABLE = [xcopa_octoglot]
