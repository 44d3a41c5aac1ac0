"""``octoglot compare`` (harness.compare) on tiny run directories written here in the real format:
two models, a binary task (SIB-200) in four languages, one translation task (FLORES en→de), one cell
whose prompt hash differs."""

import argparse
import html
import json
import re
from pathlib import Path

import pytest
from sacrebleu.metrics import CHRF

from harness.reporting import compare as cmp
from harness.core.errors import OctoglotError
from harness.reporting.markdown import md_escape
from harness.scoring import statistics



# --- writing run directories ---------------------------------------------------------------------

def record(item_id: str, metrics: dict | None = None, *, error: str | None = None, target=0,
           response: str | None = None, extracted: str | None = None, prompt_hash: str | None = None) -> dict:
    """One line of samples/<lang>/<task>.jsonl, with every field the runner writes."""
    return {"id": item_id, "prompt_hash": prompt_hash or f"p-{item_id}", "target": target,
            "loglikelihoods": None if response is not None else [-1.0, -2.0], "response": response,
            "metrics": {} if error else (metrics or {}), "error": error, "detected_lang": None,
            "extracted": extracted}


def binary(correct: set[int], n: int = 20, *, errors: set[int] = frozenset(), metric: str = "acc") -> list[dict]:
    """Items "0".."n-1"; those in ``correct`` right, those in ``errors`` failed (not scored)."""
    return [record(str(i), error="RuntimeError: boom") if i in errors else
            record(str(i), {metric: float(i in correct)}) for i in range(n)]


def translations(hypotheses: list[str], references: list[str]) -> list[dict]:
    chrf = CHRF(word_order=2)
    return [record(str(i), {"chrf": chrf.sentence_score(h, [r]).score}, target=r, response=h, extracted=h)
            for i, (h, r) in enumerate(zip(hypotheses, references), 1)]


def write_run(root: Path, model: str, cells: dict[tuple[str, str], list[dict]],
              prompt_hashes: dict[tuple[str, str], str] | None = None, *, seed: int = 1234) -> Path:
    """A run directory: manifest.json, results.json and samples/<lang>/<task>.jsonl for each cell."""
    run = root / f"{model}-20261124T000000Z"
    units, scores = [], []
    for (task, lang), records in cells.items():
        units.append({"task": task, "lang": lang, "family": "test", "task_version": 1, "pack_version": 1,
                      "prompt_hash": (prompt_hashes or {}).get((task, lang), f"{task}-{lang}"),
                      "data": {"kind": "local", "path": f"{task}/{lang}.tsv", "sha256": f"sha-{task}-{lang}"},
                      "n_items": len(records), "n_samples": len(records),
                      "n_errors": sum(r["error"] is not None for r in records)})
        path = run / "samples" / lang / f"{task}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        for metric in sorted({m for r in records for m in r["metrics"]}):
            values = [r["metrics"][metric] for r in records if r["error"] is None]
            scores.append({"task": task, "lang": lang, "metric": metric, "value": sum(values) / len(values),
                           "stderr": None, "ci95": None, "n": len(values)})
    manifest = {"format_version": 1, "harness": {"name": "octoglot", "version": "0.1.0"},
                "model": {"name": model, "backend": "hf", "args": {"pretrained": f"/models/{model}"},
                          "identity": {}},
                "seeds": {"sampling": seed}, "limit": {task: None for task, _ in cells}, "units": units}
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (run / "results.json").write_text(json.dumps({"format_version": 1, "scores": scores}), encoding="utf-8")
    return run


# Self-made lines (not benchmark data): A translates perfectly, B badly.
REFS = ["Die Katze schläft auf dem Sofa.", "Morgen regnet es in Berlin.", "Wir trinken Tee am Abend.",
        "Das Buch liegt auf dem Tisch.", "Er fährt mit dem Zug nach Hamburg.", "Die Kinder spielen im Garten."]
BAD = ["Katze Sofa.", "Es regnet.", "Tee trinken wir.", "Ein Buch.", "Zug Hamburg fahren.", "Kinder."]


