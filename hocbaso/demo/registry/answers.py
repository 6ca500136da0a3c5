"""The stand-in's answers: refusals as ``{"code", "message"}``, JSON bodies, the lookup page.

Kept apart from the routes so the whole wire shape of the stand-in (what a
client of the spec sees) reads in one place.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

from hocbaso.demo.registry.storage import StoredRecord
from hocbaso.registry.results import Refusal

API = "/api/v1"


class ApiError(Exception):
    """A refusal answered as ``{"code", "message"}`` with an HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        details: list[Refusal] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = details or []

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["chi_tiet"] = [{"code": r.code, "message": r.message} for r in self.details]
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def receipt_body(record: StoredRecord) -> dict[str, Any]:
    return {
        "ma_hoc_ba": record.ma_hoc_ba,
        "ma_tra_cuu": record.ma_tra_cuu,
        "received_at": _iso(record.received_at),
        "sha256": record.sha256,
        "trang_thai": record.trang_thai,
    }


def status_body(record: StoredRecord) -> dict[str, Any]:
    return {
        "ma_hoc_ba": record.ma_hoc_ba,
        "trang_thai": record.trang_thai,
        "ma_tra_cuu": record.ma_tra_cuu,
        "sha256": record.sha256,
        "received_at": _iso(record.received_at),
        "revoked_at": _iso(record.revoked_at),
    }


def lookup_body(record: StoredRecord) -> dict[str, Any]:
    return {
        "ma_tra_cuu": record.ma_tra_cuu,
        "truong": record.truong,
        "ho_va_ten": record.ho_va_ten,
        "nam_hoc": record.nam_hoc,
        "sha256": record.sha256,
        "trang_thai": record.trang_thai,
        "received_at": _iso(record.received_at),
        "revoked_at": _iso(record.revoked_at),
    }


_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tra cứu học bạ số</title>
<style>body{{font-family:sans-serif;max-width:36em;margin:1em auto;padding:0 1em}}
td{{padding:.2em .6em;vertical-align:top}} .revoked{{color:#b00;font-weight:bold}}</style>
</head><body><h1>Tra cứu học bạ số</h1>{body}</body></html>"""


def lookup_page(record: StoredRecord | None, message: str | None) -> str:
    if record is None:
        return _PAGE.format(body=f"<p>{html.escape(message or '')}</p>")
    status = (
        "Có hiệu lực"
        if record.trang_thai == "accepted"
        else '<span class="revoked">Đã thu hồi</span>'
    )
    rows = [
        ("Mã tra cứu", html.escape(record.ma_tra_cuu)),
        ("Trường", html.escape(record.truong)),
        ("Học sinh", html.escape(record.ho_va_ten)),
        ("Năm học", html.escape(record.nam_hoc)),
        ("Trạng thái", status),
        ("Mã băm SHA-256 của tệp XML", f"<code>{html.escape(record.sha256)}</code>"),
    ]
    table = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return _PAGE.format(
        body=f"<table>{table}</table><p>Đối chiếu các thông tin trên với bản giấy.</p>"
    )


def conflict(held: StoredRecord) -> ApiError:
    if held.trang_thai == "revoked":
        return ApiError(
            409,
            "REVOKED",
            "Học bạ có mã định danh này đã bị thu hồi; bản sửa phải là phiên bản mới với mã "
            "định danh mới.",
        )
    return ApiError(
        409,
        "CONFLICT",
        "Mã định danh này đã được phát hành với nội dung khác; CSDL không ghi đè học bạ đã "
        "phát hành.",
    )


def invalid(refusals: list[Refusal]) -> ApiError:
    first = refusals[0]
    return ApiError(422, first.code, first.message, details=refusals)


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "TOO_LARGE",
        f"Yêu cầu vượt quá dung lượng cho phép ({limit // (1024 * 1024)} MB).",
    )
