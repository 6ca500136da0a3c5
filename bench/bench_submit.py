"""Benchmark of the submit step against the stand-in registry that verifies every record.

    .venv/bin/python bench/bench_submit.py --workspace /tmp/ws2 [--sample 40] [--skip-floor]

The workspace must hold signed and sealed records (what ``hbs demo`` leaves, even
after it submitted them). Nothing in it is changed: the records' current files, the
store, the PKI and ``school.toml`` are copied to a temporary workspace, the copy's
records are put back to ``sealed`` and the copy's stand-in listens on a free port.

Prints, in one run on the same machine state:

1. the median time of one record's verification by the stand-in's verifier, called
   directly in this process (``registry_verifier``; warm: the first record is shown
   apart, as it pays for the first revocation look-ups);
2. the floor: the bare HTTP round trip of one unverified ``PUT`` (median), and the
   whole submit (``submit_class`` over every class) into a stand-in without verifier;
3. the whole submit as ``hbs submit`` runs it (``Resources.running(registry=True)``:
   the stand-in with its verifier, the demo PKI's OCSP/CRL/TSA services);
4. the verifying stand-in alone: every record in one ``submit_many``, nothing stored
   (what submit would take if the client's store writes cost nothing).

Client, stand-in and PKI services share this machine's cores, as in ``hbs demo``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from hocbaso.config import Workspace
from hocbaso.demo.registry import StandinServer
from hocbaso.demo.registry.access import StandinRegistry
from hocbaso.demo.registry.verifier import registry_verifier
from hocbaso.model import TrangThai
from hocbaso.registry import SubmitItem
from hocbaso.resources import open_resources
from hocbaso.states import SUBMIT
from hocbaso.store import Store, StoredRecord, classes_waiting, current_records
from hocbaso.submission import submit_class

COPIED = ("school.toml", "hbs.duckdb", "pki")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sealed_records(ws: Workspace) -> list[StoredRecord]:
    done = [TrangThai.SEALED, TrangThai.SUBMITTED, TrangThai.ACCEPTED, TrangThai.REJECTED]
    return current_records(Store(ws.store_path), states=done)


def copy_workspace(source: Workspace, target: Path) -> Workspace:
    """Copy what submitting needs; point the copy's stand-in at a free port."""
    for name in COPIED:
        src = source.root / name
        if src.is_dir():
            shutil.copytree(src, target / name)
        else:
            shutil.copy2(src, target / name)
    for record in _sealed_records(source):
        for relative in (record.files.xml_path, record.files.pdf_path):
            dst = target / relative
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source.path(relative), dst)
    return Workspace(target)  # the copy's stand-in picks its own free port when it starts


def reset_to_sealed(ws: Workspace) -> int:
    """Put every submitted/answered record of the copy back to ``sealed``; empty its stand-in."""
    shutil.rmtree(ws.registry_stand_in_dir, ignore_errors=True)
    with Store(ws.store_path).transaction() as con:
        con.execute(
            """UPDATE hoc_ba SET trang_thai = 'sealed', ma_tra_cuu = NULL, ngay_nhan = NULL,
                      ma_loi = NULL, loi = NULL
               WHERE trang_thai IN ('submitted', 'accepted', 'rejected')"""
        )
    return len(current_records(Store(ws.store_path), states=[TrangThai.SEALED]))


def submit_all(ws: Workspace) -> tuple[float, int]:
    """``submit_class`` over every class with sealed records; (seconds, accepted)."""
    res = open_resources(ws.root)
    classes = classes_waiting(res.store, SUBMIT)
    started = time.perf_counter()
    accepted = sum(submit_class(res, ma_lop).processed for ma_lop in classes)
    return time.perf_counter() - started, accepted


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def per_record_verification(ws: Workspace, sample: int) -> tuple[float, float]:
    """(first record ms, median ms of the rest) of ``registry_verifier`` called directly."""
    trust = open_resources(ws.root).trust
    records = _sealed_records(ws)[: sample + 1]
    pairs = [
        (ws.path(r.files.xml_path).read_bytes(), ws.path(r.files.pdf_path).read_bytes())
        for r in records
    ]
    verify = registry_verifier(trust)
    times = []
    try:
        for xml, pdf in pairs:
            started = time.perf_counter()
            refusals = verify(xml, pdf)
            times.append(time.perf_counter() - started)
            if refusals:
                raise SystemExit(f"a sealed record was refused: {refusals}")
    finally:
        close = getattr(verify, "close", None)
        if close is not None:
            close()
    return 1000 * times[0], median_ms(times[1:])


