"""Signers: a key and its certificate chain, loaded once, used for many records.

Why this shape: a class of ~35 records is signed in one go, and loading a key is
the expensive part (an RSA key load costs tens of milliseconds because
``cryptography`` validates it; a token needs a login). ``load_signer`` opens the key
once; the returned ``RecordSigner`` serves both signature formats:

- ``pdf_signer``: a pyHanko ``Signer`` (PAdES). For a PKCS#12 file it keeps the
  parsed key in memory (pyHanko's stock ``SimpleSigner`` parses it again for every
  signature); for a token it is pyHanko's ``PKCS11Signer`` on one open session.
- ``xml_key``: what signxml signs with. For a PKCS#12 file, the ``cryptography`` key
  itself; for a token, an ``RSAPrivateKey`` whose ``sign`` asks the token (the private
  key never leaves it), so XML signatures work with a USB token as well.

Close a token signer (``close()`` or ``with``) to log out of the token.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Protocol

import pkcs11
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding, PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo, Prehashed
from cryptography.hazmat.primitives.serialization import pkcs12
from pkcs11 import Attribute, Mechanism, ObjectClass
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hocbaso.config import KhoaPkcs11, KhoaPkcs12, KhoaTuXa, Workspace, secret_from_env
from hocbaso.errors import SigningError

_RSA_TOKEN_MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}
# DER prefix of a PKCS#1 v1.5 DigestInfo, per hash: a digest signed on the token with the
# raw RSA_PKCS mechanism (an external signature over a digest computed elsewhere).
_DIGEST_INFO_PREFIX = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


class _KeptKeySigner(Signer):
    """pyHanko signer over a ``cryptography`` key parsed once (RSA PKCS#1 v1.5 or ECDSA)."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        signing_cert: asn1_x509.Certificate,
        chain: Iterable[asn1_x509.Certificate],
    ) -> None:
        registry = SimpleCertificateStore()
        registry.register_multiple([signing_cert, *chain])
        super().__init__(signing_cert=signing_cert, cert_registry=registry)
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        hash_algo = getattr(hashes, digest_algorithm.upper())()
        if isinstance(self._key, rsa.RSAPrivateKey):
            if dry_run:
                return bytes(self._key.key_size // 8)
            return self._key.sign(data, PKCS1v15(), hash_algo)
        if dry_run:
            return bytes(2 * (self._key.key_size + 7) // 8 + 16)
        return self._key.sign(data, ec.ECDSA(hash_algo))


class _TokenRsaKey(rsa.RSAPrivateKey):
    """An RSA private key that lives on a PKCS#11 token: ``sign`` is done by the token.

    Only what XML signing needs is implemented (PKCS#1 v1.5 with SHA-2); the private
    numbers cannot be read, as on any real token.
    """

    def __init__(self, handle: Any, public: rsa.RSAPublicKey) -> None:
        self._handle = handle
        self._public = public

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: hashes.HashAlgorithm | Prehashed | NoDigestInfo,
    ) -> bytes:
        prehashed = isinstance(algorithm, Prehashed)
        inner = algorithm._algorithm if isinstance(algorithm, Prehashed) else algorithm
        name = getattr(inner, "name", "")
        if not isinstance(padding, PKCS1v15) or name not in _RSA_TOKEN_MECHANISMS:
            raise SigningError(
                "Khoá trên thiết bị ký chỉ dùng được với RSA PKCS#1 v1.5 và SHA-256/384/512.",
                hint="Dùng thuật toán ký mặc định (RSA-SHA256).",
            )
        try:
            if prehashed:
                signature: bytes = self._handle.sign(
                    _DIGEST_INFO_PREFIX[name] + data, mechanism=Mechanism.RSA_PKCS
                )
            else:
                signature = self._handle.sign(data, mechanism=_RSA_TOKEN_MECHANISMS[name])
        except pkcs11.PKCS11Error as exc:
            raise SigningError(
                "Thiết bị ký (token) từ chối thao tác ký.",
                hint="Kiểm tra token còn cắm, còn đăng nhập và khoá còn quyền ký, rồi ký lại.",
            ) from exc
        return signature

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def _not_on_token(self, *_: Any, **__: Any) -> NoReturn:
        raise SigningError(
            "Khoá bí mật nằm trên thiết bị ký và không thể đọc ra.",
            hint="Thao tác này không dùng được với token; chỉ có thể ký.",
        )

    decrypt = _not_on_token
    private_numbers = _not_on_token
    private_bytes = _not_on_token

    def __copy__(self) -> _TokenRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _TokenRsaKey:
        return self


class Certified(Protocol):
    """A signer's certificate and chain: all that preparing a signature needs.

    A local key (``RecordSigner``) and a remote signing account
    (``hocbaso.signing.channels``) both have it; the signature value comes separately.
    """

    @property
    def certificate(self) -> asn1_x509.Certificate: ...

    @property
    def chain(self) -> tuple[asn1_x509.Certificate, ...]: ...

    @property
    def crypto_chain(self) -> list[x509.Certificate]: ...


def crypto_chain_of(
    certificate: asn1_x509.Certificate, chain: Iterable[asn1_x509.Certificate]
) -> list[x509.Certificate]:
    """Signer certificate first, then its issuers, as ``cryptography`` objects."""
    return [_to_crypto(certificate), *(_to_crypto(c) for c in chain)]


@dataclass
class RecordSigner:
    """A loaded key with its certificate chain, ready to sign many records.

    ``chain`` holds the issuing certificates (signer's CA first, root possibly last)
    that go into signatures so a verifier can build the path.
    """

    certificate: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]
    pdf_signer: Signer
    xml_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    source: str  # "pkcs12" or "pkcs11", for reports
    _session: Any = field(default=None, repr=False)
    _generation: int = field(default=0, repr=False)

    @property
    def crypto_certificate(self) -> x509.Certificate:
        return _to_crypto(self.certificate)

    @property
    def crypto_chain(self) -> list[x509.Certificate]:
        """Signer certificate first, then its issuers: what signxml embeds in KeyInfo."""
        return crypto_chain_of(self.certificate, self.chain)

    @property
    def subject_name(self) -> str:
        """The certificate's common name (shown locally, never logged)."""
        return str(self.certificate.subject.native.get("common_name", ""))

    def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        """The raw signature over a digest computed elsewhere (the external-signature step).

        RSA: PKCS#1 v1.5 over the DigestInfo (what a remote signing service returns);
        ECDSA: the DER-encoded (r, s). A token signs on the token.
        """
        hash_algo = Prehashed(getattr(hashes, algorithm.upper())())
        key = self.xml_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(digest, ec.ECDSA(hash_algo))
        return key.sign(digest, PKCS1v15(), hash_algo)

    @property
    def stale(self) -> bool:
        """True when the token library was started again since this session was opened."""
        return self._session is not None and self._generation != _PKCS11_STATE.generation

    def close(self) -> None:
        """Log out of the token (nothing to do for a key file)."""
        if self._session is not None:
            try:
                if not self.stale:
                    self._session.close()
            except pkcs11.PKCS11Error:
                pass  # the session is gone already (token removed, library restarted)
            finally:
                self._session = None

    def __enter__(self) -> RecordSigner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _read_chain_files(paths: Sequence[Path]) -> list[asn1_x509.Certificate]:
    certs: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            loaded = x509.load_pem_x509_certificates(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise SigningError(
                f"Không đọc được tệp chứng thư {path}.",
                hint="Kiểm tra đường dẫn và định dạng PEM của chuỗi chứng thư.",
            ) from exc
        certs.extend(_to_asn1(c) for c in loaded)
    return certs


def signer_from_pkcs12(path: Path, password: str | None) -> RecordSigner:
    """Open a PKCS#12 file once and keep its key in memory for the whole batch."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SigningError(
            f"Không mở được tệp khoá {path}.",
            hint="Kiểm tra đường dẫn tệp .p12/.pfx trong mục [chung_thu] của school.toml.",
        ) from exc
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password is not None else None
        )
    except ValueError as exc:
        raise SigningError(
            f"Không mở được tệp khoá {Path(path).name}: sai mật khẩu hoặc tệp hỏng.",
            hint="Kiểm tra biến môi trường chứa mật khẩu của tệp khoá rồi ký lại.",
        ) from exc
    if cert is None or not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(
            f"Tệp khoá {Path(path).name} không chứa khoá RSA/ECDSA kèm chứng thư.",
            hint="Xuất lại tệp .p12 kèm khoá bí mật và chứng thư người ký.",
        )
    signing_cert = _to_asn1(cert)
    chain = tuple(_to_asn1(c) for c in extra or ())
    return RecordSigner(
        certificate=signing_cert,
        chain=chain,
        pdf_signer=_KeptKeySigner(key, signing_cert, chain),
        xml_key=key,
        source="pkcs12",
    )


@dataclass
class _Pkcs11State:
    """The token library as this process started it: under which environment, how often."""

    environment: dict[str, dict[str, str | None]] = field(default_factory=dict)
    generation: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_PKCS11_STATE = _Pkcs11State()
# What a PKCS#11 library reads from the environment when it starts (SoftHSM2: its
# configuration file, hence which token directory it sees).
_LIBRARY_ENVIRONMENT = ("SOFTHSM2_CONF",)


def _set_environment(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _start_library(module: str, environment: Mapping[str, str] | None) -> None:
    """Start ``module`` under ``environment`` (or the process's), restarting it if needed.

    A PKCS#11 library reads its configuration once, when it is initialised, and a
    process holds one instance per library file. Two workspaces with their own
    SoftHSM2 token directories in one process (the tests) need the library started
    again under the other configuration; sessions opened before then become stale
    (``RecordSigner.stale``) and are opened again by their owner.
    """
    wanted = {
        name: (environment or {}).get(name, os.environ.get(name)) for name in _LIBRARY_ENVIRONMENT
    }
    state = _PKCS11_STATE
    with state.lock:
        previous = state.environment.get(module)
        if previous == wanted:
            return
        saved = {name: os.environ.get(name) for name in _LIBRARY_ENVIRONMENT}
        try:
            _set_environment(wanted)
            library = pkcs11.lib(module)
            if previous is not None:
                library.reinitialize()
                state.generation += 1
        except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:
            raise SigningError(
                f"Không khởi động được thư viện thiết bị ký {module}.",
                hint="Kiểm tra đường dẫn thư viện PKCS#11 và tệp cấu hình của nó.",
            ) from exc
        finally:
            _set_environment(saved)
        state.environment[module] = wanted


def signer_from_pkcs11(
    module: str,
    token: str,
    key_label: str,
    pin: str,
    *,
    cert_label: str | None = None,
    chain_files: Sequence[Path] = (),
    environment: Mapping[str, str] | None = None,
) -> RecordSigner:
    """Log in to a PKCS#11 token once; signatures are made by the token.

    The signer's certificate is read from the token (``cert_label``, by default the key
    label); every other certificate on the token and ``chain_files`` form the chain.
    ``environment`` gives what the library reads when it starts (``SOFTHSM2_CONF`` of a
    workspace's own SoftHSM2 token) instead of the process's environment.
    """
    _start_library(module, environment)
    try:
        session = open_pkcs11_session(
            module, token_criteria=TokenCriteria(label=token), user_pin=pin
        )
    except pkcs11.PinIncorrect as exc:
        raise SigningError(
            f"Mã PIN của thiết bị ký '{token}' không đúng.",
            hint="Sửa biến môi trường chứa mã PIN; nhập sai nhiều lần có thể khoá token.",
        ) from exc
    except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:
        raise SigningError(
            f"Không mở được thiết bị ký '{token}' (thư viện {module}).",
            hint="Kiểm tra token đã cắm, tên token trong school.toml "
            "và đường dẫn thư viện PKCS#11.",
        ) from exc
    try:
        cert_label = cert_label or key_label
        handle = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=key_label)
        certs = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}))
    except (pkcs11.PKCS11Error, pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
        session.close()
        raise SigningError(
            f"Không tìm thấy khoá '{key_label}' trên thiết bị ký '{token}'.",
            hint="Kiểm tra nhãn khoá (nhan_khoa) trong mục [chung_thu] của school.toml.",
        ) from exc
    own = [c for c in certs if c[Attribute.LABEL] == cert_label]
    if len(own) != 1:
        session.close()
        raise SigningError(
            f"Không tìm thấy đúng một chứng thư '{cert_label}' trên thiết bị ký '{token}'.",
            hint="Kiểm tra nhãn chứng thư (nhan_chung_thu) trong mục [chung_thu] của school.toml.",
        )
    signing_cert = asn1_x509.Certificate.load(own[0][Attribute.VALUE])
    others = [
        asn1_x509.Certificate.load(c[Attribute.VALUE])
        for c in certs
        if c[Attribute.LABEL] != cert_label
    ]
    chain = tuple(others + _read_chain_files(chain_files))
    public = _to_crypto(signing_cert).public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        session.close()
        raise SigningError(
            f"Khoá '{key_label}' trên thiết bị ký không phải khoá RSA.",
            hint="Dùng chứng thư RSA (như chứng thư số do Ban Cơ yếu Chính phủ cấp).",
        )
    pdf_signer = PKCS11Signer(
        session,
        key_label=key_label,
        signing_cert=signing_cert,
        ca_chain=list(chain),
    )
    return RecordSigner(
        certificate=signing_cert,
        chain=chain,
        pdf_signer=pdf_signer,
        xml_key=_TokenRsaKey(handle, public),
        source="pkcs11",
        _session=session,
        _generation=_PKCS11_STATE.generation,
    )


def load_signer(
    spec: KhoaPkcs12 | KhoaPkcs11 | KhoaTuXa,
    workspace: Workspace | None = None,
    *,
    chain_files: Sequence[Path] = (),
) -> RecordSigner:
    """The signer described in ``school.toml`` (secrets from the environment).

    A remote signing account has no key on this machine: it signs records through
    ``hocbaso.signing.channels``, and what needs a local key refuses it here.
    """
    if isinstance(spec, KhoaTuXa):
        raise SigningError(
            f"Người ký này ký số từ xa ({spec.nha_cung_cap}): không có khóa trên máy này.",
            hint="Thao tác này cần khóa PKCS#12 hoặc token; khai báo thêm một khóa như vậy "
            "trong [chung_thu] của school.toml.",
        )
    if isinstance(spec, KhoaPkcs12):
        path = workspace.path(spec.tep) if workspace is not None else Path(spec.tep)
        password = secret_from_env(
            spec.mat_khau_env, f"mật khẩu của tệp khoá {Path(spec.tep).name}"
        )
        return signer_from_pkcs12(path, password)
    pin = secret_from_env(spec.pin_env, f"mã PIN của thiết bị ký '{spec.token}'")
    assert pin is not None  # pin_env is required by the configuration model
    return signer_from_pkcs11(
        spec.module,
        spec.token,
        spec.nhan_khoa,
        pin,
        cert_label=spec.nhan_chung_thu,
        chain_files=chain_files,
    )
