"""The certomancer configuration of the demo PKI: who exists, which certificate says what.

Kept apart from ``pki.py`` (which generates keys and files) because this is the one
place that decides the shape of the demo certificates: a root, an issuing CA, a TSA, an
OCSP responder, and document-signing certificates (non-repudiation, OCSP and CRL
pointers, CA issuer link) for people and for the school's seal. certomancer turns it
into certificates, CRLs and responses.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

ARCH = "hocbaso-demo"
# Labels of the infrastructure entities/certificates/services.
ROOT, CA, TSA, OCSP = "root", "ca", "tsa", "ocsp"
INFRASTRUCTURE = (ROOT, CA, TSA, OCSP)


def when(moment: dt.datetime) -> str:
    """A time as certomancer's configuration writes it (UTC, whole seconds)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def ca_extensions(*, path_len: int | None, crl_repo: str | None) -> list[dict[str, Any]]:
    """A CA certificate: signs certificates and CRLs; the issuing CA is revocable by CRL."""
    constraints: dict[str, Any] = {"ca": True}
    if path_len is not None:
        constraints["path-len-constraint"] = path_len
    exts: list[dict[str, Any]] = [
        {"id": "basic_constraints", "critical": True, "value": constraints},
        {
            "id": "key_usage",
            "critical": True,
            "smart-value": {"schema": "key-usage", "params": ["key_cert_sign", "crl_sign"]},
        },
    ]
    if crl_repo is not None:
        exts.append(crl_ext(crl_repo))
    return exts


def crl_ext(repo: str) -> dict[str, Any]:
    """CRL distribution point pointing at the services' CRL of ``repo``."""
    return {
        "id": "crl_distribution_points",
        "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": [repo]}},
    }


def signer_extensions() -> list[dict[str, Any]]:
    """A document-signing certificate: non-repudiation, OCSP and CRL pointers, CA issuer link."""
    return [
        {
            "id": "key_usage",
            "critical": True,
            "smart-value": {
                "schema": "key-usage",
                "params": ["digital_signature", "non_repudiation"],
            },
        },
        crl_ext(CA),
        {
            "id": "authority_information_access",
            "smart-value": {
                "schema": "aia-urls",
                "params": {
                    "ocsp-responder-names": [CA],
                    "ca-issuer-links": [{"repo": CA}],
                },
            },
        },
    ]


def base_config(host: str, port: int, now: dt.datetime) -> dict[str, Any]:
    """Root, issuing CA, TSA and OCSP responder with their services at ``host:port``.

    CA certificates last thirty years and the TSA's twenty (a record must stay
    verifiable for decades: the newest timestamp's certificate bounds its proof of
    existence until the archive timestamp is renewed), the OCSP responder's five;
    CRLs are simulated as published daily. People are added with ``add_subject``.
    """
    start = now - dt.timedelta(days=1)

    def valid_for(days: int) -> dict[str, str]:
        return {"valid-from": when(start), "valid-to": when(start + dt.timedelta(days=days))}

    ca_validity, tsa_validity, svc_validity = (
        valid_for(30 * 365),
        valid_for(20 * 365),
        valid_for(1825),
    )
    return {
        "external-url-prefix": f"http://{host}:{port}",
        "keysets": {ARCH: {"path-prefix": "keys", "keys": {}}},
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "VN"},
                "entities": {
                    ROOT: {"common-name": "Hoc ba so - CA goc thu nghiem"},
                    CA: {"common-name": "Hoc ba so - CA cap chung thu thu nghiem"},
                    TSA: {"common-name": "Hoc ba so - Dich vu cap dau thoi gian thu nghiem"},
                    OCSP: {"common-name": "Hoc ba so - OCSP thu nghiem"},
                },
                "certs": {
                    ROOT: {
                        "subject": ROOT,
                        "issuer": ROOT,
                        "serial": 1,
                        "validity": ca_validity,
                        "extensions": ca_extensions(path_len=None, crl_repo=None),
                    },
                    CA: {
                        "subject": CA,
                        "issuer": ROOT,
                        "serial": 2,
                        "validity": ca_validity,
                        "extensions": ca_extensions(path_len=0, crl_repo=ROOT),
                    },
                    TSA: {
                        "subject": TSA,
                        "issuer": CA,
                        "serial": 3,
                        "validity": tsa_validity,
                        "extensions": [
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {
                                    "schema": "key-usage",
                                    "params": ["digital_signature"],
                                },
                            },
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["time_stamping"],
                            },
                            crl_ext(CA),
                        ],
                    },
                    OCSP: {
                        "subject": OCSP,
                        "issuer": CA,
                        "serial": 4,
                        "validity": svc_validity,
                        "extensions": [
                            {
                                "id": "key_usage",
                                "critical": True,
                                "smart-value": {
                                    "schema": "key-usage",
                                    "params": ["digital_signature"],
                                },
                            },
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["ocsp_signing"],
                            },
                            {"id": "ocsp_no_check"},
                        ],
                    },
                },
                "services": {
                    "ocsp": {CA: {"for-issuer": CA, "responder-cert": OCSP, "signing-key": OCSP}},
                    "crl-repo": {
                        ROOT: {
                            "for-issuer": ROOT,
                            "signing-key": ROOT,
                            "simulated-update-schedule": "P1D",
                        },
                        CA: {
                            "for-issuer": CA,
                            "signing-key": CA,
                            "simulated-update-schedule": "P1D",
                        },
                    },
                    "cert-repo": {
                        ROOT: {"for-issuer": ROOT, "publish-issued-certs": True},
                        CA: {"for-issuer": CA, "publish-issued-certs": True},
                    },
                    "time-stamping": {TSA: {"signing-key": TSA, "signing-cert": TSA}},
                },
            }
        },
    }


def arch_config(config: dict[str, Any]) -> dict[str, Any]:
    """The demo architecture's part of a whole configuration."""
    arch: dict[str, Any] = config["pki-architectures"][ARCH]
    return arch


def add_subject(
    config: dict[str, Any],
    label: str,
    entity: dict[str, str],
    validity: dict[str, str],
) -> None:
    """Add a person or the seal, issued by the CA, with a random serial fixed from now on."""
    arch = arch_config(config)
    arch["entities"][label] = entity
    serial = secrets.randbits(62) | (1 << 61)  # unique, positive, stable once written
    arch["certs"][label] = {
        "subject": label,
        "issuer": CA,
        "serial": serial,
        "validity": validity,
        "extensions": signer_extensions(),
    }
