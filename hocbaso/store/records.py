"""Records in the store: the typed row, its readers, and its moves (one per step).

A move is a ``Step`` of ``hocbaso.states`` applied to a batch: one transaction
and one audit event per record. A batch (a class) moves together: if any record
of the batch is not in a state the step takes, nothing moves and the error says
which state it found. The allowed transitions (``ALLOWED``) are derived from the
step table, so there is no second list to keep in line with it.

Records leave the store as ``StoredRecord`` values, never as dicts; the current
version of each student's record is defined once, by the view
``v_hoc_ba_hien_hanh`` (``hocbaso.store.schema``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import PurePosixPath
from typing import Any

import duckdb
import polars as pl

from hocbaso.errors import RecordError, TransitionError
from hocbaso.model import TrangThai as S
from hocbaso.states import ALLOWED, STATE_NAMES_VI, Step
from hocbaso.store.audit import append_events
from hocbaso.store.db import Store

__all__ = [
    "ALLOWED",
    "STATE_NAMES_VI",
    "RecordChange",
    "RecordFiles",
    "StoredRecord",
    "apply_transition",
    "classes_waiting",
    "current_records",
    "open_next_version",
    "record",
    "transition",
]

# Columns a transition may set besides the state, with their polars type (for the
# set-based UPDATE).
UPDATABLE: Mapping[str, pl.DataType] = {
    "sha256_du_lieu": pl.String(),
    "sha256": pl.String(),
    "xml_path": pl.String(),
    "pdf_path": pl.String(),
    "ma_tra_cuu": pl.String(),
    "ngay_nhan": pl.Datetime("us", "UTC"),
    "ma_loi": pl.String(),
    "loi": pl.String(),
}


@dataclass(frozen=True, slots=True)
class RecordFiles:
    """The derived files of a locked (or later) record and the digests that name them."""

    xml_path: str
    xml_sha256: str
    pdf_path: str
    pdf_sha256: str
    data_sha256: str  # digest of the frozen data element (``sha256_du_lieu``)


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One row of ``hoc_ba``: a version of a student's record and where it stands."""

    ma_hoc_ba: str
    ma_hoc_sinh: str
    nam_hoc: str
    phien_ban: int
    thay_the: str | None
    ma_lop: str
    trang_thai: S
    sha256_du_lieu: str | None
    sha256: str | None
    xml_path: str | None
    pdf_path: str | None
    ma_tra_cuu: str | None
    ngay_nhan: dt.datetime | None
    ma_loi: str | None
    loi: str | None
    cap_nhat: dt.datetime

    @property
    def xml_sha256(self) -> str | None:
        """SHA-256 of the current XML file (the ``sha256`` column)."""
        return self.sha256

    @property
    def pdf_sha256(self) -> str | None:
        """SHA-256 of the current PDF file.

        Files are content-addressed (``hocbaso.files.store_content`` names each by its
        hash), so the name is the digest; this is the one place that relies on it.
        """
        return PurePosixPath(self.pdf_path).stem if self.pdf_path else None

    @property
    def files(self) -> RecordFiles:
        """The record's files; a ``RecordError`` if it has none (a draft)."""
        xml_sha, pdf_sha = self.xml_sha256, self.pdf_sha256
        if not (self.xml_path and xml_sha and self.pdf_path and pdf_sha and self.sha256_du_lieu):
            raise RecordError(
                f"Học bạ {self.ma_hoc_ba} đang ở trạng thái "
                f"“{STATE_NAMES_VI[self.trang_thai]}” nên chưa có tệp XML/PDF.",
                hint="Chạy `hbs lock` cho lớp của học bạ trước.",
            )
        return RecordFiles(self.xml_path, xml_sha, self.pdf_path, pdf_sha, self.sha256_du_lieu)


_COLUMNS = ", ".join(f.name for f in fields(StoredRecord))


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[StoredRecord]:
    cursor = con.execute(sql, params)
    out = []
    for row in cursor.fetchall():
        values = dict(zip([f.name for f in fields(StoredRecord)], row, strict=True))
        values["trang_thai"] = S(values["trang_thai"])
        out.append(StoredRecord(**values))
    return out


