"""Shared bits of the tasks: opening the workspace, progress, publishing counts.

Progress is shown twice: a bar in the terminal (rich, only when stderr is a terminal,
so a log file or CI stays quiet) and a Prefect progress artifact per running step
(created at 0 %, updated as each class ends). Both carry counts only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import (
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.exceptions import MissingContextError

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.resources import resources_for
from hocbaso.steps import ClassFailure, StepOutcome, summary_lines_vi
from hocbaso.store import Store


def open_workspace(root: str) -> tuple[Workspace, SchoolConfig, Store]:
    """The workspace, its validated configuration and its store."""
    res = resources_for(root)
    return res.ws, res.config, res.store


def school_code(workspace: str) -> str:
    """The school's code for run names (``99000101``), or the folder's name if unreadable."""
    try:
        return resources_for(workspace).config.truong.ma_truong
    except Exception:  # a run name must never stop a run
        return workspace.rstrip("/").rsplit("/", 1)[-1]


@contextmanager
def services(workspace: str, *, pki: bool = False, registry: bool = False) -> Iterator[None]:
    """Run the services a step needs (demo PKI, stand-in registry) around the block."""
    with resources_for(workspace).running(pki=pki, registry=registry):
        yield


def task_log(message: str) -> None:
    """A line in the run's log (counts, never names); printed outside a run."""
    try:
        get_run_logger().info(message)
    except MissingContextError:
        print(message)


class _NoBar:
    def update(self, description: str) -> None:
        pass

    def advance(self) -> None:
        pass


class _RichBar:
    def __init__(self, title: str, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("lớp"),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task(title, total=total)
        self._progress.start()

    def update(self, description: str) -> None:
        self._progress.update(self._task, description=description)

    def advance(self) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()


def each_class(key: str, title: str, classes: Sequence[str]) -> Iterator[str]:
    """Yield each class in turn while showing the step's progress (terminal and Prefect)."""
    total = len(classes)
    artifact: Any = None
    try:
        artifact = create_progress_artifact(0.0, key=f"tien-do-{key}", description=title)
    except MissingContextError:
        artifact = None
    bar: _NoBar | _RichBar = _RichBar(title, total) if total and sys.stderr.isatty() else _NoBar()
    try:
        for done, ma_lop in enumerate(classes, start=1):
            bar.update(f"{title}: lớp {ma_lop}")
            yield ma_lop
            bar.advance()
            if artifact is not None:
                update_progress_artifact(
                    artifact, 100.0 * done / total, description=f"{title}: {done}/{total} lớp"
                )
    finally:
        if isinstance(bar, _RichBar):
            bar.stop()


def publish_outcomes(
    key: str,
    title: str,
    outcomes: list[StepOutcome],
    failures: Sequence[ClassFailure] = (),
    not_tried: Sequence[str] = (),
) -> list[str]:
    """A table artifact with one row per class (counts and times, no personal data) and
    the step's Vietnamese summary, printed and returned."""
    rows: list[dict[str, Any]] = [
        {
            "Lớp": o.ma_lop,
            "Đã xong": o.processed,
            "Đã xong từ trước": o.skipped,
            "Chờ đánh giá bổ sung": o.waiting,
            "Bị CSDL từ chối": o.rejected,
            "Lỗi": "",
            "Giây": round(o.seconds, 1),
        }
        for o in outcomes
    ]
    rows += [
        {
            "Lớp": f.ma_lop,
            "Đã xong": 0,
            "Đã xong từ trước": 0,
            "Chờ đánh giá bổ sung": 0,
            "Bị CSDL từ chối": 0,
            "Lỗi": f.reason,
            "Giây": 0.0,
        }
        for f in failures
    ]
    lines = summary_lines_vi(title, outcomes, failures, not_tried)
    if rows:
        create_table_artifact(key=key, table=rows, description=lines[0])
    for o in outcomes:
        if o.rejected or o.waiting:
            print(o.line_vi())
    for line in lines:
        print(line)
    return lines


def _run_label(step: str, params: dict[str, Any]) -> str:
    parts = [school_code(str(params.get("workspace", ""))), step]
    if params.get("role"):
        parts.append(str(params["role"]))
    if params.get("ma_lop"):
        parts.append(f"lop-{params['ma_lop']}")
    if params.get("dot"):
        parts.append(f"dot-{params['dot']}")
    return "-".join(parts)


def flow_run_name(step: str) -> Any:
    """A flow's ``flow_run_name``: school code, step, and role/class when given
    (``99000101-ky-hoc-ba-gvcn-lop-3A``) instead of a random pair of words."""

    def name() -> str:
        from prefect.runtime import flow_run

        return _run_label(step, dict(flow_run.parameters))

    return name
