"""The three PAdES signatures of the printable copy: GVCN, HT, then the seal.

Each signature is an incremental update with an invisible field (``ChuKyGVCN``,
``ChuKyHT``, ``ChuKyConDau``): nothing earlier is rewritten, and no appearance
stream is drawn (visible stamps with Vietnamese text cost 90-350 ms each and the
rendered page already shows the signature blocks), so the PDF/A-3 file stays as it
was rendered. The same revision replaces the attached ``hocba.xml`` by the XML as
signed so far (``signed_xml``, see ``hocbaso.signing.attachment``): each PAdES
signature covers the XML the PDF carries, and the sealed PDF carries the final
signed XML byte for byte. The GVCN and HT signatures are PAdES B-B; the seal is
PAdES B-T (a signature timestamp from the TSA). The seal step then adds one revision
(``hocbaso.signing.longterm.extend_pdf_longterm``): the validation data of every
signature in the DSS and a document timestamp, which make the file B-LTA and let it
be validated later without the network.

For batches, sign inside one event loop with one ``ServiceSession`` (timestamps and
revocation fetching share its HTTP session); ``sign_record_pdf`` is the one-off form.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from asn1crypto import cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import ExternalSigner
from pyhanko.sign.signers.pdf_signer import (
    PdfSignatureMetadata,
    PdfSigner,
    PdfTBSDocument,
    PostSignInstructions,
)
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hocbaso.errors import RecordError, SigningError
from hocbaso.signing.attachment import attach_signed_xml
from hocbaso.signing.roles import ROLE_NAMES, Role, check_order, check_role
from hocbaso.signing.signers import Certified, RecordSigner
from hocbaso.signing.trust import ServiceSession, TrustSettings

FIELD_NAMES: dict[Role, str] = {"gvcn": "ChuKyGVCN", "ht": "ChuKyHT", "condau": "ChuKyConDau"}
# Space kept for the CMS blob (pyHanko counts hex digits, two per byte). Reserving it
# avoids a dry-run signature per record; too small fails loudly, too large only pads.
_CMS_OVERHEAD = 2048  # signed attributes, signature value, structure
_TIMESTAMP_TOKEN = 8192  # a TSA token with the TSA's chain


_UNREADABLE_PDF = (
    "Tệp PDF của học bạ không đọc được.",
    "Tạo lại bản thể hiện (PDF) ở bước chốt dữ liệu rồi ký lại.",
)


def _bytes_reserved(parts: _SignerParts, role: Role) -> int:
    size = parts.certificates_size + _CMS_OVERHEAD + (_TIMESTAMP_TOKEN if role == "condau" else 0)
    return 2 * size


def _fields_of(reader: PdfFileReader) -> list[str]:
    """``signature_fields`` of a PDF already open in ``reader`` (RecordError if unreadable)."""
    try:
        form = reader.root.get("/AcroForm")
        if form is None:
            return []
        names = []
        for ref in form.get_object().get("/Fields", []):
            field = ref.get_object()
            if field.get("/FT") == "/Sig" and "/V" in field:
                names.append(str(field.get("/T")))
        return names
    except (PdfError, ValueError, KeyError) as exc:
        raise RecordError(_UNREADABLE_PDF[0], hint=_UNREADABLE_PDF[1]) from exc


def open_pdf(pdf: bytes) -> PdfFileReader:
    """A reader on a record PDF's bytes; an unreadable file is a ``RecordError``."""
    try:
        return PdfFileReader(BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError) as exc:
        raise RecordError(_UNREADABLE_PDF[0], hint=_UNREADABLE_PDF[1]) from exc


def signature_fields(pdf: bytes | PdfFileReader) -> list[str]:
    """Names of the filled signature fields, in form order (the order they were signed).

    ``pdf``: the file's bytes, or a reader already open on them (one parse serves
    both the caller and this).

    Reads the form's field dictionaries only: resolving each signature value would
    parse its /Contents hex string, which costs tens of milliseconds per signature in
    pure Python. Every field here is created and signed in one step, so form order is
    signing order; verification reads the signatures themselves.
    """
    return _fields_of(pdf if isinstance(pdf, PdfFileReader) else open_pdf(pdf))


