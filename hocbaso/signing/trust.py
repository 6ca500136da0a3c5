"""Whom to trust, and the one HTTP session a batch shares for timestamps and revocation.

Why a session object: pyHanko's synchronous API opens a new HTTP session (and loads
the CA bundle) for every timestamp request, 36-50 ms each (STACK-NOTES). A batch of
records is signed inside one event loop with one ``aiohttp`` session; the timestamp
client and the revocation fetchers (OCSP, CRL, CA issuers) all use it.

``TrustSettings`` says which roots are trusted and how strict revocation checking is;
it builds pyhanko-certvalidator ``ValidationContext`` objects for signing (to collect
revocation data for B-LT) and for verification.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import aiohttp
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers import Fetchers
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from hocbaso.errors import ConfigurationError

RevocationMode = Literal["hard-fail", "soft-fail", "require"]


def read_certificates(paths: Iterable[Path | str]) -> tuple[asn1_x509.Certificate, ...]:
    """Certificates from PEM (one or many per file) or DER files."""
    certs: list[asn1_x509.Certificate] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
            if pem.detect(data):
                certs.extend(
                    asn1_x509.Certificate.load(der)
                    for kind, _, der in pem.unarmor(data, multiple=True)
                    if kind == "CERTIFICATE"
                )
            else:
                certs.append(asn1_x509.Certificate.load(data))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"Không đọc được chứng thư gốc tin cậy {path}.",
                hint="Kiểm tra danh sách tin_cay trong mục [chung_thu] của school.toml (tệp PEM).",
            ) from exc
    return tuple(certs)


@dataclass(frozen=True)
class TrustSettings:
    """Trusted roots and revocation policy for validating certificates.

    ``revocation``: ``hard-fail`` (default) refuses a certificate whose status could be
    fetched and is bad or whose revocation source failed; ``require`` also refuses when
    no revocation data exists at all; ``soft-fail`` accepts when the responder cannot be
    reached. ``allow_fetching`` lets the validator contact OCSP/CRL/CA-issuer URLs;
    without it only data embedded in the document (PDF DSS) or given here counts.
    """

    roots: tuple[asn1_x509.Certificate, ...]
    revocation: RevocationMode = "hard-fail"
    allow_fetching: bool = True
    moment: dt.datetime | None = None

    @classmethod
    def from_files(cls, paths: Sequence[Path | str], **options: Any) -> TrustSettings:
        """Trust the roots in these PEM/DER files."""
        roots = read_certificates(paths)
        if not roots:
            raise ConfigurationError(
                "Chưa có chứng thư gốc tin cậy nào để kiểm tra chữ ký.",
                hint="Thêm tệp chứng thư gốc (PEM) vào danh sách tin_cay trong school.toml.",
            )
        return cls(roots=roots, **options)

    def context_options(
        self,
        *,
        fetcher_backend: AIOHttpFetcherBackend | None = None,
        allow_fetching: bool | None = None,
        moment: dt.datetime | None = None,
        fetchers: Fetchers | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments of a ``ValidationContext`` for these settings.

        The revocation lists are empty, never None: pyhanko-certvalidator refuses a
        context without fetching and without any revocation data at all. ``fetchers``
        kept by the caller carry what they fetched from one context to the next.
        """
        fetching = self.allow_fetching if allow_fetching is None else allow_fetching
        options = {
            "trust_roots": list(self.roots),
            "allow_fetching": fetching,
            "revocation_mode": self.revocation,
            "moment": moment or self.moment,
            "fetcher_backend": fetcher_backend if fetching else None,
            "other_certs": [],
            "crls": [],
            "ocsps": [],
        }
        if fetching and fetchers is not None:
            options["fetchers"] = fetchers
        return options

    def validation_context(
        self,
        *,
        fetcher_backend: AIOHttpFetcherBackend | None = None,
        other_certs: Iterable[asn1_x509.Certificate] = (),
        crls: Iterable[Any] = (),
        ocsps: Iterable[Any] = (),
        fetchers: Fetchers | None = None,
    ) -> ValidationContext:
        """A fresh validation context (they cache results, so one per batch at most).

        With ``fetchers`` kept across contexts (the registry's), each context validates
        at its own creation time while revocation answers already fetched are reused;
        pyhanko-certvalidator still refuses an answer outside its thisUpdate/nextUpdate
        window.
        """
        options = self.context_options(fetcher_backend=fetcher_backend, fetchers=fetchers)
        options.update(other_certs=list(other_certs), crls=list(crls), ocsps=list(ocsps))
        return ValidationContext(**options)


