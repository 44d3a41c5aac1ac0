"""The README's pictures of a generated report, taken in headless Chromium (``make screenshots``).

    python reports/screenshots.py [REPORT_DIR] [--task mgsm] [--lang de]

Reads REPORT_DIR (default ``reports/quick``), written by ``make reports``, and writes beside its pages:

- ``explorer.png``: the sample explorer filtered to one task and language (default mgsm): every answer behind
  a leaderboard cell (German by default: headless Chromium on a machine without Thai or Devanagari fonts draws
  those scripts as boxes);
- ``explorer-parallel.png``: the parallel view of one item of that task (the first id the first run scored in
  English) across every language and model.

The forest plot needs no browser: ``octoglot compare ... --png reports/quick/forest.png`` draws it (``make
reports``). Needs the Debian packages chromium and chromium-driver and the ``selenium`` package (the test extra).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from chromium import browser, missing  # noqa: E402 (bench/chromium.py)


def first_item(report: Path, task: str) -> str:
    """The first item id of ``task`` in English in the first run the report lists that has one."""
    board = json.loads((report / "leaderboard.json").read_text(encoding="utf-8"))
    for run in board["runs"]:
        samples = Path(run["folder"]) / "samples" / "en" / f"{task}.jsonl"
        if samples.is_file():
            line = samples.read_text(encoding="utf-8").splitlines()[0]
            return str(json.loads(line)["id"])
    sys.exit(f"screenshots: no run folder of {report}/leaderboard.json holds samples/en/{task}.jsonl "
             "(run `make reports` first: the run folders must exist)")


def shoot(driver, page: Path, fragment: str, out: Path) -> None:
    driver.get(page.resolve().as_uri() + fragment)
    time.sleep(1.0)  # the page renders from its embedded data on load
    driver.save_screenshot(str(out))
    print(f"wrote {out}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", nargs="?", default="reports/quick", type=Path)
    parser.add_argument("--task", default="mgsm")
    parser.add_argument("--lang", default="de")
    args = parser.parse_args()
    page = args.report / "explorer.html"
    if not page.is_file():
        sys.exit(f"screenshots: {page} is missing (run `make reports` first)")
    if missing():
        sys.exit(f"screenshots: {missing()}")
    item = first_item(args.report, args.task)
    with tempfile.TemporaryDirectory() as profile:
        driver = browser(Path(profile), "--hide-scrollbars", "--window-size=1400,1000")
        try:
            shoot(driver, page, f"#task={quote(args.task)}&lang={quote(args.lang)}", args.report / "explorer.png")
            shoot(driver, page, f"#item={quote(item)}&in={quote(args.task)}", args.report / "explorer-parallel.png")
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
