"""The demo PKI's services on loopback: RFC 3161 timestamps, OCSP, CRLs and the CA certificates.

Why: signing with a timestamp (the seal) and validating with revocation data must
talk to real HTTP services, as they would with a real CA. certomancer's Animator (a
WSGI app) answers every request; waitress serves it on ``127.0.0.1``, with HTTP/1.1
connections kept open between requests (werkzeug's development server closed each one:
a TCP connection and a server thread per timestamp: in a profile of the seal, half
of each timestamp request's time in the signing worker was opening its connection).

In a process of their own (``python -m hocbaso.demo.pki_services DIR``), as a real
CA's services are: served from a thread of the signing process they shared its
GIL, and every token and OCSP answer (RSA signing, ASN.1 in pure Python) waited
for the signing loop and slowed it down. The child serves until its standard
input closes: ``stop()`` closes it, and so does the parent's death (a killed
command leaves no server behind holding the port).

Speed: certomancer's responders would reload their private key for every response;
``hocbaso.demo.keycache`` (installed whenever the PKI is loaded) keeps each key.

The services reread ``certomancer.yml`` when it changes, so a revocation made with
``revoke_identity`` is answered by OCSP from the next request on.

The port is baked into the certificates, so it cannot move. When it is busy, the
services ask whoever listens there for ``/hocbaso-pki`` (the SHA-256 of the PKI's root
certificate): if it is this same PKI (a copy of the workspace running beside it, or
an ``hbs registry serve`` of the same workspace), its answers are as good as ours
and nothing more is started; anything else is refused with a message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import select
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, PKIArchitecture
from waitress.server import create_server

from hocbaso.demo.pki import ARCH, DemoPki, load_architecture, load_demo_pki
from hocbaso.demo.ports import port_is_free
from hocbaso.errors import SigningError


class _WholeSecondAnimator(Animator):
    """certomancer's Animator with response times cut to whole seconds.

    OCSP ``producedAt`` with fractions of a second is refused by strict DER parsers
    (``cryptography`` among them); whole seconds are what real responders send.
    """

    def at_time(self, request: Any) -> dt.datetime:
        moment: dt.datetime = super().at_time(request)
        return moment.replace(microsecond=0)


IDENTITY_PATH = "/hocbaso-pki"


def pki_identity(pki: DemoPki) -> str:
    """What the services answer at ``IDENTITY_PATH``: the SHA-256 of the root certificate."""
    return hashlib.sha256(pki.root_certificate.read_bytes()).hexdigest()


def served_elsewhere(pki: DemoPki, timeout: float = 2.0) -> bool:
    """True when this very PKI already answers on its port (another process serves it)."""
    try:
        with urllib.request.urlopen(pki.base_url + IDENTITY_PATH, timeout=timeout) as resp:
            return bool(resp.read().decode("ascii", "replace").strip() == pki_identity(pki))
    except (urllib.error.URLError, OSError, ValueError):
        return False


class _ReloadingApp:
    """The Animator behind a check of the configuration file's modification time."""

    def __init__(self, pki: DemoPki) -> None:
        self._pki = pki
        self._identity = pki_identity(pki).encode("ascii")
        self._lock = threading.Lock()
        self._mtime = -1.0
        self._architectures: dict[ArchLabel, PKIArchitecture] = {}
        self._animator = _WholeSecondAnimator(
            AnimatorArchStore(self._architectures), with_web_ui=False, allow_time_override=False
        )
        self.refresh()

    def refresh(self) -> None:
        mtime = self._pki.config_path.stat().st_mtime
        if mtime == self._mtime:
            return
        with self._lock:
            if mtime != self._mtime:
                arch = load_architecture(self._pki.directory)
                self._architectures[ArchLabel(ARCH)] = arch
                self._mtime = mtime

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == IDENTITY_PATH:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [self._identity]
        self.refresh()
        return self._animator(environ, start_response)


READY = b"ready\n"
BUSY = b"busy\n"
START_TIMEOUT_S = 60.0
#: The server's threads: the answers are CPU-bound Python (one core at a time); more
#: threads only let a slow request not hold the others up.
SERVER_THREADS = 4


