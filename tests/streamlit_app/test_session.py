"""The role decisions the dashboard takes from the API's /whoami answer, one case per kind of token."""

from __future__ import annotations

from typing import Any

import pytest

from streamlit_app.session import (
    NOBODY,
    UNGUARDED,
    customer_choices,
    may_act_on_alerts,
    may_compare_customers,
    may_run_alert_check,
    signed_in_as,
)


def whoami(role: str | None, customer: str | None = None, *, open_mode: bool = False) -> dict[str, Any]:
    return {"name": f"{role}-token", "role": role, "customerId": customer, "openMode": open_mode}


@pytest.mark.parametrize(
    ("answer", "acts", "checks", "compares"),
    [
        pytest.param(whoami("admin", open_mode=True), True, True, True, id="open-mode"),
        pytest.param(whoami("admin"), True, True, True, id="admin"),
        pytest.param(whoami("editor"), True, True, True, id="editor"),
        pytest.param(whoami("editor", "acme"), True, False, False, id="editor-of-acme"),
        pytest.param(whoami("viewer"), False, False, True, id="viewer"),
        pytest.param(whoami("viewer", "acme"), False, False, False, id="viewer-of-acme"),
        pytest.param(whoami("owner"), False, False, True, id="a-role-this-dashboard-does-not-know"),
        pytest.param(NOBODY, False, False, True, id="api-down"),
        pytest.param(UNGUARDED, True, True, True, id="api-before-access-control"),
    ],
)
def test_what_each_token_may_do(answer: dict[str, Any], acts: bool, checks: bool, compares: bool) -> None:
    assert may_act_on_alerts(answer) is acts
    assert may_run_alert_check(answer) is checks
    assert may_compare_customers(answer) is compares


def test_a_scoped_token_is_offered_its_own_customer_alone() -> None:
    listed = ["acme", "globex"]
    assert customer_choices(whoami("viewer", "acme"), listed) == ["acme"]
    # even before its customer sent anything (the store lists no customer yet)
    assert customer_choices(whoami("editor", "acme"), []) == ["acme"]
    assert customer_choices(whoami("viewer"), listed) == ["All customers", "acme", "globex"]


def test_the_sidebar_names_the_token_its_role_and_its_customer() -> None:
    assert signed_in_as(whoami("viewer", "acme")) == "Signed in as viewer-token · viewer · customer acme"
    assert signed_in_as(whoami("admin")) == "Signed in as admin-token · admin · all customers"
    assert signed_in_as(whoami("admin", open_mode=True)) is None  # nobody signs in in open mode
    assert signed_in_as(NOBODY) is None
