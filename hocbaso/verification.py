"""Verifying records: `hbs verify FILE…`, the lookup page's upload form.

A verification is a list of named checks (passed / failed / could not check) with,
per signature and per file, an ETSI EN 319 102-1 indication (``TOTAL-PASSED``,
``INDETERMINATE``, ``TOTAL-FAILED``) and sub-indication. An issued record is judged by
the strict profile (``hocbaso.signing.verify``): the schema, the three signatures of
the XML and of the PDF bound to their roles and validated at the best proof of
existence, the archive / document timestamps, and for a PDF the XAdES signatures of
the XML it carries (a PDF stands alone). Inside a workspace the store adds what only it
knows: that the file is the one it froze and holds, and whether the record was revoked
(with the version replacing it). The store is opened read-only, so verifying works
while a run holds it. Every input gets a verdict, never a traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hocbaso.config import Workspace
from hocbaso.errors import HocBaSoError, RecordError
from hocbaso.files import read_content, sha256_hex
from hocbaso.record import data_digest, validate_record_xml
from hocbaso.render import extract_record_xml
from hocbaso.signing import Check, ServiceSession, TrustSettings, VerificationReport
from hocbaso.signing import async_verify_record_pdf as _verify_pdf_signatures
from hocbaso.signing import async_verify_record_xml as _verify_xml_signatures
from hocbaso.signing.longterm import is_renewal_of
from hocbaso.signing.report import (
    INDICATION_LABELS,
    Indication,
    SignatureInfo,
    check_dict,
    check_line,
    worst,
)
from hocbaso.signing.xml_signature import DATA_TAG, NS, parse_record
from hocbaso.states import S
from hocbaso.store import Store
from hocbaso.store.records import record_on

ATTACHED = "dinh-kem"
"""Prefix of the checks made on the XML a PDF carries (``dinh-kem:chuky-ht.chu-ky``)."""


@dataclass(frozen=True)
class FileVerification:
    """Every check made on one file, and its signatures."""

    path: Path
    checks: tuple[Check, ...]
    report: VerificationReport | None = None
    record_status: dict[str, str | None] | None = None

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status == "passed" for c in self.checks)

    @property
    def indication(self) -> Indication:
        return worst(self.checks)[0]

    def check_names(self) -> set[str]:
        return {c.name for c in self.checks}

    @property
    def sub_indication(self) -> str | None:
        return worst(self.checks)[1]

    def as_dict(self) -> dict[str, Any]:
        """What ``hbs verify --json`` prints for this file."""
        return {
            "file": str(self.path),
            "document": self.report.document if self.report is not None else None,
            "indication": self.indication,
            "sub_indication": self.sub_indication,
            "record_status": self.record_status,
            "signatures": self.report.signature_dicts() if self.report is not None else [],
            "checks": [check_dict(c) for c in self.checks],
        }

    def summary(self) -> str:
        verdict = "HỢP LỆ" if self.passed else INDICATION_LABELS[self.indication].upper()
        sub = f" ({self.indication}/{self.sub_indication})" if not self.passed else ""
        lines = [f"{self.path.name}: {verdict}{sub}"]
        if self.report is not None:
            for sig in self.report.signature_dicts():
                best = sig["best_signature_time"] or "—"
                lines.append(
                    f"  Chữ ký {sig['id']} ({sig['role']}, {sig['signer']}): "
                    f"{INDICATION_LABELS[sig['indication']]}"
                    + (f" ({sig['sub_indication']})" if sig["sub_indication"] else "")
                    + f"; thời điểm ký tự khai {sig['signing_time'] or '—'}, "
                    f"thời điểm có bằng chứng tồn tại {best}"
                )
        lines += [check_line(c) for c in self.checks]
        return "\n".join(lines)


def _schema_check(xml: bytes, name: str = "luoc-do") -> Check:
    try:
        validate_record_xml(xml)
    except RecordError as exc:
        return Check(name, "failed", exc.message, "FORMAT_FAILURE")
    except Exception as exc:  # lxml on hostile input (entities, DTD): still a verdict
        message = f"Tệp XML không kiểm tra được theo lược đồ ({type(exc).__name__})."
        return Check(name, "failed", message, "FORMAT_FAILURE")
    return Check(name, "passed", "Tệp XML đúng lược đồ hocba-1.0.xsd.")


def _record_id(xml: bytes) -> str | None:
    try:
        data = parse_record(xml).find(DATA_TAG)
    except RecordError:
        return None
    el = data.find(f"{{{NS}}}madinhdanhhocba") if data is not None else None
    return "".join(el.itertext()).strip() if el is not None else None


def _store_checks(
    ws: Workspace, record_xml: bytes, file_bytes: bytes, *, is_pdf: bool
) -> tuple[list[Check], dict[str, str | None] | None]:
    """Compare a record file with what the store froze and holds (inside a workspace only).

    ``record_xml`` is the record's XML (for a PDF: the XML it carries); ``file_bytes`` the
    file as given, compared with the current XML or PDF of that record in the store. The
    current PDF must carry the current XML byte for byte (each signing step attaches
    the XML it produced). A revoked record fails, naming the version that replaces it.
    """
    store = Store(ws.store_path)
    if not store.exists():
        return [], None
    ma_hoc_ba = _record_id(record_xml)
    if ma_hoc_ba is None:
        return [Check("kho.ton-tai", "failed", "Tệp không mang mã học bạ để tra trong kho.")], None
    with store.read_only() as con:
        stored = record_on(con, ma_hoc_ba)
        successor = con.execute(
            "SELECT ma_hoc_ba FROM hoc_ba WHERE thay_the = $1 ORDER BY phien_ban DESC LIMIT 1",
            [ma_hoc_ba],
        ).fetchone()
    if stored is None:
        return [Check("kho.ton-tai", "failed", "Kho dữ liệu không có học bạ mang mã này.")], None
    checks = []
    status: dict[str, str | None] = {"status": stored.trang_thai.value, "replaced_by": None}
    if stored.trang_thai == S.REVOKED:
        status["replaced_by"] = successor[0] if successor else None
        instead = f" Bản thay thế: {successor[0]}." if successor else ""
        checks.append(
            Check(
                "kho.trang-thai",
                "failed",
                f"Học bạ này đã bị thu hồi, không còn giá trị.{instead}",
                "REVOKED",
            )
        )
    else:
        checks.append(Check("kho.trang-thai", "passed", "Học bạ chưa bị thu hồi."))
    try:
        same_data = stored.sha256_du_lieu == data_digest(record_xml)
    except RecordError:
        same_data = False
    if same_data:
        checks.append(Check("kho.du-lieu", "passed", "Dữ liệu trùng với dữ liệu đã chốt."))
    else:
        checks.append(
            Check(
                "kho.du-lieu",
                "failed",
                "Dữ liệu KHÁC với dữ liệu đã chốt trong kho: tệp đã bị sửa.",
            )
        )
    file_sha = sha256_hex(file_bytes)
    if file_sha in (stored.xml_sha256, stored.pdf_sha256):
        checks.append(Check("kho.tep", "passed", "Tệp trùng với bản hiện hành trong kho."))
        if is_pdf:
            if sha256_hex(record_xml) == stored.xml_sha256 or _renewed_from(
                ws, stored.xml_path, stored.xml_sha256, record_xml
            ):
                checks.append(
                    Check("kho.xml-dinh-kem", "passed", "PDF mang đúng tệp XML hiện hành.")
                )
            else:
                checks.append(
                    Check(
                        "kho.xml-dinh-kem",
                        "failed",
                        "PDF hiện hành KHÔNG mang đúng tệp XML hiện hành trong kho.",
                    )
                )
    else:
        checks.append(
            Check(
                "kho.tep",
                "could_not_check",
                "Tệp không phải bản hiện hành trong kho (có thể là bản trước khi ký đủ "
                "hoặc trước khi gia hạn lưu trữ).",
            )
        )
    return checks, status


def _renewed_from(
    ws: Workspace, xml_path: str | None, xml_sha: str | None, attached: bytes
) -> bool:
    """The store's current XML is the attached one renewed (archive timestamps added)."""
    if xml_path is None or xml_sha is None:
        return False
    try:
        return is_renewal_of(attached, read_content(ws, xml_path, xml_sha))
    except HocBaSoError:
        return False


