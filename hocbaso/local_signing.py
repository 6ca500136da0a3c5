"""Signing computed on the machine's cores: key files and tokens, and the work around
a remote signature.

A key file (PKCS#12) or a token (PKCS#11: the seal's USB key, SoftHSM2 in the demo)
signs without a person in the loop, so the cost of a class is pure computing: two
signatures per record, for the seal also its timestamps and long-term data
(``hocbaso.signing.longterm``). ``sign_record`` is that work for one record, from its
stored files to its signed files (content-addressed, so a file nobody journals is
harmless).

One process uses one core. During a signing step (``signing_workers``) a class's
records are cut into chunks and each chunk is signed in a worker process
(``sign_chunk``), which keeps its own key or token session, its own event loop and
its own HTTP session to the timestamp and revocation services for the whole step;
the parent journals each chunk as it comes back (``hocbaso.store.journal``), so the
store is only ever written by the parent (DuckDB allows one writing process) and a
crash loses at most the chunks being signed, which a rerun signs. Without workers
(one core, ``HBS_WORKERS=1``, outside a step) the parent signs the records itself,
one by one, with the same ``sign_record``.

A remote signature (the teacher's phone) has the same computing around the one
thing the person gives: preparing both documents before the request goes
(``prepare_record``) and putting the returned signature values into them after
(``finish_record``). The workers do those too, in chunks (``prepare_chunk``,
``finish_chunk``), with the signer's certificate handed over as bytes; the request
itself, its journal rows and the waiting stay in the parent.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import time
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader

from hocbaso.config import Workspace
from hocbaso.errors import HocBaSoError, RecordError
from hocbaso.files import read_content, store_content
from hocbaso.parallel import ClassWorkers, Pending, class_workers, worker_count
from hocbaso.record import data_digest
from hocbaso.render import extract_record_xml
from hocbaso.signing import Role, ServiceSession
from hocbaso.signing.attachment import is_signed_successor
from hocbaso.signing.channels import LocalChannel
from hocbaso.signing.longterm import (
    CHAIN_DATA_MAX_AGE_S,
    extend_pdf_longterm,
    extend_xml_longterm,
)
from hocbaso.signing.pdf_signature import (
    PreparedPdf,
    async_finish_record_pdf,
    async_prepare_record_pdf,
    open_pdf,
)
from hocbaso.signing.signers import Certified, crypto_chain_of
from hocbaso.signing.xml_signature import PreparedXml, async_finish_record_xml, prepare_record_xml
from hocbaso.store import StoredRecord
from hocbaso.store.journal import JournalEntry

if TYPE_CHECKING:
    from hocbaso.resources import Resources

T = TypeVar("T")

#: What the journal keeps of a signed record: (ma_hoc_ba, sha256_vao, sha256, xml, pdf).
Signed = tuple[str, str, str, str, str]

#: Records per chunk handed to a worker: small enough that a crash loses little and
#: both workers stay busy to the end of a class, large enough that the hand-over
#: (pickling, one journal transaction) stays a small part of a chunk's seconds.
CHUNK_RECORDS = 6


def read_record_files(ws: Workspace, record: StoredRecord) -> tuple[bytes, bytes]:
    """A record's current XML and PDF, checked against the store before anyone signs.

    The XML must have the hash the store holds and the frozen data digest; the PDF is
    stored under its own hash and must carry that XML, or (after a remote signer,
    whose PDF revision could not carry the XML signed with it) the XML before it.
    """
    checked = _checked_record_files(ws, record)
    return checked.xml, checked.pdf


@dataclass(frozen=True)
class _RecordFiles:
    """A record's checked files, the XML its PDF carries, and the reader open on the PDF
    (the signer extends the PDF from it: one parse of the PDF per record and step)."""

    xml: bytes
    pdf: bytes
    attached: bytes
    reader: PdfFileReader


def _checked_record_files(ws: Workspace, record: StoredRecord) -> _RecordFiles:
    """``read_record_files``, keeping what the check read of the PDF."""
    files = record.files
    xml = read_content(ws, files.xml_path, files.xml_sha256)
    pdf = read_content(ws, files.pdf_path, files.pdf_sha256)
    if data_digest(xml) != files.data_sha256:
        raise RecordError(
            f"Dữ liệu của học bạ {record.ma_hoc_ba} khác với dữ liệu đã chốt.",
            hint="Không ký tiếp; chạy `hbs verify` và báo cho tổ công tác.",
        )
    reader = open_pdf(pdf)
    attached = extract_record_xml(reader)
    if attached != xml and not is_signed_successor(attached, xml):
        raise RecordError(
            f"Bản PDF của học bạ {record.ma_hoc_ba} không mang đúng tệp XML hiện hành của học bạ.",
            hint="Không ký tiếp; chạy `hbs verify` và báo cho tổ công tác.",
        )
    return _RecordFiles(xml, pdf, attached, reader)


async def sign_record(
    ws: Workspace,
    record: StoredRecord,
    channel: LocalChannel,
    role: Role,
    session: ServiceSession,
) -> Signed:
    """``role``'s XML and PDF signatures on one record (for the seal with long-term data),
    its signed files stored; what the journal keeps of it."""
    timestamper = session.timestamper if role == "condau" else None
    files = _checked_record_files(ws, record)
    prepared_xml = prepare_record_xml(files.xml, channel, role)
    signed_xml = await async_finish_record_xml(
        prepared_xml, channel.sign_digest(prepared_xml.digest), channel, timestamper=timestamper
    )
    if role == "condau":  # XAdES-LTA before the PDF seal attaches it
        signed_xml = await extend_xml_longterm(signed_xml, session)
    prepared_pdf = await async_prepare_record_pdf(
        files.pdf, channel, role, attach=signed_xml, session=session, reader=files.reader
    )
    signed_pdf = await async_finish_record_pdf(
        prepared_pdf, channel.sign_digest(prepared_pdf.digest), channel, session=session
    )
    if role == "condau":  # DSS and a document timestamp: PAdES B-LTA
        signed_pdf = await extend_pdf_longterm(signed_pdf, session)
    xml_path, xml_sha = store_content(ws, signed_xml, ".xml")
    pdf_path, _ = store_content(ws, signed_pdf, ".pdf")
    return (record.ma_hoc_ba, record.files.xml_sha256, xml_sha, xml_path, pdf_path)


async def prepare_record(
    ws: Workspace, record: StoredRecord, certs: Certified, role: Role
) -> dict[str, object]:
    """Both documents of ``record`` prepared for ``role``'s remote signature and stored;
    the journal row that keeps them (and the digests the person will sign)."""
    files = _checked_record_files(ws, record)
    px = prepare_record_xml(files.xml, certs, role)
    attach = None if files.attached == files.xml else files.xml  # the PDF lags: carry the XML
    pp = await async_prepare_record_pdf(files.pdf, certs, role, attach=attach, reader=files.reader)
    xml_path, _ = store_content(ws, px.document, ".xml")
    pdf_path, _ = store_content(ws, pp.document, ".pdf")
    return {
        "ma_hoc_ba": record.ma_hoc_ba,
        "vai_tro": role,
        "sha256_vao": record.files.xml_sha256,
        "ma_lop": record.ma_lop,
        "xml_chuan_bi": xml_path,
        "pdf_chuan_bi": pdf_path,
        "pdf_thong_so": json.dumps(pp.as_json()),
        "bam_xml": px.digest.hex(),
        "bam_pdf": pp.digest.hex(),
    }


async def finish_record(
    ws: Workspace,
    entry: JournalEntry,
    certs: Certified,
    role: Role,
    signatures: tuple[bytes, bytes],
) -> Signed:
    """The prepared documents of ``entry`` with the person's two signature values in."""
    if not (entry.xml_chuan_bi and entry.pdf_chuan_bi):
        raise ValueError(f"{entry.ma_hoc_ba} has no prepared documents")
    px = PreparedXml(role, read_content(ws, entry.xml_chuan_bi), bytes.fromhex(entry.bam_xml or ""))
    pp = PreparedPdf.from_json(role, read_content(ws, entry.pdf_chuan_bi), entry.pdf_parameters)
    signed_xml = await async_finish_record_xml(px, signatures[0], certs)
    signed_pdf = await async_finish_record_pdf(pp, signatures[1], certs)
    xml_path, xml_sha = store_content(ws, signed_xml, ".xml")
    pdf_path, _ = store_content(ws, signed_pdf, ".pdf")
    return (entry.ma_hoc_ba, entry.sha256_vao, xml_sha, xml_path, pdf_path)


