"""The stand-in registry's verifier, with its kept revocation answers and in worker processes:
every refusal code still fires (XSD, SIGNATURE, TIMESTAMP, MISMATCH) on real signed records."""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from pki_fixtures import DEMO_ORGANISATION, DEMO_PEOPLE, free_port
from test_render import make_record_xml

from hocbaso.demo.pki import (
    DemoIdentity,
    DemoPki,
    certificate_of,
    create_demo_pki,
    load_demo_signer,
    revoke_identity,
)
from hocbaso.demo.pki_services import DemoPkiServices
from hocbaso.demo.registry import StandinServer
from hocbaso.demo.registry.pool import VerifierPool
from hocbaso.demo.registry.verifier import (
    RegistryVerifier,
    registry_verifier,
    registry_verifier_factory,
)
from hocbaso.registry.results import Refusal
from hocbaso.render import RecordRenderer, extract_record_xml
from hocbaso.signing import (
    ROLES,
    RecordSigner,
    ServiceSession,
    TrustSettings,
    async_sign_record_pdf,
    async_sign_record_xml,
    sign_batch,
)

NS = "urn:hocbaso:hocba:1"
XADES = "http://uri.etsi.org/01903/v1.3.2#"


def demo_record_xml(**over: Any) -> bytes:
    """A record naming the demo PKI's GVCN, principal and school, so its signatures are
    bound to their roles."""
    people = {p.key: p.personal_id for p in DEMO_PEOPLE}
    names = {"soddcngvcn": people["GV01"], "soddcngiamhieu": people["HT01"]}
    return make_record_xml(**{**names, "tentruong": DEMO_ORGANISATION, **over})


@pytest.fixture(scope="module")
def renderer() -> RecordRenderer:
    return RecordRenderer(pdf_tags=False)


def sign_record(
    xml: bytes,
    pdf: bytes,
    signers: tuple[RecordSigner, RecordSigner, RecordSigner],
    pki: DemoPki,
    trust: TrustSettings,
) -> tuple[bytes, bytes]:
    """Both documents signed by GVCN, HT and the seal, as the pipeline does."""
    for role, signer in zip(ROLES, signers, strict=True):
        (outcome,) = sign_batch([(xml, pdf)], signer, role, tsa_url=pki.tsa_url, trust=trust)
        assert outcome.ok and outcome.xml and outcome.pdf, outcome.error
        xml, pdf = outcome.xml, outcome.pdf
    return xml, pdf


@pytest.fixture(scope="module")
def signed(
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
    renderer: RecordRenderer,
) -> tuple[bytes, bytes]:
    xml = demo_record_xml()
    signers = (gvcn_signer, ht_signer, seal_signer)
    return sign_record(xml, renderer.render(xml), signers, demo_pki, demo_trust)


@pytest.fixture(scope="module")
def verify(demo_trust: TrustSettings, demo_pki_services: object) -> Iterator[RegistryVerifier]:
    verifier = registry_verifier(demo_trust)
    yield verifier
    verifier.close()


def codes(refusals: list[Refusal]) -> list[str]:
    assert all(r.message for r in refusals)
    return [r.code for r in refusals]


def test_a_signed_record_passes_again_and_again(
    verify: RegistryVerifier, signed: tuple[bytes, bytes]
) -> None:
    # The second and third calls reuse the session and the revocation answers.
    assert [verify(*signed) for _ in range(3)] == [[], [], []]


def test_xml_that_breaks_the_schema_is_xsd(
    verify: RegistryVerifier, signed: tuple[bytes, bytes]
) -> None:
    xml, pdf = signed
    bad = xml.replace(b"<gioitinh>2</gioitinh>", b"<gioitinh>9</gioitinh>")
    assert bad != xml
    assert codes(verify(bad, pdf)) == ["XSD"]


def test_tampered_xml_data_is_signature_and_mismatch(
    verify: RegistryVerifier, signed: tuple[bytes, bytes]
) -> None:
    xml, pdf = signed
    tampered = xml.replace("Nguyễn Thị Thuỳ Dương".encode(), "Nguyễn Thị Thuỳ Duyên".encode())
    assert tampered != xml
    found = codes(verify(tampered, pdf))
    assert found.count("SIGNATURE") == 3  # every XML signature covers the data
    assert found[-1] == "MISMATCH"  # and the PDF still carries the original data


def without_timestamp(xml: bytes) -> bytes:
    """The seal's timestamp token replaced by garbage (an unsigned property: the
    signatures still hold)."""
    root = etree.fromstring(xml)
    (token,) = root.iter(f"{{{XADES}}}EncapsulatedTimeStamp")
    token.text = base64.b64encode(b"not a timestamp token").decode()
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True))


