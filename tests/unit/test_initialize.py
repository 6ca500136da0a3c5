"""The initialize step as plain functions: read -> gate -> compute -> load, no Prefect."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import fastexcel
import polars as pl
import pytest

from hocbaso import initialize
from hocbaso.config import Workspace
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.errors import GateError, InputDataError
from hocbaso.store import Store

Tables = dict[str, pl.DataFrame]
N_STUDENTS = 20


@pytest.fixture(scope="module")
def school() -> Tables:
    return generate_school(n_students=N_STUDENTS, seed=11)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    bundled.write_school_toml(tmp_path / "ws")
    return Workspace(tmp_path / "ws")


def _with_bad_sex(school: Tables, index: int) -> Tables:
    hs = school["hoc_sinh"]
    return {**school, "hoc_sinh": hs.with_columns(hs["gioi_tinh"].scatter(index, "X"))}


def _students_in_store(ws: Workspace) -> int:
    with duckdb.connect(str(ws.store_path), read_only=True) as con:
        (count,) = con.execute("SELECT count(*) FROM v_hoc_sinh").fetchall()[0]
    return int(count)


def test_accepted_file_goes_through_every_stage(school: Tables, ws: Workspace) -> None:
    source = write_xlsx(school, ws.root / "nguon.xlsx")
    checked, summary = initialize.initialize(ws, source, expectations=False)
    assert checked.accepted and checked.report_path is None and checked.problems.height == 0
    assert (summary.so_hoc_sinh, summary.them) == (N_STUDENTS, N_STUDENTS)
    assert _students_in_store(ws) == N_STUDENTS


def test_stages_are_callable_one_by_one(school: Tables, ws: Workspace) -> None:
    config = ws.load_config()
    raw = initialize.read(write_xlsx(school, ws.root / "nguon.xlsx"))
    data = initialize.gate(ws, config, raw, expectations=False).accepted_data()
    results = initialize.compute(data)
    assert results.height == N_STUDENTS
    assert set(results["danh_gia"].drop_nulls().to_list()) <= {"HTXS", "HTT", "HT", "CHT"}
    store = Store(ws.store_path)
    assert initialize.load(store, config, data, results, raw).so_hoc_sinh == N_STUDENTS


def test_refused_file_leaves_an_existing_store_untouched(school: Tables, ws: Workspace) -> None:
    initialize.initialize(ws, write_xlsx(school, ws.root / "tot.xlsx"), expectations=False)
    before = hashlib.sha256(ws.store_path.read_bytes()).digest()
    # Fewer students and one bad cell: had anything been loaded, the store would differ.
    fewer = {**school, "hoc_sinh": _with_bad_sex(school, 2)["hoc_sinh"].head(N_STUDENTS - 3)}
    with pytest.raises(GateError, match="Chưa có gì được ghi vào kho") as caught:
        initialize.initialize(ws, write_xlsx(fewer, ws.root / "sai.xlsx"), expectations=False)
    assert caught.value.report_path is not None and Path(caught.value.report_path).is_file()
    assert hashlib.sha256(ws.store_path.read_bytes()).digest() == before
    assert _students_in_store(ws) == N_STUDENTS


def test_refused_file_creates_no_store(school: Tables, ws: Workspace) -> None:
    source = write_xlsx(_with_bad_sex(school, 0), ws.root / "sai.xlsx")
    with pytest.raises(GateError):
        initialize.initialize(ws, source, expectations=False)
    assert not ws.store_path.exists()


def test_report_names_sheet_row_and_column_and_the_artifact_no_value(
    school: Tables, ws: Workspace
) -> None:
    raw = initialize.read(write_xlsx(_with_bad_sex(school, 2), ws.root / "sai.xlsx"))
    checked = initialize.gate(ws, ws.load_config(), raw, expectations=False)
    assert not checked.accepted and checked.errors == 1
    # The third student is on sheet row 4 (the header is row 1).
    places = checked.problems.select("table", "sheet_row", "column", "value").rows()
    assert places == [("hoc_sinh", 4, "gioi_tinh", "X")]
    assert checked.report_path is not None
    assert checked.report_path.parent == ws.root / initialize.GATE_REPORT_DIR
    sheet = fastexcel.read_excel(checked.report_path.read_bytes()).load_sheet("Vấn đề")
    row = sheet.to_polars().row(0)
    assert row[:4] == ("hoc_sinh", 4, "gioi_tinh", "X")
    # The artifact (which may leave the school) has places and rules, never the value.
    assert checked.artifact_rows() == [
        {"bang": "hoc_sinh", "dong": 4, "cot": "gioi_tinh", "quy_tac": row[4], "muc_do": "ERROR"}
    ]
    with pytest.raises(GateError) as caught:
        checked.accepted_data()
    assert caught.value.report_path == str(checked.report_path)


def test_warnings_are_reported_and_the_data_goes_on(school: Tables, ws: Workspace) -> None:
    gvcn = school["lop"]["ma_gvcn"][0]
    extra_class = pl.DataFrame({"ma_lop": ["5Z"], "khoi": ["5"], "ma_gvcn": [gvcn]})
    tables = {**school, "lop": pl.concat([school["lop"], extra_class], how="diagonal")}
    checked, summary = initialize.initialize(
        ws, write_xlsx(tables, ws.root / "canh-bao.xlsx"), expectations=False
    )
    assert checked.accepted and checked.errors == 0
    assert checked.problems.select("table", "column", "severity").rows() == [
        ("lop", "ma_lop", "WARN")
    ]
    assert checked.report_path is not None and checked.report_path.is_file()
    assert summary.so_hoc_sinh == N_STUDENTS
    assert _students_in_store(ws) == N_STUDENTS


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value


def _die_unless_in(pid: int) -> int:
    if os.getpid() != pid:
        os._exit(3)  # the apart process killed mid-job (out of memory, say)
    return pid


def test_reading_and_gates_apart_give_what_they_give_here(
    school: Tables, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HBS_WORKERS", raising=False)
    good = write_xlsx(school, ws.root / "nguon.xlsx")
    bad = write_xlsx(_with_bad_sex(school, 2), ws.root / "sai.xlsx")
    broken = ws.root / "hong.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(InputDataError) as unreadable_here:
        initialize.read(broken)
    config = ws.load_config()
    here_raw = initialize.read(good)
    here = initialize.gate(ws, config, here_raw, expectations=False).accepted_data()
    with initialize.checking_apart():
        pid, _ = initialize._run_apart(_pid_and, 1)
        apart_raw = initialize.read(good)
        apart = initialize.gate(ws, config, apart_raw, expectations=False).accepted_data()
        refused = initialize.gate(ws, config, initialize.read(bad), expectations=False)
        with pytest.raises(InputDataError) as unreadable:
            initialize.read(broken)
    assert pid != os.getpid()  # the work ran in a process of its own
    assert apart_raw.sha256 == here_raw.sha256
    for table in here_raw.tables:
        assert apart_raw.frame(table).equals(here_raw.frame(table))
    assert all(apart.tables()[t].equals(f) for t, f in here.tables().items())
    # A refusal and its report come back whole; an error keeps its message and hint.
    assert not refused.accepted and refused.errors == 1
    assert refused.report_path is not None and refused.report_path.is_file()
    assert unreadable.value.message == unreadable_here.value.message
    assert unreadable.value.hint == unreadable_here.value.hint
    # Outside the block everything runs here again.
    assert initialize._run_apart(_pid_and, 2) == (os.getpid(), 2)


def test_a_dead_apart_process_leaves_the_work_to_this_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HBS_WORKERS", raising=False)
    with initialize.checking_apart():
        assert initialize._run_apart(_die_unless_in, os.getpid()) == os.getpid()
        assert initialize._run_apart(_pid_and, 5) == (os.getpid(), 5)  # no new process


def test_one_worker_means_no_apart_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HBS_WORKERS", "1")
    with initialize.checking_apart():
        assert initialize._run_apart(_pid_and, 3) == (os.getpid(), 3)


def test_only_a_large_source_is_read_apart(
    school: Tables, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HBS_WORKERS", raising=False)
    source = write_xlsx(school, ws.root / "nguon.xlsx")
    with initialize.checking_apart(source):  # a small school's file: read here
        assert initialize._run_apart(_pid_and, 6) == (os.getpid(), 6)
    monkeypatch.setattr(initialize, "APART_FROM_BYTES", source.stat().st_size)
    with initialize.checking_apart(source):
        assert initialize._run_apart(_pid_and, 7)[0] != os.getpid()
