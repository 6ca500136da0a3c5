"""Submit (nộp): send a class's sealed records to CSDL Học bạ số and keep the receipts.

Before anything is sent, the class's sealed records move to ``submitted`` (the
intent is on record). Each answer is stored as it arrives, in its own
transaction: ``accepted`` with the receipt (``ma_tra_cuu``) or ``rejected`` with
the registry's code and message. A record whose answer never came stays
``submitted``; the rerun sends it again, which the registry treats as the same
record (same identifier, same bytes), so nothing is ever issued twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from hocbaso.config import Workspace
from hocbaso.errors import RegistryRejected, RegistryUnavailable
from hocbaso.files import read_content
from hocbaso.model import TrangThai
from hocbaso.registry import Outcome, SubmitItem
from hocbaso.resources import Resources
from hocbaso.steps import StepOutcome
from hocbaso.store import (
    RecordChange,
    apply_transition,
    current_records,
    transaction_on,
    transition,
)

ACTOR = "to_cong_tac"


def _items(ws: Workspace, records: list[dict[str, Any]]) -> Iterator[SubmitItem]:
    """The records' files, read lazily and checked against the store's hashes."""
    for r in records:
        xml = read_content(ws, r["xml_path"], r["sha256"])
        pdf = read_content(ws, r["pdf_path"], Path(r["pdf_path"]).stem)
        yield SubmitItem(r["ma_hoc_ba"], xml, pdf)


def submit_class(res: Resources, ma_lop: str) -> StepOutcome:
    """Send every sealed (or sent but unanswered) record of ``ma_lop``."""
    ws, store = res.ws, res.store
    started = time.perf_counter()
    sealed = current_records(store, states=[TrangThai.SEALED], ma_lop=ma_lop)
    transition(
        store,
        [RecordChange(r["ma_hoc_ba"]) for r in sealed],
        TrangThai.SUBMITTED,
        vai_tro=ACTOR,
        hanh_dong="gui_csdl",
    )
    records = current_records(store, states=[TrangThai.SUBMITTED], ma_lop=ma_lop)
    expected = {r["ma_hoc_ba"]: r["sha256"] for r in records}

    def store_answer(con: duckdb.DuckDBPyConnection, outcome: Outcome) -> None:
        if outcome.receipt is not None:
            receipt = outcome.receipt
            if receipt.sha256 != expected[outcome.ma_hoc_ba]:
                raise RegistryRejected(
                    "CSDL Học bạ số xác nhận một nội dung khác với tệp đã gửi.",
                    code="SHA256",
                    status=200,
                    hint="Không nộp lại; báo cho bộ phận quản trị CSDL Học bạ số.",
                )
            change = RecordChange(
                outcome.ma_hoc_ba,
                {"ma_tra_cuu": receipt.ma_tra_cuu, "ngay_nhan": receipt.received_at},
            )
            with transaction_on(con):
                apply_transition(
                    con, [change], TrangThai.ACCEPTED, vai_tro=ACTOR, hanh_dong="csdl_tiep_nhan"
                )
        elif isinstance(outcome.error, RegistryRejected):
            change = RecordChange(
                outcome.ma_hoc_ba,
                {"ma_loi": outcome.error.code, "loi": outcome.error.message},
                {"ma_loi": outcome.error.code},
            )
            with transaction_on(con):
                apply_transition(
                    con, [change], TrangThai.REJECTED, vai_tro=ACTOR, hanh_dong="csdl_tu_choi"
                )

    # One connection for the batch; each answer is still its own transaction.
    with res.registry.client() as client, store.session() as con:
        outcomes = client.submit_many(_items(ws, records), lambda o: store_answer(con, o))
    unavailable = [o for o in outcomes if isinstance(o.error, RegistryUnavailable)]
    if unavailable:
        raise RegistryUnavailable(
            f"Lớp {ma_lop}: {len(unavailable)} học bạ chưa gửi được vì CSDL Học bạ số không "
            "trả lời.",
            hint="Các học bạ đã được tiếp nhận vẫn giữ nguyên; chạy lại `hbs submit` sau ít phút "
            "để gửi tiếp phần còn lại.",
        )
    accepted = sum(1 for o in outcomes if o.ok)
    return StepOutcome(
        "nop", ma_lop, accepted, time.perf_counter() - started, skipped=len(outcomes) - accepted
    )
