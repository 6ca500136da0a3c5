"""The TT27 engine: every row and rule of docs/tt27.md, with boundaries."""

from __future__ import annotations

import random
import time
from typing import Any

import polars as pl
import pytest

from hocbaso import tt27
from hocbaso.dataset import TABLE_SCHEMAS, SchoolData
from hocbaso.errors import RecordError
from hocbaso.model import KHEN_THUONG_HTT, KHEN_THUONG_HTXS, XepLoai

HTXS, HTT, HT, CHT = XepLoai.HTXS, XepLoai.HTT, XepLoai.HT, XepLoai.CHT


# ---------------------------------------------------------------- subjects, tests, criteria


@pytest.mark.parametrize(
    ("khoi", "expected"),
    [
        (1, ("TV", "TOAN", "DD", "TNXH", "GDTC", "AN", "MT", "HDTN")),
        (2, ("TV", "TOAN", "DD", "TNXH", "GDTC", "AN", "MT", "HDTN")),
        (3, ("TV", "TOAN", "NN1", "DD", "TNXH", "TIN", "CN", "GDTC", "AN", "MT", "HDTN")),
        (4, ("TV", "TOAN", "NN1", "DD", "KH", "LSDL", "TIN", "CN", "GDTC", "AN", "MT", "HDTN")),
        (5, ("TV", "TOAN", "NN1", "DD", "KH", "LSDL", "TIN", "CN", "GDTC", "AN", "MT", "HDTN")),
    ],
    ids=lambda v: f"lop{v}" if isinstance(v, int) else "",
)
def test_compulsory_subjects_per_grade(khoi: int, expected: tuple[str, ...]) -> None:
    assert tt27.subjects_for_grade(khoi) == expected


@pytest.mark.parametrize(
    ("khoi", "expected"),
    [(1, ("NN1", "TDT")), (2, ("NN1", "TDT")), (3, ("TDT",)), (4, ("TDT",)), (5, ("TDT",))],
)
def test_electives_per_grade(khoi: int, expected: tuple[str, ...]) -> None:
    assert tt27.elective_subjects(khoi) == expected
    assert not set(expected) & set(tt27.subjects_for_grade(khoi))


@pytest.mark.parametrize(
    ("khoi", "tested"),
    [
        (1, {"TV", "TOAN"}),
        (2, {"TV", "TOAN"}),
        (3, {"TV", "TOAN", "NN1", "TIN", "CN"}),
        (4, {"TV", "TOAN", "NN1", "TIN", "CN", "LSDL", "KH"}),
        (5, {"TV", "TOAN", "NN1", "TIN", "CN", "LSDL", "KH"}),
    ],
)
def test_end_of_year_tests_per_grade(khoi: int, tested: set[str]) -> None:
    for code in tt27.subjects_taught(khoi):
        assert tt27.has_periodic_test(code, khoi) is (code in tested), code
    assert set(tt27.tested_subjects(khoi)) == tested


def test_electives_have_no_test() -> None:
    # NN1 is elective in grades 1-2 (no test) and compulsory from 3 (test).
    assert not tt27.has_periodic_test("NN1", 1)
    assert not tt27.has_periodic_test("NN1", 2)
    assert tt27.has_periodic_test("NN1", 3)
    assert not any(tt27.has_periodic_test("TDT", k) for k in range(1, 6))
    # A subject not taught in the grade has no test either.
    assert not tt27.has_periodic_test("KH", 3)
    assert not tt27.has_periodic_test("TNXH", 4)


@pytest.mark.parametrize("khoi", [1, 2])
def test_criteria_grades_1_2_have_5_specific_competencies(khoi: int) -> None:
    codes = tt27.criteria_for_grade(khoi)
    assert len(codes) == 13
    assert "CONG_NGHE" not in codes and "TIN_HOC" not in codes


@pytest.mark.parametrize("khoi", [3, 4, 5])
def test_criteria_from_grade_3_have_7_specific_competencies(khoi: int) -> None:
    codes = tt27.criteria_for_grade(khoi)
    assert len(codes) == 15
    assert codes[:5] == ("YEU_NUOC", "NHAN_AI", "CHAM_CHI", "TRUNG_THUC", "TRACH_NHIEM")


