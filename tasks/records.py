"""Tasks of the record steps: lock, sign, stamp, submit — one class per task run."""

from __future__ import annotations

from contextlib import AbstractContextManager

from prefect import task
from prefect.cache_policies import NO_CACHE

from hocbaso import issue, lock, submission
from hocbaso.errors import RegistryUnavailable
from hocbaso.resources import resources_for
from hocbaso.signing import Role
from hocbaso.states import step_named
from hocbaso.steps import StepOutcome
from hocbaso.store import classes_waiting
from tasks.common import open_workspace


@task(name="lop-cho-buoc", cache_policy=NO_CACHE, task_run_name="lop-cho-{step}")
def classes_waiting_task(workspace: str, step: str, ma_lop: str | None = None) -> list[str]:
    """Classes with at least one current record waiting for ``step`` (a ``hocbaso.states`` name)."""
    _, _, store = open_workspace(workspace)
    return classes_waiting(store, step_named(step), ma_lop)


def lock_step(workspace: str, classes: list[str]) -> AbstractContextManager[lock.LockStep]:
    """The lock of ``classes``: their records computed in worker processes from now on
    (a context manager around the commits of ``lock_class_task``)."""
    return lock.lock_step(resources_for(workspace), classes)


@task(name="chot-lop", cache_policy=NO_CACHE, task_run_name="chot-lop-{ma_lop}")
def lock_class_task(workspace: str, ma_lop: str, step: lock.LockStep | None = None) -> StepOutcome:
    """Freeze the class's draft records (built, validated and rendered by ``step``'s
    workers, or here without one), in one transaction."""
    if step is None:
        return lock.lock_class(resources_for(workspace), ma_lop)
    return step.commit(ma_lop)


@task(name="ky-lop", cache_policy=NO_CACHE, task_run_name="ky-{role}-lop-{ma_lop}")
def sign_class_task(workspace: str, ma_lop: str, role: Role) -> StepOutcome:
    """The class's signer (GVCN, HT or the seal) signs every record waiting for them."""
    return issue.sign_class(resources_for(workspace), ma_lop, role)


def _registry_unavailable(task: object, task_run: object, state: object) -> bool:
    """Retry a class only when the registry could not answer (never on a refusal)."""
    try:
        state.result()  # type: ignore[attr-defined]
    except RegistryUnavailable:
        return True
    except Exception:
        return False
    return False


@task(
    name="nop-lop",
    cache_policy=NO_CACHE,
    task_run_name="nop-lop-{ma_lop}",
    retries=3,
    retry_delay_seconds=[10, 30, 90],
    retry_condition_fn=_registry_unavailable,
)
def submit_class_task(workspace: str, ma_lop: str) -> StepOutcome:
    """Send the class's sealed records; receipts stored as they arrive."""
    return submission.submit_class(resources_for(workspace), ma_lop)
