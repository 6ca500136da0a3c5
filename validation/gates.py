"""The gates in order: rows -> references -> rules -> expectations, and what may go on.

Each gate returns one ``GateReport``. Every gate runs, so the school gets every
problem of the file in one report, but each later gate sees only what the earlier
ones accepted (structurally valid rows), so one mistake is reported once, where it
is. The typed ``SchoolData`` is produced only when no report holds an ERROR:
a file that breaks a rule is refused as a whole and nothing of it moves on.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from hocbaso.dataset import TABLE_SCHEMAS, SchoolData, empty_frame
from hocbaso.ingest import ROW, RawSource, compare_students, read_csdl_nganh
from validation import expectations_worker as ge_worker
from validation.references import check_references
from validation.report import GateReport, Problem, Severity
from validation.rules import check_rules
from validation.typed import typed

PER_STUDENT = ("hoc_sinh", "ket_qua_mon", "pham_chat_nang_luc", "tong_hop")
#: Key cells a row must have for "is there a row for this?" questions.
KEYS = {
    "ket_qua_mon": ("ma_hoc_sinh", "mon_hoc"),
    "pham_chat_nang_luc": ("ma_hoc_sinh", "tieu_chi"),
    "tong_hop": ("ma_hoc_sinh",),
    "hoc_sinh": ("ma_hoc_sinh",),
    "lop": ("ma_lop",),
    "giao_vien": ("ma_giao_vien",),
}


@dataclass(frozen=True)
class GateOutcome:
    """Every gate's report, and the typed data when nothing stopped it."""

    reports: list[GateReport]
    data: SchoolData | None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per gate

    @property
    def ok(self) -> bool:
        """True when no report holds an ERROR (WARNs let the flow go on)."""
        return all(r.bottom_line for r in self.reports)

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.reports for p in r.problems]

    def summary_lines(self) -> list[str]:
        """One Vietnamese line per gate."""
        return [r.summary() for r in self.reports]


def school_year_start(nam_hoc: str | None, today: dt.date | None = None) -> int:
    """First year of ``nam_hoc`` ("2025-2026"); without it, the school year of ``today``
    (a year starts in August)."""
    if nam_hoc:
        return int(nam_hoc[:4])
    today = today or dt.date.today()
    return today.year if today.month >= 8 else today.year - 1


def _error_cells(reports: Iterable[GateReport]) -> dict[str, set[tuple[int, str]]]:
    cells: dict[str, set[tuple[int, str]]] = {}
    for rep in reports:
        for p in rep.problems:
            if p.severity is Severity.ERROR and p.sheet_row is not None:
                cells.setdefault(p.table, set()).add((p.sheet_row, p.column or ""))
    return cells


def _without(frame: pl.DataFrame, rows: Iterable[int]) -> pl.DataFrame:
    bad = sorted(set(rows))
    return frame.filter(~pl.col(ROW).is_in(bad)) if bad else frame


def check_csdl_nganh(
    raw: RawSource, path: Path, *, severity: Severity = Severity.WARN
) -> GateReport:
    """Compare the students of ``raw`` with an export of CSDL ngành (``hbs init
    --csdl-nganh FILE``); every difference is a problem of ``severity`` (WARN by default)."""
    csdl = read_csdl_nganh(path)
    mismatches = compare_students(raw.frame("hoc_sinh"), csdl)
    problems = tuple(
        Problem(
            "hoc_sinh",
            m.sheet_row,
            m.column,
            m.kind,
            m.value if m.value is not None else m.csdl_value,
            m.message_vi,
            severity,
        )
        for m in mismatches
    )
    return GateReport("csdl_nganh", f"{raw.path.name} ↔ {path.name}", csdl.height, problems)


def _relocate(report: GateReport, raw: RawSource) -> GateReport:
    """Problems in tables an adapter built, moved to the sheet, row and cell they came from
    (``RawTable.origin``): the school fixes the class sheet, not a table it never saw."""
    moved = {t: rt.origin for t, rt in raw.tables.items() if rt.origin is not None}
    if not moved or not any(p.table in moved and p.sheet_row for p in report.problems):
        return report
    where: dict[tuple[str, int], dict[str, object]] = {}
    for table, origin in moved.items():
        rows = sorted(
            {p.sheet_row for p in report.problems if p.table == table and p.sheet_row is not None}
        )
        for o in origin.filter(pl.col(ROW).is_in(rows)).iter_rows(named=True):
            where[(table, o[ROW])] = o
    problems = []
    for p in report.problems:
        found = where.get((p.table, p.sheet_row or 0))
        if found is None:
            problems.append(p)
            continue
        o = found
        label = o.get(f"_cell_{p.column}") if p.column else None
        problems.append(
            replace(
                p,
                table=str(o["_sheet"]),
                sheet_row=int(str(o["_sheet_row"])),
                column=str(label) if label else p.column,
            )
        )
    return replace(report, problems=tuple(problems))


