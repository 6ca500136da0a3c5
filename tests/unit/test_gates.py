"""The gates: the sample school passes; each kind of mistake is reported where it is."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest

from hocbaso.demo.sample import generate_school, write_csv_folder, write_xlsx
from hocbaso.ingest import read_source
from hocbaso.model import KHEN_THUONG_HTXS
from validation.gates import GateOutcome, run_gates, school_year_start
from validation.report import GateReport, Problem, Severity, write_report_xlsx

NAM_HOC = "2025-2026"
Tables = dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def school() -> Tables:
    return generate_school(n_students=60, seed=11)


def _run(tables: Tables, folder: Path) -> GateOutcome:
    write_csv_folder(tables, folder)
    return run_gates(read_source(folder), nam_hoc=NAM_HOC, expectations=False)


def _set(tables: Tables, table: str, index: int, column: str, value: str | None) -> Tables:
    frame = tables[table]
    col = frame[column].scatter(index, value)
    return {**tables, table: frame.with_columns(col)}


def _errors(outcome: GateOutcome) -> list[tuple[str, int | None, str | None, str]]:
    return [
        (p.table, p.sheet_row, p.column, p.rule)
        for p in outcome.problems
        if p.severity is Severity.ERROR
    ]


def _index(frame: pl.DataFrame, **where: str) -> int:
    """Position of the first row matching ``where`` (sheet row = index + 2)."""
    mask = pl.all_horizontal(pl.col(k) == v for k, v in where.items())
    return int(frame.with_row_index("_i").filter(mask)["_i"][0])


def _student_of_grade(tables: Tables, khoi: str) -> str:
    classes = tables["lop"].filter(pl.col("khoi") == khoi)["ma_lop"].to_list()
    th = tables["tong_hop"].join(tables["hoc_sinh"], on="ma_hoc_sinh")
    # an ordinary student: assessed, with a result, no exemption
    exempt = tables["ket_qua_mon"].filter(pl.col("muc_dat") == "M")["ma_hoc_sinh"].to_list()
    row = th.filter(
        pl.col("ma_lop").is_in(classes)
        & pl.col("danh_gia").is_in(["HT", "HTT"])
        & ~pl.col("ma_hoc_sinh").is_in(exempt)
    ).row(0, named=True)
    return str(row["ma_hoc_sinh"])


def test_sample_school_passes_every_gate(school: Tables, tmp_path: Path) -> None:
    outcome = _run(school, tmp_path / "csv")
    assert outcome.ok, outcome.problems[:5]
    assert [r.gate for r in outcome.reports] == ["rows", "references", "rules"]
    assert outcome.data is not None
    assert outcome.data.hoc_sinh.height == 60
    assert outcome.data.hoc_sinh.schema["ngay_sinh"] == pl.Date
    assert outcome.data.tong_hop.schema["len_lop"] == pl.Boolean
    assert all(r.severity is Severity.OK for r in outcome.reports)


@pytest.mark.parametrize(
    ("table", "where", "column", "value", "rule"),
    [
        ("hoc_sinh", None, "so_dinh_danh", "12345", "so_dinh_danh_12_so"),
        ("hoc_sinh", None, "ngay_sinh", "31/02/2019", "ngay_hop_le"),
        ("hoc_sinh", None, "gioi_tinh", "Khác", "gioi_tinh_hop_le"),
        ("hoc_sinh", None, "dan_toc", "Sao Hỏa", "dan_toc_danh_muc"),
        ("hoc_sinh", None, "ho_ten", None, "bat_buoc"),
        ("hoc_sinh", None, "nghi_co_phep", "2.5", "so_buoi_nghi_0_200"),
        ("ket_qua_mon", {"mon_hoc": "TOAN"}, "muc_dat", "X", "muc_dat_mon_hop_le"),
        ("ket_qua_mon", {"mon_hoc": "TOAN"}, "diem_ktdk", "8.5", "diem_0_10"),
        ("ket_qua_mon", {"mon_hoc": "TOAN"}, "diem_ktdk", "11", "diem_0_10"),
        ("pham_chat_nang_luc", {"tieu_chi": "NHAN_AI"}, "muc_dat", "Giỏi", "muc_dat_pcnl_hop_le"),
        ("tong_hop", None, "danh_gia", "Khá", "danh_gia_hop_le"),
        ("lop", None, "khoi", "6", "khoi_1_5"),
    ],
)
def test_row_gate_names_the_cell(
    school: Tables,
    tmp_path: Path,
    table: str,
    where: dict[str, str] | None,
    column: str,
    value: str | None,
    rule: str,
) -> None:
    index = _index(school[table], **where) if where else 3
    outcome = _run(_set(school, table, index, column, value), tmp_path / "csv")
    assert not outcome.ok and outcome.data is None
    assert _errors(outcome) == [(table, index + 2, column, rule)]
    problem = outcome.problems[0]
    assert problem.message_vi and problem.message_vi[0].isupper()
    if value is not None:
        assert problem.value == value


def test_duplicate_student_reported_on_second_occurrence(school: Tables, tmp_path: Path) -> None:
    hs = school["hoc_sinh"]
    first = hs["ma_hoc_sinh"][0]
    # The copy keeps its own class and results: only the code collides.
    tables = _set(school, "hoc_sinh", 5, "ma_hoc_sinh", first)
    outcome = _run(tables, tmp_path / "csv")
    errors = _errors(outcome)
    assert ("hoc_sinh", 7, "ma_hoc_sinh", "trung_ma_hoc_sinh") in errors
    dup = next(p for p in outcome.problems if p.rule == "trung_ma_hoc_sinh")
    assert "dòng 2" in dup.message_vi


def test_unknown_class_and_unknown_student(school: Tables, tmp_path: Path) -> None:
    tables = _set(school, "hoc_sinh", 4, "ma_lop", "9Z")
    tables = _set(tables, "ket_qua_mon", 10, "ma_hoc_sinh", "0000000000")
    errors = _errors(_run(tables, tmp_path / "csv"))
    assert ("hoc_sinh", 6, "ma_lop", "lop_khong_co") in errors
    assert ("ket_qua_mon", 12, "ma_hoc_sinh", "hoc_sinh_khong_co") in errors


def test_subject_not_taught_in_grade(school: Tables, tmp_path: Path) -> None:
    ma = _student_of_grade(school, "1")
    index = _index(school["ket_qua_mon"], ma_hoc_sinh=ma, mon_hoc="DD")
    tables = _set(school, "ket_qua_mon", index, "mon_hoc", "KH")
    errors = _errors(_run(tables, tmp_path / "csv"))
    # KH is not taught in grade 1, and DD is now missing for that student.
    hs_row = _index(school["hoc_sinh"], ma_hoc_sinh=ma) + 2
    assert errors == [
        ("hoc_sinh", hs_row, "ma_hoc_sinh", "thieu_mon_bat_buoc"),
        ("ket_qua_mon", index + 2, "mon_hoc", "mon_khong_hoc_o_khoi"),
    ]


def test_missing_score_where_the_grade_has_a_test(school: Tables, tmp_path: Path) -> None:
    ma = _student_of_grade(school, "3")
    index = _index(school["ket_qua_mon"], ma_hoc_sinh=ma, mon_hoc="TIN")
    outcome = _run(_set(school, "ket_qua_mon", index, "diem_ktdk", None), tmp_path / "csv")
    assert _errors(outcome) == [("ket_qua_mon", index + 2, "diem_ktdk", "thieu_diem_ktdk")]


def test_score_where_the_grade_has_no_test(school: Tables, tmp_path: Path) -> None:
    ma = _student_of_grade(school, "2")
    index = _index(school["ket_qua_mon"], ma_hoc_sinh=ma, mon_hoc="AN")
    outcome = _run(_set(school, "ket_qua_mon", index, "diem_ktdk", "9"), tmp_path / "csv")
    assert _errors(outcome) == [("ket_qua_mon", index + 2, "diem_ktdk", "mon_khong_co_kiem_tra")]


def test_given_result_must_equal_computed(school: Tables, tmp_path: Path) -> None:
    index = _index(school["tong_hop"], danh_gia="HT")
    outcome = _run(_set(school, "tong_hop", index, "danh_gia", "HTXS"), tmp_path / "csv")
    assert _errors(outcome) == [("tong_hop", index + 2, "danh_gia", "danh_gia_khac_tt27")]
    assert "HT (Hoàn thành)" in outcome.problems[0].message_vi


def test_commendation_must_fit_the_result(school: Tables, tmp_path: Path) -> None:
    index = _index(school["tong_hop"], danh_gia="HT")
    outcome = _run(
        _set(school, "tong_hop", index, "khen_thuong", KHEN_THUONG_HTXS), tmp_path / "csv"
    )
    assert _errors(outcome) == [("tong_hop", index + 2, "khen_thuong", "khen_thuong_htxs")]


def test_age_outside_primary(school: Tables, tmp_path: Path) -> None:
    outcome = _run(_set(school, "hoc_sinh", 0, "ngay_sinh", "2008-01-01"), tmp_path / "csv")
    assert _errors(outcome) == [("hoc_sinh", 2, "ngay_sinh", "tuoi_ngoai_5_16")]


def test_one_bad_level_is_reported_once(school: Tables, tmp_path: Path) -> None:
    """A refused row must not come back as a missing subject or a wrong overall result."""
    index = _index(school["tong_hop"], danh_gia="HTXS")
    ma = school["tong_hop"]["ma_hoc_sinh"][index]
    k = _index(school["ket_qua_mon"], ma_hoc_sinh=ma, mon_hoc="TV")
    outcome = _run(_set(school, "ket_qua_mon", k, "muc_dat", "Giỏi"), tmp_path / "csv")
    assert _errors(outcome) == [("ket_qua_mon", k + 2, "muc_dat", "muc_dat_mon_hop_le")]


def test_warnings_do_not_stop(school: Tables, tmp_path: Path) -> None:
    tables = {**school, "hoc_sinh": school["hoc_sinh"].with_columns(ghi_chu=pl.lit("x"))}
    index = _index(school["tong_hop"], danh_gia="HT")
    tables = _set(tables, "tong_hop", index, "khen_thuong", "Học sinh giỏi")
    outcome = _run(tables, tmp_path / "csv")
    assert outcome.ok and outcome.data is not None
    warns = [(p.table, p.sheet_row, p.column, p.rule) for p in outcome.problems]
    assert warns == [
        ("hoc_sinh", None, "ghi_chu", "cot_thua"),
        ("tong_hop", index + 2, "khen_thuong", "khen_thuong_ngoai_mau"),
    ]


def test_report_workbook_lists_and_marks(school: Tables, tmp_path: Path) -> None:
    tables = _set(school, "hoc_sinh", 3, "so_dinh_danh", "12345")
    write_xlsx(tables, tmp_path / "nguon.xlsx")
    raw = read_source(tmp_path / "nguon.xlsx")
    outcome = run_gates(raw, nam_hoc=NAM_HOC, expectations=False)
    path = write_report_xlsx(
        outcome.reports, tmp_path / "bao-cao.xlsx", tables={t: raw.frame(t) for t in raw.tables}
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Tóm tắt", "Vấn đề", "Dữ liệu hoc_sinh"]
    rows = list(wb["Vấn đề"].iter_rows(values_only=True))
    assert rows[0] == ("Bảng", "Dòng", "Cột", "Giá trị", "Quy tắc", "Vấn đề", "Mức độ")
    assert rows[1][:5] == ("hoc_sinh", 5, "so_dinh_danh", "12345", "so_dinh_danh_12_so")
    assert rows[1][6] == "Lỗi"
    data = wb["Dữ liệu hoc_sinh"]
    header = [c.value for c in data[1]]
    cell = data.cell(row=5, column=header.index("so_dinh_danh") + 1)
    assert cell.value == "12345"
    assert cell.fill.fgColor.rgb.endswith("F8CBAD")
    assert cell.comment is not None and "12 chữ số" in cell.comment.text


def test_report_value_shape() -> None:
    p = Problem("hoc_sinh", 3, "ho_ten", "bat_buoc", None, "Thiếu.", Severity.WARN)
    rep = GateReport("rows", "x.xlsx", 10, (p,))
    assert rep.severity is Severity.WARN and rep.bottom_line
    assert rep.frame().row(0) == ("hoc_sinh", 3, "ho_ten", "bat_buoc", None, "Thiếu.", "WARN")
    assert "1 cảnh báo" in rep.summary()
    assert GateReport("rows", "x", 0).severity is Severity.OK


def test_school_year_start() -> None:
    import datetime as dt

    assert school_year_start("2025-2026") == 2025
    assert school_year_start(None, dt.date(2026, 3, 1)) == 2025
    assert school_year_start(None, dt.date(2026, 9, 1)) == 2026


def test_expectations_warn_on_implausible_class(school: Tables, tmp_path: Path) -> None:
    """One class where every student got 3 in Toán: legal, but a human should look."""
    lop = school["lop"]["ma_lop"][1]
    ids = school["hoc_sinh"].filter(pl.col("ma_lop") == lop)["ma_hoc_sinh"].implode()
    in_class = pl.col("ma_hoc_sinh").is_in(ids)
    kqm = school["ket_qua_mon"].with_columns(
        pl.when(in_class & (pl.col("mon_hoc") == "TOAN"))
        .then(pl.lit("3"))
        .otherwise(pl.col("diem_ktdk"))
        .alias("diem_ktdk")
    )
    th = school["tong_hop"].with_columns(
        pl.when(in_class).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("danh_gia", "khen_thuong", "len_lop")
    )
    tables = {**school, "ket_qua_mon": kqm, "tong_hop": th}
    write_csv_folder(tables, tmp_path / "csv")
    docs = tmp_path / "data-docs"
    outcome = run_gates(read_source(tmp_path / "csv"), nam_hoc=NAM_HOC, docs_dir=docs)
    assert outcome.ok and outcome.data is not None  # WARNs do not stop the import
    report = outcome.reports[-1]
    assert report.gate == "expectations" and report.severity is Severity.WARN
    found = [(p.table, p.sheet_row, p.column, p.rule, p.value) for p in report.problems]
    assert found == [
        ("lop", 3, "ma_lop", "diem_giong_het", lop),
        ("lop", 3, "ma_lop", "lop_qua_nua_cht", lop),
    ]
    assert "Toán" in report.problems[0].message_vi
    assert (docs / "index.html").is_file()


def test_csdl_nganh_differences(school: Tables, tmp_path: Path) -> None:
    hs = school["hoc_sinh"]
    export = hs.select(
        pl.col("ma_hoc_sinh").alias("Mã học sinh"),
        pl.col("ho_ten").alias("Họ và tên"),
        pl.col("ngay_sinh").str.to_date().dt.to_string("%d/%m/%Y").alias("Ngày sinh"),
        pl.col("so_dinh_danh").alias("Số định danh"),
        ("Lớp " + pl.col("ma_lop")).alias("Lớp"),
    )
    code = export.columns[0]
    names, ids, codes = export["Họ và tên"], export["Số định danh"], export[code]
    names = names.scatter(0, hs["ho_ten"][0].upper())  # case only: the same name
    names = names.scatter(1, "Nguyễn Văn Khác")
    ids = ids.scatter(2, "099999999999")
    codes = codes.scatter(3, "9999999999")  # another code, the same ID
    extra = export.head(1).with_columns(
        pl.lit("9900000000").alias(code), pl.lit("001111111111").alias("Số định danh")
    )
    export = (
        export.with_columns(names, ids, codes)
        .filter(pl.col(code) != hs["ma_hoc_sinh"][4])  # not on CSDL ngành
        .vstack(extra)
    )
    export.write_csv(tmp_path / "csdl.csv")
    write_csv_folder(school, tmp_path / "csv")
    outcome = run_gates(
        read_source(tmp_path / "csv"),
        nam_hoc=NAM_HOC,
        expectations=False,
        csdl_nganh=tmp_path / "csdl.csv",
    )
    report = outcome.reports[-1]
    assert report.gate == "csdl_nganh" and outcome.ok
    found = sorted((p.rule, p.sheet_row or 0, p.column) for p in report.problems)
    assert found == [
        ("chi_co_tren_csdl", 0, "ma_hoc_sinh"),
        ("khac_ho_ten", 3, "ho_ten"),
        ("khac_ma_hoc_sinh", 5, "ma_hoc_sinh"),
        ("khac_so_dinh_danh", 4, "so_dinh_danh"),
        ("khong_co_tren_csdl", 6, "ma_hoc_sinh"),
    ]
    assert all(p.severity is Severity.WARN for p in report.problems)
    strict = run_gates(
        read_source(tmp_path / "csv"),
        nam_hoc=NAM_HOC,
        expectations=False,
        csdl_nganh=tmp_path / "csdl.csv",
        csdl_nganh_severity=Severity.ERROR,
    )
    assert not strict.ok and strict.data is None


def test_csdl_nganh_export_without_required_columns(school: Tables, tmp_path: Path) -> None:
    from hocbaso.errors import InputDataError

    pl.DataFrame({"Tên": ["x"]}).write_csv(tmp_path / "csdl.csv")
    write_csv_folder(school, tmp_path / "csv")
    with pytest.raises(InputDataError, match="mã học sinh, họ và tên"):
        run_gates(
            read_source(tmp_path / "csv"), expectations=False, csdl_nganh=tmp_path / "csdl.csv"
        )
