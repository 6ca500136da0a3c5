"""Verify the signatures of a record, XML or PDF, into a report of named checks.

For each expected signature: it is present and in order; it is cryptographically
intact over exactly the expected references (XML: the data and the earlier
signatures; PDF: its revision, with only signatures, validation data and the attached XML
growing by appended signatures after it, see ``hocbaso.signing.attachment``);
its certificate chains to a trusted root and is not revoked; and the seal's
timestamp is valid and covers the seal. signxml checks XML signatures, pyHanko and
pyhanko-certvalidator check PDF signatures, certificates and timestamp tokens.

Why the XML copy trick: signxml verifies the first ``ds:Signature`` under the
expected location. To verify signature N, a copy of the document is made in which
that signature is moved to the front of ``chuky``; the elements that signatures
reference are looked up by Id anywhere and canonicalised on their own, so sibling
order does not change what is verified.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import hashlib
from collections.abc import Sequence
from io import BytesIO
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from lxml import etree
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from signxml.exceptions import SignXMLException
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from hocbaso.errors import RecordError
from hocbaso.signing.attachment import RECORD_DIFF_POLICY
from hocbaso.signing.pdf_signature import FIELD_NAMES
from hocbaso.signing.report import Check, CheckStatus, VerificationReport
from hocbaso.signing.roles import ROLE_NAMES, ROLES, Role
from hocbaso.signing.trust import ServiceSession, TrustSettings
from hocbaso.signing.xml_signature import (
    CHUKY_TAG,
    DATA_ID,
    DATA_TAG,
    DS,
    NS,
    SIGNATURE_TAG,
    XADES,
    expected_references,
    parse_record,
    signature_id,
)


def _passed(name: str, message: str) -> Check:
    return Check(name, "passed", message)


def _failed(name: str, message: str) -> Check:
    return Check(name, "failed", message)


CertificateVerdicts = dict[bytes, tuple[CheckStatus, str, dt.datetime, dt.datetime]]
"""Verdicts on signers' certificates, reused by a verifier of many records for as long as
it keeps the revocation answers they were based on (see ``async_verify_record_xml``)."""


async def _check_certificate(
    name: str,
    cert: asn1_x509.Certificate,
    others: Sequence[asn1_x509.Certificate],
    context: ValidationContext,
    verdicts: CertificateVerdicts | None = None,
) -> Check:
    """Path to a trusted root, validity and revocation of a signer's certificate.

    A verdict in ``verdicts`` for the same certificates is reused while the validation
    time lies inside every certificate's validity period; "could not check" is never
    kept.
    """
    if verdicts is None:
        return await _validate_certificate(name, cert, others, context)
    chain = (cert, *others)
    key = b"".join(hashlib.sha256(c.dump()).digest() for c in chain)
    known = verdicts.get(key)
    if known is not None and known[2] <= context.moment <= known[3]:
        # What validating would have left in the context: the chain the signature
        # carried, which the timestamp validated next may need for its own path.
        for intermediate in others:
            context.certificate_registry.register(intermediate)
        return Check(name, known[0], known[1])
    check = await _validate_certificate(name, cert, others, context)
    if check.status != "could_not_check":
        validity = [c["tbs_certificate"]["validity"] for c in chain]
        start = max(v["not_before"].native for v in validity)
        end = min(v["not_after"].native for v in validity)
        verdicts[key] = (check.status, check.message, start, end)
    return check


async def _validate_certificate(
    name: str,
    cert: asn1_x509.Certificate,
    others: Sequence[asn1_x509.Certificate],
    context: ValidationContext,
) -> Check:
    validator = CertificateValidator(
        cert, intermediate_certs=list(others), validation_context=context
    )
    who = cert.subject.native.get("common_name", "")
    try:
        await validator.async_validate_usage({"non_repudiation"})
    except cv_errors.RevokedError:
        return _failed(name, f"Chứng thư của '{who}' đã bị thu hồi.")
    except cv_errors.InsufficientRevinfoError:
        return Check(
            name,
            "could_not_check",
            f"Không lấy được thông tin thu hồi (OCSP/CRL) cho chứng thư của '{who}'; "
            "kiểm tra kết nối mạng rồi kiểm tra lại.",
        )
    except (cv_errors.ExpiredError, cv_errors.NotYetValidError):
        return _failed(name, f"Chứng thư của '{who}' không còn hoặc chưa có hiệu lực.")
    except cv_errors.PathBuildingError:
        return _failed(name, f"Chứng thư của '{who}' không dẫn về một CA gốc tin cậy.")
    except (cv_errors.PathValidationError, cv_errors.InvalidCertificateError) as exc:
        return _failed(name, f"Chứng thư của '{who}' không hợp lệ ({type(exc).__name__}).")
    return _passed(name, f"Chứng thư của '{who}' hợp lệ, dẫn về CA gốc tin cậy, chưa bị thu hồi.")


# --------------------------------------------------------------------------- XML


def _xml_certificates(signature: Any) -> list[asn1_x509.Certificate]:
    found = signature.findall(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    return [asn1_x509.Certificate.load(base64.b64decode("".join(el.text.split()))) for el in found]


def _verify_xml_signature(root: Any, role: Role, cert: asn1_x509.Certificate) -> Check:
    name = f"{signature_id(role)}.chu-ky"
    doc = copy.deepcopy(root)
    chuky = doc.find(CHUKY_TAG)
    target = chuky.find(f"{SIGNATURE_TAG}[@Id='{signature_id(role)}']")
    chuky.remove(target)
    chuky.insert(0, target)
    wanted = expected_references(role)
    config = XAdESSignatureConfiguration(
        location=f"./{{{NS}}}chuky/", expect_references=len(wanted) + 2
    )
    try:
        XAdESVerifier().verify(
            doc, x509_cert=x509.load_der_x509_certificate(cert.dump()), expect_config=config
        )
    except (SignXMLException, ValueError) as exc:
        # The library's English detail stays out of the Vietnamese sentence; its class
        # name is enough for whoever investigates.
        return _failed(
            name,
            f"Chữ ký {ROLE_NAMES[role]} không khớp với dữ liệu hoặc bị sửa ({type(exc).__name__}).",
        )
    # References into the signature itself (XAdES SignedProperties, KeyInfo) are
    # signxml's business; the record references must be exactly the expected ones.
    own_ids = {f"#{el.get('Id')}" for el in target.iter() if el.get("Id")}
    uris = [
        ref.get("URI")
        for ref in target.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
        if ref.get("URI") not in own_ids
    ]
    if uris != wanted:
        return _failed(
            name,
            f"Chữ ký {ROLE_NAMES[role]} tham chiếu {uris}, trong khi cần đúng {wanted}.",
        )
    return _passed(name, f"Chữ ký {ROLE_NAMES[role]} toàn vẹn trên {', '.join(wanted)}.")


async def _verify_xml_timestamp(signature: Any, context: ValidationContext) -> Check:
    name = f"{signature_id('condau')}.dau-thoi-gian"
    token_el = signature.find(
        f"{{{DS}}}Object/{{{XADES}}}QualifyingProperties/{{{XADES}}}UnsignedProperties/"
        f"{{{XADES}}}UnsignedSignatureProperties/{{{XADES}}}SignatureTimeStamp/"
        f"{{{XADES}}}EncapsulatedTimeStamp"
    )
    if token_el is None or not (token_el.text or "").strip():
        return _failed(name, "Chữ ký đóng dấu không có dấu thời gian (SignatureTimeStamp).")
    try:
        token = cms.ContentInfo.load(base64.b64decode("".join(token_el.text.split())))
        signed_data = token["content"]
        canonical = etree.tostring(signature.find(f"{{{DS}}}SignatureValue"), method="c14n")
        status = await validate_tst_signed_data(
            signed_data, context, lambda algo: hashlib.new(algo, canonical).digest()
        )
    except (ValueError, KeyError, SignatureValidationError) as exc:
        return _failed(
            name, f"Dấu thời gian của chữ ký đóng dấu không đọc được ({type(exc).__name__})."
        )
    when = status["timestamp"].isoformat(timespec="seconds")
    if not (status["intact"] and status["valid"]):
        return _failed(name, "Dấu thời gian không khớp với chữ ký đóng dấu.")
    if status.get("trust_problem_indic") is not None or status.get("validation_path") is None:
        return _failed(name, f"Dấu thời gian lúc {when} do một TSA không tin cậy cấp.")
    return _passed(name, f"Dấu thời gian lúc {when} hợp lệ, do TSA tin cậy cấp.")


async def async_verify_record_xml(
    xml: bytes,
    trust: TrustSettings,
    *,
    expect: Sequence[Role] = ROLES,
    session: ServiceSession | None = None,
    context: ValidationContext | None = None,
    verdicts: CertificateVerdicts | None = None,
) -> VerificationReport:
    """Check the XML record's signatures (``expect``: roles that must be there, in order).

    Certificates and the timestamp are validated in ``context`` when given, else in the
    session's context (one per batch), else in a fresh one. ``verdicts``: certificate
    verdicts kept by a caller that also keeps the revocation answers they were based on
    (the registry's verifier: the same fetchers for every record's context, both dropped
    together); within that time, validating the same certificates again would use the
    same answers and reach the same verdict.
    """
    root = parse_record(xml)
    chuky = root.find(CHUKY_TAG)
    data = root.xpath("//*[@Id=$id]", id=DATA_ID)
    if (
        chuky is None
        or len(data) != 1
        or data[0].tag != DATA_TAG
        or data[0].getparent() is not root
    ):
        raise RecordError(
            "Tệp XML không đúng cấu trúc học bạ (phần dữ liệu hoặc phần chữ ký).",
            hint="Lấy lại bản học bạ từ kho dữ liệu; tệp có thể đã bị sửa.",
        )
    if context is None:
        context = (
            session.validation_context() if session is not None else trust.validation_context()
        )
    present = [el.get("Id") for el in chuky if el.tag == SIGNATURE_TAG]
    wanted = [signature_id(r) for r in expect]
    checks = []
    if present == wanted:
        checks.append(_passed("chuky.thu-tu", f"Có đủ {len(wanted)} chữ ký theo đúng thứ tự."))
    else:
        checks.append(_failed("chuky.thu-tu", f"Các chữ ký có mặt {present}, cần {wanted}."))
    for role in expect:
        sid = signature_id(role)
        signature = chuky.find(f"{SIGNATURE_TAG}[@Id='{sid}']")
        if signature is None:
            checks.append(_failed(f"{sid}.co-mat", f"Thiếu chữ ký {ROLE_NAMES[role]}."))
            continue
        certs = _xml_certificates(signature)
        if not certs:
            checks.append(_failed(f"{sid}.chu-ky", "Chữ ký không kèm chứng thư của người ký."))
            continue
        checks.append(_verify_xml_signature(root, role, certs[0]))
        checks.append(
            await _check_certificate(f"{sid}.chung-thu", certs[0], certs[1:], context, verdicts)
        )
        if role == "condau":
            checks.append(await _verify_xml_timestamp(signature, context))
    return VerificationReport("xml", tuple(checks))


# --------------------------------------------------------------------------- PDF

_ALLOWED_AFTER = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
)


async def async_verify_record_pdf(
    pdf: bytes,
    trust: TrustSettings,
    *,
    expect: Sequence[Role] = ROLES,
    session: ServiceSession | None = None,
    context: ValidationContext | None = None,
) -> VerificationReport:
    """Check the PAdES signatures of the printable copy against ``trust``.

    Revocation data stored in the PDF (the seal's B-LT data) is used first; other
    signatures need the network when ``trust.allow_fetching``. With a ``context``
    from the caller (the registry's: current revocation answers, fetched online and
    shared across records) every signature is validated in it instead, and the data
    stored in the PDF is not read.
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_regular_signatures)
    except (PdfError, ValueError, KeyError) as exc:
        raise RecordError(
            "Tệp PDF của học bạ không đọc được.",
            hint="Lấy lại bản PDF từ kho dữ liệu; tệp có thể đã bị sửa hoặc hỏng.",
        ) from exc
    if context is None:
        options = session.context_options() if session is not None else trust.context_options()
        try:
            context = DocumentSecurityStore.read_dss(reader).as_validation_context(options)
        except NoDSSFoundError:
            context = ValidationContext(**options)
    present = [sig.field_name for sig in signatures]
    wanted = [FIELD_NAMES[r] for r in expect]
    checks = []
    if present == wanted:
        checks.append(_passed("pdf.thu-tu", f"Có đủ {len(wanted)} chữ ký theo đúng thứ tự."))
    else:
        checks.append(_failed("pdf.thu-tu", f"Các chữ ký có mặt {present}, cần {wanted}."))
    by_field = {sig.field_name: sig for sig in signatures}
    for role in expect:
        field = FIELD_NAMES[role]
        sig = by_field.get(field)
        if sig is None:
            checks.append(_failed(f"{field}.co-mat", f"Thiếu chữ ký {ROLE_NAMES[role]}."))
            continue
        checks.extend(await _pdf_signature_checks(sig, role, context))
    return VerificationReport("pdf", tuple(checks))


