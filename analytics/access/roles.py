"""Roles and the principal a request acts as.

Grafana's three roles: a `viewer` reads, an `editor` also acts on alerts, an `admin`
also changes the alerting config, manages keys and tokens and exports the lake. A
principal may be scoped to one customer: then it sees that customer's data alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Role(IntEnum):
    """Ordered: a role may do everything the roles below it may."""

    viewer = 1
    editor = 2
    admin = 3

    @classmethod
    def named(cls, name: str) -> Role:
        """The role called `name`.

        >>> Role.named("editor") >= Role.viewer
        True
        """
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown role {name!r}: expected viewer, editor or admin") from None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a token's name and role (or the environment's admin, or open mode)."""

    name: str
    role: Role
    customer_id: str | None = None
    credential: bool = True  # False in open mode: nobody signed in, and `by` in a body is the actor

    def may(self, role: Role) -> bool:
        return self.role >= role

    def to_wire(self) -> dict[str, object]:
        return {"name": self.name, "role": self.role.name, "customerId": self.customer_id}


# Every request in open mode (no credential exists, loopback only): the single local user.
OPEN_MODE = Principal("open-mode", Role.admin, None, credential=False)
# WIDGET_MONITOR_ADMIN_TOKEN.
ENVIRONMENT_ADMIN = Principal("admin", Role.admin)
