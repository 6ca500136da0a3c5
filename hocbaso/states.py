"""The record's life in one table: every step, the states it takes, the state it gives.

Why one table: the allowed transitions of the store, the state each step starts
from, who acts (the audit ``vai_tro``) and what the audit log calls the act
(``hanh_dong``) used to be written in six places that could drift apart. Here
they are data; the store derives its allowed transitions from ``STEPS`` and
refuses any move that is not a step, and flows ask the store which classes are
waiting for a step (``hocbaso.store.classes_waiting``) instead of naming states.

::

    draft ─lock─> locked ─sign gvcn─> signed_gvcn ─sign ht─> signed_ht ─seal─> sealed
    sealed ─submit─> submitted ─accept─> accepted ─revoke─> revoked (+ a new draft version)
                     submitted ─reject─> rejected
    locked | signed_gvcn | signed_ht | rejected ─unlock (principal, reason)─> draft

The way out of ``rejected``: the registry refused the record (``ma_loi``, ``loi``)
and never accepted it, so nothing was issued under its id. The principal's
audited unlock returns it to ``draft``; it is then locked (rebuilt from the
store's data), signed, sealed and submitted again under the same ``ma_hoc_ba``
and version. This does not break "after the seal the content never changes":
that rule protects what was issued, and a rejected record never was. A
submitted record whose answer never came is sent again by the submit step
(``submitted`` is among what it takes), but a rejected one is not: a rerun does
not loop on refusals.

Plain data: no store, no Prefect, nothing heavy to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from hocbaso.model import TrangThai as S

STATE_NAMES_VI: Mapping[str, str] = {
    S.DRAFT: "bản nháp",
    S.LOCKED: "đã chốt",
    S.SIGNED_GVCN: "GVCN đã ký",
    S.SIGNED_HT: "Hiệu trưởng đã ký",
    S.SEALED: "đã đóng dấu",
    S.SUBMITTED: "đã gửi, chờ kết quả",
    S.ACCEPTED: "đã được CSDL tiếp nhận",
    S.REJECTED: "bị CSDL từ chối, chờ Hiệu trưởng mở khóa",
    S.REVOKED: "đã thu hồi",
}
"""Vietnamese names of the states, keyed by the public ``trang_thai`` strings."""


@dataclass(frozen=True)
class Step:
    """One act on a record: the states it starts from, the state it leaves, who acts."""

    name: str  # stable identifier, also what a flow passes to a task
    takes: frozenset[S]  # a record in one of these states is waiting for this step
    gives: S
    actor: str  # the audit event's vai_tro
    audit_action: str  # the audit event's hanh_dong
    name_vi: str  # for messages

    def moves(self, state: S) -> bool:
        """Whether a record in ``state`` may take this step."""
        return state in self.takes


LOCK = Step("lock", frozenset({S.DRAFT}), S.LOCKED, "to_cong_tac", "chot_du_lieu", "chốt dữ liệu")
SIGN_GVCN = Step("sign_gvcn", frozenset({S.LOCKED}), S.SIGNED_GVCN, "gvcn", "ky_gvcn", "GVCN ký")
SIGN_HT = Step(
    "sign_ht", frozenset({S.SIGNED_GVCN}), S.SIGNED_HT, "hieu_truong", "ky_ht", "Hiệu trưởng ký"
)
SEAL = Step("seal", frozenset({S.SIGNED_HT}), S.SEALED, "van_thu_giu_dau", "ky_condau", "đóng dấu")
# A record sent whose answer never came is still waiting to be sent: the rerun sends
# it again (the registry treats the same id and bytes as the same record).
SUBMIT = Step(
    "submit",
    frozenset({S.SEALED, S.SUBMITTED}),
    S.SUBMITTED,
    "to_cong_tac",
    "gui_csdl",
    "nộp CSDL Học bạ số",
)
ACCEPT = Step(
    "accept",
    frozenset({S.SUBMITTED}),
    S.ACCEPTED,
    "to_cong_tac",
    "csdl_tiep_nhan",
    "CSDL tiếp nhận",
)
REJECT = Step(
    "reject", frozenset({S.SUBMITTED}), S.REJECTED, "to_cong_tac", "csdl_tu_choi", "CSDL từ chối"
)
UNLOCK = Step(
    "unlock",
    frozenset({S.LOCKED, S.SIGNED_GVCN, S.SIGNED_HT, S.REJECTED}),
    S.DRAFT,
    "hieu_truong",
    "mo_khoa",
    "mở khóa",
)
REVOKE = Step("revoke", frozenset({S.ACCEPTED}), S.REVOKED, "hieu_truong", "thu_hoi", "thu hồi")

STEPS: tuple[Step, ...] = (LOCK, SIGN_GVCN, SIGN_HT, SEAL, SUBMIT, ACCEPT, REJECT, UNLOCK, REVOKE)
STEP_BY_NAME: Mapping[str, Step] = {s.name: s for s in STEPS}

SignRole = Literal["gvcn", "ht", "condau"]
SIGN_STEPS: Mapping[SignRole, Step] = {"gvcn": SIGN_GVCN, "ht": SIGN_HT, "condau": SEAL}
"""The signing step of each signer (``hocbaso.signing.Role``), in signing order."""

ALLOWED: Mapping[S, frozenset[S]] = {
    state: frozenset(step.gives for step in STEPS if state in step.takes) for state in S
}
"""Every move a record may make, derived from ``STEPS`` (and only from it)."""


def step_named(name: str) -> Step:
    """The step called ``name`` (what flows pass to tasks); ``KeyError`` names the choices."""
    try:
        return STEP_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown step {name!r}; known: {sorted(STEP_BY_NAME)}") from None
