"""Parity with lm-eval's own XCOPA task, not only with octoglot's export (harness/interop/export.py).

lm-eval's installed task definitions are used unchanged: each task YAML written here only
`include:`s lm-eval's own `lm_eval/tasks/xcopa/default_<lang>.yaml`, so doc_to_text (its
`utils.doc_to_text_<lang>`), doc_to_choice (`utils.doc_to_choice`), doc_to_target (`label`),
`output_type` and the metric come from the installed lm-eval; the YAML swaps only the data source for
the local upstream files octoglot's packs read (`dataset_path: json`, `dataset_kwargs.data_files`).

Proven here:
- Italian, with the real bundled SmolLM2: `octoglot run` (the CLI, no response cache) and lm-eval's
  `simple_evaluate` over its own task score the same seeded items with the same (context,
  continuation) strings, the same per-option log-likelihoods (|Δ| < 1e-4), the same predicted option
  and the same per-item acc.
- The one deliberate prompt difference, without a model: lm-eval's `doc_to_text` drops the premise's
  last character unconditionally ("Drop the period"); Thai XCOPA premises have no full stop, so
  lm-eval cuts off a real Thai character, while octoglot drops a final full stop only when there is
  one. On every Thai test row lm-eval's context is octoglot's premise minus its last
  (non-punctuation) character, everything else equal; on every Italian row (premises end with ".")
  the two agree exactly.
"""

from __future__ import annotations

import inspect
import json
import os
import unicodedata
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SHARED_DATA, missing, needs_data, octoglot, tokenizer_dir
from harness.core.languages import parse_langs
from harness.execution.plan import RunConfig, plan
from harness.tasks.registry import all_tasks

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

TOLERANCE = 1e-4
LIMIT = 8
LANGS = ("it", "th")


# ------------------------------------------------------------------------------------------------
# helpers


def pack_xcopa_file(lang: str, split: str = "test") -> Path:
    """The local upstream XCOPA file octoglot's language pack reads (`tasks.xcopa.local.path`), or its
    sibling split (`val.<lang>.jsonl`, for lm-eval's validation_split)."""
    pack = yaml.safe_load((REPO / "langs" / lang / "pack.yaml").read_text(encoding="utf-8"))
    path = SHARED_DATA / pack["tasks"]["xcopa"]["local"]["path"]
    return path if split == "test" else path.with_name(path.name.replace("test.", f"{split}.", 1))


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def lmeval_xcopa_dir(root: Path) -> Path:
    """Task YAMLs `xcopa_it`, `xcopa_th`: lm-eval's own, over the local files (nothing else changed)."""
    import lm_eval.tasks

    installed = Path(lm_eval.tasks.__file__).parent / "xcopa"
    root.mkdir(parents=True, exist_ok=True)
    for lang in LANGS:
        config = {"include": str(installed / f"default_{lang}.yaml"), "dataset_path": "json", "dataset_name": None,
                  "dataset_kwargs": {"data_files": {"test": str(pack_xcopa_file(lang)),
                                                    "validation": str(pack_xcopa_file(lang, "val"))}}}
        (root / f"xcopa_{lang}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return root


def task_manager(root: Path):
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(root), include_defaults=False)


def lmeval_requests(task) -> dict[str, list[tuple[str, str]]]:
    """{upstream idx: lm-eval's (context, continuation) requests, in option order} over all test docs."""
    task.build_all_requests(rank=0, world_size=1)
    by_doc: dict[str, list] = {}
    for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
        assert inst.request_type == "loglikelihood"
        by_doc.setdefault(str(inst.doc["idx"]), []).append(tuple(inst.arguments))
    return by_doc


def octoglot_samples(langs: tuple[str, ...]) -> dict[str, dict[str, object]]:
    """{lang: {sample id: octoglot's Sample}} for all XCOPA test rows, built by octoglot's planner."""
    config = RunConfig(model="test", model_args=None, tasks=[all_tasks()["xcopa"]], langs=parse_langs(",".join(langs)),
                       limit=None, seed=1234, output=Path("."), data_dir=str(SHARED_DATA))
    units, _ = plan(config)
    return {u.lang: {s.id: s for s in u.samples} for u in units if u.task.id == "xcopa"}


