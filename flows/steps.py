"""The steps of the school's plan (kế hoạch triển khai), one flow each.

Each flow reads like the plan: which batches, which step, what is published.
The work is in ``tasks/`` (thin) and ``hocbaso/`` (the logic).
"""

from __future__ import annotations

from prefect import flow

from hocbaso.errors import RegistryUnavailable
from hocbaso.signing import Role
from hocbaso.states import LOCK, SIGN_STEPS, SUBMIT
from hocbaso.steps import ClassFailure, StepOutcome
from hocbaso.store import ImportSummary
from hocbaso.workspace_lock import workspace_lock
from tasks.common import each_class, flow_run_name, publish_outcomes, services
from tasks.configure import configure_task
from tasks.initialize import (
    compute_results_task,
    gate_task,
    load_store_task,
    read_source_task,
    summer_wave_task,
)
from tasks.records import (
    CLASS_RETRY_BUDGET_S,
    PROBE_RETRY_BUDGET_S,
    classes_waiting_task,
    lock_class_task,
    sign_class_task,
    submit_class_task,
)
from tasks.report import report_task


@flow(name="khoi-tao-du-lieu", log_prints=True, flow_run_name=flow_run_name("khoi-tao-du-lieu"))
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


@flow(
    name="nhap-danh-gia-bo-sung",
    log_prints=True,
    flow_run_name=flow_run_name("nhap-danh-gia-bo-sung"),
)
def nhap_danh_gia_bo_sung(
    workspace: str, source: str, ngay_phat_hanh: str | None = None
) -> list[str]:
    """The summer wave: the supplementary results and the principal's decisions of the
    pupils still waiting, nothing else; then `hbs lock` … `hbs submit` issue them."""
    with workspace_lock(workspace, "luồng nhap-danh-gia-bo-sung"):
        lines = summer_wave_task(workspace, source, ngay_phat_hanh)
    for line in lines:
        print(line)
    return lines


@flow(name="cau-hinh", log_prints=True, flow_run_name=flow_run_name("cau-hinh"))
def cau_hinh(workspace: str) -> dict[str, int | str]:
    """Configure: who signs which class, the principal, the seal, their certificates."""
    with workspace_lock(workspace, "luồng cau-hinh"):
        return configure_task(workspace)


@flow(name="chot-du-lieu", log_prints=True, flow_run_name=flow_run_name("chot-du-lieu"))
def chot_du_lieu(workspace: str, ma_lop: str | None = None) -> list[StepOutcome]:
    """Lock: build each class's records, validate them, render them, freeze them."""
    with workspace_lock(workspace, "luồng chot-du-lieu"):
        drafts = classes_waiting_task(workspace, LOCK.name, ma_lop)
        outcomes = [
            lock_class_task(workspace, c)
            for c in each_class("chot-du-lieu", "Chốt dữ liệu", drafts)
        ]
    if drafts:
        publish_outcomes("chot-du-lieu", "Chốt dữ liệu", outcomes)
    return outcomes


@flow(name="ky-hoc-ba", log_prints=True, flow_run_name=flow_run_name("ky-hoc-ba"))
def ky_hoc_ba(workspace: str, role: Role, ma_lop: str | None = None) -> list[StepOutcome]:
    """Sign: the homeroom teacher of each class (role gvcn), then the principal (role ht)."""
    with workspace_lock(workspace, f"luồng ky-hoc-ba ({role})"), services(workspace, pki=True):
        outcomes = [
            sign_class_task(workspace, c, role)
            for c in classes_waiting_task(workspace, SIGN_STEPS[role].name, ma_lop)
        ]
    publish_outcomes(f"ky-{role}", f"Ký học bạ ({role.upper()})", outcomes)
    return outcomes


@flow(name="dong-dau", log_prints=True, flow_run_name=flow_run_name("dong-dau"))
def dong_dau(workspace: str, ma_lop: str | None = None) -> list[StepOutcome]:
    """Stamp: the school's organisational seal and a trusted timestamp on every record."""
    with workspace_lock(workspace, "luồng dong-dau"), services(workspace, pki=True):
        outcomes = [
            sign_class_task(workspace, c, "condau")
            for c in classes_waiting_task(workspace, SIGN_STEPS["condau"].name, ma_lop)
        ]
    publish_outcomes("dong-dau", "Đóng dấu và gắn dấu thời gian", outcomes)
    return outcomes


@flow(name="nop-csdl-hoc-ba-so", log_prints=True, flow_run_name=flow_run_name("nop-csdl"))
def nop_hoc_ba(workspace: str, ma_lop: str | None = None) -> list[StepOutcome]:
    """Submit: send sealed records to CSDL Học bạ số and keep each receipt (mã tra cứu).

    Records the registry refuses are counted per class and wait for the principal's
    unlock; a rerun does not send them again. When the registry does not answer, a
    class gives up within its retry budget and the next classes are still tried (with
    a short budget until the registry answers again); the step then fails, naming the
    classes left, and a rerun sends what is still unsent."""
    title = "Nộp CSDL Học bạ số"
    outcomes: list[StepOutcome] = []
    failures: list[ClassFailure] = []
    with workspace_lock(workspace, "luồng nop-csdl-hoc-ba-so"), services(workspace, registry=True):
        waiting = classes_waiting_task(workspace, SUBMIT.name, ma_lop)
        budget = CLASS_RETRY_BUDGET_S
        for c in each_class("nop-hoc-ba", title, waiting):
            state = submit_class_task(workspace, c, budget, return_state=True)
            result = state.result(raise_on_failure=False)
            if isinstance(result, RegistryUnavailable):
                failures.append(ClassFailure(c, result.message))
                budget = PROBE_RETRY_BUDGET_S
            elif isinstance(result, BaseException):
                raise result
            else:
                outcomes.append(result)
                budget = CLASS_RETRY_BUDGET_S
    if waiting:
        publish_outcomes("nop-hoc-ba", title, outcomes, failures)
    if failures:
        raise RegistryUnavailable(
            f"{len(failures)} lớp chưa nộp xong ({', '.join(f.ma_lop for f in failures)}): "
            "CSDL Học bạ số không trả lời.",
            hint="Các học bạ đã được tiếp nhận giữ nguyên; kiểm tra mạng và địa chỉ [registry] "
            "trong school.toml rồi chạy lại `hbs submit` để gửi tiếp phần còn lại.",
        )
    return outcomes


@flow(name="bao-cao-thong-ke", log_prints=True, flow_run_name=flow_run_name("bao-cao"))
def bao_cao(workspace: str) -> str:
    """Report: the TT27 year-end statistics and the progress, as artifacts (aggregates),
    a workbook with charts and an HTML page beside it in ``bao_cao/``."""
    with workspace_lock(workspace, "luồng bao-cao-thong-ke"):
        files = report_task(workspace)
    print(f"Báo cáo thống kê (Excel): {files.workbook}")
    print(f"Báo cáo thống kê (trang HTML, mở bằng trình duyệt): {files.html}")
    if files.summer_template is not None:
        print(f"Mẫu nhập đánh giá bổ sung (chỉ học sinh đang chờ): {files.summer_template}")
    return str(files.workbook)
