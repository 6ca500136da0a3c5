"""The demo PKI's services on loopback: RFC 3161 timestamps, OCSP, CRLs and the CA certificates.

Why: signing with a timestamp (the seal) and validating with revocation data must
talk to real HTTP services, as they would with a real CA; the demo runs them in a
background thread of the same process. certomancer's Animator (a WSGI app) answers
every request; werkzeug serves it on ``127.0.0.1``.

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
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, PKIArchitecture
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from hocbaso.demo.pki import ARCH, DemoPki, load_architecture, load_demo_pki
from hocbaso.demo.ports import port_is_free
from hocbaso.errors import SigningError


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the services answer hundreds of requests per class."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


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


class DemoPkiServices:
    """TSA, OCSP, CRL and certificate repository of a demo PKI, on ``host:port``.

    Use as a context manager (or ``start()``/``stop()``). The port is the one baked
    into the PKI's certificates. With ``reuse=True`` a busy port that already serves
    this same PKI is accepted (``borrowed`` is then True and nothing is started).
    """

    def __init__(self, pki: DemoPki, *, reuse: bool = False) -> None:
        self.pki = pki
        self.reuse = reuse
        self.borrowed = False
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None or self.borrowed

    def start(self) -> DemoPkiServices:
        """Load the keys once, bind the port and serve in a daemon thread."""
        if self.running:
            return self
        busy = SigningError(
            f"Không mở được dịch vụ PKI thử nghiệm tại {self.pki.base_url}: cổng {self.pki.port} "
            "đang bị một chương trình khác dùng.",
            hint="Cổng này được ghi sẵn trong các chứng thư thử nghiệm nên không đổi được: tắt "
            "chương trình đang dùng cổng, hoặc xoá thư mục pki/ của thư mục làm việc rồi chạy "
            "lại `hbs configure` và các bước sau để tạo PKI thử nghiệm mới.",
        )
        if not port_is_free(self.pki.port, self.pki.host):
            if self.reuse and served_elsewhere(self.pki):
                self.borrowed = True
                return self
            raise busy
        app = _ReloadingApp(self.pki)
        try:
            server = make_server(
                self.pki.host, self.pki.port, app, threaded=True, request_handler=_QuietHandler
            )
        except (OSError, SystemExit) as exc:  # werkzeug exits when the port is taken
            raise busy from exc
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},  # stop() returns within 0.1 s
            name="hocbaso-demo-pki",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.borrowed = False
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DemoPkiServices:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_demo_pki(directory: Path) -> DemoPkiServices:
    """Start the services of the demo PKI in ``directory`` (caller stops them)."""
    return DemoPkiServices(load_demo_pki(directory)).start()
