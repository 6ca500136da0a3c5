"""Benchmark of the signing channels: cost per record per channel, confirmations per class.

A generated school (``--students``, default 175: five classes of 35) is initialized,
configured and locked in a temporary workspace; then one class per channel is signed
by its homeroom teacher through ``hocbaso.issue.sign_class`` as a run does it (journal,
files, one transaction per class):

- ``tu_xa``: the remote-signing stand-in on loopback, confirming at once (the person's
  think time is not measured; polling every 50 ms);
- ``pkcs12``: the demo PKCS#12 file, key kept in memory;
- ``pkcs11``: the teacher's key on the workspace's SoftHSM2 token.

Then the principal (``pkcs12``) and the seal (``pkcs11``, with TSA timestamps and
revocation data) sign the ``tu_xa`` class. Reported: median seconds per record over
``--repeats`` runs (each on a fresh copy of the locked workspace) and the number of
remote confirmations per class, with ceil(2n/50). The floor, measured in the same run:
two RSA-2048 signatures over a digest with a key in memory (what a record's two
signatures cannot avoid).

    .venv/bin/python bench/bench_channels.py [--students 175] [--repeats 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from hocbaso.configure import configure
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.initialize import initialize
from hocbaso.issue import confirmations_needed, sign_class
from hocbaso.lock import lock_class
from hocbaso.resources import open_resources
from hocbaso.states import LOCK
from hocbaso.store import classes_waiting, current_records
from hocbaso.store.journal import signing_requests


def _toml(root: Path, gvcn: str) -> None:
    text = bundled.school_toml_template().read_text(encoding="utf-8")
    text = text.replace('gvcn = "tu_xa"', f'gvcn = "{gvcn}"')
    text = text.replace("hoi_trang_thai_giay = 0.5", "hoi_trang_thai_giay = 0.05")
    assert "hoi_trang_thai_giay = 0.05" in text
    text = text.replace("xac_nhan_sau_giay = 0.5", "xac_nhan_sau_giay = 0.001")
    (root / "school.toml").write_text(text, encoding="utf-8")


def _floor_ms(root: Path) -> float:
    res = open_resources(root)
    signer = res.credentials.load_signer(res.config.ky.hieu_truong)
    digest = hashlib.sha256(b"x").digest()
    started = time.perf_counter()
    for _ in range(200):
        signer.sign_digest(digest)
        signer.sign_digest(digest)
    return (time.perf_counter() - started) / 200 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=175)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"uptime: {os.popen('uptime').read().strip()}")
    with tempfile.TemporaryDirectory(prefix="bench-kenh-") as tmp:
        base = Path(tmp) / "goc"
        base.mkdir()
        _toml(base, "tu_xa")
        source = write_xlsx(generate_school(n_students=args.students, seed=11), base / "n.xlsx")
        initialize(open_resources(base).ws, source, expectations=False)
        res = open_resources(base)
        configure(res)
        classes = classes_waiting(res.store, LOCK)[:3]
        for ma_lop in classes:
            lock_class(res, ma_lop)
        res.close()
        sizes = {c: len(current_records(res.store, ma_lop=c)) for c in classes}
        per_record: dict[str, list[float]] = {}
        confirmations: list[int] = []
        for n in range(args.repeats):
            for channel, ma_lop in zip(("tu_xa", "pkcs12", "pkcs11"), classes, strict=True):
                root = Path(tmp) / f"lan-{n}-{channel}"
                shutil.copytree(base, root)
                _toml(root, channel)
                run = open_resources(root)
                run.credentials.prepare(run.roster())  # the teacher's key on the token
                with run.credentials.services():
                    outcome = sign_class(run, ma_lop, "gvcn", wait_s=60)
                    assert outcome.processed == sizes[ma_lop], outcome
                    per_record.setdefault(f"gvcn {channel}", []).append(
                        outcome.seconds / sizes[ma_lop]
                    )
                    if channel == "tu_xa":
                        rows = signing_requests(run.store).filter(vai_tro="gvcn")
                        confirmations.append(rows.height)
                        for role, label in (("ht", "ht pkcs12"), ("condau", "condau pkcs11")):
                            done = sign_class(run, ma_lop, role)  # type: ignore[arg-type]
                            per_record.setdefault(label, []).append(done.seconds / sizes[ma_lop])
                run.close()
        floor = _floor_ms(base)
    print(f"lớp: {sizes} học bạ; {args.repeats} lần đo, trung vị")
    print(f"sàn (2 chữ ký RSA-2048 trên giá trị băm, khóa trong bộ nhớ): {floor:.2f} ms/học bạ")
    for label, values in per_record.items():
        median = statistics.median(values) * 1000
        print(f"{label:>14}: {median:7.1f} ms/học bạ (2 chữ ký), {median / floor:5.1f}× sàn")
    n = sizes[classes[0]]
    print(
        f"xác nhận GVCN mỗi lớp {n} học bạ (tu_xa): {statistics.median(confirmations):.0f} "
        f"(ceil(2n/50) = {confirmations_needed(n)})"
    )


if __name__ == "__main__":
    main()
