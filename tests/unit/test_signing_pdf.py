"""The three PAdES signatures of the printable copy: pdfsig, qpdf and our own reports agree."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from pki_fixtures import write

from hocbaso.errors import SigningError
from hocbaso.signing import (
    DemoPki,
    RecordSigner,
    ServiceSession,
    TrustSettings,
    async_sign_record_pdf,
    sign_record_pdf,
    signature_fields,
    verify_record_pdf,
)


@pytest.fixture(scope="module")
def signed_pdf(
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
) -> bytes:
    async def sign() -> bytes:
        async with ServiceSession(tsa_url=demo_pki.tsa_url, trust=demo_trust) as session:
            pdf = await async_sign_record_pdf(record_pdf, gvcn_signer, "gvcn", session=session)
            pdf = await async_sign_record_pdf(pdf, ht_signer, "ht", session=session)
            return await async_sign_record_pdf(pdf, seal_signer, "condau", session=session)

    return asyncio.run(sign())


def test_signatures_are_incremental_in_order(signed_pdf: bytes, record_pdf: bytes) -> None:
    assert signed_pdf.startswith(record_pdf)  # nothing of the rendered file is rewritten
    assert signature_fields(signed_pdf) == ["ChuKyGVCN", "ChuKyHT", "ChuKyConDau"]


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
    assert len(report.checks) == 1 + 3 * 3 + 1


def test_seal_validates_offline_from_embedded_data(
    signed_pdf: bytes,
    demo_pki: DemoPki,
) -> None:
    offline = TrustSettings.from_files([demo_pki.root_certificate], allow_fetching=False)
    report = verify_record_pdf(signed_pdf, offline)
    # The seal is B-LT: its revocation data is in the file.
    assert report.check("ChuKyConDau.chung-thu").status == "passed"
    assert report.check("ChuKyConDau.dau-thoi-gian").status == "passed"
    # GVCN and HT are B-B, but the seal brought the issuing CA's CRL into the file,
    # and that CRL covers their certificates too: the whole file validates offline.
    assert report.bottom_line, report.summary()


def test_without_embedded_data_offline_revocation_cannot_be_checked(
    signed_pdf: bytes,
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
    demo_pki: DemoPki,
) -> None:
    offline = TrustSettings.from_files([demo_pki.root_certificate], allow_fetching=False)
    report = verify_record_pdf(
        sign_record_pdf(record_pdf, gvcn_signer, "gvcn"), offline, expect=["gvcn"]
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


def test_signing_out_of_order_is_refused(record_pdf: bytes, ht_signer: RecordSigner) -> None:
    with pytest.raises(SigningError, match="thiếu chữ ký trước"):
        sign_record_pdf(record_pdf, ht_signer, "ht")


def test_signing_twice_is_refused(signed_pdf: bytes, gvcn_signer: RecordSigner) -> None:
    with pytest.raises(SigningError, match="không ký lại"):
        sign_record_pdf(signed_pdf, gvcn_signer, "gvcn")


def test_seal_without_timestamp_authority_is_refused(
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
) -> None:
    pdf = sign_record_pdf(sign_record_pdf(record_pdf, gvcn_signer, "gvcn"), ht_signer, "ht")
    with pytest.raises(SigningError, match="dấu thời gian"):
        sign_record_pdf(pdf, seal_signer, "condau")
