"""After the lock: unlocking before the seal (or after a refusal), revoking after issue,
the paper copy.

Unlocking and revoking are the principal's decisions. The command proves it:
the principal's own key signs a statement of the decision (action, class or
record, reason, time), and the signature and certificate fingerprint go into
the audit event. Nobody else's certificate is accepted.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from hocbaso.errors import RegistryRejected, StoreError, TransitionError
from hocbaso.files import read_content, write_atomic
from hocbaso.model import TrangThai
from hocbaso.render import render_paper_copy
from hocbaso.resources import Resources
from hocbaso.signing import RecordSigner
from hocbaso.states import REVOKE, UNLOCK
from hocbaso.store import (
    RecordChange,
    apply_transition,
    current_records,
    open_next_version,
    record,
)
from hocbaso.store.audit import append_events


def _require_reason(ly_do: str) -> str:
    if not ly_do.strip():
        raise StoreError("Thao tác này phải có lý do.", hint="Ghi lý do bằng tham số --reason.")
    return ly_do.strip()


def _sign_statement(signer: RecordSigner, statement: dict[str, Any]) -> dict[str, Any]:
    """The principal's signature over the decision, kept in the audit event."""
    body = json.dumps(statement, ensure_ascii=False, sort_keys=True).encode("utf-8")
    key = signer.xml_key
    if isinstance(key, rsa.RSAPrivateKey):
        sig = key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        sig = key.sign(body, ec.ECDSA(hashes.SHA256()))
    else:  # pragma: no cover - RecordSigner only holds RSA or EC keys
        raise TypeError(type(key))
    fingerprint = signer.crypto_certificate.fingerprint(hashes.SHA256()).hex()
    return {
        **statement,
        "chu_ky_hieu_truong": base64.b64encode(sig).decode(),
        "chung_thu_sha256": fingerprint,
    }


def _principal_proof(res: Resources, statement: dict[str, Any]) -> dict[str, Any]:
    _, signer = res.signer_for("ht")
    return _sign_statement(signer, statement)


def unlock_class(res: Resources, ma_lop: str, ly_do: str) -> int:
    """Return a class's records to draft, by the principal, with a reason.

    Unlocked are the records waiting for ``UNLOCK`` (``hocbaso.states``): locked or
    signed but not sealed, and records the registry refused (``rejected``). A
    refused record was never issued, so rebuilding it does not touch the rule that
    sealed content never changes once issued: it is locked again from the store's
    data, signed, sealed and submitted under the same ``ma_hoc_ba`` and version;
    its unlock event keeps the registry's code (``ma_loi``) next to the principal's
    reason, and the row keeps ``ma_loi``/``loi`` until the registry accepts it.
    """
    store = res.store
    ly_do = _require_reason(ly_do)
    records = current_records(store, states=UNLOCK.takes, ma_lop=ma_lop)
    sealed_or_later = current_records(
        store,
        ma_lop=ma_lop,
        states=[TrangThai.SEALED, TrangThai.SUBMITTED, TrangThai.ACCEPTED],
    )
    if not records and sealed_or_later:
        raise TransitionError(
            f"Học bạ lớp {ma_lop} đã đóng dấu nên không mở khóa được.",
            hint="Học bạ đã cấp chỉ sửa được bằng cách thu hồi và cấp phiên bản mới "
            "(`hbs revoke`).",
        )
    proof = _principal_proof(
        res,
        {
            "hanh_dong": "mo_khoa",
            "ma_lop": ma_lop,
            "ly_do": ly_do,
            "thoi_diem": dt.datetime.now(dt.UTC).isoformat(),
            "so_hoc_ba": len(records),
        },
    )
    cleared = {"sha256_du_lieu": None, "sha256": None, "xml_path": None, "pdf_path": None}
    changes = [
        RecordChange(
            r.ma_hoc_ba,
            dict(cleared),
            {"ly_do": ly_do, **({"ma_loi": r.ma_loi} if r.ma_loi else {})},
        )
        for r in records
    ]
    with store.transaction() as con:
        apply_transition(con, changes, UNLOCK)
        append_events(con, UNLOCK.actor, "xac_nhan_mo_khoa", [(None, proof)])
    return len(changes)


def revoke_record(res: Resources, ma_hoc_ba: str, ly_do: str) -> str:
    """Revoke an issued record at the registry and open its next version as a draft.

    Returns the new version's ``ma_hoc_ba``. Safe to rerun after a crash: a
    registry that already revoked it answers "already revoked", which is taken as done.
    """
    store = res.store
    ly_do = _require_reason(ly_do)
    previous = record(store, ma_hoc_ba)
    if previous is None or not REVOKE.moves(previous.trang_thai):
        raise TransitionError(
            f"Học bạ {ma_hoc_ba} không ở trạng thái đã cấp nên không thu hồi được.",
            hint="Chỉ thu hồi học bạ đã được CSDL Học bạ số tiếp nhận; xem `hbs report`.",
        )
    proof = _principal_proof(
        res,
        {
            "hanh_dong": "thu_hoi",
            "ma_hoc_ba": ma_hoc_ba,
            "ly_do": ly_do,
            "thoi_diem": dt.datetime.now(dt.UTC).isoformat(),
        },
    )
    with res.registry.client() as client:
        try:
            client.revoke(ma_hoc_ba, ly_do)
        except RegistryRejected as exc:
            if exc.code != "REVOKED":
                raise
    with store.transaction() as con:
        apply_transition(con, [RecordChange(ma_hoc_ba, {}, {"ly_do": ly_do})], REVOKE)
        return open_next_version(con, previous, vai_tro=REVOKE.actor, extra_events=[(None, proof)])


def print_class(res: Resources, ma_lop: str, out: Path) -> int:
    """The paper copy (bản giấy) of a class's issued records, with lookup code and QR."""
    ws, store = res.ws, res.store
    records = current_records(store, states=[TrangThai.ACCEPTED], ma_lop=ma_lop)
    base = res.registry.tra_cuu_url().rstrip("/")
    items = []
    for r in records:
        assert r.ma_tra_cuu is not None  # an accepted record has its receipt
        pdf = read_content(ws, r.files.pdf_path, r.files.pdf_sha256)
        items.append((pdf, r.ma_tra_cuu, f"{base}/{r.ma_tra_cuu}"))
    write_atomic(out, render_paper_copy(items))
    with store.transaction() as con:
        append_events(
            con, "to_cong_tac", "in_ban_giay", [(None, {"ma_lop": ma_lop, "so_hoc_ba": len(items)})]
        )
    return len(items)
