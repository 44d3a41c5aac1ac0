from pathlib import Path

import pytest

from harness.tasks import packs
from harness.core.errors import OctoglotError
from harness.core.languages import ALL_CODES
from harness.tasks.registry import all_tasks

TASKS = all_tasks()

GOOD = (packs.LANGS_DIR / "de" / "pack.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_pack_loads_and_defines_every_literal_its_tasks_need(code):
    pack = packs.load_pack(code)
    assert pack.language == code and pack.format == packs.PACK_FORMAT
    assert pack.tasks, f"{code} has no tasks"
    for task_id, entry in pack.tasks.items():
        task = TASKS[task_id]
        literals = packs.require_literals(pack, task.literals, f"langs/{code}/pack.yaml", task_id)
        assert all(literals.values())
        assert entry.local is not None or entry.hub is not None
        assert entry.local is None or entry.local.sha256  # every local file is pinned by checksum
        assert entry.hub is None or len(entry.hub.revision) == 40
        for extra in entry.extra.values():
            assert extra.sha256


def test_all_packs_name_the_same_sib200_topics():
    keys = {tuple(packs.load_pack(code).literals["topics"]) for code in ALL_CODES}
    assert len(keys) == 1 and len(next(iter(keys))) == 7


def test_prompt_words_are_in_the_target_language():
    assert packs.load_pack("de").literals["topic"] == "Thema"
    assert packs.load_pack("th").literals["topics"]["sports"] == "กีฬา"
    assert packs.load_pack("hi").literals["topics"]["politics"] == "राजनीति"
    # the literals differ from English everywhere but English
    english = packs.load_pack("en").literals["topic_instruction"]
    assert all(packs.load_pack(c).literals["topic_instruction"] != english for c in ALL_CODES if c != "en")


BROKEN = [
    ("malformed YAML", GOOD.replace("literals:", "literals: [", 1), "malformed YAML"),
    ("unknown top-level field", GOOD + "\nshots: 5\n", "shots: unknown field"),
    ("unknown literal", GOOD.replace("  question:", "  qestion:", 1),
     "literals.qestion: unknown literal (no registered task needs it). Did you mean 'question'?"),
    ("unknown task field", GOOD.replace("    version: 1\n    local:", "    version: 1\n    shots: 3\n    local:"),
     "tasks.sib200.shots: unknown field"),
    ("literal of the wrong type", GOOD.replace('  topic: "Thema"', "  topic: 5"), "literals.topic"),
    ("empty literal", GOOD.replace('  topic: "Thema"', '  topic: " "'), "literals.topic: empty"),
    ("unknown task", GOOD.replace("  sib200:", "  sib201:", 1),
     "tasks.sib201: unknown task. Did you mean 'sib200'"),
    ("missing format", GOOD.replace("format: 1\n", ""), "format: required field is missing"),
    ("future format", GOOD.replace("format: 1\n", "format: 9\n"), "pack format 9 is not supported"),
    ("no data source", GOOD[:GOOD.index("    local:")], "needs a data source"),
    ("path escapes the data directory", GOOD.replace("path: sib200", "path: ../../etc/sib200"),
     "must be a relative path inside the data directory"),
    ("absolute path", GOOD.replace("path: sib200", "path: /etc/sib200"), "relative path"),
    ("revision not pinned", GOOD.replace("revision: 38977a667f6fc264d5c26ec57a01e16db040b358", "revision: main"),
     "tasks.sib200.hub.revision"),
    ("bad checksum", GOOD.replace("sha256: c77", "sha256: zz7"), "tasks.sib200.local.sha256"),
    ("code execution tag", "!!python/object/apply:os.system ['echo pwned']\n", "malformed YAML"),
    ("not a mapping", "- a\n- b\n", "expected a mapping"),
]


@pytest.mark.parametrize("name, text, expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_pack_names_file_and_field(name, text, expected):
    with pytest.raises(OctoglotError) as err:
        packs.parse_pack(text, "langs/de/pack.yaml")
    message = str(err.value)
    assert message.startswith("pack langs/de/pack.yaml:"), message
    assert expected in message, message
    assert "\n" not in message


def test_missing_literal_names_the_file_to_edit():
    pack = packs.parse_pack(GOOD.replace('  topic: "Thema"\n', ""), "langs/de/pack.yaml")
    with pytest.raises(OctoglotError, match=r"pack langs/de/pack.yaml: task 'sib200' needs literals.topic,"):
        packs.require_literals(pack, TASKS["sib200"].literals, "langs/de/pack.yaml", "sib200")


def test_pack_for_another_language_is_refused(tmp_path: Path):
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "pack.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(OctoglotError, match="language: expected 'fr', got 'de'"):
        packs.load_pack("fr", tmp_path)


def test_missing_and_non_utf8_pack_files(tmp_path: Path):
    with pytest.raises(OctoglotError, match="file not found"):
        packs.load_pack("it", tmp_path)
    (tmp_path / "it").mkdir()
    (tmp_path / "it" / "pack.yaml").write_bytes(b"format: 1\nlanguage: \xff\xfe\n")
    with pytest.raises(OctoglotError, match="not valid UTF-8"):
        packs.load_pack("it", tmp_path)


def test_content_hash_is_order_independent_and_sensitive_to_content():
    assert packs.content_hash({"a": 1, "b": "x"}) == packs.content_hash({"b": "x", "a": 1})
    assert packs.content_hash({"a": 1}) != packs.content_hash({"a": 2})


def test_unknown_task_id_in_a_pack_is_refused():
    with pytest.raises(OctoglotError, match=r"pack langs/de/pack.yaml: tasks.sib201: unknown task. Did you mean 'sib200'"):
        packs.parse_pack(GOOD.replace("  sib200:", "  sib201:", 1), "langs/de/pack.yaml")