@pytest.fixture
def runs(tmp_path) -> tuple[Path, Path]:
    a = write_run(tmp_path / "a", "alpha", {
        ("sib200", "en"): binary(set(range(5))),
        ("sib200", "de"): binary(set(range(12))),
        ("sib200", "fr"): binary({0, 1, 2}, errors={19}),
        ("sib200", "hi"): binary(set(range(20))),
        ("flores_en_xx", "de"): translations(REFS, REFS),
    })
    b = write_run(tmp_path / "b", "beta", {
        ("sib200", "en"): binary(set(range(17))),
        ("sib200", "de"): binary({0, 1}),
        ("sib200", "fr"): binary({3, 4, 5}),
        ("sib200", "hi"): binary(set()),
        ("flores_en_xx", "de"): translations(BAD, REFS),
    }, prompt_hashes={("sib200", "hi"): "bad|hash\nsecond line"})
    return a, b


def cells_by_key(comparison) -> dict:
    return {(c.task, c.lang): c for c in comparison.cells}


# --- the comparison ------------------------------------------------------------------------------

def test_binary_cells_use_exact_mcnemar_on_matched_items(runs):
    cells = cells_by_key(cmp.compare(*runs))
    en, de, fr = cells["sib200", "en"], cells["sib200", "de"], cells["sib200", "fr"]
    assert (en.test, en.n, en.score_a, en.score_b) == ("mcnemar", 20, 0.25, 0.85)
    assert (en.detail["b"], en.detail["c"]) == (0, 12)
    assert en.delta == pytest.approx(0.6)
    assert en.p_value == 2 / 4096  # 2 * P(X <= 0), X ~ Bin(12, 1/2)
    assert (de.detail["b"], de.detail["c"], de.p_value) == (10, 0, 2 / 1024)
    # fr: item 19 failed in A, so it is left out of both; b = c = 3
    assert (fr.n, fr.detail["b"], fr.detail["c"], fr.p_value, fr.score_a, fr.score_b) == (19, 3, 3, 1.0, 3 / 19,
                                                                                         3 / 19)


def test_translation_cell_uses_the_paired_bootstrap_on_chrf(runs):
    cell = cells_by_key(cmp.compare(*runs))["flores_en_xx", "de"]
    chrf = CHRF(word_order=2)
    expected = chrf.corpus_score(BAD, [REFS]).score - chrf.corpus_score(REFS, [REFS]).score
    assert (cell.metric, cell.test, cell.n) == ("chrf++", "paired bootstrap", 6)
    assert cell.delta == expected and cell.score_a == 100.0
    assert cell.p_value == 1 / 1001  # no resample comes near "no difference": sacrebleu's floor
    assert cell.detail["ci95"][1] < 0 and cell.detail["resamples"] == 1000
    assert cell.detail["signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:2")


def test_holm_correction_and_verdicts(runs):
    comparison = cmp.compare(*runs)
    cells = cells_by_key(comparison)
    # p: en 2/4096, de 2/1024, fr 1, flores 1/1001 -> Holm: 4 * 2/4096, 2 * 2/1024, 1, 3 * 1/1001
    assert cells["sib200", "en"].p_holm == pytest.approx(8 / 4096)
    assert cells["sib200", "de"].p_holm == pytest.approx(4 / 1024)
    assert cells["sib200", "fr"].p_holm == 1.0
    assert cells["flores_en_xx", "de"].p_holm == pytest.approx(3 / 1001)
    assert {key: c.verdict for key, c in cells.items()} == {
        ("sib200", "en"): "B better", ("sib200", "de"): "A better", ("sib200", "fr"): "no significant difference",
        ("sib200", "hi"): "not compared", ("flores_en_xx", "de"): "A better"}
    summary = comparison.summary()
    assert summary["de"] == {"A better": 2, "B better": 0, "no significant difference": 0, "not compared": 0}
    assert summary["all"] == {"A better": 2, "B better": 1, "no significant difference": 1, "not compared": 1}
    assert list(summary) == ["en", "de", "fr", "hi", "all"]


def test_a_stricter_alpha_turns_verdicts_into_ties(runs):
    cells = cells_by_key(cmp.compare(*runs, alpha=0.002))
    assert cells["sib200", "en"].verdict == "B better"  # 0.00195 < 0.002
    assert cells["sib200", "de"].verdict == "no significant difference"  # 0.0039