# --- in a worker process ------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkJob:
    """A few records of one class for one signer, as plain picklable data."""

    root: str  # the workspace folder
    role: Role
    key: str  # whose key: a ma_giao_vien, or the seal
    records: tuple[StoredRecord, ...]


@dataclass(frozen=True)
class ChunkResult:
    """What a worker signed of a chunk, in order, and the error that stopped it, if any."""

    signed: list[Signed]
    error: Exception | None
    opened: bool = True  # False: this worker could not open the key or token at all


@functools.cache
def _loop() -> asyncio.AbstractEventLoop:
    """This worker's one event loop, for every job it runs (the sessions and pyHanko's
    caches bound to it live as long as the worker)."""
    return asyncio.new_event_loop()


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return _loop().run_until_complete(coroutine)


class _WorkerSigner:
    """A worker's key or token and service session for one signer (on its one loop).

    The session (and what it caches: revocation answers, validated chains) is renewed
    after ``CHAIN_DATA_MAX_AGE_S``, as a class's session would end.
    """

    def __init__(self, root: str, role: Role, key: str) -> None:
        from hocbaso.resources import resources_for

        res = resources_for(root)
        channel = res.credentials.load_channel(key, role)
        if not isinstance(channel, LocalChannel):
            raise TypeError(f"{role} of {key} does not sign with a key file or token")
        self.ws, self.channel = res.ws, channel
        self._tsa_url = res.tsa_url() if role == "condau" else None
        self._trust = res.trust
        self._session: ServiceSession | None = None
        self._opened = 0.0

    def session(self) -> ServiceSession:
        if self._session is not None and time.monotonic() - self._opened > CHAIN_DATA_MAX_AGE_S:
            _run(self._session.__aexit__(None, None, None))
            self._session = None
        if self._session is None:
            session = ServiceSession(tsa_url=self._tsa_url, trust=self._trust)
            self._session = _run(session.__aenter__())
            self._opened = time.monotonic()
        return self._session

    def sign(self, role: Role, records: Sequence[StoredRecord]) -> ChunkResult:
        session = self.session()
        signed: list[Signed] = []

        async def each_record() -> None:
            for record in records:
                signed.append(await sign_record(self.ws, record, self.channel, role, session))

        try:
            _run(each_record())
        except Exception as exc:  # the records before it are signed: they go back too
            return ChunkResult(signed, exc)
        return ChunkResult(signed, None)

    def close(self) -> None:
        if self._session is not None:
            _run(self._session.__aexit__(None, None, None))
            self._session = None
        self.channel.close()


