"""Successful certificate verdicts of pyHanko, kept by a verifier of many records.

Why: pyHanko validates the certificate path (path building, signatures, revocation) of
each PDF signature, of the seal's signature timestamp, of every document timestamp and
of every XML timestamp token in ``generic_cms.validate_cert_usage``: seven times per
issued record, for the same few dozen certificates, about a sixth of the registry's
verification CPU. The XML signers' own certificates are already judged once
(``CertificateVerdicts`` in ``verify``); this module does the same for what pyHanko
validates.

How, and why it is the same verdict: ``install()`` replaces the module attribute
``generic_cms.validate_cert_usage`` (which ``cms_basic_validation`` looks up at each
call) by ``validate_cert_usage``. Outside a ``keep_verdicts(context, verdicts)`` block,
or for any other context than the one given, or with explicit PKIX parameters, or with
a path given by the caller instead of one built from the context, the original runs
unchanged. Inside, a *success* of the original is kept under a key of everything path
building and validation read: the certificate, the key-usage constraints, and every
certificate the context's registry holds at that moment (the trust roots and the
revocation answers are those of the one caller, a ``RegistryVerifier``, which drops the
verdicts together with the answers they rest on). A kept success is reused only while
the context's validation time lies inside the validity of every certificate of its
path. A failure, or a check that could not be made, is never kept: it is recomputed
every time, so a revoked, expired or untrusted certificate is refused exactly as
before.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyhanko.sign.validation import generic_cms
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import LazyPathIterator

_ORIGINAL = generic_cms.validate_cert_usage

UsageVerdicts = dict[tuple[Any, ...], tuple[Any, dt.datetime, dt.datetime]]
"""Kept successes of ``validate_cert_usage``: key -> (result, valid from, valid until)."""

_SCOPE: contextvars.ContextVar[tuple[ValidationContext, UsageVerdicts] | None] = (
    contextvars.ContextVar("hocbaso_usage_verdicts", default=None)
)


@contextmanager
def keep_verdicts(context: ValidationContext, verdicts: UsageVerdicts) -> Iterator[None]:
    """Within the block, successes of pyHanko's certificate validation in ``context``
    are kept in (and reused from) ``verdicts``; the caller must drop ``verdicts`` when
    it drops the revocation answers ``context`` was built with."""
    token = _SCOPE.set((context, verdicts))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _frozen(value: Any) -> Any:
    """A hashable form of a key-usage field (``KeyUsageConstraints`` holds sets)."""
    if isinstance(value, (set, frozenset, list, tuple)):
        return ("items", tuple(sorted(value)))
    hash(value)  # anything else must be hashable as it is (else no reuse)
    return value


def _key(cert: Any, context: ValidationContext, key_usage_settings: Any) -> tuple[Any, ...]:
    if not dataclasses.is_dataclass(key_usage_settings):
        raise TypeError("unknown key-usage constraints")
    usage = tuple(
        (f.name, _frozen(getattr(key_usage_settings, f.name)))
        for f in dataclasses.fields(key_usage_settings)
    )
    registry = sorted(hashlib.sha256(c.dump()).digest() for c in context.certificate_registry)
    return (
        hashlib.sha256(cert.dump()).digest(),
        type(key_usage_settings),
        usage,
        tuple(registry),
    )


def _window(path: Any) -> tuple[dt.datetime, dt.datetime]:
    validity = [c["tbs_certificate"]["validity"] for c in path.iter_certs(include_root=True)]
    start: dt.datetime = max(v["not_before"].native for v in validity)
    end: dt.datetime = min(v["not_after"].native for v in validity)
    return start, end


async def validate_cert_usage(
    cert: Any,
    validation_context: ValidationContext,
    key_usage_settings: Any,
    paths: Any,
    pkix_validation_params: Any = None,
) -> Any:
    """``generic_cms.validate_cert_usage``, reusing kept successes (see the module)."""
    scope = _SCOPE.get()
    moment = validation_context.moment
    if (
        scope is None
        or scope[0] is not validation_context
        or pkix_validation_params is not None
        or type(paths) is not LazyPathIterator
        or moment is None
    ):
        return await _ORIGINAL(
            cert, validation_context, key_usage_settings, paths, pkix_validation_params
        )
    verdicts = scope[1]
    try:
        key = _key(cert, validation_context, key_usage_settings)
    except TypeError:  # constraints that cannot be a key: no reuse
        return await _ORIGINAL(
            cert, validation_context, key_usage_settings, paths, pkix_validation_params
        )
    known = verdicts.get(key)
    if known is not None and known[1] <= moment <= known[2]:
        await paths.cancel()
        return known[0]
    result = await _ORIGINAL(
        cert, validation_context, key_usage_settings, paths, pkix_validation_params
    )
    path = result.success_result
    if path is not None and result.error_subindic is None:
        start, end = _window(path)
        verdicts[key] = (result, start, end)
    return result


def install() -> None:
    """Let pyHanko's ``cms_basic_validation`` use ``validate_cert_usage`` (idempotent)."""
    generic_cms.validate_cert_usage = validate_cert_usage
