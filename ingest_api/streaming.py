"""A streaming response that closes its body however the response ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, Iterable
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class ClosingStreamingResponse(StreamingResponse):
    """`StreamingResponse` that closes its body when done, the client gone, or the server stopping.

    Starlette stops iterating when the client disconnects but leaves the body suspended: its
    `finally` (removing a snapshot, closing a file) would wait for the garbage collector.
    """

    def __init__(self, content: Iterable[bytes] | AsyncIterable[bytes], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            content = self._content
            if hasattr(content, "aclose"):
                await content.aclose()
            elif hasattr(content, "close"):
                with contextlib.suppress(ValueError):  # still running in a worker thread
                    content.close()
