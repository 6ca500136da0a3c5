"""A generated corpus of attacks on one sealed demo record, and the honest updates.

Built once per test session from one record that went through the seal step as the
pipeline does it (XAdES-LTA XML, PAdES B-LTA PDF). Each case names the check that must
fail (or that all must pass, for the honest updates). The classes follow the public
literature: PDF Insecurity (incremental saving, signature wrapping, universal
forgery, shadow hide/replace), XML Signature Wrapping XSW1-8, comment injection,
XXE and entity bombs, truncation to an earlier revision, foreign certificates.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigFieldSpec, append_signature_field
from pyhanko.sign.validation.dss import DocumentSecurityStore

from hocbaso.demo.pki import DemoPki, load_demo_signer
from hocbaso.render import RecordRenderer
from hocbaso.signing import (
    RecordSigner,
    ServiceSession,
    TrustSettings,
    async_sign_record_pdf,
    async_sign_record_xml,
    signer_from_pkcs12,
)
from hocbaso.signing.attachment import _embedded_stream_ref, _filespec
from hocbaso.signing.longterm import (
    extend_pdf_longterm,
    extend_xml_longterm,
    renew_xml_archive,
)
from hocbaso.signing.xml_signature import DS, NS, XADES

DATA = f"{{{NS}}}thongtinsohocbasotieuhoc"
BOMB = "".join(
    f'<!ENTITY {name} "{(ref * 10) if ref else "a" * 10}">'
    for name, ref in (("a", ""), ("b", "&a;"), ("c", "&b;"), ("d", "&c;"))
)
CHUKY = f"{{{NS}}}chuky"
SIG = f"{{{DS}}}Signature"


@dataclass(frozen=True)
class Case:
    """One file of the corpus: ``fails`` names a check that must fail (``None``: an honest
    update, every check must pass); ``sub``: its sub-indication, when it matters."""

    name: str
    kind: str  # "xml" | "pdf"
    data: bytes
    fails: str | None
    sub: str | None = None


# --------------------------------------------------------------------------- the record


async def seal_record(
    xml: bytes,
    pdf: bytes,
    signers: dict[str, RecordSigner],
    pki: DemoPki,
    trust: TrustSettings,
    *,
    corrupt_gvcn_xml: bool = False,
) -> tuple[bytes, bytes]:
    """GVCN, HT and the seal sign both documents as ``hocbaso.issue`` does, long-term data
    included. ``corrupt_gvcn_xml``: the GVCN's XAdES signature value is broken before the
    next signer, so only the XML the PDF carries is bad (its PAdES signatures are fine)."""
    async with ServiceSession(tsa_url=pki.tsa_url, trust=trust) as session:
        for role in ("gvcn", "ht", "condau"):
            xml = await async_sign_record_xml(
                xml,
                signers[role],
                role,
                timestamper=session.timestamper,  # type: ignore[arg-type]
            )
            if role == "gvcn" and corrupt_gvcn_xml:
                xml = _corrupt_signature_value(xml, "chuky-gvcn")
            if role == "condau":
                xml = await extend_xml_longterm(xml, session)
            pdf = await async_sign_record_pdf(
                pdf,
                signers[role],
                role,
                signed_xml=xml,
                session=session,  # type: ignore[arg-type]
            )
            if role == "condau":
                pdf = await extend_pdf_longterm(pdf, session)
    return xml, pdf


def _corrupt_signature_value(xml: bytes, sid: str) -> bytes:
    root = etree.fromstring(xml)
    value = root.find(f"{CHUKY}/{SIG}[@Id='{sid}']/{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0xFF
    value.text = base64.b64encode(bytes(raw)).decode()
    return _dump(root)


def _dump(root: etree._Element) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def self_made_signer(pki: DemoPki, tmp: Path, personal_id: str) -> RecordSigner:
    """A CA made at home with the demo root's very name, and a 'GVCN' certificate from it."""
    root_cert = x509.load_pem_x509_certificate(pki.root_certificate.read_bytes())
    ca_cert = x509.load_pem_x509_certificate(pki.ca_certificate.read_bytes())
    now = dt.datetime.now(dt.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def issue(
        subject: x509.Name, issuer: x509.Name, key: object, signer: object, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())  # type: ignore[attr-defined]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                critical=True,
            )
        return builder.sign(signer, hashes.SHA256())  # type: ignore[arg-type]

    fake_root = issue(root_cert.subject, root_cert.subject, root_key, root_key, True)
    fake_ca = issue(ca_cert.subject, root_cert.subject, ca_key, root_key, True)
    leaf_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Nguyễn Thị Hoa"),
            x509.NameAttribute(NameOID.USER_ID, f"CCCD:{personal_id}"),
        ]
    )
    leaf = issue(leaf_name, ca_cert.subject, leaf_key, ca_key, False)
    path = tmp / "tu-tao.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"gia",
            leaf_key,
            leaf,
            [fake_ca, fake_root],
            serialization.BestAvailableEncryption(b"mk"),
        )
    )
    return signer_from_pkcs12(path, "mk")


