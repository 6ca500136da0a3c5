"""Normalisation: the one way text is folded, and the harmless spellings made canonical.

Sheet names, headers, level names, class names and commendations are all compared
the way a teacher reads them: Unicode NFC (Excel and macOS may store the same letter
decomposed), case and runs of spaces do not matter. ``fold`` (for one string) and
``fold_expr`` (for a polars column) are that comparison; every reader and gate uses
them, so two places can never disagree on whether "Lớp  1A" and "lớp 1a" match.

``normalise_table`` then rewrites only what cannot change the meaning (full level
names, date layouts, 0/1 flags, decimal commas); anything that does not fit stays
as typed, for the row gate to report with the school's own spelling.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping

import polars as pl

from hocbaso.dataset import TABLE_SCHEMAS
from hocbaso.ingest.source import ROW


def fold(text: str | None) -> str:
    """``text`` as compared: NFC, lower-case, whitespace runs as one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text or "").lower().split())


def fold_expr(e: pl.Expr) -> pl.Expr:
    """``fold`` on a text column (null stays null)."""
    return e.str.normalize("NFC").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()


def clean_label(value: str | None) -> str | None:
    """A header cell as shown in messages: NFC, whitespace runs as one space; empty -> None."""
    if value is None:
        return None
    return " ".join(unicodedata.normalize("NFC", value).split()) or None


def text_expr(name: str) -> pl.Expr:
    """A cell as the gates see it: text, NFC, trimmed; an empty cell is null."""
    e = pl.col(name).cast(pl.String).str.normalize("NFC").str.strip_chars()
    return pl.when(e == "").then(pl.lit(None, pl.String)).otherwise(e)


# Accepted spellings (folded) of the codes, mapped to the short code.
SUBJECT_LEVEL_SPELLINGS: Mapping[str, str] = {
    "t": "T",
    "hoàn thành tốt": "T",
    "htt": "T",
    "h": "H",
    "hoàn thành": "H",
    "ht": "H",
    "c": "C",
    "chưa hoàn thành": "C",
    "cht": "C",
    "m": "M",
    "miễn": "M",
}
CRITERION_LEVEL_SPELLINGS: Mapping[str, str] = {
    "t": "T",
    "tốt": "T",
    "đ": "Đ",
    "d": "Đ",
    "đạt": "Đ",
    "dat": "Đ",
    "c": "C",
    "cần cố gắng": "C",
    "ccg": "C",
}
RESULT_SPELLINGS: Mapping[str, str] = {
    "htxs": "HTXS",
    "hoàn thành xuất sắc": "HTXS",
    "htt": "HTT",
    "hoàn thành tốt": "HTT",
    "ht": "HT",
    "hoàn thành": "HT",
    "cht": "CHT",
    "chưa hoàn thành": "CHT",
}
SEX_SPELLINGS: Mapping[str, str] = {"nam": "Nam", "nữ": "Nữ", "nu": "Nữ"}
FLAG_SPELLINGS: Mapping[str, str] = {
    "0": "0",
    "1": "1",
    "false": "0",
    "true": "1",
    "không": "0",
    "có": "1",
}

#: How each column is normalised beyond NFC + trim + empty -> null.
COLUMN_KINDS: Mapping[str, Mapping[str, str]] = {
    "hoc_sinh": {
        "ngay_sinh": "date",
        "gioi_tinh": "sex",
        "khuyet_tat_khong_danh_gia": "flag",
        "chieu_cao": "decimal",
        "can_nang": "decimal",
    },
    "ket_qua_mon": {"mon_hoc": "code", "muc_dat": "subject_level", "diem_ktdk": "score"},
    "pham_chat_nang_luc": {"tieu_chi": "code", "muc_dat": "criterion_level"},
    "tong_hop": {"danh_gia": "result", "danh_gia_bo_sung": "flag", "len_lop": "flag"},
}


def _spelled(e: pl.Expr, spellings: Mapping[str, str]) -> pl.Expr:
    """Known spellings (folded) to their code; anything else kept as typed."""
    return fold_expr(e).replace_strict(dict(spellings), default=e, return_dtype=pl.String)


_ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}( 00:00:00(\.0+)?)?$"
_VN_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"


def _date(e: pl.Expr) -> pl.Expr:
    iso = e.str.replace(r" 00:00:00(\.0+)?$", "").str.to_date("%Y-%m-%d", strict=False)
    vn = e.str.to_date("%d/%m/%Y", strict=False)
    parsed = (
        pl.when(e.str.contains(_ISO_DATE))
        .then(iso)
        .when(e.str.contains(_VN_DATE))
        .then(vn)
        .otherwise(pl.lit(None, pl.Date))
    )
    return pl.when(parsed.is_not_null()).then(parsed.dt.to_string("%Y-%m-%d")).otherwise(e)


_KIND_EXPR: Mapping[str, Callable[[pl.Expr], pl.Expr]] = {
    "subject_level": lambda e: _spelled(e, SUBJECT_LEVEL_SPELLINGS),
    "criterion_level": lambda e: _spelled(e, CRITERION_LEVEL_SPELLINGS),
    "result": lambda e: _spelled(e, RESULT_SPELLINGS),
    "sex": lambda e: _spelled(e, SEX_SPELLINGS),
    "flag": lambda e: _spelled(e, FLAG_SPELLINGS),
    "score": lambda e: pl.when(e.str.to_lowercase() == "m").then(pl.lit("M")).otherwise(e),
    "code": lambda e: e.str.to_uppercase(),
    "decimal": lambda e: (
        pl.when(e.str.contains(r"^\d+[.,]\d*$"))
        .then(e.str.replace(",", ".", literal=True).str.replace(r"\.?0*$", ""))
        .otherwise(e)
    ),
    "date": _date,
}


def normalise_table(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical columns in canonical order, as text; rows with no value at all dropped."""
    kinds = COLUMN_KINDS.get(table, {})
    exprs = []
    for name in TABLE_SCHEMAS[table]:
        if name not in frame.columns:
            exprs.append(pl.lit(None, pl.String).alias(name))
            continue
        e = text_expr(name)
        kind = kinds.get(name)
        if kind is not None:
            e = _KIND_EXPR[kind](e)
        exprs.append(e.alias(name))
    out = frame.select(*exprs, pl.col(ROW))
    return out.filter(~pl.all_horizontal(pl.exclude(ROW).is_null()))


def normalise_date(column: str) -> pl.Expr:
    """A text date column as ``YYYY-MM-DD`` where it is a date in a known layout (ISO,
    DD/MM/YYYY, an Excel date cell); other text is kept as typed."""
    return _date(pl.col(column)).alias(column)
