"""The principal's approval (duyệt) of a class before signing it as HT.

The school's plan: "GV kí học bạ, HT duyệt, đ/c Liên đóng dấu". The approval covers
exactly the records it saw: its fingerprint is the SHA-256 of the class's records
waiting for the principal (``ma_hoc_ba:sha256`` of each), so a class unlocked and
signed again needs a new approval. The answer comes from the Prefect UI (the run
pauses with a form, ``flows.steps``), from `hbs duyet`, or in advance from
``school.toml`` (``[duyet] duyet_truoc = true``: the demo and deadline runs); every
approval is an audit event that names where it came from. Returning a class goes
back to draft through the principal's audited unlock (``hocbaso.lifecycle``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from hocbaso.errors import SigningError
from hocbaso.resources import Resources
from hocbaso.states import SIGN_HT
from hocbaso.store import current_records
from hocbaso.store.audit import append_events

Source = Literal["giao_dien", "dong_lenh", "school.toml"]
SOURCE_VI = {
    "giao_dien": "biểu mẫu trên giao diện Prefect",
    "dong_lenh": "lệnh `hbs duyet`",
    "school.toml": "duyệt trước trong school.toml ([duyet] duyet_truoc = true)",
}


class ApprovalNeeded(SigningError):
    """The principal has not approved the class's records yet."""


def fingerprint(res: Resources, ma_lop: str) -> tuple[str, int]:
    """(fingerprint, count) of the class's records waiting for the principal."""
    records = current_records(res.store, states=SIGN_HT.takes, ma_lop=ma_lop)
    body = "\n".join(sorted(f"{r.ma_hoc_ba}:{r.sha256}" for r in records))
    return hashlib.sha256(body.encode()).hexdigest(), len(records)


def is_approved(res: Resources, ma_lop: str) -> bool:
    """Whether the principal approved exactly the records now waiting for them."""
    mark, count = fingerprint(res, ma_lop)
    if count == 0:
        return True
    with res.store.connect() as con:
        row = con.execute(
            "SELECT ket_qua FROM duyet_lop WHERE ma_lop = $1 AND dau_van_tay = $2 "
            "ORDER BY thoi_diem DESC LIMIT 1",
            [ma_lop, mark],
        ).fetchone()
    return row is not None and row[0] == "duyet"


def approve(res: Resources, ma_lop: str, source: Source) -> int:
    """Record the principal's approval of the class's waiting records; audited."""
    mark, count = fingerprint(res, ma_lop)
    now = dt.datetime.now(dt.UTC)
    with res.store.transaction() as con:
        con.execute(
            "INSERT INTO duyet_lop VALUES ($1, $2, 'duyet', NULL, $3, $4)",
            [ma_lop, mark, source, now],
        )
        append_events(
            con,
            SIGN_HT.actor,
            "duyet_lop",
            [
                (
                    None,
                    {
                        "ma_lop": ma_lop,
                        "so_hoc_ba": count,
                        "dau_van_tay": mark,
                        "nguon": source,
                        "ghi_chu": SOURCE_VI[source],
                    },
                )
            ],
        )
    return count


def return_class(res: Resources, ma_lop: str, ly_do: str, source: Source) -> int:
    """The principal returns the class: back to draft (audited unlock) with the reason."""
    from hocbaso.lifecycle import unlock_class

    mark, _ = fingerprint(res, ma_lop)
    count = unlock_class(res, ma_lop, ly_do)
    with res.store.transaction() as con:
        con.execute(
            "INSERT INTO duyet_lop VALUES ($1, $2, 'tra_lai', $3, $4, $5)",
            [ma_lop, mark, ly_do, source, dt.datetime.now(dt.UTC)],
        )
        append_events(
            con,
            SIGN_HT.actor,
            "tra_lai_lop",
            [(None, {"ma_lop": ma_lop, "so_hoc_ba": count, "ly_do": ly_do, "nguon": source})],
        )
    return count


def require_approval(res: Resources, ma_lop: str) -> None:
    """Before HT signs: approved, or approved in advance by school.toml (audited), or refuse."""
    if is_approved(res, ma_lop):
        return
    if res.config.duyet.duyet_truoc:
        approve(res, ma_lop, "school.toml")
        return
    raise ApprovalNeeded(
        f"Hiệu trưởng chưa duyệt học bạ lớp {ma_lop} nên chưa ký được.",
        hint=f"Duyệt trên giao diện Prefect (lần chạy đang chờ) hoặc chạy `hbs duyet --class "
        f'{ma_lop}`; trả lại lớp: `hbs duyet --class {ma_lop} --tra-lai --reason "..."`.',
    )
