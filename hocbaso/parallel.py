"""Per-class computing in worker processes, committing in the parent.

Why: a step's heavy part (building, validating and rendering records; later
signing and verifying them) is pure work on bytes and plain data, and one Python
process uses one core. DuckDB allows one writing process, so the work is split:

- the parent reads what every class needs from the store (once per step) and hands
  each class to a worker as plain, picklable data (``submit``);
- a worker computes the class and writes its files, which are content-addressed
  (``hocbaso.files.store_content``: named by their hash, written atomically), so a
  file written by a class that is never committed is harmless;
- the parent takes the results **in class order** and commits one transaction per
  class, as the step did before. A class that fails stops the step at that class:
  later classes are cancelled or their results dropped, never committed, so the
  store ends exactly as the one-process step would have left it, and a rerun
  continues from the first class not committed.

With one worker (one core, ``HBS_WORKERS=1``, or a single class) nothing is started
and each class is computed in the parent when its result is asked for, which is
the one-process step unchanged.

Workers are started with ``spawn``: the parent has threads (Prefect, the services),
and forking a threaded process can deadlock the child.

Applying it to another step (as ``hocbaso.lock`` does): a ``prepare`` in the parent
that reads the step's classes in one pass (``Store.held``) into plain jobs (ids,
file paths or bytes, the settings), a module-level ``compute(job)`` that imports
only what it needs and keeps per-process state (a loaded key, a warm renderer) in
a module-level cache, and a ``commit`` per class in the parent
(``transition``, one transaction). A signer whose key lives on a token opens its
own session in each worker; the timestamp and revocation services stay in their
own processes.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from hocbaso.errors import HocBaSoError
from hocbaso.memory import give_back_memory

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

WORKERS_ENV = "HBS_WORKERS"


class WorkerFailed(HocBaSoError):
    """A worker process ended without answering (killed, out of memory)."""


class Pending(Protocol[T_co]):
    """A class's result that the parent asks for when it is that class's turn to commit."""

    def result(self) -> T_co: ...


class _Deferred(Generic[T]):
    """Computed in the calling process when asked for (the one-worker case)."""

    def __init__(self, fn: Callable[..., T], args: tuple[object, ...]) -> None:
        self._fn, self._args = fn, args

    def result(self) -> T:
        return self._fn(*self._args)


class _InWorker(Generic[T]):
    """A worker's future, with a dead worker reported in Vietnamese."""

    def __init__(self, future: Future[T], what: str) -> None:
        self._future, self._what = future, what

    def result(self) -> T:
        try:
            return self._future.result()
        except BrokenProcessPool as exc:
            raise WorkerFailed(
                f"Tiến trình phụ xử lý {self._what} đã dừng đột ngột (bị tắt hoặc hết bộ nhớ); "
                "các lớp đã xong vẫn được lưu.",
                hint="Chạy lại lệnh để tiếp tục từ lớp chưa xong; nếu lặp lại, đặt "
                f"{WORKERS_ENV}=1 để chạy trong một tiến trình.",
            ) from exc


def worker_count(jobs: int, *, limit: int | None = None) -> int:
    """How many workers a step of ``jobs`` classes uses: the cores this process may use,
    or ``HBS_WORKERS``, never more than there are classes."""
    wanted = os.environ.get(WORKERS_ENV)
    if wanted is not None and wanted.strip().isdigit() and int(wanted) > 0:
        cores = int(wanted)
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        cores = cores or 1
    if limit is not None:
        cores = min(cores, limit)
    return max(1, min(cores, jobs))