def _prefixed(report: VerificationReport, prefix: str) -> VerificationReport:
    checks = tuple(dataclasses.replace(c, name=f"{prefix}:{c.name}") for c in report.checks)
    sigs = tuple(dataclasses.replace(s, prefix=f"{prefix}:{s.prefix}") for s in report.signatures)
    return VerificationReport(report.document, checks, sigs)


async def async_verify_xml(
    xml: bytes, trust: TrustSettings, session: ServiceSession | None = None
) -> VerificationReport:
    """Schema and the strict profile of an issued record XML."""
    report = await _verify_xml_signatures(xml, trust, session=session, long_term=True)
    return VerificationReport("xml", (_schema_check(xml), *report.checks), report.signatures)


async def async_verify_pdf(
    pdf: bytes, trust: TrustSettings, session: ServiceSession | None = None
) -> tuple[VerificationReport, bytes | None]:
    """The strict profile of an issued PDF, and the XML it carries verified as well."""
    try:
        attached: bytes | None = extract_record_xml(pdf)
        failed = None
    except Exception as exc:  # a verdict for every input
        attached = None
        message = exc.message if isinstance(exc, HocBaSoError) else "PDF không mang tệp hocba.xml."
        failed = Check("pdf.tep-dinh-kem", "failed", message)
    report = await _verify_pdf_signatures(
        pdf, trust, session=session, long_term=True, attached=attached
    )
    if attached is None or failed is not None:
        checks = (*report.checks, *([failed] if failed else []))
        return VerificationReport("pdf", checks, report.signatures), None
    inner = _prefixed(await async_verify_xml(attached, trust, session), ATTACHED)
    checks = (
        *report.checks,
        Check("pdf.tep-dinh-kem", "passed", "PDF mang tệp XML của học bạ."),
        *inner.checks,
    )
    return VerificationReport("pdf", checks, (*report.signatures, *inner.signatures)), attached


