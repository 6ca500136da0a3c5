"""Each step of the plan as a plain function, handed a ``Resources`` with an in-process
registry: configure, lock, sign (GVCN, HT, seal), submit (accepted and refused),
unlock of a refused record, revoke, paper copy, report and verify.

The demo credentials are the real ones (the demo PKI, its TSA/OCSP/CRL in a thread of
this process); the registry is ``FakeRegistry`` below, an in-process twin of the
``RegistryPort`` that records what it was sent. No Prefect, no HTTP server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import polars as pl
import pytest

from hocbaso.configure import configure
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.errors import RegistryRejected, TransitionError
from hocbaso.initialize import initialize
from hocbaso.issue import sign_class
from hocbaso.lifecycle import print_class, revoke_record, unlock_class
from hocbaso.lock import lock_class
from hocbaso.model import TrangThai
from hocbaso.registry.results import Outcome, Receipt, RecordStatus, SubmitItem
from hocbaso.resources import Resources, open_resources
from hocbaso.statistics import school_statistics
from hocbaso.store import current_records
from hocbaso.submission import submit_class
from hocbaso.verification import verify_files

CLASS = "1A"


@dataclass
class FakeRegistry:
    """The registry port in process: accepts everything except the ids in ``refuse``."""

    refuse: set[str] = field(default_factory=set)
    sent: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    kind: str = "gia_lap"

    def client(self) -> FakeRegistry:
        return self

    def __enter__(self) -> FakeRegistry:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def submit_many(
        self,
        items: Iterable[SubmitItem],
        on_result: Callable[[Outcome], None] | None = None,
        *,
        budget_s: float | None = None,
    ) -> list[Outcome]:
        outcomes = []
        for item in items:
            self.sent.append(item.ma_hoc_ba)
            if item.ma_hoc_ba in self.refuse:
                self.refuse.discard(item.ma_hoc_ba)  # refused once; accepted after a fix
                error = RegistryRejected("Chữ ký không hợp lệ.", code="SIGNATURE", status=422)
                outcome = Outcome(item.ma_hoc_ba, error=error)
            else:
                receipt = Receipt(
                    item.ma_hoc_ba,
                    f"TC{len(self.sent):06d}",
                    dt.datetime.now(dt.UTC),
                    hashlib.sha256(item.xml).hexdigest(),
                    "created",
                )
                outcome = Outcome(item.ma_hoc_ba, receipt=receipt)
            if on_result is not None:
                on_result(outcome)
            outcomes.append(outcome)
        return outcomes

    def revoke(self, ma_hoc_ba: str, ly_do: str) -> RecordStatus:
        self.revoked.append(ma_hoc_ba)
        return RecordStatus(ma_hoc_ba, "revoked", "TC", "")

    def tra_cuu_url(self) -> str:
        return "http://tra-cuu.invalid/tra-cuu"

    def services(self, trust: object) -> nullcontext[None]:
        return nullcontext()

    def serve_forever(self, trust: object, port: int | None) -> None:
        raise AssertionError("not used")


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny school initialized and configured once (demo PKI created)."""
    root = tmp_path_factory.mktemp("truong")
    shutil.copyfile(str(bundled.school_toml_template()), root / "school.toml")
    source = write_xlsx(generate_school(n_students=10, seed=3), root / "nguon.xlsx")
    initialize(open_resources(root).ws, source, expectations=False)
    summary = configure(open_resources(root))
    assert summary.so_lop >= 1 and summary.so_chung_thu_da_kiem_tra >= 3
    return root


@pytest.fixture
def res(configured: Path, tmp_path: Path) -> Iterator[Resources]:
    """A fresh copy of the configured workspace, with the in-process registry."""
    root = tmp_path / "ws"
    shutil.copytree(configured, root)
    resources = open_resources(root)
    resources.registry = FakeRegistry()
    with resources.credentials.services():
        yield resources
    resources.close()


def _states(res: Resources) -> list[str]:
    return [r.trang_thai.value for r in current_records(res.store, ma_lop=CLASS)]


def _issue(res: Resources) -> None:
    for role in ("gvcn", "ht", "condau"):
        sign_class(res, CLASS, role)  # type: ignore[arg-type]


