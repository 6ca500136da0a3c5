"""Loopback ports of a workspace's demo services: the default if free, else any free one.

The choice is recorded in the workspace (``Workspace.service_ports_path``), so every
later command — the client, the stand-in, the lookup URL printed in a QR code —
agrees with it. A recorded port that has become busy (another program took it) is
replaced by a free one and the record updated: nothing of the demo depends on a
port staying the same, except paper copies printed earlier, whose lookup links then
point at the old port (say so when it happens).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

HOST = "127.0.0.1"


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on ``host:port`` and it can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port the kernel says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _read(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: int(v) for k, v in data.items() if isinstance(v, int)}


def recorded_port(path: Path, service: str) -> int | None:
    """The port recorded for ``service``, if any."""
    return _read(path).get(service)


def record_port(path: Path, service: str, port: int) -> None:
    """Keep ``service``'s port in the workspace record (written atomically)."""
    data = _read(path)
    if data.get(service) == port:
        return
    data[service] = port
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def choose_port(path: Path, service: str, default: int) -> tuple[int, int | None]:
    """(the port to use now, the recorded port it replaces or None), recorded.

    The recorded port if it is free; otherwise ``default`` if free (first use only);
    otherwise any free port.
    """
    previous = recorded_port(path, service)
    if previous is not None and port_is_free(previous):
        return previous, None
    port = default if previous is None and port_is_free(default) else free_port()
    record_port(path, service, port)
    return port, previous
