"""Tasks of the initialize step (khởi tạo dữ liệu): read, gate, compute, load.

The work is ``hocbaso.initialize``; a task adds the run name, the artifact and the
run options (no cache: every run reads the file as it is now).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from hocbaso import initialize
from hocbaso.dataset import SchoolData
from hocbaso.ingest import RawSource
from hocbaso.store import ImportSummary
from tasks.common import open_workspace

checking_apart = initialize.checking_apart


@task(name="doc-tep-du-lieu", cache_policy=NO_CACHE, task_run_name="doc-tep-du-lieu")
def read_source_task(source: str) -> RawSource:
    """Read the school's file (xlsx or csv folder) into raw, row-numbered frames.

    The expectations gate's worker starts first: it imports Great Expectations on the
    other core while the file is read and the first gates run. Inside
    ``checking_apart`` both happen in the step's own process (see there)."""
    initialize.warm_gates()
    return initialize.read(Path(source))


@task(name="kiem-tra-du-lieu", cache_policy=NO_CACHE, task_run_name="kiem-tra-du-lieu")
def gate_task(workspace: str, raw: RawSource, csdl_nganh: str | None = None) -> SchoolData:
    """Run the gates; publish where the problems are; stop the flow on any ERROR."""
    ws, config, _ = open_workspace(workspace)
    checked = initialize.gate(ws, config, raw, csdl_nganh=Path(csdl_nganh) if csdl_nganh else None)
    for line in checked.summary_lines():
        print(line)
    if checked.report_path is not None:
        create_table_artifact(
            key="kiem-tra-du-lieu",
            table=checked.artifact_rows(),
            description=checked.artifact_description(),
        )
    return checked.accepted_data()


@task(name="tinh-ket-qua-tt27", cache_policy=NO_CACHE, task_run_name="tinh-ket-qua-tt27")
def compute_results_task(data: SchoolData) -> pl.DataFrame:
    """The TT27 year-end results of every student (Điều 9, 11, 13)."""
    return initialize.compute(data)


@task(name="nap-kho-du-lieu", cache_policy=NO_CACHE, task_run_name="nap-kho-du-lieu")
def load_store_task(
    workspace: str, data: SchoolData, results: pl.DataFrame, raw: RawSource
) -> ImportSummary:
    """Load everything in one transaction; locked records stay untouched."""
    _, config, store = open_workspace(workspace)
    return initialize.load(store, config, data, results, raw)


@task(name="nhap-danh-gia-bo-sung", cache_policy=NO_CACHE, task_run_name="nhap-danh-gia-bo-sung")
def summer_wave_task(workspace: str, source: str, ngay_phat_hanh: str | None = None) -> list[str]:
    """Import the summer results and decisions of the pending pupils only (counts logged)."""
    ws, config, store = open_workspace(workspace)
    date = dt.date.fromisoformat(ngay_phat_hanh) if ngay_phat_hanh else None
    summary = initialize.apply_summer_wave(ws, config, store, Path(source), date)
    return summary.lines_vi()
