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

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl

from hocbaso import tt27
from hocbaso.config import SchoolConfig, Workspace
from hocbaso.dataset import SchoolData, conform
from hocbaso.errors import GateError, HocBaSoError, InputDataError
from hocbaso.ingest import ROW, RawSource, bo_sung, read_source
from hocbaso.memory import give_back_memory
from hocbaso.model import SUBJECTS
from hocbaso.parallel import spawn_pool, worker_count
from hocbaso.store import ImportSummary, Store, apply_import, load_school_data
from hocbaso.store.waves import set_summer_issue_date
from validation import expectations_worker as ge_worker
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


# --------------------------------------------------------------------------------------
# Reading and gating in a process of their own (``checking_apart``).
# --------------------------------------------------------------------------------------

T = TypeVar("T")
_APART_LOCK = threading.Lock()
_apart: ProcessPoolExecutor | None = None


APART_FROM_BYTES = 2_000_000
"""From this size on (about 3,500 pupils in the workbook layout), ``checking_apart``
reads and gates the file in a process of its own."""


def _source_bytes(source: Path) -> int:
    """The size of a source: the file, or every file of a folder of CSV tables (0 when
    missing: reading it then says what is wrong)."""
    try:
        if source.is_dir():
            return sum(p.stat().st_size for p in source.iterdir() if p.is_file())
        return source.stat().st_size
    except OSError:
        return 0


@contextmanager
def checking_apart(source: Path | None = None) -> Iterator[None]:
    """Inside the block, ``read`` and ``gate`` run in one spawned process of their own,
    which ends with the block (the expectations worker, its child, with it); given the
    ``source``, only when it is large (``APART_FROM_BYTES``).

    Why: reading a workbook (calamine) and the row gates (pandera, on pandas) use about
    250 MB at 10,000 pupils, and a process keeps most of the memory it once used. In
    the parent that memory would be carried through lock, signing and submit, past the
    600 MB a process may take; apart, it goes when the process ends. Only the text
    tables and the accepted data come back (polars frames, pickled as Arrow), and the
    store is still loaded by the parent alone.

    The price is the process's start (about 2 s of imports), and a school's usual file
    (1,000 pupils: 0.6 MB, 80 MB through the gates) does not need it, so a source below
    ``APART_FROM_BYTES`` is read here. With one core (or ``HBS_WORKERS=1``) and in a
    nested block nothing changes; if the process dies, the work is done here instead,
    so a file is never left unread.
    """
    global _apart
    large = source is None or _source_bytes(Path(source)) >= APART_FROM_BYTES
    with _APART_LOCK:
        start = large and _apart is None and worker_count(2) >= 2
        if start:
            _apart = spawn_pool(1)
            # Its first job: its own expectations worker (a child of it), so Great
            # Expectations imports on the other core while the file is read.
            _apart.submit(ge_worker.warm)
    try:
        yield
    finally:
        if start:
            with _APART_LOCK:
                pool, _apart = _apart, None
            if pool is not None:
                _end_apart(pool)
            give_back_memory()


def _end_apart(pool: ProcessPoolExecutor) -> None:
    """Stop the apart process: first its expectations worker (the process's exit would
    wait for that child forever), then the process itself."""
    with contextlib.suppress(BrokenProcessPool):  # it died: its child ends on its own
        pool.submit(ge_worker.stop).result()
    pool.shutdown(wait=True, cancel_futures=True)


def warm_gates() -> None:
    """Start the expectations worker now, here; with ``checking_apart`` open the apart
    process has started its own (see ``checking_apart``)."""
    with _APART_LOCK:
        apart = _apart is not None
    if not apart:
        ge_worker.warm()


