"""``--resume`` keeps only stored records made with the planned prompts: a unit whose stored items or prompt
hashes differ from the plan (the pack or the data changed since the run started) is refused with one line
naming the unit, before anything is written."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from conftest import SHARED_DATA, needs_data, octoglot
from harness.core.errors import OctoglotError
from harness.core.languages import get_language
from harness.core.records import FORMAT_VERSION, SampleResult, write_json, write_samples
from harness.execution.plan import RunConfig, plan
from harness.execution.run import finished_results
from harness.tasks.registry import get_task

pytestmark = needs_data


def config(tmp_path) -> RunConfig:
    return RunConfig(model="dummy", model_args=None, tasks=[get_task("sib200")], langs=[get_language("de")],
                     limit=3, seed=1234, output=tmp_path, data_dir=str(SHARED_DATA))


def stored(run_dir, unit, change=None) -> None:
    results = [SampleResult(s.id, s.prompt_hash, s.target, loglikelihoods=[-1.0] * 7, metrics={"acc": 0.0})
               for s in unit.samples]
    if change:
        results = change(results)
    write_samples(run_dir, unit.lang, unit.task.id, results)


def test_matching_records_are_kept(tmp_path):
    (unit,), _ = plan(config(tmp_path))
    stored(tmp_path, unit)
    assert [r.id for r in finished_results(tmp_path, unit)] == [s.id for s in unit.samples]


@pytest.mark.parametrize("change, expected", [
    (lambda rs: [replace(rs[0], prompt_hash="0" * 16), *rs[1:]], "was stored with prompt hash 0000000000000000"),
    (lambda rs: rs[:-1], "stored items differ from the plan (2 stored, 3 planned)"),
])
def test_records_made_with_other_prompts_are_refused(tmp_path, change, expected):
    (unit,), _ = plan(config(tmp_path))
    stored(tmp_path, unit, change)
    with pytest.raises(OctoglotError) as err:
        finished_results(tmp_path, unit)
    message = str(err.value)
    assert message.startswith("--resume: unit sib200/de (") and expected in message and "\n" not in message


def test_the_command_refuses_before_running_anything(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = config(tmp_path)
    write_json(run_dir / "run_config.json", {"format_version": FORMAT_VERSION, **cfg.to_json()})
    (unit,), _ = plan(cfg)
    stored(run_dir, unit, lambda rs: [replace(r, prompt_hash="f" * 16) for r in rs])
    before = (run_dir / "samples" / "de" / "sib200.jsonl").read_text()
    done = octoglot("run", "--resume", str(run_dir))
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and "--resume: unit sib200/de" in done.stderr
    assert (run_dir / "samples" / "de" / "sib200.jsonl").read_text() == before  # nothing rewritten
    assert not (run_dir / "manifest.json").exists()
    assert json.loads((run_dir / "run_config.json").read_text())["model"] == "dummy"
