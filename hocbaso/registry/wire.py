"""The wire format of CSDL Học bạ số, version 1 (docs/registry-api.md), client side.

Everything that knows paths, field names, JSON keys and refusal codes lives
here; ``RegistryClient`` only knows "build this request, read that answer",
plus HTTP status classes. Pointing the client at the Ministry's real service,
once its interface is published, means writing one more class with these
methods and passing it as ``RegistryClient(..., wire=...)``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from hocbaso.errors import RegistryError
from hocbaso.registry.results import Lookup, Receipt, ReceiptStatus, RecordStatus, Refusal


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and how long the registry says it lives."""

    value: str
    expires_in_s: float


class Wire(Protocol):
    """What the client needs from a wire format (``WireV1`` is the project's)."""

    def token_request(self, http: httpx.Client, client_id: str, secret: str) -> httpx.Request: ...
    def parse_token(self, response: httpx.Response) -> Token: ...
    def submit_request(
        self, http: httpx.Client, token: str, ma_hoc_ba: str, xml: bytes, pdf: bytes
    ) -> httpx.Request: ...
    def parse_receipt(
        self, response: httpx.Response, ma_hoc_ba: str, status: ReceiptStatus
    ) -> Receipt: ...
    def status_request(self, http: httpx.Client, token: str, ma_hoc_ba: str) -> httpx.Request: ...
    def parse_status(self, response: httpx.Response, ma_hoc_ba: str) -> RecordStatus: ...
    def revoke_request(
        self, http: httpx.Client, token: str, ma_hoc_ba: str, ly_do: str
    ) -> httpx.Request: ...
    def lookup_request(self, http: httpx.Client, ma_tra_cuu: str) -> httpx.Request: ...
    def parse_lookup(self, response: httpx.Response) -> Lookup: ...
    def refusal(self, response: httpx.Response) -> Refusal: ...
    def retry_after_s(self, response: httpx.Response) -> float | None: ...
    def hint(self, code: str) -> str: ...


# What the working group should do about each refusal code (the registry's
# message says what is wrong; this says what to do). No record data in here.
HINTS: dict[str, str] = {
    "XSD": "Tệp XML không đúng lược đồ: kiểm tra dữ liệu, chốt lại học bạ (bản mới), ký và "
    "đóng dấu lại.",
    "SIGNATURE": "Chữ ký số không hợp lệ: kiểm tra chứng thư số của người ký, ký và đóng dấu lại.",
    "TIMESTAMP": "Dấu thời gian không hợp lệ: kiểm tra dịch vụ cấp dấu thời gian rồi đóng dấu lại.",
    "MISMATCH": "Bản PDF không mang đúng tệp XML: tạo lại bản thể hiện từ tệp XML đã ký rồi "
    "đóng dấu lại.",
    "ID": "Mã định danh trong tệp XML khác mã gửi lên: báo cho người quản trị phần mềm.",
    "CONFLICT": "Mã định danh này đã được phát hành với nội dung khác: muốn sửa thì thu hồi học "
    "bạ cũ và phát hành phiên bản mới.",
    "REVOKED": "Học bạ này đã bị thu hồi: phát hành phiên bản mới với mã định danh mới.",
    "NOT_FOUND": "CSDL chưa có học bạ này: kiểm tra mã định danh hoặc nộp học bạ trước.",
    "AUTH": "Kiểm tra client_id trong mục [registry] của school.toml và mật khẩu trong biến "
    "môi trường đã khai báo.",
    "FORBIDDEN": "Tài khoản kết nối không có quyền với học bạ này: kiểm tra mã trường và "
    "tài khoản được cấp.",
    "TOO_LARGE": "Tệp quá lớn: kiểm tra bản PDF (ảnh nhúng, phông chữ) rồi tạo lại.",
    "REQUEST": "Yêu cầu không đúng định dạng: báo cho người quản trị phần mềm.",
    "INVALID_CODE": "Đối chiếu từng ký tự với mã in trên bản giấy hoặc quét mã QR.",
}
_DEFAULT_HINT = "Xem thông báo của CSDL Học bạ số; nếu chưa rõ, báo cho người quản trị phần mềm."


def _malformed(what: str) -> RegistryError:
    return RegistryError(
        f"CSDL Học bạ số trả lời không đúng định dạng khi {what}.",
        hint="Kiểm tra địa chỉ [registry] url trong school.toml có đúng là CSDL Học bạ số.",
    )


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise _malformed(what) from exc
    if not isinstance(body, dict):
        raise _malformed(what)
    return body


