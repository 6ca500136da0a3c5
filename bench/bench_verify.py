"""Benchmark of `hbs verify` on issued records: one file verified warm, against its floor.

Verifies issued demo records the way `hbs verify --offline` does (strict profile,
validation at the best proof of existence, for a PDF also the XAdES of the XML it
carries), in one process with one session, after a warm-up: the median time per PDF
and per XML. The target for a verification portal is 300 ms per file.

The floor, measured in the same run: the RSA-2048 verifications a file cannot avoid,
counted from the file (for each signature and timestamp: its own signature, then for
each certificate of its chain below the root the certificate's signature and one
revocation answer's signature), times the median of one verification, plus SHA-256
over the bytes each signature covers (the whole file per PDF signature or timestamp,
the document per XML signature).

    .venv/bin/python bench/bench_verify.py --workspace WS [--files 10]

``WS`` is an issued workspace (after `hbs demo --workspace WS`); without it the
benchmark runs `hbs demo` in a temporary folder first (a few minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hocbaso.config import Workspace
from hocbaso.demo.pki import load_demo_pki
from hocbaso.signing import ServiceSession, TrustSettings
from hocbaso.signing.longterm import pdf_document_timestamps
from hocbaso.store import Store
from hocbaso.verification import async_verify_bytes

CHAIN_BELOW_ROOT = 2  # signer (or TSA) and the issuing CA, in the demo PKI


def _issued(ws: Path, n: int) -> list[tuple[Path, Path]]:
    # Read-only (a snapshot while a run holds the store): sealed records are issued ones.
    with Store(Workspace(ws).store_path).read_only() as con:
        rows = con.execute(
            "SELECT xml_path, pdf_path FROM v_hoc_ba "
            "WHERE trang_thai IN ('sealed', 'submitted', 'accepted') ORDER BY ma_hoc_ba LIMIT ?",
            [n],
        ).fetchall()
    return [(ws / x, ws / p) for x, p in rows]


def _floor_ms(root_pem: Path, data: bytes, repeats: int = 300) -> tuple[float, float]:
    """Median RSA-2048 verification, and SHA-256 of ``data``, in milliseconds."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signature = key.sign(b"x" * 64, padding.PKCS1v15(), hashes.SHA256())
    public = key.public_key()
    x509.load_pem_x509_certificate(root_pem.read_bytes())
    verify_t, hash_t = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        public.verify(signature, b"x" * 64, padding.PKCS1v15(), hashes.SHA256())
        verify_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        hashlib.sha256(data).digest()
        hash_t.append(time.perf_counter() - t)
    return 1000 * statistics.median(verify_t), 1000 * statistics.median(hash_t)


async def _time_files(
    files: list[Path], trust: TrustSettings, repeats: int
) -> tuple[list[float], list[float], list[bool]]:
    times, cpu, verdicts = [], [], []
    async with ServiceSession(trust=trust) as session:
        await async_verify_bytes(None, trust, files[0], files[0].read_bytes(), session)  # warm-up
        for path in files:
            data = path.read_bytes()
            for _ in range(repeats):
                t, c = time.perf_counter(), time.process_time()
                result = await async_verify_bytes(None, trust, path, data, session)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                verdicts.append(result.passed)
    return times, cpu, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tmp = None
    ws = args.workspace
    if ws is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-verify-")
        ws = Path(tmp.name) / "truong"
        hbs = Path(sys.executable).with_name("hbs")
        subprocess.run([str(hbs), "demo", "--workspace", str(ws)], check=True)
    root = load_demo_pki(Workspace(ws).pki_dir).root_certificate
    trust = TrustSettings.from_files([root], allow_fetching=False)
    pairs = _issued(ws, args.files)
    xmls, pdfs = [x for x, _ in pairs], [p for _, p in pairs]
    pdf_t, pdf_cpu, pdf_ok = asyncio.run(_time_files(pdfs, trust, args.repeats))
    xml_t, xml_cpu, xml_ok = asyncio.run(_time_files(xmls, trust, args.repeats))
    pdf_bytes = statistics.median(len(p.read_bytes()) for p in pdfs)
    xml_bytes = statistics.median(len(x.read_bytes()) for x in xmls)
    verify_ms, hash_pdf_ms = _floor_ms(root, pdfs[0].read_bytes())
    _, hash_xml_ms = _floor_ms(root, xmls[0].read_bytes(), repeats=50)
    stamps = pdf_document_timestamps(pdfs[0].read_bytes())
    per_signature = 1 + 2 * CHAIN_BELOW_ROOT
    xml_signatures = 3 + 1 + 1  # GVCN, HT, seal, its timestamp, the archive timestamp
    pdf_signatures = 3 + 1 + stamps  # GVCN, HT, seal, its timestamp, document timestamps
    xml_floor = xml_signatures * per_signature * verify_ms + 3 * hash_xml_ms
    pdf_floor = (
        pdf_signatures * per_signature * verify_ms + pdf_signatures * hash_pdf_ms + xml_floor
    )
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    print(f"uptime: {uptime.strip()}  (cpus: {os.cpu_count()})")
    print(
        f"files: {len(pairs)} PDF (median {pdf_bytes / 1024:.0f} KB) and XML "
        f"(median {xml_bytes / 1024:.0f} KB), {args.repeats} runs each, warm"
    )
    print(f"all valid: PDF {all(pdf_ok)}, XML {all(xml_ok)}")
    for kind, times, cpu, floor in (
        ("PDF", pdf_t, pdf_cpu, pdf_floor),
        ("XML", xml_t, xml_cpu, xml_floor),
    ):
        median = 1000 * statistics.median(times)
        print(
            f"{kind}: median {median:.0f} ms per file (max {1000 * max(times):.0f} ms), "
            f"CPU {1000 * statistics.median(cpu):.0f} ms; floor {floor:.1f} ms "
            f"(RSA verify {verify_ms:.3f} ms); x{median / floor:.0f} the floor"
        )
    print("target: <= 300 ms per file")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
