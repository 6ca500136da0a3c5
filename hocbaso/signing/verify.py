"""Verify the signatures of a record, XML or PDF, at the best proof of existence.

For each expected signature: it is present and in order; it is cryptographically
intact over exactly the expected references (XML: the data and the earlier
signatures; PDF: its revision, with only signatures, validation data and the attached XML
growing by appended signatures after it, see ``hocbaso.signing.attachment``); it is
bound to its role (the GVCN's and principal's certificates carry the personal IDs the
record names, the seal is the certificate of the school the record names); its
certificate chains to a trusted root and was not revoked *when the signature is proven
to have existed*; and every timestamp is intact and from a trusted TSA.

Validation at the best proof of existence (ETSI EN 319 102-1, past signature
validation, in the simple form this project needs): the seal's signature timestamp
proves that the seal, and with it the GVCN and HT signatures it covers, existed at its
time; so every signer's certificate is validated at that moment with the revocation
data the file carries (``retroactive_revinfo``: an answer produced after the signature
counts, and "revoked since" before the moment still fails). Each timestamp's own TSA
certificate is validated at its time; the newest timestamp (the PDF's last document
timestamp, the XML's last archive timestamp) must in addition come from a TSA whose
certificates are still within their validity at the validation time (``--at``), else
the proof of existence runs out: ``INDETERMINATE / OUT_OF_BOUNDS_NO_POE``, renew the
archive timestamp. Without ``allow_fetching`` (``--offline``) only what the file carries
and the trust roots count. See docs/verification.md.

Strict profile of an issued record (``long_term=True``): the XML has no comments,
processing instructions, DTD or entity declarations, unique Ids, nothing in a
signature but what the XAdES profile puts there, and an archive timestamp; the PDF
has after the seal only DSS and document-timestamp revisions (no metadata, field,
annotation, page or attachment change), and at least one document timestamp.

Why the XML copy trick: signxml verifies the first ``ds:Signature`` under the
expected location. To verify signature N, a copy of the document is made in which
that signature is moved to the front of ``chuky``; the elements that signatures
reference are looked up by Id anywhere and canonicalised on their own, so sibling
order does not change what is verified (Ids are unique, see the structure check).
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import functools
import hashlib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from asn1crypto import cms, crl, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from lxml import etree
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DiffResult,
    DSSCompareRule,
    FormUpdatingRule,
    ModificationLevel,
    ObjectStreamRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
    XrefStreamRule,
)
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from signxml.exceptions import InvalidDigest, InvalidSignature
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from hocbaso.errors import RecordError
from hocbaso.signing import name_prep, pdf_hex
from hocbaso.signing.attachment import RECORD_DIFF_POLICY
from hocbaso.signing.identity import certificate_personal_id
from hocbaso.signing.longterm import (
    ARCHIVE_TAG,
    TS_VALIDATION_TAG,
    XADES141,
    archive_c14n,
    decode_b64,
    token_time,
)
from hocbaso.signing.pdf_signature import FIELD_NAMES
from hocbaso.signing.report import Check, CheckStatus, SignatureInfo, VerificationReport
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

_TOLERANCE = dt.timedelta(seconds=2)

# Signatures' /Contents read at C speed (identical objects; see the module).
pdf_hex.install()
# Certificate names prepared once per distinct text (identical results; see the module).
name_prep.install()


def _passed(name: str, message: str) -> Check:
    return Check(name, "passed", message)


def _failed(name: str, message: str, sub: str | None = None) -> Check:
    return Check(name, "failed", message, sub)


def _now(trust: TrustSettings) -> dt.datetime:
    return trust.moment or dt.datetime.now(dt.UTC)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%d/%m/%Y %H:%M:%S UTC")


CertificateVerdicts = dict[bytes, tuple[CheckStatus, str, str | None, dt.datetime, dt.datetime]]
"""Verdicts on signers' certificates, reused by a verifier of many records for as long as
it keeps the revocation answers they were based on (see ``async_verify_record_xml``)."""


# --------------------------------------------------------------------------- evidence


@dataclass
class _Evidence:
    """What a file carries for validation (certificates, OCSP, CRLs), and the contexts
    built from it, one per validation moment. ``fixed``: the caller's own context (the
    registry's, online, now), used for every moment instead."""

    trust: TrustSettings
    session: ServiceSession | None
    certs: list[asn1_x509.Certificate] = field(default_factory=list)
    ocsps: list[ocsp.OCSPResponse] = field(default_factory=list)
    crls: list[crl.CertificateList] = field(default_factory=list)
    fixed: ValidationContext | None = None
    _contexts: dict[dt.datetime, ValidationContext] = field(default_factory=dict)
    _registered: int = 0  # how many of ``certs`` (only ever appended to) ``fixed`` has

    def at(self, moment: dt.datetime) -> ValidationContext:
        if self.fixed is not None:
            # What the file carries (intermediates, the TSA's chain) helps build paths.
            # Each certificate once: registering it again is a no-op (the registry keeps
            # the first certificate per issuer and serial), only a costly one.
            for cert in self.certs[self._registered :]:
                self.fixed.certificate_registry.register(cert)
            self._registered = len(self.certs)
            return self.fixed
        known = self._contexts.get(moment)
        if known is None:
            options = (
                self.session.context_options()
                if self.session is not None and self.session.trust is not None
                else self.trust.context_options()
            )
            options.update(
                moment=moment,
                retroactive_revinfo=True,
                time_tolerance=_TOLERANCE,
                other_certs=list(self.certs),
                ocsps=list(self.ocsps),
                crls=list(self.crls),
            )
            known = self._contexts[moment] = ValidationContext(**options)
        return known


# --------------------------------------------------------------------------- certificates

_SUB_BY_ERROR: list[tuple[type[Exception], str]] = [
    (cv_errors.RevokedError, "REVOKED"),
    (cv_errors.InsufficientRevinfoError, "TRY_LATER"),
    (cv_errors.ExpiredError, "OUT_OF_BOUNDS_NO_POE"),
    (cv_errors.NotYetValidError, "NOT_YET_VALID"),
    (cv_errors.PathBuildingError, "NO_CERTIFICATE_CHAIN_FOUND"),
]


