"""One command at a time changes a workspace: an OS lock that dies with its holder.

Why an OS lock (``fcntl.flock``) and not a pid file: the kernel releases a flock
when its holder exits for any reason (SIGKILL, power cut), so a lock left by a
dead process is never stale — the next command simply gets it. The small JSON
written into the lock file after acquiring only says *who* holds it, for the
refusal message; it is never what decides.

The lock is reentrant within one process: the ``hbs`` command takes it around a
verb, and the flow it runs takes it again (so a flow started by a deployment
worker, without ``hbs``, is protected too). A ``flock`` on a second descriptor of
the same file would block the process against itself, hence the per-process
table of held locks.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hocbaso.errors import WorkspaceBusy

LOCK_DIR = ".hbs"
LOCK_FILE = "lock"
# A holder writes its description right after acquiring; a refused reader waits this
# long for it before naming an unknown holder.
_DESCRIPTION_WAIT_S = 0.5


@dataclass(frozen=True)
class LockHolder:
    """Who holds a workspace lock: the command, its process and since when."""

    command: str
    pid: int
    since: datetime
    host: str

    def since_local(self) -> str:
        """The start time in the machine's local time, as the working group reads it."""
        return self.since.astimezone().strftime("%H:%M:%S ngày %d/%m/%Y")

    def to_json(self) -> str:
        return json.dumps(
            {
                "command": self.command,
                "pid": self.pid,
                "since": self.since.isoformat(),
                "host": self.host,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> LockHolder | None:
        try:
            raw = json.loads(text)
            return cls(
                str(raw["command"]),
                int(raw["pid"]),
                datetime.fromisoformat(raw["since"]),
                str(raw.get("host", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass
class _Held:
    fd: int
    holder: LockHolder
    depth: int


_held: dict[Path, _Held] = {}
_table_lock = threading.Lock()


def lock_path(root: Path | str) -> Path:
    """The lock file of the workspace at ``root``."""
    return Path(root).resolve() / LOCK_DIR / LOCK_FILE


def read_holder(root: Path | str) -> LockHolder | None:
    """The description the current (or last) holder wrote, if readable."""
    try:
        return LockHolder.from_json(lock_path(root).read_text(encoding="utf-8"))
    except OSError:
        return None


def _busy(root: Path, holder: LockHolder | None) -> WorkspaceBusy:
    if holder is None:
        who = "một lệnh khác (chưa ghi kịp thông tin)"
        stop = "dừng tiến trình đó"
    else:
        where = f" trên máy {holder.host}" if holder.host != socket.gethostname() else ""
        who = (
            f"lệnh `{holder.command}` (pid {holder.pid}{where}) đang chạy từ {holder.since_local()}"
        )
        stop = f"dừng nó (ví dụ `kill {holder.pid}`)"
    return WorkspaceBusy(
        f"Thư mục làm việc {root} đang bận: {who}. Hai lệnh không được cùng thay đổi "
        "một thư mục làm việc.",
        holder=holder,
        hint=f"Chờ lệnh đó chạy xong rồi chạy lại lệnh của bạn. Nếu lệnh đó bị treo, {stop}; "
        "khóa tự được mở khi tiến trình giữ khóa kết thúc.",
    )


def _acquire(path: Path, command: str) -> _Held:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CLOEXEC: a program this process starts (the Prefect server) must not inherit the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        deadline = time.monotonic() + _DESCRIPTION_WAIT_S
        holder = read_holder(path.parent.parent)
        while holder is None and time.monotonic() < deadline:
            time.sleep(0.05)
            holder = read_holder(path.parent.parent)
        raise _busy(path.parent.parent, holder) from None
    except BaseException:
        os.close(fd)
        raise
    holder = LockHolder(command, os.getpid(), datetime.now().astimezone(), socket.gethostname())
    data = holder.to_json().encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    return _Held(fd, holder, depth=1)


def _release(path: Path, held: _Held) -> None:
    try:
        os.ftruncate(held.fd, 0)  # no description of a holder that has gone
    finally:
        os.close(held.fd)  # closing the only descriptor releases the flock


@contextmanager
def workspace_lock(root: Path | str, command: str) -> Iterator[LockHolder]:
    """Hold the workspace's lock for the block, or raise ``WorkspaceBusy`` at once.

    ``command`` names what runs (``hbs sign --role gvcn``, ``luồng ky-hoc-ba``) for
    the message another command gets. Reentrant within this process: an inner
    acquisition keeps the outer holder's description.
    """
    path = lock_path(root)
    with _table_lock:
        held = _held.get(path)
        # After a fork the child inherits the table but not the right to the lock.
        if held is not None and held.holder.pid == os.getpid():
            held.depth += 1
        else:
            held = _acquire(path, command)
            _held[path] = held
    try:
        yield held.holder
    finally:
        with _table_lock:
            held.depth -= 1
            if held.depth == 0:
                del _held[path]
                _release(path, held)
