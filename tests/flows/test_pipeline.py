"""The school's whole plan, end to end, on a tiny generated school.

Runs the real `hbs` command (in-process) against a real local Prefect server, a
real DuckDB file, the demo PKI with its TSA/OCSP/CRL on loopback and the
stand-in registry as an HTTP server; then asks independent tools (xmllint,
xmlsec1, pdfsig, qpdf, pdfdetach) whether what it issued holds.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import duckdb
import pytest
from tools import (
    SIGNATURE_IDS,
    pdfdetach_first,
    pdfsig_valid_count,
    qpdf_check,
    xmllint_schema,
    xmlsec_verify,
)

from hbs.cli import main
from hocbaso.config import Workspace
from hocbaso.demo.pki import load_demo_pki
from hocbaso.record import XSD_PATH

XSD = XSD_PATH


@pytest.fixture(scope="module")
def demo_workspace(
    tmp_path_factory: pytest.TempPathFactory, prefect_api: str, tiny_school_xlsx: Path
) -> Path:
    ws = tmp_path_factory.mktemp("ws") / "truong"
    assert main(["demo", "--workspace", str(ws), "--source", str(tiny_school_xlsx)]) == 0
    return ws


def _records(ws: Path) -> list[tuple]:
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT ma_hoc_ba, ma_hoc_sinh, trang_thai, ma_tra_cuu, sha256, xml_path, pdf_path "
            "FROM v_hoc_ba ORDER BY ma_hoc_ba"
        ).fetchall()
    finally:
        con.close()


def test_every_student_has_an_accepted_record_with_a_unique_lookup_code(
    demo_workspace: Path,
) -> None:
    rows = _records(demo_workspace)
    con = duckdb.connect(str(demo_workspace / "hbs.duckdb"), read_only=True)
    students = con.execute("SELECT count(*) FROM v_hoc_sinh").fetchone()[0]
    con.close()
    assert students == 40
    assert len(rows) == students
    assert {r[2] for r in rows} == {"accepted"}
    codes = [r[3] for r in rows]
    assert all(codes) and len(set(codes)) == len(codes)
    assert len({r[1] for r in rows}) == students


def test_independent_tools_agree_on_every_record(demo_workspace: Path, tmp_path: Path) -> None:
    root = load_demo_pki(Workspace(demo_workspace).pki_dir).root_certificate
    for n, (_, _, _, _, sha, xml_path, pdf_path) in enumerate(_records(demo_workspace)):
        xml = demo_workspace / xml_path
        pdf = demo_workspace / pdf_path
        assert hashlib.sha256(xml.read_bytes()).hexdigest() == sha
        lint = xmllint_schema(xml, XSD)
        assert lint.returncode == 0, lint.stderr
        for node in SIGNATURE_IDS:
            result = xmlsec_verify(xml, root, node)
            assert result.returncode == 0, (node, result.stderr)
        found, valid, out = pdfsig_valid_count(pdf)
        # pdfsig verifies the three CAdES signatures but not the document timestamp
        # (ETSI.RFC3161, "not yet verified"); `hbs verify` checks that one.
        assert found == 4 and valid == 3 and "DauThoiGianLuuTru1" in out, out
        check = qpdf_check(pdf)
        assert check.returncode == 0, check.stdout + check.stderr
        # The sealed PDF carries exactly the sealed XML the store (and the registry) hold.
        assert pdfdetach_first(pdf, tmp_path / f"{n}.xml") == xml.read_bytes()


def test_rerun_continues_and_signs_nothing_twice(
    demo_workspace: Path, tiny_school_xlsx: Path
) -> None:
    before = _records(demo_workspace)
    assert (
        main(["demo", "--workspace", str(demo_workspace), "--source", str(tiny_school_xlsx)]) == 0
    )
    assert _records(demo_workspace) == before


def test_audit_chain_is_intact_and_tampering_is_named(
    demo_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify", "--workspace", str(demo_workspace)]) == 0
    assert "nguyên vẹn" in capsys.readouterr().out
    copy = demo_workspace.parent / "tampered"
    copy.mkdir()
    (copy / "hbs.duckdb").write_bytes((demo_workspace / "hbs.duckdb").read_bytes())
    (copy / "school.toml").write_bytes((demo_workspace / "school.toml").read_bytes())
    con = duckdb.connect(str(copy / "hbs.duckdb"))
    con.execute(
        "UPDATE su_kien SET chi_tiet = replace(chi_tiet, 'locked', 'draft') WHERE so_thu_tu = 10"
    )
    con.close()
    assert main(["audit", "verify", "--workspace", str(copy)]) == 1
    assert "sự kiện số 10" in capsys.readouterr().out


def test_verify_accepts_issued_files_and_names_a_tampered_one(
    demo_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, _, _, _, xml_path, pdf_path = _records(demo_workspace)[0]
    xml = demo_workspace / xml_path
    pdf = demo_workspace / pdf_path
    assert main(["verify", "--workspace", str(demo_workspace), str(xml), str(pdf)]) == 0
    out = capsys.readouterr().out
    assert "KHÔNG HỢP LỆ" not in out
    assert "[ĐẠT] kho.xml-dinh-kem" in out  # the current PDF carries the current XML
    text = xml.read_text(encoding="utf-8")
    tampered = demo_workspace.parent / "sua.xml"
    # Change one level in the signed data: signatures and the frozen digest must both object.
    tampered.write_text(
        text.replace("<mucdatduoc>H</mucdatduoc>", "<mucdatduoc>T</mucdatduoc>", 1)
        if "<mucdatduoc>H</mucdatduoc>" in text
        else text.replace("<mucdatduoc>T</mucdatduoc>", "<mucdatduoc>H</mucdatduoc>", 1),
        encoding="utf-8",
    )
    assert main(["verify", "--workspace", str(demo_workspace), str(tampered)]) == 1
    out = capsys.readouterr().out
    assert "KHÔNG HỢP LỆ" in out
    assert "kho.du-lieu" in out


def test_paper_copy_of_a_class_carries_each_lookup_code_in_a_readable_qr(
    demo_workspace: Path, tmp_path: Path
) -> None:
    con = duckdb.connect(str(demo_workspace / "hbs.duckdb"), read_only=True)
    ma_lop, codes = con.execute(
        "SELECT ma_lop, list(ma_tra_cuu) FROM v_hoc_ba GROUP BY ma_lop ORDER BY ma_lop LIMIT 1"
    ).fetchone()
    con.close()
    out = tmp_path / f"ban-giay-{ma_lop}.pdf"
    assert (
        main(["print", "--workspace", str(demo_workspace), "--class", ma_lop, "--out", str(out)])
        == 0
    )
    subprocess.run(["pdftoppm", "-r", "110", "-png", str(out), str(tmp_path / "trang")], check=True)
    decoded = set()
    for page in sorted(tmp_path.glob("trang-*.png")):
        result = subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(page)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"no QR code on {page.name}"
        decoded.update(result.stdout.split())
    assert {url.rsplit("/", 1)[-1] for url in decoded} == set(codes)


def test_unlock_after_the_seal_is_refused(
    demo_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _records(demo_workspace)
    ma_lop = "1A"
    assert (
        main(
            [
                "unlock",
                "--workspace",
                str(demo_workspace),
                "--class",
                ma_lop,
                "--reason",
                "sửa điểm",
            ]
        )
        == 2
    )
    assert "đã đóng dấu" in capsys.readouterr().err
    assert _records(demo_workspace) == before


def test_revoke_then_reissue_a_new_version_that_references_the_old(
    demo_workspace: Path,
) -> None:
    old = _records(demo_workspace)[0][0]
    assert (
        main(
            [
                "revoke",
                "--workspace",
                str(demo_workspace),
                "--record",
                old,
                "--reason",
                "Sai sót khi nhập nhận xét",
            ]
        )
        == 0
    )
    for verb in (
        ["lock"],
        ["sign", "--role", "gvcn"],
        ["sign", "--role", "ht"],
        ["stamp"],
        ["submit"],
    ):
        assert main([*verb, "--workspace", str(demo_workspace)]) == 0
    con = duckdb.connect(str(demo_workspace / "hbs.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT phien_ban, trang_thai, thay_the, ma_tra_cuu, xml_path FROM v_hoc_ba "
        "WHERE ma_hoc_sinh = (SELECT ma_hoc_sinh FROM v_hoc_ba WHERE ma_hoc_ba = ?) "
        "ORDER BY phien_ban",
        [old],
    ).fetchall()
    con.close()
    assert [(r[0], r[1]) for r in rows] == [(1, "revoked"), (2, "accepted")]
    assert rows[1][2] == old and rows[1][3] and rows[1][3] != rows[0][3]
    xml = (demo_workspace / rows[1][4]).read_text(encoding="utf-8")
    assert f"<madinhdanhhocbathaythe>{old}</madinhdanhhocbathaythe>" in xml
    assert "<phienbanthongtinhocba>2</phienbanthongtinhocba>" in xml


def test_issued_records_stand_alone_offline_ten_years_ahead(
    demo_workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt
    import json

    from hocbaso.signing.longterm import pdf_document_timestamps

    row = next(r for r in _records(demo_workspace) if r[2] == "accepted")
    xml, pdf = demo_workspace / row[5], demo_workspace / row[6]
    assert pdf_document_timestamps(pdf.read_bytes()) == 1  # DSS and a document timestamp
    root = load_demo_pki(Workspace(demo_workspace).pki_dir).root_certificate
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3653)).date().isoformat()
    argv = ["verify", "--workspace", str(tmp_path / "khong-co"), "--offline", "--at", at]
    capsys.readouterr()
    assert main([*argv, "--json", "--trust", str(root), str(pdf), str(xml)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["indication"] == "TOTAL-PASSED"
    assert all(s["indication"] == "TOTAL-PASSED" for s in out["signatures"])


def test_nothing_after_the_seal_touches_the_metadata_of_any_record(demo_workspace: Path) -> None:
    """The strict profile refuses any XMP/Info change after the seal; whether pyHanko's
    rewrite of them is noticed must not depend on the clock ticking over a second."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    sealed = [r for r in _records(demo_workspace) if r[2] in ("sealed", "accepted", "revoked")]
    assert sealed
    for row in sealed:
        reader = PdfFileReader(BytesIO((demo_workspace / row[6]).read_bytes()), strict=False)
        history = reader.xrefs
        meta = {reader.trailer.raw_get("/Info").idnum, reader.root.raw_get("/Metadata").idnum}
        seal = history.total_revisions - 2  # the seal, then one long-term revision
        for revision in range(seal + 1, history.total_revisions):
            touched = {ref.idnum for ref in history.explicit_refs_in_revision(revision)}
            assert not touched & meta, (row[0], revision)