def argmax(values: list[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


# ------------------------------------------------------------------------------------------------
# prompts, no model


@pytest.fixture(scope="module")
def lmeval_tasks(tmp_path_factory) -> dict:
    """{name: lm-eval Task} for xcopa_it and xcopa_th, loaded by lm-eval's own loader."""
    if SHARED_DATA is None:
        missing("the real benchmark data is not found (../shared/data or $OCTOGLOT_DATA)")
    manager = task_manager(lmeval_xcopa_dir(tmp_path_factory.mktemp("lm-eval-xcopa")))
    return dict(manager.load([f"xcopa_{lang}" for lang in LANGS])["tasks"])


@pytest.fixture(scope="module")
def prompts(lmeval_tasks):
    """(rows, lm-eval requests, octoglot samples) per language, over the whole XCOPA test split."""
    ours = octoglot_samples(LANGS)
    return {lang: (read_rows(pack_xcopa_file(lang)), lmeval_requests(lmeval_tasks[f"xcopa_{lang}"]), ours[lang])
            for lang in LANGS}


@needs_data
def test_the_tasks_are_lm_evals_own_over_the_local_files(lmeval_tasks):
    import lm_eval.tasks

    utils_py = Path(lm_eval.tasks.__file__).parent / "xcopa" / "utils.py"
    for lang in LANGS:
        config = lmeval_tasks[f"xcopa_{lang}"].config
        assert config.output_type == "multiple_choice" and config.doc_to_target == "label"
        assert config.dataset_path == "json" and config.test_split == "test"
        assert config.dataset_kwargs["data_files"]["test"] == str(pack_xcopa_file(lang))
        # the prompt functions are the installed utils.py's, found through lm-eval's own YAML
        assert Path(inspect.getsourcefile(config.doc_to_text.func)) == utils_py
        assert config.doc_to_text.func.__name__ == "doc_to_text"
        assert Path(inspect.getsourcefile(config.doc_to_choice)) == utils_py
        assert config.doc_to_choice.__name__ == "doc_to_choice"


@needs_data
def test_local_files_have_the_columns_lm_evals_utils_read(prompts):
    for lang in LANGS:
        rows, theirs, ours = prompts[lang]
        assert len(rows) == 500
        for row in rows:
            assert {"premise", "choice1", "choice2", "question", "label", "idx"} <= set(row), (lang, row)
            assert row["question"] in ("cause", "effect") and row["label"] in (0, 1)
        assert sorted(theirs) == sorted(ours) == sorted(str(r["idx"]) for r in rows)


@needs_data
def test_italian_prompts_are_lm_evals_exactly(prompts):
    """Italian premises end with a full stop: both drop it, and every request string is the same."""
    rows, theirs, ours = prompts["it"]
    for row in rows:
        sample = ours[str(row["idx"])]
        assert row["premise"].strip().endswith(".")
        assert theirs[str(row["idx"])] == sample.loglikelihood_requests(), row["idx"]
        assert sample.prompt.startswith(row["premise"].strip()[:-1] + " "), row["idx"]


@needs_data
def test_thai_differs_only_by_the_premise_character_lm_eval_cuts_off(prompts):
    """lm-eval's XCOPA drops the premise's last character ("Drop the period") unconditionally; Thai
    premises have no full stop, so it cuts off a real character. octoglot keeps the whole premise.
    Everything else (connector, continuations, their order) is the same."""
    rows, theirs, ours = prompts["th"]
    for row in rows:
        item = str(row["idx"])
        premise = row["premise"].strip()
        last = premise[-1]
        assert not unicodedata.category(last).startswith("P"), (item, last)  # no full stop to drop
        requests = ours[item].loglikelihood_requests()
        assert len(requests) == len(theirs[item]) == 2
        for (our_context, our_choice), (lm_context, lm_choice) in zip(requests, theirs[item]):
            assert our_choice == lm_choice, item
            assert our_context.startswith(premise + " "), item  # octoglot: the whole premise
            connector = our_context[len(premise):]
            assert lm_context == premise[:-1] + connector, item  # lm-eval: one character less
            assert lm_context != our_context


# ------------------------------------------------------------------------------------------------
# the real model: octoglot run vs lm-eval's simple_evaluate on the same Italian items


@pytest.fixture(scope="module")
def italian_run(model_cache, tmp_path_factory):
    """(octoglot's sample records, lm-eval's logged samples) for the same seeded Italian items."""
    if SHARED_DATA is None:
        missing("the real benchmark data is not found (../shared/data or $OCTOGLOT_DATA)")
    root = tmp_path_factory.mktemp("xcopa-it")
    proc = octoglot("run", "--model", "smollm2", "--tasks", "xcopa", "--langs", "it", "--limit", str(LIMIT),
                    "--output", str(root / "runs"), "--data-dir", str(SHARED_DATA), "--no-cache",
                    env={"OCTOGLOT_CACHE": str(model_cache)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (root / "runs").iterdir()
    ours = read_rows(run_dir / "samples" / "it" / "xcopa.jsonl")
    assert len(ours) == LIMIT

    import lm_eval
    from lm_eval.models.huggingface import HFLM

    # lm-eval's `samples` selects rows by position; upstream idx is the row's position in the file
    positions = {str(row["idx"]): n for n, row in enumerate(read_rows(pack_xcopa_file("it")))}
    selected = sorted(positions[r["id"]] for r in ours)  # sorted: lm-eval maps doc_id back through this list
    lm = HFLM(pretrained=str(tokenizer_dir(model_cache)), dtype="float32", batch_size=8, device="cpu")
    evaluated = lm_eval.simple_evaluate(model=lm, tasks=["xcopa_it"], samples={"xcopa_it": selected},
                                        task_manager=task_manager(lmeval_xcopa_dir(root / "lm-eval")),
                                        log_samples=True, bootstrap_iters=0)
    theirs = {str(s["doc"]["idx"]): s for s in evaluated["samples"]["xcopa_it"] if s["filter"] == "none"}
    for s in theirs.values():
        assert s["doc_id"] == s["doc"]["idx"]
    return ours, theirs


@pytest.mark.slow
@needs_data
def test_same_items(italian_run):
    ours, theirs = italian_run
    assert sorted(r["id"] for r in ours) == sorted(theirs) and len(theirs) == LIMIT
    assert all(r["error"] is None for r in ours)


@pytest.mark.slow
@needs_data
def test_same_request_strings(italian_run):
    ours, theirs = italian_run
    samples = octoglot_samples(("it",))["it"]
    for record in ours:
        assert [tuple(a) for a in theirs[record["id"]]["arguments"]] == samples[record["id"]].loglikelihood_requests()


@pytest.mark.slow
@needs_data
def test_every_option_log_likelihood_within_tolerance(italian_run):
    ours, theirs = italian_run
    deltas = []
    for record in ours:
        lm = [float(ll) for ll, _ in theirs[record["id"]]["filtered_resps"]]
        assert len(record["loglikelihoods"]) == len(lm) == 2
        deltas += [abs(a - b) for a, b in zip(record["loglikelihoods"], lm)]
    print(f"\nmax |Δ log-likelihood| over {len(deltas)} options: {max(deltas):.3g}")
    assert len(deltas) == 2 * LIMIT and max(deltas) < TOLERANCE


@pytest.mark.slow
@needs_data
def test_same_prediction_and_acc_per_item(italian_run):
    ours, theirs = italian_run
    for record in ours:
        lm = theirs[record["id"]]
        lm_lls = [float(ll) for ll, _ in lm["filtered_resps"]]
        assert argmax(record["loglikelihoods"]) == argmax(lm_lls), record["id"]
        assert record["metrics"]["acc"] == lm["acc"] == float(argmax(lm_lls) == lm["target"]), record["id"]
