"""Parity with plain lm-eval on the real SmolLM2: `octoglot run` (the CLI, no response cache) and
lm-eval's `simple_evaluate` on the exported tasks (harness/export.py) give the same log-likelihoods
(within 1e-4), the same greedy generations and the same scores.

Chat template: octoglot's default for smollm2 (on for generation prompts, never for log-likelihood
ones); lm-eval gets `apply_chat_template=True` for the generation tasks only: the same rendering.
Small on purpose (3 items; SIB-200 and MGSM direct in en th, XCOPA in it th, XWinograd in en fr):
two `octoglot run`s, one lm-eval model."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED_DATA, needs_data, octoglot
from harness import models, records
from harness.export import export_lmeval
from harness.tasks import TASKS
from harness.validate import TOLERANCE, compare, markdown, run_lmeval

pytestmark = [pytest.mark.slow, needs_data]

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


def test_every_option_log_likelihood_equals_lm_evals(parity):
    n = 0
    for t, ours, theirs in items(parity, "multiple_choice"):
        lm = [float(ll) for ll, _ in theirs["filtered_resps"]]
        assert len(ours["loglikelihoods"]) == len(lm) >= 2
        assert ours["loglikelihoods"] == pytest.approx(lm, abs=TOLERANCE, rel=0), (t["name"], ours["id"])
        n += len(lm)
    assert n == LIMIT * (2 * 7 + 2 * 2 + 2 * 2)  # SIB-200: 7 topics; XCOPA, XWinograd: 2 options


def test_multiple_choice_metrics_are_identical_item_by_item(parity):
    for t, ours, theirs in items(parity, "multiple_choice"):
        assert ours["metrics"]["acc"] == theirs["acc"], (t["name"], ours["id"])
        if "acc_norm" in TASKS[t["task"]].metrics:  # octoglot's acc_norm is lm-eval's acc_bytes
            assert ours["metrics"]["acc_norm"] == theirs["acc_bytes"], (t["name"], ours["id"])


def test_greedy_generations_and_exact_match_are_identical(parity):
    n = 0
    for t, ours, theirs in items(parity, "generate_until"):
        assert ours["response"] == theirs["resps"][0][0], (t["name"], ours["id"])
        assert ours["metrics"]["exact_match"] == theirs["exact_match"], (t["name"], ours["response"])
        n += 1
    assert n == LIMIT * 2


def test_parity_table_scores_are_identical(parity):
    rows = table(parity)
    print("\n" + markdown(rows))
    assert all(r["ok"] for r in rows), markdown(rows)
    assert {(r["task"], r["lang"]) for r in rows} == EXPECTED
    for r in rows:
        assert r["score_octoglot"] == pytest.approx(r["score_lmeval"], abs=1e-12), r


def test_the_octoglot_runs_were_uncached_with_the_chat_template_for_generation(parity):
    runs, _ = parity
    for _, run_dir in runs:
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["response_cache"] is None and manifest["model"]["chat_template"] is True
