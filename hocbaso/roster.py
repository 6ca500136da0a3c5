"""Who signs what: the homeroom teacher of each class, the principal, the seal holder.

The import's `lop.ma_gvcn` names each class's homeroom teacher; `school.toml`
may override it per class (``[gvcn]``) and names the signing manager and the
seal holder (``[ky]``). Everyone who signs must exist among the staff with a
12-digit personal ID, because the record carries it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hocbaso.config import SchoolConfig
from hocbaso.errors import ConfigurationError
from hocbaso.store import Store, classes, staff

_ID = re.compile(r"^\d{12}$")
MANAGER_TITLES = ("Hiệu trưởng", "Phó hiệu trưởng")


@dataclass(frozen=True)
class Person:
    """A member of staff who signs."""

    ma_giao_vien: str
    ho_ten: str
    so_dinh_danh: str
    chuc_vu: str


@dataclass(frozen=True)
class Roster:
    """Signers of the school year."""

    gvcn: dict[str, Person]  # class -> homeroom teacher
    hieu_truong: Person
    giu_dau: Person

    def people(self) -> dict[str, Person]:
        """Every distinct signer by ma_giao_vien."""
        everyone = {p.ma_giao_vien: p for p in self.gvcn.values()}
        everyone[self.hieu_truong.ma_giao_vien] = self.hieu_truong
        everyone[self.giu_dau.ma_giao_vien] = self.giu_dau
        return everyone


def load_roster(store: Store, config: SchoolConfig) -> Roster:
    """Resolve the signers and check them; every problem in one message."""
    people = {
        s.ma_giao_vien: Person(s.ma_giao_vien, s.ho_ten, s.so_dinh_danh or "", s.chuc_vu or "")
        for s in staff(store)
    }
    gvcn_of = {c.ma_lop: c.ma_gvcn for c in classes(store)}
    problems: list[str] = []

    def person(code: str, what: str) -> Person | None:
        p = people.get(code)
        if p is None:
            problems.append(f"{what}: mã giáo viên {code} không có trong bảng giao_vien.")
        elif not _ID.match(p.so_dinh_danh):
            problems.append(f"{what} ({code}) chưa có số định danh cá nhân 12 chữ số.")
        return p

    for ma_lop in config.gvcn:
        if ma_lop not in gvcn_of:
            problems.append(
                f"Mục [gvcn] của school.toml nêu lớp {ma_lop} nhưng lớp này không có "
                "trong dữ liệu đã nạp."
            )
    gvcn: dict[str, Person] = {}
    for ma_lop, ma_gvcn in sorted(gvcn_of.items()):
        code = config.gvcn.get(ma_lop, ma_gvcn or "")
        p = person(code, f"GVCN lớp {ma_lop}")
        if p is not None:
            gvcn[ma_lop] = p
    ht = person(config.ky.hieu_truong, "Người ký Hiệu trưởng (mục [ky] hieu_truong)")
    if ht is not None and ht.chuc_vu not in MANAGER_TITLES:
        problems.append(
            f"Người ký ở mục [ky] hieu_truong ({ht.ma_giao_vien}) có chức vụ “{ht.chuc_vu}”, "
            "không phải Hiệu trưởng hay Phó hiệu trưởng."
        )
    seal = people.get(config.ky.giu_dau)
    if seal is None:
        problems.append(
            f"Người giữ con dấu (mục [ky] giu_dau = {config.ky.giu_dau}) không có "
            "trong bảng giao_vien."
        )
    if problems or ht is None or seal is None:
        raise ConfigurationError(
            "Danh sách người ký chưa đúng:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="Sửa school.toml hoặc bảng giao_vien/lop trong tệp dữ liệu rồi chạy lại.",
        )
    return Roster(gvcn=gvcn, hieu_truong=ht, giu_dau=seal)