async def _check_certificate(
    name: str,
    cert: asn1_x509.Certificate,
    others: Sequence[asn1_x509.Certificate],
    context: ValidationContext,
    verdicts: CertificateVerdicts | None = None,
) -> Check:
    """Path to a trusted root, validity and revocation of a signer's certificate at the
    context's moment.

    A verdict in ``verdicts`` for the same certificates is reused while the validation
    time lies inside every certificate's validity period; "could not check" is never
    kept.
    """
    if verdicts is None:
        return await _validate_certificate(name, cert, others, context)
    chain = (cert, *others)
    key = b"".join(hashlib.sha256(c.dump()).digest() for c in chain)
    known = verdicts.get(key)
    if known is not None and known[3] <= context.moment <= known[4]:
        # What validating would have left in the context: the chain the signature
        # carried, which the timestamp validated next may need for its own path.
        for intermediate in others:
            context.certificate_registry.register(intermediate)
        return Check(name, known[0], known[1], known[2])
    check = await _validate_certificate(name, cert, others, context)
    if check.status != "could_not_check":
        validity = [c["tbs_certificate"]["validity"] for c in chain]
        start = max(v["not_before"].native for v in validity)
        end = min(v["not_after"].native for v in validity)
        verdicts[key] = (check.status, check.message, check.sub_indication, start, end)
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
    moment = _when(context.moment) if context.moment is not None else "hiện tại"
    try:
        await validator.async_validate_usage({"non_repudiation"})
    except cv_errors.RevokedError:
        return _failed(
            name, f"Chứng thư của '{who}' đã bị thu hồi trước thời điểm ký ({moment}).", "REVOKED"
        )
    except cv_errors.InsufficientRevinfoError:
        return Check(
            name,
            "could_not_check",
            f"Không có thông tin thu hồi (OCSP/CRL) cho chứng thư của '{who}' tại {moment}; "
            "kiểm tra trực tuyến (bỏ --offline) hoặc kiểm tra lại sau.",
            "TRY_LATER",
        )
    except cv_errors.ExpiredError:
        return _failed(
            name,
            f"Chứng thư của '{who}' đã hết hạn tại {moment} và không có bằng chứng "
            "thời điểm ký sớm hơn.",
            "OUT_OF_BOUNDS_NO_POE",
        )
    except cv_errors.NotYetValidError:
        return _failed(
            name, f"Chứng thư của '{who}' chưa có hiệu lực tại {moment}.", "NOT_YET_VALID"
        )
    except cv_errors.PathBuildingError:
        return _failed(
            name,
            f"Chứng thư của '{who}' không dẫn về một CA gốc tin cậy.",
            "NO_CERTIFICATE_CHAIN_FOUND",
        )
    except (cv_errors.PathValidationError, cv_errors.InvalidCertificateError) as exc:
        if "signature" in str(exc).lower():
            # A chain by names only: some certificate's signature does not verify under
            # its named issuer (a home-made CA reusing the trusted CA's name).
            return _failed(
                name,
                f"Chứng thư của '{who}' không dẫn về CA gốc tin cậy: chữ ký trong chuỗi "
                "chứng thư không khớp (có thể là CA giả mạo trùng tên).",
                "NO_CERTIFICATE_CHAIN_FOUND",
            )
        return _failed(
            name,
            f"Chứng thư của '{who}' không hợp lệ ({type(exc).__name__}).",
            "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        )
    return _passed(
        name,
        f"Chứng thư của '{who}' hợp lệ tại {moment}, dẫn về CA gốc tin cậy, chưa bị thu hồi.",
    )


def _not_yet(name: str, sealed: dt.datetime, at: dt.datetime) -> Check:
    """Validating as of a time before the seal's timestamp: the record did not exist yet."""
    return _failed(
        name,
        f"Học bạ được đóng dấu lúc {_when(sealed)}, sau thời điểm kiểm tra {_when(at)}: "
        "khi đó học bạ chưa tồn tại.",
        "NO_POE",
    )


def _expiry_check(name: str, path: Any, at: dt.datetime) -> Check:
    """The newest timestamp's TSA chain must still be valid at ``at`` (its PoE runs out)."""
    certs = list(path) if path is not None else []
    if not certs:
        return _failed(
            name, "Không xác định được chuỗi chứng thư của TSA.", "NO_CERTIFICATE_CHAIN_FOUND"
        )
    ends = [c["tbs_certificate"]["validity"]["not_after"].native for c in certs[1:]] or [
        certs[0]["tbs_certificate"]["validity"]["not_after"].native
    ]
    end = min(ends)
    if end + _TOLERANCE < at:
        return _failed(
            name,
            f"Chứng thư của TSA cấp dấu thời gian mới nhất hết hạn ngày {_when(end)}, trước "
            f"thời điểm kiểm tra {_when(at)}: cần gia hạn lưu trữ (dấu thời gian mới).",
            "OUT_OF_BOUNDS_NO_POE",
        )
    return _passed(
        name, f"Dấu thời gian mới nhất còn hiệu lực đến {_when(end)} (kiểm tra tại {_when(at)})."
    )


# --------------------------------------------------------------------------- roles


@dataclass(frozen=True)
class RecordIdentities:
    """Who the record names as its signers: the GVCN's and principal's personal IDs, the
    school's name (the seal's certificate belongs to the school)."""

    gvcn: str | None
    ht: str | None
    school: str | None


def _norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split()).casefold()


def record_identities(root: Any) -> RecordIdentities:
    """The identities the data element of a parsed record names."""
    data = root.find(DATA_TAG)

    def text(name: str) -> str | None:
        el = data.find(f"{{{NS}}}{name}") if data is not None else None
        return "".join(el.itertext()).strip() if el is not None else None

    return RecordIdentities(text("soddcngvcn"), text("soddcngiamhieu"), text("tentruong"))


