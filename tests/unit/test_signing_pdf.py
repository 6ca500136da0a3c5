"""The three PAdES signatures of the printable copy: pdfsig, qpdf and our own reports agree;
the sealed PDF carries the sealed XML."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from pki_fixtures import write

from hocbaso.demo.pki import DemoPki
from hocbaso.errors import SigningError
from hocbaso.render import extract_record_xml
from hocbaso.signing import (
    RecordSigner,
    ServiceSession,
    TrustSettings,
    async_sign_record_pdf,
    async_sign_record_xml,
    sign_record_pdf,
    sign_record_xml,
    signature_fields,
    verify_record_pdf,
)


@pytest.fixture(scope="module")
def signed(
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    record_xml: bytes,
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
) -> tuple[bytes, bytes]:
    """The XML and the PDF signed by GVCN, HT and the seal, as the steps sign them (the
    seal's step adds the long-term data: XAdES-LTA before the PDF seal, then DSS and a
    document timestamp)."""
    from hocbaso.signing.longterm import extend_pdf_longterm, extend_xml_longterm

    async def sign() -> tuple[bytes, bytes]:
        xml, pdf = record_xml, record_pdf
        async with ServiceSession(tsa_url=demo_pki.tsa_url, trust=demo_trust) as session:
            for role, signer in (("gvcn", gvcn_signer), ("ht", ht_signer), ("condau", seal_signer)):
                xml = await async_sign_record_xml(
                    xml, signer, role, timestamper=session.timestamper
                )
                if role == "condau":
                    xml = await extend_xml_longterm(xml, session)
                pdf = await async_sign_record_pdf(
                    pdf, signer, role, signed_xml=xml, session=session
                )
                if role == "condau":
                    pdf = await extend_pdf_longterm(pdf, session)
        return xml, pdf

    return asyncio.run(sign())


@pytest.fixture(scope="module")
def signed_pdf(signed: tuple[bytes, bytes]) -> bytes:
    return signed[1]


def test_signatures_are_incremental_in_order(signed_pdf: bytes, record_pdf: bytes) -> None:
    assert signed_pdf.startswith(record_pdf)  # nothing of the rendered file is rewritten
    assert signature_fields(signed_pdf) == [
        "ChuKyGVCN",
        "ChuKyHT",
        "ChuKyConDau",
        "DauThoiGianLuuTru1",  # the seal step's document timestamp (B-LTA)
    ]


def test_sealed_pdf_carries_the_sealed_xml(signed: tuple[bytes, bytes], tmp_path: Path) -> None:
    xml, pdf = signed
    assert extract_record_xml(pdf) == xml
    path = write(tmp_path, "hocba.pdf", pdf)
    out = tmp_path / "hocba.xml"
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(out), str(path)], check=True)
    assert out.read_bytes() == xml


def test_pdfa3_metadata_and_attachment_parameters_stay(signed_pdf: bytes, tmp_path: Path) -> None:
    # The XMP still claims PDF/A-3B; the file specification keeps its relationship and
    # the new stream its MIME type, size and modification date (qpdf reads them).
    assert b"<pdfaid:part>3</pdfaid:part>" in signed_pdf
    path = write(tmp_path, "hocba.pdf", signed_pdf)
    shown = subprocess.run(
        ["qpdf", "--list-attachments", "--verbose", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "hocba.xml" in shown
    assert "application/xml" in shown


def test_pdfsig_reports_three_valid_signatures(signed_pdf: bytes, tmp_path: Path) -> None:
    # pdfsig does not know the demo root, so it also says the issuer is not trusted:
    # that is about trust, not about the signatures (our report checks trust).
    path = write(tmp_path, "hocba.pdf", signed_pdf)
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert result.stdout.count("Signature is Valid") == 3, result.stdout
    for name in ("ChuKyGVCN", "ChuKyHT", "ChuKyConDau"):
        assert f"Signature Field Name: {name}" in result.stdout


def test_qpdf_check_is_clean(signed_pdf: bytes, tmp_path: Path) -> None:
    path = write(tmp_path, "hocba.pdf", signed_pdf)
    result = subprocess.run(
        ["qpdf", "--check", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors" in result.stdout


def test_report_passes_every_named_check(signed_pdf: bytes, demo_trust: TrustSettings) -> None:
    report = verify_record_pdf(signed_pdf, demo_trust)
    assert report.bottom_line, report.summary()
    assert report.check("ChuKyConDau.dau-thoi-gian").status == "passed"
    names = [c.name for c in report.checks]
    assert len(names) == len(set(names))
    assert "ChuKyConDau.dau-thoi-gian" in names
    for field in ("ChuKyGVCN", "ChuKyHT", "ChuKyConDau"):  # 4 checks per signature
        assert {f"{field}.{n}" for n in ("chu-ky", "pham-vi", "vai-tro", "chung-thu")} <= set(
            names
        ), names
    assert any(n.startswith("DauThoiGianLuuTru1") for n in names), names  # B-LTA


def test_seal_validates_offline_from_embedded_data(
    signed_pdf: bytes,
    demo_pki: DemoPki,
) -> None:
    offline = TrustSettings.from_files([demo_pki.root_certificate], allow_fetching=False)
    report = verify_record_pdf(signed_pdf, offline)
    # The seal's step makes the file B-LTA: the revocation data is in its DSS.
    assert report.check("ChuKyConDau.chung-thu").status == "passed"
    assert report.check("ChuKyConDau.dau-thoi-gian").status == "passed"
    # The DSS holds the validation data of every signature: the whole file validates offline.
    assert report.bottom_line, report.summary()


def test_without_embedded_data_offline_revocation_cannot_be_checked(
    record_xml: bytes,
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
    demo_pki: DemoPki,
) -> None:
    offline = TrustSettings.from_files([demo_pki.root_certificate], allow_fetching=False)
    xml = sign_record_xml(record_xml, gvcn_signer, "gvcn")
    report = verify_record_pdf(
        sign_record_pdf(record_pdf, gvcn_signer, "gvcn", signed_xml=xml), offline, expect=["gvcn"]
    )
    assert report.check("ChuKyGVCN.chu-ky").status == "passed"
    assert report.check("ChuKyGVCN.chung-thu").status in ("could_not_check", "failed")
    assert not report.bottom_line


def test_changed_bytes_fail_the_report(signed_pdf: bytes, demo_trust: TrustSettings) -> None:
    # One byte inside the first stream of the rendered file: covered by every signature.
    index = signed_pdf.find(b"stream", 100) + 20
    changed = bytearray(signed_pdf)
    changed[index] ^= 0x01
    report = verify_record_pdf(bytes(changed), demo_trust)
    assert not report.bottom_line
    assert report.check("ChuKyGVCN.chu-ky").status == "failed"


def test_signing_out_of_order_is_refused(
    record_xml: bytes, record_pdf: bytes, ht_signer: RecordSigner
) -> None:
    with pytest.raises(SigningError, match="thiếu chữ ký trước"):
        sign_record_pdf(record_pdf, ht_signer, "ht", signed_xml=record_xml)


def test_signing_twice_is_refused(signed: tuple[bytes, bytes], gvcn_signer: RecordSigner) -> None:
    xml, pdf = signed
    with pytest.raises(SigningError, match="không ký lại"):
        sign_record_pdf(pdf, gvcn_signer, "gvcn", signed_xml=xml)


def test_seal_without_timestamp_authority_is_refused(
    record_xml: bytes,
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
) -> None:
    xml = sign_record_xml(record_xml, gvcn_signer, "gvcn")
    pdf = sign_record_pdf(record_pdf, gvcn_signer, "gvcn", signed_xml=xml)
    xml = sign_record_xml(xml, ht_signer, "ht")
    pdf = sign_record_pdf(pdf, ht_signer, "ht", signed_xml=xml)
    with pytest.raises(SigningError, match="dấu thời gian"):
        sign_record_pdf(pdf, seal_signer, "condau", signed_xml=xml)


def test_signed_attributes_kept_per_signer_are_pyhankos(
    gvcn_signer: RecordSigner, seal_signer: RecordSigner
) -> None:
    """The signed attributes built from the parts kept per signer are, byte for byte,
    those pyHanko builds for the document digest; the parts are built once per signer."""
    import hashlib

    from pyhanko.sign.signers.pdf_cms import ExternalSigner

    from hocbaso.signing.pdf_signature import _signer_parts

    async def check() -> None:
        for signer in (gvcn_signer, seal_signer):
            parts = await _signer_parts(signer)
            assert await _signer_parts(signer) is parts
            for n in range(3):
                digest = hashlib.sha256(b"record %d" % n).digest()
                pyhanko = await ExternalSigner(
                    signer.certificate, parts.registry, signature_value=256
                ).signed_attrs(digest, "sha256", use_pades=True)
                assert parts.signed_attributes(digest).dump() == pyhanko.dump()

    asyncio.run(check())
