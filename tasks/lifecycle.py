"""Tasks of the principal's decisions and of the paper copy."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from hocbaso import lifecycle
from hocbaso.services import workspace_services
from tasks.common import open_workspace


@task(name="mo-khoa-lop", cache_policy=NO_CACHE, task_run_name="mo-khoa-lop-{ma_lop}")
def unlock_task(workspace: str, ma_lop: str, ly_do: str) -> int:
    """The principal returns a class's records to draft (before the seal)."""
    ws, config, store = open_workspace(workspace)
    return lifecycle.unlock_class(ws, config, store, ma_lop, ly_do)


@task(name="thu-hoi-hoc-ba", cache_policy=NO_CACHE)
def revoke_task(workspace: str, ma_hoc_ba: str, ly_do: str) -> str:
    """Revoke an issued record and open its next version."""
    ws, config, store = open_workspace(workspace)
    with workspace_services(workspace, registry=True):
        return lifecycle.revoke_record(ws, config, store, ma_hoc_ba, ly_do)


@task(name="in-ban-giay", cache_policy=NO_CACHE, task_run_name="in-ban-giay-lop-{ma_lop}")
def print_task(workspace: str, ma_lop: str, out: str) -> int:
    """One print-ready PDF of the class's issued records."""
    ws, config, store = open_workspace(workspace)
    return lifecycle.print_class(ws, config, store, ma_lop, Path(out))
