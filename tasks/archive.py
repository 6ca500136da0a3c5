"""Tasks of the archive renewal (gia hạn lưu trữ): one class per task run."""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.cache_policies import NO_CACHE

from hocbaso import renewal
from hocbaso.resources import resources_for
from hocbaso.steps import StepOutcome


@task(name="lop-da-cap", cache_policy=NO_CACHE)
def issued_classes_task(workspace: str) -> list[str]:
    """Classes with at least one issued record."""
    return renewal.classes_issued(resources_for(workspace))


@task(name="gia-han-lop", cache_policy=NO_CACHE, task_run_name="gia-han-lop-{ma_lop}")
def renew_class_task(workspace: str, ma_lop: str, margin_days: int, min_days: int) -> StepOutcome:
    """A new archive timestamp for every due record of the class (one transaction)."""
    return renewal.renew_class(
        resources_for(workspace),
        ma_lop,
        margin=dt.timedelta(days=margin_days),
        min_interval=dt.timedelta(days=min_days),
    )