async def _pdf_signature_checks(sig: Any, role: Role, context: ValidationContext) -> list[Check]:
    field = FIELD_NAMES[role]
    try:
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=context,
            ts_validation_context=context,
            diff_policy=RECORD_DIFF_POLICY,
        )
    except (SignatureValidationError, PdfError, ValueError) as exc:
        return [
            _failed(
                f"{field}.chu-ky",
                f"Chữ ký {ROLE_NAMES[role]} không đọc được ({type(exc).__name__}).",
            )
        ]
    checks = []
    if status.intact and status.valid:
        checks.append(_passed(f"{field}.chu-ky", f"Chữ ký {ROLE_NAMES[role]} toàn vẹn."))
    else:
        checks.append(_failed(f"{field}.chu-ky", f"Chữ ký {ROLE_NAMES[role]} không khớp nội dung."))
    covered = status.coverage in (
        SignatureCoverageLevel.ENTIRE_REVISION,
        SignatureCoverageLevel.ENTIRE_FILE,
    )
    level = status.modification_level
    if covered and level in _ALLOWED_AFTER:
        checks.append(
            _passed(
                f"{field}.pham-vi",
                "Sau chữ ký chỉ có thêm chữ ký, dữ liệu kiểm tra, và tệp XML đính kèm "
                "được thay bằng chính nó cộng thêm các chữ ký sau.",
            )
        )
    else:
        checks.append(
            _failed(
                f"{field}.pham-vi", "Tệp đã bị sửa nội dung sau khi ký (không chỉ thêm chữ ký)."
            )
        )
    who = status.signing_cert.subject.native.get("common_name", "")
    if status.revoked:
        checks.append(_failed(f"{field}.chung-thu", f"Chứng thư của '{who}' đã bị thu hồi."))
    elif status.trusted:
        checks.append(
            _passed(f"{field}.chung-thu", f"Chứng thư của '{who}' hợp lệ, dẫn về CA gốc tin cậy.")
        )
    elif status.trust_problem_indic is not None and "REVOCATION" in str(status.trust_problem_indic):
        checks.append(
            Check(
                f"{field}.chung-thu",
                "could_not_check",
                f"Không lấy được thông tin thu hồi cho chứng thư của '{who}'.",
            )
        )
    else:
        checks.append(
            _failed(
                f"{field}.chung-thu",
                f"Chứng thư của '{who}' không được tin cậy ({status.trust_problem_indic}).",
            )
        )
    if role == "condau":
        checks.append(_pdf_timestamp_check(f"{field}.dau-thoi-gian", status.timestamp_validity))
    return checks


