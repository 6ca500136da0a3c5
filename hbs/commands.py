"""What each verb of `hbs` does: pick the flow, its parameters, print the outcome."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time
from collections.abc import Callable
from importlib.resources import as_file
from pathlib import Path
from typing import Any

from hbs.prefect_server import PrefectApi, ensure_server, stop_server
from hocbaso.config import CONFIG_FILE, Workspace
from hocbaso.demo import bundled
from hocbaso.errors import ConfigurationError
from hocbaso.signing.trust import TrustSettings

RunFlow = Callable[..., Any]


def check_workspace(workspace: Path, *, create: bool) -> None:
    """Make sure the workspace exists (created for demo/init)."""
    if create:
        workspace.mkdir(parents=True, exist_ok=True)
    elif not workspace.is_dir():
        raise ConfigurationError(
            f"Không có thư mục làm việc {workspace}.",
            hint="Chạy `hbs demo` hoặc `hbs init --source <tệp>` với --workspace đúng thư mục.",
        )


def prefect_api(workspace: Path, *, create: bool) -> PrefectApi:
    """Make sure the workspace exists (for demo/init) and a Prefect API answers."""
    check_workspace(workspace, create=create)
    return ensure_server(workspace)


def report_interrupted_runs(api: PrefectApi) -> None:
    """Mark the runs a killed process left Running as Crashed; one line when there were any.

    The caller holds the workspace lock: no live process of this workspace runs a flow.
    """
    import httpx

    from hbs.interrupted_runs import interrupted_runs_line, mark_interrupted_runs

    try:
        count = mark_interrupted_runs(api)
    except httpx.HTTPError as exc:  # the step itself still runs; the UI is only behind
        print(
            f"Cảnh báo: không kiểm tra được các lần chạy bị gián đoạn trên {api.api_url} ({exc}).",
            file=sys.stderr,
        )
        return
    if count:
        print(interrupted_runs_line(count, api.ui_url))


def run_verb(
    verb: str, args: argparse.Namespace, workspace: Path, api: PrefectApi, run_flow: RunFlow
) -> int:
    from flows import plan, records, steps

    ws = str(workspace)
    if verb == "demo":
        bundled.write_school_toml(workspace)
        started = time.perf_counter()
        # The bundled sample is package data; as_file gives it a real path for the run.
        with as_file(bundled.sample_school_xlsx()) as sample:
            source = args.source or sample
            timings = run_flow(plan.ke_hoach_hoc_ba_so, workspace=ws, source=str(source.resolve()))
        _print_demo_summary(workspace, api, timings, time.perf_counter() - started)
        return 0
    if verb == "init" and args.bo_sung is not None:
        run_flow(
            steps.nhap_danh_gia_bo_sung,
            workspace=ws,
            source=str(args.bo_sung.resolve()),
            ngay_phat_hanh=args.ngay_phat_hanh.isoformat() if args.ngay_phat_hanh else None,
        )
    elif verb == "init":
        if args.source is None:
            Workspace(workspace).load_config()
            from hocbaso.store import Store

            Store(Workspace(workspace).store_path).create()
            print(f"Đã tạo kho dữ liệu trống: {Workspace(workspace).store_path}")
            return 0
        run_flow(
            steps.khoi_tao_du_lieu,
            workspace=ws,
            source=str(args.source.resolve()),
            csdl_nganh=str(args.csdl_nganh.resolve()) if args.csdl_nganh else None,
        )
    elif verb == "configure":
        run_flow(steps.cau_hinh, workspace=ws)
    elif verb == "lock":
        run_flow(steps.chot_du_lieu, workspace=ws, ma_lop=args.ma_lop)
    elif verb == "unlock":
        run_flow(records.mo_khoa, workspace=ws, ma_lop=args.ma_lop, ly_do=args.reason)
    elif verb == "sign":
        run_flow(steps.ky_hoc_ba, workspace=ws, role=args.role, ma_lop=args.ma_lop)
    elif verb == "stamp":
        run_flow(steps.dong_dau, workspace=ws, ma_lop=args.ma_lop)
    elif verb == "submit":
        run_flow(steps.nop_hoc_ba, workspace=ws, ma_lop=args.ma_lop)
    elif verb == "revoke":
        run_flow(records.thu_hoi, workspace=ws, ma_hoc_ba=args.ma_hoc_ba, ly_do=args.reason)
    elif verb == "print":
        run_flow(records.in_ban_giay, workspace=ws, ma_lop=args.ma_lop, out=str(args.out.resolve()))
    elif verb == "report":
        run_flow(steps.bao_cao, workspace=ws)
        _print_pending(workspace)
        _print_signing_progress(workspace)
    print(f"Xem các lần chạy trong giao diện Prefect: {api.ui_url}")
    return 0


def resolve_class_code(workspace: Path, ma_lop: str) -> str:
    """The school's spelling of a class typed in any case; an unknown one lists the classes."""
    from hocbaso.guidance import resolve_class
    from hocbaso.store import Store

    resolved = resolve_class(Store(Workspace(workspace).store_path), ma_lop)
    assert resolved is not None
    return resolved