def test_lock_then_each_signer_moves_the_class_once(res: Resources) -> None:
    n = len(_states(res))
    assert lock_class(res, CLASS).processed == n
    assert lock_class(res, CLASS).processed == 0  # nothing waits any more
    for role, state in (("gvcn", "signed_gvcn"), ("ht", "signed_ht"), ("condau", "sealed")):
        assert sign_class(res, CLASS, role).processed == n  # type: ignore[arg-type]
        assert set(_states(res)) == {state}
        assert sign_class(res, CLASS, role).processed == 0  # type: ignore[arg-type]


def test_submit_keeps_receipts_and_counts_a_refusal(res: Resources) -> None:
    lock_class(res, CLASS)
    _issue(res)
    first = current_records(res.store, ma_lop=CLASS)[0].ma_hoc_ba
    registry = res.registry
    assert isinstance(registry, FakeRegistry)
    registry.refuse.add(first)
    outcome = submit_class(res, CLASS)
    assert (outcome.processed, outcome.rejected) == (len(_states(res)) - 1, 1)
    by_id = {r.ma_hoc_ba: r for r in current_records(res.store, ma_lop=CLASS)}
    assert by_id[first].trang_thai == TrangThai.REJECTED and by_id[first].ma_loi == "SIGNATURE"
    assert all(r.ma_tra_cuu for i, r in by_id.items() if i != first)
    sent = len(registry.sent)
    assert submit_class(res, CLASS).processed == 0 and len(registry.sent) == sent

    # The way out: the principal unlocks, the record is rebuilt, signed and accepted.
    assert unlock_class(res, CLASS, "CSDL từ chối chữ ký") == 1
    lock_class(res, CLASS)
    _issue(res)
    assert submit_class(res, CLASS).processed == 1
    assert set(_states(res)) == {"accepted"}


def test_unlock_before_the_seal_needs_a_reason_and_is_refused_after(res: Resources) -> None:
    lock_class(res, CLASS)
    sign_class(res, CLASS, "gvcn")
    with pytest.raises(Exception, match="lý do"):
        unlock_class(res, CLASS, "  ")
    assert unlock_class(res, CLASS, "sửa điểm") == len(_states(res))
    assert set(_states(res)) == {"draft"}
    lock_class(res, CLASS)
    _issue(res)
    with pytest.raises(TransitionError):
        unlock_class(res, CLASS, "quá muộn")


def test_revoke_opens_a_new_version_and_print_uses_the_registry_lookup_url(
    res: Resources, tmp_path: Path
) -> None:
    lock_class(res, CLASS)
    _issue(res)
    submit_class(res, CLASS)
    out = tmp_path / "lop.pdf"
    assert print_class(res, CLASS, out) == len(_states(res)) and out.read_bytes()[:4] == b"%PDF"
    old = current_records(res.store, ma_lop=CLASS)[0]
    new_id = revoke_record(res, old.ma_hoc_ba, "sai ngày sinh")
    registry = res.registry
    assert isinstance(registry, FakeRegistry) and registry.revoked == [old.ma_hoc_ba]
    new = {r.ma_hoc_ba: r for r in current_records(res.store, ma_lop=CLASS)}[new_id]
    assert (new.phien_ban, new.thay_the, new.trang_thai) == (2, old.ma_hoc_ba, TrangThai.DRAFT)
    stats = school_statistics(res.store, res.config)
    # Counted by the current version: the student is counted once, by the new draft.
    assert stats.states.get("revoked", 0) == 0 and stats.states["draft"] >= 1
    assert stats.total_records == len(current_records(res.store))
    progress = stats.table("tien-do-theo-lop").frame.filter(pl.col("Lớp") == CLASS)
    assert progress["Phiên bản cũ đã thu hồi"].to_list() == [1]


def test_verify_accepts_an_issued_pdf_and_refuses_a_changed_one(
    res: Resources, tmp_path: Path
) -> None:
    lock_class(res, CLASS)
    _issue(res)
    record = current_records(res.store, ma_lop=CLASS)[0]
    pdf = res.ws.path(record.files.pdf_path)
    changed = tmp_path / "sua.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    changed.write_bytes(bytes(data))
    good, bad = verify_files(res.ws, res.trust, [pdf, changed])
    assert good.passed, good.summary()
    assert not bad.passed
