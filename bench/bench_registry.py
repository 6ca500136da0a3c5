"""Benchmark of submission: records per second through RegistryClient into the stand-in.

Each record is a minimal package (``sample_package``) whose PDF is padded to
``--pdf-kb`` so the bytes on the wire resemble a printable copy. Times, for the
same N records: one by one with ``submit``; ``submit_many`` at several
``max_in_flight``; a rerun where every record is already held (200); and a run
under faults (5xx, drops after the body, a 429 burst) with its extra requests.
Client and stand-in share this process and its 2 cores, so the numbers are a
floor for the client's own cost, not a forecast for the Ministry's service.

    .venv/bin/python bench/bench_registry.py [--n 200] [--pdf-kb 150]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hocbaso.demo.registry import Faults, StandinServer, sample_package
from hocbaso.registry import RegistryClient, RetryPolicy, SubmitItem


def _items(prefix: str, n: int, pdf_kb: int) -> list[SubmitItem]:
    return [sample_package(f"{prefix}-{i:05d}", padding=pdf_kb * 1024) for i in range(n)]


def _run(label: str, n: int, seconds: float) -> None:
    print(f"{label:<38} {n / seconds:8.1f} hồ sơ/s  {1000 * seconds / n:7.2f} ms/hồ sơ")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--pdf-kb", type=int, default=150)
    args = parser.parse_args()
    policy = RetryPolicy(attempts=8, backoff_s=0.02, backoff_max_s=0.2)
    with tempfile.TemporaryDirectory() as tmp:
        standin = StandinServer(Path(tmp))
        with standin.serve() as running:
            url = running.api_url
            with RegistryClient(url, "demo", "demo-secret", retry=policy) as client:
                items = _items("serial", args.n, args.pdf_kb)
                started = time.perf_counter()
                for item in items:
                    client.submit(item.ma_hoc_ba, item.xml, item.pdf)
                _run("submit, one by one", args.n, time.perf_counter() - started)
            for in_flight in (1, 4, 8):
                items = _items(f"many{in_flight}", args.n, args.pdf_kb)
                with RegistryClient(
                    url, "demo", "demo-secret", retry=policy, max_in_flight=in_flight
                ) as client:
                    started = time.perf_counter()
                    outcomes = client.submit_many(items)
                    seconds = time.perf_counter() - started
                    assert all(o.ok for o in outcomes)
                    _run(f"submit_many, max_in_flight={in_flight}", args.n, seconds)
                    if in_flight == 4:
                        started = time.perf_counter()
                        outcomes = client.submit_many(items)
                        assert all(o.receipt and o.receipt.status == "held" for o in outcomes)
                        _run("rerun, all held (200)", args.n, time.perf_counter() - started)
            items = _items("faults", args.n, args.pdf_kb)
            standin.set_faults(
                Faults(rate_5xx=0.1, drop_after_body_rate=0.1, burst_429=3, retry_after_s=0)
            )
            before = len(standin.storage.answers())
            with RegistryClient(url, "demo", "demo-secret", retry=policy, seed=1) as client:
                started = time.perf_counter()
                outcomes = client.submit_many(items)
                seconds = time.perf_counter() - started
            assert all(o.ok for o in outcomes)
            assert standin.storage.count_records() == 5 * args.n
            confirmed = sum(1 for o in outcomes if o.receipt and o.receipt.status == "confirmed")
            _run("submit_many=4, 10% 5xx, 10% drops", args.n, seconds)
            logged = len(standin.storage.answers()) - before
            print(f"  {confirmed} biên nhận xác nhận bằng GET; {logged} câu trả lời được ghi")


if __name__ == "__main__":
    main()