def test_mismatched_prompt_hash_is_listed_with_reason_and_not_tested(runs):
    comparison = cmp.compare(*runs)
    hi = cells_by_key(comparison)["sib200", "hi"]
    assert (hi.test, hi.p_value, hi.p_holm, hi.verdict) == (None, None, None, "not compared")
    assert hi.reason == "prompt hash differs (sib200-hi vs bad|hash\nsecond line)"
    assert len(comparison.tested) == 4


def test_item_prompt_hashes_must_match_too(tmp_path):
    a = write_run(tmp_path / "a", "alpha", {("sib200", "en"): binary({1}, n=3), ("sib200", "de"): binary({1}, n=3)})
    changed = binary({1}, n=3)
    changed[2]["prompt_hash"] = "other"
    b = write_run(tmp_path / "b", "beta", {("sib200", "en"): binary({1}, n=3), ("sib200", "de"): changed})
    de = cells_by_key(cmp.compare(a, b))["sib200", "de"]
    assert de.reason == "item prompt hash differs for 1 item(s) (first: id '2')"


def test_cells_only_one_run_has_are_left_out(runs, tmp_path):
    a, _ = runs
    b = write_run(tmp_path / "c", "gamma", {("sib200", "en"): binary({0}), ("xcopa", "it"): binary({0})})
    comparison = cmp.compare(a, b)
    assert [(c.task, c.lang) for c in comparison.cells] == [("sib200", "en")]


def test_no_comparable_cell_is_an_error_naming_both_folders(tmp_path):
    a = write_run(tmp_path / "a", "alpha", {("sib200", "en"): binary({0})})
    b = write_run(tmp_path / "b", "beta", {("xcopa", "it"): binary({0})})
    with pytest.raises(OctoglotError) as info:
        cmp.compare(a, b)
    message = str(info.value)
    assert str(a) in message and str(b) in message and "share no (task, language)" in message
    assert "\n" not in message


def test_only_mismatched_cells_is_an_error_with_the_reason(tmp_path):
    a = write_run(tmp_path / "a", "alpha", {("sib200", "en"): binary({0})})
    b = write_run(tmp_path / "b", "beta", {("sib200", "en"): binary({0})}, seed=99)
    with pytest.raises(OctoglotError, match=r"none is comparable \(sib200/en: sampling seed differs \(1234 vs 99\)\)"):
        cmp.compare(a, b)


def test_identical_runs_show_no_difference(runs):
    a, _ = runs
    comparison = cmp.compare(a, a)
    assert {c.verdict for c in comparison.cells} == {"no significant difference"}
    assert all(c.delta == 0 for c in comparison.cells)


# --- output --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("a|b", "a\\|b"),
    ("one\ntwo", "one<br>two"),
    ("one\r\ntwo|x", "one<br>two\\|x"),
    ("plain", "plain"),
])
def test_escape_cell(text, expected):
    assert md_escape(text) == expected


def unescaped_pipes(line: str) -> int:
    return line.count("|") - line.count("\\|")


def test_markdown_table_rows_stay_one_line_with_escaped_cells(runs):
    text = cmp.compare(*runs).to_markdown()
    assert "| sib200 | hi | acc |  | 0 / 0 |  |  |  |  |  |  |  | not compared: prompt hash differs " \
           "(sib200-hi vs bad\\|hash<br>second line) |" in text
    assert re.search(r"\| sib200 \| en \| acc \| 20 \| 0 / 0 \| 0\.2500 \| 0\.8500 \| \+0\.6000 \| "
                     r"\[\+0\.\d{4}, \+0\.\d{4}\] \| McNemar exact \(b=0, c=12\) \| 0\.0004883 \| 0\.001953 \| "
                     r"B better \|", text)
    assert "| sib200 | fr | acc | 19 | 1 / 0 |" in text  # item 19 failed in A: the error count is shown
    main_table = [line for line in text.splitlines() if line.startswith("| sib200 |") or line.startswith("| flores")]
    assert len(main_table) == 5 + 2 + 3  # five comparison rows, two macro rows, consistency: de and fr, one task row
    first_table = text.split("\n\n")[3].splitlines()
    assert {unescaped_pipes(line) for line in first_table} == {14}
    assert "Δ = B − A" in text and "Holm-corrected over the 4 tests" in text


