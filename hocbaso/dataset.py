"""The school's year data as typed polars frames: the shape every step shares.

``SchoolData`` is what the import produces after the gates, what the store
persists table by table, and what record building reads back (per class). The
column names are those of the canonical import format
(``docs/import-format.md``); the dtypes below are the typed contract.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import polars as pl

TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "lop": {"ma_lop": pl.String(), "khoi": pl.Int8(), "ma_gvcn": pl.String()},
    "giao_vien": {
        "ma_giao_vien": pl.String(),
        "ho_ten": pl.String(),
        "so_dinh_danh": pl.String(),
        "chuc_vu": pl.String(),
    },
    "hoc_sinh": {
        "ma_hoc_sinh": pl.String(),
        "so_dinh_danh": pl.String(),
        "ho_ten": pl.String(),
        "ngay_sinh": pl.Date(),
        "gioi_tinh": pl.String(),
        "dan_toc": pl.String(),
        "quoc_tich": pl.String(),
        "noi_sinh": pl.String(),
        "que_quan": pl.String(),
        "noi_o": pl.String(),
        "ho_ten_cha": pl.String(),
        "ho_ten_me": pl.String(),
        "ho_ten_nguoi_giam_ho": pl.String(),
        "ma_lop": pl.String(),
        "so_dang_bo": pl.String(),
        "khuyet_tat_khong_danh_gia": pl.Boolean(),
        "doi_tuong_chinh_sach": pl.String(),
        "chieu_cao": pl.Float64(),
        "can_nang": pl.Float64(),
        "nghi_co_phep": pl.Int16(),
        "nghi_khong_phep": pl.Int16(),
    },
    "ket_qua_mon": {
        "ma_hoc_sinh": pl.String(),
        "mon_hoc": pl.String(),
        "muc_dat": pl.String(),  # T, H, C or M (normalised short codes)
        "diem_ktdk": pl.String(),  # "0".."10", "M" (exempt) or null: catalogue varchar(4)
        "nhan_xet": pl.String(),
    },
    "pham_chat_nang_luc": {
        "ma_hoc_sinh": pl.String(),
        "tieu_chi": pl.String(),
        "muc_dat": pl.String(),  # T, Đ or C (normalised short codes)
        "nhan_xet": pl.String(),
    },
    "tong_hop": {
        "ma_hoc_sinh": pl.String(),
        "danh_gia": pl.String(),  # HTXS, HTT, HT, CHT or null (computed)
        "khen_thuong": pl.String(),
        "khen_thuong_dot_xuat": pl.String(),
        "danh_gia_bo_sung": pl.Boolean(),
        "len_lop": pl.Boolean(),
        "nhan_xet": pl.String(),
        "nhan_xet_pham_chat": pl.String(),
        "nhan_xet_nang_luc_chung": pl.String(),
        "nhan_xet_nang_luc_dac_thu": pl.String(),
    },
}

# Tables a source must contain; `tong_hop` may be absent (results are then computed).
REQUIRED_TABLES: tuple[str, ...] = (
    "lop",
    "giao_vien",
    "hoc_sinh",
    "ket_qua_mon",
    "pham_chat_nang_luc",
)


def empty_frame(table: str) -> pl.DataFrame:
    """An empty frame with the typed columns of ``table``."""
    return pl.DataFrame(schema=TABLE_SCHEMAS[table])


@dataclass(frozen=True)
class SchoolData:
    """One school's year data, typed and normalised (what passed the gates)."""

    lop: pl.DataFrame
    giao_vien: pl.DataFrame
    hoc_sinh: pl.DataFrame
    ket_qua_mon: pl.DataFrame
    pham_chat_nang_luc: pl.DataFrame
    tong_hop: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select and cast ``frame`` to the typed schema of ``table`` (missing optional columns
    become nulls). Raises polars errors on impossible casts: call after the row gate."""
    schema = TABLE_SCHEMAS[table]
    cols = [
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(cols)
