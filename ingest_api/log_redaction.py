"""No secret in a log line: the access log shows `key=[redacted]` instead of an ingest key."""

from __future__ import annotations

import logging
import re

# `key=` (the SDK's ingest key) and anything named like a token, in a query string.
_SECRET_PARAM = re.compile(r"(?i)([?&](?:key|token|access_token|api_key)=)[^&\s]*")


def redact_query(text: str) -> str:
    """`text` with the values of secret query parameters replaced.

    >>> redact_query("/api/monitoring/widget?key=wmk_abc_def&x=1")
    '/api/monitoring/widget?key=[redacted]&x=1'
    """
    return _SECRET_PARAM.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message arguments (uvicorn's access log passes the path as one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        return True


def install_log_redaction() -> None:
    """Put the filter on uvicorn's access and error loggers (idempotent)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
