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

# The signing journal (``hocbaso.store.journal``): requests, signatures, approvals, signers.
JOURNAL_DDL = [
    """CREATE TABLE IF NOT EXISTS giao_dich_ky (
        ma_giao_dich VARCHAR PRIMARY KEY,        -- the school's request id (sent as such)
        ma_lop VARCHAR NOT NULL,
        vai_tro VARCHAR NOT NULL,                -- gvcn | ht | condau
        kenh VARCHAR NOT NULL,                   -- pkcs12 | pkcs11 | tu_xa
        ma_giao_vien VARCHAR NOT NULL,           -- the signer (the seal: its holder)
        so_chu_ky INTEGER NOT NULL,              -- digests in the request
        trang_thai VARCHAR NOT NULL,             -- cho_xac_nhan | da_ky | tu_choi | het_han | loi
        mo_ta VARCHAR NOT NULL,                  -- what the person's phone shows
        ma_loi VARCHAR,
        tao_luc TIMESTAMPTZ NOT NULL,
        xong_luc TIMESTAMPTZ
    )""",
    """CREATE TABLE IF NOT EXISTS chu_ky_hoc_ba (
        ma_hoc_ba VARCHAR NOT NULL,
        vai_tro VARCHAR NOT NULL,
        sha256_vao VARCHAR NOT NULL,             -- the XML the role signs (its sha256)
        ma_lop VARCHAR NOT NULL,
        xml_chuan_bi VARCHAR,                    -- prepared documents (empty signature value)
        pdf_chuan_bi VARCHAR,
        pdf_thong_so VARCHAR,                    -- JSON: byte range, signed attributes
        bam_xml VARCHAR,                         -- hex digests to sign
        bam_pdf VARCHAR,
        ma_giao_dich VARCHAR,                    -- the request carrying the digests (latest)
        trang_thai VARCHAR NOT NULL,             -- chuan_bi | da_gui | da_ky
        sha256 VARCHAR,                          -- signed XML
        xml_path VARCHAR,
        pdf_path VARCHAR,
        cap_nhat TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (ma_hoc_ba, vai_tro, sha256_vao)
    )""",
    """CREATE TABLE IF NOT EXISTS duyet_lop (
        ma_lop VARCHAR NOT NULL,
        dau_van_tay VARCHAR NOT NULL,            -- sha256 of the records approved (id:sha256)
        ket_qua VARCHAR NOT NULL,                -- duyet | tra_lai
        ly_do VARCHAR,
        nguon VARCHAR NOT NULL,                  -- giao_dien | dong_lenh | school.toml
        thoi_diem TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS nguoi_ky (
        ma_lop VARCHAR NOT NULL,
        vai_tro VARCHAR NOT NULL,
        ma_giao_vien VARCHAR NOT NULL,
        PRIMARY KEY (ma_lop, vai_tro)
    )""",
]

# Which states mean "this role has signed" (hocbaso.states: later steps keep the signature).
_SIGNED_STATES = {
    "gvcn": ["signed_gvcn", "signed_ht", "sealed", "submitted", "accepted", "rejected"],
    "ht": ["signed_ht", "sealed", "submitted", "accepted", "rejected"],
    "condau": ["sealed", "submitted", "accepted", "rejected"],
}


def _progress_sql() -> str:
    parts = []
    for role, states in _SIGNED_STATES.items():
        listed = ", ".join(f"'{s}'" for s in states)
        parts.append(
            f"""SELECT h.ma_lop, '{role}' AS vai_tro, n.ma_giao_vien,
                   count(*)::INTEGER AS so_hoc_ba,
                   count(*) FILTER (WHERE h.trang_thai IN ({listed}))::INTEGER AS da_ky
                FROM v_hoc_ba_hien_hanh h
                LEFT JOIN nguoi_ky n ON n.ma_lop = h.ma_lop AND n.vai_tro = '{role}'
                GROUP BY h.ma_lop, n.ma_giao_vien"""
        )
    union = "\n UNION ALL ".join(parts)
    return f"""CREATE OR REPLACE VIEW v_tien_do_ky AS
        SELECT ma_lop, vai_tro, ma_giao_vien, so_hoc_ba, da_ky, so_hoc_ba - da_ky AS con_lai
        FROM ({union})"""


JOURNAL_VIEWS = [
    """CREATE OR REPLACE VIEW v_giao_dich_ky AS
       SELECT ma_giao_dich, ma_lop, vai_tro, kenh, ma_giao_vien, so_chu_ky, trang_thai,
              tao_luc, xong_luc
       FROM giao_dich_ky""",
    _progress_sql(),
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


# Views the statistics report reads (hocbaso.statistics): the levels of every subject and
# every quality/competency with the pupil's class and grade, and the registry's refusals
# of current records with their reason. Created with the others by ``create_schema``.
_VIEWS += [
    """CREATE OR REPLACE VIEW v_ket_qua_mon AS
       SELECT k.ma_hoc_sinh, h.ma_lop, l.khoi, k.mon_hoc, k.muc_dat, k.diem_ktdk
       FROM ket_qua_mon k JOIN hoc_sinh h USING (ma_hoc_sinh) JOIN lop l USING (ma_lop)""",
    """CREATE OR REPLACE VIEW v_pham_chat_nang_luc AS
       SELECT p.ma_hoc_sinh, h.ma_lop, l.khoi, p.tieu_chi, p.muc_dat
       FROM pham_chat_nang_luc p JOIN hoc_sinh h USING (ma_hoc_sinh) JOIN lop l USING (ma_lop)""",
    """CREATE OR REPLACE VIEW v_hoc_ba_tu_choi AS
       SELECT b.ma_hoc_ba, b.ma_hoc_sinh, b.ma_lop, b.phien_ban, b.ma_loi, b.loi, b.cap_nhat
       FROM hoc_ba b JOIN v_hoc_ba_hien_hanh c USING (ma_hoc_ba)
       WHERE c.trang_thai = 'rejected'""",
]