def _role_check(name: str, role: Role, cert: asn1_x509.Certificate, ids: RecordIdentities) -> Check:
    who = cert.subject.native.get("common_name", "")
    personal = certificate_personal_id(cert)
    if role in ("gvcn", "ht"):
        wanted = ids.gvcn if role == "gvcn" else ids.ht
        field = "soddcngvcn" if role == "gvcn" else "soddcngiamhieu"
        if not wanted:
            return _failed(
                name,
                f"Học bạ không ghi số định danh ({field}) để đối chiếu người ký.",
                "SIG_CONSTRAINTS_FAILURE",
            )
        if personal != wanted:
            return _failed(
                name,
                f"Chứng thư của '{who}' không mang số định danh {ROLE_NAMES[role]} mà học bạ "
                f"ghi ({field}): người ký không phải {ROLE_NAMES[role]} của học bạ này.",
                "SIG_CONSTRAINTS_FAILURE",
            )
        return _passed(name, f"Người ký là {ROLE_NAMES[role]} mà học bạ ghi ({field}).")
    organisation = cert.subject.native.get("organization_name", "")
    if (
        personal is not None
        or not ids.school
        or _norm(organisation) != _norm(ids.school)
        or (_norm(who) != _norm(ids.school))
    ):
        return _failed(
            name,
            f"Chứng thư đóng dấu '{who}' không phải chứng thư tổ chức của trường mà học bạ "
            "ghi (tentruong).",
            "SIG_CONSTRAINTS_FAILURE",
        )
    return _passed(name, "Con dấu là chứng thư tổ chức của trường mà học bạ ghi.")


# --------------------------------------------------------------------------- XML

_D, _X, _X4 = f"{{{DS}}}", f"{{{XADES}}}", f"{{{XADES141}}}"
_VALUES = {f"{_X}CertificateValues", f"{_X}RevocationValues"}
# What each element inside a ds:Signature may contain, as signxml's XAdES and this
# project's long-term data write it; anything else (another ds:Object, a foreign
# "correction", a second SignedInfo) is content nobody signed.
_CHILDREN: dict[str, set[str]] = {
    SIGNATURE_TAG: {f"{_D}SignedInfo", f"{_D}SignatureValue", f"{_D}KeyInfo", f"{_D}Object"},
    f"{_D}SignedInfo": {f"{_D}CanonicalizationMethod", f"{_D}SignatureMethod", f"{_D}Reference"},
    f"{_D}CanonicalizationMethod": set(),
    f"{_D}SignatureMethod": set(),
    f"{_D}Reference": {f"{_D}Transforms", f"{_D}DigestMethod", f"{_D}DigestValue"},
    f"{_D}Transforms": {f"{_D}Transform"},
    f"{_D}Transform": set(),
    f"{_D}DigestMethod": set(),
    f"{_D}DigestValue": set(),
    f"{_D}SignatureValue": set(),
    f"{_D}KeyInfo": {f"{_D}KeyValue", f"{_D}X509Data"},
    f"{_D}KeyValue": {f"{_D}RSAKeyValue", f"{_D}ECKeyValue"},
    f"{_D}RSAKeyValue": {f"{_D}Modulus", f"{_D}Exponent"},
    f"{_D}Modulus": set(),
    f"{_D}Exponent": set(),
    f"{_D}X509Data": {f"{_D}X509Certificate"},
    f"{_D}X509Certificate": set(),
    f"{_D}Object": {f"{_X}QualifyingProperties"},
    f"{_X}QualifyingProperties": {f"{_X}SignedProperties", f"{_X}UnsignedProperties"},
    f"{_X}SignedProperties": {f"{_X}SignedSignatureProperties", f"{_X}SignedDataObjectProperties"},
    f"{_X}SignedSignatureProperties": {
        f"{_X}SigningTime",
        f"{_X}SigningCertificateV2",
        f"{_X}SignerRole",
    },
    f"{_X}SigningTime": set(),
    f"{_X}SigningCertificateV2": {f"{_X}Cert"},
    f"{_X}Cert": {f"{_X}CertDigest"},
    f"{_X}CertDigest": {f"{_D}DigestMethod", f"{_D}DigestValue"},
    f"{_X}SignerRole": {f"{_X}ClaimedRoles"},
    f"{_X}ClaimedRoles": {f"{_X}ClaimedRole"},
    f"{_X}ClaimedRole": set(),
    f"{_X}SignedDataObjectProperties": {f"{_X}DataObjectFormat"},
    f"{_X}DataObjectFormat": {f"{_X}Description", f"{_X}MimeType"},
    f"{_X}Description": set(),
    f"{_X}MimeType": set(),
    f"{_X}UnsignedProperties": {f"{_X}UnsignedSignatureProperties"},
    f"{_X}UnsignedSignatureProperties": {
        f"{_X}SignatureTimeStamp",
        *_VALUES,
        ARCHIVE_TAG,
        TS_VALIDATION_TAG,
    },
    f"{_X}SignatureTimeStamp": {f"{_D}CanonicalizationMethod", f"{_X}EncapsulatedTimeStamp"},
    ARCHIVE_TAG: {f"{_D}CanonicalizationMethod", f"{_X}EncapsulatedTimeStamp"},
    TS_VALIDATION_TAG: _VALUES,
    f"{_X}EncapsulatedTimeStamp": set(),
    f"{_X}CertificateValues": {f"{_X}EncapsulatedX509Certificate"},
    f"{_X}EncapsulatedX509Certificate": set(),
    f"{_X}RevocationValues": {f"{_X}CRLValues", f"{_X}OCSPValues"},
    f"{_X}CRLValues": {f"{_X}EncapsulatedCRLValue"},
    f"{_X}OCSPValues": {f"{_X}EncapsulatedOCSPValue"},
    f"{_X}EncapsulatedCRLValue": set(),
    f"{_X}EncapsulatedOCSPValue": set(),
}
_ONCE = {SIGNATURE_TAG: [f"{_D}SignedInfo", f"{_D}SignatureValue", f"{_D}KeyInfo", f"{_D}Object"]}


