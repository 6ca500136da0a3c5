"""Benchmark of a district on a work pool: k small schools with 1 worker, then with 2.

Starts a Prefect server of its own on a free port, creates a process work pool,
deploys the school deployments of ``prefect.yaml`` (``ke-hoach-truong``), makes k
fresh workspaces (each a generated school of n pupils) and runs the district flow
(``flows/district.py``: one flow run per school) with one process worker, then on
k new workspaces with two. Each worker runs one school at a time (``--limit 1``)
and each school one process (``HBS_WORKERS=1``): the district's cores are its
workers. Ends with one line:

    district: schools=K students=N workers=1 wall=..s; workers=2 wall=..s; speedup=X.XX

    .venv/bin/python bench/bench_district.py [--schools 4] [--students 100]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PREFECT = str(Path(sys.executable).with_name("prefect"))
POOL = "hoc-ba-so"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def free_port() -> int:
    from hocbaso.demo.ports import free_port as _free

    return _free()


def make_schools(root: Path, schools: int, students: int) -> dict[str, str]:
    """k fresh workspaces with the sample configuration; workspace -> its data file."""
    from hocbaso.config import Workspace
    from hocbaso.demo import bundled
    from hocbaso.demo.ports import record_port
    from hocbaso.demo.registry.access import SERVICE
    from hocbaso.demo.sample import generate_school, write_xlsx

    made = {}
    for i in range(schools):
        ws = root / f"truong-{i + 1:02d}"
        bundled.write_school_toml(ws)
        # Each school's stand-in registry on its own port, chosen now: schools starting
        # together would otherwise race for the same default port.
        record_port(Workspace(ws).service_ports_path, SERVICE, free_port())
        source = write_xlsx(generate_school(n_students=students, seed=2026 + i), root / f"{i}.xlsx")
        made[str(ws)] = str(source)
    return made


def env_for(api: str, home: Path) -> dict[str, str]:
    from hbs.prefect_server import base_environment

    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        **base_environment(home),
        "PREFECT_API_URL": api,
        "PYTHONPATH": str(REPO) if not path else os.pathsep.join([str(REPO), path]),
        "HBS_REPO": str(REPO),
        "HBS_WORKSPACE": str(home),
        "HBS_WORKERS": "1",  # one process per school: the workers are the district's cores
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
    }


def start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    workers, names = [], set()
    for _ in range(count):
        name = f"bench-{uuid.uuid4().hex[:8]}"
        names.add(name)
        log = (logs / f"{name}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", POOL, "--type", "process", "--limit", "1",
                 "--name", name],
                env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        )  # fmt: skip
    wait_online(names)
    return workers


def wait_online(names: set[str], timeout: float = 120.0) -> None:
    """Wait until every worker started here has said it is online."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            online = {w.name for w in client.read_workers_for_work_pool(POOL)}
            if names <= online:
                return
            time.sleep(0.5)
    raise SystemExit(f"workers {sorted(names)} did not come online")


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        try:
            os.killpg(w.pid, signal.SIGTERM)
        except OSError:
            continue
    for w in workers:
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()


def one_round(count: int, args: argparse.Namespace, env: dict[str, str], tmp: Path) -> float:
    from flows.district import phat_hanh_cap_huyen

    root = tmp / f"workers-{count}"
    root.mkdir()
    sources = make_schools(root, args.schools, args.students)
    workers = start_workers(count, env, tmp)
    try:
        t0 = time.perf_counter()
        states = phat_hanh_cap_huyen(list(sources), sources)
        wall = time.perf_counter() - t0
    finally:
        stop_workers(workers)
    assert all(s == "COMPLETED" for s in states.values()), states
    print(f"workers={count}: {wall:.1f} s ({len(states)} schools completed)", flush=True)
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--schools", type=int, default=4)
    parser.add_argument("--students", type=int, default=100, help="pupils per school")
    args = parser.parse_args()
    print(f"uptime (start): {uptime()}", flush=True)
    from hbs.prefect_server import ensure_server, stop_server

    with tempfile.TemporaryDirectory(prefix="hbs-bench-district-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "server"
        os.environ.pop("PREFECT_API_URL", None)
        api = ensure_server(home, port=free_port())
        try:
            env = env_for(api.api_url, home / ".prefect")
            os.environ.update({k: env[k] for k in ("HBS_WORKERS",)})
            for cmd in (
                [PREFECT, "work-pool", "create", POOL, "--type", "process"],
                [PREFECT, "--no-prompt", "deploy", "--name", "ke-hoach-truong"],
            ):
                done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
                if done.returncode != 0:
                    print(done.stdout + done.stderr, file=sys.stderr)
                    return 1
            one = one_round(1, args, env, tmp)
            two = one_round(2, args, env, tmp)
        finally:
            stop_server(home)
    print(f"uptime (end): {uptime()}")
    print(
        f"district: schools={args.schools} students={args.schools * args.students} "
        f"workers=1 wall={one:.1f}s; workers=2 wall={two:.1f}s; speedup={one / two:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