@pytest.mark.parametrize("khoi", [0, 6, -1])
def test_grade_outside_primary_is_refused(khoi: int) -> None:
    with pytest.raises(RecordError, match="Khối lớp") as info:
        tt27.subjects_for_grade(khoi)
    assert info.value.hint and "1 đến 5" in info.value.hint


# ---------------------------------------------------------------- Điều 9


@pytest.mark.parametrize(
    ("subjects", "criteria", "scores", "expected"),
    [
        pytest.param("TTTT", "TTT", [10, 9], HTXS, id="all-T-9"),
        pytest.param("TTTT", "TTT", [10, 10], HTXS, id="all-T-10"),
        pytest.param("TTTT", "TTT", [10, 8], HTT, id="all-T-8"),
        pytest.param("TTTT", "TTT", [7, 9], HTT, id="all-T-7"),
        pytest.param("TTTT", "TTT", [6, 10], HT, id="all-T-6"),
        pytest.param("TTTT", "TTT", [5, 10], HT, id="all-T-5"),
        pytest.param("TTTT", "TTT", [4, 10], CHT, id="all-T-4"),
        pytest.param("TTTT", "TTT", [0, 10], CHT, id="score-0"),
        pytest.param("TTTH", "TTT", [10, 10], HT, id="one-H"),
        pytest.param("TTTT", "TTĐ", [10, 10], HT, id="one-Đ"),
        pytest.param("HHHH", "ĐĐĐ", [5, 5], HT, id="all-H-Đ-5"),
        pytest.param("HHHH", "ĐĐĐ", [4, 5], CHT, id="all-H-Đ-4"),
        pytest.param("TTTC", "TTT", [10, 10], CHT, id="one-C-subject"),
        pytest.param("TTTT", "TTC", [10, 10], CHT, id="one-C-criterion"),
        pytest.param("TTTM", "TTT", [9], HTXS, id="M-ignored"),
        pytest.param("MMMM", "TTT", [], HTXS, id="all-M"),
        pytest.param("TTHM", "TTT", [], HT, id="M-with-H"),
        pytest.param("TTTT", "TTT", [], HTXS, id="no-test"),
        pytest.param("TTTT", "", [9], HTXS, id="no-criteria"),
    ],
)
def test_overall_result_table(
    subjects: str, criteria: str, scores: list[int], expected: XepLoai
) -> None:
    assert tt27.overall_result(list(subjects), list(criteria), scores) is expected


def test_elective_counts_in_result() -> None:
    # A compulsory set of T plus an elective TDT at H: the elective counts (provisional).
    assert tt27.ELECTIVES_COUNT_IN_RESULT
    assert tt27.overall_result(["T"] * 8 + ["H"], ["T"] * 13, [10, 10]) is HT


@pytest.mark.parametrize(
    ("code", "khoi", "counts"),
    [("TV", 1, True), ("TDT", 3, True), ("NN1", 1, True), ("NN1", 4, True)],
)
def test_counts_in_result(code: str, khoi: int, counts: bool) -> None:
    assert tt27.counts_in_result(code, khoi) is counts


def test_first_matching_row_wins() -> None:
    # HTXS conditions imply HTT and HT: the table order decides.
    assert [r.xep_loai for r in tt27.RESULT_RULES] == [HTXS, HTT, HT]
    assert tt27.RESULT_OTHERWISE is CHT


@pytest.mark.parametrize(
    ("subjects", "criteria", "scores", "fragment"),
    [
        (["X"], ["T"], [9], "môn học"),
        (["T"], ["D"], [9], "phẩm chất"),
        (["T"], ["T"], [11], "11"),
        (["T"], ["T"], [-1], "-1"),
    ],
)
def test_overall_result_refuses_unknown_codes(
    subjects: list[str], criteria: list[str], scores: list[int], fragment: str
) -> None:
    with pytest.raises(RecordError, match=fragment):
        tt27.overall_result(subjects, criteria, scores)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("10", 10), ("9", 9), (7, 7), ("M", None), (None, None), ("", None)],
)
def test_parse_score(value: Any, expected: int | None) -> None:
    assert tt27.parse_score(value) == expected


@pytest.mark.parametrize("value", ["11", "-1", "8.5", "abc", "09"])
def test_parse_score_refuses(value: str) -> None:
    with pytest.raises(RecordError, match="Điểm kiểm tra"):
        tt27.parse_score(value)


