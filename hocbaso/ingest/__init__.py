"""Reading the school's files into the canonical import format (``docs/import-format.md``).

The public surface is what the gates and the initialize step use; the modules
behind it each do one job:

- ``dispatch``: which layout a source is (``read_source``);
- ``canonical``: the canonical workbook / CSV folder, and the sheet readers the
  other layouts build on;
- ``normalise``: the one text folding (``fold``) and the harmless spellings;
- ``bang_tong_hop``: the TT27 class summary sheet, onto the canonical tables;
- ``csdl_nganh``: the comparison with an export of the sector database.

Imports go one way: dispatch -> bang_tong_hop -> canonical -> normalise -> source.
"""

from hocbaso.ingest.bang_tong_hop import is_bang_tong_hop, read_bang_tong_hop
from hocbaso.ingest.canonical import REQUIRED_COLUMNS, read_sheet, read_source_tables
from hocbaso.ingest.csdl_nganh import Mismatch, compare_students, read_csdl_nganh
from hocbaso.ingest.dispatch import read_source
from hocbaso.ingest.normalise import fold, fold_expr, normalise_date
from hocbaso.ingest.source import ROW, RawSource, RawTable, SourceKind

__all__ = [
    "REQUIRED_COLUMNS",
    "ROW",
    "Mismatch",
    "RawSource",
    "RawTable",
    "SourceKind",
    "compare_students",
    "fold",
    "fold_expr",
    "is_bang_tong_hop",
    "normalise_date",
    "read_bang_tong_hop",
    "read_csdl_nganh",
    "read_sheet",
    "read_source",
    "read_source_tables",
]
