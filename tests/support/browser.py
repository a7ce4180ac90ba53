"""Debian's Chromium for the browser tests, as this machine can run it (no sandbox, no network chatter)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# True once the dashboard's script run is over: the app's own state, not the toolbar's status
# widget, which `--client.toolbarMode minimal` (widget_monitor/launcher.py) never shows.
SCRIPT_DONE = (
    "() => document.querySelector('[data-testid=\"stApp\"]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)
