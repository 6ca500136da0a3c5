"""Submit (nộp): send a class's sealed records to CSDL Học bạ số and keep the receipts.

Before anything is sent, the class's sealed records move to ``submitted`` (the
intent is on record). The answers are kept by the store's receipt unit of work
(``hocbaso.store.receipt_writer``): ``accepted`` with the receipt
(``ma_tra_cuu``) or ``rejected`` with the registry's code and message, written
in a few transactions per class rather than one per answer, and all of them
before this step returns (see that module for the crash guarantee). A record
whose answer never came stays ``submitted``; the rerun sends it again, which the
registry treats as the same record (same identifier, same bytes), so nothing is
ever issued twice. A rejected record is not sent again by a rerun: it waits for
the principal's unlock (``hocbaso.states``), then the lock, the signatures and
the seal, and is submitted again under the same identifier.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from hocbaso.config import Workspace
from hocbaso.errors import RegistryRejected, RegistryUnavailable
from hocbaso.files import read_content
from hocbaso.model import TrangThai
from hocbaso.registry import Outcome, SubmitItem
from hocbaso.resources import Resources
from hocbaso.states import SUBMIT
from hocbaso.steps import StepOutcome
from hocbaso.store import (
    RecordChange,
    StoredRecord,
    current_records,
    receipt_writer,
    transition,
)


def _items(ws: Workspace, records: list[StoredRecord]) -> Iterator[SubmitItem]:
    """The records' files, read lazily and checked against the store's hashes."""
    for r in records:
        files = r.files
        xml = read_content(ws, files.xml_path, files.xml_sha256)
        pdf = read_content(ws, files.pdf_path, files.pdf_sha256)
        yield SubmitItem(r.ma_hoc_ba, xml, pdf)


def submit_class(res: Resources, ma_lop: str, *, budget_s: float | None = None) -> StepOutcome:
    """Send every sealed (or sent but unanswered) record of ``ma_lop``.

    ``budget_s`` bounds the time a record may spend retrying a registry that does not
    answer; the batch stops at the first such record and this raises
    ``RegistryUnavailable`` naming the address (the records sent so far keep their
    receipts; a rerun sends the rest).

    ``processed`` counts the records the registry accepted, ``rejected`` those it
    refused (now ``rejected`` in the store, with the reason).
    """
    ws, store = res.ws, res.store
    started = time.perf_counter()
    waiting = current_records(store, states=SUBMIT.takes, ma_lop=ma_lop)
    sealed = [r for r in waiting if r.trang_thai == TrangThai.SEALED]
    transition(store, [RecordChange(r.ma_hoc_ba) for r in sealed], SUBMIT)
    records = waiting
    expected = {r.ma_hoc_ba: r.xml_sha256 for r in records}

    with res.registry.client() as client, receipt_writer(store) as receipts:

        def store_answer(outcome: Outcome) -> None:
            if outcome.receipt is not None:
                receipt = outcome.receipt
                if receipt.sha256 != expected[outcome.ma_hoc_ba]:
                    raise RegistryRejected(
                        "CSDL Học bạ số xác nhận một nội dung khác với tệp đã gửi.",
                        code="SHA256",
                        status=200,
                        hint="Không nộp lại; báo cho bộ phận quản trị CSDL Học bạ số.",
                    )
                receipts.accept(outcome.ma_hoc_ba, receipt.ma_tra_cuu, receipt.received_at)
            elif isinstance(outcome.error, RegistryRejected):
                receipts.reject(outcome.ma_hoc_ba, outcome.error.code, outcome.error.message)

        outcomes = client.submit_many(_items(ws, records), store_answer, budget_s=budget_s)
    unavailable = [o for o in outcomes if isinstance(o.error, RegistryUnavailable)]
    if unavailable:
        first = unavailable[0].error
        assert isinstance(first, RegistryUnavailable)
        raise RegistryUnavailable(
            f"Lớp {ma_lop}: {len(unavailable)} học bạ chưa gửi được. {first.message}",
            hint="Các học bạ đã được tiếp nhận vẫn giữ nguyên; chạy lại `hbs submit` sau ít phút "
            "để gửi tiếp phần còn lại.",
        )
    accepted = sum(1 for o in outcomes if o.ok)
    rejected = sum(1 for o in outcomes if isinstance(o.error, RegistryRejected))
    return StepOutcome(
        "nop",
        ma_lop,
        accepted,
        time.perf_counter() - started,
        skipped=len(outcomes) - accepted - rejected,
        rejected=rejected,
    )
