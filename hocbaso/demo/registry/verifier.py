"""What the stand-in registry checks beyond its own: the XSD, the six signatures, the
timestamp, and that the PDF carries exactly the XML submitted with it.

A real registry makes its own checks; this verifier exists so the demo and the tests
submit to something that refuses what the Ministry would refuse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path

from asn1crypto import x509 as asn1_x509

from hocbaso.errors import HocBaSoError, RecordError
from hocbaso.record import validate_record_xml
from hocbaso.registry.results import Refusal
from hocbaso.render import extract_record_xml
from hocbaso.signing import ServiceSession, TrustSettings, VerificationReport, usage_verdicts
from hocbaso.signing import async_verify_record_pdf as _async_verify_pdf
from hocbaso.signing import async_verify_record_xml as _async_verify_xml
from hocbaso.signing.trust import RevocationMode, revocation_data_expiry
from hocbaso.signing.usage_verdicts import UsageVerdicts, keep_verdicts
from hocbaso.signing.verify import CertificateVerdicts
from hocbaso.verification import FileVerification, async_verify_bytes

# pyHanko's certificate verdicts kept while ``keep_verdicts`` says so (see the module).
usage_verdicts.install()

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


def _attached(pdf: bytes) -> bytes | None:
    """The XML the PDF carries, None when it has none (``extract_record_xml`` refused)."""
    try:
        return extract_record_xml(pdf)
    except RecordError:
        return None


def _mismatch(xml: bytes, attached: bytes | None) -> list[Refusal]:
    """The PDF must carry exactly the submitted XML (the sealed PDF attaches the sealed XML)."""
    if attached == xml:
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
    and pyHanko's successful verdicts on the PDF signers' and TSAs' certificate paths
    (``usage_verdicts``), which rest on those answers. A check that could not be made
    (a responder down) drops them all at once, so a failure is not remembered. The
    price: a revocation published while answers are kept is seen up to ``keep_s``
    later (as with any OCSP cache); a new verifier sees it at once.

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
        self._usage: UsageVerdicts = {}  # likewise
        self._until = 0.0  # monotonic deadline of the kept session

    def __call__(self, xml: bytes, pdf: bytes) -> list[Refusal]:
        try:
            validate_record_xml(xml)
        except RecordError as exc:
            return [Refusal("XSD", exc.message)]
        # Read once: the PDF's signers are judged against it, and it must be the XML.
        attached = _attached(pdf)
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            refusals = self._loop.run_until_complete(self._verify_signatures(xml, pdf, attached))
        return refusals + _mismatch(xml, attached)

    def check_file(self, name: str, data: bytes) -> FileVerification:
        """The public page's verification of one uploaded PDF or XML (strict profile)."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(self._check_file(name, data))

    async def _check_file(self, name: str, data: bytes) -> FileVerification:
        session = await self._current_session()
        return await async_verify_bytes(None, self._trust, Path(name), data, session)

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
        self._verdicts, self._usage = {}, {}
        if session is not None:
            await session.__aexit__(None, None, None)

    async def _verify_signatures(
        self, xml: bytes, pdf: bytes, attached: bytes | None = None
    ) -> list[Refusal]:
        session = await self._current_session()
        context = self._trust.validation_context(fetchers=session.kept_fetchers())
        try:
            with keep_verdicts(context, self._usage):
                reports = [
                    await _async_verify_xml(
                        xml, self._trust, session=session, context=context, verdicts=self._verdicts
                    ),
                    await _async_verify_pdf(
                        pdf, self._trust, session=session, context=context, attached=attached
                    ),
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
