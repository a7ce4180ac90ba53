"""How long each dashboard page takes to settle in Chromium, over 30 and 90 days against 24 hours.

    .venv/bin/python bench/history_bench.py --events 30000000 --keep /tmp/history-data
    .venv/bin/python bench/dashboard_bench.py /tmp/history-data

A real `widget-monitor serve` on the data dir (a copy: the server rolls up and moves days as
it runs) with its summary cache off, so that every load asks the API anew, and a real
`streamlit run` against it; headless Chromium opens each page with the window in its URL
(`?window=24h`, `?window=30d`, a custom 90 days) and the time is from the navigation until
the page stopped changing: no script run in progress, a title drawn, and no DOM mutation for
1 s (the time of the last one is the figure). Each page is loaded once first (Streamlit
imports its modules on a page's first run), then medians of --rounds; 24 hours is the
reference, in the same run.

A second table times what a user does after the first load: from a click on the page's link
in the sidebar (the window kept, the app already loaded) until the new page settled.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCRIPT_DONE
from tests.support.dashboard import StreamlitProcess
from tests.support.server import ServerProcess

PAGES = {
    "": "Overview",
    "performance": "Performance",
    "persistence": "Persistence",
    "memory_api": "Memory & API",
    "trends": "Trends",
    "compare": "Compare",
}
QUIET_MS = 1000

# Every DOM change, from the document's start: the time (ms since navigation) of the last one.
WATCH = """
window.__lastChange = performance.now();
new MutationObserver(() => { window.__lastChange = performance.now(); })
  .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
# A page has settled: its title (the one given, if any) drawn, no script run in progress (the
# app's `data-test-script-state`: the toolbar's status widget is hidden in `minimal` mode), no
# spinner, and no DOM change for QUIET_MS. Without the script state, a page computing behind
# its spinner for over QUIET_MS (Compare) counted as settled.
SETTLED = f"""(title) => document.querySelector('h1')
  && (!title || document.querySelector('h1').textContent.includes(title))
  && ({SCRIPT_DONE})()
  && !document.querySelector('[data-testid="stSpinner"]')
  && performance.now() - window.__lastChange > {QUIET_MS}"""


def wait_settled(page: Page, what: str, title: str = "") -> None:
    page.wait_for_function(SETTLED, arg=title, timeout=120_000, polling=100)
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"{what}: a Streamlit exception on the page")


def windows() -> dict[str, str]:
    """Label -> the URL's query string."""
    today = datetime.now(UTC).date()
    first = today - timedelta(days=89)
    return {
        "24 hours": "window=24h",
        "30 days": "window=30d",
        "90 days": f"window=custom&from={first.isoformat()}&to={today.isoformat()}",
    }


def settle_ms(page: Page, url: str) -> float:
    page.goto(url, wait_until="commit")
    wait_settled(page, url)
    return float(page.evaluate("window.__lastChange"))


def click_ms(page: Page, title: str) -> float:
    """From a click on `title`'s link in the sidebar until that page settled (ms)."""
    page.evaluate(
        """title => {
            const link = [...document.querySelectorAll('[data-testid="stSidebarNav"] a')]
                .find(a => a.textContent.includes(title));
            window.__clickAt = performance.now();
            link.click();
        }""",
        title,
    )
    wait_settled(page, title, title)
    return float(page.evaluate("window.__lastChange - window.__clickAt"))


def print_table(heading: str, results: dict[tuple[str, str], float]) -> None:
    labels = list(windows())
    print(heading)
    print(f"{'page':14}" + "".join(f"{label:>12}" for label in labels) + "   90 d / 24 h")
    for title in PAGES.values():
        row = [results[(title, label)] for label in labels]
        print(f"{title:14}" + "".join(f"{ms:10,.0f} ms" for ms in row) + f"   {row[-1] / row[0]:8.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="a data dir, e.g. kept by bench/history_bench.py --keep")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    try:
        print(f"copying {args.data_dir} ...", file=sys.stderr, flush=True)
        shutil.copytree(args.data_dir, root / "data")
        env = {"WIDGET_MONITOR_SUMMARY_CACHE_SECONDS": "0"}
        with (
            ServerProcess(root / "data", env=env) as server,
            StreamlitProcess(server.url, root) as dashboard,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(WATCH)
            results: dict[tuple[str, str], float] = {}
            for path, title in PAGES.items():
                settle_ms(page, f"{dashboard.url}/{path}?window=1h")  # the page's first run
                for label, query in windows().items():
                    times = [settle_ms(page, f"{dashboard.url}/{path}?{query}") for _ in range(args.rounds)]
                    results[(title, label)] = statistics.median(times)
                    print(
                        f"  {title}, {label}: {results[(title, label)]:,.0f} ms", file=sys.stderr, flush=True
                    )
            clicked: dict[tuple[str, str], list[float]] = {}
            for label, query in windows().items():
                settle_ms(page, f"{dashboard.url}/?{query}")  # the app loaded on Overview
                for _ in range(args.rounds):  # each page in turn, back to Overview last
                    for title in [*list(PAGES.values())[1:], PAGES[""]]:
                        clicked.setdefault((title, label), []).append(click_ms(page, title))
                print(f"  clicks, {label}: done", file=sys.stderr, flush=True)
            browser.close()
        print_table("from the page's URL (a full load):", results)
        print_table(
            "from a click in the sidebar:", {key: statistics.median(ms) for key, ms in clicked.items()}
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
