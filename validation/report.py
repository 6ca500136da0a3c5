"""The one value every gate returns, and the file the school opens in Excel.

A gate never raises on bad data: it returns a ``GateReport`` (frozen) that names
each problem where a teacher can find it (table, sheet row, column, value), says
in Vietnamese what is wrong and what to do, and carries a severity. ERROR stops
the flow before anything is written; WARN is published and the flow goes on.
The shape follows pyhanko's validation status values: a ``bottom_line`` and a
``summary()`` instead of an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import polars as pl
import xlsxwriter

ROW = "_row"


class Severity(StrEnum):
    """How bad a problem is; a report's severity is its worst problem's."""

    OK = "OK"
    WARN = "WARN"
    ERROR = "ERROR"

    @property
    def vi(self) -> str:
        return {"OK": "Đạt", "WARN": "Cảnh báo", "ERROR": "Lỗi"}[self.value]


_RANK = {Severity.OK: 0, Severity.WARN: 1, Severity.ERROR: 2}

#: Vietnamese names of the gates, for the report and the artifacts.
GATE_NAMES: Mapping[str, str] = {
    "rows": "Kiểm tra từng dòng (định dạng, ô bắt buộc)",
    "references": "Kiểm tra liên kết mã và trùng lặp",
    "rules": "Kiểm tra quy định Thông tư 27",
    "expectations": "Kiểm tra tổng thể bộ dữ liệu",
    "csdl_nganh": "Đối chiếu với CSDL ngành",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, where the school can find it.

    ``sheet_row`` counts as a spreadsheet shows it (header = 1); ``None`` when the
    problem is about a whole table or column. ``value`` is what was found, as text.
    """

    table: str
    sheet_row: int | None
    column: str | None
    rule: str
    value: str | None
    message_vi: str
    severity: Severity = Severity.ERROR


PROBLEM_SCHEMA: dict[str, pl.DataType] = {
    "table": pl.String(),
    "sheet_row": pl.Int64(),
    "column": pl.String(),
    "rule": pl.String(),
    "value": pl.String(),
    "message_vi": pl.String(),
    "severity": pl.String(),
}


@dataclass(frozen=True)
class GateReport:
    """What one gate found in one dataset."""

    gate: str  # "rows", "references", "rules", "expectations", ...
    dataset: str  # the source's file or folder name
    rows_checked: int
    problems: tuple[Problem, ...] = field(default=())

    @property
    def severity(self) -> Severity:
        worst = Severity.OK
        for p in self.problems:
            if _RANK[p.severity] > _RANK[worst]:
                worst = p.severity
                if worst is Severity.ERROR:
                    break
        return worst

    @property
    def bottom_line(self) -> bool:
        """True when the data may go on: no problem of severity ERROR."""
        return self.severity is not Severity.ERROR

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity is Severity.WARN)

    def summary(self) -> str:
        """One Vietnamese line: gate, dataset, rows checked, counts."""
        name = GATE_NAMES.get(self.gate, self.gate)
        if not self.problems:
            return f"{name} — {self.dataset}: {self.rows_checked} dòng, không có vấn đề."
        return (
            f"{name} — {self.dataset}: {self.rows_checked} dòng, {self.errors} lỗi, "
            f"{self.warnings} cảnh báo."
        )

    def frame(self) -> pl.DataFrame:
        """The problems as a polars frame (columns ``PROBLEM_SCHEMA``)."""
        return problems_frame(self.problems)


def problems_frame(problems: Iterable[Problem]) -> pl.DataFrame:
    """Problems as a frame, for artifacts and tests."""
    rows = [
        (p.table, p.sheet_row, p.column, p.rule, p.value, p.message_vi, p.severity.value)
        for p in problems
    ]
    return pl.DataFrame(rows, schema=PROBLEM_SCHEMA, orient="row")


def problems_from_frame(frame: pl.DataFrame, severity: Severity = Severity.ERROR) -> list[Problem]:
    """Problems from a frame with the columns of ``PROBLEM_SCHEMA`` (severity optional)."""
    cols = [c for c in PROBLEM_SCHEMA if c != "severity"]
    has_sev = "severity" in frame.columns
    out = []
    for row in frame.select(*cols, *(["severity"] if has_sev else [])).iter_rows():
        sev = Severity(row[6]) if has_sev and row[6] else severity
        out.append(Problem(row[0], row[1], row[2], row[3], row[4], row[5], sev))
    return out


def sort_problems(problems: Iterable[Problem], table_order: Sequence[str]) -> tuple[Problem, ...]:
    """Problems in reading order: table as in the format, then row, then column."""
    rank = {t: i for i, t in enumerate(table_order)}
    return tuple(
        sorted(
            problems,
            key=lambda p: (rank.get(p.table, len(rank)), p.sheet_row or 0, p.column or "", p.rule),
        )
    )


# --------------------------------------------------------------------------------------
# The report workbook
# --------------------------------------------------------------------------------------

HEADERS = ("Bảng", "Dòng", "Cột", "Giá trị", "Quy tắc", "Vấn đề", "Mức độ")
#: Cell comments are slow to write and to open; beyond this many per sheet only the fill marks.
MAX_COMMENTS_PER_SHEET = 2000


