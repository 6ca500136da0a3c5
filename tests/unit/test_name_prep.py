"""Certificate names prepared once per text (``name_prep``): the same prepared form and
the same refusals as asn1crypto's own preparation, and names still compare as before."""

from __future__ import annotations

import pytest
from asn1crypto import x509

from hocbaso.signing import name_prep

TEXTS = [
    "Trường Tiểu học Kim Đồng",
    "Nguyễn Thị  Hoa",  # two spaces: insignificant-space handling
    "TRẦN VĂN MINH",
    "Tr\u0300u\u0301o\u0323ng",  # combining marks: NFKC
    "a\u00adb\u200bc",  # mapped to nothing
    "\tx\u00a0y ",
    "",
    "CA gốc Bộ Giáo dục",
]
REFUSED = ["private \ue000 use", "bad \ufffd char", "\u05d0abc"]


def test_installed_by_the_verifier() -> None:
    import hocbaso.signing.verify  # noqa: F401  (installs it)

    assert x509.NameTypeAndValue._ldap_string_prep is name_prep.ldap_string_prep


@pytest.mark.parametrize("text", TEXTS)
def test_same_prepared_form(text: str) -> None:
    original = name_prep._ORIGINAL(x509.NameTypeAndValue(), text)
    assert name_prep.ldap_string_prep(None, text) == original
    assert name_prep.ldap_string_prep(None, text) == original  # from the kept form


@pytest.mark.parametrize("text", REFUSED)
def test_same_refusal_every_time(text: str) -> None:
    with pytest.raises(ValueError) as expected:
        name_prep._ORIGINAL(x509.NameTypeAndValue(), text)
    for _ in range(2):
        with pytest.raises(ValueError) as got:
            name_prep.ldap_string_prep(None, text)
        assert str(got.value) == str(expected.value)


def test_names_compare_as_before() -> None:
    name_prep.install()

    def name(cn: str) -> x509.Name:
        return x509.Name.build({"common_name": cn, "organization_name": "Trường Kim Đồng"})

    assert name("Nguyễn  Thị Hoa") == name("nguyễn thị hoa")
    assert name("Nguyễn Thị Hoa") != name("Nguyễn Thị Hòa")
    assert name("Nguyễn Thị Hoa").hashable == name("NGUYỄN THỊ HOA").hashable
