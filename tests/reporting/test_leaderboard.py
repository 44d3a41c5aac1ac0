"""The leaderboard over tiny run directories written in the real run format (README "Run directory format")."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.reporting import leaderboard, writers
from harness.reporting.markdown import md_escape
from harness.core.errors import OctoglotError
from harness.scoring.statistics import Z95

PRIMARY = {"sib200": "acc", "flores_en_xx": "chrf++"}
SECONDARY = {"sib200": "acc_norm", "flores_en_xx": "bleu"}


def write_run(root: Path, folder: str, model: str, scores: dict, *, limit=20, prompt_hashes: dict | None = None,
              seed: int = 1234, args: dict | None = None, errors: dict | None = None,
              records: dict | None = None) -> Path:
    """A run directory with manifest.json, results.json and samples/<lang>/<task>.jsonl.

    ``scores``: {(task, lang): (value, stderr) or (value, stderr, ci95)} of the task's primary metric, on the
    metric's own scale (acc in [0, 1], chrF++ in [0, 100]). ``prompt_hashes`` overrides a unit's prompt hash.
    ``records``: {(task, lang): [sample record, ...]} replaces the unit's one placeholder record, and the score
    row's ``n`` becomes their number (the leaderboard then draws the averages' intervals from them).
    """
    run = root / folder
    units, rows = [], []
    for (task, lang), score in scores.items():
        value, stderr, *ci = score
        units.append({"task": task, "lang": lang, "family": "multiple_choice" if task == "sib200" else "translation",
                      "task_version": 1, "pack_version": 1,
                      "prompt_hash": (prompt_hashes or {}).get((task, lang), f"hash-{task}-{lang}"),
                      "data": {"kind": "local", "path": f"{task}/{lang}.tsv", "sha256": f"sha-{task}-{lang}"},
                      "n_items": 204, "n_samples": 20, "n_errors": (errors or {}).get((task, lang), 0)})
        mine = (records or {}).get((task, lang))
        row = {"task": task, "lang": lang, "metric": PRIMARY[task], "value": value, "stderr": stderr,
               "ci95": ci[0] if ci else None, "n": len(mine) if mine else 20}
        if task == "flores_en_xx":
            row["signature"] = "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"
        # a secondary metric that must not show up in the tables
        rows += [row, {**row, "metric": SECONDARY[task], "value": 0.0 if task == "sib200" else 99.0}]
        samples = run / "samples" / lang / f"{task}.jsonl"
        samples.parent.mkdir(parents=True, exist_ok=True)
        placeholder = [{"id": "1", "prompt_hash": "p", "target": 0, "loglikelihoods": [-1.0, -2.0],
                        "metrics": {"acc": 1.0}, "error": None}]
        samples.write_text("".join(json.dumps(r) + "\n" for r in mine or placeholder), encoding="utf-8")
    manifest = {
        "format_version": 1, "harness": {"name": "octoglot", "version": "0.1.0"},
        "created": "2026-11-23T18:01:04+00:00", "command": ["octoglot", "run", "--model", model],
        "model": {"name": model, "backend": "hf", "args": args or {"pretrained": "/models/x", "dtype": "float32"},
                  "identity": {"alias": model}, "batch_size": 8, "device": "cpu"},
        "versions": {"python": "3.11.7", "lm-eval": "0.4.13"}, "seeds": {"sampling": seed, "python": seed},
        "limit": limit, "data_dir": "/data", "units": units, "wall_seconds": 1.0, "peak_rss_mb": 100.0,
    }
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run / "results.json").write_text(json.dumps({"format_version": 1, "scores": rows, "errors": {}}),
                                      encoding="utf-8")
    return run


ALPHA = {("sib200", "en"): (0.80, 0.04, [0.70, 0.88]), ("sib200", "de"): (0.60, 0.05), ("sib200", "th"): (0.40, 0.05),
         ("flores_en_xx", "en"): (50.0, 2.5, [45.0, 55.0]), ("flores_en_xx", "de"): (40.0, 3.0),
         ("flores_en_xx", "th"): (30.0, 3.0)}
BETA = {("sib200", "en"): (0.70, 0.05), ("sib200", "de"): (0.60, 0.05), ("sib200", "th"): (0.40, 0.05),
        ("flores_en_xx", "en"): (50.0, 2.0), ("flores_en_xx", "de"): (45.0, 3.0), ("flores_en_xx", "th"): (20.0, 3.0)}
GAMMA = {("sib200", "en"): (0.90, 0.03), ("sib200", "de"): (0.50, 0.05), ("sib200", "th"): (0.30, 0.05),
         ("flores_en_xx", "en"): (60.0, 2.0), ("flores_en_xx", "de"): (50.0, 3.0), ("flores_en_xx", "th"): (40.0, 3.0)}


@pytest.fixture
def three(tmp_path) -> list[Path]:
    """alpha, beta (its sib200/de prompt hash differs from the other two) and gamma."""
    return [write_run(tmp_path, "alpha-1", "alpha", ALPHA),
            write_run(tmp_path, "beta-1", "beta", BETA, prompt_hashes={("sib200", "de"): "other-hash"}),
            write_run(tmp_path, "gamma-1", "gamma", GAMMA)]


def cell(table, model: str, column: str) -> pd.Series:
    rows = table.cells[(table.cells["model"] == model) & (table.cells["column"] == column)]
    assert len(rows) == 1, (model, column)
    return rows.iloc[0]


def test_per_task_table_values_ci_and_ranks(three):
    board = leaderboard.build(three)
    sib = board.by_task["sib200"]
    assert sib.columns == ["en", "de", "th", "mean"]
    assert sib.values().loc["alpha", "en"] == pytest.approx(80.0)  # acc on the 0–100 scale
    # the stored ci95 is used when present, else value ± 1.96·stderr
    assert (cell(sib, "alpha", "en").ci_low, cell(sib, "alpha", "en").ci_high) == pytest.approx((70.0, 88.0))
    assert cell(sib, "beta", "en").ci_low == pytest.approx(70.0 - Z95 * 5.0)
    assert [cell(sib, m, "en")["rank"] for m in ("gamma", "alpha", "beta")] == [1, 2, 3]
    # ties share the lower rank: 40, 40, 30 -> 1, 1, 3
    assert [cell(sib, m, "th")["rank"] for m in ("alpha", "beta", "gamma")] == [1, 1, 3]
    flores = board.by_task["flores_en_xx"]
    assert flores.values().loc["beta", "de"] == pytest.approx(45.0)  # chrF++ stays on its own scale
    assert (cell(flores, "alpha", "en").ci_low, cell(flores, "alpha", "en").ci_high) == pytest.approx((45.0, 55.0))
    assert board.by_task["sib200"].display().loc["alpha", "en"] == "80.0 [70.0, 88.0] #2"


def test_per_language_table(three):
    board = leaderboard.build(three)
    th = board.by_lang["th"]
    assert th.columns == ["sib200", "flores_en_xx", "mean"]
    assert th.values().loc["gamma", "flores_en_xx"] == pytest.approx(40.0)
    assert cell(th, "alpha", "mean").value == pytest.approx((40.0 + 30.0) / 2)
    assert list(board.by_lang) == ["en", "de", "th"]  # canonical language order


def test_macro_averages_and_their_ci(three):
    board = leaderboard.build(three)
    overall = board.overall
    assert overall.columns == ["sib200", "flores_en_xx", "overall"]
    sib_alpha = cell(overall, "alpha", "sib200")
    assert sib_alpha.value == pytest.approx(60.0)
    # these runs store one placeholder record per cell, not the 20 items behind each score: the averages' draws are
    # normal draws from the stored standard errors, so the interval is close to the normal approximation's
    se_sib = math.sqrt(4.0**2 + 5.0**2 + 5.0**2) / 3
    assert sib_alpha.stderr == pytest.approx(se_sib, rel=0.1)
    assert sib_alpha.ci_low == pytest.approx(60.0 - Z95 * se_sib, abs=0.1 * Z95 * se_sib)
    assert sib_alpha.ci_high == pytest.approx(60.0 + Z95 * se_sib, abs=0.1 * Z95 * se_sib)
    se_flores = math.sqrt(2.5**2 + 3.0**2 + 3.0**2) / 3
    total = cell(overall, "alpha", "overall")
    assert total.value == pytest.approx((60.0 + 40.0) / 2)  # over languages per task, then over tasks
    assert total.stderr == pytest.approx(math.sqrt(se_sib**2 + se_flores**2) / 2, rel=0.1)
    assert cell(overall, "gamma", "overall").value == pytest.approx((170 / 3 + 50.0) / 2)
    assert cell(overall, "gamma", "overall")["rank"] == 1 and total["rank"] == 2
    assert overall.models == ["gamma", "alpha", "beta"]  # ranked rows first, by score
    # the per-task table's mean column is the same number
    assert cell(board.by_task["sib200"], "alpha", "mean").value == pytest.approx(60.0)
    assert "Macro average" in overall.caption and "Jeffreys" in overall.caption


def test_mismatched_prompt_hash_is_marked_and_left_out_of_averages(three):
    board = leaderboard.build(three)
    sib = board.by_task["sib200"]
    marked = cell(sib, "beta", "de")
    assert marked.mark == "†" and math.isnan(marked["rank"])
    assert "prompt hash differs (hash-sib200-de vs other-hash)" in marked.note
    assert sib.display().loc["beta", "de"].endswith("†")
    assert any(n.startswith("† beta, sib200/de") and "prompt hash differs" in n for n in board.notes)
    # alpha and gamma still ranked against each other
    assert [cell(sib, m, "de")["rank"] for m in ("alpha", "gamma")] == [1, 2]
    # beta's sib200 mean covers en and th only: shown with ‡, not ranked; so is its overall
    partial = cell(board.overall, "beta", "sib200")
    assert partial.value == pytest.approx((70.0 + 40.0) / 2) and partial.mark == "‡" and math.isnan(partial["rank"])
    assert "missing or not comparable: de" in partial.note
    assert cell(board.overall, "beta", "overall").mark == "‡"
    assert cell(board.by_lang["de"], "beta", "mean").value == pytest.approx(45.0)  # flores only


def test_one_model_with_two_limits_gives_two_labelled_rows(tmp_path):
    runs = [write_run(tmp_path, "alpha-20", "alpha", ALPHA, limit=20),
            write_run(tmp_path, "alpha-50", "alpha", ALPHA, limit=50),
            write_run(tmp_path, "beta-20", "beta", BETA, limit=20)]
    board = leaderboard.build(runs)
    assert set(board.overall.models) == {"alpha [limit 20]", "alpha [limit 50]", "beta"}
    other = cell(board.by_task["sib200"], "alpha [limit 50]", "en")
    assert other.mark == "†" and "item limit differs (20 vs 50)" in other.note
    assert cell(board.by_task["sib200"], "alpha [limit 20]", "en").mark == ""
    assert list(board.runs["model"]) == ["alpha [limit 20]", "alpha [limit 50]", "beta"]


def test_same_model_same_cell_in_two_folders_is_refused(tmp_path):
    first = write_run(tmp_path, "alpha-a", "alpha", ALPHA)
    second = write_run(tmp_path, "alpha-b", "alpha", {("sib200", "en"): (0.5, 0.1)})
    with pytest.raises(OctoglotError) as err:
        leaderboard.build([first, second])
    message = str(err.value)
    assert str(first) in message and str(second) in message and "sib200/en" in message and "\n" not in message


def test_runs_of_one_model_on_different_tasks_share_a_row(tmp_path):
    sib = {k: v for k, v in ALPHA.items() if k[0] == "sib200"}
    flores = {k: v for k, v in ALPHA.items() if k[0] == "flores_en_xx"}
    board = leaderboard.build([write_run(tmp_path, "a1", "alpha", sib), write_run(tmp_path, "a2", "alpha", flores)])
    assert board.overall.models == ["alpha"]
    assert cell(board.overall, "alpha", "overall").value == pytest.approx(50.0)


def test_no_runs_and_not_a_run_folder(tmp_path):
    with pytest.raises(OctoglotError, match="at least one run folder"):
        leaderboard.build([])
    with pytest.raises(OctoglotError, match="manifest.json is missing"):
        leaderboard.build([tmp_path])


def unescaped_cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_escapes_pipes_and_newlines(tmp_path):
    odd = "gamma | fork\nline two"
    board = leaderboard.build([write_run(tmp_path, "a", "alpha", ALPHA), write_run(tmp_path, "g", odd, GAMMA)])
    text = writers.markdown_table(board.overall)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| model"))
    row = next(line for line in lines if line.startswith("| gamma"))
    assert row.startswith(r"| gamma \| fork<br>line two |")
    assert len(unescaped_cells(row)) == len(unescaped_cells(header)) == 4
    assert md_escape("a\\|b") == "a\\\\\\|b"


def test_latex_is_escaped(tmp_path):
    board = leaderboard.build([write_run(tmp_path, "a", "m_1 & co 100% #1", ALPHA)])
    tex = writers.latex(board)
    assert r"m\_1 \& co 100\% \#1" in tex
    assert "m_1 &" not in tex
    assert r"flores\_en\_xx" in tex  # task names in headers and captions too
    assert "\\begin{tabular}" in tex and "\\caption{" in tex


def test_all_six_files_are_written(three, tmp_path):
    board = leaderboard.build(three)
    paths = writers.write(board, tmp_path / "report")
    assert [p.name for p in paths][:6] == ["leaderboard.md", "leaderboard.csv", "leaderboard.json", "leaderboard.tex",
                                       "index.html", "heatmap.png"]
    assert paths[-1].name == "explorer.html"  # every sample (tests/reporting/test_explorer.py)
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert paths[5].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(paths[2].read_text(encoding="utf-8"))
    assert {t["key"] for t in data["tables"]} >= {"overall", "languages", "task:sib200", "lang:th"}
    csv = pd.read_csv(paths[1])
    row = csv[(csv["table"] == "overall") & (csv["model"] == "alpha") & (csv["column"] == "overall")].iloc[0]
    assert row["value"] == pytest.approx(50.0) and row["rank"] == 2
    assert "† beta, sib200/de" in paths[0].read_text(encoding="utf-8")


def test_cli_prints_the_overall_table(three, tmp_path, capsys):
    from harness.cli import build_parser

    args = build_parser().parse_args(["leaderboard", *map(str, three), "--out", str(tmp_path / "out")])
    assert writers.main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Overall") and "| gamma |" in out and "† beta, sib200/de" in out
    assert (tmp_path / "out" / "index.html").is_file()


@pytest.mark.slow
def test_real_run(real_sib_run, tmp_path):
    board = leaderboard.build([real_sib_run])
    scores = json.loads((real_sib_run / "results.json").read_text(encoding="utf-8"))["scores"]
    acc = {s["lang"]: s["value"] for s in scores if s["task"] == "sib200" and s["metric"] == "acc"}
    sib = board.by_task["sib200"]
    assert sib.columns == [*acc, "mean"] and sib.models == ["smollm2"]
    assert sib.values().loc["smollm2", "en"] == pytest.approx(100 * acc["en"])
    assert cell(board.overall, "smollm2", "overall").value == pytest.approx(100 * sum(acc.values()) / len(acc))
    paths = writers.write(board, tmp_path)
    assert len(paths) >= 6  # the six files, then the figures (figures.task_scores)
    assert paths[-1].name == "explorer.html"


def test_a_cell_with_model_errors_shows_the_count_and_is_not_ranked_or_averaged(tmp_path):
    runs = [write_run(tmp_path, "alpha-1", "alpha", ALPHA, errors={("sib200", "de"): 3}),
            write_run(tmp_path, "gamma-1", "gamma", GAMMA)]
    board = leaderboard.build(runs)
    de = cell(board.by_task["sib200"], "alpha", "de")
    assert de.mark == "✗" and de["rank"] != de["rank"] and "3 sample(s) failed" in de.note
    assert cell(board.by_task["sib200"], "gamma", "de")["rank"] == 1  # ranked alone
    mean = cell(board.by_task["sib200"], "alpha", "mean")
    assert mean.mark == "‡" and mean.value == pytest.approx((80.0 + 40.0) / 2)  # en and th only
    assert any(n.startswith("✗ alpha, sib200/de: 3 sample(s) failed") for n in board.notes)
    assert "60.0 [" in board.by_task["sib200"].display().loc["alpha", "de"] and "✗" in \
        board.by_task["sib200"].display().loc["alpha", "de"]


def write_v2_run(root: Path, model: str, values: dict[str, float], *, higher_is_better: bool, scale: int) -> Path:
    """A format 2 run of one task whose primary metric's facts are given (a task no registry knows)."""
    run = root / f"{model}-1"
    units = [{"task": "toy", "lang": lang, "family": "elsewhere", "kind": "generate", "parallel": False,
              "task_version": 1, "pack_version": 1, "prompt_hash": "h", "data": {"kind": "local", "sha256": "s"},
              "n_items": 9, "n_samples": 9, "n_errors": 0, "generation": {"max_new_tokens": 8}, "langid": "langdetect"}
             for lang in values]
    rows = [{"task": "toy", "lang": lang, "metric": "error_rate", "value": v, "stderr": None, "ci95": None, "n": 9,
             "kind": "continuous", "scale": scale, "higher_is_better": higher_is_better, "primary": True}
            for lang, v in values.items()]
    run.mkdir(parents=True)
    for lang in values:
        path = run / "samples" / lang / "toy.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"id": "1", "prompt_hash": "p", "target": "x", "response": "y",
                                    "metrics": {"error_rate": 0.0}, "error": None}) + "\n", encoding="utf-8")
    manifest = {"format_version": 2, "model": {"name": model, "backend": "hf", "args": {}, "identity": {"alias": model}},
                "seeds": {"sampling": 1}, "limit": None, "units": units}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run / "results.json").write_text(json.dumps({"format_version": 2, "scores": rows}), encoding="utf-8")
    return run


