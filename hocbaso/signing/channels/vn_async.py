"""The "send a batch → wait for the person's confirmation → collect" remote-signing shape.

Vietnamese providers' public integration documents (VNPT SmartCA and similar) describe
hash signing only: the application sends up to 50 hashes with a description shown on
the person's phone; the person confirms (or refuses) in the provider's app within
about five minutes; the application asks for the transaction's status until it is
signed, refused or expired; an exhausted signing quota is an error of its own. This
adapter speaks that shape as the stand-in (``hocbaso.demo.remote_signing``) serves it::

    GET  /v1/tai-khoan/{ma_nguoi_dung}/chung-thu    -> {"chung_thu": [base64 DER, ...]}
    POST /v1/giao-dich  {"ma_giao_dich", "ma_nguoi_dung", "mo_ta", "thuat_toan_bam",
                         "bam": [base64, ...]}      -> {"trang_thai": "cho_xac_nhan", ...}
    GET  /v1/giao-dich/{ma_giao_dich}               -> {"trang_thai", "chu_ky": [...]}

The transaction id is the school's (``ma_giao_dich``, in the journal before sending):
sending it again returns the transaction the service holds, and a service that does
not know it (the first send was lost) receives it for the first time. A real
provider's field names differ; a small mapping per provider goes here.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from hocbaso.errors import SigningError
from hocbaso.signing.channels import RequestStatus, SignRequest
from hocbaso.signing.channels.http import (
    RemoteUnavailable,
    call,
    quota_exhausted,
    service_client,
)

__all__ = ["MAX_DIGESTS", "RemoteUnavailable", "VnAsyncPort"]

MAX_DIGESTS = 50


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class VnAsyncPort:
    """One person's account at an asynchronous remote-signing service."""

    def __init__(
        self,
        base_url: str,
        user_id: str,
        *,
        client_id: str,
        secret: str,
        provider: str = "gia_lap",
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.max_digests = MAX_DIGESTS
        self._user = user_id
        self._provider = provider
        self._http = service_client(
            base_url, client_id=client_id, secret=secret, timeout_s=timeout_s, transport=transport
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return call(self._http, self._provider, method, path, **kwargs)

    def certificates(self) -> list[bytes]:
        response = self._call("GET", f"/v1/tai-khoan/{self._user}/chung-thu")
        if response.status_code != 200:
            raise SigningError(
                f"Dịch vụ ký số từ xa không có tài khoản '{self._user}' "
                f"(mã lỗi {response.status_code}).",
                hint="Kiểm tra ma_nguoi_dung và thông tin đăng nhập trong school.toml.",
            )
        return [base64.b64decode(c) for c in response.json()["chung_thu"]]

    def _status_of(self, response: httpx.Response) -> RequestStatus:
        body = response.json()
        code = body.get("ma_loi")
        if response.status_code in (402, 429) or code == "HET_LUOT":
            return quota_exhausted()
        if response.status_code != 200:
            return RequestStatus(
                "loi",
                code=str(code or response.status_code).lower(),
                message=f"Dịch vụ ký số từ xa từ chối yêu cầu: {body.get('thong_bao', '')}",
            )
        state = body["trang_thai"]
        signatures = tuple(base64.b64decode(s) for s in body.get("chu_ky") or ())
        return RequestStatus(state, signatures)

    def submit(self, request: SignRequest) -> RequestStatus:
        if len(request.digests) > self.max_digests:
            raise SigningError(
                f"Một yêu cầu ký từ xa chỉ được tối đa {self.max_digests} giá trị băm.",
                hint="Đây là lỗi của chương trình; báo cho quản trị.",
            )
        response = self._call(
            "POST",
            "/v1/giao-dich",
            json={
                "ma_giao_dich": request.ma_giao_dich,
                "ma_nguoi_dung": self._user,
                "mo_ta": request.description,
                "thuat_toan_bam": "sha256",
                "bam": [_b64(d) for d in request.digests],
            },
        )
        return self._status_of(response)

    def status(self, request: SignRequest) -> RequestStatus:
        response = self._call("GET", f"/v1/giao-dich/{request.ma_giao_dich}")
        if response.status_code == 404:
            # The first send never arrived: this is its first arrival, not a second ask.
            return self.submit(request)
        return self._status_of(response)

    def close(self) -> None:
        self._http.close()
