"""The summer wave's file (đợt đánh giá bổ sung): its template and its reader.

The template lists only the pupils waiting for the supplementary assessment: one
sheet ``ket_qua_mon`` with a row per subject the pupil has not completed (current
level and score filled in, for the teacher to overwrite with the summer result), and
one sheet ``tong_hop`` with a row per pupil for the principal's decision (``len_lop``:
1 promoted / 0 repeats; grade 5: 1 completes primary is not a decision, it follows from
the levels). Columns ``ho_ten``, ``ma_lop`` and ``ten_mon`` are there for the reader and
ignored on import. See docs/summer-wave.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter

from hocbaso.errors import InputDataError
from hocbaso.ingest.canonical import read_sheet
from hocbaso.ingest.normalise import normalise_table
from hocbaso.ingest.source import ROW

SUBJECT_SHEET = "ket_qua_mon"
DECISION_SHEET = "tong_hop"
SUBJECT_COLUMNS = (
    "ma_hoc_sinh",
    "ho_ten",
    "ma_lop",
    "mon_hoc",
    "ten_mon",
    "muc_dat",
    "diem_ktdk",
    "nhan_xet",
)
DECISION_COLUMNS = ("ma_hoc_sinh", "ho_ten", "ma_lop", "len_lop", "nhan_xet")
_INSTRUCTIONS = (
    "Mẫu nhập kết quả đánh giá bổ sung trong hè (đợt bổ sung, hạn 25/8).",
    "Chỉ gồm các học sinh đang chờ đánh giá bổ sung; không thêm học sinh khác.",
    "Trang ket_qua_mon: sửa cột muc_dat (T, H, C) và diem_ktdk (0-10) theo kết quả đánh giá lại.",
    "Trang tong_hop: cột len_lop là quyết định của Hiệu trưởng nếu học sinh vẫn chưa hoàn thành "
    "(1: được lên lớp, 0: ở lại lớp); để trống nếu học sinh đã hoàn thành sau đánh giá lại.",
    "Nhập bằng: hbs init --bo-sung <tệp này>",
)


@dataclass(frozen=True)
class SummerWave:
    """What a summer file holds, normalised (text, canonical codes), with sheet rows."""

    ket_qua_mon: pl.DataFrame  # ma_hoc_sinh, mon_hoc, muc_dat, diem_ktdk, nhan_xet, ROW
    tong_hop: pl.DataFrame  # ma_hoc_sinh, len_lop, ROW (plus the other tong_hop columns, null)
    name: str


def write_summer_template(subjects: pl.DataFrame, pupils: pl.DataFrame, path: Path) -> Path:
    """The template: ``subjects`` has SUBJECT_COLUMNS, ``pupils`` DECISION_COLUMNS (text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    note = book.add_worksheet("huong_dan")
    for r, line in enumerate(_INSTRUCTIONS):
        note.write_string(r, 0, line)
    note.set_column(0, 0, 110)
    for name, frame, columns in (
        (SUBJECT_SHEET, subjects, SUBJECT_COLUMNS),
        (DECISION_SHEET, pupils, DECISION_COLUMNS),
    ):
        sheet = book.add_worksheet(name)
        for c, col in enumerate(columns):
            sheet.write_string(0, c, col, head)
            sheet.set_column(c, c, 24 if col in ("ho_ten", "ten_mon", "nhan_xet") else 13, text)
        for r, row in enumerate(frame.select(columns).iter_rows(), start=1):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write_string(r, c, str(value), text)
        sheet.freeze_panes(1, 0)
    book.close()
    return path


def read_summer_wave(path: Path) -> SummerWave:
    """Read a summer file (the template's two sheets); an unreadable one is an error."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".xlsx":
        raise InputDataError(
            f"Không đọc được tệp đánh giá bổ sung {path}.",
            hint="Dùng tệp .xlsx theo mẫu bao_cao/mau-danh-gia-bo-sung-*.xlsx (do `hbs report` "
            "ghi ra).",
        )
    subjects, _ = read_sheet(path, SUBJECT_SHEET)
    decisions, _ = read_sheet(path, DECISION_SHEET)
    for sheet, frame in ((SUBJECT_SHEET, subjects), (DECISION_SHEET, decisions)):
        if "ma_hoc_sinh" not in frame.columns:
            raise InputDataError(
                f"Trang {sheet} của {path.name} không có cột ma_hoc_sinh.",
                hint="Dùng đúng mẫu: giữ nguyên dòng tiêu đề của các trang ket_qua_mon, tong_hop.",
            )
    return SummerWave(
        normalise_table("ket_qua_mon", subjects).filter(pl.col("mon_hoc").is_not_null()),
        normalise_table("tong_hop", decisions),
        path.name,
    )


__all__ = ["ROW", "SummerWave", "read_summer_wave", "write_summer_template"]
