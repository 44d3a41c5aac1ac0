"""The sample explorer (explorer.html): its data built from run directories written in the real run format
(README "Run directory format"), and the page in a real browser (headless Chromium through Selenium, as
test_html_report.py; skipped with the reason when Chromium, chromedriver or selenium is missing).

Every sample written here is given an intended outcome first and its record is made to fit, so the counts the
tests expect come from what was written, not from ``explorer.outcome``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest

from harness.reporting import explorer, leaderboard, writers
from test_html_report import driver  # noqa: F401 (the module-scoped headless Chromium fixture)

LANGS = ("th", "en", "hi", "de")  # as the runs list them
ORDERED = ["en", "de", "hi", "th"]  # octoglot's language order
ITEMS = 7
ANSWER_LANG = {"en": "en", "de": "de", "th": "th", "hi": "hi"}


def _facts(kind: str, scale: int, primary: bool = False) -> dict:
    return {"kind": kind, "scale": scale, "higher_is_better": True, "primary": primary}


# task: kind of unit, metrics with their facts (the primary first), the outcomes its samples take in turn
TASKS = {
    "sib200": ("loglikelihood", {"acc": _facts("binary", 1, True), "acc_norm": _facts("binary", 1)},
               (explorer.CORRECT, explorer.WRONG, explorer.ERROR)),
    "mgsm": ("generate", {"exact_match": _facts("binary", 1, True), "lang_fidelity": _facts("binary", 1)},
             (explorer.CORRECT, explorer.WRONG, explorer.OTHER_LANGUAGE, explorer.ERROR)),
    "flores_en_xx": ("generate", {"chrf++": _facts("corpus", 100, True), "lang_fidelity": _facts("binary", 1)},
                     (explorer.SCORED, explorer.OTHER_LANGUAGE)),
    "xquad": ("generate", {"f1": _facts("continuous", 1, True), "lang_fidelity": _facts("binary", 1)},
              (explorer.CORRECT, explorer.WRONG, explorer.OTHER_LANGUAGE)),
    "mhumaneval": ("generate", {"pass@1": _facts("binary", 1, True)},
                   (explorer.CORRECT, explorer.WRONG, explorer.UNSCORED)),
}
OPTIONS = ["science", "travel", "politics", "sports"]
# one segment's chrF++ sufficient statistics (hypothesis, reference, match counts of 6 character and 2 word orders)
CHRF_STATISTICS = [69, 81, 47, 68, 80, 23, 67, 79, 14, 66, 78, 7, 65, 77, 4, 64, 76, 2, 14, 19, 1, 13, 18, 0]


def intended(task: str, lang: str, item: int, model: int) -> str:
    cycle = TASKS[task][2]
    return cycle[(item + model + LANGS.index(lang)) % len(cycle)]


def make_record(task: str, lang: str, item: int, verdict: str, *, response: str | None = None,
                prompt: str | None = "auto", item_id: str | None = None) -> dict:
    """A sample record of ``task`` whose outcome is ``verdict``."""
    record = {"id": item_id or f"item-{item}", "prompt_hash": f"h{item}", "error": None, "statistics": None,
              "prompt": f"[{lang}] question {item} of {task}" if prompt == "auto" else prompt}
    kind, metrics, _ = TASKS[task]
    primary = next(iter(metrics))
    if kind == "loglikelihood":
        gold = item % len(OPTIONS)
        right = verdict == explorer.CORRECT
        lls = [-5.0] * len(OPTIONS)
        lls[gold if right else (gold + 1) % len(OPTIONS)] = -1.0
        record.update(target=gold, loglikelihoods=lls, response=None, choices=OPTIONS, extracted=None,
                      detected_lang=None, metrics={"acc": float(right), "acc_norm": float(right)})
    else:
        other = verdict == explorer.OTHER_LANGUAGE
        detected = "en" if other and lang != "en" else ("de" if other else ANSWER_LANG[lang])
        value = {explorer.CORRECT: 1.0, explorer.WRONG: 0.5 if task == "xquad" else 0.0,
                 explorer.OTHER_LANGUAGE: 1.0, explorer.SCORED: 42.0}.get(verdict)
        record.update(target=f"answer {item}", loglikelihoods=None, extracted=f"extracted {item}",
                      response=response if response is not None else f"[{lang}] the model says {item} ({verdict})",
                      detected_lang=detected, metrics={} if value is None else {primary: value})
        if "lang_fidelity" in metrics:
            record["metrics"]["lang_fidelity"] = 0.0 if other else 1.0
        if task == "flores_en_xx":
            record["metrics"] = {"chrf": 42.0, "lang_fidelity": record["metrics"]["lang_fidelity"]}
            record["statistics"] = {"chrf++": CHRF_STATISTICS}
        if task == "mhumaneval":
            outcome = {explorer.CORRECT: "passed", explorer.WRONG: "failed"}.get(verdict, "data_error")
            record["execution"] = {"outcome": outcome, "seconds": 0.1, "exit_status": 0, "detail": None,
                                   "stderr_tail": "Traceback: AssertionError" if outcome == "failed" else ""}
    if verdict == explorer.ERROR:
        record.update(error="CUDA out of memory", metrics={}, loglikelihoods=None, response=None, extracted=None,
                      detected_lang=None)
    return record


def write_run(root: Path, folder: str, model: str, records: dict, *, limit=ITEMS) -> Path:
    """A format 2 run directory: manifest.json (units), results.json (score rows with their metric facts) and
    samples/<lang>/<task>.jsonl. ``records``: {(task, lang): [record, ...]}."""
    run = root / folder
    units, rows = [], []
    for (task, lang), unit_records in records.items():
        kind, metrics, _ = TASKS[task]
        units.append({"task": task, "lang": lang, "family": "f", "kind": kind, "parallel": True, "task_version": 1,
                      "pack_version": 1, "prompt_hash": f"hash-{task}-{lang}",
                      "data": {"kind": "local", "path": f"{task}/{lang}.tsv", "sha256": f"sha-{task}-{lang}"},
                      "n_items": 100, "n_samples": len(unit_records),
                      "n_errors": sum(bool(r["error"]) for r in unit_records),
                      "generation": None if kind == "loglikelihood" else {"max_new_tokens": 64, "until": [],
                                                                          "sampling": "greedy",
                                                                          "chat_template": False},
                      "langid": None if kind == "loglikelihood" else "langdetect"})
        rows += [{"task": task, "lang": lang, "metric": metric, "value": 0.5 * facts["scale"], "stderr": 0.01,
                  "ci95": None, "n": len(unit_records), **facts} for metric, facts in metrics.items()]
        path = run / "samples" / lang / f"{task}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in unit_records), encoding="utf-8")
    manifest = {"format_version": 2, "harness": {"name": "octoglot", "version": "0.3.0"},
                "created": "2026-12-01T10:00:00+00:00", "command": ["octoglot", "run"],
                "model": {"name": model, "backend": "hf", "args": {"pretrained": "/models/x"},
                          "identity": {"alias": model}},
                "seeds": {"sampling": 1234}, "limit": limit, "units": units}
    (run / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (run / "results.json").write_text(json.dumps({"format_version": 2, "scores": rows, "errors": {}}),
                                      encoding="utf-8")
    return run


def model_records(model: int) -> dict:
    return {(task, lang): [make_record(task, lang, k, intended(task, lang, k, model)) for k in range(ITEMS)]
            for task in TASKS for lang in LANGS}


MODELS = ("alpha", "beta")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("explorer-runs")
    return [write_run(root, f"{name}-1", name, model_records(m)) for m, name in enumerate(MODELS)]


@pytest.fixture(scope="module")
def expected() -> Counter:
    """(model, task, lang, outcome) -> count, from what was written."""
    return Counter((name, task, lang, intended(task, lang, k, m)) for m, name in enumerate(MODELS)
                   for task in TASKS for lang in LANGS for k in range(ITEMS))


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory) -> tuple[Path, Path]:
    """index.html and explorer.html written by the leaderboard's writer."""
    paths = writers.write(leaderboard.build(runs), tmp_path_factory.mktemp("explorer-report"))
    index, page = paths[4], paths[-1]
    assert index.name == "index.html" and page.name == "explorer.html"
    return index, page


