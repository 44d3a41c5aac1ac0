"""The task registry: what ``--tasks`` and ``--suite`` accept.

A task id names a family (the module that prompts and scores) and a dataset
adapter; packs say which languages have it, at which version, from which data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from harness.errors import OctoglotError
from harness.families import confusion, math, multiple_choice, qa, translation
from harness.languages import suggest


@dataclass(frozen=True)
class TaskDef:
    id: str
    family: str
    description: str
    build: Callable  # (rows, literals, lang) -> list[Sample]
    template: str  # prompt template; hashed into the prompt hash
    literals: tuple[str, ...]  # pack literals the task needs
    columns: tuple[str, ...]  # columns every data row must have
    parallel: bool  # items share ids across languages
    metrics: tuple[str, ...]
    primary: str


TASKS: dict[str, TaskDef] = {
    "sib200": TaskDef(
        id="sib200",
        family="multiple_choice",
        description="SIB-200 topic classification (7 topics, FLORES sentences), log-likelihood",
        build=multiple_choice.sib200_samples,
        template=multiple_choice.SIB200_TEMPLATE,
        literals=multiple_choice.SIB200_LITERALS,
        columns=multiple_choice.SIB200_COLUMNS,
        parallel=True,
        metrics=("acc", "acc_norm"),
        primary="acc",
    ),
    "xcopa": TaskDef(
        id="xcopa", family="multiple_choice",
        description="XCOPA causal commonsense (cause/effect connector in the target language), log-likelihood",
        build=multiple_choice.xcopa_samples, template=multiple_choice.XCOPA_TEMPLATE,
        literals=multiple_choice.XCOPA_LITERALS, columns=multiple_choice.XCOPA_COLUMNS,
        parallel=True, metrics=("acc", "acc_norm"), primary="acc",
    ),
    "xwinograd": TaskDef(
        id="xwinograd", family="multiple_choice",
        description="XWinograd pronoun resolution, partial log-likelihood scoring",
        build=multiple_choice.xwinograd_samples, template=multiple_choice.XWINOGRAD_TEMPLATE,
        literals=(), columns=multiple_choice.XWINOGRAD_COLUMNS,
        parallel=False, metrics=("acc",), primary="acc",
    ),
    "belebele": TaskDef(
        id="belebele", family="multiple_choice",
        description="Belebele reading comprehension (FLORES passages), lettered options, log-likelihood",
        build=multiple_choice.belebele_samples, template=multiple_choice.LETTERED_TEMPLATE,
        literals=multiple_choice.LETTERED_LITERALS, columns=multiple_choice.BELEBELE_COLUMNS,
        parallel=True, metrics=("acc",), primary="acc",
    ),
    "global_mmlu": TaskDef(
        id="global_mmlu", family="multiple_choice",
        description="Global-MMLU knowledge, lettered options, log-likelihood",
        build=multiple_choice.global_mmlu_samples, template=multiple_choice.LETTERED_TEMPLATE,
        literals=multiple_choice.LETTERED_LITERALS, columns=multiple_choice.GLOBAL_MMLU_COLUMNS,
        parallel=True, metrics=("acc",), primary="acc",
    ),
    "xnli": TaskDef(
        id="xnli", family="multiple_choice",
        description="XNLI entailment (premise, right? Yes/Also/No, hypothesis), log-likelihood",
        build=multiple_choice.xnli_samples, template=multiple_choice.XNLI_TEMPLATE,
        literals=multiple_choice.XNLI_LITERALS, columns=multiple_choice.XNLI_COLUMNS,
        parallel=True, metrics=("acc", "acc_norm"), primary="acc",
    ),
    "mgsm": TaskDef(
        id="mgsm", family="math",
        description="MGSM math, native chain of thought (0-shot), exact match on the final number",
        build=math.mgsm_samples, template=math.COT_TEMPLATE, literals=math.COT_LITERALS,
        columns=math.MGSM_COLUMNS, parallel=True, metrics=("exact_match", "lang_fidelity"),
        primary="exact_match",
    ),
    "mgsm_direct": TaskDef(
        id="mgsm_direct", family="math",
        description=f"MGSM math, direct answer ({math.DIRECT_SHOTS}-shot native exemplars), exact match",
        build=math.mgsm_direct_samples, template=math.DIRECT_TEMPLATE, literals=math.DIRECT_LITERALS,
        columns=math.MGSM_COLUMNS, parallel=True, metrics=("exact_match",), primary="exact_match",
    ),
    "flores_en_xx": TaskDef(
        id="flores_en_xx", family="translation",
        description="FLORES-200 devtest, English → the language; chrF++ and BLEU (sacrebleu)",
        build=translation.flores_en_xx_samples, template=translation.TEMPLATE,
        literals=translation.FLORES_EN_XX_LITERALS, columns=translation.TEXT_COLUMNS, parallel=True,
        metrics=("chrf", "lang_fidelity"), primary="chrf++",
    ),
    "flores_xx_en": TaskDef(
        id="flores_xx_en", family="translation",
        description="FLORES-200 devtest, the language → English; chrF++ and BLEU (sacrebleu)",
        build=translation.flores_xx_en_samples, template=translation.TEMPLATE,
        literals=translation.FLORES_XX_EN_LITERALS, columns=translation.TEXT_COLUMNS, parallel=True,
        metrics=("chrf", "lang_fidelity"), primary="chrf++",
    ),
    "ntrex_en_xx": TaskDef(
        id="ntrex_en_xx", family="translation",
        description="NTREX-128, English → the language; chrF++ and BLEU (sacrebleu)",
        build=translation.ntrex_en_xx_samples, template=translation.TEMPLATE,
        literals=translation.NTREX_EN_XX_LITERALS, columns=translation.TEXT_COLUMNS, parallel=True,
        metrics=("chrf", "lang_fidelity"), primary="chrf++",
    ),
    "xquad": TaskDef(
        id="xquad", family="qa",
        description="XQuAD extractive QA, SQuAD F1/EM with language-aware normalization",
        build=qa.xquad_samples, template=qa.XQUAD_TEMPLATE, literals=qa.XQUAD_LITERALS,
        columns=qa.XQUAD_COLUMNS, parallel=True, metrics=("f1", "exact_match", "lang_fidelity"), primary="f1",
    ),
    "lcb": TaskDef(
        id="lcb", family="confusion",
        description="Language Confusion Benchmark (monolingual + cross-lingual prompts), line-level pass rate",
        build=confusion.lcb_samples, template=confusion.LCB_TEMPLATE, literals=(), columns=confusion.LCB_COLUMNS,
        parallel=False, metrics=("lpr", "lpr_mono", "lpr_cross", "line_acc"), primary="lpr",
    ),
}

FAMILIES = {"multiple_choice": multiple_choice, "math": math, "translation": translation, "qa": qa,
            "confusion": confusion}

OFFLINE = ("sib200", "xcopa", "xwinograd", "mgsm", "mgsm_direct", "flores_en_xx", "flores_xx_en", "ntrex_en_xx",
           "xquad", "lcb")
HUB_ONLY = ("belebele", "global_mmlu", "xnli")


@dataclass(frozen=True)
class Suite:
    tasks: tuple[str, ...]
    # items per (task, language) by family kind; None: every item
    limits: dict[str, int | None]
    description: str


SUITES: dict[str, Suite] = {
    "quick": Suite(OFFLINE, {"loglikelihood": 20, "generate": 2},
                   "every offline task in every language it covers, 20 items (log-likelihood) or 2 (generation)"),
    "core": Suite(OFFLINE, {"loglikelihood": None, "generate": None}, "all offline data in full"),
    "hub": Suite(HUB_ONLY, {"loglikelihood": None, "generate": None}, "the hub-only tasks in full (needs the hub)"),
}


def kind(task: TaskDef) -> str:
    return FAMILIES[task.family].KIND


def check_pack(pack, source: str) -> None:
    """Every task a pack names must be a known task id."""
    for task_id in pack.tasks:
        if task_id not in TASKS:
            raise OctoglotError(
                f"pack {source}: tasks.{task_id}: unknown task.{suggest(task_id, list(TASKS))} "
                f"Known: {', '.join(TASKS)}"
            )


def get_task(task_id: str) -> TaskDef:
    if task_id not in TASKS:
        raise OctoglotError(
            f"--tasks: unknown task '{task_id}'.{suggest(task_id, list(TASKS))} Available: {', '.join(TASKS)}"
        )
    return TASKS[task_id]


def parse_tasks(spec: str | None) -> list[TaskDef]:
    if not spec:
        return []
    out = []
    for part in spec.split(","):
        if part.strip() and get_task(part.strip()) not in out:
            out.append(get_task(part.strip()))
    return out


def get_suite(name: str) -> tuple[list[TaskDef], dict[str, int | None]]:
    """The suite's tasks and the item limit of each."""
    if name not in SUITES:
        raise OctoglotError(
            f"--suite: unknown suite '{name}'.{suggest(name, list(SUITES))} Available: {', '.join(SUITES)}"
        )
    suite = SUITES[name]
    chosen = [TASKS[i] for i in suite.tasks if i in TASKS]
    return chosen, {t.id: suite.limits[kind(t)] for t in chosen}
