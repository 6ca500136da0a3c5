"""Lock (chốt dữ liệu): build a class's records, validate them, render them, freeze them.

A record is locked when its XML is schema-valid, its printable copy carries that
XML, both files are stored under their hash, and the store knows the data
digest. Only students whose result is final are locked; those waiting for the
summer supplementary assessment stay drafts until the decision is imported.

The step is split in three (``hocbaso.parallel``): ``prepare_lock`` reads what a
class needs from the store (one connection for the step); ``compute_lock`` builds, validates,
renders and writes the files of one class from plain data (in a worker process
when the step has several classes); the parent commits each class in one
transaction, in class order (``LockStep.commit``). ``lock_class`` does the three
for one class in this process.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from hocbaso.config import SchoolConfig, Workspace
from hocbaso.dataset import SchoolData
from hocbaso.files import store_content
from hocbaso.parallel import ClassWorkers, Pending, class_workers
from hocbaso.record import build_records, data_digest, record_xml, validate_record_xml
from hocbaso.render import RecordRenderer
from hocbaso.states import LOCK
from hocbaso.steps import StepOutcome
from hocbaso.store import (
    RecordChange,
    current_records,
    load_results,
    load_school_data,
    transition,
)
from hocbaso.store.waves import summer_issue_date

if TYPE_CHECKING:  # workers import this module for ``compute_lock`` only: no keys, no PKI
    from hocbaso.resources import Resources


@dataclass(frozen=True)
class VersionGroup:
    """Drafts of one version number (versions differ only after a revocation)."""

    phien_ban: int
    ids: dict[str, str]  # ma_hoc_sinh -> ma_hoc_ba
    thay_the: dict[str, str]  # ma_hoc_sinh -> the revoked record it replaces


@dataclass(frozen=True)
class LockJob:
    """What one class's lock needs, as plain picklable data (no store, no connection)."""

    root: str  # the workspace folder (the files are written under it)
    config: SchoolConfig
    ma_lop: str
    data: SchoolData  # the class's import tables
    results: pl.DataFrame  # final results of the drafts to lock
    groups: tuple[VersionGroup, ...]
    ngay_tao: dt.date
    ngay_phat_hanh_bo_sung: dt.date | None  # the summer wave's date of issue, once imported


@dataclass(frozen=True)
class Computed:
    """A class computed by ``compute_lock``: the moves to commit and the seconds it took."""

    changes: list[RecordChange]
    seconds: float


@cache
def _renderer() -> RecordRenderer:
    # Untagged PDF/A-3b: the record's machine-readable form is its XML (attached), and the
    # tag tree triples the cost of every later signature validation (88 ms vs 200-290 ms).
    return RecordRenderer(pdf_tags=False)


def prepare_lock(res: Resources, ma_lop: str) -> tuple[LockJob | None, int]:
    """Read what ``ma_lop``'s lock needs: its job (``None`` when nothing is ready to
    lock) and the number of its drafts still waiting for a final result."""
    store = res.store
    with store.held():
        drafts = {
            r.ma_hoc_sinh: r for r in current_records(store, states=LOCK.takes, ma_lop=ma_lop)
        }
        results = load_results(store, ma_lop).filter(
            pl.col("ma_hoc_sinh").is_in(list(drafts)) & pl.col("duoc_len_lop").is_not_null()
        )
        waiting = len(drafts) - results.height
        if results.is_empty():
            return None, waiting
        data = load_school_data(store, ma_lop)
        summer_date = summer_issue_date(store)
    groups = []
    for phien_ban in sorted({d.phien_ban for d in drafts.values()}):
        group = {ma: d for ma, d in drafts.items() if d.phien_ban == phien_ban}
        groups.append(
            VersionGroup(
                phien_ban,
                {ma: d.ma_hoc_ba for ma, d in group.items()},
                {ma: d.thay_the for ma, d in group.items() if d.thay_the},
            )
        )
    job = LockJob(
        str(res.ws.root),
        res.config,
        ma_lop,
        data,
        results,
        tuple(groups),
        dt.date.today(),
        summer_date,
    )
    return job, waiting


