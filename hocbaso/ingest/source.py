"""What reading a source gives: text tables in canonical form, not yet checked.

Every reader of the package (the canonical workbook or CSV folder, the class summary
sheet) hands the gates the same ``RawSource``, so the gates never know which layout
the school used; only ``RawTable.origin`` remembers where a value was typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from hocbaso.dataset import TABLE_SCHEMAS

SourceKind = Literal["xlsx", "csv"]
ROW = "_row"  # the column holding the spreadsheet row number (header = 1)


@dataclass(frozen=True)
class RawTable:
    """One table of a source, as text, with where each row came from."""

    table: str
    frame: pl.DataFrame  # every column of TABLE_SCHEMAS[table] as String, plus ROW (Int32)
    source_name: str  # the sheet name (xlsx) or the file name (csv folder)
    extra_columns: tuple[str, ...] = ()  # columns the format does not know (ignored)
    #: For tables an adapter built from another layout: per ROW, the sheet (``_sheet``),
    #: the row there (``_sheet_row``) and, per column, the cell's label (``_cell_<column>``),
    #: so that problems are reported where the school typed the value.
    origin: pl.DataFrame | None = None


@dataclass(frozen=True)
class RawSource:
    """A whole source: the tables found, in canonical form but not yet checked."""

    path: Path
    kind: SourceKind
    tables: Mapping[str, RawTable]
    sha256: str  # of the file bytes (of every table file, in table order, for a folder)
    ignored: tuple[str, ...] = field(default=())  # sheets/files that are not tables

    def frame(self, table: str) -> pl.DataFrame:
        """The text frame of ``table`` (an empty one if the source has no such table)."""
        if table in self.tables:
            return self.tables[table].frame
        return pl.DataFrame(
            schema={**dict.fromkeys(TABLE_SCHEMAS[table], pl.String()), ROW: pl.Int32()}
        )

    def where(self, table: str) -> str:
        """Where a table came from, for messages: sheet or file name."""
        raw = self.tables.get(table)
        return raw.source_name if raw else table
