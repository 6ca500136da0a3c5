"""Flows of the principal's decisions (unlock, revoke) and of the paper copy (in ấn)."""

from __future__ import annotations

from prefect import flow

from hocbaso.workspace_lock import workspace_lock
from tasks.common import flow_run_name
from tasks.lifecycle import print_task, revoke_task, unlock_task


@flow(name="mo-khoa", log_prints=True, flow_run_name=flow_run_name("mo-khoa"))
def mo_khoa(workspace: str, ma_lop: str, ly_do: str) -> int:
    """Unlock a class before the seal (principal only, with a reason; audited)."""
    with workspace_lock(workspace, "luồng mo-khoa"):
        n = unlock_task(workspace, ma_lop, ly_do)
    print(f"Đã mở khóa {n} học bạ của lớp {ma_lop}; chạy `hbs lock` sau khi sửa dữ liệu.")
    return n


@flow(name="thu-hoi", log_prints=True, flow_run_name=flow_run_name("thu-hoi"))
def thu_hoi(workspace: str, ma_hoc_ba: str, ly_do: str) -> str:
    """Revoke an issued record; its corrected version is a new draft to lock and sign."""
    with workspace_lock(workspace, "luồng thu-hoi"):
        new_id = revoke_task(workspace, ma_hoc_ba, ly_do)
    print(f"Đã thu hồi học bạ {ma_hoc_ba}; phiên bản mới {new_id} chờ chốt, ký và nộp lại.")
    return new_id


@flow(name="in-ban-giay", log_prints=True, flow_run_name=flow_run_name("in-ban-giay"))
def in_ban_giay(workspace: str, ma_lop: str, out: str) -> int:
    """Print the paper copy of a class's issued records (lookup code and QR on each page)."""
    with workspace_lock(workspace, "luồng in-ban-giay"):
        n = print_task(workspace, ma_lop, out)
    print(f"Bản giấy lớp {ma_lop}: {n} học bạ trong {out}")
    return n