def _roles_present(reader: PdfFileReader) -> list[str | None]:
    by_field = {name: role for role, name in FIELD_NAMES.items()}
    return [by_field.get(name, name) for name in _fields_of(reader)]


@dataclass(frozen=True)
class PreparedPdf:
    """A PDF with the role's signature field and an empty, reserved signature region.

    ``digest`` is the SHA-256 of the CMS signed attributes (which hold the document's
    byte-range digest): what the signer signs. Everything but ``post_sign`` can be kept
    (the signing journal) and finished later by ``async_finish_record_pdf``.
    ``post_sign`` holds, in memory only, the seal's validation data for the DSS.
    """

    role: Role
    document: bytes
    document_digest: bytes
    region_start: int
    region_end: int
    signed_attributes: bytes
    digest: bytes
    post_sign: PostSignInstructions | None = None

    def as_json(self) -> dict[str, object]:
        """What the journal keeps besides the document bytes (``post_sign`` is not kept)."""
        return {
            "document_digest": self.document_digest.hex(),
            "region_start": self.region_start,
            "region_end": self.region_end,
            "signed_attributes": base64.b64encode(self.signed_attributes).decode("ascii"),
            "digest": self.digest.hex(),
        }

    @classmethod
    def from_json(cls, role: Role, document: bytes, data: dict[str, Any]) -> PreparedPdf:
        return cls(
            role=role,
            document=document,
            document_digest=bytes.fromhex(data["document_digest"]),
            region_start=int(data["region_start"]),
            region_end=int(data["region_end"]),
            signed_attributes=base64.b64decode(data["signed_attributes"]),
            digest=bytes.fromhex(data["digest"]),
        )


@dataclass(frozen=True)
class _SignerParts:
    """What every PAdES signature of one signer repeats, built once per signer.

    Why: asn1crypto re-encodes a freshly built structure from scratch at every level
    each time it is asked for its bytes (twice per level, so the cost doubles with the
    nesting depth); the signing-certificate-v2 attribute (the certificate's hash, issuer
    and serial) built anew cost several milliseconds per signature, a certificate store
    and the certificates' sizes a little more. They depend on the certificates only.
    """

    registry: SimpleCertificateStore
    certificates_size: int  # DER bytes of the signer's certificate and chain
    signature_size: int
    # DER of pyHanko's PAdES signed attributes other than the message digest, in its
    # order, with the message digest's place: the signed attributes of every document.
    attributes_before: tuple[bytes, ...]
    attributes_after: tuple[bytes, ...]

    def signed_attributes(self, document_digest: bytes) -> cms.CMSAttributes:
        """The signed attributes pyHanko's ``signed_attrs(digest, "sha256",
        use_pades=True)`` builds for this signer, from the parts kept (loaded from DER,
        so encoding them again costs nothing)."""
        return cms.CMSAttributes(
            [
                *(cms.CMSAttribute.load(der) for der in self.attributes_before),
                simple_cms_attribute("message_digest", document_digest),
                *(cms.CMSAttribute.load(der) for der in self.attributes_after),
            ]
        )


_PARTS: dict[bytes, _SignerParts] = {}
_PARTS_KEPT = 64  # signers of one process (a school's staff, tests): never grows unbounded


def _certificates_key(certs: Certified) -> bytes:
    """SHA-256 over the signer's certificate and chain (DER is self-delimiting)."""
    digest = hashlib.sha256(certs.certificate.dump())
    for cert in certs.chain:
        digest.update(cert.dump())
    return digest.digest()


