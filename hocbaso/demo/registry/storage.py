"""What the stand-in registry holds, in one SQLite file that survives restarts.

SQLite (standard library) rather than DuckDB: the stand-in is a small
transactional key-value service with concurrent writers from a thread pool,
which is SQLite's home ground, and it keeps the stand-in apart from the
school's own DuckDB store. Every write is one transaction under one lock, so
the check "is this identifier already held, with which bytes" and the insert
cannot interleave between two concurrent PUTs of the same record.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DB_FILE = "registry.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hoc_ba (
    ma_hoc_ba   TEXT PRIMARY KEY,
    ma_tra_cuu  TEXT NOT NULL UNIQUE,
    sha256      TEXT NOT NULL,
    pdf_sha256  TEXT NOT NULL,
    xml         BLOB NOT NULL,
    pdf         BLOB NOT NULL,
    received_at TEXT NOT NULL,
    trang_thai  TEXT NOT NULL CHECK (trang_thai IN ('accepted', 'revoked')),
    revoked_at  TEXT,
    ly_do       TEXT,
    client_id   TEXT NOT NULL,
    ma_truong   TEXT NOT NULL,
    truong      TEXT NOT NULL,
    ho_va_ten   TEXT NOT NULL,
    nam_hoc     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nhat_ky (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    method      TEXT NOT NULL,
    ma_hoc_ba   TEXT,
    http_status INTEGER NOT NULL,
    code        TEXT
);
"""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record as the stand-in holds it (without the blobs)."""

    ma_hoc_ba: str
    ma_tra_cuu: str
    sha256: str
    pdf_sha256: str
    received_at: dt.datetime
    trang_thai: Literal["accepted", "revoked"]
    revoked_at: dt.datetime | None
    client_id: str
    ma_truong: str
    truong: str
    ho_va_ten: str
    nam_hoc: str


@dataclass(frozen=True, slots=True)
class NewRecord:
    """What the server has checked and wants stored."""

    ma_hoc_ba: str
    sha256: str
    pdf_sha256: str
    xml: bytes
    pdf: bytes
    client_id: str
    ma_truong: str
    truong: str
    ho_va_ten: str
    nam_hoc: str


PutResult = Literal["created", "same", "different"]


def _replaces(xml: bytes) -> str | None:
    from hocbaso.demo.registry.checks import replaced_record

    return replaced_record(xml)


_COLUMNS = (
    "ma_hoc_ba, ma_tra_cuu, sha256, pdf_sha256, received_at, trang_thai, revoked_at, "
    "client_id, ma_truong, truong, ho_va_ten, nam_hoc"
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _row_to_record(row: sqlite3.Row) -> StoredRecord:
    revoked = row["revoked_at"]
    return StoredRecord(
        ma_hoc_ba=row["ma_hoc_ba"],
        ma_tra_cuu=row["ma_tra_cuu"],
        sha256=row["sha256"],
        pdf_sha256=row["pdf_sha256"],
        received_at=dt.datetime.fromisoformat(row["received_at"]),
        trang_thai=row["trang_thai"],
        revoked_at=dt.datetime.fromisoformat(revoked) if revoked else None,
        client_id=row["client_id"],
        ma_truong=row["ma_truong"],
        truong=row["truong"],
        ho_va_ten=row["ho_va_ten"],
        nam_hoc=row["nam_hoc"],
    )


class Storage:
    """The stand-in's SQLite file in ``directory``; safe to share between threads."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / DB_FILE
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the file; the object is unusable afterwards."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get(self, ma_hoc_ba: str) -> StoredRecord | None:
        """The record held under ``ma_hoc_ba``, if any."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM hoc_ba WHERE ma_hoc_ba = ?", (ma_hoc_ba,)
            ).fetchone()
        return _row_to_record(row) if row else None

    def by_ma_tra_cuu(self, ma_tra_cuu: str) -> StoredRecord | None:
        """The record that was given the lookup code ``ma_tra_cuu``, if any."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM hoc_ba WHERE ma_tra_cuu = ?", (ma_tra_cuu,)
            ).fetchone()
        return _row_to_record(row) if row else None

    def successor(self, record: StoredRecord) -> StoredRecord | None:
        """The issued record that replaces the revoked ``record``: one received after it,
        of the same school and year, whose XML names it (``madinhdanhhocbathaythe``)."""
        if record.trang_thai != "revoked":
            return None
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS}, xml FROM hoc_ba WHERE ma_truong = ? AND nam_hoc = ? "
                "AND trang_thai = 'accepted' AND received_at > ? ORDER BY received_at DESC",
                (record.ma_truong, record.nam_hoc, record.received_at.isoformat()),
            ).fetchall()
        for row in rows:
            if _replaces(bytes(row["xml"])) == record.ma_hoc_ba:
                return _row_to_record(row)
        return None

    def blobs(self, ma_hoc_ba: str) -> tuple[bytes, bytes] | None:
        """The XML and PDF bytes held for ``ma_hoc_ba`` (for tests and inspection)."""
        with self._lock:
            row = self._db.execute(
                "SELECT xml, pdf FROM hoc_ba WHERE ma_hoc_ba = ?", (ma_hoc_ba,)
            ).fetchone()
        return (bytes(row["xml"]), bytes(row["pdf"])) if row else None

    def put(self, record: NewRecord, new_code: Callable[[], str]) -> tuple[PutResult, StoredRecord]:
        """Store ``record`` unless its identifier is taken; say what happened.

        ``same``: the identifier holds exactly these bytes (XML and PDF);
        ``different``: it holds other bytes (never overwritten). A fresh lookup
        code is drawn until it is unused.
        """
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM hoc_ba WHERE ma_hoc_ba = ?", (record.ma_hoc_ba,)
            ).fetchone()
            if row is not None:
                held = _row_to_record(row)
                same = held.sha256 == record.sha256 and held.pdf_sha256 == record.pdf_sha256
                return ("same" if same else "different"), held
            code = new_code()
            while db.execute("SELECT 1 FROM hoc_ba WHERE ma_tra_cuu = ?", (code,)).fetchone():
                code = new_code()
            db.execute(
                "INSERT INTO hoc_ba (ma_hoc_ba, ma_tra_cuu, sha256, pdf_sha256, xml, pdf, "
                "received_at, trang_thai, client_id, ma_truong, truong, ho_va_ten, nam_hoc) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?)",
                (
                    record.ma_hoc_ba,
                    code,
                    record.sha256,
                    record.pdf_sha256,
                    record.xml,
                    record.pdf,
                    _now().isoformat(),
                    record.client_id,
                    record.ma_truong,
                    record.truong,
                    record.ho_va_ten,
                    record.nam_hoc,
                ),
            )
            row = db.execute(
                f"SELECT {_COLUMNS} FROM hoc_ba WHERE ma_hoc_ba = ?", (record.ma_hoc_ba,)
            ).fetchone()
            return "created", _row_to_record(row)

    def revoke(self, ma_hoc_ba: str, ly_do: str) -> tuple[bool, StoredRecord | None]:
        """Mark a record revoked. ``(True, record)`` if done now, ``(False, record)``
        if it was already revoked, ``(False, None)`` if it is not held."""
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM hoc_ba WHERE ma_hoc_ba = ?", (ma_hoc_ba,)
            ).fetchone()
            if row is None:
                return False, None
            if row["trang_thai"] == "revoked":
                return False, _row_to_record(row)
            db.execute(
                "UPDATE hoc_ba SET trang_thai = 'revoked', revoked_at = ?, ly_do = ? "
                "WHERE ma_hoc_ba = ?",
                (_now().isoformat(), ly_do, ma_hoc_ba),
            )
            row = db.execute(
                f"SELECT {_COLUMNS} FROM hoc_ba WHERE ma_hoc_ba = ?", (ma_hoc_ba,)
            ).fetchone()
            return True, _row_to_record(row)

    def log(self, method: str, ma_hoc_ba: str | None, http_status: int, code: str | None) -> None:
        """Note one answer to a record request (tests count PUT bodies with it)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO nhat_ky (at, method, ma_hoc_ba, http_status, code) "
                "VALUES (?, ?, ?, ?, ?)",
                (_now().isoformat(), method, ma_hoc_ba, http_status, code),
            )

    def count_records(self) -> int:
        """How many records are held."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM hoc_ba").fetchone()[0])

    def answers(self, method: str | None = None, ma_hoc_ba: str | None = None) -> list[int]:
        """HTTP statuses answered, oldest first, optionally for one method/record."""
        query = "SELECT http_status FROM nhat_ky WHERE 1 = 1"
        params: list[str] = []
        if method is not None:
            query += " AND method = ?"
            params.append(method)
        if ma_hoc_ba is not None:
            query += " AND ma_hoc_ba = ?"
            params.append(ma_hoc_ba)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [int(r[0]) for r in rows]
