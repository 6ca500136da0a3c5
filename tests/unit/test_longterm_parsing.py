"""The shortcuts of ``hocbaso.signing.longterm`` when it reads tokens and signatures."""

from __future__ import annotations

from typing import Any

from asn1crypto import cms, core, x509

from hocbaso.signing.longterm import _attributes, _same_name


def _name(kind: str) -> x509.Name:
    """``CN=Truong Tieu hoc`` with its value as a PrintableString or a UTF8String."""
    value = x509.DirectoryString(name=kind, value="Truong Tieu hoc")
    attribute = x509.NameTypeAndValue({"type": "common_name", "value": value})
    return x509.Name.load(
        x509.Name(name="", value=x509.RDNSequence([[attribute]])).dump(), strict=True
    )


def test_same_name_as_asn1crypto_compares() -> None:
    printable, utf8 = _name("printable_string"), _name("utf8_string")
    assert printable.dump() != utf8.dump()
    assert _same_name(printable, _name("printable_string"))
    assert _same_name(printable, utf8) == (printable == utf8) is True  # normalised match
    other = x509.Name.build({"common_name": "Truong khac"})
    assert not _same_name(printable, other)


def test_absent_unsigned_attributes_read_as_none() -> None:
    info = cms.SignerInfo({"version": "v1"})
    assert isinstance(info["unsigned_attrs"], core.Void)
    assert list(_attributes(info["unsigned_attrs"])) == []
    attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute(
                {
                    "type": "signing_time",
                    "values": [cms.Time({"utc_time": core.UTCTime("260101000000Z")})],
                }
            )
        ]
    )
    assert [a["type"].native for a in _attributes(attrs)] == ["signing_time"]


def test_tsa_paths_are_kept_for_their_context_only() -> None:
    import asyncio
    from types import SimpleNamespace

    from hocbaso.signing.longterm import _tsa_paths

    calls: list[object] = []

    class Stamper:
        async def validation_paths(self, context: object) -> Any:
            calls.append(context)
            yield f"path in {context}"

    session = SimpleNamespace(cache={})
    first, second = "context 1", "context 2"

    async def run() -> list[list[Any]]:
        stamper = Stamper()
        return [
            await _tsa_paths(session, c, stamper)  # type: ignore[arg-type]
            for c in (first, first, second, first)
        ]

    got = asyncio.run(run())
    assert got == [["path in context 1"]] * 2 + [["path in context 2"], ["path in context 1"]]
    # Reused for the same context only; one slot: back to the first, computed again.
    assert calls == [first, second, first]