# --------------------------------------------------------------------------- XML attacks


def _root(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False))


def _seal(root: etree._Element) -> etree._Element:
    return root.find(f"{CHUKY}/{SIG}[@Id='chuky-condau']")


def _xsw(xml: bytes, n: int) -> bytes:
    """XML Signature Wrapping variants: the signed data kept somewhere the signature still
    finds it by Id, a forged copy where a reader looks."""
    root = _root(xml)
    data = root.find(DATA)
    forged = copy.deepcopy(data)
    forged.find(f"{{{NS}}}hovaten").text = "Người Khác"
    seal = _seal(root)
    if n == 1:  # original into a new ds:Object of the seal, forged in place
        root.replace(data, forged)
        obj = etree.SubElement(seal, f"{{{DS}}}Object")
        obj.append(data)
    elif n == 2:  # forged copy with the same Id before the original
        root.insert(0, forged)
    elif n == 3:  # original wrapped in a foreign element at the root, forged in place
        root.replace(data, forged)
        wrapper = etree.SubElement(root, "{urn:ke-gian}bao")
        wrapper.append(data)
    elif n == 4:  # original inside chuky, forged in place
        root.replace(data, forged)
        root.find(CHUKY).insert(0, data)
    elif n == 5:  # forged Id renamed, original in the seal's existing Object
        forged.set("Id", "hocba-du-lieu-2")
        root.replace(data, forged)
        seal.find(f"{{{DS}}}Object").append(data)
    elif n == 6:  # original inside the seal's SignedInfo
        root.replace(data, forged)
        seal.find(f"{{{DS}}}SignedInfo").append(data)
    elif n == 7:  # original inside the seal's unsigned properties
        root.replace(data, forged)
        seal.find(f".//{{{XADES}}}UnsignedSignatureProperties").append(data)
    else:  # 8: original inside KeyInfo, forged after the signatures
        root.remove(data)
        seal.find(f"{{{DS}}}KeyInfo").append(data)
        root.append(forged)
    return _dump(root)


def _comment_in_name(xml: bytes) -> bytes:
    text = xml.decode()
    name = re.search(r"<hovaten>([^<]+)</hovaten>", text).group(1)  # type: ignore[union-attr]
    return text.replace(
        f"<hovaten>{name}</hovaten>", f"<hovaten>{name[:-1]}<!---->{name[-1]}</hovaten>"
    ).encode()


def _pi_in_name(xml: bytes) -> bytes:
    return xml.replace(b"</hovaten>", b"<?ke gian?></hovaten>", 1)


def _doctype(xml: bytes, body: str) -> bytes:
    head, rest = xml.split(b"?>", 1)
    return head + b"?>\n" + f"<!DOCTYPE hocba [{body}]>".encode() + rest