def _print_pending(workspace: Path) -> None:
    """The pupils waiting for the summer assessment (names: the school's own terminal only,
    printed here, outside any run, so they never reach a Prefect log)."""
    from hocbaso.statistics import school_statistics
    from hocbaso.store import Store

    ws = Workspace(workspace)
    stats = school_statistics(Store(ws.store_path), ws.load_config())
    pending = stats.table("danh-sach-danh-gia-bo-sung").frame
    if pending.is_empty():
        print("Không có học sinh nào chờ đánh giá bổ sung trong hè.")
        return
    print(f"Học sinh chờ đánh giá bổ sung ({pending.height}):")
    for row in pending.iter_rows(named=True):
        print(
            f"  - Lớp {row['Lớp']}: {row['Họ và tên']} ({row['Mã học sinh']}) — {row['Đang chờ']}"
        )
    print(
        "Nhập kết quả đánh giá bổ sung và quyết định của Hiệu trưởng bằng "
        "`hbs init --bo-sung TỆP` (mẫu chỉ gồm các học sinh này: "
        "bao_cao/mau-danh-gia-bo-sung-*.xlsx)."
    )


def _print_demo_summary(
    workspace: Path, api: PrefectApi, timings: dict[str, float], total: float
) -> None:
    from hocbaso.states import STATE_NAMES_VI
    from hocbaso.statistics import school_statistics
    from hocbaso.store import Store

    ws = Workspace(workspace)
    stats = school_statistics(Store(ws.store_path), ws.load_config())
    print()
    print("=== Học bạ số: chạy thử trên trường mẫu đã xong ===")
    print(f"Tổng số học bạ (phiên bản hiện hành): {stats.total_records}")
    for state, n in stats.states.items():
        print(f"  - {STATE_NAMES_VI.get(state, state)}: {n}")
    _print_signing_progress(workspace)
    print("Thời gian từng bước (giây):")
    for step, seconds in timings.items():
        print(f"  - {step}: {seconds:.1f}")
    print(f"  - tổng: {total:.1f}")
    print(f"Thư mục làm việc: {workspace}")
    print(f"  - kho dữ liệu: {workspace / 'hbs.duckdb'} (xem view v_hoc_ba, v_danh_gia_cuoi_nam)")
    print(f"  - tệp học bạ (XML, PDF): {workspace / 'tep'}")
    print(f"  - báo cáo thống kê (Excel và trang HTML có biểu đồ): {workspace / 'bao_cao'}")
    print(
        f"Giao diện Prefect: {api.ui_url} (máy chủ vẫn chạy; tắt bằng "
        f"`hbs server stop --workspace {workspace}`)"
    )


def server(workspace: Path, action: str) -> int:
    if action == "stop":
        stopped = stop_server(workspace)
        print("Đã tắt máy chủ Prefect." if stopped else "Không có máy chủ Prefect nào đang chạy.")
        return 0
    api = ensure_server(workspace)
    print(f"Máy chủ Prefect: {api.ui_url}")
    return 0


