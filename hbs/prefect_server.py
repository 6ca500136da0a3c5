"""A local Prefect server per workspace, so flow runs are clean and visible in the UI.

Prefect's ephemeral mode starts a server inside every command and prints event
flush tracebacks at exit on this kind of machine. A dedicated
``prefect server start`` whose home is ``<workspace>/.prefect`` runs clean, keeps
the run history with the workspace, and serves the UI the working group watches.
It is started once, detached, and reused by later commands; ``hbs server stop``
ends it. When ``PREFECT_API_URL`` is already set (a real Prefect server), nothing
is started.

One workspace, one server, one UI. The port is 4200 when free, else any free
port, so the server is told its own address for its UI (``PREFECT_UI_API_URL``,
what ``/ui-settings`` reports to the browser) and the commands are told the UI's
address for the links they print (``PREFECT_UI_URL``); otherwise a UI on another
port would talk to whatever answers on 4200. The record ``.prefect/server.json``
names the workspace it belongs to (its resolved path and the id kept in
``.hbs/workspace.json``): a ``cp -a`` copy or a moved workspace carries the
original's record, sees that it is not its own and starts its own server, never
touching the original's. A record whose pid is dead, or alive but not that
workspace's ``prefect server`` (a reused pid), is replaced.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hocbaso.errors import ConfigurationError

DEFAULT_PORT = 4200
STARTUP_TIMEOUT_S = 90.0
IDENTITY_FILE = Path(".hbs") / "workspace.json"
RUN_TAG_PREFIX = "hbs-ws:"


@dataclass(frozen=True)
class PrefectApi:
    """Where flows report to, where its UI is, and whether it is the workspace's own server.

    ``home`` is set when the server is the workspace's own (started or reused here);
    ``None`` when ``PREFECT_API_URL`` named another server. ``workspace_id`` tags the
    runs ``hbs`` starts, so they can be told apart on a shared server.
    """

    api_url: str
    ui_url: str
    home: Path | None
    started_here: bool
    workspace_id: str = ""

    @property
    def run_tag(self) -> str:
        """The tag every flow run started by ``hbs`` for this workspace carries."""
        return f"{RUN_TAG_PREFIX}{self.workspace_id}"


@dataclass(frozen=True)
class ServerRecord:
    """What ``.prefect/server.json`` says: which server, for which workspace."""

    pid: int
    port: int
    api_url: str
    ui_url: str
    workspace: str
    workspace_id: str

    @classmethod
    def read(cls, path: Path) -> ServerRecord | None:
        """The record, or None when missing or from an older ``hbs`` (then it is replaced)."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                int(raw["pid"]),
                int(raw["port"]),
                str(raw["api_url"]),
                str(raw["ui_url"]),
                str(raw["workspace"]),
                str(raw["workspace_id"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, path: Path) -> None:
        data = {**self.__dict__, "started_at": datetime.now().astimezone().isoformat()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)


def workspace_identity(workspace_root: Path) -> str:
    """The workspace's id, generated once and kept in ``.hbs/workspace.json``.

    The file also names the path it was generated for: a copy (``cp -a``) or a moved
    workspace finds another path there and gets a new id, so it is never mistaken for
    the original (its runs, its server) on a server both report to.
    """
    root = workspace_root.resolve()
    path = root / IDENTITY_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("path") == str(root) and raw.get("id"):
            return str(raw["id"])
    except (OSError, ValueError, AttributeError):
        pass
    new_id = uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"id": new_id, "path": str(root)}), encoding="utf-8")
    tmp.replace(path)
    return new_id


