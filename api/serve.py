"""Running the service under uvicorn with connection limits from the settings.

uvicorn's own limits are used where it has them: ``limit_concurrency`` (``max_connections``;
more connections or requests get 503), ``timeout_keep_alive`` (``keep_alive_s``), WebSocket
pings (``ws_ping_interval_s``, ``ws_ping_timeout_s``) and message size (``ws_max_message_kb``,
answered with close code 1009), and a graceful-shutdown timeout. uvicorn has no timeout for a
request's headers, so ``HeaderTimeoutH11Protocol`` adds one to its h11 protocol: a connection
that has not sent a whole request head within ``header_timeout_s`` of connecting (or of the
previous response) is closed. Body pace is limited in the app (``api.limits.BodyLimits``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.main import create_app
from api.privacy import private_umask
from api.settings import ApiSettings

GRACEFUL_SHUTDOWN_S = 10


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request head does not arrive in
    time (the slowloris attack: headers sent a byte at a time, or never)."""

    header_timeout_s = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closing a connection that sent no request head in time")
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in (a request or an upgrade)
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # waiting for the next request on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def protocol_for(settings: ApiSettings) -> type[HeaderTimeoutH11Protocol]:
    return type(
        "HeaderTimeoutH11Protocol",
        (HeaderTimeoutH11Protocol,),
        {"header_timeout_s": settings.header_timeout_s},
    )


def uvicorn_config(settings: ApiSettings, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        http=protocol_for(settings),
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=settings.keep_alive_s,  # type: ignore[arg-type]  # float works
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        ws_max_size=settings.ws_max_message_bytes,
        ws_max_queue=1,
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        ws_per_message_deflate=False,  # a deflated message can inflate far past its size
    )


def serve(settings: ApiSettings, host: str, port: int) -> None:
    """Run the service until interrupted; everything it writes is private (umask 0077)."""
    private_umask()
    uvicorn.Server(uvicorn_config(settings, host, port)).run()