@pytest.fixture(scope="module")
def bad_timestamp(
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
    renderer: RecordRenderer,
) -> tuple[bytes, bytes]:
    """A sealed record whose XML seal timestamp is garbage, its PDF carrying that XML (the
    PDF seal attaches the XML it is handed): only the timestamp is wrong."""
    xml = demo_record_xml()
    pdf = renderer.render(xml)
    for role, signer in (("gvcn", gvcn_signer), ("ht", ht_signer)):
        (outcome,) = sign_batch([(xml, pdf)], signer, role)
        assert outcome.xml and outcome.pdf, outcome.error
        xml, pdf = outcome.xml, outcome.pdf

    async def seal() -> tuple[bytes, bytes]:
        async with ServiceSession(tsa_url=demo_pki.tsa_url, trust=demo_trust) as session:
            sealed = await async_sign_record_xml(
                xml, seal_signer, "condau", timestamper=session.timestamper
            )
            sealed = without_timestamp(sealed)
            return sealed, await async_sign_record_pdf(
                pdf, seal_signer, "condau", signed_xml=sealed, session=session
            )

    return asyncio.run(seal())


def test_bad_timestamp_is_timestamp(
    verify: RegistryVerifier, bad_timestamp: tuple[bytes, bytes]
) -> None:
    assert codes(verify(*bad_timestamp)) == ["TIMESTAMP"]


def test_changed_pdf_bytes_are_signature(
    verify: RegistryVerifier, signed: tuple[bytes, bytes]
) -> None:
    xml, pdf = signed
    # One byte of the page content stream, covered by all three signatures; the
    # attached XML (a separate stream) is untouched.
    start = pdf.find(b"stream", pdf.find(b"/Contents")) + 20
    changed = bytearray(pdf)
    changed[start] ^= 0x01
    assert extract_record_xml(bytes(changed)) == extract_record_xml(pdf)
    found = codes(verify(xml, bytes(changed)))
    # Every signature fails, and so does the document timestamp (B-LTA), which covers
    # the whole file.
    assert found.count("SIGNATURE") == 3 and set(found) == {"SIGNATURE", "TIMESTAMP"}


def test_pdf_attaching_other_data_is_mismatch(
    verify: RegistryVerifier,
    signed: tuple[bytes, bytes],
    demo_pki: DemoPki,
    demo_trust: TrustSettings,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
    renderer: RecordRenderer,
) -> None:
    xml, _ = signed
    other = demo_record_xml(hovaten="Trần Văn Khác")
    signers = (gvcn_signer, ht_signer, seal_signer)
    _, other_pdf = sign_record(other, renderer.render(other), signers, demo_pki, demo_trust)
    # Both documents are validly signed by the right people; only the data differs.
    assert codes(verify(xml, other_pdf)) == ["MISMATCH"]


def test_pdf_attaching_the_same_data_in_other_bytes_is_mismatch(
    verify: RegistryVerifier, signed: tuple[bytes, bytes]
) -> None:
    xml, pdf = signed
    assert extract_record_xml(pdf) == xml  # the sealed PDF carries the sealed XML
    # Other bytes, same data and signatures (the declaration is outside C14N): every
    # XML signature still holds, but the PDF does not carry these bytes.
    reformatted = xml.replace(b"?>", b"?>\n", 1)
    assert reformatted != xml
    assert codes(verify(reformatted, pdf)) == ["MISMATCH"]


@pytest.fixture(scope="module")
def own_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPki]:
    """A PKI of this module only: revoking its people changes no other module's tests."""
    directory = tmp_path_factory.mktemp("pki-verifier")
    people = [
        *DEMO_PEOPLE,
        DemoIdentity("GV98", "Đỗ Văn Bị Thu", "001190000098", "Giáo viên"),
        DemoIdentity("GV97", "Phan Văn Sau Cùng", "001190000097", "Giáo viên"),
    ]
    pki = create_demo_pki(directory, people, DEMO_ORGANISATION, port=free_port())
    with DemoPkiServices(pki):
        yield pki


def signed_by(pki: DemoPki, gvcn: str, renderer: RecordRenderer) -> tuple[bytes, bytes]:
    """A record of ``pki`` whose homeroom teacher is ``gvcn``."""
    trust = TrustSettings.from_files([pki.root_certificate])
    signers = (
        load_demo_signer(pki, gvcn),
        load_demo_signer(pki, "HT01"),
        load_demo_signer(pki, "con-dau"),
    )
    people = {p.key: p.personal_id for p in DEMO_PEOPLE}
    people["GV97"] = "001190000097"  # own_pki's extra teacher
    xml = demo_record_xml(soddcngvcn=people[gvcn])
    return sign_record(xml, renderer.render(xml), signers, pki, trust)


def revoke(pki: DemoPki, key: str) -> None:
    since = certificate_of(pki.credential(key)).not_valid_before_utc
    revoke_identity(pki, key, since=since)


