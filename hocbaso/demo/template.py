"""Writing the TT27 class summary sheet: the sample school's copy and the blank template.

A real school fills these sheets in its own spreadsheet and never runs this; the
demo writes the sample school in this layout, and the blank template handed to
schools is generated here so it always matches what ``hocbaso.ingest.bang_tong_hop``
reads (the headers come from the reader's own constants).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import xlsxwriter

from hocbaso import tt27
from hocbaso.dataset import TABLE_SCHEMAS
from hocbaso.ingest.bang_tong_hop import (
    DIEM,
    GROUPS,
    LIST_TABLES,
    MA_HOC_SINH_HEADER,
    MUC_DAT,
    NHAN_XET,
    SUMMARY_COLUMNS,
    TITLE,
)
from hocbaso.model import CRITERION_BY_CODE, GRADES, SUBJECT_BY_CODE

_FIXED_TIME = dt.datetime(2026, 1, 1)  # the same tables give the same bytes
_NUMBER_COLUMNS = frozenset({"danh_gia_bo_sung", "len_lop"})


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
