"""How the CLI signs in to a running server, and what it says when the server refuses it.

The commands that talk to a server (`demo`, `up`, `import`, `export`, `backup`) send
WIDGET_MONITOR_TOKEN (any API token) where they can read with one, else the admin token in
WIDGET_MONITOR_ADMIN_TOKEN, else nothing (open mode). A refusal says which variable to set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

ADMIN_TOKEN_VARIABLE = "WIDGET_MONITOR_ADMIN_TOKEN"
TOKEN_VARIABLE = "WIDGET_MONITOR_TOKEN"
MAKE_ADMIN_TOKEN = "widget-monitor tokens create --name cli --role admin"


def admin_headers(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`Authorization` with WIDGET_MONITOR_ADMIN_TOKEN when it is set (none in open mode)."""
    token = environ.get(ADMIN_TOKEN_VARIABLE)
    return {"Authorization": f"Bearer {token}"} if token else {}


def api_headers(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`Authorization` with WIDGET_MONITOR_TOKEN (any API token), else the admin token, else none."""
    token = environ.get(TOKEN_VARIABLE)
    return {"Authorization": f"Bearer {token}"} if token else admin_headers(environ)


def answer_text(answer: httpx.Response) -> str:
    """The `message` of an API error (its body's first 300 characters if it has none)."""
    try:
        return str(answer.json().get("message", answer.text))[:300]
    except ValueError:
        return answer.text[:300]


def refusal(url: str, answer: httpx.Response, *, admin: bool) -> str:
    """`url answered N: message`, and for 401 and 403 which token to set (`admin`: the
    command needs an admin; otherwise any API token may read).

    >>> no = httpx.Response(401, json={"error": "unauthorized", "message": "send a token"})
    >>> for line in refusal("http://h/api/monitoring/backup", no, admin=True).split(". "):
    ...     print(line)
    http://h/api/monitoring/backup answered 401: send a token
    This needs an admin token: set WIDGET_MONITOR_ADMIN_TOKEN to the server's (or make one: \
widget-monitor tokens create --name cli --role admin)
    """
    said = f"{url} answered {answer.status_code}: {answer_text(answer).rstrip('.')}"
    needs = (
        f"an admin token: set {ADMIN_TOKEN_VARIABLE} to the server's (or make one: {MAKE_ADMIN_TOKEN})"
        if admin
        else f"an API token: set {TOKEN_VARIABLE} (a viewer's will do) or {ADMIN_TOKEN_VARIABLE}"
    )
    if answer.status_code == 401:
        return f"{said}. This needs {needs}"
    if answer.status_code == 403:
        return f"{said}. The token sent may not do this; it needs {needs}"
    return said
