"""Tasks of the record steps: lock, sign, stamp, submit — one class per task run."""

from __future__ import annotations

from contextlib import AbstractContextManager

import polars as pl
from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from hocbaso import approval, issue, local_signing, lock, submission
from hocbaso.guidance import nothing_waiting, resolve_class
from hocbaso.resources import resources_for
from hocbaso.signing import Role
from hocbaso.states import step_named
from hocbaso.steps import StepOutcome
from hocbaso.store import classes_waiting, journal
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


def lock_step(workspace: str, classes: list[str]) -> AbstractContextManager[lock.LockStep]:
    """The lock of ``classes``: their records computed in worker processes from now on
    (a context manager around the commits of ``lock_class_task``)."""
    return lock.lock_step(resources_for(workspace), classes)


@task(name="chot-lop", cache_policy=NO_CACHE, task_run_name="chot-lop-{ma_lop}")
def lock_class_task(workspace: str, ma_lop: str, step: lock.LockStep | None = None) -> StepOutcome:
    """Freeze the class's draft records (built, validated and rendered by ``step``'s
    workers, or here without one), in one transaction."""
    if step is None:
        outcome = lock.lock_class(resources_for(workspace), ma_lop)
    else:
        outcome = step.commit(ma_lop)
    task_log(outcome.line_vi())
    return outcome


def signing_step(workspace: str, role: Role, classes: list[str]) -> AbstractContextManager[None]:
    """The signing of ``classes`` by ``role``: key-file and token signatures computed in
    worker processes from now on (a context manager around ``sign_class_task``)."""
    return local_signing.signing_workers(resources_for(workspace), role, classes)


@task(name="ky-lop", cache_policy=NO_CACHE, task_run_name="ky-{role}-lop-{ma_lop}")
def sign_class_task(workspace: str, ma_lop: str, role: Role) -> StepOutcome:
    """The class's signer (GVCN, HT or the seal) signs every record waiting for them;
    remote confirmations are awaited within the configured bound, then left for a rerun."""
    outcome = issue.sign_class(resources_for(workspace), ma_lop, role)
    task_log(outcome.line_vi())
    return outcome


@task(name="gui-yeu-cau-ky", cache_policy=NO_CACHE, task_run_name="gui-{role}-lop-{ma_lop}")
def send_requests_task(workspace: str, ma_lop: str, role: Role) -> StepOutcome | None:
    """Send the class's remote signing requests without waiting for them (``None`` when
    its signer signs with a key or token); ``sign_class_task`` collects them later."""
    return issue.send_requests(resources_for(workspace), ma_lop, role)


@task(name="duyet-san", cache_policy=NO_CACHE, task_run_name="duyet-san-lop-{ma_lop}")
def approved_task(workspace: str, ma_lop: str) -> bool:
    """Whether the principal approved the class (or approved it ahead in school.toml)."""
    res = resources_for(workspace)
    if approval.is_approved(res, ma_lop):
        return True
    if res.config.duyet.duyet_truoc:
        approval.approve(res, ma_lop, "school.toml")
        return True
    return False


@task(name="ghi-duyet", cache_policy=NO_CACHE, task_run_name="ghi-duyet-lop-{ma_lop}")
def record_decision_task(
    workspace: str, ma_lop: str, approve: bool, ly_do: str, source: approval.Source
) -> int:
    """Keep the principal's answer: approve the class, or return it to draft (audited)."""
    res = resources_for(workspace)
    if approve:
        return approval.approve(res, ma_lop, source)
    return approval.return_class(res, ma_lop, ly_do, source)


@task(name="tien-do-ky", cache_policy=NO_CACHE)
def signing_views_task(workspace: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Rows of ``v_giao_dich_ky`` and ``v_tien_do_ky`` (no personal data)."""
    store = resources_for(workspace).store
    requests = journal.signing_requests(store).with_columns(
        tao_luc=pl.col("tao_luc").cast(pl.String), xong_luc=pl.col("xong_luc").cast(pl.String)
    )
    return requests.to_dicts(), journal.signing_progress(store).to_dicts()


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


def approval_timeout(workspace: str) -> int:
    """How long a run paused for the principal's approval waits (``[duyet] cho_duyet_giay``)."""
    return resources_for(workspace).config.duyet.cho_duyet_giay


def _table(rows: list[dict[str, object]], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return lines


def publish_signing_views(
    requests: list[dict[str, object]], progress: list[dict[str, object]]
) -> None:
    """``v_giao_dich_ky`` and ``v_tien_do_ky`` as one Markdown artifact (no personal data)."""
    left = sum(int(str(r["con_lai"])) for r in progress)
    lines = [
        "## Tiến độ ký (v_tien_do_ky)",
        "",
        f"Còn {left} chữ ký học bạ chưa có (theo lớp, vai trò, người ký).",
        "",
        *_table(progress, ["ma_lop", "vai_tro", "ma_giao_vien", "so_hoc_ba", "da_ky", "con_lai"]),
        "",
        "## Yêu cầu ký (v_giao_dich_ky)",
        "",
        *_table(
            requests[-200:],
            [
                "ma_giao_dich",
                "ma_lop",
                "vai_tro",
                "kenh",
                "ma_giao_vien",
                "so_chu_ky",
                "trang_thai",
                "tao_luc",
                "xong_luc",
            ],
        ),
    ]
    create_markdown_artifact(
        key="tien-do-ky", markdown="\n".join(lines), description="Tiến độ ký và các yêu cầu ký"
    )
