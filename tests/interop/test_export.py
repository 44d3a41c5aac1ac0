"""`octoglot export lm-eval` (harness/export.py), no model: the files, their headers, the groups, the
list of what is not exported, byte-identical re-export, and, through lm-eval's own loader, requests
that equal octoglot's (context, continuation) pairs and filters that score like octoglot's scorers."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import SHARED_DATA, missing, needs_data
from harness.interop import export
from harness.core.errors import OctoglotError
from harness.tasks.families import word_problems as math, translation
from harness.core.languages import ALL_CODES, parse_langs
from harness.core.records import Sample
from harness.execution.plan import RunConfig, plan, task_literals
from harness.tasks import packs
from harness.tasks.registry import all_tasks
from harness.tasks.suites import offline_tasks

TASKS = all_tasks()
OFFLINE = [t.id for t in offline_tasks()]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

LIMIT = 3
EXPORTED = ("sib200", "xcopa", "xwinograd", "mgsm_direct", "flores_en_xx", "flores_xx_en", "ntrex_en_xx")


def octoglot_units(tasks: list[str], limit: int | None, local_only: bool = False):
    config = RunConfig(model="test", model_args=None, tasks=[TASKS[t] for t in tasks], langs=parse_langs(None),
                       limit=limit, seed=1234, output=Path("."), data_dir=str(SHARED_DATA), local_only=local_only)
    units, _ = plan(config)
    return {(u.task.id, u.lang): u for u in units}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    if SHARED_DATA is None:
        missing("the real benchmark data is not found (../shared/data or $OCTOGLOT_DATA)")
    out = tmp_path_factory.mktemp("lmeval")
    result = export.export_lmeval(out, None, None, str(SHARED_DATA), limit=LIMIT)
    return out, result


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def load_lmeval(out: Path, names: list[str]) -> dict:
    """lm-eval's own loader over the export folder only: {task name: Task} of the leaf tasks."""
    from lm_eval.tasks import TaskManager

    return dict(TaskManager(include_path=str(out), include_defaults=False).load(names)["tasks"])


# ------------------------------------------------------------------------------------------------
# files


@needs_data
def test_one_yaml_and_one_docs_file_per_exportable_task_and_language(exported):
    out, result = exported
    units = octoglot_units(list(EXPORTED), LIMIT)
    assert {(t["task"], t["lang"]) for t in result["tasks"]} == set(units)
    assert {t["task"] for t in result["tasks"]} == set(EXPORTED)
    for row in result["tasks"]:
        name = f"octoglot_{row['task']}_{row['lang']}"
        assert row["name"] == name and row["n_docs"] == LIMIT
        assert Path(row["yaml"]) == out / f"{name}.yaml" and Path(row["docs"]) == out / "data" / f"{name}.jsonl"
        config = yaml.safe_load(Path(row["yaml"]).read_text(encoding="utf-8"))
        assert config["task"] == name
        assert config["dataset_path"] == "json" and config["test_split"] == "test"
        data_file = Path(config["dataset_kwargs"]["data_files"]["test"])
        assert data_file.is_absolute() and data_file == Path(row["docs"])
        docs = [json.loads(line) for line in data_file.read_text(encoding="utf-8").splitlines()]
        samples = units[(row["task"], row["lang"])].samples
        assert [d["id"] for d in docs] == [s.id for s in samples]
        assert [d["prompt_hash"] for d in docs] == [s.prompt_hash for s in samples]
        assert config["target_delimiter"] == ""
        if row["task"] in ("sib200", "xcopa"):
            assert config["output_type"] == "multiple_choice"
            assert [m["metric"] for m in config["metric_list"]] == ["acc", "acc_bytes"]
        if row["task"] == "xwinograd":  # lm-eval's multiple-input form
            assert (config["doc_to_text"], config["doc_to_choice"], config["doc_to_target"]) == \
                ("gold", "contexts", "continuation")
            assert [m["metric"] for m in config["metric_list"]] == ["acc"]
        if row["task"] == "mgsm_direct":
            assert config["generation_kwargs"] == {"until": ["\n"], "max_gen_toks": 24, "do_sample": False}
            assert [f["name"] for f in config["filter_list"]] == ["octoglot"]
        if row["task"].startswith(("flores", "ntrex")):
            target = "en" if row["task"] == "flores_xx_en" else row["lang"]
            expected = ["chrf++"] if target == "th" else ["chrf++", "bleu"]
            assert [m["metric"] for m in config["metric_list"]] == expected


