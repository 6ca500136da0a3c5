"""The bad-input corpus: generated files, each with the exact problems it must raise.

Every case starts from one small generated school (``BASE``), changes one thing the
way a teacher or a spreadsheet would, and names what the import must answer:
either the exact ERROR problems (table, sheet row, column, rule), or the refusal
of the whole file (``InputDataError`` with a phrase of its message). A few cases
are written differently but correctly and must be accepted.

The files live in ``tests/badinput/files`` (regenerate with
``python tests/badinput/generate.py``; a test checks they match). For other tests
(e.g. "the store is byte-for-byte unchanged after a refused import"):

    from badinput.corpus import CASES, case_path
    for case in CASES:
        path = case_path(case)      # the committed file or folder
        case.expected / case.refused / case.accepted
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl
import xlsxwriter

from hocbaso.demo.sample import generate_school, write_csv_folder, write_xlsx
from hocbaso.model import KHEN_THUONG_HTT, KHEN_THUONG_HTXS

FILES = Path(__file__).resolve().parent / "files"
BASE_STUDENTS, BASE_SEED = 25, 7
NAM_HOC = "2025-2026"
Tables = dict[str, pl.DataFrame]
Where = tuple[str, int | None, str | None, str]  # table, sheet row, column, rule


@functools.cache
def base() -> Tables:
    """The school every case changes: five classes (one per grade) of five students."""
    return generate_school(n_students=BASE_STUDENTS, seed=BASE_SEED)


@dataclass(frozen=True)
class Built:
    """What a case function returns."""

    tables: Tables | None = None  # written with the case's format ...
    write: Callable[[Path], None] | None = None  # ... or written by this function
    expected: tuple[Where, ...] = ()  # exact ERROR problems, in report order
    warnings: tuple[Where, ...] = ()  # exact WARN problems (checked for accepted cases)
    refused: str | None = None  # a phrase of the InputDataError message
    hint: str | None = None  # a phrase of its hint


@dataclass(frozen=True)
class Case:
    name: str
    fmt: Literal["csv", "xlsx", "file"]
    build: Callable[[], Built] = field(repr=False)
    accepted: bool = False  # written differently, but must pass

    @property
    def filename(self) -> str:
        return {"csv": self.name, "xlsx": f"{self.name}.xlsx", "file": self.name}[self.fmt]


CASES: list[Case] = []


def case(
    name: str, fmt: Literal["csv", "xlsx", "file"] = "csv", *, accepted: bool = False
) -> Callable[[Callable[[], Built]], Callable[[], Built]]:
    def register(fn: Callable[[], Built]) -> Callable[[], Built]:
        CASES.append(Case(name, fmt, fn, accepted))
        return fn

    return register


def case_path(c: Case) -> Path:
    """The committed file (or folder) of a case."""
    return FILES / c.filename


def write_case(c: Case, directory: Path) -> Path:
    """Write a case's file (or folder) into ``directory``; returns its path."""
    built = c.build()
    path = directory / c.filename
    if built.write is not None:
        built.write(path)
    elif c.fmt == "xlsx":
        assert built.tables is not None
        write_xlsx(built.tables, path)
    else:
        assert built.tables is not None
        write_csv_folder(built.tables, path)
    return path


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def at(table: str, **where: str) -> int:
    """Index (0-based) of the first row of ``table`` matching ``where``; sheet row = +2."""
    frame = base()[table].with_row_index("_i")
    mask = pl.all_horizontal(pl.col(k) == v for k, v in where.items())
    return int(frame.filter(mask)["_i"][0])


def put(t: Tables, table: str, index: int, column: str, value: str | None) -> Tables:
    return {**t, table: t[table].with_columns(t[table][column].scatter(index, value))}


def drop(t: Tables, table: str, index: int) -> Tables:
    frame = t[table].with_row_index("_i")
    return {**t, table: frame.filter(pl.col("_i") != index).drop("_i")}


def append(t: Tables, table: str, row: dict[str, str | None]) -> Tables:
    frame = t[table]
    extra = pl.DataFrame([row], schema=frame.schema)
    return {**t, table: pl.concat([frame, extra])}


