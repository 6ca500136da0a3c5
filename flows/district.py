"""A district's (or province's) issuing run: every school's plan as its own flow run.

The district office keeps one workspace per school (its store, files, keys) and
one Prefect server for all of them. Each school's plan runs as a flow run of the
deployment ``phat-hanh-hoc-ba/phat-hanh-truong`` (or, with the school's data file,
``ke-hoach-hoc-ba-so/ke-hoach-truong``: initialize and configure first) on the
process work pool ``hoc-ba-so``; every worker started on that pool, on this
machine or another, takes the next school. One school runs in one worker at a
time (its workspace lock refuses a second), so the district scales by workers.

    prefect work-pool create hoc-ba-so --type process
    prefect deploy --all                                   # prefect.yaml
    prefect worker start --pool hoc-ba-so --type process --limit 1     # one per core
    python -m flows.district /srv/truong-a /srv/truong-b ...
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from hocbaso.errors import HocBaSoError

PLAN_DEPLOYMENT = "phat-hanh-hoc-ba/phat-hanh-truong"
FULL_PLAN_DEPLOYMENT = "ke-hoach-hoc-ba-so/ke-hoach-truong"
POLL_S = 2.0


def _school_name(workspace: str) -> str:
    """The run's name: the workspace folder's name (no personal data)."""
    return f"truong-{Path(workspace).name}"


@flow(name="phat-hanh-cap-huyen", log_prints=True)
def phat_hanh_cap_huyen(
    truong: list[str], nguon: dict[str, str] | None = None, cho_toi_da_s: float = 6 * 3600
) -> dict[str, str]:
    """Run every school's plan on the work pool, all at once; wait for each; report.

    ``truong`` are the schools' workspace folders (as the workers see them);
    ``nguon`` maps a workspace to its data file when the school is to be initialized
    and configured first. Returns each workspace's final state; fails if any school
    did not complete (the others still ran; rerunning the district reruns all, and
    each school continues where it stopped).
    """
    logger = get_run_logger()
    nguon = nguon or {}
    runs = {}
    for ws in truong:
        source = nguon.get(ws)
        name, parameters = (
            (FULL_PLAN_DEPLOYMENT, {"workspace": ws, "source": source})
            if source
            else (PLAN_DEPLOYMENT, {"workspace": ws})
        )
        run = run_deployment(
            name=name, parameters=parameters, timeout=0, flow_run_name=_school_name(ws)
        )
        assert isinstance(run, FlowRun)  # called from a sync flow: the sync form
        runs[ws] = run.id
    print(f"Đã giao {len(runs)} trường cho các worker của work pool.")
    states: dict[str, str] = {}
    deadline = time.monotonic() + cho_toi_da_s
    with get_client(sync_client=True) as client:
        while len(states) < len(runs) and time.monotonic() < deadline:
            for ws, run_id in runs.items():
                if ws in states:
                    continue
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    states[ws] = state.type.value
                    logger.info("%s: %s", _school_name(ws), state.name)
            if len(states) < len(runs):
                time.sleep(POLL_S)
    unfinished = [ws for ws in runs if ws not in states]
    failed = [ws for ws, s in states.items() if s != "COMPLETED"]
    print(f"Xong {len(states) - len(failed)}/{len(runs)} trường.")
    if failed or unfinished:
        names = ", ".join(_school_name(ws) for ws in failed + unfinished)
        raise HocBaSoError(
            f"Chưa phát hành xong ở {len(failed) + len(unfinished)} trường: {names}.",
            hint="Xem lần chạy của từng trường trong giao diện Prefect, sửa rồi chạy lại luồng "
            "cấp huyện (mỗi trường tiếp tục từ chỗ đã dừng).",
        )
    return states


def main(argv: list[str]) -> int:
    """``python -m flows.district WS...``: run the district flow here over those workspaces."""
    if not argv:
        print("Cách dùng: python -m flows.district <thư mục trường> [...]", file=sys.stderr)
        return 2
    phat_hanh_cap_huyen([str(Path(ws).resolve()) for ws in argv])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
