"""Gate 2, references: every code points at something, and nothing is there twice.

A result row for a student who is not in ``hoc_sinh``, a class whose homeroom
teacher is not in ``giao_vien``, or the same student twice would make records
that cannot be built, or two records for one child. Targets are looked up among
all rows that carry a key (a student whose birth date is wrong still exists), so
one mistake is reported once, where it is.

Duplicates are reported on every occurrence after the first, naming the first.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from hocbaso.ingest import ROW, RawSource
from validation.report import GateReport, Problem, Severity

#: (table, key columns, rule id, what the key is, in Vietnamese)
UNIQUE_KEYS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("lop", ("ma_lop",), "trung_ma_lop", "Mã lớp"),
    ("giao_vien", ("ma_giao_vien",), "trung_ma_giao_vien", "Mã giáo viên"),
    ("giao_vien", ("so_dinh_danh",), "trung_so_dinh_danh_giao_vien", "Số định danh"),
    ("hoc_sinh", ("ma_hoc_sinh",), "trung_ma_hoc_sinh", "Mã học sinh"),
    ("hoc_sinh", ("so_dinh_danh",), "trung_so_dinh_danh_hoc_sinh", "Số định danh"),
    (
        "ket_qua_mon",
        ("ma_hoc_sinh", "mon_hoc"),
        "trung_mon_hoc",
        "Kết quả của cùng học sinh và môn học",
    ),
    (
        "pham_chat_nang_luc",
        ("ma_hoc_sinh", "tieu_chi"),
        "trung_tieu_chi",
        "Mức đạt được của cùng học sinh và phẩm chất/năng lực",
    ),
    ("tong_hop", ("ma_hoc_sinh",), "trung_tong_hop", "Dòng tổng hợp của cùng học sinh"),
)

#: (table, column, target table, target column, rule id, message)
FOREIGN_KEYS: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "lop",
        "ma_gvcn",
        "giao_vien",
        "ma_giao_vien",
        "gvcn_khong_co",
        'Giáo viên chủ nhiệm "{value}" không có trong bảng giao_vien: thêm giáo viên này vào '
        "bảng giao_vien hoặc sửa mã cho đúng.",
    ),
    (
        "hoc_sinh",
        "ma_lop",
        "lop",
        "ma_lop",
        "lop_khong_co",
        'Lớp "{value}" không có trong bảng lop: thêm lớp vào bảng lop hoặc sửa mã lớp cho đúng.',
    ),
    (
        "ket_qua_mon",
        "ma_hoc_sinh",
        "hoc_sinh",
        "ma_hoc_sinh",
        "hoc_sinh_khong_co",
        'Mã học sinh "{value}" không có trong bảng hoc_sinh: sửa mã cho đúng hoặc thêm học sinh.',
    ),
    (
        "pham_chat_nang_luc",
        "ma_hoc_sinh",
        "hoc_sinh",
        "ma_hoc_sinh",
        "hoc_sinh_khong_co",
        'Mã học sinh "{value}" không có trong bảng hoc_sinh: sửa mã cho đúng hoặc thêm học sinh.',
    ),
    (
        "tong_hop",
        "ma_hoc_sinh",
        "hoc_sinh",
        "ma_hoc_sinh",
        "hoc_sinh_khong_co",
        'Mã học sinh "{value}" không có trong bảng hoc_sinh: sửa mã cho đúng hoặc thêm học sinh.',
    ),
)

GVCN_SO_DINH_DANH = "so_dinh_danh_gvcn"
LOP_KHONG_HOC_SINH = "lop_khong_co_hoc_sinh"

BadCells = Mapping[str, frozenset[tuple[int, str]]]  # table -> {(sheet_row, column)}


def _usable(
    frame: pl.DataFrame, table: str, columns: tuple[str, ...], bad_cells: BadCells
) -> pl.DataFrame:
    """Rows whose ``columns`` all hold a value that passed the row gate."""
    out = frame.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in columns))
    bad = bad_cells.get(table, frozenset())
    if not bad:
        return out
    rows = {r for r, c in bad if c in columns}
    return out.filter(~pl.col(ROW).is_in(sorted(rows))) if rows else out


def _duplicates(raw: RawSource, bad_cells: BadCells) -> list[Problem]:
    problems = []
    for table, keys, rule, what in UNIQUE_KEYS:
        frame = _usable(raw.frame(table), table, keys, bad_cells)
        dup = (
            frame.select(*keys, ROW)
            .with_columns(pl.col(ROW).min().over(keys).alias("_first"))
            .filter(pl.col(ROW) != pl.col("_first"))
            .sort(ROW)
        )
        for row in dup.iter_rows(named=True):
            value = " / ".join(str(row[k]) for k in keys)
            problems.append(
                Problem(
                    table,
                    row[ROW],
                    keys[-1],
                    rule,
                    value,
                    f'{what} "{value}" đã có ở dòng {row["_first"]} của bảng này: mỗi mục chỉ '
                    "được ghi một lần — xóa dòng thừa hoặc sửa lại cho đúng.",
                )
            )
    return problems


def _dangling(raw: RawSource, bad_cells: BadCells) -> list[Problem]:
    problems = []
    for table, column, target, target_col, rule, message in FOREIGN_KEYS:
        if table not in raw.tables:
            continue
        frame = _usable(raw.frame(table), table, (column,), bad_cells)
        known = raw.frame(target).select(pl.col(target_col).drop_nulls().unique())
        missing = frame.join(known, left_on=column, right_on=target_col, how="anti").sort(ROW)
        for value, row in missing.select(column, ROW).iter_rows():
            problems.append(Problem(table, row, column, rule, value, message.format(value=value)))
    return problems


def _homeroom_ids(raw: RawSource) -> list[Problem]:
    """A homeroom teacher signs the records, so needs a personal ID number."""
    gv = raw.frame("giao_vien")
    homeroom = raw.frame("lop").select(pl.col("ma_gvcn").drop_nulls().unique())
    no_id = (
        gv.join(homeroom, left_on="ma_giao_vien", right_on="ma_gvcn", how="semi")
        .filter(pl.col("so_dinh_danh").is_null())
        .unique("ma_giao_vien", keep="first")
        .sort(ROW)
    )
    return [
        Problem(
            "giao_vien",
            row,
            "so_dinh_danh",
            GVCN_SO_DINH_DANH,
            None,
            "Giáo viên này chủ nhiệm một lớp và sẽ ký học bạ nên phải có số định danh cá "
            "nhân: nhập 12 chữ số vào cột so_dinh_danh.",
        )
        for (row,) in no_id.select(ROW).iter_rows()
    ]


def _empty_classes(raw: RawSource) -> list[Problem]:
    used = raw.frame("hoc_sinh").select(pl.col("ma_lop").drop_nulls().unique())
    empty = (
        raw.frame("lop")
        .filter(pl.col("ma_lop").is_not_null())
        .join(used, on="ma_lop", how="anti")
        .sort(ROW)
    )
    return [
        Problem(
            "lop",
            row,
            "ma_lop",
            LOP_KHONG_HOC_SINH,
            value,
            f'Lớp "{value}" không có học sinh nào trong bảng hoc_sinh: kiểm tra lại mã lớp '
            "của học sinh, hoặc xóa lớp nếu không dùng.",
            Severity.WARN,
        )
        for value, row in empty.select("ma_lop", ROW).iter_rows()
    ]


def check_references(raw: RawSource, bad_cells: BadCells | None = None) -> GateReport:
    """Duplicates and dangling codes, skipping cells the row gate already refused."""
    cells = bad_cells or {}
    problems = [
        *_duplicates(raw, cells),
        *_dangling(raw, cells),
        *_homeroom_ids(raw),
        *_empty_classes(raw),
    ]
    checked = sum(t.frame.height for t in raw.tables.values())
    order = list(raw.tables)
    problems.sort(
        key=lambda p: (
            order.index(p.table) if p.table in order else 99,
            p.sheet_row or 0,
            p.column or "",
            p.rule,
        )
    )
    return GateReport("references", raw.path.name, checked, tuple(problems))
