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
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Generic, Protocol, TypeVar

from hocbaso.errors import HocBaSoError

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

    def submit(self, what: str, fn: Callable[..., T], *args: object) -> Pending[T]:
        """Start ``fn(*args)`` in a worker (or defer it to the parent with one worker).

        ``fn`` must be a module-level function; ``args`` and its result plain,
        picklable data. ``what`` names the class in a message if its worker dies.
        """
        if self._pool is None:
            return _Deferred(fn, args)
        return _InWorker(self._pool.submit(fn, *args), what)


@contextmanager
def class_workers(jobs: int, *, workers: int | None = None) -> Iterator[ClassWorkers]:
    """Workers for a step of ``jobs`` classes, sized by ``worker_count``.

    Leaving the block cancels what has not started and waits for what runs, so no
    worker outlives the step.
    """
    count = workers if workers is not None else worker_count(jobs)
    if count <= 1:
        yield ClassWorkers(None)
        return
    pool = ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield ClassWorkers(pool, count)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
