"""DuckDB schema of the store: import tables, records, audit log, public views.

The import tables mirror the canonical import format (``hocbaso.dataset``), so a
view over them needs no translation. Record rows (``hoc_ba``) hold state and
workspace-relative paths of derived files; the files themselves are
content-addressed and never rewritten.
"""

from __future__ import annotations

import duckdb
import polars as pl

from hocbaso.dataset import TABLE_SCHEMAS
from hocbaso.store.journal import JOURNAL_DDL, JOURNAL_VIEWS

SCHEMA_VERSION = 1

_DUCKDB_TYPES: dict[type[pl.DataType], str] = {
    pl.String: "VARCHAR",
    pl.Int8: "TINYINT",
    pl.Int16: "SMALLINT",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
}

RESULT_COLUMNS: dict[str, str] = {
    "ma_hoc_sinh": "VARCHAR PRIMARY KEY",
    "ma_lop": "VARCHAR NOT NULL",
    "khoi": "TINYINT NOT NULL",
    "danh_gia": "VARCHAR",
    "hoan_thanh_chuong_trinh_lop": "BOOLEAN",
    "hoan_thanh_chuong_trinh_tieu_hoc": "BOOLEAN",
    "duoc_len_lop": "BOOLEAN",
    "khen_thuong": "VARCHAR",
    "danh_gia_bo_sung": "BOOLEAN",
    "han_nop": "VARCHAR",
}


def _table_ddl(table: str) -> str:
    cols = ", ".join(
        f"{name} {_DUCKDB_TYPES[type(dtype)]}" for name, dtype in TABLE_SCHEMAS[table].items()
    )
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols})"


_RECORD_DDL = [
    """CREATE TABLE IF NOT EXISTS hoc_ba (
        ma_hoc_ba VARCHAR PRIMARY KEY,          -- madinhdanhhocba (UUID)
        ma_hoc_sinh VARCHAR NOT NULL,
        nam_hoc VARCHAR NOT NULL,
        phien_ban INTEGER NOT NULL,
        thay_the VARCHAR,                        -- ma_hoc_ba of the version this one replaces
        ma_lop VARCHAR NOT NULL,
        trang_thai VARCHAR NOT NULL,
        sha256_du_lieu VARCHAR,                  -- digest of the frozen data element
        sha256 VARCHAR,                          -- SHA-256 of the current XML file
        xml_path VARCHAR,
        pdf_path VARCHAR,
        ma_tra_cuu VARCHAR,
        ngay_nhan TIMESTAMPTZ,
        ma_loi VARCHAR,
        loi VARCHAR,
        cap_nhat TIMESTAMPTZ NOT NULL,
        UNIQUE (ma_hoc_sinh, nam_hoc, phien_ban)
    )""",
    """CREATE TABLE IF NOT EXISTS su_kien (
        so_thu_tu BIGINT PRIMARY KEY,
        thoi_diem TIMESTAMPTZ NOT NULL,
        vai_tro VARCHAR NOT NULL,
        hanh_dong VARCHAR NOT NULL,
        ma_hoc_ba VARCHAR,
        chi_tiet VARCHAR NOT NULL,               -- canonical JSON, no personal data
        bam_truoc VARCHAR NOT NULL,
        bam VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS nhap_du_lieu (
        so_thu_tu BIGINT PRIMARY KEY,
        thoi_diem TIMESTAMPTZ NOT NULL,
        nguon VARCHAR NOT NULL,
        sha256_nguon VARCHAR NOT NULL,
        so_hoc_sinh INTEGER NOT NULL,
        tom_tat VARCHAR NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS thong_tin_kho (khoa VARCHAR PRIMARY KEY, gia_tri VARCHAR)",
]

_VIEWS = [
    """CREATE OR REPLACE VIEW v_hoc_sinh AS
       SELECT h.ma_hoc_sinh, h.ho_ten, h.ma_lop, l.khoi, h.gioi_tinh, h.dan_toc,
              h.ngay_sinh, h.khuyet_tat_khong_danh_gia
       FROM hoc_sinh h JOIN lop l USING (ma_lop)""",
    """CREATE OR REPLACE VIEW v_danh_gia_cuoi_nam AS
       SELECT ma_hoc_sinh, ma_lop, khoi, danh_gia, hoan_thanh_chuong_trinh_lop,
              hoan_thanh_chuong_trinh_tieu_hoc, khen_thuong, duoc_len_lop, danh_gia_bo_sung,
              han_nop
       FROM danh_gia_cuoi_nam""",
    """CREATE OR REPLACE VIEW v_hoc_ba AS
       SELECT ma_hoc_ba, ma_hoc_sinh, nam_hoc, phien_ban, trang_thai, sha256, xml_path,
              pdf_path, ma_tra_cuu, ma_lop, thay_the, sha256_du_lieu, ngay_nhan, ma_loi
       FROM hoc_ba""",
    """CREATE OR REPLACE VIEW v_lop AS SELECT ma_lop, khoi, ma_gvcn FROM lop""",
    # The current version of each student's record: the one definition of "current"
    # (the store's readers, the import and the report all use it). Same columns as v_hoc_ba.
    """CREATE OR REPLACE VIEW v_hoc_ba_hien_hanh AS
       SELECT * FROM v_hoc_ba
       QUALIFY phien_ban = max(phien_ban) OVER (PARTITION BY ma_hoc_sinh, nam_hoc)""",
]


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table and view if absent (idempotent)."""
    for table in TABLE_SCHEMAS:
        con.execute(_table_ddl(table))
    cols = ", ".join(f"{k} {v}" for k, v in RESULT_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS danh_gia_cuoi_nam ({cols})")
    for ddl in [*_RECORD_DDL, *JOURNAL_DDL]:
        con.execute(ddl)
    for ddl in [*_VIEWS, *JOURNAL_VIEWS]:
        con.execute(ddl)
    con.execute(
        "INSERT OR REPLACE INTO thong_tin_kho VALUES ('phien_ban_luoc_do', ?)",
        [str(SCHEMA_VERSION)],
    )
