"""Channel secrets are write-only: masked when shown, kept only where they belong, stored apart."""

from __future__ import annotations

import json
import logging
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from analytics.alerts import alert_store
from analytics.alerts.channel_secrets import SECRETS_FILENAME
from analytics.alerts.channel_settings import MASK
from analytics.alerts.system import AlertingSystem
from analytics.errors import InvalidConfig
from analytics.outbound import OutboundPolicy
from analytics.storage.store import EventStore, store_files
from tests.analytics.alerts.conftest import NOW

# Listed names are allowed without resolving them (the tests have no DNS).
POLICY = OutboundPolicy(["smtp.example.com", "smtp.evil.example", "hooks.example.com", "evil.example"])
PASSWORD = "s3cret-pw"
TOKEN = "T0/B0/xoxb-token"
HOOK = f"https://hooks.example.com/services/{TOKEN}?key=k3y"
EMAIL = {
    "host": "smtp.example.com",
    "port": 587,
    "starttls": True,
    "from": "alerts@example.com",
    "to": ["oncall@example.com"],
    "username": "monitor",
    "password": PASSWORD,
}
CONFIG = {"channels": ["console", "webhook", "email"], "webhook": {"url": HOOK}, "email": EMAIL}


def configured(store: EventStore) -> AlertingSystem:
    system = AlertingSystem(store, policy=POLICY)
    system.set_config(CONFIG, by="alice", now=NOW)
    return system


def test_get_masks_the_password_and_the_webhook_url(store: EventStore) -> None:
    shown = configured(store).config.to_dict()
    assert shown["email"]["password"] == "********"
    assert shown["webhook"]["url"] == "https://hooks.example.com/…"
    assert PASSWORD not in json.dumps(shown) and "xoxb" not in json.dumps(shown)


def test_putting_back_what_get_showed_keeps_both_secrets(store: EventStore) -> None:
    system = configured(store)
    system.set_config(system.config.to_dict())
    assert system.config.email is not None and system.config.email.password == PASSWORD
    assert system.config.webhook is not None and system.config.webhook.url == HOOK


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"port": 2525}, id="port"),
        pytest.param({"host": "smtp.evil.example"}, id="host"),
        pytest.param({"username": "someone-else"}, id="username"),
        pytest.param({"starttls": False}, id="tls-turned-off"),
    ],
)
def test_regression_a_masked_password_followed_a_changed_smtp_server(
    store: EventStore, change: dict[str, Any]
) -> None:
    """Regression: PUT with the mask and another port sent the stored password to that server."""
    system = configured(store)
    shown = system.config.to_dict()
    shown["email"] = {**shown["email"], **change}
    assert shown["email"]["password"] == MASK
    system.set_config(shown)
    assert system.config.email is not None and system.config.email.password is None
    assert system.config.to_dict()["email"]["password"] is None  # GET no longer claims one


def test_a_new_password_may_come_with_a_changed_server(store: EventStore) -> None:
    system = configured(store)
    shown = system.config.to_dict()
    shown["email"] = {**shown["email"], "port": 2525, "password": "new-pw"}
    system.set_config(shown)
    assert system.config.email is not None and system.config.email.password == "new-pw"


@pytest.mark.parametrize(
    "masked",
    [
        pytest.param("https://evil.example/…", id="other-host"),
        pytest.param("http://hooks.example.com/…", id="other-scheme"),
        pytest.param("https://hooks.example.com:8443/…", id="other-port"),
    ],
)
def test_a_masked_webhook_url_for_another_target_is_refused(store: EventStore, masked: str) -> None:
    system = configured(store)
    shown = system.config.to_dict()
    shown["webhook"] = {**shown["webhook"], "url": masked}
    with pytest.raises(InvalidConfig, match="give the full new URL"):
        system.set_config(shown)
    assert system.config.webhook is not None and system.config.webhook.url == HOOK


def test_a_full_new_webhook_url_drops_the_old_token(store: EventStore, tmp_path: Path) -> None:
    system = configured(store)
    shown = system.config.to_dict()
    shown["webhook"] = {"url": "https://evil.example/collect"}
    system.set_config(shown)
    assert system.config.webhook is not None and system.config.webhook.url == "https://evil.example/collect"
    assert "xoxb" not in (tmp_path / "data" / SECRETS_FILENAME).read_text()


