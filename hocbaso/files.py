"""Content-addressed files of the workspace (XML and PDF of every record version).

A file is named by the SHA-256 of its bytes and written atomically (temporary
file, fsync, rename), so a crash never leaves a half-written file under a real
name, and writing the same bytes twice is harmless. The store keeps the
workspace-relative path.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from hocbaso.config import Workspace
from hocbaso.errors import RecordError

CONTENT_DIR = "tep"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_content(ws: Workspace, data: bytes, suffix: str) -> tuple[str, str]:
    """Store bytes under their hash; return (workspace-relative path, sha256)."""
    digest = sha256_hex(data)
    path = ws.root / CONTENT_DIR / digest[:2] / f"{digest}{suffix}"
    if not path.exists():
        write_atomic(path, data)
    return ws.relative(path), digest


def read_content(ws: Workspace, relative: str, expected_sha256: str | None = None) -> bytes:
    """Read a stored file back, checking it still has the hash the store expects."""
    path = ws.path(relative)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordError(
            f"Không đọc được tệp {relative} của học bạ.",
            hint="Tệp trong thư mục làm việc đã bị xóa hoặc di chuyển; khôi phục từ bản sao lưu.",
        ) from exc
    if expected_sha256 is not None and sha256_hex(data) != expected_sha256:
        raise RecordError(
            f"Tệp {relative} đã bị thay đổi sau khi được ghi (mã băm không khớp).",
            hint="Không dùng tệp này; khôi phục từ bản sao lưu và chạy `hbs verify`.",
        )
    return data
