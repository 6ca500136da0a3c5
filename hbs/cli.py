"""Command-line entry point: `hbs <verb> [--workspace DIR] ...`.

Each verb runs one Prefect flow (the step of the school's plan of the same
name). Project errors become a Vietnamese message and a non-zero exit here, at
one boundary; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any, NoReturn

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

# The verbs in the order of the school's plan (kế hoạch triển khai), then the principal's
# decisions, the checks and the tools. `hbs --help` lists them in this order.
VERBS_HELP = {
    "init": "khởi tạo dữ liệu: đọc, kiểm tra và nạp tệp dữ liệu của trường",
    "configure": "cấu hình: kiểm tra school.toml, người ký, chứng thư số",
    "lock": "chốt dữ liệu: tạo học bạ (XML + PDF) và khóa lại",
    "sign": "ký học bạ: GVCN (--role gvcn) rồi Hiệu trưởng (--role ht)",
    "duyet": "Hiệu trưởng duyệt học bạ một lớp trước khi ký (hoặc trả lại với --tra-lai)",
    "stamp": "đóng dấu của trường và gắn dấu thời gian",
    "submit": "nộp học bạ lên CSDL Học bạ số, nhận mã tra cứu",
    "report": "báo cáo thống kê cuối năm (Excel + HTML) và tiến độ; danh sách chờ đánh giá bổ sung",
    "print": "in bản giấy của một lớp (mã tra cứu và mã QR trên mỗi trang)",
    "unlock": "mở khóa học bạ của một lớp (chỉ Hiệu trưởng, trước khi đóng dấu)",
    "revoke": "thu hồi một học bạ đã cấp và tạo phiên bản mới để sửa",
    "verify": "kiểm tra chữ ký và tính toàn vẹn của tệp học bạ",
    "audit": "kiểm tra chuỗi nhật ký kiểm toán (`hbs audit verify`)",
    "demo": "chạy toàn bộ quy trình trên trường mẫu (tạo thư mục làm việc nếu chưa có)",
    "registry": "chạy máy chủ CSDL Học bạ số giả lập (`hbs registry serve`)",
    "server": "máy chủ Prefect cục bộ của thư mục làm việc (`hbs server start|stop`)",
    "ky-tu-xa": "dịch vụ ký số từ xa giả lập: xem, xác nhận hoặc từ chối yêu cầu ký đang chờ",
}

# argparse's own English, in Vietnamese: the section titles and the error messages.
_ERRORS_VI: tuple[tuple[str, str], ...] = (
    (r"the following arguments are required: (.*)", r"thiếu tham số bắt buộc: \1"),
    (
        r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)",
        r"tham số \1: lựa chọn không hợp lệ \2 (chọn một trong: \3)",
    ),
    (
        r"invalid choice: (.*) \(choose from (.*)\)",
        r"lựa chọn không hợp lệ \1 (chọn một trong: \2)",
    ),
    (r"argument (\S+): expected one argument", r"tham số \1 cần một giá trị"),
    (r"argument (\S+): expected at least one argument", r"tham số \1 cần ít nhất một giá trị"),
    (r"argument (\S+): invalid (\w+) value: (.*)", r"tham số \1: giá trị không hợp lệ \3"),
    (r"unrecognized arguments: (.*)", r"tham số không nhận ra: \1"),
    (r"ambiguous option: (.*) could match (.*)", r"tùy chọn \1 không rõ: có thể là \2"),
    (r"argument (\S+): not allowed with argument (.*)", r"tham số \1 không dùng cùng \2"),
    (r"argument (\S+): (.*)", r"tham số \1: \2"),
)


def _vietnamese(message: str) -> str:
    import re

    for pattern, replacement in _ERRORS_VI:
        translated, n = re.subn(pattern, replacement, message)
        if n:
            return translated
    return message


class _VietnameseHelp(argparse.HelpFormatter):
    """Help text with a Vietnamese "usage:" line."""

    def add_usage(
        self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None
    ) -> None:
        super().add_usage(
            usage, actions, groups, prefix="cách dùng: " if prefix is None else prefix
        )


class VietnameseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors speak Vietnamese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _VietnameseHelp)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "tham số"
        self._optionals.title = "tùy chọn"
        self.add_argument(
            "-h", "--help", action="help", default=argparse.SUPPRESS, help="hiện hướng dẫn này"
        )

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"{self.prog}: lỗi: {_vietnamese(message)}\n")


def _class_option(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    what = "lớp cần làm (bắt buộc)" if required else "chỉ làm một lớp (mặc định: mọi lớp)"
    p.add_argument(
        "--class",
        dest="ma_lop",
        required=required,
        default=None,
        metavar="LỚP",
        help=f"{what}, ví dụ 3A; không phân biệt chữ hoa, chữ thường",
    )


def _opts_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source", type=Path, default=None, metavar="TỆP", help="tệp dữ liệu thay cho trường mẫu"
    )


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"ngày không hợp lệ “{text}”: viết dạng NĂM-THÁNG-NGÀY, ví dụ 2026-08-20"
        ) from None


def _opts_init(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source", type=Path, required=False, metavar="TỆP", help="tệp .xlsx hoặc thư mục .csv"
    )
    p.add_argument(
        "--csdl-nganh",
        type=Path,
        default=None,
        metavar="TỆP",
        help="tệp xuất từ CSDL ngành để đối chiếu học sinh",
    )
    p.add_argument(
        "--bo-sung",
        type=Path,
        default=None,
        metavar="TỆP",
        help="đợt bổ sung (hè): chỉ nhập kết quả đánh giá bổ sung và quyết định của Hiệu "
        "trưởng cho học sinh đang chờ (mẫu: `hbs report` ghi tệp mẫu vào bao_cao/)",
    )
    p.add_argument(
        "--ngay-phat-hanh",
        type=_date_arg,
        default=None,
        metavar="NĂM-THÁNG-NGÀY",
        help="với --bo-sung: ngày ký phát hành in trên học bạ đợt bổ sung (mặc định: hôm nay)",
    )


def _opts_sign(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--role",
        choices=["gvcn", "ht"],
        required=True,
        help="ai ký: gvcn (giáo viên chủ nhiệm) hoặc ht (Hiệu trưởng, sau GVCN)",
    )
    _class_option(p)


def _opts_reason(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--reason", required=True, metavar="LÝ DO", help=f"lý do {what} (ghi vào nhật ký)"
    )


def _opts_unlock(p: argparse.ArgumentParser) -> None:
    _class_option(p, required=True)
    _opts_reason(p, "mở khóa")


def _opts_revoke(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--record", dest="ma_hoc_ba", required=True, metavar="MÃ", help="mã học bạ cần thu hồi"
    )
    _opts_reason(p, "thu hồi")


def _opts_print(p: argparse.ArgumentParser) -> None:
    _class_option(p, required=True)
    p.add_argument("--out", type=Path, required=True, metavar="TỆP", help="tệp PDF sẽ ghi ra")


def _opts_verify(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="TỆP",
        help="tệp học bạ (.xml hoặc .pdf) cần kiểm tra (một hoặc nhiều)",
    )
    p.add_argument(
        "--at",
        default=None,
        metavar="NGÀY",
        help="kiểm tra như tại thời điểm này (YYYY-MM-DD hoặc ISO 8601; mặc định: bây giờ)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="chỉ dùng dữ liệu trong tệp và chứng thư gốc tin cậy; không truy cập mạng",
    )
    p.add_argument("--json", dest="as_json", action="store_true", help="in kết quả dạng JSON")
    p.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="chứng thư gốc tin cậy (dùng khi không có thư mục làm việc; lặp lại được)",
    )


def _opts_duyet(p: argparse.ArgumentParser) -> None:
    _class_option(p, required=True)
    p.add_argument(
        "--tra-lai", action="store_true", help="trả lớp về bản nháp thay vì duyệt (cần --reason)"
    )
    p.add_argument(
        "--reason",
        default="",
        metavar="LÝ DO",
        help="lý do trả lại (ghi vào nhật ký kiểm toán)",
    )


def _opts_ky_tu_xa(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=["danh-sach", "xac-nhan", "tu-choi"],
        help="danh-sach: xem yêu cầu đang chờ; xac-nhan / tu-choi: trả lời thay người ký",
    )
    p.add_argument(
        "--ma", default=None, metavar="MÃ", help="mã yêu cầu ký (mặc định: mọi yêu cầu đang chờ)"
    )


def _opts_audit(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["verify"], help="verify: kiểm tra chuỗi băm của nhật ký")


def _opts_registry(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["serve"], help="serve: chạy máy chủ giả lập ở tiền cảnh")
    p.add_argument(
        "--port",
        type=int,
        default=None,
        metavar="CỔNG",
        help="cổng lắng nghe (mặc định: cổng đã ghi)",
    )
    p.add_argument(
        "--host",
        default=None,
        metavar="ĐỊA_CHỈ",
        help="địa chỉ lắng nghe, ví dụ 0.0.0.0 để máy khác trong mạng LAN mở được "
        "(mặc định: chỉ máy này, 127.0.0.1)",
    )


def _opts_server(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action", choices=["start", "stop"], help="start: bật; stop: tắt máy chủ Prefect"
    )


# Each verb's own options (one small function per verb; a new verb adds one entry here and
# one line to VERBS_HELP).
VERB_OPTIONS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "demo": _opts_demo,
    "init": _opts_init,
    "lock": _class_option,
    "sign": _opts_sign,
    "stamp": _class_option,
    "submit": _class_option,
    "print": _opts_print,
    "unlock": _opts_unlock,
    "revoke": _opts_revoke,
    "verify": _opts_verify,
    "audit": _opts_audit,
    "registry": _opts_registry,
    "server": _opts_server,
    "duyet": _opts_duyet,
    "ky-tu-xa": _opts_ky_tu_xa,
}


def _parser() -> argparse.ArgumentParser:
    parser = VietnameseArgumentParser(
        prog="hbs",
        description="Học bạ số: từng bước của kế hoạch triển khai, mỗi bước là một luồng Prefect.",
        epilog="Xem hướng dẫn của từng lệnh: hbs LỆNH --help",
    )
    sub = parser.add_subparsers(dest="verb", required=True, metavar="LỆNH", title="các lệnh")
    for name, text in VERBS_HELP.items():
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument(
            "--workspace",
            type=Path,
            default=Path("workspace"),
            metavar="THƯ_MỤC",
            help="thư mục làm việc của trường (mặc định: ./workspace)",
        )
        VERB_OPTIONS.get(name, lambda _p: None)(p)
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
        return commands.registry_serve(workspace, args.port, args.host)
    if verb == "verify":
        return commands.verify(
            workspace,
            args.files,
            at=args.at,
            offline=args.offline,
            as_json=args.as_json,
            trust_files=args.trust,
        )
    if verb == "audit":
        return commands.audit_verify(workspace)
    if verb == "duyet":  # may answer a paused run that holds the workspace lock
        return commands.approve(workspace, args.ma_lop, args.tra_lai, args.reason)
    if verb == "ky-tu-xa":
        return commands.remote_signing(workspace, args.action, args.ma)
    from hocbaso.workspace_lock import workspace_lock

    assert verb in CHANGING_VERBS, verb
    commands.check_workspace(workspace, create=verb in ("demo", "init"))
    if getattr(args, "ma_lop", None):  # `--class 3a` is class 3A; an unknown one lists them
        args.ma_lop = commands.resolve_class_code(workspace, args.ma_lop)
    # Before importing Prefect and the flows (seconds): a busy workspace is refused at once.
    with workspace_lock(workspace, _command_line(args)):
        # The workspace's server first: Prefect reads PREFECT_API_URL once, when it is
        # first imported; imported before, every run would go to a throw-away server.
        api = commands.prefect_api(workspace, create=False)
        from prefect import tags

        _quiet_known_errors()
        os.environ.setdefault("HBS_WORKSPACE", str(workspace))
        commands.report_interrupted_runs(api)
        # The tag tells this workspace's runs apart on a shared server; on the workspace's
        # own server every run is this workspace's, and a tag costs every task run a
        # request for tag concurrency slots (Prefect asks for them whenever a task run
        # has tags), ~2 s for one in four or five while the server is busy (the stalls
        # of 2-2.5 s every few classes that `hbs demo` had and `bench_plan.py` did not).
        with tags(api.run_tag) if api.home is None else nullcontext():
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
