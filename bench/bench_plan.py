"""Benchmark of the school's whole plan: every step, its cost per record and its floor.

Runs the plan on a generated sample school (``hocbaso.demo.sample``, the generator
of the bundled 1,000-student school) in a fresh workspace, step after step as
`hbs demo` does (the same flows, in one process, the lock and signing steps
sharing one pool of worker processes as in the plan flow, on one Prefect server the
benchmark starts on a free port), and prints per step: wall time, CPU time (this
process and every child it started: render/verifier workers, the demo PKI's
services; the Prefect server is shown on its own line), wall and CPU per record,
the floor of that step measured in the same run and the ratio of the two, and
the peak resident memory of the parent and of the largest child.

Floors (what a record costs at least, measured here, medians):

- lock: a minimal fresh two-page Typst document compiled to PDF/A-3b, plus the
  SHA-256 of the record's two files;
- sign (GVCN, HT): two RSA-2048 signatures (XML and PDF) and the SHA-256 of the files;
- stamp: the same plus one RFC 3161 token from the demo TSA;
- submit: one loopback HTTP round trip, six RSA-2048 verifications (three signers,
  XML and PDF) and the SHA-256 of the files.

    .venv/bin/python bench/bench_plan.py [--students 1000] [--runs 1] [--steps all]

``--students 200`` is a quick check (about a minute); ``--students 10000 --steps
init,configure,lock`` measures memory at size. ``--runs N`` prints the medians of N
runs (a fresh workspace each).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

STEPS = ("init", "configure", "lock", "sign-gvcn", "sign-ht", "stamp", "submit", "report")
STEP_NAMES = {
    "init": "khởi tạo dữ liệu",
    "configure": "cấu hình",
    "lock": "chốt dữ liệu",
    "sign-gvcn": "GVCN ký",
    "sign-ht": "Hiệu trưởng ký",
    "stamp": "đóng dấu",
    "submit": "nộp CSDL",
    "report": "báo cáo",
}
PER_RECORD_STEPS = ("lock", "sign-gvcn", "sign-ht", "stamp", "submit")
# The steps the demo's services (PKI, remote-signing stand-in) are kept for in a plan.
SERVICE_STEPS = ("sign-gvcn", "sign-ht", "stamp", "submit")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


# --- measuring a process tree -------------------------------------------------------------


class Tree:
    """CPU and peak memory of this process and its descendants (sampled every 50 ms)."""

    def __init__(self, exclude: set[int]) -> None:
        self.me = psutil.Process()
        self.exclude = exclude
        self.peak_parent = 0
        self.peak_child = 0
        self.step_parent = 0  # peaks since ``step_start``
        self.step_child = 0
        self.peak_child_name = ""
        self.peak_total = 0
        self._seen: dict[int, float] = {}  # pid -> last CPU seconds seen (live descendants)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _children(self) -> list[psutil.Process]:
        try:
            kids = self.me.children(recursive=True)
            skip = set(self.exclude)
            for pid in self.exclude:  # the Prefect server and its own children
                skip |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
        except psutil.Error:
            return []
        return [k for k in kids if k.pid not in skip]

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.sample()

    def sample(self) -> None:
        try:
            rss = self.me.memory_info().rss
        except psutil.Error:
            return
        self.peak_parent = max(self.peak_parent, rss)
        self.step_parent = max(self.step_parent, rss)
        total = rss
        for kid in self._children():
            try:
                with kid.oneshot():
                    kid_rss = kid.memory_info().rss
                    cpu = kid.cpu_times()
                    line = " ".join(kid.cmdline())
                    if "multiprocessing" in line:
                        name = "worker process"
                    elif kid.cmdline() == self.me.cmdline():
                        name = "a fork of this process"
                    else:
                        name = line[-60:]
            except psutil.Error:
                continue
            self._seen[kid.pid] = cpu.user + cpu.system
            total += kid_rss
            self.step_child = max(self.step_child, kid_rss)
            if kid_rss > self.peak_child:
                self.peak_child, self.peak_child_name = kid_rss, name
        self.peak_total = max(self.peak_total, total)

    def cpu(self) -> float:
        """CPU seconds so far: this process, reaped children and live descendants."""
        own = time.process_time()
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        live = 0.0
        for kid in self._children():
            try:
                t = kid.cpu_times()
            except psutil.Error:
                continue
            live += t.user + t.system
            self._seen[kid.pid] = t.user + t.system
        return own + reaped.ru_utime + reaped.ru_stime + live

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class StepTime:
    wall: float
    cpu: float
    parent_mb: float = 0.0  # peak resident memory during the step
    child_mb: float = 0.0


@dataclass
class RunResult:
    students: int
    records: int
    steps: dict[str, StepTime] = field(default_factory=dict)
    peak_parent_mb: float = 0.0
    peak_child_mb: float = 0.0
    peak_child_name: str = ""
    peak_total_mb: float = 0.0
    server_cpu: float = 0.0
    accepted: int = 0
    pdf_size: int = 0
    xml_size: int = 0


# --- the plan -----------------------------------------------------------------------------


def write_sample(n_students: int, directory: Path) -> Path:
    from hocbaso.demo.sample import generate_school, write_xlsx

    return write_xlsx(generate_school(n_students=n_students), directory / "sample.xlsx")


def step_calls(ws: str, source: str) -> dict[str, Callable[[], Any]]:
    from flows import steps

    return {
        "init": lambda: steps.khoi_tao_du_lieu(ws, source),
        "configure": lambda: steps.cau_hinh(ws),
        "lock": lambda: steps.chot_du_lieu(ws),
        "sign-gvcn": lambda: steps.ky_hoc_ba(ws, "gvcn"),
        "sign-ht": lambda: steps.ky_hoc_ba(ws, "ht"),
        "stamp": lambda: steps.dong_dau(ws),
        "submit": lambda: steps.nop_hoc_ba(ws),
        "report": lambda: steps.bao_cao(ws),
    }


def run_plan(n_students: int, chosen: list[str], server_pid: int | None) -> RunResult:
    from hocbaso.config import Workspace
    from hocbaso.demo import bundled
    from hocbaso.parallel import kept_workers
    from hocbaso.store import Store
    from tasks.common import services

    with (
        tempfile.TemporaryDirectory(prefix="hbs-bench-plan-") as tmp,
        ExitStack() as running,
        ExitStack() as kept,
    ):
        ws_root = Path(tmp) / "ws"
        source = write_sample(n_students, Path(tmp))
        bundled.write_school_toml(ws_root)
        calls = step_calls(str(ws_root), str(source))
        try:
            server = psutil.Process(server_pid) if server_pid else None
        except psutil.NoSuchProcess:  # its record names a wrapper that has exited
            server = None
        server_cpu0 = _cpu_of(server)
        tree = Tree(exclude={server_pid} if server_pid else set())
        tree.start()
        result = RunResult(n_students, 0)
        # The first step that needs the demo's services starts them, for the rest.
        first_service_step = next((n for n in chosen if n in SERVICE_STEPS), None)
        try:
            for name in chosen:
                # As in the plan flow (``flows/plan.py``): the lock and the signing steps
                # share one pool of workers, stopped before the submission; the demo's
                # services run from the first signature to the end of the submission.
                if name == "lock":
                    kept.enter_context(kept_workers())
                elif name == "submit":
                    kept.close()
                if name == first_service_step:
                    running.enter_context(services(str(ws_root), pki=True))
                tree.sample()
                tree.step_parent = tree.step_child = 0
                c0, w0 = tree.cpu(), time.perf_counter()
                calls[name]()
                w1 = time.perf_counter()
                tree.sample()
                result.steps[name] = StepTime(
                    w1 - w0, tree.cpu() - c0, tree.step_parent / 2**20, tree.step_child / 2**20
                )
                print(f"  {STEP_NAMES[name]:<18} {w1 - w0:7.1f} s", flush=True)
        finally:
            tree.stop()
        result.server_cpu = _cpu_of(server) - server_cpu0
        result.peak_parent_mb = max(tree.peak_parent, _maxrss_self()) / 2**20
        # Sampled, not RUSAGE_CHILDREN: a child's ru_maxrss counts the parent's pages
        # it held between fork and exec.
        result.peak_child_mb = tree.peak_child / 2**20
        result.peak_child_name = tree.peak_child_name
        result.peak_total_mb = tree.peak_total / 2**20
        store = Store(Workspace(ws_root).store_path)
        counts = dict(
            store.frame("SELECT trang_thai, count(*) AS n FROM hoc_ba GROUP BY ALL").iter_rows()
        )
        result.records = int(sum(counts.values()))
        result.accepted = int(counts.get("accepted", 0))
        files = sorted((ws_root / "tep").rglob("*.pdf"), key=lambda p: p.stat().st_size)
        xmls = sorted((ws_root / "tep").rglob("*.xml"), key=lambda p: p.stat().st_size)
        result.pdf_size = files[len(files) // 2].stat().st_size if files else 0
        result.xml_size = xmls[len(xmls) // 2].stat().st_size if xmls else 0
        if "stamp" in chosen or "submit" in chosen:
            global _TSA_FLOOR
            _TSA_FLOOR = tsa_floor(ws_root)
        _stop_services(ws_root)
    return result


def _stop_services(ws_root: Path) -> None:
    from hocbaso.resources import close_all

    close_all()


def _cpu_of(proc: psutil.Process | None) -> float:
    if proc is None:
        return 0.0
    try:
        t = proc.cpu_times()
        kids = sum(c.cpu_times().user + c.cpu_times().system for c in proc.children(True))
    except psutil.Error:
        return 0.0
    return t.user + t.system + kids


def _maxrss_self() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --- floors -------------------------------------------------------------------------------

_TSA_FLOOR: float | None = None


def median_time(fn: Callable[[], object], n: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def typst_floor(n: int = 15) -> float:
    import typst
    from bench_render import floor_source  # the same floor as the render benchmark

    from hocbaso.render import PDF_STANDARD

    compiler = typst.Compiler(ignore_system_fonts=True)
    counter = iter(range(10**6))

    def one() -> None:
        source = floor_source(next(counter))
        compiler.compile(input=source, format="pdf", pdf_standards=PDF_STANDARD)

    return median_time(one, n)


def rsa_floors(n: int = 200) -> tuple[float, float]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = os.urandom(64)
    sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    pub = key.public_key()
    sign = median_time(lambda: key.sign(data, padding.PKCS1v15(), hashes.SHA256()), n)
    verify = median_time(lambda: pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256()), n)
    return sign, verify


def sha_floor(size: int, n: int = 200) -> float:
    data = os.urandom(max(size, 1))
    return median_time(lambda: hashlib.sha256(data).digest(), n)


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as any real server: no 40 ms delayed-ACK stall

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return None


def http_floor(n: int = 200) -> float:
    import httpx

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with httpx.Client() as client:
            return median_time(lambda: client.post(url, content=b"x" * 1024), n)
    finally:
        server.shutdown()
        server.server_close()


def tsa_floor(ws_root: Path, n: int = 40) -> float | None:
    """One RFC 3161 token from the workspace's demo TSA (its services started here)."""
    import httpx
    from asn1crypto import algos, tsp

    from hocbaso.config import Workspace
    from hocbaso.resources import resources_for

    res = resources_for(Workspace(ws_root).root)
    url = res.tsa_url()
    digest = hashlib.sha256(b"hoc ba so").digest()

    def request() -> bytes:
        req = tsp.TimeStampReq(
            {
                "version": 1,
                "message_imprint": {
                    "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                    "hashed_message": digest,
                },
                "nonce": int.from_bytes(os.urandom(8), "big"),
                "cert_req": True,
            }
        )
        return bytes(req.dump())

    with res.running(pki=True), httpx.Client() as client:

        def one() -> None:
            resp = client.post(
                url, content=request(), headers={"Content-Type": "application/timestamp-query"}
            )
            resp.raise_for_status()

        return median_time(one, n)


