"""Long context in the report (``harness.reporting.long_context``): the rule of the effective length, and the
tables, heatmaps and fertility of a real run (SmolLM2, NIAH in English and Hindi at 1K and 2K)."""

from __future__ import annotations

import json
import math
import re

import pytest

from conftest import SHARED_DATA, needs_data, octoglot
from harness.reporting import leaderboard, long_context, writers


@pytest.mark.parametrize("points, expected", [
    ([(1024, 0.9), (2048, 0.85), (4096, 0.5)], "2k"),  # 4K falls more than 10 points below 90
    ([(1024, 0.9), (2048, 0.8), (4096, 0.8)], "≥ 4k"),  # exactly 10 points below still reads
    ([(1024, 0.9), (2048, 0.5), (4096, 0.9)], "< 2k"),  # every length up to L must hold, not only L
    ([(1024, 0.2), (2048, 0.2)], "–"),  # below 25% at the shortest: no baseline to keep
    ([(4096, 0.6), (1024, 0.6), (2048, 0.9)], "≥ 4k"),  # sorted by length; a better longer length is fine
    ([(1024, 0.6)], "1k"),
    ([(1024, math.nan)], "–"),
])
def test_the_effective_length_follows_the_stated_rule(points, expected):
    assert long_context.effective_length(points)[1] == expected
    assert "10 points" in long_context.EFFECTIVE and "25%" in long_context.EFFECTIVE


@pytest.fixture(scope="module")
def context_run(model_cache, tmp_path_factory):
    if SHARED_DATA is None:
        pytest.skip("needs the shared data")
    out = tmp_path_factory.mktemp("context-runs")
    done = octoglot("run", "--model", "smollm2", "--tasks", "niah_single,niah_none", "--langs", "en,hi",
                    "--context-lengths", "1k,2k", "--limit", "1", "--no-cache", "--data-dir", str(SHARED_DATA),
                    "--output", str(out), env={"OCTOGLOT_CACHE": str(model_cache)})
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir,) = out.iterdir()
    return run_dir


@needs_data
def test_a_real_run_records_lengths_depths_and_scores(context_run):
    manifest = json.loads((context_run / "manifest.json").read_text())
    unit = next(u for u in manifest["units"] if u["task"] == "niah_single" and u["lang"] == "hi")
    assert unit["context"]["lengths"] == [1024, 2048]
    # the answer's room in SmolLM2's tokens: 64 in English, more in Hindi (twice a right answer's tokens)
    english = next(u for u in manifest["units"] if u["task"] == "niah_single" and u["lang"] == "en")
    assert english["generation"]["max_new_tokens"] == 64 < unit["generation"]["max_new_tokens"]
    assert unit["context"]["fertility"]["vs_english"] > 1.5 and unit["context"]["tokenizer"]["window"] == 8192
    records = [json.loads(x) for x in (context_run / "samples" / "hi" / "niah_single.jsonl").read_text().splitlines()]
    assert sorted(r["details"]["length"] for r in records) == [1024, 2048]
    for r in records:
        assert r["details"]["length"] - 24 <= r["details"]["tokens"] <= r["details"]["length"]
        assert set(r["metrics"]) == {"match_all", "match_any", "recall", "said_none"}
    scores = {(s["task"], s["lang"], s["metric"]): s for s in json.loads((context_run / "results.json").read_text())["scores"]}
    assert scores["niah_none", "en", "match_all"]["primary"]


@needs_data
def test_the_report_shows_lengths_heatmaps_effective_lengths_and_fertility(context_run, tmp_path):
    board = leaderboard.build([context_run])
    lengths = board.context["lengths"]
    records = {(t, lang): [json.loads(x) for x in (context_run / "samples" / lang / f"{t}.jsonl").read_text().splitlines()]
               for t in ("niah_single", "niah_none") for lang in ("en", "hi")}
    for row in lengths.itertuples():  # each cell is the mean of its records' primary metric
        mine = [r for r in records[row.task, row.lang] if r["details"]["length"] == row.length]
        assert row.n == len(mine) == 1 and row.accuracy == mine[0]["metrics"]["match_all"]
        assert row.ci_low <= row.accuracy <= row.ci_high
    assert set(lengths["length"]) == {1024, 2048} and len(lengths) == 8
    depths = board.context["depths"]
    assert set(depths["task"]) == {"niah_single"}  # niah_none has no depth (nothing asked is in the text)
    fertility = board.context["fertility"].set_index("lang")
    assert fertility.loc["en", "vs_english"] == 1.0 and fertility.loc["hi", "vs_english"] > 1.5
    paths = writers.write(board, tmp_path)
    pngs = [p for p in paths if p.name.startswith("context-")]
    assert len(pngs) == 1 and pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "## Long context" in md and "| lang | 1k | 2k | said none | effective |" in md
    assert pngs[0].name in md and "Tokenizer fertility" in md
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'id="long-context"' in html and html.count('<table class="heat">') == 2  # en and hi panels
    section = html.split('id="long-context"', 1)[1]  # the PNG's figure, inline as SVG
    assert "<svg" in section and "accuracy by length × needle depth" in section
    assert re.search(r"n=1\b", html) and long_context.EFFECTIVE.split(":")[0] in html
    saved = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    assert len(saved["context"]["lengths"]) == 8 and saved["context"]["fertility"]
