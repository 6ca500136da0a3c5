"""Assessment rules of Thông tư 27/2020/TT-BGDĐT, as tables and pure functions.

Every rule of ``docs/tt27.md`` is one named constant or function here, so
that a rule we read provisionally (no primary text at hand) changes in one line.
Constants marked ``PROVISIONAL`` are such readings; the others are confirmed.

Two shapes of the same rules live side by side: scalar functions for one student
(``overall_result``, ``promoted`` …), which read like the circular, and
``compute_results``, which applies the same tables to a whole school in polars.
Both are built from ``RESULT_RULES``, and a test holds them to the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import polars as pl

from hocbaso.dataset import SchoolData
from hocbaso.errors import RecordError
from hocbaso.model import (
    CRITERIA,
    GRADES,
    KHEN_THUONG_HTT,
    KHEN_THUONG_HTXS,
    SUBJECTS,
    XepLoai,
)

# --------------------------------------------------------------------------------------
# Subjects, tests and criteria per grade (CTGDPT 2018; all grades follow it from 2024-2025)
# --------------------------------------------------------------------------------------

_ALL = (1, 2, 3, 4, 5)

#: Grades in which each subject is compulsory (confirmed).
COMPULSORY_GRADES: Mapping[str, tuple[int, ...]] = {
    "TV": _ALL,
    "TOAN": _ALL,
    "NN1": (3, 4, 5),
    "DD": _ALL,
    "TNXH": (1, 2, 3),
    "KH": (4, 5),
    "LSDL": (4, 5),
    "TIN": (3, 4, 5),  # Tin học và Công nghệ, row "Tin học"
    "CN": (3, 4, 5),  # Tin học và Công nghệ, row "Công nghệ"
    "GDTC": _ALL,
    "AN": _ALL,  # Nghệ thuật, row "Âm nhạc"
    "MT": _ALL,  # Nghệ thuật, row "Mĩ thuật"
    "HDTN": _ALL,
}

#: Grades in which each subject may be taken as an elective (confirmed).
ELECTIVE_GRADES: Mapping[str, tuple[int, ...]] = {
    "TDT": _ALL,  # Tiếng dân tộc thiểu số
    "NN1": (1, 2),
}

#: Grades whose end-of-year periodic test exists, per compulsory subject (Điều 7).
#: Confirmed except Khoa học (see ``KHOA_HOC_HAS_TEST``) and the split of Tin học và
#: Công nghệ into two rows that each carry a score (see ``TIN_CN_SCORE_ON_EACH_ROW``).
PERIODIC_TEST_GRADES: Mapping[str, tuple[int, ...]] = {
    "TV": _ALL,
    "TOAN": _ALL,
    "NN1": (3, 4, 5),
    "LSDL": (4, 5),
    "KH": (4, 5),
    "TIN": (3, 4, 5),
    "CN": (3, 4, 5),
}

#: PROVISIONAL: Khoa học has an end-of-year test in grades 4-5.
KHOA_HOC_HAS_TEST = True
#: PROVISIONAL: Tin học và Công nghệ is recorded as two rows, each with a level and a score.
TIN_CN_SCORE_ON_EACH_ROW = True
#: PROVISIONAL: elective subjects have no periodic test.
ELECTIVES_HAVE_TEST = False
#: PROVISIONAL: elective subjects, when studied, count in the overall result.
ELECTIVES_COUNT_IN_RESULT = True

#: PROVISIONAL: the specific competencies that apply only from some grade on
#: (real grade-1 records show 5 specific competencies).
CRITERIA_FIRST_GRADE: Mapping[str, int] = {"CONG_NGHE": 3, "TIN_HOC": 3}

_SUBJECT_ORDER: tuple[str, ...] = tuple(s.code for s in SUBJECTS)


def _check_grade(khoi: int) -> None:
    if khoi not in GRADES:
        raise RecordError(
            f"Khối lớp {khoi!r} không thuộc cấp tiểu học (chỉ có khối 1 đến 5).",
            hint="Sửa cột khoi của bảng lop thành một số từ 1 đến 5.",
        )


def subjects_for_grade(khoi: int) -> tuple[str, ...]:
    """Compulsory subject codes of a grade, in the order the record prints them."""
    _check_grade(khoi)
    return tuple(c for c in _SUBJECT_ORDER if khoi in COMPULSORY_GRADES.get(c, ()))


def elective_subjects(khoi: int) -> tuple[str, ...]:
    """Subject codes a student of the grade may take as electives."""
    _check_grade(khoi)
    return tuple(c for c in _SUBJECT_ORDER if khoi in ELECTIVE_GRADES.get(c, ()))


def subjects_taught(khoi: int) -> tuple[str, ...]:
    """Every subject code that may appear in a record of the grade (compulsory or elective)."""
    _check_grade(khoi)
    return tuple(
        c
        for c in _SUBJECT_ORDER
        if khoi in COMPULSORY_GRADES.get(c, ()) or khoi in ELECTIVE_GRADES.get(c, ())
    )


def has_periodic_test(mon_hoc: str, khoi: int) -> bool:
    """Whether the subject has an end-of-year periodic test in the grade.

    Only compulsory subjects are tested (``ELECTIVES_HAVE_TEST``): Ngoại ngữ 1 in
    grades 1-2 is an elective and therefore has no test.
    """
    _check_grade(khoi)
    if khoi not in COMPULSORY_GRADES.get(mon_hoc, ()):
        return ELECTIVES_HAVE_TEST and khoi in ELECTIVE_GRADES.get(mon_hoc, ())
    if mon_hoc == "KH" and not KHOA_HOC_HAS_TEST:
        return False
    if mon_hoc == "CN" and not TIN_CN_SCORE_ON_EACH_ROW:
        return False
    return khoi in PERIODIC_TEST_GRADES.get(mon_hoc, ())


def counts_in_result(mon_hoc: str, khoi: int) -> bool:
    """Whether a studied subject's level counts in the overall result: compulsory ones
    always, electives while ``ELECTIVES_COUNT_IN_RESULT`` (provisional) holds. Callers
    of ``overall_result`` pass only the levels for which this is true."""
    _check_grade(khoi)
    return khoi in COMPULSORY_GRADES.get(mon_hoc, ()) or ELECTIVES_COUNT_IN_RESULT


def tested_subjects(khoi: int) -> tuple[str, ...]:
    """Subject codes of the grade that have an end-of-year periodic test."""
    return tuple(c for c in subjects_taught(khoi) if has_periodic_test(c, khoi))


def criteria_for_grade(khoi: int) -> tuple[str, ...]:
    """Quality and competency codes assessed in the grade, in the record's order."""
    _check_grade(khoi)
    return tuple(c.code for c in CRITERIA if khoi >= CRITERIA_FIRST_GRADE.get(c.code, 1))


