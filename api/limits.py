"""Refusing request bodies that are too large (413) or arrive too slowly (408), before or while
they are read.

``BodyLimits`` wraps the ASGI ``receive`` of POST/PUT/PATCH requests: a Content-Length over the
limit is refused at once; a streamed body is counted as it arrives; a body that pauses longer
than ``idle_timeout_s`` between two pieces, or that averages less than ``min_rate_bytes_s`` once
it has been arriving for ``idle_timeout_s``, is cut off. The error is raised from ``receive``,
so the route reading the body sees it where it reads (and removes what it wrote); routes must
let ``BodyRefusedError`` through. The answer is sent with ``Connection: close``.
"""

from __future__ import annotations

import asyncio
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyRefusedError(Exception):
    """Raised from ``receive``; the middleware answers with ``status`` and ``detail``."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UploadTooLargeError(BodyRefusedError):
    status = 413


class BodyTooSlowError(BodyRefusedError):
    status = 408


class BodyLimits:
    """Refuse request bodies over ``max_bytes`` (413) or too slow (408); see the module doc."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        idle_timeout_s: float,
        min_rate_bytes_s: float,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_timeout_s = idle_timeout_s
        self.min_rate_bytes_s = min_rate_bytes_s

    @property
    def too_large(self) -> str:
        return f"upload larger than the limit of {self.max_bytes / (1024 * 1024):g} MB"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _refuse(send, 413, self.too_large)
            return
        seen = 0
        more_body = True
        started_at = time.monotonic()
        response_started = False

        async def limited_receive() -> Message:
            nonlocal seen, more_body
            if not more_body:  # the body is in; later calls wait for a disconnect: no limit
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=self.idle_timeout_s)
            except asyncio.TimeoutError:
                raise BodyTooSlowError(
                    f"the request body paused for more than {self.idle_timeout_s:g} s"
                ) from None
            if message["type"] != "http.request":
                return message
            seen += len(message.get("body", b""))
            more_body = bool(message.get("more_body", False))
            if seen > self.max_bytes:
                raise UploadTooLargeError(self.too_large)
            elapsed_s = time.monotonic() - started_at
            if more_body and elapsed_s > self.idle_timeout_s:
                rate = seen / elapsed_s
                if rate < self.min_rate_bytes_s:
                    raise BodyTooSlowError(
                        f"the request body arrives too slowly ({rate / 1024:.1f} KB/s; at least "
                        f"{self.min_rate_bytes_s / 1024:g} KB/s)"
                    )
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyRefusedError as e:
            if not response_started:
                await _refuse(send, e.status, e.detail)


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
