"""Faults the stand-in injects on request, so the client's resilience is tested for real.

Rates are drawn from one seeded random generator, so a sequential run is
reproducible; the ``*_next`` counters fault exactly the next N requests, which
is what tests use when they must know which request fails. ``FaultMiddleware``
applies them to ``/api/v1`` (the admin endpoints and the HTML lookup page are
never faulted).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hocbaso.demo.registry.answers import API, ApiError

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]


class Faults(BaseModel):
    """The fault configuration (also the JSON body of ``POST /_admin/faults``)."""

    model_config = ConfigDict(extra="forbid")

    rate_5xx: Rate = 0.0  # share of API requests answered 503
    timeout_rate: Rate = 0.0  # share of API requests left hanging (until hang_s or disconnect)
    drop_after_body_rate: Rate = 0.0  # share of PUTs stored, then the connection dropped
    burst_429: Count = 0  # the next N API requests answer 429 with Retry-After
    burst_5xx: Count = 0  # the next N API requests answer 503
    timeout_next: Count = 0  # the next N API requests hang
    drop_next: Count = 0  # the next N accepted PUTs are stored, then dropped
    slow_ms: Count = 0  # every API request waits this long first
    retry_after_s: Count = 1  # the Retry-After of a 429
    hang_s: Annotated[float, Field(gt=0)] = 30.0
    seed: int | None = 0


DROP_KEY = "hocbaso.drop_after_body"  # scope key: the route asks for a drop

Decision = Literal["ok", "429", "5xx", "timeout"]


@dataclass
class FaultInjector:
    """Draws the fate of each request from the current ``Faults``; thread-safe."""

    faults: Faults

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.faults.seed)

    def configure(self, faults: Faults) -> None:
        """Replace the configuration and reseed."""
        with self._lock:
            self.faults = faults
            self._random = random.Random(faults.seed)

    def snapshot(self) -> Faults:
        """The current configuration, counters included."""
        with self._lock:
            return self.faults.model_copy()

    def _take(self, field: str) -> bool:
        left = getattr(self.faults, field)
        if left > 0:
            self.faults = self.faults.model_copy(update={field: left - 1})
            return True
        return False

    def before_request(self) -> Decision:
        """What happens to an API request before it is handled."""
        with self._lock:
            if self._take("burst_429"):
                return "429"
            if self._take("burst_5xx"):
                return "5xx"
            if self._take("timeout_next"):
                return "timeout"
            draw = self._random.random()
            if draw < self.faults.rate_5xx:
                return "5xx"
            if draw < self.faults.rate_5xx + self.faults.timeout_rate:
                return "timeout"
            return "ok"

    def drop_after_store(self) -> bool:
        """Whether to drop the connection of a PUT whose record was just stored."""
        with self._lock:
            if self._take("drop_next"):
                return True
            return self._random.random() < self.faults.drop_after_body_rate


class DropConnection(Exception):
    """Raised after a response has started, so the server closes the connection.

    ASGI has no way to close a connection before answering, so the status line
    and headers go out, then the connection closes with the body missing: the
    client sees a broken answer (httpx: ``RemoteProtocolError``) and cannot know
    from it whether the record was stored, which is the case being simulated.
    """


class FaultMiddleware:
    """Injects the configured faults into ``/api/v1`` requests (pure ASGI, outermost)."""

    def __init__(self, app: ASGIApp, faults: FaultInjector) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API + "/"):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        config = faults.snapshot()
        if config.slow_ms:
            await asyncio.sleep(config.slow_ms / 1000)
        decision = faults.before_request()
        if decision == "429":
            await ApiError(
                429,
                "TOO_MANY_REQUESTS",
                "CSDL Học bạ số đang quá tải, vui lòng gửi lại sau thời gian chờ.",
                {"Retry-After": str(config.retry_after_s)},
            ).response()(scope, receive, send)
            return
        if decision == "5xx":
            await ApiError(
                503, "UNAVAILABLE", "CSDL Học bạ số tạm thời không phục vụ được, thử lại sau."
            ).response()(scope, receive, send)
            return
        if decision == "timeout":
            await self._hang(receive, config.hang_s)
            await ApiError(504, "TIMEOUT", "CSDL Học bạ số không xử lý kịp yêu cầu.").response()(
                scope, receive, send
            )
            return

        drop = scope.setdefault(DROP_KEY, [False])

        async def send_or_drop(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.start" and drop[0]:
                raise DropConnection

        await self.app(scope, receive, send_or_drop)

    @staticmethod
    async def _hang(receive: Receive, seconds: float) -> None:
        """Wait ``seconds`` or until the client goes away, whichever is first."""

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until_disconnect(), timeout=seconds)
