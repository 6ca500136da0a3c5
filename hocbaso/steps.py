"""What a step did to a batch: counts only, safe to log and publish."""

from __future__ import annotations

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

    def line_vi(self) -> str:
        extra = f", {self.skipped} đã xong từ trước" if self.skipped else ""
        if self.rejected:
            extra += (
                f", {self.rejected} bị CSDL từ chối (xem cột ma_loi trong v_hoc_ba; sửa rồi "
                "Hiệu trưởng mở khóa lớp bằng `hbs unlock`)"
            )
        return f"Lớp {self.ma_lop}: {self.processed} học bạ{extra} ({self.seconds:.1f} giây)"
