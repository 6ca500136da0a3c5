"""The demo PKI's services on loopback: RFC 3161 timestamps, OCSP, CRLs and the CA certificates.

Why: signing with a timestamp (the seal) and validating with revocation data must
talk to real HTTP services, as they would with a real CA; the demo runs them in a
background thread of the same process. certomancer's Animator (a WSGI app) answers
every request; werkzeug serves it on ``127.0.0.1``.

Speed: certomancer's responders would reload their private key for every response;
``hocbaso.signing.keycache`` (installed whenever the PKI is loaded) keeps each key.

The services reread ``certomancer.yml`` when it changes, so a revocation made with
``revoke_identity`` is answered by OCSP from the next request on.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, PKIArchitecture
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from hocbaso.errors import SigningError
from hocbaso.signing.pki import ARCH, DemoPki, load_architecture, load_demo_pki


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


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class _ReloadingApp:
    """The Animator behind a check of the configuration file's modification time."""

    def __init__(self, pki: DemoPki) -> None:
        self._pki = pki
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
        self.refresh()
        return self._animator(environ, start_response)


class DemoPkiServices:
    """TSA, OCSP, CRL and certificate repository of a demo PKI, on ``host:port``.

    Use as a context manager (or ``start()``/``stop()``). The port is the one baked
    into the PKI's certificates.
    """

    def __init__(self, pki: DemoPki) -> None:
        self.pki = pki
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> DemoPkiServices:
        """Load the keys once, bind the port and serve in a daemon thread."""
        if self._server is not None:
            return self
        busy = SigningError(
            f"Không mở được dịch vụ PKI thử nghiệm tại {self.pki.base_url}: cổng đang bận.",
            hint="Cổng đang bị chương trình khác dùng (có thể là một lần chạy khác); tắt "
            "chương trình đó, hoặc tạo lại PKI thử nghiệm với cổng khác.",
        )
        if not _port_is_free(self.pki.host, self.pki.port):
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