def registry_serve(workspace: Path, port: int | None, host: str | None = None) -> int:
    from hocbaso.resources import open_resources

    res = open_resources(workspace)
    with res.credentials.services():  # the stand-in checks revocation with the demo PKI
        res.registry.serve_forever(res.trust, port, host)
    return 0


def _verification_moment(text: str) -> dt.datetime:
    """``--at``: a date (midnight UTC) or an ISO 8601 time (UTC when no offset is given)."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"Thời điểm kiểm tra '{text}' không đúng định dạng.",
            hint="Dùng --at YYYY-MM-DD (ví dụ 2036-12-31) "
            "hoặc ISO 8601 (2036-12-31T08:00:00+07:00).",
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _verification_settings(
    workspace: Path, trust_files: list[Path], *, at: str | None, offline: bool
) -> tuple[Any, TrustSettings]:
    """The workspace's resources (None outside one) and the trust `hbs verify` uses:
    ``--trust`` roots if given, else the workspace's; ``--offline`` fetches nothing."""
    from hocbaso.resources import open_resources

    res = None
    if (workspace / CONFIG_FILE).is_file():
        res = open_resources(workspace)
    if trust_files:
        trust = TrustSettings.from_files(trust_files)
    elif res is not None:
        trust = res.trust
    else:
        raise ConfigurationError(
            f"Không có thư mục làm việc tại {workspace} nên chưa biết tin cậy CA gốc nào.",
            hint="Chỉ ra thư mục làm việc bằng --workspace, "
            "hoặc chứng thư gốc bằng --trust tệp.pem.",
        )
    moment = _verification_moment(at) if at else None
    trust = dataclasses.replace(
        trust, allow_fetching=trust.allow_fetching and not offline, moment=moment
    )
    return res, trust


def verify(
    workspace: Path,
    files: list[Path],
    *,
    at: str | None = None,
    offline: bool = False,
    as_json: bool = False,
    trust_files: list[Path] | None = None,
) -> int:
    import contextlib
    import json

    from hocbaso.verification import verdicts_json, verify_files

    res, trust = _verification_settings(workspace, trust_files or [], at=at, offline=offline)
    # Online, demo certificates are checked against the demo PKI's OCSP/CRL, served while
    # verifying; offline nothing is started and only what the files carry counts.
    running = res.running(pki=True) if res is not None and not offline else contextlib.nullcontext()
    with running:
        reports = verify_files(res.ws if res is not None else None, trust, files)
    if as_json:
        print(json.dumps(verdicts_json(reports), ensure_ascii=False, indent=2))
    else:
        for report in reports:
            print(report.summary())
    return 0 if reports and all(r.passed for r in reports) else 1


def audit_verify(workspace: Path) -> int:
    from hocbaso.store import Store, verify_chain

    store = Store(Workspace(workspace).store_path)
    with store.connect() as con:
        check = verify_chain(con)
    print(check.summary())
    return 0 if check.intact else 1


