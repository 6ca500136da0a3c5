"""Tasks of the record steps: lock, sign, stamp, submit — one class per task run."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from hocbaso import issue, lock, submission
from hocbaso.guidance import nothing_waiting, resolve_class
from hocbaso.resources import resources_for
from hocbaso.signing import Role
from hocbaso.states import step_named
from hocbaso.steps import StepOutcome
from hocbaso.store import classes_waiting
from tasks.common import open_workspace, task_log

#: How long one class may keep trying a registry that does not answer (seconds).
CLASS_RETRY_BUDGET_S = 60.0
#: The budget of the next classes once one class found the registry silent: one short try
#: each (it may be back), so an outage costs about a minute, not a minute per class.
PROBE_RETRY_BUDGET_S = 8.0


@task(name="lop-cho-buoc", cache_policy=NO_CACHE, task_run_name="lop-cho-{step}")
def classes_waiting_task(workspace: str, step: str, ma_lop: str | None = None) -> list[str]:
    """Classes with at least one current record waiting for ``step`` (a ``hocbaso.states``
    name); ``ma_lop`` in any case; when none waits, say why and what comes first."""
    _, _, store = open_workspace(workspace)
    wanted = resolve_class(store, ma_lop)
    waiting = classes_waiting(store, step_named(step), wanted)
    if not waiting:
        for line in nothing_waiting(store, step_named(step), wanted):
            print(line)
    else:
        task_log(f"{len(waiting)} lớp có học bạ chờ bước này.")
    return waiting


@task(name="chot-lop", cache_policy=NO_CACHE, task_run_name="chot-lop-{ma_lop}")
def lock_class_task(workspace: str, ma_lop: str) -> StepOutcome:
    """Build, validate, render and freeze the class's draft records."""
    outcome = lock.lock_class(resources_for(workspace), ma_lop)
    task_log(outcome.line_vi())
    return outcome


@task(name="ky-lop", cache_policy=NO_CACHE, task_run_name="ky-{role}-lop-{ma_lop}")
def sign_class_task(workspace: str, ma_lop: str, role: Role) -> StepOutcome:
    """The class's signer (GVCN, HT or the seal) signs every record waiting for them."""
    outcome = issue.sign_class(resources_for(workspace), ma_lop, role)
    task_log(outcome.line_vi())
    return outcome


@task(name="nop-lop", cache_policy=NO_CACHE, task_run_name="nop-lop-{ma_lop}")
def submit_class_task(
    workspace: str, ma_lop: str, budget_s: float = CLASS_RETRY_BUDGET_S
) -> StepOutcome:
    """Send the class's sealed records; receipts stored as they arrive.

    No Prefect retries: the registry client retries within ``budget_s`` and says, in
    Vietnamese, which address did not answer; the flow decides what to do next."""
    outcome = submission.submit_class(resources_for(workspace), ma_lop, budget_s=budget_s)
    task_log(outcome.line_vi())
    return outcome