def test_format_2_facts_decide_scale_and_direction(tmp_path):
    runs = [write_v2_run(tmp_path, "low", {"en": 0.10, "de": 0.20}, higher_is_better=False, scale=1),
            write_v2_run(tmp_path, "high", {"en": 0.30, "de": 0.15}, higher_is_better=False, scale=1)]
    board = leaderboard.build(runs)
    table = board.by_task["toy"]
    assert table.values().loc["low", "en"] == pytest.approx(10.0)  # scale 1: × 100
    assert cell(table, "low", "en")["rank"] == 1 and cell(table, "high", "en")["rank"] == 2  # lower is better
    assert cell(table, "high", "de")["rank"] == 1
    # a lower-is-better task stays out of the averages over tasks, and a note says so
    assert board.overall.columns == ["toy"] and any("Lower is better for toy" in n for n in board.notes)


def test_every_file_is_written_when_no_average_over_tasks_exists(tmp_path):
    runs = [write_v2_run(tmp_path, "low", {"en": 0.10}, higher_is_better=False, scale=1)]
    paths = writers.write(leaderboard.build(runs), tmp_path / "board")
    assert len(paths) >= 6 and all(p.stat().st_size > 0 for p in paths)
    assert tmp_path / "board" / "task-toy.png" in paths  # the task's scores as a picture (figures.task_scores)