def _paused_run(api: PrefectApi, key: str) -> Any:
    """The paused flow run of this workspace waiting on pause ``key``, if any."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    runs_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
        tags=None if api.home is not None else FlowRunFilterTags(all_=[api.run_tag]),
    )
    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=runs_filter, limit=200):
            if run.state is not None and run.state.state_details.pause_key == key:
                return run
    return None


def approve(workspace: Path, ma_lop: str, tra_lai: bool, reason: str) -> int:
    """`hbs duyet`: answer the run paused for this class, or record the answer directly."""
    from flows.steps import pause_key
    from hocbaso import approval
    from hocbaso.resources import open_resources
    from hocbaso.workspace_lock import workspace_lock

    if tra_lai and not reason.strip():
        raise ConfigurationError(
            f"Trả lại lớp {ma_lop} phải có lý do.", hint='Thêm --reason "lý do trả lại".'
        )
    check_workspace(workspace, create=False)
    api = ensure_server(workspace)
    run = _paused_run(api, pause_key(ma_lop))
    if run is not None:
        from prefect.flow_runs import resume_flow_run

        decision = "tra_lai" if tra_lai else "duyet"
        resume_flow_run(run.id, run_input={"quyet_dinh": decision, "ly_do": reason})
        print(f"Đã gửi quyết định “{decision}” cho lần chạy đang chờ duyệt lớp {ma_lop}.")
        return 0
    with workspace_lock(workspace, f"hbs duyet --class {ma_lop}"):
        res = open_resources(workspace)
        if tra_lai:
            n = approval.return_class(res, ma_lop, reason, "dong_lenh")
            print(f"Đã trả lại lớp {ma_lop} ({n} học bạ về bản nháp), lý do: {reason}")
        else:
            n = approval.approve(res, ma_lop, "dong_lenh")
            print(f"Hiệu trưởng đã duyệt {n} học bạ lớp {ma_lop}; chạy `hbs sign --role ht`.")
    return 0


def remote_signing(workspace: Path, action: str, ma: str | None) -> int:
    """`hbs ky-tu-xa`: the stand-in's pending requests; confirm or refuse them by hand."""
    import httpx

    from hocbaso.demo.remote_signing import standin_url

    check_workspace(workspace, create=False)
    base = standin_url(Workspace(workspace))
    try:
        pending = httpx.get(f"{base}/_admin/giao-dich", timeout=5).json()["cho_xac_nhan"]
        if action == "danh-sach":
            for p in pending:
                print(f"{p['ma_giao_dich']}: {p['mo_ta']} ({p['so_bam']} giá trị băm)")
            print(f"{len(pending)} yêu cầu đang chờ xác nhận ({base}/).")
            return 0
        verb = "xac-nhan" if action == "xac-nhan" else "tu-choi"
        chosen = [p for p in pending if ma is None or p["ma_giao_dich"].startswith(ma)]
        for p in chosen:
            httpx.post(f"{base}/_admin/giao-dich/{p['ma_giao_dich']}/{verb}", timeout=5)
            print(f"{'Đã xác nhận' if verb == 'xac-nhan' else 'Đã từ chối'}: {p['mo_ta']}")
    except httpx.HTTPError as exc:
        raise ConfigurationError(
            f"Không kết nối được dịch vụ ký số từ xa giả lập tại {base}.",
            hint="Dịch vụ chỉ chạy trong lúc bước ký chạy (`hbs sign --role gvcn`); "
            "chạy lệnh này trong một cửa sổ khác khi bước ký đang chờ xác nhận.",
        ) from exc
    if not chosen:
        print("Không có yêu cầu ký nào đang chờ xác nhận.")
    return 0


def _print_signing_progress(workspace: Path) -> None:
    """`hbs report`: who has not signed yet (v_tien_do_ky) and the requests (v_giao_dich_ky)."""
    from hocbaso.store import Store
    from hocbaso.store.journal import signing_progress, signing_requests

    store = Store(Workspace(workspace).store_path)
    progress = signing_progress(store)
    left = progress.filter(progress["con_lai"] > 0)
    print(f"Tiến độ ký (v_tien_do_ky): còn {int(progress['con_lai'].sum() or 0)} chữ ký chưa có.")
    for row in left.iter_rows(named=True):
        print(
            f"  - lớp {row['ma_lop']}, {row['vai_tro']} ({row['ma_giao_vien'] or '?'}): "
            f"còn {row['con_lai']}/{row['so_hoc_ba']} học bạ"
        )
    requests = signing_requests(store)
    if requests.height:
        counts = requests.group_by("kenh", "trang_thai").len().sort("kenh", "trang_thai")
        summary = ", ".join(
            f"{r['kenh']} {r['trang_thai']}: {r['len']}" for r in counts.iter_rows(named=True)
        )
        print(f"Yêu cầu ký (v_giao_dich_ky): {summary}")