async def async_verify_bytes(
    ws: Workspace | None, trust: TrustSettings, path: Path, data: bytes, session: ServiceSession
) -> FileVerification:
    """One file's verdict (``ws``: the workspace whose store also judges it, if any)."""
    try:
        attached: bytes | None
        if data.lstrip()[:5] == b"%PDF-":
            report, attached = await async_verify_pdf(data, trust, session)
            record_xml = attached
        else:
            report = await async_verify_xml(data, trust, session)
            record_xml = data
        checks = list(report.checks)
        status = None
        if ws is not None and record_xml is not None:
            store_checks, status = _store_checks(
                ws, record_xml, data, is_pdf=record_xml is not data
            )
            checks += store_checks
        return FileVerification(path, tuple(checks), report, status)
    except Exception as exc:  # a verdict for every input, never a traceback
        message = (
            exc.message
            if isinstance(exc, HocBaSoError)
            else f"Tệp không kiểm tra được ({type(exc).__name__}): không phải học bạ hợp lệ."
        )
        return FileVerification(path, (Check("tep.doc", "failed", message, "FORMAT_FAILURE"),))


def verify_files(
    ws: Workspace | None, trust: TrustSettings, files: list[Path]
) -> list[FileVerification]:
    """Verify each XML or PDF file against ``trust``; inside a workspace also the store.

    Each file gets its verdict, whatever the others are (an unreadable one included).
    """

    async def run() -> list[FileVerification]:
        reports = []
        async with ServiceSession(trust=trust) as session:
            for path in files:
                try:
                    data = path.read_bytes()
                except OSError:
                    reports.append(
                        FileVerification(
                            path,
                            (
                                Check(
                                    "tep.doc",
                                    "failed",
                                    f"Không đọc được tệp {path}: kiểm tra lại đường dẫn.",
                                    "FORMAT_FAILURE",
                                ),
                            ),
                        )
                    )
                    continue
                reports.append(await async_verify_bytes(ws, trust, path, data, session))
        return reports

    return asyncio.run(run())


def verdicts_json(reports: list[FileVerification]) -> dict[str, Any]:
    """The machine-readable form: the overall indication, every signature, every file."""
    files = [r.as_dict() for r in reports]
    indication, sub = worst([c for r in reports for c in r.checks])
    signatures = [dict(sig, file=f["file"]) for f in files for sig in f["signatures"]]
    return {
        "indication": indication,
        "sub_indication": sub,
        "signatures": signatures,
        "files": files,
    }


__all__ = [
    "FileVerification",
    "SignatureInfo",
    "async_verify_bytes",
    "async_verify_pdf",
    "async_verify_xml",
    "verdicts_json",
    "verify_files",
]
