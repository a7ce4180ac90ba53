"""The browser SDK (`widget-monitor.js`) and the demo chat widget, shipped as package data.

Python never runs these files; it only serves them (`ingest_api/routes/sdk.py`). Being a
package lets the server find them the same way from a checkout, an editable install or a wheel.
The same directory is the npm package `widget-monitor` (`package.json`), whose one source,
`src/monitor.js`, the script is generated from (docs/sdk.md, "Install with npm").
"""

from __future__ import annotations

from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent
SDK_SCRIPT = SDK_DIR / "widget-monitor.js"
DEMO_DIR = SDK_DIR / "demo"
