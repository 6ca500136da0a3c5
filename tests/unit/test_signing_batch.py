"""A class signed in one call: three roles over several records, one bad record isolated;
each signed PDF carries its own signed XML."""

from __future__ import annotations

from pki_fixtures import pdf_attaching

from hocbaso.demo.pki import DemoPki
from hocbaso.errors import RecordError
from hocbaso.render import extract_record_xml
from hocbaso.signing import RecordSigner, TrustSettings, sign_batch, verify_batch


def test_a_class_is_signed_by_three_roles_and_verifies(
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    record_xml: bytes,
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
) -> None:
    xmls = [record_xml.replace(b"000000000001", f"00000000000{i}".encode()) for i in range(4)]
    records = [(xml, pdf_attaching(xml)) for xml in xmls]
    for role, signer in (("gvcn", gvcn_signer), ("ht", ht_signer), ("condau", seal_signer)):
        outcomes = sign_batch(
            records,
            signer,
            role,
            tsa_url=demo_pki.tsa_url,
            trust=demo_trust,  # type: ignore[arg-type]
        )
        assert all(o.ok for o in outcomes), [o.error for o in outcomes]
        records = [(o.xml, o.pdf) for o in outcomes]  # type: ignore[misc]
    checked = verify_batch(records, demo_trust)  # type: ignore[arg-type]
    assert [o.ok for o in checked] == [True] * 4
    assert len({x for x, _ in records}) == 4  # each record kept its own data
    assert [extract_record_xml(p) for _, p in records] == [x for x, _ in records]


def test_one_bad_record_does_not_stop_the_class(
    record_xml: bytes,
    record_pdf: bytes,
    gvcn_signer: RecordSigner,
) -> None:
    outcomes = sign_batch(
        [(record_xml, record_pdf), (b"<khong-phai-hoc-ba/>", record_pdf)], gvcn_signer, "gvcn"
    )
    assert outcomes[0].ok and outcomes[0].xml and outcomes[0].pdf
    assert not outcomes[1].ok
    assert isinstance(outcomes[1].error, RecordError)
