"""index.html in a real browser: headless Chromium through Selenium, nothing downloaded.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (.ci/install-packages) and the ``selenium`` package;
skipped with the reason when one is missing.
"""

from __future__ import annotations

import re
from pathlib import Path
from conftest import REPO, SHARED_DATA, missing
import pytest

from harness.reporting import leaderboard, writers
from test_leaderboard import ALPHA, BETA, GAMMA, write_run

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCRIPT_NAME = "<script>window.__pwned=1</script>"
IMG_NAME = '<img src=x onerror="window.__pwned=2">'


def half(scores: dict) -> dict:
    return {key: (value[0] / 2, value[1]) for key, value in scores.items()}


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if not CHROMIUM.is_file() or not CHROMEDRIVER.is_file():
        missing(f"{CHROMIUM} or {CHROMEDRIVER} is missing: install the Debian packages chromium and chromium-driver "
                "(.ci/install-packages)")
    try:
        from selenium import webdriver
    except ImportError:
        missing("selenium is not installed (a test dependency)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs = [write_run(root, "alpha", "alpha", ALPHA),
            write_run(root, "beta", "beta", BETA, prompt_hashes={("sib200", "de"): "other-hash"}),
            write_run(root, "gamma", "gamma", GAMMA),
            write_run(root, "evil-script", SCRIPT_NAME, half(ALPHA), args={"pretrained": SCRIPT_NAME}),
            write_run(root, "evil-img", IMG_NAME, half(BETA), args={"note": IMG_NAME})]
    board = leaderboard.build(runs)
    paths = writers.write(board, root / "report")
    return board, paths[4]


def table(driver, key: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.XPATH, f"//table[@id='{key}']")


def row_names(element) -> list[str]:
    from selenium.webdriver.common.by import By

    return [th.text for th in element.find_elements(By.CSS_SELECTOR, "tbody tr th")]


def test_page_is_self_contained(report):
    _, page = report
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text)
    assert not re.search(r'\b(src|href)="(?!#|explorer\.html[#"])', text)  # in-page links and the sample explorer
    assert text.count("<script") == 1


def test_tables_render(driver, report):
    from selenium.webdriver.common.by import By

    board, page = report
    driver.get(page.as_uri())
    assert driver.title == "octoglot leaderboard"
    tables = driver.find_elements(By.CSS_SELECTOR, "table.sortable")
    # the score tables, and the paired difference from English (sib200 is parallel and 0/1, English is there)
    assert len(tables) == 2 + len(board.by_task) + len(board.by_lang) + 1 == 8
    vs_english = table(driver, "vs_english")
    assert {tr.find_elements(By.CSS_SELECTOR, "td")[2].text for tr in vs_english.find_elements(By.CSS_SELECTOR,
                                                                                              "tbody tr")} == {"de", "th"}
    overall = table(driver, "overall")
    assert len(overall.find_elements(By.CSS_SELECTOR, "thead th")) == 1 + 2 + 1  # model, 2 tasks, overall
    assert len(overall.find_elements(By.CSS_SELECTOR, "tbody tr")) == 5
    sib = table(driver, "task:sib200")
    assert [th.text for th in sib.find_elements(By.CSS_SELECTOR, "thead th")] == ["model", "en", "de", "th", "mean"]
    assert all(len(tr.find_elements(By.CSS_SELECTOR, "th, td")) == 5
               for tr in sib.find_elements(By.CSS_SELECTOR, "tbody tr"))
    assert "80.0 [70.0, 88.0] #2" in sib.text
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_clicking_a_header_sorts(driver, report):
    from selenium.webdriver.common.by import By

    board, page = report
    driver.get(page.as_uri())
    sib = table(driver, "task:sib200")
    assert row_names(sib) == board.by_task["sib200"].models  # overall order to start with
    by_en = board.by_task["sib200"].values()["en"].sort_values(ascending=False)
    assert row_names(sib) != list(by_en.index)
    header = sib.find_element(By.XPATH, ".//thead//th[text()='en']")
    header.click()
    assert row_names(sib) == list(by_en.index)
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    assert row_names(sib) == list(reversed(by_en.index))
    sib.find_element(By.XPATH, ".//thead//th[text()='model']").click()
    assert row_names(sib) == sorted(board.by_task["sib200"].models)


def test_run_strings_are_text_and_never_run(driver, report):
    from selenium.webdriver.common.by import By

    _, page = report
    driver.get(page.as_uri())
    assert driver.execute_script("return window.__pwned") is None
    names = row_names(table(driver, "overall"))
    assert SCRIPT_NAME in names and IMG_NAME in names
    assert driver.find_elements(By.TAG_NAME, "img") == []
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 1
    runs_text = driver.find_element(By.ID, "runs").text
    assert SCRIPT_NAME in runs_text and IMG_NAME in runs_text  # model args shown as text too
    for header in table(driver, "overall").find_elements(By.CSS_SELECTOR, "thead th"):
        header.click()
    assert driver.execute_script("return window.__pwned") is None
