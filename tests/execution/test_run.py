"""One real SIB-200 run on the bundled SmolLM2 through the command line."""

import hashlib
import json
import math

import pytest

from conftest import SHARED_DATA, needs_data, octoglot
from harness.core.records import FORMAT_VERSION

pytestmark = [pytest.mark.slow, needs_data]


@pytest.fixture(scope="module")
def run(model_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    proc = octoglot("run", "--model", "smollm2", "--langs", "en,hi", "--tasks", "sib200", "--limit", "3",
                    "--output", str(out), "--data-dir", str(SHARED_DATA), "--batch-size", "7",
                    env={"OCTOGLOT_CACHE": str(model_cache)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = out.iterdir()
    return run_dir, proc


def test_terminal_table_and_run_dir_are_printed(run):
    run_dir, proc = run
    assert "sib200" in proc.stdout and "en" in proc.stdout and "hi" in proc.stdout
    assert f"run directory: {run_dir}" in proc.stdout
    # the run ends with the commands that look at it
    assert f"octoglot leaderboard {run_dir} --out {run_dir / 'report'}" in proc.stdout
    assert f"octoglot compare OTHER_RUN_DIR {run_dir}" in proc.stdout  # no other run in its output folder
    # no library noise for the user: deprecations (transformers' past_key_values was one), weight-loading bars
    for noise in ("deprecated", "Deprecation", "FutureWarning", "Loading weights"):
        assert noise not in proc.stderr, proc.stderr[-3000:]


def test_manifest_records_model_versions_seeds_hashes_and_checksums(run):
    run_dir, _ = run
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["harness"]["name"] == "octoglot" and manifest["harness"]["version"]
    assert manifest["model"]["name"] == "smollm2" and manifest["model"]["backend"] == "hf"
    assert len(manifest["model"]["identity"]["weights_sha256"]) == 64
    for dist in ("lm-eval", "transformers", "datasets", "sacrebleu", "torch"):
        assert manifest["versions"][dist], dist
    assert manifest["seeds"]["sampling"] == 1234 and manifest["limit"] == {"sib200": 3}
    assert "--limit" in manifest["command"]
    units = {u["lang"]: u for u in manifest["units"]}
    assert set(units) == {"en", "hi"}
    for lang, flores in (("en", "eng_Latn"), ("hi", "hin_Deva")):
        unit = units[lang]
        path = SHARED_DATA / f"sib200/data/annotated/{flores}/test.tsv"
        assert unit["data"] == {"kind": "local", "path": str(path.relative_to(SHARED_DATA)),
                                "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        assert unit["task_version"] == 1 and unit["pack_version"] == 1 and len(unit["prompt_hash"]) == 16
        assert unit["n_items"] == 204 and unit["n_samples"] == 3 and unit["n_errors"] == 0
        # format 2: what decides the answers besides the prompt (log-likelihood: no generation, no detector)
        assert (unit["kind"], unit["parallel"], unit["generation"], unit["langid"]) == ("loglikelihood", True, None,
                                                                                         None)
    assert units["en"]["prompt_hash"] != units["hi"]["prompt_hash"]  # prompts are in the target language
    assert manifest["wall_seconds"] > 0 and manifest["peak_rss_mb"] > 100


def test_samples_hold_real_loglikelihoods_and_consistent_metrics(run):
    run_dir, _ = run
    by_lang = {}
    for lang in ("en", "hi"):
        lines = (run_dir / "samples" / lang / "sib200.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert len(records) == 3
        for rec in records:
            assert set(rec) == {"id", "prompt_hash", "target", "loglikelihoods", "response", "metrics", "error",
                                "detected_lang", "extracted", "statistics", "execution", "draws", "details",
                                "prompt", "choices"}
            # what the model was given, for the sample explorer: the context and the seven topic options
            assert rec["prompt"] and len(rec["choices"]) == 7 and rec["choices"][rec["target"]].strip()
            assert rec["error"] is None and rec["response"] is None and rec["statistics"] is None
            assert rec["execution"] is None and rec["draws"] is None and rec["details"] is None
            lls = rec["loglikelihoods"]
            assert len(lls) == 7 and all(math.isfinite(x) and x < 0 for x in lls)
            assert len(set(lls)) == 7  # distinct options get distinct scores
            best = max(range(7), key=lls.__getitem__)
            assert rec["metrics"]["acc"] == float(best == rec["target"])
        by_lang[lang] = records
    # the same seeded items in both languages, with the same gold topic
    assert [r["id"] for r in by_lang["en"]] == [r["id"] for r in by_lang["hi"]]
    assert [r["target"] for r in by_lang["en"]] == [r["target"] for r in by_lang["hi"]]


def test_results_are_long_format_means_of_the_samples(run):
    run_dir, _ = run
    results = json.loads((run_dir / "results.json").read_text())
    assert results["format_version"] == FORMAT_VERSION
    scores = {(s["lang"], s["metric"]): s for s in results["scores"]}
    assert set(scores) == {(lang, m) for lang in ("en", "hi") for m in ("acc", "acc_norm")}
    for (lang, metric), row in scores.items():
        records = [json.loads(x) for x in (run_dir / "samples" / lang / "sib200.jsonl").read_text().splitlines()]
        assert row["n"] == 3 and row["task"] == "sib200"
        assert (row["kind"], row["scale"], row["higher_is_better"], row["primary"]) == ("binary", 1, True,
                                                                                         metric == "acc")
        assert row["value"] == pytest.approx(sum(r["metrics"][metric] for r in records) / 3)
