"""Long-term data for a sealed record: PAdES B-LTA and XAdES-LTA (our documented form).

A học bạ must verify decades after its signers' certificates expired. What makes that
possible is proof of existence: data a trusted timestamp covers existed at the
timestamp's time, so the signatures are judged as of then (``hocbaso.signing.verify``).
The seal step, after both signatures of the seal exist, calls the two functions here:

    xml = await extend_xml_longterm(sealed_xml, session)   # before the PDF seal
    pdf = await extend_pdf_longterm(sealed_pdf, session)   # after it

**XML.** Into the seal's ``xades:UnsignedSignatureProperties``, after its
``SignatureTimeStamp``: ``xades:CertificateValues`` (every certificate of the three
signatures and of the timestamps), ``xades:RevocationValues`` (their OCSP answers and
CRLs, fetched now, after the signatures), then one ``xadesv141:ArchiveTimeStamp``.
Every earlier signature is referenced by the seal, so the seal's properties hold the
validation data of all three. The archive timestamp's imprint is our own, simpler than
XAdES 1.4.1's (which canonicalises a list of parts): the SHA-256 of the inclusive C14N
1.0 (no comments) of the whole ``hocba`` element with this archive timestamp and
everything after it in the seal's unsigned properties taken out; in words, a
timestamp covers everything that precedes it. A renewal appends an
``xadesv141:TimeStampValidationData`` (fresh revocation data for the older
timestamps) and a new ``ArchiveTimeStamp`` that covers it.

**PDF.** One incremental revision after the seal: the DSS gets the certificates and
revocation data of every signature and timestamp in the file, and a document
timestamp (``/DocTimeStamp``, field ``DauThoiGianLuuTru<n>``) covers the whole file,
DSS included. A renewal is the same operation again. These revisions never touch the
document's metadata (XMP, Info): the strict profile of an issued record accepts
nothing after the seal but DSS and document timestamps.

Why the XML is extended before the PDF seal and never in the PDF afterwards: the seal's
PAdES revision attaches the final XML (``hocbaso.signing.attachment``), and the strict
profile forbids changing attachments after the seal. A renewed XML is therefore a
*successor* of the XML the PDF carries: the same bytes up to the end of its last
archive timestamp, plus renewal elements (``is_renewal_of``). The PDF's own document
timestamps keep the attached copy's proof of existence alive; the standalone XML is
kept alive by its own archive timestamps.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import Any

from asn1crypto import cms, core, crl, ocsp, tsp
from asn1crypto import x509 as asn1_x509
from lxml import etree
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors

from hocbaso.errors import RecordError, SigningError
from hocbaso.signing.pdf_signature import signature_fields
from hocbaso.signing.trust import ServiceSession
from hocbaso.signing.xml_signature import CHUKY_TAG, DS, SIGNATURE_TAG, XADES, parse_record

XADES141 = "http://uri.etsi.org/01903/v1.4.1#"
SEAL_ID = "chuky-condau"
ARCHIVE_TAG = f"{{{XADES141}}}ArchiveTimeStamp"
TS_VALIDATION_TAG = f"{{{XADES141}}}TimeStampValidationData"
ARCHIVE_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
DOC_TIMESTAMP_FIELD = "DauThoiGianLuuTru"
_DOC_TIMESTAMP_BYTES = 2 * 12000  # a TSA token with its chain, hex-encoded
_ENC = f"{{{XADES}}}EncapsulatedTimeStamp"


# --------------------------------------------------------------------------- shared


def token_signer(signed_data: cms.SignedData) -> tuple[asn1_x509.Certificate, list[Any]]:
    """The TSA certificate of a timestamp token and the other certificates it carries."""
    certs = [c.chosen for c in signed_data["certificates"] or [] if c.name == "certificate"]
    sid = signed_data["signer_infos"][0]["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            # The serial first: it is an integer, and asn1crypto compares names by
            # string-prepping every attribute (milliseconds a token).
            if cert.serial_number == wanted["serial_number"].native and _same_name(
                cert.issuer, wanted["issuer"]
            ):
                return cert, [c for c in certs if c is not cert]
        elif cert.key_identifier == sid.chosen.native:
            return cert, [c for c in certs if c is not cert]
    raise RecordError(
        "Dấu thời gian không kèm chứng thư của đơn vị cấp dấu thời gian (TSA).",
        hint="Tệp có thể đã bị sửa; lấy lại bản đã đóng dấu từ kho dữ liệu.",
    )


def _same_name(a: asn1_x509.Name, b: asn1_x509.Name) -> bool:
    """``a == b`` (asn1crypto's comparison of names), decided from the encodings when
    they are the same bytes: equal DER is the same name; only different bytes need
    the comparison that normalises each attribute."""
    return bool(a.dump() == b.dump() or a == b)


def token_time(signed_data: cms.SignedData) -> dt.datetime:
    """The genTime of an RFC 3161 token."""
    info = signed_data["encap_content_info"]["content"].parsed
    if not isinstance(info, tsp.TSTInfo):
        raise ValueError("not a TSTInfo")
    moment: dt.datetime = info["gen_time"].native
    return moment


async def collect_validation_data(
    context: ValidationContext,
    chains: Iterable[tuple[asn1_x509.Certificate, Sequence[asn1_x509.Certificate]]],
) -> tuple[list[asn1_x509.Certificate], list[ocsp.OCSPResponse], list[crl.CertificateList]]:
    """Certificates, OCSP answers and CRLs that validate ``chains`` now (fetched in ``context``).

    A certificate that does not validate (revoked, say) still leaves what was fetched
    for it: the verifier, not this collector, judges it, and the answer "revoked" is
    exactly what it needs to know.
    """
    certs: dict[bytes, asn1_x509.Certificate] = {}
    for cert, others in chains:
        for c in (cert, *others):
            certs.setdefault(c.sha256, c)
        validator = CertificateValidator(
            cert, intermediate_certs=list(others), validation_context=context
        )
        try:
            path = await validator.async_validate_path()
        except (cv_errors.PathValidationError, cv_errors.PathBuildingError):
            continue
        except (cv_errors.InsufficientRevinfoError, cv_errors.InvalidCertificateError):
            continue
        for c in path:
            certs.setdefault(c.sha256, c)
    return list(certs.values()), list(context.ocsps), list(context.crls)


# How long a step reuses the validation data it fetched for one set of chains; the
# answers' own nextUpdate ends the reuse earlier.
CHAIN_DATA_MAX_AGE_S = 300.0

Chains = list[tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]]
ValidationData = tuple[
    list[asn1_x509.Certificate], list[ocsp.OCSPResponse], list[crl.CertificateList]
]


def _chains_key(chains: Chains) -> tuple[tuple[bytes, frozenset[bytes]], ...]:
    """Which chains: each certificate with the set of the others it came with."""
    return tuple(
        (cert.sha256, frozenset(c.sha256 for c in others) - {cert.sha256})
        for cert, others in chains
    )


def _still_current(data: ValidationData, fetched: float) -> bool:
    if time.monotonic() - fetched > CHAIN_DATA_MAX_AGE_S:
        return False
    now = dt.datetime.now(dt.UTC)
    _, ocsps, crls = data
    for response in ocsps:
        try:
            singles = response["response_bytes"]["response"].parsed["tbs_response_data"][
                "responses"
            ]
        except (AttributeError, KeyError, TypeError, ValueError):
            return False
        if any(s["next_update"].native and s["next_update"].native <= now for s in singles):
            return False
    for item in crls:
        moment = item["tbs_cert_list"]["next_update"].native
        if moment is not None and moment <= now:
            return False
    return True


async def collect_chain_data(
    session: ServiceSession, chains: Chains
) -> tuple[ValidationContext, ValidationData]:
    """``collect_validation_data`` for ``chains`` in a fresh context, once per session.

    Why: every record of a class has the same chains (the same teacher, principal,
    seal and TSA), and fetching and validating them is most of the seal's long-term
    step. The first record's context and data are kept in the session and reused for
    the next records with exactly the same chains, while the data is younger than
    ``CHAIN_DATA_MAX_AGE_S`` and no answer in it has passed its nextUpdate; so a record
    gets the same data it would get alone, fetched once per class instead of once per
    record.
    """
    key = ("longterm", _chains_key(chains))
    kept = session.cache.get(key)
    if kept is not None and _still_current(kept[1], kept[2]):
        return kept[0], kept[1]
    context = session.validation_context(other_certs=[])
    data = await collect_validation_data(context, chains)
    session.cache[key] = (context, data, time.monotonic())
    return context, data


def _tsa_error(exc: Exception) -> SigningError:
    return SigningError(
        "Không lấy được dấu thời gian lưu trữ từ dịch vụ cấp dấu thời gian (TSA).",
        hint="Kiểm tra kết nối mạng và địa chỉ TSA rồi chạy lại; ở chế độ demo, "
        "dịch vụ PKI thử nghiệm phải đang chạy.",
    )


def _need_tsa(session: ServiceSession) -> Any:
    if session.timestamper is None:
        raise SigningError(
            "Dữ liệu lưu trữ dài hạn cần dấu thời gian nhưng chưa cấu hình TSA.",
            hint="Đặt tsa_url trong mục [chung_thu] của school.toml (chế độ demo tự có TSA).",
        )
    return session.timestamper


# --------------------------------------------------------------------------- XML


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def xml_seal(root: Any) -> Any:
    """The seal's ``ds:Signature`` element (RecordError if absent)."""
    seal = root.find(f"{CHUKY_TAG}/{SIGNATURE_TAG}[@Id='{SEAL_ID}']")
    if seal is None:
        raise RecordError(
            "Học bạ XML chưa có chữ ký đóng dấu nên chưa thêm được dữ liệu lưu trữ dài hạn.",
            hint="Đóng dấu học bạ trước (bước đóng dấu của nhà trường).",
        )
    return seal


def unsigned_properties(seal: Any) -> Any:
    """The seal's ``xades:UnsignedSignatureProperties`` (made by its signature timestamp)."""
    props = seal.find(
        f"{{{DS}}}Object/{{{XADES}}}QualifyingProperties/{{{XADES}}}UnsignedProperties/"
        f"{{{XADES}}}UnsignedSignatureProperties"
    )
    if props is None:
        raise RecordError(
            "Chữ ký đóng dấu của học bạ XML không có dấu thời gian chữ ký.",
            hint="Đóng dấu lại học bạ với dịch vụ cấp dấu thời gian.",
        )
    return props


def decode_b64(element: Any) -> bytes:
    return base64.b64decode("".join((element.text or "").split()), validate=True)


def xml_timestamp_tokens(seal: Any) -> list[tuple[Any, cms.ContentInfo]]:
    """(element, token) of the seal's SignatureTimeStamp and ArchiveTimeStamps, in order."""
    found = []
    for el in unsigned_properties(seal):
        if el.tag in (f"{{{XADES}}}SignatureTimeStamp", ARCHIVE_TAG):
            enc = el.find(_ENC)
            if enc is None:
                raise ValueError("timestamp without EncapsulatedTimeStamp")
            found.append((el, cms.ContentInfo.load(decode_b64(enc))))
    return found


def archive_imprint(root: Any, archive: Any) -> bytes:
    """SHA-256 of the C14N of the document with ``archive`` and what follows it removed."""
    return hashlib.sha256(archive_c14n(root, archive)).digest()


def archive_c14n(root: Any, archive: Any) -> bytes:
    """The C14N of the document with ``archive`` and what follows it removed."""
    doc = copy.deepcopy(root)
    props = unsigned_properties(xml_seal(doc))
    index = list(unsigned_properties(xml_seal(root))).index(archive)
    for el in list(props)[index:]:
        props.remove(el)
    data: bytes = etree.tostring(doc, method="c14n")
    return data


def _xml_chains(root: Any) -> Chains:
    chains = []
    for signature in root.find(CHUKY_TAG):
        certs = [
            asn1_x509.Certificate.load(decode_b64(el))
            for el in signature.iter(f"{{{DS}}}X509Certificate")
        ]
        if certs:
            chains.append((certs[0], certs[1:]))
    for _, token in xml_timestamp_tokens(xml_seal(root)):
        cert, others = token_signer(token["content"])
        chains.append((cert, others))
    return chains


def _values(
    parent: Any,
    certs: list[asn1_x509.Certificate],
    ocsps: list[ocsp.OCSPResponse],
    crls: list[crl.CertificateList],
) -> None:
    values = etree.SubElement(parent, f"{{{XADES}}}CertificateValues")
    for cert in certs:
        etree.SubElement(values, f"{{{XADES}}}EncapsulatedX509Certificate").text = _b64(cert.dump())
    revocation = etree.SubElement(parent, f"{{{XADES}}}RevocationValues")
    if crls:
        crl_values = etree.SubElement(revocation, f"{{{XADES}}}CRLValues")
        for item in crls:
            etree.SubElement(crl_values, f"{{{XADES}}}EncapsulatedCRLValue").text = _b64(
                item.dump()
            )
    if ocsps:
        ocsp_values = etree.SubElement(revocation, f"{{{XADES}}}OCSPValues")
        for answer in ocsps:
            etree.SubElement(ocsp_values, f"{{{XADES}}}EncapsulatedOCSPValue").text = _b64(
                answer.dump()
            )


async def _append_archive_timestamp(root: Any, session: ServiceSession) -> None:
    props = unsigned_properties(xml_seal(root))
    n = sum(1 for el in props if el.tag == ARCHIVE_TAG) + 1
    archive = etree.SubElement(
        props, ARCHIVE_TAG, Id=f"{SEAL_ID}-luutru-{n}", nsmap={"xadesv141": XADES141}
    )
    etree.SubElement(archive, f"{{{DS}}}CanonicalizationMethod", Algorithm=ARCHIVE_C14N)
    imprint = archive_imprint(root, archive)
    try:
        token = await _need_tsa(session).async_timestamp(imprint, "sha256")
    except (TimestampRequestError, OSError) as exc:
        raise _tsa_error(exc) from exc
    etree.SubElement(archive, _ENC).text = _b64(token.dump())


def _serialise(root: Any) -> bytes:
    data: bytes = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
    return data


async def extend_xml_longterm(xml: bytes, session: ServiceSession) -> bytes:
    """The sealed record XML with XAdES-LT values and a first archive timestamp (LTA).

    Idempotent: an XML that already has an archive timestamp is returned unchanged.
    """
    root = parse_record(xml)
    props = unsigned_properties(xml_seal(root))
    if props.find(ARCHIVE_TAG) is not None:
        return xml
    _, (certs, ocsps, crls) = await collect_chain_data(session, _xml_chains(root))
    _values(props, certs, ocsps, crls)
    await _append_archive_timestamp(root, session)
    return _serialise(root)


async def renew_xml_archive(xml: bytes, session: ServiceSession) -> bytes:
    """Append fresh validation data and a new archive timestamp to an LTA record XML."""
    root = parse_record(xml)
    props = unsigned_properties(xml_seal(root))
    if props.find(ARCHIVE_TAG) is None:
        raise RecordError(
            "Học bạ XML chưa có dấu thời gian lưu trữ nên không gia hạn được.",
            hint="Học bạ phát hành trước khi có tính năng lưu trữ dài hạn cần đóng dấu lại.",
        )
    context = session.validation_context(other_certs=[])
    certs, ocsps, crls = await collect_validation_data(context, _xml_chains(root))
    data = etree.SubElement(props, TS_VALIDATION_TAG, nsmap={"xadesv141": XADES141})
    _values(data, certs, ocsps, crls)
    await _append_archive_timestamp(root, session)
    return _serialise(root)


def xml_newest_timestamp_expiry(xml: bytes) -> dt.datetime:
    """When the certificate of the record XML's newest timestamp expires."""
    root = parse_record(xml)
    _, token = xml_timestamp_tokens(xml_seal(root))[-1]
    cert, _ = token_signer(token["content"])
    moment: dt.datetime = cert["tbs_certificate"]["validity"]["not_after"].native
    return moment


def is_renewal_of(attached: bytes, renewed: bytes) -> bool:
    """``renewed`` is ``attached`` with only renewal elements appended to the seal's
    unsigned properties (``TimeStampValidationData``, ``ArchiveTimeStamp``)."""
    try:
        old, new = parse_record(attached), parse_record(renewed)
        old_props = unsigned_properties(xml_seal(old))
        new_props = unsigned_properties(xml_seal(new))
    except RecordError:
        return False
    kept = len(old_props)
    extra = list(new_props)[kept:]
    if any(el.tag not in (ARCHIVE_TAG, TS_VALIDATION_TAG) for el in extra):
        return False
    for el in extra:
        new_props.remove(el)
    return bool(etree.tostring(old, method="c14n") == etree.tostring(new, method="c14n"))


# --------------------------------------------------------------------------- PDF


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _signature_contents(pdf: bytes, filled_fields: int) -> list[cms.SignedData] | None:
    """Every signature's and document timestamp's CMS, in file order, read from the
    holes their byte ranges leave; None when that reading is not certain.

    Why: pyHanko parses a signature's /Contents hex string one token at a time in
    pure Python (tens of milliseconds per signature). The hole of a byte range
    ``[0 b c d]`` is exactly ``<hex>`` from ``b`` to ``c``. The result counts only if
    every hole is such a string holding a CMS SignedData and there are as many as the
    form has filled signature fields (``filled_fields``, read by the caller from the
    reader it extends); otherwise the caller reads the signatures with pyHanko.
    """
    found: list[cms.SignedData] = []
    for match in _BYTE_RANGE.finditer(pdf):
        start, resume, tail = (int(g) for g in match.groups())
        if pdf[start : start + 1] != b"<" or pdf[resume - 1 : resume] != b">":
            return None
        if resume + tail > len(pdf):
            return None
        try:
            der = bytes.fromhex(pdf[start + 1 : resume - 1].decode("ascii"))
            info = cms.ContentInfo.load(der, strict=False)
            if info["content_type"].native != "signed_data":
                return None
            signed_data = info["content"]
            signed_data["encap_content_info"]["content_type"].native  # noqa: B018 - parse
        except (ValueError, TypeError, KeyError):
            return None
        found.append(signed_data)
    if len(found) != filled_fields:
        return None
    return found


def _attributes(unsigned: Any) -> Any:
    """A signer's unsigned attributes, none when absent: asn1crypto's ``Void`` (what an
    absent optional field reads as) instead of ``.native is None``, which converted
    every attribute, timestamp token included, to Python values to find out."""
    return () if isinstance(unsigned, core.Void) else unsigned


def _fast_pdf_chains(pdf: bytes, filled_fields: int) -> tuple[Chains, int] | None:
    """``_pdf_chains`` and the number of document timestamps, without pyHanko's parser
    of signature values."""
    contents = _signature_contents(pdf, filled_fields)
    if contents is None:
        return None
    chains: Chains = []
    stamps = 0
    try:
        for signed_data in contents:
            cert, others = token_signer(signed_data)
            chains.append((cert, [c for c in others if c.sha256 != cert.sha256]))
            if signed_data["encap_content_info"]["content_type"].native == "tst_info":
                stamps += 1  # a document timestamp
                continue
            unsigned = signed_data["signer_infos"][0]["unsigned_attrs"]
            for attr in _attributes(unsigned):
                if attr["type"].native == "signature_time_stamp_token":
                    chains.append(token_signer(attr["values"][0]["content"]))
    except (RecordError, ValueError, TypeError, KeyError):
        return None
    return chains, stamps


def _pdf_chains(
    reader: PdfFileReader,
) -> list[tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]]:
    chains: list[tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]] = []
    for sig in reader.embedded_signatures:
        signed_data = sig.signed_data
        if sig.sig_object_type == "/DocTimeStamp":
            chains.append(token_signer(signed_data))
            continue
        chains.append((sig.signer_cert, list(sig.other_embedded_certs)))
        for attr in _attributes(sig.signer_info["unsigned_attrs"]):
            if attr["type"].native == "signature_time_stamp_token":
                chains.append(token_signer(attr["values"][0]["content"]))
    return chains