def _run_apart(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in the apart process when a ``checking_apart`` block is open, else
    (or if that process died) here. A ``HocBaSoError`` raised there arrives whole."""
    global _apart
    with _APART_LOCK:
        pool = _apart
    if pool is not None:
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool:
            with _APART_LOCK:
                if _apart is pool:
                    _apart = None
            pool.shutdown(wait=False, cancel_futures=True)
    return fn(*args)


def read(source: Path) -> RawSource:
    """Read the school's file (any layout ``hocbaso.ingest`` knows) as text tables
    (apart when ``checking_apart`` is open)."""
    return _run_apart(read_source, Path(source))


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
    the offending cells marked on copies of the school's own sheets (apart when
    ``checking_apart`` is open)."""
    return _run_apart(_gate, ws, config, raw, csdl_nganh, expectations, now)


def _gate(
    ws: Workspace,
    config: SchoolConfig,
    raw: RawSource,
    csdl_nganh: Path | None,
    expectations: bool,
    now: dt.datetime | None,
) -> GateResult:
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
    try:
        return apply_import(
            store,
            data,
            results,
            nam_hoc=config.nam_hoc.nam_hoc,
            nguon=raw.path.name,
            sha256_nguon=raw.sha256,
        )
    finally:
        give_back_memory()  # the frames' copies made for the load are freed


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


# --------------------------------------------------------------------------------------
# The summer wave (đợt bổ sung, 25 August): only the pupils waiting for the
# supplementary assessment, their summer results and the principal's decisions.
# --------------------------------------------------------------------------------------

SUMMER_TEMPLATE_PREFIX = "mau-danh-gia-bo-sung"


@dataclass(frozen=True)
class SummerSummary:
    """What a summer import changed (counts only)."""

    cap_nhat: int  # pupils whose summer results or decision were imported
    da_quyet_dinh: int  # of them, those now decided (their record can be locked)
    con_cho: int  # pupils still waiting after this import
    ngay_phat_hanh: dt.date

    def lines_vi(self) -> list[str]:
        return [
            f"Đợt bổ sung: đã nhập kết quả của {self.cap_nhat} học sinh chờ đánh giá bổ sung; "
            f"{self.da_quyet_dinh} học sinh đã có kết quả cuối cùng (chạy `hbs lock` để chốt).",
            f"Còn chờ: {self.con_cho} học sinh.",
            f"Ngày ký phát hành in trên học bạ đợt bổ sung: {self.ngay_phat_hanh:%d/%m/%Y}.",
            "Các học sinh khác không bị thay đổi.",
        ]


def pending_students(store: Store) -> pl.DataFrame:
    """Pupils waiting for the summer assessment or the principal (their record a draft)."""
    store.create()
    return store.frame(
        """SELECT d.ma_hoc_sinh, s.ho_ten, d.ma_lop, d.danh_gia, d.danh_gia_bo_sung
           FROM v_danh_gia_cuoi_nam d JOIN v_hoc_sinh s USING (ma_hoc_sinh)
           JOIN v_hoc_ba_hien_hanh b USING (ma_hoc_sinh)
           WHERE d.duoc_len_lop IS NULL AND b.trang_thai = 'draft'
           ORDER BY d.ma_lop, d.ma_hoc_sinh"""
    )


def write_summer_template(
    ws: Workspace, store: Store, now: dt.datetime | None = None
) -> Path | None:
    """The summer template of the pupils pending now, in ``bao_cao/``; None when none is."""
    pending = pending_students(store)
    if pending.is_empty():
        return None
    names = {s.code: s.ten for s in SUBJECTS}
    subjects = store.frame(
        """SELECT k.ma_hoc_sinh, s.ho_ten, k.ma_lop, k.mon_hoc, k.muc_dat, k.diem_ktdk
           FROM v_ket_qua_mon k JOIN v_hoc_sinh s USING (ma_hoc_sinh)
           WHERE list_contains($1, k.ma_hoc_sinh)
             AND (k.muc_dat = 'C' OR TRY_CAST(k.diem_ktdk AS INTEGER) < 5)
           ORDER BY k.ma_lop, k.ma_hoc_sinh, k.mon_hoc""",
        [pending["ma_hoc_sinh"].to_list()],
    ).with_columns(
        pl.col("mon_hoc").replace_strict(names, default=pl.col("mon_hoc")).alias("ten_mon"),
        pl.lit(None, pl.String).alias("nhan_xet"),
    )
    pupils = pending.select(
        "ma_hoc_sinh",
        "ho_ten",
        "ma_lop",
        pl.lit(None, pl.String).alias("len_lop"),
        pl.lit(None, pl.String).alias("nhan_xet"),
    )
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = ws.root / GATE_REPORT_DIR / f"{SUMMER_TEMPLATE_PREFIX}-{stamp}.xlsx"
    return bo_sung.write_summer_template(subjects, pupils, path)


def _refuse_rows(frame: pl.DataFrame, bad: pl.Expr, sheet: str, what: str, hint: str) -> None:
    rows = frame.filter(bad)
    if rows.height:
        listed = ", ".join(str(r) for r in rows[ROW].to_list()[:10])
        raise InputDataError(
            f"Trang {sheet}: {rows.height} dòng {what} (dòng {listed}). Chưa có gì được ghi.",
            hint=hint,
        )


def apply_summer_wave(
    ws: Workspace,
    config: SchoolConfig,
    store: Store,
    source: Path,
    ngay_phat_hanh: dt.date | None = None,
) -> SummerSummary:
    """Import the summer results and decisions of pending pupils; nobody else is touched.

    The pupils' subject rows named in the file are replaced (level, score, comment),
    their ``danh_gia_bo_sung`` is set and the principal's ``len_lop`` taken; the year's
    results are computed again and loaded through the same transaction as an import
    (``apply_import``), so locked and issued records stay as they are and every other
    pupil's rows are written back unchanged. The wave's date of issue is recorded.
    """
    wave = bo_sung.read_summer_wave(source)
    pending = set(pending_students(store)["ma_hoc_sinh"].to_list())
    if not pending:
        raise HocBaSoError(
            "Không có học sinh nào đang chờ đánh giá bổ sung: không có gì để nhập.",
            hint="Xem danh sách bằng `hbs report`; muốn sửa học bạ đã chốt, Hiệu trưởng mở khóa "
            "(`hbs unlock`) trước.",
        )
    hint = "Tệp đánh giá bổ sung chỉ được chứa học sinh đang chờ (xem mẫu do `hbs report` ghi ra)."
    for sheet, frame in (
        (bo_sung.SUBJECT_SHEET, wave.ket_qua_mon),
        (bo_sung.DECISION_SHEET, wave.tong_hop),
    ):
        _refuse_rows(
            frame,
            ~pl.col("ma_hoc_sinh").is_in(list(pending)),
            sheet,
            "là học sinh không chờ đánh giá bổ sung",
            hint,
        )
    _refuse_rows(
        wave.tong_hop,
        pl.col("len_lop").is_not_null() & ~pl.col("len_lop").is_in(["0", "1"]),
        bo_sung.DECISION_SHEET,
        "có len_lop khác 1 và 0",
        "len_lop: 1 được lên lớp, 0 ở lại lớp.",
    )
    data = load_school_data(store)
    known = data.ket_qua_mon.select("ma_hoc_sinh", "mon_hoc")
    _refuse_rows(
        wave.ket_qua_mon.join(known, on=["ma_hoc_sinh", "mon_hoc"], how="anti").with_columns(
            pl.lit(True).alias("_bad")
        ),
        pl.col("_bad"),
        bo_sung.SUBJECT_SHEET,
        "có môn học không có trong kết quả của học sinh",
        "Dùng mã môn (cột mon_hoc) như trong mẫu.",
    )
    summer = wave.ket_qua_mon.select(
        "ma_hoc_sinh",
        "mon_hoc",
        pl.col("muc_dat").alias("_muc"),
        pl.col("diem_ktdk").alias("_diem"),
        pl.col("nhan_xet").alias("_nx"),
    ).unique(["ma_hoc_sinh", "mon_hoc"], keep="last")
    kqm = (
        data.ket_qua_mon.join(summer, on=["ma_hoc_sinh", "mon_hoc"], how="left")
        .with_columns(
            pl.coalesce("_muc", "muc_dat").alias("muc_dat"),
            pl.when(pl.col("_muc").is_not_null())
            .then(pl.col("_diem"))
            .otherwise(pl.col("diem_ktdk"))
            .alias("diem_ktdk"),
            pl.coalesce("_nx", "nhan_xet").alias("nhan_xet"),
        )
        .select(data.ket_qua_mon.columns)
    )
    assessed = sorted(
        set(wave.ket_qua_mon["ma_hoc_sinh"].to_list()) | set(wave.tong_hop["ma_hoc_sinh"].to_list())
    )
    decisions = dict(
        wave.tong_hop.filter(pl.col("len_lop").is_not_null())
        .select("ma_hoc_sinh", "len_lop")
        .iter_rows()
    )
    tong_hop = data.tong_hop
    missing = [m for m in assessed if m not in set(tong_hop["ma_hoc_sinh"].to_list())]
    if missing:
        tong_hop = pl.concat(
            [tong_hop, conform("tong_hop", pl.DataFrame({"ma_hoc_sinh": missing}))]
        )
    tong_hop = tong_hop.with_columns(
        pl.when(pl.col("ma_hoc_sinh").is_in(assessed))
        .then(pl.lit(True))
        .otherwise(pl.col("danh_gia_bo_sung"))
        .alias("danh_gia_bo_sung"),
        pl.col("ma_hoc_sinh")
        .replace_strict(
            {m: v == "1" for m, v in decisions.items()},
            default=pl.col("len_lop"),
            return_dtype=pl.Boolean,
        )
        .alias("len_lop"),
    )
    merged = SchoolData(
        lop=data.lop,
        giao_vien=data.giao_vien,
        hoc_sinh=data.hoc_sinh,
        ket_qua_mon=kqm,
        pham_chat_nang_luc=data.pham_chat_nang_luc,
        tong_hop=tong_hop,
    )
    results = compute(merged)
    import hashlib

    apply_import(
        store,
        merged,
        results,
        nam_hoc=config.nam_hoc.nam_hoc,
        nguon=f"bo-sung:{wave.name}",
        sha256_nguon=hashlib.sha256(Path(source).read_bytes()).hexdigest(),
    )
    date = ngay_phat_hanh or dt.date.today()
    set_summer_issue_date(store, date)
    still = set(pending_students(store)["ma_hoc_sinh"].to_list())
    return SummerSummary(
        len(assessed), len([m for m in assessed if m not in still]), len(still), date
    )
