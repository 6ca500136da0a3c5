"""Archive renewal (gia hạn lưu trữ): keep every issued record's proof of existence alive."""

from __future__ import annotations

from prefect import flow

from hocbaso.workspace_lock import workspace_lock
from tasks.archive import issued_classes_task, renew_class_task
from tasks.common import publish_outcomes, services


@flow(name="gia-han-luu-tru", log_prints=True)
def gia_han_luu_tru(
    workspace: str,
    bien_do_ngay: int = 730,
    cach_toi_thieu_ngay: int = 30,
    ma_lop: str | None = None,
) -> int:
    """Add a document/archive timestamp to every issued record whose newest timestamp's
    certificate expires within ``bien_do_ngay`` days; class by class, audited
    (``ma_lop``: only that class)."""
    with workspace_lock(workspace, "luồng gia-han-luu-tru"), services(workspace, pki=True):
        classes = [ma_lop] if ma_lop else issued_classes_task(workspace)
        outcomes = [
            renew_class_task(workspace, lop, bien_do_ngay, cach_toi_thieu_ngay) for lop in classes
        ]
    publish_outcomes("gia-han-luu-tru", "Gia hạn lưu trữ học bạ", outcomes)
    total = sum(o.processed for o in outcomes)
    print(f"Đã gia hạn lưu trữ {total} học bạ (thêm một dấu thời gian cho mỗi học bạ đến hạn).")
    return total
