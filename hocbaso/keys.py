"""Where each signer's key, the timestamp authority and the trust anchors come from.

Demo mode (``[chung_thu] che_do = "demo"``): a throw-away PKI in
``<workspace>/pki`` with one certificate per signer of the roster and one for the
school's seal, its TSA/OCSP/CRL services on a loopback port chosen when it was
created. Real mode: each signer's PKCS#12 file or PKCS#11 token from
``school.toml``, secrets from the environment, the school's TSA and trust roots.
"""

from __future__ import annotations

import socket
from pathlib import Path

from asn1crypto import x509 as asn1_x509

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.errors import ConfigurationError, SigningError
from hocbaso.roster import Person, Roster
from hocbaso.signing.pki import SEAL_KEY, DemoIdentity, DemoPki, create_demo_pki, load_demo_pki
from hocbaso.signing.signers import RecordSigner, load_demo_signer, load_signer

PKI_DIR = "pki"
SEAL = SEAL_KEY  # the key under which the school's seal is known


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_pki_dir(ws: Workspace) -> Path:
    return ws.root / PKI_DIR


def is_demo(config: SchoolConfig) -> bool:
    return config.chung_thu.che_do == "demo"


def ensure_demo_pki(ws: Workspace, config: SchoolConfig, roster: Roster) -> DemoPki:
    """Create the demo PKI, or extend it with signers it does not know yet (idempotent)."""
    directory = demo_pki_dir(ws)
    people = [
        DemoIdentity(key=p.ma_giao_vien, name=p.ho_ten, personal_id=p.so_dinh_danh, title=p.chuc_vu)
        for p in roster.people().values()
    ]
    port = load_demo_pki(directory).port if (directory / "pki.json").is_file() else _free_port()
    return create_demo_pki(directory, people, config.truong.ten_truong, port=port)


def demo_pki(ws: Workspace) -> DemoPki:
    directory = demo_pki_dir(ws)
    if not (directory / "pki.json").is_file():
        raise ConfigurationError(
            "Chưa có chứng thư số thử nghiệm trong thư mục làm việc.",
            hint="Chạy `hbs configure` trước khi ký.",
        )
    return load_demo_pki(directory)


def open_signer(ws: Workspace, config: SchoolConfig, who: str) -> RecordSigner:
    """The loaded signer of ``who`` (a ma_giao_vien, or ``SEAL``); load it once per batch."""
    if is_demo(config):
        return load_demo_signer(demo_pki(ws), who)
    spec = config.chung_thu.con_dau if who == SEAL else config.chung_thu.nguoi.get(who)
    if spec is None:
        where = "[chung_thu.con_dau]" if who == SEAL else f"[chung_thu.nguoi.{who}]"
        raise ConfigurationError(
            f"Chưa cấu hình khóa ký cho {'con dấu của trường' if who == SEAL else who}.",
            hint=f"Thêm mục {where} vào school.toml (tệp PKCS#12 hoặc thiết bị ký PKCS#11).",
        )
    chain = [ws.path(p) for p in config.chung_thu.tin_cay]
    return load_signer(spec, ws, chain_files=chain)


def tsa_url(ws: Workspace, config: SchoolConfig) -> str:
    if is_demo(config):
        return demo_pki(ws).tsa_url
    if not config.chung_thu.tsa_url:
        raise ConfigurationError(
            "Chưa cấu hình máy chủ dấu thời gian (TSA).",
            hint="Đặt tsa_url trong mục [chung_thu] của school.toml.",
        )
    return config.chung_thu.tsa_url


def trust_roots(ws: Workspace, config: SchoolConfig) -> list[Path]:
    """Root certificates (PEM) a verifier of this school's records trusts."""
    if is_demo(config):
        return [demo_pki(ws).root_certificate]
    if not config.chung_thu.tin_cay:
        raise ConfigurationError(
            "Chưa cấu hình chứng thư gốc tin cậy.",
            hint="Liệt kê các tệp PEM của CA gốc trong mục tin_cay của [chung_thu].",
        )
    return [ws.path(p) for p in config.chung_thu.tin_cay]


def certificate_personal_id(cert: asn1_x509.Certificate) -> str | None:
    """The 12-digit personal ID a Vietnamese signing certificate carries (UID=CCCD:...)."""
    for rdn in cert.subject.chosen:
        for attr in rdn:
            if attr["type"].dotted == "0.9.2342.19200300.100.1.1":
                value = str(attr["value"].native)
                return value.split(":", 1)[1] if ":" in value else value
    return None


def check_signer_is(signer: RecordSigner, person: Person, role_vi: str) -> None:
    """Refuse a certificate that belongs to someone else than the expected signer."""
    found = certificate_personal_id(signer.certificate)
    if found is None or found != person.so_dinh_danh:
        raise SigningError(
            f"Chứng thư số đang dùng không phải của {role_vi} ({person.ma_giao_vien}): số định "
            "danh trong chứng thư không khớp với số định danh trong dữ liệu của trường.",
            hint="Cắm đúng thiết bị ký của người này hoặc sửa mục [chung_thu] trong school.toml.",
        )
