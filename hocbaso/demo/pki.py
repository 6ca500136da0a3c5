"""The throw-away demo PKI: a root, an issuing CA, people, the seal, a TSA and an OCSP responder.

Why it exists: the demo and the tests must sign for real (RFC 3161 timestamps, OCSP,
CRLs) without a real certificate authority. Keys are generated with ``cryptography``
once; certomancer turns a configuration file into the certificates, the CRLs and the
responses, so nothing here writes ASN.1 by hand. The folder is the whole PKI:

    <dir>/certomancer.yml      certomancer's configuration (the single source of truth)
    <dir>/keys/<label>.key.pem private keys, encrypted with the demo password
    <dir>/certs/<label>.pem    every certificate, PEM
    <dir>/p12/<label>.p12      one PKCS#12 per person and for the seal (key + chain)
    <dir>/pki.json             manifest: identity -> files, service URLs
    <dir>/mat-khau-demo.json   the demo password (a throw-away PKI, never a real secret)

Creation is idempotent: an existing folder is reused, and people missing from it are
added with fresh keys without touching the certificates already issued. The service
URLs (AIA, CRL distribution points, TSA) point at ``http://<host>:<port>`` and are
baked into the certificates, so the port of an existing PKI cannot change.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, PKIArchitecture
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hocbaso.demo.keycache import install_key_cache
from hocbaso.demo.pki_config import (
    ARCH,
    CA,
    INFRASTRUCTURE,
    ROOT,
    TSA,
    add_subject,
    arch_config,
    base_config,
    when,
)
from hocbaso.errors import ConfigurationError, SigningError
from hocbaso.signing.roles import SEAL
from hocbaso.signing.signers import RecordSigner, signer_from_pkcs12

MANIFEST = "pki.json"
PASSWORD_FILE = "mat-khau-demo.json"
CONFIG_FILE = "certomancer.yml"
SEAL_KEY = SEAL  # the identity key of the organisation's seal in the manifest

_LABEL_SAFE = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class DemoIdentity:
    """A person who signs (homeroom teacher, principal) as the demo PKI knows them.

    ``key`` is the stable identifier the project uses (ma_giao_vien); ``personal_id``
    is the 12-digit citizen ID that Vietnamese certificates carry as ``UID=CCCD:...``.
    """

    key: str
    name: str
    personal_id: str | None = None
    title: str = ""


@dataclass(frozen=True, slots=True)
class DemoCredential:
    """Where one identity's key and certificate live in the demo PKI."""

    key: str
    label: str  # certomancer certificate label
    name: str
    pkcs12: Path
    certificate: Path
    password: str


@dataclass(frozen=True)
class DemoPki:
    """An existing demo PKI folder, read from its manifest."""

    directory: Path
    host: str
    port: int
    organisation: str
    identities: dict[str, DemoCredential] = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def root_certificate(self) -> Path:
        """The trust anchor: give it to verifiers (TrustSettings) and to xmlsec1."""
        return self.directory / "certs" / f"{ROOT}.pem"

    @property
    def ca_certificate(self) -> Path:
        return self.directory / "certs" / f"{CA}.pem"

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/{ARCH}/tsa/{TSA}"

    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/{ARCH}/ocsp/{CA}"

    @property
    def crl_url(self) -> str:
        return f"{self.base_url}/{ARCH}/crls/{CA}/latest.crl"

    @property
    def config_path(self) -> Path:
        return self.directory / CONFIG_FILE

    @property
    def seal(self) -> DemoCredential:
        return self.identities[SEAL_KEY]

    def credential(self, key: str) -> DemoCredential:
        """The files of one identity; a Vietnamese error if the PKI has no such person."""
        try:
            return self.identities[key]
        except KeyError as exc:
            raise SigningError(
                f"PKI thử nghiệm tại {self.directory} không có chứng thư cho '{key}'.",
                hint="Chạy lại bước cấu hình (hbs configure) để cấp chứng thư cho người ký mới.",
            ) from exc

    def load_architecture(self) -> PKIArchitecture:
        """certomancer's view of the PKI (certificates, CRLs, responders) from the config."""
        return load_architecture(self.directory)


def _label_for(key: str) -> str:
    ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode().lower()
    slug = _LABEL_SAFE.sub("-", ascii_key).strip("-") or "x"
    return f"nguoi-{slug}"