def _zero_one(values: list[int]) -> list[dict]:
    return [{"id": str(i), "prompt_hash": "p", "target": 0, "metrics": {"acc": float(v)}, "error": None}
            for i, v in enumerate(values)]


def test_an_average_over_cells_with_every_item_wrong_keeps_its_uncertainty(tmp_path):
    """The issue's case: every language 0 of 2 right. Each cell's own interval is wide (Wilson [0, 65.8]); the
    macro average's used to be 0.0 [0.0, 0.0] (normal approximation, as a bootstrap over items would be too)."""
    langs = ("en", "de", "th")
    scores = {("sib200", lang): (0.0, 0.0, [0.0, 0.658]) for lang in langs}
    run = write_run(tmp_path, "zero", "zero", scores, records={("sib200", lang): _zero_one([0, 0]) for lang in langs})
    board = leaderboard.build([run])
    mean = cell(board.overall, "zero", "sib200")
    assert mean.value == 0.0 and mean.ci_low == pytest.approx(0.0, abs=0.5)
    # the mean of three independent Jeffreys Beta(0.5, 2.5) draws: its 97.5th percentile lies well above zero and
    # below one cell's own bound
    assert 20.0 < mean.ci_high < 65.8
    assert cell(board.by_task["sib200"], "zero", "en").ci_high == pytest.approx(65.8)


