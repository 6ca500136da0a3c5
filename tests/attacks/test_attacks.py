"""The attack corpus: every case fails with the right check, with trust roots alone and
with the school's store; the honest updates (DSS, document timestamp, archive renewal)
pass; no case ends in a traceback. xmlsec1 and pdfsig are compared where they judge.

Trust roots alone means offline: only what the file carries and the demo root count,
and the validation time is ten years ahead, when every signer's certificate has long
expired (the record must stay valid at its proof of existence).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest_helpers import demo_record
from corpus import Case, make_corpus
from pki_fixtures import write

from hocbaso.config import Workspace
from hocbaso.demo.pki import DemoPki
from hocbaso.files import store_content
from hocbaso.record import data_digest, parse_record_xml
from hocbaso.render import RecordRenderer
from hocbaso.signing import TrustSettings
from hocbaso.store import Store
from hocbaso.verification import FileVerification, async_verify_bytes, verify_files

TEN_YEARS = dt.timedelta(days=3653)


@pytest.fixture(scope="module")
def corpus(
    sealed: tuple[bytes, bytes],
    demo_pki: DemoPki,
    demo_trust: TrustSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Case]:
    xml, pdf = sealed
    changed = demo_record(hovaten="Người Khác")
    cases = make_corpus(
        xml,
        pdf,
        demo_pki,
        demo_trust,
        RecordRenderer(pdf_tags=False),
        changed,
        tmp_path_factory.mktemp("tu-tao"),
    )
    return {c.name: c for c in cases}


@pytest.fixture(scope="module")
def offline(demo_pki: DemoPki) -> TrustSettings:
    """Trust roots alone, ten years ahead."""
    trust = TrustSettings.from_files([demo_pki.root_certificate], allow_fetching=False)
    return dataclasses.replace(trust, moment=dt.datetime.now(dt.UTC) + TEN_YEARS)


def _store_with(root: Path, xml: bytes, pdf: bytes, state: str) -> Workspace:
    ws = Workspace(root)
    store = Store(ws.store_path)
    store.create()
    xml_path, xml_sha = store_content(ws, xml, ".xml")
    pdf_path, _ = store_content(ws, pdf, ".pdf")
    record = parse_record_xml(xml)
    now = dt.datetime.now(dt.UTC)
    rows = [(record.madinhdanhhocba, 1, None, state, data_digest(xml), xml_sha, xml_path, pdf_path)]
    if state == "revoked":
        rows.append(("thay-the-0001", 2, record.madinhdanhhocba, "draft", None, None, None, None))
    with store.transaction() as con:
        for ma, version, replaces, st, digest, sha, xp, pp in rows:
            con.execute(
                "INSERT INTO hoc_ba (ma_hoc_ba, ma_hoc_sinh, nam_hoc, phien_ban, thay_the, ma_lop,"
                " trang_thai, sha256_du_lieu, sha256, xml_path, pdf_path, cap_nhat)"
                " VALUES ($1, 'HS1', $2, $3, $4, '5A', $5, $6, $7, $8, $9, $10)",
                [ma, record.namhoc, version, replaces, st, digest, sha, xp, pp, now],
            )
    return ws


@pytest.fixture(scope="module")
def stores(
    sealed: tuple[bytes, bytes], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Workspace]]:
    xml, pdf = sealed
    yield {
        "accepted": _store_with(tmp_path_factory.mktemp("kho"), xml, pdf, "accepted"),
        "revoked": _store_with(tmp_path_factory.mktemp("kho-thu-hoi"), xml, pdf, "revoked"),
    }


def _verify(case: Case, trust: TrustSettings, ws: Workspace | None) -> FileVerification:
    from hocbaso.signing import ServiceSession

    async def run() -> FileVerification:
        async with ServiceSession(trust=trust) as session:
            return await async_verify_bytes(ws, trust, Path(case.name), case.data, session)

    return asyncio.run(run())


ATTACKS = [
    "xml-chu-thich-trong-ten",
    "xml-chi-thi-xu-ly",
    *(f"xml-xsw{n}" for n in range(1, 9)),
    "xml-ds-object-khong-ky",
    "xml-dinh-chinh-ngoai-namespace",
    "xml-xxe",
    "xml-bom-thuc-the",
    "xml-doctype",
    "xml-sua-du-lieu",
    "xml-dau-thoi-gian-rong",
    "xml-dau-thoi-gian-luu-tru-rong",
    "xml-bo-luu-tru",
    "xml-cat-cut",
    "xml-chung-thu-nguoi-khac",
    "xml-chung-thu-nguoi-khac-ht",
    "xml-chung-thu-nguoi-khac-dau",
    "xml-ca-tu-tao",
    "pdf-sua-info",
    "pdf-sua-xmp",
    "pdf-cap-nhat-sieu-du-lieu-pyhanko",
    "pdf-truong-phu-trang-4",
    "pdf-chu-thich",
    "pdf-bong-thay-noi-dung",
    "pdf-them-trang",
    "pdf-thay-tep-dinh-kem",
    "pdf-cat-truoc-dau-thoi-gian",
    "pdf-cat-truoc-dong-dau",
    "pdf-byterange-null",
    "pdf-byterange-thu-hep",
    "pdf-gia-mao-chu-ky-rong",
    "pdf-sua-mot-byte",
    "pdf-chung-thu-nguoi-khac",
    "pdf-ca-tu-tao",
    "pdf-xades-dinh-kem-hong",
    "pdf-cat-cut",
]
HONEST = [
    "trung-thuc-xml",
    "trung-thuc-pdf",
    "trung-thuc-them-dss",
    "trung-thuc-gia-han-pdf",
    "trung-thuc-gia-han-xml",
]


def test_the_corpus_is_what_the_tests_name(corpus: dict[str, Case]) -> None:
    assert sorted(corpus) == sorted(ATTACKS + HONEST)


def _assert_fails(case: Case, result: FileVerification) -> None:
    assert result.indication != "TOTAL-PASSED", result.summary()
    found = [c for c in result.checks if c.name == case.fails]
    assert found, f"{case.name}: no check {case.fails}\n{result.summary()}"
    assert found[0].status != "passed", result.summary()
    if case.sub is not None:
        assert found[0].sub_indication == case.sub, result.summary()


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_fails_with_trust_roots_alone(
    name: str, corpus: dict[str, Case], offline: TrustSettings
) -> None:
    case = corpus[name]
    _assert_fails(case, _verify(case, offline, None))


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_fails_with_the_store(
    name: str, corpus: dict[str, Case], offline: TrustSettings, stores: dict[str, Workspace]
) -> None:
    case = corpus[name]
    _assert_fails(case, _verify(case, offline, stores["accepted"]))


@pytest.mark.parametrize("name", HONEST)
def test_honest_update_passes(name: str, corpus: dict[str, Case], offline: TrustSettings) -> None:
    result = _verify(corpus[name], offline, None)
    assert result.passed, result.summary()
    assert result.indication == "TOTAL-PASSED"
    signatures = result.report.signature_dicts() if result.report else []
    assert signatures and all(s["indication"] == "TOTAL-PASSED" for s in signatures)


def _both_in(
    ws: Workspace, sealed: tuple[bytes, bytes], trust: TrustSettings, tmp: Path
) -> list[FileVerification]:
    """The sealed XML and PDF verified inside ``ws``."""
    files = [write(tmp, "a.xml", sealed[0]), write(tmp, "a.pdf", sealed[1])]
    return verify_files(ws, trust, files)


@pytest.mark.parametrize("state", ["accepted", "revoked"])
def test_the_store_judges_the_current_files(
    state: str,
    sealed: tuple[bytes, bytes],
    offline: TrustSettings,
    stores: dict[str, Workspace],
    tmp_path: Path,
) -> None:
    for result in _both_in(stores[state], sealed, offline, tmp_path):
        assert result.check_names() >= {"kho.tep", "kho.du-lieu", "kho.trang-thai"}
        if state == "accepted":
            assert result.passed, result.summary()
            continue
        # Revoked in the store: reported revoked, with the version replacing it.
        assert result.indication == "TOTAL-FAILED"
        check = next(c for c in result.checks if c.name == "kho.trang-thai")
        assert check.sub_indication == "REVOKED"
        assert "thay-the-0001" in check.message
        assert result.record_status == {"status": "revoked", "replaced_by": "thay-the-0001"}


def test_comment_injection_no_longer_cuts_the_readers(corpus: dict[str, Case]) -> None:
    from hocbaso.demo.registry.checks import read_facts

    honest = parse_record_xml(corpus["trung-thuc-xml"].data).hovaten
    injected = corpus["xml-chu-thich-trong-ten"].data
    assert parse_record_xml(injected).hovaten == honest
    assert read_facts(injected).ho_va_ten == honest


def test_xmlsec1_accepts_the_comment_injection_we_refuse(
    corpus: dict[str, Case], demo_pki: DemoPki, tmp_path: Path
) -> None:
    # Comments are outside C14N, so the signature itself is intact: only the strict
    # profile catches the split value. xmlsec1 judges the signature alone.
    path = write(tmp_path, "a.xml", corpus["xml-chu-thich-trong-ten"].data)
    done = subprocess.run(
        [
            "xmlsec1",
            "--verify",
            "--trusted-pem",
            str(demo_pki.root_certificate),
            "--untrusted-pem",
            str(demo_pki.ca_certificate),
            "--id-attr:Id",
            "thongtinsohocbasotieuhoc",
            "--id-attr:Id",
            "Signature",
            "--id-attr:Id",
            "SignedProperties",
            "--id-attr:Id",
            "KeyInfo",
            "--node-id",
            "chuky-gvcn",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_pdfsig_sees_the_metadata_rewrite_only_as_a_later_update(
    corpus: dict[str, Case], tmp_path: Path
) -> None:
    # pdfsig still calls every CAdES signature valid; it only notes that even the last
    # document timestamp no longer covers the whole file. The strict profile refuses.
    path = write(tmp_path, "a.pdf", corpus["pdf-sua-info"].data)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert out.count("Signature is Valid") == 3, out
    assert "Not total document signed" in out.split("DauThoiGianLuuTru1")[-1], out