def _structure_problem(root: Any) -> str | None:
    """Why the parsed record is not in the strict shape of a signed record, or None."""
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return "Tệp XML có khai báo DOCTYPE/DTD hoặc thực thể (entity)"
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    if outside or any(True for _ in root.iter(etree.Comment, etree.PI, etree.Entity)):
        return "Tệp XML có chú thích (comment), chỉ thị xử lý hoặc tham chiếu thực thể"
    ids = [el.get("Id") for el in root.iter() if el.get("Id") is not None]
    if len(ids) != len(set(ids)):
        return "Tệp XML có hai phần tử cùng Id (kiểu tấn công bọc chữ ký)"
    if [el.tag for el in root] != [DATA_TAG, CHUKY_TAG]:
        return "Phần tử gốc phải chứa đúng phần dữ liệu rồi phần chữ ký"
    for signature in root.find(CHUKY_TAG):
        if signature.tag != SIGNATURE_TAG:
            return "Phần chữ ký chứa phần tử không phải chữ ký"
        children = [el.tag for el in signature]
        if children != _ONCE[SIGNATURE_TAG]:
            return f"Chữ ký {signature.get('Id')} có phần không được ký (ví dụ ds:Object thừa)"
        for el in signature.iter():
            allowed = _CHILDREN.get(el.tag)
            if allowed is None or any(child.tag not in allowed for child in el):
                return (
                    f"Chữ ký {signature.get('Id')} chứa phần tử lạ "
                    f"({etree.QName(el).localname}) không thuộc hồ sơ chữ ký"
                )
    return None


@functools.lru_cache(maxsize=512)
def _certificate(der: bytes) -> asn1_x509.Certificate:
    """A certificate parsed once per distinct DER (per process, bounded).

    Why: a verifier of many records meets the same few dozen certificates in every
    record; asn1crypto parses lazily and keeps what it computed (names, key hashes,
    issuer and serial) on the object, so one object per DER does that work once.
    Parsing is a function of the bytes alone, and nothing in verification changes a
    certificate object.
    """
    return asn1_x509.Certificate.load(der)


