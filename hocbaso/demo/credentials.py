"""Demo keys (``[chung_thu] che_do = "demo"``): the throw-away PKI in ``<workspace>/pki``.

One certificate per signer of the roster and one for the school's seal, issued by
the demo CA; its TSA, OCSP and CRL services run on a loopback port chosen free when
the PKI is created (that port is baked into the certificates). No legal value.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.demo.pki import DemoIdentity, DemoPki, create_demo_pki, load_demo_pki
from hocbaso.demo.pki import load_demo_signer as _load_demo_signer
from hocbaso.demo.pki_services import DemoPkiServices
from hocbaso.demo.ports import free_port
from hocbaso.errors import ConfigurationError
from hocbaso.roster import Roster
from hocbaso.signing.signers import RecordSigner

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
        """TSA, OCSP and CRL on the PKI's port (or the same PKI already served there)."""
        return DemoPkiServices(self.pki, reuse=True)
