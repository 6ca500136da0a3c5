"""Reading the import format: text as typed, rows where a spreadsheet shows them."""

from __future__ import annotations

import datetime as dt
import unicodedata
from importlib.resources import as_file
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_csv_folder, write_xlsx
from hocbaso.demo.template import write_bang_tong_hop
from hocbaso.errors import InputDataError
from hocbaso.ingest import REQUIRED_COLUMNS, ROW, is_bang_tong_hop, read_bang_tong_hop, read_source
from validation.gates import run_gates

Tables = dict[str, pl.DataFrame]


@pytest.fixture(scope="module")
def school() -> Tables:
    return generate_school(n_students=40, seed=3)


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _cp1258(text: str) -> bytes:
    """Text as Excel's "CSV (Comma delimited)" writes it on a Vietnamese Windows."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:  # base letter precomposed, tone mark as a combining char
            d = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(m for m in d if m not in _TONES))
            out += base.encode("cp1258") + "".join(m for m in d if m in _TONES).encode("cp1258")
    return bytes(out)


def test_xlsx_and_csv_read_the_same(school: Tables, tmp_path: Path) -> None:
    write_xlsx(school, tmp_path / "s.xlsx")
    write_csv_folder(school, tmp_path / "csv")
    xs, cs = read_source(tmp_path / "s.xlsx"), read_source(tmp_path / "csv")
    assert (xs.kind, cs.kind) == ("xlsx", "csv")
    for table, frame in school.items():
        assert xs.frame(table).drop(ROW).equals(frame), table
        assert cs.frame(table).drop(ROW).equals(frame), table
        assert xs.frame(table)[ROW].to_list() == list(range(2, frame.height + 2))
    assert xs.tables["hoc_sinh"].source_name == "hoc_sinh"
    assert cs.tables["hoc_sinh"].source_name == "hoc_sinh.csv"
    assert len(xs.sha256) == 64 and xs.sha256 != cs.sha256


def test_leading_zeros_and_excel_cells(tmp_path: Path) -> None:
    """IDs typed as text keep their zeros; date cells, numbers, booleans and formulas read
    as their values."""
    path = tmp_path / "o.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for table, columns in REQUIRED_COLUMNS.items():
        ws = wb.add_worksheet(table)
        ws.write_row(0, 0, columns)
        if table == "hoc_sinh":
            c = {name: i for i, name in enumerate(columns)}
            ws.write_string(1, c["ma_hoc_sinh"], "0012")
            ws.write_string(1, c["so_dinh_danh"], "001234567890")
            ws.write_datetime(
                1,
                c["ngay_sinh"],
                dt.datetime(2019, 3, 4),
                wb.add_format({"num_format": "dd/mm/yyyy"}),
            )
            ws.write_formula(1, c["nghi_co_phep"], "=1+2", None, 3)
            ws.write_number(1, c["nghi_khong_phep"], 0)
    ws = wb.get_worksheet_by_name("hoc_sinh")
    ws.write_string(0, len(REQUIRED_COLUMNS["hoc_sinh"]), "khuyet_tat_khong_danh_gia")
    ws.write_boolean(1, len(REQUIRED_COLUMNS["hoc_sinh"]), True)
    wb.close()
    row = read_source(path).frame("hoc_sinh").row(0, named=True)
    assert (row["ma_hoc_sinh"], row["so_dinh_danh"], row["ngay_sinh"]) == (
        "0012",
        "001234567890",
        "2019-03-04",
    )
    assert (row["nghi_co_phep"], row["nghi_khong_phep"]) == ("3", "0")
    assert row["khuyet_tat_khong_danh_gia"] == "1"
    assert row[ROW] == 2


def test_spellings_are_normalised(school: Tables, tmp_path: Path) -> None:
    """NFD names, padded text, full level names, DD/MM/YYYY, 'Đạt'/'D' are accepted."""
    hs = school["hoc_sinh"].with_columns(
        pl.col("ho_ten").map_elements(
            lambda s: "  " + unicodedata.normalize("NFD", s) + " ", return_dtype=pl.String
        ),
        pl.col("ngay_sinh").str.to_date().dt.to_string("%d/%m/%Y"),
        pl.col("gioi_tinh").str.to_uppercase(),
    )
    kqm = school["ket_qua_mon"].with_columns(
        pl.col("muc_dat").replace({"T": "Hoàn thành tốt", "H": "hoàn thành", "M": "Miễn"}),
        pl.col("mon_hoc").str.to_lowercase(),
    )
    pc = school["pham_chat_nang_luc"].with_columns(
        pl.col("muc_dat").replace({"Đ": "D", "T": "Tốt"})
    )
    th = school["tong_hop"].with_columns(
        pl.col("danh_gia").replace({"HT": "Hoàn thành"}),
        pl.col("danh_gia_bo_sung").replace({"0": "false"}),
    )
    tables = {
        **school,
        "hoc_sinh": hs,
        "ket_qua_mon": kqm,
        "pham_chat_nang_luc": pc,
        "tong_hop": th,
    }
    write_csv_folder(tables, tmp_path / "csv")
    raw = read_source(tmp_path / "csv")
    for table, frame in school.items():
        assert raw.frame(table).drop(ROW).equals(frame), table
    assert run_gates(raw, nam_hoc="2025-2026", expectations=False).ok


def test_semicolon_csv_with_bom(school: Tables, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    write_csv_folder(school, folder)
    lop = folder / "lop.csv"
    text = lop.read_text(encoding="utf-8").replace(",", ";")
    lop.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_source(folder).frame("lop").drop(ROW).equals(school["lop"])


def test_windows_1258_csv_refused_with_utf8_hint(school: Tables, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    write_csv_folder(school, folder)
    hs = folder / "hoc_sinh.csv"
    hs.write_bytes(_cp1258(hs.read_text(encoding="utf-8")))
    with pytest.raises(InputDataError) as info:
        read_source(folder)
    err = info.value
    assert "hoc_sinh.csv" in err.message and "UTF-8" in err.message
    assert err.hint is not None and "CSV UTF-8" in err.hint
    assert "Traceback" not in err.user_message()


def test_missing_table_and_columns_named_together(school: Tables, tmp_path: Path) -> None:
    tables = {t: f for t, f in school.items() if t != "pham_chat_nang_luc"}
    tables["hoc_sinh"] = school["hoc_sinh"].drop("ngay_sinh", "ma_lop")
    write_xlsx(tables, tmp_path / "x.xlsx")
    with pytest.raises(InputDataError) as info:
        read_source(tmp_path / "x.xlsx")
    msg = info.value.message
    assert "pham_chat_nang_luc" in msg
    assert 'thiếu cột "ngay_sinh"' in msg and 'thiếu cột "ma_lop"' in msg


def test_optional_table_and_columns_may_be_absent(school: Tables, tmp_path: Path) -> None:
    tables = {t: f for t, f in school.items() if t != "tong_hop"}
    tables["hoc_sinh"] = school["hoc_sinh"].drop("chieu_cao", "so_dang_bo")
    write_csv_folder(tables, tmp_path / "csv")
    raw = read_source(tmp_path / "csv")
    assert "tong_hop" not in raw.tables and raw.frame("tong_hop").height == 0
    assert raw.frame("hoc_sinh")["chieu_cao"].null_count() == 40
    outcome = run_gates(raw, nam_hoc="2025-2026", expectations=False)
    assert outcome.ok
    assert [p.rule for p in outcome.problems] == ["khong_co_bang_tong_hop"]


def test_header_below_blank_rows_keeps_sheet_row_numbers(school: Tables, tmp_path: Path) -> None:
    write_xlsx(school, tmp_path / "s.xlsx")
    # Rewrite the lop sheet two rows lower: header on row 3, data from row 4.
    path = tmp_path / "lower.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for table, frame in school.items():
        ws = wb.add_worksheet(table)
        offset = 2 if table == "lop" else 0
        ws.write_row(offset, 0, frame.columns)
        for r, row in enumerate(frame.iter_rows(), start=offset + 1):
            for c, v in enumerate(row):
                if v is not None:
                    ws.write_string(r, c, v)
    wb.close()
    assert read_source(path).frame("lop")[ROW].to_list()[:2] == [4, 5]


def test_blank_rows_dropped_but_numbering_kept(school: Tables, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    write_csv_folder(school, folder)
    lines = (folder / "lop.csv").read_text(encoding="utf-8").splitlines()
    lines.insert(2, ",,")  # sheet row 3 left empty
    (folder / "lop.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame = read_source(folder).frame("lop")
    assert frame.height == school["lop"].height
    assert frame[ROW].to_list()[:3] == [2, 4, 5]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("hong.xlsx", b"not a zip", "Không mở được tệp Excel"),
        ("mot-bang.csv", b"a,b\n1,2\n", "tệp CSV riêng lẻ"),
        ("khac.txt", b"x", "chỉ nhận tệp Excel .xlsx"),
    ],
)
def test_unreadable_sources(tmp_path: Path, name: str, content: bytes, needle: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputDataError) as info:
        read_source(path)
    assert needle in info.value.message and info.value.hint


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match="Không tìm thấy"):
        read_source(tmp_path / "khong-co.xlsx")


def test_ragged_csv_refused(school: Tables, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    write_csv_folder(school, folder)
    with (folder / "lop.csv").open("a", encoding="utf-8") as fh:
        fh.write('"1Z,1,GV001\n')
    with pytest.raises(InputDataError, match=r"lop\.csv"):
        read_source(folder)


# --------------------------------------------------------------------------------------
# The class summary sheet (hocbaso.ingest.bang_tong_hop)
# --------------------------------------------------------------------------------------


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns)


@pytest.fixture(scope="module")
def school_without_criterion_comments() -> Tables:
    """The summary form has no place for a per-criterion comment."""
    tables = generate_school(n_students=60, seed=21)
    pc = tables["pham_chat_nang_luc"].with_columns(pl.lit(None, pl.String).alias("nhan_xet"))
    return {**tables, "pham_chat_nang_luc": pc}


def test_class_summary_gives_the_same_data_as_the_canonical_import(
    school_without_criterion_comments: Tables, tmp_path: Path
) -> None:
    tables = school_without_criterion_comments
    write_bang_tong_hop(tables, tmp_path / "btm.xlsx", nam_hoc="2025-2026")
    write_xlsx(tables, tmp_path / "canonical.xlsx")
    assert is_bang_tong_hop(tmp_path / "btm.xlsx")
    assert not is_bang_tong_hop(tmp_path / "canonical.xlsx")
    summary, canonical = (
        read_bang_tong_hop(tmp_path / "btm.xlsx"),
        read_source(tmp_path / "canonical.xlsx"),
    )
    # `hbs init` reads either layout through read_source.
    assert read_source(tmp_path / "btm.xlsx").tables["tong_hop"].origin is not None
    for table in tables:
        assert _sorted(summary.frame(table).drop(ROW)).equals(
            _sorted(canonical.frame(table).drop(ROW))
        ), table
    a = run_gates(summary, nam_hoc="2025-2026", expectations=False)
    b = run_gates(canonical, nam_hoc="2025-2026", expectations=False)
    assert a.ok and b.ok and a.data is not None and b.data is not None
    for table, frame in b.data.tables().items():
        assert _sorted(a.data.tables()[table]).equals(_sorted(frame)), table


def test_class_summary_problem_points_at_the_class_sheet_cell(
    school_without_criterion_comments: Tables, tmp_path: Path
) -> None:
    tables = school_without_criterion_comments
    lop3 = tables["lop"].filter(pl.col("khoi") == "3")["ma_lop"][0]
    students = tables["hoc_sinh"].filter(pl.col("ma_lop") == lop3)["ma_hoc_sinh"]
    ma = students[2]  # third student of the class: sheet row 7 (title, class, two headers)
    kqm = tables["ket_qua_mon"]
    index = int(
        kqm.with_row_index("_i").filter(
            (pl.col("ma_hoc_sinh") == ma) & (pl.col("mon_hoc") == "TOAN")
        )["_i"][0]
    )
    bad = {**tables, "ket_qua_mon": kqm.with_columns(kqm["diem_ktdk"].scatter(index, "11"))}
    write_bang_tong_hop(bad, tmp_path / "btm.xlsx", nam_hoc="2025-2026")
    outcome = run_gates(
        read_bang_tong_hop(tmp_path / "btm.xlsx"), nam_hoc="2025-2026", expectations=False
    )
    errors = [(p.table, p.sheet_row, p.column, p.rule, p.value) for p in outcome.problems]
    assert errors == [(lop3, 7, "H (Toán – Điểm KTĐK)", "diem_0_10", "11")]


def test_class_summary_without_class_sheets_refused(school: Tables, tmp_path: Path) -> None:
    write_xlsx({t: school[t] for t in ("lop", "giao_vien", "hoc_sinh")}, tmp_path / "x.xlsx")
    with pytest.raises(InputDataError, match="không có trang tính bảng tổng hợp"):
        read_bang_tong_hop(tmp_path / "x.xlsx")


def test_blank_template_is_a_readable_class_summary() -> None:
    with as_file(bundled.summary_template_xlsx()) as template:
        raw = read_bang_tong_hop(template)
    assert {t: rt.frame.height for t, rt in raw.tables.items()} == dict.fromkeys(
        ("lop", "giao_vien", "hoc_sinh", "ket_qua_mon", "pham_chat_nang_luc", "tong_hop"), 0
    )
    assert raw.ignored[0] == "Hướng dẫn"