def embedded(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    block = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S).group(1)
    return json.loads(block)


# ---------------------------------------------------------------- pure Python


def test_outcomes_follow_the_documented_rules():
    binary, continuous, corpus = _facts("binary", 1, True), _facts("continuous", 1, True), _facts("corpus", 100)
    cases = [
        ({"error": "boom", "metrics": {"acc": 1.0}}, binary, "acc", explorer.ERROR),
        ({"metrics": {"exact_match": 1.0, "lang_fidelity": 0.0}}, binary, "exact_match", explorer.OTHER_LANGUAGE),
        ({"metrics": {"exact_match": 1.0, "lang_fidelity": 1.0}}, binary, "exact_match", explorer.CORRECT),
        ({"metrics": {"exact_match": 0.0}}, binary, "exact_match", explorer.WRONG),
        ({"metrics": {"f1": 1.0}}, continuous, "f1", explorer.CORRECT),
        ({"metrics": {"f1": 0.99}}, continuous, "f1", explorer.WRONG),  # full marks only
        ({"metrics": {"chrf": 80.0}}, corpus, "chrf++", explorer.SCORED),
        ({"metrics": {"chrf": 80.0, "lang_fidelity": 0.0}}, corpus, "chrf++", explorer.OTHER_LANGUAGE),
        ({"metrics": {}}, binary, "pass@1", explorer.UNSCORED),  # a data error: never scored
        ({"metrics": {"ifeval": 100.0}}, _facts("continuous", 100, True), "ifeval", explorer.CORRECT),
        ({"metrics": {"wer": 0.0}}, {**binary, "higher_is_better": False}, "wer", explorer.CORRECT),
    ]
    for record, facts, primary, verdict in cases:
        assert explorer.outcome(record, facts, primary) == verdict, record


