"""Signing the dashboard in (AppTest) against a real API that enforces credentials.

Without a token the app shows a sign-in form and no page; a token from the environment or
typed in decides what the pages offer: a viewer no action, a customer-scoped token one customer.
"""

from __future__ import annotations

import pytest
from streamlit.proto.TextInput_pb2 import TextInput as TextInputProto
from streamlit.testing.v1 import AppTest

from tests.streamlit_app.conftest import ADMIN_TOKEN, SecuredApi
from tests.streamlit_app.test_pages import PAGES
from tests.support.dashboard import fire_data_loss_alert, run_app

ACTIONS = ("Resolve", "Acknowledge", "Snooze", "Run alert check now")


def _app(api: SecuredApi, monkeypatch: pytest.MonkeyPatch, token: str | None = None) -> AppTest:
    return run_app(api.url, token, monkeypatch)


def _on(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _everything_shown(at: AppTest) -> str:
    """The text of every element drawn, widget labels and options included.

    A text input's value is left out: AppTest keeps what the test typed (the browser's form
    clears it, see test_sign_in_browser.py), and that is not something the app shows.
    """
    drawn = [e for e in (*at.main, *at.sidebar) if e.type != "text_input"]
    parts = [str(getattr(e, "value", "")) for e in drawn]
    for widget in (*at.selectbox, *at.text_input, *at.button):
        parts.append(str(widget.label))
        parts.extend(str(o) for o in getattr(widget, "options", []))
    return "\n".join(parts)


def _actions(at: AppTest) -> list[str]:
    return [b.label for b in at.button if b.label in ACTIONS]


def test_enforced_mode_without_a_token_shows_the_sign_in_form_and_no_page(
    secured_api: SecuredApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(secured_api, monkeypatch)
    assert [t.value for t in at.title] == ["Sign in"]
    (field,) = at.text_input
    assert field.label == "API token" and field.proto.type == TextInputProto.PASSWORD
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe and not at.get("vega_lite_chart")
    assert not at.selectbox  # no sidebar filters either: nothing was read
    assert "events stored" not in _everything_shown(at)


def test_a_bad_token_is_refused_clearly_and_never_shown_back(
    secured_api: SecuredApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(secured_api, monkeypatch)
    at.text_input[0].input("wrong-token-42")
    at.button[0].click().run()
    assert not at.exception
    assert any("This token was not accepted" in e.value for e in at.error), [e.value for e in at.error]
    assert [t.value for t in at.title] == ["Sign in"]
    assert "wrong-token-42" not in _everything_shown(at)


def test_a_typed_token_signs_in_for_the_session_and_sign_out_forgets_it(
    secured_api: SecuredApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = secured_api.tokens["viewer-acme"]
    at = _app(secured_api, monkeypatch)
    at.text_input[0].input(token)
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert "Signed in as viewer-acme · viewer · customer acme" in [t.value for t in at.sidebar.text]
    assert token not in _everything_shown(at)
    assert all(token not in str(v) for v in at.query_params.values())
    _on(at, "alerts")  # later runs keep the session's token
    assert [t.value for t in at.title] == ["Alerts"]
    at.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]
    at.run()  # and it stays signed out
    assert [t.value for t in at.title] == ["Sign in"]


def test_a_wall_screen_token_from_the_environment_is_used_without_a_form(
    secured_api: SecuredApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fire_data_loss_alert(secured_api.url, "acme", ADMIN_TOKEN)
    at = _app(secured_api, monkeypatch, secured_api.tokens["viewer-all"])
    assert "Signed in as viewer-all · viewer · all customers" in [t.value for t in at.sidebar.text]
    assert "Sign out" not in [b.label for b in at.button]  # nothing typed, nothing to forget
    for page, title in PAGES.items():
        _on(at, page)
        assert [t.value for t in at.title] == [title], page
        assert _actions(at) == [], page
    _on(at, "alerts")
    assert any("Conversation data lost" in m.value for m in at.markdown)  # the alerts are listed
    assert not [t for t in at.text_input if t.label == "Acting as"]


def test_a_refused_environment_token_says_so_instead_of_asking(
    secured_api: SecuredApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(secured_api, monkeypatch, "revoked-or-mistyped")
    assert any("WIDGET_MONITOR_API_TOKEN" in e.value for e in at.error)
    assert not at.text_input and not at.title


def test_a_customer_scoped_viewer_is_offered_its_customer_alone(
    secured_api: SecuredApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(secured_api, monkeypatch, secured_api.tokens["viewer-acme"])
    assert at.selectbox(key="customer").options == ["acme"]
    assert "customer" not in at.query_params  # its only customer needs no link parameter
    _on(at, "compare")
    assert at.segmented_control(key="compare_mode").options == ["Widget versions", "Time ranges"]
    _on(at, "alerts")
    assert _actions(at) == []
    assert "globex" not in _everything_shown(at)


def test_an_editor_gets_the_actions_and_a_check_when_unscoped(
    secured_api: SecuredApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = fire_data_loss_alert(secured_api.url, "acme", ADMIN_TOKEN)
    at = _on(_app(secured_api, monkeypatch, secured_api.tokens["editor-all"]), "alerts")
    keys = [b.key for b in at.button]
    assert (
        f"resolve-{fired['id']}" in keys and f"ack-{fired['id']}" in keys and f"snooze-{fired['id']}" in keys
    )
    assert "Run alert check now" in [b.label for b in at.button]
    _on(at, "overview")  # lists the alerts over every customer, each with its Resolve
    assert any(str(b.key).startswith("overview-resolve-") for b in at.button)


def test_a_customer_scoped_editor_acts_on_its_alerts_but_runs_no_check(
    secured_api: SecuredApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = fire_data_loss_alert(secured_api.url, "acme", ADMIN_TOKEN)
    at = _on(_app(secured_api, monkeypatch, secured_api.tokens["editor-acme"]), "alerts")
    assert f"resolve-{fired['id']}" in [b.key for b in at.button]
    assert "Run alert check now" not in [b.label for b in at.button]