def test_average_intervals_come_from_the_items_and_stay_in_range(tmp_path):
    """Nine of ten right in every language: the draws' interval is asymmetric (it cannot pass 100), unlike
    mean ± 1.96 se, and it never leaves [0, 100]."""
    langs = ("en", "de", "th")
    items = [1] * 9 + [0]
    scores = {("sib200", lang): (0.9, 0.1, [0.596, 0.982]) for lang in langs}
    run = write_run(tmp_path, "high", "high", scores, records={("sib200", lang): _zero_one(items) for lang in langs})
    mean = cell(leaderboard.build([run]).overall, "high", "sib200")
    assert mean.value == pytest.approx(90.0)
    assert mean.ci_high <= 100.0 and mean.ci_low >= 0.0
    assert (mean.ci_high - 90.0) < (90.0 - mean.ci_low)  # skewed away from the bound
    normal_low = 90.0 - Z95 * math.sqrt(3 * 10.0**2) / 3
    assert mean.ci_low != pytest.approx(normal_low, abs=0.5)


def test_corpus_cells_are_drawn_over_their_segments(tmp_path):
    """chrF++ cells whose records hold sacrebleu's per-segment statistics: the average's interval is the percentile
    interval of the bootstrap over segments (the same draws ``statistics.cell_draws`` makes)."""
    import numpy as np

    from harness.reporting.runs import corpus_scorer
    from harness.scoring import statistics
    from harness.tasks.families.translation import make_metric, score_from_statistics, segment_statistics

    refs = ["Der Hund schläft im Garten.", "Wir essen heute Abend Fisch.", "Das Buch liegt auf dem Tisch.",
            "Morgen regnet es vielleicht.", "Sie trinkt gern Tee."]
    hyps = ["Der Hund schläft.", "Wir essen Fisch heute.", "Ein Buch ist auf dem Tisch.", "Es regnet morgen.",
            "Sie trinkt Kaffee."]
    metric = make_metric("chrf++", "de")
    stats = segment_statistics(hyps, refs, metric)
    value = score_from_statistics(stats, metric).score
    records = [{"id": str(i), "prompt_hash": "p", "target": ref, "response": hyp, "metrics": {},
                "statistics": {"chrf++": row}, "error": None} for i, (ref, hyp, row) in enumerate(zip(refs, hyps, stats))]
    run = write_run(tmp_path, "mt", "mt", {("flores_en_xx", "de"): (value, 5.0)},
                    records={("flores_en_xx", "de"): records})
    mean = cell(leaderboard.build([run]).overall, "mt", "flores_en_xx")
    scorer = corpus_scorer("flores_en_xx", "chrf++")
    assert scorer(np.sum(stats, axis=0).tolist()) == pytest.approx(value)
    expected = statistics.cell_draws("corpus", stats=stats, score_fn=scorer, seed=statistics.cell_seed("flores_en_xx",
                                                                                                        "de"))
    assert (mean.ci_low, mean.ci_high) == pytest.approx(statistics.percentile_interval(expected, 0.0, 100.0))
    assert mean.ci_low < value < mean.ci_high