@dataclass
class Floors:
    typst: float
    rsa_sign: float
    rsa_verify: float
    sha_pdf: float
    sha_xml: float
    http: float
    tsa: float | None

    def of(self, step: str) -> float | None:
        files = self.sha_pdf + self.sha_xml
        if step == "lock":
            return self.typst + files
        if step in ("sign-gvcn", "sign-ht"):
            return 2 * self.rsa_sign + files
        if step == "stamp":
            return None if self.tsa is None else 2 * self.rsa_sign + files + self.tsa
        if step == "submit":
            return self.http + 6 * self.rsa_verify + files
        return None


def measure_floors(pdf_size: int, xml_size: int, tsa: float | None) -> Floors:
    sign, verify = rsa_floors()
    return Floors(
        typst_floor(),
        sign,
        verify,
        sha_floor(pdf_size or 150_000),
        sha_floor(xml_size or 20_000),
        http_floor(),
        tsa,
    )


# --- the Prefect server -------------------------------------------------------------------


@contextmanager
def prefect_server() -> Iterator[int | None]:
    """A Prefect server of the benchmark's own on a free port (unless PREFECT_API_URL is set)."""
    from hbs.prefect_server import ensure_server, stop_server

    if os.environ.get("PREFECT_API_URL"):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="hbs-bench-prefect-") as home:
        from hocbaso.demo.ports import free_port

        api = ensure_server(Path(home), port=free_port())  # never a fixed port
        record = json.loads((Path(home) / ".prefect" / "server.json").read_text())
        try:
            print(f"Prefect server: {api.api_url}", flush=True)
            yield int(record["pid"])
        finally:
            stop_server(Path(home))
            for key in ("PREFECT_API_URL", "PREFECT_UI_URL"):
                os.environ.pop(key, None)


