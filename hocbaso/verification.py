"""Verifying records: `hbs verify FILE…`.

A verification is a list of named checks (passed / failed / could not check),
never a bare boolean: the schema, each XML signature, each PDF signature, the
timestamp, that the PDF carries the record's XML (the registry: exactly the XML
submitted with it), and — inside a workspace — that the file is the one the store
froze and holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hocbaso.config import Workspace
from hocbaso.errors import RecordError
from hocbaso.files import sha256_hex
from hocbaso.record import data_digest, parse_record_xml, validate_record_xml
from hocbaso.render import extract_record_xml
from hocbaso.signing import Check, TrustSettings
from hocbaso.signing import verify_record_pdf as _verify_pdf_signatures
from hocbaso.signing import verify_record_xml as _verify_xml_signatures
from hocbaso.store import Store, record


@dataclass(frozen=True)
class FileVerification:
    """Every check made on one file."""

    path: Path
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status == "passed" for c in self.checks)

    def summary(self) -> str:
        labels = {"passed": "ĐẠT", "failed": "KHÔNG ĐẠT", "could_not_check": "CHƯA KIỂM TRA ĐƯỢC"}
        verdict = "HỢP LỆ" if self.passed else "KHÔNG HỢP LỆ"
        lines = [f"{self.path.name}: {verdict}"]
        lines += [f"  [{labels[c.status]}] {c.name}: {c.message}" for c in self.checks]
        return "\n".join(lines)


def _schema_check(xml: bytes) -> Check:
    try:
        validate_record_xml(xml)
    except RecordError as exc:
        return Check("luoc-do", "failed", exc.message)
    return Check("luoc-do", "passed", "Tệp XML đúng lược đồ hocba-1.0.xsd.")


def _store_checks(
    ws: Workspace, record_xml: bytes, file_bytes: bytes, *, is_pdf: bool
) -> list[Check]:
    """Compare a record file with what the store froze and holds (inside a workspace only).

    ``record_xml`` is the record's XML (for a PDF: the XML it carries); ``file_bytes`` the
    file as given, compared with the current XML or PDF of that record in the store. The
    current PDF must carry the current XML byte for byte (each signing step attaches
    the XML it produced).
    """
    store = Store(ws.store_path)
    if not store.exists():
        return []
    stored = record(store, parse_record_xml(record_xml).madinhdanhhocba)
    if stored is None:
        return [Check("kho.ton-tai", "failed", "Kho dữ liệu không có học bạ mang mã này.")]
    checks = []
    if stored.sha256_du_lieu == data_digest(record_xml):
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
            if sha256_hex(record_xml) == stored.xml_sha256:
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
                "Tệp không phải bản hiện hành trong kho (có thể là bản trước khi ký đủ).",
            )
        )
    return checks


def verify_xml(xml: bytes, trust: TrustSettings) -> list[Check]:
    """Schema and the three XML signatures of a record."""
    checks = [_schema_check(xml)]
    checks += list(_verify_xml_signatures(xml, trust).checks)
    return checks


def verify_pdf(pdf: bytes, trust: TrustSettings) -> tuple[list[Check], bytes | None]:
    """The three PAdES signatures, and the record XML the PDF carries."""
    checks = list(_verify_pdf_signatures(pdf, trust).checks)
    try:
        attached = extract_record_xml(pdf)
    except RecordError as exc:
        return [*checks, Check("pdf.tep-dinh-kem", "failed", exc.message)], None
    checks.append(Check("pdf.tep-dinh-kem", "passed", "PDF mang tệp XML của học bạ."))
    checks.append(_schema_check(attached))
    return checks, attached


def verify_files(ws: Workspace, trust: TrustSettings, files: list[Path]) -> list[FileVerification]:
    """Verify each XML or PDF file against ``trust``; inside a workspace also the store."""
    reports = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RecordError(
                f"Không đọc được tệp {path}.", hint="Kiểm tra lại đường dẫn."
            ) from exc
        if data.startswith(b"%PDF"):
            checks, attached = verify_pdf(data, trust)
            if attached is not None:
                checks += _store_checks(ws, attached, data, is_pdf=True)
        else:
            checks = verify_xml(data, trust)
            if checks[0].status == "passed":
                checks += _store_checks(ws, data, data, is_pdf=False)
        reports.append(FileVerification(path, tuple(checks)))
    return reports
