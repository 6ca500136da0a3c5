"""Benchmark of the printable copy: per-record time against a Typst floor.

Renders N records with one ``RecordRenderer`` (fresh data for each record, since
Typst memoises identical inputs) and, interleaved with them, a minimal fresh
two-page Typst document on a compiler set up the same way (the floor: what any
record must cost at least). Prints the medians, records per second and the ratio
of the two, then times one paper run of a class.

    .venv/bin/python bench/bench_render.py [--n 60] [--class-size 35]

``--docs docs`` also writes the PNG renders shown in the README (cover, student
page, first year page of one sample record; poppler's ``pdftoppm``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import typst
from lxml import etree

from hocbaso.model import CRITERIA, SUBJECTS
from hocbaso.render import PDF_STANDARD, RecordRenderer

NS = "urn:hocbaso:hocba:1"
_GRADE5 = ("TV", "TOAN", "NN1", "LSDL", "KH", "TIN", "CN", "DD", "GDTC", "AN", "MT", "HDTN")
_TESTED = {"TV", "TOAN", "NN1", "LSDL", "KH", "TIN", "CN"}
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
_MIDDLE = ("Thị", "Văn", "Minh", "Ngọc", "Đức", "Thu", "Quang", "Thuỳ", "Hữu", "Bảo")
_GIVEN = ("An", "Bình", "Châu", "Dũng", "Giang", "Hạnh", "Khôi", "Lượng", "Mỹ", "Nhung", "Uyên")
_PHRASES = (
    "Đọc diễn cảm, viết đúng chính tả.",
    "Tính toán nhanh, trình bày sạch đẹp.",
    "Tích cực phát biểu xây dựng bài.",
    "Cần rèn thêm kĩ năng trình bày.",
    "Hợp tác tốt khi làm việc nhóm.",
    "Lễ phép, biết giúp đỡ bạn bè.",
)


def sample_record_xml(rng: random.Random) -> bytes:
    """A grade-5 record following docs/record-xml.md with fresh random content."""

    def pick(seq: tuple[str, ...]) -> str:
        return rng.choice(seq)

    name = f"{pick(_FAMILY)} {pick(_MIDDLE)} {pick(_GIVEN)}"
    fields = {
        "trangthaithongtinhocba": "1",
        "trichluc": "0",
        "phienbanthongtinhocba": "1",
        "thongtu": "27",
        "madinhdanhhocba": str(uuid.UUID(int=rng.getrandbits(128))),
        "namhoc": "2025-2026",
        "masogd": "99",
        "tensogd": "Sở Giáo dục và Đào tạo Tỉnh Minh Sơn",
        "matruong": "99000001",
        "tentruong": "Trường Tiểu học Sen Hồng",
        "thongtintruong_diachi_tenxa": "Phường Sen Hồng",
        "thongtintruong_diachi_tentinh": "Tỉnh Minh Sơn",
        "thongtintruong_diachi_matinh": "99",
        "macaphoc": "01",
        "sosodangbo": f"{rng.randint(1, 999):04d}/2021",
        "hovaten": name,
        "sodinhdanh": f"099{rng.randint(0, 10**9 - 1):09d}",
        "mahocsinh": f"99{rng.randint(0, 10**8 - 1):08d}",
        "gioitinh": pick(("1", "2")),
        "ngaythangnamsinh": f"2015-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "cannang": f"{rng.uniform(22, 40):.1f}",
        "chieucao": f"{rng.uniform(120, 150):.1f}",
        "nghicophep": str(rng.randint(0, 6)),
        "nghikhongphep": str(rng.randint(0, 2)),
        "noisinh_diachichitiet": "Xã Thanh Hà, Tỉnh Minh Sơn",
        "quequan_diachichitiet": "Xã An Bình, Tỉnh Minh Sơn",
        "noiohiennay_diachichitiet": f"Thôn {rng.randint(1, 12)}, Xã Thanh Hà, Tỉnh Minh Sơn",
        "dantoc": "01",
        "quoctich": "VN",
        "cokhuyettatkhongdanhgia": "0",
        "hotencha": f"{pick(_FAMILY)} Văn {pick(_GIVEN)}",
        "hotenme": f"{pick(_FAMILY)} Thị {pick(_GIVEN)}",
        "tengiamhieu": "Phạm Quốc Hưng",
        "soddcngiamhieu": "099075000111",
        "diadanhphathanh": "Minh Sơn",
        "ngaykyphathanh": "2026-05-12",
        "ngaytao": "2026-05-10",
        "chucvugiamhieu": "HIỆU TRƯỞNG",
        "tengvcn": "Lê Thị Ánh Tuyết",
        "soddcngvcn": "099180000222",
        "makhoi": "5",
        "tenlop": "5A",
        "xeploai": pick(("HTXS", "HTT", "HT")),
        "duoclenlop": "1",
        "dahthanhctrinhlophoc": "1",
        "dahthanhctrinhtieuhoc": "1",
        "nxetgvcn": " ".join(rng.sample(_PHRASES, 3)),
        "nxetphamchat": " ".join(rng.sample(_PHRASES, 2)),
        "nxetnanglucchung": " ".join(rng.sample(_PHRASES, 2)),
        "nxetnanglucdacthu": " ".join(rng.sample(_PHRASES, 2)),
    }
    fields.update({c.element: pick(("T", "Đ")) for c in CRITERIA})
    root = etree.Element(f"{{{NS}}}hocba", nsmap={None: NS}, phienbanxsd="1.0")
    data = etree.SubElement(root, f"{{{NS}}}thongtinsohocbasotieuhoc", Id="hocba-du-lieu")
    for tag, value in fields.items():
        etree.SubElement(data, f"{{{NS}}}{tag}").text = value
    for k in range(5):
        q = etree.SubElement(data, f"{{{NS}}}quatrinhhoctap")
        for tag, value in (
            ("namhoc", f"{2021 + k}-{2022 + k}"),
            ("tenlop", f"{k + 1}A"),
            ("tentruong", fields["tentruong"]),
            ("tentinh", "Tỉnh Minh Sơn"),
        ):
            etree.SubElement(q, f"{{{NS}}}{tag}").text = value
    ds = etree.SubElement(data, f"{{{NS}}}dsbangdiem")
    for subject in (s for s in SUBJECTS if s.code in _GRADE5):
        row = etree.SubElement(ds, f"{{{NS}}}bangdiem")
        values = [
            ("mamonhoc", subject.ma_mon_hoc),
            ("tenmonhoc", subject.ten),
            ("mucdatduoc", pick(("T", "H"))),
        ]
        if subject.code in _TESTED:
            values.append(("diemkiemtradinhky", str(rng.randint(6, 10))))
        values.append(("nhanxet", pick(_PHRASES)))
        for tag, value in values:
            etree.SubElement(row, f"{{{NS}}}{tag}").text = value
    etree.SubElement(root, f"{{{NS}}}chuky")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def floor_source(i: int) -> bytes:
    """A minimal fresh two-page Vietnamese document (the floor of any record)."""
    return (
        '#set text(font: "Libertinus Serif", lang: "vi")\n'
        f"= Học bạ số {i} {uuid.uuid4()}\n"
        "Những phẩm chất chủ yếu: Yêu nước, Nhân ái, Chăm chỉ, Trung thực, Trách nhiệm.\n"
        "#pagebreak()\n"
        f"Những năng lực cốt lõi. Hà Nội, ngày {i % 28 + 1:02d} tháng 5 năm 2026.\n"
    ).encode()


DOC_PAGES = {
    1: "ban-the-hien-bia",
    2: "ban-the-hien-hoc-sinh",
    3: "ban-the-hien-nam-hoc",
    4: "ban-the-hien-nam-hoc-ket-qua",
}


def write_doc_renders(pdf: bytes, directory: Path, dpi: int = 80) -> list[Path]:
    """PNG renders of the cover, the student page and the two year pages, for the docs."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "hocba.pdf"
        source.write_bytes(pdf)
        for page, name in DOC_PAGES.items():
            stem = directory / name
            subprocess.run(
                [
                    "pdftoppm",
                    "-r",
                    str(dpi),
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-png",
                    "-singlefile",
                    str(source),
                    str(stem),
                ],
                check=True,
            )
            written.append(stem.with_suffix(".png"))
    return written


