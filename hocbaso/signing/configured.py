"""The school's own certificates (``[chung_thu] che_do = "that"``).

Each signer's PKCS#12 file or PKCS#11 token is listed in ``school.toml`` by
``ma_giao_vien`` (the seal under ``con_dau``); secrets come from the environment;
the timestamp authority and the trust roots are the school's CA's. Nothing is
started: the CA's own services answer.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from hocbaso.config import KhoaPkcs11, KhoaPkcs12, KhoaTuXa, SchoolConfig, Workspace
from hocbaso.errors import ConfigurationError
from hocbaso.roster import Roster
from hocbaso.signing.channels import Channel
from hocbaso.signing.channels.opening import open_channel
from hocbaso.signing.roles import SEAL, Role
from hocbaso.signing.signers import RecordSigner, load_signer


class ConfiguredCredentials:
    """Keys, trust roots and TSA of a real school, as ``school.toml`` lists them."""

    kind = "that"

    def __init__(self, ws: Workspace, config: SchoolConfig) -> None:
        self._ws = ws
        self._config = config

    def prepare(self, roster: Roster) -> None:
        """Nothing to create: the school's CA issued the certificates."""

    def load_signer(self, who: str) -> RecordSigner:
        """Load the key of ``who`` (a ma_giao_vien, or ``SEAL``) from its file or token."""
        chain = [self._ws.path(p) for p in self._config.chung_thu.tin_cay]
        return load_signer(self._spec(who), self._ws, chain_files=chain)

    def _spec(self, who: str) -> KhoaPkcs12 | KhoaPkcs11 | KhoaTuXa:
        chung_thu = self._config.chung_thu
        spec = chung_thu.con_dau if who == SEAL else chung_thu.nguoi.get(who)
        if spec is None:
            where = "[chung_thu.con_dau]" if who == SEAL else f"[chung_thu.nguoi.{who}]"
            raise ConfigurationError(
                f"Chưa cấu hình khóa ký cho {'con dấu của trường' if who == SEAL else who}.",
                hint=f"Thêm mục {where} vào school.toml (tệp PKCS#12, thiết bị ký PKCS#11 "
                'hoặc ký số từ xa loai = "tu_xa").',
            )
        return spec

    def load_channel(self, who: str, role: Role) -> Channel:
        """How ``who`` signs: their key file, token, or remote signing account."""
        chain = [self._ws.path(p) for p in self._config.chung_thu.tin_cay]
        return open_channel(self._spec(who), self._ws, chain_files=chain)

    def trust_roots(self) -> list[Path]:
        if not self._config.chung_thu.tin_cay:
            raise ConfigurationError(
                "Chưa cấu hình chứng thư gốc tin cậy.",
                hint="Liệt kê các tệp PEM của CA gốc trong mục tin_cay của [chung_thu].",
            )
        return [self._ws.path(p) for p in self._config.chung_thu.tin_cay]

    def tsa_url(self) -> str:
        if not self._config.chung_thu.tsa_url:
            raise ConfigurationError(
                "Chưa cấu hình máy chủ dấu thời gian (TSA).",
                hint="Đặt tsa_url trong mục [chung_thu] của school.toml.",
            )
        return self._config.chung_thu.tsa_url

    def services(self) -> AbstractContextManager[None]:
        return nullcontext()