def write_report_xlsx(
    reports: Sequence[GateReport],
    path: Path,
    *,
    tables: Mapping[str, pl.DataFrame] | None = None,
    sheet_names: Mapping[str, str] | None = None,
) -> Path:
    """Write the problems as an ``.xlsx`` the school opens in Excel.

    Sheet "Tóm tắt": one line per gate. Sheet "Vấn đề": one line per problem
    (Bảng, Dòng, Cột, Giá trị, Quy tắc, Vấn đề, Mức độ). When ``tables`` (the source
    as read, with its ``_row`` column) is given, every table with a problem is copied
    into a sheet of its own with the offending cells filled (red: error, yellow:
    warning) and the message as a cell comment, at the same row numbers as the source.
    ``sheet_names`` maps a table to the sheet or file name the school knows it by.
    """
    names = dict(sheet_names or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    fills = {
        Severity.ERROR: wb.add_format(
            {"bg_color": "#F8CBAD", "border": 1, "border_color": "#C00000"}
        ),
        Severity.WARN: wb.add_format(
            {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BF8F00"}
        ),
    }
    try:
        summary = wb.add_worksheet("Tóm tắt")
        for c, h in enumerate(
            ("Bước kiểm tra", "Dữ liệu", "Số dòng", "Kết quả", "Lỗi", "Cảnh báo")
        ):
            summary.write_string(0, c, h, bold)
        for r, rep in enumerate(reports, start=1):
            summary.write_row(
                r,
                0,
                (
                    GATE_NAMES.get(rep.gate, rep.gate),
                    rep.dataset,
                    rep.rows_checked,
                    rep.severity.vi,
                    rep.errors,
                    rep.warnings,
                ),
            )
        summary.set_column(0, 0, 45)
        summary.set_column(1, 1, 30)
        summary.set_column(2, 5, 12)

        all_problems = [p for rep in reports for p in rep.problems]
        sheet = wb.add_worksheet("Vấn đề")
        for c, h in enumerate(HEADERS):
            sheet.write_string(0, c, h, bold)
        for r, p in enumerate(all_problems, start=1):
            sheet.write_string(r, 0, names.get(p.table, p.table))
            if p.sheet_row is not None:
                sheet.write_number(r, 1, p.sheet_row)
            sheet.write_string(r, 2, p.column or "")
            sheet.write_string(r, 3, "" if p.value is None else p.value)
            sheet.write_string(r, 4, p.rule)
            sheet.write_string(r, 5, p.message_vi, wrap)
            sheet.write_string(r, 6, p.severity.vi, fills.get(p.severity))
        for c, width in enumerate((20, 7, 22, 22, 22, 80, 10)):
            sheet.set_column(c, c, width)
        sheet.freeze_panes(1, 0)
        if all_problems:
            sheet.autofilter(0, 0, len(all_problems), len(HEADERS) - 1)

        if tables:
            _write_marked_tables(wb, all_problems, tables, names, bold, fills)
    finally:
        wb.close()
    return path


def _write_marked_tables(
    wb: xlsxwriter.Workbook,
    problems: Sequence[Problem],
    tables: Mapping[str, pl.DataFrame],
    names: Mapping[str, str],
    bold: object,
    fills: Mapping[Severity, object],
) -> None:
    """A copy of each table with a problem, offending cells marked, rows where they were."""
    by_cell: dict[str, dict[tuple[int, str], list[Problem]]] = {}
    for p in problems:
        if p.sheet_row is not None and p.column is not None and p.table in tables:
            by_cell.setdefault(p.table, {}).setdefault((p.sheet_row, p.column), []).append(p)
    for table, cells in by_cell.items():
        frame = tables[table]
        columns = [c for c in frame.columns if c != ROW]
        col_index = {c: i for i, c in enumerate(columns)}
        ws = wb.add_worksheet(f"Dữ liệu {names.get(table, table)}"[:31])
        for c, name in enumerate(columns):
            ws.write_string(0, c, name, bold)
        ws.freeze_panes(1, 0)
        rows = frame[ROW].to_list() if ROW in frame.columns else list(range(2, frame.height + 2))
        marks = {
            (sheet_row, col_index[column]): cell_problems
            for (sheet_row, column), cell_problems in cells.items()
            if column in col_index
        }
        comments = 0
        for values, sheet_row in zip(frame.select(columns).iter_rows(), rows, strict=True):
            for c, v in enumerate(values):
                marked = marks.get((sheet_row, c))
                if marked is None:
                    if v is not None:
                        ws.write_string(sheet_row - 1, c, str(v))
                    continue
                worst = max(marked, key=lambda p: _RANK[p.severity]).severity
                ws.write_string(sheet_row - 1, c, "" if v is None else str(v), fills.get(worst))
                if comments < MAX_COMMENTS_PER_SHEET:
                    text = "\n".join(p.message_vi for p in marked)
                    ws.write_comment(sheet_row - 1, c, text, {"x_scale": 3, "y_scale": 2})
                    comments += 1
