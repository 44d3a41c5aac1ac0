import hashlib
from pathlib import Path

import pytest

from conftest import FIXTURES, SHARED_DATA, needs_data
from harness.tasks import data, packs
from harness.core.errors import OctoglotError
from harness.tasks.packs import LocalSource, TaskEntry

FIXTURE_DATA = FIXTURES / "data"
EN = "sib200/data/annotated/eng_Latn/test.tsv"
COLUMNS = ("index_id", "category", "text")


def fixture_dir() -> data.DataDir:
    return data.DataDir(FIXTURE_DATA.resolve(), "--data-dir")


def test_resolution_order_flag_then_env_then_cwd_then_hub(tmp_path, monkeypatch):
    env_dir, cwd = tmp_path / "env", tmp_path / "cwd"
    env_dir.mkdir(), cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("OCTOGLOT_DATA", raising=False)
    assert data.resolve_data_dir(None) is None  # nothing local: the hub
    (cwd / "data").mkdir()
    assert data.resolve_data_dir(None) == data.DataDir((cwd / "data").resolve(), "./data")
    monkeypatch.setenv("OCTOGLOT_DATA", str(env_dir))
    assert data.resolve_data_dir(None).origin == "$OCTOGLOT_DATA"
    got = data.resolve_data_dir(str(FIXTURE_DATA))
    assert got.path == FIXTURE_DATA.resolve() and got.origin == "--data-dir"


def test_missing_data_dir_names_its_origin(monkeypatch):
    monkeypatch.setenv("OCTOGLOT_DATA", "/no/such/dir")
    with pytest.raises(OctoglotError, match=r"^\$OCTOGLOT_DATA: data directory '/no/such/dir' does not exist"):
        data.resolve_data_dir(None)
    with pytest.raises(OctoglotError, match="^--data-dir:"):
        data.resolve_data_dir("/no/such/dir")


def test_local_read_records_the_checksum_of_the_file_read():
    loaded = data.read_local(fixture_dir(), LocalSource(path=EN), COLUMNS)
    expected = hashlib.sha256((FIXTURE_DATA / EN).read_bytes()).hexdigest()
    assert loaded.provenance == {"kind": "local", "path": EN, "sha256": expected}
    assert len(loaded.rows) == 10 and loaded.rows[0]["category"] == "science/technology"


def test_pinned_checksum_must_match():
    with pytest.raises(OctoglotError, match="checksum mismatch: expected sha256 000000000000"):
        data.read_local(fixture_dir(), LocalSource(path=EN, sha256="0" * 64))


def test_missing_file_non_utf8_empty_and_wrong_columns(tmp_path):
    root = data.DataDir(tmp_path.resolve(), "--data-dir")
    with pytest.raises(OctoglotError, match="not found"):
        data.read_local(root, LocalSource(path="x/test.tsv"))
    (tmp_path / "latin1.tsv").write_bytes("index_id\ttext\n1\tcaf\xe9\n".encode("latin-1"))
    with pytest.raises(OctoglotError, match="latin1.tsv: not valid UTF-8 at byte"):
        data.read_local(root, LocalSource(path="latin1.tsv"))
    (tmp_path / "empty.tsv").write_text("index_id\tcategory\ttext\n")
    with pytest.raises(OctoglotError, match="empty.tsv: no rows"):
        data.read_local(root, LocalSource(path="empty.tsv"))
    (tmp_path / "cols.tsv").write_text("id\tlabel\tsentence\n1\ttravel\tHi\n")
    with pytest.raises(OctoglotError, match="expected columns index_id, category, text; missing index_id"):
        data.read_local(root, LocalSource(path="cols.tsv"), COLUMNS)
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{oops\n')
    with pytest.raises(OctoglotError, match="bad.jsonl: line 2: invalid JSON"):
        data.read_local(root, LocalSource(path="bad.jsonl"))


def test_symlink_out_of_the_data_dir_is_refused(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "secret.tsv").write_text("a\n1\n")
    (tmp_path / "root" / "link.tsv").symlink_to(tmp_path / "secret.tsv")
    with pytest.raises(OctoglotError, match="leaves the data directory"):
        data.read_local(data.DataDir((tmp_path / "root").resolve(), "--data-dir"), LocalSource(path="link.tsv"))


def test_tsv_quotes_are_text_not_quoting(tmp_path):
    (tmp_path / "q.tsv").write_text('index_id\tcategory\ttext\n1\ttravel\t"Quoted" start, and a "middle"\n')
    rows = data.read_local(data.DataDir(tmp_path.resolve(), "x"), LocalSource(path="q.tsv")).rows
    assert rows[0]["text"] == '"Quoted" start, and a "middle"'


def test_no_local_dir_and_hub_offline_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    entry = packs.load_pack("de").tasks["sib200"]
    with pytest.raises(OctoglotError) as err:
        data.load_task_data(entry, None, COLUMNS)
    message = str(err.value)
    assert message.startswith("hub dataset Davlan/sib200 (deu_Latn)@38977a66:") and "--data-dir" in message
    assert "\n" not in message


def test_availability(tmp_path):
    entry = TaskEntry(version=1, local=LocalSource(path=EN))
    assert data.availability(entry, fixture_dir()) == "local"
    assert data.availability(entry, data.DataDir(tmp_path.resolve(), "x")) == "missing"
    assert data.availability(packs.load_pack("en").tasks["sib200"], None) == "hub"


def test_verify_reports_missing_and_altered_files(tmp_path):
    root = tmp_path / "d"
    (root / "sib200/data/annotated/eng_Latn").mkdir(parents=True)
    (root / EN).write_text("changed\n")
    entries = [(code, "sib200", packs.load_pack(code).tasks["sib200"]) for code in ("en", "de")]
    problems, _ = data.verify(data.DataDir(root.resolve(), "x"), entries)
    assert any(p.startswith("en/sib200:") and "checksum mismatch" in p for p in problems)
    assert any(p.startswith("de/sib200:") and "missing" in p for p in problems)


@needs_data
def test_verify_passes_on_the_real_data_directory():
    entries = [(code, t, e) for code, p in packs.all_packs().items() for t, e in p.tasks.items()]
    problems, _ = data.verify(data.DataDir(SHARED_DATA, "x"), entries)
    assert problems == []
