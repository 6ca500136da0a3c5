"""Sign and stamp (ký, đóng dấu): the signers of a class sign every record waiting for them.

Order per record: the homeroom teacher (``gvcn``), the principal (``ht``), then the
school's organisational seal with a trusted timestamp (``condau``). Each signer signs
both the XML (an XAdES signature that covers the data and the earlier signatures) and
the PDF (an incremental PAdES signature). Every signature is made in three phases
(prepare → sign the digest → finish) through the signer's channel
(``hocbaso.signing.channels``):

- a **key file or token** signs record by record: the XML first, then the PDF in the
  revision that attaches that signed XML;
- a **remote signing service** gets a class's digests as the fewest requests it allows
  (XML and PDF of up to 25 records per request of 50), each confirmed once by the
  person on their phone. Both digests of a record must be known before the request
  goes, so this PDF revision cannot carry the XML being signed in it: it attaches the
  record XML as signed before (the earlier remote signer's XML), and the next local
  signer (the seal) attaches the final XML (``hocbaso.signing.attachment`` allows a
  later revision to carry the XML with more signatures appended). The sealed PDF still
  carries the final signed XML byte for byte.

Nothing is asked twice (``hocbaso.store.journal``): what is about to be sent (the
prepared documents, their digests, our request id) is in the journal before it is
sent; each record's signed files are in the journal as soon as they are made; a rerun,
a crash or an expiry asks only for records with no signature. The class's records move
in one transaction once every record is signed.

The seal adds the long-term validation data (``hocbaso.signing.longterm``) in
``_sign_locally``: XAdES-LTA right after its XML signature (so the PDF seal attaches the
final XML), then the DSS and a document timestamp after its PDF signature (B-LTA). The
seal is always a key file or a token (``ChungThu.con_dau``), never a remote account.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from hocbaso.errors import SigningError
from hocbaso.local_signing import (
    ChunkResult,
    Signed,
    chunks_in_workers,
    finish_in_workers,
    finish_record,
    prepare_in_workers,
    prepare_record,
    read_record_files,
    sign_record,
)
from hocbaso.parallel import Pending
from hocbaso.resources import Resources, Signatory
from hocbaso.signing import (
    ROLE_NAMES,
    Role,
    ServiceSession,
)
from hocbaso.signing.channels import (
    STATE_NAMES_VI,
    TERMINAL,
    Channel,
    LocalChannel,
    RequestStatus,
    SignRequest,
)
from hocbaso.states import SIGN_STEPS
from hocbaso.steps import StepOutcome
from hocbaso.store import RecordChange, StoredRecord, current_records, transaction_on, transition
from hocbaso.store.audit import append_events
from hocbaso.store.journal import (
    JournalEntry,
    SigningRequest,
    close_interrupted_local,
    close_request,
    entries,
    entries_on,
    open_request,
    record_signed,
    requests_on,
    save_prepared,
)

log = logging.getLogger(__name__)

# Outcome of a class's signing in a run (also the Vietnamese summary's groups).
CLASS_STATES_VI = {
    "da_ky": "đã ký xong",
    "cho_xac_nhan": "đang chờ người ký xác nhận",
    "tu_choi": "bị người ký từ chối",
    "het_han": "yêu cầu ký hết hạn",
    "loi": "lỗi",
}


@dataclass(frozen=True)
class SignOutcome(StepOutcome):
    """One class in one role: records signed now, and where the class stands."""

    trang_thai: str = "da_ky"  # a key of CLASS_STATES_VI
    so_yeu_cau: int = 0  # requests sent in this run (remote: confirmations asked)
    con_lai: int = 0  # records still without this role's signature
    thong_bao: tuple[str, ...] = field(default=())  # Vietnamese notes for the person

    def line_vi(self) -> str:
        state = CLASS_STATES_VI.get(self.trang_thai, self.trang_thai)
        line = (
            f"Lớp {self.ma_lop} ({self.step}): {state}; {self.processed} học bạ được ký "
            f"trong lần chạy này, còn {self.con_lai} chưa ký, {self.so_yeu_cau} yêu cầu ký "
            f"({self.seconds:.1f} giây)"
        )
        return "\n".join([line, *(f"  - {m}" for m in self.thong_bao)])


def describe(res: Resources, ma_lop: str, role: Role, n_records: int, part: str = "") -> str:
    """What the person's phone shows: school, class, role, count (never a pupil)."""
    return (
        f"{res.config.truong.ten_truong} - lớp {ma_lop} - {ROLE_NAMES[role]} ký "
        f"{n_records} học bạ ({2 * n_records} chữ ký: XML và PDF){part}"
    )