# --------------------------------------------------------------------------------------
# Overall result (Điều 9)
# --------------------------------------------------------------------------------------

SUBJECT_LEVELS: frozenset[str] = frozenset({"T", "H", "C", "M"})
CRITERION_LEVELS: frozenset[str] = frozenset({"T", "Đ", "C"})
#: Subject level meaning exempt (miễn): ignored by the overall result; also a score value.
MIEN = "M"
SCORE_MIN, SCORE_MAX = 0, 10


@dataclass(frozen=True, slots=True)
class ResultRule:
    """One row of the Điều 9 table: the result holds when every level and score fits."""

    xep_loai: XepLoai
    subject_levels: frozenset[str]  # levels every (non-exempt) subject must have
    criterion_levels: frozenset[str]  # levels every quality and competency must have
    min_score: int  # every end-of-year test score must be at least this


#: The Điều 9 table, checked first to last; the first row that holds wins; else CHT.
RESULT_RULES: tuple[ResultRule, ...] = (
    ResultRule(XepLoai.HTXS, frozenset({"T"}), frozenset({"T"}), 9),
    ResultRule(XepLoai.HTT, frozenset({"T"}), frozenset({"T"}), 7),
    ResultRule(XepLoai.HT, frozenset({"T", "H"}), frozenset({"T", "Đ"}), 5),
)
RESULT_OTHERWISE = XepLoai.CHT


