"""What the working group sees, through the real `hbs` command, on one tiny school:
a command with nothing to do explains itself, a class is found in any case, the
summer wave touches only the pupils waiting for it, and a registry that does not
answer fails each class within its budget, naming the address, without stopping the
other classes.

Two pupils of class 3A did not complete Toán at year end (level C, score 4) and wait
for the supplementary assessment. The main wave locks everyone else; `hbs report`
lists the two and writes a template holding only them; the teacher fills in the
summer results (one completes, one does not and the principal decides he repeats);
`hbs init --bo-sung` imports it, every other pupil's rows and records are unchanged,
and the two are locked, signed, sealed and accepted with the August date of issue.
"""

from __future__ import annotations

import socket
import time
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


class Terminal:
    """What a command printed: its own lines and the runs' log lines (Prefect's console
    handler keeps the stream of the test that set it up, so logs are read as records)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture):
        self.capsys, self.caplog = capsys, caplog
        caplog.set_level("INFO", logger="prefect")

    def run(self, ws: Path, *verb: str, code: int = 0) -> str:
        self.capsys.readouterr()
        self.caplog.clear()
        assert main([*verb, "--workspace", str(ws)]) == code, verb
        captured = self.capsys.readouterr()
        logged = "\n".join(r.getMessage() for r in self.caplog.records)
        return "\n".join([captured.out, captured.err, logged])


@pytest.fixture
def term(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Terminal:
    return Terminal(capsys, caplog)


@pytest.fixture(scope="module")
def main_wave(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Path:
    """A configured school whose two pupils of 3A will wait for the summer assessment."""
    root = tmp_path_factory.mktemp("to-cong-tac")
    ws = root / "truong"
    ws.mkdir()
    bundled.write_school_toml(ws)
    source = _school_with_two_pending(root / "nguon.xlsx")
    for verb in (["init", "--source", str(source)], ["configure"]):
        assert main([*verb, "--workspace", str(ws)]) == 0, verb
    return ws


def test_silent_cases_explain_themselves(main_wave: Path, term: Terminal) -> None:
    ws = main_wave
    out = term.run(ws, "sign", "--role", "ht")
    assert "Không có việc gì để làm" in out
    assert "Chưa có lớp nào GVCN đã ký: chạy `hbs lock` trước." in out
    out = term.run(ws, "lock", "--class", "1a")  # any case: class 1A
    assert "Lớp 1A" in out and "Tóm tắt — Chốt dữ liệu: xong 8 học bạ ở 1 lớp." in out
    out = term.run(ws, "sign", "--role", "ht", "--class", "1A")
    assert "Lớp 1A chưa có học bạ nào GVCN đã ký: chạy `hbs sign --role gvcn` trước." in out
    out = term.run(ws, "lock", "--class", "1A")  # twice: nothing to do, and it says so
    assert "không có học bạ nào ở lớp 1A chờ chốt dữ liệu" in out
    assert "bước tiếp theo: `hbs sign --role gvcn`" in out
    out = term.run(ws, "lock", "--class", "9Z", code=2)
    assert "Không có lớp “9Z”" in out and "1A, 2A, 3A, 4A, 5A" in out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_silent_registry_fails_each_class_within_its_budget_naming_the_address(
    main_wave: Path, term: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = main_wave
    term.run(ws, "lock", "--class", "1A")
    term.run(ws, "lock", "--class", "2A")
    for verb in (("sign", "--role", "gvcn"), ("sign", "--role", "ht"), ("stamp",)):
        term.run(ws, *verb)  # the locked classes: 1A and 2A
    config = ws / "school.toml"
    demo = config.read_text(encoding="utf-8")
    url = f"http://127.0.0.1:{_closed_port()}/api/v1"
    silent = demo.replace(
        '[registry]\nche_do = "gia_lap"',
        f'[registry]\nche_do = "that"\nurl = "{url}"\ntra_cuu_url = "http://127.0.0.1:9/tra-cuu"',
        1,
    )
    assert silent != demo
    config.write_text(silent, encoding="utf-8")
    monkeypatch.setenv("HBS_REGISTRY_SECRET", "bi-mat")
    monkeypatch.setattr("flows.steps.CLASS_RETRY_BUDGET_S", 3.0)
    monkeypatch.setattr("flows.steps.PROBE_RETRY_BUDGET_S", 1.0)
    started = time.monotonic()
    out = term.run(ws, "submit", code=2)
    elapsed = time.monotonic() - started
    assert "Lớp 1A chưa xong" in out and "Lớp 2A chưa xong" in out  # the second still tried
    assert f"CSDL Học bạ số tại {url}" in out
    assert "2 lớp chưa nộp xong (1A, 2A)" in out
    assert "Retry" not in out and "retries" not in out  # no English retry lines
    assert elapsed < 3.0 + 1.0 + 15.0  # two budgets plus the run's own start-up
    con = duckdb.connect(str(ws / "hbs.duckdb"), read_only=True)
    left = con.execute(
        "SELECT DISTINCT trang_thai FROM v_hoc_ba_hien_hanh WHERE ma_lop IN ('1A', '2A')"
    ).fetchall()
    con.close()
    assert left == [("submitted",)]  # the intent is on record; nothing was received

    monkeypatch.undo()  # the full budgets again (the stand-in verifies every signature)
    config.write_text(demo, encoding="utf-8")  # the registry is back: the rerun continues
    out = term.run(ws, "submit")
    assert "Tóm tắt — Nộp CSDL Học bạ số: xong 16 học bạ ở 2 lớp." in out


def test_summer_import_changes_only_pending_pupils_issued_with_the_august_date(
    main_wave: Path, tmp_path: Path, term: Terminal
) -> None:
    ws = main_wave

    def hbs(*verb: str) -> str:
        return term.run(ws, *verb)

    out = hbs("lock")
    assert "2 chờ đánh giá bổ sung" in out  # counted as waiting, not as "done before"
    records = _records(ws)
    assert {records[m][0] for m in PENDING} == {"draft"}
    assert "draft" not in {s for m, (s, _) in records.items() if m not in PENDING}

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
