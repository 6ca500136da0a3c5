"""Benchmark: a district-size import through every gate.

    .venv/bin/python bench/bench_import.py [--students 10000] [--runs 3] [--docs]

Generates a school of ``--students`` students (10,000 ≈ 250,000 result rows),
writes it as one ``.xlsx``, then reads it and runs every gate (rows, references,
rules, expectations) ``--runs`` times. Prints the median of each stage and of the
whole import; the first run also pays the Great Expectations import (~4 s), shown
apart. Target (issue 3): the whole import under 15 s on the project's 2-core box.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hocbaso.demo.sample import generate_school, write_xlsx
from hocbaso.ingest import read_source
from validation.gates import run_gates

STAGES = ("read", "rows", "references", "rules", "expectations", "typed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--docs", action="store_true", help="also write GE Data Docs")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "district.xlsx"
        t0 = time.perf_counter()
        tables = generate_school(n_students=args.students, seed=2026)
        t1 = time.perf_counter()
        write_xlsx(tables, path)
        t2 = time.perf_counter()
        rows = tables["ket_qua_mon"].height + tables["pham_chat_nang_luc"].height
        print(
            f"{args.students} học sinh, {rows} dòng kết quả, {path.stat().st_size / 1e6:.1f} MB"
            f" (sinh {t1 - t0:.1f} s, ghi xlsx {t2 - t1:.1f} s)"
        )

        t0 = time.perf_counter()
        import great_expectations  # noqa: F401  - paid once per process, shown apart

        print(f"import great_expectations: {time.perf_counter() - t0:.1f} s (một lần)")
        runs: list[dict[str, float]] = []
        for i in range(args.runs):
            start = time.perf_counter()
            raw = read_source(path)
            read = time.perf_counter() - start
            outcome = run_gates(
                raw,
                nam_hoc="2025-2026",
                expectations=True,
                docs_dir=Path(tmp) / f"docs-{i}" if args.docs else None,
            )
            total = time.perf_counter() - start
            if not outcome.ok:
                print("LỖI: dữ liệu mẫu không qua cổng kiểm tra", outcome.summary_lines())
                return 1
            runs.append({"read": read, **outcome.timings, "total": total})
            split = ", ".join(f"{k} {v:.2f}" for k, v in runs[-1].items())
            print(f"lần {i + 1}: {split}")
    print("trung vị (s):")
    for stage in (*STAGES, "total"):
        values = [r[stage] for r in runs if stage in r]
        if values:
            print(f"  {stage:13s} {statistics.median(values):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
