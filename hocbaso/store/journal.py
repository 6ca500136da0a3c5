"""The signing journal: every signing request and every signature received, kept at once.

Why: a signature is a person's legal act and, with remote signing, a confirmation on
their phone and a paid unit of their quota. So the store keeps, before anything is
sent, what is about to be asked (the prepared documents and their digests, under a
request id of ours) and, as soon as a request is signed, the signed files. A crash,
an expiry or a rerun reads the journal and asks only for what has no signature yet;
the class's records move (``hocbaso.store.records.transition``) once all are signed.

Tables (internal, defined in ``hocbaso.store.schema``): ``giao_dich_ky`` (one row per
request) and ``chu_ky_hoc_ba`` (one row per record, role and input XML: its prepared
documents, the request that carries its digests, then its signed files). Public views
(``docs/remote-signing.md``): ``v_giao_dich_ky`` and ``v_tien_do_ky``. No personal
data: records by ``ma_hoc_ba``, people by ``ma_giao_vien``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import duckdb
import polars as pl

from hocbaso.store.bulk import column_lists, insert_rows, rows_select
from hocbaso.store.db import Store

_PREPARED_COLUMNS = (
    "ma_hoc_ba",
    "vai_tro",
    "sha256_vao",
    "ma_lop",
    "xml_chuan_bi",
    "pdf_chuan_bi",
    "pdf_thong_so",
    "bam_xml",
    "bam_pdf",
)
# Every journal column written in bulk is text but the time of the change.
_TYPES: dict[str, str] = {"cap_nhat": "TIMESTAMPTZ"} | {
    c: "VARCHAR"
    for c in (
        *_PREPARED_COLUMNS,
        "trang_thai",
        "ma_giao_dich",
        "sha256",
        "xml_path",
        "pdf_path",
        "ma_lop",
        "ma_giao_vien",
    )
}


@dataclass(frozen=True)
class JournalEntry:
    """One record's signature in one role, as the journal holds it."""

    ma_hoc_ba: str
    vai_tro: str
    sha256_vao: str
    ma_lop: str
    xml_chuan_bi: str | None
    pdf_chuan_bi: str | None
    pdf_thong_so: str | None
    bam_xml: str | None
    bam_pdf: str | None
    ma_giao_dich: str | None
    trang_thai: str
    sha256: str | None
    xml_path: str | None
    pdf_path: str | None
    cap_nhat: dt.datetime

    @property
    def pdf_parameters(self) -> dict[str, Any]:
        return dict(json.loads(self.pdf_thong_so or "{}"))


@dataclass(frozen=True)
class SigningRequest:
    """One row of ``giao_dich_ky``."""

    ma_giao_dich: str
    ma_lop: str
    vai_tro: str
    kenh: str
    ma_giao_vien: str
    so_chu_ky: int
    trang_thai: str
    mo_ta: str
    ma_loi: str | None
    tao_luc: dt.datetime
    xong_luc: dt.datetime | None