@needs_data
def test_every_file_has_the_generated_header_with_versions_hashes_and_checksums(exported):
    out, result = exported
    units = octoglot_units(list(EXPORTED), LIMIT)
    for row in result["tasks"]:
        text = Path(row["yaml"]).read_text(encoding="utf-8")
        header = [line for line in text.splitlines() if line.startswith("#")]
        assert header[0].startswith("# Generated by octoglot 0.1.0, `octoglot export lm-eval`")
        assert "Do not edit" in header[0]
        unit = units[(row["task"], row["lang"])]
        joined = "\n".join(header)
        assert f"prompt hash: {unit.info['prompt_hash']}" in joined
        assert f"version {unit.info['task_version']}" in joined and f"pack langs/{row['lang']}/pack.yaml" in joined
        source = SHARED_DATA / unit.info["data"]["path"]
        assert f"sha256 {hashlib.sha256(source.read_bytes()).hexdigest()}" in joined
        for extra in unit.info["data"].get("extra", {}).values():
            assert f"{extra['path']} sha256 {extra['sha256']}" in joined
        docs_sha = hashlib.sha256(Path(row["docs"]).read_bytes()).hexdigest()
        assert f"docs: data/{row['name']}.jsonl sha256 {docs_sha}" in joined
    for group in result["groups"]:
        assert Path(group["yaml"]).read_text(encoding="utf-8").startswith("# Generated by octoglot")


@needs_data
def test_group_per_task_is_the_macro_average_over_its_languages(exported):
    out, result = exported
    by_task: dict[str, list[str]] = {}
    for row in result["tasks"]:
        by_task.setdefault(row["task"], []).append(row["name"])
    assert {g["task"] for g in result["groups"]} == set(by_task)
    for group in result["groups"]:
        config = yaml.safe_load((out / f"octoglot_{group['task']}.yaml").read_text(encoding="utf-8"))
        assert config["group"] == f"octoglot_{group['task']}" and config["task"] == by_task[group["task"]]
        aggs = config["aggregate_metric_list"]
        assert aggs and all(a["weight_by_size"] is False and a["aggregation"] == "mean" for a in aggs)
        expected = {"sib200": ["acc", "acc_bytes"], "xcopa": ["acc", "acc_bytes"], "xwinograd": ["acc"],
                    "mgsm_direct": ["exact_match"]}.get(group["task"], ["chrf++"])
        assert [a["metric"] for a in aggs] == expected
        assert all(a["filter_list"] == (["none"] if group["task"] in ("sib200", "xcopa", "xwinograd")
                                        else ["octoglot"]) for a in aggs)


@needs_data
def test_not_exported_lists_every_task_lm_eval_cannot_express_with_the_reason(exported):
    out, result = exported
    listed = {(r["task"], r["lang"]) for r in result["not_exported"]}
    inexpressible = ["mgsm", "xquad", "lcb", "mhumaneval", "mhumaneval_expert", "humaneval_xl", "ifeval",
                     "ifeval_es_mt", "m_ifeval", "bfcl"]
    sized = ["niah_single", "niah_multikey", "niah_multivalue", "niah_multiquery", "niah_none", "cwe"]
    assert sorted(inexpressible + sized) == sorted(t for t in OFFLINE if TASKS[t].not_exportable)  # by their families
    units = octoglot_units(inexpressible, 1, local_only=True)
    long_context = {(t, lang) for t in sized for lang in ALL_CODES}  # sized in a model's tokens: not built here
    # every covered language of these (Hindi's ifeval on the hub only)
    assert listed == set(units) | {("ifeval", "hi")} | long_context
    inexpressible += sized
    assert all(r["reason"] == TASKS[r["task"]].not_exportable for r in result["not_exported"])
    text = (out / "NOT_EXPORTED.md").read_text(encoding="utf-8")
    for task in inexpressible:
        assert f"| {task} |" in text
    assert "extract_number" in text and "normalization" in text and "language" in text
    left_out = {(r["task"], r["lang"], r["metric"]) for r in result["metrics_not_exported"]}
    assert ("flores_en_xx", "th", "bleu") in left_out and ("ntrex_en_xx", "th", "bleu") in left_out
    assert ("flores_xx_en", "th", "bleu") not in left_out  # into English: 13a, as lm-eval's
    assert all((t, lang, "lang_fidelity") in left_out for (t, lang) in
               {(r["task"], r["lang"]) for r in result["tasks"] if r["task"].startswith(("flores", "ntrex"))})
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "acc_bytes" in readme and "--apply_chat_template" in readme and "octoglot_sib200_th" in readme
    assert set(result["differences"]) == set(EXPORTED)


