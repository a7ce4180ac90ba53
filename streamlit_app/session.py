"""What the signed-in token lets the dashboard show, decided from the API's `/whoami` answer.

The API enforces access (401 without a credential, 403 past a role or a customer); the
dashboard only leaves out what would be refused, so a viewer sees no Resolve button and a
customer-scoped token no other customer. `whoami` is the answer of `GET /api/monitoring/whoami`:
`{"name", "role", "customerId", "openMode"}`, roles ordered viewer < editor < admin.

>>> viewer = {"name": "wall", "role": "viewer", "customerId": "acme", "openMode": False}
>>> may_act_on_alerts(viewer), customer_choices(viewer, ["acme", "globex"])
(False, ['acme'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streamlit_app.filters import ALL_CUSTOMERS

Whoami = Mapping[str, Any]

ROLES = ("viewer", "editor", "admin")  # the API's names, lowest first
# An API from before access control (it has no /whoami): like open mode, everyone may do everything.
UNGUARDED: dict[str, Any] = {"name": "open-mode", "role": "admin", "customerId": None, "openMode": True}
# Who the dashboard acts as while the API cannot be asked: nobody, so it offers no action.
NOBODY: dict[str, Any] = {"name": None, "role": None, "customerId": None, "openMode": False}


def _at_least(whoami: Whoami, role: str) -> bool:
    held = whoami.get("role")
    return held in ROLES and ROLES.index(held) >= ROLES.index(role)


def scoped_customer(whoami: Whoami) -> str | None:
    """The one customer this token may see, or None when it sees every customer."""
    customer = whoami.get("customerId")
    return str(customer) if customer else None


def may_act_on_alerts(whoami: Whoami) -> bool:
    """Resolve, acknowledge, snooze: an editor's (or an admin's), for the alerts it sees."""
    return _at_least(whoami, "editor")


def may_run_alert_check(whoami: Whoami) -> bool:
    """A check evaluates every customer's rules: an editor's, and only with no customer scope."""
    return may_act_on_alerts(whoami) and scoped_customer(whoami) is None


def may_compare_customers(whoami: Whoami) -> bool:
    """Customers side by side: for a token that sees more than one."""
    return scoped_customer(whoami) is None


def customer_choices(whoami: Whoami, listed: Sequence[str]) -> list[str]:
    """The sidebar's customer options: a scoped token's own customer alone, else all of them first.

    >>> customer_choices({"role": "admin", "customerId": None}, ["acme"])
    ['All customers', 'acme']
    """
    own = scoped_customer(whoami)
    if own is not None:
        return [own]
    return [ALL_CUSTOMERS, *listed]


def signed_in_as(whoami: Whoami) -> str | None:
    """Who the sidebar says is signed in, as plain text; None in open mode (nobody signs in).

    >>> signed_in_as({"name": "wall", "role": "viewer", "customerId": "acme", "openMode": False})
    'Signed in as wall · viewer · customer acme'
    >>> signed_in_as({"name": "ops", "role": "editor", "customerId": None, "openMode": False})
    'Signed in as ops · editor · all customers'
    """
    if whoami.get("openMode") or whoami.get("name") is None:
        return None
    own = scoped_customer(whoami)
    scope = f"customer {own}" if own is not None else "all customers"
    return f"Signed in as {whoami['name']} · {whoami.get('role')} · {scope}"
