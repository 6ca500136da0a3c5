"""The steps of the school's plan (kế hoạch triển khai), one flow each.

Each flow reads like the plan: which batches, which step, what is published.
The work is in ``tasks/`` (thin) and ``hocbaso/`` (the logic).
"""

from __future__ import annotations

from prefect import flow

from hocbaso.signing import Role
from hocbaso.states import LOCK, SIGN_STEPS, SUBMIT
from hocbaso.steps import StepOutcome
from hocbaso.store import ImportSummary
from hocbaso.workspace_lock import workspace_lock
from tasks.common import publish_outcomes, services
from tasks.configure import configure_task
from tasks.initialize import compute_results_task, gate_task, load_store_task, read_source_task
from tasks.records import (
    classes_waiting_task,
    lock_class_task,
    lock_step,
    sign_class_task,
    submit_class_task,
)
from tasks.report import report_task


@flow(name="khoi-tao-du-lieu", log_prints=True)
def khoi_tao_du_lieu(workspace: str, source: str, csdl_nganh: str | None = None) -> ImportSummary:
    """Initialize: read the school's file, check it through every gate (and against the
    sector database's export when given), load the store."""
    with workspace_lock(workspace, "luồng khoi-tao-du-lieu"):
        raw = read_source_task(source)
        data = gate_task(workspace, raw, csdl_nganh)
        results = compute_results_task(data)
        summary = load_store_task(workspace, data, results, raw)
    for line in summary.lines_vi():
        print(line)
    return summary


@flow(name="cau-hinh", log_prints=True)
def cau_hinh(workspace: str) -> dict[str, int | str]:
    """Configure: who signs which class, the principal, the seal, their certificates."""
    with workspace_lock(workspace, "luồng cau-hinh"):
        return configure_task(workspace)


@flow(name="chot-du-lieu", log_prints=True)
def chot_du_lieu(workspace: str, ma_lop: str | None = None) -> list[StepOutcome]:
    """Lock: build each class's records, validate them, render them, freeze them.

    The classes are computed side by side on the machine's cores; each is frozen in
    its own transaction, in class order."""
    with workspace_lock(workspace, "luồng chot-du-lieu"):
        drafts = classes_waiting_task(workspace, LOCK.name, ma_lop)
        with lock_step(workspace, drafts) as step:
            outcomes = [lock_class_task(workspace, c, step) for c in drafts]
    publish_outcomes("chot-du-lieu", "Chốt dữ liệu", outcomes)
    return outcomes


@flow(name="ky-hoc-ba", log_prints=True)
def ky_hoc_ba(workspace: str, role: Role, ma_lop: str | None = None) -> list[StepOutcome]:
    """Sign: the homeroom teacher of each class (role gvcn), then the principal (role ht)."""
    with workspace_lock(workspace, f"luồng ky-hoc-ba ({role})"), services(workspace, pki=True):
        outcomes = [
            sign_class_task(workspace, c, role)
            for c in classes_waiting_task(workspace, SIGN_STEPS[role].name, ma_lop)
        ]
    publish_outcomes(f"ky-{role}", f"Ký học bạ ({role.upper()})", outcomes)
    return outcomes


@flow(name="dong-dau", log_prints=True)
def dong_dau(workspace: str, ma_lop: str | None = None) -> list[StepOutcome]:
    """Stamp: the school's organisational seal and a trusted timestamp on every record."""
    with workspace_lock(workspace, "luồng dong-dau"), services(workspace, pki=True):
        outcomes = [
            sign_class_task(workspace, c, "condau")
            for c in classes_waiting_task(workspace, SIGN_STEPS["condau"].name, ma_lop)
        ]
    publish_outcomes("dong-dau", "Đóng dấu và gắn dấu thời gian", outcomes)
    return outcomes


@flow(name="nop-csdl-hoc-ba-so", log_prints=True)
def nop_hoc_ba(workspace: str, ma_lop: str | None = None) -> list[StepOutcome]:
    """Submit: send sealed records to CSDL Học bạ số and keep each receipt (mã tra cứu).

    Records the registry refuses are counted per class and wait for the principal's
    unlock; a rerun does not send them again."""
    with workspace_lock(workspace, "luồng nop-csdl-hoc-ba-so"), services(workspace, registry=True):
        outcomes = [
            submit_class_task(workspace, c)
            for c in classes_waiting_task(workspace, SUBMIT.name, ma_lop)
        ]
    publish_outcomes("nop-hoc-ba", "Nộp CSDL Học bạ số", outcomes)
    return outcomes


@flow(name="bao-cao-thong-ke", log_prints=True)
def bao_cao(workspace: str) -> str:
    """Report: results per grade and progress per class, as artifacts and a workbook."""
    with workspace_lock(workspace, "luồng bao-cao-thong-ke"):
        path = report_task(workspace)
    print(f"Báo cáo thống kê: {path}")
    return str(path)
