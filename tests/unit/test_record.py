"""The record: building from frames, canonical XML, XSD (lxml and xmllint), digest, parsing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lxml import etree
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper

from hocbaso import codes, record, tt27
from hocbaso.config import SchoolConfig
from hocbaso.dataset import TABLE_SCHEMAS, SchoolData
from hocbaso.demo.pki import DemoPki
from hocbaso.errors import ConfigurationError, RecordError
from hocbaso.model import CRITERIA, KHEN_THUONG_HTXS, SUBJECTS, XepLoai
from hocbaso.signing import RecordSigner, sign_record_xml

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = REPO / "docs" / "catalogue.md"
XS = "{http://www.w3.org/2001/XMLSchema}"
NS = record.NS

# ---------------------------------------------------------------- a tiny school


def _frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


CONFIG = SchoolConfig.model_validate(
    {
        "truong": {
            "ma_truong": "99000101",
            "ten_truong": "Trường Tiểu học Sen Hồng",
            "ma_so_gd": "99",
            "ten_so_gd": "Sở Giáo dục và Đào tạo tỉnh Minh Sơn",
            "ten_xa": "Phường Sen Hồng",
            "ma_xa": "99001",
            "ten_tinh": "Tỉnh Minh Sơn",
            "ma_tinh": "99",
            "dia_danh_phat_hanh": "Sen Hồng",
        },
        "nam_hoc": {
            "nam_hoc": "2025-2026",
            "ngay_ky_phat_hanh": "2026-05-12",
            "han_nop_chinh": "2026-05-16",
            "han_nop_bo_sung": "2026-08-25",
        },
        "ky": {"hieu_truong": "GV001", "chuc_vu_ky": "HIỆU TRƯỞNG", "giu_dau": "NV001"},
        "gvcn": {"5A": "GV004"},  # the homeroom teacher of 5A is replaced
    }
)
NGAY_TAO = dt.date(2026, 5, 10)


def _student(i: int, ma_lop: str, khoi: int, **over: Any) -> dict[str, Any]:
    return {
        "ma_hoc_sinh": f"99010000{i:02d}",
        "so_dinh_danh": f"0992190000{i:02d}",
        "ho_ten": over.pop("ho_ten", f"Nguyễn Thị Hồng {i}"),
        "ngay_sinh": dt.date(2020 - khoi, 3, i % 28 + 1),
        "gioi_tinh": "Nữ" if i % 2 else "Nam",
        "dan_toc": "Kinh",
        "quoc_tich": "Việt Nam",
        "noi_sinh": "Xã Thanh Hà, Tỉnh Minh Sơn",
        "que_quan": "Phường Sen Hồng, Tỉnh Minh Sơn",
        "noi_o": "Thôn 3, Xã An Bình, Tỉnh Minh Sơn",
        "ho_ten_me": "Vũ Thu Yến",
        "ma_lop": ma_lop,
        "so_dang_bo": f"{i:04d}/2025",
        "khuyet_tat_khong_danh_gia": False,
        "chieu_cao": 120.5,
        "can_nang": 22.0,
        "nghi_co_phep": 2,
        "nghi_khong_phep": 0,
        **over,
    }


def _levels(
    mhs: str, khoi: int, subject: str, crit: str, score: str, extra: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    kqm = []
    for code in dict.fromkeys([*tt27.subjects_for_grade(khoi), *(extra or {})]):
        level = (extra or {}).get(code, subject)
        kqm.append(
            {
                "ma_hoc_sinh": mhs,
                "mon_hoc": code,
                "muc_dat": level,
                "diem_ktdk": score if tt27.has_periodic_test(code, khoi) else None,
                "nhan_xet": "Em đọc to, rõ ràng." if code == "TV" else None,
            }
        )
    pcnl = [
        {
            "ma_hoc_sinh": mhs,
            "tieu_chi": c,
            "muc_dat": crit,
            "nhan_xet": "Em yêu quê hương." if c == "YEU_NUOC" else None,
        }
        for c in tt27.criteria_for_grade(khoi)
    ]
    return kqm, pcnl


def _tong_hop(mhs: str, **over: Any) -> dict[str, Any]:
    return {
        "ma_hoc_sinh": mhs,
        "danh_gia_bo_sung": False,
        "nhan_xet": "Em chăm ngoan, hoàn thành tốt nhiệm vụ học tập.",
        "nhan_xet_pham_chat": "Em lễ phép, đoàn kết.",
        "nhan_xet_nang_luc_chung": "Em biết tự học và hợp tác.",
        "nhan_xet_nang_luc_dac_thu": "Em đọc, viết, tính toán tốt.",
        **over,
    }


def school(**change: Any) -> SchoolData:
    """Class 1A (grade 1) and 5A (grade 5): HTXS, HT, CHT promoted by the principal,
    a student with a disability not assessed, an elective, an exempt subject."""
    hs = [
        _student(1, "1A", 1),
        _student(2, "1A", 1, dan_toc="H'Mông", ho_ten_cha="Giàng A Páo"),
        _student(3, "5A", 5, dan_toc="Khơ-me"),
        _student(4, "5A", 5),
        _student(5, "5A", 5, khuyet_tat_khong_danh_gia=True, quoc_tich="LA"),
    ]
    kqm, pcnl, th = [], [], []
    for mhs, khoi, subj, crit, score, extra in [
        ("9901000001", 1, "T", "T", "10", {"TDT": "T"}),
        ("9901000002", 1, "H", "Đ", "7", None),
        ("9901000003", 5, "T", "T", "9", {"TIN": "M"}),
        ("9901000004", 5, "C", "Đ", "4", None),
    ]:
        k, p = _levels(mhs, khoi, subj, crit, score, extra)
        kqm += k
        pcnl += p
    # the student not assessed: subjects studied, no levels, no scores, no criteria
    kqm += [{"ma_hoc_sinh": "9901000005", "mon_hoc": c} for c in tt27.subjects_for_grade(5)]
    kqm = [
        r if not (r["mon_hoc"] == "TIN" and r.get("muc_dat") == "M") else {**r, "diem_ktdk": "M"}
        for r in kqm
    ]
    th = [
        _tong_hop("9901000001"),
        _tong_hop("9901000002"),
        _tong_hop(
            "9901000003",
            khen_thuong=KHEN_THUONG_HTXS,
            khen_thuong_dot_xuat="Giải Nhất Hội khỏe Phù Đổng cấp trường",
        ),
        _tong_hop("9901000004", danh_gia_bo_sung=True, len_lop=False),
        _tong_hop("9901000005"),
    ]
    tables = {
        "lop": _frame(
            "lop",
            [
                {"ma_lop": "1A", "khoi": 1, "ma_gvcn": "GV003"},
                {"ma_lop": "5A", "khoi": 5, "ma_gvcn": "GV005"},
            ],
        ),
        "giao_vien": _frame(
            "giao_vien",
            [
                {
                    "ma_giao_vien": "GV001",
                    "ho_ten": "Lê Hồng Giang",
                    "so_dinh_danh": "099198234130",
                    "chuc_vu": "Hiệu trưởng",
                },
                {
                    "ma_giao_vien": "GV003",
                    "ho_ten": "Trần Thị Mai",
                    "so_dinh_danh": "099188000003",
                    "chuc_vu": "Giáo viên",
                },
                {
                    "ma_giao_vien": "GV004",
                    "ho_ten": "Đỗ Văn Tùng",
                    "so_dinh_danh": "099188000004",
                    "chuc_vu": "Giáo viên",
                },
                {
                    "ma_giao_vien": "GV005",
                    "ho_ten": "Phạm Thu Hà",
                    "so_dinh_danh": "099188000005",
                    "chuc_vu": "Giáo viên",
                },
            ],
        ),
        "hoc_sinh": _frame("hoc_sinh", hs),
        "ket_qua_mon": _frame("ket_qua_mon", kqm),
        "pham_chat_nang_luc": _frame("pham_chat_nang_luc", pcnl),
        "tong_hop": _frame("tong_hop", th),
    }
    tables.update(change)
    return SchoolData(**tables)


@pytest.fixture(scope="module")
def built() -> list[record.RecordData]:
    data = school()
    return record.build_records(
        data,
        tt27.compute_results(data),
        CONFIG,
        ngay_tao=NGAY_TAO,
        ids={"9901000001": "6f1c2d3e-4a5b-4c6d-8e7f-901234567890"},
    )


def by_student(records: list[record.RecordData]) -> dict[str, record.RecordData]:
    return {r.mahocsinh: r for r in records}


# ---------------------------------------------------------------- building


def test_build_fills_every_value_from_the_data(built: list[record.RecordData]) -> None:
    r = by_student(built)
    assert [x.mahocsinh for x in built] == [f"990100000{i}" for i in range(1, 6)]
    a = r["9901000001"]
    assert a.madinhdanhhocba == "6f1c2d3e-4a5b-4c6d-8e7f-901234567890"
    assert uuid.UUID(r["9901000002"].madinhdanhhocba).version == 4
    assert (a.thongtu, a.namhoc, a.macaphoc, a.phienbanthongtinhocba) == (
        "27",
        "2025-2026",
        "01",
        "1",
    )
    assert (a.matruong, a.tentruong, a.ngaytao) == (
        "99000101",
        "Trường Tiểu học Sen Hồng",
        NGAY_TAO,
    )
    assert (a.tengiamhieu, a.soddcngiamhieu, a.chucvugiamhieu) == (
        "Lê Hồng Giang",
        "099198234130",
        "HIỆU TRƯỞNG",
    )
    assert (a.tengvcn, a.makhoi, a.tenlop) == ("Trần Thị Mai", "1", "1A")
    assert r["9901000003"].tengvcn == "Đỗ Văn Tùng"  # [gvcn] override of 5A
    assert (a.gioitinh, a.dantoc, a.quoctich) == ("2", "01", "VN")
    assert r["9901000002"].dantoc == "08" and r["9901000002"].gioitinh == "1"
    assert r["9901000003"].dantoc == "05"
    assert r["9901000005"].quoctich == "LA"
    assert a.xeploai is XepLoai.HTXS
    assert a.ndunghoanthanh == "Hoàn thành chương trình lớp 1"
    assert (a.dahthanhctrinhlophoc, a.dahthanhctrinhtieuhoc, a.duoclenlop) == (True, False, True)
    assert [b.mamonhoc for b in a.dsbangdiem] == [
        "TV",
        "TOA",
        "DD",
        "TXH",
        "GTC",
        "AN",
        "MT",
        "HTN",
        "TDT",
    ]
    assert a.dsbangdiem[0].nhanxet == "Em đọc to, rõ ràng."
    assert a.dsbangdiem[0].diemkiemtradinhky == "10" and a.dsbangdiem[2].diemkiemtradinhky is None
    assert a.phamchatyeunuoc == "T" and a.nangluccongnghe is None  # grade 1: no công nghệ
    assert a.dsnhanxettieuchi == (
        record.NhanXetTieuChi(matieuchi="phamchatyeunuoc", nhanxet="Em yêu quê hương."),
    )
    assert a.quatrinhhoctap == (
        record.QuaTrinhHocTap(
            namhoc="2025-2026",
            tenlop="1A",
            tentruong="Trường Tiểu học Sen Hồng",
            tentinh="Tỉnh Minh Sơn",
        ),
    )


def test_build_grade_5_results(built: list[record.RecordData]) -> None:
    r = by_student(built)
    c = r["9901000003"]
    assert c.xeploai is XepLoai.HTXS  # the exempt TIN (level and score M) is ignored
    assert c.ndunghoanthanh == "Hoàn thành chương trình tiểu học"
    assert c.dahthanhctrinhtieuhoc is True
    assert c.ndungkhenthuong == KHEN_THUONG_HTXS
    assert c.ndungkhenthuongdotxuat == "Giải Nhất Hội khỏe Phù Đổng cấp trường"
    assert c.nangluccongnghe == "T"
    d = r["9901000004"]
    assert d.xeploai is XepLoai.CHT and d.duoclenlop is False and d.danhgiabosung is True
    assert d.ndunghoanthanh == "Chưa hoàn thành chương trình tiểu học; ở lại lớp 5"
    assert (d.dahthanhctrinhlophoc, d.dahthanhctrinhtieuhoc) == (False, False)
    e = r["9901000005"]  # disability, not assessed: no result, no levels, record exists
    assert e.cokhuyettatkhongdanhgia is True and e.xeploai is None
    assert e.phamchatyeunuoc is None
    assert len(e.dsbangdiem) == 12
    assert all(b.mucdatduoc is None and b.diemkiemtradinhky is None for b in e.dsbangdiem)


def test_build_new_version_references_the_replaced_record() -> None:
    data = school()
    old = "0b6e4b8e-2f0c-4e4e-9d7e-1b2c3d4e5f60"
    recs = record.build_records(
        data,
        tt27.compute_results(data),
        CONFIG,
        ngay_tao=NGAY_TAO,
        phien_ban=2,
        thay_the={"9901000002": old},
    )
    r = by_student(recs)["9901000002"]
    assert (r.phienbanthongtinhocba, r.madinhdanhhocbathaythe) == ("2", old)
    assert by_student(recs)["9901000001"].madinhdanhhocbathaythe is None


def test_build_only_the_students_of_the_results_rows() -> None:
    data = school()
    results = tt27.compute_results(data).filter(pl.col("ma_lop") == "1A")
    assert [
        r.mahocsinh for r in record.build_records(data, results, CONFIG, ngay_tao=NGAY_TAO)
    ] == ["9901000001", "9901000002"]


def test_build_refuses_a_pending_promotion() -> None:
    data = school()
    th = data.tong_hop.with_columns(
        pl.when(pl.col("ma_hoc_sinh") == "9901000004")
        .then(None)
        .otherwise(pl.col("len_lop"))
        .alias("len_lop")
    )
    data = dataclasses.replace(data, tong_hop=th)
    with pytest.raises(RecordError, match=r"Lớp 5A: 1 học sinh chưa có kết quả lên lớp") as info:
        record.build_records(data, tt27.compute_results(data), CONFIG, ngay_tao=NGAY_TAO)
    assert "9901000004" not in info.value.user_message()


def test_build_refuses_missing_required_data_counting_per_column() -> None:
    data = school()
    hs = data.hoc_sinh.with_columns(
        pl.when(pl.col("ma_lop") == "5A").then(None).otherwise(pl.col("que_quan")).alias("que_quan")
    )
    th = data.tong_hop.with_columns(pl.lit(None, pl.String).alias("nhan_xet"))
    data = dataclasses.replace(data, hoc_sinh=hs, tong_hop=th)
    with pytest.raises(RecordError) as info:
        record.build_records(data, tt27.compute_results(data), CONFIG, ngay_tao=NGAY_TAO)
    msg = info.value.message
    assert "hoc_sinh.que_quan: 3 học sinh" in msg and "tong_hop.nhan_xet: 5 học sinh" in msg
    assert "Nguyễn" not in msg


def test_group_comment_falls_back_to_the_criteria_comments() -> None:
    data = school()
    th = data.tong_hop.with_columns(pl.lit(None, pl.String).alias("nhan_xet_pham_chat"))
    data = dataclasses.replace(data, tong_hop=th)
    recs = record.build_records(data, tt27.compute_results(data), CONFIG, ngay_tao=NGAY_TAO)
    assert by_student(recs)["9901000001"].nxetphamchat == "Yêu nước: Em yêu quê hương."


def test_build_refuses_an_unknown_teacher() -> None:
    data = school()
    lop = data.lop.with_columns(pl.lit("GV999").alias("ma_gvcn"))
    with pytest.raises(ConfigurationError, match="GV999"):
        record.build_records(
            dataclasses.replace(data, lop=lop),
            tt27.compute_results(data),
            CONFIG,
            ngay_tao=NGAY_TAO,
        )


def test_build_refuses_an_unknown_ethnicity() -> None:
    data = school()
    hs = data.hoc_sinh.with_columns(pl.lit("Không rõ").alias("dan_toc"))
    with pytest.raises(RecordError, match="Dân tộc 'Không rõ' không có trong danh mục"):
        record.build_records(
            dataclasses.replace(data, hoc_sinh=hs),
            tt27.compute_results(data),
            CONFIG,
            ngay_tao=NGAY_TAO,
        )


# ---------------------------------------------------------------- XML


def test_xml_is_canonical_and_deterministic(built: list[record.RecordData]) -> None:
    for r in built:
        xml = record.record_xml(r)
        assert xml == record.record_xml(r)
        assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<hocba xmlns=")
        assert xml.endswith(b"<chuky/></hocba>")
        assert "Trường Tiểu học Sen Hồng".encode() in xml  # not &#...; references
        assert b'Id="hocba-du-lieu"' in xml


def test_xml_round_trips(built: list[record.RecordData]) -> None:
    for r in built:
        assert record.parse_record_xml(record.record_xml(r)) == r


def test_records_validate_with_lxml_and_xmllint(
    built: list[record.RecordData], tmp_path: Path
) -> None:
    paths = []
    for r in built:
        xml = record.record_xml(r)
        record.validate_record_xml(xml)
        path = tmp_path / f"{r.mahocsinh}.xml"
        path.write_bytes(xml)
        paths.append(str(path))
    done = subprocess.run(
        ["xmllint", "--noout", "--nonet", "--schema", str(record.XSD_PATH), *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("validates") == len(paths)


def _mutate(xml: bytes, element: str, text: str | None) -> bytes:
    root = etree.fromstring(xml)
    node = root.find(f".//{{{NS}}}{element}")
    assert node is not None
    if text is None:
        node.getparent().remove(node)
    else:
        node.text = text
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


@pytest.mark.parametrize(
    ("element", "text", "expected"),
    [
        (
            "sodinhdanh",
            "12345",
            "phần tử <sodinhdanh> không đúng định dạng (nguồn: bảng hoc_sinh, cột so_dinh_danh)",
        ),
        ("hovaten", None, "thiếu phần tử bắt buộc <hovaten>"),
        ("dantoc", "99", "phần tử <dantoc> không thuộc danh mục mã cho phép"),
        ("tentruong", "T" * 151, "phần tử <tentruong> dài quá mức cho phép (150 ký tự)"),
        ("gioitinh", "3", "phần tử <gioitinh> không thuộc danh mục"),
        ("ngaytao", "10/05/2026", "phần tử <ngaytao> không hợp lệ theo lược đồ"),
        (
            "diemkiemtradinhky",
            "8.5",
            "phần tử <dsbangdiem/bangdiem[1]/diemkiemtradinhky> "
            "(môn Tiếng Việt) không đúng định dạng",
        ),
        ("phamchatyeunuoc", "D", "phần tử <phamchatyeunuoc> không thuộc danh mục"),
        ("chieucao", "301", "phần tử <chieucao> lớn hơn mức cho phép"),
        ("nxetgvcn", "", "phần tử <nxetgvcn> đang để trống"),
        ("madinhdanhhocba", "not-a-uuid", "phần tử <madinhdanhhocba> không đúng định"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.isidentifier() else None,
)
def test_invalid_records_are_refused_precisely(
    built: list[record.RecordData], tmp_path: Path, element: str, text: str | None, expected: str
) -> None:
    bad = _mutate(record.record_xml(built[0]), element, text)
    with pytest.raises(RecordError) as info:
        record.validate_record_xml(bad)
    msg = info.value.message
    assert expected in msg, msg
    assert msg.startswith("XML học bạ không hợp lệ theo lược đồ hocba-1.0.xsd")
    if text and len(text) > 3:
        assert text not in msg  # the offending value never travels in the message
    path = tmp_path / "bad.xml"
    path.write_bytes(bad)
    done = subprocess.run(
        ["xmllint", "--noout", "--nonet", "--schema", str(record.XSD_PATH), str(path)],
        capture_output=True,
        check=False,
    )
    assert done.returncode != 0


def test_duplicate_subject_is_refused(built: list[record.RecordData]) -> None:
    r = built[0]
    bad = dataclasses.replace(r, dsbangdiem=(*r.dsbangdiem, r.dsbangdiem[0]))
    with pytest.raises(RecordError, match=r"<dsbangdiem/bangdiem\[10\]> \(môn Tiếng Việt\) bị lặp"):
        record.validate_record_xml(record.record_xml(bad))


def test_not_well_formed_is_refused() -> None:
    with pytest.raises(RecordError, match="không đúng cú pháp"):
        record.validate_record_xml(b"<hocba><thongtin></hocba>")
    with pytest.raises(RecordError, match="không phải học bạ số"):
        record.parse_record_xml(b"<a/>")


def _signature(sig_id: str) -> etree._Element:
    """A structurally complete ds:Signature (the schema's view; crypto is signing's job)."""
    ds = record.DS_NS
    sig = etree.Element(f"{{{ds}}}Signature", nsmap={"ds": ds}, Id=sig_id)
    si = etree.SubElement(sig, f"{{{ds}}}SignedInfo")
    etree.SubElement(
        si, f"{{{ds}}}CanonicalizationMethod", Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    etree.SubElement(
        si,
        f"{{{ds}}}SignatureMethod",
        Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    )
    ref = etree.SubElement(si, f"{{{ds}}}Reference", URI=f"#{record.DATA_ID}")
    etree.SubElement(
        ref, f"{{{ds}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"
    )
    etree.SubElement(ref, f"{{{ds}}}DigestValue").text = "AAAA"
    etree.SubElement(sig, f"{{{ds}}}SignatureValue").text = "AAAA"
    return sig


def _signed(xml: bytes, n: int) -> bytes:
    root = etree.fromstring(xml)
    chuky = root.find(f"{{{NS}}}chuky")
    for sig_id in ("chuky-gvcn", "chuky-ht", "chuky-condau", "chuky-thua")[:n]:
        chuky.append(_signature(sig_id))
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def test_signatures_are_allowed_up_to_three_and_keep_the_digest(
    built: list[record.RecordData],
) -> None:
    xml = record.record_xml(built[0])
    digest = record.data_digest(xml)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    for n in (1, 2, 3):
        signed = _signed(xml, n)
        record.validate_record_xml(signed)
        assert record.data_digest(signed) == digest
        assert record.parse_record_xml(signed) == built[0]
    with pytest.raises(RecordError, match="chuky"):
        record.validate_record_xml(_signed(xml, 4))


def test_digest_changes_with_the_data(built: list[record.RecordData]) -> None:
    xml = record.record_xml(built[0])
    assert record.data_digest(_mutate(xml, "nghicophep", "3")) != record.data_digest(xml)


# ---------------------------------------------------------------- XSD vs catalogue and code lists


def _catalogue() -> list[tuple[str, str, str, bool]]:
    """(table, field, type, required) of every row of docs/catalogue.md."""
    rows = []
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        m = re.match(
            r"\| (main|quatrinhhoctap|dsbangdiem) \| `(\w+)` \| ([^|]+) \| (yes)? *\|", line
        )
        if m:
            rows.append((m[1], m[2], m[3].strip(), m[4] == "yes"))
    return rows


def _xsd() -> etree._ElementTree:
    return etree.parse(str(record.XSD_PATH))


def _declarations(parent_xpath: str) -> dict[str, etree._Element]:
    seq = _xsd().xpath(parent_xpath, namespaces={"xs": XS[1:-1]})
    return {e.get("name"): e for e in seq}


_PARENTS = {
    "main": "/xs:schema/xs:element[@name='thongtinsohocbasotieuhoc']/xs:complexType/xs:sequence"
    "/xs:element",
    "quatrinhhoctap": "/xs:schema/xs:complexType[@name='QuaTrinhHocTap']/xs:sequence/xs:element",
    "dsbangdiem": "/xs:schema/xs:complexType[@name='BangDiem']/xs:sequence/xs:element",
}


def _max_length(type_name: str) -> int | None:
    st = _xsd().xpath(f"/xs:schema/xs:simpleType[@name='{type_name}']", namespaces={"xs": XS[1:-1]})
    if not st:
        return None
    ml = st[0].find(f"{XS}restriction/{XS}maxLength")
    if ml is not None:
        return int(ml.get("value"))
    values = [e.get("value") for e in st[0].iter(f"{XS}enumeration")]
    pattern = st[0].find(f"{XS}restriction/{XS}pattern")
    if values:
        return max(len(v) for v in values)
    return -1 if pattern is not None else None


def test_every_catalogue_field_is_an_element_with_its_type_and_obligation() -> None:
    rows = _catalogue()
    assert len(rows) == 89  # every row was read (see the next test)
    for table, name, typ, required in rows:
        decls = _declarations(_PARENTS[table])
        assert name in decls, f"{table}.{name} missing from the XSD"
        decl = decls[name]
        assert (decl.get("minOccurs") != "0") is required, f"{table}.{name} obligation"
        type_name = decl.get("type").removeprefix("hb:")
        m = re.fullmatch(r"varchar\((\d+)\)", typ)
        if m:
            limit = _max_length(type_name)
            assert limit is not None, f"{table}.{name} has no length rule"
            assert limit <= int(m[1]), f"{table}.{name}: {limit} > {m[1]}"
        elif typ == "boolean":
            assert type_name == "Co"
        elif typ == "date(10)":
            assert type_name == "Ngay"
        elif typ == "decimal":
            assert type_name in {"CanNang", "ChieuCao", "SoBuoiNghi"}


def test_catalogue_has_the_row_count_we_read() -> None:
    rows = _catalogue()
    counts = {
        t: sum(1 for r in rows if r[0] == t) for t in ("main", "quatrinhhoctap", "dsbangdiem")
    }
    assert counts == {"main": 80, "quatrinhhoctap": 5, "dsbangdiem": 4}


def test_sample_records_fill_every_required_catalogue_field(
    built: list[record.RecordData],
) -> None:
    required = [(t, n) for t, n, _, req in _catalogue() if req]
    for r in built:
        root = etree.fromstring(record.record_xml(r))
        data = root.find(f"{{{NS}}}thongtinsohocbasotieuhoc")
        for table, name in required:
            if table == "main":
                assert data.find(f"{{{NS}}}{name}") is not None, (r.mahocsinh, name)
            elif table == "quatrinhhoctap":
                for row in data.iterfind(f"{{{NS}}}quatrinhhoctap"):
                    assert row.find(f"{{{NS}}}{name}") is not None
            else:
                for row in data.iterfind(f"{{{NS}}}dsbangdiem/{{{NS}}}bangdiem"):
                    assert row.find(f"{{{NS}}}{name}") is not None


def test_xsd_order_is_the_record_data_order() -> None:
    assert tuple(_declarations(_PARENTS["main"])) == record.data.ELEMENT_ORDER


def _enum(type_name: str) -> list[str]:
    return [
        e.get("value")
        for e in _xsd().xpath(
            f"/xs:schema/xs:simpleType[@name='{type_name}']//xs:enumeration",
            namespaces={"xs": XS[1:-1]},
        )
    ]


def test_xsd_code_lists_are_the_project_code_lists() -> None:
    assert _enum("DanToc") == list(codes.DAN_TOC)
    assert _enum("MaMonHoc") == [s.ma_mon_hoc for s in SUBJECTS]
    assert _enum("MaTieuChi") == [c.element for c in CRITERIA]
    assert _enum("XepLoai") == [x.value for x in XepLoai]
    assert _enum("GioiTinh") == ["0", "1", "2"]
    assert _enum("MucTieuChi") == ["T", "Đ", "C"]
    assert _enum("MucMonHoc") == ["T", "H", "C", "M"]


def test_every_element_has_a_documented_source() -> None:
    assert set(record.data.ELEMENT_ORDER) <= set(record.SOURCE)


# ---------------------------------------------------------------- code lists


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Kinh", "01"),
        ("kinh", "01"),
        ("Mường", "04"),
        ("H'Mông", "08"),
        ("Hmông", "08"),
        ("Mông", "08"),
        ("Khmer", "05"),
        ("Khơ-me", "05"),
        ("Ê Đê", "11"),
        ("Êđê", "11"),
        ("Bru - Vân Kiều", "24"),
        ("Cờ Lao", "47"),
        ("Ơ Đu", "54"),
        ("08", "08"),
    ],
)
def test_ethnicity_codes(name: str, code: str) -> None:
    assert codes.ma_dan_toc(name) == code


def test_ethnicity_list_is_complete_and_unambiguous() -> None:
    assert list(codes.DAN_TOC) == [f"{i:02d}" for i in range(1, 55)]
    keys = [codes._key(n) for n in codes.DAN_TOC.values()]
    assert len(set(keys)) == 54


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Việt Nam", "VN"),
        ("viet nam", "VN"),
        (None, "VN"),
        ("", "VN"),
        ("Lào", "LA"),
        ("Mỹ", "US"),
        ("JP", "JP"),
    ],
)
def test_nationality_codes(name: str | None, code: str) -> None:
    assert codes.ma_quoc_tich(name) == code


def test_unknown_nationality_is_refused() -> None:
    with pytest.raises(RecordError, match="Quốc tịch 'Atlantis'"):
        codes.ma_quoc_tich("Atlantis")


# ---------------------------------------------------------------- speed


def test_build_and_validate_a_class_quickly() -> None:
    data = school()
    results = tt27.compute_results(data)
    base = record.build_records(data, results, CONFIG, ngay_tao=NGAY_TAO)
    batch = [
        dataclasses.replace(base[i % 4], madinhdanhhocba=str(uuid.uuid4())) for i in range(200)
    ]
    record.validate_record_xml(record.record_xml(batch[0]))  # schema loaded
    start = time.perf_counter()
    for r in batch:
        record.validate_record_xml(record.record_xml(r))
    per_record = (time.perf_counter() - start) / len(batch)
    assert per_record < 0.003, per_record  # measured ~0.4 ms on the 2-core machine


# ---------------------------------------------------------------- with the real signatures


def test_real_signatures_validate_and_keep_the_digest(
    built: list[record.RecordData],
    demo_pki: DemoPki,
    demo_pki_services: object,
    gvcn_signer: RecordSigner,
    ht_signer: RecordSigner,
    seal_signer: RecordSigner,
    tmp_path: Path,
) -> None:
    """The three XAdES signatures of hocbaso.signing fit <chuky> under the strict
    XML-Signature schema, and the data digest survives them."""
    xml = record.record_xml(built[2])
    signed = sign_record_xml(xml, gvcn_signer, "gvcn")
    record.validate_record_xml(signed)
    signed = sign_record_xml(signed, ht_signer, "ht")
    signed = sign_record_xml(
        signed, seal_signer, "condau", timestamper=HTTPTimeStamper(demo_pki.tsa_url)
    )
    record.validate_record_xml(signed)
    assert record.data_digest(signed) == record.data_digest(xml)
    assert record.parse_record_xml(signed) == built[2]
    path = tmp_path / "signed.xml"
    path.write_bytes(signed)
    done = subprocess.run(
        ["xmllint", "--noout", "--nonet", "--schema", str(record.XSD_PATH), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