def unverified_round_trip(ws: Workspace, sample: int) -> float:
    """Median ms of one bare PUT into a stand-in without verifier (new record each time)."""
    records = _sealed_records(ws)[:sample]
    config = ws.load_config()
    with tempfile.TemporaryDirectory() as tmp:
        client_id = config.registry.client_id
        secret = "bench-secret"
        standin = StandinServer(Path(tmp), clients={client_id: secret})
        with standin.serve() as running, httpx.Client(base_url=running.api_url) as http:
            token = http.post(
                "/token", data={"client_id": client_id, "client_secret": secret}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            times = []
            for r in records:
                files = {
                    "xml": ("hocba.xml", ws.path(r.files.xml_path).read_bytes(), "application/xml"),
                    "pdf": ("hocba.pdf", ws.path(r.files.pdf_path).read_bytes(), "application/pdf"),
                }
                started = time.perf_counter()
                answer = http.put(f"/hoc-ba/{r.ma_hoc_ba}", files=files, headers=headers)
                times.append(time.perf_counter() - started)
                if answer.status_code != 201:
                    raise SystemExit(f"unverified PUT answered {answer.status_code}")
    return median_ms(times)


def unverified_submit(ws: Workspace) -> tuple[float, int]:
    """The whole submit into a stand-in without verifier (the floor of the pipeline)."""
    res = open_resources(ws.root)
    registry = res.registry
    assert isinstance(registry, StandinRegistry)
    standin = StandinServer(
        ws.registry_stand_in_dir, clients={res.config.registry.client_id: registry.secret()}
    )
    own = cpu_seconds()[0]
    with res.credentials.services(), standin.serve("127.0.0.1", registry.port()):
        seconds, accepted = submit_all(ws)
    print(f"  (CPU: this process {cpu_seconds()[0] - own:.0f} s)")
    return seconds, accepted


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process, and of its ended child processes."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def verified_submit(ws: Workspace) -> tuple[float, int]:
    """The whole submit as ``hbs submit`` runs it in demo mode."""
    started = time.perf_counter()
    own, children = cpu_seconds()
    with open_resources(ws.root).running(registry=True):
        ready = time.perf_counter() - started
        seconds, accepted = submit_all(ws)
    own_after, children_after = cpu_seconds()
    print(
        f"  (services started in {ready:.1f} s, not counted; CPU: this process "
        f"{own_after - own:.0f} s, verifier processes {children_after - children:.0f} s)"
    )
    return seconds, accepted


def standin_alone(ws: Workspace) -> tuple[float, int]:
    """Every record in one ``submit_many`` into the verifying stand-in, nothing stored:
    what the stand-in can take when the client's own work (store writes, one batch
    per class) is out of the way."""
    items = [
        SubmitItem(
            r.ma_hoc_ba,
            ws.path(r.files.xml_path).read_bytes(),
            ws.path(r.files.pdf_path).read_bytes(),
        )
        for r in _sealed_records(ws)
    ]
    res = open_resources(ws.root)
    with res.running(registry=True), res.registry.client() as client:
        started = time.perf_counter()
        outcomes = client.submit_many(items)
        seconds = time.perf_counter() - started
    return seconds, sum(1 for o in outcomes if o.ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True, help="a workspace with sealed records")
    parser.add_argument("--sample", type=int, default=40, help="records timed one by one")
    parser.add_argument(
        "--skip-floor",
        action="store_true",
        help="only the verified submit (no floor, no stand-in alone)",
    )
    args = parser.parse_args(argv)

    source = Workspace(args.workspace)
    with tempfile.TemporaryDirectory(prefix="bench-submit-") as tmp:
        ws = copy_workspace(source, Path(tmp))
        n = reset_to_sealed(ws)
        print(f"{n} sealed records in {len({r.ma_lop for r in _sealed_records(ws)})} classes")
        with open_resources(ws.root).credentials.services():
            first, median = per_record_verification(ws, args.sample)
        print(f"verification, one record (first: {first:.0f} ms)   median {median:7.1f} ms")
        print(
            "floor: unverified PUT round trip              median "
            f"{unverified_round_trip(ws, args.sample):7.1f} ms"
        )
        if not args.skip_floor:
            seconds, accepted = unverified_submit(ws)
            print(
                f"floor: submit, stand-in without verifier      {seconds:7.1f} s  "
                f"{accepted / seconds:6.1f} records/s  ({accepted} accepted)"
            )
            reset_to_sealed(ws)
        seconds, accepted = verified_submit(ws)
        print(
            f"submit, stand-in verifying every record       {seconds:7.1f} s  "
            f"{accepted / seconds:6.1f} records/s  ({accepted} accepted)"
        )
        if not args.skip_floor:
            reset_to_sealed(ws)
            alone, taken = standin_alone(ws)
            print(
                f"stand-in alone: one submit_many, no store     {alone:7.1f} s  "
                f"{taken / alone:6.1f} records/s  ({taken} accepted)"
            )
        if accepted != n:
            print(f"NOT ALL ACCEPTED: {accepted} of {n}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
