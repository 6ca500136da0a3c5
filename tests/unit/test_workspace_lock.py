"""The workspace lock: one holder at a time, named to whoever is refused; dies with its holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hocbaso.errors import StoreError, WorkspaceBusy
from hocbaso.workspace_lock import lock_path, read_holder, workspace_lock

# A child process that takes the lock, says so, and waits to be killed.
HOLDER = """
import sys, time
from hocbaso.workspace_lock import workspace_lock
with workspace_lock(sys.argv[1], "hbs sign --role gvcn"):
    print("held", flush=True)
    time.sleep(600)
"""


def _start_holder(root: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def _kill(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.wait()
    assert child.stdout is not None
    child.stdout.close()


def test_a_held_lock_refuses_at_once_naming_the_holder(tmp_path: Path) -> None:
    child = _start_holder(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(WorkspaceBusy) as caught, workspace_lock(tmp_path, "hbs stamp"):
            pass
        assert time.monotonic() - started < 1.0
        err = caught.value
        assert isinstance(err, StoreError)
        assert err.holder is not None and err.holder.pid == child.pid
        message = err.user_message()
        assert "`hbs sign --role gvcn`" in message
        assert f"pid {child.pid}" in message
        assert err.holder.since_local() in message
        assert err.hint and f"kill {child.pid}" in err.hint
    finally:
        _kill(child)


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path: Path) -> None:
    child = _start_holder(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    _kill(child)
    # The dead holder's description is still in the file; the kernel released its flock.
    stale = read_holder(tmp_path)
    assert stale is not None and stale.pid == child.pid
    with workspace_lock(tmp_path, "hbs stamp") as holder:
        assert holder.pid == os.getpid()
        assert read_holder(tmp_path) == holder
    assert lock_path(tmp_path).read_text() == ""  # released: no holder described


def test_the_same_process_may_take_it_again_and_keeps_the_outer_holder(tmp_path: Path) -> None:
    with workspace_lock(tmp_path, "hbs sign --role ht") as outer:
        with workspace_lock(tmp_path, "luồng ky-hoc-ba (ht)") as inner:
            assert inner == outer
        # Still held after the inner block: another process is refused.
        probe = subprocess.run(
            [sys.executable, "-c", HOLDER, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.returncode != 0
        assert "WorkspaceBusy" in probe.stderr and "hbs sign --role ht" in probe.stderr
    _kill(_start_holder(tmp_path))  # released by the outer block: the child got it
