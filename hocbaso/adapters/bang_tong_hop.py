"""Adapter: the class summary sheet schools keep under TT27, onto the import format.

Schools already keep, per class, the "Bảng tổng hợp kết quả đánh giá giáo dục":
one row per student, two header rows (subjects split into level and score; then
qualities, general and specific competencies; then the overall result and the
commendation). This module reads a workbook of such sheets and gives the same
``RawSource`` as the canonical import (``ket_qua_mon``, ``pham_chat_nang_luc``,
``tong_hop``), and writes such sheets (for the sample school and a blank template).

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

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import fastexcel
import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from hocbaso import tt27
from hocbaso.dataset import TABLE_SCHEMAS
from hocbaso.errors import InputDataError
from hocbaso.ingest import (
    ROW,
    RawSource,
    RawTable,
    first_used_row,
    normalise_table,
    read_source_tables,
)
from hocbaso.model import CRITERIA, CRITERION_BY_CODE, GRADES, SUBJECT_BY_CODE, SUBJECTS

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
_FIXED_TIME = dt.datetime(2026, 1, 1)  # the same tables give the same bytes
_NUMBER_COLUMNS = frozenset({"danh_gia_bo_sung", "len_lop"})


def _key(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").lower().split())


_SUBJECT_BY_NAME = {
    **{_key(s.ten): s.code for s in SUBJECTS},
    **{_key(s.code): s.code for s in SUBJECTS},
}
_CRITERION_BY_NAME = {
    **{_key(c.ten): c.code for c in CRITERIA},
    **{_key(c.code): c.code for c in CRITERIA},
}
_SUB = {
    _key(MUC_DAT): "muc_dat",
    _key("Mức đạt"): "muc_dat",
    _key("Mức"): "muc_dat",
    _key(DIEM): "diem_ktdk",
    _key("Điểm"): "diem_ktdk",
    _key("Điểm kiểm tra định kì"): "diem_ktdk",
    _key(NHAN_XET): "nhan_xet",
}
_SUMMARY = {_key(h): c for h, c in SUMMARY_COLUMNS.items()}


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def is_bang_tong_hop(path: Path) -> bool:
    """Whether ``path`` is a workbook of class summary sheets (no ``ket_qua_mon`` sheet,
    at least one sheet with a "Mã học sinh" header)."""
    if not (path.is_file() and path.suffix.lower() in (".xlsx", ".xlsm")):
        return False
    try:
        reader = fastexcel.read_excel(path.read_bytes())
    except Exception:  # not a workbook at all: read_source will say so
        return False
    names = {_key(n) for n in reader.sheet_names}
    if "ket_qua_mon" in names:
        return False
    return any(
        _class_columns(reader, n) is not None
        for n in reader.sheet_names
        if _key(n) not in TABLE_SCHEMAS
    )


def _class_columns(reader: fastexcel.ExcelReader, sheet: str) -> tuple[pl.DataFrame, int] | None:
    """The sheet as text without headers, and the index of its first header row."""
    frame = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    for i in range(min(frame.height, 10)):
        if any(_key(v) == _key(MA_HOC_SINH_HEADER) for v in frame.row(i)):
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
        if _key(sheet) in TABLE_SCHEMAS:
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
            hint="Dùng mẫu data/templates/bang-tong-hop-mau.xlsx: mỗi lớp một trang tính, "
            "hai dòng tiêu đề, mỗi học sinh một dòng.",
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
    top = [_clean(v) for v in frame.row(header)]
    sub = [_clean(v) for v in frame.row(header + 1)] if header + 1 < frame.height else []
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
            k = _key(t)
            if k == _key(MA_HOC_SINH_HEADER):
                code_col = j
            elif k in _SUMMARY:
                summary_cols[_SUMMARY[k]] = j
            elif k not in (_key("STT"), _key("Họ và tên")):
                extras.append(f"{sheet}: {t}")
            continue
        if _key(group) in _SUBJECT_BY_NAME and _key(s) in _SUB:
            subject_cols.setdefault(_SUBJECT_BY_NAME[_key(group)], {})[_SUB[_key(s)]] = j
        elif _key(s) in _CRITERION_BY_NAME:
            criterion_cols[_CRITERION_BY_NAME[_key(s)]] = j
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
            exempt = _key_expr(level).is_in(["m", "miễn"])
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


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", value).split())
    return text or None


def _key_expr(e: pl.Expr) -> pl.Expr:
    return e.str.strip_chars().str.to_lowercase()


def _blank_not(e: pl.Expr) -> pl.Expr:
    return e.is_not_null() & (e.str.strip_chars() != "")


# --------------------------------------------------------------------------------------
# Writing (sample school, blank template)
# --------------------------------------------------------------------------------------


def _layout(khoi: int) -> list[tuple[str, str | None, tuple[str, str] | None]]:
    """(top header, sub header, (table column, code)) per column of a grade's sheet."""
    cols: list[tuple[str, str | None, tuple[str, str] | None]] = [
        ("STT", None, None),
        (MA_HOC_SINH_HEADER, None, ("ma_hoc_sinh", "")),
        ("Họ và tên", None, ("ho_ten", "")),
    ]
    for mon in tt27.subjects_taught(khoi):
        ten = SUBJECT_BY_CODE[mon].ten
        cols.append((ten, MUC_DAT, ("muc_dat", mon)))
        if tt27.has_periodic_test(mon, khoi):
            cols.append((ten, DIEM, ("diem_ktdk", mon)))
        cols.append((ten, NHAN_XET, ("nhan_xet", mon)))
    for group, title in GROUPS.items():
        for c in tt27.criteria_for_grade(khoi):
            if CRITERION_BY_CODE[c].group == group:
                cols.append((title, CRITERION_BY_CODE[c].ten, ("tieu_chi", c)))
    cols.extend((h, None, ("tong_hop", c)) for h, c in SUMMARY_COLUMNS.items())
    return cols


