"""Sign and stamp (ký, đóng dấu): the signers of a class sign every record waiting for them.

Order per record: the homeroom teacher (``gvcn``), the principal (``ht``), then
the school's organisational seal with a trusted timestamp (``condau``). Each
signer signs both the XML (an XAdES signature that covers the data and the
earlier signatures) and the PDF (an incremental PAdES signature, in the same revision
as the PDF's attached ``hocba.xml`` becomes the XML just signed). The key is
loaded once per run (``Resources``), one HTTP session serves the batch's timestamp and
revocation requests, and the store moves the whole class in one transaction
after every file is written, so a crash signs nothing twice in the store: the
rerun starts again from the state the store holds.
"""

from __future__ import annotations

import asyncio
import time

from hocbaso.config import Workspace
from hocbaso.errors import RecordError
from hocbaso.files import read_content, store_content
from hocbaso.record import data_digest
from hocbaso.render import extract_record_xml
from hocbaso.resources import Resources
from hocbaso.signing import (
    RecordSigner,
    Role,
    ServiceSession,
    TrustSettings,
    async_sign_record_pdf,
    async_sign_record_xml,
)
from hocbaso.signing.longterm import extend_pdf_longterm, extend_xml_longterm
from hocbaso.states import SIGN_STEPS
from hocbaso.steps import StepOutcome
from hocbaso.store import RecordChange, StoredRecord, current_records, transition


def read_record_files(ws: Workspace, record: StoredRecord) -> tuple[bytes, bytes]:
    """A record's current XML and PDF, checked against the store before anyone signs.

    The XML must have the hash the store holds and the frozen data digest; the PDF
    is stored under its own hash and must carry exactly that XML (each signing step
    attaches the XML it produced).
    """
    files = record.files
    xml = read_content(ws, files.xml_path, files.xml_sha256)
    pdf = read_content(ws, files.pdf_path, files.pdf_sha256)
    if data_digest(xml) != files.data_sha256:
        raise RecordError(
            f"Dữ liệu của học bạ {record.ma_hoc_ba} khác với dữ liệu đã chốt.",
            hint="Không ký tiếp; chạy `hbs verify` và báo cho tổ công tác.",
        )
    if extract_record_xml(pdf) != xml:
        raise RecordError(
            f"Bản PDF của học bạ {record.ma_hoc_ba} không mang đúng tệp XML hiện hành của học bạ.",
            hint="Không ký tiếp; chạy `hbs verify` và báo cho tổ công tác.",
        )
    return xml, pdf


async def _sign_batch(
    ws: Workspace,
    records: list[StoredRecord],
    signer: RecordSigner,
    role: Role,
    tsa_url: str | None,
    trust: TrustSettings,
) -> list[RecordChange]:
    changes = []
    async with ServiceSession(tsa_url=tsa_url, trust=trust) as session:
        for record in records:
            xml, pdf = read_record_files(ws, record)
            signed_xml = await async_sign_record_xml(
                xml, signer, role, timestamper=session.timestamper if role == "condau" else None
            )
            if role == "condau":  # XAdES-LTA before the PDF seal attaches it (longterm.py)
                signed_xml = await extend_xml_longterm(signed_xml, session)
            signed_pdf = await async_sign_record_pdf(
                pdf, signer, role, signed_xml=signed_xml, session=session
            )
            if role == "condau":  # DSS and a document timestamp: PAdES B-LTA
                signed_pdf = await extend_pdf_longterm(signed_pdf, session)
            xml_path, xml_sha = store_content(ws, signed_xml, ".xml")
            pdf_path, _ = store_content(ws, signed_pdf, ".pdf")
            changes.append(
                RecordChange(
                    record.ma_hoc_ba,
                    {"sha256": xml_sha, "xml_path": xml_path, "pdf_path": pdf_path},
                )
            )
    return changes


def sign_class(res: Resources, ma_lop: str, role: Role) -> StepOutcome:
    """``role`` signs every record of ``ma_lop`` that waits for it; one transaction."""
    ws, store = res.ws, res.store
    started = time.perf_counter()
    step = SIGN_STEPS[role]
    records = current_records(store, states=step.takes, ma_lop=ma_lop)
    if not records:
        return StepOutcome(role, ma_lop, 0, time.perf_counter() - started)
    _, signer = res.signer_for(role, ma_lop)
    tsa_url = res.tsa_url() if role == "condau" else None
    changes = asyncio.run(_sign_batch(ws, records, signer, role, tsa_url, res.trust))
    transition(store, changes, step)
    return StepOutcome(role, ma_lop, len(changes), time.perf_counter() - started)