def record_on(con: duckdb.DuckDBPyConnection, ma_hoc_ba: str) -> StoredRecord | None:
    """``record`` inside the caller's connection or transaction."""
    found = _records(con, f"SELECT {_COLUMNS} FROM hoc_ba WHERE ma_hoc_ba = $1", [ma_hoc_ba])
    return found[0] if found else None


def record(store: Store, ma_hoc_ba: str) -> StoredRecord | None:
    """The record version ``ma_hoc_ba`` (current or not), or ``None``."""
    with store.connect() as con:
        return record_on(con, ma_hoc_ba)


def current_records_on(
    con: duckdb.DuckDBPyConnection,
    *,
    states: Iterable[S] | None = None,
    ma_lop: str | None = None,
) -> list[StoredRecord]:
    """``current_records`` inside the caller's connection or transaction."""
    sql = (
        f"SELECT {_COLUMNS} FROM hoc_ba "
        "WHERE ma_hoc_ba IN (SELECT ma_hoc_ba FROM v_hoc_ba_hien_hanh)"
    )
    params: list[Any] = []
    if states is not None:
        params.append([S(s).value for s in states])
        sql += f" AND list_contains(${len(params)}, trang_thai)"
    if ma_lop is not None:
        params.append(ma_lop)
        sql += f" AND ma_lop = ${len(params)}"
    sql += " ORDER BY ma_lop, ma_hoc_sinh"
    return _records(con, sql, params)


def current_records(
    store: Store, *, states: Iterable[S] | None = None, ma_lop: str | None = None
) -> list[StoredRecord]:
    """The current (latest) version of each student's record, optionally filtered."""
    with store.connect() as con:
        return current_records_on(con, states=states, ma_lop=ma_lop)


def classes_waiting(store: Store, step: Step, ma_lop: str | None = None) -> list[str]:
    """Classes with at least one current record waiting for ``step`` (sorted).

    The one question flows, tasks and the CLI ask before running a step; with
    ``ma_lop`` it says whether that class is waiting.
    """
    sql = "SELECT DISTINCT ma_lop FROM v_hoc_ba_hien_hanh WHERE list_contains($1, trang_thai)"
    params: list[Any] = [sorted(s.value for s in step.takes)]
    if ma_lop is not None:
        sql += " AND ma_lop = $2"
        params.append(ma_lop)
    with store.connect() as con:
        return sorted(row[0] for row in con.execute(sql, params).fetchall())


@dataclass(frozen=True)
class RecordChange:
    """One record's move: its id, the new column values and the audit detail."""

    ma_hoc_ba: str
    values: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


def _refuse(ma_hoc_ba: str, state: S, step: Step) -> TransitionError:
    return TransitionError(
        f"Học bạ {ma_hoc_ba} đang ở trạng thái “{STATE_NAMES_VI[state]}”, không thể "
        f"{step.name_vi} (chuyển sang “{STATE_NAMES_VI[step.gives]}”).",
        hint="Xem trạng thái từng học bạ bằng `hbs report` rồi chạy đúng bước tiếp theo.",
    )


def _update(con: duckdb.DuckDBPyConnection, changes: Sequence[RecordChange], to: S) -> None:
    """Set the state and values of many records with one UPDATE per set of columns.

    Why set-based: an UPDATE per record costs a round trip and a statement each;
    one statement over a registered frame moves a class at once.
    """
    now = dt.datetime.now(dt.UTC)
    groups: dict[tuple[str, ...], list[RecordChange]] = {}
    for c in changes:
        groups.setdefault(tuple(sorted(c.values)), []).append(c)
    for columns, group in groups.items():
        schema: dict[str, pl.DataType] = {"ma_hoc_ba": pl.String()}
        schema.update({k: UPDATABLE[k] for k in columns})
        frame = pl.DataFrame(
            [[c.ma_hoc_ba, *(c.values[k] for k in columns)] for c in group],
            schema=schema,
            orient="row",
        )
        sets = ", ".join(["trang_thai = $1", "cap_nhat = $2", *(f"{k} = _c.{k}" for k in columns)])
        con.register("_c", frame)
        try:
            con.execute(
                f"UPDATE hoc_ba SET {sets} FROM _c WHERE hoc_ba.ma_hoc_ba = _c.ma_hoc_ba",
                [to.value, now],
            )
        finally:
            con.unregister("_c")


