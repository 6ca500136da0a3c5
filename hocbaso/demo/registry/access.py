"""The stand-in CSDL Học bạ số of a workspace (``[registry] che_do = "gia_lap"``).

It runs on loopback while a step needs it (submit, revoke) or in the foreground
(``hbs registry serve``), over ``<workspace>/csdl-gia-lap``. Its port is the
configured one (default 18765) only if free, otherwise a free one; the choice is
recorded in the workspace so the client, the lookup URL printed in QR codes and a
later ``hbs registry serve`` agree (``hocbaso.demo.ports``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.demo.ports import HOST, choose_port, recorded_port
from hocbaso.registry.client import RegistryClient
from hocbaso.signing.trust import TrustSettings

if TYPE_CHECKING:
    from hocbaso.demo.registry.checks import Verifier
    from hocbaso.demo.registry.server import StandinServer

log = logging.getLogger(__name__)

SERVICE = "csdl_gia_lap"
DEFAULT_PORT = 18765
DEMO_CLIENT_SECRET = "demo-secret"  # the stand-in's credential; not a secret of any real system


class StandinRegistry:
    """The workspace's stand-in: where it listens, a client for it, and running it."""

    kind = "gia_lap"

    def __init__(self, ws: Workspace, config: SchoolConfig) -> None:
        self._ws = ws
        self._config = config

    @property
    def _preferred_port(self) -> int:
        url = self._config.registry.url
        return (urlparse(url).port if url else None) or DEFAULT_PORT

    def secret(self) -> str:
        return os.environ.get(self._config.registry.client_secret_env, DEMO_CLIENT_SECRET)

    def port(self) -> int:
        """The recorded port (chosen and recorded now if there is none yet)."""
        port = recorded_port(self._ws.service_ports_path, SERVICE)
        if port is None:
            port, _ = choose_port(self._ws.service_ports_path, SERVICE, self._preferred_port)
        return port

    def base_url(self) -> str:
        return f"http://{HOST}:{self.port()}"

    def client(self) -> RegistryClient:
        """A client of the stand-in at the recorded port (start ``services`` first)."""
        return RegistryClient(
            f"{self.base_url()}/api/v1",
            self._config.registry.client_id,
            self.secret(),
            max_in_flight=self._config.registry.dong_thoi,
        )

    def tra_cuu_url(self) -> str:
        return f"{self.base_url()}/tra-cuu"

    def _listening_port(self) -> int:
        """The port to bind now: the recorded one if free, else a free one (recorded)."""
        port, moved_from = choose_port(self._ws.service_ports_path, SERVICE, self._preferred_port)
        if moved_from is not None:
            log.warning(
                "Cổng %s của CSDL Học bạ số giả lập đang bị chương trình khác dùng; từ nay dùng "
                "cổng %s. Mã QR trên các bản giấy in trước đó trỏ tới cổng cũ.",
                moved_from,
                port,
            )
        return port

    @staticmethod
    def _verifier(trust: TrustSettings) -> Verifier:
        """The registry's checks, run in one worker process per core.

        The client shares this process (and its GIL) with the stand-in: verifying in
        worker processes lets verification use the other core, in parallel with sending.
        """
        from hocbaso.demo.registry.pool import VerifierPool
        from hocbaso.demo.registry.verifier import registry_verifier_factory

        return VerifierPool(registry_verifier_factory(trust))

    def _server(self, trust: TrustSettings) -> StandinServer:
        from hocbaso.demo.registry.server import StandinServer

        return StandinServer(
            self._ws.registry_stand_in_dir,
            clients={self._config.registry.client_id: self.secret()},
            verifier=self._verifier(trust),
        )

    @contextmanager
    def services(self, trust: TrustSettings) -> Iterator[object]:
        """Run the stand-in for the block, on the recorded port or a free one."""
        port = self._listening_port()
        with self._server(trust).serve(HOST, port) as running:
            yield running

    def serve_forever(
        self, trust: TrustSettings, port: int | None, host: str | None = None
    ) -> None:
        """`hbs registry serve`: the stand-in in the foreground (for paper copies' lookups)."""
        from hocbaso.demo.registry.server import serve_forever

        serve_forever(
            self._ws.registry_stand_in_dir,
            host or HOST,
            port if port is not None else self._listening_port(),
            self._config.registry.client_id,
            self.secret(),
            verifier=self._verifier(trust),
        )