def pdf_document_timestamps(pdf: bytes) -> int:
    """How many document timestamps the PDF carries."""
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    return len(reader.embedded_timestamp_signatures)


def pdf_newest_timestamp(pdf: bytes) -> tuple[dt.datetime, dt.datetime]:
    """The time of the PDF's newest document timestamp and when its TSA certificate expires."""
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    stamps = list(reader.embedded_timestamp_signatures)
    if not stamps:
        raise RecordError(
            "Bản PDF chưa có dấu thời gian tài liệu (lưu trữ dài hạn).",
            hint="Học bạ đóng dấu trước khi có lưu trữ dài hạn: báo cho tổ công tác.",
        )
    signed_data = stamps[-1].signed_data
    cert, _ = token_signer(signed_data)
    expiry: dt.datetime = cert["tbs_certificate"]["validity"]["not_after"].native
    return token_time(signed_data), expiry


async def _tsa_paths(
    session: ServiceSession, context: ValidationContext, timestamper: Any
) -> list[Any]:
    """The validation paths of the TSA's certificates in ``context``, as pyHanko's
    ``PdfTimeStamper`` computes them for the DSS before a document timestamp.

    Why kept: pyHanko validates the TSA's chain again (revocation answers checked
    anew) for every document timestamp, though the context, and so the answer, is
    the same for every record of a class (``collect_chain_data`` renews the context
    when its data ages). One slot: the paths of the last context asked for, reused only
    for that same context (records come a class at a time, so a class computes them
    once); a validation that fails is not kept (it fails again for the next record).
    """
    kept = session.cache.get("tsa-paths")
    if kept is not None and kept[0] is context:
        paths: list[Any] = kept[1]
        return paths
    paths = [path async for path in timestamper.validation_paths(context)]
    session.cache["tsa-paths"] = (context, paths)
    return paths


