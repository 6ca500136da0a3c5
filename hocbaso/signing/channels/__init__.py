"""Signing channels: one interface over a key file, a token and a remote signing service.

Every signature of a record is made in three phases (``hocbaso.signing.xml_signature``
and ``pdf_signature``): prepare the document and compute the digest to sign, have the
digest signed, finish the document with the value. A channel does the middle phase
for many digests at once, as one *request*:

- ``LocalChannel`` (``pkcs12``, ``pkcs11``): the key or the token signs at once;
- ``RemoteChannel`` (``tu_xa``): the digests go to the person's remote signing
  service as one request; the person confirms it once on a phone, and the service
  returns every signature (``hocbaso.signing.channels.vn_async`` for the
  "send batch → wait → collect" shape of Vietnamese providers,
  ``hocbaso.signing.channels.csc`` for the Cloud Signature Consortium API v2).

A request is named by the school's own id (``ma_giao_dich``), written in the signing
journal before it is sent, so sending it again after a crash asks nothing new: the
service answers with the request it already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from hocbaso.errors import SigningError
from hocbaso.signing.signers import Certified, RecordSigner, crypto_chain_of

ChannelKind = Literal["pkcs12", "pkcs11", "tu_xa"]
RequestState = Literal["cho_xac_nhan", "da_ky", "tu_choi", "het_han", "loi"]
TERMINAL: frozenset[str] = frozenset({"da_ky", "tu_choi", "het_han", "loi"})
STATE_NAMES_VI: dict[str, str] = {
    "cho_xac_nhan": "đang chờ xác nhận",
    "da_ky": "đã ký",
    "tu_choi": "bị người ký từ chối",
    "het_han": "hết hạn chờ xác nhận",
    "loi": "lỗi",
}


@dataclass(frozen=True)
class SignRequest:
    """Digests to be signed by one person under one confirmation."""

    ma_giao_dich: str
    digests: tuple[bytes, ...]
    description: str  # shown to the person: school, class, role, count; never a pupil


@dataclass(frozen=True)
class RequestStatus:
    """Where a request stands; ``signatures`` in the order of its digests once signed."""

    state: RequestState
    signatures: tuple[bytes, ...] = ()
    code: str | None = None  # the service's error code (``het_luot``, ...)
    message: str = ""  # Vietnamese, for the person


class Channel(Certified, Protocol):
    """One signer's way of signing digests (its certificate and how many per request)."""

    @property
    def kind(self) -> ChannelKind: ...

    @property
    def max_digests(self) -> int:
        """Digests per request (one confirmation)."""

    def submit(self, request: SignRequest) -> RequestStatus:
        """Send the request (again: the same id asks nothing new)."""

    def status(self, request: SignRequest) -> RequestStatus:
        """Ask where the request stands."""

    def close(self) -> None:
        """Log out, close connections."""


def check_signatures(
    certificate: asn1_x509.Certificate, digests: Sequence[bytes], signatures: Sequence[bytes]
) -> None:
    """Every signature verifies over its SHA-256 digest with the certificate's key."""
    if len(digests) != len(signatures):
        raise SigningError(
            f"Dịch vụ ký trả về {len(signatures)} chữ ký cho {len(digests)} giá trị băm.",
            hint="Báo cho nhà cung cấp dịch vụ ký số từ xa; yêu cầu ký sẽ được gửi lại.",
        )
    public = crypto_chain_of(certificate, ())[0].public_key()
    for digest, signature in zip(digests, signatures, strict=True):
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, digest, PKCS1v15(), Prehashed(hashes.SHA256()))
            elif isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            else:
                raise InvalidSignature
        except InvalidSignature as exc:
            raise SigningError(
                "Chữ ký nhận về không khớp với chứng thư của người ký.",
                hint="Kiểm tra tài khoản ký số từ xa có đúng chứng thư của người này không.",
            ) from exc


@dataclass
class LocalChannel:
    """A key file or a token: a request is signed at once, digest by digest.

    ``reload`` opens the key again when a token session went stale (the token library
    was restarted for another workspace in the same process).
    """

    signer: RecordSigner
    reload: Callable[[], RecordSigner] | None = None
    max_digests: int = 10_000
    _done: dict[str, RequestStatus] = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> ChannelKind:
        return "pkcs11" if self.signer.source == "pkcs11" else "pkcs12"

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self.signer.certificate

    @property
    def chain(self) -> tuple[asn1_x509.Certificate, ...]:
        return self.signer.chain

    @property
    def crypto_chain(self) -> list[x509.Certificate]:
        return self.signer.crypto_chain

    def sign_digest(self, digest: bytes) -> bytes:
        if self.signer.stale and self.reload is not None:
            self.signer = self.reload()
        return self.signer.sign_digest(digest)

    def submit(self, request: SignRequest) -> RequestStatus:
        kept = self._done.get(request.ma_giao_dich)
        if kept is None:
            kept = RequestStatus("da_ky", tuple(self.sign_digest(d) for d in request.digests))
            self._done[request.ma_giao_dich] = kept
        return kept

    def status(self, request: SignRequest) -> RequestStatus:
        return self._done.get(request.ma_giao_dich) or RequestStatus(
            "het_han", message="Yêu cầu ký bằng khóa trên máy này không còn trong bộ nhớ."
        )

    def close(self) -> None:
        self.signer.close()


class RemotePort(Protocol):
    """A wire adapter of a remote signing service, bound to one person's account."""

    max_digests: int

    def certificates(self) -> list[bytes]:
        """The account's certificate (DER) first, then its issuers."""

    def submit(self, request: SignRequest) -> RequestStatus: ...

    def status(self, request: SignRequest) -> RequestStatus: ...

    def close(self) -> None: ...


@dataclass
class RemoteChannel:
    """A person's remote signing account: their certificate and a wire adapter."""

    port: RemotePort
    certificate: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]
    kind: ChannelKind = "tu_xa"

    @classmethod
    def open(cls, port: RemotePort) -> RemoteChannel:
        ders = port.certificates()
        if not ders:
            raise SigningError(
                "Dịch vụ ký số từ xa không trả về chứng thư của tài khoản.",
                hint="Kiểm tra mã người dùng (ma_nguoi_dung) trong school.toml.",
            )
        certs = [asn1_x509.Certificate.load(d) for d in ders]
        return cls(port, certs[0], tuple(certs[1:]))

    @property
    def max_digests(self) -> int:
        return self.port.max_digests

    @property
    def crypto_chain(self) -> list[x509.Certificate]:
        return crypto_chain_of(self.certificate, self.chain)

    def _checked(self, request: SignRequest, status: RequestStatus) -> RequestStatus:
        if status.state == "da_ky":
            check_signatures(self.certificate, request.digests, status.signatures)
        return status

    def submit(self, request: SignRequest) -> RequestStatus:
        return self._checked(request, self.port.submit(request))

    def status(self, request: SignRequest) -> RequestStatus:
        return self._checked(request, self.port.status(request))

    def close(self) -> None:
        self.port.close()


__all__ = [
    "STATE_NAMES_VI",
    "TERMINAL",
    "Channel",
    "ChannelKind",
    "LocalChannel",
    "RemoteChannel",
    "RemotePort",
    "RequestState",
    "RequestStatus",
    "SignRequest",
    "check_signatures",
]