# ---------------------------------------------------------------- Điều 11, 13


@pytest.mark.parametrize(
    ("x", "done"), [(HTXS, True), (HTT, True), (HT, True), (CHT, False), (None, False)]
)
def test_completes_grade(x: XepLoai | None, done: bool) -> None:
    assert tt27.completes_grade(x) is done


@pytest.mark.parametrize(
    ("khoi", "x", "len_lop", "text"),
    [
        (1, HT, True, "Hoàn thành chương trình lớp 1"),
        (3, HTXS, True, "Hoàn thành chương trình lớp 3"),
        (5, HTT, True, "Hoàn thành chương trình tiểu học"),
        (2, CHT, True, "Chưa hoàn thành chương trình lớp 2; được lên lớp"),
        (2, CHT, False, "Chưa hoàn thành chương trình lớp 2; ở lại lớp 2"),
        (5, CHT, False, "Chưa hoàn thành chương trình tiểu học; ở lại lớp 5"),
        (5, CHT, True, "Chưa hoàn thành chương trình tiểu học"),
        (5, CHT, None, "Chưa hoàn thành chương trình tiểu học; chờ đánh giá bổ sung"),
        (3, CHT, None, "Chưa hoàn thành chương trình lớp 3; chờ đánh giá bổ sung"),
        (4, None, True, "Hoàn thành chương trình lớp 4"),
        (5, None, None, "Hoàn thành chương trình tiểu học"),
        (4, None, False, "Chưa hoàn thành chương trình lớp 4; ở lại lớp 4"),
    ],
)
def test_completion_text(khoi: int, x: XepLoai | None, len_lop: bool | None, text: str) -> None:
    assert tt27.completion_text(khoi, x, len_lop) == text


@pytest.mark.parametrize(
    ("x", "allowed"),
    [
        (HTXS, {KHEN_THUONG_HTXS}),
        (HTT, {KHEN_THUONG_HTT}),
        (HT, set()),
        (CHT, set()),
        (None, set()),
    ],
)
def test_allowed_commendations(x: XepLoai | None, allowed: set[str]) -> None:
    assert tt27.allowed_commendations(x) == allowed


@pytest.mark.parametrize(
    ("x", "bo_sung", "len_lop", "expected", "waiting"),
    [
        (HT, False, None, True, None),
        (HTXS, False, None, True, None),
        (HT, True, None, True, None),  # completed after the summer assessment
        (CHT, False, None, None, "chờ đánh giá bổ sung trong hè"),
        (CHT, True, None, None, "chờ hiệu trưởng quyết định lên lớp hoặc ở lại lớp"),
        (CHT, True, True, True, None),  # principal promotes
        (CHT, True, False, False, None),  # principal keeps in grade
        (None, False, None, True, None),  # not assessed: promoted by default (provisional)
        (None, False, False, False, None),
    ],
)
def test_promotion(
    x: XepLoai | None,
    bo_sung: bool,
    len_lop: bool | None,
    expected: bool | None,
    waiting: str | None,
) -> None:
    assert tt27.promoted(x, bo_sung, len_lop) is expected
    assert tt27.awaiting_decision(x, bo_sung, len_lop) == waiting


@pytest.mark.parametrize(
    ("x", "bo_sung", "group"),
    [
        (HTXS, False, "chinh"),
        (HT, False, "chinh"),
        (CHT, False, "bo_sung"),
        (HT, True, "bo_sung"),
        (None, False, "chinh"),
    ],
)
def test_deadline_group(x: XepLoai | None, bo_sung: bool, group: str) -> None:
    assert tt27.deadline_group(x, bo_sung) == group


# ---------------------------------------------------------------- the whole school


