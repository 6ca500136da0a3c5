"""The workspace's remote-signing stand-in (demo mode): where it listens and what it holds.

It runs on loopback while a signing step runs (``DemoCredentials.services``), on a
port chosen free once and recorded in the workspace (``hocbaso.demo.ports``), over
``<workspace>/ky-tu-xa-gia-lap`` (its requests and its ledger). Each teacher's account
is their demo PKI certificate and key. No legal value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from hocbaso.config import Workspace
from hocbaso.demo.pki import DemoPki
from hocbaso.demo.ports import HOST, choose_port, recorded_port
from hocbaso.demo.remote_signing.standin import (
    DEMO_SECRET,
    Account,
    RemoteSigningStandin,
    RunningStandin,
)
from hocbaso.errors import ConfigurationError

SERVICE = "ky_tu_xa_gia_lap"
DEFAULT_PORT = 18767
DIRECTORY = "ky-tu-xa-gia-lap"
CLIENT_ID = "hocbaso"


def standin_directory(ws: Workspace) -> str:
    return str(ws.root / DIRECTORY)


def _open_account(pki: DemoPki, user: str) -> Account | None:
    if user not in pki.identities:
        return None
    credential = pki.identities[user]
    key, cert, extra = pkcs12.load_key_and_certificates(
        credential.pkcs12.read_bytes(), credential.password.encode()
    )
    assert cert is not None
    ders = [c.public_bytes(serialization.Encoding.DER) for c in [cert, *(extra or [])]]
    return key, ders


def demo_accounts(pki: DemoPki, *, preload: bool = False) -> Callable[[str], Account | None]:
    """Each person of the demo PKI as a remote-signing account (by ma_giao_vien).

    ``preload``: open every account in a background thread from now on. Why: opening
    one (its PKCS#12 file, a key derivation) takes ~50 ms, and the stand-in opens an
    account while the signing step waits for its answer; done ahead, the first
    requests of a step do not wait ~1.5 s for 30 teachers one after another.
    """
    opened: dict[str, Account | None] = {}
    opening = threading.Lock()  # the preload and a request never open one file twice

    def account(user: str) -> Account | None:
        if user in opened:
            return opened[user]
        with opening:
            if user not in opened:
                opened[user] = _open_account(pki, user)
            return opened[user]

    def open_all(users: list[str]) -> None:
        for user in users:
            try:
                account(user)
            except Exception:  # the request that needs this account reports why it failed
                return

    if preload:
        threading.Thread(
            target=open_all, args=(list(pki.identities),), name="hbs-mo-tai-khoan", daemon=True
        ).start()
    return account


_RUNNING: dict[str, tuple[RunningStandin, int]] = {}
_LOCK = threading.Lock()


def _answers(url: str, directory: str) -> bool:
    """Whether this workspace's stand-in already answers at ``url`` (another process of
    the same workspace runs it). Another workspace's stand-in (a copy of this one, or a
    school run beside it) holds other certificates, so it never counts as ours."""
    import httpx

    try:
        reply = httpx.get(f"{url}/_admin/thu-muc", timeout=2)
        return reply.status_code == 200 and reply.json().get("thu_muc") == str(
            Path(directory).resolve()
        )
    except (httpx.HTTPError, ValueError):
        return False


@contextmanager
def serve(
    ws: Workspace, pki: DemoPki, confirm_after_s: float | None
) -> Iterator[RunningStandin | None]:
    """Run the workspace's stand-in for the block, on its recorded port (or a free one,
    recorded); a block inside another of the same workspace shares the running one, and
    a stand-in another process runs on the recorded port is used as it is (``None``)."""
    key = standin_directory(ws)
    recorded = recorded_port(ws.service_ports_path, SERVICE)
    if recorded is not None and key not in _RUNNING and _answers(f"http://{HOST}:{recorded}", key):
        yield None
        return
    with _LOCK:
        kept = _RUNNING.get(key)
        if kept is not None:
            _RUNNING[key] = (kept[0], kept[1] + 1)
        else:
            port, _ = choose_port(ws.service_ports_path, SERVICE, DEFAULT_PORT)
            standin = RemoteSigningStandin(
                key, demo_accounts(pki, preload=True), confirm_after_s=confirm_after_s
            )
            try:
                running = RunningStandin(standin, HOST, port)
            except OSError as exc:
                raise ConfigurationError(
                    f"Không mở được cổng {port} cho dịch vụ ký số từ xa giả lập.",
                    hint="Dừng chương trình đang dùng cổng này hoặc xoá tệp cong-dich-vu.json.",
                ) from exc
            kept = (running, 1)
            _RUNNING[key] = kept
    try:
        yield kept[0]
    finally:
        with _LOCK:
            running, count = _RUNNING[key]
            if count > 1:
                _RUNNING[key] = (running, count - 1)
            else:
                del _RUNNING[key]
                running.stop()


def standin_url(ws: Workspace) -> str:
    """Where the workspace's stand-in listens (its recorded port)."""
    port = recorded_port(ws.service_ports_path, SERVICE)
    if port is None:
        port, _ = choose_port(ws.service_ports_path, SERVICE, DEFAULT_PORT)
    return f"http://{HOST}:{port}"


__all__ = [
    "CLIENT_ID",
    "DEMO_SECRET",
    "RemoteSigningStandin",
    "RunningStandin",
    "demo_accounts",
    "serve",
    "standin_url",
]
