"""Tasks of the record steps: lock, sign, stamp, submit — one class per task run."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from hocbaso import issue, lock, submission
from hocbaso.errors import RegistryUnavailable
from hocbaso.model import TrangThai
from hocbaso.resources import resources_for
from hocbaso.signing import Role
from hocbaso.steps import StepOutcome
from hocbaso.store import current_records
from tasks.common import open_workspace


@task(name="lop-can-xu-ly", cache_policy=NO_CACHE)
def classes_in_state(workspace: str, states: list[str], ma_lop: str | None = None) -> list[str]:
    """Classes that have at least one current record in one of ``states``."""
    _, _, store = open_workspace(workspace)
    rows = current_records(store, states=[TrangThai(s) for s in states], ma_lop=ma_lop)
    return sorted({r["ma_lop"] for r in rows})


@task(name="chot-lop", cache_policy=NO_CACHE, task_run_name="chot-lop-{ma_lop}")
def lock_class_task(workspace: str, ma_lop: str) -> StepOutcome:
    """Build, validate, render and freeze the class's draft records."""
    return lock.lock_class(resources_for(workspace), ma_lop)


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
