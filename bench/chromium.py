"""Headless Chromium through Selenium for the scripts that open octoglot's pages (``bench/explorer_load.py``,
``reports/screenshots.py``): Debian's chromium and chromium-driver, nothing downloaded, a throwaway profile."""

from __future__ import annotations

from pathlib import Path

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def missing() -> str | None:
    """Why Chromium cannot be driven here, or None."""
    if not CHROMIUM.is_file() or not CHROMEDRIVER.is_file():
        return f"{CHROMIUM} or {CHROMEDRIVER} is missing (Debian packages chromium and chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the test extra: pip install -e '.[test]')"
    return None


def browser(profile: Path, *flags: str):
    """A Chrome WebDriver on ``profile`` with ``FLAGS`` and ``flags``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, *flags, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
