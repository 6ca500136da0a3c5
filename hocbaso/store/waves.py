"""The date of issue of each wave (đợt), kept in the store's ``thong_tin_kho``.

The main wave (16 May) prints the configured ``[nam_hoc] ngay_ky_phat_hanh``. The
summer wave (25 August) is issued later: its date is recorded when the principal's
decisions are imported (``hbs init --bo-sung``), and the records of that wave are
built with it, so an August record does not print the May date.
"""

from __future__ import annotations

import datetime as dt

from hocbaso.store.db import Store

_KEY = "ngay_ky_phat_hanh_bo_sung"


def set_summer_issue_date(store: Store, date: dt.date) -> None:
    """Record the summer wave's date of issue (replaces an earlier one)."""
    with store.transaction() as con:
        con.execute("INSERT OR REPLACE INTO thong_tin_kho VALUES (?, ?)", [_KEY, date.isoformat()])


def summer_issue_date(store: Store) -> dt.date | None:
    """The summer wave's date of issue, or ``None`` before the summer import."""
    with store.connect() as con:
        row = con.execute("SELECT gia_tri FROM thong_tin_kho WHERE khoa = ?", [_KEY]).fetchone()
    return dt.date.fromisoformat(row[0]) if row else None
