"""A local Prefect server per workspace, so flow runs are clean and visible in the UI.

Prefect's ephemeral mode starts a server inside every command and prints event
flush tracebacks at exit on this kind of machine. A dedicated
``prefect server start`` whose home is ``<workspace>/.prefect`` runs clean, keeps
the run history with the workspace, and serves the UI the working group watches.
It is started once, detached, and reused by later commands; ``hbs server stop``
ends it. When ``PREFECT_API_URL`` is already set (a real Prefect server), nothing
is started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from hocbaso.errors import ConfigurationError

DEFAULT_PORT = 4200
STARTUP_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class PrefectApi:
    """Where flows report to, and whether this process started that server."""

    api_url: str
    ui_url: str
    home: Path | None
    started_here: bool


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


def ensure_server(workspace_root: Path, *, port: int | None = None) -> PrefectApi:
    """Reuse the workspace's running server or start one; export the settings to this process."""
    if os.environ.get("PREFECT_API_URL"):
        api = os.environ["PREFECT_API_URL"].rstrip("/")
        return PrefectApi(api, api.removesuffix("/api"), None, started_here=False)
    home = workspace_root / ".prefect"
    home.mkdir(parents=True, exist_ok=True)
    state_file = home / "server.json"
    os.environ.update(base_environment(home))
    if state_file.is_file():
        state = json.loads(state_file.read_text())
        api = f"http://127.0.0.1:{state['port']}/api"
        if _pid_alive(int(state["pid"])) and _healthy(api):
            os.environ["PREFECT_API_URL"] = api
            return PrefectApi(api, api.removesuffix("/api"), home, started_here=False)
    chosen = port or (DEFAULT_PORT if _port_free(DEFAULT_PORT) else _free_port())
    api = f"http://127.0.0.1:{chosen}/api"
    env = {**os.environ, **base_environment(home)}
    env.pop("PREFECT_API_URL", None)
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
                str(chosen),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            check=True,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    pid = 0
    while not _healthy(api):
        if not pid and pid_file.is_file() and pid_file.read_text().strip():
            pid = int(pid_file.read_text())
        if (pid and not _pid_alive(pid)) or time.monotonic() > deadline:
            if pid and _pid_alive(pid):
                os.killpg(pid, signal.SIGKILL)
            raise ConfigurationError(
                f"Không khởi động được máy chủ Prefect cục bộ trên cổng {chosen}.",
                hint=f"Xem nhật ký {home / 'server.log'}; nếu cổng đang bận, đặt biến "
                "PREFECT_API_URL trỏ tới một máy chủ Prefect đang chạy.",
            )
        time.sleep(0.3)
    pid = pid or int(pid_file.read_text())
    state_file.write_text(json.dumps({"pid": pid, "port": chosen}))
    os.environ["PREFECT_API_URL"] = api
    return PrefectApi(api, api.removesuffix("/api"), home, started_here=True)


def stop_server(workspace_root: Path) -> bool:
    """Stop the workspace's server if it runs; True when one was stopped."""
    state_file = workspace_root / ".prefect" / "server.json"
    if not state_file.is_file():
        return False
    state = json.loads(state_file.read_text())
    pid = int(state["pid"])
    stopped = False
    if _pid_alive(pid):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            if not _pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
        stopped = True
    state_file.unlink(missing_ok=True)
    return stopped