def compute_lock(job: LockJob, renderer: RecordRenderer | None = None) -> Computed:
    """Build, validate and render one class's records and store their files (no store)."""
    started = time.perf_counter()
    ws = Workspace(Path(job.root))
    renderer = renderer or _renderer()
    changes = []
    for group in job.groups:
        records = build_records(
            job.data,
            job.results.filter(pl.col("ma_hoc_sinh").is_in(list(group.ids))),
            job.config,
            ids=group.ids,
            phien_ban=group.phien_ban,
            thay_the=group.thay_the,
            ngay_tao=job.ngay_tao,
            ngay_phat_hanh_bo_sung=job.ngay_phat_hanh_bo_sung,
        )
        for record in records:
            xml = record_xml(record)
            validate_record_xml(xml)
            pdf = renderer.render(xml)
            xml_path, xml_sha = store_content(ws, xml, ".xml")
            pdf_path, _ = store_content(ws, pdf, ".pdf")
            values = {
                "sha256_du_lieu": data_digest(xml),
                "sha256": xml_sha,
                "xml_path": xml_path,
                "pdf_path": pdf_path,
            }
            changes.append(RecordChange(group.ids[record.mahocsinh], values))
    return Computed(changes, time.perf_counter() - started)


class LockStep:
    """The lock of several classes, computing in workers (see ``lock_step``).

    Classes are read from the store and handed to the workers a few ahead of the
    commits (one more than there are workers), not all at once: the parent holds a
    few classes' data at a time, whatever the size of the school.
    """

    def __init__(self, res: Resources, classes: Sequence[str], workers: ClassWorkers) -> None:
        self._res = res
        self._todo = list(classes)
        self._workers = workers
        self._ahead = workers.workers + 1
        self._pending: dict[str, Pending[Computed]] = {}
        self._waiting: dict[str, int] = {}
        self._fill()

    def _fill(self) -> None:
        """Read and hand out classes until ``_ahead`` of them are being computed."""
        while self._todo and len(self._pending) < self._ahead:
            ma_lop = self._todo.pop(0)
            job, self._waiting[ma_lop] = prepare_lock(self._res, ma_lop)
            if job is not None:
                self._pending[ma_lop] = self._workers.submit(f"lớp {ma_lop}", compute_lock, job)

    def commit(self, ma_lop: str) -> StepOutcome:
        """Wait for ``ma_lop``'s records and lock them in one transaction."""
        started = time.perf_counter()
        while ma_lop in self._todo:  # asked out of order: read up to it
            self._ahead += 1
            self._fill()
        pending = self._pending.pop(ma_lop, None)
        self._fill()  # the next class starts while this one is committed
        waiting = self._waiting.get(ma_lop, 0)
        if pending is None:
            return StepOutcome("chot", ma_lop, 0, time.perf_counter() - started, waiting=waiting)
        computed = pending.result()
        transition(self._res.store, computed.changes, LOCK)
        seconds = computed.seconds + time.perf_counter() - started
        return StepOutcome("chot", ma_lop, len(computed.changes), seconds, waiting=waiting)


@contextmanager
def lock_step(res: Resources, classes: Sequence[str]) -> Iterator[LockStep]:
    """The lock of ``classes``, computed in workers from the start of the block;
    ``commit`` each class in order inside it. The store stays open for the step."""
    with res.store.held(), class_workers(len(classes)) as workers:
        yield LockStep(res, classes, workers)


def lock_class(res: Resources, ma_lop: str, renderer: RecordRenderer | None = None) -> StepOutcome:
    """Lock every draft of ``ma_lop`` whose result is final, in one transaction."""
    started = time.perf_counter()
    job, waiting = prepare_lock(res, ma_lop)
    if job is None:
        return StepOutcome("chot", ma_lop, 0, time.perf_counter() - started, waiting=waiting)
    computed = compute_lock(job, renderer)
    transition(res.store, computed.changes, LOCK)
    seconds = time.perf_counter() - started
    return StepOutcome("chot", ma_lop, len(computed.changes), seconds, waiting=waiting)
