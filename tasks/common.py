"""Shared bits of the tasks: opening the workspace, publishing counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.artifacts import create_markdown_artifact

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.resources import resources_for
from hocbaso.steps import StepOutcome
from hocbaso.store import Store


def open_workspace(root: str) -> tuple[Workspace, SchoolConfig, Store]:
    """The workspace, its validated configuration and its store."""
    res = resources_for(root)
    return res.ws, res.config, res.store


@contextmanager
def services(workspace: str, *, pki: bool = False, registry: bool = False) -> Iterator[None]:
    """Run the services a step needs (demo PKI, stand-in registry) around the block."""
    with resources_for(workspace).running(pki=pki, registry=registry):
        yield


def publish_outcomes(key: str, title: str, outcomes: list[StepOutcome]) -> None:
    """A Markdown artifact with one line per class: counts and times, no personal data."""
    total = sum(o.processed for o in outcomes)
    rejected = sum(o.rejected for o in outcomes)
    lines = [
        f"## {title}",
        "",
        f"Tổng: {total} học bạ" + (f"; {rejected} bị CSDL từ chối" if rejected else ""),
        "",
        "| Lớp | Số học bạ | Đã xong từ trước | Bị từ chối | Giây |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {o.ma_lop} | {o.processed} | {o.skipped} | {o.rejected} | {o.seconds:.1f} |"
        for o in outcomes
    ]
    for o in outcomes:
        if o.rejected:
            print(o.line_vi())
    create_markdown_artifact(key=key, markdown="\n".join(lines), description=title)
