"""Per-class work in worker processes, committed by the parent (hocbaso.parallel, the lock).

The lock computed in two worker processes leaves the store exactly as the one-process
lock does (same files, same rows, one audit event per record, the chain intact); the
generic helper keeps class order, reports a worker's error at its class and computes
nothing ahead with one worker.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.initialize import initialize
from hocbaso.lock import lock_class, lock_step
from hocbaso.parallel import WorkerFailed, class_workers, kept_workers, worker_count
from hocbaso.resources import open_resources
from hocbaso.store import classes, current_records, verify_chain


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small school of several classes, initialized once (no keys needed to lock)."""
    root = tmp_path_factory.mktemp("truong-song-song")
    shutil.copyfile(str(bundled.school_toml_template()), root / "school.toml")
    source = write_xlsx(generate_school(n_students=24, seed=5), root / "nguon.xlsx")
    initialize(open_resources(root).ws, source, expectations=False)
    return root


def _rows(root: Path) -> list[tuple[object, ...]]:
    res = open_resources(root)
    return [
        (r.ma_hoc_ba, r.trang_thai, r.sha256, r.sha256_du_lieu, r.xml_path, r.pdf_path)
        for r in current_records(res.store)
    ]


def test_lock_in_two_workers_equals_the_lock_in_one_process(
    imported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = tmp_path / "mot", tmp_path / "hai"
    shutil.copytree(imported, one)
    shutil.copytree(imported, two)
    res_one = open_resources(one)
    names = [c.ma_lop for c in classes(res_one.store)]
    assert len(names) >= 3
    sequential = [lock_class(res_one, c).processed for c in names]

    monkeypatch.setenv("HBS_WORKERS", "2")
    res_two = open_resources(two)
    with lock_step(res_two, names) as step:
        outcomes = [step.commit(c) for c in names]
    assert [o.processed for o in outcomes] == sequential
    assert sum(sequential) == 24
    assert [o.ma_lop for o in outcomes] == names

    assert _rows(one) == _rows(two)
    for rel in {row[4] for row in _rows(two)} | {row[5] for row in _rows(two)}:
        assert (two / str(rel)).read_bytes() == (one / str(rel)).read_bytes()
    with res_two.store.connect() as con:
        chain = verify_chain(con)
        locks = con.execute(
            "SELECT count(*) FROM su_kien WHERE hanh_dong = 'chot_du_lieu'"
        ).fetchone()
    assert chain.intact
    assert locks == (24,)


def test_workers_keep_class_order_and_report_an_error_at_its_class() -> None:
    # Builtins only: a spawned worker imports nothing of the project for them.
    with class_workers(3, workers=2) as workers:
        assert workers.workers == 2
        pending = [workers.submit(f"lớp {i}", pow, i, 2) for i in range(3)]
        where = workers.submit("lớp nào", os.getpid)
        failing = workers.submit("lớp hỏng", int, "không phải số")
        assert [p.result() for p in pending] == [0, 1, 4]
        assert where.result() != os.getpid()
        with pytest.raises(ValueError):
            failing.result()


def test_one_worker_computes_in_this_process_only_when_asked() -> None:
    calls: list[int] = []
    record: Callable[[int], int] = lambda x: calls.append(x) or x  # noqa: E731
    with class_workers(5, workers=1) as workers:
        pending = [workers.submit(f"lớp {i}", record, i) for i in range(3)]
        assert calls == []
        assert pending[1].result() == 1
        assert calls == [1]


def test_worker_count_follows_cores_classes_and_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HBS_WORKERS", "3")
    assert worker_count(10) == 3
    assert worker_count(2) == 2
    monkeypatch.setenv("HBS_WORKERS", "1")
    assert worker_count(10) == 1
    monkeypatch.delenv("HBS_WORKERS")
    assert 1 <= worker_count(10) <= (os.cpu_count() or 1)


def test_the_stand_in_verifies_on_as_many_processes_as_the_steps_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A district giving each school one process (``HBS_WORKERS=1``) must not get a
    stand-in registry that verifies that school's records on every core."""
    from hocbaso.demo.registry.pool import default_workers

    monkeypatch.setenv("HBS_WORKERS", "1")
    assert default_workers() == 1
    monkeypatch.setenv("HBS_WORKERS", "64")
    assert default_workers() == (os.cpu_count() or 1)
    monkeypatch.delenv("HBS_WORKERS")
    assert default_workers() == worker_count(os.cpu_count() or 1) >= 1


def _die() -> None:
    os._exit(3)  # a worker killed mid-job (out of memory, say)


_KEPT_POOL: list[object] = []


def _start_a_worker_of_my_own() -> int:
    """In a middle process: start a worker (as a step, the apart process or the gate
    does) and keep it; its pid."""
    from hocbaso.parallel import spawn_pool

    pool = spawn_pool(1)
    _KEPT_POOL.append(pool)
    return int(pool.submit(os.getpid).result())


def test_a_worker_ends_when_the_process_that_started_it_is_killed() -> None:
    """Killed without shutting its pool down, a process must not leave its workers
    behind (each holds a few hundred MB: the suite once leaked one per run)."""
    import time

    import psutil

    from hocbaso.parallel import spawn_pool

    middle = spawn_pool(1)
    try:
        grandchild = middle.submit(_start_a_worker_of_my_own).result()
        assert psutil.pid_exists(grandchild)
        middle.submit(_die)  # the middle process dies with its pool open
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"worker {grandchild} outlived the process that started it")
    finally:
        middle.shutdown(wait=False, cancel_futures=True)


def test_kept_workers_serve_several_steps_and_a_dead_one_is_replaced() -> None:
    with kept_workers():
        with class_workers(4, workers=2) as first:
            pids = {first.submit("lớp 1A", os.getpid).result() for _ in range(6)}
        with class_workers(4, workers=2) as second:
            again = {second.submit("lớp 1B", os.getpid).result() for _ in range(6)}
        assert again <= pids and os.getpid() not in pids  # the same workers, not this process
        with class_workers(4, workers=2) as third, pytest.raises(WorkerFailed, match="lớp 2A"):
            third.submit("lớp 2A", _die).result()
        with class_workers(4, workers=2) as fourth:  # a new pool, not the broken one
            fresh = {fourth.submit("lớp 2B", os.getpid).result() for _ in range(4)}
        assert fresh and not fresh & pids
    with class_workers(4, workers=2) as alone:  # outside the block: a pool of the step's own
        assert alone.submit("lớp 3A", os.getpid).result() not in pids | fresh