def _unsigned_object(xml: bytes) -> bytes:
    root = _root(xml)
    obj = etree.SubElement(_seal(root), f"{{{DS}}}Object")
    forged = copy.deepcopy(root.find(DATA))
    forged.set("Id", "ban-sua")
    obj.append(forged)
    return _dump(root)


def _foreign_correction(xml: bytes) -> bytes:
    root = _root(xml)
    qp = _seal(root).find(f".//{{{XADES}}}QualifyingProperties")
    etree.SubElement(qp, "{urn:ke-gian}dinhchinh").text = "hovaten: Người Khác"
    return _dump(root)


def _empty_timestamp(xml: bytes, tag: str) -> bytes:
    root = _root(xml)
    el = _seal(root).find(f".//{tag}/{{{XADES}}}EncapsulatedTimeStamp")
    el.text = ""
    return _dump(root)


def _strip_archive(xml: bytes) -> bytes:
    root = _root(xml)
    props = _seal(root).find(f".//{{{XADES}}}UnsignedSignatureProperties")
    for el in list(props):
        if etree.QName(el).localname == "ArchiveTimeStamp":
            props.remove(el)
    return _dump(root)


def _changed_name(xml: bytes) -> bytes:
    text = xml.decode()
    return re.sub(
        r"<hovaten>[^<]+</hovaten>", "<hovaten>Người Khác</hovaten>", text, count=1
    ).encode()


# --------------------------------------------------------------------------- PDF attacks


def _update(
    pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None], *, meta: bool = False
) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    if not meta:
        setattr(writer, "_update_meta", lambda: None)  # noqa: B010
    change(writer)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _info_rewrite(writer: IncrementalPdfFileWriter) -> None:
    info_ref = writer.trailer.raw_get("/Info")
    info = info_ref.get_object()
    info["/Title"] = generic.TextStringObject("Học bạ đã sửa")
    writer.mark_update(info_ref)


def _xmp_rewrite(writer: IncrementalPdfFileWriter) -> None:
    meta_ref = writer.root.raw_get("/Metadata")
    stream = meta_ref.get_object()
    data = stream.data.replace(b"H\xe1\xbb\x8dc b\xe1\xba\xa1", b"Gi\xe1\xba\xa3 m\xe1\xba\xa1o", 1)
    new = generic.StreamObject(dict(stream.items()), stream_data=data + b" ")
    new.pop("/Length", None)
    new.pop("/Filter", None)
    new.pop("/DecodeParms", None)
    writer.root["/Metadata"] = writer.add_object(new)
    writer.update_root()


def _overlay_field(writer: IncrementalPdfFileWriter) -> None:
    pages = int(writer.root["/Pages"]["/Count"])
    append_signature_field(
        writer,
        SigFieldSpec(sig_field_name="ChuKyPhu", on_page=min(3, pages - 1), box=(0, 0, 600, 850)),
    )


def _annotation(writer: IncrementalPdfFileWriter) -> None:
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    annot = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/FreeText"),
            generic.pdf_name("/Rect"): generic.ArrayObject(
                [generic.NumberObject(x) for x in (50, 50, 500, 200)]
            ),
            generic.pdf_name("/Contents"): generic.TextStringObject(
                "Xếp loại: Hoàn thành xuất sắc"
            ),
            generic.pdf_name("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
        }
    )
    annots = page.get("/Annots", generic.ArrayObject())
    annots = generic.ArrayObject(list(annots))
    annots.append(writer.add_object(annot))
    page["/Annots"] = annots
    writer.update_container(page)


def _shadow_replace(writer: IncrementalPdfFileWriter) -> None:
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"q 1 g 0 0 600 850 re f Q")
    )
    writer.update_container(page)