def _xml_certificates(signature: Any) -> list[asn1_x509.Certificate]:
    found = signature.findall(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    return [_certificate(decode_b64(el)) for el in found]


def _xml_evidence(root: Any, evidence: _Evidence) -> None:
    """Every certificate, OCSP answer and CRL the record XML carries."""
    for el in root.iter(f"{_D}X509Certificate", f"{_X}EncapsulatedX509Certificate"):
        evidence.certs.append(_certificate(decode_b64(el)))
    for el in root.iter(f"{_X}EncapsulatedOCSPValue"):
        evidence.ocsps.append(ocsp.OCSPResponse.load(decode_b64(el)))
    for el in root.iter(f"{_X}EncapsulatedCRLValue"):
        evidence.crls.append(crl.CertificateList.load(decode_b64(el)))


def _signing_time(signature: Any) -> dt.datetime | None:
    el = signature.find(f".//{_X}SigningTime")
    try:
        return dt.datetime.fromisoformat((el.text or "").strip()) if el is not None else None
    except ValueError:
        return None


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
    except Exception as exc:  # signxml, lxml (DocumentInvalid), cryptography: a verdict
        # The library's English detail stays out of the Vietnamese sentence; its class
        # name is enough for whoever investigates.
        sub = (
            "HASH_FAILURE"
            if isinstance(exc, InvalidDigest)
            else "SIG_CRYPTO_FAILURE"
            if isinstance(exc, InvalidSignature)
            else "FORMAT_FAILURE"
        )
        return _failed(
            name,
            f"Chữ ký {ROLE_NAMES[role]} không khớp với dữ liệu hoặc bị sửa ({type(exc).__name__}).",
            sub,
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
            "FORMAT_FAILURE",
        )
    return _passed(name, f"Chữ ký {ROLE_NAMES[role]} toàn vẹn trên {', '.join(wanted)}.")


async def _verify_token(
    name: str,
    what: str,
    token_el: Any,
    imprint: Callable[[], bytes],
    evidence: _Evidence,
) -> tuple[Check, dt.datetime | None, Any]:
    """An RFC 3161 token (base64 in ``token_el``) over ``imprint()``, validated at its own
    time. Returns the check, the token's time when it passed, and the TSA's path."""
    if token_el is None or not (token_el.text or "").strip():
        return _failed(name, f"{what}: không có dấu thời gian hoặc dấu thời gian rỗng."), None, None
    try:
        token = cms.ContentInfo.load(decode_b64(token_el))
        signed_data = token["content"]
        moment = token_time(signed_data)
        data = imprint()
        status = await validate_tst_signed_data(
            signed_data, evidence.at(moment), lambda algo: hashlib.new(algo, data).digest()
        )
    except Exception as exc:  # any malformed token gets a verdict
        return (
            _failed(name, f"{what}: dấu thời gian không đọc được ({type(exc).__name__})."),
            None,
            None,
        )
    when = _when(status["timestamp"])
    if not status["intact"]:
        return (
            _failed(name, f"{what}: dấu thời gian không khớp dữ liệu.", "HASH_FAILURE"),
            None,
            None,
        )
    if not status["valid"]:
        return _failed(name, f"{what}: chữ ký của TSA sai.", "SIG_CRYPTO_FAILURE"), None, None
    if status.get("trust_problem_indic") is not None or status.get("validation_path") is None:
        return (
            _failed(
                name,
                f"{what}: dấu thời gian lúc {when} do một TSA không tin cậy cấp.",
                "NO_CERTIFICATE_CHAIN_FOUND",
            ),
            None,
            None,
        )
    return (
        _passed(name, f"{what}: dấu thời gian lúc {when} hợp lệ, do TSA tin cậy cấp."),
        status["timestamp"],
        status.get("validation_path"),
    )


def _signature_value_c14n(signature: Any) -> bytes:
    value = signature.find(f"{{{DS}}}SignatureValue")
    if value is None:
        raise ValueError("no SignatureValue")
    data: bytes = etree.tostring(value, method="c14n")
    return data


async def _verify_xml(
    root: Any,
    trust: TrustSettings,
    expect: Sequence[Role],
    evidence: _Evidence,
    verdicts: CertificateVerdicts | None,
    long_term: bool,
) -> VerificationReport:
    at = _now(trust)
    checks: list[Check] = []
    problem = _structure_problem(root)
    if problem is not None:
        checks.append(_failed("xml.cau-truc", f"{problem}: tệp không phải bản đã ký nguyên vẹn."))
    elif long_term:
        checks.append(_passed("xml.cau-truc", "Tệp XML đúng hồ sơ nghiêm ngặt của học bạ đã ký."))
    chuky = root.find(CHUKY_TAG)
    data = root.xpath("//*[@Id=$id]", id=DATA_ID)
    if (
        chuky is None
        or len(data) != 1
        or data[0].tag != DATA_TAG
        or data[0].getparent() is not root
    ):
        checks.append(
            _failed("xml.cau-truc-hoc-ba", "Tệp XML không đúng cấu trúc học bạ (dữ liệu, chữ ký).")
        )
        return VerificationReport("xml", tuple(checks))
    _xml_evidence(root, evidence)
    ids = record_identities(root)
    present = [el.get("Id") for el in chuky if el.tag == SIGNATURE_TAG]
    wanted = [signature_id(r) for r in expect]
    if present == wanted:
        checks.append(_passed("chuky.thu-tu", f"Có đủ {len(wanted)} chữ ký theo đúng thứ tự."))
    else:
        checks.append(_failed("chuky.thu-tu", f"Các chữ ký có mặt {present}, cần {wanted}."))
    by_role: dict[Role, tuple[Any, list[asn1_x509.Certificate]]] = {}
    crypto: dict[Role, Check] = {}
    for role in expect:
        signature = chuky.find(f"{SIGNATURE_TAG}[@Id='{signature_id(role)}']")
        if signature is not None:
            certs = _xml_certificates(signature)
            by_role[role] = (signature, certs)
            if certs:
                crypto[role] = _verify_xml_signature(root, role, certs[0])
    # The seal's timestamps first: they give every signature its proof of existence.
    best = at
    seal_checks: list[Check] = []
    archives: list[tuple[str, Check]] = []
    infos: list[SignatureInfo] = []
    newest_path: Any = None
    newest_name: str | None = None
    seal = by_role.get("condau")
    if seal is not None:
        sid = signature_id("condau")
        ts_el = seal[0].find(
            f"{_D}Object/{_X}QualifyingProperties/{_X}UnsignedProperties/"
            f"{_X}UnsignedSignatureProperties/{_X}SignatureTimeStamp/{_X}EncapsulatedTimeStamp"
        )
        ts_check, ts_time, newest_path = await _verify_token(
            f"{sid}.dau-thoi-gian",
            "Dấu thời gian của chữ ký đóng dấu",
            ts_el,
            lambda: _signature_value_c14n(seal[0]),
            evidence,
        )
        seal_checks.append(ts_check)
        newest_name = f"{sid}.dau-thoi-gian"
        seal_ok = crypto.get("condau") is not None and crypto["condau"].status == "passed"
        if ts_time is not None and ts_time > at + _TOLERANCE:
            seal_checks.append(_not_yet(f"{sid}.thoi-diem", ts_time, at))
        elif ts_time is not None and seal_ok:
            best = ts_time  # a broken seal proves nothing: its own check has failed
        props = seal[0].find(
            f"{_D}Object/{_X}QualifyingProperties/{_X}UnsignedProperties/"
            f"{_X}UnsignedSignatureProperties"
        )
        stamps = [el for el in props if el.tag == ARCHIVE_TAG] if props is not None else []
        for n, stamp in enumerate(stamps, start=1):
            prefix = f"{sid}-luutru-{n}"
            check, moment, path = await _verify_token(
                f"{prefix}.dau-thoi-gian",
                f"Dấu thời gian lưu trữ {n}",
                stamp.find(f"{_X}EncapsulatedTimeStamp"),
                lambda stamp=stamp: archive_c14n(root, stamp),  # type: ignore[misc]
                evidence,
            )
            archives.append((prefix, check))
            infos.append(SignatureInfo(prefix, "luu-tru", "TSA", moment, moment))
            newest_path, newest_name = path, prefix
        if long_term and not stamps:
            archives.append(
                (
                    f"{sid}-luutru",
                    _failed(
                        f"{sid}-luutru.co-mat",
                        "Học bạ XML không có dấu thời gian lưu trữ (XAdES-LTA).",
                    ),
                )
            )
    for role in expect:
        sid = signature_id(role)
        if role not in by_role:
            checks.append(_failed(f"{sid}.co-mat", f"Thiếu chữ ký {ROLE_NAMES[role]}."))
            continue
        signature, certs = by_role[role]
        if not certs:
            checks.append(_failed(f"{sid}.chu-ky", "Chữ ký không kèm chứng thư của người ký."))
            continue
        checks.append(crypto[role])
        checks.append(_role_check(f"{sid}.vai-tro", role, certs[0], ids))
        checks.append(
            await _check_certificate(
                f"{sid}.chung-thu", certs[0], certs[1:], evidence.at(best), verdicts
            )
        )
        if role == "condau":
            checks += seal_checks
        infos.insert(
            len([i for i in infos if i.role != "luu-tru"]),
            SignatureInfo(
                sid,
                role,
                certs[0].subject.native.get("common_name", ""),
                _signing_time(signature),
                best if best != at else None,
            ),
        )
    for _, check in archives:
        checks.append(check)
    if newest_name is not None and (archives or long_term):
        base = (
            newest_name.rsplit(".", 1)[0] if newest_name.endswith(".dau-thoi-gian") else newest_name
        )
        if newest_path is not None:
            checks.append(_expiry_check(f"{base}.hieu-luc", newest_path, at))
    return VerificationReport("xml", tuple(checks), tuple(infos))


def _file_failure(document: str, exc: BaseException) -> VerificationReport:
    kind = "XML" if document == "xml" else "PDF"
    message = (
        exc.message
        if isinstance(exc, RecordError)
        else f"Tệp {kind} hỏng hoặc bị sửa nên không kiểm tra được ({type(exc).__name__})."
    )
    return VerificationReport(
        document,  # type: ignore[arg-type]
        (_failed(f"{document}.doc-tep", message, "FORMAT_FAILURE"),),
    )


async def async_verify_record_xml(
    xml: bytes,
    trust: TrustSettings,
    *,
    expect: Sequence[Role] = ROLES,
    session: ServiceSession | None = None,
    context: ValidationContext | None = None,
    verdicts: CertificateVerdicts | None = None,
    long_term: bool = False,
) -> VerificationReport:
    """Check the XML record's signatures (``expect``: roles that must be there, in order).

    Certificates are validated at the best proof of existence with what the file
    carries (and, with ``trust.allow_fetching``, what the session fetches); ``context``,
    when given (the registry's: current answers, shared across records), is used for
    every moment instead. ``verdicts``: certificate verdicts kept by a caller that also
    keeps the revocation answers they were based on. ``long_term``: the strict profile
    of an issued record (see the module). Never raises for a bad file.
    """
    evidence = _Evidence(trust, session, fixed=context)
    try:
        root = parse_record(xml)
        return await _verify_xml(root, trust, expect, evidence, verdicts, long_term)
    except Exception as exc:  # a verdict for every input
        return _file_failure("xml", exc)


# --------------------------------------------------------------------------- PDF

_LTA = ModificationLevel.LTA_UPDATES
STRICT_AFTER_SEAL_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        XrefStreamRule().as_qualified(_LTA),
        ObjectStreamRule().as_qualified(_LTA),
        DSSCompareRule().as_qualified(_LTA),
    ],
    form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule(), SigFieldModificationRule()]),
)
"""After the seal: only DSS and document timestamps (pyHanko's LTA updates), and no
metadata change at all (pyHanko's default policy lets XMP and Info be rewritten, and
generic form fields be changed)."""


