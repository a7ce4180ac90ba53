"""Channel secrets at rest: the SMTP password and the full webhook and Alertmanager URLs, in a file apart.

The alerting config is stored in the event store (DuckDB) with its secrets masked, as
GET shows it; the secrets go to `<data_dir>/channel-secrets.json` (mode 0600, replaced
atomically), so copying or sharing the event store never shares them. On load, a secret
is put back only where it still belongs: a webhook or Alertmanager URL for the same
scheme, host and port; the password for the same SMTP host, port, username and TLS settings.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from analytics.alerts.channel_settings import MASK
from analytics.alerts.config import AlertingConfig
from analytics.ingest.identifiers import one_line
from analytics.outbound import is_masked_url, masked_url

log = logging.getLogger(__name__)

SECRETS_FILENAME = "channel-secrets.json"
_VERSION = 1
_BINDING = ("host", "port", "username", "starttls", "ssl")  # as in EmailSettings.password_binding
_URL_SECTIONS = ("webhook", "alertmanager")  # sections whose full `url` is a secret


def secrets_of(config: AlertingConfig) -> dict[str, Any]:
    """The secrets of `config`, in the file's form."""
    secrets: dict[str, Any] = {"version": _VERSION}
    if config.webhook is not None:
        secrets["webhook"] = {"url": config.webhook.url}
    if config.alertmanager is not None:
        secrets["alertmanager"] = {"url": config.alertmanager.url}
    email = config.email
    if email is not None and email.password:
        secrets["email"] = {
            "host": email.host,
            "port": email.port,
            "username": email.username,
            "starttls": email.starttls,
            "ssl": email.ssl,
            "password": email.password,
        }
    return secrets


def save_secrets(path: Path, secrets: dict[str, Any]) -> None:
    """Replace the secrets file atomically; it is readable by this user only (0600)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(secrets, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_secrets(path: Path) -> dict[str, Any]:
    """The secrets in `path`; none when the file is missing or unreadable (said in the log)."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.error("cannot read the channel secrets file %s: %s", path, exc.strerror)
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("channel secrets file %s was readable by others; made it 0600", path)
        path.chmod(0o600)
    try:
        secrets = json.loads(text)
    except json.JSONDecodeError:
        log.error("channel secrets file %s is not valid JSON; the channels lose their secrets", path)
        return {}
    return secrets if isinstance(secrets, dict) else {}


def restore_secrets(body: dict[str, Any], secrets: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """`body` (a stored config) with its masked secrets put back from `secrets`.

    Returns the document and whether `body` itself held a secret in plain text (a store
    written by an older version), which the caller should then move out.
    """
    doc = dict(body)
    plain = False
    for section in _URL_SECTIONS:
        target = doc.get(section)
        if not isinstance(target, dict) or not isinstance(target.get("url"), str):
            continue
        url = target["url"]
        stored = (secrets.get(section) or {}).get("url")
        if not is_masked_url(url):
            plain = True
        elif isinstance(stored, str) and masked_url(stored) == url:
            doc[section] = {**target, "url": stored}
        else:
            log.error(
                "the %s URL for %s is missing from the channel secrets; the %s channel is "
                "off until its URL is set again",
                section,
                one_line(url),
                section,
            )
            doc[section] = None
            doc["channels"] = [c for c in doc.get("channels", []) if c != section]
    email = doc.get("email")
    if isinstance(email, dict) and email.get("password") is not None:
        stored_email = secrets.get("email") or {}
        if email["password"] != MASK:
            plain = True
        elif all(stored_email.get(k) == email.get(k) for k in _BINDING) and stored_email.get("password"):
            doc["email"] = {**email, "password": stored_email["password"]}
        else:
            log.error("the SMTP password is missing from the channel secrets; set it again to log in")
            doc["email"] = {**email, "password": None}
    return doc, plain
