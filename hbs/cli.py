"""Command-line entry point: `hbs <verb> [--workspace DIR] ...`.

Each verb runs one Prefect flow (the step of the school's plan of the same
name). Project errors become a Vietnamese message and a non-zero exit here, at
one boundary; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hocbaso.errors import GateError, HocBaSoError

EXIT_USER_ERROR = 2
# Verbs that change the workspace: each holds the workspace lock while it runs, so two
# of them (two `hbs sign`, `sign` during `submit` …) never run at once on one workspace.
# verify, audit verify, server and registry serve only read it and take no lock.
CHANGING_VERBS = frozenset(
    {
        "demo",
        "init",
        "configure",
        "lock",
        "unlock",
        "sign",
        "stamp",
        "submit",
        "revoke",
        "print",
        "report",
    }
)

VERBS_HELP = {
    "demo": "chạy toàn bộ quy trình trên trường mẫu (tạo thư mục làm việc nếu chưa có)",
    "init": "khởi tạo dữ liệu: đọc, kiểm tra và nạp tệp dữ liệu của trường",
    "configure": "cấu hình: kiểm tra school.toml, người ký, chứng thư số",
    "lock": "chốt dữ liệu: tạo học bạ (XML + PDF) và khóa lại",
    "unlock": "mở khóa học bạ của một lớp (chỉ Hiệu trưởng, trước khi đóng dấu)",
    "sign": "ký học bạ: GVCN (--role gvcn) rồi Hiệu trưởng (--role ht)",
    "stamp": "đóng dấu của trường và gắn dấu thời gian",
    "submit": "nộp học bạ lên CSDL Học bạ số, nhận mã tra cứu",
    "revoke": "thu hồi một học bạ đã cấp và tạo phiên bản mới để sửa",
    "print": "in bản giấy của một lớp (mã tra cứu và mã QR trên mỗi trang)",
    "report": "báo cáo thống kê và tiến độ",
    "verify": "kiểm tra chữ ký và tính toàn vẹn của tệp học bạ",
    "audit": "kiểm tra chuỗi nhật ký kiểm toán (`hbs audit verify`)",
    "registry": "chạy máy chủ CSDL Học bạ số giả lập (`hbs registry serve`)",
    "server": "máy chủ Prefect cục bộ của thư mục làm việc (`hbs server stop`)",
    "duyet": "Hiệu trưởng duyệt học bạ một lớp trước khi ký (hoặc trả lại với --tra-lai)",
    "ky-tu-xa": "dịch vụ ký số từ xa giả lập: xem, xác nhận hoặc từ chối yêu cầu ký đang chờ",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hbs",
        description="Học bạ số: từng bước của kế hoạch triển khai, mỗi bước là một luồng Prefect.",
    )
    sub = parser.add_subparsers(dest="verb", required=True, metavar="LỆNH")

    def verb(name: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=VERBS_HELP[name], description=VERBS_HELP[name])
        p.add_argument(
            "--workspace",
            type=Path,
            default=Path("workspace"),
            help="thư mục làm việc của trường (mặc định: ./workspace)",
        )
        return p

    verb("demo").add_argument(
        "--source", type=Path, default=None, help="tệp dữ liệu thay cho trường mẫu"
    )
    p = verb("init")
    p.add_argument("--source", type=Path, required=False, help="tệp .xlsx hoặc thư mục .csv")
    p.add_argument(
        "--csdl-nganh", type=Path, default=None, help="tệp xuất từ CSDL ngành để đối chiếu học sinh"
    )
    verb("configure")
    for name in ("lock", "stamp", "submit"):
        verb(name).add_argument(
            "--class", dest="ma_lop", default=None, help="chỉ một lớp, ví dụ 3A"
        )
    p = verb("unlock")
    p.add_argument("--class", dest="ma_lop", required=True)
    p.add_argument("--reason", required=True, help="lý do mở khóa (ghi vào nhật ký)")
    p = verb("sign")
    p.add_argument("--role", choices=["gvcn", "ht"], required=True)
    p.add_argument("--class", dest="ma_lop", default=None)
    p = verb("revoke")
    p.add_argument("--record", dest="ma_hoc_ba", required=True, help="mã học bạ cần thu hồi")
    p.add_argument("--reason", required=True)
    p = verb("print")
    p.add_argument("--class", dest="ma_lop", required=True)
    p.add_argument("--out", type=Path, required=True)
    verb("report")
    p = verb("verify")
    p.add_argument("files", nargs="+", type=Path)
    p = verb("audit")
    p.add_argument("action", choices=["verify"])
    p = verb("registry")
    p.add_argument("action", choices=["serve"])
    p.add_argument("--port", type=int, default=None)
    p = verb("server")
    p.add_argument("action", choices=["start", "stop"])
    p = verb("duyet")
    p.add_argument("--class", dest="ma_lop", required=True, help="lớp được duyệt, ví dụ 3A")
    p.add_argument(
        "--tra-lai", action="store_true", help="trả lớp về bản nháp thay vì duyệt (cần --reason)"
    )
    p.add_argument("--reason", default="", help="lý do trả lại (ghi vào nhật ký kiểm toán)")
    p = verb("ky-tu-xa")
    p.add_argument("action", choices=["danh-sach", "xac-nhan", "tu-choi"])
    p.add_argument("--ma", default=None, help="mã yêu cầu ký (mặc định: mọi yêu cầu đang chờ)")
    return parser


def _quiet_known_errors() -> None:
    """Drop tracebacks of project errors from the console: the message says it all."""
    import logging

    import prefect  # noqa: F401  (sets up Prefect's console handlers, which get the filter)

    class _Filter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            if record.exc_info and isinstance(record.exc_info[1], HocBaSoError):
                record.exc_info = None
                record.exc_text = None
            return True

    # On the loggers themselves (not their handlers): Prefect may set its handlers up
    # again when a run starts, but a logger keeps its filters.
    for name in (
        "prefect.flow_runs",
        "prefect.task_runs",
        "prefect.flow_engine",
        "prefect.task_engine",
    ):
        logging.getLogger(name).addFilter(_Filter())


def _run_flow(flow: Callable[..., Any], **params: Any) -> Any:
    """Run a flow in this process; re-raise its project error for the boundary below."""
    state = flow(return_state=True, **params)
    result = state.result(raise_on_failure=False)
    if state.is_failed() or isinstance(result, BaseException):
        if isinstance(result, BaseException):
            raise result
        raise HocBaSoError(state.message or "Bước này không hoàn thành.")
    return result


def _print_gate_error(err: GateError) -> None:
    """The first problems, one line each: table, sheet row, column, value, what to do."""
    print(f"LỖI: {err.user_message()}", file=sys.stderr)
    problems = [p for r in err.reports for p in r.problems if p.severity.value == "ERROR"]
    for p in problems[:20]:
        where = f"bảng {p.table}" + (f", dòng {p.sheet_row}" if p.sheet_row else "")
        where += f", cột {p.column}" if p.column else ""
        value = f" (giá trị: “{p.value}”)" if p.value not in (None, "") else ""
        print(f"  - {where}{value}: {p.message_vi}", file=sys.stderr)
    if len(problems) > 20:
        print(f"  … và {len(problems) - 20} lỗi khác.", file=sys.stderr)
    if err.report_path:
        print(f"Báo cáo đầy đủ: {err.report_path}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    workspace: Path = args.workspace.resolve()
    try:
        return _dispatch(args, workspace)
    except GateError as err:
        _print_gate_error(err)
        return EXIT_USER_ERROR
    except HocBaSoError as err:
        print(f"LỖI: {err.user_message()}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("Đã dừng theo yêu cầu. Chạy lại lệnh để tiếp tục từ chỗ đã dừng.", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace, workspace: Path) -> int:
    from hbs import commands

    verb: str = args.verb
    if verb == "server":
        return commands.server(workspace, args.action)
    if verb == "registry":
        return commands.registry_serve(workspace, args.port)
    if verb == "verify":
        return commands.verify(workspace, args.files)
    if verb == "audit":
        return commands.audit_verify(workspace)
    if verb == "duyet":  # may answer a paused run that holds the workspace lock
        return commands.approve(workspace, args.ma_lop, args.tra_lai, args.reason)
    if verb == "ky-tu-xa":
        return commands.remote_signing(workspace, args.action, args.ma)
    from hocbaso.workspace_lock import workspace_lock

    assert verb in CHANGING_VERBS, verb
    commands.check_workspace(workspace, create=verb in ("demo", "init"))
    # Before importing Prefect and the flows (seconds): a busy workspace is refused at once.
    with workspace_lock(workspace, _command_line(args)):
        from prefect import tags

        api = commands.prefect_api(workspace, create=False)
        _quiet_known_errors()
        os.environ.setdefault("HBS_WORKSPACE", str(workspace))
        commands.report_interrupted_runs(api)
        with tags(api.run_tag):
            return commands.run_verb(verb, args, workspace, api, _run_flow)


def _command_line(args: argparse.Namespace) -> str:
    """How the lock names this command to another one it refuses: verb and what it acts on."""
    words = ["hbs", args.verb]
    for attr, flag in (("role", "--role"), ("ma_lop", "--class"), ("ma_hoc_ba", "--record")):
        value = getattr(args, attr, None)
        if value:
            words += [flag, str(value)]
    return " ".join(words)


if __name__ == "__main__":
    raise SystemExit(main())
