"""Sign or verify a class of records in one call: one event loop, one HTTP session.

Why: the unit of work is a class (~35 records), and the per-batch costs (key loading,
HTTP session, CA bundle, revocation data of the seal's chain) must be paid once, not
per record. Records are independent, so one bad record does not stop the others: each
gets its own outcome. With a remote TSA, several records wait on the network at once
(``max_in_flight``); a token signer is used one signature at a time, as tokens require.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from hocbaso.errors import HocBaSoError
from hocbaso.signing.longterm import extend_pdf_longterm, extend_xml_longterm
from hocbaso.signing.pdf_signature import async_sign_record_pdf
from hocbaso.signing.report import VerificationReport
from hocbaso.signing.roles import Role, check_role
from hocbaso.signing.signers import RecordSigner
from hocbaso.signing.trust import ServiceSession, TrustSettings
from hocbaso.signing.verify import async_verify_record_pdf, async_verify_record_xml
from hocbaso.signing.xml_signature import async_sign_record_xml


@dataclass(frozen=True)
class SignOutcome:
    """One record of a batch: both signed documents, or the error that stopped it."""

    xml: bytes | None
    pdf: bytes | None
    error: HocBaSoError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class VerifyOutcome:
    """The two reports of one record."""

    xml: VerificationReport
    pdf: VerificationReport

    @property
    def ok(self) -> bool:
        return self.xml.bottom_line and self.pdf.bottom_line


async def async_sign_batch(
    records: Sequence[tuple[bytes, bytes]],
    signer: RecordSigner,
    role: Role,
    *,
    session: ServiceSession,
    max_in_flight: int = 4,
) -> list[SignOutcome]:
    """Add ``role``'s signature to the XML and the PDF of every record, in input order;
    each signed PDF carries its record's newly signed XML."""
    role = check_role(role)
    limit = asyncio.Semaphore(1 if signer.source == "pkcs11" else max(1, max_in_flight))

    async def one(xml: bytes, pdf: bytes) -> SignOutcome:
        async with limit:
            try:
                signed_xml = await async_sign_record_xml(
                    xml, signer, role, timestamper=session.timestamper
                )
                if role == "condau":  # as the seal step: XAdES-LTA before the PDF seal
                    signed_xml = await extend_xml_longterm(signed_xml, session)
                signed_pdf = await async_sign_record_pdf(
                    pdf, signer, role, signed_xml=signed_xml, session=session
                )
                if role == "condau":  # then the DSS and a document timestamp (B-LTA)
                    signed_pdf = await extend_pdf_longterm(signed_pdf, session)
            except HocBaSoError as exc:
                return SignOutcome(None, None, exc)
            return SignOutcome(signed_xml, signed_pdf)

    return list(await asyncio.gather(*(one(x, p) for x, p in records)))


def sign_batch(
    records: Sequence[tuple[bytes, bytes]],
    signer: RecordSigner,
    role: Role,
    *,
    tsa_url: str | None = None,
    trust: TrustSettings | None = None,
    max_in_flight: int = 4,
) -> list[SignOutcome]:
    """Synchronous ``async_sign_batch`` with its own session (the seal needs both
    ``tsa_url`` and ``trust``)."""

    async def run() -> list[SignOutcome]:
        async with ServiceSession(tsa_url=tsa_url, trust=trust) as session:
            return await async_sign_batch(
                records, signer, role, session=session, max_in_flight=max_in_flight
            )

    return asyncio.run(run())


def verify_batch(
    records: Sequence[tuple[bytes, bytes]],
    trust: TrustSettings,
    *,
    expect: Sequence[Role] = ("gvcn", "ht", "condau"),
) -> list[VerifyOutcome]:
    """Verify the XML and the PDF of every record with one shared session."""

    async def run() -> list[VerifyOutcome]:
        async with ServiceSession(trust=trust) as session:
            outcomes = []
            for xml, pdf in records:
                xml_report = await async_verify_record_xml(
                    xml, trust, expect=expect, session=session
                )
                pdf_report = await async_verify_record_pdf(
                    pdf, trust, expect=expect, session=session
                )
                outcomes.append(VerifyOutcome(xml_report, pdf_report))
            return outcomes

    return asyncio.run(run())