def _audit(res: Resources, role: Role, action: str, detail: dict[str, object]) -> None:
    with res.store.transaction() as con:
        append_events(con, SIGN_STEPS[role].actor, action, [(None, detail)])


# --- local keys: in chunks on the workers (or one by one here), each kept once signed ---


async def _sign_locally(
    res: Resources,
    records: list[StoredRecord],
    who: Signatory,
    channel: LocalChannel,
    role: Role,
    ma_lop: str,
) -> int:
    ws, store = res.ws, res.store
    tsa_url = res.tsa_url() if role == "condau" else None
    ma_giao_dich = str(uuid.uuid4())
    request = SigningRequest(
        ma_giao_dich=ma_giao_dich,
        ma_lop=ma_lop,
        vai_tro=role,
        kenh=channel.kind,
        ma_giao_vien=_signer_code(res, who),
        so_chu_ky=2 * len(records),
        trang_thai="cho_xac_nhan",
        mo_ta=describe(res, ma_lop, role, len(records)),
        ma_loi=None,
        tao_luc=dt.datetime.now(dt.UTC),
        xong_luc=None,
    )
    signed = 0
    with store.session() as con:
        with transaction_on(con):
            close_interrupted_local(con, ma_lop, role)
            open_request(con, request, [])

        async def sign_here(todo: list[StoredRecord]) -> int:
            async with ServiceSession(tsa_url=tsa_url, trust=res.trust) as session:
                for record in todo:
                    done = await sign_record(ws, record, channel, role, session)
                    with transaction_on(con):
                        record_signed(con, ma_giao_dich, ma_lop, role, [done])
            return len(todo)

        try:
            chunks = chunks_in_workers(res, role, who.key, ma_lop, records)
            if chunks is not None:
                signed, failure, left = _journal_chunks(con, chunks, ma_giao_dich, ma_lop, role)
                if failure is not None:
                    raise failure
                if left:  # a worker could not open the key or token: sign them here
                    signed += await sign_here(left)
            else:
                signed = await sign_here(records)
        except BaseException:
            with transaction_on(con):
                _close_local(con, ma_giao_dich, "loi")
            raise
        with transaction_on(con):
            _close_local(con, ma_giao_dich, "da_ky")
    return signed


def _journal_chunks(
    con: object,
    chunks: list[tuple[Sequence[StoredRecord], Pending[ChunkResult]]],
    ma_giao_dich: str,
    ma_lop: str,
    role: Role,
) -> tuple[int, Exception | None, list[StoredRecord]]:
    """Journal every chunk a worker signed, in order, each in its own transaction: how
    many records were kept, the first chunk's error if one failed, and the records of
    chunks whose worker could not open the key or token (nothing of them signed).

    A chunk that failed does not stop the others from being kept (they are signed:
    dropping them would only sign them again on the rerun); the caller raises the
    error once every chunk has answered. Why the parent signs what a worker could not
    open: some tokens serve one process at a time (a USB key), and the parent holds
    the key already.
    """
    signed = 0
    failure: Exception | None = None
    left: list[StoredRecord] = []
    for records, pending in chunks:
        try:
            result = pending.result()
        except Exception as exc:  # a worker died: raised by the caller, once the rest is kept
            failure = failure or exc
            continue
        if not result.opened:
            log.warning("Lớp %s: tiến trình phụ không mở được khoá ký (%s)", ma_lop, result.error)
            left += records
            continue
        failure = failure or result.error
        if result.signed:
            with transaction_on(con):  # type: ignore[arg-type]
                record_signed(con, ma_giao_dich, ma_lop, role, result.signed)  # type: ignore[arg-type]
        signed += len(result.signed)
    return signed, failure, left


def _close_local(con: object, ma_giao_dich: str, state: str) -> None:
    """Close a key file's or token's request, counting the signatures the journal kept
    under it (also those of chunks journaled before an interruption)."""
    close_request(con, ma_giao_dich, state)  # type: ignore[arg-type]
    con.execute(  # type: ignore[attr-defined]
        "UPDATE giao_dich_ky SET so_chu_ky = 2 * (SELECT count(*) FROM chu_ky_hoc_ba j "
        "WHERE j.ma_giao_dich = $1) WHERE ma_giao_dich = $1",
        [ma_giao_dich],
    )


def _signer_code(res: Resources, who: Signatory) -> str:
    """The person behind a signature: the teacher, or for the seal the clerk who holds it."""
    if who.person is not None:
        return who.person.ma_giao_vien
    return res.config.ky.giu_dau


