"""The audit log: one event per state change, chained by SHA-256.

Each event stores the hash of the previous one, so changing, removing or
reordering any event breaks every later link; ``verify_chain`` names the first
broken one. Events never carry personal data: a record is named by its
``ma_hoc_ba`` (a UUID), a class by its code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import duckdb

from hocbaso.store.bulk import insert_rows

GENESIS = "0" * 64


def _event_hash(
    prev: str,
    so_thu_tu: int,
    thoi_diem: str,
    vai_tro: str,
    hanh_dong: str,
    ma_hoc_ba: str | None,
    chi_tiet: str,
) -> str:
    body = json.dumps(
        [prev, so_thu_tu, thoi_diem, vai_tro, hanh_dong, ma_hoc_ba, chi_tiet],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


_EVENT_COLUMNS = (
    "so_thu_tu",
    "thoi_diem",
    "vai_tro",
    "hanh_dong",
    "ma_hoc_ba",
    "chi_tiet",
    "bam_truoc",
    "bam",
)
_EVENT_TYPES = dict(zip(_EVENT_COLUMNS, ("BIGINT", "TIMESTAMPTZ", *["VARCHAR"] * 6), strict=True))


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).isoformat(timespec="microseconds")


def append_events(
    con: duckdb.DuckDBPyConnection,
    vai_tro: str,
    hanh_dong: str,
    events: list[tuple[str | None, dict[str, Any]]],
) -> None:
    """Append events (``(ma_hoc_ba, detail)``) inside the caller's transaction."""
    if not events:
        return
    last = con.execute(
        "SELECT so_thu_tu, bam FROM su_kien ORDER BY so_thu_tu DESC LIMIT 1"
    ).fetchone()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for ma_hoc_ba, detail in events:
        seq += 1
        chi_tiet = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        stamp = _iso(now)
        h = _event_hash(prev, seq, stamp, vai_tro, hanh_dong, ma_hoc_ba, chi_tiet)
        rows.append((seq, now, vai_tro, hanh_dong, ma_hoc_ba, chi_tiet, prev, h))
        prev = h
    insert_rows(con, "su_kien", _EVENT_COLUMNS, _EVENT_TYPES, rows)


@dataclass(frozen=True)
class ChainCheck:
    """Outcome of ``hbs audit verify``."""

    events: int
    first_broken: int | None  # so_thu_tu of the first event whose link does not hold

    @property
    def intact(self) -> bool:
        return self.first_broken is None

    def summary(self) -> str:
        if self.intact:
            return f"Nhật ký kiểm toán nguyên vẹn: {self.events} sự kiện, chuỗi băm khớp."
        return (
            f"Nhật ký kiểm toán BỊ THAY ĐỔI: mắt xích đầu tiên không khớp là sự kiện số "
            f"{self.first_broken} (trên tổng {self.events} sự kiện)."
        )


def verify_chain(con: duckdb.DuckDBPyConnection) -> ChainCheck:
    """Recompute every link; report the first event whose hash or back-link is wrong."""
    rows = con.execute(
        "SELECT so_thu_tu, thoi_diem, vai_tro, hanh_dong, ma_hoc_ba, chi_tiet, bam_truoc, bam "
        "FROM su_kien ORDER BY so_thu_tu"
    ).fetchall()
    prev = GENESIS
    expected_seq = 1
    for seq, ts, vai_tro, hanh_dong, ma_hoc_ba, chi_tiet, bam_truoc, bam in rows:
        recomputed = _event_hash(prev, seq, _iso(ts), vai_tro, hanh_dong, ma_hoc_ba, chi_tiet)
        if seq != expected_seq or bam_truoc != prev or bam != recomputed:
            return ChainCheck(events=len(rows), first_broken=seq)
        prev = bam
        expected_seq += 1
    return ChainCheck(events=len(rows), first_broken=None)