def _new_page(writer: IncrementalPdfFileWriter) -> None:
    pages_ref = writer.root.raw_get("/Pages")
    pages = pages_ref.get_object()
    page = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/Parent"): pages_ref,
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(x) for x in (0, 0, 595, 842)]
            ),
            generic.pdf_name("/Contents"): writer.add_object(generic.StreamObject(stream_data=b"")),
        }
    )
    kids = pages["/Kids"]
    kids.append(writer.add_object(page))
    pages["/Count"] = generic.NumberObject(int(pages["/Count"]) + 1)
    writer.update_container(pages)


def _attachment_swap(writer: IncrementalPdfFileWriter) -> None:
    spec_obj = _filespec(writer.root)
    spec = spec_obj.get_object()
    old = _embedded_stream_ref(spec).get_object()
    forged = _changed_name(old.data)
    stream = EmbeddedFileObject.from_file_data(
        writer,
        forged,
        compress=True,
        params=EmbeddedFileParams(embed_size=True, embed_checksum=True),
    )
    stream["/Subtype"] = old["/Subtype"]
    ef = spec.raw_get("/EF")
    for key in list(ef):
        ef[key] = stream.ef_stream_ref
    writer.update_container(spec)


def _revisions(pdf: bytes) -> list[int]:
    return [m.end() for m in re.finditer(rb"%%EOF\r?\n?", pdf)]


def _byterange_null(pdf: bytes, index: int) -> bytes:
    spots = [m for m in re.finditer(rb"/ByteRange\s*\[[^\]]*\]", pdf)]
    m = spots[index]
    replacement = b"/ByteRange null"
    replacement += b" " * (m.end() - m.start() - len(replacement))
    return pdf[: m.start()] + replacement + pdf[m.end() :]


def _byterange_shrunk(pdf: bytes, index: int) -> bytes:
    """Signature wrapping: the byte range points at less than the revision."""
    spots = [m for m in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)]
    m = spots[index]
    a, b, c, d = (int(x) for x in m.groups())
    new = f"/ByteRange [{a} {b} {c} {d - 10}]".encode()
    new += b" " * (m.end() - m.start() - len(new))
    return pdf[: m.start()] + new + pdf[m.end() :]


def _zero_contents(pdf: bytes, index: int) -> bytes:
    """Universal forgery: the signature value emptied (zeros), everything else in place."""
    spots = [m for m in re.finditer(rb"/Contents\s*<([0-9a-fA-F]+)>", pdf)]
    m = spots[index]
    return pdf[: m.start(1)] + b"0" * (m.end(1) - m.start(1)) + pdf[m.end(1) :]


def _flip_signed_byte(pdf: bytes) -> bytes:
    index = pdf.find(b"stream", 100) + 20
    changed = bytearray(pdf)
    changed[index] ^= 0x01
    return bytes(changed)


def _dss_only(pdf: bytes, pki: DemoPki) -> bytes:
    ca = x509.load_pem_x509_certificate(pki.ca_certificate.read_bytes())
    from asn1crypto import x509 as asn1_x509

    out = BytesIO(pdf)
    DocumentSecurityStore.add_dss(
        out, None, certs=[asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))]
    )
    return out.getvalue()


# --------------------------------------------------------------------------- the corpus


