"""The `widget-monitor` command: serve the API, load demo data, run the dashboard, or all at once."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# This module imports only the standard library at its top: each decoder process the server
# spawns imports it again (multiprocessing re-imports the main module of the process that
# spawns), and everything imported here would sit in each decoder's memory unused. The
# commands' modules are imported when the parser is built, by `main`.

log = logging.getLogger("widget_monitor")


def serve_app(app: Any, *, host: str, port: int, log_level: str = "info", access_log: bool = False) -> None:
    """Serve an ASGI app as `widget-monitor serve` does (the benchmark's reference reuses it)."""
    import uvicorn

    from ingest_api.log_redaction import install_log_redaction

    _tune_garbage_collector()
    # The group-commit thread needs the GIL for a moment before and after each DuckDB
    # commit; with the default 5 ms switch interval it waits that long behind a busy
    # event loop, every time.
    sys.setswitchinterval(0.0005)
    install_log_redaction()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log)


def _tune_garbage_collector() -> None:
    # Requests waiting for a group commit outlive the young generations, so with the
    # defaults the collector keeps rescanning everything imported at start-up (FastAPI,
    # DuckDB, Arrow): a measured quarter of the server's CPU under load. Freeze what
    # exists now (it lives as long as the process) and collect the young less often.
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _serve(args: argparse.Namespace) -> int:
    from ingest_api.lean_process import make_lean

    make_lean()  # before anything could import pandas or allocate Arrow memory
    from ingest_api.access import is_loopback
    from ingest_api.main import create_app
    from ingest_api.settings import Settings

    # Flags given win over WIDGET_MONITOR_* variables; those over the defaults.
    given = {
        "data_dir": args.data_dir,
        "host": args.host,
        "port": args.port,
        "alerts_config": args.alerts_config,
        "insecure": args.insecure or None,
    }
    settings = Settings(**{name: value for name, value in given.items() if value is not None})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not is_loopback(settings.host) and settings.admin_token is None and not settings.insecure:
        print(
            f"widget-monitor serve: refusing to bind {settings.host} without an admin token. Set "
            "WIDGET_MONITOR_ADMIN_TOKEN (python3 -c 'import secrets; print(secrets.token_urlsafe(32))'), "
            "or bind 127.0.0.1, or pass --insecure to serve every network in open mode.",
            file=sys.stderr,
        )
        return 2
    serve_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        access_log=args.access_log,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from widget_monitor.backup_cli import add_backup_commands
    from widget_monitor.credentials_cli import add_credential_commands
    from widget_monitor.launcher import add_commands
    from widget_monitor.recover_cli import add_recover_command
    from widget_monitor.transfer_cli import add_transfer_commands

    parser = argparse.ArgumentParser(prog="widget-monitor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the ingest and summary API")
    serve.add_argument("--data-dir", type=Path, help="default: WIDGET_MONITOR_DATA_DIR, else ./data")
    serve.add_argument("--host", help="default: WIDGET_MONITOR_HOST, else 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: WIDGET_MONITOR_PORT, else 8000")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument("--alerts-config", type=Path, help="alerting config, JSON or TOML (docs/alerting.md)")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="bind a non-loopback address without WIDGET_MONITOR_ADMIN_TOKEN (open mode: anyone is admin)",
    )
    serve.set_defaults(handler=_serve)
    add_commands(commands)
    add_credential_commands(commands)
    add_recover_command(commands)
    add_backup_commands(commands)
    add_transfer_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
