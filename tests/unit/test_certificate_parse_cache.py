"""Certificates of a record's XML parsed once per distinct DER (``verify._certificate``):
the same object for the same bytes, another for other bytes, malformed bytes refused
every time."""

from __future__ import annotations

import pytest

from hocbaso.signing import RecordSigner
from hocbaso.signing.verify import _certificate


def test_one_object_per_distinct_der(gvcn_signer: RecordSigner, ht_signer: RecordSigner) -> None:
    der = gvcn_signer.certificate.dump()
    first = _certificate(bytes(der))
    assert _certificate(bytes(der)) is first  # equal bytes, another bytes object
    assert first.dump() == der
    other = _certificate(ht_signer.certificate.dump())
    assert other is not first and other.dump() != der


def test_malformed_der_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            _certificate(b"\x30\x03\x02\x01")  # truncated