def test_data_columns_and_lists(runs, expected):
    data = explorer.build(runs)
    samples = data["samples"]
    assert len(samples["id"]) == sum(expected.values()) == len(MODELS) * len(TASKS) * len(LANGS) * ITEMS
    assert data["models"] == list(MODELS)
    assert data["langs"] == ORDERED
    assert [t["name"] for t in data["tasks"]] == list(TASKS)
    assert all(len(column) == len(samples["id"]) for column in samples.values())
    got = Counter((data["models"][data["runs"][r]["model"]], data["tasks"][t]["name"], data["langs"][lang],
                   data["outcomes"][o])
                  for r, t, lang, o in zip(samples["run"], samples["task"], samples["lang"], samples["out"]))
    assert got == expected
    # prompts and choice lists are stored once: each prompt text is shared by both models
    assert len(data["prompts"]) == len(TASKS) * len(LANGS) * ITEMS
    assert data["choices"] == [OPTIONS]


def test_loglikelihood_samples_show_the_picked_option_and_the_gold_one(runs):
    data = explorer.build(runs)
    s = data["samples"]
    sib = data["tasks"].index(next(t for t in data["tasks"] if t["name"] == "sib200"))
    i = next(i for i in range(len(s["id"])) if s["task"][i] == sib and data["outcomes"][s["out"][i]] == "wrong")
    gold = s["gold"][i]
    assert s["pick"][i] == (gold + 1) % len(OPTIONS)
    assert s["target"][i] == f"option {gold}: {OPTIONS[gold]}"
    assert s["response"][i] == f"option {s['pick'][i]}: {OPTIONS[s['pick'][i]]}"
    code = [t["name"] for t in data["tasks"]].index("mhumaneval")
    failed = next(i for i in range(len(s["id"])) if s["task"][i] == code and s["exec"][i][0] == "failed")
    assert s["exec"][failed][2] == "Traceback: AssertionError"
    metric_names = [data["metrics"][k] for k in s["metrics"][failed][::2]]
    assert metric_names == ["pass@1"]


def test_long_texts_are_cut_with_a_marker_naming_the_file(tmp_path):
    response = "A" * 60_000 + "MIDDLE" + "Z" * 60_000
    prompt = "P" * 30_000 + "END"
    records = {("mgsm", "de"): [make_record("mgsm", "de", 0, explorer.WRONG, response=response, prompt=prompt)]}
    run = write_run(tmp_path, "long-run", "alpha", records)
    s = explorer.build([run])["samples"]
    shown = s["response"][0]
    assert shown.startswith("A" * 50_000) and shown.endswith("Z" * 50_000) and "MIDDLE" not in shown
    assert "[… 20,006 characters cut; the whole text is in samples/de/mgsm.jsonl of run long-run …]" in shown
    data = explorer.build([run])
    assert data["prompts"][0].endswith("P" * 9_997 + "END") and "10,003 characters cut" in data["prompts"][0]
    assert f"{explorer.TEXT_CAP:,}" in explorer.render(data)  # the page says where it cuts