def parse_score(value: str | int | None) -> int | None:
    """An end-of-year score as stored (``"0"``..``"10"``, ``"M"`` or empty) as an int.

    ``None`` for no score and for exempt (``M``); ``RecordError`` for anything else.
    """
    if value is None or value == MIEN or value == "":
        return None
    try:
        score = int(value)
    except (TypeError, ValueError) as exc:
        raise RecordError(
            f"Điểm kiểm tra định kì {value!r} không hợp lệ.",
            hint="Điểm là số nguyên từ 0 đến 10, hoặc M nếu được miễn.",
        ) from exc
    if not SCORE_MIN <= score <= SCORE_MAX or str(value).strip() != str(score):
        raise RecordError(
            f"Điểm kiểm tra định kì {value!r} không hợp lệ.",
            hint="Điểm là số nguyên từ 0 đến 10 (không có phần thập phân), hoặc M nếu được miễn.",
        )
    return score


def overall_result(
    subject_levels: Iterable[str],
    criterion_levels: Iterable[str],
    test_scores: Iterable[int],
) -> XepLoai:
    """The year-end result of one student (Điều 9).

    ``subject_levels``: the levels of all subjects and activities studied (exempt
    ``M`` is ignored); ``criterion_levels``: the levels of all qualities and the
    competencies of the grade; ``test_scores``: all end-of-year test scores of the
    grade (exempt tests left out by the caller, see ``parse_score``).
    """
    subjects = frozenset(subject_levels)
    criteria = frozenset(criterion_levels)
    scores = tuple(test_scores)
    if not subjects <= SUBJECT_LEVELS:
        raise RecordError(
            f"Mức đạt được của môn học không hợp lệ: {sorted(subjects - SUBJECT_LEVELS)}.",
            hint="Dùng T (Hoàn thành tốt), H (Hoàn thành), C (Chưa hoàn thành) hoặc M (miễn).",
        )
    if not criteria <= CRITERION_LEVELS:
        raise RecordError(
            f"Mức đạt được của phẩm chất, năng lực không hợp lệ: "
            f"{sorted(criteria - CRITERION_LEVELS)}.",
            hint="Dùng T (Tốt), Đ (Đạt) hoặc C (Cần cố gắng).",
        )
    for s in scores:
        if not isinstance(s, int) or not SCORE_MIN <= s <= SCORE_MAX:
            raise RecordError(
                f"Điểm kiểm tra định kì {s!r} không hợp lệ.",
                hint="Điểm là số nguyên từ 0 đến 10.",
            )
    subjects = subjects - {MIEN}
    lowest = min(scores, default=None)
    for rule in RESULT_RULES:
        if (
            subjects <= rule.subject_levels
            and criteria <= rule.criterion_levels
            and (lowest is None or lowest >= rule.min_score)
        ):
            return rule.xep_loai
    return RESULT_OTHERWISE


# --------------------------------------------------------------------------------------
# Completion, promotion, commendation (Điều 11, 13) and the two deadlines
# --------------------------------------------------------------------------------------

#: Results that complete the grade programme (confirmed).
COMPLETING_RESULTS: frozenset[XepLoai] = frozenset({XepLoai.HTXS, XepLoai.HTT, XepLoai.HT})
#: The grade whose completion is the completion of primary school.
LAST_GRADE = 5

#: PROVISIONAL: a student with a disability who is not assessed on some contents has no
#: computed result; the grade is completed and the student promoted unless the principal
#: decided otherwise (``len_lop`` = 0) following the individual education plan.
NOT_ASSESSED_DEFAULT_PROMOTED = True

