"""Security properties, each checked through the real CLI where a user would meet it:

- packs are read with a safe YAML loader: a ``!!python/...`` tag is refused and runs nothing (a marker file
  the payload would create stays absent); a data file of Python literals is parsed, never executed;
- data paths cannot leave the data directory: ``../`` or an absolute path in a pack is refused, and so is
  a symlink inside the data directory that points out of it;
- text from runs (model labels, reasons built from run metadata) stays inside its Markdown table cell in
  the leaderboard and compare outputs, whatever ``|``, backslashes or newlines it holds (the HTML report's
  escaping is tested in test_html_report.py);
- API keys come from the environment only: a credential-like ``--model-args`` name is refused with a
  one-line error that does not echo the value, and a key planted in ``OPENAI_API_KEY`` for an endpoint
  run reaches the server but no file of the run folder or of the response cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import REPO, SHARED_DATA, needs_data
from fault_server import FaultServer

SIB_EN = "sib200/data/annotated/eng_Latn/test.tsv"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=full_env,
                          cwd=REPO, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess, *parts: str) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("octoglot: error: ")
    for part in parts:
        assert part in line, (part, line)
    return line


def pack_copy(tmp: Path, edit, lang: str = "en") -> dict:
    """$OCTOGLOT_PACKS: a copy of langs/ with one pack edited (the edit must apply)."""
    root = tmp / "packs"
    for pack in sorted((REPO / "langs").glob("*/pack.yaml")):
        (root / pack.parent.name).mkdir(parents=True)
        (root / pack.parent.name / "pack.yaml").write_bytes(pack.read_bytes())
    path = root / lang / "pack.yaml"
    text = path.read_text(encoding="utf-8")
    new = edit(text)
    assert new != text, "the pack edit did not apply"
    path.write_text(new, encoding="utf-8")
    return {"OCTOGLOT_PACKS": str(root), "OCTOGLOT_CACHE": str(tmp / "cache")}


def run_args(tmp: Path, data_dir: Path, task: str = "sib200") -> list[str]:
    return ["run", "--model", "smollm2", "--tasks", task, "--langs", "en", "--limit", "2",
            "--output", str(tmp / "out"), "--data-dir", str(data_dir)]


# --- YAML and literal files run no code ------------------------------------------------------------

@pytest.mark.parametrize("payload", [
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/apply:subprocess.call [["touch", "{marker}"]]',
    '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
    '!!python/name:os.system',
])
def test_pack_with_a_python_tag_is_refused_and_runs_nothing(tmp_path, payload):
    marker = tmp_path / "PWNED"
    line = "  sentence: " + payload.format(marker=marker) + "\n"
    env = pack_copy(tmp_path, lambda text: text.replace('  sentence: "Sentence"\n', line, 1))
    proc = cli(*run_args(tmp_path, tmp_path), env=env)
    one_line_error(proc, "pack ", "en/pack.yaml", "malformed YAML", "constructor")
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


@needs_data
def test_a_python_literals_data_file_is_parsed_never_executed(tmp_path):
    marker = tmp_path / "PWNED"
    data = tmp_path / "data"
    for rel in ("mgsm/mgsm_en.tsv", "mgsm/exemplars.py.txt"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes((SHARED_DATA / rel).read_bytes())
    exemplars = data / "mgsm/exemplars.py.txt"
    original = exemplars.read_bytes()
    exemplars.write_bytes(original + f"\nX = __import__('os').system('touch {marker}')\n".encode())
    import hashlib

    old, new = hashlib.sha256(original).hexdigest(), hashlib.sha256(exemplars.read_bytes()).hexdigest()
    env = pack_copy(tmp_path, lambda text: text.replace(old, new))
    proc = cli(*run_args(tmp_path, data, task="mgsm_direct"), env=env)
    one_line_error(proc, "data file", "exemplars.py.txt", "expected only literal assignments")
    assert not marker.exists()


# --- data paths stay inside the data directory -----------------------------------------------------

@pytest.mark.parametrize("path", ["../outside/test.tsv", "sib200/../../outside/test.tsv", "/etc/passwd",
                                  "C:/Windows/win.ini"])
def test_pack_data_paths_outside_the_data_directory_are_refused(tmp_path, path):
    env = pack_copy(tmp_path, lambda text: text.replace(f"path: {SIB_EN}", f"path: {path}", 1))
    proc = cli(*run_args(tmp_path, tmp_path), env=env)
    one_line_error(proc, "en/pack.yaml", "tasks.sib200.local.path", "must be a relative path inside the data directory")


def test_extra_data_paths_are_held_to_the_same_rule(tmp_path):
    env = pack_copy(tmp_path, lambda text: text.replace("path: mgsm/exemplars.py.txt", "path: ../../etc/shadow", 1))
    proc = cli(*run_args(tmp_path, tmp_path, task="mgsm_direct"), env=env)
    one_line_error(proc, "en/pack.yaml", "extra", "must be a relative path inside the data directory")


@needs_data
@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_symlink_out_of_the_data_directory_is_refused(tmp_path, what):
    outside = tmp_path / "outside" / SIB_EN  # a perfect copy, so only the link itself is wrong
    outside.parent.mkdir(parents=True)
    outside.write_bytes((SHARED_DATA / SIB_EN).read_bytes())
    data = tmp_path / "data"
    if what == "file":
        (data / SIB_EN).parent.mkdir(parents=True)
        (data / SIB_EN).symlink_to(outside)
    else:
        data.mkdir()
        (data / "sib200").symlink_to(tmp_path / "outside" / "sib200", target_is_directory=True)
    proc = cli(*run_args(tmp_path, data), env={"OCTOGLOT_CACHE": str(tmp_path / "cache")})
    one_line_error(proc, f"data path '{SIB_EN}' leaves the data directory")
    assert not (tmp_path / "out").exists()


# --- Markdown cells hold whatever text a run brings --------------------------------------------------

EVIL = "evil | model \\| with\na newline"


def md_cells(line: str) -> int:
    """Cells of a Markdown table row: pipes that no backslash escapes, minus the outer two."""
    count, escaped = 0, False
    for ch in line:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            count += 1
    return count - 1


def assert_tables_intact(markdown: str) -> int:
    """Every table: all rows as many cells as the header, and no row broken over lines. Returns the tables seen."""
    lines = markdown.splitlines()
    tables, i = 0, 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|(\s*:?-+:?\s*\|)+\s*$", lines[i + 1]):
            width = md_cells(lines[i])
            j = i + 1
            while j < len(lines) and lines[j].strip():
                assert lines[j].startswith("|") and md_cells(lines[j]) == width, (lines[i], lines[j])
                j += 1
            tables, i = tables + 1, j
        else:
            i += 1
    return tables


def write_run(root: Path, name: str, pretrained: str, hashes: dict[str, str]) -> Path:
    run = root / name.replace("|", "_").replace("\n", "_").replace("\\", "_").replace(" ", "_")
    units, scores = [], []
    for lang, prompt_hash in hashes.items():
        (run / "samples" / lang).mkdir(parents=True)
        recs = [{"id": str(i), "prompt_hash": f"h{i}", "target": 0, "loglikelihoods": [-1.0, -2.0], "response": None,
                 "metrics": {"acc": float(i % 3 == 0)}, "error": None, "detected_lang": None, "extracted": None}
                for i in range(8)]
        (run / "samples" / lang / "sib200.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        units.append({"task": "sib200", "lang": lang, "family": "multiple_choice", "task_version": 1,
                      "pack_version": 1, "prompt_hash": prompt_hash,
                      "data": {"kind": "local", "path": "x.tsv", "sha256": "abc"},
                      "n_items": 8, "n_samples": 8, "n_errors": 0})
        scores.append({"task": "sib200", "lang": lang, "metric": "acc", "value": 3 / 8, "stderr": 0.17,
                       "ci95": None, "n": 8})
    manifest = {"format_version": 1, "harness": {"name": "octoglot", "version": "0.1.0"},
                "model": {"name": name, "backend": "hf", "args": {"pretrained": pretrained}, "identity": {}},
                "seeds": {"sampling": 1234}, "limit": {"sib200": 8}, "units": units}
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "results.json").write_text(json.dumps({"format_version": 1, "scores": scores}))
    return run


def test_leaderboard_markdown_keeps_run_text_in_its_cell(tmp_path):
    a = write_run(tmp_path, EVIL, "/models/a|b\\|c\nd", {"en": "p", "de": "p"})
    b = write_run(tmp_path, "plain", "/models/plain", {"en": "p", "de": "other|hash\nhere"})
    proc = cli("leaderboard", str(a), str(b), "--out", str(tmp_path / "board"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    markdown = (tmp_path / "board" / "leaderboard.md").read_text(encoding="utf-8")
    assert assert_tables_intact(markdown) >= 3
    assert "evil \\| model" in markdown  # shown, escaped
    assert assert_tables_intact(proc.stdout) >= 1


def test_compare_markdown_keeps_run_text_in_its_cell(tmp_path):
    a = write_run(tmp_path, EVIL, "/models/a|b", {"en": "p", "de": "x|y\\|z\nw"})
    b = write_run(tmp_path, "plain", "/models/plain", {"en": "p", "de": "p"})
    proc = cli("compare", str(a), str(b), "--format", "md")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert assert_tables_intact(proc.stdout) >= 2
    heading = proc.stdout.splitlines()[0]
    assert heading.startswith("# Comparison: A = evil") and "plain" in heading  # one line
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| sib200 | de"))
    assert "not compared" in row and "prompt hash differs" in row


# --- credentials: the environment only -------------------------------------------------------------

@pytest.mark.parametrize("name", ["api_key", "key", "token", "auth_token", "hf_token", "secret", "client_secret",
                                  "password", "OPENAI_API_KEY"])
def test_credentials_in_model_args_are_refused(tmp_path, name):
    value = "sk-should-not-echo-" + uuid.uuid4().hex
    proc = cli("run", "--model", "local-chat-completions", "--model-args",
               f"base_url=http://127.0.0.1:9/v1/chat/completions,{name}={value}", "--tasks", "mgsm_direct",
               "--langs", "en", "--output", str(tmp_path / "out"))
    one_line_error(proc, f"--model-args: '{name}' looks like a credential", "environment")
    assert value not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


def test_ordinary_model_args_that_mention_tokens_are_not_credentials():
    from harness.execution.models import is_credential, parse_model_args

    args = parse_model_args("tokenizer=/m,tokenizer_backend=huggingface,tokenized_requests=False,add_bos_token=True,"
                            "max_tokens=5,max_gen_toks=9,custom_prefix_token_id=1")
    assert len(args) == 7 and not any(is_credential(k) for k in args)


@needs_data
def test_a_key_from_the_environment_reaches_the_server_and_no_file(tmp_path):
    key = f"sk-test-PLANTED-{uuid.uuid4().hex}"
    responses = tmp_path / "cache" / "responses.sqlite"
    env = {"OPENAI_API_KEY": key, "OCTOGLOT_RESPONSE_CACHE": str(responses),
           "OCTOGLOT_CACHE": str(tmp_path / "cache")}
    with FaultServer() as server:
        proc = cli("run", "--model", "local-chat-completions", "--model-args",
                   f"base_url={server.url('ok')},model=fake", "--apply-chat-template", "--tasks", "mgsm_direct",
                   "--langs", "en", "--limit", "2", "--data-dir", str(SHARED_DATA), "--output",
                   str(tmp_path / "out"), env=env)
        seen = server.stats()["authorization"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert seen == [f"Bearer {key}"]  # the key was in use
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in files) and any(p.name.startswith("responses.sqlite") for p in files)
    needle = key.encode()
    leaked = [str(p) for p in files if needle in p.read_bytes()]
    assert leaked == []
    assert key not in proc.stdout + proc.stderr
