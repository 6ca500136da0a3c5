"""The steps of the school's plan (kế hoạch triển khai), one flow each.

Each flow reads like the plan: which batches, which step, what is published.
The work is in ``tasks/`` (thin) and ``hocbaso/`` (the logic).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal

from prefect import context as flow_run_context
from prefect import flow, pause_flow_run, suspend_flow_run
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput

from hocbaso.errors import HocBaSoError, RegistryUnavailable, SigningError
from hocbaso.issue import CLASS_STATES_VI, SignOutcome, merge_outcomes
from hocbaso.signing import Role
from hocbaso.states import LOCK, SIGN_STEPS, SUBMIT
from hocbaso.steps import ClassFailure, StepOutcome
from hocbaso.store import ImportSummary
from hocbaso.workspace_lock import workspace_lock
from tasks.common import each_class, flow_run_name, publish_outcomes, services
from tasks.configure import configure_task
from tasks.initialize import (
    checking_apart,
    compute_results_task,
    gate_task,
    load_store_task,
    read_source_task,
    summer_wave_task,
)
from tasks.records import (
    CLASS_RETRY_BUDGET_S,
    PROBE_RETRY_BUDGET_S,
    approval_timeout,
    approved_task,
    classes_waiting_task,
    lock_class_task,
    lock_step,
    publish_signing_views,
    record_decision_task,
    send_requests_task,
    sign_class_task,
    signing_step,
    signing_views_task,
    submit_class_task,
)
from tasks.report import report_task


@flow(name="khoi-tao-du-lieu", log_prints=True, flow_run_name=flow_run_name("khoi-tao-du-lieu"))
def khoi_tao_du_lieu(workspace: str, source: str, csdl_nganh: str | None = None) -> ImportSummary:
    """Initialize: read the school's file, check it through every gate (and against the
    sector database's export when given), load the store."""
    with workspace_lock(workspace, "luồng khoi-tao-du-lieu"):
        with checking_apart(Path(source)):  # a large file read and gated apart
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
    """Lock: build each class's records, validate them, render them, freeze them.

    The classes are computed side by side on the machine's cores; each is frozen in
    its own transaction, in class order."""
    with workspace_lock(workspace, "luồng chot-du-lieu"):
        drafts = classes_waiting_task(workspace, LOCK.name, ma_lop)
        with lock_step(workspace, drafts) as step:
            outcomes = [
                lock_class_task(workspace, c, step)
                for c in each_class("chot-du-lieu", "Chốt dữ liệu", drafts)
            ]
    if drafts:
        publish_outcomes("chot-du-lieu", "Chốt dữ liệu", outcomes)
    return outcomes


class DuyetLop(RunInput):
    """The principal's answer for one class (the form of a paused run)."""

    quyet_dinh: Literal["duyet", "tra_lai"] = "duyet"
    ly_do: str = ""


def pause_key(ma_lop: str) -> str:
    """The key of the pause that waits for the principal's answer on ``ma_lop``."""
    # Prefect keys allow lowercase letters, digits and dashes only; the short hash keeps
    # classes apart whose names differ only in case or punctuation.
    slug = re.sub(r"[^a-z0-9]+", "-", ma_lop.lower()).strip("-")
    return f"duyet-lop-{slug}-{hashlib.sha256(ma_lop.encode()).hexdigest()[:6]}"