def test_markdown_has_summary_and_consistency(runs):
    text = cmp.compare(*runs).to_markdown()
    assert "| de | 2 | 0 | 0 | 0 |" in text and "| all | 2 | 1 | 1 | 1 |" in text
    assert "A better in 2, B better in 1, no significant difference in 1 of 4 compared cells; 1 not compared." in text
    # hi is not compared, so consistency runs over en, de, fr (see test_consistency for the arithmetic)
    assert "| sib200 | de | 0.650 | 0.250 | 20 | 20 |" in text
    assert "| sib200 | fr | 0.895 | 0.300 | 19 | 20 |" in text
    assert "| sib200 | en, de, fr | 0.158 | 0.000 | 19 | 20 |" in text


def cli(argv: list[str]) -> argparse.Namespace:
    from harness.cli import build_parser

    return build_parser().parse_args(argv)


def test_json_output_through_the_command(runs, capsys):
    a, b = runs
    assert cmp.main(cli(["compare", str(a), str(b), "--format", "json"])) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["a"] == {"path": str(a), "model": "alpha:/models/alpha"}
    assert (out["delta"], out["alpha"], out["correction"]) == ("B - A", 0.05, "holm over 4 tests")
    en = next(c for c in out["cells"] if (c["task"], c["lang"]) == ("sib200", "en"))
    assert (en["verdict"], en["detail"]["b"], en["detail"]["c"], en["p_value"]) == ("B better", 0, 12, 2 / 4096)
    assert "draws" not in en and len(en["detail"]["ci95"]) == 2
    hi = next(c for c in out["cells"] if c["lang"] == "hi")
    assert hi["test"] is None and hi["reason"].startswith("prompt hash differs")
    assert out["summary"]["all"]["not compared"] == 1
    assert out["consistency"]["tasks"] == [{"task": "sib200", "langs": "en,de,fr", "n_langs": 3,
                                            "solved_in_all_a": 3 / 19, "solved_in_all_b": 0.0,
                                            "n_all_a": 19, "n_all_b": 20}]
    assert [row["lang"] for row in out["consistency"]["languages"]] == ["de", "fr"]


def test_markdown_is_the_default_format(runs, capsys):
    assert cmp.main(cli(["compare", *map(str, runs)])) == 0
    assert capsys.readouterr().out.startswith("# Comparison: A = alpha:/models/alpha vs B = beta:/models/beta\n")


def test_json_has_null_where_consistency_has_no_english(tmp_path, capsys):
    cells = {("sib200", "de"): binary({0, 1}, n=4), ("sib200", "fr"): binary({1}, n=4)}
    a, b = write_run(tmp_path / "a", "alpha", cells), write_run(tmp_path / "b", "beta", cells)
    assert cmp.main(cli(["compare", str(a), str(b), "--format", "json"])) == 0
    rows = json.loads(capsys.readouterr().out)["consistency"]["languages"]
    assert rows[0]["agree_with_en_a"] is None and rows[0]["n_a"] == 0


@pytest.mark.parametrize("argv", [["compare", "a", "b", "--format", "csv"], ["compare", "a", "b", "--alpha", "2"],
                                  ["compare", "a"]])
def test_bad_arguments_are_rejected(argv):
    with pytest.raises(OctoglotError):  # the CLI prints it as one line and exits 2
        cli(argv)


@pytest.mark.slow
def test_real_run_against_itself(real_sib_run):
    comparison = cmp.compare(real_sib_run, real_sib_run)
    assert len(comparison.tested) == 8 and {c.verdict for c in comparison.cells} == {"no significant difference"}
    assert list(comparison.consistency["lang"]) == ["de", "fr", "it", "pt", "hi", "es", "th"]