def student(khoi: int, results: tuple[str, ...] = ("HT", "HTT", "HTXS")) -> str:
    """The first student of the grade whose given result is one of ``results``."""
    t = base()
    lop = t["lop"].filter(pl.col("khoi") == str(khoi))["ma_lop"][0]
    ids = t["hoc_sinh"].filter(pl.col("ma_lop") == lop)["ma_hoc_sinh"].implode()
    th = t["tong_hop"].filter(
        pl.col("ma_hoc_sinh").is_in(ids) & pl.col("danh_gia").is_in(list(results))
    )
    return str(th["ma_hoc_sinh"][0])


def hs_row(ma: str) -> int:
    return at("hoc_sinh", ma_hoc_sinh=ma) + 2


def row_change(table: str, index: int, column: str, value: str | None, rule: str) -> Built:
    return Built(
        put(base(), table, index, column, value), expected=((table, index + 2, column, rule),)
    )


# --------------------------------------------------------------------------------------
# Refused as a whole (InputDataError)
# --------------------------------------------------------------------------------------

_TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """Text as Excel's plain "CSV (Comma delimited)" writes it on a Vietnamese Windows."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            d = unicodedata.normalize("NFD", ch)
            letter = unicodedata.normalize("NFC", "".join(m for m in d if m not in _TONES))
            out += letter.encode("cp1258") + "".join(m for m in d if m in _TONES).encode("cp1258")
    return bytes(out)


@case("tep-csv-windows-1258")
def _cp1258() -> Built:
    def write(path: Path) -> None:
        write_csv_folder(base(), path)
        hs = path / "hoc_sinh.csv"
        hs.write_bytes(cp1258(hs.read_text(encoding="utf-8")))

    return Built(
        write=write, refused="hoc_sinh.csv không được lưu theo bảng mã UTF-8", hint="CSV UTF-8"
    )


@case("thieu-trang-pham-chat-nang-luc", "xlsx")
def _missing_sheet() -> Built:
    return Built(
        {t: f for t, f in base().items() if t != "pham_chat_nang_luc"},
        refused='thiếu trang tính "pham_chat_nang_luc"',
    )


@case("thieu-cot-ngay-sinh")
def _missing_column() -> Built:
    return Built(
        {**base(), "hoc_sinh": base()["hoc_sinh"].drop("ngay_sinh")},
        refused='tệp "hoc_sinh.csv" thiếu cột "ngay_sinh"',
    )


@case("tep-excel-hong.xlsx", "file")
def _corrupt() -> Built:
    def write(path: Path) -> None:
        write_xlsx(base(), path)
        path.write_bytes(path.read_bytes()[:2000])

    return Built(write=write, refused="Không mở được tệp Excel")


@case("csv-lech-dau-ngoac")
def _ragged() -> Built:
    def write(path: Path) -> None:
        write_csv_folder(base(), path)
        with (path / "lop.csv").open("a", encoding="utf-8") as fh:
            fh.write('"6A,1,GV003\n')

    return Built(write=write, refused="lop.csv không đúng dạng CSV")


@case("mot-tep-csv.csv", "file")
def _single_csv() -> Built:
    return Built(write=lambda path: base()["hoc_sinh"].write_csv(path), refused="tệp CSV riêng lẻ")


# --------------------------------------------------------------------------------------
# Row gate
# --------------------------------------------------------------------------------------


@case("so-dinh-danh-mat-so-0", "xlsx")
def _ids_as_numbers() -> Built:
    """IDs typed as numbers: Excel drops the leading 0 of every one."""

    def write(path: Path) -> None:
        wb = xlsxwriter.Workbook(str(path))
        wb.set_properties({"created": dt.datetime(2026, 1, 1)})
        for table, frame in base().items():
            ws = wb.add_worksheet(table)
            ws.write_row(0, 0, frame.columns)
            for r, row in enumerate(frame.iter_rows(), start=1):
                for c, v in enumerate(row):
                    if v is None:
                        continue
                    if table == "hoc_sinh" and frame.columns[c] == "so_dinh_danh":
                        ws.write_number(r, c, int(v))
                    else:
                        ws.write_string(r, c, v)
        wb.close()

    n = base()["hoc_sinh"].height
    return Built(
        write=write,
        expected=tuple(
            ("hoc_sinh", r, "so_dinh_danh", "so_dinh_danh_12_so") for r in range(2, n + 2)
        ),
    )


@case("ngay-sinh-31-02")
def _bad_date() -> Built:
    return row_change("hoc_sinh", 3, "ngay_sinh", "31/02/2019", "ngay_hop_le")


@case("ngay-sinh-sai-dang")
def _date_layout() -> Built:
    return row_change("hoc_sinh", 4, "ngay_sinh", "2019/13/01", "ngay_hop_le")


@case("gioi-tinh-sai")
def _sex() -> Built:
    return row_change("hoc_sinh", 1, "gioi_tinh", "M", "gioi_tinh_hop_le")


@case("ho-ten-trong")
def _no_name() -> Built:
    return row_change("hoc_sinh", 2, "ho_ten", None, "bat_buoc")


@case("dan-toc-ngoai-danh-muc")
def _ethnicity() -> Built:
    return row_change("hoc_sinh", 5, "dan_toc", "Kinh Bắc", "dan_toc_danh_muc")


@case("so-buoi-nghi-am")
def _absences() -> Built:
    return row_change("hoc_sinh", 6, "nghi_co_phep", "-1", "so_buoi_nghi_0_200")


@case("chieu-cao-500")
def _height() -> Built:
    return row_change("hoc_sinh", 7, "chieu_cao", "500", "chieu_cao_10_300")


@case("khong-cha-me-giam-ho")
def _no_parent() -> Built:
    t = base()
    for col in ("ho_ten_cha", "ho_ten_me", "ho_ten_nguoi_giam_ho"):
        t = put(t, "hoc_sinh", 8, col, None)
    return Built(t, expected=(("hoc_sinh", 10, "ho_ten_cha", "cha_me_giam_ho"),))


@case("khoi-6")
def _grade6() -> Built:
    return row_change("lop", 2, "khoi", "6", "khoi_1_5")


@case("chuc-vu-sai")
def _role() -> Built:
    return row_change("giao_vien", 5, "chuc_vu", "Thầy giáo", "chuc_vu_hop_le")


@case("hieu-truong-thieu-so-dinh-danh")
def _principal_id() -> Built:
    return row_change("giao_vien", 0, "so_dinh_danh", None, "so_dinh_danh_giam_hieu")


@case("muc-dat-mon-gioi", "xlsx")
def _level() -> Built:
    return row_change(
        "ket_qua_mon", at("ket_qua_mon", mon_hoc="TOAN"), "muc_dat", "Giỏi", "muc_dat_mon_hop_le"
    )


@case("diem-thap-phan")
def _decimal_score() -> Built:
    return row_change(
        "ket_qua_mon", at("ket_qua_mon", mon_hoc="TV"), "diem_ktdk", "8.5", "diem_0_10"
    )


@case("diem-11")
def _score_11() -> Built:
    return row_change(
        "ket_qua_mon", at("ket_qua_mon", mon_hoc="TOAN"), "diem_ktdk", "11", "diem_0_10"
    )


@case("ma-mon-la")
def _subject_code() -> Built:
    return row_change(
        "ket_qua_mon", at("ket_qua_mon", mon_hoc="AN"), "mon_hoc", "TIENG_ANH", "mon_hoc_hop_le"
    )


@case("ma-tieu-chi-la")
def _criterion_code() -> Built:
    return row_change(
        "pham_chat_nang_luc",
        at("pham_chat_nang_luc", tieu_chi="NHAN_AI"),
        "tieu_chi",
        "SANG_TAO",
        "tieu_chi_hop_le",
    )


@case("muc-dat-pham-chat-sai")
def _criterion_level() -> Built:
    return row_change("pham_chat_nang_luc", 10, "muc_dat", "Khá", "muc_dat_pcnl_hop_le")


@case("danh-gia-kha")
def _result_word() -> Built:
    return row_change("tong_hop", 1, "danh_gia", "Khá", "danh_gia_hop_le")


@case("nhan-xet-gvcn-trong", "xlsx")
def _no_comment() -> Built:
    return row_change("tong_hop", 3, "nhan_xet", None, "bat_buoc")


@case("danh-gia-bo-sung-2")
def _flag() -> Built:
    return row_change("tong_hop", 4, "danh_gia_bo_sung", "2", "co_0_1")


@case("ma-hoc-sinh-co-khoang-trang")
def _code_with_space() -> Built:
    t = base()
    old = t["hoc_sinh"]["ma_hoc_sinh"][11]
    new = old[:4] + " " + old[4:]
    for table in ("hoc_sinh", "ket_qua_mon", "pham_chat_nang_luc", "tong_hop"):
        f = t[table]
        t = {
            **t,
            table: f.with_columns(
                pl.when(pl.col("ma_hoc_sinh") == old)
                .then(pl.lit(new))
                .otherwise(pl.col("ma_hoc_sinh"))
                .alias("ma_hoc_sinh")
            ),
        }
    return Built(t, expected=(("hoc_sinh", 13, "ma_hoc_sinh", "ma_hoc_sinh_dang"),))


@case("can-nang-0")
def _weight() -> Built:
    return row_change("hoc_sinh", 12, "can_nang", "0", "can_nang_1_300")


@case("quoc-tich-la")
def _nationality() -> Built:
    return row_change("hoc_sinh", 13, "quoc_tich", "Atlantis", "quoc_tich_danh_muc")


@case("ho-ten-qua-dai", "xlsx")
def _long_name() -> Built:
    return row_change("hoc_sinh", 14, "ho_ten", "Nguyễn " * 30, "toi_da_150_ky_tu")


@case("bang-hoc-sinh-rong")
def _no_students() -> Built:
    t = base()
    empty = {k: t[k].clear() for k in ("hoc_sinh", "ket_qua_mon", "pham_chat_nang_luc", "tong_hop")}
    return Built({**t, **empty}, expected=(("hoc_sinh", None, None, "bang_rong"),))


# --------------------------------------------------------------------------------------
# References gate
# --------------------------------------------------------------------------------------


@case("trung-ma-hoc-sinh")
def _dup_code() -> Built:
    t = base()
    first, other = t["hoc_sinh"]["ma_hoc_sinh"][0], t["hoc_sinh"]["ma_hoc_sinh"][6]
    # The second student takes the first one's code everywhere: two records, one code.
    for table in ("hoc_sinh", "ket_qua_mon", "pham_chat_nang_luc", "tong_hop"):
        f = t[table]
        t = {
            **t,
            table: f.with_columns(
                pl.when(pl.col("ma_hoc_sinh") == other)
                .then(pl.lit(first))
                .otherwise(pl.col("ma_hoc_sinh"))
                .alias("ma_hoc_sinh")
            ),
        }
    expected: list[Where] = [("hoc_sinh", 8, "ma_hoc_sinh", "trung_ma_hoc_sinh")]
    for table, key in (("ket_qua_mon", "mon_hoc"), ("pham_chat_nang_luc", "tieu_chi")):
        # rows of the second student whose subject/criterion the first one already has
        rows = (
            t[table]
            .with_row_index("_i")
            .filter(pl.int_range(pl.len()).over("ma_hoc_sinh", key) > 0)
        )
        expected += [(table, int(i) + 2, key, f"trung_{key}") for i in rows["_i"]]
    expected.append(("tong_hop", 8, "ma_hoc_sinh", "trung_tong_hop"))
    order = ["hoc_sinh", "ket_qua_mon", "pham_chat_nang_luc", "tong_hop"]
    return Built(t, expected=tuple(sorted(expected, key=lambda w: (order.index(w[0]), w[1]))))


@case("trung-so-dinh-danh")
def _dup_id() -> Built:
    t = base()
    return Built(
        put(t, "hoc_sinh", 9, "so_dinh_danh", t["hoc_sinh"]["so_dinh_danh"][2]),
        expected=(("hoc_sinh", 11, "so_dinh_danh", "trung_so_dinh_danh_hoc_sinh"),),
    )


@case("trung-dong-mon-hoc")
def _dup_subject() -> Built:
    t = base()
    row = t["ket_qua_mon"].row(5, named=True)
    n = t["ket_qua_mon"].height
    return Built(
        append(t, "ket_qua_mon", row),
        expected=(("ket_qua_mon", n + 2, "mon_hoc", "trung_mon_hoc"),),
    )


@case("lop-khong-co")
def _unknown_class() -> Built:
    return row_change("hoc_sinh", 3, "ma_lop", "6A", "lop_khong_co")


@case("gvcn-khong-co")
def _unknown_teacher() -> Built:
    return row_change("lop", 1, "ma_gvcn", "GV999", "gvcn_khong_co")


@case("ket-qua-cua-hoc-sinh-la", "xlsx")
def _unknown_student() -> Built:
    row = {**base()["ket_qua_mon"].row(12, named=True), "ma_hoc_sinh": "9901999999"}
    n = base()["ket_qua_mon"].height
    return Built(
        append(base(), "ket_qua_mon", row),
        expected=(("ket_qua_mon", n + 2, "ma_hoc_sinh", "hoc_sinh_khong_co"),),
    )


@case("gvcn-thieu-so-dinh-danh")
def _homeroom_id() -> Built:
    i = at("giao_vien", ma_giao_vien=base()["lop"]["ma_gvcn"][2])
    return row_change("giao_vien", i, "so_dinh_danh", None, "so_dinh_danh_gvcn")


@case("trung-ma-lop")
def _dup_class() -> Built:
    n = base()["lop"].height
    return Built(
        append(base(), "lop", base()["lop"].row(0, named=True)),
        expected=(("lop", n + 2, "ma_lop", "trung_ma_lop"),),
    )


@case("trung-giao-vien")
def _dup_teacher() -> Built:
    n = base()["giao_vien"].height
    return Built(
        append(base(), "giao_vien", base()["giao_vien"].row(4, named=True)),
        expected=(
            ("giao_vien", n + 2, "ma_giao_vien", "trung_ma_giao_vien"),
            ("giao_vien", n + 2, "so_dinh_danh", "trung_so_dinh_danh_giao_vien"),
        ),
    )


@case("tong-hop-pham-chat-cua-hoc-sinh-la")
def _unknown_student_elsewhere() -> Built:
    t = base()
    pc = {**t["pham_chat_nang_luc"].row(0, named=True), "ma_hoc_sinh": "9901888888"}
    th = {**t["tong_hop"].row(0, named=True), "ma_hoc_sinh": "9901888888"}
    t = append(append(t, "pham_chat_nang_luc", pc), "tong_hop", th)
    return Built(
        t,
        expected=(
            (
                "pham_chat_nang_luc",
                base()["pham_chat_nang_luc"].height + 2,
                "ma_hoc_sinh",
                "hoc_sinh_khong_co",
            ),
            ("tong_hop", base()["tong_hop"].height + 2, "ma_hoc_sinh", "hoc_sinh_khong_co"),
        ),
    )


# --------------------------------------------------------------------------------------
# Rules gate (TT27)
# --------------------------------------------------------------------------------------


@case("mon-khong-hoc-o-khoi-1")
def _not_taught() -> Built:
    ma = student(1)
    row = {"ma_hoc_sinh": ma, "mon_hoc": "KH", "muc_dat": "T", "diem_ktdk": "9", "nhan_xet": None}
    n = base()["ket_qua_mon"].height
    return Built(
        append(base(), "ket_qua_mon", row),
        expected=(("ket_qua_mon", n + 2, "mon_hoc", "mon_khong_hoc_o_khoi"),),
    )


@case("thieu-mon-toan")
def _missing_subject() -> Built:
    ma = student(2)
    return Built(
        drop(base(), "ket_qua_mon", at("ket_qua_mon", ma_hoc_sinh=ma, mon_hoc="TOAN")),
        expected=(("hoc_sinh", hs_row(ma), "ma_hoc_sinh", "thieu_mon_bat_buoc"),),
    )


@case("thieu-diem-tin-hoc")
def _missing_score() -> Built:
    i = at("ket_qua_mon", ma_hoc_sinh=student(3), mon_hoc="TIN")
    return row_change("ket_qua_mon", i, "diem_ktdk", None, "thieu_diem_ktdk")


@case("diem-mon-khong-kiem-tra")
def _score_without_test() -> Built:
    i = at("ket_qua_mon", ma_hoc_sinh=student(4), mon_hoc="MT")
    return row_change("ket_qua_mon", i, "diem_ktdk", "8", "mon_khong_co_kiem_tra")


@case("mien-thi-diem-phai-la-m")
def _exempt_score() -> Built:
    i = at("ket_qua_mon", ma_hoc_sinh=student(5), mon_hoc="NN1")
    t = put(base(), "ket_qua_mon", i, "muc_dat", "M")
    return Built(t, expected=(("ket_qua_mon", i + 2, "diem_ktdk", "mien_thi_diem_m"),))


@case("diem-m-khi-khong-mien")
def _m_score() -> Built:
    i = at("ket_qua_mon", ma_hoc_sinh=student(3), mon_hoc="TOAN")
    return row_change("ket_qua_mon", i, "diem_ktdk", "M", "diem_m_khi_khong_mien")


@case("nang-luc-tin-hoc-o-khoi-1")
def _criterion_grade() -> Built:
    ma = student(1)
    row = {"ma_hoc_sinh": ma, "tieu_chi": "TIN_HOC", "muc_dat": "T", "nhan_xet": None}
    n = base()["pham_chat_nang_luc"].height
    return Built(
        append(base(), "pham_chat_nang_luc", row),
        expected=(("pham_chat_nang_luc", n + 2, "tieu_chi", "tieu_chi_khong_ap_dung"),),
    )


@case("thieu-pham-chat")
def _missing_criterion() -> Built:
    ma = student(4)
    i = at("pham_chat_nang_luc", ma_hoc_sinh=ma, tieu_chi="TRUNG_THUC")
    return Built(
        drop(base(), "pham_chat_nang_luc", i),
        expected=(("hoc_sinh", hs_row(ma), "ma_hoc_sinh", "thieu_pham_chat_nang_luc"),),
    )


@case("danh-gia-khac-tt27", "xlsx")
def _wrong_result() -> Built:
    i = at("tong_hop", ma_hoc_sinh=student(2, ("HT",)))
    return row_change("tong_hop", i, "danh_gia", "HTT", "danh_gia_khac_tt27")


@case("khen-xuat-sac-cho-hoc-sinh-ht")
def _htxs_title() -> Built:
    i = at("tong_hop", ma_hoc_sinh=student(3, ("HT",)))
    return row_change("tong_hop", i, "khen_thuong", KHEN_THUONG_HTXS, "khen_thuong_htxs")


@case("khen-tieu-bieu-cho-hoc-sinh-htxs")
def _htt_title() -> Built:
    i = at("tong_hop", ma_hoc_sinh=student(1, ("HTXS",)))
    return row_change("tong_hop", i, "khen_thuong", KHEN_THUONG_HTT, "khen_thuong_htt")


@case("tuoi-ngoai-tieu-hoc")
def _age() -> Built:
    return row_change("hoc_sinh", 0, "ngay_sinh", "2008-05-01", "tuoi_ngoai_5_16")


@case("hoan-thanh-ma-o-lai-lop")
def _promotion() -> Built:
    i = at("tong_hop", ma_hoc_sinh=student(2, ("HT", "HTT")))
    return row_change("tong_hop", i, "len_lop", "0", "hoan_thanh_thi_len_lop")


# --------------------------------------------------------------------------------------
# Written differently, and accepted
# --------------------------------------------------------------------------------------


@case("ten-nfd-va-khoang-trang", accepted=True)
def _nfd() -> Built:
    hs = base()["hoc_sinh"].with_columns(
        pl.col(c).map_elements(
            lambda s: "  " + unicodedata.normalize("NFD", s) + " ", return_dtype=pl.String
        )
        for c in ("ho_ten", "noi_sinh", "dan_toc")
    )
    return Built({**base(), "hoc_sinh": hs})


@case("ngay-dd-mm-yyyy", "xlsx", accepted=True)
def _vn_dates() -> Built:
    hs = base()["hoc_sinh"].with_columns(pl.col("ngay_sinh").str.to_date().dt.to_string("%d/%m/%Y"))
    return Built({**base(), "hoc_sinh": hs})


@case("muc-dat-ghi-day-du", accepted=True)
def _full_levels() -> Built:
    t = base()
    kqm = t["ket_qua_mon"].with_columns(
        pl.col("muc_dat").replace(
            {"T": "Hoàn thành tốt", "H": "hoàn thành", "C": "Chưa hoàn thành"}
        )
    )
    pc = t["pham_chat_nang_luc"].with_columns(
        pl.col("muc_dat").replace({"T": "Tốt", "Đ": "D", "C": "cần cố gắng"})
    )
    th = t["tong_hop"].with_columns(pl.col("danh_gia").replace({"HTXS": "Hoàn thành xuất sắc"}))
    return Built({**t, "ket_qua_mon": kqm, "pham_chat_nang_luc": pc, "tong_hop": th})


@case("csv-cham-phay-co-bom", accepted=True)
def _semicolons() -> Built:
    def write(path: Path) -> None:
        write_csv_folder(base(), path)
        for file in path.iterdir():
            frame = pl.read_csv(file, infer_schema=False)
            data = frame.write_csv(separator=";").encode("utf-8")
            file.write_bytes(b"\xef\xbb\xbf" + data)

    return Built(write=write)


@case("cot-dao-thu-tu-va-cot-thua", accepted=True)
def _columns() -> Built:
    t = base()
    hs = (
        t["hoc_sinh"]
        .select(reversed(t["hoc_sinh"].columns))
        .with_columns(pl.lit("ghi chú").alias("ghi_chu"))
    )
    return Built({**t, "hoc_sinh": hs}, warnings=(("hoc_sinh", None, "ghi_chu", "cot_thua"),))


@case("canh-bao-can-xem-lai", accepted=True)
def _warnings() -> Built:
    """Legal data a human should look at: every WARN of the rules and references gates."""
    t = base()
    extra_class = {"ma_lop": "5B", "khoi": "5", "ma_gvcn": t["giao_vien"]["ma_giao_vien"][8]}
    t = append(t, "lop", extra_class)
    ma_cht = student(1)  # made CHT below: Toán not completed, pending the summer
    i = at("ket_qua_mon", ma_hoc_sinh=ma_cht, mon_hoc="TOAN")
    t = put(put(t, "ket_qua_mon", i, "muc_dat", "C"), "ket_qua_mon", i, "diem_ktdk", "3")
    j = at("tong_hop", ma_hoc_sinh=ma_cht)
    for col, value in (("danh_gia", "CHT"), ("khen_thuong", None), ("len_lop", "1")):
        t = put(t, "tong_hop", j, col, value)
    ma_old = student(3)
    t = put(t, "hoc_sinh", at("hoc_sinh", ma_hoc_sinh=ma_old), "ngay_sinh", "2013-03-03")
    k = at("tong_hop", ma_hoc_sinh=student(4, ("HT",)))
    t = put(t, "tong_hop", k, "khen_thuong", "Học sinh giỏi")
    ma_no_summary = student(5)
    t = drop(t, "tong_hop", at("tong_hop", ma_hoc_sinh=ma_no_summary))
    j2, k2 = (j, k) if k < at("tong_hop", ma_hoc_sinh=ma_no_summary) else (j, k - 1)
    return Built(
        t,
        warnings=(
            ("lop", base()["lop"].height + 2, "ma_lop", "lop_khong_co_hoc_sinh"),
            ("hoc_sinh", hs_row(ma_old), "ngay_sinh", "tuoi_khac_khoi"),
            ("hoc_sinh", hs_row(ma_no_summary), "ma_hoc_sinh", "thieu_tong_hop"),
            ("tong_hop", j2 + 2, "len_lop", "len_lop_truoc_bo_sung"),
            ("tong_hop", k2 + 2, "khen_thuong", "khen_thuong_ngoai_mau"),
        ),
    )


def coverage() -> dict[str, list[str]]:
    """Rule id -> the cases that trigger it (the closing note's "rule and its test")."""
    out: dict[str, list[str]] = {}
    for c in CASES:
        built = c.build()
        for where in (*built.expected, *built.warnings):
            out.setdefault(where[3], []).append(c.name)
    return dict(sorted(out.items()))
