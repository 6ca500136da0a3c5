"""Certificate names prepared for comparison once per distinct text, with the same results.

Why: asn1crypto compares X.509 names (finding a signature's certificate by issuer and
serial, registering certificates, looking up trust anchors) by their RFC 4518
"prepared" form, computed in pure Python (``stringprep`` tables, one character at a
time) and cached only on the parsed object. Every record brings its certificates anew
(in each CMS signature, the XML, the DSS), so the registry's verifier prepared the same
few dozen names again for each record: several percent of its CPU.

``NameTypeAndValue._ldap_string_prep(self, string)`` reads nothing but ``string``; its
result for a given ``str`` is always the same, so it is kept per text (a bounded LRU).
A text it refuses (``ValueError``) is not kept: the original runs, and raises, every
time. Anything but a ``str`` goes to the original unchanged.
"""

from __future__ import annotations

import functools
from typing import Any

from asn1crypto import x509

_ORIGINAL = x509.NameTypeAndValue._ldap_string_prep


@functools.lru_cache(maxsize=4096)
def _prepared(string: str) -> str:
    result: str = _ORIGINAL(None, string)
    return result


def ldap_string_prep(self: Any, string: Any) -> Any:
    """``NameTypeAndValue._ldap_string_prep`` kept per text (see the module)."""
    if type(string) is not str:
        return _ORIGINAL(self, string)
    return _prepared(string)


def install() -> None:
    """Let asn1crypto's names use ``ldap_string_prep`` (idempotent)."""
    x509.NameTypeAndValue._ldap_string_prep = ldap_string_prep