def build_corpus(
    xml: bytes,
    pdf: bytes,
    *,
    foreign: tuple[bytes, bytes],
    self_made: tuple[bytes, bytes],
    bad_inner_pdf: bytes,
    renewed_xml: bytes,
    renewed_pdf: bytes,
    pki: DemoPki,
) -> list[Case]:
    """Every case, honest updates last."""
    revs = _revisions(pdf)
    cases = [
        Case("xml-chu-thich-trong-ten", "xml", _comment_in_name(xml), "xml.cau-truc"),
        Case("xml-chi-thi-xu-ly", "xml", _pi_in_name(xml), "xml.cau-truc"),
        *(Case(f"xml-xsw{n}", "xml", _xsw(xml, n), "xml.cau-truc") for n in range(1, 9)),
        Case("xml-ds-object-khong-ky", "xml", _unsigned_object(xml), "xml.cau-truc"),
        Case("xml-dinh-chinh-ngoai-namespace", "xml", _foreign_correction(xml), "xml.cau-truc"),
        Case(
            "xml-xxe",
            "xml",
            _doctype(
                _changed_name(xml).replace(b"Ng\xc6\xb0\xe1\xbb\x9di Kh\xc3\xa1c", b"&xxe;"),
                '<!ENTITY xxe SYSTEM "file:///etc/passwd">',
            ),
            "xml.cau-truc",
        ),
        Case(
            "xml-bom-thuc-the",
            "xml",
            _doctype(
                xml,
                BOMB,
            ).replace(b"</hovaten>", b"&d;</hovaten>", 1),
            "xml.cau-truc",
        ),
        Case("xml-doctype", "xml", _doctype(xml, '<!ENTITY ten "X">'), "xml.cau-truc"),
        Case("xml-sua-du-lieu", "xml", _changed_name(xml), "chuky-gvcn.chu-ky", "HASH_FAILURE"),
        Case(
            "xml-dau-thoi-gian-rong",
            "xml",
            _empty_timestamp(xml, f"{{{XADES}}}SignatureTimeStamp"),
            "chuky-condau.dau-thoi-gian",
        ),
        Case(
            "xml-dau-thoi-gian-luu-tru-rong",
            "xml",
            _empty_timestamp(xml, "{http://uri.etsi.org/01903/v1.4.1#}ArchiveTimeStamp"),
            "chuky-condau-luutru-1.dau-thoi-gian",
        ),
        Case("xml-bo-luu-tru", "xml", _strip_archive(xml), "chuky-condau-luutru.co-mat"),
        Case("xml-cat-cut", "xml", xml[: len(xml) // 2], "xml.doc-tep"),
        Case(
            "xml-chung-thu-nguoi-khac",
            "xml",
            foreign[0],
            "chuky-gvcn.vai-tro",
            "SIG_CONSTRAINTS_FAILURE",
        ),
        Case(
            "xml-chung-thu-nguoi-khac-ht",
            "xml",
            foreign[0],
            "chuky-ht.vai-tro",
            "SIG_CONSTRAINTS_FAILURE",
        ),
        Case(
            "xml-chung-thu-nguoi-khac-dau",
            "xml",
            foreign[0],
            "chuky-condau.vai-tro",
            "SIG_CONSTRAINTS_FAILURE",
        ),
        Case(
            "xml-ca-tu-tao",
            "xml",
            self_made[0],
            "chuky-gvcn.chung-thu",
            "NO_CERTIFICATE_CHAIN_FOUND",
        ),
        # PDF
        Case("pdf-sua-info", "pdf", _update(pdf, _info_rewrite), "ChuKyConDau.pham-vi"),
        Case("pdf-sua-xmp", "pdf", _update(pdf, _xmp_rewrite), "ChuKyConDau.pham-vi"),
        Case(
            "pdf-cap-nhat-sieu-du-lieu-pyhanko",
            "pdf",
            _update(pdf, lambda w: w.update_root(), meta=True),
            "ChuKyConDau.pham-vi",
        ),
        Case("pdf-truong-phu-trang-4", "pdf", _update(pdf, _overlay_field), "ChuKyConDau.pham-vi"),
        Case("pdf-chu-thich", "pdf", _update(pdf, _annotation), "ChuKyConDau.pham-vi"),
        Case("pdf-bong-thay-noi-dung", "pdf", _update(pdf, _shadow_replace), "ChuKyConDau.pham-vi"),
        Case("pdf-them-trang", "pdf", _update(pdf, _new_page), "ChuKyConDau.pham-vi"),
        Case("pdf-thay-tep-dinh-kem", "pdf", _update(pdf, _attachment_swap), "ChuKyConDau.pham-vi"),
        Case("pdf-cat-truoc-dau-thoi-gian", "pdf", pdf[: revs[-2]], "pdf.dau-thoi-gian-tai-lieu"),
        Case("pdf-cat-truoc-dong-dau", "pdf", pdf[: revs[-4]], "ChuKyConDau.co-mat"),
        Case("pdf-byterange-null", "pdf", _byterange_null(pdf, 2), "ChuKyConDau.chu-ky"),
        Case("pdf-byterange-thu-hep", "pdf", _byterange_shrunk(pdf, 2), "ChuKyConDau.pham-vi"),
        Case("pdf-gia-mao-chu-ky-rong", "pdf", _zero_contents(pdf, 2), "pdf.doc-tep"),
        Case("pdf-sua-mot-byte", "pdf", _flip_signed_byte(pdf), "ChuKyGVCN.chu-ky"),
        Case(
            "pdf-chung-thu-nguoi-khac",
            "pdf",
            foreign[1],
            "ChuKyGVCN.vai-tro",
            "SIG_CONSTRAINTS_FAILURE",
        ),
        Case(
            "pdf-ca-tu-tao",
            "pdf",
            self_made[1],
            "ChuKyGVCN.chung-thu",
            "NO_CERTIFICATE_CHAIN_FOUND",
        ),
        Case("pdf-xades-dinh-kem-hong", "pdf", bad_inner_pdf, "dinh-kem:chuky-gvcn.chu-ky"),
        Case("pdf-cat-cut", "pdf", pdf[: len(pdf) // 3], "pdf.doc-tep"),
        # honest updates
        Case("trung-thuc-xml", "xml", xml, None),
        Case("trung-thuc-pdf", "pdf", pdf, None),
        Case("trung-thuc-them-dss", "pdf", _dss_only(pdf, pki), None),
        Case("trung-thuc-gia-han-pdf", "pdf", renewed_pdf, None),
        Case("trung-thuc-gia-han-xml", "xml", renewed_xml, None),
    ]
    return cases


def make_corpus(
    xml: bytes,
    pdf: bytes,
    pki: DemoPki,
    trust: TrustSettings,
    renderer: RecordRenderer,
    foreign_xml: bytes,
    tmp: Path,
) -> list[Case]:
    """The corpus from the honest sealed record and the pieces the attacks need."""
    signers = {
        r: load_demo_signer(pki, k)
        for r, k in (("gvcn", "GV01"), ("ht", "HT01"), ("condau", "con-dau"))
    }
    other = load_demo_signer(pki, "GV98")

    async def build() -> tuple[tuple[bytes, bytes], tuple[bytes, bytes], bytes, bytes, bytes]:
        foreign = await seal_record(
            foreign_xml, renderer.render(foreign_xml), {r: other for r in signers}, pki, trust
        )
        fake = self_made_signer(pki, tmp, "001190000001")
        self_made = await seal_record(
            foreign_xml, renderer.render(foreign_xml), {**signers, "gvcn": fake}, pki, trust
        )
        bad_inner = await seal_record(
            foreign_xml, renderer.render(foreign_xml), signers, pki, trust, corrupt_gvcn_xml=True
        )
        async with ServiceSession(tsa_url=pki.tsa_url, trust=trust) as session:
            renewed_pdf = await extend_pdf_longterm(pdf, session)
            renewed_xml = await renew_xml_archive(xml, session)
        return foreign, self_made, bad_inner[1], renewed_xml, renewed_pdf

    foreign, self_made, bad_inner, renewed_xml, renewed_pdf = asyncio.run(build())
    return build_corpus(
        xml,
        pdf,
        foreign=foreign,
        self_made=self_made,
        bad_inner_pdf=bad_inner,
        renewed_xml=renewed_xml,
        renewed_pdf=renewed_pdf,
        pki=pki,
    )