def _frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def _school(students: list[dict[str, Any]]) -> SchoolData:
    """A school from compact student specs: khoi, subjects {code: (level, score)},
    criteria {code: level}, tong_hop fields, khuyet_tat."""
    lop, hs, kqm, pcnl, th = [], [], [], [], []
    for k in range(1, 6):
        lop.append({"ma_lop": f"{k}A", "khoi": k, "ma_gvcn": "GV1"})
    for i, s in enumerate(students):
        mhs = f"HS{i:05d}"
        hs.append(
            {
                "ma_hoc_sinh": mhs,
                "ma_lop": f"{s['khoi']}A",
                "khuyet_tat_khong_danh_gia": s.get("khuyet_tat", False),
                "nghi_co_phep": 0,
                "nghi_khong_phep": 0,
            }
        )
        for code, (level, score) in s.get("subjects", {}).items():
            kqm.append({"ma_hoc_sinh": mhs, "mon_hoc": code, "muc_dat": level, "diem_ktdk": score})
        for code, level in s.get("criteria", {}).items():
            pcnl.append({"ma_hoc_sinh": mhs, "tieu_chi": code, "muc_dat": level})
        if "tong_hop" in s:
            th.append({"ma_hoc_sinh": mhs, "nhan_xet": "x", **s["tong_hop"]})
    return SchoolData(
        lop=_frame("lop", lop),
        giao_vien=_frame("giao_vien", [{"ma_giao_vien": "GV1", "ho_ten": "A"}]),
        hoc_sinh=_frame("hoc_sinh", hs),
        ket_qua_mon=_frame("ket_qua_mon", kqm),
        pham_chat_nang_luc=_frame("pham_chat_nang_luc", pcnl),
        tong_hop=_frame("tong_hop", th),
    )


def _random_student(rng: random.Random, khoi: int) -> dict[str, Any]:
    good = rng.random() < 0.7  # most students are mostly T, so every result shows up
    subjects: dict[str, tuple[str, str | None]] = {}
    taught = list(tt27.subjects_for_grade(khoi))
    if rng.random() < 0.2:
        taught += list(tt27.elective_subjects(khoi))
    for code in taught:
        level = rng.choice("TTTTTTTTTTTTTTTTTTTM" if good else "TTTHHC")
        score: str | None = None
        if tt27.has_periodic_test(code, khoi):
            score = (
                "M"
                if level == "M"
                else str(rng.choice([10, 10, 9, 9, 9, 8] if good else [10, 9, 8, 7, 6, 5, 4, 3, 0]))
            )
        subjects[code] = (level, score)
    criteria = {
        c: rng.choice("TTTTTTTTTTTTTTTTTTTTTTTTTTTTTĐ" if good else "TTĐĐC")
        for c in tt27.criteria_for_grade(khoi)
    }
    spec: dict[str, Any] = {"khoi": khoi, "subjects": subjects, "criteria": criteria}
    roll = rng.random()
    if roll < 0.03:
        spec["khuyet_tat"] = True
        spec["criteria"] = {}
    if rng.random() < 0.5:
        spec["tong_hop"] = {
            "danh_gia_bo_sung": rng.random() < 0.1,
            "len_lop": rng.choice([None, None, True, False]),
            "khen_thuong": None,
        }
    return spec


def _scalar(spec: dict[str, Any]) -> dict[str, Any]:
    th = spec.get("tong_hop", {})
    bo_sung, len_lop = bool(th.get("danh_gia_bo_sung")), th.get("len_lop")
    if spec.get("khuyet_tat"):
        x = None
    else:
        x = tt27.overall_result(
            [lv for lv, _ in spec["subjects"].values()],
            spec["criteria"].values(),
            [s for _, sc in spec["subjects"].values() if (s := tt27.parse_score(sc)) is not None],
        )
    done = tt27.completes_grade(x) if x is not None else tt27.completes_grade_not_assessed(len_lop)
    return {
        "danh_gia": None if x is None else x.value,
        "hoan_thanh_chuong_trinh_lop": done,
        "hoan_thanh_chuong_trinh_tieu_hoc": done if spec["khoi"] == 5 else None,
        "duoc_len_lop": tt27.promoted(x, bo_sung, len_lop),
        "danh_gia_bo_sung": bo_sung,
        "han_nop": tt27.deadline_group(x, bo_sung),
    }


def test_compute_results_agrees_with_scalar_rules() -> None:
    rng = random.Random(20250516)
    specs = [_random_student(rng, rng.randint(1, 5)) for _ in range(3000)]
    results = tt27.compute_results(_school(specs))
    assert results.schema == pl.Schema(tt27.RESULT_COLUMNS)
    assert results.height == len(specs)
    rows = {r["ma_hoc_sinh"]: r for r in results.iter_rows(named=True)}
    seen: set[str | None] = set()
    for i, spec in enumerate(specs):
        row = rows[f"HS{i:05d}"]
        expected = _scalar(spec)
        assert {k: row[k] for k in expected} == expected, (i, spec)
        assert row["khoi"] == spec["khoi"]
        seen.add(row["danh_gia"])
    assert seen == {"HTXS", "HTT", "HT", "CHT", None}  # the generator reached every outcome