class _UpToRevision(StandardDiffPolicy):
    """``policy`` applied to the revisions up to ``last`` only.

    Why: pyHanko compares a signature's revision with every later one, so three
    signatures and a timestamp cost ten comparisons; the GVCN's and HT's signatures
    only need theirs up to the seal's revision, since what follows the seal is judged
    by the seal's own, stricter check.
    """

    def __init__(self, policy: StandardDiffPolicy, last: int) -> None:
        super().__init__(global_rules=policy.global_rules, form_rule=policy.form_rule)
        self._last = last

    def review_file(
        self,
        reader: PdfFileReader,
        base_revision: Any,
        field_mdp_spec: Any = None,
        doc_mdp: Any = None,
    ) -> Any:
        base = (
            reader.get_historical_resolver(base_revision)
            if isinstance(base_revision, int)
            else base_revision
        )
        level, fields = ModificationLevel.NONE, set()
        for revision in range(
            base.revision + 1, min(self._last, reader.xrefs.total_revisions - 1) + 1
        ):
            try:
                result = self.apply(
                    old=base,
                    new=reader.get_historical_resolver(revision),
                    field_mdp_spec=field_mdp_spec,
                    doc_mdp=doc_mdp,
                )
            except SuspiciousModification as exc:
                return exc
            level = max(level, result.modification_level)
            fields |= result.changed_form_fields
        return DiffResult(level, fields)


_ALLOWED_AFTER = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
)
_STRICT_AFTER = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
_COVERED = (SignatureCoverageLevel.ENTIRE_REVISION, SignatureCoverageLevel.ENTIRE_FILE)


def _signature_timestamp(sig: Any) -> tuple[cms.SignedData, dt.datetime] | None:
    unsigned = sig.signer_info["unsigned_attrs"]
    if unsigned.native is None:
        return None
    for attr in unsigned:
        if attr["type"].native == "signature_time_stamp_token":
            signed_data = attr["values"][0]["content"]
            return signed_data, token_time(signed_data)
    return None


def _attached_identities(pdf: bytes, attached: bytes | None) -> RecordIdentities | None:
    from hocbaso.render import extract_record_xml

    try:
        return record_identities(parse_record(attached or extract_record_xml(pdf)))
    except RecordError:
        return None