# --- remote signing: the class as few requests, each kept before it is sent -----------


@dataclass
class _RemoteRun:
    res: Resources
    channel: Channel
    who: Signatory
    role: Role
    ma_lop: str
    notes: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)  # states of requests that ended unsigned
    sent: int = 0
    signed_now: int = 0


def _prepare(run: _RemoteRun, records: list[StoredRecord]) -> None:
    """Prepare every record's two signatures and keep them (one transaction)."""
    ws, role = run.res.ws, run.role

    async def prepare_all() -> list[dict[str, object]]:
        return [await prepare_record(ws, r, run.channel, role) for r in records]

    rows = prepare_in_workers(run.res, role, run.channel, run.ma_lop, records)
    if rows is None:
        rows = asyncio.run(prepare_all())
    with run.res.store.transaction() as con:
        save_prepared(con, rows)


def _request_of(entries_: list[JournalEntry], ma_giao_dich: str, description: str) -> SignRequest:
    digests: list[bytes] = []
    for e in entries_:
        assert e.bam_xml is not None and e.bam_pdf is not None
        digests += [bytes.fromhex(e.bam_xml), bytes.fromhex(e.bam_pdf)]
    return SignRequest(ma_giao_dich, tuple(digests), description)


def _finish(
    run: _RemoteRun, members: list[JournalEntry], status: RequestStatus, req_id: str
) -> None:
    """Finish every record of a signed request; keep them and close it (one transaction)."""
    ws, role, sigs = run.res.ws, run.role, status.signatures

    async def finish_all() -> list[Signed]:
        return [
            await finish_record(ws, e, run.channel, role, (sigs[2 * i], sigs[2 * i + 1]))
            for i, e in enumerate(members)
        ]

    signed = finish_in_workers(run.res, role, run.channel, run.ma_lop, members, sigs)
    if signed is None:
        signed = asyncio.run(finish_all())
    with run.res.store.transaction() as con:
        record_signed(con, req_id, run.ma_lop, run.role, signed)
        close_request(con, req_id, "da_ky")
    run.signed_now += len(signed)


def _settle(
    run: _RemoteRun, req_id: str, members: list[JournalEntry], status: RequestStatus
) -> None:
    """Act on a request's answer: keep signatures, or record and tell a refusal/expiry."""
    if status.state == "da_ky":
        _finish(run, members, status, req_id)
        return
    if status.state in TERMINAL:
        with run.res.store.transaction() as con:
            close_request(con, req_id, status.state, status.code)
        run.ended.append(status.state)
        note = (
            f"Yêu cầu ký {req_id[:8]} ({len(members)} học bạ) {STATE_NAMES_VI[status.state]}."
            + (f" {status.message}" if status.message else "")
            + " Chạy lại bước ký để gửi lại yêu cầu cho những học bạ chưa ký."
        )
        run.notes.append(note)
        log.warning("Lớp %s, %s: %s", run.ma_lop, ROLE_NAMES[run.role], note)