@needs_data
def test_a_second_export_is_byte_identical(exported, tmp_path):
    out, result = exported
    before = snapshot(out)
    again = export.export_lmeval(out, None, None, str(SHARED_DATA), limit=LIMIT)
    assert snapshot(out) == before
    assert again == result
    # into another folder: the same bytes but the absolute data path
    other = export.export_lmeval(tmp_path / "other", None, None, str(SHARED_DATA), limit=LIMIT)
    elsewhere = str(tmp_path / "other").encode()
    moved = {k: v.replace(elsewhere, str(out).encode()) for k, v in snapshot(tmp_path / "other").items()}
    assert moved == before and len(other["tasks"]) == len(result["tasks"])


@needs_data
def test_re_export_with_fewer_tasks_removes_the_stale_generated_files(tmp_path):
    out = tmp_path / "x"
    export.export_lmeval(out, ["sib200", "xcopa"], ["en", "it"], str(SHARED_DATA), limit=2)
    (out / "mine.yaml").write_text("task: mine\n")  # not ours: kept
    result = export.export_lmeval(out, ["xcopa"], None, str(SHARED_DATA), limit=2)
    assert sorted(p.name for p in out.glob("*.yaml")) == ["mine.yaml", "octoglot_xcopa.yaml", "octoglot_xcopa_it.yaml",
                                                         "octoglot_xcopa_th.yaml"]
    assert sorted(p.name for p in (out / "data").iterdir()) == ["octoglot_xcopa_it.jsonl", "octoglot_xcopa_th.jsonl"]
    assert [t["lang"] for t in result["tasks"]] == ["it", "th"]


@needs_data
def test_full_export_has_every_item():
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = export.export_lmeval(Path(tmp), ["sib200", "xwinograd"], ["en", "th"], str(SHARED_DATA))
        counts = {(t["task"], t["lang"]): t["n_docs"] for t in result["tasks"]}
    units = octoglot_units(["sib200", "xwinograd"], None)
    assert counts == {k: len(u.samples) for k, u in units.items() if k[1] in ("en", "th")}
    assert counts[("sib200", "en")] == 204


def test_unknown_task_and_bad_limit_are_one_line_errors(tmp_path):
    with pytest.raises(OctoglotError, match="unknown task 'sib20'. Did you mean 'sib200'"):
        export.export_lmeval(tmp_path, ["sib20"], None, None)
    with pytest.raises(OctoglotError, match="--limit"):
        export.export_lmeval(tmp_path, ["sib200"], None, None, limit=0)


def test_tasks_that_cannot_be_expressed_are_listed_without_reading_data(tmp_path):
    result = export.export_lmeval(tmp_path, ["lcb", "xquad"], ["de"], None)
    assert result["tasks"] == [] and result["groups"] == []
    assert [(r["task"], r["lang"]) for r in result["not_exported"]] == [("lcb", "de"), ("xquad", "de")]
    assert "| lcb | de |" in (tmp_path / "NOT_EXPORTED.md").read_text(encoding="utf-8")


@needs_data
def test_main_prints_what_was_exported(tmp_path, capsys):
    args = SimpleNamespace(out=str(tmp_path), tasks="xcopa,mgsm", langs="it,th", data_dir=str(SHARED_DATA), limit=2,
                           seed=1234)
    assert export.main(args) == 0
    printed = capsys.readouterr().out
    assert "exported octoglot_xcopa_it: 2 docs" in printed and "not exported (1): mgsm/th" in printed


# ------------------------------------------------------------------------------------------------
# lm-eval's own loader