async def _pdf_signature_checks(
    sig: Any,
    role: Role,
    evidence: _Evidence,
    best: dt.datetime,
    ids: RecordIdentities | None,
    strict: bool,
    last_revision: int | None = None,
) -> tuple[list[Check], Any]:
    field_name = FIELD_NAMES[role]
    context = evidence.at(best)
    policy = STRICT_AFTER_SEAL_POLICY if strict else RECORD_DIFF_POLICY
    if last_revision is not None:
        policy = _UpToRevision(policy, last_revision)
    try:
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=context,
            ts_validation_context=context,
            diff_policy=policy,
        )
    except Exception as exc:  # a verdict for every input
        return [
            _failed(
                f"{field_name}.chu-ky",
                f"Chữ ký {ROLE_NAMES[role]} không đọc được ({type(exc).__name__}).",
            )
        ], None
    checks = []
    if status.intact and status.valid:
        checks.append(_passed(f"{field_name}.chu-ky", f"Chữ ký {ROLE_NAMES[role]} toàn vẹn."))
    else:
        checks.append(
            _failed(
                f"{field_name}.chu-ky",
                f"Chữ ký {ROLE_NAMES[role]} không khớp nội dung.",
                "HASH_FAILURE" if not status.intact else "SIG_CRYPTO_FAILURE",
            )
        )
    level = status.modification_level
    allowed = _STRICT_AFTER if strict else _ALLOWED_AFTER
    if status.coverage in _COVERED and level in allowed:
        checks.append(
            _passed(
                f"{field_name}.pham-vi",
                "Sau chữ ký đóng dấu chỉ có thêm dữ liệu kiểm tra (DSS) và dấu thời gian tài liệu."
                if strict
                else "Sau chữ ký chỉ có thêm chữ ký, dữ liệu kiểm tra, và tệp XML đính kèm "
                "được thay bằng chính nó cộng thêm các chữ ký sau.",
            )
        )
    else:
        checks.append(
            _failed(
                f"{field_name}.pham-vi",
                "Tệp đã bị sửa sau khi đóng dấu (siêu dữ liệu, trường, chú thích, trang hoặc "
                "tệp đính kèm), không chỉ thêm dữ liệu kiểm tra và dấu thời gian."
                if strict
                else "Tệp đã bị sửa nội dung sau khi ký (không chỉ thêm chữ ký).",
            )
        )
    cert = status.signing_cert
    if ids is None:
        checks.append(
            _failed(
                f"{field_name}.vai-tro",
                "PDF không mang tệp XML học bạ để đối chiếu người ký với học bạ.",
                "SIG_CONSTRAINTS_FAILURE",
            )
        )
    else:
        checks.append(_role_check(f"{field_name}.vai-tro", role, cert, ids))
    check = _pdf_certificate_check(f"{field_name}.chung-thu", status, context)
    if check.sub_indication == "CERTIFICATE_CHAIN_GENERAL_FAILURE":
        # pyHanko's status names no cause: validate again (failures only) for the reason.
        others = list(sig.other_embedded_certs)
        check = await _validate_certificate(check.name, cert, others, context)
    checks.append(check)
    if role == "condau":
        checks.append(
            _pdf_timestamp_check(f"{field_name}.dau-thoi-gian", status.timestamp_validity)
        )
    return checks, status


_PDF_TRUST_MESSAGES = {
    "REVOKED": "đã bị thu hồi trước thời điểm ký ({moment})",
    "TRY_LATER": "không có thông tin thu hồi (OCSP/CRL) tại {moment}; kiểm tra trực tuyến "
    "(bỏ --offline) hoặc kiểm tra lại sau",
    "OUT_OF_BOUNDS_NO_POE": "đã hết hạn tại {moment} và không có bằng chứng thời điểm ký sớm hơn",
    "NOT_YET_VALID": "chưa có hiệu lực tại {moment}",
    "NO_CERTIFICATE_CHAIN_FOUND": "không dẫn về một CA gốc tin cậy (hoặc chuỗi chứng thư giả "
    "mạo trùng tên)",
}


def _pdf_certificate_check(name: str, status: Any, context: ValidationContext) -> Check:
    """pyHanko's verdict on the signer's certificate (validated in ``context``, at its
    moment) as a check: its AdES sub-indication is the check's."""
    who = status.signing_cert.subject.native.get("common_name", "")
    moment = _when(context.moment) if context.moment is not None else "hiện tại"
    if status.trusted and not status.revoked:
        return _passed(
            name,
            f"Chứng thư của '{who}' hợp lệ tại {moment}, dẫn về CA gốc tin cậy, chưa bị thu hồi.",
        )
    indic = status.trust_problem_indic
    sub = "REVOKED" if status.revoked else (indic.name if indic is not None else "GENERIC")
    reason = _PDF_TRUST_MESSAGES.get(sub, "không hợp lệ ({sub})").format(moment=moment, sub=sub)
    if sub == "TRY_LATER":
        return Check(name, "could_not_check", f"Chứng thư của '{who}': {reason}.", sub)
    return _failed(name, f"Chứng thư của '{who}' {reason}.", sub)


def _pdf_timestamp_check(name: str, ts: Any) -> Check:
    if ts is None:
        return _failed(name, "Chữ ký đóng dấu không có dấu thời gian.")
    if ts.intact and ts.valid and ts.trusted:
        return _passed(name, f"Dấu thời gian lúc {_when(ts.timestamp)} hợp lệ, do TSA tin cậy cấp.")
    if not ts.intact:
        return _failed(name, "Dấu thời gian không khớp chữ ký đóng dấu.", "HASH_FAILURE")
    return _failed(
        name,
        "Dấu thời gian không hợp lệ hoặc do TSA không tin cậy cấp.",
        "NO_CERTIFICATE_CHAIN_FOUND",
    )


async def _doc_timestamp_checks(
    sig: Any, prefix: str, evidence: _Evidence
) -> tuple[list[Check], dt.datetime | None, Any]:
    try:
        moment = token_time(sig.signed_data)
        status = await async_validate_pdf_timestamp(
            sig, validation_context=evidence.at(moment), diff_policy=STRICT_AFTER_SEAL_POLICY
        )
    except Exception as exc:  # a verdict for every input
        return (
            [
                _failed(
                    f"{prefix}.dau-thoi-gian",
                    f"Dấu thời gian tài liệu không đọc được ({type(exc).__name__}).",
                )
            ],
            None,
            None,
        )
    checks = [_pdf_timestamp_check(f"{prefix}.dau-thoi-gian", status)]
    if status.coverage in _COVERED and status.modification_level in _STRICT_AFTER:
        checks.append(
            _passed(f"{prefix}.pham-vi", "Sau dấu thời gian chỉ có thêm dữ liệu kiểm tra.")
        )
    else:
        checks.append(_failed(f"{prefix}.pham-vi", "Tệp đã bị sửa sau dấu thời gian tài liệu."))
    passed = all(c.status == "passed" for c in checks)
    return checks, status.timestamp if passed else None, status.validation_path


