"""The PDF's ``hocba.xml`` follows the signed XML, and nothing else may change after a signature.

Revisions are forged here with pyHanko's writer (no signature, just an incremental
update) to show what the difference analysis lets through after the GVCN signature:
the XML with appended signatures passes ``ChuKyGVCN.pham-vi``; changed data, a changed
earlier signature, the same XML again, a lying size, or another attachment fail it.
"""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
import typst
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature

from hocbaso.errors import RecordError
from hocbaso.render import extract_record_xml
from hocbaso.signing import (
    RecordSigner,
    TrustSettings,
    sign_record_pdf,
    sign_record_xml,
    verify_record_pdf,
)
from hocbaso.signing.attachment import RECORD_DIFF_POLICY, is_signed_successor
from hocbaso.signing.xml_signature import DS

STUDENT = "Phạm Thị Mười Một".encode()
OTHER = "Phạm Thị Mười Hai".encode()


@pytest.fixture(scope="module")
def stages(
    record_xml: bytes,
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
) -> dict[str, bytes]:
    """The locked XML, the XML after GVCN and after HT, and the PDF signed by GVCN."""
    gvcn = sign_record_xml(record_xml, gvcn_signer, "gvcn")
    return {
        "locked": record_xml,
        "gvcn": gvcn,
        "ht": sign_record_xml(gvcn, ht_signer, "ht"),
        "pdf": sign_record_pdf(record_pdf, gvcn_signer, "gvcn", signed_xml=gvcn),
    }


def replaced(pdf: bytes, xml: bytes, *, size: int | None = None) -> bytes:
    """``pdf`` plus an unsigned revision whose ``hocba.xml`` is ``xml`` (a new stream)."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    spec = writer.root["/Names"]["/EmbeddedFiles"]["/Names"][1]
    stream = EmbeddedFileObject.from_file_data(
        writer, xml, params=EmbeddedFileParams(modification_date=dt.datetime.now(dt.UTC))
    )
    stream["/Subtype"] = spec["/EF"]["/F"]["/Subtype"]
    if size is not None:  # written before /Params: EmbeddedFileObject adds them on write
        stream.params = None
        stream["/Params"] = generic.DictionaryObject({"/Size": generic.NumberObject(size)})
    for key in ("/F", "/UF"):
        spec["/EF"][key] = stream.ef_stream_ref
    writer.update_container(spec)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def with_extra_file(pdf: bytes) -> bytes:
    """``pdf`` plus an unsigned revision that embeds a second file."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    data = EmbeddedFileObject.from_file_data(writer, b"<khac/>", mime_type="application/xml")
    embed_file(writer, FileSpec(file_spec_string="khac.xml", embedded_data=data))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def scope(pdf: bytes, trust: TrustSettings) -> str:
    report = verify_record_pdf(pdf, trust, expect=["gvcn"])
    assert report.check("ChuKyGVCN.chu-ky").status == "passed"  # the bytes it signed are intact
    return report.check("ChuKyGVCN.pham-vi").status


def changed_signature_value(xml: bytes, sig_id: str) -> bytes:
    root = etree.fromstring(xml)
    (value,) = root.iterfind(f".//{{{DS}}}Signature[@Id='{sig_id}']/{{{DS}}}SignatureValue")
    value.text = value.text[:-8] + (
        "AAAAAAA=" if not value.text.endswith("AAAAAAA=") else "BBBBBBB="
    )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# ------------------------------------------------------------------ the XML rule


def test_successor_is_the_same_record_with_signatures_appended(stages: dict[str, bytes]) -> None:
    locked, gvcn, ht = stages["locked"], stages["gvcn"], stages["ht"]
    assert is_signed_successor(locked, gvcn)
    assert is_signed_successor(gvcn, ht)
    assert is_signed_successor(locked, ht)  # two appended at once (a later revision)
    assert not is_signed_successor(gvcn, gvcn)  # nothing appended
    assert not is_signed_successor(ht, gvcn)  # a signature removed
    assert not is_signed_successor(gvcn, ht.replace(STUDENT, OTHER))  # other data
    assert not is_signed_successor(gvcn, changed_signature_value(ht, "chuky-gvcn"))
    assert not is_signed_successor(gvcn, ht.replace(b"</chuky>", b"ghi chu</chuky>"))
    assert not is_signed_successor(gvcn, ht.replace(b"</hocba>", b"<!-- x --></hocba>"))
    assert not is_signed_successor(gvcn, ht.replace(b'Id="chuky-ht"', b'Id="chuky-condau"'))
    assert not is_signed_successor(gvcn, b"<khong-phai-xml")


def _successor_by_reparsing(previous: bytes, current: bytes) -> bool:
    """``is_signed_successor`` as first written: every document parsed for each question
    (``data_digest`` of the bytes) and the appended signatures taken out of a deep copy."""
    import copy

    from hocbaso.record import data_digest
    from hocbaso.signing.attachment import _SIGNATURE_ORDER, _signature_ids
    from hocbaso.signing.xml_signature import CHUKY_TAG, parse_record

    try:
        old_root, new_root = parse_record(previous), parse_record(current)
        if data_digest(previous) != data_digest(current):
            return False
    except RecordError:
        return False
    old_ids, new_ids = _signature_ids(old_root), _signature_ids(new_root)
    if old_ids is None or new_ids is None:
        return False
    if len(new_ids) <= len(old_ids) or new_ids[: len(old_ids)] != old_ids:
        return False
    if new_ids != _SIGNATURE_ORDER[: len(new_ids)]:
        return False
    trimmed = copy.deepcopy(new_root.getroottree())
    chuky = trimmed.getroot().find(CHUKY_TAG)
    for appended in list(chuky)[len(old_ids) :]:
        chuky.remove(appended)
    old_c14n = etree.tostring(old_root.getroottree(), method="c14n")
    return bool(old_c14n == etree.tostring(trimmed, method="c14n"))


