"""Readers of the school's own tables that steps need as values: staff and classes.

Why here: the roster (who signs what) needs the staff and each class's homeroom
teacher; reading them is the store's job, so no SQL lives in ``hocbaso.roster``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hocbaso.store.db import Store


@dataclass(frozen=True, slots=True)
class StaffMember:
    """One row of ``giao_vien``."""

    ma_giao_vien: str
    ho_ten: str
    so_dinh_danh: str | None
    chuc_vu: str | None


@dataclass(frozen=True, slots=True)
class SchoolClass:
    """One row of ``lop``."""

    ma_lop: str
    khoi: int
    ma_gvcn: str | None


def staff(store: Store) -> list[StaffMember]:
    """Every member of staff, by ``ma_giao_vien``."""
    with store.connect() as con:
        rows = con.execute(
            "SELECT ma_giao_vien, ho_ten, so_dinh_danh, chuc_vu FROM giao_vien "
            "ORDER BY ma_giao_vien"
        ).fetchall()
    return [StaffMember(*row) for row in rows]


def classes(store: Store) -> list[SchoolClass]:
    """Every class, by ``ma_lop``."""
    with store.connect() as con:
        rows = con.execute("SELECT ma_lop, khoi, ma_gvcn FROM lop ORDER BY ma_lop").fetchall()
    return [SchoolClass(*row) for row in rows]
