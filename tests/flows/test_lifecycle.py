"""The record lifecycle through the real `hbs` command: unlock before the seal, wrong keys,
and the way out of a registry refusal (unlock, then lock, sign, seal and submit again).

A workspace is taken to "GVCN signed" for one class; the principal unlocks it (the
audit log keeps the principal's signature over the decision) and the records become
drafts again; a certificate that belongs to someone else is refused before anything
is signed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path

import duckdb
import pytest

from hbs.cli import main
from hocbaso.config import Workspace
from hocbaso.demo import bundled
from hocbaso.demo.pki import load_demo_pki
from hocbaso.demo.registry import StandinServer
from hocbaso.registry.results import Refusal
from hocbaso.resources import open_resources
from hocbaso.states import SUBMIT, UNLOCK
from hocbaso.statistics import school_statistics
from hocbaso.store import Store, classes_waiting, record
from hocbaso.submission import submit_class


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
    pki = load_demo_pki(Workspace(signed_1a).pki_dir)
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


class _RefuseFirstRecord:
    """A registry check that refuses the first record it sees, once (the stand-in's
    ``verifier`` hook); every other record and every later attempt passes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.refused: str | None = None
        self.seen: list[str] = []

    def __call__(self, xml: bytes, pdf: bytes) -> list[Refusal]:
        ma = re.search(rb"<madinhdanhhocba>([^<]+)</madinhdanhhocba>", xml)
        assert ma is not None
        ma_hoc_ba = ma.group(1).decode()
        with self.lock:
            self.seen.append(ma_hoc_ba)
            if self.refused is None:
                self.refused = ma_hoc_ba
                return [Refusal("SIGNATURE", "Chữ ký của GVCN không hợp lệ (kiểm thử).")]
        return []


def _row(ws: Path, ma_hoc_ba: str) -> tuple:
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT trang_thai, phien_ban, ma_loi, ma_tra_cuu FROM v_hoc_ba WHERE ma_hoc_ba = ?",
            [ma_hoc_ba],
        ).fetchone()
    finally:
        con.close()


def test_a_refused_record_waits_for_unlock_then_is_issued_as_the_same_record(
    tmp_path: Path,
    prefect_api: str,
    tiny_school_xlsx: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = tmp_path / "truong"
    ws.mkdir()
    check = _RefuseFirstRecord()
    secret = "bi-mat-kiem-thu"
    monkeypatch.setenv("HBS_REGISTRY_SECRET", secret)
    with StandinServer(
        tmp_path / "csdl", clients={"demo": secret}, verifier=check
    ).serve() as registry:
        # The school talks to this registry as to the real one (nothing is started for it).
        config = bundled.school_toml_template().read_text(encoding="utf-8")
        config = config.replace(
            '[registry]\nche_do = "gia_lap"',
            f'[registry]\nche_do = "that"\nurl = "{registry.api_url}"\n'
            f'tra_cuu_url = "{registry.tra_cuu_url}"',
            1,
        )
        assert registry.api_url in config and '[registry]\nche_do = "that"' in config
        (ws / "school.toml").write_text(config, encoding="utf-8")

        def hbs(*verb: str) -> None:
            assert main([*verb, "--workspace", str(ws)]) == 0, verb

        hbs("init", "--source", str(tiny_school_xlsx))
        hbs("configure")
        for verb in (("lock",), ("sign", "--role", "gvcn"), ("sign", "--role", "ht"), ("stamp",)):
            hbs(*verb, "--class", "1A")
        store = Store(Workspace(ws).store_path)
        outcome = submit_class(open_resources(ws), "1A")
        refused = check.refused
        assert refused is not None
        assert (outcome.processed, outcome.rejected) == (7, 1)
        assert "1 bị CSDL từ chối" in outcome.line_vi()
        state, version, ma_loi, code = _row(ws, refused)
        assert (state, version, ma_loi, code) == ("rejected", 1, "SIGNATURE", None)
        stored = record(store, refused)
        assert stored is not None and stored.loi and "GVCN" in stored.loi
        # The report shows the refusal with the registry's reason (counts; the name only in
        # the school's own list).
        stats = school_statistics(store, Workspace(ws).load_config())
        shown = stats.table("bi-tu-choi").frame.to_dicts()
        assert [(r["Lớp"], r["Mã lỗi"], r["Số học bạ"]) for r in shown] == [("1A", "SIGNATURE", 1)]
        assert "GVCN" in shown[0]["Lý do CSDL từ chối"]
        assert stats.table("danh-sach-bi-tu-choi").frame["Mã học bạ"].to_list() == [refused]

        # A rerun does not send the refused record again: it waits for the principal.
        sent = len(check.seen)
        hbs("submit", "--class", "1A")
        assert len(check.seen) == sent
        assert classes_waiting(store, SUBMIT) == [] and classes_waiting(store, UNLOCK) == ["1A"]

        hbs("unlock", "--class", "1A", "--reason", "CSDL từ chối chữ ký, ký lại")
        assert _row(ws, refused)[0] == "draft"
        others = {ma: st for ma, st in _states(ws, "1A").items() if ma != refused}
        assert set(others.values()) == {"accepted"}  # issued records are never touched
        for verb in (("lock",), ("sign", "--role", "gvcn"), ("sign", "--role", "ht"), ("stamp",)):
            hbs(*verb, "--class", "1A")
        hbs("submit", "--class", "1A")
        state, version, ma_loi, code = _row(ws, refused)
        assert (state, version, ma_loi) == ("accepted", 1, None) and code
        assert set(_states(ws, "1A").values()) == {"accepted"}
        assert check.seen.count(refused) == 2
        after = school_statistics(store, Workspace(ws).load_config())
        assert after.table("bi-tu-choi").frame.is_empty()  # the way out closed the refusal
        assert main(["audit", "verify", "--workspace", str(ws)]) == 0
