"""Runs whose process died end as Crashed in the UI, not Running forever.

A flow run killed by SIGKILL or a power cut never reports its end: Prefect's
server keeps showing it Running (or Pending). ``hbs`` marks them at the start of
the next command that changes the workspace, while it holds the workspace lock:
then no live process of this workspace is running a flow (every flow takes the
same lock), so every unfinished run of the workspace is an interrupted one.

Which runs are the workspace's: on its own server (``.prefect`` in the
workspace), every run; on a server shared with others (``PREFECT_API_URL``),
only the runs tagged with the workspace's id, which ``hbs`` puts on each run it
starts.
"""

from __future__ import annotations

from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.states import Crashed

from hbs.prefect_server import PrefectApi

CRASHED_MESSAGE = (
    "Tiến trình chạy luồng này đã dừng đột ngột (bị tắt, bị dừng cưỡng bức hoặc mất điện) "
    "trước khi báo kết quả; lệnh hbs tiếp theo trên thư mục làm việc đã đánh dấu nó là Crashed. "
    "Chạy lại bước đó: những học bạ đã xong được giữ nguyên, phần còn lại được làm tiếp."
)
_UNFINISHED = [StateType.RUNNING, StateType.PENDING]
_PAGE = 200


def mark_interrupted_runs(api: PrefectApi) -> int:
    """Set every unfinished flow run of the workspace (and its unfinished task runs) to
    Crashed; the number of flow runs marked.

    Call only while holding the workspace lock, before this command starts a run.
    """
    runs_filter = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=_UNFINISHED)),
        tags=None if api.home is not None else FlowRunFilterTags(all_=[api.run_tag]),
    )
    marked: set[UUID] = set()
    with get_client(sync_client=True) as client:
        while True:
            # Marked runs leave the filter, so each page starts again at offset 0; a run
            # seen twice (the server kept it unfinished) ends the loop.
            runs = client.read_flow_runs(flow_run_filter=runs_filter, limit=_PAGE)
            ids = [run.id for run in runs if run.id not in marked]
            if not ids:
                return len(marked)
            tasks_filter = TaskRunFilter(
                flow_run_id=TaskRunFilterFlowRunId(any_=ids),
                state=TaskRunFilterState(type=TaskRunFilterStateType(any_=_UNFINISHED)),
            )
            for task in client.read_task_runs(task_run_filter=tasks_filter):
                client.set_task_run_state(task.id, Crashed(message=CRASHED_MESSAGE), force=True)
            for run_id in ids:
                client.set_flow_run_state(run_id, Crashed(message=CRASHED_MESSAGE), force=True)
            marked.update(ids)


def interrupted_runs_line(count: int, ui_url: str) -> str:
    """The one line a command prints when it marked interrupted runs."""
    return (
        f"Đã đánh dấu {count} lần chạy bị gián đoạn (tiến trình đã dừng đột ngột) là Crashed "
        f"trong giao diện Prefect: {ui_url}"
    )
