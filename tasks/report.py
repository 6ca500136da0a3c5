"""Task of the report step (báo cáo thống kê)."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from hocbaso.report import build_report, markdown_tables, write_report_xlsx
from tasks.common import open_workspace


@task(name="bao-cao-thong-ke", cache_policy=NO_CACHE)
def report_task(workspace: str) -> Path:
    """Aggregates as artifacts (no personal data) and a workbook in the workspace."""
    ws, _, store = open_workspace(workspace)
    report = build_report(store)
    for key, markdown in markdown_tables(report).items():
        create_markdown_artifact(key=key, markdown=markdown)
    return write_report_xlsx(ws, report)
