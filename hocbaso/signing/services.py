"""The demo PKI's services on loopback: RFC 3161 timestamps, OCSP, CRLs and the CA certificates.

Why: signing with a timestamp (the seal) and validating with revocation data must
talk to real HTTP services, as they would with a real CA; the demo runs them in a
background thread of the same process. certomancer's Animator (a WSGI app) answers
every request; werkzeug serves it on ``127.0.0.1``.

Speed: certomancer's responders reload their private key for every response (an
RSA key load costs tens of milliseconds because ``cryptography`` validates it).
``install_key_cache`` wraps certomancer's crypto backend so that each key is loaded
once per process; the responses are the same, only faster.

The services reread ``certomancer.yml`` when it changes, so a revocation made with
``revoke_identity`` is answered by OCSP from the next request on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import certomancer.crypto_utils as certomancer_crypto
from asn1crypto import algos, keys
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, PKIArchitecture
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from hocbaso.errors import SigningError
from hocbaso.signing.pki import ARCH, DemoPki, load_architecture, load_demo_pki


class _KeptKeyBackend(certomancer_crypto.PycaCryptographyBackend):
    """certomancer's backend, with each private key parsed once and kept in memory."""

    def __init__(self) -> None:
        self._keys: dict[bytes, Any] = {}
        self._lock = threading.Lock()

    def _loaded(self, private_key: keys.PrivateKeyInfo) -> Any:
        der = private_key.dump()
        with self._lock:
            key = self._keys.get(der)
            if key is None:
                key = serialization.load_der_private_key(der, password=None)
                self._keys[der] = key
        return key

    def generic_sign(
        self,
        private_key: keys.PrivateKeyInfo,
        tbs_bytes: bytes,
        sd_algo: algos.SignedDigestAlgorithm,
    ) -> bytes:
        mechanism = sd_algo.signature_algo
        if mechanism not in ("rsassa_pkcs1v15", "ecdsa"):
            return super().generic_sign(private_key, tbs_bytes, sd_algo)
        key = self._loaded(private_key)
        hash_algo = getattr(hashes, sd_algo.hash_algo.upper())()
        if isinstance(key, rsa.RSAPrivateKey) and mechanism == "rsassa_pkcs1v15":
            return key.sign(tbs_bytes, padding.PKCS1v15(), hash_algo)
        if isinstance(key, ec.EllipticCurvePrivateKey) and mechanism == "ecdsa":
            return key.sign(tbs_bytes, ec.ECDSA(hash_algo))
        return super().generic_sign(private_key, tbs_bytes, sd_algo)


def install_key_cache() -> None:
    """Make certomancer keep loaded keys for the rest of the process (idempotent)."""
    if not isinstance(certomancer_crypto.CRYPTO_BACKEND, _KeptKeyBackend):
        certomancer_crypto.CRYPTO_BACKEND = _KeptKeyBackend()


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the services answer hundreds of requests per class."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class _ReloadingApp:
    """The Animator behind a check of the configuration file's modification time."""

    def __init__(self, pki: DemoPki) -> None:
        self._pki = pki
        self._lock = threading.Lock()
        self._mtime = -1.0
        self._architectures: dict[ArchLabel, PKIArchitecture] = {}
        self._animator = Animator(
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
        return self._animator(environ, start_response)  # type: ignore[no-any-return]


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
        install_key_cache()
        app = _ReloadingApp(self.pki)
        try:
            server = make_server(
                self.pki.host, self.pki.port, app, threaded=True, request_handler=_QuietHandler
            )
        except OSError as exc:
            raise SigningError(
                f"Không mở được dịch vụ PKI thử nghiệm tại {self.pki.base_url}: {exc.strerror}.",
                hint="Cổng đang bị chương trình khác dùng; tắt chương trình đó "
                "hoặc tạo lại PKI thử nghiệm với cổng khác.",
            ) from exc
        thread = threading.Thread(target=server.serve_forever, name="hocbaso-demo-pki", daemon=True)
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
