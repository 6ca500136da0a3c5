"""pyHanko's certificate verdicts kept by the registry (``usage_verdicts``): a success is
reused only in the caller's context, for the same certificate, constraints and known
certificates, inside its path's validity; a failure is never reused."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from pyhanko.sign.validation import generic_cms
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from hocbaso.signing import RecordSigner, usage_verdicts
from hocbaso.signing.trust import TrustSettings
from hocbaso.signing.usage_verdicts import UsageVerdicts, keep_verdicts


@dataclass
class _Path:
    certs: list[Any]

    def iter_certs(self, include_root: bool) -> Any:
        return iter(self.certs)


@dataclass
class _Result:
    success_result: Any
    error_subindic: Any = None


class _Original:
    """Stands for pyHanko's function: counts its calls, answers ``answer``."""

    def __init__(self, answer: _Result) -> None:
        self.answer, self.calls = answer, 0

    async def __call__(self, *args: Any) -> _Result:
        self.calls += 1
        return self.answer


@pytest.fixture()
def context(demo_trust: TrustSettings) -> ValidationContext:
    return demo_trust.validation_context()


def run(context: ValidationContext, cert: Any, usage: KeyUsageConstraints | None = None) -> Any:
    paths = context.path_builder.async_build_paths_lazy(cert)
    usage = usage or KeyUsageConstraints(key_usage={"non_repudiation"})
    return asyncio.run(
        usage_verdicts.validate_cert_usage(cert, context, key_usage_settings=usage, paths=paths)
    )


def test_installed_as_pyhankos_function() -> None:
    import hocbaso.demo.registry.verifier  # noqa: F401  (installs it)

    assert generic_cms.validate_cert_usage is usage_verdicts.validate_cert_usage


def test_a_success_is_reused_only_in_scope_and_context(
    monkeypatch: pytest.MonkeyPatch, context: ValidationContext, demo_trust: TrustSettings
) -> None:
    root = demo_trust.roots[0]
    original = _Original(_Result(_Path([root])))
    monkeypatch.setattr(usage_verdicts, "_ORIGINAL", original)
    run(context, root)
    run(context, root)
    assert original.calls == 2  # outside a scope: never kept
    verdicts: UsageVerdicts = {}
    with keep_verdicts(context, verdicts):
        first = run(context, root)
        assert run(context, root) is first and original.calls == 3  # reused
        other = demo_trust.validation_context()
        run(other, root)  # another context: not this scope's
        assert original.calls == 4
        run(context, root, KeyUsageConstraints(extd_key_usage={"time_stamping"}))
        assert original.calls == 5  # other constraints: another key
    assert len(verdicts) == 2


def test_new_known_certificates_make_another_key(
    monkeypatch: pytest.MonkeyPatch,
    context: ValidationContext,
    demo_trust: TrustSettings,
    gvcn_signer: RecordSigner,
) -> None:
    root = demo_trust.roots[0]
    original = _Original(_Result(_Path([root])))
    monkeypatch.setattr(usage_verdicts, "_ORIGINAL", original)
    with keep_verdicts(context, {}):
        run(context, root)
        context.certificate_registry.register(gvcn_signer.certificate)
        run(context, root)
    assert original.calls == 2


def test_a_failure_is_never_kept(
    monkeypatch: pytest.MonkeyPatch, context: ValidationContext, demo_trust: TrustSettings
) -> None:
    root = demo_trust.roots[0]
    original = _Original(_Result(None, error_subindic="REVOKED"))
    monkeypatch.setattr(usage_verdicts, "_ORIGINAL", original)
    verdicts: UsageVerdicts = {}
    with keep_verdicts(context, verdicts):
        assert run(context, root).error_subindic == "REVOKED"
        assert run(context, root).error_subindic == "REVOKED"
    assert original.calls == 2 and verdicts == {}


def test_a_success_is_not_reused_outside_its_paths_validity(
    monkeypatch: pytest.MonkeyPatch, demo_trust: TrustSettings
) -> None:
    root = demo_trust.roots[0]
    original = _Original(_Result(_Path([root])))
    monkeypatch.setattr(usage_verdicts, "_ORIGINAL", original)
    verdicts: UsageVerdicts = {}
    now = demo_trust.validation_context()
    with keep_verdicts(now, verdicts):
        run(now, root)
    end = root["tbs_certificate"]["validity"]["not_after"].native
    options = demo_trust.context_options(moment=end + dt.timedelta(days=1))
    later = ValidationContext(**options)
    with keep_verdicts(later, verdicts):
        run(later, root)  # same key, but after the root's end: validated again
    assert original.calls == 2
