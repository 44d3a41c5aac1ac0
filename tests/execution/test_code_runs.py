"""Code tasks through the real command line: every program runs in the sandbox, every record keeps the program,
its outcome, exit status, runtime and stderr tail, the manifest names the sandbox and its limits; data errors are
reported as such and never counted; --samples gives pass@k; --unsafe-exec is never silent. lm-eval's ``dummy``
model answers instantly (always "lol"), so these runs cost the sandbox's time only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import SHARED_DATA, needs, needs_data, octoglot

pytestmark = [needs_data, needs(shutil.which("bwrap") is None, "bubblewrap (bwrap) is not installed")]


def run(tmp_path: Path, *args: str) -> tuple[Path, object]:
    done = octoglot("run", "--model", "dummy", "--no-cache", "--data-dir", str(SHARED_DATA), "--output",
                    str(tmp_path / "runs"), *args)
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    return run_dir, done


def records(run_dir: Path, lang: str, task: str = "mhumaneval") -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples" / lang / f"{task}.jsonl").read_text().splitlines()]


def test_every_program_runs_in_the_sandbox_and_data_errors_are_not_counted(tmp_path):
    run_dir, _ = run(tmp_path, "--tasks", "mhumaneval", "--langs", "en,th")
    recs = records(run_dir, "th")
    assert len(recs) == 164
    broken = {r["id"] for r in recs if r["execution"]["outcome"] == "data_error"}
    assert broken == {"HumanEval/78", "HumanEval/79"}  # SOURCE.txt's Thai prompts that do not parse
    assert all(r["metrics"] == {} and "program" not in r["execution"] for r in recs if r["id"] in broken)
    ran = [r for r in recs if r["id"] not in broken]
    # "lol" after the docstring: the function has a body, "lol" is a NameError at run time
    assert {r["execution"]["outcome"] for r in ran} == {"error"} and all(r["metrics"] == {"pass@1": 0.0} for r in ran)
    first = ran[0]["execution"]
    assert first["program"].rstrip().endswith("check(" + ran[0]["target"] + ")") and "lol" in first["program"]
    assert "NameError" in first["stderr_tail"] and first["exit_status"] == 11 and first["seconds"] > 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["sandbox"]["name"] == "bubblewrap" and manifest["sandbox"]["network"] == "none"
    assert manifest["sandbox"]["limits"]["cpu_seconds"] > 0 and manifest["sandbox"]["limits"]["memory_mb"] > 0
    (score,) = [s for s in json.loads((run_dir / "results.json").read_text())["scores"]
                if s["metric"] == "pass@1" and s["lang"] == "th"]
    assert (score["value"], score["n"], score["kind"], score["primary"]) == (0.0, 162, "binary", True)
    unit = manifest["units"][0]
    assert unit["generation"]["chat_template"] is False and "\ndef " in unit["generation"]["until"]

    # the leaderboard: the outcome mix per language, the paired difference from English on the same problems
    board = octoglot("leaderboard", str(run_dir), "--out", str(tmp_path / "board"))
    assert board.returncode == 0, board.stderr[-3000:]
    report = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    mix = {row["lang"]: row for row in report["outcomes"]}
    assert (mix["th"]["error"], mix["th"]["data_error"], mix["th"]["passed"]) == (162, 2, 0)
    assert (mix["en"]["error"], mix["en"]["data_error"]) == (164, 0)
    (th,) = report["vs_english"]
    assert (th["lang"], th["n"], th["delta"], th["p_value"]) == ("th", 162, 0.0, 1.0)
    assert "## Program outcomes" in (tmp_path / "board" / "leaderboard.md").read_text()


def test_samples_give_pass_at_k_with_every_draw_recorded(tmp_path):
    run_dir, _ = run(tmp_path, "--tasks", "humaneval_xl", "--langs", "de", "--limit", "2", "--samples", "5",
                     "--temperature", "0.8")
    recs = records(run_dir, "de", "humaneval_xl")
    assert all(len(r["draws"]) == 5 and all(d["execution"]["outcome"] == "error" for d in r["draws"]) for r in recs)
    assert all(r["metrics"] == {"pass@1": 0.0, "pass@5": 0.0} for r in recs)
    scores = {s["metric"]: s for s in json.loads((run_dir / "results.json").read_text())["scores"]}
    assert set(scores) == {"pass@1", "pass@5"} and scores["pass@1"]["kind"] == "continuous"
    unit = json.loads((run_dir / "manifest.json").read_text())["units"][0]
    assert unit["draws"] == 5 and unit["generation"]["draws"] == 5
    assert unit["generation"]["sampling"] == "temperature 0.8"


def test_unsafe_exec_warns_and_is_recorded(tmp_path):
    run_dir, done = run(tmp_path, "--tasks", "humaneval_xl", "--langs", "en", "--limit", "1", "--unsafe-exec")
    assert "--unsafe-exec" in done.stderr and "WITHOUT a sandbox" in done.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["sandbox"]["name"].startswith("unsafe")


@pytest.mark.parametrize("args, expected", [
    (["--samples", "3"], "--samples 3: needs --temperature above 0"),
    (["--samples", "3", "--temperature", "0.5", "--tasks", "mhumaneval,sib200"], "sib200 take(s) one response"),
])
def test_samples_need_a_temperature_and_a_task_that_combines(tmp_path, args, expected):
    argv = ["run", "--model", "dummy", "--data-dir", str(SHARED_DATA), "--output", str(tmp_path), "--langs", "en"]
    if "--tasks" not in args:
        argv += ["--tasks", "mhumaneval"]
    done = octoglot(*argv, *args)
    assert done.returncode == 2 and expected in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_without_bwrap_a_named_code_task_fails_and_a_suite_leaves_it_out(tmp_path, monkeypatch, capsys):
    from harness.cli import check_sandbox
    from harness.core.errors import OctoglotError
    from harness.tasks.registry import get_task

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap (and no setpriv) on the PATH
    chosen = [get_task("sib200"), get_task("mhumaneval")]
    with pytest.raises(OctoglotError, match="Debian package bubblewrap"):
        check_sandbox(chosen, unsafe=False, named=True)
    assert [t.id for t in check_sandbox(chosen, unsafe=False, named=False)] == ["sib200"]
    assert "mhumaneval left out of the suite" in capsys.readouterr().err
