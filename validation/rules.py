"""Gate 3, rules: the data follows Thông tư 27 (``docs/tt27.md``).

Which subjects a grade studies, where an end-of-year test score belongs, which
competencies apply, what the overall result must be and which commendation it
allows all come from ``hocbaso.tt27``; this gate only compares the school's data
with those tables and says, per cell, what disagrees.

It runs on rows that passed the first two gates. Rules about a whole student
(a compulsory subject missing, the overall result) skip students who have any
refused row, so that one wrong cell is not reported again as a missing subject or
a wrong result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

import polars as pl

from hocbaso import tt27
from hocbaso.dataset import SchoolData, empty_frame
from hocbaso.ingest import ROW, fold, fold_expr
from hocbaso.model import (
    CRITERION_BY_CODE,
    GRADES,
    KHEN_THUONG_HTT,
    KHEN_THUONG_HTXS,
    SUBJECT_BY_CODE,
    XEP_LOAI_NAMES,
)
from validation.report import GateReport, Problem, Severity
from validation.typed import typed

_RESULT_TEXT = {code: f"{code} ({name})" for code, name in XEP_LOAI_NAMES.items()}

#: Age limits at the start of the school year (import format), and the day it starts.
AGE_MIN, AGE_MAX = 5, 16
YEAR_START_MONTH_DAY = (9, 5)
#: How far (in calendar years) a student's age may be from the usual age of the grade
#: (grade + 5) before a human should look: younger at all, or older by more than this.
AGE_OLDER_TOLERANCE = 2


def _grade_tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(khoi, mon_hoc, bat_buoc, co_kiem_tra) and (khoi, tieu_chi) for every grade."""
    subjects = pl.DataFrame(
        [
            (k, s, s in tt27.subjects_for_grade(k), tt27.has_periodic_test(s, k))
            for k in GRADES
            for s in tt27.subjects_taught(k)
        ],
        schema={
            "khoi": pl.Int8,
            "mon_hoc": pl.String,
            "bat_buoc": pl.Boolean,
            "co_kiem_tra": pl.Boolean,
        },
        orient="row",
    )
    criteria = pl.DataFrame(
        [(k, c) for k in GRADES for c in tt27.criteria_for_grade(k)],
        schema={"khoi": pl.Int8, "tieu_chi": pl.String},
        orient="row",
    )
    return subjects, criteria


_SUBJECT_NAMES = {code: f"{s.ten} ({code})" for code, s in SUBJECT_BY_CODE.items()}
_CRITERION_NAMES = {code: f"{c.ten} ({code})" for code, c in CRITERION_BY_CODE.items()}


def _named(column: str, names: Mapping[str, str]) -> pl.Expr:
    """A code column with its Vietnamese name, as ``ten`` for messages."""
    return (
        pl.col(column)
        .replace_strict(dict(names), default=pl.col(column), return_dtype=pl.String)
        .alias("ten")
    )