async def _verify_pdf(
    pdf: bytes,
    trust: TrustSettings,
    expect: Sequence[Role],
    evidence: _Evidence,
    long_term: bool,
    attached: bytes | None,
) -> VerificationReport:
    at = _now(trust)
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    embedded = list(reader.embedded_signatures)
    signatures = [s for s in embedded if s.sig_object_type != "/DocTimeStamp"]
    stamps = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        evidence.certs += list(dss.load_certs())
        evidence.ocsps += [ocsp.OCSPResponse.load(ref.get_object().data) for ref in dss.ocsps]
        evidence.crls += [crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    except NoDSSFoundError:
        pass
    ids = _attached_identities(pdf, attached)
    present = [sig.field_name for sig in signatures]
    wanted = [FIELD_NAMES[r] for r in expect]
    checks: list[Check] = []
    if present == wanted:
        checks.append(_passed("pdf.thu-tu", f"Có đủ {len(wanted)} chữ ký theo đúng thứ tự."))
    else:
        checks.append(_failed("pdf.thu-tu", f"Các chữ ký có mặt {present}, cần {wanted}."))
    by_field = {sig.field_name: sig for sig in signatures}
    # The seal first: its timestamp is the proof of existence of all three.
    results: dict[Role, list[Check]] = {}
    infos: list[SignatureInfo] = []
    best = at
    seal_sig = by_field.get(FIELD_NAMES["condau"]) if "condau" in expect else None
    seal_revision: int | None = None
    if seal_sig is not None:
        found = None
        try:
            found = _signature_timestamp(seal_sig)
        except Exception:  # judged by the seal's own checks below
            found = None
        seal_best = found[1] if found is not None and found[1] <= at + _TOLERANCE else at
        results["condau"], _ = await _pdf_signature_checks(
            seal_sig, "condau", evidence, seal_best, ids, strict=long_term
        )
        if found is not None and found[1] > at + _TOLERANCE:
            results["condau"].append(_not_yet(f"{FIELD_NAMES['condau']}.thoi-diem", found[1], at))
        crypto = [c for c in results["condau"] if c.name.endswith((".chu-ky", ".dau-thoi-gian"))]
        if all(c.status == "passed" for c in crypto):
            best = seal_best
        scope = [c for c in results["condau"] if c.name.endswith(".pham-vi")]
        if scope and scope[0].status == "passed":
            seal_revision = seal_sig.signed_revision
    for role in expect:
        field_name = FIELD_NAMES[role]
        sig = by_field.get(field_name)
        if sig is None:
            checks.append(_failed(f"{field_name}.co-mat", f"Thiếu chữ ký {ROLE_NAMES[role]}."))
            continue
        if role not in results:
            last = seal_revision if long_term else None
            results[role], _ = await _pdf_signature_checks(
                sig, role, evidence, best, ids, strict=False, last_revision=last
            )
        checks += results[role]
        try:
            who = sig.signer_cert.subject.native.get("common_name", "")
            claimed = sig.self_reported_timestamp
        except Exception:
            who, claimed = "", None
        infos.append(SignatureInfo(field_name, role, who, claimed, best if best != at else None))
    newest: tuple[str, Any] | None = None
    for n, stamp in enumerate(stamps, start=1):
        prefix = stamp.field_name or f"DauThoiGianTaiLieu{n}"
        stamp_checks, moment, path = await _doc_timestamp_checks(stamp, prefix, evidence)
        checks += stamp_checks
        infos.append(SignatureInfo(prefix, "luu-tru", "TSA", moment, moment))
        newest = (prefix, path)
    if long_term and not stamps:
        checks.append(
            _failed(
                "pdf.dau-thoi-gian-tai-lieu",
                "Bản PDF không có dấu thời gian tài liệu sau chữ ký đóng dấu (PAdES B-LTA).",
            )
        )
    if newest is not None:
        checks.append(_expiry_check(f"{newest[0]}.hieu-luc", newest[1], at))
    return VerificationReport("pdf", tuple(checks), tuple(infos))


async def async_verify_record_pdf(
    pdf: bytes,
    trust: TrustSettings,
    *,
    expect: Sequence[Role] = ROLES,
    session: ServiceSession | None = None,
    context: ValidationContext | None = None,
    long_term: bool = False,
    attached: bytes | None = None,
) -> VerificationReport:
    """Check the PAdES signatures of the printable copy against ``trust``.

    Validation data in the PDF (DSS, certificates in the signatures) is used first;
    more is fetched only with ``trust.allow_fetching``. With a ``context`` from the
    caller (the registry's: current answers, fetched online and shared across records)
    every signature is validated in it instead. ``long_term``: the strict profile of an
    issued record; ``attached``: the XML the PDF carries, when the caller has it already
    (its signers are the roles' expected people). Never raises for a bad file.
    """
    evidence = _Evidence(trust, session, fixed=context)
    try:
        return await _verify_pdf(pdf, trust, expect, evidence, long_term, attached)
    except Exception as exc:  # a verdict for every input
        return _file_failure("pdf", exc)


# --------------------------------------------------------------------------- sync forms


def verify_record_xml(
    xml: bytes, trust: TrustSettings, *, expect: Sequence[Role] = ROLES, long_term: bool = False
) -> VerificationReport:
    """Synchronous ``async_verify_record_xml`` with its own HTTP session."""

    async def run() -> VerificationReport:
        async with ServiceSession(trust=trust) as session:
            return await async_verify_record_xml(
                xml, trust, expect=expect, session=session, long_term=long_term
            )

    return asyncio.run(run())


def verify_record_pdf(
    pdf: bytes, trust: TrustSettings, *, expect: Sequence[Role] = ROLES, long_term: bool = False
) -> VerificationReport:
    """Synchronous ``async_verify_record_pdf`` with its own HTTP session."""

    async def run() -> VerificationReport:
        async with ServiceSession(trust=trust) as session:
            return await async_verify_record_pdf(
                pdf, trust, expect=expect, session=session, long_term=long_term
            )

    return asyncio.run(run())