async def _signer_parts(certs: Certified) -> _SignerParts:
    """The signer's ``_SignerParts``, built on first use and kept by certificate hash
    (the same certificates give the same parts, whichever object carries them)."""
    key = _certificates_key(certs)
    parts = _PARTS.get(key)
    if parts is not None:
        return parts
    registry = SimpleCertificateStore()
    registry.register_multiple([certs.certificate, *certs.chain])
    size = _signature_size(certs)
    # pyHanko builds the attributes once (any digest of the right length): only the
    # message digest depends on the document.
    probe = bytes(hashlib.sha256().digest_size)
    built = await ExternalSigner(certs.certificate, registry, signature_value=size).signed_attrs(
        probe, "sha256", use_pades=True
    )
    attributes = [attribute.dump() for attribute in built]
    digest_at = [a["type"].native for a in built].index("message_digest")
    parts = _SignerParts(
        registry=registry,
        certificates_size=len(certs.certificate.dump()) + sum(len(c.dump()) for c in certs.chain),
        signature_size=size,
        attributes_before=tuple(attributes[:digest_at]),
        attributes_after=tuple(attributes[digest_at + 1 :]),
    )
    if len(_PARTS) >= _PARTS_KEPT:
        _PARTS.clear()
    _PARTS[key] = parts
    return parts


def _wrap_pdf_errors(role: Role) -> Any:
    return _PdfErrors(role)


class _PdfErrors:
    """The Vietnamese errors of PDF signing, around a block."""

    def __init__(self, role: Role) -> None:
        self._role = role

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        role = self._role
        if isinstance(exc, TimestampRequestError):
            raise SigningError(
                "Không lấy được dấu thời gian từ dịch vụ cấp dấu thời gian (TSA).",
                hint="Kiểm tra kết nối mạng và địa chỉ TSA rồi đóng dấu lại; "
                "ở chế độ demo, dịch vụ PKI thử nghiệm phải đang chạy.",
            ) from exc
        if isinstance(exc, PathBuildingError | PathValidationError):
            raise SigningError(
                f"Chứng thư của người ký ({ROLE_NAMES[role]}) không hợp lệ hoặc đã bị thu hồi.",
                hint="Kiểm tra thời hạn và trạng thái chứng thư với nhà cung cấp chứng thư số.",
            ) from exc
        if isinstance(exc, PyHankoSigningError | PdfError):
            raise SigningError(
                f"Không ký được bản PDF của học bạ ({ROLE_NAMES[role]}).",
                hint="Kiểm tra tệp PDF và khoá của người ký; nếu lỗi lặp lại, báo cho quản trị.",
            ) from exc


async def async_prepare_record_pdf(
    pdf: bytes,
    certs: Certified,
    role: Role,
    *,
    attach: bytes | None,
    session: ServiceSession | None = None,
    reader: PdfFileReader | None = None,
) -> PreparedPdf:
    """Add ``role``'s signature field with an empty value; return what to sign.

    ``attach``: the record XML this revision attaches in place of the one the PDF
    carries (a signed successor of it), or ``None`` to keep it. The seal needs
    ``session`` with a TSA URL and trust settings (timestamp, revocation data).
    ``reader``: one already open on ``pdf``'s bytes (the caller read the attached XML
    from it), so the PDF is parsed once.
    """
    role = check_role(role)
    # One parse of the PDF: the fields are read from the reader the writer extends.
    reader = reader if reader is not None else open_pdf(pdf)
    check_order(_roles_present(reader), role, "bản PDF của học bạ")
    field_name = FIELD_NAMES[role]
    meta_options: dict[str, object] = {}
    timestamper = None
    if role == "condau":
        if session is None or session.timestamper is None:
            raise SigningError(
                "Đóng dấu bản PDF cần dấu thời gian nhưng chưa cấu hình dịch vụ cấp dấu thời gian.",
                hint="Đặt tsa_url trong mục [chung_thu] của school.toml (chế độ demo tự có TSA).",
            )
        timestamper = session.timestamper
        # No validation data here: pyHanko would write it in a revision of its own that
        # also refreshes the XMP/Info dates, which the strict profile refuses after the
        # seal. The next revision (``longterm.extend_pdf_longterm``) adds the DSS for every
        # signature together with the document timestamp, metadata untouched.
    meta = PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=ROLE_NAMES[role],
        **meta_options,  # type: ignore[arg-type]
    )
    parts = await _signer_parts(certs)
    placeholder = ExternalSigner(
        certs.certificate, parts.registry, signature_value=parts.signature_size
    )
    pdf_signer = PdfSigner(
        meta,
        placeholder,
        timestamper=timestamper,
        new_field_spec=SigFieldSpec(sig_field_name=field_name),
    )
    with _wrap_pdf_errors(role):
        writer = IncrementalPdfFileWriter.from_reader(reader)
        if attach is not None:
            attach_signed_xml(writer, attach, role, dt.datetime.now(dt.UTC))
        buffer = BytesIO()
        digest, tbs, _ = await pdf_signer.async_digest_doc_for_signing(
            writer, bytes_reserved=_bytes_reserved(parts, role), output=buffer
        )
        der = parts.signed_attributes(digest.document_digest).dump()
    return PreparedPdf(
        role=role,
        document=buffer.getvalue(),
        document_digest=digest.document_digest,
        region_start=digest.reserved_region_start,
        region_end=digest.reserved_region_end,
        signed_attributes=der,
        digest=hashlib.sha256(der).digest(),
        post_sign=tbs.post_sign_instructions,
    )


