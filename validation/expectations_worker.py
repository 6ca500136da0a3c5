"""The Great Expectations gate in a process of its own, kept warm for the process's life.

Why: Great Expectations (with pandas) costs ~5 s and ~140 MB to import, more than the
gate's work on a school's file, and the importing process keeps that memory for the
rest of the run, while the later steps (lock, sign, submit) need it. So the gate runs
in one spawned worker process: ``warm`` starts it at the beginning of the gates, so GE
imports on the other core while the row, reference and rule gates run here, and
``check`` hands it the accepted rows (polars frames, picklable) and takes back the
``GateReport``. The worker stays for later imports of the same process (a district run,
the test suite) and is stopped at exit.

With one core (or ``HBS_WORKERS=1``) the gate runs in this process, as before; if the
worker dies, the gate is run here rather than lost.
"""

from __future__ import annotations

import atexit
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import polars as pl

from hocbaso.parallel import spawn_pool, worker_count
from validation.report import GateReport

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_warming: Future[None] | None = None


def _import_ge() -> None:
    import great_expectations  # noqa: F401

    import validation.expectations  # noqa: F401  (imports great_expectations)


def _run(per_table: dict[str, pl.DataFrame], dataset: str, docs_dir: Path | None) -> GateReport:
    from validation.expectations import check_expectations

    return check_expectations(per_table, dataset=dataset, docs_dir=docs_dir)


def stop() -> None:
    """Stop the worker now (a later ``check`` starts a new one). A process that is
    itself a pool's worker must call this before it ends: its exit waits for its
    children, and ``atexit`` does not run there."""
    _shutdown()
    _discard()


def _shutdown() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_pool() -> ProcessPoolExecutor | None:
    """The gate's worker (started on first use), or ``None`` to run here."""
    global _pool
    if worker_count(2) < 2:
        return None
    with _lock:
        if _pool is None:
            _pool = spawn_pool(1)  # ends with this process, even a killed one
            atexit.register(_shutdown)
        return _pool


def warm() -> None:
    """Start the worker and its import of GE now, so ``check`` finds it ready."""
    global _warming
    pool = _worker_pool()
    if pool is not None and _warming is None:
        try:
            _warming = pool.submit(_import_ge)
        except BrokenProcessPool:
            _discard()


def _discard() -> None:
    global _pool, _warming
    with _lock:
        pool, _pool, _warming = _pool, None, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def check(
    per_table: dict[str, pl.DataFrame], *, dataset: str, docs_dir: Path | None = None
) -> GateReport:
    """The expectations gate on ``per_table`` (see ``check_expectations``)."""
    pool = _worker_pool()
    if pool is not None:
        try:
            return pool.submit(_run, per_table, dataset, docs_dir).result()
        except BrokenProcessPool:  # killed or out of memory: run it here instead
            _discard()
    return _run(per_table, dataset, docs_dir)
