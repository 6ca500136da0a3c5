"""What the terminal says when a command has nothing to do, or names a class that is not there.

A step that finds no record waiting for it must not end in silence: the working
group is told what state the records are in and which command comes first
("Chưa có lớp nào GVCN đã ký: chạy `hbs sign --role gvcn` trước"). Class codes are
matched without regard to case (``--class 3a`` is class 3A); an unknown class is an
error that lists the classes. Plain functions over the store; counts only.
"""

from __future__ import annotations

from collections import Counter

from hocbaso.errors import HocBaSoError
from hocbaso.model import TrangThai as S
from hocbaso.states import STATE_NAMES_VI, Step
from hocbaso.store import Store, classes, current_records

#: The plan's order of the states, and the command that moves a record on from each.
NEXT_COMMAND: dict[S, str] = {
    S.DRAFT: "hbs lock",
    S.LOCKED: "hbs sign --role gvcn",
    S.SIGNED_GVCN: "hbs sign --role ht",
    S.SIGNED_HT: "hbs stamp",
    S.SEALED: "hbs submit",
    S.SUBMITTED: "hbs submit",
    S.REJECTED: 'hbs unlock --class <lớp> --reason "…"',
}
_RANK = {state: n for n, state in enumerate(S)}


def resolve_class(store: Store, ma_lop: str | None) -> str | None:
    """The school's own spelling of ``ma_lop`` (case-insensitive), or an error listing them."""
    if ma_lop is None:
        return None
    known = [c.ma_lop for c in classes(store)]
    wanted = ma_lop.strip().casefold()
    for code in known:
        if code.casefold() == wanted:
            return code
    listed = ", ".join(known) if known else "(chưa có lớp nào: chạy `hbs init` trước)"
    raise HocBaSoError(
        f"Không có lớp “{ma_lop}” trong dữ liệu của trường.",
        hint=f"Các lớp hiện có: {listed}. Dùng --class với một trong các mã này.",
    )


def _counts_vi(counts: Counter[S]) -> str:
    return ", ".join(
        f"{n} {STATE_NAMES_VI[state]}"
        for state, n in sorted(counts.items(), key=lambda i: _RANK[i[0]])
    )


def nothing_waiting(store: Store, step: Step, ma_lop: str | None = None) -> list[str]:
    """Why no class waits for ``step``, and what to run first (Vietnamese lines)."""
    where = f" ở lớp {ma_lop}" if ma_lop else ""
    counts: Counter[S] = Counter(r.trang_thai for r in current_records(store, ma_lop=ma_lop))
    lines = [f"Không có việc gì để làm: không có học bạ nào{where} chờ {step.name_vi}."]
    if not counts:
        lines.append("Chưa có học bạ nào: chạy `hbs init --source <tệp dữ liệu>` trước.")
        return lines
    lines.append(f"Hiện có: {_counts_vi(counts)}.")
    first_taken = min(step.takes, key=_RANK.__getitem__)
    before = [s for s in counts if _RANK[s] < _RANK[first_taken] and s in NEXT_COMMAND]
    if before:
        earliest = min(before, key=_RANK.__getitem__)
        who = f"Lớp {ma_lop} chưa có học bạ nào" if ma_lop else "Chưa có lớp nào"
        lines.append(f"{who} {STATE_NAMES_VI[first_taken]}: chạy `{NEXT_COMMAND[earliest]}` trước.")
    else:
        ahead = [s for s in counts if s in NEXT_COMMAND and s not in step.takes]
        if ahead:
            nxt = min(ahead, key=_RANK.__getitem__)
            lines.append(
                f"Các học bạ{where} đã qua bước này; bước tiếp theo: `{NEXT_COMMAND[nxt]}`."
            )
        else:
            lines.append(f"Các học bạ{where} đã qua bước này.")
    return lines