def _write_keys(paths: list[Path], password: str) -> None:
    """A new RSA-2048 key in each of ``paths`` (encrypted PEM), two at a time.

    Why threads: key generation is OpenSSL's, which runs without the GIL, and a school
    needs one key per teacher (about 40 for 1,000 pupils, ~60 ms each here).
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda path: _write_key(path, password), paths))


def _write_key(path: Path, password: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password.encode()),
        )
    )


def load_architecture(directory: Path) -> PKIArchitecture:
    """Build certomancer's architecture from ``certomancer.yml`` (each key read once, on use)."""
    install_key_cache()
    try:
        raw = yaml.safe_load((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        # Lazy keys: only the keys that are used get decrypted (each costs a KDF run).
        cfg = CertomancerConfig(raw, key_search_dir=str(directory), lazy_load_keys=True)
        return _with_parsed_certificates(cfg.get_pki_arch(ArchLabel(ARCH)))
    except (OSError, ValueError, KeyError) as exc:
        raise SigningError(
            f"Không đọc được cấu hình PKI thử nghiệm tại {directory}.",
            hint="Xoá thư mục PKI thử nghiệm rồi chạy lại bước cấu hình để tạo lại.",
        ) from exc


def _with_parsed_certificates(arch: PKIArchitecture) -> PKIArchitecture:
    """``arch`` handing out each certificate as parsed from its DER, not as built.

    Why: certomancer keeps the certificates it built as asn1crypto objects assembled
    from values, and asn1crypto encodes such an object again, level by level, every
    time a response embeds it: a timestamp token cost 9.7 ms, 3.3 ms with the parsed
    copy (whose encoding is its bytes, kept). The certificates are the same bytes.

    The services answer requests on several threads at once, and asn1crypto parses an
    object lazily, on first access, which is not thread-safe (two threads parsing the
    same extensions failed a timestamp request): each certificate is built and fully
    parsed under a lock before any thread is handed it, and only read afterwards.
    """
    built = arch.get_cert
    parsed: dict[CertLabel, asn1_x509.Certificate] = {}
    lock = threading.RLock()  # building one certificate asks for its issuer

    def get_cert(label: CertLabel) -> asn1_x509.Certificate:
        cert = parsed.get(label)
        if cert is None:
            with lock:
                cert = parsed.get(label)
                if cert is None:
                    cert = asn1_x509.Certificate.load(built(label).dump())
                    cert.native  # noqa: B018 - every field parsed now, under the lock
                    cert.key_identifier_value  # noqa: B018 - and the extensions read
                    parsed[label] = cert
        return cert

    setattr(arch, "get_cert", get_cert)  # noqa: B010 - this instance only
    return arch


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _export(directory: Path, arch: PKIArchitecture, labels: list[str], password: str) -> None:
    """Write certificates (PEM) for every label and PKCS#12 files for signers."""
    certs_dir = directory / "certs"
    p12_dir = directory / "p12"
    certs_dir.mkdir(exist_ok=True)
    p12_dir.mkdir(exist_ok=True)
    for label in (*INFRASTRUCTURE, *labels):
        cert = arch.get_cert(CertLabel(label))
        (certs_dir / f"{label}.pem").write_bytes(pem.armor("CERTIFICATE", cert.dump()))
    for label in labels:
        p12_path = p12_dir / f"{label}.p12"
        if not p12_path.exists():
            p12_path.write_bytes(arch.package_pkcs12(CertLabel(label), password=password.encode()))


def load_demo_pki(directory: Path) -> DemoPki:
    """Read an existing demo PKI from its manifest."""
    directory = Path(directory).resolve()
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ConfigurationError(
            f"Chưa có PKI thử nghiệm tại {directory} (thiếu {MANIFEST}).",
            hint="Chạy bước cấu hình (hbs configure) ở chế độ demo để tạo PKI thử nghiệm.",
        )
    manifest = _read_json(manifest_path)
    password = _read_json(directory / PASSWORD_FILE)["mat_khau"]
    identities = {
        key: DemoCredential(
            key=key,
            label=entry["label"],
            name=entry["name"],
            pkcs12=directory / entry["pkcs12"],
            certificate=directory / entry["certificate"],
            password=password,
        )
        for key, entry in manifest["identities"].items()
    }
    return DemoPki(
        directory=directory,
        host=manifest["host"],
        port=int(manifest["port"]),
        organisation=manifest["organisation"],
        identities=identities,
    )


def create_demo_pki(
    directory: Path,
    people: list[DemoIdentity],
    organisation: str,
    *,
    host: str = "127.0.0.1",
    port: int,
    now: dt.datetime | None = None,
) -> DemoPki:
    """Create (or reuse and extend) the demo PKI in ``directory``.

    Each person gets an RSA-2048 key and a certificate ``CN=<name>, UID=CCCD:<id>``
    issued by the demo CA; the organisation gets the seal certificate (key ``con-dau``
    in the manifest). Everything is valid from one day before ``now`` so that clocks
    a little apart still agree.
    """
    for person in people:
        if person.personal_id is not None and not re.fullmatch(r"\d{12}", person.personal_id):
            raise ConfigurationError(
                f"Số định danh cá nhân của người ký '{person.key}' phải gồm đúng 12 chữ số.",
                hint="Sửa cột so_dinh_danh của giáo viên này trong tệp nguồn rồi chạy lại.",
            )
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "keys").mkdir(exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)
    config_path = directory / CONFIG_FILE
    manifest_path = directory / MANIFEST
    password_path = directory / PASSWORD_FILE

    if manifest_path.is_file():
        manifest = _read_json(manifest_path)
        if manifest["host"] != host or int(manifest["port"]) != port:
            raise ConfigurationError(
                f"PKI thử nghiệm tại {directory} đã tạo cho {manifest['host']}:{manifest['port']}, "
                f"khác với {host}:{port} đang yêu cầu.",
                hint="Dùng lại cổng cũ trong cấu hình, hoặc xoá thư mục PKI thử nghiệm để tạo lại.",
            )
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        password = _read_json(password_path)["mat_khau"]
    else:
        manifest = {
            "organisation": organisation,
            "host": host,
            "port": port,
            "arch": ARCH,
            "note": "PKI thử nghiệm, chỉ dùng cho demo và kiểm thử; không có giá trị pháp lý.",
            "identities": {},
        }
        config = base_config(host, port, now)
        password = secrets.token_urlsafe(12)
        _write_json(
            password_path, {"mat_khau": password, "ghi_chu": "Chỉ dùng cho PKI thử nghiệm."}
        )
        _write_keys([directory / "keys" / f"{label}.key.pem" for label in INFRASTRUCTURE], password)
        for label in INFRASTRUCTURE:
            config["keysets"][ARCH]["keys"][label] = {"path": f"{label}.key.pem"}
    config["keysets"][ARCH]["default-password"] = password

    leaf_validity = {
        "valid-from": when(now - dt.timedelta(days=1)),
        "valid-to": when(now + dt.timedelta(days=3 * 365)),
    }
    wanted: list[tuple[str, str, dict[str, str]]] = [
        (
            SEAL_KEY,
            organisation,
            {"common-name": organisation, "organization-name": organisation},
        )
    ]
    for person in people:
        entity = {"common-name": person.name, "organization-name": organisation}
        if person.personal_id:
            entity["user-id"] = f"CCCD:{person.personal_id}"
        if person.title:
            entity["title"] = person.title
        wanted.append((person.key, person.name, entity))

    identities: dict[str, Any] = manifest["identities"]
    added = []
    for key, name, entity in wanted:
        if key in identities:
            continue
        label = SEAL_KEY if key == SEAL_KEY else _label_for(key)
        taken = {entry["label"] for entry in identities.values()}
        base, n = label, 2
        while label in taken:
            label, n = f"{base}-{n}", n + 1
        config["keysets"][ARCH]["keys"][label] = {"path": f"{label}.key.pem"}
        add_subject(config, label, entity, leaf_validity)
        identities[key] = {
            "label": label,
            "name": name,
            "pkcs12": f"p12/{label}.p12",
            "certificate": f"certs/{label}.pem",
        }
        added.append(label)

    _write_keys([directory / "keys" / f"{label}.key.pem" for label in added], password)
    if added or not (directory / "certs").is_dir():
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        arch = load_architecture(directory)
        _export(directory, arch, [entry["label"] for entry in identities.values()], password)
        _write_json(manifest_path, manifest)
    return load_demo_pki(directory)


def revoke_identity(
    pki: DemoPki,
    key: str,
    *,
    since: dt.datetime | None = None,
    reason: str = "key_compromise",
) -> None:
    """Mark one identity's certificate revoked in the demo PKI.

    OCSP answers "revoked" from the next request (running services notice the changed
    configuration). The CRL is published once a day (certomancer's simulated schedule),
    so a revocation dated ``since`` shows in the CRL whose period starts after it; pass
    an earlier ``since`` (e.g. the certificate's start) to see it in the current CRL.
    """
    credential = pki.credential(key)
    config = yaml.safe_load(pki.config_path.read_text(encoding="utf-8"))
    moment = since or dt.datetime.now(dt.UTC)
    spec = arch_config(config)["certs"][credential.label]
    spec["revocation"] = {"revoked-since": when(moment), "reason": reason}
    pki.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


def certificate_of(credential: DemoCredential) -> x509.Certificate:
    """The certificate of one identity, as ``cryptography`` reads it."""
    return x509.load_pem_x509_certificate(credential.certificate.read_bytes())


def load_demo_signer(pki: DemoPki, key: str) -> RecordSigner:
    """The signer of one identity of the demo PKI (its password is the demo password)."""
    credential = pki.credential(key)
    return signer_from_pkcs12(credential.pkcs12, credential.password)
