"""Parity with plain lm-eval on the real SmolLM2: `octoglot run` (the CLI, no response cache) and
lm-eval's `simple_evaluate` on the exported tasks (harness/export.py) give the same log-likelihoods
(within 1e-4), the same greedy generations and the same scores.

Chat template: octoglot's default for smollm2 (on for generation prompts, never for log-likelihood
ones); lm-eval gets `apply_chat_template=True` for the generation tasks only: the same rendering.
Small on purpose (3 items; SIB-200 and MGSM direct in en th, XCOPA in it th, XWinograd in en fr):
two `octoglot run`s, one lm-eval model. The comparison itself (harness.validate.compare, main) is
also tested on self-made records, without a model."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from conftest import SHARED_DATA, needs_data, octoglot
from harness.core import records
from harness.execution import models
from harness.interop import validate
from harness.interop.export import export_lmeval
from harness.core.records import SampleResult
from harness.tasks.registry import all_tasks

TASKS = all_tasks()
from harness.interop.validate import TOLERANCE, compare, markdown, run_lmeval


LIMIT = 3
RUNS = (("sib200,mgsm_direct", "en,th"), ("xcopa,xwinograd", "en,fr,it,th"))
EXPECTED = {("sib200", "en"), ("sib200", "th"), ("mgsm_direct", "en"), ("mgsm_direct", "th"), ("xcopa", "it"),
            ("xcopa", "th"), ("xwinograd", "en"), ("xwinograd", "fr")}


@pytest.fixture(scope="module")
def parity(model_cache, tmp_path_factory):
    """[(exported task rows, octoglot run dir)] per run, and lm-eval's results for all of them."""
    runs, dirs, exported_all = [], [], []
    for i, (tasks, langs) in enumerate(RUNS):
        root = tmp_path_factory.mktemp(f"parity{i}")
        exported = export_lmeval(root / "lm-eval", tasks.split(","), langs.split(","), str(SHARED_DATA),
                                 limit=LIMIT)["tasks"]
        proc = octoglot("run", "--model", "smollm2", "--tasks", tasks, "--langs", langs, "--limit", str(LIMIT),
                        "--output", str(root / "runs"), "--data-dir", str(SHARED_DATA), "--no-cache",
                        env={"OCTOGLOT_CACHE": str(model_cache)})
        assert proc.returncode == 0, proc.stderr[-3000:]
        (run_dir,) = (root / "runs").iterdir()
        runs.append((exported, run_dir))
        dirs.append(root / "lm-eval")
        exported_all += exported
    with pytest.MonkeyPatch.context() as mp:
        for key, value in (("OCTOGLOT_CACHE", str(model_cache)), ("HF_HUB_OFFLINE", "1"), ("HF_DATASETS_OFFLINE", "1")):
            mp.setenv(key, value)
        folder = models.resolve("smollm2", None).args["pretrained"]  # converted once by the session fixture
        lmeval = run_lmeval(dirs, exported_all, "hf", {"pretrained": folder, "dtype": "float32"}, batch_size=8,
                            device="cpu", chat_template=True)
    assert {(t["task"], t["lang"]) for t in exported_all} == EXPECTED
    return runs, lmeval


def items(parity, output_type: str):
    """(task row, octoglot sample record, lm-eval logged sample) for every item of that output type."""
    runs, lmeval = parity
    for exported, run_dir in runs:
        for t in exported:
            if t["output_type"] != output_type:
                continue
            ours = records.read_samples(run_dir, t["lang"], t["task"])
            theirs = {s["doc"]["id"]: s for s in lmeval[t["name"]]["samples"]}
            assert [r["id"] for r in ours] == list(theirs) and len(ours) == LIMIT, t["name"]
            for record in ours:
                assert record["error"] is None, record
                yield t, record, theirs[record["id"]]


def table(parity) -> list[dict]:
    runs, lmeval = parity
    return [row for exported, run_dir in runs for row in compare(exported, run_dir, lmeval)]


@pytest.mark.slow
@needs_data
def test_every_option_log_likelihood_equals_lm_evals(parity):
    n = 0
    for t, ours, theirs in items(parity, "multiple_choice"):
        lm = [float(ll) for ll, _ in theirs["filtered_resps"]]
        assert len(ours["loglikelihoods"]) == len(lm) >= 2
        assert ours["loglikelihoods"] == pytest.approx(lm, abs=TOLERANCE, rel=0), (t["name"], ours["id"])
        n += len(lm)
    assert n == LIMIT * (2 * 7 + 2 * 2 + 2 * 2)  # SIB-200: 7 topics; XCOPA, XWinograd: 2 options


@pytest.mark.slow
@needs_data
def test_multiple_choice_metrics_are_identical_item_by_item(parity):
    for t, ours, theirs in items(parity, "multiple_choice"):
        assert ours["metrics"]["acc"] == theirs["acc"], (t["name"], ours["id"])
        if "acc_norm" in TASKS[t["task"]].metrics:  # octoglot's acc_norm is lm-eval's acc_bytes
            assert ours["metrics"]["acc_norm"] == theirs["acc_bytes"], (t["name"], ours["id"])


@pytest.mark.slow
@needs_data
def test_greedy_generations_and_exact_match_are_identical(parity):
    n = 0
    for t, ours, theirs in items(parity, "generate_until"):
        assert ours["response"] == theirs["resps"][0][0], (t["name"], ours["id"])
        assert ours["metrics"]["exact_match"] == theirs["exact_match"], (t["name"], ours["response"])
        n += 1
    assert n == LIMIT * 2