def import_cost(code: str) -> StepTime:
    """Wall and CPU of a fresh interpreter that imports what a verb imports."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return StepTime(wall, cpu)


# --- report -------------------------------------------------------------------------------


def print_table(runs: list[RunResult], floors: Floors, imports: dict[str, StepTime]) -> None:
    n = runs[0].records
    print()
    print(f"records: {n} (students {runs[0].students}); runs: {len(runs)} (medians)")
    header = (
        f"{'step':<18} {'wall s':>8} {'CPU s':>8} {'ms/rec':>8} {'CPUms/rec':>10} "
        f"{'floor ms':>9} {'ratio':>7} {'MB par/child':>13}"
    )
    print(header)
    print("-" * len(header))
    total_wall = total_cpu = 0.0
    for step in runs[0].steps:
        wall = statistics.median(r.steps[step].wall for r in runs)
        cpu = statistics.median(r.steps[step].cpu for r in runs)
        mem = (
            f" {max(r.steps[step].parent_mb for r in runs):6.0f}/"
            f"{max(r.steps[step].child_mb for r in runs):<6.0f}"
        )
        total_wall += wall
        total_cpu += cpu
        floor = floors.of(step) if step in PER_RECORD_STEPS else None
        per = wall / n * 1000 if n else 0.0
        cpu_per = cpu / n * 1000 if n else 0.0
        if step in PER_RECORD_STEPS:
            floor_s = f"{floor * 1000:9.2f}" if floor else f"{'-':>9}"
            ratio = f"{per / (floor * 1000):6.1f}x" if floor else f"{'-':>7}"
            print(
                f"{STEP_NAMES[step]:<18} {wall:8.1f} {cpu:8.1f} {per:8.1f} {cpu_per:10.1f} "
                f"{floor_s} {ratio}{mem}"
            )
        else:
            print(f"{STEP_NAMES[step]:<18} {wall:8.1f} {cpu:8.1f} {'':37}{mem}")
    print("-" * len(header))
    print(f"{'total':<18} {total_wall:8.1f} {total_cpu:8.1f}")
    server_cpu = statistics.median(r.server_cpu for r in runs)
    print(f"{'Prefect server CPU':<18} {'':>8} {server_cpu:8.1f}")
    for what, t in imports.items():
        print(f"{what:<18} {t.wall:8.2f} {t.cpu:8.2f}  (fresh interpreter)")
    print()
    print("floors (medians, this run):")
    print(f"  Typst minimal 2-page PDF/A-3b : {floors.typst * 1000:7.2f} ms")
    print(f"  RSA-2048 sign / verify        : {floors.rsa_sign * 1000:7.3f} / "
          f"{floors.rsa_verify * 1000:.3f} ms")  # fmt: skip
    print(f"  SHA-256 PDF ({runs[0].pdf_size // 1024} KB) / XML ({runs[0].xml_size // 1024} KB) "
          f": {floors.sha_pdf * 1000:.3f} / {floors.sha_xml * 1000:.3f} ms")  # fmt: skip
    print(f"  loopback HTTP round trip      : {floors.http * 1000:7.3f} ms")
    tsa = f"{floors.tsa * 1000:7.2f} ms" if floors.tsa is not None else "not measured"
    print(f"  demo TSA token                : {tsa}")
    print()
    print(
        "peak RSS (max over runs): parent {:.0f} MB; largest child {:.0f} MB ({}); "
        "parent + children together {:.0f} MB".format(
            max(r.peak_parent_mb for r in runs),
            max(r.peak_child_mb for r in runs),
            max(runs, key=lambda r: r.peak_child_mb).peak_child_name or "-",
            max(r.peak_total_mb for r in runs),
        )
    )
    if "submit" in runs[0].steps:
        print(f"accepted by the registry: {min(r.accepted for r in runs)} of {n}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--students", type=int, default=1000, help="size of the sample school")
    parser.add_argument("--runs", type=int, default=1, help="runs (fresh workspace each)")
    parser.add_argument(
        "--steps", default="all", help=f"comma-separated subset of {','.join(STEPS)} (in order)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    chosen = list(STEPS) if args.steps == "all" else args.steps.split(",")
    unknown = [s for s in chosen if s not in STEPS]
    if unknown or chosen[:2] != ["init", "configure"]:
        parser.error(f"steps must start with init,configure and be among {STEPS}")
    print(f"uptime (start): {uptime()}", flush=True)
    imports = {
        "import hbs.cli": import_cost("import hbs.cli"),
        "import flows.plan": import_cost("import flows.plan"),
    }
    runs = []
    with prefect_server() as server_pid:
        for i in range(args.runs):
            print(f"run {i + 1}/{args.runs}: {args.students} students", flush=True)
            runs.append(run_plan(args.students, chosen, server_pid))
    floors = measure_floors(runs[0].pdf_size, runs[0].xml_size, _TSA_FLOOR)
    print_table(runs, floors, imports)
    print(f"uptime (end): {uptime()}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"runs": [r.__dict__ | {"steps": {k: v.__dict__ for k, v in r.steps.items()}}
                          for r in runs], "floors": floors.__dict__},
                default=str, indent=1,
            )
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
