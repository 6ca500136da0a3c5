"""A fast reader of PDF hex strings for pyHanko's parser, with the same results.

Why: pyHanko reads a hex string (``<0a1b...>``) one byte at a time in pure Python, two
generator steps and a whitespace loop per digit. A signature's ``/Contents`` is such a
string of 16,000 to 24,000 digits, so listing the four signatures of an issued record
(``reader.embedded_signatures``) cost 45-60 ms of a verification's ~120 ms, for bytes a
single ``bytes.fromhex`` decodes in microseconds.

The fast path is taken only when the outcome is certain to be pyHanko's own: the
stream is an in-memory ``BytesIO`` (what every reader of ours gets, and what pyHanko
uses for decoded object streams), and everything between the opening ``<`` and the
first ``>`` is hex digits and PDF whitespace (no comment, no stray byte, not the end of
the data). Then pyHanko would have produced exactly the digits without the whitespace,
padded with ``0`` when odd, and left the stream just after the ``>``. In every other
case (malformed strings included, whose error pyHanko raises) the original function
runs from the same position, so errors and messages are unchanged.
"""

from __future__ import annotations

import binascii
import re
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

_ORIGINAL = generic.read_hex_string_from_stream
_WHITESPACE = bytes(PDF_WHITESPACE)
_CLEAN = re.compile(rb"[0-9A-Fa-f" + re.escape(_WHITESPACE) + rb"]*")


def read_hex_string(stream: Any) -> Any:
    """``generic.read_hex_string_from_stream`` with a fast path (see the module)."""
    if type(stream) is not BytesIO:
        return _ORIGINAL(stream)
    start = stream.tell()
    # Without a copy: a BytesIO built from bytes shares them until written to.
    data = stream.getvalue()
    end = data.find(b">", start + 1)
    segment = data[start + 1 : end] if end > start else None
    if segment is None or _CLEAN.fullmatch(segment) is None:
        return _ORIGINAL(stream)
    digits = segment.translate(None, _WHITESPACE)
    if len(digits) % 2:
        digits += b"0"
    stream.seek(end + 1)
    return generic.pdf_string(binascii.unhexlify(digits))


def install() -> None:
    """Let pyHanko's object reader use ``read_hex_string`` (idempotent).

    ``generic.read_object`` looks the function up in its module at each call, so
    replacing the module attribute is enough.
    """
    generic.read_hex_string_from_stream = read_hex_string
