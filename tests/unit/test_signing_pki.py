"""The demo PKI: certificates as Vietnamese signers carry them, idempotent creation,
services answering OCSP/CRL/CA requests on loopback, revocation, and key loading."""

from __future__ import annotations

import http.client
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from pki_fixtures import DEMO_ORGANISATION, DEMO_PEOPLE

from hocbaso.config import KhoaPkcs12, Workspace
from hocbaso.demo.pki import (
    DemoIdentity,
    DemoPki,
    certificate_of,
    create_demo_pki,
    load_demo_pki,
    revoke_identity,
)
from hocbaso.demo.pki_services import DemoPkiServices
from hocbaso.errors import ConfigurationError, SigningError
from hocbaso.signing import load_signer, signer_from_pkcs12


def test_person_certificate_names_the_person_and_the_services(
    demo_pki: DemoPki,
) -> None:
    cert = certificate_of(demo_pki.credential("GV01"))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Thị Hoa"
    uid = cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value
    assert uid == "CCCD:001190000001"
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    ocsp_urls = [
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
    ]
    assert ocsp_urls == [demo_pki.ocsp_url]
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == demo_pki.crl_url
    assert f"127.0.0.1:{demo_pki.port}" in demo_pki.tsa_url
    seal = certificate_of(demo_pki.seal)
    assert seal.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DEMO_ORGANISATION


def test_creating_again_reuses_and_extends(demo_pki: DemoPki) -> None:
    before = {k: c.certificate.read_bytes() for k, c in demo_pki.identities.items()}
    newcomer = DemoIdentity("GV02", "Đỗ Văn Mới", "001190000002")
    again = create_demo_pki(
        demo_pki.directory, [*DEMO_PEOPLE, newcomer], DEMO_ORGANISATION, port=demo_pki.port
    )
    assert {k: again.identities[k].certificate.read_bytes() for k in before} == before
    assert again.credential("GV02").pkcs12.is_file()
    assert load_demo_pki(demo_pki.directory).identities.keys() == again.identities.keys()


def test_an_existing_pki_keeps_its_port(demo_pki: DemoPki) -> None:
    with pytest.raises(ConfigurationError, match="khác với"):
        create_demo_pki(demo_pki.directory, DEMO_PEOPLE, DEMO_ORGANISATION, port=demo_pki.port + 1)


def test_personal_id_must_have_twelve_digits(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="12 chữ số"):
        create_demo_pki(
            tmp_path,
            [DemoIdentity("GV01", "A", "12345")],
            DEMO_ORGANISATION,
            port=1,
        )


def _ocsp_status(pki: DemoPki, key: str) -> ocsp.OCSPCertStatus:
    cert = certificate_of(pki.credential(key))
    issuer = x509.load_pem_x509_certificate(pki.ca_certificate.read_bytes())
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    answer = httpx.post(
        pki.ocsp_url,
        content=request.public_bytes(Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    assert answer.status_code == 200
    response = ocsp.load_der_ocsp_response(answer.content)  # a strict DER parser
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.produced_at_utc.microsecond == 0
    return response.certificate_status


def test_ocsp_crl_and_ca_certificates_are_served(
    demo_pki: DemoPki,
    demo_pki_services: object,
) -> None:
    assert _ocsp_status(demo_pki, "GV01") == ocsp.OCSPCertStatus.GOOD
    crl = x509.load_der_x509_crl(httpx.get(demo_pki.crl_url).content)
    issuer = x509.load_pem_x509_certificate(demo_pki.ca_certificate.read_bytes())
    assert crl.is_signature_valid(issuer.public_key())
    served_ca = httpx.get(f"{demo_pki.base_url}/hocbaso-demo/certs/ca/ca.crt").content
    assert x509.load_der_x509_certificate(served_ca) == issuer


def test_revocation_reaches_ocsp_and_crl(
    demo_pki: DemoPki,
    demo_pki_services: object,
) -> None:
    cert = certificate_of(demo_pki.credential("GV98"))
    revoke_identity(demo_pki, "GV98", since=cert.not_valid_before_utc)
    assert _ocsp_status(demo_pki, "GV98") == ocsp.OCSPCertStatus.REVOKED
    assert _ocsp_status(demo_pki, "GV01") == ocsp.OCSPCertStatus.GOOD
    crl = x509.load_der_x509_crl(httpx.get(demo_pki.crl_url).content)
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


def test_one_connection_serves_one_request_after_another(
    demo_pki: DemoPki,
    demo_pki_services: object,
) -> None:
    """A signing step asks the TSA and OCSP thousands of times: the services keep the
    client's HTTP/1.1 connection open instead of one connection per answer."""
    connection = http.client.HTTPConnection(demo_pki.host, demo_pki.port, timeout=30)
    try:
        for _ in range(3):
            connection.request("GET", "/hocbaso-demo/certs/ca/ca.crt")
            answer = connection.getresponse()
            body = answer.read()
            assert answer.status == 200 and body
            assert (answer.getheader("Connection") or "").lower() != "close"
            assert not answer.will_close
        # Still the first socket: http.client reconnects silently only after a close.
        assert connection.sock is not None
    finally:
        connection.close()


def test_services_refuse_a_busy_port(demo_pki: DemoPki, demo_pki_services: object) -> None:
    with pytest.raises(SigningError, match="cổng"):
        DemoPkiServices(demo_pki).start()


def test_pkcs12_signer_loads_with_the_password_from_the_environment(
    demo_pki: DemoPki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credential = demo_pki.credential("HT01")
    workspace = Workspace(demo_pki.directory)
    spec = KhoaPkcs12(loai="pkcs12", tep="p12/nguoi-ht01.p12", mat_khau_env="HBS_TEST_P12")
    with pytest.raises(ConfigurationError, match="HBS_TEST_P12"):
        load_signer(spec, workspace)
    monkeypatch.setenv("HBS_TEST_P12", credential.password)
    signer = load_signer(spec, workspace)
    assert signer.subject_name == "Trần Văn Minh"
    assert signer.source == "pkcs12"
    assert len(signer.crypto_chain) == 3  # signer, CA, root


def test_pkcs12_wrong_password_or_file_is_a_signing_error(demo_pki: DemoPki) -> None:
    credential = demo_pki.credential("HT01")
    with pytest.raises(SigningError, match="sai mật khẩu"):
        signer_from_pkcs12(credential.pkcs12, "sai")
    with pytest.raises(SigningError, match="Không mở được"):
        signer_from_pkcs12(demo_pki.directory / "khong-co.p12", "x")
    with pytest.raises(SigningError, match="không có chứng thư"):
        demo_pki.credential("khong-co-ai")


def test_certificates_are_handed_to_concurrent_requests_parsed_once(demo_pki: DemoPki) -> None:
    """The services' threads ask for certificates at once (two records in flight per
    worker): each gets the one copy, parsed before it was shared."""
    import threading

    from hocbaso.demo.pki import load_architecture

    arch = load_architecture(demo_pki.directory)
    from certomancer.registry import ServiceLabel

    label = arch.service_registry.get_tsa_info(ServiceLabel("tsa")).signing_cert
    barrier = threading.Barrier(8)
    got: list[object] = []

    def ask() -> None:
        barrier.wait()
        got.append(arch.get_cert(label))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(c is got[0] for c in got)
    assert getattr(got[0], "_processed_extensions", False)  # read before it was shared
