"""The `alertmanager` channel's config: validated and guarded like the webhook, its URL a secret."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest

from analytics.alerts.channel_secrets import SECRETS_FILENAME
from analytics.alerts.config import parse_config
from analytics.alerts.system import AlertingSystem
from analytics.errors import InvalidConfig
from analytics.outbound import OutboundPolicy
from analytics.storage.store import EventStore, store_files
from tests.analytics.alerts.conftest import NOW

POLICY = OutboundPolicy(["am.example.com", "other.example.com"])  # listed: no DNS needed
URL = "https://monitor:s3cr3t@am.example.com:9443/prefix"
CONFIG = {"channels": ["console", "alertmanager"], "alertmanager": {"url": URL}}


def test_the_channel_is_configured_by_its_base_url() -> None:
    config = parse_config(
        {"channels": ["alertmanager"], "alertmanager": {"url": "http://am.example.com:9093"}}, policy=POLICY
    )
    assert config.channels == ("alertmanager",)
    assert config.alertmanager is not None
    assert config.alertmanager.alerts_url == "http://am.example.com:9093/api/v2/alerts"


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        pytest.param(
            {"channels": ["alertmanager"]},
            "channels: 'alertmanager' is listed but alertmanager.url",
            id="no-url",
        ),
        pytest.param({"alertmanager": {}}, "alertmanager.url", id="empty-section"),
        pytest.param(
            {"alertmanager": {"url": "ftp://am.example.com"}},
            "alertmanager.url: must start with http",
            id="scheme",
        ),
        pytest.param({"alertmanager": {"url": URL, "port": 9093}}, "alertmanager.", id="unknown-key"),
        pytest.param(
            {"alertmanager": {"url": "http://127.0.0.1:9093"}},
            "alertmanager.url: host '127.0.0.1' is a loopback address: an internal target is allowed only",
            id="internal",
        ),
        pytest.param(
            {"alertmanager": {"url": "http://am.example.com/…"}},
            "alertmanager.url: http://am.example.com/… is the masked form GET shows",
            id="masked-without-stored",
        ),
    ],
)
def test_invalid_alertmanager_configs_are_refused(doc: dict, reason: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidConfig, match=re.escape(reason)):
        parse_config(doc, policy=POLICY)


def test_loopback_is_allowed_when_listed() -> None:
    loopback = OutboundPolicy(["127.0.0.1"])
    config = parse_config(
        {"channels": ["alertmanager"], "alertmanager": {"url": "http://127.0.0.1:9093"}}, policy=loopback
    )
    assert config.alertmanager is not None


def test_get_masks_the_url_and_putting_it_back_keeps_it(store: EventStore) -> None:
    system = AlertingSystem(store, policy=POLICY)
    system.set_config(CONFIG, now=NOW)
    shown = system.config.to_dict()
    assert shown["alertmanager"]["url"] == "https://am.example.com:9443/…"
    assert "s3cr3t" not in json.dumps(shown) and "prefix" not in json.dumps(shown)
    system.set_config(shown)
    assert system.config.alertmanager is not None and system.config.alertmanager.url == URL
    with pytest.raises(InvalidConfig, match="masked form GET shows"):
        system.set_config({**shown, "alertmanager": {"url": "https://other.example.com:9443/…"}})


def test_the_url_lives_in_the_secrets_file_not_in_the_event_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    store = EventStore.open(data)
    AlertingSystem(store, policy=POLICY).set_config(CONFIG, now=NOW)
    store.close()
    assert "s3cr3t" in (data / SECRETS_FILENAME).read_text()
    assert b"s3cr3t" not in (data / "widget-monitor.duckdb").read_bytes()
    store = EventStore.open(data)
    try:  # a restart finds the URL again
        restored = AlertingSystem(store, policy=POLICY).config
        assert restored.alertmanager is not None and restored.alertmanager.url == URL
    finally:
        store.close()
    copy = tmp_path / "copy"
    copy.mkdir()
    for held in store_files(data):  # the database file and its WAL
        shutil.copy(held, copy)
    store = EventStore.open(copy)
    try:  # the event store alone: the channel is off, and the log names the host only
        with caplog.at_level(logging.ERROR):
            alone = AlertingSystem(store, policy=POLICY).config
        assert alone.alertmanager is None and alone.channels == ("console",)
        assert "alertmanager URL for https://am.example.com:9443/… is missing" in caplog.text
        assert "s3cr3t" not in caplog.text
    finally:
        store.close()
