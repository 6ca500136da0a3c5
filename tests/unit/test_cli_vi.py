"""`hbs` speaks Vietnamese: help, usage, argument errors; verbs in the plan's order."""

from __future__ import annotations

import argparse
import re

import pytest

from hbs.cli import VERBS_HELP, _parser, main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out + captured.err


def test_help_is_vietnamese_and_lists_the_verbs_in_plan_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = _run(capsys, "--help")
    assert code == 0
    assert out.startswith("cách dùng: hbs") and "tùy chọn:" in out and "các lệnh:" in out
    assert "hiện hướng dẫn này" in out
    for english in ("usage:", "options:", "positional arguments", "show this help"):
        assert english not in out
    plan = ["init", "configure", "lock", "sign", "stamp", "submit", "report"]
    positions = [re.search(rf"\n    {verb}\s", out).start() for verb in plan]  # type: ignore[union-attr]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sign"], "thiếu tham số bắt buộc: --role"),
        (["sign", "--role", "hieu-truong"], "lựa chọn không hợp lệ 'hieu-truong'"),
        (["khoa"], "tham số LỆNH: lựa chọn không hợp lệ 'khoa'"),
        (["lock", "--lop", "3A"], "tham số không nhận ra: --lop 3A"),
        (["lock", "--class"], "tham số --class cần một giá trị"),
        (["init", "--bo-sung", "x.xlsx", "--ngay-phat-hanh", "20/8"], "ngày không hợp lệ"),
    ],
)
def test_argument_errors_are_vietnamese(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out = _run(capsys, *argv)
    assert code == 2
    assert "cách dùng: hbs" in out and ": lỗi: " in out and expected in out
    assert "error:" not in out and "usage:" not in out


def test_every_option_has_help_text() -> None:
    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(VERBS_HELP)
    for name, verb in sub.choices.items():
        for action in verb._actions:
            assert action.help, (name, action.dest)
