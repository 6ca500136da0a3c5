"""A workspace's resources, opened once: the one place that chooses demo or real.

``open_resources(workspace)`` reads ``school.toml`` and picks, once:

- the **credentials** — where every signer's key, the trust roots and the timestamp
  authority come from: the throw-away demo PKI (``hocbaso.demo.credentials``) or the
  school's own files and tokens (``hocbaso.signing.configured``);
- the **registry** — the stand-in on loopback (``hocbaso.demo.registry.access``) or the
  real CSDL Học bạ số (``hocbaso.registry.access``), each giving a ``RegistryPort``
  client, the public lookup URL and the services to start.

Steps receive a ``Resources`` and ask it for "the signer of this role for this class",
"a registry client", "the trust settings", "run the services this step needs". A test
builds one with in-process parts (a PKCS#12 signer, a client over
``httpx.MockTransport``) and hands it to the step. Demo modules are imported only when
demo parts are chosen, so a real school's run never loads certomancer, FastAPI,
uvicorn or werkzeug.

Keys are loaded once per ``Resources`` (a PKCS#11 session stays open until ``close``);
``resources_for`` keeps one per workspace for the life of the process, so the
principal's and the seal's keys are not reloaded for every class.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.registry.port import RegistryPort
from hocbaso.roster import Person, Roster, load_roster
from hocbaso.signing.channels import Channel
from hocbaso.signing.identity import check_signer_is
from hocbaso.signing.roles import SEAL, Role
from hocbaso.signing.signers import RecordSigner
from hocbaso.signing.trust import TrustSettings
from hocbaso.store import Store


class Credentials(Protocol):
    """Where keys, trust roots and the timestamp authority come from."""

    kind: str

    def prepare(self, roster: Roster) -> None:
        """Make sure every signer of ``roster`` has a key (the demo PKI creates them)."""

    def load_signer(self, who: str) -> RecordSigner:
        """Load the key of ``who`` (a ma_giao_vien, or ``SEAL``)."""

    def load_channel(self, who: str, role: Role) -> Channel:
        """How ``who`` signs records in ``role``: key file, token or remote account."""

    def trust_roots(self) -> list[Path]:
        """Root certificates (PEM) a verifier of this school's records trusts."""

    def tsa_url(self) -> str:
        """The RFC 3161 timestamp authority the seal uses."""

    def services(self) -> AbstractContextManager[object]:
        """What must run on this machine while signing or verifying (demo TSA/OCSP/CRL)."""


class RegistryAccess(Protocol):
    """How this workspace reaches CSDL Học bạ số."""

    kind: str

    def client(self) -> RegistryPort:
        """A client (a context manager; one per run)."""

    def tra_cuu_url(self) -> str:
        """The public lookup page printed on paper copies (without the code)."""

    def services(self, trust: TrustSettings) -> AbstractContextManager[object]:
        """What must run on this machine while submitting or revoking (the stand-in)."""

    def serve_forever(
        self, trust: TrustSettings, port: int | None, host: str | None = None
    ) -> None:
        """Serve in the foreground (`hbs registry serve`); refused for the real registry."""


@dataclass(frozen=True)
class Signatory:
    """Who signs a class's records in a role: the key's name and, for a person, who it is."""

    role: Role
    key: str  # ma_giao_vien, or SEAL
    person: Person | None  # None for the school's seal
    label_vi: str  # "GVCN lớp 3A", "Hiệu trưởng", "con dấu của trường"


def signatory(roster: Roster, role: Role, ma_lop: str | None = None) -> Signatory:
    """The one mapping role → signer: the class's GVCN, the principal, or the seal."""
    if role == "gvcn":
        if ma_lop is None:
            raise ValueError("the homeroom teacher's signature needs a class")
        person = roster.gvcn[ma_lop]
        return Signatory(role, person.ma_giao_vien, person, f"GVCN lớp {ma_lop}")
    if role == "ht":
        person = roster.hieu_truong
        return Signatory(role, person.ma_giao_vien, person, "Hiệu trưởng")
    return Signatory(role, SEAL, None, "con dấu của trường")


