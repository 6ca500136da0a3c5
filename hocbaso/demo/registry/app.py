"""The stand-in CSDL Học bạ số as an ASGI application (FastAPI), per docs/registry-api.md.

Endpoints under ``/api/v1``: ``POST /token``, ``PUT|GET /hoc-ba/{ma_hoc_ba}``,
``POST /hoc-ba/{ma_hoc_ba}/thu-hoi``, ``GET /tra-cuu/{ma_tra_cuu}`` (public);
the same lookup at ``/tra-cuu/{ma_tra_cuu}`` answers a phone that scanned the
paper copy's QR code with a small HTML page. ``/_admin`` configures faults and
expires tokens (tests, demos). Every refusal is ``{"code", "message"}`` with a
Vietnamese message that names no student.

The record's routes are ``async`` only for I/O; parsing, checking and storing
run in the thread pool so a slow extra verifier does not stall other requests.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from hocbaso.demo.registry.answers import (
    API,
    ApiError,
    conflict,
    invalid,
    lookup_body,
    receipt_body,
    status_body,
    too_large,
)
from hocbaso.demo.registry.checks import (
    RecordFacts,
    RecordRefused,
    Verifier,
    basic_checks,
)
from hocbaso.demo.registry.faults import DROP_KEY, FaultInjector, FaultMiddleware, Faults
from hocbaso.demo.registry.page import check_page, lookup_page
from hocbaso.demo.registry.storage import NewRecord, Storage, StoredRecord
from hocbaso.registry.codes import InvalidMaTraCuu, new_ma_tra_cuu, normalize_ma_tra_cuu


def _issued_here(storage: Storage, record: StoredRecord, data: bytes) -> bool:
    """The uploaded bytes are the XML or PDF issued under this code, a PDF carrying that
    XML, or that XML renewed (archive timestamps appended, ``longterm.is_renewal_of``)."""
    from hocbaso.render import extract_record_xml
    from hocbaso.signing.longterm import is_renewal_of

    digest = hashlib.sha256(data).hexdigest()
    if digest in (record.sha256, record.pdf_sha256):
        return True
    try:
        if data.lstrip()[:5] == b"%PDF-":
            return hashlib.sha256(extract_record_xml(data)).hexdigest() == record.sha256
        held = storage.blobs(record.ma_hoc_ba)
        return held is not None and is_renewal_of(held[0], data)
    except Exception:  # a hostile file is simply not the issued one
        return False


_MA_HOC_BA = re.compile(r"^[A-Za-z0-9._-]{1,36}$")


@dataclass(frozen=True, slots=True)
class SchoolClient:
    """One set of school credentials; ``ma_truong`` binds them to one school (else any)."""

    secret: str
    ma_truong: str | None = None


@dataclass
class StandinState:
    """Everything the application needs; owned by ``StandinServer``."""

    storage: Storage
    clients: Mapping[str, SchoolClient]
    faults: FaultInjector
    verifier: Verifier | None = None
    token_ttl_s: float = 3600.0
    max_body_bytes: int = 25 * 1024 * 1024
    admin: bool = True
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _token_lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_token(self, client_id: str) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._token_lock:
            for old in [t for t, (_, exp) in self._tokens.items() if exp <= now]:
                del self._tokens[old]
            self._tokens[token] = (client_id, now + self.token_ttl_s)
        return token

    def client_of(self, token: str) -> str | None:
        with self._token_lock:
            entry = self._tokens.get(token)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def expire_tokens(self) -> int:
        with self._token_lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count


# --- the application --------------------------------------------------------------------------


def create_app(state: StandinState) -> ASGIApp:
    """The stand-in as an ASGI application, faults included."""
    app = FastAPI(
        title="CSDL Học bạ số (stand-in)", docs_url=None, redoc_url=None, openapi_url=None
    )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: ("NOT_FOUND", "Không có địa chỉ này trên CSDL Học bạ số."),
            405: ("METHOD_NOT_ALLOWED", "Địa chỉ này không nhận phương thức đã dùng."),
        }
        code, message = messages.get(exc.status_code, ("REQUEST", "Yêu cầu không hợp lệ."))
        return ApiError(exc.status_code, code, message).response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return ApiError(400, "REQUEST", "Nội dung yêu cầu không đúng định dạng.").response()

    def authenticate(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        client_id = state.client_of(token.strip()) if scheme.lower() == "bearer" else None
        if client_id is None:
            raise ApiError(
                401,
                "AUTH",
                "Thiếu hoặc hết hạn mã truy cập (token); hãy xin mã mới.",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return client_id

    def check_school(client_id: str, ma_truong: str) -> None:
        bound = state.clients[client_id].ma_truong
        if bound is not None and bound != ma_truong:
            raise ApiError(
                403,
                "FORBIDDEN",
                "Tài khoản kết nối này không được gửi hoặc xem học bạ của trường khác.",
            )

    def check_ma_hoc_ba(ma_hoc_ba: str) -> None:
        if not _MA_HOC_BA.match(ma_hoc_ba):
            raise ApiError(
                422,
                "ID",
                "Mã định danh học bạ trên đường dẫn không hợp lệ (tối đa 36 ký tự chữ, số, "
                "'.', '_', '-').",
            )

    @app.post(API + "/token")
    async def token(request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=8)
        except Exception as exc:  # multipart parser errors have no common base
            raise ApiError(400, "REQUEST", "Yêu cầu cấp mã truy cập không đúng định dạng.") from exc
        client_id = str(form.get("client_id") or "")
        secret = str(form.get("client_secret") or "")
        grant = str(form.get("grant_type") or "client_credentials")
        client = state.clients.get(client_id)
        if (
            grant != "client_credentials"
            or client is None
            or not hmac.compare_digest(client.secret.encode(), secret.encode())
        ):
            raise ApiError(401, "AUTH", "Sai mã đơn vị hoặc mật khẩu kết nối CSDL Học bạ số.")
        return JSONResponse(
            {
                "access_token": state.issue_token(client_id),
                "token_type": "Bearer",
                "expires_in": max(1, math.ceil(state.token_ttl_s)),
            }
        )

    def verify(client_id: str, ma_hoc_ba: str, xml: bytes, pdf: bytes) -> RecordFacts:
        try:
            facts = basic_checks(ma_hoc_ba, xml, pdf)
        except RecordRefused as exc:
            raise invalid(exc.refusals) from exc
        check_school(client_id, facts.ma_truong)
        refusals = state.verifier(xml, pdf) if state.verifier is not None else []
        if refusals:
            raise invalid(refusals)
        return facts

    def accept(client_id: str, ma_hoc_ba: str, xml: bytes, pdf: bytes) -> tuple[int, StoredRecord]:
        sha = hashlib.sha256(xml).hexdigest()
        pdf_sha = hashlib.sha256(pdf).hexdigest()
        held = state.storage.get(ma_hoc_ba)
        if held is None:
            facts = verify(client_id, ma_hoc_ba, xml, pdf)
            new = NewRecord(
                ma_hoc_ba,
                sha,
                pdf_sha,
                xml,
                pdf,
                client_id,
                facts.ma_truong,
                facts.truong,
                facts.ho_va_ten,
                facts.nam_hoc,
            )
            outcome, held = state.storage.put(new, new_ma_tra_cuu)
            if outcome == "created":
                return 201, held
        check_school(client_id, held.ma_truong)
        if held.sha256 != sha or held.pdf_sha256 != pdf_sha or held.trang_thai == "revoked":
            raise conflict(held)
        return 200, held

    @app.put(API + "/hoc-ba/{ma_hoc_ba}")
    async def put_hoc_ba(ma_hoc_ba: str, request: Request) -> Response:
        try:
            client_id = authenticate(request)
            check_ma_hoc_ba(ma_hoc_ba)
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > state.max_body_bytes:
                raise too_large(state.max_body_bytes)
            xml, pdf = await _read_parts(request, state.max_body_bytes)
            status, record = await run_in_threadpool(accept, client_id, ma_hoc_ba, xml, pdf)
        except ApiError as exc:
            await run_in_threadpool(state.storage.log, "PUT", ma_hoc_ba, exc.status, exc.code)
            raise
        drop = state.faults.drop_after_store()
        await run_in_threadpool(
            state.storage.log, "PUT", ma_hoc_ba, status, "DROPPED" if drop else None
        )
        if drop:
            request.scope[DROP_KEY][0] = True
        return JSONResponse(receipt_body(record), status_code=status)

    @app.get(API + "/hoc-ba/{ma_hoc_ba}")
    async def get_hoc_ba(ma_hoc_ba: str, request: Request) -> Response:
        client_id = authenticate(request)
        record = await run_in_threadpool(state.storage.get, ma_hoc_ba)
        await run_in_threadpool(state.storage.log, "GET", ma_hoc_ba, 200 if record else 404, None)
        if record is None:
            raise ApiError(404, "NOT_FOUND", "CSDL Học bạ số chưa nhận học bạ có mã định danh này.")
        check_school(client_id, record.ma_truong)
        return JSONResponse(status_body(record))

    @app.post(API + "/hoc-ba/{ma_hoc_ba}/thu-hoi")
    async def revoke(ma_hoc_ba: str, request: Request) -> Response:
        client_id = authenticate(request)
        try:
            body = await request.json()
        except ValueError:
            body = None
        ly_do = body.get("ly_do") if isinstance(body, dict) else None
        if not isinstance(ly_do, str) or not ly_do.strip():
            raise ApiError(400, "REQUEST", "Thu hồi học bạ phải nêu lý do (trường ly_do).")
        held = await run_in_threadpool(state.storage.get, ma_hoc_ba)
        if held is None:
            raise ApiError(404, "NOT_FOUND", "CSDL Học bạ số chưa nhận học bạ có mã định danh này.")
        check_school(client_id, held.ma_truong)
        done, record = await run_in_threadpool(state.storage.revoke, ma_hoc_ba, ly_do.strip())
        await run_in_threadpool(state.storage.log, "THU_HOI", ma_hoc_ba, 200 if done else 409, None)
        if not done or record is None:
            raise ApiError(409, "REVOKED", "Học bạ này đã bị thu hồi trước đó.")
        return JSONResponse(status_body(record))

    async def lookup(ma_tra_cuu: str, request: Request) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        try:
            code = normalize_ma_tra_cuu(ma_tra_cuu)
        except InvalidMaTraCuu as exc:
            error = ApiError(404, "INVALID_CODE", exc.message)
            record = None
        else:
            record = await run_in_threadpool(state.storage.by_ma_tra_cuu, code)
            error = ApiError(404, "NOT_FOUND", "Không có học bạ nào mang mã tra cứu này.")
        if wants_html:
            successor = await run_in_threadpool(state.storage.successor, record) if record else None
            page = lookup_page(record, None if record else error.message, successor)
            return HTMLResponse(page, status_code=200 if record else 404)
        if record is None:
            raise error
        return JSONResponse(lookup_body(record))

    app.add_api_route(API + "/tra-cuu/{ma_tra_cuu}", lookup, methods=["GET"])
    app.add_api_route("/tra-cuu/{ma_tra_cuu}", lookup, methods=["GET"])

    @app.post("/tra-cuu/{ma_tra_cuu}/kiem-tra")
    async def check_upload(ma_tra_cuu: str, request: Request) -> Response:
        """The public page's upload form: verify a PDF or XML of this record."""
        try:
            record = await run_in_threadpool(
                state.storage.by_ma_tra_cuu, normalize_ma_tra_cuu(ma_tra_cuu)
            )
        except InvalidMaTraCuu as exc:
            return HTMLResponse(lookup_page(None, exc.message), status_code=404)
        if record is None:
            page = lookup_page(None, "Không có học bạ nào mang mã tra cứu này.")
            return HTMLResponse(page, status_code=404)
        form = await request.form()
        try:
            upload = form.get("tep")
            if not isinstance(upload, UploadFile):
                return HTMLResponse(lookup_page(record, None), status_code=400)
            data = await upload.read(state.max_body_bytes + 1)
            name = upload.filename or "tep"
        finally:
            await form.close()
        if len(data) > state.max_body_bytes:
            raise too_large(state.max_body_bytes)
        checker = getattr(state.verifier, "check_file", None)
        result = await run_in_threadpool(checker, name, data) if checker else None
        successor = await run_in_threadpool(state.storage.successor, record)
        issued = await run_in_threadpool(_issued_here, state.storage, record, data)
        page = check_page(record, successor, name, result, issued)
        return HTMLResponse(page, status_code=200)

    if state.admin:

        @app.get("/_admin/faults")
        async def get_faults() -> Response:
            return JSONResponse(state.faults.snapshot().model_dump())

        @app.post("/_admin/faults")
        async def set_faults(faults: Faults) -> Response:
            state.faults.configure(faults)
            return JSONResponse(state.faults.snapshot().model_dump())

        @app.post("/_admin/tokens/expire")
        async def expire_tokens() -> Response:
            return JSONResponse({"expired": state.expire_tokens()})

        @app.get("/_admin/stats")
        async def stats() -> Response:
            records = await run_in_threadpool(state.storage.count_records)
            puts = await run_in_threadpool(state.storage.answers, "PUT")
            return JSONResponse({"records": records, "put_answers": puts})

    return FaultMiddleware(app, state.faults)


async def _read_parts(request: Request, limit: int) -> tuple[bytes, bytes]:
    """The ``xml`` and ``pdf`` parts of a multipart body, or a 400/413 refusal."""
    try:
        form = await request.form(max_files=2, max_fields=0)
    except Exception as exc:  # multipart parser errors have no common base
        raise ApiError(
            400,
            "REQUEST",
            "Nội dung gửi lên phải là multipart/form-data với hai phần 'xml' và 'pdf'.",
        ) from exc
    try:
        parts = {name: form.get(name) for name in ("xml", "pdf")}
        if not all(isinstance(part, UploadFile) for part in parts.values()):
            raise ApiError(
                400,
                "REQUEST",
                "Thiếu phần 'xml' hoặc 'pdf' (gửi dạng tệp) trong nội dung multipart.",
            )
        xml = await parts["xml"].read()  # type: ignore[union-attr]
        pdf = await parts["pdf"].read()  # type: ignore[union-attr]
    finally:
        await form.close()
    if len(xml) + len(pdf) > limit:
        raise too_large(limit)
    return xml, pdf
