"""Benchmark of the printable copy: per-record time against a Typst floor.

Renders N records of the generated sample school (built by ``hocbaso.record``;
every record is a different student, so Typst's memoisation of identical inputs
does not flatter the figures) with one ``RecordRenderer`` and, interleaved with
them, a minimal fresh two-page Typst document on a compiler set up the same way
(the floor: what any record costs at least). Prints the medians, records per
second and the ratio of the two, then times the paper run of one class.

    .venv/bin/python bench/bench_render.py [--n 60] [--students 300]

``--docs docs`` also writes the PNG renders shown in the README (cover, student
page and the two year pages of one grade-5 record, and the first page of its
paper copy with the lookup band; poppler's ``pdftoppm``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import polars as pl
import typst

from hocbaso import tt27
from hocbaso.config import Workspace
from hocbaso.dataset import TABLE_SCHEMAS, SchoolData
from hocbaso.demo import bundled
from hocbaso.demo.sample import generate_school
from hocbaso.record import build_records, record_xml
from hocbaso.render import PDF_STANDARD, RecordRenderer
from validation.typed import typed

DOC_PAGES = {
    1: "ban-the-hien-bia",
    2: "ban-the-hien-hoc-sinh",
    3: "ban-the-hien-nam-hoc",
    4: "ban-the-hien-nam-hoc-ket-qua",
}


def sample_school_xmls(n_students: int, seed: int) -> list[tuple[str, str, bytes]]:
    """(grade, class, record XML) of the generated sample school.

    Students whose promotion is still pending or whose hometown is empty are
    left out: the record builder refuses them (the import format lets
    ``que_quan`` be empty, the catalogue requires ``quequan_diachichitiet``).
    """
    tables = generate_school(n_students=n_students, seed=seed)
    data = SchoolData(**{name: typed(name, tables[name]) for name in TABLE_SCHEMAS})
    complete = data.hoc_sinh.filter(pl.col("que_quan").is_not_null())["ma_hoc_sinh"]
    results = tt27.compute_results(data).filter(
        pl.col("duoc_len_lop").is_not_null() & pl.col("ma_hoc_sinh").is_in(complete.implode())
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = Workspace(bundled.write_school_toml(Path(tmp)).parent).load_config()
    records = build_records(data, results, config, ngay_tao=config.nam_hoc.ngay_ky_phat_hanh)
    return [(r.makhoi, r.tenlop, record_xml(r)) for r in records]


def floor_source(i: int) -> bytes:
    """A minimal fresh two-page Vietnamese document (the floor of any record)."""
    return (
        '#set text(font: "Libertinus Serif", lang: "vi")\n'
        f"= Học bạ số {i} {uuid.uuid4()}\n"
        "Những phẩm chất chủ yếu: Yêu nước, Nhân ái, Chăm chỉ, Trung thực, Trách nhiệm.\n"
        "#pagebreak()\n"
        f"Những năng lực cốt lõi. Hà Nội, ngày {i % 28 + 1:02d} tháng 5 năm 2026.\n"
    ).encode()


def write_doc_renders(
    pdf: bytes, directory: Path, pages: dict[int, str] = DOC_PAGES, dpi: int = 80
) -> list[Path]:
    """PNG renders of chosen pages (page number -> file stem), for the docs."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "hocba.pdf"
        source.write_bytes(pdf)
        for page, name in pages.items():
            stem = directory / name
            subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
                 "-singlefile", str(source), str(stem)],
                check=True,
            )  # fmt: skip
            written.append(stem.with_suffix(".png"))
    return written


def main() -> None:
    """Run the benchmark and print one table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="records to render")
    parser.add_argument("--students", type=int, default=300, help="size of the sample school")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--docs", type=Path, help="also write the docs PNG renders here")
    args = parser.parse_args()

    t0 = time.perf_counter()
    school = sample_school_xmls(args.students, args.seed)
    build_s = time.perf_counter() - t0
    xmls = [xml for _, _, xml in school][: args.n + 1]
    if len(xmls) < args.n + 1:
        parser.error(f"the sample school has only {len(xmls)} records; raise --students")

    renderer = RecordRenderer()
    floor_compiler = typst.Compiler(ignore_system_fonts=True)
    renderer.render(xmls[0])  # warm-up: font loading, template parsing
    floor_compiler.compile(input=floor_source(-1), format="pdf", pdf_standards=PDF_STANDARD)

    record_times: list[float] = []
    floor_times: list[float] = []
    for i, xml in enumerate(xmls[1:]):
        t0 = time.perf_counter()
        renderer.render(xml)
        t1 = time.perf_counter()
        floor_compiler.compile(input=floor_source(i), format="pdf", pdf_standards=PDF_STANDARD)
        t2 = time.perf_counter()
        record_times.append(t1 - t0)
        floor_times.append(t2 - t1)

    # render_many over records Typst has not seen yet (the last ones of the school)
    fresh = [xml for _, _, xml in school][-args.n :]
    t0 = time.perf_counter()
    renderer.render_many(fresh)
    batch_s = time.perf_counter() - t0

    classes: dict[str, list[bytes]] = defaultdict(list)
    for _, lop, xml in school:
        classes[lop].append(xml)
    lop, class_xmls = max(classes.items(), key=lambda kv: len(kv[1]))
    base = "http://tra-cuu.invalid/tra-cuu/"  # text only: nothing listens
    items = [(x, f"HB{k:06d}", f"{base}HB{k:06d}") for k, x in enumerate(class_xmls)]
    t0 = time.perf_counter()
    paper = renderer.render_paper(items)
    paper_s = time.perf_counter() - t0

    rec_ms = statistics.median(record_times) * 1000
    floor_ms = statistics.median(floor_times) * 1000
    p90 = statistics.quantiles(record_times, n=10)[-1] * 1000
    print(f"sample school             : {len(school)} records built in {build_s:.2f} s")
    print(f"records rendered          : {args.n} (distinct students, PDF/A-3b, XML attached)")
    print(f"median per record         : {rec_ms:.1f} ms  (p90 {p90:.1f} ms)")
    print(f"records/s (1/median)      : {1000 / rec_ms:.1f}")
    print(f"records/s (render_many)   : {len(fresh) / batch_s:.1f}")
    print(f"floor, minimal 2-page doc : {floor_ms:.1f} ms")
    print(f"ratio record / floor      : {rec_ms / floor_ms:.1f}x")
    print(
        f"paper run, class {lop} ({len(items)}) : {paper_s * 1000:.0f} ms "
        f"({paper_s * 1000 / len(items):.1f} ms/record, {len(paper) // 1024} KB)"
    )
    if args.docs:
        grade5 = next(xml for khoi, _, xml in school if khoi == "5")
        written = write_doc_renders(renderer.render(grade5), args.docs)
        paper_copy = renderer.render_paper([(grade5, "HB7Q-2K9M", f"{base}HB7Q-2K9M")])
        written += write_doc_renders(paper_copy, args.docs, {1: "ban-giay-bia"})
        for path in written:
            print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