class DemoPkiServices:
    """TSA, OCSP, CRL and certificate repository of a demo PKI, on ``host:port``.

    Use as a context manager (or ``start()``/``stop()``). The port is the one baked
    into the PKI's certificates. With ``reuse=True`` a busy port that already serves
    this same PKI is accepted (``borrowed`` is then True and nothing is started).
    The services run in a child process (see the module's docstring).
    """

    def __init__(self, pki: DemoPki, *, reuse: bool = False) -> None:
        self.pki = pki
        self.reuse = reuse
        self.borrowed = False
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._child is not None or self.borrowed

    def _busy(self) -> SigningError:
        return SigningError(
            f"Không mở được dịch vụ PKI thử nghiệm tại {self.pki.base_url}: cổng {self.pki.port} "
            "đang bị một chương trình khác dùng.",
            hint="Cổng này được ghi sẵn trong các chứng thư thử nghiệm nên không đổi được: tắt "
            "chương trình đang dùng cổng, hoặc xoá thư mục pki/ của thư mục làm việc rồi chạy "
            "lại `hbs configure` và các bước sau để tạo PKI thử nghiệm mới.",
        )

    def start(self) -> DemoPkiServices:
        """Start the services' process and wait until it listens on the port."""
        if self.running:
            return self
        if not port_is_free(self.pki.port, self.pki.host):
            if self.reuse and served_elsewhere(self.pki):
                self.borrowed = True
                return self
            raise self._busy()
        child = subprocess.Popen(
            [sys.executable, "-m", "hocbaso.demo.pki_services", str(self.pki.directory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_child_environment(),
        )
        assert child.stdout is not None
        answer = b""
        ready, _, _ = select.select([child.stdout], [], [], START_TIMEOUT_S)
        if ready:
            answer = child.stdout.readline()
        if answer != READY:
            _end(child)
            if answer == BUSY:
                raise self._busy()
            said = answer.decode("utf-8", "replace").strip() or "không trả lời"
            raise SigningError(
                f"Không khởi động được dịch vụ PKI thử nghiệm tại {self.pki.base_url} "
                f"(tiến trình dịch vụ: {said}).",
                hint="Xem lỗi in phía trên; kiểm tra thư mục pki/ của thư mục làm việc "
                "rồi chạy lại.",
            )
        self._child = child
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.borrowed = False
        child, self._child = self._child, None
        if child is not None:
            _end(child)

    def __enter__(self) -> DemoPkiServices:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _child_environment() -> dict[str, str]:
    """This process's environment, with this package importable from the child."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else os.pathsep.join([root, path])}


def _end(child: subprocess.Popen[bytes]) -> None:
    """Close the child's input (it stops serving and exits); kill it if it lingers."""
    for stream in (child.stdin, child.stdout):
        if stream is not None:
            stream.close()
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def serve(directory: Path) -> int:
    """The child's body: bind the port, say so on stdout, serve until stdin closes."""
    pki = load_demo_pki(directory)
    app = _ReloadingApp(pki)
    logging.getLogger("waitress").setLevel(logging.ERROR)  # no "queue depth" notes on stderr
    try:
        server = create_server(app, host=pki.host, port=pki.port, threads=SERVER_THREADS)
    except OSError:  # the port is taken
        sys.stdout.buffer.write(BUSY)
        sys.stdout.buffer.flush()
        return 2

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns when the parent closes the pipe or dies
        # Nothing to save: a request cut short is one its client gave up on already.
        os._exit(0)

    threading.Thread(target=watch_parent, name="hocbaso-demo-pki-parent", daemon=True).start()
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    server.run()
    return 0


def serve_demo_pki(directory: Path) -> DemoPkiServices:
    """Start the services of the demo PKI in ``directory`` (caller stops them)."""
    return DemoPkiServices(load_demo_pki(directory)).start()


if __name__ == "__main__":
    raise SystemExit(serve(Path(sys.argv[1])))
