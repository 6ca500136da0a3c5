"""Adapter: the class summary sheet schools keep under TT27, onto the import format.

Schools already keep, per class, the "Bảng tổng hợp kết quả đánh giá giáo dục":
one row per student, two header rows (subjects split into level and score; then
qualities, general and specific competencies; then the overall result and the
commendation). This module reads a workbook of such sheets and gives the same
``RawSource`` as the canonical import (``ket_qua_mon``, ``pham_chat_nang_luc``,
``tong_hop``). Writing such sheets (the sample school, the blank template) is the
demo's business: ``hocbaso.demo.template``.

The workbook:

- sheets ``lop``, ``giao_vien``, ``hoc_sinh`` in the canonical format (the staff and
  student lists the school-management software exports);
- one sheet per class (any name, e.g. ``1A``): row 1 a title, row 2 ``Lớp`` | code |
  ``Năm học`` | year | ``Giáo viên chủ nhiệm`` | name; then two header rows and one
  row per student:

  ``STT | Mã học sinh | Họ và tên | <subject>: Mức đạt được, Điểm KTĐK (only where the
  grade has a test), Nhận xét | Phẩm chất chủ yếu: Yêu nước … | Năng lực chung: … |
  Năng lực đặc thù: … | Đánh giá kết quả giáo dục | Khen thưởng | Khen thưởng đột xuất |
  Đánh giá bổ sung | Lên lớp | Nhận xét của giáo viên chủ nhiệm | Nhận xét phẩm chất |
  Nhận xét năng lực chung | Nhận xét năng lực đặc thù``

Headers are matched by name (case, spacing and Unicode form do not matter), so a
column may move or be missing; a subject's "Nhận xét" column is optional. An exempt
subject (``M``) without a score column gets the score ``M``, as in the canonical
format. The form has no place for a per-criterion comment: those stay empty.

Problems found by the gates in rows that came from a class sheet are reported on
that sheet, row and column (``origin``), not on the canonical table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import fastexcel
import polars as pl
from xlsxwriter.utility import xl_col_to_name

from hocbaso.dataset import TABLE_SCHEMAS
from hocbaso.errors import InputDataError
from hocbaso.ingest.canonical import XLSX_SUFFIXES, first_used_row, read_source_tables
from hocbaso.ingest.normalise import clean_label, fold, fold_expr, normalise_table
from hocbaso.ingest.source import ROW, RawSource, RawTable
from hocbaso.model import CRITERIA, SUBJECTS

TITLE = "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC"
LIST_TABLES = ("lop", "giao_vien", "hoc_sinh")
MUC_DAT, DIEM, NHAN_XET = "Mức đạt được", "Điểm KTĐK", "Nhận xét"
GROUPS = {
    "pham_chat": "Phẩm chất chủ yếu",
    "nang_luc_chung": "Năng lực chung",
    "nang_luc_dac_thu": "Năng lực đặc thù",
}
#: The summary columns after the criteria: header -> tong_hop column.
SUMMARY_COLUMNS: Mapping[str, str] = {
    "Đánh giá kết quả giáo dục": "danh_gia",
    "Khen thưởng": "khen_thuong",
    "Khen thưởng đột xuất": "khen_thuong_dot_xuat",
    "Đánh giá bổ sung": "danh_gia_bo_sung",
    "Lên lớp": "len_lop",
    "Nhận xét của giáo viên chủ nhiệm": "nhan_xet",
    "Nhận xét phẩm chất": "nhan_xet_pham_chat",
    "Nhận xét năng lực chung": "nhan_xet_nang_luc_chung",
    "Nhận xét năng lực đặc thù": "nhan_xet_nang_luc_dac_thu",
}
MA_HOC_SINH_HEADER = "Mã học sinh"

_SUBJECT_BY_NAME = {
    **{fold(s.ten): s.code for s in SUBJECTS},
    **{fold(s.code): s.code for s in SUBJECTS},
}
_CRITERION_BY_NAME = {
    **{fold(c.ten): c.code for c in CRITERIA},
    **{fold(c.code): c.code for c in CRITERIA},
}
_SUB = {
    fold(MUC_DAT): "muc_dat",
    fold("Mức đạt"): "muc_dat",
    fold("Mức"): "muc_dat",
    fold(DIEM): "diem_ktdk",
    fold("Điểm"): "diem_ktdk",
    fold("Điểm kiểm tra định kì"): "diem_ktdk",
    fold(NHAN_XET): "nhan_xet",
}
_SUMMARY = {fold(h): c for h, c in SUMMARY_COLUMNS.items()}


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def is_bang_tong_hop(path: Path) -> bool:
    """Whether ``path`` is a workbook of class summary sheets (no ``ket_qua_mon`` sheet,
    at least one sheet with a "Mã học sinh" header)."""
    if not (path.is_file() and path.suffix.lower() in XLSX_SUFFIXES):
        return False
    try:
        reader = fastexcel.read_excel(path.read_bytes())
    except Exception:  # not a workbook at all: read_source will say so
        return False
    names = {fold(n) for n in reader.sheet_names}
    if "ket_qua_mon" in names:
        return False
    return any(
        _class_columns(reader, n) is not None
        for n in reader.sheet_names
        if fold(n) not in TABLE_SCHEMAS
    )


def _class_columns(reader: fastexcel.ExcelReader, sheet: str) -> tuple[pl.DataFrame, int] | None:
    """The sheet as text without headers, and the index of its first header row."""
    frame = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    for i in range(min(frame.height, 10)):
        if any(fold(v) == fold(MA_HOC_SINH_HEADER) for v in frame.row(i)):
            return frame, i
    return None


def read_bang_tong_hop(path: Path) -> RawSource:
    """Read a workbook of class summary sheets as a ``RawSource`` of the import format."""
    path = Path(path)
    base = read_source_tables(path, LIST_TABLES)
    data = path.read_bytes()
    reader = fastexcel.read_excel(data)
    parts: dict[str, list[pl.DataFrame]] = {
        t: [] for t in ("ket_qua_mon", "pham_chat_nang_luc", "tong_hop")
    }
    origins: dict[str, list[pl.DataFrame]] = {t: [] for t in parts}
    extras: list[str] = []
    found_any = False
    for sheet in reader.sheet_names:
        if fold(sheet) in TABLE_SCHEMAS:
            continue
        found = _class_columns(reader, sheet)
        if found is None:
            continue
        found_any = True
        frame, header = found
        first = first_used_row(data, sheet)
        columns = [
            c.absolute_index
            for c in reader.load_sheet(sheet, header_row=None, dtypes="string").available_columns()
        ]
        sheet_parts, sheet_extras = _parse_class_sheet(sheet, frame, header, first, columns)
        extras.extend(sheet_extras)
        for table, (rows, origin) in sheet_parts.items():
            parts[table].append(rows)
            origins[table].append(origin)
    if not found_any:
        raise InputDataError(
            f"{path.name} không có trang tính bảng tổng hợp nào (không thấy tiêu đề cột "
            f'"{MA_HOC_SINH_HEADER}").',
            hint="Dùng mẫu bang-tong-hop-mau.xlsx (xem docs/import-format.md): mỗi lớp một "
            "trang tính, hai dòng tiêu đề, mỗi học sinh một dòng.",
        )
    tables = dict(base.tables)
    for table in parts:
        if not parts[table]:
            continue
        rows = pl.concat(parts[table], how="diagonal_relaxed")
        # A unique row id per table; where each row really is stays in `origin`.
        ids = pl.int_range(2, 2 + rows.height, dtype=pl.Int32).alias(ROW)
        origin = pl.concat(origins[table], how="diagonal_relaxed").with_columns(ids)
        frame = normalise_table(table, rows.with_columns(ids))
        frame = frame.join(origin.select(ROW), on=ROW, how="semi")
        extra = tuple(dict.fromkeys(extras)) if table == "tong_hop" else ()
        tables[table] = RawTable(
            table,
            frame,
            "bảng tổng hợp",
            extra,
            origin=origin.filter(pl.col(ROW).is_in(frame[ROW].implode())),
        )
    return RawSource(
        path=path, kind="xlsx", tables=tables, sha256=base.sha256, ignored=base.ignored
    )


def _parse_class_sheet(
    sheet: str, frame: pl.DataFrame, header: int, first_row: int, abs_columns: Sequence[int]
) -> tuple[dict[str, tuple[pl.DataFrame, pl.DataFrame]], list[str]]:
    """Long rows (and where each came from) of one class sheet."""
    top = [clean_label(v) for v in frame.row(header)]
    sub = [clean_label(v) for v in frame.row(header + 1)] if header + 1 < frame.height else []
    sub += [None] * (len(top) - len(sub))
    group: str | None = None
    subject_cols: dict[str, dict[str, int]] = {}
    criterion_cols: dict[str, int] = {}
    summary_cols: dict[str, int] = {}
    code_col: int | None = None
    extras: list[str] = []
    labels: dict[int, str] = {}
    for j, (t, s) in enumerate(zip(top, sub, strict=True)):
        if t is not None:
            group = t
        words = " – ".join(x for x in (group if s else t, s) if x)
        labels[j] = f"{xl_col_to_name(abs_columns[j])} ({words})"
        if s is None:
            if t is None:
                continue
            k = fold(t)
            if k == fold(MA_HOC_SINH_HEADER):
                code_col = j
            elif k in _SUMMARY:
                summary_cols[_SUMMARY[k]] = j
            elif k not in (fold("STT"), fold("Họ và tên")):
                extras.append(f"{sheet}: {t}")
            continue
        if fold(group) in _SUBJECT_BY_NAME and fold(s) in _SUB:
            subject_cols.setdefault(_SUBJECT_BY_NAME[fold(group)], {})[_SUB[fold(s)]] = j
        elif fold(s) in _CRITERION_BY_NAME:
            criterion_cols[_CRITERION_BY_NAME[fold(s)]] = j
        else:
            extras.append(f"{sheet}: {group} – {s}")
    if code_col is None:  # pragma: no cover - _class_columns found the header
        return {}, extras
    start = header + (2 if sub and any(sub) else 1)
    body = frame.slice(start)
    rows = body.with_columns(
        pl.int_range(first_row + start, first_row + start + body.height, dtype=pl.Int32).alias(
            "_sheet_row"
        )
    )
    names = rows.columns
    code = pl.col(names[code_col])
    rows = rows.filter(code.is_not_null() & (code.str.strip_chars() != ""))

    def origin(frame: pl.DataFrame, cells: Mapping[str, int | None]) -> pl.DataFrame:
        return frame.select(
            pl.lit(sheet).alias("_sheet"),
            pl.col("_sheet_row"),
            *(
                pl.lit(labels[j] if j is not None else None, pl.String).alias(f"_cell_{c}")
                for c, j in cells.items()
            ),
        )

    out: dict[str, tuple[pl.DataFrame, pl.DataFrame]] = {}
    kqm, kqm_origin = [], []
    for mon, cols in subject_cols.items():
        level = pl.col(names[cols["muc_dat"]]) if "muc_dat" in cols else pl.lit(None, pl.String)
        score = pl.col(names[cols["diem_ktdk"]]) if "diem_ktdk" in cols else pl.lit(None, pl.String)
        comment = pl.col(names[cols["nhan_xet"]]) if "nhan_xet" in cols else pl.lit(None, pl.String)
        if "diem_ktdk" not in cols:  # exempt: the score is M too
            exempt = fold_expr(level).is_in(["m", "miễn"])
            score = pl.when(exempt).then(pl.lit("M")).otherwise(pl.lit(None, pl.String))
        part = rows.select(
            code.alias("ma_hoc_sinh"),
            pl.lit(mon).alias("mon_hoc"),
            level.alias("muc_dat"),
            score.alias("diem_ktdk"),
            comment.alias("nhan_xet"),
            pl.col("_sheet_row"),
        ).filter(
            pl.any_horizontal(_blank_not(pl.col(c)) for c in ("muc_dat", "diem_ktdk", "nhan_xet"))
        )
        kqm.append(part.drop("_sheet_row"))
        level_cell = cols.get("muc_dat")
        kqm_origin.append(
            origin(
                part,
                {
                    "ma_hoc_sinh": code_col,
                    "mon_hoc": level_cell,
                    "muc_dat": level_cell,
                    "diem_ktdk": cols.get("diem_ktdk", level_cell),
                    "nhan_xet": cols.get("nhan_xet"),
                },
            )
        )
    if kqm:
        out["ket_qua_mon"] = (pl.concat(kqm), pl.concat(kqm_origin))
    pc, pc_origin = [], []
    for tieu_chi, j in criterion_cols.items():
        part = rows.select(
            code.alias("ma_hoc_sinh"),
            pl.lit(tieu_chi).alias("tieu_chi"),
            pl.col(names[j]).alias("muc_dat"),
            pl.lit(None, pl.String).alias("nhan_xet"),
            pl.col("_sheet_row"),
        ).filter(_blank_not(pl.col("muc_dat")))
        pc.append(part.drop("_sheet_row"))
        pc_origin.append(origin(part, {"ma_hoc_sinh": code_col, "tieu_chi": j, "muc_dat": j}))
    if pc:
        out["pham_chat_nang_luc"] = (pl.concat(pc), pl.concat(pc_origin))
    th = rows.select(
        code.alias("ma_hoc_sinh"),
        *(pl.col(names[j]).alias(c) for c, j in summary_cols.items()),
        pl.col("_sheet_row"),
    )
    out["tong_hop"] = (th.drop("_sheet_row"), origin(th, {"ma_hoc_sinh": code_col, **summary_cols}))
    return out, extras


def _blank_not(e: pl.Expr) -> pl.Expr:
    return e.is_not_null() & (e.str.strip_chars() != "")
