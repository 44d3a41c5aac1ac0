"""Parity with plain lm-eval on the real SmolLM2: `octoglot run` (the CLI, no response cache) and
lm-eval's `simple_evaluate` on the exported tasks (harness/export.py) give the same log-likelihoods
(within 1e-4), the same greedy generations and the same scores.

Chat template: octoglot's default for smollm2 (on for generation prompts, never for log-likelihood
ones); lm-eval gets `apply_chat_template=True` for the generation tasks only, the same rendering.
Small on purpose: 3 items; SIB-200 in en fr it th, XCOPA in it th, XWinograd in en fr, MGSM direct in
en de."""

from __future__ import annotations

import pytest

from conftest import SHARED_DATA, needs_data, octoglot
from harness import models, records
from harness.export import export_lmeval
from harness.validate import TOLERANCE, compare, markdown, run_lmeval

pytestmark = [pytest.mark.slow, needs_data]

LIMIT = 3
RUNS = {"loglikelihood": ("sib200,xcopa,xwinograd", "en,fr,it,th"), "generation": ("mgsm_direct", "en,de")}


@pytest.fixture(scope="module")
def parity(model_cache, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCTOGLOT_CACHE", str(model_cache))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        folder = models.resolve("smollm2", None).args["pretrained"]  # converted once by the fixture
        out = {}
        for kind, (tasks, langs) in RUNS.items():
            root = tmp_path_factory.mktemp(kind)
            exported = export_lmeval(root / "lm-eval", tasks.split(","), langs.split(","), str(SHARED_DATA),
                                     limit=LIMIT)["tasks"]
            proc = octoglot("run", "--model", "smollm2", "--tasks", tasks, "--langs", langs, "--limit", str(LIMIT),
                            "--output", str(root / "runs"), "--data-dir", str(SHARED_DATA), "--no-cache",
                            env={"OCTOGLOT_CACHE": str(model_cache)})
            assert proc.returncode == 0, proc.stderr[-3000:]
            (run_dir,) = (root / "runs").iterdir()
            lmeval = run_lmeval(root / "lm-eval", exported, "hf", {"pretrained": folder, "dtype": "float32"},
                                batch_size=8, device="cpu", chat_template=True)
            out[kind] = (exported, run_dir, lmeval)
    return out


def pairs(parity, kind):
    """(task row, octoglot sample record, lm-eval logged sample) for every item."""
    exported, run_dir, lmeval = parity[kind]
    for t in exported:
        ours = records.read_samples(run_dir, t["lang"], t["task"])
        theirs = {s["doc"]["id"]: s for s in lmeval[t["name"]]["samples"]}
        assert [r["id"] for r in ours] == list(theirs) and len(ours) == LIMIT, t["name"]
        for record in ours:
            assert record["error"] is None, record
            yield t, record, theirs[record["id"]]


def test_every_option_log_likelihood_equals_lm_evals(parity):
    n = 0
    for t, ours, theirs in pairs(parity, "loglikelihood"):
        lm = [float(ll) for ll, _ in theirs["filtered_resps"]]
        assert len(ours["loglikelihoods"]) == len(lm) >= 2
        assert ours["loglikelihoods"] == pytest.approx(lm, abs=TOLERANCE, rel=0), (t["name"], ours["id"])
        n += len(lm)
    assert n == LIMIT * (4 * 7 + 2 * 2 + 2 * 2)  # SIB-200 7 topics, XCOPA and XWinograd 2 options


def test_multiple_choice_metrics_and_scores_are_identical(parity):
    exported, run_dir, lmeval = parity["loglikelihood"]
    for t, ours, theirs in pairs(parity, "loglikelihood"):
        assert ours["metrics"]["acc"] == theirs["acc"]
        if "acc_norm" in ours["metrics"]:  # octoglot's acc_norm is lm-eval's acc_bytes
            assert ours["metrics"]["acc_norm"] == theirs["acc_bytes"]
    rows = compare(exported, run_dir, lmeval)
    assert all(r["ok"] for r in rows), markdown(rows)
    assert {(r["task"], r["lang"]) for r in rows} == {("sib200", c) for c in ("en", "fr", "it", "th")} | \
        {("xcopa", "it"), ("xcopa", "th"), ("xwinograd", "en"), ("xwinograd", "fr")}
    for r in rows:
        assert r["score_octoglot"] == pytest.approx(r["score_lmeval"], abs=1e-12)


def test_greedy_generations_and_exact_match_are_identical(parity):
    exported, run_dir, lmeval = parity["generation"]
    n = 0
    for t, ours, theirs in pairs(parity, "generation"):
        assert ours["response"] == theirs["resps"][0][0], (t["name"], ours["id"])
        assert ours["metrics"]["exact_match"] == theirs["exact_match"], (t["name"], ours["response"])
        n += 1
    assert n == LIMIT * 2
    rows = compare(exported, run_dir, lmeval)
    assert all(r["ok"] for r in rows), markdown(rows)
    print("\n" + markdown(compare(*parity["loglikelihood"]) + rows))


def test_the_octoglot_run_was_uncached_and_used_the_chat_template_for_generation(parity):
    import json

    for kind in RUNS:
        manifest = json.loads((parity[kind][1] / "manifest.json").read_text())
        assert manifest["response_cache"] is None
        assert manifest["model"]["chat_template"] is True
