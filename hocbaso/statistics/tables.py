"""The tables of the year-end statistics report (báo cáo thống kê, TT27), from the public views.

Every table is a polars frame whose column names are the Vietnamese headings the
school reads (no code of the store as a heading). Counts follow the current
version of each record (``v_hoc_ba_hien_hanh``): after a revocation a pupil is
counted once, by the new version; the replaced versions are a column of their own.

A table is marked ``personal`` when it names pupils: such a table goes into the
school's workbook only, never into a Prefect artifact (which may be read outside
the school) nor into the HTML report's aggregates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import duckdb
import polars as pl

from hocbaso import tt27
from hocbaso.model import (
    CRITERIA,
    CRITERION_LEVEL_NAMES,
    KHEN_THUONG_HTT,
    KHEN_THUONG_HTXS,
    SUBJECT_LEVEL_NAMES,
    SUBJECTS,
    XEP_LOAI_NAMES,
    TrangThai,
)

KHOI = "Khối"
LOP = "Lớp"
TOTAL = "Tổng"
SCHOOL_ROW = "Toàn trường"
#: Short state names for column headings (the long ones in STATE_NAMES_VI say what to do).
STATE_HEADINGS: dict[str, str] = {
    TrangThai.DRAFT: "Bản nháp",
    TrangThai.LOCKED: "Đã chốt",
    TrangThai.SIGNED_GVCN: "GVCN đã ký",
    TrangThai.SIGNED_HT: "Hiệu trưởng đã ký",
    TrangThai.SEALED: "Đã đóng dấu",
    TrangThai.SUBMITTED: "Đã gửi, chờ kết quả",
    TrangThai.ACCEPTED: "CSDL đã tiếp nhận",
    TrangThai.REJECTED: "Bị CSDL từ chối",
    TrangThai.REVOKED: "Đã thu hồi",
}
RESULT_HEADINGS = [XEP_LOAI_NAMES[x] for x in ("HTXS", "HTT", "HT", "CHT")]
SUBJECT_HEADINGS = [SUBJECT_LEVEL_NAMES[x] for x in ("T", "H", "C", "M")]
CRITERION_HEADINGS = [CRITERION_LEVEL_NAMES[x] for x in ("T", "Đ", "C")]
_GROUP_NAMES = {
    "pham_chat": "Phẩm chất",
    "nang_luc_chung": "Năng lực chung",
    "nang_luc_dac_thu": "Năng lực đặc thù",
}
SCORE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("Điểm 9–10", 9, 10),
    ("Điểm 7–8", 7, 8),
    ("Điểm 5–6", 5, 6),
    ("Dưới 5", 0, 4),
)
#: Where the signing issue's per-teacher progress view lives once it is merged.
SIGNING_PROGRESS_VIEW = "v_tien_do_ky"


@dataclass(frozen=True)
class Table:
    """One table of the report: its sheet, its title and its rows."""

    key: str  # artifact key and HTML anchor (lowercase, dashes)
    sheet: str  # worksheet name (at most 31 characters)
    title: str
    frame: pl.DataFrame
    personal: bool = False  # names pupils: the school's workbook only
    note: str = ""


@dataclass(frozen=True)
class Chart:
    """A stacked chart over one table: a category column and the series columns."""

    key: str  # the table it draws
    title: str
    category: str
    series: tuple[str, ...]
    kind: Literal["column", "bar"] = "column"
    skip_rows: tuple[str, ...] = (SCHOOL_ROW,)  # category values left out of the chart


@dataclass(frozen=True)
class Statistics:
    """The whole report: heading, tables in sheet order, charts, and headline counts."""

    ten_truong: str
    nam_hoc: str
    lap_luc: dt.datetime
    tables: list[Table]
    charts: list[Chart]
    states: dict[str, int] = field(default_factory=dict)  # current versions per state

    @property
    def heading(self) -> str:
        return (
            f"{self.ten_truong} — Năm học {self.nam_hoc} — lập ngày {self.lap_luc:%d/%m/%Y %H:%M}"
        )

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    @property
    def total_records(self) -> int:
        return sum(self.states.values())

    def public_tables(self) -> list[Table]:
        """The tables safe to publish (aggregates only)."""
        return [t for t in self.tables if not t.personal]


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    return con.sql(sql).pl()


def _pivot(
    long: pl.DataFrame, index: Sequence[str], on: str, columns: Sequence[str]
) -> pl.DataFrame:
    """Counts ``n`` of ``long`` spread over ``columns`` (every one present, zeros filled)."""
    if long.is_empty():
        wide = pl.DataFrame(schema={c: long.schema[c] for c in index})
    else:
        wide = long.pivot(on=on, index=list(index), values="n", aggregate_function="sum")
    for c in columns:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(c))
    return wide.select(*index, *[pl.col(c).fill_null(0).cast(pl.Int64) for c in columns])


def _with_total(frame: pl.DataFrame, columns: Sequence[str], label_col: str) -> pl.DataFrame:
    """Append the whole-school row (sums of ``columns``; other columns empty)."""
    if frame.is_empty():
        return frame
    sums = {c: (frame[c].sum() if c in columns else None) for c in frame.columns if c != label_col}
    frame = frame.cast({label_col: pl.String})
    row = pl.DataFrame([{label_col: SCHOOL_ROW, **sums}], schema=frame.schema, strict=False)
    return pl.concat([frame, row])


def _level_spread(
    long: pl.DataFrame, keys: list[str], labels: list[str], levels: Sequence[str]
) -> pl.DataFrame:
    """Counts per level, one row per ``keys`` + ``labels`` (in the code list's order)."""
    wide = _pivot(long, [*keys, *labels, "_thu_tu"], "muc_dat", levels)
    return (
        wide.with_columns(pl.sum_horizontal(*levels).alias(TOTAL))
        .sort([*keys, "_thu_tu"])
        .drop("_thu_tu")
    )


def _results(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Results, completion, promotion, summer per class and per grade."""
    raw = _frame(
        con,
        f"""SELECT ma_lop, khoi, count(*) AS si_so,
              count(*) FILTER (danh_gia = 'HTXS') AS htxs,
              count(*) FILTER (danh_gia = 'HTT') AS htt,
              count(*) FILTER (danh_gia = 'HT') AS ht,
              count(*) FILTER (danh_gia = 'CHT') AS cht,
              count(*) FILTER (danh_gia IS NULL) AS khong_xep_loai,
              count(*) FILTER (hoan_thanh_chuong_trinh_lop) AS ht_lop,
              CASE WHEN khoi = {tt27.LAST_GRADE}
                   THEN count(*) FILTER (hoan_thanh_chuong_trinh_tieu_hoc) END AS ht_tieu_hoc,
              CASE WHEN khoi < {tt27.LAST_GRADE}
                   THEN count(*) FILTER (duoc_len_lop) END AS len_lop,
              count(*) FILTER (duoc_len_lop = false) AS o_lai,
              count(*) FILTER (duoc_len_lop IS NULL) AS cho_bo_sung,
              count(*) FILTER (khen_thuong IS NOT NULL AND khen_thuong <> '') AS khen
           FROM v_danh_gia_cuoi_nam GROUP BY ma_lop, khoi ORDER BY ma_lop""",
    )
    names = {
        "ma_lop": LOP,
        "khoi": KHOI,
        "si_so": "Sĩ số",
        "htxs": RESULT_HEADINGS[0],
        "htt": RESULT_HEADINGS[1],
        "ht": RESULT_HEADINGS[2],
        "cht": RESULT_HEADINGS[3],
        "khong_xep_loai": "Không xếp loại (khuyết tật)",
        "ht_lop": "Hoàn thành chương trình lớp học",
        "ht_tieu_hoc": "Hoàn thành chương trình tiểu học",
        "len_lop": "Được lên lớp",
        "o_lai": "Ở lại lớp",
        "cho_bo_sung": "Chờ đánh giá bổ sung, chờ quyết định",
        "khen": "Được khen thưởng",
    }
    per_class = raw.rename(names).with_columns(pl.col(KHOI).cast(pl.Int64))
    counted = [c for c in per_class.columns if c not in (LOP, KHOI)]
    per_grade = (
        per_class.group_by(KHOI)
        .agg(pl.len().alias("Số lớp"), *[pl.col(c).sum() for c in counted])
        .sort(KHOI)
        .with_columns(
            # Grade 5 completes primary; the other grades have no such column.
            pl.when(pl.col(KHOI) == tt27.LAST_GRADE)
            .then(pl.col("Hoàn thành chương trình tiểu học"))
            .alias("Hoàn thành chương trình tiểu học"),
            pl.when(pl.col(KHOI) < tt27.LAST_GRADE)
            .then(pl.col("Được lên lớp"))
            .alias("Được lên lớp"),
        )
    )
    per_grade = _with_total(per_grade, ["Số lớp", *counted], KHOI)
    return per_grade, per_class.select(KHOI, LOP, *counted)


def _subjects(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Levels per subject: whole school, per grade, per class."""
    names = {s.code: s.ten for s in SUBJECTS}
    order = {s.code: i for i, s in enumerate(SUBJECTS)}
    long = _frame(
        con,
        """SELECT khoi, ma_lop, mon_hoc, muc_dat, count(*) AS n FROM v_ket_qua_mon
           WHERE muc_dat IS NOT NULL GROUP BY ALL""",
    ).with_columns(
        pl.col("mon_hoc").replace_strict(order, default=99).alias("_thu_tu"),
        pl.col("mon_hoc").replace_strict(names, default=pl.col("mon_hoc")).alias("Môn học"),
        pl.col("muc_dat").replace_strict(SUBJECT_LEVEL_NAMES, default=pl.col("muc_dat")),
        pl.col("khoi").cast(pl.Int64).alias(KHOI),
        pl.col("ma_lop").alias(LOP),
    )

    labels = ["Môn học"]
    return (
        _level_spread(long, [], labels, SUBJECT_HEADINGS),
        _level_spread(long, [KHOI], labels, SUBJECT_HEADINGS),
        _level_spread(long, [LOP], labels, SUBJECT_HEADINGS),
    )


def _scores(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The spread of the periodic test scores per grade and tested subject."""
    bands = ", ".join(
        f'count(*) FILTER (d BETWEEN {lo} AND {hi}) AS "{name}"' for name, lo, hi in SCORE_BANDS
    )
    frame = _frame(
        con,
        f"""SELECT khoi, mon_hoc, count(*) AS so_bai, {bands}, round(avg(d), 2) AS diem_tb
            FROM (SELECT khoi, mon_hoc, TRY_CAST(diem_ktdk AS INTEGER) AS d FROM v_ket_qua_mon)
            WHERE d IS NOT NULL GROUP BY ALL""",
    )
    order = {s.code: i for i, s in enumerate(SUBJECTS)}
    names = {s.code: s.ten for s in SUBJECTS}
    return (
        frame.with_columns(pl.col("mon_hoc").replace_strict(order, default=99).alias("_o"))
        .sort("khoi", "_o")
        .select(
            pl.col("khoi").cast(pl.Int64).alias(KHOI),
            pl.col("mon_hoc").replace_strict(names, default=pl.col("mon_hoc")).alias("Môn học"),
            pl.col("so_bai").alias("Số bài kiểm tra"),
            *[pl.col(name) for name, _, _ in SCORE_BANDS],
            pl.col("diem_tb").alias("Điểm trung bình"),
        )
    )


def _criteria(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Qualities and competencies: whole school per criterion, and per class."""
    names = {c.code: c.ten for c in CRITERIA}
    groups = {c.code: _GROUP_NAMES[c.group] for c in CRITERIA}
    order = {c.code: i for i, c in enumerate(CRITERIA)}
    long = _frame(
        con,
        """SELECT ma_lop, khoi, tieu_chi, muc_dat, count(*) AS n FROM v_pham_chat_nang_luc
           WHERE muc_dat IS NOT NULL GROUP BY ALL""",
    ).with_columns(
        pl.col("tieu_chi").replace_strict(order, default=99).alias("_thu_tu"),
        pl.col("tieu_chi").replace_strict(groups, default="").alias("Nhóm"),
        pl.col("tieu_chi").replace_strict(names, default=pl.col("tieu_chi")).alias("Tiêu chí"),
        pl.col("muc_dat").replace_strict(CRITERION_LEVEL_NAMES, default=pl.col("muc_dat")),
        pl.col("khoi").cast(pl.Int64).alias(KHOI),
        pl.col("ma_lop").alias(LOP),
    )

    labels = ["Nhóm", "Tiêu chí"]
    return (
        _level_spread(long, [], labels, CRITERION_HEADINGS),
        _level_spread(long, [LOP], labels, CRITERION_HEADINGS),
    )


def _commendations(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Commendations per class (counts) and the list of commended pupils (names)."""
    counts = _frame(
        con,
        f"""SELECT khoi, ma_lop, count(*) AS si_so,
              count(*) FILTER (khen_thuong = '{KHEN_THUONG_HTXS}') AS xs,
              count(*) FILTER (khen_thuong = '{KHEN_THUONG_HTT}') AS tb,
              count(*) FILTER (khen_thuong IS NOT NULL AND khen_thuong <> ''
                               AND khen_thuong NOT IN ('{KHEN_THUONG_HTXS}', '{KHEN_THUONG_HTT}'))
                AS khac
           FROM v_danh_gia_cuoi_nam GROUP BY ALL ORDER BY ma_lop""",
    ).select(
        pl.col("khoi").cast(pl.Int64).alias(KHOI),
        pl.col("ma_lop").alias(LOP),
        pl.col("si_so").alias("Sĩ số"),
        pl.col("xs").alias("Học sinh Xuất sắc"),
        pl.col("tb").alias("Học sinh Tiêu biểu"),
        pl.col("khac").alias("Khen thưởng khác"),
    )
    counted = ["Sĩ số", "Học sinh Xuất sắc", "Học sinh Tiêu biểu", "Khen thưởng khác"]
    counts = _with_total(
        counts.with_columns(pl.col(KHOI).cast(pl.String)), counted, KHOI
    ).with_columns(pl.sum_horizontal(*counted[1:]).alias(TOTAL))
    names = _frame(
        con,
        """SELECT d.ma_lop, s.ho_ten, d.khen_thuong FROM v_danh_gia_cuoi_nam d
           JOIN v_hoc_sinh s USING (ma_hoc_sinh)
           WHERE d.khen_thuong IS NOT NULL AND d.khen_thuong <> ''
           ORDER BY d.ma_lop, s.ho_ten""",
    ).rename({"ma_lop": LOP, "ho_ten": "Họ và tên", "khen_thuong": "Khen thưởng"})
    return counts, names


def _summer(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pupils waiting for the summer assessment or the principal's decision."""
    pending = _frame(
        con,
        """SELECT d.ma_lop, d.ma_hoc_sinh, s.ho_ten, d.danh_gia, d.danh_gia_bo_sung, d.khoi
           FROM v_danh_gia_cuoi_nam d JOIN v_hoc_sinh s USING (ma_hoc_sinh)
           WHERE d.duoc_len_lop IS NULL ORDER BY d.ma_lop, s.ho_ten""",
    )
    waiting = [
        tt27.awaiting_decision(row["danh_gia"], row["danh_gia_bo_sung"], None) or ""
        for row in pending.iter_rows(named=True)
    ]
    names = pl.DataFrame(
        {
            LOP: pending["ma_lop"],
            "Mã học sinh": pending["ma_hoc_sinh"],
            "Họ và tên": pending["ho_ten"],
            "Kết quả cuối năm": [
                XEP_LOAI_NAMES.get(x or "", "") for x in pending["danh_gia"].to_list()
            ],
            "Đang chờ": waiting,
        },
        schema={
            LOP: pl.String,
            "Mã học sinh": pl.String,
            "Họ và tên": pl.String,
            "Kết quả cuối năm": pl.String,
            "Đang chờ": pl.String,
        },
    )
    counts = (
        names.group_by(LOP, "Đang chờ").agg(pl.len().alias("Số học sinh")).sort(LOP, "Đang chờ")
    )
    return counts, names


def _progress(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, dict[str, int]]:
    """Records per class and state (current versions), plus replaced (revoked) versions."""
    long = _frame(
        con,
        """SELECT ma_lop, trang_thai, count(*) AS n FROM v_hoc_ba_hien_hanh GROUP BY ALL""",
    )
    found = {str(k): int(v) for k, v in long.group_by("trang_thai").agg(pl.col("n").sum()).rows()}
    states: dict[str, int] = {str(s.value): found[s.value] for s in TrangThai if s.value in found}
    long = long.with_columns(
        pl.col("trang_thai").replace_strict(STATE_HEADINGS, default=pl.col("trang_thai"))
    )
    headings = [STATE_HEADINGS[s] for s in TrangThai if s != TrangThai.REVOKED]
    wide = _pivot(long.rename({"ma_lop": LOP}), [LOP], "trang_thai", headings)
    old = _frame(
        con,
        """SELECT ma_lop, count(*) AS n FROM v_hoc_ba WHERE trang_thai = 'revoked' GROUP BY ALL""",
    ).rename({"ma_lop": LOP, "n": "Phiên bản cũ đã thu hồi"})
    wide = (
        wide.with_columns(pl.sum_horizontal(*headings).alias(TOTAL))
        .join(old, on=LOP, how="left")
        .with_columns(pl.col("Phiên bản cũ đã thu hồi").fill_null(0).cast(pl.Int64))
        .sort(LOP)
    )
    counted = [*headings, TOTAL, "Phiên bản cũ đã thu hồi"]
    share = (
        (100.0 * pl.col(STATE_HEADINGS[TrangThai.ACCEPTED]) / pl.col(TOTAL))
        .round(1)
        .alias("% đã tiếp nhận")
    )
    return _with_total(wide, counted, LOP).with_columns(share), states


def _rejected(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What the registry refused (current records), with its reason."""
    rows = _frame(
        con,
        """SELECT r.ma_lop, r.ma_hoc_ba, s.ho_ten, r.ma_loi, r.loi FROM v_hoc_ba_tu_choi r
           JOIN v_hoc_sinh s USING (ma_hoc_sinh) ORDER BY r.ma_lop, s.ho_ten""",
    )
    names = rows.rename(
        {
            "ma_lop": LOP,
            "ma_hoc_ba": "Mã học bạ",
            "ho_ten": "Họ và tên",
            "ma_loi": "Mã lỗi",
            "loi": "Lý do CSDL từ chối",
        }
    )
    counts = (
        names.group_by(LOP, "Mã lỗi", "Lý do CSDL từ chối")
        .agg(pl.len().alias("Số học bạ"))
        .sort(LOP, "Mã lỗi")
    )
    return counts, names


def _signing_progress(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """Per-teacher signing progress, when the store has the signing issue's view."""
    # fetchall: a result left half-read blocks the next query on this connection.
    present = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
        [SIGNING_PROGRESS_VIEW],
    ).fetchall()
    if not present or not present[0][0]:
        return None
    frame = _frame(con, f"SELECT * FROM {SIGNING_PROGRESS_VIEW}")
    return frame.rename({c: heading(c) for c in frame.columns})


_HEADING_WORDS = {
    "ma": "Mã",
    "lop": "lớp",
    "giao": "giáo",
    "vien": "viên",
    "ho": "họ",
    "ten": "tên",
    "vai": "vai",
    "tro": "trò",
    "da": "đã",
    "ky": "ký",
    "cho": "chờ",
    "so": "số",
    "hoc": "học",
    "ba": "bạ",
    "tong": "tổng",
    "con": "còn",
    "lai": "lại",
    "trang": "trạng",
    "thai": "thái",
    "khoi": "khối",
}


def heading(column: str) -> str:
    """A readable heading for a view column named in ASCII snake case (``so_da_ky``)."""
    words = [_HEADING_WORDS.get(w, w) for w in column.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def build_statistics(
    con: duckdb.DuckDBPyConnection, ten_truong: str, nam_hoc: str, now: dt.datetime
) -> Statistics:
    """Every table and chart of the report, from the public views on ``con``."""
    per_grade, per_class = _results(con)
    subjects, subjects_grade, subjects_class = _subjects(con)
    criteria, criteria_class = _criteria(con)
    praise, praise_names = _commendations(con)
    summer, summer_names = _summer(con)
    progress, states = _progress(con)
    refused, refused_names = _rejected(con)
    tables = [
        Table(
            "ket-qua-theo-khoi",
            "Kết quả theo khối",
            "Kết quả giáo dục cuối năm theo khối",
            per_grade,
            note="Hoàn thành chương trình tiểu học chỉ tính ở khối 5; khối 5 không xét lên lớp.",
        ),
        Table("ket-qua-theo-lop", "Kết quả theo lớp", "Kết quả giáo dục theo lớp", per_class),
        Table("mon-hoc", "Môn học", "Mức đạt được các môn học và hoạt động giáo dục", subjects),
        Table(
            "mon-hoc-theo-khoi", "Môn học theo khối", "Mức đạt môn học theo khối", subjects_grade
        ),
        Table("mon-hoc-theo-lop", "Môn học theo lớp", "Mức đạt môn học theo lớp", subjects_class),
        Table(
            "diem-kiem-tra",
            "Điểm kiểm tra định kỳ",
            "Phổ điểm bài kiểm tra định kỳ cuối năm (các môn có kiểm tra)",
            _scores(con),
        ),
        Table(
            "pham-chat-nang-luc",
            "Phẩm chất, năng lực",
            "Mức đạt phẩm chất và năng lực (toàn trường)",
            criteria,
        ),
        Table(
            "pham-chat-nang-luc-theo-lop",
            "Phẩm chất, năng lực theo lớp",
            "Mức đạt phẩm chất và năng lực theo lớp",
            criteria_class,
        ),
        Table("khen-thuong", "Khen thưởng", "Khen thưởng cuối năm theo lớp", praise),
        Table(
            "danh-sach-khen-thuong",
            "Danh sách khen thưởng",
            "Danh sách học sinh được khen thưởng",
            praise_names,
            personal=True,
        ),
        Table(
            "danh-gia-bo-sung",
            "Đánh giá bổ sung",
            "Học sinh chờ đánh giá bổ sung trong hè hoặc chờ quyết định (số lượng)",
            summer,
        ),
        Table(
            "danh-sach-danh-gia-bo-sung",
            "DS đánh giá bổ sung",
            "Danh sách học sinh chờ đánh giá bổ sung trong hè",
            summer_names,
            personal=True,
        ),
        Table(
            "tien-do-theo-lop",
            "Tiến độ theo lớp",
            "Tiến độ ký và nộp học bạ theo lớp (phiên bản hiện hành)",
            progress,
        ),
        Table(
            "bi-tu-choi",
            "Bị CSDL từ chối",
            "Học bạ bị CSDL Học bạ số từ chối, theo lý do",
            refused,
            note="Cách xử lý: sửa theo lý do, Hiệu trưởng mở khóa (`hbs unlock --class …`), "
            "rồi chốt, ký, đóng dấu và nộp lại.",
        ),
        Table(
            "danh-sach-bi-tu-choi",
            "DS bị CSDL từ chối",
            "Danh sách học bạ bị CSDL Học bạ số từ chối",
            refused_names,
            personal=True,
        ),
    ]
    signing = _signing_progress(con)
    if signing is not None:
        tables.append(
            Table("tien-do-ky", "Tiến độ ký theo GV", "Tiến độ ký theo người ký", signing)
        )
    charts = [
        Chart(
            "ket-qua-theo-khoi",
            "Kết quả giáo dục theo khối",
            KHOI,
            tuple(RESULT_HEADINGS),
        ),
        Chart("mon-hoc", "Mức đạt theo môn học", "Môn học", tuple(SUBJECT_HEADINGS[:3]), "bar"),
        Chart(
            "tien-do-theo-lop",
            "Tiến độ học bạ theo lớp",
            LOP,
            tuple(STATE_HEADINGS[s] for s in TrangThai if s != TrangThai.REVOKED),
            "bar",
        ),
        Chart(
            "pham-chat-nang-luc",
            "Phẩm chất, năng lực",
            "Tiêu chí",
            tuple(CRITERION_HEADINGS),
            "bar",
        ),
    ]
    return Statistics(ten_truong, nam_hoc, now, tables, charts, states)