def apply_transition(
    con: duckdb.DuckDBPyConnection, changes: Sequence[RecordChange], step: Step
) -> None:
    """Move records through ``step`` inside the caller's transaction, with audit events.

    Every record must be in a state the step takes; otherwise nothing is written
    and the first offender is named.
    """
    if not changes:
        return
    ids = [c.ma_hoc_ba for c in changes]
    if len(set(ids)) != len(ids):
        raise ValueError("a record appears twice in one batch")
    current = dict(
        con.execute(
            "SELECT ma_hoc_ba, trang_thai FROM hoc_ba WHERE list_contains($1, ma_hoc_ba)", [ids]
        ).fetchall()
    )
    for c in changes:
        state = current.get(c.ma_hoc_ba)
        if state is None:
            raise TransitionError(
                f"Không có học bạ mã {c.ma_hoc_ba} trong kho dữ liệu.",
                hint="Kiểm tra lại mã học bạ (xem view v_hoc_ba).",
            )
        if not step.moves(S(state)):
            raise _refuse(c.ma_hoc_ba, S(state), step)
        assert step.gives in ALLOWED[S(state)]
        bad = set(c.values) - set(UPDATABLE)
        if bad:
            raise ValueError(f"columns not updatable by a transition: {sorted(bad)}")
    _update(con, changes, step.gives)
    append_events(
        con,
        step.actor,
        step.audit_action,
        [
            (c.ma_hoc_ba, {"tu": current[c.ma_hoc_ba], "den": step.gives.value, **c.detail})
            for c in changes
        ],
    )


def transition(store: Store, changes: Sequence[RecordChange], step: Step) -> None:
    """Move a batch through ``step`` in one transaction: all records move, or none does."""
    if not changes:
        return
    with store.transaction() as con:
        apply_transition(con, changes, step)


def open_next_version(
    con: duckdb.DuckDBPyConnection,
    previous: StoredRecord,
    *,
    vai_tro: str,
    extra_events: Sequence[tuple[str | None, dict[str, Any]]] = (),
) -> str:
    """Open the next version of a revoked record as a draft, inside the caller's transaction.

    The new version keeps the student, year and class, references the one it
    replaces (``thay_the``) and is announced in the audit log (``phien_ban_moi``,
    followed by ``extra_events``, e.g. the principal's signed decision). Returns its
    ``ma_hoc_ba``.
    """
    state = con.execute(
        "SELECT trang_thai FROM hoc_ba WHERE ma_hoc_ba = $1", [previous.ma_hoc_ba]
    ).fetchone()
    if state is None or state[0] != S.REVOKED.value:
        raise TransitionError(
            f"Học bạ {previous.ma_hoc_ba} chưa bị thu hồi nên không mở phiên bản mới được.",
            hint="Thu hồi học bạ trước (`hbs revoke`).",
        )
    new_id = str(uuid.uuid4())
    phien_ban = previous.phien_ban + 1
    con.execute(
        "INSERT INTO hoc_ba (ma_hoc_ba, ma_hoc_sinh, nam_hoc, phien_ban, thay_the, ma_lop,"
        " trang_thai, cap_nhat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            new_id,
            previous.ma_hoc_sinh,
            previous.nam_hoc,
            phien_ban,
            previous.ma_hoc_ba,
            previous.ma_lop,
            S.DRAFT.value,
            dt.datetime.now(dt.UTC),
        ],
    )
    append_events(
        con,
        vai_tro,
        "phien_ban_moi",
        [(new_id, {"thay_the": previous.ma_hoc_ba, "phien_ban": phien_ban}), *extra_events],
    )
    return new_id