@dataclass
class Resources:
    """Everything a step needs from outside its inputs, chosen once for a workspace."""

    ws: Workspace
    config: SchoolConfig
    store: Store
    credentials: Credentials
    registry: RegistryAccess
    _signers: dict[str, RecordSigner] = field(default_factory=dict, repr=False)
    _channels: dict[tuple[str, str], Channel] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def demo(self) -> bool:
        """True when the demo PKI signs (records without legal value)."""
        return self.credentials.kind == "demo"

    @cached_property
    def trust(self) -> TrustSettings:
        return TrustSettings.from_files(self.credentials.trust_roots())

    def tsa_url(self) -> str:
        return self.credentials.tsa_url()

    def roster(self) -> Roster:
        """Signers of the school year as the store holds them now (read on each call)."""
        return load_roster(self.store, self.config)

    def signer(self, who: str) -> RecordSigner:
        """The loaded key of ``who``, loaded once and kept until ``close``."""
        with self._lock:
            signer = self._signers.get(who)
            if signer is None:
                signer = self.credentials.load_signer(who)
                self._signers[who] = signer
            return signer

    def signer_for(
        self, role: Role, ma_lop: str | None = None, roster: Roster | None = None
    ) -> tuple[Signatory, RecordSigner]:
        """The signer of ``role`` (for ``ma_lop``), checked to be that person's certificate.

        ``roster`` saves reading the store again when the caller already holds it.
        """
        who = signatory(roster or self.roster(), role, ma_lop)
        signer = self.signer(who.key)
        if who.person is not None:
            check_signer_is(signer, who.person, who.label_vi)
        return who, signer

    def channel_for(
        self, role: Role, ma_lop: str | None = None, roster: Roster | None = None
    ) -> tuple[Signatory, Channel]:
        """The signing channel of ``role`` (for ``ma_lop``), checked to be that person's
        certificate; opened once per ``Resources``."""
        who = signatory(roster or self.roster(), role, ma_lop)
        with self._lock:
            channel = self._channels.get((who.key, role))
            if channel is None:
                channel = self.credentials.load_channel(who.key, role)
                self._channels[(who.key, role)] = channel
        if who.person is not None:
            check_signer_is(channel, who.person, who.label_vi)
        return who, channel

    @contextmanager
    def running(self, *, pki: bool = False, registry: bool = False) -> Iterator[None]:
        """Run the services a step needs for the duration of the block.

        The registry checks revocation too, so it needs the PKI's services as well.
        """
        with ExitStack() as stack:
            if pki or registry:
                stack.enter_context(self.credentials.services())
            if registry:
                stack.enter_context(self.registry.services(self.trust))
            yield

    def close(self) -> None:
        """Close every loaded key (PKCS#11 sessions)."""
        with self._lock:
            signers, self._signers = list(self._signers.values()), {}
            channels, self._channels = list(self._channels.values()), {}
        for signer in signers:
            signer.close()
        for channel in channels:
            channel.close()


def open_resources(workspace: str | Path) -> Resources:
    """Read the workspace's configuration and choose its parts: demo or real, here only."""
    ws = Workspace(workspace)
    config = ws.load_config()
    credentials: Credentials
    registry: RegistryAccess
    if config.chung_thu.che_do == "demo":
        from hocbaso.demo.credentials import DemoCredentials

        credentials = DemoCredentials(ws, config)
    else:
        from hocbaso.signing.configured import ConfiguredCredentials

        credentials = ConfiguredCredentials(ws, config)
    if config.registry.che_do == "gia_lap":
        from hocbaso.demo.registry.access import StandinRegistry

        registry = StandinRegistry(ws, config)
    else:
        from hocbaso.registry.access import RealRegistry

        registry = RealRegistry(config)
    return Resources(ws, config, Store(ws.store_path), credentials, registry)


_OPEN: dict[Path, tuple[float, Resources]] = {}
_OPEN_LOCK = threading.Lock()


def resources_for(workspace: str | Path) -> Resources:
    """This process's ``Resources`` of ``workspace``, opened again if school.toml changed."""
    ws = Workspace(workspace)
    try:
        mtime = ws.config_path.stat().st_mtime
    except OSError:
        mtime = -1.0
    with _OPEN_LOCK:
        kept = _OPEN.get(ws.root)
        if kept is not None and kept[0] == mtime:
            return kept[1]
        resources = open_resources(ws.root)
        if kept is not None:
            kept[1].close()
        _OPEN[ws.root] = (mtime, resources)
        return resources


def close_all() -> None:
    """Close the resources this process opened (called at exit)."""
    with _OPEN_LOCK:
        kept = list(_OPEN.values())
        _OPEN.clear()
    for _, resources in kept:
        resources.close()


atexit.register(close_all)