def test_revoked_signer_is_signature(own_pki: DemoPki, renderer: RecordRenderer) -> None:
    xml, pdf = signed_by(own_pki, "GV98", renderer)
    revoke(own_pki, "GV98")
    verifier = registry_verifier(TrustSettings.from_files([own_pki.root_certificate]))
    try:
        refusals = verifier(xml, pdf)
    finally:
        verifier.close()
    revoked = [r for r in refusals if "thu hồi" in r.message]
    assert revoked and {r.code for r in refusals} == {"SIGNATURE"}
    assert any(r.message.startswith("chuky-gvcn.chung-thu") for r in revoked)  # the XML
    assert any(r.message.startswith("ChuKyGVCN.chung-thu") for r in revoked)  # the PDF


def test_warm_verdicts_do_not_let_a_revoked_signer_or_a_changed_pdf_through(
    own_pki: DemoPki, renderer: RecordRenderer
) -> None:
    """Good records fill the kept verdicts (XML signers', and pyHanko's on the PDF signers'
    and TSAs' paths); a record by a revoked teacher and a changed PDF are still refused,
    and the good record still passes after them."""
    trust = TrustSettings.from_files([own_pki.root_certificate])
    good = signed_by(own_pki, "GV01", renderer)
    bad = signed_by(own_pki, "GV97", renderer)
    revoke(own_pki, "GV97")
    verifier = registry_verifier(trust)
    try:
        assert [verifier(*good) for _ in range(3)] == [[], [], []]
        assert verifier._usage and verifier._verdicts  # warm: the same session goes on
        refusals = verifier(*bad)
        revoked = [r.message for r in refusals if "thu hồi" in r.message]
        assert {r.code for r in refusals} == {"SIGNATURE"}
        assert any(m.startswith("chuky-gvcn.chung-thu") for m in revoked)  # the XML
        assert any(m.startswith("ChuKyGVCN.chung-thu") for m in revoked)  # the PDF
        xml, pdf = good
        start = pdf.find(b"stream", pdf.find(b"/Contents")) + 20
        changed = bytearray(pdf)
        changed[start] ^= 0x01
        found = codes(verifier(xml, bytes(changed)))
        assert found.count("SIGNATURE") == 3 and set(found) == {"SIGNATURE", "TIMESTAMP"}
        assert verifier(*good) == []
    finally:
        verifier.close()


def test_kept_answers_are_dropped_after_keep_s_and_a_revocation_is_seen(
    own_pki: DemoPki, renderer: RecordRenderer
) -> None:
    trust = TrustSettings.from_files([own_pki.root_certificate])
    xml, pdf = signed_by(own_pki, "GV99", renderer)
    # keep_s well above one verification on a loaded 2-core machine (up to ~2 s seen)
    verifier = registry_verifier(trust, keep_s=6.0)
    try:
        assert verifier(xml, pdf) == []
        revoke(own_pki, "GV99")
        # Within keep_s the answers fetched for the first call are reused (bounded staleness,
        # as an OCSP cache would be); a verifier built now sees the revocation at once.
        assert verifier(xml, pdf) == []
        fresh = registry_verifier(trust)
        assert "SIGNATURE" in codes(fresh(xml, pdf))
        fresh.close()
        time.sleep(6.1)
        assert "SIGNATURE" in codes(verifier(xml, pdf))
    finally:
        verifier.close()


def test_worker_processes_behind_the_stand_in_accept_and_refuse(
    tmp_path: Path,
    demo_trust: TrustSettings,
    signed: tuple[bytes, bytes],
    bad_timestamp: tuple[bytes, bytes],
) -> None:
    xml, pdf = signed
    others = {p.pid for p in multiprocessing.active_children()}  # other tests' children
    pool = VerifierPool(registry_verifier_factory(demo_trust), workers=2)
    workers = set(pool.worker_pids())
    assert len(workers) == 2
    standin = StandinServer(tmp_path, verifier=pool)
    with standin.serve() as running, httpx.Client(base_url=running.api_url, timeout=60) as http:
        token = http.post(
            "/token", data={"client_id": "demo", "client_secret": "demo-secret"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def put(x: bytes, p: bytes) -> httpx.Response:
            files = {
                "xml": ("a.xml", x, "application/xml"),
                "pdf": ("a.pdf", p, "application/pdf"),
            }
            ma_hoc_ba = etree.fromstring(x).findtext(f".//{{{NS}}}madinhdanhhocba")
            return http.put(f"/hoc-ba/{ma_hoc_ba}", files=files, headers=auth)

        # The PDF carries the XML (the stand-in's own checks pass), bad timestamp.
        refused = put(*bad_timestamp)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "TIMESTAMP"
        accepted = put(xml, pdf)
        assert accepted.status_code == 201, accepted.text
        assert set(pool.worker_pids()) == workers  # no worker died and was replaced
    # Stopping the server closed the pool: it joined its two workers before returning,
    # and started no other process.
    assert {p.pid for p in multiprocessing.active_children()} - others == set()
    assert pool.worker_pids() == []
    with pytest.raises(RuntimeError):
        pool(xml, pdf)  # closed stays closed: no worker is started behind the test's back
