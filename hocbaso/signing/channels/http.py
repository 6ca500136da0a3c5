"""What both remote-signing wire adapters share: the HTTP client, retries, common answers."""

from __future__ import annotations

import time
from typing import Any

import httpx

from hocbaso.errors import SigningError
from hocbaso.signing.channels import RequestStatus
from hocbaso.tls import client_context

RETRIES = 3
BACKOFF_S = 0.2


class RemoteUnavailable(SigningError):
    """The remote signing service did not answer (network, 5xx) after a few tries."""


def service_client(
    base_url: str,
    *,
    client_id: str,
    secret: str,
    timeout_s: float,
    transport: httpx.BaseTransport | None,
) -> httpx.Client:
    """An HTTP client of the service, authenticated as the school's application.

    One per person's account, kept open for the run: the TLS roots are the process's
    one context (``hocbaso.tls``), not a copy per client."""
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {secret}", "X-Client-Id": client_id},
        timeout=timeout_s,
        transport=transport,
        verify=client_context(),
    )


def call(
    http: httpx.Client, provider: str, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """One call, tried again on a network error or a 5xx; ``RemoteUnavailable`` at the end.

    Safe to repeat: every request the adapters send is named by the school's id.
    """
    last: Exception | None = None
    for attempt in range(RETRIES):
        try:
            response = http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            last = exc
        else:
            if response.status_code < 500:
                return response
            last = RuntimeError(f"HTTP {response.status_code}")
        time.sleep(BACKOFF_S * (attempt + 1))
    raise RemoteUnavailable(
        f"Dịch vụ ký số từ xa ({provider}) không trả lời ({last}).",
        hint="Kiểm tra kết nối mạng rồi chạy lại bước ký; yêu cầu đã gửi không bị gửi trùng.",
    )


def quota_exhausted() -> RequestStatus:
    return RequestStatus(
        "loi",
        code="het_luot",
        message="Tài khoản ký số từ xa đã hết lượt ký. Gia hạn gói ký số với nhà cung cấp "
        "rồi chạy lại bước ký.",
    )
