"""Statistics and progress (báo cáo thống kê) from the store's public views.

Only aggregates leave this module: counts per grade, class and state. They are
safe to publish as Prefect artifacts; the workbook written into the workspace
holds the same tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter

from hocbaso.config import Workspace
from hocbaso.files import write_atomic
from hocbaso.model import XEP_LOAI_NAMES, TrangThai
from hocbaso.store import STATE_NAMES_VI, Store

REPORT_DIR = "bao_cao"
_RESULT_ORDER = ["HTXS", "HTT", "HT", "CHT"]


@dataclass(frozen=True)
class SchoolReport:
    """The report's tables (aggregates only)."""

    ket_qua_theo_khoi: pl.DataFrame  # khoi, HTXS, HTT, HT, CHT, chua_danh_gia, tong
    tien_do_theo_lop: pl.DataFrame  # ma_lop, khoi, one column per state, tong
    tong_quan: pl.DataFrame  # trang_thai, so_hoc_ba

    @property
    def total_records(self) -> int:
        return int(self.tong_quan["so_hoc_ba"].sum())

    def count(self, state: TrangThai) -> int:
        row = self.tong_quan.filter(pl.col("trang_thai") == state.value)
        return int(row["so_hoc_ba"].sum()) if row.height else 0


def build_report(store: Store) -> SchoolReport:
    """Compute the report tables with DuckDB over the public views."""
    results = store.frame(
        """SELECT khoi, coalesce(danh_gia, 'chua_danh_gia') AS danh_gia, count(*) AS n
           FROM v_danh_gia_cuoi_nam GROUP BY ALL ORDER BY ALL"""
    )
    per_grade = results.pivot(on="danh_gia", index="khoi", values="n").fill_null(0).sort("khoi")
    for col in [*_RESULT_ORDER, "chua_danh_gia"]:
        if col not in per_grade.columns:
            per_grade = per_grade.with_columns(pl.lit(0, dtype=pl.Int64).alias(col))
    per_grade = per_grade.select("khoi", *_RESULT_ORDER, "chua_danh_gia").with_columns(
        pl.sum_horizontal(*_RESULT_ORDER, "chua_danh_gia").alias("tong")
    )
    progress = store.frame(
        """SELECT h.ma_lop, l.khoi, h.trang_thai, count(*) AS n
           FROM v_hoc_ba_hien_hanh h
           JOIN v_lop l USING (ma_lop)
           GROUP BY ALL ORDER BY ALL"""
    )
    states = [s.value for s in TrangThai]
    per_class = progress.pivot(on="trang_thai", index=["ma_lop", "khoi"], values="n").fill_null(0)
    present = [s for s in states if s in per_class.columns]
    per_class = (
        per_class.select("ma_lop", "khoi", *present)
        .with_columns(pl.sum_horizontal(*present).alias("tong"))
        .sort("ma_lop")
    )
    overview = store.frame(
        """SELECT trang_thai, count(*) AS so_hoc_ba FROM v_hoc_ba GROUP BY ALL ORDER BY ALL"""
    )
    return SchoolReport(per_grade, per_class, overview)


def markdown_tables(report: SchoolReport) -> dict[str, str]:
    """The report as Markdown tables (for Prefect artifacts), Vietnamese headings."""

    def md(frame: pl.DataFrame, headers: dict[str, str]) -> str:
        cols = frame.columns
        head = "| " + " | ".join(headers.get(c, c) for c in cols) + " |"
        sep = "| " + " | ".join("---" for _ in cols) + " |"
        body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.iter_rows()]
        return "\n".join([head, sep, *body])

    result_headers = {
        "khoi": "Khối",
        "chua_danh_gia": "Chưa đánh giá",
        "tong": "Tổng",
        **{k: f"{v} ({k})" for k, v in XEP_LOAI_NAMES.items()},
    }
    state_headers = {"ma_lop": "Lớp", "khoi": "Khối", "tong": "Tổng", **STATE_NAMES_VI}
    return {
        "ket-qua-theo-khoi": "## Kết quả đánh giá cuối năm theo khối\n\n"
        + md(report.ket_qua_theo_khoi, result_headers),
        "tien-do-theo-lop": "## Tiến độ học bạ theo lớp\n\n"
        + md(report.tien_do_theo_lop, state_headers),
    }


def write_report_xlsx(ws: Workspace, report: SchoolReport, now: dt.datetime | None = None) -> Path:
    """Write the report workbook into ``<workspace>/bao_cao`` and return its path."""
    now = now or dt.datetime.now()
    path = ws.root / REPORT_DIR / f"bao-cao-thong-ke-{now:%Y%m%d-%H%M%S}.xlsx"
    tmp = path.with_suffix(".tmp.xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(tmp))
    bold = book.add_format({"bold": True})
    sheets = {
        "Kết quả theo khối": report.ket_qua_theo_khoi,
        "Tiến độ theo lớp": report.tien_do_theo_lop,
        "Tổng quan": report.tong_quan,
    }
    for name, frame in sheets.items():
        sheet = book.add_worksheet(name)
        for c, col in enumerate(frame.columns):
            sheet.write(0, c, STATE_NAMES_VI.get(col, col), bold)
        for r, row in enumerate(frame.iter_rows(), start=1):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
        sheet.set_column(0, len(frame.columns), 14)
    book.close()
    write_atomic(path, tmp.read_bytes())
    tmp.unlink()
    return path
