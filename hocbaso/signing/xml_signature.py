"""The three XAdES signatures of a record XML: GVCN, then HT, then the seal with a timestamp.

The contract (docs/record-xml.md): the record data sits in ``thongtinsohocbasotieuhoc``
with ``Id="hocba-du-lieu"``; the signatures go, in order, into ``chuky`` as
``ds:Signature Id="chuky-gvcn"``, ``"chuky-ht"``, ``"chuky-condau"``. Each later
signature references the data and every earlier signature, so no signature can be
removed or replaced without breaking the ones after it; the seal carries an RFC 3161
``xades:SignatureTimeStamp`` over its ``ds:SignatureValue``.

Why it is built this way (STACK-NOTES): signing the whole document (``URI=""``) three
times breaks the first two, hence references by Id. XAdES with exclusive c14n does not
verify, hence C14N 1.1. signxml has no XAdES-T, so the timestamp property is added
here: canonicalise the SignatureValue element, hash it, ask the TSA (through pyHanko's
timestamp client), and put the token into the unsigned properties.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from lxml import etree
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from signxml import SignatureReference
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.xades import XAdESDataObjectFormat, XAdESSigner

from hocbaso.errors import RecordError, SigningError
from hocbaso.signing.roles import ROLE_NAMES, ROLES, Role, check_order, check_role
from hocbaso.signing.signers import Certified, RecordSigner

NS = "urn:hocbaso:hocba:1"
DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
DATA_ID = "hocba-du-lieu"
DATA_TAG = f"{{{NS}}}thongtinsohocbasotieuhoc"
CHUKY_TAG = f"{{{NS}}}chuky"
SIGNATURE_TAG = f"{{{DS}}}Signature"
# What lxml's method="c14n" produces, declared honestly in the timestamp property.
TIMESTAMP_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


def signature_id(role: Role) -> str:
    """The Id attribute of a role's ds:Signature (``chuky-gvcn`` ...)."""
    return f"chuky-{role}"


def expected_references(role: Role) -> list[str]:
    """The record references of a role's signature: the data, then earlier signatures."""
    earlier = ROLES[: ROLES.index(role)]
    return [f"#{DATA_ID}", *(f"#{signature_id(r)}" for r in earlier)]


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_record(xml: bytes) -> Any:
    """Parse record bytes safely (no entities, no network) into the root element."""
    try:
        return etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise RecordError(
            f"Tệp học bạ XML không đọc được (dòng {exc.lineno}): {exc.msg}.",
            hint="Tạo lại bản XML ở bước chốt dữ liệu rồi ký lại.",
        ) from exc


def present_signatures(chuky: Any) -> list[str]:
    """Ids of the ds:Signature children of ``chuky``, in document order."""
    return [str(el.get("Id")) for el in chuky if el.tag == SIGNATURE_TAG]


def _roles_present(chuky: Any) -> list[str | None]:
    by_id = {signature_id(r): r for r in ROLES}
    return [by_id.get(sig_id, sig_id) for sig_id in present_signatures(chuky)]


def _signature_method(signer: Certified) -> SignatureMethod:
    algorithm = signer.certificate.public_key.algorithm
    return SignatureMethod.ECDSA_SHA256 if algorithm == "ec" else SignatureMethod.RSA_SHA256


def _xades_signer(signer: Certified, role: Role) -> XAdESSigner:
    xades = XAdESSigner(
        claimed_roles=[ROLE_NAMES[role]],
        data_object_format=XAdESDataObjectFormat(Description="Học bạ số", MimeType="text/xml"),
        signature_algorithm=_signature_method(signer),
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_1,
    )

    def set_id(sig_root: Any, signing_settings: Any) -> None:
        # Must run before XAdES builds its properties: their Target/Id derive from it.
        sig_root.set("Id", signature_id(role))

    xades.signature_annotators.insert(0, set_id)
    return xades


