"""What planning gives a task that sizes its prompts in the model's tokens (``TaskDef.sized``, long context): the
model's tokenizer, the lengths that fit its window (longer ones are skipped and listed, never failed), the seed and
the items per length; and what the run records of it per unit (``info["context"]``): the lengths built and
skipped, the tokenizer (identity, window, chat template) and the language's tokenizer fertility.

Fertility: mean tokens per FLORES-200 devtest sentence in the language and that mean over English's, on the same
1,012 sentences translated (read from the data directory; without one it is not measured, and the unit says so).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from harness.core.languages import LANGUAGES
from harness.core.tokens import Sizing
from harness.execution import models, tokenizer
from harness.tasks.definition import TaskDef

FLORES_DEVTEST = "flores200/devtest/{code}.devtest"


@lru_cache(maxsize=4)
def _sizer(model: str, model_args: str | None, chat_template: bool | None) -> tokenizer.HFSizer:
    spec = models.resolve(model, model_args)
    chat = spec.instruct if chat_template is None else chat_template
    return tokenizer.load_sizer(spec, chat)


@lru_cache(maxsize=64)
def _fertility(model: str, model_args: str | None, chat_template: bool | None, data_path: str | None,
               lang: str) -> dict:
    if data_path is None:
        return {"measured": False, "why": "no local data directory (FLORES-200 devtest)"}
    sizer = _sizer(model, model_args, chat_template)
    sentences, digests = {}, {}
    for code in dict.fromkeys(("en", lang)):
        path = Path(data_path) / FLORES_DEVTEST.format(code=LANGUAGES[code].flores)
        if not path.is_file():
            return {"measured": False, "why": f"{path} not found"}
        blob = path.read_bytes()
        digests[code] = hashlib.sha256(blob).hexdigest()
        sentences[code] = [line for line in blob.decode("utf-8").splitlines() if line.strip()]
    result = tokenizer.fertility(sizer, sentences)[lang]
    return {"measured": True, **result, "data": {"path": FLORES_DEVTEST.format(code=LANGUAGES[lang].flores),
                                                  "sha256": digests[lang]}}


def sizing(config, task: TaskDef, lang: str, data_dir, limit: int | None) -> tuple[Sizing, dict]:
    """The ``Sizing`` of one (task, language) unit and what the manifest records of it. ``config`` is the run's
    ``RunConfig``; ``data_dir`` its resolved data directory or None; ``limit`` the task's items per length."""
    sizer = _sizer(config.model, config.model_args, config.chat_template)
    asked = tuple(config.context_lengths or task.sized)
    fits = tuple(n for n in asked if n <= sizer.window)
    skipped = tuple(n for n in asked if n > sizer.window)
    data_path = str(data_dir.path) if data_dir is not None else None
    context = {"lengths": list(fits), "skipped_lengths": list(skipped), "tokenizer": sizer.facts(),
               "fertility": _fertility(config.model, config.model_args, config.chat_template, data_path, lang),
               "items_per_length": limit}
    return Sizing(sizer, fits, config.seed, limit, skipped), context
