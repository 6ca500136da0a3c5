"""The record lifecycle through the real `hbs` command: unlock before the seal, wrong keys.

A workspace is taken to "GVCN signed" for one class; the principal unlocks it (the
audit log keeps the principal's signature over the decision) and the records become
drafts again; a certificate that belongs to someone else is refused before anything
is signed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from hbs.cli import main
from hocbaso.config import Workspace
from hocbaso.demo import bundled
from hocbaso.keys import demo_pki


def _states(ws: Path, ma_lop: str) -> dict[str, str]:
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    try:
        return dict(
            con.execute(
                "SELECT ma_hoc_ba, trang_thai FROM v_hoc_ba WHERE ma_lop = ?", [ma_lop]
            ).fetchall()
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def signed_1a(
    tmp_path_factory: pytest.TempPathFactory, prefect_api: str, tiny_school_xlsx: Path
) -> Path:
    ws = tmp_path_factory.mktemp("vong-doi") / "truong"
    ws.mkdir()
    bundled.write_school_toml(ws)
    for verb in (
        ["init", "--source", str(tiny_school_xlsx)],
        ["configure"],
        ["lock", "--class", "1A"],
        ["sign", "--role", "gvcn", "--class", "1A"],
    ):
        assert main([*verb, "--workspace", str(ws)]) == 0, verb
    assert set(_states(ws, "1A").values()) == {"signed_gvcn"}
    assert set(_states(ws, "2A").values()) == {"draft"}
    return ws


def test_a_certificate_of_someone_else_is_refused_and_nothing_moves(
    signed_1a: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = demo_pki(Workspace(signed_1a))
    con = duckdb.connect(str(signed_1a / "hbs.duckdb"), read_only=True)
    gvcn_2a, other = con.execute(
        "SELECT (SELECT ma_gvcn FROM lop WHERE ma_lop = '2A'), "
        "(SELECT ma_gvcn FROM lop WHERE ma_lop = '3A')"
    ).fetchone()
    con.close()
    real = signed_1a.parent / "that"
    shutil.copytree(signed_1a, real, ignore=shutil.ignore_patterns(".prefect"))
    config = (real / "school.toml").read_text(encoding="utf-8")
    wrong = pki.credential(other)  # 3A's teacher's key, configured for 2A's teacher
    config = config.replace('che_do = "demo"\n', "", 1).replace(
        "[chung_thu]\n",
        "[chung_thu]\n"
        'che_do = "that"\n'
        f'tsa_url = "{pki.tsa_url}"\n'
        f'tin_cay = ["{pki.root_certificate}"]\n'
        f"[chung_thu.nguoi.{gvcn_2a}]\n"
        'loai = "pkcs12"\n'
        f'tep = "{wrong.pkcs12}"\n'
        'mat_khau_env = "HBS_TEST_P12"\n',
        1,
    )
    (real / "school.toml").write_text(config, encoding="utf-8")
    before = (real / "hbs.duckdb").read_bytes()
    os.environ["HBS_TEST_P12"] = wrong.password
    try:
        for verb in (["lock", "--class", "2A"],):
            assert main([*verb, "--workspace", str(real)]) == 0
        locked = (real / "hbs.duckdb").read_bytes()
        assert locked != before
        code = main(["sign", "--role", "gvcn", "--class", "2A", "--workspace", str(real)])
    finally:
        del os.environ["HBS_TEST_P12"]
    assert code == 2
    err = capsys.readouterr().err
    assert "không phải của GVCN lớp 2A" in err
    assert set(_states(real, "2A").values()) == {"locked"}


def test_principal_unlocks_a_signed_class_before_the_seal(
    signed_1a: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = set(_states(signed_1a, "1A"))
    assert (
        main(
            [
                "unlock",
                "--workspace",
                str(signed_1a),
                "--class",
                "1A",
                "--reason",
                "GVCN nhập nhầm nhận xét",
            ]
        )
        == 0
    )
    assert _states(signed_1a, "1A") == dict.fromkeys(ids, "draft")
    con = duckdb.connect(str(signed_1a / "hbs.duckdb"), read_only=True)
    detail = con.execute(
        "SELECT chi_tiet FROM su_kien WHERE hanh_dong = 'xac_nhan_mo_khoa'"
    ).fetchone()[0]
    con.close()
    proof = json.loads(detail)
    assert proof["ma_lop"] == "1A" and proof["ly_do"] == "GVCN nhập nhầm nhận xét"
    assert len(proof["chu_ky_hieu_truong"]) > 300 and len(proof["chung_thu_sha256"]) == 64
    assert main(["audit", "verify", "--workspace", str(signed_1a)]) == 0
    # Locked again from the same data, the same ids come back.
    assert main(["lock", "--workspace", str(signed_1a), "--class", "1A"]) == 0
    assert _states(signed_1a, "1A") == dict.fromkeys(ids, "locked")
    capsys.readouterr()