_SIGNERS: dict[tuple[str, Role, str], _WorkerSigner] = {}


def _close_signers() -> None:
    for signer in _SIGNERS.values():
        with contextlib.suppress(Exception):  # a worker's exit: nothing left to report to
            signer.close()
    _SIGNERS.clear()


atexit.register(_close_signers)


def sign_chunk(job: ChunkJob) -> ChunkResult:
    """Sign ``job``'s records in this (worker) process; what the journal keeps of each."""
    wanted = (job.root, job.role, job.key)
    signer = _SIGNERS.get(wanted)
    if signer is None:
        try:
            signer = _SIGNERS[wanted] = _WorkerSigner(*wanted)
        except Exception as exc:  # nothing signed: the parent signs these records itself
            return ChunkResult([], _with_cause(exc), opened=False)
    return signer.sign(job.role, job.records)


def _with_cause(exc: Exception) -> Exception:
    """``exc`` with its cause's text added to its arguments, for the parent's log (the
    cause itself does not cross the process boundary)."""
    cause = exc.__cause__
    if cause is not None:
        first = exc.args[0] if exc.args else ""
        exc.args = (f"{first} ({type(cause).__name__}: {cause})", *exc.args[1:])
        if isinstance(exc, HocBaSoError):  # pickled from its message, not its args
            exc.message = exc.args[0]
    return exc


@dataclass(frozen=True)
class CertificatesDer:
    """A signer's certificate and chain as bytes: what a worker needs of a remote account."""

    certificate: bytes
    chain: tuple[bytes, ...]

    @classmethod
    def of(cls, certs: Certified) -> CertificatesDer:
        return cls(certs.certificate.dump(), tuple(c.dump() for c in certs.chain))


class _LoadedCertificates:
    """``Certified`` from ``CertificatesDer`` (the object preparing and finishing read)."""

    def __init__(self, der: CertificatesDer) -> None:
        self.certificate = asn1_x509.Certificate.load(der.certificate)
        self.chain = tuple(asn1_x509.Certificate.load(c) for c in der.chain)
        self.crypto_chain = crypto_chain_of(self.certificate, self.chain)


@functools.lru_cache(maxsize=64)
def _loaded(der: CertificatesDer) -> _LoadedCertificates:
    """A signer's certificates parsed once per worker, not once per chunk."""
    return _LoadedCertificates(der)


@dataclass(frozen=True)
class PrepareJob:
    """A few records of one class to prepare for a remote signer (plain picklable data)."""

    root: str
    role: Role
    certs: CertificatesDer
    records: tuple[StoredRecord, ...]


@dataclass(frozen=True)
class FinishJob:
    """A few records of one signed request with their signature values, to finish."""

    root: str
    role: Role
    certs: CertificatesDer
    entries: tuple[JournalEntry, ...]
    signatures: tuple[tuple[bytes, bytes], ...]  # (XML, PDF) per entry, in order


