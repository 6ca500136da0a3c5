"""Verifying records: `hbs verify FILE…` and the stand-in registry's checks.

A verification is a list of named checks (passed / failed / could not check),
never a bare boolean: the schema, each XML signature, each PDF signature, the
timestamp, that the PDF carries the record's XML (the registry: exactly the XML
submitted with it), and — inside a workspace — that the file is the one the store
froze and holds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509

from hocbaso import keys
from hocbaso.config import Workspace
from hocbaso.errors import HocBaSoError, RecordError
from hocbaso.files import sha256_hex
from hocbaso.record import data_digest, parse_record_xml, validate_record_xml
from hocbaso.registry.results import Refusal
from hocbaso.render import extract_record_xml
from hocbaso.signing import Check, ServiceSession, TrustSettings, VerificationReport
from hocbaso.signing import async_verify_record_pdf as _async_verify_pdf
from hocbaso.signing import async_verify_record_xml as _async_verify_xml
from hocbaso.signing import verify_record_pdf as _verify_pdf_signatures
from hocbaso.signing import verify_record_xml as _verify_xml_signatures
from hocbaso.signing.trust import RevocationMode, revocation_data_expiry
from hocbaso.signing.verify import CertificateVerdicts
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
                checks += _store_checks(ws, attached, data, is_pdf=True)
        else:
            checks = verify_xml(data, trust)
            if checks[0].status == "passed":
                checks += _store_checks(ws, data, data, is_pdf=False)
        reports.append(FileVerification(path, tuple(checks)))
    return reports


REGISTRY_KEEP_S = 300.0
"""How long the registry's verifier keeps revocation answers at most (they are also
dropped once the earliest ``nextUpdate`` among them has passed)."""


def _refusals(reports: list[VerificationReport]) -> list[Refusal]:
    refusals = []
    for report in reports:
        for check in report.checks:
            if check.status == "passed":
                continue
            code = "TIMESTAMP" if check.name.endswith("dau-thoi-gian") else "SIGNATURE"
            refusals.append(Refusal(code, f"{check.name}: {check.message}"))
    return refusals


def _mismatch(xml: bytes, pdf: bytes) -> list[Refusal]:
    """The PDF must carry exactly the submitted XML (the sealed PDF attaches the sealed XML)."""
    try:
        same = extract_record_xml(pdf) == xml
    except RecordError:
        same = False
    if same:
        return []
    return [Refusal("MISMATCH", "Tệp XML đính kèm trong PDF không trùng từng byte với tệp XML.")]


class RegistryVerifier:
    """What the stand-in registry checks beyond its own: XSD, the six signatures, the
    timestamp, and that the PDF carries exactly the XML.

    Why a class: most of a record's verification is certificate and revocation work
    for the same few dozen signers. Each record is still validated at its own time
    (a fresh validation context), but the HTTP session and the revocation answers
    fetched for earlier records are kept and reused while pyhanko-certvalidator finds
    them current, for at most ``keep_s`` seconds and never past the earliest
    ``nextUpdate`` among them; so are the verdicts on the XML signers' certificates,
    which rest on those answers. A check that could not be made (a responder down)
    drops them all at once, so a failure is not remembered. The price: a revocation
    published while answers are kept is seen up to ``keep_s`` later (as with any OCSP
    cache); a new verifier sees it at once.

    Calls are serialised (the work is CPU-bound; parallelism comes from one verifier
    per process, see ``registry_verifier_factory``). ``close()`` ends the session.
    """

    def __init__(self, trust: TrustSettings, *, keep_s: float = REGISTRY_KEEP_S) -> None:
        self._trust = trust
        self._keep_s = keep_s
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: ServiceSession | None = None
        self._verdicts: CertificateVerdicts = {}  # kept and dropped with the session
        self._until = 0.0  # monotonic deadline of the kept session

    def __call__(self, xml: bytes, pdf: bytes) -> list[Refusal]:
        try:
            validate_record_xml(xml)
        except RecordError as exc:
            return [Refusal("XSD", exc.message)]
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            refusals = self._loop.run_until_complete(self._verify_signatures(xml, pdf))
        return refusals + _mismatch(xml, pdf)

    async def _current_session(self) -> ServiceSession:
        session = self._session
        if session is not None and time.monotonic() < self._until:
            expiry = revocation_data_expiry(session.kept_fetchers())
            if expiry is None or dt.datetime.now(dt.UTC) < expiry:
                return session
        await self._drop_session()
        session = ServiceSession(trust=self._trust)
        await session.__aenter__()
        self._session, self._until = session, time.monotonic() + self._keep_s
        return session

    async def _drop_session(self) -> None:
        session, self._session = self._session, None
        self._verdicts = {}
        if session is not None:
            await session.__aexit__(None, None, None)

    async def _verify_signatures(self, xml: bytes, pdf: bytes) -> list[Refusal]:
        session = await self._current_session()
        context = self._trust.validation_context(fetchers=session.kept_fetchers())
        try:
            reports = [
                await _async_verify_xml(
                    xml, self._trust, session=session, context=context, verdicts=self._verdicts
                ),
                await _async_verify_pdf(pdf, self._trust, session=session, context=context),
            ]
        except HocBaSoError as exc:
            return [Refusal("SIGNATURE", exc.message)]
        if any(report.could_not_check for report in reports):
            await self._drop_session()
        return _refusals(reports)

    def close(self) -> None:
        """End the HTTP session and the event loop (the verifier can be used again)."""
        with self._lock:
            loop, self._loop = self._loop, None
            if loop is not None:
                loop.run_until_complete(self._drop_session())
                loop.close()


def registry_verifier(trust: TrustSettings, *, keep_s: float = REGISTRY_KEEP_S) -> RegistryVerifier:
    """What the stand-in registry checks beyond its own (XSD, signatures, timestamp)."""
    return RegistryVerifier(trust, keep_s=keep_s)


def _verifier_from_der(
    roots: tuple[bytes, ...],
    revocation: RevocationMode,
    allow_fetching: bool,
    moment: dt.datetime | None,
    keep_s: float,
) -> RegistryVerifier:
    certificates = tuple(asn1_x509.Certificate.load(der) for der in roots)
    trust = TrustSettings(certificates, revocation, allow_fetching, moment)
    return RegistryVerifier(trust, keep_s=keep_s)


def registry_verifier_factory(
    trust: TrustSettings, *, keep_s: float = REGISTRY_KEEP_S
) -> Callable[[], RegistryVerifier]:
    """A picklable recipe for ``registry_verifier(trust)``: each worker process of the
    stand-in builds its own verifier (and keeps its own revocation answers) from it."""
    roots = tuple(cert.dump() for cert in trust.roots)
    return functools.partial(
        _verifier_from_der, roots, trust.revocation, trust.allow_fetching, trust.moment, keep_s
    )