def test_runs_without_prompts_say_so(tmp_path):
    records = {("mgsm", "en"): [{k: v for k, v in make_record("mgsm", "en", 0, explorer.CORRECT).items()
                                 if k not in ("prompt", "choices")}]}
    data = explorer.build([write_run(tmp_path, "old", "alpha", records)])
    assert data["samples"]["prompt"] == [-1] and data["not_recorded"] == "(not recorded by this run)"


def test_embedded_json_cannot_end_its_block():
    hostile = "</script><script>window.__pwned=3</script> <!-- & \u2028 \u2029 \ud800"
    text = explorer.script_json({"x": hostile})
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text)["x"] == hostile.replace("\ud800", "?")  # a lone surrogate cannot be written as UTF-8


def test_the_page_is_self_contained(report):
    _, page = report
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text)
    assert re.findall(r'\b(?:src|href)="([^"]*)"', text) == ["index.html"]  # the way back to the leaderboard
    assert text.count("<script") == 2  # the data block and the code
    assert explorer.CSP in text


def test_links_are_url_encoded():
    assert explorer.link("alpha", "sib200", "de") == "explorer.html#model=alpha&task=sib200&lang=de"
    assert explorer.link('a&b="<c>"#', None, "th") == "explorer.html#model=a%26b%3D%22%3Cc%3E%22%23&lang=th"
    assert explorer.link() == "explorer.html"


def test_index_cells_link_to_the_explorer(report):
    index, _ = report
    text = index.read_text(encoding="utf-8")
    assert 'href="explorer.html#model=alpha&amp;task=sib200&amp;lang=de"' in text  # task table, a language
    assert 'href="explorer.html#model=beta&amp;task=xquad"' in text  # overall table: a task over languages
    assert 'href="explorer.html#model=alpha&amp;lang=th"' in text  # heatmap: a language over tasks
    assert 'href="explorer.html#model=alpha"' in text  # the overall mean
    assert '<a href="explorer.html">sample explorer</a>' in text


# ---------------------------------------------------------------- in the browser


def wait(browser, condition, timeout=10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda _: condition())


def choose(browser, select_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, select_id)).select_by_value(value)


def count(browser) -> int:
    from selenium.webdriver.common.by import By

    text = browser.find_element(By.ID, "count").text
    return int(text.split()[0])


def outcome_counts(browser) -> dict[str, int]:
    from selenium.webdriver.common.by import By

    return {b.get_attribute("data-outcome"): int(b.get_attribute("data-count"))
            for b in browser.find_elements(By.CSS_SELECTOR, "#outcome-counts button")}


def test_filters_show_the_right_counts(driver, report, expected):
    from selenium.webdriver.common.by import By

    _, page = report
    driver.get(page.as_uri())
    assert count(driver) == sum(expected.values())
    choose(driver, "f-lang", "th")
    th = Counter()
    for key, n in expected.items():
        th[key[3]] += n if key[2] == "th" else 0
    assert count(driver) == sum(th.values())
    assert outcome_counts(driver) == {o: th[o] for o in explorer.OUTCOMES}
    choose(driver, "f-outcome", explorer.OTHER_LANGUAGE)
    assert count(driver) == th[explorer.OTHER_LANGUAGE] > 0
    cards = driver.find_elements(By.CSS_SELECTOR, "#list .sample")
    assert len(cards) == min(50, th[explorer.OTHER_LANGUAGE])
    assert {c.find_element(By.CSS_SELECTOR, ".lang").text for c in cards} == {"th"}
    assert {c.find_element(By.CSS_SELECTOR, ".badge").text for c in cards} == {explorer.OTHER_LANGUAGE}
    choose(driver, "f-model", "beta")
    choose(driver, "f-task", "mgsm")
    assert count(driver) == expected[("beta", "mgsm", "th", explorer.OTHER_LANGUAGE)]
    assert driver.current_url.endswith("#model=beta&task=mgsm&lang=th&outcome=other%20language")
    # free text, ignoring case: one item's prompt in one language
    choose(driver, "f-outcome", "")
    choose(driver, "f-model", "")
    choose(driver, "f-task", "")
    choose(driver, "f-lang", "")
    driver.find_element(By.ID, "f-q").send_keys("[TH] QUESTION 3 OF MGSM")
    wait(driver, lambda: count(driver) == len(MODELS))
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_paging_shows_fifty_at_a_time(driver, report, expected):
    from selenium.webdriver.common.by import By

    _, page = report
    driver.get(page.as_uri() + "#model=alpha")
    total = sum(n for key, n in expected.items() if key[0] == "alpha")
    assert count(driver) == total and total > 100
    first = [e.get_attribute("data-index") for e in driver.find_elements(By.CSS_SELECTOR, "#list .sample")]
    assert len(first) == 50
    driver.find_element(By.ID, "next").click()
    second = [e.get_attribute("data-index") for e in driver.find_elements(By.CSS_SELECTOR, "#list .sample")]
    assert len(second) == 50 and set(first).isdisjoint(second)
    assert driver.find_element(By.ID, "page").text == f"page 2 of {-(-total // 50)}"


