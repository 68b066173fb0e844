"""uvicorn's protocols with two gaps closed (both used by ``api.serve``).

* ``HeaderTimeoutH11Protocol``: uvicorn has no timeout for a request's head; a client that
  connects and sends nothing, or sends its headers a byte at a time (slowloris), would hold a
  connection for ever. Here a connection that has not sent a whole request head within
  ``header_timeout_s`` of connecting (or of its previous response) is closed.
* ``DrainingWebSocketProtocol``: on a message over ``ws_max_size`` (or broken framing) uvicorn
  sends the close frame (1009) and closes the connection at once; if the client is still
  sending, the data left unread makes the kernel reset the connection and the client may never
  read the close frame. Here the connection is half-closed after the close frame and what the
  client still sends is read and thrown away until it closes (or ``close_timeout``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


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


class DrainingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol that lets the client read its close frame (see above)."""

    _failed = False

    def data_received(self, data: bytes) -> None:
        if self._failed:
            return  # after a protocol error: read and thrown away
        super().data_received(data)

    def handle_parser_exception(self) -> None:
        self._failed = True
        sent = self.conn.close_sent
        code = 1006 if sent is None else sent.code
        reason = "" if sent is None else sent.reason
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        for chunk in self.conn.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()  # websockets' end-of-stream marker: half-close
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        if self.close_timer is None:
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
