"""Lock (chốt dữ liệu): build a class's records, validate them, render them, freeze them.

A record is locked when its XML is schema-valid, its printable copy carries that
XML, both files are stored under their hash, and the store knows the data
digest. Only students whose result is final are locked; those waiting for the
summer supplementary assessment stay drafts until the decision is imported.
"""

from __future__ import annotations

import datetime as dt
import time

import polars as pl

from hocbaso.files import store_content
from hocbaso.record import build_records, data_digest, record_xml, validate_record_xml
from hocbaso.render import RecordRenderer
from hocbaso.resources import Resources
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


def lock_class(res: Resources, ma_lop: str, renderer: RecordRenderer | None = None) -> StepOutcome:
    """Lock every draft of ``ma_lop`` whose result is final, in one transaction."""
    ws, config, store = res.ws, res.config, res.store
    started = time.perf_counter()
    drafts = {r.ma_hoc_sinh: r for r in current_records(store, states=LOCK.takes, ma_lop=ma_lop)}
    results = load_results(store, ma_lop).filter(
        pl.col("ma_hoc_sinh").is_in(list(drafts)) & pl.col("duoc_len_lop").is_not_null()
    )
    waiting = len(drafts) - results.height
    if results.is_empty():
        return StepOutcome("chot", ma_lop, 0, time.perf_counter() - started, waiting=waiting)
    data = load_school_data(store, ma_lop)
    summer_date = summer_issue_date(store)  # the summer wave's date of issue, once imported
    # Untagged PDF/A-3b: the record's machine-readable form is its XML (attached), and the
    # tag tree triples the cost of every later signature validation (88 ms vs 200-290 ms).
    renderer = renderer or RecordRenderer(pdf_tags=False)
    changes = []
    # Versions differ only after a revocation; build each version group in one call.
    for phien_ban in sorted({d.phien_ban for d in drafts.values()}):
        group = {ma: d for ma, d in drafts.items() if d.phien_ban == phien_ban}
        records = build_records(
            data,
            results.filter(pl.col("ma_hoc_sinh").is_in(list(group))),
            config,
            ids={ma: d.ma_hoc_ba for ma, d in group.items()},
            phien_ban=phien_ban,
            thay_the={ma: d.thay_the for ma, d in group.items() if d.thay_the},
            ngay_tao=dt.date.today(),
            ngay_phat_hanh_bo_sung=summer_date,
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
            changes.append(RecordChange(group[record.mahocsinh].ma_hoc_ba, values))
    transition(store, changes, LOCK)
    return StepOutcome("chot", ma_lop, len(changes), time.perf_counter() - started, waiting=waiting)