#: Commendations a result allows (confirmed); ad-hoc (đột xuất) ones are free text.
COMMENDATIONS: Mapping[XepLoai, frozenset[str]] = {
    XepLoai.HTXS: frozenset({KHEN_THUONG_HTXS}),
    XepLoai.HTT: frozenset({KHEN_THUONG_HTT}),
}

HanNop = Literal["chinh", "bo_sung"]
#: Records of students who completed the grade at year end: the main deadline (16 May).
HAN_NOP_CHINH: HanNop = "chinh"
#: Records of students assessed again in the summer: the supplementary deadline (25 Aug).
HAN_NOP_BO_SUNG: HanNop = "bo_sung"


def completes_grade(x: XepLoai | str | None) -> bool:
    """Whether a result completes the grade programme (HTXS, HTT, HT)."""
    return x is not None and x in COMPLETING_RESULTS


def completes_grade_not_assessed(len_lop: bool | None) -> bool:
    """Completion of a student not assessed (disability): the principal's decision,
    by default completed (``NOT_ASSESSED_DEFAULT_PROMOTED``, provisional)."""
    return NOT_ASSESSED_DEFAULT_PROMOTED if len_lop is None else len_lop


def promoted(
    x: XepLoai | str | None, danh_gia_bo_sung: bool | None, len_lop: bool | None
) -> bool | None:
    """Whether the student moves up a grade; ``None`` while the decision is pending.

    A completed grade promotes. A CHT student is helped and assessed again in the
    summer (``danh_gia_bo_sung``); whoever is still CHT afterwards is promoted or
    repeats by the principal's decision (``len_lop``). Until that decision exists
    the answer is ``None``: awaiting the supplementary assessment, then the
    principal. ``x`` is ``None`` for a student not assessed (disability).
    """
    if completes_grade(x):
        return True
    if x is None:
        return completes_grade_not_assessed(len_lop)
    return len_lop


def awaiting_decision(
    x: XepLoai | str | None, danh_gia_bo_sung: bool | None, len_lop: bool | None
) -> str | None:
    """What a pending student waits for, in Vietnamese, or ``None`` when decided."""
    if promoted(x, danh_gia_bo_sung, len_lop) is not None:
        return None
    if not danh_gia_bo_sung:
        return "chờ đánh giá bổ sung trong hè"
    return "chờ hiệu trưởng quyết định lên lớp hoặc ở lại lớp"


def deadline_group(x: XepLoai | str | None, danh_gia_bo_sung: bool | None) -> HanNop:
    """Which deadline the record belongs to: CHT at year end, or a result that comes
    from the summer assessment, waits for the supplementary deadline."""
    if danh_gia_bo_sung or x == XepLoai.CHT:
        return HAN_NOP_BO_SUNG
    return HAN_NOP_CHINH


def completion_text(khoi: int, x: XepLoai | str | None, duoc_len_lop: bool | None) -> str:
    """Section 6 of the record (``ndunghoanthanh``).

    "Hoàn thành chương trình lớp 3", "Hoàn thành chương trình tiểu học",
    "Chưa hoàn thành chương trình lớp 2; được lên lớp" / "; ở lại lớp 2" /
    "; chờ đánh giá bổ sung". Grade 5 speaks of the primary programme, never of
    promotion (Điều 11): "Chưa hoàn thành chương trình tiểu học; ở lại lớp 5" /
    "; chờ đánh giá bổ sung", and no "được lên lớp" (there is no grade 6 of primary
    to move up to: a grade-5 pupil either completes primary or stays in grade 5).
    """
    _check_grade(khoi)
    done = completes_grade(x) if x is not None else completes_grade_not_assessed(duoc_len_lop)
    if done:
        return (
            "Hoàn thành chương trình tiểu học"
            if khoi == LAST_GRADE
            else f"Hoàn thành chương trình lớp {khoi}"
        )
    if khoi == LAST_GRADE:
        base = "Chưa hoàn thành chương trình tiểu học"
        if duoc_len_lop is None:
            return f"{base}; chờ đánh giá bổ sung"
        return base if duoc_len_lop else f"{base}; ở lại lớp {khoi}"
    base = f"Chưa hoàn thành chương trình lớp {khoi}"
    if duoc_len_lop is None:
        return f"{base}; chờ đánh giá bổ sung"
    return f"{base}; được lên lớp" if duoc_len_lop else f"{base}; ở lại lớp {khoi}"