def _principal_approves(workspace: str, ma_lop: str) -> str:
    """``da_duyet``, ``tra_lai`` or ``cho_duyet``: approved already (or ahead in
    school.toml), or pause with a form and take the principal's answer."""
    if approved_task(workspace, ma_lop):
        return "da_duyet"
    print(
        f"Lớp {ma_lop}: chờ Hiệu trưởng duyệt (biểu mẫu trên giao diện Prefect, hoặc "
        f"`hbs duyet --class {ma_lop}` / `--tra-lai --reason ...`)."
    )
    try:
        answer = pause_flow_run(
            wait_for_input=DuyetLop.with_initial_data(
                description=f"Hiệu trưởng duyệt học bạ lớp {ma_lop} trước khi ký: chọn "
                "“duyet”, hoặc “tra_lai” kèm lý do để trả lớp về bản nháp."
            ),
            timeout=approval_timeout(workspace),
            poll_interval=2,
            key=pause_key(ma_lop),
        )
    except FlowPauseTimeout:
        print(f"Lớp {ma_lop}: hết thời gian chờ Hiệu trưởng duyệt; chạy lại bước ký sau.")
        return "cho_duyet"
    if answer.quyet_dinh == "tra_lai":
        record_decision_task(workspace, ma_lop, False, answer.ly_do, "giao_dien")
        print(f"Lớp {ma_lop}: Hiệu trưởng trả lại, lý do: {answer.ly_do}")
        return "tra_lai"
    record_decision_task(workspace, ma_lop, True, "", "giao_dien")
    return "da_duyet"


def _sign_classes(workspace: str, role: Role, classes: list[str]) -> list[StepOutcome]:
    """Each class is its own outcome: one class's failure does not stop the others."""
    # Remote signers: every class's requests go out first, so their confirmations are
    # outstanding together and the step waits about one confirmation, not one per class.
    sent: dict[str, SignOutcome | None] = {}
    failed: dict[str, SignOutcome] = {}
    with signing_step(workspace, role, classes):  # documents are computed on every core
        if role != "ht":
            for c in classes:
                first = send_requests_task(workspace, c, role, return_state=True).result(
                    raise_on_failure=False
                )
                if isinstance(first, SignOutcome) or first is None:
                    sent[c] = first
                else:
                    failed[c] = _failed(role, c, first)
        return _collect(workspace, role, classes, sent, failed)


def _collect(
    workspace: str,
    role: Role,
    classes: list[str],
    sent: dict[str, SignOutcome | None],
    failed: dict[str, SignOutcome],
) -> list[StepOutcome]:
    """Each class in turn: the principal's approval (role ht), then its signatures."""
    title = {"gvcn": "Ký học bạ (GVCN)", "ht": "Ký học bạ (HT)", "condau": "Đóng dấu"}[role]
    outcomes: list[StepOutcome] = []
    for c in each_class(f"ky-{role}", title, classes):
        if c in failed:
            outcomes.append(failed[c])
            continue
        if role == "ht":
            decision = _principal_approves(workspace, c)
            if decision != "da_duyet":
                note = "Hiệu trưởng trả lại lớp" if decision == "tra_lai" else "chờ duyệt"
                where = "tu_choi" if decision == "tra_lai" else "cho_xac_nhan"
                outcomes.append(SignOutcome(role, c, 0, 0.0, trang_thai=where, thong_bao=(note,)))
                continue
        state = sign_class_task(workspace, c, role, return_state=True)
        result = state.result(raise_on_failure=False)
        if isinstance(result, SignOutcome):
            outcomes.append(merge_outcomes(sent.get(c), result))
        elif isinstance(result, StepOutcome):
            outcomes.append(result)
        else:
            outcomes.append(_failed(role, c, result))
    return outcomes


def _failed(role: Role, ma_lop: str, error: object) -> SignOutcome:
    """A class whose signing raised: its outcome is an error, the other classes go on."""
    message = error.user_message() if isinstance(error, HocBaSoError) else str(error)
    return SignOutcome(role, ma_lop, 0, 0.0, trang_thai="loi", thong_bao=(message,))


