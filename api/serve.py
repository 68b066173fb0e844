"""Running the service under uvicorn with connection limits from the settings.

uvicorn's own limits are used where it has them: ``limit_concurrency`` (``max_connections``;
more connections or requests get 503), ``timeout_keep_alive`` (``keep_alive_s``), WebSocket
pings (``ws_ping_interval_s``, ``ws_ping_timeout_s``) and message size (``ws_max_message_kb``,
answered with close code 1009), and a graceful-shutdown timeout. uvicorn has no timeout for a
request's headers, and closes a WebSocket abruptly on a message over the limit: the two
protocols of ``api.connections`` fix that. Body pace is limited in the app
(``api.limits.BodyLimits``).
"""

from __future__ import annotations

import uvicorn

from api.connections import DrainingWebSocketProtocol, HeaderTimeoutH11Protocol
from api.main import create_app
from api.privacy import private_umask
from api.settings import ApiSettings

GRACEFUL_SHUTDOWN_S = 10


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
        ws=DrainingWebSocketProtocol,
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
