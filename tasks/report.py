"""Task of the report step (báo cáo thống kê): the workbook and HTML page in the workspace,
the aggregate tables as Prefect artifacts (never a table that names pupils)."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from hocbaso import initialize
from hocbaso.statistics import ReportFiles, artifact_rows, school_statistics, write_report
from tasks.common import open_workspace, task_log


@task(name="bao-cao-thong-ke", cache_policy=NO_CACHE, task_run_name="bao-cao-thong-ke")
def report_task(workspace: str) -> ReportFiles:
    """Compute the report, publish its aggregates, write its two files."""
    ws, config, store = open_workspace(workspace)
    stats = school_statistics(store, config)
    for table in stats.public_tables():
        create_table_artifact(
            key=table.key,
            table=artifact_rows(table),
            description=f"{table.title} — {stats.heading}",
        )
    files = write_report(ws, stats)
    template = initialize.write_summer_template(ws, store, stats.lap_luc)
    if template is not None:
        files = ReportFiles(files.workbook, files.html, template)
    task_log(
        f"Báo cáo thống kê: {len(stats.tables)} bảng, {len(stats.charts)} biểu đồ, "
        f"{stats.total_records} học bạ hiện hành; {len(stats.public_tables())} bảng tổng hợp "
        "được công bố (không có tên học sinh)."
    )
    return files
