"""The initialize step (khởi tạo dữ liệu): read -> gate -> compute -> load.

Each stage is a plain function with a typed result, so the order the flow runs
them in can be tested without Prefect, and the Prefect tasks are only the call,
the artifact and the run options. The gate stage decides what may leave the
school: the report file in the workspace carries the offending values (it is the
school's own data), while ``GateResult.artifact_rows`` names places and rules
only, because a Prefect artifact may be read outside the school.

A refused file raises ``GateError`` before ``load`` can run, so the store is
never touched by a file with an ERROR; WARNs are reported and the data goes on.

This module calls the gates in ``validation/``: both packages sit below the tasks,
and ``validation`` imports only the ingest and data types of ``hocbaso``, never this
module, so there is no import circle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hocbaso import tt27
from hocbaso.config import SchoolConfig, Workspace
from hocbaso.dataset import SchoolData
from hocbaso.errors import GateError
from hocbaso.ingest import RawSource, read_source
from hocbaso.store import ImportSummary, Store, apply_import
from validation.gates import GateOutcome, run_gates
from validation.report import problems_frame, write_report_xlsx

#: Where, inside the workspace, the data-check reports are written.
GATE_REPORT_DIR = "bao_cao"
#: The artifact is for finding the places, not a copy of the report: a cap keeps it light.
ARTIFACT_ROW_LIMIT = 500


@dataclass(frozen=True)
class GateResult:
    """What the gates said about one source, and where the full report was written."""

    outcome: GateOutcome
    problems: pl.DataFrame  # every problem (``validation.report.PROBLEM_SCHEMA``)
    report_path: Path | None  # the workbook in the workspace; None when nothing was found

    @property
    def accepted(self) -> bool:
        """True when no problem is an ERROR: the data may be loaded."""
        return self.outcome.ok

    @property
    def errors(self) -> int:
        return self.problems.filter(pl.col("severity") == "ERROR").height

    def summary_lines(self) -> list[str]:
        """One Vietnamese line per gate (counts only)."""
        return self.outcome.summary_lines()

    def artifact_rows(self, limit: int = ARTIFACT_ROW_LIMIT) -> list[dict[str, object]]:
        """The problems as the Prefect table artifact shows them: table, row, column, rule
        and severity, never the value or the message that quotes it."""
        return (
            self.problems.select(
                pl.col("table").alias("bang"),
                pl.col("sheet_row").alias("dong"),
                pl.col("column").alias("cot"),
                pl.col("rule").alias("quy_tac"),
                pl.col("severity").alias("muc_do"),
            )
            .head(limit)
            .to_dicts()
        )

    def artifact_description(self) -> str:
        name = self.report_path.name if self.report_path else "(không có)"
        return (
            f"Kết quả kiểm tra dữ liệu: {self.problems.height} vấn đề; chi tiết trong "
            f"tệp {name} của thư mục làm việc"
        )

    def accepted_data(self) -> SchoolData:
        """The typed data when the source was accepted; otherwise the ``GateError`` that
        stops the step (nothing has been written to the store at this point)."""
        if not self.accepted:
            raise GateError(
                f"Tệp dữ liệu bị từ chối: {self.errors} lỗi phải sửa. Chưa có gì được ghi vào "
                "kho dữ liệu.",
                reports=self.outcome.reports,
                report_path=str(self.report_path) if self.report_path else None,
                hint="Sửa các ô được chỉ ra trong báo cáo rồi chạy lại `hbs init`.",
            )
        assert self.outcome.data is not None  # the gates hand over data whenever nothing is ERROR
        return self.outcome.data


def read(source: Path) -> RawSource:
    """Read the school's file (any layout ``hocbaso.ingest`` knows) as text tables."""
    return read_source(Path(source))


def gate(
    ws: Workspace,
    config: SchoolConfig,
    raw: RawSource,
    *,
    csdl_nganh: Path | None = None,
    expectations: bool = True,
    now: dt.datetime | None = None,
) -> GateResult:
    """Run every gate (and the CSDL ngành comparison when an export is given); when
    anything was found, write the Vietnamese report workbook into the workspace, with
    the offending cells marked on copies of the school's own sheets."""
    outcome = run_gates(
        raw,
        nam_hoc=config.nam_hoc.nam_hoc,
        expectations=expectations,
        docs_dir=ws.root / GATE_REPORT_DIR / "data-docs",
        csdl_nganh=csdl_nganh,
    )
    problems = problems_frame(outcome.problems)
    report_path = None
    if problems.height:
        stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
        report_path = write_report_xlsx(
            outcome.reports,
            ws.root / GATE_REPORT_DIR / f"kiem-tra-du-lieu-{stamp}.xlsx",
            tables={t: raw.frame(t) for t in raw.tables},
            sheet_names={t: raw.where(t) for t in raw.tables},
        )
    return GateResult(outcome, problems, report_path)


def compute(data: SchoolData) -> pl.DataFrame:
    """The TT27 year-end results of every student (Điều 9, 11, 13)."""
    return tt27.compute_results(data)


def load(
    store: Store, config: SchoolConfig, data: SchoolData, results: pl.DataFrame, raw: RawSource
) -> ImportSummary:
    """Load everything in one transaction; records already locked stay untouched."""
    return apply_import(
        store,
        data,
        results,
        nam_hoc=config.nam_hoc.nam_hoc,
        nguon=raw.path.name,
        sha256_nguon=raw.sha256,
    )


def initialize(
    ws: Workspace,
    source: Path,
    *,
    csdl_nganh: Path | None = None,
    expectations: bool = True,
) -> tuple[GateResult, ImportSummary]:
    """The whole step in one call, in the flow's order (for scripts and tests): raises
    ``GateError`` on a refused file, before the store is opened."""
    config = ws.load_config()
    raw = read(source)
    checked = gate(ws, config, raw, csdl_nganh=csdl_nganh, expectations=expectations)
    data = checked.accepted_data()
    summary = load(Store(ws.store_path), config, data, compute(data), raw)
    return checked, summary
