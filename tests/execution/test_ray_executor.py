"""``--executor ray`` on a real local Ray cluster (``ray start --head`` on 127.0.0.1, 2 CPUs, so 2 model
workers): the quick suite on the bundled SmolLM2 gives the same run directory content as a local run,
a second Ray run is answered by the response cache the workers share, and ``--resume`` of a Ray run
finishes only what is missing."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SHARED_DATA, free_port, needs_data, octoglot, require_module

ray = require_module("ray", "Ray is not installed (pip install 'octoglot[ray]'; make test installs it)")

pytestmark = [pytest.mark.slow, needs_data]

def quick_tasks() -> str:
    """The quick suite's tasks but the code, instruction-following and tool-calling ones (their minutes of generation
    with SmolLM2, long prompts and up to 1,280 tokens a response, would double this test; code on Ray is checked with
    lm-eval's instant dummy model below, and a Ray worker runs every generation task through the same path)."""
    from harness.tasks.suites import get_suite

    return ",".join(t.id for t in get_suite("quick")[0]
                    if t.execute is None and not t.family.endswith((".instruction_following", ".tool_calling")))


QUICK = ("run", "--model", "smollm2", "--tasks", quick_tasks(), "--langs", "en,fr", "--limit", "1")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, model_cache):
    """A Ray head node on 127.0.0.1 with 2 CPUs, stopped when the module's tests are done."""
    ray_bin = Path(sys.executable).with_name("ray")
    port = free_port()
    # Ray 2.60 authenticates with a token; the test cluster gets its own, given to every process that joins
    # (else ray start and the driver may read different ~/.ray/auth_token states)
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env = {**os.environ, "OCTOGLOT_CACHE": str(model_cache), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "RAY_USAGE_STATS_ENABLED": "0", **auth}
    temp = Path("/tmp") / f"ray-octoglot-{port}"  # Ray's socket paths must stay short
    started = subprocess.run([str(ray_bin), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                              "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "false",
                              "--disable-usage-stats", "--temp-dir", str(temp)],
                             capture_output=True, text=True, env=env, timeout=180)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        yield f"127.0.0.1:{port}", auth
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def records(run_dir: Path) -> dict[str, list[dict]]:
    """Every sample record, without the programs' wall times (code tasks), which no two runs share."""
    out = {}
    for path in sorted((run_dir / "samples").rglob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for row in rows:
            if row.get("execution"):
                row["execution"].pop("seconds", None)
        out[str(path.relative_to(run_dir))] = sorted(rows, key=lambda r: r["id"])
    return out


def scores(run_dir: Path) -> list[dict]:
    rows = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))["scores"]
    return sorted(rows, key=lambda r: (r["task"], r["lang"], r["metric"]))


def only_run(folder: Path) -> Path:
    (run_dir,) = [p for p in folder.iterdir() if p.is_dir()]
    return run_dir


def test_ray_run_equals_local_run_and_shares_the_cache(cluster, model_cache, tmp_path):
    # one thread per model in both runs: the same kernels, so the same floating-point results
    address, auth = cluster
    env = {"OCTOGLOT_CACHE": str(model_cache), "OCTOGLOT_DATA": str(SHARED_DATA), "OMP_NUM_THREADS": "1", **auth}
    local = octoglot(*QUICK, "--output", str(tmp_path / "local"),
                     env={**env, "OCTOGLOT_RESPONSE_CACHE": str(tmp_path / "local.sqlite")})
    assert local.returncode == 0, local.stderr[-3000:]
    shared = {**env, "OCTOGLOT_RESPONSE_CACHE": str(tmp_path / "ray.sqlite")}
    remote = octoglot(*QUICK, "--executor", "ray", "--ray-address", address, "--output", str(tmp_path / "ray"),
                      env=shared)
    assert remote.returncode == 0, remote.stderr[-3000:]

    local_dir, ray_dir = only_run(tmp_path / "local"), only_run(tmp_path / "ray")
    assert records(ray_dir) == records(local_dir)
    assert len(records(local_dir)) >= 10  # every (task, language) pair of the quick suite in en and fr
    assert scores(ray_dir) == scores(local_dir)
    manifest = json.loads((ray_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["executor"]["name"] == "ray" and manifest["executor"]["workers"] == 2
    assert manifest["requests"]["model_requests"] > 0
    local_manifest = json.loads((local_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["units"] == local_manifest["units"]
    assert manifest["requests"]["requests"] == local_manifest["requests"]["requests"]

    # the workers wrote the shared response cache: a second Ray run makes no model call
    again = octoglot(*QUICK, "--executor", "ray", "--ray-address", address, "--output", str(tmp_path / "again"),
                     env=shared)
    assert again.returncode == 0, again.stderr[-3000:]
    again_dir = only_run(tmp_path / "again")
    counts = json.loads((again_dir / "manifest.json").read_text(encoding="utf-8"))["requests"]
    assert counts["model_requests"] == 0 and counts["cached"] == counts["requests"] > 0
    assert records(again_dir) == records(local_dir)

    # --resume of an interrupted Ray run (one unit's records missing) goes back to Ray for that unit only
    (ray_dir / "samples" / "fr" / "sib200.jsonl").unlink()
    resumed = octoglot("run", "--resume", str(ray_dir), env=shared)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert records(ray_dir) == records(local_dir)
    counts = json.loads((ray_dir / "manifest.json").read_text(encoding="utf-8"))
    assert counts["executor"]["name"] == "ray" and counts["requests"]["requests"] == 7  # 1 item x 7 topics


def test_programs_run_in_the_sandbox_of_the_ray_workers_as_locally(cluster, tmp_path):
    address, auth = cluster
    args = ("run", "--model", "dummy", "--tasks", "humaneval_xl,mhumaneval", "--langs", "en,th", "--limit", "3",
            "--no-cache")
    env = {"OCTOGLOT_DATA": str(SHARED_DATA), **auth}
    local = octoglot(*args, "--output", str(tmp_path / "local"), env=env)
    assert local.returncode == 0, local.stderr[-3000:]
    remote = octoglot(*args, "--executor", "ray", "--ray-address", address, "--output", str(tmp_path / "ray"), env=env)
    assert remote.returncode == 0, remote.stderr[-3000:]
    local_records, ray_records = records(only_run(tmp_path / "local")), records(only_run(tmp_path / "ray"))
    assert ray_records == local_records and len(ray_records) == 3  # humaneval_xl has no Thai
    outcomes = {r["execution"]["outcome"] for rows in ray_records.values() for r in rows}
    assert outcomes <= {"error", "data_error"} and "error" in outcomes  # "lol" after each prompt: a NameError
    manifest = json.loads((only_run(tmp_path / "ray") / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sandbox"]["name"] == "bubblewrap" and manifest["executor"]["name"] == "ray"


def test_unreachable_cluster_is_one_clear_error(tmp_path):
    port = free_port()  # nothing listens there
    result = octoglot("run", "--model", "smollm2", "--tasks", "sib200", "--langs", "en", "--limit", "1",
                      "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--output", str(tmp_path),
                      env={"OCTOGLOT_DATA": str(SHARED_DATA)})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "--ray-address" in last and f"127.0.0.1:{port}" in last, result.stderr[-2000:]
