"""Consistency with the sector database (CSDL ngành), plan step 5.

A record is issued under the student code and personal ID of the sector database,
so a student whose code, name, birth date, ID or class differs between the school's
file and CSDL ngành would get a record the registry cannot match. This module reads
an export of CSDL ngành (an ``.xlsx`` sheet or a ``.csv``, headers as the export
writes them or as the import format names them) and lists every difference. The
gates turn the list into a report (WARN by default: the school decides which side
to correct).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hocbaso.errors import InputDataError
from hocbaso.ingest.canonical import read_sheet
from hocbaso.ingest.normalise import fold_expr, normalise_date
from hocbaso.ingest.source import ROW

#: Compared fields, and the headers a CSDL ngành export may use for them (compared
#: folded, as ``hocbaso.ingest.normalise.fold`` gives them).
HEADERS: Mapping[str, tuple[str, ...]] = {
    "ma_hoc_sinh": ("ma_hoc_sinh", "mã học sinh", "mã hs", "mahocsinh", "mã học sinh (csdl)"),
    "ho_ten": ("ho_ten", "họ và tên", "họ tên", "hovaten", "họ tên học sinh"),
    "ngay_sinh": ("ngay_sinh", "ngày sinh", "ngaysinh", "ngaythangnamsinh", "ngày tháng năm sinh"),
    "so_dinh_danh": (
        "so_dinh_danh",
        "số định danh",
        "mã định danh",
        "số định danh cá nhân",
        "sodinhdanh",
        "số cccd",
        "cccd",
    ),
    "ma_lop": ("ma_lop", "lớp", "tên lớp", "tenlop", "mã lớp"),
}
REQUIRED = ("ma_hoc_sinh", "ho_ten")
FIELD_NAMES: Mapping[str, str] = {
    "ma_hoc_sinh": "mã học sinh",
    "ho_ten": "họ và tên",
    "ngay_sinh": "ngày sinh",
    "so_dinh_danh": "số định danh",
    "ma_lop": "lớp",
}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference between the school's ``hoc_sinh`` and CSDL ngành.

    ``sheet_row`` is the row in the school's ``hoc_sinh`` (``None`` for a student only
    CSDL ngành has); ``csdl_row`` the row in the export (``None`` for a student only the
    school has).
    """

    kind: str  # khong_co_tren_csdl | chi_co_tren_csdl | khac_<field>
    sheet_row: int | None
    column: str
    value: str | None
    csdl_value: str | None
    csdl_row: int | None
    message_vi: str


def read_csdl_nganh(path: Path) -> pl.DataFrame:
    """The export's students as text: the columns of ``HEADERS`` it has, plus ``ROW``."""
    frame, name = read_sheet(path)
    rename: dict[str, str] = {}
    for field, spellings in HEADERS.items():
        for column in frame.columns:
            if column in spellings and field not in rename.values():
                rename[column] = field
    missing = [f for f in REQUIRED if f not in rename.values()]
    if missing:
        raise InputDataError(
            f"Tệp xuất từ CSDL ngành {name} thiếu cột: "
            + ", ".join(FIELD_NAMES[f] for f in missing)
            + ".",
            hint="Xuất lại danh sách học sinh từ CSDL ngành với các cột Mã học sinh, Họ và tên, "
            "Ngày sinh, Số định danh, Lớp (hoặc đặt tên cột như mẫu nhập: ma_hoc_sinh, ho_ten, "
            "ngay_sinh, so_dinh_danh, ma_lop).",
        )
    out = frame.select(*(pl.col(c).alias(f) for c, f in rename.items()), ROW)
    if "ngay_sinh" in out.columns:
        out = out.with_columns(normalise_date("ngay_sinh"))
    return out


def _class_key(e: pl.Expr) -> pl.Expr:
    """ "Lớp 1A", "1a", "1 A" are the same class."""
    return fold_expr(e).str.replace(r"^lớp", "").str.replace_all(" ", "", literal=True)


#: Names are compared the way a person reads them (case and spacing do not matter).
_KEYS = {"ho_ten": fold_expr, "ma_lop": _class_key}


