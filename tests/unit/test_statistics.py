"""The statistics report on a tiny school: Vietnamese headings, native charts, an offline
HTML page, and aggregates only where the report is published."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
import pytest

from hocbaso.config import Workspace
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.initialize import initialize
from hocbaso.statistics import Statistics, artifact_rows, school_statistics, write_report
from hocbaso.store import Store

RAW_CODE = re.compile(r"^[a-z0-9_]+$")  # a store column name such as khoi, tong, accepted


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Statistics]:
    root = tmp_path_factory.mktemp("thong-ke")
    source = write_xlsx(generate_school(n_students=40, seed=7), root / "nguon.xlsx")
    ws = Workspace(root / "truong")
    ws.root.mkdir()
    bundled.write_school_toml(ws.root)
    initialize(ws, source, expectations=False)
    stats = school_statistics(
        Store(ws.store_path), ws.load_config(), dt.datetime(2026, 5, 20, 9, 30)
    )
    return ws, stats


def test_tables_have_vietnamese_headings_and_count_each_pupil_once(
    school: tuple[Workspace, Statistics],
) -> None:
    _, stats = school
    for table in stats.tables:
        raw = [c for c in table.frame.columns if RAW_CODE.match(c)]
        assert not raw, (table.key, raw)
    assert stats.total_records == 40 and stats.states == {"draft": 40}
    grades = stats.table("ket-qua-theo-khoi").frame
    school_row = grades.filter(grades["Khối"] == "Toàn trường")
    assert school_row["Sĩ số"].to_list() == [40]
    results = ["Hoàn thành xuất sắc", "Hoàn thành tốt", "Hoàn thành", "Chưa hoàn thành"]
    assert (
        sum(school_row[c][0] for c in results) + school_row["Không xếp loại (khuyết tật)"][0] == 40
    )
    # Grade 5 completes primary; the other grades have no such count, and grade 5 no promotion.
    five = grades.filter(grades["Khối"] == "5")
    assert five["Hoàn thành chương trình tiểu học"][0] is not None
    assert five["Được lên lớp"][0] is None
    assert grades.filter(grades["Khối"] == "1")["Hoàn thành chương trình tiểu học"][0] is None
    subjects = stats.table("mon-hoc").frame
    assert "Toán" in subjects["Môn học"].to_list() and "Tiếng Việt" in subjects["Môn học"].to_list()
    scores = stats.table("diem-kiem-tra").frame
    bands = ["Điểm 9–10", "Điểm 7–8", "Điểm 5–6", "Dưới 5"]
    assert all(
        sum(r[b] for b in bands) == r["Số bài kiểm tra"] for r in scores.iter_rows(named=True)
    )


def test_published_tables_name_nobody(school: tuple[Workspace, Statistics]) -> None:
    ws, stats = school
    store = Store(ws.store_path)
    names = set(store.frame("SELECT ho_ten FROM v_hoc_sinh")["ho_ten"].to_list())
    personal = [t for t in stats.tables if t.personal]
    assert {t.key for t in personal} >= {"danh-sach-khen-thuong", "danh-sach-danh-gia-bo-sung"}
    for table in stats.public_tables():
        text = repr(artifact_rows(table))
        assert not any(n in text for n in names), table.key
    with pytest.raises(ValueError):
        artifact_rows(personal[0])


def test_workbook_has_the_sheets_and_native_charts_and_the_html_works_offline(
    school: tuple[Workspace, Statistics],
) -> None:
    ws, stats = school
    files = write_report(ws, stats)
    assert files.workbook.parent == files.html.parent == ws.root / "bao_cao"
    book = openpyxl.load_workbook(files.workbook)
    for wanted in ("Môn học", "Phẩm chất, năng lực", "Khen thưởng", "Tiến độ theo lớp"):
        assert wanted in book.sheetnames
    sheet = book["Kết quả theo khối"]
    assert (
        sheet["A1"].value
        == "Trường Tiểu học Sen Hồng — Năm học 2025-2026 — lập ngày 20/05/2026 09:30"
    )
    with zipfile.ZipFile(files.workbook) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) >= 3  # native Excel charts (xlsxwriter), not pictures
    html = files.html.read_text(encoding="utf-8")
    assert html.count("<svg") >= 3 and "Tiến độ học bạ theo lớp" in html
    assert not re.search(r"<script|<link|src=\"http|href=\"http", html)  # nothing fetched
    names = Store(ws.store_path).frame("SELECT ho_ten FROM v_hoc_sinh")["ho_ten"].to_list()
    assert not any(n in html for n in names)