def test_every_cell_with_model_errors_still_gives_every_file(tmp_path):
    """Nothing comparable (every cell ✗): the per-task tables show the cells, no average is made, every file is
    written (this crashed: an empty column of flags was read as a list of column names)."""
    run = write_run(tmp_path, "a", "alpha", ALPHA, errors={key: 1 for key in ALPHA})
    board = leaderboard.build([run])
    assert board.overall.columns == [] and board.by_task["sib200"].display().loc["alpha", "en"].endswith("✗")
    paths = writers.write(board, tmp_path / "out")
    assert all(path.is_file() for path in paths) and paths[-1].name == "explorer.html"


def test_a_sample_without_the_metric_is_not_one_of_the_averaged_items(tmp_path):
    """An item broken in the data has no value of the metric: the stored score's n leaves it out, and so do the
    average's draws (the average keeps its interval)."""
    langs = ("en", "de")
    broken = {"id": "9", "prompt_hash": "p", "target": 0, "metrics": {}, "error": None}
    records = {("sib200", lang): _zero_one([1, 0]) + [broken] for lang in langs}
    scores = {("sib200", lang): (0.5, 0.5, [0.095, 0.905]) for lang in langs}
    run = write_run(tmp_path, "x", "x", scores, records=records)
    # write_run sets n to the number of records; the real run counts only the two with the metric
    results = json.loads((run / "results.json").read_text())
    for row in results["scores"]:
        row["n"] = 2
    (run / "results.json").write_text(json.dumps(results))
    mean = cell(leaderboard.build([run]).overall, "x", "sib200")
    assert mean.value == pytest.approx(50.0) and 0.0 < mean.ci_low < 50.0 < mean.ci_high < 100.0
