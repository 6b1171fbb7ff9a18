"""The front door of every service's HTTP server: slow clients cannot hold it.

- A connection must finish a request's headers within TIPLINE_HTTP_HEADER_TIMEOUT_S of opening
  (or of starting its next request): one that dribbles them is answered 408 and closed. Its body
  then has TIPLINE_HTTP_BODY_TIMEOUT_S (`shared.http.read_body`, 408).
- One client address holds at most TIPLINE_HTTP_MAX_CONNECTIONS_PER_CLIENT connections: a new one
  beyond them closes that address's oldest, so whoever holds many connections open makes room for
  its own newest, never for nobody.
- At most TIPLINE_HTTP_MAX_CONCURRENCY requests are handled at once; more are answered 503 with
  Retry-After, except health, readiness and metrics, which are always answered: a flood of
  requests cannot make a service look dead.
"""

import asyncio
from collections import defaultdict

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.http import RETRY_AFTER_S

ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz", "/metrics"})
_LATE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\n"
         b"content-length: 35\r\n\r\nrequest headers not received in time")


def guarded_protocol(per_client: int, header_timeout_s: float) -> type[HttpToolsProtocol]:
    """uvicorn's HTTP protocol with the header deadline and the per-address cap (one class per
    server: the connections it counts are that server's)."""
    held: dict[str, dict[HttpToolsProtocol, None]] = defaultdict(dict)  # by address, oldest first

    class Guarded(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _address = ""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._address = self.client[0] if self.client else "local"
            mine = held[self._address]
            mine[self] = None
            if len(mine) > per_client:
                oldest = next(iter(mine))
                mine.pop(oldest)
                oldest.transport.close()
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # the next request on a kept-alive connection
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            mine = held.get(self._address)
            if mine is not None:
                mine.pop(self, None)
                if not mine:
                    del held[self._address]
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(header_timeout_s, self._late)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _late(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.write(_LATE)
                self.transport.close()

    return Guarded


class ConcurrencyLimit:
    """At most `limit` requests in hand; more get 503 with Retry-After, but for ALWAYS_ANSWERED."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_hand = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ANSWERED:
            await self.app(scope, receive, send)
            return
        if self.in_hand >= self.limit:
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", str(RETRY_AFTER_S).encode())]})
            await send({"type": "http.response.body",
                        "body": b'{"detail":"too many requests in hand; retry later"}'})
            return
        self.in_hand += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_hand -= 1
