"""Set-based writes (``hocbaso.store.bulk``) and the journal's upsert built on them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from hocbaso.store.bulk import insert_rows
from hocbaso.store.journal import record_signed, save_prepared
from hocbaso.store.schema import create_schema


def test_insert_rows_keeps_every_row_order_nulls_and_types(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    con.execute("CREATE TABLE t (n BIGINT, ts TIMESTAMPTZ, s VARCHAR)")
    now = dt.datetime(2026, 5, 16, 7, 30, tzinfo=dt.UTC)
    rows = [(i, now + dt.timedelta(seconds=i), None if i % 2 else f"r{i}") for i in range(40)]
    insert_rows(
        con, "t", ("n", "ts", "s"), {"n": "BIGINT", "ts": "TIMESTAMPTZ", "s": "VARCHAR"}, rows
    )
    back = con.execute("SELECT n, ts, s FROM t ORDER BY n").fetchall()
    assert [(n, at.astimezone(dt.UTC), s) for n, at, s in back] == rows
    insert_rows(
        con, "t", ("n", "ts", "s"), {"n": "BIGINT", "ts": "TIMESTAMPTZ", "s": "VARCHAR"}, []
    )
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(40,)]


def test_record_signed_updates_prepared_rows_and_inserts_the_others(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "j.duckdb"))
    create_schema(con)
    save_prepared(
        con,
        [
            {
                "ma_hoc_ba": "hb-1",
                "vai_tro": "gvcn",
                "sha256_vao": "in-1",
                "ma_lop": "1A",
                "xml_chuan_bi": "x1",
                "pdf_chuan_bi": "p1",
                "pdf_thong_so": "{}",
                "bam_xml": "aa",
                "bam_pdf": "bb",
            }
        ],
    )
    record_signed(
        con,
        "req-1",
        "1A",
        "gvcn",
        [("hb-1", "in-1", "out-1", "x1s", "p1s"), ("hb-2", "in-2", "out-2", "x2s", "p2s")],
    )
    rows = con.execute(
        "SELECT ma_hoc_ba, ma_lop, ma_giao_dich, trang_thai, sha256, xml_path, pdf_path, "
        "xml_chuan_bi FROM chu_ky_hoc_ba ORDER BY ma_hoc_ba"
    ).fetchall()
    assert rows == [
        ("hb-1", "1A", "req-1", "da_ky", "out-1", "x1s", "p1s", "x1"),
        ("hb-2", "1A", "req-1", "da_ky", "out-2", "x2s", "p2s", None),
    ]
    # Keeping the same signatures again changes nothing and adds no row.
    record_signed(con, "req-1", "1A", "gvcn", [("hb-2", "in-2", "out-2", "x2s", "p2s")])
    assert con.execute("SELECT count(*) FROM chu_ky_hoc_ba").fetchall() == [(2,)]
