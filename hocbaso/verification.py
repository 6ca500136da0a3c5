"""Verifying records: `hbs verify FILE…` and the stand-in registry's checks.

A verification is a list of named checks (passed / failed / could not check),
never a bare boolean: the schema, each XML signature, each PDF signature, the
timestamp, that the PDF carries the record's data, and — inside a workspace —
that the file is the one the store froze.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hocbaso import keys
from hocbaso.config import Workspace
from hocbaso.errors import HocBaSoError, RecordError
from hocbaso.files import sha256_hex
from hocbaso.record import data_digest, parse_record_xml, validate_record_xml
from hocbaso.registry.results import Refusal
from hocbaso.render import extract_record_xml
from hocbaso.signing import Check, TrustSettings, VerificationReport
from hocbaso.signing import verify_record_pdf as _verify_pdf_signatures
from hocbaso.signing import verify_record_xml as _verify_xml_signatures
from hocbaso.store import Store


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


def _store_checks(ws: Workspace, xml: bytes) -> list[Check]:
    """Compare the record with what the store froze (only inside a workspace with a store)."""
    store = Store(ws.store_path)
    if not store.exists():
        return []
    record = parse_record_xml(xml)
    rows = store.frame(
        "SELECT sha256_du_lieu, sha256, trang_thai FROM hoc_ba WHERE ma_hoc_ba = $1",
        [record.madinhdanhhocba],
    ).to_dicts()
    if not rows:
        return [Check("kho.ton-tai", "failed", "Kho dữ liệu không có học bạ mang mã này.")]
    row = rows[0]
    checks = []
    if row["sha256_du_lieu"] == data_digest(xml):
        checks.append(Check("kho.du-lieu", "passed", "Dữ liệu trùng với dữ liệu đã chốt."))
    else:
        checks.append(
            Check(
                "kho.du-lieu",
                "failed",
                "Dữ liệu KHÁC với dữ liệu đã chốt trong kho: tệp đã bị sửa.",
            )
        )
    if row["sha256"] == sha256_hex(xml):
        checks.append(Check("kho.tep", "passed", "Tệp trùng với bản hiện hành trong kho."))
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


def verify_files(ws: Workspace, files: list[Path]) -> list[FileVerification]:
    """Verify each XML or PDF file; inside a workspace also against the store."""
    config = ws.load_config()
    trust = TrustSettings.from_files(keys.trust_roots(ws, config))
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
                checks += _store_checks(ws, attached)
        else:
            checks = verify_xml(data, trust)
            if checks[0].status == "passed":
                checks += _store_checks(ws, data)
        reports.append(FileVerification(path, tuple(checks)))
    return reports


def registry_verifier(trust: TrustSettings) -> Callable[[bytes, bytes], list[Refusal]]:
    """What the stand-in registry checks beyond its own (XSD, signatures, timestamp)."""

    def verify(xml: bytes, pdf: bytes) -> list[Refusal]:
        try:
            validate_record_xml(xml)
        except RecordError as exc:
            return [Refusal("XSD", exc.message)]
        refusals = []
        try:
            reports: list[VerificationReport] = [
                _verify_xml_signatures(xml, trust),
                _verify_pdf_signatures(pdf, trust),
            ]
        except HocBaSoError as exc:
            return [Refusal("SIGNATURE", exc.message)]
        for report in reports:
            for check in report.checks:
                if check.status == "passed":
                    continue
                code = "TIMESTAMP" if check.name.endswith("dau-thoi-gian") else "SIGNATURE"
                refusals.append(Refusal(code, f"{check.name}: {check.message}"))
        if data_digest(extract_record_xml(pdf)) != data_digest(xml):
            refusals.append(Refusal("MISMATCH", "Dữ liệu trong PDF khác dữ liệu của tệp XML."))
        return refusals

    return verify
