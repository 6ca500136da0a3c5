"""Tasks of the principal's decisions and of the paper copy."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from hocbaso import lifecycle
from hocbaso.resources import resources_for


@task(name="mo-khoa-lop", cache_policy=NO_CACHE, task_run_name="mo-khoa-lop-{ma_lop}")
def unlock_task(workspace: str, ma_lop: str, ly_do: str) -> int:
    """The principal returns a class's records to draft (before the seal)."""
    return lifecycle.unlock_class(resources_for(workspace), ma_lop, ly_do)


@task(name="thu-hoi-hoc-ba", cache_policy=NO_CACHE, task_run_name="thu-hoi-hoc-ba")
def revoke_task(workspace: str, ma_hoc_ba: str, ly_do: str) -> str:
    """Revoke an issued record and open its next version."""
    res = resources_for(workspace)
    with res.running(registry=True):
        return lifecycle.revoke_record(res, ma_hoc_ba, ly_do)


@task(name="in-ban-giay", cache_policy=NO_CACHE, task_run_name="in-ban-giay-lop-{ma_lop}")
def print_task(workspace: str, ma_lop: str, out: str) -> int:
    """One print-ready PDF of the class's issued records."""
    return lifecycle.print_class(resources_for(workspace), ma_lop, Path(out))
