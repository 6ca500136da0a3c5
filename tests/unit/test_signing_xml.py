"""The three XML signatures of a record: order, xmlsec1 agreement, verification reports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lxml import etree
from pki_fixtures import write
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from tools import xmlsec_verify

from hocbaso.demo.pki import DemoPki, certificate_of, load_demo_signer, revoke_identity
from hocbaso.errors import RecordError, SigningError
from hocbaso.signing import RecordSigner, TrustSettings, sign_record_xml, verify_record_xml

DS = "http://www.w3.org/2000/09/xmldsig#"
NS = "urn:hocbaso:hocba:1"


@pytest.fixture(scope="module")
def signed_xml(
    demo_pki: DemoPki,
    demo_pki_services: object,
    record_xml: bytes,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
) -> bytes:
    xml = sign_record_xml(record_xml, gvcn_signer, "gvcn")
    xml = sign_record_xml(xml, ht_signer, "ht")
    return sign_record_xml(
        xml, seal_signer, "condau", timestamper=HTTPTimeStamper(demo_pki.tsa_url)
    )


def test_signatures_sit_in_chuky_in_order_and_data_is_unchanged(
    signed_xml: bytes,
    record_xml: bytes,
) -> None:
    root = etree.fromstring(signed_xml)
    ids = [el.get("Id") for el in root.find(f"{{{NS}}}chuky")]
    assert ids == ["chuky-gvcn", "chuky-ht", "chuky-condau"]
    data = f"{{{NS}}}thongtinsohocbasotieuhoc"
    before = etree.tostring(etree.fromstring(record_xml).find(data), method="c14n", exclusive=True)
    after = etree.tostring(root.find(data), method="c14n", exclusive=True)
    assert before == after
    assert "Phạm Thị Mười Một".encode() in signed_xml  # UTF-8, not character references


@pytest.mark.parametrize(
    ("node_id", "references"),
    [("chuky-gvcn", 3), ("chuky-ht", 4), ("chuky-condau", 5)],
)
def test_xmlsec1_verifies_each_signature(
    signed_xml: bytes,
    demo_pki: DemoPki,
    tmp_path: Path,
    node_id: str,
    references: int,
) -> None:
    path = write(tmp_path, "hocba.xml", signed_xml)
    result = xmlsec_verify(path, demo_pki.root_certificate, node_id)
    assert result.returncode == 0, result.stderr
    assert f"SignedInfo References (ok/all): {references}/{references}" in result.stderr
    lint = subprocess.run(["xmllint", "--noout", str(path)], capture_output=True, check=False)
    assert lint.returncode == 0


def test_xmlsec1_rejects_a_changed_record(
    signed_xml: bytes,
    demo_pki: DemoPki,
    tmp_path: Path,
) -> None:
    changed = signed_xml.replace(b"<mucdatduoc>T</mucdatduoc>", b"<mucdatduoc>H</mucdatduoc>")
    assert changed != signed_xml
    path = write(tmp_path, "sua.xml", changed)
    for node_id in ("chuky-gvcn", "chuky-ht", "chuky-condau"):
        assert xmlsec_verify(path, demo_pki.root_certificate, node_id).returncode != 0


def test_report_passes_every_named_check(signed_xml: bytes, demo_trust: TrustSettings) -> None:
    report = verify_record_xml(signed_xml, demo_trust)
    assert report.bottom_line, report.summary()
    names = [c.name for c in report.checks]
    assert names == [
        "chuky.thu-tu",
        "chuky-gvcn.chu-ky",
        "chuky-gvcn.vai-tro",
        "chuky-gvcn.chung-thu",
        "chuky-ht.chu-ky",
        "chuky-ht.vai-tro",
        "chuky-ht.chung-thu",
        "chuky-condau.chu-ky",
        "chuky-condau.vai-tro",
        "chuky-condau.chung-thu",
        "chuky-condau.dau-thoi-gian",
    ]
    assert "Hợp lệ" in report.summary()


def test_report_fails_every_signature_over_changed_data(
    signed_xml: bytes,
    demo_trust: TrustSettings,
) -> None:
    changed = signed_xml.replace(b"<diemkiemtradinhky>9<", b"<diemkiemtradinhky>10<")
    report = verify_record_xml(changed, demo_trust)
    assert not report.bottom_line
    assert {c.name for c in report.failed} == {
        "chuky-gvcn.chu-ky",
        "chuky-ht.chu-ky",
        "chuky-condau.chu-ky",
    }


def test_replacing_the_first_signature_breaks_the_later_ones(
    signed_xml: bytes,
    record_xml: bytes,
    ht_signer: RecordSigner,
    demo_trust: TrustSettings,
) -> None:
    # A valid GVCN signature made by someone else, swapped in after HT and seal signed.
    forged = etree.fromstring(sign_record_xml(record_xml, ht_signer, "gvcn"))
    root = etree.fromstring(signed_xml)
    chuky = root.find(f"{{{NS}}}chuky")
    chuky.replace(chuky[0], forged.find(f"{{{NS}}}chuky")[0])
    report = verify_record_xml(etree.tostring(root, encoding="UTF-8"), demo_trust)
    assert report.check("chuky-gvcn.chu-ky").status == "passed"
    assert report.check("chuky-ht.chu-ky").status == "failed"
    assert report.check("chuky-condau.chu-ky").status == "failed"


def test_missing_timestamp_is_a_failed_check(
    signed_xml: bytes,
    demo_trust: TrustSettings,
) -> None:
    root = etree.fromstring(signed_xml)
    unsigned = root.find(".//{http://uri.etsi.org/01903/v1.3.2#}UnsignedProperties")
    unsigned.getparent().remove(unsigned)
    report = verify_record_xml(etree.tostring(root, encoding="UTF-8"), demo_trust)
    assert report.check("chuky-condau.dau-thoi-gian").status == "failed"
    assert report.check("chuky-condau.chu-ky").status == "passed"


def test_untrusted_root_fails_the_certificate_checks(
    signed_xml: bytes,
    demo_pki: DemoPki,
) -> None:
    # Trusting only the TSA's certificate as a root: no signer chains to it.
    other = TrustSettings.from_files([demo_pki.directory / "certs" / "tsa.pem"])
    report = verify_record_xml(signed_xml, other)
    assert report.check("chuky-gvcn.chung-thu").status == "failed"
    assert report.check("chuky-gvcn.chu-ky").status == "passed"


def test_revoked_signer_is_refused(
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    record_xml: bytes,
) -> None:
    signer = load_demo_signer(demo_pki, "GV99")
    xml = sign_record_xml(record_xml, signer, "gvcn")
    before = verify_record_xml(xml, demo_trust, expect=["gvcn"])
    assert before.check("chuky-gvcn.chung-thu").status == "passed"
    # GV99 is not the homeroom teacher the record names: bound to the role, it fails.
    assert before.check("chuky-gvcn.vai-tro").sub_indication == "SIG_CONSTRAINTS_FAILURE"
    since = certificate_of(demo_pki.credential("GV99")).not_valid_before_utc
    revoke_identity(demo_pki, "GV99", since=since)
    report = verify_record_xml(xml, demo_trust, expect=["gvcn"])
    check = report.check("chuky-gvcn.chung-thu")
    assert check.status == "failed"
    assert "thu hồi" in check.message


@pytest.mark.parametrize(
    ("already", "role", "words"),
    [
        ([], "ht", "thiếu chữ ký trước (Giáo viên chủ nhiệm)"),
        ([], "condau", "Giáo viên chủ nhiệm, Hiệu trưởng"),
        (["gvcn"], "gvcn", "không ký lại lần thứ hai"),
    ],
    ids=["ht-before-gvcn", "seal-first", "gvcn-twice"],
)
def test_signing_out_of_order_or_twice_is_refused(
    record_xml: bytes,
    gvcn_signer: RecordSigner,
    already: list[str],
    role: str,
    words: str,
) -> None:
    xml = record_xml
    for r in already:
        xml = sign_record_xml(xml, gvcn_signer, r)  # type: ignore[arg-type]
    with pytest.raises(SigningError) as info:
        sign_record_xml(xml, gvcn_signer, role, timestamper=HTTPTimeStamper("http://127.0.0.1:9"))  # type: ignore[arg-type]
    assert words in info.value.message


def test_seal_without_timestamp_authority_is_refused(
    record_xml: bytes,
    seal_signer: RecordSigner,
) -> None:
    with pytest.raises(SigningError, match="dấu thời gian"):
        sign_record_xml(record_xml, seal_signer, "condau")


def test_unreachable_timestamp_authority_is_a_signing_error(
    record_xml: bytes,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
) -> None:
    xml = sign_record_xml(sign_record_xml(record_xml, gvcn_signer, "gvcn"), ht_signer, "ht")
    with pytest.raises(SigningError, match="TSA") as info:
        sign_record_xml(
            xml, seal_signer, "condau", timestamper=HTTPTimeStamper("http://127.0.0.1:9")
        )
    assert info.value.hint


def test_not_a_record_is_a_record_error(gvcn_signer: RecordSigner) -> None:
    with pytest.raises(RecordError):
        sign_record_xml(b"<hocba xmlns='urn:hocbaso:hocba:1'/>", gvcn_signer, "gvcn")
    with pytest.raises(RecordError):
        sign_record_xml(b"<hocba", gvcn_signer, "gvcn")
