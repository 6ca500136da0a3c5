"""Demo keys (``[chung_thu] che_do = "demo"``): the throw-away PKI in ``<workspace>/pki``.

One certificate per signer of the roster and one for the school's seal, issued by
the demo CA; its TSA, OCSP and CRL services run on a loopback port chosen free when
the PKI is created (that port is baked into the certificates). No legal value.

Each role signs through the channel ``[chung_thu.demo]`` names, so a demo run shows
all three: homeroom teachers through the remote-signing stand-in (``tu_xa``), the
principal with the PKCS#12 file (``pkcs12``), the seal on a SoftHSM2 token in the
workspace (``pkcs11``, ``hocbaso.demo.softhsm``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.demo.pki import DemoIdentity, DemoPki, create_demo_pki, load_demo_pki
from hocbaso.demo.pki import load_demo_signer as _load_demo_signer
from hocbaso.demo.pki_services import DemoPkiServices
from hocbaso.demo.ports import free_port
from hocbaso.errors import ConfigurationError
from hocbaso.roster import Roster
from hocbaso.signing.channels import Channel, LocalChannel, RemoteChannel
from hocbaso.signing.roles import SEAL, Role
from hocbaso.signing.signers import RecordSigner, signer_from_pkcs11

MANIFEST = "pki.json"


class DemoCredentials:
    """Keys, trust root and TSA of the workspace's demo PKI."""

    kind = "demo"

    def __init__(self, ws: Workspace, config: SchoolConfig) -> None:
        self._ws = ws
        self._config = config
        self._pki: DemoPki | None = None

    @property
    def directory(self) -> Path:
        return self._ws.pki_dir

    def prepare(self, roster: Roster) -> None:
        """Create the demo PKI, or extend it with signers it does not know yet (idempotent)."""
        people = [
            DemoIdentity(
                key=p.ma_giao_vien, name=p.ho_ten, personal_id=p.so_dinh_danh, title=p.chuc_vu
            )
            for p in roster.people().values()
        ]
        existing = (self.directory / MANIFEST).is_file()
        port = load_demo_pki(self.directory).port if existing else free_port()
        self._pki = create_demo_pki(
            self.directory, people, self._config.truong.ten_truong, port=port
        )
        on_token = self._token_keys(roster)
        if on_token:
            from hocbaso.demo.softhsm import ensure_demo_token

            ensure_demo_token(self._pki, on_token)

    def _kind(self, role: Role) -> str:
        demo = self._config.chung_thu.demo
        return {"gvcn": demo.gvcn, "ht": demo.ht, "condau": demo.con_dau}[role]

    def _token_keys(self, roster: Roster) -> list[str]:
        keys = []
        if self._kind("condau") == "pkcs11":
            keys.append(SEAL)
        if self._kind("ht") == "pkcs11":
            keys.append(roster.hieu_truong.ma_giao_vien)
        if self._kind("gvcn") == "pkcs11":
            keys += sorted({p.ma_giao_vien for p in roster.gvcn.values()})
        return keys

    def _token_signer(self, who: str) -> RecordSigner:
        from hocbaso.demo.softhsm import demo_token

        token = demo_token(self.directory)
        label = self.pki.credential(who).label
        return signer_from_pkcs11(
            token.module,
            token.token,
            label,
            token.pin,
            chain_files=[self.pki.ca_certificate],
            environment=token.environment,
        )

    def load_channel(self, who: str, role: Role) -> Channel:
        """The channel ``[chung_thu.demo]`` gives ``role`` (start ``services`` first)."""
        kind = self._kind(role)
        if kind == "tu_xa":
            from hocbaso.demo.remote_signing import CLIENT_ID, DEMO_SECRET, standin_url
            from hocbaso.signing.channels import RemotePort
            from hocbaso.signing.channels.csc import CscPort
            from hocbaso.signing.channels.vn_async import VnAsyncPort

            url = standin_url(self._ws)
            port: RemotePort
            if self._config.chung_thu.demo.giao_thuc_tu_xa == "csc":
                port = CscPort(url, who, client_id=CLIENT_ID, secret=DEMO_SECRET)
            else:
                port = VnAsyncPort(url, who, client_id=CLIENT_ID, secret=DEMO_SECRET)
                ws = self._ws
                http = port._http
                plain_call = port._call

                def follow(method: str, path: str, **kwargs: Any) -> Any:
                    # The stand-in moves to a free port when another workspace holds its
                    # recorded one: a channel kept from an earlier run follows the record.
                    http.base_url = httpx.URL(standin_url(ws))
                    return plain_call(method, path, **kwargs)

                port._call = follow  # type: ignore[method-assign]
            return RemoteChannel.open(port)
        if kind == "pkcs11":
            return LocalChannel(self._token_signer(who), reload=lambda: self._token_signer(who))
        return LocalChannel(self.load_signer(who), reload=lambda: self.load_signer(who))

    @property
    def pki(self) -> DemoPki:
        """The PKI as ``hbs configure`` left it (read once per run)."""
        if self._pki is None:
            if not (self.directory / MANIFEST).is_file():
                raise ConfigurationError(
                    "Chưa có chứng thư số thử nghiệm trong thư mục làm việc.",
                    hint="Chạy `hbs configure` trước khi ký.",
                )
            self._pki = load_demo_pki(self.directory)
        return self._pki

    def load_signer(self, who: str) -> RecordSigner:
        return _load_demo_signer(self.pki, who)

    def trust_roots(self) -> list[Path]:
        return [self.pki.root_certificate]

    def tsa_url(self) -> str:
        return self.pki.tsa_url

    def services(self) -> AbstractContextManager[object]:
        """TSA, OCSP and CRL on the PKI's port (or the same PKI already served there), and
        the remote-signing stand-in when a role signs through it."""
        return self._services()

    @contextmanager
    def _services(self) -> Iterator[object]:
        with ExitStack() as stack:
            running = stack.enter_context(DemoPkiServices(self.pki, reuse=True))
            if "tu_xa" in {self._kind(r) for r in ("gvcn", "ht", "condau")}:
                from hocbaso.demo.remote_signing import serve

                delay = self._config.chung_thu.demo.xac_nhan_sau_giay
                stack.enter_context(serve(self._ws, self.pki, delay or None))
            yield running