def run_gates(
    raw: RawSource,
    *,
    nam_hoc: str | None = None,
    expectations: bool = True,
    docs_dir: Path | None = None,
    csdl_nganh: Path | None = None,
    csdl_nganh_severity: Severity = Severity.WARN,
) -> GateOutcome:
    """Run rows -> references -> rules -> expectations on ``raw``; typed data only if no
    ERROR.

    ``nam_hoc`` ("2025-2026") dates the age rules: pass the workspace's school year.
    ``expectations`` runs the Great Expectations gate (in its own process, see
    ``validation.expectations_worker``);
    ``docs_dir`` is where its Data Docs go. ``csdl_nganh``: an export of the sector
    database to compare the students with (WARN unless ``csdl_nganh_severity`` says ERROR).
    """
    # Imported here, not with the module: pandera brings pandas (~60 MB, 0.4 s), which a
    # process that only receives a ``GateOutcome`` (the parent of ``checking_apart``)
    # should not pay for.
    from validation.rows import check_rows

    timings: dict[str, float] = {}
    if expectations:
        ge_worker.warm()  # GE imports in its own process while the first gates run
    t0 = time.perf_counter()
    rows = check_rows(raw)
    timings["rows"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    row_cells = _error_cells([rows])
    refs = check_references(raw, {t: frozenset(c) for t, c in row_cells.items()})
    timings["references"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bad_cells = _error_cells([rows, refs])
    bad_rows = {t: {r for r, _ in cells} for t, cells in bad_cells.items()}
    valid = {t: _without(raw.frame(t), bad_rows.get(t, ())) for t in TABLE_SCHEMAS}
    present = {
        t: raw.frame(t).filter(pl.all_horizontal(pl.col(k).is_not_null() for k in KEYS[t]))
        for t in TABLE_SCHEMAS
    }
    tainted: set[str] = set()
    for t in PER_STUDENT:
        if bad_rows.get(t):
            refused = raw.frame(t).filter(pl.col(ROW).is_in(sorted(bad_rows[t])))
            tainted.update(v for v in refused["ma_hoc_sinh"].to_list() if v is not None)
    if bad_rows.get("lop"):
        # A refused class row leaves its students without a grade: no TT27 rule can judge them.
        refused_classes = raw.frame("lop").filter(pl.col(ROW).is_in(sorted(bad_rows["lop"])))
        codes = [c for c in refused_classes["ma_lop"].to_list() if c is not None]
        students = raw.frame("hoc_sinh").filter(pl.col("ma_lop").is_in(codes))
        tainted.update(v for v in students["ma_hoc_sinh"].to_list() if v is not None)
    rules = check_rules(
        valid,
        present,
        tainted=tainted,
        start_year=school_year_start(nam_hoc),
        has_tong_hop="tong_hop" in raw.tables,
        dataset=raw.path.name,
    )
    timings["rules"] = time.perf_counter() - t0

    reports = [rows, refs, rules]
    if expectations:
        t0 = time.perf_counter()
        per_table = {t: valid[t] for t in TABLE_SCHEMAS}
        reports.append(ge_worker.check(per_table, dataset=raw.path.name, docs_dir=docs_dir))
        timings["expectations"] = time.perf_counter() - t0
    if csdl_nganh is not None:
        t0 = time.perf_counter()
        reports.append(check_csdl_nganh(raw, csdl_nganh, severity=csdl_nganh_severity))
        timings["csdl_nganh"] = time.perf_counter() - t0
    reports = [_relocate(r, raw) for r in reports]
    data = None
    if all(r.bottom_line for r in reports):
        t0 = time.perf_counter()
        data = SchoolData(
            **{
                t: typed(t, raw.frame(t)) if t in raw.tables else empty_frame(t)
                for t in TABLE_SCHEMAS
            }
        )
        timings["typed"] = time.perf_counter() - t0
    return GateOutcome(reports=reports, data=data, timings=timings)