class ServiceSession:
    """One ``aiohttp`` session for a batch: timestamp client plus revocation fetchers.

    Enter it inside the event loop that signs (``async with ServiceSession(...)``).
    """

    def __init__(self, *, tsa_url: str | None = None, trust: TrustSettings | None = None) -> None:
        self.tsa_url = tsa_url
        self.trust = trust
        self._http: aiohttp.ClientSession | None = None
        self._timestamper: HTTPTimeStamper | None = None
        self._fetchers: AIOHttpFetcherBackend | None = None
        self._context: ValidationContext | None = None
        self._kept_fetchers: Fetchers | None = None
        # What a step computed once and reuses for its other records (cleared on exit);
        # see ``hocbaso.signing.longterm.collect_chain_data``.
        self.cache: dict[Any, Any] = {}

    async def __aenter__(self) -> ServiceSession:
        self._http = aiohttp.ClientSession()
        if self.tsa_url is not None:
            self._timestamper = HTTPTimeStamper(self.tsa_url, session=self._http)
        self._fetchers = AIOHttpFetcherBackend(self._http)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = self._timestamper = self._fetchers = self._context = None
        self._kept_fetchers = None
        self.cache.clear()

    @property
    def timestamper(self) -> HTTPTimeStamper | None:
        """The TSA client on the shared session (None when no TSA is configured)."""
        return self._timestamper

    def validation_context(self, **options: Any) -> ValidationContext:
        """A validation context that fetches revocation data over the shared session.

        Without options, the session's own context: one per batch, so the revocation
        data of a certificate used for every record (the seal's, the CA's) is fetched
        once per batch instead of once per record.
        """
        if self.trust is None:
            raise ConfigurationError(
                "Chưa cấu hình chứng thư gốc tin cậy nên không kiểm tra được trạng thái chứng thư.",
                hint="Thêm danh sách tin_cay trong mục [chung_thu] của school.toml.",
            )
        if options:
            return self.trust.validation_context(fetcher_backend=self._fetchers, **options)
        if self._context is None:
            self._context = self.trust.validation_context(fetcher_backend=self._fetchers)
        return self._context

    def kept_fetchers(self) -> Fetchers:
        """Revocation/certificate fetchers kept for the life of the session.

        Contexts built with them (``trust.validation_context(fetchers=...)``) reuse what
        an earlier context fetched: one OCSP request per certificate per session.
        """
        if self._fetchers is None:
            raise RuntimeError("ServiceSession is used outside 'async with'")
        if self._kept_fetchers is None:
            self._kept_fetchers = self._fetchers.get_fetchers()
        return self._kept_fetchers

    def context_options(self) -> dict[str, Any]:
        """``ValidationContext`` keyword arguments that fetch over the shared session."""
        if self.trust is None:
            raise ConfigurationError(
                "Chưa cấu hình chứng thư gốc tin cậy nên không kiểm tra được trạng thái chứng thư.",
                hint="Thêm danh sách tin_cay trong mục [chung_thu] của school.toml.",
            )
        return self.trust.context_options(fetcher_backend=self._fetchers)


def revocation_data_expiry(fetchers: Fetchers) -> dt.datetime | None:
    """The earliest ``nextUpdate`` of the OCSP answers and CRLs ``fetchers`` hold, if any.

    Why: whoever keeps fetchers across many documents (the registry) must drop them
    once an answer they hold is no longer current, so that the next document gets a
    fresh one; an answer without ``nextUpdate`` sets no limit here (the keeper's own
    age limit applies).
    """
    moments: list[dt.datetime] = []
    for response in fetchers.ocsp_fetcher.fetched_responses():
        try:
            basic = response["response_bytes"]["response"].parsed
            singles = basic["tbs_response_data"]["responses"]
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        moments += [s["next_update"].native for s in singles if s["next_update"].native]
    for crl in fetchers.crl_fetcher.fetched_crls():
        moment = crl["tbs_cert_list"]["next_update"].native
        if moment is not None:
            moments.append(moment)
    return min(moments, default=None)