def _pdf_timestamp_check(name: str, ts: Any) -> Check:
    if ts is None:
        return _failed(name, "Chữ ký đóng dấu không có dấu thời gian.")
    if ts.intact and ts.valid and ts.trusted:
        when = ts.timestamp.isoformat(timespec="seconds")
        return _passed(name, f"Dấu thời gian lúc {when} hợp lệ, do TSA tin cậy cấp.")
    return _failed(name, "Dấu thời gian không hợp lệ hoặc do TSA không tin cậy cấp.")


# --------------------------------------------------------------------------- sync forms


def verify_record_xml(
    xml: bytes, trust: TrustSettings, *, expect: Sequence[Role] = ROLES
) -> VerificationReport:
    """Synchronous ``async_verify_record_xml`` with its own HTTP session."""

    async def run() -> VerificationReport:
        async with ServiceSession(trust=trust) as session:
            return await async_verify_record_xml(xml, trust, expect=expect, session=session)

    return asyncio.run(run())


def verify_record_pdf(
    pdf: bytes, trust: TrustSettings, *, expect: Sequence[Role] = ROLES
) -> VerificationReport:
    """Synchronous ``async_verify_record_pdf`` with its own HTTP session."""

    async def run() -> VerificationReport:
        async with ServiceSession(trust=trust) as session:
            return await async_verify_record_pdf(pdf, trust, expect=expect, session=session)

    return asyncio.run(run())
