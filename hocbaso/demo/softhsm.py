"""The demo's SoftHSM2 token, in the workspace: the school's seal on a "USB token".

Provincial guidance has the organisation seal on a hardware token; the demo puts the
seal's demo key on a SoftHSM2 token under ``<workspace>/pki/softhsm`` (its own
``softhsm2.conf``, so the machine's tokens are never touched). Created once by
``hbs configure`` (idempotent: a key already on the token is not imported again); the
configuration file is written again on each use so a copied workspace uses its copy.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from hocbaso.demo.pki import DemoPki
from hocbaso.errors import ConfigurationError

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
TOKEN = "hocbaso-demo"
DIRECTORY = "softhsm"


@dataclass(frozen=True)
class DemoToken:
    """Where the workspace's token is and how to log in (a demo PIN, no legal value)."""

    module: str
    conf: Path
    token: str
    pin: str

    @property
    def environment(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}


def _module() -> str:
    for candidate in MODULE_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    raise ConfigurationError(
        "Không tìm thấy thư viện SoftHSM2 (libsofthsm2.so) cho thiết bị ký thử nghiệm.",
        hint="Cài gói softhsm2 (apt-get install softhsm2 opensc) hoặc đặt "
        'con_dau = "pkcs12" trong mục [chung_thu.demo] của school.toml.',
    )


def _run(args: list[str], env: dict[str, str]) -> None:
    import os

    tool = shutil.which(args[0])
    if tool is None:
        raise ConfigurationError(
            f"Không tìm thấy công cụ {args[0]} để tạo thiết bị ký thử nghiệm.",
            hint="Cài gói softhsm2 và opensc.",
        )
    result = subprocess.run(
        [tool, *args[1:]],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    if result.returncode != 0:
        raise ConfigurationError(
            f"Không tạo được thiết bị ký thử nghiệm ({args[0]}): {result.stderr.strip()}",
            hint="Xoá thư mục pki/softhsm trong thư mục làm việc rồi chạy lại `hbs configure`.",
        )


def demo_token(directory: Path) -> DemoToken:
    """The token of the PKI folder ``directory`` (configuration written for this path)."""
    home = directory / DIRECTORY
    (home / "tokens").mkdir(parents=True, exist_ok=True)
    conf = home / "softhsm2.conf"
    text = f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n"
    if not conf.is_file() or conf.read_text() != text:
        conf.write_text(text)
    pin_file = home / "pin.json"
    if not pin_file.is_file():
        pin_file.write_text(
            json.dumps(
                {
                    "pin": str(secrets.randbelow(10**6)).zfill(6),
                    "so_pin": secrets.token_hex(8),
                    "ghi_chu": "Chỉ dùng cho demo.",
                }
            )
        )
    return DemoToken(_module(), conf, TOKEN, json.loads(pin_file.read_text())["pin"])


def ensure_demo_token(pki: DemoPki, keys: list[str]) -> DemoToken:
    """Create the token if absent and put each identity of ``keys`` on it (once)."""
    token = demo_token(pki.directory)
    home = token.conf.parent
    env = token.environment
    marker = home / "da-nap.json"
    loaded: list[str] = json.loads(marker.read_text()) if marker.is_file() else []
    if not loaded:
        so_pin = json.loads((home / "pin.json").read_text())["so_pin"]
        _run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                TOKEN,
                "--so-pin",
                so_pin,
                "--pin",
                token.pin,
            ],
            env,
        )
    for key in keys:
        if key in loaded:
            continue
        credential = pki.credential(key)
        private, cert, _ = pkcs12.load_key_and_certificates(
            credential.pkcs12.read_bytes(), credential.password.encode()
        )
        assert private is not None and cert is not None
        obj_id = f"{len(loaded) + 1:02x}"
        with tempfile.TemporaryDirectory(dir=home) as tmp:
            key_pem = Path(tmp) / "key.pem"
            key_pem.write_bytes(
                private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            cert_der = Path(tmp) / "cert.der"
            cert_der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
            _run(
                [
                    "softhsm2-util",
                    "--import",
                    str(key_pem),
                    "--token",
                    TOKEN,
                    "--label",
                    credential.label,
                    "--id",
                    obj_id,
                    "--pin",
                    token.pin,
                ],
                env,
            )
            _run(
                [
                    "pkcs11-tool",
                    "--module",
                    token.module,
                    "--token-label",
                    TOKEN,
                    "--login",
                    "--pin",
                    token.pin,
                    "--write-object",
                    str(cert_der),
                    "--type",
                    "cert",
                    "--label",
                    credential.label,
                    "--id",
                    obj_id,
                ],
                env,
            )
        loaded.append(key)
        marker.write_text(json.dumps(loaded))
    return token
