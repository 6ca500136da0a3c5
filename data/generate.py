"""Regenerate the bundled sample school: ``python data/generate.py``.

Writes, from ``hocbaso.demo.sample.generate_school`` with its default seed, into the
package data folder ``hocbaso/demo/data/`` (what a wheel carries, read through
``hocbaso.demo.bundled``):

- ``sample.xlsx``: the canonical import format;
- ``sample-bang-tong-hop.xlsx``: the same school as class summary sheets (the
  TT27 "Bảng tổng hợp kết quả đánh giá giáo dục", ``hocbaso.demo.template``);
  the form has no per-criterion comment, so those are left out of this one;
- ``templates/bang-tong-hop-mau.xlsx``: the blank class summary template;

and, beside this script, ``data/sample/<table>.csv``: the same school as a folder of
CSV files, an example of that form kept in the repository only.

The committed files are exactly what this gives (a test checks it). Run it after
changing the generator or the layout, and commit the output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from hocbaso.demo.sample import generate_school, write_csv_folder, write_xlsx
from hocbaso.demo.template import write_bang_tong_hop

HERE = Path(__file__).resolve().parent
# The source tree's package data (not an installed copy): these files are committed.
PACKAGE_DATA = HERE.parent / "hocbaso" / "demo" / "data"
NAM_HOC = "2025-2026"


def main() -> int:
    tables = generate_school()
    write_csv_folder(tables, HERE / "sample")
    write_xlsx(tables, PACKAGE_DATA / "sample.xlsx")
    summary = {
        **tables,
        "pham_chat_nang_luc": tables["pham_chat_nang_luc"].with_columns(
            pl.lit(None, pl.String).alias("nhan_xet")
        ),
    }
    write_bang_tong_hop(summary, PACKAGE_DATA / "sample-bang-tong-hop.xlsx", nam_hoc=NAM_HOC)
    write_bang_tong_hop(
        tables,
        PACKAGE_DATA / "templates" / "bang-tong-hop-mau.xlsx",
        nam_hoc=NAM_HOC,
        template=True,
    )
    students = tables["hoc_sinh"].height
    print(f"Đã tạo trường mẫu: {students} học sinh, {tables['lop'].height} lớp -> {PACKAGE_DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
