"""Whose certificate this is: the personal ID a Vietnamese signing certificate carries.

A signature is a person's legal act, so before anyone signs the pipeline checks that
the loaded certificate belongs to the person the record names (their 12-digit
personal ID, ``so_dinh_danh``), whatever channel the key comes from.
"""

from __future__ import annotations

from asn1crypto import x509 as asn1_x509

from hocbaso.errors import SigningError
from hocbaso.roster import Person
from hocbaso.signing.signers import Certified

_UID = "0.9.2342.19200300.100.1.1"


def certificate_personal_id(cert: asn1_x509.Certificate) -> str | None:
    """The 12-digit personal ID a Vietnamese signing certificate carries (UID=CCCD:...)."""
    for rdn in cert.subject.chosen:
        for attr in rdn:
            if attr["type"].dotted == _UID:
                value = str(attr["value"].native)
                return value.split(":", 1)[1] if ":" in value else value
    return None


def check_signer_is(signer: Certified, person: Person, role_vi: str) -> None:
    """Refuse a certificate that belongs to someone else than the expected signer."""
    found = certificate_personal_id(signer.certificate)
    if found is None or found != person.so_dinh_danh:
        raise SigningError(
            f"Chứng thư số đang dùng không phải của {role_vi} ({person.ma_giao_vien}): số định "
            "danh trong chứng thư không khớp với số định danh trong dữ liệu của trường.",
            hint="Cắm đúng thiết bị ký của người này hoặc sửa mục [chung_thu] trong school.toml.",
        )