_ENTRY_COLUMNS = [f.name for f in fields(JournalEntry)]
_REQUEST_COLUMNS = [f.name for f in fields(SigningRequest)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def entries_on(
    con: duckdb.DuckDBPyConnection, role: str, keys: Iterable[tuple[str, str]]
) -> dict[str, JournalEntry]:
    """Journal rows of ``role`` for ``(ma_hoc_ba, sha256_vao)`` pairs, by ma_hoc_ba."""
    pairs = list(keys)
    if not pairs:
        return {}
    frame = pl.DataFrame(
        {"ma_hoc_ba": [p[0] for p in pairs], "sha256_vao": [p[1] for p in pairs]},
        schema={"ma_hoc_ba": pl.String(), "sha256_vao": pl.String()},
    )
    con.register("_k", frame)
    try:
        rows = con.execute(
            f"SELECT {', '.join('j.' + c for c in _ENTRY_COLUMNS)} FROM chu_ky_hoc_ba j "
            "JOIN _k USING (ma_hoc_ba, sha256_vao) WHERE j.vai_tro = $1",
            [role],
        ).fetchall()
    finally:
        con.unregister("_k")
    found = [JournalEntry(**dict(zip(_ENTRY_COLUMNS, row, strict=True))) for row in rows]
    return {e.ma_hoc_ba: e for e in found}


def entries(store: Store, role: str, keys: Iterable[tuple[str, str]]) -> dict[str, JournalEntry]:
    with store.connect() as con:
        return entries_on(con, role, keys)


def save_prepared(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert prepared rows (``chuan_bi``): documents stored, digests computed, nothing sent."""
    now = _now()
    columns = (*_PREPARED_COLUMNS, "trang_thai", "cap_nhat")
    insert_rows(
        con,
        "chu_ky_hoc_ba",
        columns,
        _TYPES,
        [(*(r[c] for c in _PREPARED_COLUMNS), "chuan_bi", now) for r in rows],
    )


def open_request(
    con: duckdb.DuckDBPyConnection,
    request: SigningRequest,
    members: Sequence[JournalEntry] | Sequence[tuple[str, str]],
) -> None:
    """Write a request (``cho_xac_nhan``) and tie its records to it: before it is sent.

    ``members``: journal entries (remote: prepared rows now sent) or, for a local key,
    ``(ma_hoc_ba, sha256_vao)`` pairs whose rows are written when each record is signed.
    """
    con.execute(
        f"INSERT INTO giao_dich_ky ({', '.join(_REQUEST_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in _REQUEST_COLUMNS)})",
        [getattr(request, c) for c in _REQUEST_COLUMNS],
    )
    entries_ = [m for m in members if isinstance(m, JournalEntry)]
    if entries_:
        keys = ("ma_hoc_ba", "vai_tro", "sha256_vao")
        con.execute(
            "UPDATE chu_ky_hoc_ba SET ma_giao_dich = $1, trang_thai = 'da_gui', cap_nhat = $2 "
            f"FROM ({rows_select(keys, _TYPES, first_param=3)}) k "
            "WHERE chu_ky_hoc_ba.ma_hoc_ba = k.ma_hoc_ba AND chu_ky_hoc_ba.vai_tro = k.vai_tro "
            "AND chu_ky_hoc_ba.sha256_vao = k.sha256_vao",
            [
                request.ma_giao_dich,
                _now(),
                *column_lists([(e.ma_hoc_ba, e.vai_tro, e.sha256_vao) for e in entries_], 3),
            ],
        )


def record_signed(
    con: duckdb.DuckDBPyConnection,
    ma_giao_dich: str,
    ma_lop: str,
    role: str,
    signed: Sequence[tuple[str, str, str, str, str]],
) -> None:
    """Keep signed records: ``(ma_hoc_ba, sha256_vao, sha256, xml_path, pdf_path)``.

    Inside the caller's transaction; the files are already written (content-addressed).
    An upsert by hand, set-based: the journal rows that exist (prepared or sent) are
    updated in one statement, the others inserted in a second (DuckDB's ``INSERT ... ON
    CONFLICT DO UPDATE`` costs 15-20 ms a row with its commit).
    """
    if not signed:
        return
    now = _now()
    columns = ("ma_hoc_ba", "sha256_vao", "sha256", "xml_path", "pdf_path")
    lists = column_lists(signed, len(columns))
    con.execute(
        "UPDATE chu_ky_hoc_ba SET ma_giao_dich = $1, trang_thai = 'da_ky', sha256 = s.sha256, "
        "xml_path = s.xml_path, pdf_path = s.pdf_path, cap_nhat = $2 "
        f"FROM ({rows_select(columns, _TYPES, first_param=4)}) s "
        "WHERE chu_ky_hoc_ba.ma_hoc_ba = s.ma_hoc_ba AND chu_ky_hoc_ba.vai_tro = $3 "
        "AND chu_ky_hoc_ba.sha256_vao = s.sha256_vao",
        [ma_giao_dich, now, role, *lists],
    )
    con.execute(  # the rows the journal did not hold yet (a key file signs unprepared)
        "INSERT INTO chu_ky_hoc_ba (ma_hoc_ba, vai_tro, sha256_vao, ma_lop, ma_giao_dich, "
        "trang_thai, sha256, xml_path, pdf_path, cap_nhat) "
        "SELECT s.ma_hoc_ba, $3, s.sha256_vao, $4, $1, 'da_ky', s.sha256, s.xml_path, "
        f"s.pdf_path, $2 FROM ({rows_select(columns, _TYPES, first_param=5)}) s "
        "WHERE NOT EXISTS (SELECT 1 FROM chu_ky_hoc_ba j WHERE j.ma_hoc_ba = s.ma_hoc_ba "
        "AND j.vai_tro = $3 AND j.sha256_vao = s.sha256_vao)",
        [ma_giao_dich, now, role, ma_lop, *lists],
    )


def close_request(
    con: duckdb.DuckDBPyConnection, ma_giao_dich: str, state: str, code: str | None = None
) -> None:
    """Set a request's final state (``da_ky``, ``tu_choi``, ``het_han``, ``loi``)."""
    con.execute(
        "UPDATE giao_dich_ky SET trang_thai = $1, ma_loi = $2, xong_luc = $3 "
        "WHERE ma_giao_dich = $4",
        [state, code, _now(), ma_giao_dich],
    )


def close_interrupted_local(con: duckdb.DuckDBPyConnection, ma_lop: str, role: str) -> None:
    """A key file's or token's request left open by a killed run: ``loi`` (``gian_doan``),
    counting the signatures it did keep (its records signed are not signed again)."""
    con.execute(
        "UPDATE giao_dich_ky g SET trang_thai = 'loi', ma_loi = 'gian_doan', xong_luc = $1, "
        "so_chu_ky = 2 * (SELECT count(*) FROM chu_ky_hoc_ba j "
        "                 WHERE j.ma_giao_dich = g.ma_giao_dich) "
        "WHERE g.ma_lop = $2 AND g.vai_tro = $3 AND g.kenh IN ('pkcs12', 'pkcs11') "
        "AND g.trang_thai = 'cho_xac_nhan'",
        [_now(), ma_lop, role],
    )


def requests_on(con: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> dict[str, SigningRequest]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = con.execute(
        f"SELECT {', '.join(_REQUEST_COLUMNS)} FROM giao_dich_ky "
        "WHERE list_contains($1, ma_giao_dich)",
        [wanted],
    ).fetchall()
    found = [SigningRequest(**dict(zip(_REQUEST_COLUMNS, row, strict=True))) for row in rows]
    return {r.ma_giao_dich: r for r in found}


def record_signers(con: duckdb.DuckDBPyConnection, rows: Sequence[tuple[str, str, str]]) -> None:
    """Who signs each class in each role ``(ma_lop, vai_tro, ma_giao_vien)`` (configure)."""
    con.execute("DELETE FROM nguoi_ky")
    if rows:
        insert_rows(con, "nguoi_ky", ("ma_lop", "vai_tro", "ma_giao_vien"), _TYPES, rows)


def signing_requests(store: Store) -> pl.DataFrame:
    """``v_giao_dich_ky``, oldest first (for ``hbs report`` and artifacts)."""
    return store.frame("SELECT * FROM v_giao_dich_ky ORDER BY tao_luc, ma_giao_dich")


def signing_progress(store: Store) -> pl.DataFrame:
    """``v_tien_do_ky``: per class, role and signer, how many records are left to sign."""
    return store.frame(
        "SELECT * FROM v_tien_do_ky ORDER BY ma_lop, "
        "CASE vai_tro WHEN 'gvcn' THEN 1 WHEN 'ht' THEN 2 ELSE 3 END"
    )
