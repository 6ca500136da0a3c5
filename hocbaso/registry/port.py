"""What the steps need from CSDL Học bạ số: the registry port (a Protocol).

``RegistryClient`` (httpx) is the implementation; tests hand a step a client over
``httpx.MockTransport`` or the stand-in. Keeping the surface this small is what
lets one adapter class absorb a change of the Ministry's service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Protocol

from hocbaso.registry.results import Outcome, RecordStatus, SubmitItem


class RegistryPort(Protocol):
    """Submit a class's records, revoke one; a context manager that closes its connections."""

    def submit_many(
        self,
        items: Iterable[SubmitItem],
        on_result: Callable[[Outcome], None] | None = None,
        *,
        budget_s: float | None = None,
    ) -> list[Outcome]: ...

    def revoke(self, ma_hoc_ba: str, ly_do: str) -> RecordStatus: ...

    def __enter__(self) -> RegistryPort: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