@pytest.mark.slow
@needs_data
def test_parity_table_scores_are_identical(parity):
    rows = table(parity)
    print("\n" + markdown(rows))
    assert all(r["ok"] for r in rows), markdown(rows)
    assert {(r["task"], r["lang"]) for r in rows} == EXPECTED
    for r in rows:
        assert r["score_octoglot"] == pytest.approx(r["score_lmeval"], abs=1e-12), r


@pytest.mark.slow
@needs_data
def test_the_octoglot_runs_were_uncached_with_the_chat_template_for_generation(parity):
    runs, _ = parity
    for _, run_dir in runs:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["response_cache"] is None and manifest["model"]["chat_template"] is True


# ------------------------------------------------------------------------------------------------
# the comparison itself, on self-made records (no model)


def fake_run(tmp_path, task, lang, results, scores):
    run_dir = tmp_path / "run"
    records.write_samples(run_dir, lang, task, results)
    (run_dir / "results.json").write_text(json.dumps({"scores": [
        {"task": task, "lang": lang, "metric": m, "value": v} for m, v in scores.items()]}))
    return run_dir


def mc_case(tmp_path, lm_lls):
    ours = [SampleResult("a", "h", 0, loglikelihoods=[-1.0, -2.0], metrics={"acc": 1.0, "acc_norm": 1.0}),
            SampleResult("b", "h", 1, loglikelihoods=[-3.0, -2.5], metrics={"acc": 1.0, "acc_norm": 0.0})]
    run_dir = fake_run(tmp_path, "xcopa", "it", ours, {"acc": 1.0, "acc_norm": 0.5})
    exported = [{"name": "octoglot_xcopa_it", "task": "xcopa", "lang": "it", "output_type": "multiple_choice"}]
    samples = [{"doc": {"id": i}, "filter": "none", "filtered_resps": [[ll, False] for ll in lls],
                "acc": acc, "acc_bytes": accb} for i, lls, acc, accb in zip("ab", lm_lls, (1.0, 1.0), (1.0, 0.0))]
    lmeval = {"octoglot_xcopa_it": {"samples": samples, "results": {"acc,none": 1.0, "acc_bytes,none": 0.5}}}
    return compare(exported, run_dir, lmeval)


def test_compare_passes_log_likelihoods_within_the_tolerance(tmp_path):
    rows = mc_case(tmp_path, [[-1.00001, -2.0], [-3.0, -2.50004]])
    assert [r["metric"] for r in rows] == ["acc", "acc_norm (lm-eval acc_bytes)"]
    assert all(r["ok"] for r in rows) and rows[0]["max_abs_delta"] == pytest.approx(4e-5)
    assert rows[1]["score_octoglot"] == rows[1]["score_lmeval"] == 0.5 and rows[0]["per_item_agree"] == "2/2"


def test_compare_fails_log_likelihoods_beyond_the_tolerance(tmp_path):
    rows = mc_case(tmp_path, [[-1.0, -2.0], [-3.0, -2.7]])
    assert not any(r["ok"] for r in rows) and "differ by up to 2.00e-01" in rows[0]["note"]


def gen_case(tmp_path, ours_resp, lm_resp, ours_em, lm_em):
    ours = [SampleResult("1", "h", "18", response=ours_resp, metrics={"exact_match": ours_em})]
    run_dir = fake_run(tmp_path, "mgsm_direct", "en", ours, {"exact_match": ours_em})
    exported = [{"name": "octoglot_mgsm_direct_en", "task": "mgsm_direct", "lang": "en",
                 "output_type": "generate_until"}]
    samples = [{"doc": {"id": "1"}, "filter": "octoglot", "resps": [[lm_resp]], "filtered_resps": ["x"],
                "exact_match": lm_em}]
    lmeval = {"octoglot_mgsm_direct_en": {"samples": samples, "results": {"exact_match,octoglot": lm_em}}}
    (row,) = compare(exported, run_dir, lmeval)
    return row


def test_compare_generation_rows_name_the_cause_of_a_difference(tmp_path):
    assert gen_case(tmp_path / "a", " 18", " 18", 1.0, 1.0)["ok"]
    row = gen_case(tmp_path / "b", " 18", " 17", 1.0, 0.0)
    assert not row["ok"] and row["generations_identical"] == "0/1" and "1 generation(s) differ" in row["note"]
    row = gen_case(tmp_path / "c", " Answer: 18 (9+9)", " Answer: 18 (9+9)", 1.0, 0.0)
    assert not row["ok"] and "scored differently" in row["note"]
    row = gen_case(tmp_path / "d", " 18", "", 1.0, 0.0)
    assert "asked again after a leading newline" in row["note"]


def test_main_prints_the_table_and_fails_on_any_failed_row(monkeypatch, capsys):
    rows = [{"task": "sib200", "lang": "en", "n": 3, "metric": "acc", "max_abs_delta": 1e-5,
             "generations_identical": None, "per_item_agree": "3/3", "score_octoglot": 0.5, "score_lmeval": 0.5,
             "ok": True, "note": ""}]
    canned = {"rows": rows, "seconds": {"export": 0.1, "octoglot": 1.0, "lm-eval": 2.0}, "chat_template": True,
              "workdir": None}
    monkeypatch.setattr(validate, "parity", lambda *a, **k: canned)
    args = SimpleNamespace(model="smollm2", model_args=None, tasks="sib200", langs="en", limit=3, data_dir=None)
    assert validate.main(args) == 0
    out = capsys.readouterr().out
    assert "| sib200 | en | 3 | acc | 1.00e-05 | – | 3/3 | 0.5000 | 0.5000 | ok |" in out and "all 1 row(s) ok" in out
    rows.append({**rows[0], "lang": "th", "ok": False, "note": "log-likelihoods differ"})
    assert validate.main(args) == 1
    assert "| FAIL | log-likelihoods differ |" in capsys.readouterr().out