class _Rules:
    """The inputs every rule needs, computed once."""

    def __init__(
        self,
        valid: Mapping[str, pl.DataFrame],
        present: Mapping[str, pl.DataFrame],
        tainted: Collection[str],
        start_year: int,
        has_tong_hop: bool,
    ) -> None:
        self.valid = valid
        self.present = present
        self.start_year = start_year
        self.has_tong_hop = has_tong_hop
        self.subjects, self.criteria = _grade_tables()
        lop = valid["lop"].select("ma_lop", pl.col("khoi").cast(pl.Int8))
        self.students = valid["hoc_sinh"].join(lop, on="ma_lop", how="inner")
        tainted_list = sorted(tainted)
        # Students whose every row passed: whole-student rules apply to them.
        self.clean = self.students.filter(~pl.col("ma_hoc_sinh").is_in(tainted_list))
        self.khoi = self.students.select("ma_hoc_sinh", "khoi", "khuyet_tat_khong_danh_gia")
        self.problems: list[Problem] = []
        # Students with a refused row or a missing one: their computed result means nothing.
        self.incomplete: set[str] = set()

    def add(
        self,
        table: str,
        frame: pl.DataFrame,
        column: str,
        rule: str,
        value_col: str | None,
        message: str,
        severity: Severity = Severity.ERROR,
    ) -> None:
        """One problem per row of ``frame``; ``message`` is formatted with the row's columns."""
        if severity is Severity.ERROR and "ma_hoc_sinh" in frame.columns:
            self.incomplete.update(frame["ma_hoc_sinh"].to_list())
        for row in frame.sort(ROW).iter_rows(named=True):
            value = row[value_col] if value_col else None
            self.problems.append(
                Problem(table, row[ROW], column, rule, value, message.format(**row), severity)
            )

    # -- ket_qua_mon -----------------------------------------------------------------

    def subjects_of_grade(self) -> None:
        kqm = self.valid["ket_qua_mon"].join(self.khoi, on="ma_hoc_sinh", how="inner")
        rows = kqm.join(self.subjects, on=["khoi", "mon_hoc"], how="left")
        not_taught = rows.filter(pl.col("bat_buoc").is_null()).with_columns(
            _named("mon_hoc", _SUBJECT_NAMES)
        )
        self.add(
            "ket_qua_mon",
            not_taught,
            "mon_hoc",
            "mon_khong_hoc_o_khoi",
            "mon_hoc",
            "Môn {ten} không có trong chương trình khối {khoi}: xóa dòng này hoặc sửa mã "
            "môn/lớp cho đúng.",
        )
        taught = rows.filter(pl.col("bat_buoc").is_not_null()).with_columns(
            _named("mon_hoc", _SUBJECT_NAMES)
        )
        test, exempt = pl.col("co_kiem_tra"), pl.col("muc_dat") == "M"
        score = pl.col("diem_ktdk")
        self.add(
            "ket_qua_mon",
            taught.filter(test & ~exempt & score.is_null()),
            "diem_ktdk",
            "thieu_diem_ktdk",
            None,
            "Môn {ten} ở khối {khoi} có bài kiểm tra định kì cuối năm nhưng ô điểm đang "
            "trống: nhập điểm (số nguyên 0–10), hoặc ghi M ở cả mức đạt và điểm nếu học "
            "sinh được miễn.",
        )
        self.add(
            "ket_qua_mon",
            taught.filter(~exempt & (score == "M")),
            "diem_ktdk",
            "diem_m_khi_khong_mien",
            "diem_ktdk",
            "Điểm ghi M (miễn) nhưng mức đạt được là {muc_dat}: nếu học sinh được miễn thì "
            "ghi M ở cột muc_dat, nếu không thì nhập điểm.",
        )
        self.add(
            "ket_qua_mon",
            taught.filter(test & exempt & (score.is_null() | (score != "M"))),
            "diem_ktdk",
            "mien_thi_diem_m",
            "diem_ktdk",
            "Học sinh được miễn môn {ten} (mức đạt M) nên ô điểm cũng phải ghi M: sửa điểm "
            "thành M, hoặc sửa mức đạt nếu học sinh không được miễn.",
        )
        self.add(
            "ket_qua_mon",
            taught.filter(~test & score.is_not_null() & (score != "M")),
            "diem_ktdk",
            "mon_khong_co_kiem_tra",
            "diem_ktdk",
            "Môn {ten} ở khối {khoi} không có bài kiểm tra định kì cuối năm: xóa điểm ở ô này.",
        )

    def compulsory_subjects(self) -> None:
        required = self.clean.select(ROW, "ma_hoc_sinh", "khoi", "khuyet_tat_khong_danh_gia").join(
            self.subjects.filter("bat_buoc"), on="khoi"
        )
        have = self.present["ket_qua_mon"].select("ma_hoc_sinh", "mon_hoc").unique()
        missing = required.join(have, on=["ma_hoc_sinh", "mon_hoc"], how="anti").with_columns(
            _named("mon_hoc", _SUBJECT_NAMES)
        )
        message = (
            "Học sinh ở dòng này (khối {khoi}) chưa có kết quả môn {ten} trong bảng "
            "ket_qua_mon: thêm một dòng cho môn này (ghi M nếu được miễn)."
        )
        not_assessed = pl.col("khuyet_tat_khong_danh_gia") == "1"
        self.add(
            "hoc_sinh",
            missing.filter(~not_assessed),
            "ma_hoc_sinh",
            "thieu_mon_bat_buoc",
            "ma_hoc_sinh",
            message,
        )
        self.add(
            "hoc_sinh",
            missing.filter(not_assessed),
            "ma_hoc_sinh",
            "thieu_mon_bat_buoc",
            "ma_hoc_sinh",
            message,
            Severity.WARN,
        )

    # -- pham_chat_nang_luc ----------------------------------------------------------

    def criteria_of_grade(self) -> None:
        pcnl = self.valid["pham_chat_nang_luc"].join(self.khoi, on="ma_hoc_sinh", how="inner")
        wrong = pcnl.join(self.criteria, on=["khoi", "tieu_chi"], how="anti").with_columns(
            _named("tieu_chi", _CRITERION_NAMES)
        )
        self.add(
            "pham_chat_nang_luc",
            wrong,
            "tieu_chi",
            "tieu_chi_khong_ap_dung",
            "tieu_chi",
            "Năng lực {ten} chưa đánh giá ở khối {khoi}: xóa dòng này.",
        )
        required = (
            self.clean.filter(pl.col("khuyet_tat_khong_danh_gia") != "1")
            .select(ROW, "ma_hoc_sinh", "khoi")
            .join(self.criteria, on="khoi")
        )
        have = self.present["pham_chat_nang_luc"].select("ma_hoc_sinh", "tieu_chi").unique()
        missing = required.join(have, on=["ma_hoc_sinh", "tieu_chi"], how="anti").with_columns(
            _named("tieu_chi", _CRITERION_NAMES)
        )
        self.add(
            "hoc_sinh",
            missing,
            "ma_hoc_sinh",
            "thieu_pham_chat_nang_luc",
            "ma_hoc_sinh",
            "Học sinh ở dòng này chưa có mức đạt được của {ten} trong bảng "
            "pham_chat_nang_luc: thêm dòng này (hoặc ghi 1 ở cột khuyet_tat_khong_danh_gia "
            "nếu học sinh khuyết tật không đánh giá nội dung này).",
        )

    # -- tong_hop ------------------------------------------------------------------------

    def overall_result(self) -> None:
        clean_ids = self.clean.select("ma_hoc_sinh")
        data = SchoolData(
            lop=typed("lop", self.valid["lop"]),
            giao_vien=empty_frame("giao_vien"),
            hoc_sinh=typed("hoc_sinh", self.clean.drop("khoi")),
            ket_qua_mon=typed(
                "ket_qua_mon",
                self.valid["ket_qua_mon"].join(clean_ids, on="ma_hoc_sinh", how="semi"),
            ),
            pham_chat_nang_luc=typed(
                "pham_chat_nang_luc",
                self.valid["pham_chat_nang_luc"].join(clean_ids, on="ma_hoc_sinh", how="semi"),
            ),
            tong_hop=typed(
                "tong_hop", self.valid["tong_hop"].join(clean_ids, on="ma_hoc_sinh", how="semi")
            ),
        )
        incomplete = sorted(self.incomplete)
        computed = tt27.compute_results(data).select(
            "ma_hoc_sinh",
            pl.when(pl.col("ma_hoc_sinh").is_in(incomplete))
            .then(pl.lit(None, pl.String))
            .otherwise(pl.col("danh_gia"))
            .alias("tinh"),
        )
        # Students with a refused row (or in a refused class) cannot be judged by TT27 here.
        th = (
            self.valid["tong_hop"]
            .join(clean_ids, on="ma_hoc_sinh", how="semi")
            .join(computed, on="ma_hoc_sinh", how="left")
        )
        differs = th.filter(
            pl.col("danh_gia").is_not_null()
            & pl.col("tinh").is_not_null()
            & (pl.col("danh_gia") != pl.col("tinh"))
        ).with_columns(
            pl.col("tinh").replace_strict(XEP_LOAI_NAMES, return_dtype=pl.String).alias("ten")
        )
        self.add(
            "tong_hop",
            differs,
            "danh_gia",
            "danh_gia_khac_tt27",
            "danh_gia",
            "Kết quả đánh giá ghi {danh_gia} nhưng theo mức đạt được của các môn, phẩm chất, "
            "năng lực và điểm kiểm tra thì là {tinh} ({ten}) theo Điều 9 Thông tư 27: sửa "
            "lại, hoặc để trống để hệ thống tự tính.",
        )
        # The result a commendation and a promotion are judged by: computed when it can be.
        th = th.with_columns(pl.coalesce("tinh", "danh_gia").alias("kq")).with_columns(
            pl.col("kq")
            .replace_strict(
                _RESULT_TEXT, default="chưa có kết quả đánh giá", return_dtype=pl.String
            )
            .alias("kq_ten")
        )
        self._commendation(th)
        self._promotion(th)

    def _commendation(self, th: pl.DataFrame) -> None:
        rows = th.filter(pl.col("khen_thuong").is_not_null())
        folded = fold_expr(pl.col("khen_thuong"))
        htxs, htt = fold(KHEN_THUONG_HTXS), fold(KHEN_THUONG_HTT)
        kq = pl.col("kq").fill_null("")
        self.add(
            "tong_hop",
            rows.filter((folded == htxs) & (kq != "HTXS")),
            "khen_thuong",
            "khen_thuong_htxs",
            "khen_thuong",
            f'Danh hiệu "{KHEN_THUONG_HTXS}" chỉ dành cho học sinh Hoàn thành xuất sắc '
            "(HTXS), còn học sinh này {kq_ten}: xóa hoặc sửa khen thưởng.",
        )
        self.add(
            "tong_hop",
            rows.filter((folded == htt) & (kq != "HTT")),
            "khen_thuong",
            "khen_thuong_htt",
            "khen_thuong",
            f'Danh hiệu "{KHEN_THUONG_HTT}" chỉ dành cho học sinh Hoàn thành tốt (HTT), '
            "còn học sinh này {kq_ten}: xóa hoặc sửa khen thưởng.",
        )
        self.add(
            "tong_hop",
            rows.filter((folded != htxs) & (folded != htt)),
            "khen_thuong",
            "khen_thuong_ngoai_mau",
            "khen_thuong",
            "Khen thưởng cuối năm theo Thông tư 27 chỉ có hai danh hiệu (Học sinh Xuất sắc; "
            "Học sinh Tiêu biểu hoàn thành tốt trong học tập và rèn luyện): nếu đây là khen "
            "thưởng đột xuất, chuyển sang cột khen_thuong_dot_xuat.",
            Severity.WARN,
        )

    def _promotion(self, th: pl.DataFrame) -> None:
        completing = [x.value for x in tt27.COMPLETING_RESULTS]
        self.add(
            "tong_hop",
            th.filter(pl.col("kq").is_in(completing) & (pl.col("len_lop") == "0")),
            "len_lop",
            "hoan_thanh_thi_len_lop",
            "len_lop",
            "Học sinh {kq} đã hoàn thành chương trình lớp học nên được lên lớp: xóa số 0 ở "
            "cột len_lop (cột này chỉ dùng cho học sinh vẫn chưa hoàn thành sau đánh giá "
            "bổ sung).",
        )
        self.add(
            "tong_hop",
            th.filter(
                (pl.col("kq") == "CHT")
                & pl.col("len_lop").is_not_null()
                & (pl.col("danh_gia_bo_sung").fill_null("0") != "1")
            ),
            "len_lop",
            "len_lop_truoc_bo_sung",
            "len_lop",
            "Quyết định lên lớp/ở lại lớp chỉ ghi sau khi đánh giá bổ sung trong hè: ghi 1 "
            "ở cột danh_gia_bo_sung nếu học sinh đã được đánh giá bổ sung.",
            Severity.WARN,
        )

    def summary_rows(self) -> None:
        if not self.has_tong_hop:
            self.problems.append(
                Problem(
                    "tong_hop",
                    None,
                    None,
                    "khong_co_bang_tong_hop",
                    None,
                    "Không có bảng tong_hop: kết quả đánh giá sẽ được tự tính, nhưng học bạ sẽ "
                    "thiếu nhận xét của giáo viên chủ nhiệm — nên bổ sung bảng này.",
                    Severity.WARN,
                )
            )
            return
        have = self.present["tong_hop"].select("ma_hoc_sinh").unique()
        missing = self.clean.join(have, on="ma_hoc_sinh", how="anti")
        self.add(
            "hoc_sinh",
            missing,
            "ma_hoc_sinh",
            "thieu_tong_hop",
            "ma_hoc_sinh",
            "Học sinh ở dòng này chưa có dòng trong bảng tong_hop: kết quả sẽ được tự tính "
            "nhưng học bạ thiếu nhận xét của giáo viên chủ nhiệm.",
            Severity.WARN,
        )

    # -- hoc_sinh -----------------------------------------------------------------------

    def ages(self) -> None:
        month, day = YEAR_START_MONTH_DAY
        start = dt.date(self.start_year, month, day)
        born = pl.col("ngay_sinh").str.to_date("%Y-%m-%d")
        exact = (
            pl.lit(start.year)
            - born.dt.year()
            - ((born.dt.month() * 100 + born.dt.day()) > month * 100 + day).cast(pl.Int32)
        )
        s = self.students.with_columns(
            exact.alias("tuoi"),
            (pl.lit(start.year) - born.dt.year()).alias("tuoi_nam"),
            (pl.col("khoi").cast(pl.Int32) + 5).alias("tuoi_chuan"),
        )
        wrong = s.filter(~pl.col("tuoi").is_between(AGE_MIN, AGE_MAX))
        self.add(
            "hoc_sinh",
            wrong,
            "ngay_sinh",
            "tuoi_ngoai_5_16",
            "ngay_sinh",
            f"Ngày sinh {{ngay_sinh}} cho tuổi {{tuoi}} vào đầu năm học ({start:%d/%m/%Y}), "
            f"ngoài khoảng {AGE_MIN}–{AGE_MAX} tuổi của học sinh tiểu học: kiểm tra lại "
            "ngày sinh.",
        )
        odd = s.filter(
            pl.col("tuoi").is_between(AGE_MIN, AGE_MAX)
            & (
                (pl.col("tuoi_nam") < pl.col("tuoi_chuan"))
                | (pl.col("tuoi_nam") > pl.col("tuoi_chuan") + AGE_OLDER_TOLERANCE)
            )
        )
        self.add(
            "hoc_sinh",
            odd,
            "ngay_sinh",
            "tuoi_khac_khoi",
            "ngay_sinh",
            "Học sinh khối {khoi} thường {tuoi_chuan} tuổi trong năm học này, ngày sinh "
            "{ngay_sinh} cho {tuoi_nam} tuổi: kiểm tra lại ngày sinh và lớp.",
            Severity.WARN,
        )


def check_rules(
    valid: Mapping[str, pl.DataFrame],
    present: Mapping[str, pl.DataFrame],
    *,
    tainted: Collection[str],
    start_year: int,
    has_tong_hop: bool,
    dataset: str,
) -> GateReport:
    """Run every TT27 rule.

    ``valid``: per table, the text rows that passed the first two gates; ``present``:
    per table, every row with its key cells (to tell "missing" from "refused");
    ``tainted``: students with a refused row, skipped by whole-student rules;
    ``start_year``: the school year's first year (ages).
    """
    r = _Rules(valid, present, tainted, start_year, has_tong_hop)
    r.subjects_of_grade()
    r.compulsory_subjects()
    r.criteria_of_grade()
    r.overall_result()
    r.summary_rows()
    r.ages()
    checked = sum(valid[t].height for t in valid)
    order = ("lop", "giao_vien", "hoc_sinh", "ket_qua_mon", "pham_chat_nang_luc", "tong_hop")
    problems = sorted(
        r.problems, key=lambda p: (order.index(p.table), p.sheet_row or 0, p.column or "", p.rule)
    )
    return GateReport("rules", dataset, checked, tuple(problems))
