"""The store: atomic imports, record states, and the audit hash chain (real DuckDB files)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from hocbaso import tt27
from hocbaso.dataset import SchoolData, conform
from hocbaso.demo.sample import generate_school
from hocbaso.errors import TransitionError
from hocbaso.model import TrangThai
from hocbaso.store import RecordChange, Store, apply_import, current_records, transition
from hocbaso.store.audit import verify_chain

NAM_HOC = "2025-2026"


def _school(n: int = 40, seed: int = 3) -> SchoolData:
    """A generated school, typed as the gates would hand it over."""
    raw = generate_school(n_students=n, seed=seed)
    typed = {}
    for table, frame in raw.items():
        casts = {
            "khoi": pl.Int8,
            "chieu_cao": pl.Float64,
            "can_nang": pl.Float64,
            "nghi_co_phep": pl.Int16,
            "nghi_khong_phep": pl.Int16,
        }
        frame = frame.with_columns(
            [pl.col(c).cast(t) for c, t in casts.items() if c in frame.columns]
            + [
                (pl.col(c) == "1")
                for c in ("khuyet_tat_khong_danh_gia", "danh_gia_bo_sung", "len_lop")
                if c in frame.columns
            ]
            + ([pl.col("ngay_sinh").str.to_date()] if "ngay_sinh" in frame.columns else [])
        )
        typed[table] = conform(table, frame)
    return SchoolData(**typed)


def _load(store: Store, data: SchoolData) -> None:
    apply_import(
        store,
        data,
        tt27.compute_results(data),
        nam_hoc=NAM_HOC,
        nguon="t.xlsx",
        sha256_nguon="0" * 64,
    )


def test_import_creates_one_draft_per_student_and_public_views(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    data = _school()
    _load(store, data)
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM v_hoc_sinh").fetchone() == (40,)
        assert con.execute("SELECT count(*) FROM v_danh_gia_cuoi_nam").fetchone() == (40,)
        assert con.execute(
            "SELECT count(*), count(DISTINCT ma_hoc_ba) FROM v_hoc_ba WHERE trang_thai='draft'"
        ).fetchone() == (40, 40)


def test_reimport_never_changes_a_locked_record_and_reports_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    data = _school()
    _load(store, data)
    first = current_records(store)[0]
    transition(
        store,
        [RecordChange(first["ma_hoc_ba"], {"sha256": "x" * 64})],
        TrangThai.LOCKED,
        vai_tro="test",
        hanh_dong="chot",
    )
    changed = data.hoc_sinh.with_columns(pl.lit("Tên Đã Sửa").alias("ho_ten"))
    corrected = SchoolData(**{**data.tables(), "hoc_sinh": changed})
    summary = apply_import(
        store,
        corrected,
        tt27.compute_results(corrected),
        nam_hoc=NAM_HOC,
        nguon="t2.xlsx",
        sha256_nguon="1" * 64,
    )
    assert summary.doi_du_lieu == 40
    assert summary.giu_nguyen_da_khoa == [first["ma_hoc_ba"]]
    names = dict(store.frame("SELECT ma_hoc_sinh, ho_ten FROM hoc_sinh").iter_rows())
    assert names[first["ma_hoc_sinh"]] != "Tên Đã Sửa"
    assert sum(1 for v in names.values() if v == "Tên Đã Sửa") == 39
    # The locked record keeps its id; no duplicate draft appeared.
    assert len(current_records(store)) == 40


def test_reimport_without_a_student_removes_only_their_draft(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    data = _school()
    _load(store, data)
    gone = data.hoc_sinh["ma_hoc_sinh"][0]
    smaller = SchoolData(
        **{
            t: f.filter(pl.col("ma_hoc_sinh") != gone) if "ma_hoc_sinh" in f.columns else f
            for t, f in data.tables().items()
        }
    )
    summary = apply_import(
        store,
        smaller,
        tt27.compute_results(smaller),
        nam_hoc=NAM_HOC,
        nguon="t3.xlsx",
        sha256_nguon="2" * 64,
    )
    assert (summary.them, summary.bot) == (0, 1)
    assert gone not in {r["ma_hoc_sinh"] for r in current_records(store)}


def test_a_batch_moves_together_or_not_at_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school())
    a, b = current_records(store)[:2]
    transition(
        store, [RecordChange(a["ma_hoc_ba"])], TrangThai.LOCKED, vai_tro="t", hanh_dong="chot"
    )
    with pytest.raises(TransitionError, match="không thể chuyển"):
        # b is still a draft: a draft cannot be signed, so neither record moves.
        transition(
            store,
            [RecordChange(a["ma_hoc_ba"]), RecordChange(b["ma_hoc_ba"])],
            TrangThai.SIGNED_GVCN,
            vai_tro="gvcn",
            hanh_dong="ky",
        )
    states = dict(store.frame("SELECT ma_hoc_ba, trang_thai FROM hoc_ba").iter_rows())
    assert states[a["ma_hoc_ba"]] == "locked" and states[b["ma_hoc_ba"]] == "draft"


def test_audit_chain_detects_an_edited_a_deleted_and_a_reordered_event(tmp_path: Path) -> None:
    store = Store(tmp_path / "hbs.duckdb")
    _load(store, _school())
    ids = [r["ma_hoc_ba"] for r in current_records(store)[:5]]
    for ma in ids:
        transition(store, [RecordChange(ma)], TrangThai.LOCKED, vai_tro="t", hanh_dong="chot")
    with store.connect() as con:
        check = verify_chain(con)
    assert check.intact and check.events == 6

    def tampered(sql: str) -> int | None:
        copy = tmp_path / f"copy-{abs(hash(sql))}.duckdb"
        copy.write_bytes(store.path.read_bytes())
        con = duckdb.connect(str(copy))
        con.execute(sql)
        result = verify_chain(con).first_broken
        con.close()
        return result

    assert tampered("UPDATE su_kien SET vai_tro = 'ke_gian' WHERE so_thu_tu = 3") == 3
    assert tampered("DELETE FROM su_kien WHERE so_thu_tu = 4") == 5
    assert tampered("UPDATE su_kien SET so_thu_tu = so_thu_tu + 100 WHERE so_thu_tu = 2") == 3
