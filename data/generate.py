"""Regenerate the bundled sample school: ``python data/generate.py``.

Writes ``data/sample/<table>.csv`` and ``data/sample.xlsx`` from
``hocbaso.sample.generate_school`` with its default seed, so the committed files
are exactly what the generator gives (a test checks it). Run it after changing
the generator and commit the output.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hocbaso.sample import generate_school, write_csv_folder, write_xlsx

DATA = Path(__file__).resolve().parent


def main() -> int:
    tables = generate_school()
    write_csv_folder(tables, DATA / "sample")
    write_xlsx(tables, DATA / "sample.xlsx")
    students = tables["hoc_sinh"].height
    print(f"Đã tạo trường mẫu: {students} học sinh, {tables['lop'].height} lớp -> {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