def write_v2(root: Path, model: str, records: list[dict], *, higher_is_better: bool) -> Path:
    """A format 2 run of a task no installed family declares: its metric's facts come with the run."""
    run = root / f"{model}-1"
    path = run / "samples" / "de" / "toy.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    unit = {"task": "toy", "lang": "de", "family": "elsewhere", "kind": "generate", "parallel": True,
            "task_version": 1, "pack_version": 1, "prompt_hash": "h", "data": {"kind": "local", "sha256": "s"},
            "n_items": len(records), "n_samples": len(records), "n_errors": 0,
            "generation": {"max_new_tokens": 8, "until": [], "sampling": "greedy", "chat_template": False},
            "langid": "langdetect"}
    values = [r["metrics"]["wrong"] for r in records]
    row = {"task": "toy", "lang": "de", "metric": "wrong", "value": sum(values) / len(values), "stderr": None,
           "ci95": None, "n": len(values), "kind": "binary", "scale": 1, "higher_is_better": higher_is_better,
           "primary": True}
    manifest = {"format_version": 2, "model": {"name": model, "backend": "hf", "args": {}, "identity": {"alias": model}},
                "seeds": {"sampling": 1234}, "limit": {"toy": None}, "units": [unit]}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run / "results.json").write_text(json.dumps({"format_version": 2, "scores": [row]}), encoding="utf-8")
    return run


def test_the_verdict_follows_the_runs_own_direction_of_better(tmp_path):
    fewer = binary(set(range(2)), metric="wrong")  # A: 2 of 20 wrong
    more = binary(set(range(16)), metric="wrong")  # B: 16 of 20 wrong
    a = write_v2(tmp_path / "a", "alpha", fewer, higher_is_better=False)
    b = write_v2(tmp_path / "b", "beta", more, higher_is_better=False)
    (cell,) = cmp.compare(a, b).cells
    assert (cell.test, cell.delta, cell.verdict) == ("mcnemar", pytest.approx(0.7), "A better")
    assert "wrong (lower is better)" in cmp.compare(a, b).to_markdown()
    c = write_v2(tmp_path / "c", "gamma", more, higher_is_better=True)  # the same metric, other facts
    with pytest.raises(OctoglotError, match=r"none is comparable \(toy/de: primary metric or its facts differ"):
        cmp.compare(a, c)


# --- intervals of Δ and macro averages -----------------------------------------------------------------------------

def test_every_tested_cell_has_a_ci_of_delta_that_contains_it(runs):
    comparison = cmp.compare(*runs)
    for cell in comparison.tested:
        low, high = cell.detail["ci95"]
        assert low <= cell.delta <= high, (cell.task, cell.lang)
        assert -cell.scale <= low and high <= cell.scale
    en = cells_by_key(comparison)["sib200", "en"]
    assert en.detail["ci"] == "paired bootstrap of the mean" and en.detail["seed"] == statistics.cell_seed("sib200", "en")
    assert en.p_value == 2 / 4096  # the p-value stays McNemar's


def test_a_binary_cell_without_discordant_items_has_the_ci_0_0_and_so_has_its_macro_average(tmp_path):
    cells = {("sib200", "en"): binary({0, 1}, n=2), ("sib200", "de"): binary(set(), n=2)}
    a, b = write_run(tmp_path / "a", "alpha", cells), write_run(tmp_path / "b", "beta", cells)
    comparison = cmp.compare(a, b)
    assert [(c.detail["b"], c.detail["c"], c.detail["ci95"]) for c in comparison.tested] == [(0, 0, [0.0, 0.0])] * 2
    assert [(m.task, m.delta, m.ci95) for m in comparison.macro] == [("sib200", 0.0, (0.0, 0.0)),
                                                                      (None, 0.0, (0.0, 0.0))]


def test_macro_averages_per_task_and_overall_in_points(runs):
    comparison = cmp.compare(*runs)
    cells = cells_by_key(comparison)
    sib, flores, overall = comparison.macro
    assert (sib.task, sib.cells, flores.task, flores.cells) == ("sib200", ["en", "de", "fr"], "flores_en_xx", ["de"])
    assert sib.delta == pytest.approx(100 * (0.6 - 0.5 + 0.0) / 3)  # 0–1 metric: × 100
    assert flores.delta == pytest.approx(cells["flores_en_xx", "de"].delta)  # chrF++ is on 0–100 already
    assert (overall.task, overall.cells) == (None, ["sib200", "flores_en_xx"])
    assert overall.delta == pytest.approx((sib.delta + flores.delta) / 2)
    for macro in comparison.macro:
        assert -100 <= macro.ci95[0] < macro.delta < macro.ci95[1] <= 100
    # the cells' draws are independent: a seed per cell, stable across processes
    assert len({statistics.cell_seed(c.task, c.lang) for c in comparison.tested}) == 4
    assert statistics.cell_seed("sib200", "en") == 12345 + 1703098627  # crc32(b"sib200/en"), below 2**31


