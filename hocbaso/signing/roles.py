"""Who signs a record, in which order, and the one rule that order follows.

GVCN (homeroom teacher), then HT (principal or deputy), then the school's seal
(con dấu) with a timestamp. Both the XML and the PDF follow the same rule, so it
lives here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from hocbaso.errors import SigningError

Role = Literal["gvcn", "ht", "condau"]
ROLES: tuple[Role, ...] = ("gvcn", "ht", "condau")
ROLE_NAMES: dict[Role, str] = {
    "gvcn": "Giáo viên chủ nhiệm",
    "ht": "Hiệu trưởng",
    "condau": "Con dấu của nhà trường",
}
# The key under which the school's seal is known among the signers (people are known
# by their ma_giao_vien); the demo PKI names the seal's identity the same way.
SEAL = "con-dau"


def check_role(role: str) -> Role:
    """``role`` as a Role, or a Vietnamese SigningError."""
    for known in ROLES:
        if role == known:
            return known
    raise SigningError(
        f"Vai trò ký '{role}' không hợp lệ.", hint="Dùng một trong: gvcn, ht, condau."
    )


def check_order(present: Sequence[str | None], role: Role, document: str) -> None:
    """Refuse to sign twice or out of order; ``present`` lists roles already signed, in order.

    ``document`` names what is being signed in the message ("học bạ XML", "bản PDF").
    """
    before = list(ROLES[: ROLES.index(role)])
    if role in present:
        subject = document[:1].upper() + document[1:]
        raise SigningError(
            f"{subject} đã có chữ ký {ROLE_NAMES[role]}; không ký lại lần thứ hai.",
            hint="Nếu cần sửa học bạ, hãy mở khoá (trước khi đóng dấu) "
            "hoặc thu hồi và phát hành lại.",
        )
    if list(present) != before:
        missing = [ROLE_NAMES[r] for r in before if r not in present]
        what = ", ".join(missing) if missing else "thứ tự các chữ ký hiện có không đúng"
        raise SigningError(
            f"Chưa thể ký {document} ({ROLE_NAMES[role]}): thiếu chữ ký trước ({what}).",
            hint="Thứ tự ký là giáo viên chủ nhiệm, hiệu trưởng, rồi đóng dấu của nhà trường.",
        )
