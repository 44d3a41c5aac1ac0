"""Served models: a real OpenAI-compatible server on 127.0.0.1 (llama-cpp-python's ``llama_cpp.server``)
serving the bundled SmolLM2 GGUF, driven through lm-eval's ``local-chat-completions`` and
``local-completions`` backends by the real CLI; and ``octoglot check-backend`` catching what
llama-cpp-python 0.3.36 gets wrong about log-likelihoods (its issue #1983)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import SHARED_DATA, free_port, needs_data, octoglot, require_module, tokenizer_dir

require_module("llama_cpp", "llama-cpp-python[server] is not installed (make test builds and installs it)")

pytestmark = [pytest.mark.slow, needs_data]


def test_the_llama_cpp_build_is_portable():
    """A build that uses every instruction of the build machine (GGML_NATIVE, llama-cpp-python's default) died
    with SIGILL on a CPU that advertises AVX-512 and AMX; `make install-test` builds for a portable baseline."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AVX2 = 1" in info, info
    assert "AVX512" not in info and "AMX" not in info, (
        f"llama-cpp-python was built for this machine's CPU ({info.strip()}); rebuild it portably: "
        "rm -rf ~/.cache/octoglot/wheels .venv/.installed-test && make install-test")


@dataclass
class Server:
    base: str
    proc: subprocess.Popen
    log: Path

    def death(self) -> str:
        """'' while the server runs; else how it ended (exit status, signal) and the end of its log."""
        code = self.proc.poll()
        if code is None:
            return ""
        how = f"killed by signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        return f"llama_cpp.server is gone ({how}); its log ends: {self.log.read_text(errors='replace')[-1500:]}"


@pytest.fixture(scope="module")
def running(model_cache, tmp_path_factory):
    """``python -m llama_cpp.server`` with the bundled GGUF; stopped by its PID."""
    from harness.execution import models

    gguf = models.locate_gguf(models.ALIASES["smollm2"])
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                                 "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
                                stdout=out, stderr=subprocess.STDOUT)
    served = Server(f"http://127.0.0.1:{port}/v1", proc, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{served.base}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, served.death()
            assert time.monotonic() < deadline, "llama_cpp.server did not answer within 120 s"
            time.sleep(0.5)
        yield served
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def server(running):
    """The server's base URL; a test that loses the server fails saying how it ended, not "connection refused"."""
    assert not running.death(), running.death()
    yield running.base
    assert not running.death(), running.death()


@pytest.fixture
def env(model_cache, tmp_path):
    # a fresh octoglot cache per test (stored backend checks, responses), the converted model linked in
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").symlink_to(model_cache / "models")
    return {"OCTOGLOT_CACHE": str(cache), "OCTOGLOT_DATA": str(SHARED_DATA)}


def completions_args(base: str, model_cache: Path, tokenized: bool) -> str:
    args = (f"base_url={base}/completions,model=smollm2,max_retries=1,timeout=60,num_concurrent=1,"
            f"tokenizer_backend=huggingface,tokenizer={tokenizer_dir(model_cache)}")
    return args if tokenized else f"{args},tokenized_requests=False"


def run_dir(folder: Path) -> Path:
    (found,) = [p for p in folder.iterdir() if p.is_dir()]
    return found


def test_generation_through_local_chat_completions(server, env, tmp_path):
    result = octoglot("run", "--model", "local-chat-completions", "--model-args",
                      f"base_url={server}/chat/completions,model=smollm2,num_concurrent=2,max_retries=2,timeout=120",
                      "--apply-chat-template", "--tasks", "flores_en_xx", "--langs", "de", "--limit", "2",
                      "--output", str(tmp_path / "runs"), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    folder = run_dir(tmp_path / "runs")
    records = [json.loads(line) for line in (folder / "samples" / "de" / "flores_en_xx.jsonl").read_text().splitlines()]
    assert len(records) == 2
    assert all(r["error"] is None and r["response"].strip() for r in records)
    scores = {s["metric"]: s for s in json.loads((folder / "results.json").read_text())["scores"]}
    assert 0 < scores["chrf++"]["value"] <= 100 and "nc:6|nw:2" in scores["chrf++"]["signature"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"]["backend"] == "local-chat-completions" and manifest["backend_check"] is None


def check(args: list[str], env: dict) -> tuple[subprocess.CompletedProcess, dict]:
    # one prompt per request: llama_cpp.server refuses a batch of prompts (HTTP 500 from an assertion)
    result = octoglot("check-backend", *args, "--tasks", "sib200", "--langs", "en", "--limit", "2",
                      "--batch-size", "1", "--format", "json", env=env)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result, json.loads(result.stdout) if result.stdout.strip() else {}


def test_check_backend_flags_tokenized_prompts_answered_with_http_500(server, env, model_cache):
    result, report = check(["--model", "local-completions", "--model-args",
                            completions_args(server, model_cache, tokenized=True)], env)
    assert result.returncode == 1
    assert report["verdict"] == "failed" and "500" in report["error"]
    assert "backend check failed" in result.stderr


def test_check_backend_flags_echo_logprobs_and_the_runs_on_that_backend(server, env, model_cache, tmp_path):
    args = completions_args(server, model_cache, tokenized=False)
    result, report = check(["--model", "local-completions", "--model-args", args], env)
    assert result.returncode == 1, result.stderr[-3000:]
    assert report["verdict"] == "disagrees" and report["requests"] == 14
    assert report["max_abs_diff"] > report["tolerance"]
    # the topics are single tokens: llama-cpp-python scores each of them 0
    assert any(row["checked"] == 0.0 for row in report["worst"])
    assert Path(report["stored"]).is_file()

    run = octoglot("run", "--model", "local-completions", "--model-args", args, "--tasks", "sib200", "--langs", "en",
                   "--limit", "1", "--batch-size", "1", "--output", str(tmp_path / "runs"), env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "warning: backend disagrees with smollm2" in run.stderr
    manifest = json.loads((run_dir(tmp_path / "runs") / "manifest.json").read_text())
    assert manifest["backend_check"]["verdict"] == "disagrees"
    assert manifest["backend_check"]["max_abs_diff"] == report["max_abs_diff"]

    board = octoglot("leaderboard", str(run_dir(tmp_path / "runs")), "--out", str(tmp_path / "board"), env=env)
    assert board.returncode == 0, board.stderr[-3000:]
    assert "⚠ local-completions" in (tmp_path / "board" / "leaderboard.md").read_text()


def test_check_backend_agrees_for_the_same_weights_computed_another_way(env, model_cache):
    folder = tokenizer_dir(model_cache)  # the converted float32 SmolLM2: the reference's weights
    result, report = check(["--model", "hf", "--model-args", f"pretrained={folder},dtype=float32"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert report["verdict"] == "agrees" and report["max_abs_diff"] < 1e-4 and report["argmax_agreement"] == 1.0
