"""Loading an accepted import into the store, and what it changed.

An import replaces what the previous import brought for every student whose
record is still a draft. Students whose record is locked, signed or issued are
never changed by an import: their rows stay as they were, and a difference in the
new file is reported as needing an unlock (before the seal) or a revocation.
Everything happens in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from hocbaso.dataset import TABLE_SCHEMAS, SchoolData, conform
from hocbaso.model import TrangThai
from hocbaso.store.audit import append_events
from hocbaso.store.bulk import insert_rows
from hocbaso.store.db import Store
from hocbaso.store.schema import RESULT_COLUMNS

_PER_STUDENT = ("hoc_sinh", "ket_qua_mon", "pham_chat_nang_luc", "tong_hop")


@dataclass(frozen=True)
class ImportSummary:
    """What an import changed since the previous one (counts only: no personal data)."""

    so_hoc_sinh: int
    them: int  # students added
    bot: int  # students removed (their draft records deleted)
    doi_ket_qua: int  # students whose overall result changed
    doi_du_lieu: int  # students whose imported rows changed
    giu_nguyen_da_khoa: list[str] = field(default_factory=list)  # ma_hoc_ba needing unlock

    def lines_vi(self) -> list[str]:
        lines = [
            f"Số học sinh trong tệp: {self.so_hoc_sinh}",
            f"Học sinh mới: {self.them}; học sinh không còn trong tệp: {self.bot}",
            f"Học sinh thay đổi dữ liệu: {self.doi_du_lieu}; "
            f"thay đổi kết quả đánh giá: {self.doi_ket_qua}",
        ]
        if self.giu_nguyen_da_khoa:
            lines.append(
                f"{len(self.giu_nguyen_da_khoa)} học bạ đã chốt/ký/cấp có dữ liệu khác trong tệp "
                "mới nhưng KHÔNG bị thay đổi: muốn sửa, Hiệu trưởng mở khóa (`hbs unlock`) trước "
                "khi đóng dấu, hoặc thu hồi và cấp phiên bản mới nếu đã cấp."
            )
        return lines


def _student_fingerprints(
    con: duckdb.DuckDBPyConnection | None, data: SchoolData | None
) -> dict[str, bytes]:
    """A digest per student of every imported row about them (to tell what changed).

    The SHA-256 of each table's rows about the student (as JSON, sorted), table after
    table: equal exactly when every table holds the same rows for them. Why digests,
    fed one row at a time: the rows of a 10,000-pupil school are ~35 MB of JSON, and
    kept as Python text (a list per student, then one JSON document each) they were
    ~200 MB at the peak of `hbs init`, twice when re-importing over a loaded store.
    """
    digests: dict[str, Any] = {}  # ma_hoc_sinh -> a running hashlib.sha256
    for table in _PER_STUDENT:
        if data is not None:
            frame = getattr(data, table)
        else:
            assert con is not None
            frame = con.sql(f"SELECT * FROM {table}").pl()
        if frame.is_empty():
            continue
        rows = frame.select(
            pl.col("ma_hoc_sinh"),
            pl.struct(pl.all()).struct.json_encode().alias("_j"),
        ).sort("ma_hoc_sinh", "_j")
        del frame
        prefix = f"{table}:".encode()
        for ma, j in rows.iter_rows():
            digest = digests.get(ma)
            if digest is None:
                digest = digests[ma] = hashlib.sha256()
            # JSON text has no raw newline: the line ends where the row does.
            digest.update(prefix + j.encode() + b"\n")
    return {ma: digest.digest() for ma, digest in digests.items()}


def _insert(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, columns: list[str]
) -> None:
    if frame.is_empty():
        return
    con.register("_src", frame.select(columns))
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM _src")
    con.unregister("_src")


def apply_import(
    store: Store,
    data: SchoolData,
    results: pl.DataFrame,
    *,
    nam_hoc: str,
    nguon: str,
    sha256_nguon: str,
    vai_tro: str = "to_cong_tac",
) -> ImportSummary:
    """Load ``data`` and its computed ``results`` in one transaction."""
    store.create()
    with store.transaction() as con:
        old_prints = _student_fingerprints(con, None)
        new_prints = _student_fingerprints(None, data)
        old_results = dict(
            con.execute("SELECT ma_hoc_sinh, danh_gia FROM danh_gia_cuoi_nam").fetchall()
        )
        protected_rows = con.execute(
            """SELECT ma_hoc_sinh, ma_hoc_ba FROM v_hoc_ba_hien_hanh
               WHERE nam_hoc = $1 AND trang_thai <> $2""",
            [nam_hoc, TrangThai.DRAFT.value],
        ).fetchall()
        protected = dict(protected_rows)
        keep = pl.Series("ma_hoc_sinh", list(protected), dtype=pl.String)

        # Whole-school tables: replaced (locked records keep their frozen copy).
        for table in ("lop", "giao_vien"):
            con.execute(f"DELETE FROM {table}")
            _insert(con, table, getattr(data, table), list(TABLE_SCHEMAS[table]))
        # Per-student tables: replaced except for protected students.
        for table in _PER_STUDENT:
            con.execute(
                f"DELETE FROM {table} WHERE NOT list_contains($1, ma_hoc_sinh)", [keep.to_list()]
            )
            frame = getattr(data, table).filter(~pl.col("ma_hoc_sinh").is_in(keep.implode()))
            _insert(con, table, frame, list(TABLE_SCHEMAS[table]))
        con.execute(
            "DELETE FROM danh_gia_cuoi_nam WHERE NOT list_contains($1, ma_hoc_sinh)",
            [keep.to_list()],
        )
        res = results.filter(~pl.col("ma_hoc_sinh").is_in(keep.implode()))
        _insert(con, "danh_gia_cuoi_nam", res, list(RESULT_COLUMNS))

        # Draft records: one per student still in the file; removed students' drafts go.
        new_ids = set(new_prints) | set(data.hoc_sinh["ma_hoc_sinh"].to_list())
        old_ids = set(old_prints)
        removed = sorted(old_ids - new_ids - set(protected))
        con.execute(
            "DELETE FROM hoc_ba WHERE trang_thai = $1 AND list_contains($2, ma_hoc_sinh)",
            [TrangThai.DRAFT.value, removed],
        )
        existing = dict(
            con.execute(
                "SELECT ma_hoc_sinh, ma_lop FROM hoc_ba WHERE nam_hoc = $1", [nam_hoc]
            ).fetchall()
        )
        now = dt.datetime.now(dt.UTC)
        classes = dict(data.hoc_sinh.select("ma_hoc_sinh", "ma_lop").iter_rows())
        fresh = [
            (str(uuid.uuid4()), ma, nam_hoc, 1, classes[ma], TrangThai.DRAFT.value, now)
            for ma in sorted(classes)
            if ma not in existing
        ]
        if fresh:
            insert_rows(
                con,
                "hoc_ba",
                ("ma_hoc_ba", "ma_hoc_sinh", "nam_hoc", "phien_ban", "ma_lop", "trang_thai",
                 "cap_nhat"),
                {"phien_ban": "INTEGER", "cap_nhat": "TIMESTAMPTZ"} | dict.fromkeys(
                    ("ma_hoc_ba", "ma_hoc_sinh", "nam_hoc", "ma_lop", "trang_thai"), "VARCHAR"
                ),
                fresh,
            )  # fmt: skip
        # A draft whose student moved class follows the student.
        con.execute(
            """UPDATE hoc_ba SET ma_lop = s.ma_lop FROM hoc_sinh s
               WHERE hoc_ba.ma_hoc_sinh = s.ma_hoc_sinh AND hoc_ba.trang_thai = $1
                 AND hoc_ba.ma_lop <> s.ma_lop""",
            [TrangThai.DRAFT.value],
        )

        changed = [m for m in new_ids & old_ids if new_prints.get(m) != old_prints.get(m)]
        new_results = dict(results.select("ma_hoc_sinh", "danh_gia").iter_rows())
        summary = ImportSummary(
            so_hoc_sinh=data.hoc_sinh.height,
            them=len(new_ids - old_ids),
            bot=len(old_ids - new_ids),
            doi_ket_qua=sum(
                1
                for m in new_ids & set(old_results)
                if m not in protected and old_results[m] != new_results.get(m)
            ),
            doi_du_lieu=len(changed),
            giu_nguyen_da_khoa=sorted(protected[m] for m in changed if m in protected),
        )
        seq = con.execute("SELECT coalesce(max(so_thu_tu), 0) + 1 FROM nhap_du_lieu").fetchone()
        assert seq is not None
        detail = {
            "so_hoc_sinh": summary.so_hoc_sinh,
            "them": summary.them,
            "bot": summary.bot,
            "doi_du_lieu": summary.doi_du_lieu,
            "doi_ket_qua": summary.doi_ket_qua,
            "giu_nguyen_da_khoa": len(summary.giu_nguyen_da_khoa),
        }
        con.execute(
            "INSERT INTO nhap_du_lieu VALUES (?, ?, ?, ?, ?, ?)",
            [
                seq[0],
                now,
                nguon,
                sha256_nguon,
                summary.so_hoc_sinh,
                json.dumps(detail, ensure_ascii=False),
            ],
        )
        append_events(con, vai_tro, "khoi_tao_du_lieu", [(None, {"nguon": nguon, **detail})])
    return summary


def load_school_data(store: Store, ma_lop: str | None = None) -> SchoolData:
    """Read the typed import tables back (optionally one class) as ``SchoolData``.

    For one class the filter runs in DuckDB, so a step over 30 classes reads each
    row once, not the whole school 30 times.
    """
    queries = {t: f"SELECT * FROM {t}" for t in TABLE_SCHEMAS}
    params: list[object] | None = None
    if ma_lop is not None:
        params = [ma_lop]
        in_class = "ma_hoc_sinh IN (SELECT ma_hoc_sinh FROM hoc_sinh WHERE ma_lop = $1)"
        for t in _PER_STUDENT:
            queries[t] += " WHERE " + ("ma_lop = $1" if t == "hoc_sinh" else in_class)
        queries["lop"] += " WHERE ma_lop = $1"
    with store.connect() as con:
        frames = {
            t: con.sql(q, params=params if "$1" in q else None).pl() for t, q in queries.items()
        }
    return SchoolData(**{t: conform(t, f) for t, f in frames.items()})


def load_results(store: Store, ma_lop: str | None = None) -> pl.DataFrame:
    """The computed year-end results (``danh_gia_cuoi_nam``), optionally one class."""
    if ma_lop is None:
        return store.frame("SELECT * FROM danh_gia_cuoi_nam")
    return store.frame("SELECT * FROM danh_gia_cuoi_nam WHERE ma_lop = $1", [ma_lop])
