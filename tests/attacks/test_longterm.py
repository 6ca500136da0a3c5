"""Records that stay verifiable: B-LTA/XAdES-LTA after the seal, validation at the best
proof of existence (valid after every signer's certificate expired; a certificate
revoked before the signature still fails), `hbs verify --offline --at --json`, renewal
by exactly one timestamp, and the store read while another process holds it."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest_helpers import PEOPLE, demo_record
from corpus import seal_record
from pki_fixtures import write

from hbs.cli import main
from hocbaso.demo.pki import DemoPki, certificate_of, load_demo_signer, revoke_identity
from hocbaso.render import RecordRenderer, extract_record_xml
from hocbaso.renewal import is_due
from hocbaso.signing import ServiceSession, TrustSettings, verify_record_pdf, verify_record_xml
from hocbaso.signing.longterm import (
    extend_pdf_longterm,
    is_renewal_of,
    pdf_document_timestamps,
    renew_xml_archive,
)
from hocbaso.store import Store
from hocbaso.verification import verify_files

TEN_YEARS_AHEAD = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3653)).date().isoformat()


def test_the_sealed_pdf_has_dss_and_a_document_timestamp_after_the_seal(
    sealed: tuple[bytes, bytes],
) -> None:
    xml, pdf = sealed
    assert pdf_document_timestamps(pdf) == 1
    assert b"/DSS" in pdf[pdf.rfind(b"/ChuKyConDau") :] or b"/DSS" in pdf
    assert b"ArchiveTimeStamp" in xml and b"RevocationValues" in xml
    assert extract_record_xml(pdf) == xml  # the seal attached the final XML


def test_hbs_verify_offline_ten_years_ahead_json(
    sealed: tuple[bytes, bytes],
    demo_pki: DemoPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    xml, pdf = sealed
    files = [write(tmp_path, "hocba.pdf", pdf), write(tmp_path, "hocba.xml", xml)]
    argv = ["verify", "--workspace", str(tmp_path / "khong-co"), "--offline"]
    argv += ["--at", TEN_YEARS_AHEAD, "--json", "--trust", str(demo_pki.root_certificate)]
    code = main([*argv, *map(str, files)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["indication"] == "TOTAL-PASSED"
    for file in out["files"]:
        assert file["indication"] == "TOTAL-PASSED" and file["sub_indication"] is None
        roles = [s["role"] for s in file["signatures"]]
        assert roles[:3] == ["gvcn", "ht", "condau"] and "luu-tru" in roles
        assert all(s["indication"] == "TOTAL-PASSED" for s in file["signatures"])
        assert all(s["best_signature_time"] for s in file["signatures"])
    # Every signer's certificate has expired by then: the proof of existence carries them.
    at = dt.datetime.fromisoformat(TEN_YEARS_AHEAD).replace(tzinfo=dt.UTC)
    for key in ("GV01", "HT01", "con-dau"):
        assert certificate_of(demo_pki.credential(key)).not_valid_after_utc < at


def test_validated_now_against_current_time_the_expired_signers_would_fail(
    sealed: tuple[bytes, bytes], demo_pki: DemoPki
) -> None:
    # Without proof of existence (a record B-B only, the old way), ten years ahead fails.
    xml, _ = sealed
    trust = TrustSettings.from_files(
        [demo_pki.root_certificate],
        allow_fetching=False,
        moment=dt.datetime.fromisoformat(TEN_YEARS_AHEAD).replace(tzinfo=dt.UTC),
    )
    report = verify_record_xml(xml, trust, expect=["gvcn"], long_term=False)
    # Only the GVCN signature is expected: the seal's timestamp is then no proof, and
    # nothing the file carries is current ten years on.
    check = report.check("chuky-gvcn.chung-thu")
    assert check.status != "passed"
    assert check.indication == "INDETERMINATE"
    assert check.sub_indication in ("OUT_OF_BOUNDS_NO_POE", "TRY_LATER")


def test_a_certificate_revoked_before_signing_fails_at_any_time(
    demo_pki: DemoPki,
    demo_pki_services: object,
    demo_trust: TrustSettings,
    renderer: RecordRenderer,
) -> None:
    since = certificate_of(demo_pki.credential("GV99")).not_valid_before_utc
    revoke_identity(demo_pki, "GV99", since=since)
    xml = demo_record(soddcngvcn=PEOPLE["GV99"])
    signers = {
        "gvcn": load_demo_signer(demo_pki, "GV99"),
        "ht": load_demo_signer(demo_pki, "HT01"),
        "condau": load_demo_signer(demo_pki, "con-dau"),
    }
    xml, pdf = asyncio.run(seal_record(xml, renderer.render(xml), signers, demo_pki, demo_trust))
    offline = TrustSettings.from_files([demo_pki.root_certificate], allow_fetching=False)
    for moment in (None, dt.datetime.now(dt.UTC) + dt.timedelta(days=3653)):
        trust = dataclasses.replace(offline, moment=moment)
        for report in (
            verify_record_xml(xml, trust, long_term=True),
            verify_record_pdf(pdf, trust, long_term=True),
        ):
            name = "chuky-gvcn.chung-thu" if report.document == "xml" else "ChuKyGVCN.chung-thu"
            check = report.check(name)
            assert check.sub_indication == "REVOKED", report.summary()
            assert report.indication == "TOTAL-FAILED"
            assert report.check(name.replace("chung-thu", "vai-tro")).status == "passed"


def test_renewal_adds_one_timestamp_and_the_renewed_files_verify(
    sealed: tuple[bytes, bytes], demo_pki: DemoPki, demo_trust: TrustSettings
) -> None:
    xml, pdf = sealed

    async def renew() -> tuple[bytes, bytes]:
        async with ServiceSession(tsa_url=demo_pki.tsa_url, trust=demo_trust) as session:
            return await renew_xml_archive(xml, session), await extend_pdf_longterm(pdf, session)

    new_xml, new_pdf = asyncio.run(renew())
    assert pdf_document_timestamps(new_pdf) == pdf_document_timestamps(pdf) + 1
    assert new_xml.count(b"ArchiveTimeStamp ") == xml.count(b"ArchiveTimeStamp ") + 1
    assert is_renewal_of(extract_record_xml(new_pdf), new_xml)
    assert not is_renewal_of(new_xml, xml)
    offline = TrustSettings.from_files([demo_pki.root_certificate], allow_fetching=False)
    assert verify_record_xml(new_xml, offline, long_term=True).bottom_line
    assert verify_record_pdf(new_pdf, offline, long_term=True).bottom_line
    # When a record is due: within the margin, and not just renewed.
    now, years = dt.datetime.now(dt.UTC), dt.timedelta(days=365)
    assert is_due(pdf, xml, now, margin=30 * years).due
    assert not is_due(pdf, xml, now, margin=1 * years).due
    assert not is_due(new_pdf, new_xml, now, margin=30 * years).due  # renewed today
    later = now + dt.timedelta(days=40)
    assert is_due(new_pdf, new_xml, later, margin=30 * years).due


def test_verify_reads_the_store_while_another_process_holds_it(
    sealed: tuple[bytes, bytes], demo_pki: DemoPki, tmp_path: Path
) -> None:
    from test_attacks import _store_with

    xml, pdf = sealed
    ws = _store_with(tmp_path / "ws", xml, pdf, "accepted")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('giu', flush=True); time.sleep(60)",
            str(Store(ws.store_path).path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "giu"
        offline = TrustSettings.from_files([demo_pki.root_certificate], allow_fetching=False)
        (result,) = verify_files(ws, offline, [write(tmp_path, "a.pdf", pdf)])
        assert result.passed, result.summary()
        assert "kho.tep" in result.check_names()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_hbs_verify_gives_every_file_its_verdict(
    sealed: tuple[bytes, bytes],
    demo_pki: DemoPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = [
        write(tmp_path, "hong.pdf", b"%PDF-1.7\n" + b"\x00" * 100),
        tmp_path / "khong-co.xml",
        write(tmp_path, "hocba.xml", sealed[0]),
        write(
            tmp_path, "rac.xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"
        ),
    ]
    argv = ["verify", "--workspace", str(tmp_path / "khong-co"), "--offline", "--json"]
    code = main([*argv, "--trust", str(demo_pki.root_certificate), *map(str, files)])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    verdicts = {Path(f["file"]).name: f["indication"] for f in out["files"]}
    assert verdicts == {
        "hong.pdf": "TOTAL-FAILED",
        "khong-co.xml": "TOTAL-FAILED",
        "hocba.xml": "TOTAL-PASSED",
        "rac.xml": "TOTAL-FAILED",
    }


def test_as_of_a_day_before_the_seal_the_record_did_not_exist(
    sealed: tuple[bytes, bytes], demo_pki: DemoPki
) -> None:
    trust = TrustSettings.from_files(
        [demo_pki.root_certificate],
        allow_fetching=False,
        moment=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    )
    xml_report = verify_record_xml(sealed[0], trust, long_term=True)
    pdf_report = verify_record_pdf(sealed[1], trust, long_term=True)
    assert xml_report.check("chuky-condau.thoi-diem").sub_indication == "NO_POE"
    assert pdf_report.check("ChuKyConDau.thoi-diem").sub_indication == "NO_POE"
    assert xml_report.indication == pdf_report.indication == "INDETERMINATE"