def test_the_hash_sets_the_filters(driver, report, expected):
    _, page = report
    driver.get(page.as_uri() + "#model=beta&task=xquad&lang=de&outcome=wrong")
    assert count(driver) == expected[("beta", "xquad", "de", explorer.WRONG)] > 0
    from selenium.webdriver.common.by import By

    assert driver.find_element(By.ID, "f-task").get_attribute("value") == "xquad"


def test_index_cell_opens_the_explorer_filtered(driver, report, expected):
    from selenium.webdriver.common.by import By

    index, _ = report
    driver.get(index.as_uri())
    table = driver.find_element(By.ID, "task:sib200")
    row = table.find_element(By.XPATH, ".//tbody/tr[th='alpha']")
    langs = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    row.find_elements(By.CSS_SELECTOR, "td")[langs.index("de") - 1].find_element(By.TAG_NAME, "a").click()
    wait(driver, lambda: driver.title == "octoglot sample explorer" and driver.execute_script(
        "return window.explorerReady"))
    assert count(driver) == sum(n for key, n in expected.items() if key[:3] == ("alpha", "sib200", "de"))
    assert driver.find_element(By.ID, "f-model").get_attribute("value") == "alpha"
    assert driver.find_element(By.ID, "f-lang").get_attribute("value") == "de"


def test_parallel_view_lines_up_ids(driver, report, expected):
    from selenium.webdriver.common.by import By

    _, page = report
    driver.get(page.as_uri() + "#task=mgsm&lang=de")
    card = driver.find_elements(By.CSS_SELECTOR, "#list .sample")[2]
    item = card.find_element(By.CSS_SELECTOR, "button.id").text
    card.find_element(By.CSS_SELECTOR, "button.id").click()
    grid = driver.find_element(By.ID, "p-grid")
    assert grid.is_displayed() and not driver.find_element(By.ID, "list-view").is_displayed()
    assert [th.text for th in grid.find_elements(By.CSS_SELECTOR, "thead th")] == ["language", *MODELS]
    rows = grid.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.get_attribute("data-lang") for r in rows] == ORDERED
    for row in rows:
        lang = row.get_attribute("data-lang")
        assert row.find_element(By.CSS_SELECTOR, "th .lang").text == lang
        assert f"answer {int(item.split('-')[1])}" in row.find_element(By.CSS_SELECTOR, "th").text  # the target
        cells = row.find_elements(By.CSS_SELECTOR, "td")
        assert [c.get_attribute("data-model") for c in cells] == list(MODELS)
        for model_index, cell in enumerate(cells):
            (sample,) = cell.find_elements(By.CSS_SELECTOR, ".psample")
            assert sample.get_attribute("data-id") == item and sample.get_attribute("data-lang") == lang
            k = int(item.split("-")[1])
            assert sample.find_element(By.CSS_SELECTOR, ".badge").text == intended("mgsm", lang, k, model_index)
    driver.find_element(By.ID, "back").click()
    wait(driver, lambda: driver.find_element(By.ID, "list-view").is_displayed())
    assert count(driver) == sum(n for key, n in expected.items() if key[1:3] == ("mgsm", "de"))


# ---------------------------------------------------------------- hostile text

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
END = "</script><script>window.__pwned=3</script>"
HUGE = 1_000_000


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("explorer-hostile")
    records = {("mgsm", "en"): [
        make_record("mgsm", "en", 0, explorer.WRONG, response=SCRIPT, prompt=IMG, item_id=END),
        make_record("mgsm", "en", 1, explorer.WRONG, response=IMG, prompt=END, item_id=SCRIPT),
        make_record("mgsm", "en", 2, explorer.WRONG, response=END + " " + "x" * HUGE, item_id=IMG),
        make_record("mgsm", "en", 3, explorer.CORRECT, prompt=None)]}  # a run written before prompts were kept
    runs = [write_run(root, "evil-1", SCRIPT, records), write_run(root, "evil-2", IMG + END, records)]
    return writers.write(leaderboard.build(runs), root / "report")[-1]


