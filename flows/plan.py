"""The school's whole plan, and the deadline runs scheduled before 16 May and 25 August."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, Literal

from prefect import flow

from flows.steps import (
    bao_cao,
    cau_hinh,
    chot_du_lieu,
    dong_dau,
    khoi_tao_du_lieu,
    ky_hoc_ba,
    nop_hoc_ba,
)
from hocbaso.parallel import kept_workers
from hocbaso.workspace_lock import workspace_lock
from tasks.common import flow_run_name, services


def _timed(timings: dict[str, float], name: str, step: Callable[..., Any], *args: Any) -> Any:
    started = time.perf_counter()
    result = step(*args)
    timings[name] = time.perf_counter() - started
    return result


@flow(name="phat-hanh-hoc-ba", log_prints=True, flow_run_name=flow_run_name("phat-hanh"))
def phat_hanh(workspace: str) -> dict[str, float]:
    """Issue what is ready: lock, sign, stamp and submit; then report. Safe to rerun.

    The lock and the signing steps share one pool of worker processes (started by the
    lock, warm for the signatures); it stops before the submission, which verifies in
    processes of its own (the stand-in's), so idle workers do not hold their memory.
    The services the signatures and the submission use on this machine (in demo mode
    the PKI's TSA/OCSP/CRL and the remote-signing stand-in; nothing with real
    certificates) run from the first signature to the end of the submission: each step
    would otherwise start them again, seconds each."""
    with workspace_lock(workspace, "luồng phat-hanh-hoc-ba"):
        timings: dict[str, float] = {}
        with ExitStack() as running:
            with kept_workers():
                _timed(timings, "chốt dữ liệu", chot_du_lieu, workspace)
                running.enter_context(services(workspace, pki=True))
                _timed(timings, "GVCN ký", ky_hoc_ba, workspace, "gvcn")
                _timed(timings, "Hiệu trưởng ký", ky_hoc_ba, workspace, "ht")
                _timed(timings, "đóng dấu", dong_dau, workspace)
            try:
                _timed(timings, "nộp CSDL", nop_hoc_ba, workspace)
            finally:  # the report also when the registry did not answer: it shows what is left
                _timed(timings, "báo cáo", bao_cao, workspace)
    return timings


@flow(name="ke-hoach-hoc-ba-so", log_prints=True, flow_run_name=flow_run_name("ke-hoach"))
def ke_hoach_hoc_ba_so(workspace: str, source: str) -> dict[str, float]:
    """Initialize → configure → lock → sign (GVCN, then HT) → stamp → submit → report."""
    with workspace_lock(workspace, "luồng ke-hoach-hoc-ba-so"):
        timings: dict[str, float] = {}
        _timed(timings, "khởi tạo dữ liệu", khoi_tao_du_lieu, workspace, source)
        _timed(timings, "cấu hình", cau_hinh, workspace)
        return {**timings, **phat_hanh(workspace)}


@flow(name="han-nop-hoc-ba", log_prints=True, flow_run_name=flow_run_name("han-nop"))
def han_nop(workspace: str, dot: Literal["chinh", "bo_sung"] = "chinh") -> dict[str, float]:
    """A deadline run (16 May: `chinh`; 25 August: `bo_sung`): issue what is ready, report.

    Records of students still waiting for the summer supplementary assessment are
    not locked until the principal's decision is imported; the report shows them.
    """
    print(f"Đợt nộp: {'chính (trước 16/5)' if dot == 'chinh' else 'bổ sung (trước 25/8)'}")
    with workspace_lock(workspace, "luồng han-nop-hoc-ba"):
        return phat_hanh(workspace)
