"""Signing records: signers, XML and PDF signatures, verification.

The public surface, in the order a batch uses it (the demo PKI that stands in for a
real CA lives in ``hocbaso.demo``; ``hocbaso.resources`` picks it or the school's own)::

    signer = load_signer(spec, workspace)                     # once per run
    async with ServiceSession(tsa_url=..., trust=trust) as session:
        xml = await async_sign_record_xml(xml, signer, "gvcn")
        pdf = await async_sign_record_pdf(pdf, signer, "gvcn", signed_xml=xml,
                                          session=session)   # PDF now carries xml
        ...
    report = verify_record_xml(xml, trust)                    # named checks

or, for a class at once: ``sign_batch(records, signer, role, tsa_url=..., trust=...)``
and ``verify_batch(records, trust)``, one outcome per record.

Order of signatures: ``gvcn`` (homeroom teacher), ``ht`` (principal), ``condau``
(the school's seal, with a timestamp); signing out of order or twice is refused.
"""

from typing import TYPE_CHECKING

from hocbaso.lazy import lazy_exports

if TYPE_CHECKING:
    from hocbaso.signing.batch import (
        SignOutcome,
        VerifyOutcome,
        async_sign_batch,
        sign_batch,
        verify_batch,
    )
    from hocbaso.signing.pdf_signature import (
        FIELD_NAMES,
        PreparedPdf,
        async_finish_record_pdf,
        async_prepare_record_pdf,
        async_sign_record_pdf,
        sign_record_pdf,
        signature_fields,
    )
    from hocbaso.signing.report import Check, CheckStatus, VerificationReport
    from hocbaso.signing.roles import ROLE_NAMES, ROLES, SEAL, Role
    from hocbaso.signing.signers import (
        RecordSigner,
        load_signer,
        signer_from_pkcs11,
        signer_from_pkcs12,
    )
    from hocbaso.signing.trust import ServiceSession, TrustSettings
    from hocbaso.signing.verify import (
        async_verify_record_pdf,
        async_verify_record_xml,
        verify_record_pdf,
        verify_record_xml,
    )
    from hocbaso.signing.xml_signature import (
        PreparedXml,
        async_finish_record_xml,
        async_sign_record_xml,
        prepare_record_xml,
        sign_record_xml,
        signature_id,
    )

# Each public name and the submodule it comes from: imported when first used.
_EXPORTS = {
    "SignOutcome": "batch",
    "VerifyOutcome": "batch",
    "async_sign_batch": "batch",
    "sign_batch": "batch",
    "verify_batch": "batch",
    "FIELD_NAMES": "pdf_signature",
    "PreparedPdf": "pdf_signature",
    "async_finish_record_pdf": "pdf_signature",
    "async_prepare_record_pdf": "pdf_signature",
    "async_sign_record_pdf": "pdf_signature",
    "sign_record_pdf": "pdf_signature",
    "signature_fields": "pdf_signature",
    "Check": "report",
    "CheckStatus": "report",
    "VerificationReport": "report",
    "ROLE_NAMES": "roles",
    "ROLES": "roles",
    "SEAL": "roles",
    "Role": "roles",
    "RecordSigner": "signers",
    "load_signer": "signers",
    "signer_from_pkcs11": "signers",
    "signer_from_pkcs12": "signers",
    "ServiceSession": "trust",
    "TrustSettings": "trust",
    "async_verify_record_pdf": "verify",
    "async_verify_record_xml": "verify",
    "verify_record_pdf": "verify",
    "verify_record_xml": "verify",
    "PreparedXml": "xml_signature",
    "async_finish_record_xml": "xml_signature",
    "prepare_record_xml": "xml_signature",
    "async_sign_record_xml": "xml_signature",
    "sign_record_xml": "xml_signature",
    "signature_id": "xml_signature",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "FIELD_NAMES",
    "ROLES",
    "ROLE_NAMES",
    "SEAL",
    "Check",
    "CheckStatus",
    "PreparedPdf",
    "PreparedXml",
    "RecordSigner",
    "Role",
    "ServiceSession",
    "SignOutcome",
    "TrustSettings",
    "VerificationReport",
    "VerifyOutcome",
    "async_finish_record_pdf",
    "async_finish_record_xml",
    "async_prepare_record_pdf",
    "async_sign_batch",
    "async_sign_record_pdf",
    "async_sign_record_xml",
    "async_verify_record_pdf",
    "async_verify_record_xml",
    "load_signer",
    "prepare_record_xml",
    "sign_batch",
    "sign_record_pdf",
    "sign_record_xml",
    "signature_fields",
    "signature_id",
    "signer_from_pkcs11",
    "signer_from_pkcs12",
    "verify_batch",
    "verify_record_pdf",
    "verify_record_xml",
]
