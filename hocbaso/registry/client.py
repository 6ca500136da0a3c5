"""The httpx client of CSDL Học bạ số: token, retries, idempotent submission, batches.

One ``httpx.Client`` per ``RegistryClient`` (its TLS roots are the process's one
context, ``hocbaso.tls``: loading them cost ~26 ms a client), shared
by the worker threads of ``submit_many`` (at most ``max_in_flight`` requests in
flight, the connection pool has the same size).

Retry rules (docs/registry-api.md): connect errors, timeouts, dropped
connections, 429 (honouring ``Retry-After``) and 5xx are retried with
exponential backoff and jitter; a 401 refreshes the token once; every other
4xx is a ``RegistryRejected`` at once. When an attempt may have reached the
registry without its answer reaching us (a read timeout, a dropped connection,
a 5xx), the client asks ``GET /hoc-ba/{id}`` before sending again: if the
registry already holds exactly these XML bytes, that is the receipt.

Messages never name a student nor carry record identifiers: they may be shown
or sent outside the school. The ``Outcome`` of a batch carries ``ma_hoc_ba``
separately, for the store.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

import httpx

from hocbaso.errors import RegistryError, RegistryRejected, RegistryUnavailable
from hocbaso.registry.codes import normalize_ma_tra_cuu
from hocbaso.registry.results import Lookup, Outcome, Receipt, RecordStatus, SubmitItem
from hocbaso.registry.wire import Wire, WireV1
from hocbaso.tls import client_context

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=120.0)
_TOKEN_MARGIN_S = 30.0  # renew a token this long before the registry says it expires
_UNAMBIGUOUS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRY_HINT = (
    "Kiểm tra kết nối mạng và địa chỉ [registry] url trong school.toml, rồi chạy lại bước nộp: "
    "chỉ những học bạ chưa có biên nhận được gửi lại."
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: ``attempts`` per request, backoff doubling from ``backoff_s``.

    The wait before retry *n* is drawn uniformly from ``[cap/2, cap]`` with
    ``cap = min(backoff_max_s, backoff_s * 2**(n-1))`` ("equal jitter": spreads
    a school's workers apart and still grows); a ``Retry-After`` is a floor. A
    ``Retry-After`` longer than ``max_retry_after_s`` ends the attempts at once.

    ``budget_s`` bounds the time one operation may take, attempts and waits together:
    no wait is started that would end past it, and each attempt's timeouts are cut to
    what is left (the submit step gives each class such a budget, so an outage fails a
    class in about a minute instead of many).
    """

    attempts: int = 6
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 300.0
    budget_s: float | None = None

    def delay(self, failures: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait after the ``failures``-th failed attempt."""
        cap = min(self.backoff_max_s, self.backoff_s * 2 ** max(0, failures - 1))
        wait_s = rng.uniform(cap / 2, cap)
        return max(wait_s, retry_after_s) if retry_after_s is not None else wait_s


class _Retryable(Exception):
    """One attempt failed in a way another attempt may fix."""

    def __init__(self, reason: str, *, ambiguous: bool, retry_after_s: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous  # the registry may have acted on the request
        self.retry_after_s = retry_after_s


class _Aborted(Exception):
    """The batch was stopped while this request waited to retry."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RegistryClient:
    """A school's connection to CSDL Học bạ số (``base_url`` ends in ``/api/v1``).

    Use as a context manager, or call ``close()``. Safe to call from several
    threads; ``submit_many`` makes its own.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        max_in_flight: int = 4,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        wire: Wire | None = None,
        seed: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self.retry = retry or RetryPolicy()
        self._client_id = client_id
        self._secret = client_secret
        self._wire: Wire = wire or WireV1()
        self._rng = random.Random(seed)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_in_flight, max_keepalive_connections=max_in_flight
            ),
            headers={"User-Agent": "hocbaso"},
            transport=transport,  # httpx.MockTransport in unit tests; the network otherwise
            verify=client_context(),  # the process's TLS roots, not a copy per client
        )
        self._token_lock = threading.Lock()
        self._local = threading.local()  # the running operation's deadline, per thread
        self._address = base_url.rstrip("/")  # named in every "does not answer" message
        self._token: str | None = None
        self._token_valid_until = 0.0

    # --- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- public operations ----------------------------------------------------------------

    def submit(self, ma_hoc_ba: str, xml: bytes, pdf: bytes) -> Receipt:
        """Send one sealed record; the receipt says the registry holds exactly ``xml``.

        Raises ``RegistryRejected`` (4xx, final for this record) or
        ``RegistryUnavailable`` (retries exhausted; rerunning is safe).
        """
        return self._submit(SubmitItem(ma_hoc_ba, xml, pdf), None)

    def submit_many(
        self,
        items: Iterable[SubmitItem],
        on_result: Callable[[Outcome], None] | None = None,
        *,
        stop_when_unavailable: bool = True,
        budget_s: float | None = None,
    ) -> list[Outcome]:
        """Send many records, ``max_in_flight`` at a time; one ``Outcome`` per item, in order.

        ``items`` is read lazily (at most twice ``max_in_flight`` records are
        held at once). ``on_result`` is called in the calling thread as each
        record ends, so it may write to the store. A rejection ends only its
        record. When the registry stays unavailable for one record, the batch
        stops (unless ``stop_when_unavailable`` is false): records not yet sent
        end with ``RegistryUnavailable`` at once. Credentials the registry
        refuses (``AUTH``) concern every record: the batch stops and raises
        ``RegistryRejected`` after the records in flight ended. ``budget_s`` (default:
        the policy's) bounds the time each record may spend on attempts and waits.
        """
        abort = threading.Event()
        outcomes: dict[int, Outcome] = {}
        stopped_by: RegistryUnavailable | None = None
        auth_error: RegistryRejected | None = None
        source: Iterator[tuple[int, SubmitItem]] = enumerate(items)
        window = 2 * self.max_in_flight

        def finish(index: int, outcome: Outcome) -> None:
            outcomes[index] = outcome
            if on_result is not None:
                on_result(outcome)

        with ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="hbs-registry") as pool:
            pending: dict[Future[Receipt], tuple[int, SubmitItem]] = {}
            try:
                while True:
                    while len(pending) < window and not abort.is_set():
                        nxt = next(source, None)
                        if nxt is None:
                            break
                        pending[pool.submit(self._submit, nxt[1], abort, budget_s)] = nxt
                    if not pending:
                        break
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        index, item = pending.pop(future)
                        outcome = self._outcome_of(item, future)
                        if isinstance(outcome.error, RegistryRejected):
                            if outcome.error.code == "AUTH":
                                auth_error = auth_error or outcome.error
                                abort.set()
                        elif outcome.error is not None and stop_when_unavailable:
                            stopped_by = stopped_by or outcome.error
                            abort.set()
                        finish(index, outcome)
            except BaseException:
                # on_result failed or the run was interrupted: send nothing more; what is
                # already on the wire ends by itself and a rerun finds it held.
                abort.set()
                for future in pending:
                    future.cancel()
                raise
        if auth_error is not None:
            raise auth_error
        if stopped_by is not None:
            for index, item in source:
                finish(
                    index,
                    Outcome(
                        item.ma_hoc_ba,
                        error=RegistryUnavailable(
                            "Chưa gửi học bạ này: CSDL Học bạ số không trả lời được các "
                            "học bạ gửi trước đó.",
                            hint=_RETRY_HINT,
                        ),
                    ),
                )
        return [outcomes[i] for i in sorted(outcomes)]

    @staticmethod
    def _outcome_of(item: SubmitItem, future: Future[Receipt]) -> Outcome:
        try:
            return Outcome(item.ma_hoc_ba, receipt=future.result())
        except (RegistryRejected, RegistryUnavailable) as exc:
            return Outcome(item.ma_hoc_ba, error=exc)
        except RegistryError as exc:  # a malformed answer: the record's fate is unknown
            return Outcome(item.ma_hoc_ba, error=RegistryUnavailable(exc.message, hint=exc.hint))

    def status(self, ma_hoc_ba: str) -> RecordStatus | None:
        """What the registry holds under ``ma_hoc_ba``, or ``None`` if nothing."""
        return self._status(ma_hoc_ba, None)

    def revoke(self, ma_hoc_ba: str, ly_do: str) -> RecordStatus:
        """Revoke an issued record (``ly_do`` is required); returns its new status.

        ``RegistryRejected`` with code ``NOT_FOUND`` (404) or ``REVOKED`` (409).
        """
        if not ly_do.strip():
            raise RegistryRejected(
                "Thu hồi học bạ phải nêu lý do.",
                code="REQUEST",
                status=400,
                hint="Ghi lý do thu hồi (ví dụ: sai sót nội dung, sẽ phát hành bản mới).",
            )

        def once() -> RecordStatus:
            response = self._exchange(
                lambda token: self._wire.revoke_request(self._http, token, ma_hoc_ba, ly_do),
                ambiguous_5xx=True,
            )
            if response.status_code == 200:
                return self._wire.parse_status(response, ma_hoc_ba)
            raise self._rejected(response)

        def probe() -> RecordStatus | None:
            held = self._status(ma_hoc_ba, None)
            return held if held is not None and held.trang_thai == "revoked" else None

        return self._retrying(once, probe=probe)

    def lookup(self, ma_tra_cuu: str) -> Lookup | None:
        """The public lookup of a paper copy's code, or ``None`` if no record has it.

        The code is checked locally first (``InvalidMaTraCuu`` on a typo).
        """
        code = normalize_ma_tra_cuu(ma_tra_cuu)

        def once() -> Lookup | None:
            response = self._exchange(
                lambda _token: self._wire.lookup_request(self._http, code), auth=False
            )
            if response.status_code == 200:
                return self._wire.parse_lookup(response)
            if response.status_code == 404:
                return None
            raise self._rejected(response)

        return self._retrying(once)

    # --- operations with an abort flag (batches) -------------------------------------------

    def _submit(
        self, item: SubmitItem, abort: threading.Event | None, budget_s: float | None = None
    ) -> Receipt:
        sha = _sha256(item.xml)

        def once() -> Receipt:
            response = self._exchange(
                lambda token: self._wire.submit_request(
                    self._http, token, item.ma_hoc_ba, item.xml, item.pdf
                ),
                ambiguous_5xx=True,
            )
            if response.status_code in (200, 201):
                receipt = self._wire.parse_receipt(
                    response, item.ma_hoc_ba, "created" if response.status_code == 201 else "held"
                )
                if receipt.sha256 != sha:
                    raise RegistryError(
                        "CSDL Học bạ số xác nhận một nội dung khác với tệp đã gửi "
                        "(mã băm SHA-256 không khớp).",
                        hint="Không đánh dấu học bạ là đã nộp; báo cho người quản trị phần mềm.",
                    )
                return receipt
            raise self._rejected(response)

        def probe() -> Receipt | None:
            held = self._status(item.ma_hoc_ba, abort)
            if held is None:
                return None
            if held.sha256 != sha:
                raise RegistryRejected(
                    "CSDL Học bạ số đang giữ một nội dung khác dưới mã định danh này.",
                    code="CONFLICT",
                    status=409,
                    hint=self._wire.hint("CONFLICT"),
                )
            if held.trang_thai == "revoked":
                raise RegistryRejected(
                    "Học bạ có mã định danh này đã bị thu hồi.",
                    code="REVOKED",
                    status=409,
                    hint=self._wire.hint("REVOKED"),
                )
            if held.received_at is None:
                return None  # cannot make a full receipt: send again, the registry answers 200
            return Receipt(item.ma_hoc_ba, held.ma_tra_cuu, held.received_at, sha, "confirmed")

        return self._retrying(once, probe=probe, abort=abort, budget_s=budget_s)

    def _status(self, ma_hoc_ba: str, abort: threading.Event | None) -> RecordStatus | None:
        def once() -> RecordStatus | None:
            response = self._exchange(
                lambda token: self._wire.status_request(self._http, token, ma_hoc_ba)
            )
            if response.status_code == 200:
                return self._wire.parse_status(response, ma_hoc_ba)
            if response.status_code == 404:
                return None
            raise self._rejected(response)

        return self._retrying(once, abort=abort)

    # --- the machinery -------------------------------------------------------------------

    def _retrying(
        self,
        once: Callable[[], T],
        *,
        probe: Callable[[], T | None] | None = None,
        abort: threading.Event | None = None,
        budget_s: float | None = None,
    ) -> T:
        """Run ``once`` until it answers, retrying what may pass later.

        After an attempt that may have reached the registry, ``probe`` asks
        what the registry holds before anything is sent again. A nested operation
        (the probe, a token renewal) keeps the deadline of the one around it.
        """
        budget = budget_s if budget_s is not None else self.retry.budget_s
        started = time.monotonic()
        outer: float | None = getattr(self._local, "deadline", None)
        outer_abort: threading.Event | None = getattr(self._local, "abort", None)
        deadline = outer
        if budget is not None:
            deadline = started + budget if outer is None else min(outer, started + budget)
        abort = abort or outer_abort
        self._local.deadline, self._local.abort = deadline, abort
        try:
            return self._retry_loop(once, probe, abort, started, deadline)
        finally:
            self._local.deadline, self._local.abort = outer, outer_abort

    def _unavailable(self, failures: int, started: float, reason: str) -> RegistryUnavailable:
        """The message of an operation that gave up: the address tried, attempts, time."""
        return RegistryUnavailable(
            f"CSDL Học bạ số tại {self._address} không trả lời: {reason} "
            f"({failures} lần thử trong {time.monotonic() - started:.0f} giây).",
            hint=_RETRY_HINT,
        )

    def _retry_loop(
        self,
        once: Callable[[], T],
        probe: Callable[[], T | None] | None,
        abort: threading.Event | None,
        started: float,
        deadline: float | None,
    ) -> T:
        failures = 0
        uncertain = False
        while True:
            if abort is not None and abort.is_set():  # the batch stopped: start nothing more
                raise RegistryUnavailable(
                    f"Chưa gửi: CSDL Học bạ số tại {self._address} không trả lời các học bạ "
                    "gửi trước đó.",
                    hint=_RETRY_HINT,
                ) from _Aborted()
            if uncertain and probe is not None:
                found = probe()
                if found is not None:
                    return found
                uncertain = False
            try:
                return once()
            except _Retryable as exc:
                failures += 1
                uncertain = uncertain or exc.ambiguous
                too_long = (
                    exc.retry_after_s is not None
                    and exc.retry_after_s > self.retry.max_retry_after_s
                )
                delay = self.retry.delay(failures, exc.retry_after_s, self._rng)
                out_of_time = deadline is not None and time.monotonic() + delay >= deadline
                if failures >= self.retry.attempts or too_long or out_of_time:
                    raise self._unavailable(failures, started, exc.reason) from exc
                if abort is not None:
                    if abort.wait(delay):
                        raise RegistryUnavailable(
                            f"Đã dừng gửi tới CSDL Học bạ số tại {self._address}: {exc.reason}.",
                            hint=_RETRY_HINT,
                        ) from _Aborted()
                else:
                    time.sleep(delay)

    def _exchange(
        self,
        build: Callable[[str], httpx.Request],
        *,
        auth: bool = True,
        ambiguous_5xx: bool = False,
    ) -> httpx.Response:
        """One request (plus one token renewal on 401); raises ``_Retryable`` or returns."""
        token = self._current_token() if auth else ""
        response = self._send(build(token))
        if auth and response.status_code == 401:
            token = self._current_token(stale=token)
            response = self._send(build(token))
            if response.status_code == 401:
                raise self._rejected(response)
        if response.status_code == 429:
            raise _Retryable(
                "CSDL Học bạ số yêu cầu gửi chậm lại (HTTP 429)",
                ambiguous=False,
                retry_after_s=self._wire.retry_after_s(response),
            )
        if response.status_code >= 500:
            raise _Retryable(
                f"CSDL Học bạ số báo lỗi máy chủ (HTTP {response.status_code})",
                ambiguous=ambiguous_5xx,
                retry_after_s=self._wire.retry_after_s(response),
            )
        return response

    def _send(self, request: httpx.Request) -> httpx.Response:
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is not None:  # cut this attempt's timeouts to what the budget leaves
            left = deadline - time.monotonic()
            if left <= 0.05:
                raise _Retryable("hết thời gian dành cho lần gửi này", ambiguous=False)
            limits = request.extensions.get("timeout") or {}
            request.extensions["timeout"] = {
                k: left if v is None else min(float(v), left) for k, v in limits.items()
            } or {"connect": left, "read": left, "write": left, "pool": left}
        try:
            return self._http.send(request)
        except _UNAMBIGUOUS as exc:
            raise _Retryable("không kết nối được tới CSDL Học bạ số", ambiguous=False) from exc
        except httpx.TimeoutException as exc:
            raise _Retryable(
                "CSDL Học bạ số không trả lời trong thời gian chờ", ambiguous=True
            ) from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(
                "kết nối bị ngắt trước khi nhận được câu trả lời", ambiguous=True
            ) from exc
        except httpx.HTTPError as exc:
            raise RegistryError(
                "Không gửi được yêu cầu tới CSDL Học bạ số (địa chỉ hoặc giao thức không hợp lệ).",
                hint="Kiểm tra địa chỉ [registry] url trong school.toml.",
            ) from exc

    def _current_token(self, stale: str | None = None) -> str:
        """A valid token; ``stale`` is one the registry refused, to be replaced."""
        with self._token_lock:
            now = time.monotonic()
            if stale is not None and self._token == stale:
                self._token = None
            if self._token is not None and now < self._token_valid_until:
                return self._token

            def once() -> str:
                response = self._send(
                    self._wire.token_request(self._http, self._client_id, self._secret)
                )
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Retryable(
                        f"CSDL Học bạ số không cấp được mã truy cập (HTTP {response.status_code})",
                        ambiguous=False,
                        retry_after_s=self._wire.retry_after_s(response),
                    )
                if response.status_code != 200:
                    raise self._rejected(response, default_code="AUTH")
                token = self._wire.parse_token(response)
                self._token = token.value
                self._token_valid_until = time.monotonic() + max(
                    0.0, token.expires_in_s - _TOKEN_MARGIN_S
                )
                return token.value

            return self._retrying(once)

    def _rejected(
        self, response: httpx.Response, default_code: str | None = None
    ) -> RegistryRejected:
        """The ``RegistryRejected`` for a 4xx answer (its code, message and what to do)."""
        refusal = self._wire.refusal(response)
        code = refusal.code
        if code.startswith("HTTP_") and default_code is not None:
            code = default_code
        said = refusal.message or f"HTTP {response.status_code}"
        return RegistryRejected(
            f"CSDL Học bạ số từ chối ({code}): {said}",
            code=code,
            status=response.status_code,
            hint=self._wire.hint(code),
        )
