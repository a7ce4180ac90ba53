"""Dependencies shared by the routers: the runtime, who calls, and the parameters that repeat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import AfterValidator

from analytics.access.roles import Principal, Role
from analytics.alerts.system import AlertingSystem
from analytics.errors import Forbidden, StoreUnavailable
from analytics.ingest.identifiers import MAX_IDENTIFIER_LENGTH, identifier_problem
from analytics.window import as_utc
from ingest_api.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_alerting_system(request: Request) -> AlertingSystem:
    runtime: Runtime = request.app.state.runtime
    if runtime.alerts is None:
        raise StoreUnavailable("alerting is not running")
    return runtime.alerts.system


AlertsDep = Annotated[AlertingSystem, Depends(get_alerting_system)]


# -- who calls: every route declares one of these (or is public on purpose) ------------
def get_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer`; open mode makes everyone admin (loopback only)."""
    runtime: Runtime = request.app.state.runtime
    return runtime.access.principal(request.scope["headers"])


def require(role: Role, *, unscoped: bool = False) -> Callable[[Principal], Principal]:
    """A dependency that lets through principals with `role` (and no customer scope if `unscoped`)."""

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.may(role):
            raise Forbidden(
                f"this needs the {role.name} role; {principal.name!r} has the {principal.role.name} role"
            )
        if unscoped and principal.customer_id is not None:
            raise Forbidden("a token scoped to one customer cannot do this: it concerns every customer")
        return principal

    return check


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Editor = Annotated[Principal, Depends(require(Role.editor))]
# Reads and actions that span every customer (the lake, a check of every rule).
GlobalViewer = Annotated[Principal, Depends(require(Role.viewer, unscoped=True))]
GlobalEditor = Annotated[Principal, Depends(require(Role.editor, unscoped=True))]
Admin = Annotated[Principal, Depends(require(Role.admin, unscoped=True))]


def scoped_customer(
    principal: Viewer,
    customer_id: Annotated[
        str | None,
        Query(
            alias="customerId", max_length=MAX_IDENTIFIER_LENGTH, description="one customer (default: all)"
        ),
    ] = None,
) -> str | None:
    """The `customerId` filter a read runs with: a customer-scoped token's own, whatever is asked."""
    customer_id = customer_id or None  # `customerId=` means every customer
    if principal.customer_id is None:
        return customer_id
    if customer_id is not None and customer_id != principal.customer_id:
        raise Forbidden("this token sees its own customer only")
    return principal.customer_id


CustomerFilter = Annotated[str | None, Depends(scoped_customer)]
WidgetVersionFilter = Annotated[
    str | None, Query(alias="widgetVersion", max_length=MAX_IDENTIFIER_LENGTH, description="one version")
]


def _identifier(value: str) -> str:
    problem = identifier_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# A name, note or id in a body or query (`by`, labels, customerId): one line of text, capped.
Identifier = Annotated[str, AfterValidator(_identifier)]


def actor(principal: Principal, by: str | None) -> tuple[str, str | None]:
    """Who an action is recorded as, and the note `by` becomes when a credential names the actor.

    In open mode nobody signed in, so the body's `by` is the actor (as before access
    control); with a credential the actor is the token's name and `by` only a note.
    """
    if not principal.credential:
        return by or "api", None
    note = f"by: {by}" if by and by != principal.name else None
    return principal.name, note


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(moment: datetime) -> datetime:
    """A query time between 2000 and 2100 (UTC), so window arithmetic cannot overflow."""
    try:
        utc: datetime | None = as_utc(moment)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError("must be between 2000-01-01 and 2100-01-01 (UTC)")
    return moment


# A datetime query parameter (`from`, `to`, `end`): ISO 8601, within a plausible range.
QueryMoment = Annotated[datetime, AfterValidator(_plausible)]
# The range of a history read (time series, samples): `from` defaults to 24 hours before `to`.
RangeStart = Annotated[QueryMoment | None, Query(alias="from", description="ISO 8601; default to - 24 h")]
RangeEnd = Annotated[QueryMoment | None, Query(alias="to", description="ISO 8601; default now")]