def write_bang_tong_hop(
    tables: Mapping[str, pl.DataFrame], path: Path, *, nam_hoc: str = "", template: bool = False
) -> Path:
    """Write the school (canonical text tables) as a workbook of class summary sheets.

    ``template``: write the headers only (one class sheet per grade, no students)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": TITLE, "created": _FIXED_TIME})
    bold = wb.add_format(
        {
            "bold": True,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "border": 1,
            "bg_color": "#DDEBF7",
        }
    )
    title = wb.add_format({"bold": True, "font_size": 14})
    text = wb.add_format({"num_format": "@", "border": 1})
    try:
        if template:
            _write_instructions(wb, title)
        for table in LIST_TABLES:
            ws = wb.add_worksheet(table)
            frame = (
                tables[table]
                if not template
                else pl.DataFrame(schema=dict.fromkeys(TABLE_SCHEMAS[table], pl.String))
            )
            ws.write_row(0, 0, frame.columns, bold)
            for r, row in enumerate(frame.iter_rows(), start=1):
                for c, v in enumerate(row):
                    if v is not None:
                        ws.write_string(r, c, v, text)
        classes = (
            tables["lop"].iter_rows(named=True)
            if not template
            else ({"ma_lop": f"{k}A", "khoi": str(k), "ma_gvcn": ""} for k in GRADES)
        )
        teachers = (
            {}
            if template
            else dict(tables["giao_vien"].select("ma_giao_vien", "ho_ten").iter_rows())
        )
        for lop in classes:
            _write_class(
                wb,
                tables,
                lop,
                teachers.get(lop["ma_gvcn"], ""),
                nam_hoc,
                template,
                {"bold": bold, "title": title, "text": text},
            )
    finally:
        wb.close()
    return path


INSTRUCTIONS = (
    "Cách dùng mẫu bảng tổng hợp kết quả đánh giá giáo dục",
    "1. Trang lop, giao_vien, hoc_sinh: dán danh sách lớp, cán bộ và học sinh xuất từ phần mềm "
    "quản lý nhà trường, đúng tên cột ở dòng 1 (xem tài liệu định dạng nhập).",
    "2. Mỗi lớp một trang tính (đặt tên trang theo mã lớp, ví dụ 3A); chép trang của khối "
    "tương ứng rồi sửa ô mã lớp ở dòng 2.",
    "3. Mỗi học sinh một dòng từ dòng 5; cột Mã học sinh phải đúng mã trên CSDL ngành và có "
    "trong trang hoc_sinh.",
    "4. Mức đạt được của môn học: T (Hoàn thành tốt), H (Hoàn thành), C (Chưa hoàn thành), M "
    "(miễn). Điểm KTĐK: số nguyên 0–10, hoặc M nếu được miễn. Phẩm chất, năng lực: T (Tốt), "
    "Đ (Đạt), C (Cần cố gắng).",
    "5. Đánh giá kết quả giáo dục: HTXS, HTT, HT, CHT, hoặc để trống để hệ thống tự tính. "
    "Đánh giá bổ sung, Lên lớp: 1 hoặc 0 (chỉ cho học sinh chưa hoàn thành).",
    "6. Môn tự chọn (Ngoại ngữ 1 ở khối 1–2, Tiếng dân tộc thiểu số): để trống nếu học sinh "
    "không học. Cột Nhận xét của từng môn có thể để trống.",
)


def _write_instructions(wb: xlsxwriter.Workbook, title: object) -> None:
    ws = wb.add_worksheet("Hướng dẫn")
    ws.set_column(0, 0, 120)
    for r, line in enumerate(INSTRUCTIONS):
        ws.write_string(r, 0, line, title if r == 0 else None)


def _write_class(
    wb: xlsxwriter.Workbook,
    tables: Mapping[str, pl.DataFrame],
    lop: Mapping[str, str],
    gvcn: str,
    nam_hoc: str,
    template: bool,
    fmt: Mapping[str, object],
) -> None:
    khoi = int(lop["khoi"])
    layout = _layout(khoi)
    ws = wb.add_worksheet(lop["ma_lop"])
    ws.write_string(0, 0, TITLE, fmt["title"])
    ws.write_row(1, 0, ("Lớp", lop["ma_lop"], "Năm học", nam_hoc, "Giáo viên chủ nhiệm", gvcn))
    # Two header rows: groups merged across, single columns merged down.
    j = 0
    while j < len(layout):
        top, sub, _ = layout[j]
        if sub is None:
            ws.merge_range(2, j, 3, j, top, fmt["bold"])
            j += 1
            continue
        end = j
        while end + 1 < len(layout) and layout[end + 1][0] == top and layout[end + 1][1]:
            end += 1
        if end > j:
            ws.merge_range(2, j, 2, end, top, fmt["bold"])
        else:
            ws.write_string(2, j, top, fmt["bold"])
        for k in range(j, end + 1):
            ws.write_string(3, k, layout[k][1] or "", fmt["bold"])
        j = end + 1
    ws.set_row(2, 30)
    ws.set_row(3, 45)
    ws.freeze_panes(4, 3)
    ws.set_column(0, 0, 5)
    ws.set_column(1, 2, 22)
    ws.set_column(3, len(layout) - 1, 9)
    if template:
        return
    students = (
        tables["hoc_sinh"].filter(pl.col("ma_lop") == lop["ma_lop"]).select("ma_hoc_sinh", "ho_ten")
    )
    ids = students["ma_hoc_sinh"].implode()
    kqm = {
        (r["ma_hoc_sinh"], r["mon_hoc"]): r
        for r in tables["ket_qua_mon"]
        .filter(pl.col("ma_hoc_sinh").is_in(ids))
        .iter_rows(named=True)
    }
    pc = {
        (r["ma_hoc_sinh"], r["tieu_chi"]): r["muc_dat"]
        for r in tables["pham_chat_nang_luc"]
        .filter(pl.col("ma_hoc_sinh").is_in(ids))
        .iter_rows(named=True)
    }
    th = {
        r["ma_hoc_sinh"]: r
        for r in tables["tong_hop"].filter(pl.col("ma_hoc_sinh").is_in(ids)).iter_rows(named=True)
    }
    for i, (ma, ho_ten) in enumerate(students.iter_rows(), start=1):
        r = 3 + i
        ws.write_number(r, 0, i)
        for c, (_, _, target) in enumerate(layout[1:], start=1):
            if target is None:
                continue
            column, code = target
            value: str | None
            if column == "ma_hoc_sinh":
                value = ma
            elif column == "ho_ten":
                value = ho_ten
            elif column in ("muc_dat", "diem_ktdk", "nhan_xet"):
                row = kqm.get((ma, code))
                value = row[column] if row else None
            elif column == "tieu_chi":
                value = pc.get((ma, code))
            else:
                value = (th.get(ma) or {}).get(code)
            if value is None:
                continue
            if (column == "diem_ktdk" and value != "M") or code in _NUMBER_COLUMNS:
                ws.write_number(r, c, float(value))
            else:
                ws.write_string(r, c, value, fmt["text"] if column == "ma_hoc_sinh" else None)
