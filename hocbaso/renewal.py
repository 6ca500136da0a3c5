"""Archive renewal (gia hạn lưu trữ): a new timestamp before the newest one's certificate expires.

A record's proof of existence lasts as long as the certificate of its newest timestamp
(``hocbaso.signing.verify``). Every issued record (sealed, submitted, accepted) whose
newest timestamp's TSA certificate expires within ``margin`` gets, in its PDF, one more
document timestamp over fresh validation data, and, in its XML, fresh validation data
and one more archive timestamp (``hocbaso.signing.longterm``). The store's current XML
and PDF become the renewed files, one transaction per class, with one audit event per
record (``gia_han_luu_tru``: old expiry, new timestamp count; no personal data).

Why the minimum interval: a renewal whose TSA certificate does not outlive the old one
(the same TSA, not renewed yet) would leave the record due, and every run would add a
timestamp for nothing. A record whose newest timestamp is a renewal younger than
``min_interval`` is therefore not due; the one added at the seal never counts as one.
Idempotent and resumable: a rerun finds renewed records not due; a crash before the
class's transaction leaves the store as it was (files are content-addressed, so the
files written are simply unused).

The renewed XML and the XML in the PDF: the PDF keeps the XML attached at the seal
(the strict profile forbids attachment changes after the seal); the PDF's own
document timestamps keep that copy alive. The renewed standalone XML is that XML
with renewal elements appended to the seal's unsigned properties only
(``longterm.is_renewal_of``), and ``hbs verify`` accepts a store whose current XML is
such a successor of the XML its current PDF carries.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass

from hocbaso.errors import RecordError
from hocbaso.files import read_content, store_content
from hocbaso.resources import Resources
from hocbaso.signing import ServiceSession
from hocbaso.signing.longterm import (
    extend_pdf_longterm,
    pdf_document_timestamps,
    pdf_newest_timestamp,
    renew_xml_archive,
    xml_newest_timestamp_expiry,
)
from hocbaso.states import S
from hocbaso.steps import StepOutcome
from hocbaso.store import StoredRecord, current_records
from hocbaso.store.audit import append_events

ISSUED = (S.SEALED, S.SUBMITTED, S.ACCEPTED)
DEFAULT_MARGIN = dt.timedelta(days=2 * 365)
DEFAULT_MIN_INTERVAL = dt.timedelta(days=30)


@dataclass(frozen=True)
class Due:
    """Whether a record needs a renewal, and the expiry of its newest timestamp."""

    due: bool
    expires: dt.datetime


def is_due(
    pdf: bytes,
    xml: bytes,
    now: dt.datetime,
    margin: dt.timedelta = DEFAULT_MARGIN,
    min_interval: dt.timedelta = DEFAULT_MIN_INTERVAL,
) -> Due:
    """Due when the newest timestamp of the PDF or the XML expires within ``margin`` and
    that timestamp is not a renewal younger than ``min_interval``."""
    moment, pdf_expiry = pdf_newest_timestamp(pdf)
    expires = min(pdf_expiry, xml_newest_timestamp_expiry(xml))
    recent_renewal = pdf_document_timestamps(pdf) > 1 and now - moment < min_interval
    return Due(expires - now <= margin and not recent_renewal, expires)


async def _renew(
    res: Resources, due: list[tuple[StoredRecord, bytes, bytes, dt.datetime]]
) -> list[tuple[StoredRecord, str, str, str, dict[str, object]]]:
    done = []
    async with ServiceSession(tsa_url=res.tsa_url(), trust=res.trust) as session:
        for stored, xml, pdf, expires in due:
            new_pdf = await extend_pdf_longterm(pdf, session)
            new_xml = await renew_xml_archive(xml, session)
            xml_path, xml_sha = store_content(res.ws, new_xml, ".xml")
            pdf_path, _ = store_content(res.ws, new_pdf, ".pdf")
            detail: dict[str, object] = {
                "het_han_cu": expires.date().isoformat(),
                "so_dau_thoi_gian_tai_lieu": pdf_document_timestamps(new_pdf),
            }
            done.append((stored, xml_sha, xml_path, pdf_path, detail))
    return done


def classes_issued(res: Resources) -> list[str]:
    """The classes with at least one issued record (what the renewal looks at)."""
    return sorted({r.ma_lop for r in current_records(res.store, states=ISSUED)})


def renew_class(
    res: Resources,
    ma_lop: str,
    *,
    margin: dt.timedelta = DEFAULT_MARGIN,
    min_interval: dt.timedelta = DEFAULT_MIN_INTERVAL,
    now: dt.datetime | None = None,
) -> StepOutcome:
    """Renew every due issued record of ``ma_lop``; one transaction for the class."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    records = current_records(res.store, states=ISSUED, ma_lop=ma_lop)
    due = []
    for stored in records:
        files = stored.files
        xml = read_content(res.ws, files.xml_path, files.xml_sha256)
        pdf = read_content(res.ws, files.pdf_path, files.pdf_sha256)
        try:
            verdict = is_due(pdf, xml, now, margin, min_interval)
        except (RecordError, ValueError, KeyError, IndexError) as exc:
            raise RecordError(
                f"Học bạ {stored.ma_hoc_ba} chưa có dấu thời gian lưu trữ để gia hạn.",
                hint="Học bạ đóng dấu trước khi có lưu trữ dài hạn: chạy `hbs verify` "
                "và báo cho tổ công tác.",
            ) from exc
        if verdict.due:
            due.append((stored, xml, pdf, verdict.expires))
    if not due:
        return StepOutcome("gia-han", ma_lop, 0, time.perf_counter() - started, len(records))
    done = asyncio.run(_renew(res, due))
    stamp = dt.datetime.now(dt.UTC)
    with res.store.transaction() as con:
        for stored, xml_sha, xml_path, pdf_path, _ in done:
            # Only if the record still has the files renewed (no one changed it meanwhile).
            con.execute(
                "UPDATE hoc_ba SET sha256 = $1, xml_path = $2, pdf_path = $3, cap_nhat = $4 "
                "WHERE ma_hoc_ba = $5 AND sha256 = $6",
                [xml_sha, xml_path, pdf_path, stamp, stored.ma_hoc_ba, stored.sha256],
            )
        append_events(
            con,
            "van_thu_giu_dau",
            "gia_han_luu_tru",
            [(stored.ma_hoc_ba, detail) for stored, _, _, _, detail in done],
        )
    skipped = len(records) - len(done)
    return StepOutcome("gia-han", ma_lop, len(done), time.perf_counter() - started, skipped)