@needs_data
def test_lm_eval_builds_exactly_octoglots_requests(exported):
    """What must fail when the prompts of the export and of `octoglot run` drift apart."""
    out, result = exported
    tasks = load_lmeval(out, [g["name"] for g in result["groups"]])
    assert set(tasks) == {t["name"] for t in result["tasks"]}
    units = octoglot_units(list(EXPORTED), LIMIT)
    checked = 0
    for row in result["tasks"]:
        task = tasks[row["name"]]
        task.build_all_requests(rank=0, world_size=1)
        by_doc: dict[str, list] = {}
        for inst in task.instances:
            by_doc.setdefault(inst.doc["id"], []).append(inst)
        unit = units[(row["task"], row["lang"])]
        assert list(by_doc) == [s.id for s in unit.samples]
        for sample in unit.samples:
            insts = sorted(by_doc[sample.id], key=lambda i: i.idx)
            if unit.task.kind == "loglikelihood":
                assert [tuple(i.arguments) for i in insts] == sample.loglikelihood_requests(), (row["name"], sample.id)
                assert all(i.request_type == "loglikelihood" for i in insts)
            else:
                (inst,) = insts
                context, kwargs = inst.arguments
                assert context == sample.prompt, (row["name"], sample.id)
                assert kwargs == unit.task.generation(sample).kwargs()
            checked += 1
    assert checked == LIMIT * len(result["tasks"])


@needs_data
def test_lm_eval_gold_is_octoglots_gold(exported):
    out, result = exported
    names = [t["name"] for t in result["tasks"] if t["task"] in ("sib200", "xwinograd", "mgsm_direct", "flores_en_xx")]
    tasks = load_lmeval(out, names)
    units = octoglot_units(list(EXPORTED), LIMIT)
    for row in result["tasks"]:
        if row["name"] not in names:
            continue
        task = tasks[row["name"]]
        docs = list(task.test_docs())
        for doc, sample in zip(docs, units[(row["task"], row["lang"])].samples, strict=True):
            if row["task"] == "xwinograd":
                assert task.doc_to_text(doc) == sample.target  # multiple input: the gold index
                assert task.doc_to_choice(doc) == list(sample.contexts)
            elif row["task"] == "sib200":
                assert task.doc_to_target(doc) == sample.target
                assert task.doc_to_choice(doc) == list(sample.choices)
            else:
                assert task.doc_to_target(doc) == sample.target


# ------------------------------------------------------------------------------------------------
# filters: lm-eval's filter + metric from the exported config against octoglot's scorer


def synthetic_task(tmp_path: Path, task_id: str, lang: str, golds: list[str]):
    """An exported lm-eval task over self-authored items, one per gold."""
    task = TASKS[task_id]
    answer_lang = None if task_id == "mgsm_direct" else lang
    # the scorer's answer words, as the builder puts them on every sample (from the packs)
    meta = math.answer_vocabulary(task_literals(task, packs.load_pack(lang), lang)) if task_id.startswith("mgsm") else {}
    samples = [Sample(str(i), task_id, lang, f"Q{i}", target=gold, answer_lang=answer_lang, meta=meta)
               for i, gold in enumerate(golds)]
    docs_path = tmp_path / "data" / f"{task_id}_{lang}.jsonl"
    docs_path.parent.mkdir(parents=True, exist_ok=True)
    docs_path.write_text("".join(json.dumps(d) + "\n" for d in export.documents(task, samples)))
    info = {"task_version": 1, "pack_version": 1, "prompt_hash": "0" * 16}
    config, _ = export.task_config(task, lang, samples, docs_path, info)
    (tmp_path / f"{config['task']}.yaml").write_text(export._dump_yaml(config))
    (lm_task,) = load_lmeval(tmp_path, [config["task"]]).values()
    lm_task.build_all_requests(rank=0, world_size=1)
    return samples, lm_task


def lmeval_scores(lm_task, responses: list[str]) -> list[dict]:
    """Score responses (one per doc, in order) as lm-eval's evaluator does: filters, then metrics."""
    instances = sorted(lm_task.instances, key=lambda i: i.doc_id)
    for inst, response in zip(instances, responses, strict=True):
        inst.resps, inst.filtered_resps = [response], {}
    lm_task.apply_filters()
    return [{"filtered": inst.filtered_resps["octoglot"],
             **lm_task.process_results(inst.doc, [inst.filtered_resps["octoglot"]])} for inst in instances]