def compare_students(hoc_sinh: pl.DataFrame, csdl: pl.DataFrame) -> list[Mismatch]:
    """Every difference, student by student.

    Students are matched by code, then (for the rest) by personal ID; a student matched
    by ID has a different code. Then name, birth date, ID and class are compared where
    both sides have them.
    """
    ours = hoc_sinh.select("ma_hoc_sinh", "ho_ten", "ngay_sinh", "so_dinh_danh", "ma_lop", ROW)
    theirs = csdl.rename({c: f"{c}_csdl" for c in csdl.columns if c != ROW}).rename(
        {ROW: "_row_csdl"}
    )
    by_code = ours.join(
        theirs, left_on="ma_hoc_sinh", right_on="ma_hoc_sinh_csdl", how="inner", coalesce=False
    )
    out: list[Mismatch] = []
    rest = ours.join(by_code.select("ma_hoc_sinh"), on="ma_hoc_sinh", how="anti")
    matched_theirs = set(by_code["_row_csdl"].to_list())
    by_id = pl.DataFrame()
    if "so_dinh_danh_csdl" in theirs.columns:
        free = theirs.filter(~pl.col("_row_csdl").is_in(sorted(matched_theirs)))
        by_id = rest.join(
            free, left_on="so_dinh_danh", right_on="so_dinh_danh_csdl", how="inner", coalesce=False
        )
        matched_theirs |= set(by_id["_row_csdl"].to_list())
        for row in by_id.sort(ROW).iter_rows(named=True):
            out.append(
                Mismatch(
                    "khac_ma_hoc_sinh",
                    row[ROW],
                    "ma_hoc_sinh",
                    row["ma_hoc_sinh"],
                    row["ma_hoc_sinh_csdl"],
                    row["_row_csdl"],
                    f'Mã học sinh "{row["ma_hoc_sinh"]}" khác CSDL ngành '
                    f'"{row["ma_hoc_sinh_csdl"]}" (cùng số định danh, dòng {row["_row_csdl"]} '
                    "của tệp CSDL ngành): dùng đúng mã trên CSDL ngành.",
                )
            )
        rest = rest.join(by_id.select("ma_hoc_sinh"), on="ma_hoc_sinh", how="anti")
    for row in rest.sort(ROW).iter_rows(named=True):
        out.append(
            Mismatch(
                "khong_co_tren_csdl",
                row[ROW],
                "ma_hoc_sinh",
                row["ma_hoc_sinh"],
                None,
                None,
                f'Học sinh mã "{row["ma_hoc_sinh"]}" không có trên CSDL ngành (không trùng mã, '
                "không trùng số định danh): kiểm tra mã học sinh, hoặc cập nhật học sinh lên CSDL "
                "ngành trước.",
            )
        )
    pairs = pl.concat([by_code, by_id], how="diagonal_relaxed") if by_id.height else by_code
    for field in ("ho_ten", "ngay_sinh", "so_dinh_danh", "ma_lop"):
        other = f"{field}_csdl"
        if other not in pairs.columns:
            continue
        key = _KEYS.get(field, lambda e: e)
        differs = pairs.filter(
            pl.col(field).is_not_null()
            & pl.col(other).is_not_null()
            & (key(pl.col(field)) != key(pl.col(other)))
        ).sort(ROW)
        for row in differs.iter_rows(named=True):
            out.append(
                Mismatch(
                    f"khac_{field}",
                    row[ROW],
                    field,
                    row[field],
                    row[other],
                    row["_row_csdl"],
                    f'{FIELD_NAMES[field].capitalize()} "{row[field]}" khác CSDL ngành '
                    f'"{row[other]}" (dòng {row["_row_csdl"]} của tệp CSDL ngành): sửa bên sai '
                    "cho khớp.",
                )
            )
    only_theirs = theirs.filter(~pl.col("_row_csdl").is_in(sorted(matched_theirs)))
    known = set(ours["ma_hoc_sinh"].drop_nulls().to_list())
    for row in only_theirs.sort("_row_csdl").iter_rows(named=True):
        if row["ma_hoc_sinh_csdl"] in known:
            continue  # a duplicate in the export; its first row was compared
        out.append(
            Mismatch(
                "chi_co_tren_csdl",
                None,
                "ma_hoc_sinh",
                None,
                row["ma_hoc_sinh_csdl"],
                row["_row_csdl"],
                f'Học sinh mã "{row["ma_hoc_sinh_csdl"]}" (dòng {row["_row_csdl"]} của tệp CSDL '
                "ngành) có trên CSDL ngành nhưng không có trong bảng hoc_sinh: bổ sung học sinh, "
                "hoặc cập nhật CSDL ngành nếu học sinh đã chuyển đi.",
            )
        )
    return out
