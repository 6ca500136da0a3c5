"""The public lookup and verification page of the stand-in (the URL in the QR code).

What the holder of a lookup code may see: the school, the pupil's name, the school
year, the record's status (issued, or revoked with a link to the version that replaces
it) and the SHA-256 of the issued XML; nothing else of the record. The upload form
verifies a PDF or XML against the strict profile (``hocbaso.verification``) and against
what the registry holds for this code: the verdict is "valid" only when every check
passes, the file is the one issued under this code, and the record is not revoked.
"""

from __future__ import annotations

import html
from typing import Any

from hocbaso.demo.registry.storage import StoredRecord
from hocbaso.signing.report import INDICATION_LABELS, STATUS_LABELS

_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tra cứu và xác thực học bạ số</title>
<style>body{{font-family:sans-serif;max-width:44em;margin:1em auto;padding:0 1em}}
td{{padding:.2em .6em;vertical-align:top}} .revoked,.bad{{color:#b00;font-weight:bold}}
.ok{{color:#070;font-weight:bold}} li{{margin:.2em 0}} code{{word-break:break-all}}</style>
</head><body><h1>Tra cứu và xác thực học bạ số</h1>{body}</body></html>"""


def _status(record: StoredRecord, successor: StoredRecord | None) -> str:
    if record.trang_thai == "accepted":
        return '<span id="trang-thai" class="ok">Đã cấp — Có hiệu lực</span>'
    if successor is not None:
        code = html.escape(successor.ma_tra_cuu)
        replaced = f' — bản thay thế: <a id="ban-thay-the" href="/tra-cuu/{code}">{code}</a>'
    else:
        replaced = " — chưa có bản thay thế trong CSDL"
    return f'<span id="trang-thai" class="revoked">Đã thu hồi, không còn giá trị</span>{replaced}'


def _facts(record: StoredRecord, successor: StoredRecord | None) -> str:
    rows = [
        ("Mã tra cứu", html.escape(record.ma_tra_cuu)),
        ("Trường", html.escape(record.truong)),
        ("Học sinh", html.escape(record.ho_va_ten)),
        ("Năm học", html.escape(record.nam_hoc)),
        ("Trạng thái", _status(record, successor)),
        ("Mã băm SHA-256 của tệp XML", f"<code>{html.escape(record.sha256)}</code>"),
    ]
    return "<table>" + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _form(record: StoredRecord) -> str:
    action = f"/tra-cuu/{html.escape(record.ma_tra_cuu)}/kiem-tra"
    return (
        "<h2>Xác thực một bản học bạ</h2>"
        "<p>Chọn tệp PDF hoặc XML của học bạ này để kiểm tra chữ ký số, dấu thời gian "
        "và đối chiếu với bản đã cấp.</p>"
        f'<form id="kiem-tra" method="post" action="{action}" enctype="multipart/form-data">'
        '<input type="file" name="tep" accept=".pdf,.xml,application/pdf,application/xml" '
        'required> <button type="submit">Kiểm tra</button></form>'
    )


def lookup_page(
    record: StoredRecord | None, message: str | None, successor: StoredRecord | None = None
) -> str:
    """The page a phone opens from the QR code."""
    if record is None:
        return _PAGE.format(body=f"<p>{html.escape(message or '')}</p>")
    body = _facts(record, successor) + "<p>Đối chiếu các thông tin trên với bản giấy.</p>"
    return _PAGE.format(body=body + _form(record))


def check_page(
    record: StoredRecord,
    successor: StoredRecord | None,
    file_name: str,
    result: Any | None,
    issued_here: bool,
) -> str:
    """The verdict on an uploaded file (``result``: a ``FileVerification``, or None when
    the verifier is not available)."""
    reasons: list[str] = []
    if result is None:
        reasons.append("Máy chủ chưa được cấu hình để kiểm tra chữ ký.")
    elif not result.passed:
        indication = INDICATION_LABELS[result.indication]
        reasons.append(
            f"Chữ ký và dấu thời gian: {indication} ({result.indication}/{result.sub_indication})."
        )
    if not issued_here:
        reasons.append("Tệp không phải bản đã cấp dưới mã tra cứu này (mã băm khác).")
    if record.trang_thai != "accepted":
        reasons.append("Học bạ đã bị thu hồi.")
    if reasons:
        verdict = (
            '<p id="ket-luan" class="bad">KHÔNG HỢP LỆ</p><ul>'
            + "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
            + "</ul>"
        )
    else:
        verdict = (
            '<p id="ket-luan" class="ok">HỢP LỆ</p><p>Chữ ký số, dấu thời gian và nội dung '
            "khớp với bản đã cấp dưới mã tra cứu này.</p>"
        )
    details = ""
    if result is not None:
        details = (
            "<h3>Chi tiết kiểm tra</h3><ul>"
            + "".join(
                f"<li>[{STATUS_LABELS[c.status]}] {html.escape(c.name)}: "
                f"{html.escape(c.message)}</li>"
                for c in result.checks
            )
            + "</ul>"
        )
    head = f"<h2>Kết quả xác thực tệp {html.escape(file_name)}</h2>"
    return _PAGE.format(body=head + verdict + _facts(record, successor) + details + _form(record))
