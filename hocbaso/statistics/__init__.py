"""The year-end statistics report (báo cáo thống kê, plan step 5.6, TT27), from the store's
public views: an Excel workbook with native charts and a self-contained HTML page beside
it in ``<workspace>/bao_cao``, and the aggregate tables for Prefect artifacts.

- ``tables``: the queries and the tables (Vietnamese headings, current versions);
- ``workbook``: the xlsx with xlsxwriter charts;
- ``html``: the HTML page with inline SVG charts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.files import write_atomic
from hocbaso.statistics.html import render_html
from hocbaso.statistics.tables import (
    STATE_HEADINGS,
    Chart,
    Statistics,
    Table,
    build_statistics,
)
from hocbaso.statistics.workbook import write_workbook
from hocbaso.store import Store

REPORT_DIR = "bao_cao"

__all__ = [
    "REPORT_DIR",
    "STATE_HEADINGS",
    "Chart",
    "ReportFiles",
    "Statistics",
    "Table",
    "artifact_rows",
    "build_statistics",
    "school_statistics",
    "write_report",
]


@dataclass(frozen=True)
class ReportFiles:
    workbook: Path
    html: Path
    summer_template: Path | None = None  # the summer wave's template, while pupils wait


def school_statistics(
    store: Store, config: SchoolConfig, now: dt.datetime | None = None
) -> Statistics:
    """The report of the school in ``store`` (its views are brought up to date first)."""
    store.create()  # idempotent: a store made by an older version gets the report's views
    with store.connect() as con:
        return build_statistics(
            con, config.truong.ten_truong, config.nam_hoc.nam_hoc, now or dt.datetime.now()
        )


def write_report(ws: Workspace, stats: Statistics) -> ReportFiles:
    """Write the workbook and the HTML page side by side (each written atomically)."""
    folder = ws.root / REPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"bao-cao-thong-ke-{stats.lap_luc:%Y%m%d-%H%M%S}"
    xlsx = folder / f"{stem}.xlsx"
    tmp = folder / f".{stem}.tmp.xlsx"
    write_workbook(stats, tmp)
    write_atomic(xlsx, tmp.read_bytes())
    tmp.unlink()
    html = folder / f"{stem}.html"
    write_atomic(html, render_html(stats).encode("utf-8"))
    return ReportFiles(xlsx, html)


def artifact_rows(table: Table) -> list[dict[str, object]]:
    """A public table as the rows of a Prefect table artifact (refused for a personal one)."""
    if table.personal:
        raise ValueError(f"table {table.key} names pupils: never an artifact")
    return table.frame.to_dicts()
