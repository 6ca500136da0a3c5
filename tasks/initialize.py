"""Tasks of the initialize step (khởi tạo dữ liệu): read, gate, compute, load."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from hocbaso import tt27
from hocbaso.dataset import SchoolData
from hocbaso.errors import GateError
from hocbaso.ingest import RawSource, read_source
from hocbaso.store import ImportSummary, apply_import
from tasks.common import open_workspace
from validation.gates import run_gates
from validation.report import problems_frame, write_report_xlsx

GATE_REPORT_DIR = "bao_cao"


@task(name="doc-tep-du-lieu", cache_policy=NO_CACHE)
def read_source_task(source: str) -> RawSource:
    """Read the school's file (xlsx or csv folder) into raw, row-numbered frames."""
    return read_source(Path(source))


@task(name="kiem-tra-du-lieu", cache_policy=NO_CACHE)
def gate_task(workspace: str, raw: RawSource, csdl_nganh: str | None = None) -> SchoolData:
    """Run the gates (and the CSDL ngành comparison if asked); write the Vietnamese report;
    stop the flow on any ERROR. WARNs are reported and the flow goes on."""
    ws, config, _ = open_workspace(workspace)
    outcome = run_gates(
        raw,
        nam_hoc=config.nam_hoc.nam_hoc,
        docs_dir=ws.root / GATE_REPORT_DIR / "data-docs",
        csdl_nganh=Path(csdl_nganh) if csdl_nganh else None,
    )
    problems = problems_frame(outcome.problems)
    for line in outcome.summary_lines():
        print(line)
    report_path = None
    if problems.height:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        report_path = write_report_xlsx(
            outcome.reports,
            ws.root / GATE_REPORT_DIR / f"kiem-tra-du-lieu-{stamp}.xlsx",
            tables={t: raw.frame(t) for t in raw.tables},
            sheet_names={t: raw.where(t) for t in raw.tables},
        )
        # The artifact names places and rules only: values, and the messages that quote
        # them, may be personal data and stay in the workbook inside the workspace.
        create_table_artifact(
            key="kiem-tra-du-lieu",
            table=problems.select(
                pl.col("table").alias("bang"),
                pl.col("sheet_row").alias("dong"),
                pl.col("column").alias("cot"),
                pl.col("rule").alias("quy_tac"),
                pl.col("severity").alias("muc_do"),
            )
            .head(500)
            .to_dicts(),
            description=f"Kết quả kiểm tra dữ liệu: {problems.height} vấn đề; chi tiết trong "
            f"tệp {report_path.name} của thư mục làm việc",
        )
    if not outcome.ok:
        errors = problems.filter(pl.col("severity") == "ERROR")
        raise GateError(
            f"Tệp dữ liệu bị từ chối: {errors.height} lỗi phải sửa. Chưa có gì được ghi vào "
            "kho dữ liệu.",
            reports=outcome.reports,
            report_path=str(report_path) if report_path else None,
            hint="Sửa các ô được chỉ ra trong báo cáo rồi chạy lại `hbs init`.",
        )
    assert outcome.data is not None  # the gates hand over typed data whenever nothing is an ERROR
    return outcome.data


@task(name="tinh-ket-qua-tt27", cache_policy=NO_CACHE)
def compute_results_task(data: SchoolData) -> pl.DataFrame:
    """The TT27 year-end results of every student (Điều 9, 11, 13)."""
    return tt27.compute_results(data)


@task(name="nap-kho-du-lieu", cache_policy=NO_CACHE)
def load_store_task(
    workspace: str, data: SchoolData, results: pl.DataFrame, raw: RawSource
) -> ImportSummary:
    """Load everything in one transaction; locked records stay untouched."""
    _, config, store = open_workspace(workspace)
    return apply_import(
        store,
        data,
        results,
        nam_hoc=config.nam_hoc.nam_hoc,
        nguon=raw.path.name,
        sha256_nguon=raw.sha256,
    )
