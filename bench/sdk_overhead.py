"""What the browser SDK costs a widget, measured in headless Chromium against a reference.

For each case the page runs the same loop with a reference beside it in the same run:
- trackRender per call, SDK enabled and disabled, against keeping the same metric object in
  an in-page array (the seed's in-memory collector: the least a tracker can do);
- a fetch through WidgetMonitor.fetch against the browser's own fetch, to this server's /healthz.

Usage: .venv/bin/python bench/sdk_overhead.py [--calls 1000] [--fetches 200] [--runs 21]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.server import ServerProcess

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

TRACK_LOOP = """
({calls, enabled}) => {
  const metric = i => ({messageId: 'm' + i, renderTime: i % 20, contentLength: 120, hasMarkdown: true,
                        hasCodeBlocks: false, timestamp: new Date()});
  // the reference keeps each metric in memory, as the seed's in-page collector does
  const kept = [];
  let t = performance.now();
  for (let i = 0; i < calls; i++) kept.push(metric(i));
  const reference = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < calls; i++) WidgetMonitor.trackRender(metric(i));
  const sdk = performance.now() - t;
  return {reference: reference * 1000 / calls, sdk: sdk * 1000 / calls};  // microseconds per call
}
"""

FETCH_LOOP = """
async (n) => {
  // interleaved, so that both see the same server and machine load
  let reference = 0, sdk = 0;
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await (await fetch('/healthz?i=' + i)).json();
    reference += performance.now() - t;
    t = performance.now();
    await (await WidgetMonitor.fetch('/healthz?j=' + i)).json();
    sdk += performance.now() - t;
  }
  return {reference: reference * 1000 / n, sdk: sdk * 1000 / n};
}
"""


def open_page(page: Page, server: ServerProcess, enabled: bool) -> None:
    page.goto(f"{server.url}/healthz")
    page.add_script_tag(url="/sdk/widget-monitor.js")
    page.evaluate(
        "c => WidgetMonitor.init(c)",
        {"enabled": enabled, "customerId": "bench"},  # the defaults: 1000 queued at most
    )


def median_of(page: Page, loop: str, arg: object, runs: int) -> tuple[float, float]:
    results = [page.evaluate(loop, arg) for _ in range(runs)]
    return statistics.median(r["reference"] for r in results), statistics.median(r["sdk"] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--fetches", type=int, default=200)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    rows: list[tuple[str, float, float]] = []
    with ServerProcess(Path(tempfile.mkdtemp()) / "data") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for enabled in (True, False):
            page = browser.new_page()
            open_page(page, server, enabled)
            median_of(page, TRACK_LOOP, {"calls": args.calls, "enabled": enabled}, 1)  # warm-up
            ref, sdk = median_of(page, TRACK_LOOP, {"calls": args.calls, "enabled": enabled}, args.runs)
            rows.append((f"trackRender, SDK {'enabled' if enabled else 'disabled'}", ref, sdk))
            page.close()
        page = browser.new_page()
        open_page(page, server, True)
        median_of(page, FETCH_LOOP, 20, 1)
        ref, sdk = median_of(page, FETCH_LOOP, args.fetches, args.runs)
        rows.append(("fetch /healthz (WidgetMonitor.fetch vs fetch)", ref, sdk))
        browser.close()
    print(f"median of {args.runs} runs; µs per call")
    print(f"{'case':<48} {'reference':>10} {'SDK':>10} {'SDK - ref':>10} {'ratio':>7}")
    for name, ref, sdk in rows:
        print(f"{name:<48} {ref:>10.3f} {sdk:>10.3f} {sdk - ref:>10.3f} {sdk / ref:>7.2f}")


if __name__ == "__main__":
    main()