def test_successor_parsing_once_answers_as_parsing_each_time(stages: dict[str, bytes]) -> None:
    """Each document parsed once gives the answers of parsing it for every question,
    around the root (comments, processing instructions, a DOCTYPE) as inside it."""
    locked, gvcn, ht = stages["locked"], stages["gvcn"], stages["ht"]
    declaration, body = ht.split(b"\n", 1)
    declaration += b"\n"
    assert declaration.startswith(b"<?xml ")
    variants = [
        ht,
        declaration + b"<!-- truoc -->" + body,
        ht + b"<!-- sau -->",
        ht + b"<?pi sau?>",
        declaration + b"<!DOCTYPE hocba>" + body,
        declaration + b'<!DOCTYPE hocba [<!ENTITY e "x">]>' + body,
        ht.replace(b"</chuky>", b"<!-- x --></chuky>"),
        ht.replace(b"<chuky>", b"<chuky> "),
        ht.replace(b"</hocba>", b"<!-- x --></hocba>"),
        ht.replace(STUDENT, OTHER),
        changed_signature_value(ht, "chuky-gvcn"),
        b"<khong-phai-xml",
    ]
    for previous in (locked, gvcn, ht, *variants):
        for current in (gvcn, *variants):
            expected = _successor_by_reparsing(previous, current)
            assert is_signed_successor(previous, current) == expected


# ------------------------------------------------------------------ the PDF rule


def test_attachment_with_appended_signature_passes(
    stages: dict[str, bytes], demo_trust: TrustSettings, demo_pki_services: object
) -> None:
    pdf = replaced(stages["pdf"], stages["ht"])
    assert extract_record_xml(pdf) == stages["ht"]
    assert scope(pdf, demo_trust) == "passed"


def test_the_rule_is_what_lets_it_through(
    stages: dict[str, bytes], demo_trust: TrustSettings, demo_pki_services: object
) -> None:
    # pyHanko's default policy calls the same legitimate change a modification
    # beyond form filling; ours clears it at form filling, as adding a signature.
    pdf = replaced(stages["pdf"], stages["ht"])
    (sig,) = PdfFileReader(BytesIO(pdf), strict=False).embedded_regular_signatures
    levels = {}
    for name, policy in (("default", DEFAULT_DIFF_POLICY), ("ours", RECORD_DIFF_POLICY)):
        status = validate_pdf_signature(
            sig, signer_validation_context=demo_trust.validation_context(), diff_policy=policy
        )
        levels[name] = status.modification_level
    assert levels["ours"] == ModificationLevel.FORM_FILLING
    assert levels["default"] not in (
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
        ModificationLevel.FORM_FILLING,
    )


@pytest.mark.parametrize(
    "forged",
    ["other-data", "earlier-signature-changed", "nothing-appended", "wrong-size", "extra-file"],
)
def test_any_other_change_after_the_signature_fails_its_scope(
    forged: str,
    stages: dict[str, bytes],
    demo_trust: TrustSettings,
    demo_pki_services: object,
) -> None:
    pdf, gvcn, ht = stages["pdf"], stages["gvcn"], stages["ht"]
    assert ht.replace(STUDENT, OTHER) != ht
    tampered = {
        "other-data": lambda: replaced(pdf, ht.replace(STUDENT, OTHER)),
        "earlier-signature-changed": lambda: replaced(
            pdf, changed_signature_value(ht, "chuky-gvcn")
        ),
        "nothing-appended": lambda: replaced(pdf, gvcn),
        "wrong-size": lambda: replaced(pdf, ht, size=len(ht) + 1),
        "extra-file": lambda: with_extra_file(pdf),
    }[forged]()
    assert scope(tampered, demo_trust) == "failed"


def test_signing_refuses_an_xml_that_is_not_the_attached_one_plus_this_signature(
    stages: dict[str, bytes], ht_signer: RecordSigner, gvcn_signer: RecordSigner
) -> None:
    other = sign_record_xml(stages["gvcn"].replace(STUDENT, OTHER), ht_signer, "ht")
    with pytest.raises(RecordError, match="không phải tệp XML bản PDF đang mang"):
        sign_record_pdf(stages["pdf"], ht_signer, "ht", signed_xml=other)
    with pytest.raises(RecordError, match="không phải tệp XML bản PDF đang mang"):
        sign_record_pdf(stages["pdf"], ht_signer, "ht", signed_xml=stages["gvcn"])


def test_signing_refuses_a_pdf_without_the_attachment(
    record_xml: bytes, gvcn_signer: RecordSigner
) -> None:
    bare: bytes = typst.compile(b"= Hoc ba", format="pdf", pdf_standards=["a-3b"])
    xml = sign_record_xml(record_xml, gvcn_signer, "gvcn")
    with pytest.raises(RecordError, match=r"hocba\.xml"):
        sign_record_pdf(bare, gvcn_signer, "gvcn", signed_xml=xml)