def pwned(browser):
    return browser.execute_script("return window.__pwned")


def test_hostile_text_stays_inert(driver, hostile):
    from selenium.webdriver.common.by import By

    text = hostile.read_text(encoding="utf-8")
    assert text.count("</script>") == 2 and text.count("<script") == 2  # only the page's own blocks
    driver.get(hostile.as_uri())
    assert pwned(driver) is None
    assert count(driver) == 8
    assert driver.find_elements(By.TAG_NAME, "img") == []
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 2
    models = [o.text for o in driver.find_elements(By.CSS_SELECTOR, "#f-model option")]
    assert models == ["all models", SCRIPT, IMG + END]  # names shown literally
    choose(driver, "f-model", IMG + END)
    assert count(driver) == 4 and pwned(driver) is None
    ids = {b.text for b in driver.find_elements(By.CSS_SELECTOR, "#list button.id")}
    assert {END, SCRIPT, IMG} <= ids
    # open every long field of every sample: the texts show literally, nothing runs
    for summary in driver.find_elements(By.CSS_SELECTOR, "#list details summary"):
        summary.click()
    marker = "characters cut; the whole text is in samples/en/mgsm.jsonl of run evil-2"

    def opened():  # a field is filled when opened (its toggle event comes a moment after the click)
        text = driver.execute_script("return document.getElementById('list').textContent")
        return text if marker in text else None

    shown = wait(driver, opened)
    assert SCRIPT in shown and IMG in shown and END in shown
    assert explorer.NOT_RECORDED in shown
    assert driver.find_elements(By.TAG_NAME, "img") == [] and pwned(driver) is None
    # the parallel view of a hostile id, then still responsive: a search and a filter work
    next(b for b in driver.find_elements(By.CSS_SELECTOR, "#list button.id") if b.text == IMG).click()
    cells = driver.find_elements(By.CSS_SELECTOR, "#p-grid .psample")
    assert len(cells) == 2 and {c.get_attribute("data-id") for c in cells} == {IMG}
    driver.find_element(By.ID, "back").click()
    driver.find_element(By.ID, "f-q").send_keys("window.__pwned=2")
    wait(driver, lambda: count(driver) == 3)  # the <img> as a prompt, as a response and as an id
    choose(driver, "f-outcome", explorer.CORRECT)
    assert count(driver) == 0 and pwned(driver) is None
    assert driver.find_elements(By.TAG_NAME, "img") == []


def test_a_corpus_primary_metric_with_per_sample_verdicts_is_judged_by_them(tmp_path):
    """IFEval's primary metric averages four per-sample verdicts (a corpus metric): its samples are right or wrong
    by the first 0/1 metric the run lists (prompt_strict); a translation's only 0/1 metric is lang_fidelity, so its
    samples stay 'scored'."""
    from harness.reporting.runs import Run

    scores = [{"task": "ifeval", "lang": "de", "metric": "ifeval", "kind": "corpus", "scale": 1,
               "higher_is_better": True, "primary": True, "value": 0.5},
              {"task": "ifeval", "lang": "de", "metric": "prompt_strict", "kind": "binary", "scale": 1,
               "higher_is_better": True, "primary": False, "value": 0.5},
              {"task": "flores_en_xx", "lang": "de", "metric": "chrf++", "kind": "corpus", "scale": 100,
               "higher_is_better": True, "primary": True, "value": 40.0},
              {"task": "flores_en_xx", "lang": "de", "metric": "lang_fidelity", "kind": "binary", "scale": 1,
               "higher_is_better": True, "primary": False, "value": 1.0}]
    run = Run(tmp_path, {}, scores)
    name, facts = explorer.verdict_metric(run, "ifeval")
    assert name == "prompt_strict" and facts["kind"] == "binary"
    assert explorer.outcome({"metrics": {"ifeval": 0.75, "prompt_strict": 1.0}}, facts, name) == "correct"
    assert explorer.outcome({"metrics": {"ifeval": 0.75, "prompt_strict": 0.0}}, facts, name) == "wrong"
    name, facts = explorer.verdict_metric(run, "flores_en_xx")
    assert name == "chrf++"
    assert explorer.outcome({"metrics": {"lang_fidelity": 1.0}, "statistics": {}}, facts, name) == "scored"
