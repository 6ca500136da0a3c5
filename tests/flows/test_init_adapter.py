"""The class summary sheets (Bảng tổng hợp, TT27 form) load the same store as the canonical file.

The same generated school is written both ways and imported with the real `hbs init`
into two workspaces; every import table and the computed results must be equal.
The form has no place for a per-criterion comment, so the school has none.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from hbs.cli import main
from hocbaso.dataset import TABLE_SCHEMAS
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.demo.template import write_bang_tong_hop


def _import(root: Path, name: str, source: Path) -> Path:
    ws = root / name
    ws.mkdir()
    bundled.write_school_toml(ws)
    assert main(["init", "--workspace", str(ws), "--source", str(source)]) == 0
    return ws / "hbs.duckdb"


def _table(store: Path, table: str) -> pl.DataFrame:
    con = duckdb.connect(str(store), read_only=True)
    try:
        frame = con.sql(f"SELECT * FROM {table}").pl()
    finally:
        con.close()
    return frame.sort(frame.columns)


def test_class_summary_sheets_give_the_same_store(tmp_path: Path, prefect_api: str) -> None:
    tables = generate_school(n_students=80, seed=11)
    tables["pham_chat_nang_luc"] = tables["pham_chat_nang_luc"].with_columns(
        pl.lit(None, pl.String).alias("nhan_xet")
    )
    write_xlsx(tables, tmp_path / "chuan.xlsx")
    write_bang_tong_hop(tables, tmp_path / "bang-tong-hop.xlsx", nam_hoc="2025-2026")
    canonical = _import(tmp_path, "chuan", tmp_path / "chuan.xlsx")
    summary = _import(tmp_path, "bang-tong-hop", tmp_path / "bang-tong-hop.xlsx")
    for table in [*TABLE_SCHEMAS, "danh_gia_cuoi_nam"]:
        a, b = _table(canonical, table), _table(summary, table)
        assert a.height > 0 or table == "tong_hop", table
        assert a.equals(b), table
    drafts = "SELECT ma_hoc_sinh, ma_lop, trang_thai FROM v_hoc_ba"
    assert _table(canonical, f"({drafts})").equals(_table(summary, f"({drafts})"))
