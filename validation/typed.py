"""Text rows that passed the row gate, typed as ``hocbaso.dataset`` has them.

Apart from ``validation.rows`` so that the rules, the expectations and a process that
only receives the gates' outcome can type frames without importing pandera (and with
it pandas, ~60 MB and 0.4 s).
"""

from __future__ import annotations

import polars as pl

from hocbaso.dataset import TABLE_SCHEMAS, conform


def typed(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The typed frame of ``hocbaso.dataset`` from text rows that passed this gate."""
    schema = TABLE_SCHEMAS[table]
    exprs = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Boolean):
            exprs.append((col == "1").alias(name))
        elif isinstance(dtype, pl.Date):
            exprs.append(col.str.to_date("%Y-%m-%d"))
        elif dtype.is_numeric():
            exprs.append(col.cast(pl.Float64).cast(dtype))
    out = frame.with_columns(exprs) if exprs else frame
    return conform(table, out)
