"""The fast hex-string reader gives pyHanko's own objects, positions and errors."""

from __future__ import annotations

import os
import random
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic

from hocbaso.signing import pdf_hex

_ALPHABET = b"0123456789abcdefABCDEF \n\r\t\f\x00%>x<"


def _outcome(read: Any, data: bytes, pos: int) -> tuple[Any, ...]:
    stream = BytesIO(data)
    stream.seek(pos)
    try:
        value = read(stream)
    except Exception as exc:  # the same error as pyHanko's, at the same position
        return ("error", type(exc), str(exc), stream.tell())
    return (
        "ok",
        type(value),
        bytes(value) if isinstance(value, bytes) else str(value),
        getattr(value, "autodetected_encoding", None),
        stream.tell(),
    )


def test_same_outcome_as_pyhanko_on_random_strings() -> None:
    rng = random.Random(10)
    for _ in range(20000):
        body = bytes(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12)))
        tail = bytes(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 3)))
        pre = b"x" * rng.randint(0, 2)
        data = pre + b"<" + body + (b">" if rng.random() < 0.7 else b"") + tail
        assert _outcome(pdf_hex.read_hex_string, data, len(pre)) == _outcome(
            pdf_hex._ORIGINAL, data, len(pre)
        ), data


def test_same_outcome_on_signature_sized_and_text_strings() -> None:
    cases = [
        b"<" + os.urandom(12000).hex().encode() + b">",
        b"<FEFF0041 00 42>",
        b"<feff00410>",
        b"<>",
        b"< >",
        b"<0>",
    ]
    for data in cases:
        assert _outcome(pdf_hex.read_hex_string, data, 0) == _outcome(pdf_hex._ORIGINAL, data, 0)


def test_installed_by_the_verifier() -> None:
    import hocbaso.signing.verify  # noqa: F401 - installs the reader

    assert generic.read_hex_string_from_stream is pdf_hex.read_hex_string
