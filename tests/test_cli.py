import pytest

from conftest import FIXTURES, needs_data, octoglot


@pytest.mark.parametrize("args, expected", [
    (["run", "--tasks", "sib20"], "--tasks: unknown task 'sib20'. Did you mean 'sib200'?"),
    (["run", "--tasks", "sib200", "--langs", "en,dee"], "unknown language 'dee'. Did you mean 'de'?"),
    (["run", "--tasks", "sib200", "--limit", "0"], "--limit: expected a positive integer, got 0"),
    (["run", "--tasks", "sib200", "--limit", "-3"], "--limit"),
    (["run", "--tasks", "sib200", "--limit", "many"], "expected a positive integer, got 'many'"),
    (["run"], "run: give --tasks or --suite"),
    (["run", "--suite", "quik"], "--suite: unknown suite 'quik'. Did you mean 'quick'?"),
    (["run", "--tasks", "sib200", "--model-args", "pretrained"], "--model-args: expected key=value"),
    (["run", "--tasks", "sib200", "--data-dir", "/no/such"], "--data-dir: data directory '/no/such' does not exist"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line_and_exit_2(args, expected, tmp_path):
    proc = octoglot(*args, "--output", str(tmp_path)) if args[:1] == ["run"] else octoglot(*args)
    assert proc.returncode == 2
    assert expected in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_help_shows_an_example():
    proc = octoglot("--help")
    assert proc.returncode == 0 and "octoglot run --model smollm2 --suite quick" in proc.stdout


def test_tasks_matrix_with_fixture_data_dir():
    proc = octoglot("tasks", "--data-dir", str(FIXTURES / "data"))
    assert proc.returncode == 0
    row = next(line for line in proc.stdout.splitlines() if line.startswith("sib200"))
    # the fixture directory has English and German files only; the rest come from the hub
    assert row.split()[1:9] == ["local", "local", "hub", "hub", "hub", "hub", "hub", "hub"]


def test_tasks_does_not_import_torch_or_lm_eval():
    code = ("import sys; from harness.cli import main; main(['tasks']); "
            "assert not {'torch', 'transformers', 'lm_eval', 'datasets'} & set(sys.modules), sys.modules.keys()")
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@needs_data
def test_data_verify_on_real_data_and_on_a_broken_copy(tmp_path):
    from conftest import SHARED_DATA

    ok = octoglot("data", "verify", "--data-dir", str(SHARED_DATA))
    assert ok.returncode == 0 and "0 problem(s)" in ok.stdout
    bad = octoglot("data", "verify", "--data-dir", str(tmp_path))
    assert bad.returncode == 1 and "problem: en/sib200: sib200/data/annotated/eng_Latn/test.tsv: missing" in bad.stdout


def test_zero_is_a_value_not_unset(monkeypatch):
    """``--seed 0`` and ``--tolerance 0`` mean zero (an ``or`` default used to turn them into 1234 and 1e-4)."""
    from harness.cli import build_parser, main
    from harness.interop import backend_check, export, validate

    seen = {}
    monkeypatch.setattr(validate, "parity", lambda *a, **k: seen.update(validate=k) or {
        "rows": [], "seconds": {"export": 0, "octoglot": 0, "lm-eval": 0}, "chat_template": False, "workdir": None})
    validate.main(build_parser().parse_args(["validate", "--seed", "0", "--tolerance", "0"]))
    assert seen["validate"]["seed"] == 0 and seen["validate"]["tolerance"] == 0

    monkeypatch.setattr(export, "export_lmeval", lambda *a, **k: seen.update(export=k) or {
        "tasks": [], "groups": [], "not_exported": [], "out": "x"})
    export.main(build_parser().parse_args(["export", "lm-eval", "--out", "x", "--seed", "0"]))
    assert seen["export"]["seed"] == 0

    monkeypatch.setattr(backend_check, "check", lambda *a, **k: seen.update(check=a) or {"verdict": "agrees"})
    monkeypatch.setattr(backend_check, "markdown", lambda result: "")
    assert main(["check-backend", "--model", "hf", "--tolerance", "0", "--seed", "0"]) == 0
    assert seen["check"][-1] == 0 and seen["check"][8] == 0  # tolerance, seed
    assert main(["check-backend", "--model", "hf", "--tolerance", "-1"]) == 2