class ClassWorkers:
    """Worker processes of one step (see ``class_workers``); ``submit`` one class at a time."""

    def __init__(self, pool: ProcessPoolExecutor | None, workers: int = 1) -> None:
        self._pool = pool
        self.workers = workers
        self._futures: list[Future[object]] = []

    def submit(self, what: str, fn: Callable[..., T], *args: object) -> Pending[T]:
        """Start ``fn(*args)`` in a worker (or defer it to the parent with one worker).

        ``fn`` must be a module-level function; ``args`` and its result plain,
        picklable data. ``what`` names the class in a message if its worker dies.
        """
        if self._pool is None:
            return _Deferred(fn, args)
        future = self._pool.submit(fn, *args)
        self._futures.append(future)  # type: ignore[arg-type]
        return _InWorker(future, what)

    def settle(self) -> bool:
        """Cancel this step's work that has not started and wait for what runs, so a
        kept pool starts the next step with nothing of this one left; False when a
        worker died (the pool is broken and must not be kept)."""
        for future in self._futures:
            future.cancel()
        wait(self._futures)
        broken = any(
            not f.cancelled() and isinstance(f.exception(), BrokenProcessPool)
            for f in self._futures
        )
        self._futures.clear()
        return not broken


@dataclass
class _Kept:
    """The pool ``kept_workers`` shares, and how many blocks of it are open."""

    depth: int = 0
    pool: ProcessPoolExecutor | None = None
    size: int = 0


_KEPT = _Kept()
_KEPT_LOCK = threading.Lock()


@contextmanager
def kept_workers() -> Iterator[None]:
    """Inside the block, the steps share one pool of workers instead of each starting
    its own: what a worker loaded for one step (pyHanko, the renderer, a key) serves
    the next, and the seconds of starting workers are paid once per plan, not per step.

    The pool stops at the end of the (outermost) block; a step asking for another
    number of workers gets a pool of its own.
    """
    with _KEPT_LOCK:
        _KEPT.depth += 1
    try:
        yield
    finally:
        with _KEPT_LOCK:
            _KEPT.depth -= 1
            pool = None
            if _KEPT.depth == 0:
                pool, _KEPT.pool, _KEPT.size = _KEPT.pool, None, 0
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def exit_with_parent(parent: int) -> None:
    """A worker process's initializer: the worker ends once ``parent`` (the process that
    started it, ``os.getpid()`` there) is gone.

    Why: a ``ProcessPoolExecutor`` worker whose parent is killed (out of memory, a
    killed command, a test that kills it) waits on its call queue forever, holding
    its few hundred MB, because it holds that queue's pipe itself and never reads an
    end of file. A thread watches the parent (checked each second) instead.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="hbs-parent-watch", daemon=True).start()


def _start_worker(
    parent: int, initializer: Callable[..., object] | None, args: tuple[object, ...]
) -> None:
    exit_with_parent(parent)
    if initializer is not None:
        initializer(*args)


def spawn_pool(
    workers: int, initializer: Callable[..., object] | None = None, *initargs: object
) -> ProcessPoolExecutor:
    """``workers`` spawned worker processes that end with this process (``exit_with_parent``),
    each first running ``initializer(*initargs)`` when given (a module-level function)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


def _start(count: int) -> ProcessPoolExecutor:
    return spawn_pool(count)


def _kept_pool(count: int) -> ProcessPoolExecutor | None:
    """The shared pool of ``kept_workers`` with ``count`` workers (None: none is kept)."""
    with _KEPT_LOCK:
        if _KEPT.depth == 0:
            return None
        if _KEPT.pool is None:
            _KEPT.pool, _KEPT.size = _start(count), count
        return _KEPT.pool if _KEPT.size == count else None


def _forget(pool: ProcessPoolExecutor) -> None:
    """Stop keeping ``pool`` (a worker of it died): the next step starts a new one."""
    with _KEPT_LOCK:
        if _KEPT.pool is pool:
            _KEPT.pool, _KEPT.size = None, 0


@contextmanager
def class_workers(jobs: int, *, workers: int | None = None) -> Iterator[ClassWorkers]:
    """Workers for a step of ``jobs`` classes, sized by ``worker_count``.

    Leaving the block cancels what has not started and waits for what runs, so no
    work of the step outlives it; the workers themselves stop too, unless
    ``kept_workers`` keeps them for the next step.
    """
    count = workers if workers is not None else worker_count(jobs)
    if count <= 1:
        yield ClassWorkers(None)
        return
    kept = _kept_pool(count)
    pool = kept or _start(count)
    step = ClassWorkers(pool, count)
    try:
        yield step
    finally:
        if kept is None or not step.settle():
            _forget(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        give_back_memory()  # the step's jobs and results are gone: let the next start low
