"""Screenshots of every dashboard page, for the README: `python scripts/take_screenshots.py URL`.

Drives Debian's Chromium through Playwright against a running dashboard (e.g. `make run`,
which loads the demo dataset) and writes docs/screenshots/<page>.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCRIPT_DONE

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
PAGES = ("overview", "persistence", "performance", "memory_api", "alerts", "trends", "compare")


def wait_for_page(page: Page, timeout_ms: int = 60_000) -> None:
    """Until the script run is over (the app's own script state) and the charts are drawn."""
    page.wait_for_selector("h1", timeout=timeout_ms)
    page.wait_for_function(SCRIPT_DONE, timeout=timeout_ms)
    page.wait_for_timeout(1500)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8501")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        for name in PAGES:
            path = "" if name == "overview" else name
            page.goto(f"{args.url.rstrip('/')}/{path}")
            wait_for_page(page)
            # Streamlit scrolls inside its main block: grow the viewport to its full height.
            height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
            page.set_viewport_size({"width": args.width, "height": max(900, int(height))})
            page.wait_for_timeout(1000)
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
            page.set_viewport_size({"width": args.width, "height": 900})
            print(f"wrote {OUT / (name + '.png')}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
