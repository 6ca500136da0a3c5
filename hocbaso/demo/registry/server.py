"""Running the stand-in registry: in a background thread for tests, in the foreground for demos.

``serve_standin`` binds the socket itself before the server thread starts, so
the port is known (port 0 picks a free one) and the server accepts connections
as soon as the call returns. Uvicorn's log of the deliberate connection drops
(fault injection) is filtered out; access logs are off because paths name
records.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import uvicorn

from hocbaso.demo.registry.app import (
    API,
    SchoolClient,
    StandinState,
    create_app,
)
from hocbaso.demo.registry.checks import Verifier
from hocbaso.demo.registry.faults import DropConnection, FaultInjector, Faults
from hocbaso.demo.registry.storage import Storage
from hocbaso.errors import ConfigurationError

DEFAULT_PORT = 18765
SECRET_ENV = "HBS_REGISTRY_SECRET"
DEMO_CLIENT_ID = "demo"  # the demo credentials, matching [registry] defaults in school.toml
DEMO_SECRET = "demo-secret"  # used when SECRET_ENV is not set
_START_TIMEOUT_S = 10.0


class _HideDeliberateDrops(logging.Filter):
    """Drops uvicorn's error record for a connection the fault injector closed on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DropConnection)


_DROP_FILTER = _HideDeliberateDrops()


class StandinServer:
    """The stand-in CSDL Học bạ số over a directory that holds what it received.

    ``clients`` maps client ids to a secret (or a ``SchoolClient`` bound to one
    school). ``verifier`` is the extra check of ``(xml, pdf)`` (XSD, signatures,
    timestamp) run after the stand-in's own checks (well-formed, ``ID``,
    ``MISMATCH``); without it those three are not checked.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        clients: Mapping[str, str | SchoolClient] | None = None,
        verifier: Verifier | None = None,
        faults: Faults | None = None,
        token_ttl_s: float = 3600.0,
        max_body_bytes: int = 25 * 1024 * 1024,
        admin: bool = True,
    ) -> None:
        given = clients if clients is not None else {DEMO_CLIENT_ID: DEMO_SECRET}
        self.storage = Storage(directory)
        self.state = StandinState(
            storage=self.storage,
            clients={
                cid: c if isinstance(c, SchoolClient) else SchoolClient(c)
                for cid, c in given.items()
            },
            faults=FaultInjector(faults or Faults()),
            verifier=verifier,
            token_ttl_s=token_ttl_s,
            max_body_bytes=max_body_bytes,
            admin=admin,
        )
        self.app = create_app(self.state)

    def set_faults(self, faults: Faults) -> None:
        """Replace the fault configuration (same as ``POST /_admin/faults``)."""
        self.state.faults.configure(faults)

    def expire_tokens(self) -> int:
        """Forget every issued token, so the next request answers 401."""
        return self.state.expire_tokens()

    def _config(self, *, log_level: str = "warning", access_log: bool = False) -> uvicorn.Config:
        logging.getLogger("uvicorn.error").addFilter(_DROP_FILTER)
        return uvicorn.Config(
            self.app,
            http="h11",
            lifespan="off",
            log_config=None,
            log_level=log_level,
            access_log=access_log,
            timeout_graceful_shutdown=1,
        )

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        """Start serving in a background thread; returns once connections are accepted."""
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so,
        # and without it every answer waits ~40 ms for a delayed ACK (Nagle).
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise ConfigurationError(
                f"Không mở được cổng {port} trên {host} cho CSDL Học bạ số giả lập.",
                hint="Chọn cổng khác hoặc dừng chương trình đang dùng cổng này.",
            ) from exc
        server = uvicorn.Server(self._config())
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name="hbs-registry-standin",
            daemon=True,
        )
        running = RunningServer(self, server, thread, sock)
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                running.stop()
                raise ConfigurationError(
                    "CSDL Học bạ số giả lập không khởi động được.",
                    hint="Xem nhật ký lỗi phía trên; thử lại với cổng khác.",
                )
            time.sleep(0.01)
        return running

    def close(self) -> None:
        """Close the storage file, and the verifier if it holds resources (sessions, workers)."""
        self.storage.close()
        close = getattr(self.state.verifier, "close", None)
        if callable(close):
            close()


class RunningServer:
    """A stand-in serving in a background thread; a context manager that stops it."""

    def __init__(
        self,
        standin: StandinServer,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
    ) -> None:
        self.standin = standin
        self._server = server
        self._thread = thread
        self._socket = sock
        host, port = sock.getsockname()[:2]
        self.host: str = host
        self.port: int = port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:18765``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Base URL of the API, what ``RegistryClient`` is given."""
        return self.url + API

    @property
    def tra_cuu_url(self) -> str:
        """Base URL of the public lookup page printed on the paper copy."""
        return self.url + "/tra-cuu"

    def stop(self) -> None:
        """Stop serving and close the storage; waits for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
        self.standin.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_standin(
    directory: Path | str, host: str = "127.0.0.1", port: int = 0, **options: object
) -> RunningServer:
    """Start a stand-in over ``directory`` in the background (``options``: ``StandinServer``'s)."""
    return StandinServer(directory, **options).serve(host, port)  # type: ignore[arg-type]


def serve_forever(
    directory: Path | str,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    client_id: str = DEMO_CLIENT_ID,
    client_secret: str = DEMO_SECRET,
    *,
    verifier: Verifier | None = None,
    faults: Faults | None = None,
    log_level: str = "info",
) -> None:
    """Serve in the foreground until interrupted (what ``hbs registry serve`` runs)."""
    standin = StandinServer(
        directory, clients={client_id: client_secret}, verifier=verifier, faults=faults
    )
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    config = standin._config(log_level=log_level)
    config.host, config.port = host, port
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; stopping is the normal end
    finally:
        standin.close()


def main(argv: list[str] | None = None) -> None:
    """Command line of the stand-in: ``python -m hocbaso.demo.registry``."""
    parser = argparse.ArgumentParser(
        prog="hbs registry serve", description="CSDL Học bạ số giả lập (stand-in) trên máy này."
    )
    parser.add_argument(
        "--thu-muc",
        "--dir",
        dest="directory",
        default="registry-standin",
        help="thư mục lưu học bạ đã nhận",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--client-id", default=DEMO_CLIENT_ID)
    parser.add_argument(
        "--faults", default=None, help='cấu hình lỗi giả lập dạng JSON, ví dụ {"rate_5xx": 0.2}'
    )
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV, DEMO_SECRET)
    faults = Faults.model_validate_json(args.faults) if args.faults else None
    serve_forever(args.directory, args.host, args.port, args.client_id, secret, faults=faults)
