"""Record states and their transitions: one transaction and one audit event each.

The allowed moves are the state machine of DESIGN.md. A batch (a class) moves
together: if any record of the batch is not where the step expects it, nothing
moves and the step says which state it found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from hocbaso.errors import TransitionError
from hocbaso.model import TrangThai as S
from hocbaso.store.audit import append_events
from hocbaso.store.db import Store

ALLOWED: dict[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.LOCKED}),
    S.LOCKED: frozenset({S.SIGNED_GVCN, S.DRAFT}),
    S.SIGNED_GVCN: frozenset({S.SIGNED_HT, S.DRAFT}),
    S.SIGNED_HT: frozenset({S.SEALED, S.DRAFT}),
    S.SEALED: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.ACCEPTED, S.REJECTED, S.SUBMITTED}),
    S.REJECTED: frozenset({S.SUBMITTED}),
    S.ACCEPTED: frozenset({S.REVOKED}),
    S.REVOKED: frozenset(),
}

# Columns a transition may set besides the state.
UPDATABLE = frozenset(
    {"sha256_du_lieu", "sha256", "xml_path", "pdf_path", "ma_tra_cuu", "ngay_nhan", "ma_loi", "loi"}
)

STATE_NAMES_VI: dict[str, str] = {
    "draft": "bản nháp",
    "locked": "đã chốt",
    "signed_gvcn": "GVCN đã ký",
    "signed_ht": "Hiệu trưởng đã ký",
    "sealed": "đã đóng dấu",
    "submitted": "đã gửi, chờ kết quả",
    "accepted": "đã được CSDL tiếp nhận",
    "rejected": "bị CSDL từ chối",
    "revoked": "đã thu hồi",
}


@dataclass(frozen=True)
class RecordChange:
    """One record's move: its id, the new column values and the audit detail."""

    ma_hoc_ba: str
    values: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


def apply_transition(
    con: duckdb.DuckDBPyConnection,
    changes: Sequence[RecordChange],
    to_state: S,
    *,
    vai_tro: str,
    hanh_dong: str,
) -> None:
    """Move records to ``to_state`` inside the caller's transaction, with audit events."""
    if not changes:
        return
    ids = [c.ma_hoc_ba for c in changes]
    current = dict(
        con.execute(
            "SELECT ma_hoc_ba, trang_thai FROM hoc_ba WHERE list_contains($1, ma_hoc_ba)", [ids]
        ).fetchall()
    )
    for c in changes:
        state = current.get(c.ma_hoc_ba)
        if state is None:
            raise TransitionError(f"Không có học bạ mã {c.ma_hoc_ba} trong kho dữ liệu.")
        if to_state not in ALLOWED[S(state)]:
            raise TransitionError(
                f"Học bạ {c.ma_hoc_ba} đang ở trạng thái “{STATE_NAMES_VI[state]}”, không thể "
                f"chuyển sang “{STATE_NAMES_VI[to_state]}”.",
                hint="Xem trạng thái từng học bạ bằng `hbs report` rồi chạy đúng bước tiếp theo.",
            )
        bad = set(c.values) - UPDATABLE
        if bad:
            raise ValueError(f"columns not updatable by a transition: {sorted(bad)}")
    now = dt.datetime.now(dt.UTC)
    for c in changes:
        sets = ["trang_thai = ?", "cap_nhat = ?", *(f"{k} = ?" for k in c.values)]
        con.execute(
            f"UPDATE hoc_ba SET {', '.join(sets)} WHERE ma_hoc_ba = ?",
            [to_state.value, now, *c.values.values(), c.ma_hoc_ba],
        )
    append_events(
        con,
        vai_tro,
        hanh_dong,
        [
            (c.ma_hoc_ba, {"tu": current[c.ma_hoc_ba], "den": to_state.value, **c.detail})
            for c in changes
        ],
    )


def transition(
    store: Store, changes: Sequence[RecordChange], to_state: S, *, vai_tro: str, hanh_dong: str
) -> None:
    """Move a batch in one transaction: all records move, or none does."""
    with store.transaction() as con:
        apply_transition(con, changes, to_state, vai_tro=vai_tro, hanh_dong=hanh_dong)


def current_records(
    store: Store, *, states: Iterable[S] | None = None, ma_lop: str | None = None
) -> list[dict[str, Any]]:
    """The latest version of each student's record, optionally filtered."""
    sql = """SELECT * FROM hoc_ba h
             WHERE phien_ban = (SELECT max(phien_ban) FROM hoc_ba x
                                WHERE x.ma_hoc_sinh = h.ma_hoc_sinh AND x.nam_hoc = h.nam_hoc)"""
    params: list[Any] = []
    if states is not None:
        params.append([s.value for s in states])
        sql += f" AND list_contains(${len(params)}, trang_thai)"
    if ma_lop is not None:
        params.append(ma_lop)
        sql += f" AND ma_lop = ${len(params)}"
    sql += " ORDER BY ma_lop, ma_hoc_sinh"
    return store.frame(sql, params).to_dicts()