def _time(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _segment(value: str) -> str:
    return quote(value, safe="")


class WireV1:
    """The project's contract: ``/token``, ``/hoc-ba/{id}``, ``/tra-cuu/{code}`` (JSON)."""

    def token_request(self, http: httpx.Client, client_id: str, secret: str) -> httpx.Request:
        return http.build_request(
            "POST",
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )

    def parse_token(self, response: httpx.Response) -> Token:
        body = _json(response, "cấp mã truy cập")
        try:
            return Token(str(body["access_token"]), float(body.get("expires_in", 300)))
        except (KeyError, TypeError, ValueError) as exc:
            raise _malformed("cấp mã truy cập") from exc

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def submit_request(
        self, http: httpx.Client, token: str, ma_hoc_ba: str, xml: bytes, pdf: bytes
    ) -> httpx.Request:
        return http.build_request(
            "PUT",
            f"/hoc-ba/{_segment(ma_hoc_ba)}",
            headers=self._auth(token),
            files={
                "xml": ("hocba.xml", xml, "application/xml"),
                "pdf": ("hocba.pdf", pdf, "application/pdf"),
            },
        )

    def parse_receipt(
        self, response: httpx.Response, ma_hoc_ba: str, status: ReceiptStatus
    ) -> Receipt:
        body = _json(response, "nhận học bạ")
        try:
            received = _time(body["received_at"])
            if received is None:
                raise ValueError("received_at")
            return Receipt(
                ma_hoc_ba=ma_hoc_ba,
                ma_tra_cuu=str(body["ma_tra_cuu"]),
                received_at=received,
                sha256=str(body["sha256"]).lower(),
                status=status,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _malformed("nhận học bạ") from exc

    def status_request(self, http: httpx.Client, token: str, ma_hoc_ba: str) -> httpx.Request:
        return http.build_request(
            "GET", f"/hoc-ba/{_segment(ma_hoc_ba)}", headers=self._auth(token)
        )

    def parse_status(self, response: httpx.Response, ma_hoc_ba: str) -> RecordStatus:
        body = _json(response, "tra trạng thái học bạ")
        try:
            trang_thai = body["trang_thai"]
            if trang_thai not in ("accepted", "revoked"):
                raise ValueError("trang_thai")
            return RecordStatus(
                ma_hoc_ba=ma_hoc_ba,
                trang_thai=trang_thai,
                ma_tra_cuu=str(body["ma_tra_cuu"]),
                sha256=str(body["sha256"]).lower(),
                received_at=_time(body.get("received_at")),
                revoked_at=_time(body.get("revoked_at")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _malformed("tra trạng thái học bạ") from exc

    def revoke_request(
        self, http: httpx.Client, token: str, ma_hoc_ba: str, ly_do: str
    ) -> httpx.Request:
        return http.build_request(
            "POST",
            f"/hoc-ba/{_segment(ma_hoc_ba)}/thu-hoi",
            headers=self._auth(token),
            json={"ly_do": ly_do},
        )

    def lookup_request(self, http: httpx.Client, ma_tra_cuu: str) -> httpx.Request:
        return http.build_request(
            "GET", f"/tra-cuu/{_segment(ma_tra_cuu)}", headers={"Accept": "application/json"}
        )

    def parse_lookup(self, response: httpx.Response) -> Lookup:
        body = _json(response, "tra cứu học bạ")
        try:
            trang_thai = body["trang_thai"]
            if trang_thai not in ("accepted", "revoked"):
                raise ValueError("trang_thai")
            return Lookup(
                ma_tra_cuu=str(body["ma_tra_cuu"]),
                truong=str(body["truong"]),
                ho_va_ten=str(body["ho_va_ten"]),
                nam_hoc=str(body["nam_hoc"]),
                sha256=str(body["sha256"]).lower(),
                trang_thai=trang_thai,
                received_at=_time(body.get("received_at")),
                revoked_at=_time(body.get("revoked_at")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _malformed("tra cứu học bạ") from exc

    def refusal(self, response: httpx.Response) -> Refusal:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            return Refusal(body["code"], str(body.get("message") or ""))
        return Refusal(f"HTTP_{response.status_code}", "")

    def retry_after_s(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if value is None:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())

    def hint(self, code: str) -> str:
        return HINTS.get(code, _DEFAULT_HINT)
