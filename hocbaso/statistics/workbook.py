"""The statistics workbook (xlsx): one sheet per table, headed with the school, the year
and the date, and native Excel charts (xlsxwriter) beside the tables they draw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from hocbaso.statistics.tables import Chart, Statistics, Table

HEADER_ROWS = 4  # heading, title, note, blank; the table starts below
#: One colour per series position, shared with the HTML report.
PALETTE = ("#2E7D32", "#66BB6A", "#FBC02D", "#E53935", "#1E88E5", "#8E24AA", "#6D4C41", "#00897B")
STATE_COLOURS = (
    "#BDBDBD",
    "#90CAF9",
    "#64B5F6",
    "#1E88E5",
    "#3949AB",
    "#FFB74D",
    "#2E7D32",
    "#E53935",
)


def colours_for(chart: Chart) -> tuple[str, ...]:
    """The series colours of ``chart`` (the progress chart has its own, state by state)."""
    return STATE_COLOURS if chart.key == "tien-do-theo-lop" else PALETTE


def _sheet_name(name: str) -> str:
    for bad in "[]:*?/\\":
        name = name.replace(bad, " ")
    return name[:31]


def _write_table(book: Any, sheet: Worksheet, stats: Statistics, table: Table) -> None:
    fmt_heading = book.add_format({"bold": True, "font_size": 12})
    fmt_title = book.add_format({"bold": True, "font_size": 14, "font_color": "#1F4E79"})
    fmt_note = book.add_format({"italic": True, "font_color": "#595959"})
    fmt_head = book.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
    )
    fmt_cell = book.add_format({"border": 1})
    fmt_total = book.add_format({"border": 1, "bold": True, "bg_color": "#F2F2F2"})
    sheet.write(0, 0, stats.heading, fmt_heading)
    sheet.write(1, 0, table.title, fmt_title)
    if table.note:
        sheet.write(2, 0, table.note, fmt_note)
    frame = table.frame
    row0 = HEADER_ROWS
    for c, col in enumerate(frame.columns):
        sheet.write(row0, c, col, fmt_head)
        width = max([len(col) * 0.8, *(len(str(v)) for v in frame[col].to_list()[:200])], default=8)
        sheet.set_column(c, c, min(max(width + 2, 8), 60))
    if frame.is_empty():
        sheet.write(row0 + 1, 0, "(không có)", fmt_note)
    for r, row in enumerate(frame.iter_rows(), start=row0 + 1):
        total = row[0] == "Toàn trường"
        for c, value in enumerate(row):
            if value is None:
                sheet.write_blank(r, c, None, fmt_total if total else fmt_cell)
            else:
                sheet.write(r, c, value, fmt_total if total else fmt_cell)
    sheet.set_row(row0, 32)
    sheet.freeze_panes(row0 + 1, 0)


def _chart(book: Any, sheet_name: str, table: Table, chart: Chart) -> Any:
    """A native stacked chart over ``table``'s rows in sheet ``sheet_name``, or None."""
    frame = table.frame
    keep = [
        i
        for i, v in enumerate(frame[chart.category].cast(pl.String).to_list())
        if v not in chart.skip_rows
    ]
    if not keep:
        return None
    first, last = HEADER_ROWS + 1 + keep[0], HEADER_ROWS + 1 + keep[-1]
    cat_col = frame.columns.index(chart.category)
    xl = book.add_chart({"type": chart.kind, "subtype": "stacked"})
    colours = colours_for(chart)
    for n, series in enumerate(chart.series):
        col = frame.columns.index(series)
        xl.add_series(
            {
                "name": [sheet_name, HEADER_ROWS, col],
                "categories": [sheet_name, first, cat_col, last, cat_col],
                "values": [sheet_name, first, col, last, col],
                "fill": {"color": colours[n % len(colours)]},
                "gap": 60,
            }
        )
    xl.set_title({"name": chart.title})
    xl.set_legend({"position": "bottom"})
    if chart.kind == "bar":
        xl.set_y_axis({"reverse": True, "interval_unit": 1, "num_font": {"size": 8}})
    return xl


CHART_SIZE = (620, 400)


def write_workbook(stats: Statistics, path: Path) -> Path:
    """Write every table (names included: the school's own copy) and the charts: all of
    them on the first sheet ("Biểu đồ"), and each beside the table it draws."""
    book = xlsxwriter.Workbook(str(path))
    book.set_properties(
        {"title": f"Báo cáo thống kê — {stats.ten_truong}", "created": stats.lap_luc}
    )
    front = book.add_worksheet("Biểu đồ")
    front.write(0, 0, stats.heading, book.add_format({"bold": True, "font_size": 12}))
    front.write(1, 0, "Biểu đồ tổng hợp", book.add_format({"bold": True, "font_size": 14}))
    front.set_landscape()
    front.fit_to_pages(1, 0)
    sheets: dict[str, Worksheet] = {}
    for table in stats.tables:
        sheet = book.add_worksheet(_sheet_name(table.sheet))
        sheets[table.key] = sheet
        _write_table(book, sheet, stats, table)
    width, height = CHART_SIZE
    for n, chart in enumerate(stats.charts):
        sheet = sheets[chart.key]
        table = stats.table(chart.key)
        # A bar chart grows with its categories so that every label is printed.
        tall = max(height, 28 * table.frame.height + 150) if chart.kind == "bar" else height
        for where, (row, col) in (
            (front, (3 + (n // 2) * 30, (n % 2) * 10)),
            (sheet, (HEADER_ROWS, len(table.frame.columns) + 1)),
        ):
            xl = _chart(book, sheet.name, table, chart)
            if xl is not None:
                xl.set_size({"width": width, "height": min(tall, 580)})
                where.insert_chart(row, col, xl)
    book.close()
    return path