def _summarise(role: Role, outcomes: list[StepOutcome]) -> None:
    """Publish the outcome and the signing views; print a Vietnamese summary; fail on errors."""
    title = {"gvcn": "Ký học bạ (GVCN)", "ht": "Ký học bạ (HT)", "condau": "Đóng dấu"}[role]
    publish_outcomes(f"ky-{role}", title, outcomes)
    counts = {state: 0 for state in CLASS_STATES_VI}
    for o in outcomes:
        state = getattr(o, "trang_thai", "da_ky")
        counts[state] = counts.get(state, 0) + 1
        if state != "da_ky" or getattr(o, "thong_bao", ()):
            print(o.line_vi())
    print(
        f"Tổng kết {title}: "
        + (
            ", ".join(f"{n} lớp {CLASS_STATES_VI[s]}" for s, n in counts.items() if n)
            or "không có lớp nào"
        )
        + "."
    )
    if counts["loi"]:
        failed = [
            f"lớp {o.ma_lop}: {' '.join(getattr(o, 'thong_bao', ()))}"
            for o in outcomes
            if getattr(o, "trang_thai", "") == "loi"
        ]
        raise SigningError(
            f"{counts['loi']} lớp chưa ký được ({title}); các lớp khác vẫn được ký.\n"
            + "\n".join(f"  - {f}" for f in failed),
            hint="Xem từng lớp ở trên, sửa lỗi rồi chạy lại: phần đã ký không bị ký lại.",
        )


def _wait_long(outcomes: list[StepOutcome], cho_lau_giay: int) -> None:
    """Confirmations still pending after the run's bounded wait: with ``cho_lau_giay`` and
    a deployment's run, suspend (the worker is freed; resuming runs the flow again, which
    collects what was confirmed); otherwise a later run collects them."""
    waiting = [o.ma_lop for o in outcomes if getattr(o, "trang_thai", "") == "cho_xac_nhan"]
    if not waiting:
        return
    run = flow_run_context.get_run_context()
    from_deployment = getattr(getattr(run, "flow_run", None), "deployment_id", None)
    if cho_lau_giay > 0 and from_deployment is not None:
        print(
            f"Các lớp {', '.join(waiting)} còn chờ xác nhận: tạm dừng lần chạy tối đa "
            f"{cho_lau_giay} giây (không giữ máy chạy), tiếp tục khi được mở lại."
        )
        suspend_flow_run(timeout=cho_lau_giay, key="cho-xac-nhan-ky")
        return
    print(
        f"Các lớp {', '.join(waiting)} còn chờ người ký xác nhận: chạy lại bước ký sau để "
        "lấy chữ ký đã xác nhận (không ai bị hỏi lại)."
    )


@flow(name="ky-hoc-ba", log_prints=True, flow_run_name=flow_run_name("ky-hoc-ba"))
def ky_hoc_ba(
    workspace: str, role: Role, ma_lop: str | None = None, cho_lau_giay: int = 0
) -> list[StepOutcome]:
    """Sign: the homeroom teacher of each class (role gvcn), then the principal (role ht),
    who approves each class first. ``cho_lau_giay``: how long a deployment's run may stay
    suspended waiting for confirmations (0: leave them to the next run)."""
    with workspace_lock(workspace, f"luồng ky-hoc-ba ({role})"), services(workspace, pki=True):
        classes = classes_waiting_task(workspace, SIGN_STEPS[role].name, ma_lop)
        outcomes = _sign_classes(workspace, role, classes)
        views = signing_views_task(workspace)
    publish_signing_views(*views)
    _summarise(role, outcomes)
    _wait_long(outcomes, cho_lau_giay)
    return outcomes


@flow(name="dong-dau", log_prints=True, flow_run_name=flow_run_name("dong-dau"))
def dong_dau(workspace: str, ma_lop: str | None = None) -> list[StepOutcome]:
    """Stamp: the school's organisational seal and a trusted timestamp on every record."""
    with workspace_lock(workspace, "luồng dong-dau"), services(workspace, pki=True):
        classes = classes_waiting_task(workspace, SIGN_STEPS["condau"].name, ma_lop)
        outcomes = _sign_classes(workspace, "condau", classes)
        views = signing_views_task(workspace)
    publish_signing_views(*views)
    _summarise("condau", outcomes)
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