def signature_value_imprint(signature: Any) -> bytes:
    """SHA-256 of the canonical ds:SignatureValue: what the seal's timestamp covers."""
    value = signature.find(f"{{{DS}}}SignatureValue")
    if value is None:
        raise RecordError(
            "Chữ ký đóng dấu không có SignatureValue.",
            hint="Tệp học bạ đã bị sửa sau khi ký; lấy lại bản đã đóng dấu từ kho dữ liệu.",
        )
    return hashlib.sha256(etree.tostring(value, method="c14n")).digest()


async def _add_signature_timestamp(signature: Any, timestamper: TimeStamper) -> None:
    imprint = signature_value_imprint(signature)
    try:
        token = await timestamper.async_timestamp(imprint, "sha256")
    except (TimestampRequestError, OSError) as exc:
        raise SigningError(
            "Không lấy được dấu thời gian từ dịch vụ cấp dấu thời gian (TSA).",
            hint="Kiểm tra kết nối mạng và địa chỉ TSA (tsa_url) rồi đóng dấu lại; "
            "ở chế độ demo, dịch vụ PKI thử nghiệm phải đang chạy.",
        ) from exc
    qualifying = signature.find(f"{{{DS}}}Object/{{{XADES}}}QualifyingProperties")
    unsigned = etree.SubElement(qualifying, f"{{{XADES}}}UnsignedProperties")
    props = etree.SubElement(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
    stamp = etree.SubElement(
        props, f"{{{XADES}}}SignatureTimeStamp", Id=f"{signature.get('Id')}-dauthoigian"
    )
    etree.SubElement(stamp, f"{{{DS}}}CanonicalizationMethod", Algorithm=TIMESTAMP_C14N)
    encapsulated = etree.SubElement(stamp, f"{{{XADES}}}EncapsulatedTimeStamp")
    encapsulated.text = base64.b64encode(token.dump()).decode("ascii")


@dataclass(frozen=True)
class PreparedXml:
    """A record XML with the role's signature in place but its value still empty.

    ``digest`` is the SHA-256 of the canonical ``ds:SignedInfo``: what the signer (a key
    file, a token, a remote signing service) signs. ``finish_record_xml`` puts the value
    in; nothing else of the document changes, so the prepared bytes can wait (in the
    signing journal) for a confirmation that comes minutes or a day later.
    """

    role: Role
    document: bytes
    digest: bytes


class _CapturingKey:
    """What signxml signs with while preparing: it keeps the bytes to sign and answers
    with a placeholder of the right length (the real value comes later)."""

    def __init__(self, certs: Certified, public_key: Any) -> None:
        public = certs.certificate.public_key
        self.key_size = public.bit_size
        self._algorithm = public.algorithm
        self._public = public_key  # of ``certs.crypto_chain[0]``, converted once by the caller
        self.captured: bytes | None = None

    def public_key(self) -> Any:
        return self._public

    def sign(self, data: bytes, *args: Any, **kwargs: Any) -> bytes:
        self.captured = data
        if self._algorithm == "ec":
            return encode_dss_signature(1, 1)
        return bytes(self.key_size // 8)


def _check_can_sign(xml: bytes, role: Role) -> Any:
    root = parse_record(xml)
    chuky = root.find(CHUKY_TAG)
    if root.find(DATA_TAG) is None or chuky is None:
        raise RecordError(
            "Tệp XML không đúng cấu trúc học bạ: thiếu thongtinsohocbasotieuhoc hoặc chuky.",
            hint="Tạo lại bản XML ở bước chốt dữ liệu.",
        )
    check_order(_roles_present(chuky), role, "học bạ XML")
    return root


def prepare_record_xml(xml: bytes, certs: Certified, role: Role) -> PreparedXml:
    """Add ``role``'s XAdES signature to the record with an empty value; return what to sign.

    Refuses (SigningError) to sign twice or out of order; the data element never changes.
    """
    role = check_role(role)
    root = _check_can_sign(xml, role)
    chuky = root.find(CHUKY_TAG)
    etree.SubElement(chuky, SIGNATURE_TAG, Id="placeholder", nsmap={"ds": DS})
    references = [SignatureReference(URI=uri) for uri in expected_references(role)]
    chain = certs.crypto_chain  # each access converts every certificate again
    key = _CapturingKey(certs, chain[0].public_key())
    try:
        signed_root = _xades_signer(certs, role).sign(
            root,
            key=key,  # type: ignore[arg-type]  # duck-typed: signxml only calls sign()
            cert=chain,
            reference_uri=references,
        )
    except SignXMLException as exc:
        raise SigningError(
            f"Không tạo được chữ ký XML ({ROLE_NAMES[role]}).",
            hint="Kiểm tra chứng thư của người ký; nếu lỗi lặp lại, báo cho quản trị.",
        ) from exc
    assert key.captured is not None  # signxml signs exactly once
    document: bytes = etree.tostring(signed_root, xml_declaration=True, encoding="UTF-8")
    return PreparedXml(role, document, hashlib.sha256(key.captured).digest())


def _raw_signature_value(certs: Certified, signature: bytes) -> bytes:
    """XML-DSig wants ECDSA as r||s; an external service returns DER (RSA is as is)."""
    public = certs.certificate.public_key
    if public.algorithm != "ec":
        return signature
    r, s = decode_dss_signature(signature)
    size = (public.bit_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


async def async_finish_record_xml(
    prepared: PreparedXml,
    signature: bytes,
    certs: Certified,
    *,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """Put the signature value (over ``prepared.digest``) in; the seal also gets its
    signature timestamp (needs ``timestamper``). Returns the signed record bytes."""
    role = prepared.role
    if role == "condau" and timestamper is None:
        raise SigningError(
            "Đóng dấu cần dấu thời gian nhưng chưa cấu hình dịch vụ cấp dấu thời gian.",
            hint="Đặt tsa_url trong mục [chung_thu] của school.toml (chế độ demo tự có TSA).",
        )
    root = parse_record(prepared.document)
    sig = root.find(f"{CHUKY_TAG}/{SIGNATURE_TAG}[@Id='{signature_id(role)}']")
    value = None if sig is None else sig.find(f"{{{DS}}}SignatureValue")
    if value is None:
        raise RecordError(
            f"Bản chuẩn bị ký XML ({ROLE_NAMES[role]}) không có chỗ cho giá trị chữ ký.",
            hint="Xoá bản chuẩn bị trong nhật ký ký rồi ký lại lớp này.",
        )
    value.text = base64.b64encode(_raw_signature_value(certs, signature)).decode("ascii")
    if role == "condau":
        assert timestamper is not None
        await _add_signature_timestamp(sig, timestamper)
    result: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return result


async def async_sign_record_xml(
    xml: bytes,
    signer: RecordSigner,
    role: Role,
    *,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """Append the ``role`` signature to the record; the seal (``condau``) needs a timestamper.

    Refuses (SigningError) to sign twice or out of order. Returns the new document bytes
    (UTF-8, XML declaration); the data element is never changed. The local form of
    prepare → sign the digest → finish.
    """
    role = check_role(role)
    if role == "condau" and timestamper is None:
        raise SigningError(
            "Đóng dấu cần dấu thời gian nhưng chưa cấu hình dịch vụ cấp dấu thời gian.",
            hint="Đặt tsa_url trong mục [chung_thu] của school.toml (chế độ demo tự có TSA).",
        )
    prepared = prepare_record_xml(xml, signer, role)
    signature = signer.sign_digest(prepared.digest)
    return await async_finish_record_xml(prepared, signature, signer, timestamper=timestamper)


def sign_record_xml(
    xml: bytes,
    signer: RecordSigner,
    role: Role,
    *,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """Synchronous ``async_sign_record_xml``; inside an event loop, await the async one."""
    return asyncio.run(async_sign_record_xml(xml, signer, role, timestamper=timestamper))