def _send(run: _RemoteRun, to_ask: list[JournalEntry], asked_before: int) -> None:
    """Ask for ``to_ask`` as the fewest requests; each written to the journal first."""
    per_request = max(1, run.channel.max_digests // 2)
    chunks = [to_ask[i : i + per_request] for i in range(0, len(to_ask), per_request)]
    if asked_before:
        note = (
            f"Gửi lại yêu cầu ký cho {asked_before} học bạ chưa có chữ ký "
            "(yêu cầu trước bị từ chối, hết hạn hoặc lỗi); các học bạ đã ký không bị hỏi lại."
        )
        run.notes.append(note)
        _audit(
            run.res,
            run.role,
            "gui_lai_yeu_cau_ky",
            {
                "ma_lop": run.ma_lop,
                "so_hoc_ba": asked_before,
                "ma_giao_vien": _signer_code(run.res, run.who),
            },
        )
    for n, chunk in enumerate(chunks, start=1):
        part = f", yêu cầu {n}/{len(chunks)}" if len(chunks) > 1 else ""
        req_id = str(uuid.uuid4())
        request = _request_of(
            chunk, req_id, describe(run.res, run.ma_lop, run.role, len(chunk), part)
        )
        row = SigningRequest(
            ma_giao_dich=req_id,
            ma_lop=run.ma_lop,
            vai_tro=run.role,
            kenh=run.channel.kind,
            ma_giao_vien=_signer_code(run.res, run.who),
            so_chu_ky=len(request.digests),
            trang_thai="cho_xac_nhan",
            mo_ta=request.description,
            ma_loi=None,
            tao_luc=dt.datetime.now(dt.UTC),
            xong_luc=None,
        )
        with run.res.store.transaction() as con:
            open_request(con, row, chunk)
        run.sent += 1
        _settle(run, req_id, chunk, run.channel.submit(request))


def _pending(
    run: _RemoteRun, records: list[StoredRecord]
) -> tuple[list[JournalEntry], dict[str, list[JournalEntry]], list[JournalEntry], int]:
    """(signed, waiting by request, to ask, of which asked before) from the journal."""
    keys = [(r.ma_hoc_ba, r.files.xml_sha256) for r in records]
    with run.res.store.connect() as con:
        found = entries_on(con, run.role, keys)
        reqs = requests_on(con, [e.ma_giao_dich for e in found.values() if e.ma_giao_dich])
    signed, to_ask = [], []
    waiting: dict[str, list[JournalEntry]] = {}
    asked_before = 0
    for r in records:
        e = found[r.ma_hoc_ba]
        if e.trang_thai == "da_ky":
            signed.append(e)
        elif (
            e.trang_thai == "da_gui"
            and e.ma_giao_dich in reqs
            and (reqs[e.ma_giao_dich].trang_thai == "cho_xac_nhan")
        ):
            waiting.setdefault(e.ma_giao_dich, []).append(e)
        else:
            to_ask.append(e)
            asked_before += e.trang_thai == "da_gui"
    for members in waiting.values():  # the request's digest order is the records' order
        members.sort(key=lambda e: e.ma_hoc_ba)
    return signed, waiting, to_ask, asked_before


def _request_members(run: _RemoteRun, req_id: str) -> list[JournalEntry]:
    """The records of a request in the order their digests were sent."""
    with run.res.store.connect() as con:
        rows = con.execute(
            "SELECT ma_hoc_ba, sha256_vao FROM chu_ky_hoc_ba WHERE ma_giao_dich = $1 "
            "AND vai_tro = $2 ORDER BY ma_hoc_ba",
            [req_id, run.role],
        ).fetchall()
        found = entries_on(con, run.role, rows)
    return [found[k] for k in sorted(found)]


def _sign_remotely(
    res: Resources,
    records: list[StoredRecord],
    who: Signatory,
    channel: Channel,
    role: Role,
    ma_lop: str,
    wait_s: float,
) -> _RemoteRun:
    run = _RemoteRun(res, channel, who, role, ma_lop)
    keys = [(r.ma_hoc_ba, r.files.xml_sha256) for r in records]
    known = entries(res.store, role, keys)
    fresh = [r for r in records if r.ma_hoc_ba not in known]
    if fresh:
        _prepare(run, fresh)
    _, waiting, to_ask, asked_before = _pending(run, records)
    # Requests already out (an earlier run, or a send whose answer was lost): send the
    # same request again (same id), which asks nothing new, and take its answer.
    for req_id, members in waiting.items():
        members = _request_members(run, req_id)
        request = _request_of(members, req_id, "")
        _settle(run, req_id, members, channel.submit(request))
    if to_ask:
        _send(run, sorted(to_ask, key=lambda e: e.ma_hoc_ba), asked_before)
    deadline = time.monotonic() + wait_s
    interval = res.config.ky_tu_xa.hoi_trang_thai_giay
    while True:
        _, waiting, _, _ = _pending(run, records)
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        for req_id in waiting:
            members = _request_members(run, req_id)
            try:
                status = channel.status(_request_of(members, req_id, ""))
            except SigningError as exc:  # a lost answer: ask again at the next round
                log.warning("Lớp %s: chưa hỏi được trạng thái yêu cầu ký: %s", ma_lop, exc.message)
                continue
            _settle(run, req_id, members, status)
    return run


def _class_state(run: _RemoteRun | None, waiting: int, left: int) -> str:
    if left == 0:
        return "da_ky"
    if waiting:
        return "cho_xac_nhan"
    ended = run.ended if run is not None else []
    for state in ("tu_choi", "het_han"):
        if state in ended:
            return state
    return "loi"


def sign_class(
    res: Resources, ma_lop: str, role: Role, *, wait_s: float | None = None
) -> SignOutcome:
    """``role`` signs every record of ``ma_lop`` that waits for it.

    Remote signing waits at most ``wait_s`` seconds (default: ``cho_xac_nhan_giay`` of
    school.toml) for confirmations; what is still waiting stays in the journal and a
    later run collects it. The class moves in one transaction once all are signed.
    """
    store = res.store
    started = time.perf_counter()
    step = SIGN_STEPS[role]
    records = current_records(store, states=step.takes, ma_lop=ma_lop)
    if not records:
        return SignOutcome(role, ma_lop, 0, time.perf_counter() - started)
    if role == "ht":
        from hocbaso.approval import require_approval

        require_approval(res, ma_lop)
    who, channel = res.channel_for(role, ma_lop)
    run: _RemoteRun | None = None
    sent = 0
    if isinstance(channel, LocalChannel):
        keys = [(r.ma_hoc_ba, r.files.xml_sha256) for r in records]
        done = entries(store, role, keys)
        todo = [
            r
            for r in records
            if done.get(r.ma_hoc_ba) is None or done[r.ma_hoc_ba].trang_thai != "da_ky"
        ]
        if todo:
            asyncio.run(_sign_locally(res, todo, who, channel, role, ma_lop))
            sent = 1
        signed_now = len(todo)
    else:
        wait = res.config.ky_tu_xa.cho_xac_nhan_giay if wait_s is None else wait_s
        run = _sign_remotely(res, records, who, channel, role, ma_lop, wait)
        sent, signed_now = run.sent, run.signed_now
    keys = [(r.ma_hoc_ba, r.files.xml_sha256) for r in records]
    journal = entries(store, role, keys)
    signed = [
        journal[r.ma_hoc_ba]
        for r in records
        if r.ma_hoc_ba in journal and journal[r.ma_hoc_ba].trang_thai == "da_ky"
    ]
    left = len(records) - len(signed)
    waiting = 0
    if run is not None and left:
        _, pending, _, _ = _pending(run, records)
        waiting = sum(len(m) for m in pending.values())
    if left == 0:
        transition(
            store,
            [
                RecordChange(
                    e.ma_hoc_ba,
                    {"sha256": e.sha256, "xml_path": e.xml_path, "pdf_path": e.pdf_path},
                )
                for e in signed
            ],
            step,
        )
    return SignOutcome(
        role,
        ma_lop,
        signed_now,
        time.perf_counter() - started,
        skipped=len(signed) - signed_now if left == 0 else 0,
        trang_thai=_class_state(run, waiting, left),
        so_yeu_cau=sent,
        con_lai=left,
        thong_bao=tuple(run.notes) if run is not None else (),
    )


def send_requests(res: Resources, ma_lop: str, role: Role) -> SignOutcome | None:
    """First pass of a remote step: prepare and send ``ma_lop``'s requests, wait for none.

    Why: each request waits for a person's confirmation; sending every class's requests
    before collecting any makes the confirmations of all classes pending at once, so
    the step waits about one confirmation, not one per class. ``None`` when the class's
    signer is a key or token (nothing to send ahead) or the role is the principal's
    (whose approval comes before anything is asked).
    """
    if role == "ht":
        return None
    records = current_records(res.store, states=SIGN_STEPS[role].takes, ma_lop=ma_lop)
    if not records:
        return None
    _, channel = res.channel_for(role, ma_lop)
    if isinstance(channel, LocalChannel):
        return None
    return sign_class(res, ma_lop, role, wait_s=0)


def merge_outcomes(sent: SignOutcome | None, collected: SignOutcome) -> SignOutcome:
    """One class's outcome from its send pass and its collect pass (``sign_class``)."""
    if sent is None:
        return collected
    if collected.processed == 0 and collected.con_lai == 0 and sent.con_lai == 0:
        return sent  # the send pass finished the class; the collect pass found nothing
    return SignOutcome(
        collected.step,
        collected.ma_lop,
        sent.processed + collected.processed,
        sent.seconds + collected.seconds,
        skipped=max(0, collected.skipped - sent.processed) if collected.con_lai == 0 else 0,
        trang_thai=collected.trang_thai,
        so_yeu_cau=sent.so_yeu_cau + collected.so_yeu_cau,
        con_lai=collected.con_lai,
        thong_bao=sent.thong_bao + collected.thong_bao,
    )


def confirmations_needed(n_records: int, max_digests: int = 50) -> int:
    """The fewest requests (confirmations) for a class of ``n_records``: ceil(2n / max)."""
    return math.ceil(2 * n_records / max_digests)


__all__ = [
    "CLASS_STATES_VI",
    "SignOutcome",
    "confirmations_needed",
    "describe",
    "merge_outcomes",
    "read_record_files",
    "send_requests",
    "sign_class",
]
