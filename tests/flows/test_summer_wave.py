"""The summer wave through the real `hbs` command: the pending pupils' template, an import
that changes only them, and their records issued with the summer wave's date.

Two pupils of class 3A did not complete Toán at year end (level C, score 4) and wait
for the supplementary assessment. The main wave locks everyone else; `hbs report`
lists the two and writes a template holding only them; the teacher fills in the
summer results (one completes, one does not and the principal decides he repeats);
`hbs init --bo-sung` imports it, every other pupil's rows and records are unchanged,
and the two are locked, signed, sealed and accepted with the August date of issue.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

from hbs.cli import main
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx

PENDING = ("9901000017", "9901000018")  # two pupils of 3A (the generator's numbering)


def _school_with_two_pending(path: Path) -> Path:
    tables = dict(generate_school(n_students=40, seed=7))
    hs = tables["hoc_sinh"]
    in_3a = hs.filter(pl.col("ma_lop") == "3A")["ma_hoc_sinh"].to_list()
    assert set(PENDING) <= set(in_3a), in_3a
    pending = pl.col("ma_hoc_sinh").is_in(list(PENDING))
    toan = pending & (pl.col("mon_hoc") == "TOAN")
    tables["ket_qua_mon"] = tables["ket_qua_mon"].with_columns(
        pl.when(toan).then(pl.lit("C")).otherwise(pl.col("muc_dat")).alias("muc_dat"),
        pl.when(toan).then(pl.lit("4")).otherwise(pl.col("diem_ktdk")).alias("diem_ktdk"),
    )
    tables["tong_hop"] = tables["tong_hop"].with_columns(
        *[
            pl.when(pending).then(pl.lit(value)).otherwise(pl.col(col)).alias(col)
            for col, value in (("danh_gia", "CHT"), ("khen_thuong", None), ("len_lop", None))
        ],
        pl.when(pending)
        .then(pl.lit(None))
        .otherwise(pl.col("danh_gia_bo_sung"))
        .alias("danh_gia_bo_sung"),
    )
    return write_xlsx(tables, path)


def _snapshot(ws: Path) -> dict[str, list[tuple]]:
    """Every stored row of the pupils who are not pending, and every record row."""
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    others = "ma_hoc_sinh NOT IN ('" + "', '".join(PENDING) + "')"
    try:
        return {
            t: con.execute(f"SELECT * FROM {t} WHERE {others} ORDER BY ALL").fetchall()
            for t in (
                "hoc_sinh",
                "ket_qua_mon",
                "pham_chat_nang_luc",
                "tong_hop",
                "danh_gia_cuoi_nam",
                "hoc_ba",
            )
        }
    finally:
        con.close()


def _records(ws: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT ma_hoc_sinh, trang_thai, xml_path FROM v_hoc_ba_hien_hanh"
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def test_summer_import_changes_only_pending_pupils_issued_with_the_august_date(
    tmp_path: Path,
    prefect_api: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = tmp_path / "truong"
    ws.mkdir()
    bundled.write_school_toml(ws)
    source = _school_with_two_pending(tmp_path / "nguon.xlsx")

    def hbs(*verb: str) -> str:
        capsys.readouterr()
        assert main([*verb, "--workspace", str(ws)]) == 0, verb
        captured = capsys.readouterr()
        return captured.out + captured.err

    hbs("init", "--source", str(source))
    hbs("configure")
    out = hbs("lock")
    assert "2 chờ đánh giá bổ sung" in out  # counted as waiting, not as "done before"
    records = _records(ws)
    assert {records[m][0] for m in PENDING} == {"draft"}
    assert {s for m, (s, _) in records.items() if m not in PENDING} == {"locked"}

    out = hbs("report")
    assert "Học sinh chờ đánh giá bổ sung (2)" in out
    template = sorted((ws / "bao_cao").glob("mau-danh-gia-bo-sung-*.xlsx"))[-1]
    book = openpyxl.load_workbook(template)
    subjects = book["ket_qua_mon"]
    head = [c.value for c in subjects[1]]
    rows = list(subjects.iter_rows(min_row=2))
    assert sorted(r[head.index("ma_hoc_sinh")].value for r in rows) == sorted(PENDING)
    assert {r[head.index("mon_hoc")].value for r in rows} == {"TOAN"}
    for r in rows:  # the first completes Toán in the summer; the second does not
        passed = r[head.index("ma_hoc_sinh")].value == PENDING[0]
        r[head.index("muc_dat")].value = "H" if passed else "C"
        r[head.index("diem_ktdk")].value = "7" if passed else "3"
    decisions = book["tong_hop"]
    dhead = [c.value for c in decisions[1]]
    for r in decisions.iter_rows(min_row=2):
        if r[dhead.index("ma_hoc_sinh")].value == PENDING[1]:
            r[dhead.index("len_lop")].value = "0"  # the principal: repeats grade 3
    filled = tmp_path / "bo-sung.xlsx"
    book.save(filled)

    before = _snapshot(ws)
    out = hbs("init", "--bo-sung", str(filled), "--ngay-phat-hanh", "2026-08-20")
    assert "đã nhập kết quả của 2 học sinh" in out and "Còn chờ: 0" in out
    assert _snapshot(ws) == before  # nobody else's rows or records moved

    hbs("lock", "--class", "3a")
    for verb in (("sign", "--role", "gvcn"), ("sign", "--role", "ht"), ("stamp",), ("submit",)):
        hbs(*verb, "--class", "3A")
    records = _records(ws)
    for m in PENDING:
        state, xml_path = records[m]
        assert state == "accepted"
        xml = (ws / xml_path).read_text(encoding="utf-8")
        assert "<ngaykyphathanh>2026-08-20</ngaykyphathanh>" in xml
    repeated = (ws / records[PENDING[1]][1]).read_text(encoding="utf-8")
    assert "ở lại lớp 3" in repeated
    another = next(m for m, (s, _) in records.items() if m not in PENDING and s == "accepted")
    xml = (ws / records[another][1]).read_text(encoding="utf-8")
    assert "<ngaykyphathanh>2026-05-12</ngaykyphathanh>" in xml  # the main wave keeps May