def allowed_commendations(x: XepLoai | str | None) -> frozenset[str]:
    """The year-end commendations (besides the free-text ad-hoc ones) a result allows."""
    if x is None:
        return frozenset()
    return COMMENDATIONS.get(XepLoai(x), frozenset())


# --------------------------------------------------------------------------------------
# The whole school at once
# --------------------------------------------------------------------------------------

RESULT_COLUMNS: dict[str, pl.DataType] = {
    "ma_hoc_sinh": pl.String(),
    "ma_lop": pl.String(),
    "khoi": pl.Int8(),
    "danh_gia": pl.String(),
    "hoan_thanh_chuong_trinh_lop": pl.Boolean(),
    "hoan_thanh_chuong_trinh_tieu_hoc": pl.Boolean(),
    "duoc_len_lop": pl.Boolean(),
    "khen_thuong": pl.String(),
    "danh_gia_bo_sung": pl.Boolean(),
    "han_nop": pl.String(),
}

_SCORE_TEXTS = [str(i) for i in range(SCORE_MIN, SCORE_MAX + 1)]


def _refuse_unknown(
    frame: pl.DataFrame, column: str, allowed: list[str], table: str, hint: str
) -> None:
    bad = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(allowed))
    if bad.height:
        values = sorted(set(bad[column].to_list()))[:5]
        raise RecordError(
            f"Bảng {table}, cột {column}: {bad.height} dòng có giá trị không hợp lệ {values}.",
            hint=hint,
        )


def _level_counts(frame: pl.DataFrame, levels: frozenset[str], prefix: str) -> pl.DataFrame:
    """Per student, how many rows hold each level (exempt and empty rows excluded)."""
    return frame.group_by("ma_hoc_sinh").agg(
        (pl.col("muc_dat") == lv).sum().alias(f"{prefix}{lv}") for lv in sorted(levels)
    )


def _rule_holds(rule: ResultRule) -> pl.Expr:
    held = pl.lit(True)
    for lv in sorted(SUBJECT_LEVELS - {MIEN} - rule.subject_levels):
        held = held & (pl.col(f"s_{lv}") == 0)
    for lv in sorted(CRITERION_LEVELS - rule.criterion_levels):
        held = held & (pl.col(f"c_{lv}") == 0)
    return held & (pl.col("min_score").is_null() | (pl.col("min_score") >= rule.min_score))


