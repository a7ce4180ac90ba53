"""The SDK as an npm package: it packs, installs and imports where there is no window, the
one-tag script is generated from the same source, and the transport's node unit tests pass."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sdk.node import SDK_DIR, node, run

PACKAGE = json.loads((SDK_DIR / "package.json").read_text(encoding="utf-8"))


def test_the_served_script_is_generated_from_the_module_source() -> None:
    # exits 1, saying to run `npm run build`, while sdk/widget-monitor.js differs from what
    # sdk/build-script.mjs makes of sdk/src/monitor.js
    node("build-script.mjs", "--check")


def test_the_transport_unit_tests_pass() -> None:
    files = sorted(str(path.relative_to(SDK_DIR)) for path in (SDK_DIR / "test").glob("*.test.mjs"))
    assert len(files) >= 3
    report = node("--test", "--test-reporter=tap", *files)
    assert "\n# fail 0\n" in report and "\n# pass 0\n" not in report


def test_npm_pack_installs_and_imports_without_a_window(tmp_path: Path) -> None:
    npm_env = {"npm_config_cache": str(tmp_path / "npm-cache"), "npm_config_update_notifier": "false"}
    pack = ["pack", str(SDK_DIR), "--pack-destination", str(tmp_path), "--json"]
    (tarball,) = json.loads(run("npm", *pack, cwd=tmp_path, env=npm_env))
    assert sorted(f["path"] for f in tarball["files"]) == [
        "index.d.ts",
        "index.js",
        "package.json",
        "src/monitor.js",
        "widget-monitor.js",
    ]
    app = tmp_path / "app"
    app.mkdir()
    install = ["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock"]
    run("npm", *install, str(tmp_path / tarball["filename"]), cwd=app, env=npm_env)

    # Server-side rendering: every browser global the SDK reads is a trap that notes its use.
    seen = node(
        "--input-type=module",
        "-e",
        """
        const touched = [];
        for (const name of ['window', 'document', 'navigator', 'location', 'localStorage',
                            'sessionStorage', 'fetch', 'crypto', 'performance', 'BroadcastChannel',
                            'PerformanceObserver', 'setTimeout', 'setInterval']) {
          const real = globalThis[name];
          Object.defineProperty(globalThis, name, {
            configurable: true,
            get() { touched.push(name); return real; },
          });
        }
        const sdk = await import('widget-monitor');
        sdk.trackRender({ renderTime: 12.5 });
        sdk.trackPersistence({ operation: 'save', success: true, duration: 3 });
        const before = { stats: sdk.getStats(), flushed: await sdk.flush(), touched: [...touched] };
        sdk.init({ enabled: false });
        console.log(JSON.stringify({ ...before, version: sdk.version, afterInit: touched.length > 0 }));
        """,
        cwd=app,
    )
    assert json.loads(seen) == {
        "stats": {"enabled": False},
        "flushed": None,
        "touched": [],
        "version": PACKAGE["version"],
        "afterInit": True,  # the traps do catch what init reads
    }


def test_the_package_version_is_the_sdks() -> None:
    script = (SDK_DIR / "widget-monitor.js").read_text(encoding="utf-8")
    assert script.startswith(f"/*! widget-monitor browser SDK {PACKAGE['version']} |")
    assert f"export var VERSION = '{PACKAGE['version']}';" in (SDK_DIR / "src" / "monitor.js").read_text()