async def extend_pdf_longterm(pdf: bytes, session: ServiceSession) -> bytes:
    """The sealed PDF plus one revision: DSS for every signature and a document timestamp.

    Also the renewal: each call adds exactly one document timestamp.
    """
    timestamper = _need_tsa(session)
    try:
        # One parse of the file: its form is read from the reader the writer extends.
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        fast = _fast_pdf_chains(pdf, len(signature_fields(reader)))
        if fast is not None:
            chains, count = fast
        else:
            chains = _pdf_chains(reader)
            count = len(reader.embedded_timestamp_signatures)
    except (PdfError, ValueError, KeyError) as exc:
        raise RecordError(
            "Tệp PDF của học bạ không đọc được nên chưa thêm được dữ liệu lưu trữ dài hạn.",
            hint="Lấy lại bản PDF đã đóng dấu từ kho dữ liệu.",
        ) from exc
    context, (certs, ocsps, crls) = await collect_chain_data(session, chains)
    writer = IncrementalPdfFileWriter.from_reader(reader)
    # The strict profile allows no metadata change after the seal: this revision adds
    # validation data and a timestamp only (pyHanko would refresh XMP/Info dates).
    setattr(writer, "_update_meta", lambda: None)  # noqa: B010 - instance-local override
    DocumentSecurityStore.supply_dss_in_writer(
        writer, None, certs=certs, ocsps=ocsps, crls=crls, embed_roots=True
    )
    stamper = PdfTimeStamper(timestamper, field_name=f"{DOC_TIMESTAMP_FIELD}{count + 1}")
    try:
        # What pyHanko does first with a validation context and ``update_before_ts``
        # (the TSA's validation paths into the DSS, no VRI), with the paths kept for
        # the context's life; the timestamp itself then needs no context.
        paths = await _tsa_paths(session, context, timestamper)
        DocumentSecurityStore.supply_dss_in_writer(
            writer, None, paths=paths, validation_context=context, embed_roots=True
        )
        output = await stamper.async_timestamp_pdf(
            writer,
            "sha256",
            validation_context=None,
            bytes_reserved=_DOC_TIMESTAMP_BYTES,
            output=BytesIO(),
        )
    except (TimestampRequestError, OSError) as exc:
        raise _tsa_error(exc) from exc
    result: bytes = output.getvalue()
    return result