def compute_results(data: SchoolData) -> pl.DataFrame:
    """Year-end results of every student of ``data`` (columns ``RESULT_COLUMNS``).

    ``danh_gia`` is computed from the levels and scores (null for students with a
    disability who are not assessed); ``khen_thuong``, ``danh_gia_bo_sung`` and the
    principal's ``len_lop`` come from ``tong_hop`` when present; ``duoc_len_lop`` is
    null while a CHT student waits for the summer assessment or the principal.
    The given ``tong_hop.danh_gia`` is not used: the gates compare it with this one.
    """
    kqm, pcnl = data.ket_qua_mon, data.pham_chat_nang_luc
    _refuse_unknown(kqm, "muc_dat", sorted(SUBJECT_LEVELS), "ket_qua_mon", "Dùng T, H, C hoặc M.")
    _refuse_unknown(
        kqm,
        "diem_ktdk",
        [*_SCORE_TEXTS, MIEN],
        "ket_qua_mon",
        "Điểm là số nguyên từ 0 đến 10, hoặc M nếu được miễn.",
    )
    _refuse_unknown(
        pcnl,
        "muc_dat",
        sorted(CRITERION_LEVELS),
        "pham_chat_nang_luc",
        "Dùng T (Tốt), Đ (Đạt) hoặc C (Cần cố gắng).",
    )

    if not ELECTIVES_COUNT_IN_RESULT:
        counted = pl.DataFrame(
            [(k, c) for k in GRADES for c in subjects_for_grade(k)],
            schema={"khoi": pl.Int8(), "mon_hoc": pl.String()},
            orient="row",
        )
        kqm = (
            kqm.join(data.hoc_sinh.select("ma_hoc_sinh", "ma_lop"), on="ma_hoc_sinh")
            .join(data.lop.select("ma_lop", "khoi"), on="ma_lop")
            .join(counted, on=["khoi", "mon_hoc"], how="semi")
        )
    subj = _level_counts(kqm, SUBJECT_LEVELS - {MIEN}, "s_")
    scores = (
        kqm.filter(pl.col("diem_ktdk").is_in(_SCORE_TEXTS))
        .group_by("ma_hoc_sinh")
        .agg(pl.col("diem_ktdk").cast(pl.Int8).min().alias("min_score"))
    )
    crit = _level_counts(pcnl, CRITERION_LEVELS, "c_")
    tong_hop = data.tong_hop.select(
        "ma_hoc_sinh", "khen_thuong", "danh_gia_bo_sung", "len_lop"
    ).unique("ma_hoc_sinh", keep="first")

    students = (
        data.hoc_sinh.select("ma_hoc_sinh", "ma_lop", "khuyet_tat_khong_danh_gia")
        .join(data.lop.select("ma_lop", "khoi"), on="ma_lop", how="left")
        .join(subj, on="ma_hoc_sinh", how="left")
        .join(crit, on="ma_hoc_sinh", how="left")
        .join(scores, on="ma_hoc_sinh", how="left")
        .join(tong_hop, on="ma_hoc_sinh", how="left")
        .with_columns(
            pl.col("^[sc]_.*$").fill_null(0),
            pl.col("khuyet_tat_khong_danh_gia").fill_null(False),
            pl.col("danh_gia_bo_sung").fill_null(False),
        )
    )

    # The table read first to last: fold it from the end so the first rule is outermost.
    danh_gia: pl.Expr = pl.lit(RESULT_OTHERWISE.value)
    for rule in reversed(RESULT_RULES):
        danh_gia = pl.when(_rule_holds(rule)).then(pl.lit(rule.xep_loai.value)).otherwise(danh_gia)
    danh_gia = (
        pl.when(pl.col("khuyet_tat_khong_danh_gia"))
        .then(pl.lit(None, pl.String()))
        .otherwise(danh_gia)
    )

    completing = [x.value for x in COMPLETING_RESULTS]
    not_assessed = pl.col("danh_gia").is_null()
    completes = (
        pl.when(not_assessed)
        .then(pl.col("len_lop").fill_null(NOT_ASSESSED_DEFAULT_PROMOTED))
        .otherwise(pl.col("danh_gia").is_in(completing))
    )
    return (
        students.with_columns(danh_gia.alias("danh_gia"))
        .with_columns(completes.alias("hoan_thanh_chuong_trinh_lop"))
        .with_columns(
            pl.when(pl.col("khoi") == LAST_GRADE)
            .then(pl.col("hoan_thanh_chuong_trinh_lop"))
            .otherwise(pl.lit(None, pl.Boolean()))
            .alias("hoan_thanh_chuong_trinh_tieu_hoc"),
            pl.when(pl.col("hoan_thanh_chuong_trinh_lop"))
            .then(pl.lit(True))
            .otherwise(pl.col("len_lop"))
            .alias("duoc_len_lop"),
            pl.when(pl.col("danh_gia_bo_sung") | (pl.col("danh_gia") == XepLoai.CHT.value))
            .then(pl.lit(HAN_NOP_BO_SUNG))
            .otherwise(pl.lit(HAN_NOP_CHINH))
            .alias("han_nop"),
        )
        .select([pl.col(name).cast(dtype) for name, dtype in RESULT_COLUMNS.items()])
        .sort("ma_lop", "ma_hoc_sinh")
    )