def test_secrets_live_in_their_own_file_not_in_the_event_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EventStore.open(data)
    try:
        configured(store)
        with store.cursor() as cur:
            body = alert_store.load_config_body(cur)
        assert body is not None
        assert body["email"]["password"] == MASK and body["webhook"]["url"] == "https://hooks.example.com/…"
    finally:
        store.close()
    secrets_file = data / SECRETS_FILENAME
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert PASSWORD in secrets_file.read_text() and TOKEN in secrets_file.read_text()
    for path in data.iterdir():  # the event store and its WAL hold neither secret
        if path != secrets_file:
            raw = path.read_bytes()
            assert PASSWORD.encode() not in raw and b"xoxb" not in raw, path.name
    assert [p.name for p in data.iterdir() if p.name.endswith(".tmp")] == []  # replaced atomically

    store = EventStore.open(data)  # a restart finds both secrets again
    try:
        restarted = AlertingSystem(store, policy=POLICY)
        assert restarted.config.email is not None and restarted.config.email.password == PASSWORD
        assert restarted.config.webhook is not None and restarted.config.webhook.url == HOOK
        assert restarted.config.channels == ("console", "webhook", "email")
    finally:
        store.close()


def test_a_copied_event_store_shares_no_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = EventStore.open(tmp_path / "data")
    configured(store)
    store.close()
    copy = tmp_path / "copy"
    copy.mkdir()
    for held in store_files(tmp_path / "data"):  # the database file and its WAL
        shutil.copy(held, copy)
    store = EventStore.open(copy)
    try:
        with caplog.at_level(logging.ERROR):
            system = AlertingSystem(store, policy=POLICY)
        assert system.config.min_samples == 10 and system.config.email is not None
        assert system.config.email.password is None
        assert system.config.webhook is None and system.config.channels == ("console", "email")
        assert "webhook URL for https://hooks.example.com/… is missing" in caplog.text
        assert PASSWORD not in caplog.text and "xoxb" not in caplog.text
    finally:
        store.close()


def test_secrets_stored_in_plain_by_an_older_version_are_moved_out(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EventStore.open(data)
    try:
        with store.cursor() as cur:
            alert_store.create_tables(cur)
            legacy = AlertingSystem(store, policy=POLICY).config.to_dict()
            legacy.update(channels=["webhook", "email"], webhook={"url": HOOK}, email=EMAIL)
            alert_store.save_config_body(cur, legacy, NOW, "v0.9")
        system = AlertingSystem(store, policy=POLICY)
        assert system.config.email is not None and system.config.email.password == PASSWORD
        assert system.config.webhook is not None and system.config.webhook.url == HOOK
        with store.cursor() as cur:
            body = alert_store.load_config_body(cur)
        assert body is not None and body["email"]["password"] == MASK
        assert body["webhook"]["url"] == "https://hooks.example.com/…"
        assert PASSWORD in (data / SECRETS_FILENAME).read_text()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("doc", "refusal"),
    [
        pytest.param(
            {"webhook": {"url": "http://169.254.169.254/latest/meta-data?token=abc"}},
            "webhook.url: host '169.254.169.254' is a link-local address",
            id="webhook-to-metadata",
        ),
        pytest.param(
            {"webhook": {"url": "http://localhost:8000/api/admin/keys"}},
            "webhook.url: host 'localhost' resolves to",
            id="webhook-to-own-admin-port",
        ),
        pytest.param(
            {"email": {**EMAIL, "host": "10.0.0.8"}},
            "email.host: host '10.0.0.8' is a private address",
            id="smtp-on-private-network",
        ),
    ],
)
def test_internal_targets_are_refused_when_the_config_is_set(
    store: EventStore, doc: dict[str, Any], refusal: str
) -> None:
    system = AlertingSystem(store)  # the default policy: no internal target
    with pytest.raises(InvalidConfig, match=refusal) as refused:
        system.set_config(doc)
    assert "meta-data" not in refused.value.message and "admin/keys" not in refused.value.message
    assert system.config.webhook is None and system.config.email is None
