"""The loopback services a step needs in demo mode, started and stopped around it.

Signing needs the demo PKI's timestamp, OCSP and CRL responders; submitting
needs the stand-in registry. With real certificates and the real registry
(``che_do = "that"``) nothing is started: the school's own services answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlparse

from hocbaso import keys
from hocbaso.config import SchoolConfig, Workspace, secret_from_env
from hocbaso.registry import RegistryClient
from hocbaso.registry.standin.pool import VerifierPool
from hocbaso.registry.standin.server import StandinServer, serve_forever
from hocbaso.signing import DemoPkiServices, TrustSettings
from hocbaso.verification import registry_verifier_factory

STANDIN_DIR = "csdl-gia-lap"
DEMO_CLIENT_SECRET = "demo-secret"  # the stand-in's credential; not a secret of any real system


def registry_secret(config: SchoolConfig) -> str:
    """The school's client secret: from the environment; the stand-in has a fixed demo one."""
    if config.registry.che_do == "standin":
        return os.environ.get(config.registry.client_secret_env, DEMO_CLIENT_SECRET)
    secret = secret_from_env(config.registry.client_secret_env, "mật khẩu kết nối CSDL Học bạ số")
    assert secret is not None
    return secret


def registry_client(config: SchoolConfig) -> RegistryClient:
    """A client for the configured registry (one per batch; it keeps its connections)."""
    return RegistryClient(
        config.registry.url,
        config.registry.client_id,
        registry_secret(config),
        max_in_flight=config.registry.dong_thoi,
    )


def _standin(ws: Workspace, config: SchoolConfig) -> StandinServer:
    """The stand-in with the registry's checks, run in one worker process per core.

    The client shares this process (and its GIL) with the stand-in: verifying in
    worker processes lets verification use the other core, in parallel with sending.
    """
    trust = TrustSettings.from_files(keys.trust_roots(ws, config))
    return StandinServer(
        ws.root / STANDIN_DIR,
        clients={config.registry.client_id: registry_secret(config)},
        verifier=VerifierPool(registry_verifier_factory(trust)),
    )


@contextmanager
def workspace_services(
    workspace: str | Path, *, pki: bool = False, registry: bool = False
) -> Iterator[None]:
    """Run the demo services this step needs for the duration of the block."""
    ws = Workspace(workspace)
    config = ws.load_config()
    with ExitStack() as stack:
        demo_pki = keys.is_demo(config)
        if demo_pki and (pki or registry):  # the registry checks revocation too
            stack.enter_context(DemoPkiServices(keys.demo_pki(ws)))
        if registry and config.registry.che_do == "standin":
            url = urlparse(config.registry.url)
            running = _standin(ws, config).serve(url.hostname or "127.0.0.1", url.port or 80)
            stack.enter_context(running)
        yield


def serve_registry_forever(ws: Workspace, port: int | None) -> None:
    """`hbs registry serve`: the stand-in in the foreground, for the paper copies' lookups."""
    config = ws.load_config()
    url = urlparse(config.registry.url)
    with ExitStack() as stack:
        if keys.is_demo(config):
            stack.enter_context(DemoPkiServices(keys.demo_pki(ws)))
        trust = TrustSettings.from_files(keys.trust_roots(ws, config))
        serve_forever(
            ws.root / STANDIN_DIR,
            url.hostname or "127.0.0.1",
            port or url.port or 80,
            config.registry.client_id,
            registry_secret(config),
            verifier=VerifierPool(registry_verifier_factory(trust)),
        )
