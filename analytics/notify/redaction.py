"""httpx's request log without secrets: every URL in it reduced to scheme and host.

httpx logs `HTTP Request: POST https://hooks.example.com/T0/B0/token "HTTP/1.1 200 OK"` at
INFO on the `httpx` logger, which would write a webhook's token into the server log. The
filter installed here rewrites each URL argument of that logger's records to its masked
form (`analytics.outbound.masked_url`) before any handler sees it.
"""

from __future__ import annotations

import logging
import threading

import httpx

from analytics.ingest.identifiers import one_line
from analytics.outbound import masked_url

HTTPX_LOGGER = "httpx"
_lock = threading.Lock()


class MaskURLs(logging.Filter):
    """Replaces URL arguments (an `httpx.URL`, or text starting with http:// or https://)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _masked(arg) for key, arg in record.args.items()}
        if isinstance(record.msg, str) and "://" in record.msg and not record.args:
            record.msg = " ".join(str(_masked(word)) for word in record.msg.split(" "))
        return True


def _masked(arg: object) -> object:
    if isinstance(arg, httpx.URL):
        return masked_url(str(arg))
    if isinstance(arg, str) and arg.startswith(("http://", "https://")):
        return one_line(masked_url(arg))
    return arg


def redact_httpx_log() -> None:
    """Install the filter on the `httpx` logger (once per process)."""
    logger = logging.getLogger(HTTPX_LOGGER)
    with _lock:
        if not any(isinstance(f, MaskURLs) for f in logger.filters):
            logger.addFilter(MaskURLs())