def main() -> None:
    """Run the benchmark and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="records to render")
    parser.add_argument("--class-size", type=int, default=35, help="records in the paper run")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--docs", type=Path, help="also write the docs PNG renders here")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    xmls = [sample_record_xml(rng) for _ in range(args.n + 1)]
    renderer = RecordRenderer()
    floor_compiler = typst.Compiler(ignore_system_fonts=True)
    renderer.render(xmls[0])  # warm-up: font loading, template parsing
    floor_compiler.compile(input=floor_source(-1), format="pdf", pdf_standards=PDF_STANDARD)

    record_times: list[float] = []
    floor_times: list[float] = []
    wall = time.perf_counter()
    for i, xml in enumerate(xmls[1:]):
        t0 = time.perf_counter()
        renderer.render(xml)
        t1 = time.perf_counter()
        floor_compiler.compile(input=floor_source(i), format="pdf", pdf_standards=PDF_STANDARD)
        t2 = time.perf_counter()
        record_times.append(t1 - t0)
        floor_times.append(t2 - t1)
    wall = time.perf_counter() - wall

    t0 = time.perf_counter()
    batch = renderer.render_many(xmls[1:])
    batch_s = time.perf_counter() - t0

    base = "http://127.0.0.1:18765/tra-cuu/"
    paper_items = [
        (sample_record_xml(rng), f"HB{k:06d}", f"{base}HB{k:06d}") for k in range(args.class_size)
    ]
    t0 = time.perf_counter()
    paper = renderer.render_paper(paper_items)
    paper_s = time.perf_counter() - t0

    rec_ms = statistics.median(record_times) * 1000
    floor_ms = statistics.median(floor_times) * 1000
    print(f"records rendered         : {args.n} (fresh data each, PDF/A-3b, XML attached)")
    print(
        f"median per record        : {rec_ms:.1f} ms  (p90 "
        f"{statistics.quantiles(record_times, n=10)[-1] * 1000:.1f} ms)"
    )
    print(f"records/s (1/median)     : {1000 / rec_ms:.1f}")
    print(f"records/s (render_many)  : {len(batch) / batch_s:.1f}")
    print(f"floor, minimal 2-page doc: {floor_ms:.1f} ms")
    print(f"ratio record / floor     : {rec_ms / floor_ms:.1f}x")
    print(
        f"paper run, {args.class_size} records    : {paper_s * 1000:.0f} ms "
        f"({paper_s * 1000 / args.class_size:.1f} ms/record, {len(paper) // 1024} KB)"
    )
    print(f"interleaved loop wall    : {wall:.2f} s")
    if args.docs:
        for path in write_doc_renders(batch[0], args.docs):
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