def test_compute_results_named_cases() -> None:
    t5 = {c: "T" for c in tt27.criteria_for_grade(5)}
    t1 = {c: "T" for c in tt27.criteria_for_grade(1)}

    def subj(khoi: int, score: str, **levels: str) -> dict[str, tuple[str, str | None]]:
        codes = [*tt27.subjects_for_grade(khoi), *levels.keys()]
        return {
            c: (levels.get(c, "T"), score if tt27.has_periodic_test(c, khoi) else None)
            for c in codes
        }

    school = _school(
        [
            {
                "khoi": 5,
                "subjects": subj(5, "9"),
                "criteria": t5,
                "tong_hop": {"khen_thuong": KHEN_THUONG_HTXS},
            },
            {"khoi": 1, "subjects": subj(1, "8"), "criteria": t1},
            {"khoi": 5, "subjects": subj(5, "4"), "criteria": t5},
            {
                "khoi": 5,
                "subjects": subj(5, "4"),
                "criteria": t5,
                "tong_hop": {"danh_gia_bo_sung": True, "len_lop": False},
            },
            {"khoi": 3, "subjects": subj(3, "10", TDT="H"), "criteria": t5},
            {"khoi": 4, "subjects": {}, "criteria": {}, "khuyet_tat": True},
        ]
    )
    r = tt27.compute_results(school).rows_by_key("ma_hoc_sinh", named=True, unique=True)
    assert r["HS00000"]["danh_gia"] == "HTXS"
    assert r["HS00000"]["hoan_thanh_chuong_trinh_tieu_hoc"] is True
    assert r["HS00000"]["khen_thuong"] == KHEN_THUONG_HTXS
    assert r["HS00000"]["han_nop"] == "chinh"
    assert r["HS00001"]["danh_gia"] == "HTT"
    assert r["HS00001"]["hoan_thanh_chuong_trinh_tieu_hoc"] is None
    assert r["HS00002"]["danh_gia"] == "CHT"
    assert r["HS00002"]["duoc_len_lop"] is None
    assert r["HS00002"]["han_nop"] == "bo_sung"
    assert r["HS00002"]["hoan_thanh_chuong_trinh_tieu_hoc"] is False
    assert r["HS00003"]["duoc_len_lop"] is False
    assert r["HS00003"]["danh_gia_bo_sung"] is True
    assert r["HS00004"]["danh_gia"] == "HT"  # the elective TDT at H counts
    assert r["HS00005"]["danh_gia"] is None
    assert r["HS00005"]["hoan_thanh_chuong_trinh_lop"] is True
    assert r["HS00005"]["duoc_len_lop"] is True


@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("ket_qua_mon", "muc_dat", "X"),
        ("ket_qua_mon", "diem_ktdk", "8.5"),
        ("pham_chat_nang_luc", "muc_dat", "D"),
    ],
)
def test_compute_results_refuses_unknown_codes(table: str, column: str, bad: str) -> None:
    spec: dict[str, Any] = {
        "khoi": 1,
        "subjects": {"TV": ("T", "9")},
        "criteria": {"YEU_NUOC": "T"},
    }
    if table == "ket_qua_mon":
        lv, sc = spec["subjects"]["TV"]
        spec["subjects"]["TV"] = (bad, sc) if column == "muc_dat" else (lv, bad)
    else:
        spec["criteria"]["YEU_NUOC"] = bad
    with pytest.raises(RecordError, match=f"Bảng {table}, cột {column}") as info:
        tt27.compute_results(_school([spec]))
    assert bad in info.value.message


def test_compute_results_10000_students_well_under_a_second() -> None:
    rng = random.Random(7)
    school = _school([_random_student(rng, rng.randint(1, 5)) for _ in range(10_000)])
    tt27.compute_results(school)  # warm up
    start = time.perf_counter()
    results = tt27.compute_results(school)
    elapsed = time.perf_counter() - start
    assert results.height == 10_000
    assert elapsed < 0.5, elapsed
