"""`widget-monitor keys|tokens create|list|revoke`: manage credentials offline, with `--data-dir`.

They write the access file directly (not the event store), so they work whether the
server runs or not; a running server picks the change up within a second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from analytics.access.credential_store import CredentialStore
from analytics.access.rate_limit import DEFAULT_EVENTS_PER_S, DEFAULT_REQUESTS_PER_S
from analytics.access.roles import Role
from analytics.errors import MonitorError
from widget_monitor.api_auth import ADMIN_TOKEN_VARIABLE, MAKE_ADMIN_TOKEN
from widget_monitor.data_dir import add_data_dir

CLI_ACTOR = "cli"


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _run(args: argparse.Namespace) -> int:
    store = CredentialStore.open(args.data_dir)
    try:
        first = store.empty
        _print(args.action(store, args))
        if first and not store.empty and not _admin_exists(store):
            print(_ENFORCED_NOW.format(data_dir=args.data_dir), file=sys.stderr)
        return 0
    except MonitorError as exc:
        print(f"{args.prog}: {exc.message}", file=sys.stderr)
        return 2
    finally:
        store.close()


# Open mode ends with the first key or token: said when no admin could sign in afterwards
_ENFORCED_NOW = (
    "note: this is the first credential in {data_dir}: a server on it enforces credentials from now "
    "on (within a second). Reads need an API token, posts an ingest key, and no admin token exists "
    f"here: start the server with {ADMIN_TOKEN_VARIABLE} set, or make one: {MAKE_ADMIN_TOKEN}"
)


def _admin_exists(store: CredentialStore) -> bool:
    if os.environ.get(ADMIN_TOKEN_VARIABLE):
        return True
    return any(
        t.role is Role.admin and t.customer_id is None and t.revoked_at is None for t in store.api_tokens()
    )


def _create_key(store: CredentialStore, args: argparse.Namespace) -> dict[str, Any]:
    key, secret = store.create_key(
        args.customer_id,
        args.allowed_origin or [],
        by=CLI_ACTOR,
        requests_per_s=args.requests_per_second,
        events_per_s=args.events_per_second,
    )
    return {**key.to_wire(), "key": secret}


def _create_token(store: CredentialStore, args: argparse.Namespace) -> dict[str, Any]:
    token, secret = store.create_token(args.name, args.role, args.customer_id, by=CLI_ACTOR)
    return {**token.to_wire(), "token": secret}


def _list_keys(store: CredentialStore, args: argparse.Namespace) -> list[dict[str, Any]]:
    return [key.to_wire() for key in store.ingest_keys()]


def _list_tokens(store: CredentialStore, args: argparse.Namespace) -> list[dict[str, Any]]:
    return [token.to_wire() for token in store.api_tokens()]


def _revoke_key(store: CredentialStore, args: argparse.Namespace) -> dict[str, Any]:
    return store.revoke_key(args.id, by=CLI_ACTOR).to_wire()


def _revoke_token(store: CredentialStore, args: argparse.Namespace) -> dict[str, Any]:
    return store.revoke_token(args.id, by=CLI_ACTOR).to_wire()


def add_credential_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `keys` and `tokens` on the `widget-monitor` parser."""
    keys = commands.add_parser("keys", help="ingest keys (public, one customer each)")
    tokens = commands.add_parser("tokens", help="API tokens (viewer, editor, admin)")
    for parser, noun in ((keys, "key"), (tokens, "token")):
        actions = parser.add_subparsers(dest="action_name", required=True)
        made = actions.add_parser("create", help=f"create a {noun}; its secret is printed this once")
        listed = actions.add_parser("list", help=f"every {noun}, without secrets")
        revoked = actions.add_parser(
            "revoke", help=f"revoke a {noun} by id (at once, also for a running server)"
        )
        revoked.add_argument("id")
        for sub in (made, listed, revoked):
            add_data_dir(sub)
            sub.set_defaults(handler=_run, prog=f"widget-monitor {noun}s")
        if noun == "key":
            made.add_argument("--customer-id", required=True)
            made.add_argument("--allowed-origin", action="append", help="e.g. https://shop.example (repeat)")
            made.add_argument("--requests-per-second", type=float, default=DEFAULT_REQUESTS_PER_S)
            made.add_argument("--events-per-second", type=float, default=DEFAULT_EVENTS_PER_S)
            made.set_defaults(action=_create_key)
            listed.set_defaults(action=_list_keys)
            revoked.set_defaults(action=_revoke_key)
        else:
            made.add_argument("--name", required=True)
            made.add_argument("--role", required=True, choices=["viewer", "editor", "admin"])
            made.add_argument("--customer-id", help="scope the token to one customer")
            made.set_defaults(action=_create_token)
            listed.set_defaults(action=_list_tokens)
            revoked.set_defaults(action=_revoke_token)
