"""Run the stand-in's extra verifier in worker processes, so verification uses every core.

Why: verifying a record is CPU-bound Python (PDF parsing, difference analysis,
certificate paths) and the stand-in usually shares its process, and its GIL, with
the client that submits (``hbs submit`` in demo mode). Worker processes verify in
parallel with each other and with the client; each keeps its own verifier, and so
its own revocation answers, for the life of the pool.

The verifier is built in each worker from a picklable ``factory`` (a module-level
function or a ``functools.partial`` of one). Workers are started with ``spawn``:
the parent has threads (the server, the PKI services, the client), and forking a
threaded process can copy a held lock into the child.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from hocbaso.demo.registry.checks import Verifier
from hocbaso.parallel import spawn_pool, worker_count
from hocbaso.registry.results import Refusal

_worker_verifier: Verifier | None = None


def _start_worker(factory: Callable[[], Verifier]) -> None:
    """Build this worker's verifier; close it (its HTTP session) when the worker exits."""
    global _worker_verifier
    _worker_verifier = factory()
    close = getattr(_worker_verifier, "close", None)
    if callable(close):
        atexit.register(close)


def _ready() -> int:
    return os.getpid()


def _verify_in_worker(xml: bytes, pdf: bytes) -> list[Refusal]:
    if _worker_verifier is None:  # the initializer always runs first
        raise RuntimeError("verifier worker started without its verifier")
    return _worker_verifier(xml, pdf)


def _check_in_worker(name: str, data: bytes) -> object:
    check = getattr(_worker_verifier, "check_file", None)
    if check is None:
        return None
    return check(name, data)


def default_workers() -> int:
    """One worker per core this process may use, at least one; ``HBS_WORKERS`` as for
    the steps' workers (``hocbaso.parallel.worker_count``), never more than the cores.

    Why ``HBS_WORKERS``: a district that gives each school's flow run one core (the
    work pool's workers are its cores) would otherwise get a stand-in that verifies
    every school's records on all of them."""
    return worker_count(os.cpu_count() or 1)


class VerifierPool:
    """A ``Verifier`` that runs ``factory()``'s verifier in ``workers`` processes.

    Blocking like any verifier (the stand-in calls it from its thread pool); the
    workers start in the background at construction, so the first record does not
    wait for them to import. If a worker dies, the pool is rebuilt once and the
    record verified again. ``close()`` stops the workers and has joined every one
    when it returns; a pool once closed stays closed (a late call is refused rather
    than silently starting workers nobody will stop).
    """

    def __init__(self, factory: Callable[[], Verifier], *, workers: int | None = None) -> None:
        self._factory = factory
        self._workers = workers or default_workers()
        self._lock = threading.Lock()
        self._closed = False
        self._pool: ProcessPoolExecutor | None = self._start()

    def _start(self) -> ProcessPoolExecutor:
        pool = spawn_pool(self._workers, _start_worker, self._factory)  # ends with us
        for _ in range(self._workers):
            pool.submit(_ready)
        return pool

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("VerifierPool used after close()")
            if self._pool is None:
                self._pool = self._start()
            return self._pool

    def __call__(self, xml: bytes, pdf: bytes) -> list[Refusal]:
        pool = self._current()
        try:
            return pool.submit(_verify_in_worker, xml, pdf).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            _stop(pool)
            return self._current().submit(_verify_in_worker, xml, pdf).result()

    def check_file(self, name: str, data: bytes) -> object:
        """The public page's verification of one uploaded file, in a worker process
        (``None`` if the workers' verifier cannot check files)."""
        return self._current().submit(_check_in_worker, name, data).result()

    def worker_pids(self) -> list[int]:
        """The pids of the worker processes started so far (for tests and diagnostics)."""
        with self._lock:
            return sorted(_processes(self._pool)) if self._pool is not None else []

    def close(self) -> None:
        """Stop the workers (waits for the records being verified); every worker has
        exited and been joined when this returns."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            _stop(pool)


def _processes(pool: ProcessPoolExecutor) -> dict[int, multiprocessing.process.BaseProcess]:
    # The executor's own table of its worker processes: the standard library gives no
    # public way to join them, and `shutdown()` alone may return before a worker it
    # replaced, or one of a broken pool, has been reaped.
    return dict(getattr(pool, "_processes", None) or {})


def _stop(pool: ProcessPoolExecutor, timeout: float = 30.0) -> None:
    """Shut ``pool`` down and join each of its workers; kill one that does not exit."""
    workers = list(_processes(pool).values())
    pool.shutdown(wait=True, cancel_futures=True)
    for process in workers:
        process.join(timeout)
        if process.is_alive():  # a worker stuck in its verifier's exit hook
            process.kill()
            process.join()