def _healthy(api_url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _is_server_of(pid: int, home: Path) -> bool:
    """Whether ``pid`` is a live ``prefect server start`` whose home is ``home``.

    A pid in an old record may have been reused by any program since; reading the
    process's own command line and environment (Linux ``/proc``) tells.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    if b"prefect" not in cmdline or b"server" not in cmdline or b"start" not in cmdline:
        return False
    return f"PREFECT_HOME={home}".encode() in environ


@contextmanager
def _server_lock(home: Path) -> Iterator[None]:
    """Serialise starting/stopping the workspace's server (``hbs server start`` takes no
    workspace lock, yet must not start a second server next to a command's)."""
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / "server.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def base_environment(home: Path) -> dict[str, str]:
    """Prefect settings shared by the server and the commands that talk to it."""
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_LOGGING_LOG_PRINTS": "true",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    }


def _urls(port: int) -> tuple[str, str]:
    ui = f"http://127.0.0.1:{port}"
    return f"{ui}/api", ui


def ensure_server(workspace_root: Path, *, port: int | None = None) -> PrefectApi:
    """Reuse the workspace's running server or start one; export the settings to this process."""
    root = workspace_root.resolve()
    if os.environ.get("PREFECT_API_URL"):
        api = os.environ["PREFECT_API_URL"].rstrip("/")
        ui = os.environ.get("PREFECT_UI_URL", "").rstrip("/") or api.removesuffix("/api")
        return PrefectApi(api, ui, None, False, workspace_identity(root))
    home = root / ".prefect"
    with _server_lock(home):
        ws_id = workspace_identity(root)
        os.environ.update(base_environment(home))
        state_file = home / "server.json"
        record = ServerRecord.read(state_file)
        if (
            record is not None
            and record.workspace == str(root)
            and record.workspace_id == ws_id
            and _is_server_of(record.pid, home)
        ):
            if _healthy(record.api_url, timeout=5.0):
                _export(record.api_url, record.ui_url)
                return PrefectApi(record.api_url, record.ui_url, home, False, ws_id)
            _kill_group(record.pid)  # ours, but not answering: start afresh
        # No record, another workspace's (a copy's inherited record), or a stale one:
        # never stop a process it names, it is not ours.
        state_file.unlink(missing_ok=True)
        chosen = port or (DEFAULT_PORT if _port_free(DEFAULT_PORT) else _free_port())
        pid = _start(home, chosen)
        api, ui = _urls(chosen)
        ServerRecord(pid, chosen, api, ui, str(root), ws_id).write(state_file)
        _export(api, ui)
        return PrefectApi(api, ui, home, True, ws_id)


def _export(api: str, ui: str) -> None:
    """Tell this process (and the commands it starts) where the API and its UI are."""
    os.environ["PREFECT_API_URL"] = api
    os.environ["PREFECT_UI_URL"] = ui


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        return
    for _ in range(50):
        if not _pid_alive(pid):
            return
        time.sleep(0.1)
    with suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def _start(home: Path, port: int) -> int:
    """Start ``prefect server start`` detached on ``port``; its pid once it answers."""
    api, ui = _urls(port)
    env = {**os.environ, **base_environment(home)}
    env.pop("PREFECT_API_URL", None)
    env.update(
        {
            # What the server's UI is told to call (its /ui-settings), and its own address.
            "PREFECT_UI_API_URL": api,
            "PREFECT_UI_URL": ui,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
        }
    )
    pid_file = home / "server.pid"
    pid_file.unlink(missing_ok=True)
    # `setsid -f` detaches the server into its own session (it outlives this command and
    # a Ctrl-C here); the shell writes its pid, then becomes the server by `exec`.
    with (home / "server.log").open("ab") as log:
        subprocess.run(
            [
                "setsid",
                "-f",
                "sh",
                "-c",
                'echo $$ > "$0"; exec "$@"',
                str(pid_file),
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            check=True,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    pid = 0
    while not (pid and _healthy(api)):
        if not pid and pid_file.is_file() and pid_file.read_text().strip():
            pid = int(pid_file.read_text())
        if (pid and not _pid_alive(pid)) or time.monotonic() > deadline:
            if pid and _pid_alive(pid):
                os.killpg(pid, signal.SIGKILL)
            raise ConfigurationError(
                f"Không khởi động được máy chủ Prefect cục bộ trên cổng {port}.",
                hint=f"Xem nhật ký {home / 'server.log'}; nếu cổng đang bận, đặt biến "
                "PREFECT_API_URL trỏ tới một máy chủ Prefect đang chạy.",
            )
        time.sleep(0.3)
    return pid


def stop_server(workspace_root: Path) -> bool:
    """Stop the workspace's own server if it runs; True when one was stopped.

    A record this workspace inherited (a copy's) or a stale one is removed without
    stopping the process it names: that may be another workspace's server.
    """
    root = workspace_root.resolve()
    home = root / ".prefect"
    state_file = home / "server.json"
    if not state_file.is_file():
        return False
    with _server_lock(home):
        record = ServerRecord.read(state_file)
        ours = (
            record is not None
            and record.workspace == str(root)
            and record.workspace_id == workspace_identity(root)
            and _is_server_of(record.pid, home)
        )
        if ours and record is not None:
            _kill_group(record.pid)
        state_file.unlink(missing_ok=True)
        return ours
