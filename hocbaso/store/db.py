"""Opening the DuckDB store: one connection per step, one transaction per change.

Opening the file costs ~30 ms here (DuckDB reads its catalogue and replays the
write-ahead log; closing the last connection checkpoints), and a step asked for a
connection several times per class. ``Store.held()`` keeps the file open for a
whole step: inside the block every ``connect``/``session``/``transaction`` of this
process is a cursor of the one open database (a cursor is DuckDB's cheap second
connection to an open database: its own transactions, usable from its own
thread), so the file is opened once per step. Outside a held block each unit of
work opens and closes the file as before, so nothing keeps it locked between
commands.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from hocbaso.errors import StoreError
from hocbaso.store.schema import create_schema


class Store:
    """The school's store: a DuckDB file in the workspace.

    Nothing opens the file before a step knows it will write something valid, so
    a refused import leaves the file byte-for-byte as it was.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._held: duckdb.DuckDBPyConnection | None = None
        self._holders = 0
        self._held_lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.is_file()

    def _open(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            raise StoreError(
                f"Không mở được kho dữ liệu {self.path.name}: tệp đang được một lệnh hbs khác "
                "sử dụng hoặc không đọc được.",
                hint="Chờ lệnh kia chạy xong (xem trong giao diện Prefect) rồi chạy lại.",
            ) from exc

    @contextmanager
    def held(self) -> Iterator[None]:
        """Keep the file open for the block (a step); nested blocks share the one connection."""
        with self._held_lock:
            if self._held is None:
                self._held = self._open()
            self._holders += 1
        try:
            yield
        finally:
            with self._held_lock:
                self._holders -= 1
                if self._holders == 0 and self._held is not None:
                    self._held.close()
                    self._held = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the held database, or a fresh connection to the file."""
        with self._held_lock:
            if self._held is not None:
                return self._held.cursor()
        return self._open()

    def create(self) -> None:
        """Create the store and its schema (idempotent)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.transaction() as con:
            create_schema(con)

    def _require(self) -> None:
        """Refuse, in the school's words, a store that was never initialised."""
        if not self.exists():
            raise StoreError(
                f"Chưa có kho dữ liệu {self.path}.",
                hint="Chạy `hbs init --source <tệp dữ liệu>` để khởi tạo dữ liệu trước.",
            )

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for reading; the store must exist."""
        self._require()
        con = self._connection()
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection, also while another process holds the store for writing.

        DuckDB lets only one process open a file for writing; a reader that finds it held
        reads a snapshot copy of the file (and its WAL) instead, so `hbs verify` works
        while a run holds the store. The snapshot is what the writer had flushed then.
        """
        self._require()
        try:
            con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.IOException:
            with tempfile.TemporaryDirectory(prefix="hbs-kho-") as tmp:
                copy = Path(tmp) / self.path.name
                shutil.copyfile(self.path, copy)
                wal = self.path.with_name(self.path.name + ".wal")
                if wal.is_file():
                    shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
                try:
                    con = duckdb.connect(str(copy), read_only=False)
                except duckdb.Error as exc:
                    raise StoreError(
                        f"Không đọc được kho dữ liệu {self.path.name} (kể cả bản sao chụp).",
                        hint="Chờ lệnh hbs đang chạy xong rồi kiểm tra lại.",
                    ) from exc
                try:
                    yield con
                finally:
                    con.close()
            return
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection kept for a batch of small transactions (see ``transaction_on``).

        Opening and closing a connection costs ~30 ms here; a step that stores one
        answer at a time (submission receipts) keeps one open instead.
        """
        con = self._connection()
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside BEGIN ... COMMIT; any exception rolls everything back."""
        with self.session() as con, transaction_on(con):
            yield con

    def frame(self, sql: str, params: list[object] | None = None) -> pl.DataFrame:
        """Run a read query (``$1``-style parameters) and return a polars frame."""
        with self.connect() as con:
            return con.sql(sql, params=params or None).pl()


@contextmanager
def transaction_on(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT on an open connection; any exception rolls it back."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