# (lang, response, gold): lm-eval's exact_match equals octoglot's
MGSM_AGREE = [
    ("en", " 18", "18"), ("en", " 18 dollars.", "18"), ("en", " $1,234", "1234"), ("en", " 1,234.00", "1234"),
    ("en", " 18.5", "18"), ("en", " 007", "7"), ("en", " 12 apples and 5 pears", "5"), ("en", "", "5"),
    ("en", " 1.000", "1"), ("en", " -3", "3"), ("en", " 25", "5"), ("en", " 0", "0"), ("en", " 12,34", "1234"),
    ("de", " 1.234", "1234"), ("de", " 18,00", "18"), ("de", " 1,5", "15"), ("de", " 1.5", "15"),
    ("de", " 18,000", "18"), ("de", " 1.234,0 €", "1234"), ("fr", " 1 234", "1234"), ("fr", " 1\u202f234", "1234"),
    ("es", " 2.125", "2125"), ("th", " 18 บาท", "18"), ("en", " I think 4", "18"),
]
# documented differences (README "What differs"): octoglot reads more
MGSM_DIFFER = [
    ("en", " Answer: 5 (2+3)", "5"),  # the number after an answer prefix
    ("th", " ๑๘", "18"),  # Thai digits
    ("en", " \u22125", "5"),  # the Unicode minus sign: octoglot reads -5
    ("en", " 12,34,5", "5"),  # malformed grouping: octoglot takes the last digit run
    ("de", " 1,000,000", "1000000"),  # the decimal separator used as a thousands separator, several times
]


@pytest.mark.parametrize("cases, agree", [(MGSM_AGREE, True), (MGSM_DIFFER, False)])
def test_mgsm_direct_filter_scores_like_extract_number_except_where_documented(tmp_path, cases, agree):
    for lang in sorted({c[0] for c in cases}):
        rows = [c for c in cases if c[0] == lang]
        samples, lm_task = synthetic_task(tmp_path / lang, "mgsm_direct", lang, [gold for _, _, gold in rows])
        scored = lmeval_scores(lm_task, [response for _, response, _ in rows])
        for (_, response, gold), sample, lm in zip(rows, samples, scored):
            ours = math.score(sample, response).metrics["exact_match"]
            assert bool(lm["exact_match"] == ours) is agree, (lang, response, gold, ours, lm)


TRANSLATION_RESPONSES = [
    "Hallo Welt.", "  Hallo Welt  ", '"Hallo Welt."', '"Ja", sagte er, "gut"', "\u201eHallo\u201c", "«Bonjour»",
    "\u00bbHallo\u00ab", '""', '" "', '"x"', "", "   ", "\u2028Hallo", "Hallo\u2028Welt", "'x'", '"a',
    "「こんにちは」",
    '"Er sagte "ja""', "\u201cQuoted\u201d ", "\u201eHallo\u201d", "\u2018Hi\u2019", "\u201aHi\u2018", "Zeile\rzwei",
    "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35", "\u00a0Hallo\u00a0", "\x1cHallo",
]


def test_translation_filter_is_clean_hypothesis(tmp_path):
    samples, lm_task = synthetic_task(tmp_path, "flores_en_xx", "de", ["Referenz."] * len(TRANSLATION_RESPONSES))
    scored = lmeval_scores(lm_task, TRANSLATION_RESPONSES)
    for response, lm in zip(TRANSLATION_RESPONSES, scored):
        assert lm["filtered"] == translation.clean_hypothesis(response), repr(response)


def test_exported_metric_names_cover_octoglots_metrics():
    """acc_norm -> acc_bytes; every offline task is either exported or listed with a reason."""
    for task_id in OFFLINE:
        task = TASKS[task_id]
        assert (export.exportable(task) is None) == (task_id in EXPORTED), task_id


def test_no_chosen_language_has_the_tasks(tmp_path):
    with pytest.raises(OctoglotError, match="none of the chosen languages has these tasks"):
        export.export_lmeval(tmp_path, ["xcopa"], ["en"], None)