def prepare_chunk(job: PrepareJob) -> list[dict[str, object]]:
    """``prepare_record`` for each of ``job``'s records, in this (worker) process."""
    ws, certs = Workspace(Path(job.root)), _loaded(job.certs)

    async def each() -> list[dict[str, object]]:
        return [await prepare_record(ws, r, certs, job.role) for r in job.records]

    return _run(each())


def finish_chunk(job: FinishJob) -> list[Signed]:
    """``finish_record`` for each of ``job``'s entries, in this (worker) process."""
    ws, certs = Workspace(Path(job.root)), _loaded(job.certs)

    async def each() -> list[Signed]:
        return [
            await finish_record(ws, e, certs, job.role, sig)
            for e, sig in zip(job.entries, job.signatures, strict=True)
        ]

    return _run(each())


def warm_up() -> None:
    """Import what signing needs, so the first chunk does not wait for it."""
    import hocbaso.resources  # noqa: F401 - the rest came with this module


# --- in the parent ------------------------------------------------------------------------


_ACTIVE: dict[Path, ClassWorkers] = {}


@contextmanager
def signing_workers(res: Resources, role: Role, classes: Sequence[str]) -> Iterator[None]:
    """Worker processes for ``role``'s signing step over ``classes`` (any channel:
    a remote signature's documents are prepared and finished there too).

    Inside the block, ``chunks_in_workers``, ``prepare_in_workers`` and
    ``finish_in_workers`` hand a class's records to them; the workers start at once
    (importing pyHanko takes seconds) and stop at its end. The store stays open for
    the block.
    """
    count = worker_count(len(classes) * 4)
    started = count > 1 and bool(classes) and res.ws.root not in _ACTIVE
    # One connection for the step (an open costs ~20 ms); no workers when none helps.
    with res.store.held(), class_workers(0, workers=count if started else 1) as workers:
        if not started:
            yield
            return
        for _ in range(count):
            workers.submit("khởi động", warm_up)
        _ACTIVE[res.ws.root] = workers
        try:
            yield
        finally:
            _ACTIVE.pop(res.ws.root, None)


def _workers_for(res: Resources, n: int) -> ClassWorkers | None:
    workers = _ACTIVE.get(res.ws.root)
    return workers if workers is not None and n >= 2 else None


def _slices(n: int, workers: int) -> list[slice]:
    size = max(1, min(CHUNK_RECORDS, -(-n // workers)))
    return [slice(i, i + size) for i in range(0, n, size)]


def prepare_in_workers(
    res: Resources, role: Role, certs: Certified, ma_lop: str, records: Sequence[StoredRecord]
) -> list[dict[str, object]] | None:
    """``prepare_record`` of ``records`` on the step's workers, in order (``None``: no
    workers, prepare here)."""
    workers = _workers_for(res, len(records))
    if workers is None:
        return None
    der, root = CertificatesDer.of(certs), str(res.ws.root)
    pending = [
        workers.submit(
            f"lớp {ma_lop}", prepare_chunk, PrepareJob(root, role, der, tuple(records[s]))
        )
        for s in _slices(len(records), workers.workers)
    ]
    return [row for p in pending for row in p.result()]


def finish_in_workers(
    res: Resources,
    role: Role,
    certs: Certified,
    ma_lop: str,
    members: Sequence[JournalEntry],
    signatures: Sequence[bytes],
) -> list[Signed] | None:
    """``finish_record`` of a request's ``members`` on the step's workers, in order
    (``None``: no workers, finish here). ``signatures``: XML and PDF of each member."""
    workers = _workers_for(res, len(members))
    if workers is None:
        return None
    der, root = CertificatesDer.of(certs), str(res.ws.root)
    pairs = [(signatures[2 * i], signatures[2 * i + 1]) for i in range(len(members))]
    pending = [
        workers.submit(
            f"lớp {ma_lop}",
            finish_chunk,
            FinishJob(root, role, der, tuple(members[s]), tuple(pairs[s])),
        )
        for s in _slices(len(members), workers.workers)
    ]
    return [item for p in pending for item in p.result()]


def chunks_in_workers(
    res: Resources, role: Role, key: str, ma_lop: str, records: Sequence[StoredRecord]
) -> list[tuple[Sequence[StoredRecord], Pending[ChunkResult]]] | None:
    """Hand ``records`` to the step's workers in chunks (``None``: no workers, sign here)."""
    workers = _workers_for(res, len(records))
    if workers is None:
        return None
    root = str(res.ws.root)
    return [
        (
            records[s],
            workers.submit(
                f"lớp {ma_lop}", sign_chunk, ChunkJob(root, role, key, tuple(records[s]))
            ),
        )
        for s in _slices(len(records), workers.workers)
    ]
