"""Regenerate the bundled sample school: ``python data/generate.py``.

Writes, from ``hocbaso.sample.generate_school`` with its default seed:

- ``data/sample/<table>.csv`` and ``data/sample.xlsx``: the canonical import format;
- ``data/sample-bang-tong-hop.xlsx``: the same school as class summary sheets (the
  TT27 "Bảng tổng hợp kết quả đánh giá giáo dục", ``hocbaso.adapters.bang_tong_hop``);
  the form has no per-criterion comment, so those are left out of this one;
- ``data/templates/bang-tong-hop-mau.xlsx``: the blank class summary template.

The committed files are exactly what this gives (a test checks it). Run it after
changing the generator or the layout, and commit the output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from hocbaso.adapters.bang_tong_hop import write_bang_tong_hop
from hocbaso.sample import generate_school, write_csv_folder, write_xlsx

DATA = Path(__file__).resolve().parent
NAM_HOC = "2025-2026"


def main() -> int:
    tables = generate_school()
    write_csv_folder(tables, DATA / "sample")
    write_xlsx(tables, DATA / "sample.xlsx")
    summary = {
        **tables,
        "pham_chat_nang_luc": tables["pham_chat_nang_luc"].with_columns(
            pl.lit(None, pl.String).alias("nhan_xet")
        ),
    }
    write_bang_tong_hop(summary, DATA / "sample-bang-tong-hop.xlsx", nam_hoc=NAM_HOC)
    write_bang_tong_hop(
        tables, DATA / "templates" / "bang-tong-hop-mau.xlsx", nam_hoc=NAM_HOC, template=True
    )
    students = tables["hoc_sinh"].height
    print(f"Đã tạo trường mẫu: {students} học sinh, {tables['lop'].height} lớp -> {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
