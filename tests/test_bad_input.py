"""Bad input, as a table: every case runs the real CLI and must exit non-zero with exactly one
``octoglot:`` line on stderr that names the file, field or flag and says what was expected, with no
Traceback; input errors (exit 2) found before any model work leave stderr at that one line and the
output folder empty; where a run had finished work before it failed, that work is still there.

Broken packs are edited copies of the real ``langs/`` (``$OCTOGLOT_PACKS``); broken data are edited
copies of the real files in ``tmp_path`` (``--data-dir``), with packs whose checksums match them.
Endpoint cases talk to ``tests/fault_server.py`` on 127.0.0.1 (no retries here: the retry behaviour
is tested in test_endpoint_faults.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from conftest import REPO, SHARED_DATA, missing
from fault_server import FaultServer

SIB_EN = "sib200/data/annotated/eng_Latn/test.tsv"
MGSM_EN = "mgsm/mgsm_en.tsv"


def cli(args: list[str], env: dict | None = None, preexec=None, timeout: int = 300) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess (as conftest.octoglot, plus an optional ``preexec_fn``)."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=full_env,
                          cwd=REPO, timeout=timeout, preexec_fn=preexec)


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


@dataclass
class Ctx:
    """What a case may build in its own ``tmp_path``."""

    tmp: Path
    server: FaultServer | None = None
    env: dict = field(default_factory=dict)
    preexec: Callable[[], None] | None = None  # for subprocess' preexec_fn (a file-size limit)
    full_run: Path | None = None  # the run folder of disk-full-mid-run

    def __post_init__(self):
        self.out = self.tmp / "out"
        self.empty_data = self.tmp / "empty-data"
        self.empty_data.mkdir()
        self.data_dir = self.tmp / "data"
        # never the user's caches: a model conversion or response cache a case did not ask for stays here
        self.env.update({"OCTOGLOT_CACHE": str(self.tmp / "octoglot-cache"),
                         "OCTOGLOT_RESPONSE_CACHE": str(self.tmp / "responses.sqlite")})

    def packs(self, edit: Callable[[str], str] | None = None, lang: str = "en", raw: bytes | None = None) -> None:
        """A copy of langs/ with ``lang``'s pack edited (the edit must change it), used through $OCTOGLOT_PACKS."""
        root = self.tmp / "packs"
        if not root.exists():
            for pack in sorted((REPO / "langs").glob("*/pack.yaml")):
                (root / pack.parent.name).mkdir(parents=True)
                (root / pack.parent.name / "pack.yaml").write_bytes(pack.read_bytes())
        path = root / lang / "pack.yaml"
        if raw is not None:
            path.write_bytes(raw)
        elif edit is not None:
            text = path.read_text(encoding="utf-8")
            new = edit(text)
            assert new != text, "the pack edit did not apply: update the case to the current pack"
            path.write_text(new, encoding="utf-8")
        self.env["OCTOGLOT_PACKS"] = str(root)

    def data(self, rel: str, transform: Callable[[bytes], bytes], *, fix_pack: bool = True, lang: str = "en") -> None:
        """A data directory holding an edited copy of one real file; with ``fix_pack`` the packs pin its new sha256."""
        src = SHARED_DATA / rel
        blob = transform(src.read_bytes())
        dst = self.data_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(blob)
        if fix_pack:
            old, new = sha256(src.read_bytes()), sha256(blob)
            self.packs(lambda text: text.replace(old, new), lang)

    def copy_data(self, rel: str) -> None:
        (self.data_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (self.data_dir / rel).write_bytes((SHARED_DATA / rel).read_bytes())

    def run(self, *extra: str, data: Path | None = None) -> list[str]:
        """A small SmolLM2 SIB-200 run; later flags override earlier ones."""
        return ["run", "--model", "smollm2", "--tasks", "sib200", "--langs", "en", "--limit", "2",
                "--output", str(self.out), "--data-dir", str(data or self.empty_data), *extra]

    def endpoint(self, fault: str, *extra: str, model_args: str = "max_retries=1,timeout=1",
                 name: str = "") -> list[str]:
        """An mgsm_direct run through local-chat-completions against the fault server."""
        return ["run", "--model", "local-chat-completions", "--model-args",
                f"base_url={self.server.url(fault, name=name)},model=fake,{model_args}", "--apply-chat-template",
                "--tasks", "mgsm_direct", "--langs", "en", "--limit", "1", "--output", str(self.out),
                "--data-dir", str(SHARED_DATA), *extra]


# --- run folders for leaderboard / compare / resume -----------------------------------------------

def fake_run(root: Path, name: str, *, version: int = 1, prompt_hash: str = "p1", task: str = "sib200") -> Path:
    """A minimal run directory in the stored format (manifest, results, one samples file)."""
    run = root / name
    (run / "samples" / "en").mkdir(parents=True)
    records = [{"id": str(i), "prompt_hash": f"h{i}", "target": 0, "loglikelihoods": [-1.0, -2.0], "response": None,
                "metrics": {"acc": float(i % 2)}, "error": None, "detected_lang": None, "extracted": None}
               for i in range(6)]
    (run / "samples" / "en" / f"{task}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    unit = {"task": task, "lang": "en", "family": "multiple_choice", "task_version": 1, "pack_version": 1,
            "prompt_hash": prompt_hash, "data": {"kind": "local", "path": "x.tsv", "sha256": "abc"},
            "n_items": 6, "n_samples": 6, "n_errors": 0}
    manifest = {"format_version": version, "harness": {"name": "octoglot", "version": "0.1.0"},
                "model": {"name": name, "backend": "hf", "args": {"pretrained": f"/m/{name}"}, "identity": {}},
                "seeds": {"sampling": 1234}, "limit": {task: 6}, "units": [unit]}
    (run / "manifest.json").write_text(json.dumps(manifest))
    scores = [{"task": task, "lang": "en", "metric": "acc", "value": 0.5, "stderr": 0.2, "ci95": None, "n": 6}]
    (run / "results.json").write_text(json.dumps({"format_version": version, "scores": scores}))
    return run


def resume_dir(ctx: Ctx, *, version: int = 1) -> Path:
    run = ctx.tmp / "interrupted"
    run.mkdir()
    (run / "run_config.json").write_text(json.dumps({"format_version": version, "model": "smollm2"}))
    return run


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def file_size_limit(limit: int):
    """preexec_fn: a file-size ulimit (writes beyond it fail with EFBIG, as on a full disk), SIGXFSZ ignored."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


# --- checks on work kept --------------------------------------------------------------------------

def only_run_dir(ctx: Ctx) -> Path:
    (run_dir,) = ctx.out.iterdir()
    return run_dir


def failed_sample_recorded(ctx: Ctx, proc) -> None:
    """An endpoint failure is a sample error, recorded and counted, never a score; the run folder is complete."""
    run_dir = only_run_dir(ctx)
    (record,) = [json.loads(x) for x in (run_dir / "samples/en/mgsm_direct.jsonl").read_text().splitlines()]
    assert record["error"] and record["metrics"] == {} and record["response"] is None
    results = json.loads((run_dir / "results.json").read_text())
    assert results["errors"] == {"mgsm_direct/en": 1}
    assert not [s for s in results["scores"] if s["metric"] == "exact_match"]  # nothing scored
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["units"][0]["n_errors"] == 1


def cache_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def disk_full_mid_run(ctx: Ctx) -> list[str]:
    """A resumed two-language run whose second samples file lands on a full disk (/dev/full: ENOSPC)."""
    from harness.core.languages import get_language
    from harness.core.records import write_json
    from harness.core.records import FORMAT_VERSION
    from harness.execution.plan import RunConfig
    from harness.tasks.registry import get_task

    run = ctx.tmp / "run"
    (run / "samples" / "de").mkdir(parents=True)
    config = RunConfig(model="local-chat-completions", model_args=f"base_url={ctx.server.url('ok')},model=fake",
                       tasks=[get_task("mgsm_direct")], langs=[get_language("en"), get_language("de")], limit=2,
                       seed=1234, output=ctx.out, data_dir=str(SHARED_DATA), chat_template=True)
    write_json(run / "run_config.json", {"format_version": FORMAT_VERSION, **config.to_json()})
    (run / "samples" / "de" / "mgsm_direct.jsonl.tmp").symlink_to("/dev/full")
    ctx.full_run = run
    return ["run", "--resume", str(run)]


def disk_full_keeps_work(ctx: Ctx, proc) -> None:
    run = ctx.full_run
    en = [json.loads(x) for x in (run / "samples/en/mgsm_direct.jsonl").read_text().splitlines()]
    assert len(en) == 2 and all(r["error"] is None and r["response"] == "42" for r in en)
    assert cache_rows(Path(ctx.env["OCTOGLOT_RESPONSE_CACHE"])) == 4  # en and de: every finished request
    # free the disk and resume: nothing is asked of the endpoint again
    (run / "samples" / "de" / "mgsm_direct.jsonl.tmp").unlink()
    before = ctx.server.stats()["requests"].get("ok", 0)
    again = cli(["run", "--resume", str(run)], env=ctx.env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert ctx.server.stats()["requests"].get("ok", 0) == before
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["requests"]["cached"] == manifest["requests"]["requests"] == 2  # de only: en's file was kept
    assert len((run / "samples/de/mgsm_direct.jsonl").read_text().splitlines()) == 2


def file_too_large(ctx: Ctx) -> list[str]:
    ctx.preexec = file_size_limit(1024)  # run_config.json fits; 8 sample records do not
    return ctx.endpoint("ok", "--no-cache", "--limit", "8")


def cache_full_mid_run(ctx: Ctx) -> list[str]:
    # the response cache opens (its -shm file takes 32 KiB) and commits its first group of requests, not all
    ctx.preexec = file_size_limit(60_000)
    return ctx.endpoint("ok", "--langs", "en,de,es,fr", "--limit", "32", model_args="timeout=5", name="cache-full")


def cache_full_keeps_work(ctx: Ctx, proc) -> None:
    responses = Path(ctx.env["OCTOGLOT_RESPONSE_CACHE"])
    stored = cache_rows(responses)
    assert 0 < stored < 128, stored  # what was committed before the disk filled is there
    run_dir = only_run_dir(ctx)
    before = ctx.server.stats()["requests"].get("ok/cache-full", 0)
    again = cli(["run", "--resume", str(run_dir)], env=ctx.env)  # room again
    assert again.returncode == 0, again.stderr[-2000:]
    assert ctx.server.stats()["requests"]["ok/cache-full"] - before == 128 - stored  # nothing stored asked again
    assert cache_rows(responses) == 128
    for lang in ("en", "de", "es", "fr"):
        records = [json.loads(x) for x in (run_dir / f"samples/{lang}/mgsm_direct.jsonl").read_text().splitlines()]
        assert len(records) == 32 and all(r["error"] is None for r in records)


def cache_disk_full(ctx: Ctx) -> list[str]:
    ctx.preexec = file_size_limit(1024)  # the response cache cannot even write its first page
    return ctx.endpoint("ok")


def newer_run(ctx: Ctx) -> Path:
    return fake_run(ctx.tmp, "future", version=99)


# --- the table ------------------------------------------------------------------------------------

@dataclass
class Case:
    id: str
    setup: Callable[[Ctx], list[str]]  # builds the case's files, returns the CLI arguments
    expect: tuple[str, ...]  # all of these in the one `octoglot:` line
    code: int = 2
    needs: tuple[str, ...] = ()  # "data" (the real files), "server" (the fault server)
    early: bool = True  # fails before any model work: stderr is the one line, the output folder stays empty
    check: Callable[[Ctx, subprocess.CompletedProcess], None] | None = None


def _pack(edit, lang="en"):
    def setup(ctx):
        ctx.packs(edit, lang)
        return ctx.run()
    return setup


def _data(rel, transform, fix_pack=True, task="sib200", also=()):
    def setup(ctx):
        ctx.data(rel, transform, fix_pack=fix_pack)
        for other in also:  # the task's other files, unchanged
            ctx.copy_data(other)
        return ctx.run("--tasks", task, data=ctx.data_dir)
    return setup


def _replace(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


E = ("data", "server")  # the endpoint cases' needs

CASES = [
    # packs ($OCTOGLOT_PACKS: an edited copy of langs/)
    Case("pack-malformed-yaml", _pack(_replace('  topic: "Topic"', '  topic: "Topic')),
         ("pack ", "en/pack.yaml", "malformed YAML")),
    Case("pack-unknown-field",
         _pack(_replace("  sib200:\n    version: 1\n", "  sib200:\n    version: 1\n    shots: 5\n")),
         ("en/pack.yaml", "tasks.sib200.shots: unknown field")),
    Case("pack-missing-literal",
         _pack(_replace('  topic_instruction: "What is the topic of the following sentence?"\n', "")),
         ("en/pack.yaml", "task 'sib200' needs literals.topic_instruction, which is missing")),
    Case("pack-unknown-task", _pack(_replace("  sib200:\n", "  sib2000:\n")),
         ("en/pack.yaml", "tasks.sib2000: unknown task.", "Did you mean 'sib200'?")),
    Case("pack-wrong-language", _pack(_replace("language: en", "language: de")),
         ("en/pack.yaml", "language: expected 'en', got 'de'")),
    Case("pack-newer-format", _pack(_replace("format: 1", "format: 2")),
         ("en/pack.yaml", "pack format 2 is not supported", "format 1")),
    Case("pack-bad-checksum-field", _pack(_replace("sha256: fd7012f846f5", "sha256: XYZ")),
         ("en/pack.yaml", "tasks.sib200.local.sha256", "pattern")),
    Case("pack-version-zero", _pack(_replace("  sib200:\n    version: 1", "  sib200:\n    version: 0")),
         ("en/pack.yaml", "tasks.sib200.version", "greater than or equal to 1")),
    Case("pack-not-utf8", lambda ctx: (ctx.packs(raw=b"format: 1\nlanguage: \xff\xfe en\n"), ctx.run())[1],
         ("en/pack.yaml", "not valid UTF-8")),
    Case("pack-missing", lambda ctx: ((ctx.tmp / "nopacks").mkdir(),
                                      ctx.env.update(OCTOGLOT_PACKS=str(ctx.tmp / "nopacks")), ctx.run())[2],
         ("nopacks/en/pack.yaml", "file not found")),
    # flags
    Case("unknown-language", lambda ctx: ctx.run("--langs", "en,dee"),
         ("--langs: unknown language 'dee'.", "Did you mean 'de'?")),
    Case("unknown-task", lambda ctx: ctx.run("--tasks", "sib20"),
         ("--tasks: unknown task 'sib20'.", "Did you mean 'sib200'?")),
    Case("unknown-suite", lambda ctx: ctx.run("--suite", "quik"),
         ("--suite: unknown suite 'quik'.", "Did you mean 'quick'?")),
    Case("no-tasks", lambda ctx: ["run", "--output", str(ctx.out)], ("run: give --tasks or --suite",)),
    Case("limit-zero", lambda ctx: ctx.run("--limit", "0"), ("--limit", "expected a positive integer, got 0")),
    Case("limit-negative", lambda ctx: ctx.run("--limit", "-3"), ("--limit", "expected a positive integer, got -3")),
    Case("limit-not-a-number", lambda ctx: ctx.run("--limit", "many"),
         ("--limit", "expected a positive integer, got 'many'")),
    Case("batch-size-zero", lambda ctx: ctx.run("--batch-size", "0"),
         ("--batch-size", "expected a positive integer, got 0")),
    Case("bad-model-args", lambda ctx: ctx.run("--model-args", "pretrained"),
         ("--model-args: expected key=value pairs separated by commas, got 'pretrained'",)),
    Case("model-args-credential", lambda ctx: ctx.run("--model-args", "api_key=sk-live-123"),
         ("--model-args: 'api_key' looks like a credential", "environment")),
    Case("unknown-model", lambda ctx: ctx.run("--model", "smolm2", data=SHARED_DATA),
         ("--model: unknown model 'smolm2'.", "Did you mean 'smollm2'?"), needs=("data",)),
    Case("missing-data-dir", lambda ctx: ctx.run(data=ctx.tmp / "no-such-dir"),
         ("--data-dir: data directory", "does not exist")),
    # (root ignores chmod, so the unwritable output folder lies below a regular file)
    Case("output-not-writable", lambda ctx: ((ctx.tmp / "a-file").write_text("x"),
                                             ctx.endpoint("ok", "--output", str(ctx.tmp / "a-file" / "runs")))[1],
         ("--output: cannot create a run directory in", "a-file/runs", "Not a directory"), needs=E),
    # data (--data-dir: edited copies of the real files, packs pinned to them)
    Case("data-missing-file", lambda ctx: ctx.run(), ("data file", SIB_EN, "not found")),
    Case("data-checksum-mismatch", _data(SIB_EN, lambda b: b.replace(b"science", b"sciencE", 1), fix_pack=False),
         ("data file", SIB_EN, "checksum mismatch: expected sha256 fd7012f846f5", "got"), needs=("data",)),
    Case("data-empty", _data(SIB_EN, lambda b: b.split(b"\n", 1)[0] + b"\n"), ("data file", SIB_EN, "no rows"),
         needs=("data",)),
    Case("data-not-utf8", _data(SIB_EN, lambda b: b.replace(b"science", "sci\u00e9nce".encode("latin-1"), 1)),
         ("data file", SIB_EN, "not valid UTF-8 at byte"), needs=("data",)),
    Case("data-wrong-columns", _data(SIB_EN, lambda b: b.replace(b"category", b"label", 1)),
         ("data file", SIB_EN, "expected columns index_id, category, text; missing category"), needs=("data",)),
    Case("data-invalid-json", _data("xquad/xquad.en.json", lambda b: b[:5000], task="xquad"),
         ("data file", "xquad/xquad.en.json", "invalid JSON"), needs=("data",)),
    Case("data-code-in-literals-file",
         _data("mgsm/exemplars.py.txt", lambda b: b + b"\nX = __import__('os').getcwd()\n", task="mgsm_direct",
               also=(MGSM_EN,)),
         ("data file", "mgsm/exemplars.py.txt", "expected only literal assignments"), needs=("data",)),
    # endpoints (the fault server; one attempt, one item)
    Case("endpoint-unreachable",
         lambda ctx: ctx.endpoint("ok", "--model-args",
                                  f"base_url=http://127.0.0.1:{closed_port()}/v1/chat/completions"),
         ("--model-args: base_url http://127.0.0.1:", "cannot connect", "is the server running?"), needs=E),
    Case("endpoint-not-a-url", lambda ctx: ctx.endpoint("ok", "--model-args", "base_url=localhost-8000,model=x"),
         ("--model-args: base_url: expected an http(s) URL", "localhost-8000"), needs=E),
    Case("endpoint-http-500", lambda ctx: ctx.endpoint("500"),
         ("1 sample(s) failed", "mgsm_direct/en", "500 Server Error", "see 'error' in"),
         code=1, needs=E, early=False, check=failed_sample_recorded),
    Case("endpoint-timeout", lambda ctx: ctx.endpoint("slow"),
         ("1 sample(s) failed", "mgsm_direct/en", "Read timed out"),
         code=1, needs=E, early=False, check=failed_sample_recorded),
    Case("endpoint-invalid-json", lambda ctx: ctx.endpoint("badjson"), ("1 sample(s) failed", "JSONDecodeError"),
         code=1, needs=E, early=False, check=failed_sample_recorded),
    Case("endpoint-no-choices", lambda ctx: ctx.endpoint("nochoices"),
         ("1 sample(s) failed", "API response with no choices"),
         code=1, needs=E, early=False, check=failed_sample_recorded),
    # disks
    Case("disk-full-mid-run", disk_full_mid_run,
         ("samples/de/mgsm_direct.jsonl", "No space left on device", "finished units and cached requests are kept",
          "--resume"), needs=E, early=False, check=disk_full_keeps_work),
    Case("file-size-limit-on-samples", file_too_large,
         ("samples/en/mgsm_direct.jsonl", "File too large", "--resume"), needs=E, early=False),
    Case("file-size-limit-mid-run-on-response-cache", cache_full_mid_run,
         ("response cache", "responses.sqlite", "cannot write", "finished units and cached requests are kept",
          "--resume"), needs=E, early=False, check=cache_full_keeps_work),
    Case("file-size-limit-on-response-cache", cache_disk_full, ("response cache", "responses.sqlite", "cannot open"),
         needs=E, early=False),
    # run folders: newer format, not a run, mismatched runs
    Case("resume-newer-format", lambda ctx: ["run", "--resume", str(resume_dir(ctx, version=99))],
         ("--resume:", "format version 99 is newer than this octoglot reads (2)")),
    Case("resume-not-a-run", lambda ctx: ["run", "--resume", str(ctx.empty_data)],
         ("--resume:", "has no run_config.json")),
    Case("leaderboard-newer-format", lambda ctx: ["leaderboard", str(newer_run(ctx)), "--out", str(ctx.out)],
         ("run folder", "future", "format version 99 is newer than this octoglot reads (2); upgrade octoglot")),
    Case("compare-newer-format", lambda ctx: ["compare", str(fake_run(ctx.tmp, "now")), str(newer_run(ctx))],
         ("run folder", "future", "format version 99 is newer")),
    Case("compare-mismatched-runs", lambda ctx: ["compare", str(fake_run(ctx.tmp, "a", prompt_hash="p1")),
                                                 str(fake_run(ctx.tmp, "b", prompt_hash="p2"))],
         ("compare: run folders", "none is comparable", "sib200/en: prompt hash differs (p1 vs p2)")),
    Case("compare-nothing-shared", lambda ctx: ["compare", str(fake_run(ctx.tmp, "a")),
                                                str(fake_run(ctx.tmp, "b", task="xcopa"))],
         ("compare: run folders", "share no (task, language)")),
    Case("leaderboard-not-a-run", lambda ctx: ["leaderboard", str(ctx.empty_data), "--out", str(ctx.out)],
         ("run folder", "manifest.json is missing", "is this an octoglot run directory?")),
    Case("leaderboard-broken-results", lambda ctx: ((fake_run(ctx.tmp, "a") / "results.json").write_text("{oops"),
                                                    ["leaderboard", str(ctx.tmp / "a"), "--out", str(ctx.out)])[1],
         ("run folder", "results.json: invalid JSON", "line 1")),
    Case("compare-bad-alpha", lambda ctx: ["compare", "a", "b", "--alpha", "2"],
         ("--alpha", "expected a number between 0 and 1, got 2.0")),
]


def test_the_table_is_big_and_ids_unique():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


def usable(case: Case) -> bool:
    return "data" not in case.needs or SHARED_DATA is not None


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, tuple[Ctx, subprocess.CompletedProcess]]:
    """Every case's CLI run. The cases are independent, so they run a few at a time (most of their time is
    interpreter start-up); those with a ``preexec_fn`` run first, alone, as it is unsafe beside threads."""
    cases = [c for c in CASES if usable(c)]
    with FaultServer(slow=3.0) as server:
        prepared = []
        for case in cases:
            ctx = Ctx(tmp_path_factory.mktemp(case.id), server=server)
            prepared.append((case, ctx, case.setup(ctx)))
        done = {case.id: (ctx, cli(args, env=ctx.env, preexec=ctx.preexec))
                for case, ctx, args in prepared if ctx.preexec}
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {case.id: (ctx, pool.submit(cli, args, ctx.env)) for case, ctx, args in prepared
                       if not ctx.preexec}
            done.update({name: (ctx, future.result()) for name, (ctx, future) in futures.items()})
        yield done  # the server lives on while the tests check (disk-full-mid-run resumes against it)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, outcomes):
    if not usable(case):
        missing("the real benchmark data is not found (../shared/data or $OCTOGLOT_DATA)")
    ctx, proc = outcomes[case.id]
    assert proc.returncode == case.code, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("octoglot:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    for part in case.expect:
        assert part in lines[0], (part, lines[0])
    if case.early:
        assert proc.stderr.strip() == lines[0], "nothing but the error line"
        assert not ctx.out.exists() or not any(ctx.out.iterdir()), "nothing half-written"
    if case.check:
        case.check(ctx, proc)