def test_a_macro_interval_is_as_asymmetric_as_its_draws_not_a_normal_approximation(tmp_path):
    """B solves 1 of 40 items A fails, nothing else differs: Δ = 2.5 points and no resample can go below 0, so the
    interval reaches far more above Δ than below it; mean ± 1.96 s.e. would be symmetric and cross 0."""
    a = write_run(tmp_path / "a", "alpha", {("sib200", "en"): binary(set(), n=40)})
    b = write_run(tmp_path / "b", "beta", {("sib200", "en"): binary({7}, n=40)})
    (task, overall) = cmp.compare(a, b).macro
    low, high = task.ci95
    assert task.delta == pytest.approx(2.5) and low == 0.0
    assert high - task.delta > 1.5 * (task.delta - low)
    assert overall.ci95 == task.ci95


def test_a_task_better_when_lower_has_its_macro_row_and_stays_out_of_the_overall_one(tmp_path):
    a = write_v2(tmp_path / "a", "alpha", binary(set(range(2)), metric="wrong"), higher_is_better=False)
    b = write_v2(tmp_path / "b", "beta", binary(set(range(16)), metric="wrong"), higher_is_better=False)
    comparison = cmp.compare(a, b)
    assert [(m.task, m.higher_is_better) for m in comparison.macro] == [("toy", False)]  # no overall row
    assert "| toy | de (lower is better) | +70.00 |" in comparison.to_markdown()


def test_macro_averages_in_markdown_and_json(runs):
    comparison = cmp.compare(*runs)
    text = comparison.to_markdown()
    assert "## Macro averages" in text and cmp.MACRO_METHOD in text and cmp.CI_METHOD in text
    assert re.search(r"\| sib200 \| en, de, fr \| \+3\.33 \| \[[-+]\d+\.\d\d, \+\d+\.\d\d\] \|", text)
    assert "| overall (mean over tasks) | sib200, flores_en_xx |" in text
    out = json.loads(comparison.to_json())
    assert [m["task"] for m in out["macro"]] == ["sib200", "flores_en_xx", None]
    assert out["macro"][0]["delta"] == pytest.approx(10 / 3) and len(out["macro"][0]["ci95"]) == 2
    assert out["macro_method"] == cmp.MACRO_METHOD and all("draws" not in c for c in out["cells"])


# --- the HTML page -------------------------------------------------------------------------------------------------

def test_html_page_through_the_command_has_the_tables_and_the_forest_plot(runs, capsys, tmp_path):
    a, b = runs
    png = tmp_path / "forest.png"
    assert cmp.main(cli(["compare", str(a), str(b), "--format", "html", "--png", str(png)])) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert '<table id="cells">' in page and '<table id="macro">' in page and '<table id="summary">' in page
    assert page.count("<svg") == 1 and "sib200 / en (acc) *" in page  # the forest plot, inline
    assert html.escape(cmp.CI_METHOD) in page and "not a normal approximation" in page
    assert "bad|hash\nsecond line" in page  # the not-compared reason, as text
    assert "<script" not in page and not re.search(r'\b(src|href)="(?!#)', page)
    assert "Content-Security-Policy" in page and not re.search(r"https?://", page)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_page_escapes_every_run_string(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    a = write_run(tmp_path / "a", hostile, {("sib200", "en"): binary({1, 2}), ("sib200", "de"): binary({1})})
    b = write_run(tmp_path / "b", "beta", {("sib200", "en"): binary({1, 2, 3}), ("sib200", "de"): binary({1})},
                  prompt_hashes={("sib200", "de"): "</td><script>alert(2)</script>"})
    page = cmp.compare(a, b).to_html()
    assert "<img" not in page and "<script" not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 3  # title, heading, run folder, forest plot
    assert "&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
