"""Regenerate the bad-input corpus: ``python tests/badinput/generate.py``.

Writes every case of ``corpus.CASES`` into ``tests/badinput/files`` (replacing what
was there). The files are committed; a test checks they are what this writes.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from badinput.corpus import CASES, FILES, write_case


def main() -> int:
    if FILES.exists():
        shutil.rmtree(FILES)
    FILES.mkdir(parents=True)
    for c in CASES:
        write_case(c, FILES)
    print(f"{len(CASES)} tệp kiểm thử -> {FILES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
