"""The leaderboard's tool-call table, from a real run: ``octoglot run`` on BFCL (one seeded item per category) through
lm-eval's chat API against an OpenAI-compatible server on 127.0.0.1 that answers every request carrying tools with a
call of its first tool (``tests/fault_server.py``, fault ``tools``), then ``octoglot leaderboard``."""

from __future__ import annotations

import json

import pytest

from conftest import SHARED_DATA, missing, octoglot
from harness.reporting import leaderboard, tool_calls
from harness.tasks.families.tool_calling import CATEGORIES


@pytest.fixture(scope="module")
def board_dir(tmp_path_factory):
    from fault_server import FaultServer

    if SHARED_DATA is None:
        missing("the real benchmark data is not found (../shared/data or $OCTOGLOT_DATA)")
    root = tmp_path_factory.mktemp("tools-report")
    with FaultServer() as server:
        result = octoglot("run", "--model", "local-chat-completions", "--model-args",
                          f"base_url={server.url('tools')},model=m,max_retries=1,timeout=30", "--apply-chat-template",
                          "--tasks", "bfcl", "--langs", "en", "--limit", "1", "--no-cache",
                          "--output", str(root / "runs"),
                          env={"OCTOGLOT_CACHE": str(root / "cache"), "OCTOGLOT_DATA": str(SHARED_DATA)})
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = [p for p in (root / "runs").iterdir() if p.is_dir()]
    out = root / "board"
    result = octoglot("leaderboard", str(run), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return run, out


def test_every_category_has_a_row_with_its_interval_and_failures(board_dir):
    run, out = board_dir
    board = leaderboard.build([run])
    frame = board.tool_calls
    by_category = frame[frame["by"] == "category"].set_index("slice")
    assert sorted(by_category.index) == sorted(CATEGORIES)
    assert (by_category["n"] == 1).all()
    # a call of the first tool, whatever the request: never right where no function applies, always a call
    assert by_category.loc["irrelevance", "accuracy"] == 0.0 and by_category.loc["irrelevance", "needless call"] == 1
    assert by_category.loc["live_relevance", "accuracy"] == 1.0
    one = by_category.loc["irrelevance"]
    assert 0.0 == one["ci_low"] < one["ci_high"] < 1.0  # Wilson's interval of 0 of 1, not [0, 0]
    failures = by_category[list(tool_calls.FAILURE_KINDS)].sum(axis=1)
    assert (failures + (by_category["accuracy"] * by_category["n"])).tolist() == by_category["n"].tolist()
    by_request = frame[frame["by"] == "request"]
    assert by_request["n"].sum() == 11 and "en" in set(by_request["slice"])


def test_the_table_is_in_every_output(board_dir):
    _, out = board_dir
    text = (out / "leaderboard.md").read_text("utf-8")
    assert "## Tool calls" in text and "| live_relevance |" in text
    data = json.loads((out / "leaderboard.json").read_text("utf-8"))
    assert {r["slice"] for r in data["tool_calls"] if r["by"] == "category"} == set(CATEGORIES)
    html = (out / "index.html").read_text("utf-8")
    assert 'id="tool-calls"' in html and "needless call" in html
