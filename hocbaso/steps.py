"""What a step did to a batch: counts only, safe to log and publish."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StepOutcome:
    """One step over one class: how many records moved, and how long it took."""

    step: str
    ma_lop: str
    processed: int
    seconds: float
    skipped: int = 0  # records already past this step (a rerun continues where it stopped)
    rejected: int = 0  # records the registry refused (submit only)
    waiting: int = 0  # records not ready for this step (lock: waiting for the summer decision)

    def line_vi(self) -> str:
        extra = f", {self.skipped} đã xong từ trước" if self.skipped else ""
        if self.waiting:
            extra += f", {self.waiting} chờ đánh giá bổ sung trong hè hoặc quyết định lên lớp"
        if self.rejected:
            extra += (
                f", {self.rejected} bị CSDL từ chối (xem trang “Bị CSDL từ chối” của `hbs report`; "
                "sửa rồi Hiệu trưởng mở khóa lớp bằng `hbs unlock`)"
            )
        return f"Lớp {self.ma_lop}: {self.processed} học bạ{extra} ({self.seconds:.1f} giây)"


@dataclass(frozen=True)
class ClassFailure:
    """A class the step could not finish, and why (a Vietnamese message, no personal data)."""

    ma_lop: str
    reason: str


def summary_lines_vi(
    title: str,
    outcomes: Sequence[StepOutcome],
    failures: Sequence[ClassFailure] = (),
    not_tried: Sequence[str] = (),
) -> list[str]:
    """The step's closing summary: done, skipped and why, waiting, failed and why."""
    done = sum(o.processed for o in outcomes)
    lines = [f"Tóm tắt — {title}: xong {done} học bạ ở {len(outcomes)} lớp."]
    skipped = sum(o.skipped for o in outcomes)
    if skipped:
        lines.append(f"  - Bỏ qua {skipped} học bạ: đã xong bước này từ trước.")
    waiting = sum(o.waiting for o in outcomes)
    if waiting:
        lines.append(
            f"  - Đang chờ {waiting} học bạ: học sinh chờ đánh giá bổ sung trong hè hoặc chờ "
            "Hiệu trưởng quyết định (xem `hbs report`, trang “Đánh giá bổ sung”)."
        )
    rejected = sum(o.rejected for o in outcomes)
    if rejected:
        lines.append(
            f"  - CSDL từ chối {rejected} học bạ: xem lý do trong `hbs report` (trang “Bị CSDL "
            "từ chối”), sửa, rồi Hiệu trưởng mở khóa lớp (`hbs unlock`) và làm lại các bước."
        )
    for f in failures:
        lines.append(f"  - Lớp {f.ma_lop} chưa xong: {f.reason}")
    if not_tried:
        lines.append(
            f"  - Chưa thử {len(not_tried)} lớp ({', '.join(not_tried)}): xem lý do ở trên; "
            "chạy lại lệnh để tiếp tục."
        )
    return lines