def _signature_size(certs: Certified) -> int:
    public = certs.certificate.public_key
    if public.algorithm == "ec":
        return 2 * ((public.bit_size + 7) // 8) + 16
    return int(public.bit_size // 8)


async def async_finish_record_pdf(
    prepared: PreparedPdf,
    signature: bytes,
    certs: Certified,
    *,
    session: ServiceSession | None = None,
) -> bytes:
    """Embed the signature (over ``prepared.digest``) into the reserved region.

    The seal's signature also gets its timestamp token and, when prepared in this
    process, the revocation data of its chain in the DSS (needs ``session``).
    """
    role = prepared.role
    timestamper = session.timestamper if session is not None and role == "condau" else None
    if role == "condau" and timestamper is None:
        raise SigningError(
            "Đóng dấu bản PDF cần dấu thời gian nhưng chưa cấu hình dịch vụ cấp dấu thời gian.",
            hint="Đặt tsa_url trong mục [chung_thu] của school.toml (chế độ demo tự có TSA).",
        )
    parts = await _signer_parts(certs)
    signer = ExternalSigner(certs.certificate, parts.registry, signature_value=signature)
    with _wrap_pdf_errors(role):
        cms_object = await signer.async_sign_prescribed_attributes(
            "sha256",
            signed_attrs=cms.CMSAttributes.load(prepared.signed_attributes),
            timestamper=timestamper,
        )
        output: BytesIO = BytesIO(prepared.document)
        await PdfTBSDocument.async_finish_signing(
            output,
            PreparedByteRangeDigest(
                prepared.document_digest, prepared.region_start, prepared.region_end
            ),
            cms_object,
            post_sign_instr=prepared.post_sign,
            validation_context=(
                session.validation_context()
                if session is not None and prepared.post_sign is not None
                else None
            ),
        )
    return output.getvalue()


async def async_sign_record_pdf(
    pdf: bytes,
    signer: RecordSigner,
    role: Role,
    *,
    signed_xml: bytes,
    session: ServiceSession | None = None,
) -> bytes:
    """Append the ``role`` signature as an incremental update that also attaches
    ``signed_xml`` (the record XML just signed by ``role``: the attached XML plus that
    one signature, else RecordError); the seal needs ``session`` with a TSA URL and
    trust settings (for its timestamp and revocation data). The local form of
    prepare → sign the digest → finish.
    """
    prepared = await async_prepare_record_pdf(pdf, signer, role, attach=signed_xml, session=session)
    signature = signer.sign_digest(prepared.digest)
    return await async_finish_record_pdf(prepared, signature, signer, session=session)


def sign_record_pdf(
    pdf: bytes,
    signer: RecordSigner,
    role: Role,
    *,
    signed_xml: bytes,
    tsa_url: str | None = None,
    trust: TrustSettings | None = None,
) -> bytes:
    """One-off synchronous form (opens and closes its own HTTP session)."""

    async def run() -> bytes:
        async with ServiceSession(tsa_url=tsa_url, trust=trust) as session:
            return await async_sign_record_pdf(
                pdf, signer, role, signed_xml=signed_xml, session=session
            )

    return asyncio.run(run())