def test_archive_renewal_adds_one_timestamp_per_due_record_and_none_on_rerun(
    demo_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.archive import gia_han_luu_tru
    from hocbaso.signing.longterm import pdf_document_timestamps

    con = duckdb.connect(str(demo_workspace / "hbs.duckdb"), read_only=True)
    lop, issued = con.execute(
        "SELECT ma_lop, count(*) FROM v_hoc_ba WHERE trang_thai IN ('sealed', 'submitted', "
        "'accepted') GROUP BY ma_lop ORDER BY ma_lop LIMIT 1"
    ).fetchone()
    con.close()
    # Thirty years of margin: every issued record of the class is due.
    assert gia_han_luu_tru(str(demo_workspace), bien_do_ngay=30 * 365, ma_lop=lop) == issued
    rows = [r for r in _records(demo_workspace) if r[2] == "accepted"]
    con = duckdb.connect(str(demo_workspace / "hbs.duckdb"), read_only=True)
    in_class = {
        r[0]
        for r in con.execute("SELECT ma_hoc_ba FROM v_hoc_ba WHERE ma_lop = ?", [lop]).fetchall()
    }
    events = con.execute(
        "SELECT count(*) FROM su_kien WHERE hanh_dong = 'gia_han_luu_tru'"
    ).fetchone()[0]
    con.close()
    assert events == issued
    renewed = [r for r in rows if r[0] in in_class]
    assert all(pdf_document_timestamps((demo_workspace / r[6]).read_bytes()) == 2 for r in renewed)
    assert gia_han_luu_tru(str(demo_workspace), bien_do_ngay=30 * 365, ma_lop=lop) == 0
    xml, pdf = demo_workspace / renewed[0][5], demo_workspace / renewed[0][6]
    capsys.readouterr()
    assert main(["verify", "--workspace", str(demo_workspace), str(xml), str(pdf)]) == 0
    assert "[ĐẠT] kho.xml-dinh-kem" in capsys.readouterr().out
    assert main(["audit", "verify", "--workspace", str(demo_workspace)]) == 0
