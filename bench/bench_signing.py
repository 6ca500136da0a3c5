"""Benchmark of signing: per-record cost of 3 XML + 3 PAdES signatures against the crypto floor.

A class of records (``--records``, default 35) is signed the way a batch does it: keys
loaded once, one event loop, one HTTP session shared by the timestamp client and the
revocation fetchers, the demo PKI's TSA/OCSP/CRL on loopback in this process. Each
record has its own XML (~12 KB) and its own PDF/A-3b attaching it as ``hocba.xml``,
compiled before timing; each PDF signature also replaces that attachment by the XML
just signed, as a batch does.

The floor, measured in the same run: the private-key operations a record cannot avoid,
6 signatures by the signers plus 2 by the TSA (the XML and PDF seals are timestamped),
plus SHA-256 over the bytes signed. Everything above it is XML/PDF processing, CMS
building, HTTP and revocation checking.

    .venv/bin/python bench/bench_signing.py [--records 35] [--verify]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import socket
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import typst
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs12

from hocbaso.demo.pki import DemoIdentity, create_demo_pki, load_demo_signer
from hocbaso.demo.pki_services import DemoPkiServices
from hocbaso.signing import (
    ServiceSession,
    TrustSettings,
    async_sign_record_pdf,
    async_sign_record_xml,
    async_verify_record_pdf,
    async_verify_record_xml,
)

PEOPLE = [
    DemoIdentity("GV01", "Nguyễn Thị Hoa", "001190000001"),
    DemoIdentity("HT01", "Trần Văn Minh", "001180000002"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _record_xml(i: int) -> bytes:
    rows = "".join(
        f"<bangdiem><mamonhoc>M{k:02d}</mamonhoc><tenmonhoc>Môn học số {k}</tenmonhoc>"
        f"<mucdatduoc>T</mucdatduoc><diemkiemtradinhky>{(i + k) % 10 + 1}</diemkiemtradinhky>"
        f"<nhanxet>Em học tập chăm chỉ, tiến bộ rõ rệt trong học kì; cần phát huy. ({i}-{k})"
        "</nhanxet></bangdiem>"
        for k in range(60)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<hocba xmlns="urn:hocbaso:hocba:1" phienbanxsd="1.0">'
        '<thongtinsohocbasotieuhoc Id="hocba-du-lieu">'
        f"<trangthaithongtinhocba>1</trangthaithongtinhocba><madinhdanhhocba>rec-{i:05d}"
        f"</madinhdanhhocba><dsbangdiem>{rows}</dsbangdiem></thongtinsohocbasotieuhoc>"
        "<chuky/></hocba>"
    ).encode()


def _record_pdf(i: int) -> bytes:
    body = "\n\n".join(f"Dòng {k}: học sinh số {i}, nhận xét cuối năm." for k in range(80))
    source = (
        f'#set document(title: "Học bạ {i}")\n'
        '#pdf.attach("hocba.xml", bytes(sys.inputs.xml), relationship: "data",\n'
        '  mime-type: "application/xml", description: "Dữ liệu học bạ số (XML)")\n'
        f"= Học bạ số {i}\n{body}\n"
    )
    pdf: bytes = typst.compile(
        source.encode(),
        format="pdf",
        pdf_standards=["a-3b"],
        sys_inputs={"xml": _record_xml(i).decode()},
    )
    return pdf


def _floor_ms(p12: Path, password: str, data: bytes, repeats: int = 200) -> tuple[float, float]:
    """Median RSA-2048 signature and SHA-256 of ``data``, in milliseconds."""
    key, _, _ = pkcs12.load_key_and_certificates(p12.read_bytes(), password.encode())
    assert key is not None
    sign_t, hash_t = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        key.sign(b"x" * 64, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
        sign_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        hashlib.sha256(data).digest()
        hash_t.append(time.perf_counter() - t)
    return 1000 * statistics.median(sign_t), 1000 * statistics.median(hash_t)


async def _run(args: argparse.Namespace, pki_dir: Path) -> None:
    pki = create_demo_pki(pki_dir, PEOPLE, "Trường Tiểu học Kim Đồng", port=_free_port())
    trust = TrustSettings.from_files([pki.root_certificate])
    t = time.perf_counter()
    gvcn, ht, seal = (load_demo_signer(pki, k) for k in ("GV01", "HT01", "con-dau"))
    load_ms = 1000 * (time.perf_counter() - t) / 3
    xmls = [_record_xml(i) for i in range(args.records)]
    pdfs = [_record_pdf(i) for i in range(args.records)]
    steps: dict[str, list[float]] = defaultdict(list)
    per_record: list[float] = []
    verify_t: dict[str, list[float]] = defaultdict(list)
    with DemoPkiServices(pki):
        async with ServiceSession(tsa_url=pki.tsa_url, trust=trust) as session:
            # Warm-up: first requests build certomancer's certificates and open connections.
            x = await async_sign_record_xml(_record_xml(-1), gvcn, "gvcn")
            p = await async_sign_record_pdf(
                _record_pdf(-1), gvcn, "gvcn", signed_xml=x, session=session
            )
            for i in range(args.records):
                started = time.perf_counter()
                x, p = xmls[i], pdfs[i]
                for role, signer in (("gvcn", gvcn), ("ht", ht), ("condau", seal)):
                    t = time.perf_counter()
                    x = await async_sign_record_xml(
                        x, signer, role, timestamper=session.timestamper
                    )
                    steps[f"xml {role}"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    p = await async_sign_record_pdf(p, signer, role, signed_xml=x, session=session)
                    steps[f"pdf {role}"].append(time.perf_counter() - t)
                per_record.append(time.perf_counter() - started)
                if args.verify:
                    t = time.perf_counter()
                    assert (await async_verify_record_xml(x, trust, session=session)).bottom_line
                    verify_t["verify xml"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    assert (await async_verify_record_pdf(p, trust, session=session)).bottom_line
                    verify_t["verify pdf"].append(time.perf_counter() - t)
    rsa_ms, hash_ms = _floor_ms(pki.seal.pkcs12, pki.seal.password, pdfs[0] + xmls[0])
    floor = 8 * rsa_ms + 6 * hash_ms
    median = 1000 * statistics.median(per_record)
    print(f"signer key load (once per batch)      {load_ms:8.2f} ms")
    print(f"records signed                        {args.records:8d}")
    for name, values in (*steps.items(), *verify_t.items()):
        print(f"  {name:<36}{1000 * statistics.median(values):8.2f} ms (median)")
    print(f"per record, 3 XML + 3 PDF signatures  {median:8.2f} ms (median)")
    print(f"per record, mean                      {1000 * statistics.mean(per_record):8.2f} ms")
    print(f"crypto floor: RSA-2048 sign {rsa_ms:.2f} ms x 8, SHA-256 {hash_ms:.3f} ms x 6")
    print(f"crypto floor per record               {floor:8.2f} ms")
    print(f"per record / floor                    {median / floor:8.1f} x")
    print(f"class of {args.records}: {sum(per_record):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=35)
    parser.add_argument("--verify", action="store_true", help="also verify every record")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(args, Path(tmp)))


if __name__ == "__main__":
    main()
