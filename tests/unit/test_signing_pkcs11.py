"""Signing with a key on a PKCS#11 token: a fresh SoftHSM2 token holding a demo key."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pki_fixtures import write

from hocbaso.config import KhoaPkcs11
from hocbaso.demo.pki import DemoPki
from hocbaso.errors import SigningError
from hocbaso.signing import (
    RecordSigner,
    TrustSettings,
    load_signer,
    sign_record_pdf,
    sign_record_xml,
    signer_from_pkcs11,
    verify_record_pdf,
    verify_record_xml,
)

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "hocbaso-kiemthu"
PIN = "246810"
KEY_LABEL = "gvcn-token"


def run(*args: str) -> None:
    result = subprocess.run(list(args), capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{args[0]}: {result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def softhsm_token(
    tmp_path_factory: pytest.TempPathFactory,
    demo_pki: DemoPki,
) -> Iterator[None]:
    """A SoftHSM2 token with the demo GVCN key, its certificate and the CA certificate."""
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n")
    saved = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    credential = demo_pki.credential("GV01")
    key, cert, chain = pkcs12.load_key_and_certificates(
        credential.pkcs12.read_bytes(), credential.password.encode()
    )
    assert key is not None and cert is not None
    key_pem = home / "key.pem"
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_der = write(home, "cert.der", cert.public_bytes(serialization.Encoding.DER))
    ca_der = write(home, "ca.der", chain[0].public_bytes(serialization.Encoding.DER))
    run(
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        TOKEN,
        "--so-pin",
        "12345678",
        "--pin",
        PIN,
    )
    run(
        "softhsm2-util", "--import", str(key_pem), "--token", TOKEN,
        "--label", KEY_LABEL, "--id", "01", "--pin", PIN,
    )  # fmt: skip
    key_pem.unlink()
    for path, label, obj_id in ((cert_der, KEY_LABEL, "01"), (ca_der, "ca", "02")):
        run(
            "pkcs11-tool", "--module", MODULE, "--token-label", TOKEN, "--login", "--pin", PIN,
            "--write-object", str(path), "--type", "cert", "--label", label, "--id", obj_id,
        )  # fmt: skip
    yield
    if saved is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = saved


@pytest.fixture
def token_signer(softhsm_token: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordSigner]:
    """Logged in for one test only: a token keeps one login per application, so an open
    session would hide a wrong PIN in another test."""
    monkeypatch.setenv("HBS_TEST_TOKEN_PIN", PIN)
    spec = KhoaPkcs11(
        loai="pkcs11", module=MODULE, token=TOKEN, nhan_khoa=KEY_LABEL, pin_env="HBS_TEST_TOKEN_PIN"
    )
    with load_signer(spec) as signer:
        yield signer


def test_token_signer_reads_certificate_and_chain(token_signer: RecordSigner) -> None:
    assert token_signer.source == "pkcs11"
    assert token_signer.subject_name == "Nguyễn Thị Hoa"
    assert [c.subject.native["common_name"] for c in token_signer.chain] == [
        "Hoc ba so - CA cap chung thu thu nghiem"
    ]


def test_xml_signed_on_the_token_verifies(
    token_signer: RecordSigner,
    record_xml: bytes,
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    tmp_path: Path,
) -> None:
    xml = sign_record_xml(record_xml, token_signer, "gvcn")
    report = verify_record_xml(xml, demo_trust, expect=["gvcn"])
    assert report.bottom_line, report.summary()
    path = write(tmp_path, "token.xml", xml)
    result = subprocess.run(
        [
            "xmlsec1", "--verify", "--trusted-pem", str(demo_pki.root_certificate),
            "--id-attr:Id", "urn:hocbaso:hocba:1:thongtinsohocbasotieuhoc",
            "--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:Signature",
            "--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:KeyInfo",
            "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "--node-id", "chuky-gvcn", str(path),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_pdf_signed_on_the_token_verifies(
    token_signer: RecordSigner,
    record_xml: bytes,
    record_pdf: bytes,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    tmp_path: Path,
) -> None:
    xml = sign_record_xml(record_xml, token_signer, "gvcn")
    pdf = sign_record_pdf(record_pdf, token_signer, "gvcn", signed_xml=xml)
    report = verify_record_pdf(pdf, demo_trust, expect=["gvcn"])
    assert report.bottom_line, report.summary()
    path = write(tmp_path, "token.pdf", pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert out.stdout.count("Signature is Valid") == 1


def test_token_key_cannot_be_exported(token_signer: RecordSigner) -> None:
    with pytest.raises(SigningError, match="không thể đọc ra"):
        token_signer.xml_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@pytest.mark.parametrize(
    ("token", "pin", "key_label", "words"),
    [
        (TOKEN, "000000", KEY_LABEL, "PIN"),
        ("khong-co-token", PIN, KEY_LABEL, "khong-co-token"),
        (TOKEN, PIN, "khong-co-khoa", "khong-co-khoa"),
    ],
    ids=["wrong-pin", "no-such-token", "no-such-key"],
)
def test_token_problems_are_signing_errors(
    softhsm_token: None, token: str, pin: str, key_label: str, words: str
) -> None:
    with pytest.raises(SigningError) as info:
        signer_from_pkcs11(MODULE, token, key_label, pin)
    assert words in info.value.message
    assert info.value.hint
